//! CIFAR-100 (fine and coarse labels) and Fashion-MNIST's names: the parser
//! and the loader's choices, on files built here from real images (the
//! built-in CIFAR-10 and MNIST samples), and a net with a 100-class head
//! trained on them.
#![cfg(not(target_family = "wasm"))] // native only: `wasm-pack test` builds every test target for wasm

use burn::prelude::*;
use reslab::config::ExperimentConfig;
use reslab::data::{self, Dataset, DatasetKind, Problem, load_files};
use reslab::train::{self, Control, Status};
use std::io::Write;

fn sample(kind: DatasetKind) -> Dataset {
    load_files(&data::sample::builtin_files(kind).unwrap(), Some(kind)).unwrap()
}

/// The fine and coarse labels given to CIFAR-10 record `i` of class `label`:
/// every fine and coarse class is used, and they can be told apart.
fn relabel(i: usize, label: u16) -> (u8, u8) {
    let fine = (label as usize * 10 + i % 10) as u8; // 0..=99
    (fine / 5, fine) // coarse 0..=19
}

/// A CIFAR-100 batch (3074-byte records: coarse, fine, image) from a set of real CIFAR-10 images.
fn cifar100_batch(set: &data::ImageSet) -> Vec<u8> {
    let mut out = Vec::with_capacity(set.len() * 3074);
    for i in 0..set.len() {
        let (coarse, fine) = relabel(i, set.labels[i]);
        out.extend([coarse, fine]);
        out.extend_from_slice(set.image(i));
    }
    out
}

/// `cifar-100-binary.tar.gz` as the official archive lays it out.
fn cifar100_archive(train: &[u8], test: &[u8]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, bytes) in [
        ("cifar-100-binary/train.bin", train),
        ("cifar-100-binary/test.bin", test),
        ("cifar-100-binary/fine_label_names.txt", &b"apple\naquarium_fish\n"[..]),
        ("cifar-100-binary/coarse_label_names.txt", &b"aquatic_mammals\nfish\n"[..]),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, name, bytes).unwrap();
    }
    let tar = tar.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

#[test]
fn cifar100_loads_with_fine_or_coarse_labels_and_a_100_class_net_trains_on_it() {
    let c10 = sample(DatasetKind::Cifar10);
    let (train, test) = (cifar100_batch(&c10.train), cifar100_batch(&c10.test));
    let archive = vec![("cifar-100-binary.tar.gz".to_string(), cifar100_archive(&train, &test))];

    // The files say CIFAR-100; without a hint, the fine labels.
    let fine = load_files(&archive, None).unwrap();
    assert_eq!(fine.kind, DatasetKind::Cifar100);
    assert_eq!((fine.num_classes(), fine.kind.class_names()[0], fine.kind.class_names()[99]), (100, "apple", "worm"));
    assert_eq!((fine.train.len(), fine.test.len()), (c10.train.len(), c10.test.len()));
    assert_eq!(fine.train.images, c10.train.images, "the images are CIFAR-10's, unchanged");
    let want_fine: Vec<u16> = c10.train.labels.iter().enumerate().map(|(i, &l)| u16::from(relabel(i, l).1)).collect();
    assert_eq!(fine.train.labels, want_fine);
    assert_eq!(fine.train.class_counts(100).iter().filter(|&&n| n > 0).count(), 100, "every fine class occurs");

    // The user's choice: the 20 superclasses. A CIFAR-10 hint does not turn CIFAR-100 files into CIFAR-10.
    let coarse = load_files(&archive, Some(DatasetKind::Cifar100Coarse)).unwrap();
    assert_eq!((coarse.kind, coarse.num_classes()), (DatasetKind::Cifar100Coarse, 20));
    let want_coarse: Vec<u16> = c10.test.labels.iter().enumerate().map(|(i, &l)| u16::from(relabel(i, l).0)).collect();
    assert_eq!(coarse.test.labels, want_coarse);
    assert_eq!(load_files(&archive, Some(DatasetKind::Cifar10)).unwrap().kind, DatasetKind::Cifar100);

    // Loose train.bin / test.bin work too; a cut file and a bad label are named.
    let loose = vec![("train.bin".to_string(), train.clone()), ("test.bin".to_string(), test.clone())];
    assert_eq!(load_files(&loose, None).unwrap().train.labels, want_fine);
    let cut = vec![("train.bin".to_string(), train[..train.len() - 5].to_vec()), ("test.bin".to_string(), test.clone())];
    let e = load_files(&cut, None).unwrap_err();
    assert!(matches!(e.problem, Problem::Truncated { .. }) && e.file == "train.bin", "{e}");
    let mut bad = test.clone();
    bad[3074 + 1] = 100; // record 1's fine label
    let e = load_files(&[("train.bin".to_string(), train.clone()), ("test.bin".to_string(), bad)], None).unwrap_err();
    assert_eq!(e.problem, Problem::LabelOutOfRange { index: 1, label: 100 });
    // CIFAR-10 and CIFAR-100 files together are refused.
    let mut mixed = data::sample::builtin_files(DatasetKind::Cifar10).unwrap();
    mixed.extend(loose.clone());
    assert!(matches!(load_files(&mixed, None).unwrap_err().problem, Problem::Mixed(_)));

    // A net built for the data: a 100-way head, trained a few steps; the
    // results speak of 100 classes.
    let cfg = ExperimentConfig {
        dataset: DatasetKind::Cifar100,
        model: "resnet8".into(),
        max_steps: Some(6),
        batch_size: 16,
        test_limit: Some(200),
        ..Default::default()
    };
    assert_eq!(cfg.model_spec().classes, 100);
    let r = pollster::block_on(train::train(&cfg, &fine, &Device::flex(), "cpu", &Control::new(), &mut |_| {}));
    assert_eq!(r.status, Status::Finished, "{}", r.message);
    assert_eq!((r.confusion_matrix.len(), r.per_class_accuracy.len()), (100, 100));
    assert!(r.steps.iter().all(|p| p.loss.is_finite()) && r.steps[0].loss > 3.5, "ln(100) ≈ 4.6 at the start: {:?}", r.steps[0]);
    // A CIFAR-10 config on CIFAR-100 data is refused before training, naming the class counts.
    let wrong = ExperimentConfig { dataset: DatasetKind::Cifar10, ..cfg };
    let r = pollster::block_on(train::train(&wrong, &fine, &Device::flex(), "cpu", &Control::new(), &mut |_| {}));
    assert_eq!(r.status, Status::Failed);
    assert!(r.message.contains("10 classes") && r.message.contains("100 classes"), "{}", r.message);
}

/// Fashion-MNIST's files have the same names and format as MNIST's: it is
/// recognised by a file or folder name containing "fashion", or by the
/// user's choice (the page's "File format" control, the CLI's --dataset),
/// which wins over the name; otherwise it is MNIST.
#[test]
fn fashion_mnist_is_named_by_its_file_names_or_the_users_choice() {
    let mnist = data::sample::builtin_files(DatasetKind::Mnist).unwrap();
    let renamed = |prefix: &str| -> Vec<(String, Vec<u8>)> { mnist.iter().map(|(n, b)| (format!("{prefix}{n}"), b.clone())).collect() };
    for prefix in ["fashion-mnist/", "Fashion_", "data/fashion/"] {
        let d = load_files(&renamed(prefix), None).unwrap();
        assert_eq!(d.kind, DatasetKind::FashionMnist, "{prefix}");
        assert_eq!((d.kind.class_names()[0], d.kind.class_names()[9]), ("T-shirt/top", "Ankle boot"));
        assert_eq!(d.info_json()["class_names"][9], "Ankle boot");
    }
    assert_eq!(load_files(&mnist, None).unwrap().kind, DatasetKind::Mnist);
    assert_eq!(load_files(&mnist, Some(DatasetKind::FashionMnist)).unwrap().kind, DatasetKind::FashionMnist);
    assert_eq!(load_files(&renamed("fashion-mnist/"), Some(DatasetKind::Mnist)).unwrap().kind, DatasetKind::Mnist);
}
