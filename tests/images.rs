//! Your own pictures: a folder of class folders (or its .zip) imported,
//! split and fitted to the net's input; the files it cannot use listed with
//! why; model files that name the classes; and the CLI that trains on the
//! pictures and predicts them.
//!
//! The pictures are the real cat and dog photos of the data directory
//! (`cats_vs_dogs_sample/`), or a synthetic set where it lacks them (each
//! test says which).
#![cfg(not(target_family = "wasm"))] // native only: `wasm-pack test` builds every test target for wasm

mod common;

use burn::prelude::*;
use common::Pictures;
use reslab::config::ExperimentConfig;
use reslab::data::images::{self, ImageFit, ImportOptions, Skip, decode_picture, import_dir, import_zip};
use reslab::data::{DatasetKind, MAX_UNPACKED_BYTES, Problem};
use reslab::model_file::{self, ModelInfo};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

fn opts(size: usize) -> ImportOptions {
    ImportOptions { size, fit: ImageFit::Crop, test_fraction: 0.2, seed: 7 }
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("reslab-images-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Every file under `dir` as (path below `dir`'s parent, bytes), sorted.
fn tree_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let top = dir.file_name().unwrap().to_string_lossy().into_owned();
    let mut out = Vec::new();
    for class in std::fs::read_dir(dir).unwrap() {
        let class = class.unwrap().path();
        if !class.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&class).unwrap() {
            let f = f.unwrap().path();
            let name = format!("{top}/{}/{}", class.file_name().unwrap().to_string_lossy(), f.file_name().unwrap().to_string_lossy());
            out.push((name, std::fs::read(&f).unwrap()));
        }
    }
    out.sort();
    out
}

fn zip_of(entries: &[(String, Vec<u8>)], dirs: &[&str]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let deflated = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for d in dirs {
        w.add_directory(*d, deflated).unwrap();
    }
    for (name, bytes) in entries {
        w.start_file(name.as_str(), deflated).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn a_folder_of_class_folders_imports_with_sorted_names_and_every_picture() {
    let pics = Pictures::resolve();
    pics.announce();
    let import = import_dir(&pics.dir, &opts(32)).unwrap_or_else(|e| panic!("{pics}: {e}"));
    let d = &import.dataset;
    assert!(import.skipped.is_empty(), "{pics}: {:?}", import.skipped);
    assert_eq!(d.kind, DatasetKind::Images);
    assert_eq!(d.class_names, ["cat", "dog"]);
    assert_eq!((d.channels(), d.size(), d.num_classes()), (3, 32, 2));
    let (train, test) = (d.train.class_counts(2), d.test.class_counts(2));
    let n = pics.per_class;
    assert_eq!([train[0] + test[0], train[1] + test[1]], [n, n], "{pics}");
    // Stratified: each class holds out round(n × 0.2).
    let held = (n as f64 * 0.2).round() as usize;
    assert_eq!(test, [held, held], "{pics}");
    assert_eq!(d.train.images.len(), d.train.len() * 3 * 32 * 32);
    // The splits are shuffled: the first pictures of each hold both classes.
    assert_eq!(d.train.take(20).class_counts(2).iter().filter(|&&c| c > 0).count(), 2);
    assert_eq!(d.info_json()["class_names"], serde_json::json!(["cat", "dog"]));
}

#[test]
fn the_split_is_fixed_by_the_seed() {
    let pics = Pictures::resolve();
    pics.announce();
    let a = import_dir(&pics.dir, &opts(32)).unwrap().dataset;
    let b = import_dir(&pics.dir, &opts(32)).unwrap().dataset;
    assert_eq!((&a.train.images, &a.train.labels), (&b.train.images, &b.train.labels), "same seed, same split and order");
    assert_eq!((&a.test.images, &a.test.labels), (&b.test.images, &b.test.labels));
    let c = import_dir(&pics.dir, &ImportOptions { seed: 8, ..opts(32) }).unwrap().dataset;
    assert_ne!(c.test.images, a.test.images, "another seed holds out other pictures");
    assert_eq!(c.test.class_counts(2), a.test.class_counts(2), "in the same numbers");
    let half = import_dir(&pics.dir, &ImportOptions { test_fraction: 0.5, ..opts(32) }).unwrap().dataset;
    assert_eq!(half.test.class_counts(2), [pics.per_class / 2, pics.per_class / 2]);
}

#[test]
fn a_zip_of_the_tree_is_the_same_dataset_as_the_folder() {
    let pics = Pictures::resolve();
    pics.announce();
    let folder = import_dir(&pics.dir, &opts(32)).unwrap().dataset;
    let mut entries = tree_files(&pics.dir);
    // What a Mac puts in a zip it makes: ignored, not listed.
    entries.push(("__MACOSX/pets/cat/._x.jpg".into(), vec![0, 5, 22, 7]));
    entries.push((format!("{}/.DS_Store", common::PETS), b"\0\0\0\x01Bud1".to_vec()));
    // Entries in another order than the folder's.
    entries.reverse();
    let top = format!("{}/", pics.dir.file_name().unwrap().to_string_lossy());
    let zip = zip_of(&entries, &[top.as_str()]);
    let zipped = import_zip("pets.zip", &zip, &opts(32)).unwrap_or_else(|e| panic!("{pics}: {e}"));
    assert!(zipped.skipped.is_empty(), "{:?}", zipped.skipped);
    let z = zipped.dataset;
    assert_eq!(z.class_names, folder.class_names);
    assert_eq!((&z.train.labels, &z.test.labels), (&folder.train.labels, &folder.test.labels));
    assert!(z.train.images == folder.train.images && z.test.images == folder.test.images, "{pics}: the same pixels");
    // The same tree without its top folder, given as loose (path, bytes) pairs.
    let loose: Vec<(String, Vec<u8>)> = tree_files(&pics.dir).into_iter().map(|(n, b)| (n.split_once('/').unwrap().1.to_string(), b)).collect();
    let l = images::import_files(&loose, &opts(32)).unwrap().dataset;
    assert!(l.train.images == folder.train.images && l.test.labels == folder.test.labels);
}

#[test]
fn train_and_test_folders_are_the_split() {
    let pics = Pictures::resolve();
    pics.announce();
    let dir = temp_dir("split");
    for (class, files) in [("cat", pics.files("cat")), ("dog", pics.files("dog"))] {
        for (i, f) in files.iter().take(10).enumerate() {
            let split = if i < 7 { "train" } else { "test" };
            std::fs::create_dir_all(dir.join(split).join(class)).unwrap();
            std::fs::copy(f, dir.join(split).join(class).join(f.file_name().unwrap())).unwrap();
        }
    }
    let d = import_dir(&dir, &opts(32)).unwrap().dataset;
    assert_eq!(d.class_names, ["cat", "dog"]);
    assert_eq!((d.train.class_counts(2), d.test.class_counts(2)), (vec![7, 7], vec![3, 3]));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A 90×30 picture: red, green and blue thirds.
fn thirds_png() -> Vec<u8> {
    let img = image::RgbImage::from_fn(90, 30, |x, _| match x / 30 {
        0 => image::Rgb([255, 0, 0]),
        1 => image::Rgb([0, 255, 0]),
        _ => image::Rgb([0, 0, 255]),
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

#[test]
fn crop_keeps_the_centre_square_and_pad_the_whole_picture() {
    let png = thirds_png();
    let s = 32;
    // (channel, row, column) of a channel-major picture.
    let at = |px: &[u8], c: usize, y: usize, x: usize| px[c * s * s + y * s + x];
    let rgb = |px: &[u8], y: usize, x: usize| [at(px, 0, y, x), at(px, 1, y, x), at(px, 2, y, x)];
    let crop = decode_picture(&png, 3, s, ImageFit::Crop).unwrap();
    assert_eq!(crop.len(), 3 * s * s);
    for (y, x) in [(0, 0), (0, s - 1), (s - 1, 0), (s / 2, s / 2), (s - 1, s - 1)] {
        assert_eq!(rgb(&crop, y, x), [0, 255, 0], "crop is the green middle third, at ({y}, {x})");
    }
    let pad = decode_picture(&png, 3, s, ImageFit::Pad).unwrap();
    // 90×30 → 32×11, rows 10..21 on black.
    for y in [0, 5, 9, 22, 31] {
        assert_eq!(rgb(&pad, y, s / 2), [0, 0, 0], "pad's border at row {y}");
    }
    assert_eq!(rgb(&pad, 15, 2), [255, 0, 0]);
    assert_eq!(rgb(&pad, 15, s / 2), [0, 255, 0]);
    assert_eq!(rgb(&pad, 15, s - 3), [0, 0, 255]);
    // A tall picture pads left and right.
    let tall = image::DynamicImage::ImageRgb8(image::imageops::rotate90(&image::load_from_memory(&png).unwrap().to_rgb8()));
    let mut bytes = std::io::Cursor::new(Vec::new());
    tall.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
    let pad = decode_picture(bytes.get_ref(), 3, s, ImageFit::Pad).unwrap();
    assert_eq!((rgb(&pad, s / 2, 0), rgb(&pad, s / 2, s / 2)), ([0, 0, 0], [0, 255, 0]));
    // Grey, for a net of one channel: luma of pure green.
    let grey = decode_picture(&png, 1, 28, ImageFit::Crop).unwrap();
    assert_eq!(grey.len(), 28 * 28);
    assert!(grey.iter().all(|&v| v == grey[0]) && (150..=190).contains(&grey[0]), "{}", grey[0]);
}

#[test]
fn a_broken_jpeg_a_text_file_and_an_empty_file_are_skipped_with_reasons() {
    let pics = Pictures::resolve();
    pics.announce();
    let dir = temp_dir("broken");
    for class in ["cat", "dog"] {
        std::fs::create_dir_all(dir.join(class)).unwrap();
        for f in pics.files(class).iter().take(5) {
            std::fs::copy(f, dir.join(class).join(f.file_name().unwrap())).unwrap();
        }
    }
    // A real JPEG cut short (a download that stopped), whatever the set's own format.
    let jpeg = pics.files("cat").into_iter().find(|f| f.extension().is_some_and(|x| x == "jpg")).unwrap();
    let whole = std::fs::read(&jpeg).unwrap();
    std::fs::write(dir.join("cat/broken.jpg"), &whole[..whole.len() * 2 / 3]).unwrap();
    std::fs::write(dir.join("dog/notes.txt"), "dogs I have known\n").unwrap();
    std::fs::write(dir.join("dog/empty.jpg"), b"").unwrap();
    let import = import_dir(&dir, &opts(32)).unwrap();
    let top = dir.file_name().unwrap().to_string_lossy().into_owned();
    let skipped: Vec<(String, Skip)> = import.skipped.iter().map(|s| (s.name.clone(), s.reason.clone())).collect();
    assert_eq!(
        skipped,
        [
            (format!("{top}/cat/broken.jpg"), Skip::Truncated),
            (format!("{top}/dog/empty.jpg"), Skip::Empty),
            (format!("{top}/dog/notes.txt"), Skip::NotAnImage),
        ]
    );
    let said: Vec<String> = import.skipped.iter().map(|s| s.to_string()).collect();
    assert!(said[0].contains("broken.jpg: truncated"), "{said:?}");
    assert!(said[1].contains("empty file") && said[2].contains("not an image"), "{said:?}");
    let d = import.dataset;
    assert_eq!(d.train.len() + d.test.len(), 10, "the other pictures import");
    // A picture the decoder refuses is named with the decoder's message.
    let mut bad_png = thirds_png();
    bad_png.truncate(60);
    match decode_picture(&bad_png, 3, 32, ImageFit::Crop) {
        Err(Skip::Undecodable(msg)) => assert!(!msg.is_empty()),
        other => panic!("{other:?}"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn what_cannot_make_a_dataset_is_an_error_that_says_why() {
    let pics = Pictures::resolve();
    let one = pics.files("cat");
    let file = |name: &str, f: &PathBuf| (name.to_string(), std::fs::read(f).unwrap());
    // One class.
    let e = images::import_files(&[file("cat/a.jpg", &one[0]), file("cat/b.jpg", &one[1])], &opts(32)).unwrap_err();
    assert!(matches!(e.problem, Problem::ClassCount { found: 1, .. }), "{e}");
    assert!(e.to_string().contains("1 class folder (cat)"), "{e}");
    // A class with nothing usable in it.
    let e = images::import_files(&[file("cat/a.jpg", &one[0]), ("dog/a.txt".into(), b"text".to_vec())], &opts(32)).unwrap_err();
    assert_eq!(e.problem, Problem::EmptyClass("dog".into()), "{e}");
    // Nothing usable at all.
    let e = images::import_files(&[("cat/a.jpg".into(), vec![]), ("dog/a.txt".into(), b"text".to_vec())], &opts(32)).unwrap_err();
    assert_eq!(e.problem, Problem::NoPictures { skipped: 2 }, "{e}");
    // Pictures with no class folder.
    let e = images::import_files(&[file("a.jpg", &one[0]), file("b.jpg", &one[1])], &opts(32)).unwrap_err();
    assert!(matches!(e.problem, Problem::ClassCount { found: 0, .. }), "{e}");
    // Not a zip.
    let e = import_zip("pets.zip", b"PK\x03\x04 and then nothing", &opts(32)).unwrap_err();
    assert!(matches!(e.problem, Problem::Zip(_)) && e.file == "pets.zip", "{e}");
}

#[test]
fn hostile_zips_are_refused_before_they_are_unpacked() {
    // An entry that claims more than the limit (its header says ~4 GiB).
    let mut z = zip_of(&[("cat/a.jpg".into(), vec![0; 1000]), ("dog/b.jpg".into(), vec![1; 1000])], &[]);
    let cd = z.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    z[cd + 24..cd + 28].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    let e = import_zip("bomb.zip", &z, &opts(32)).unwrap_err();
    assert_eq!(e.problem, Problem::TooLarge { limit: MAX_UNPACKED_BYTES }, "{e}");
    assert!(e.to_string().starts_with("bomb.zip: too large"), "{e}");
    // More entries than one import takes.
    let many: Vec<(String, Vec<u8>)> = (0..=images::MAX_FILES).map(|i| (format!("c{}/{i}", i % 2), vec![])).collect();
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, _) in &many {
        w.start_file(name.as_str(), stored).unwrap();
    }
    let z = w.finish().unwrap().into_inner();
    let e = import_zip("many.zip", &z, &opts(32)).unwrap_err();
    assert_eq!(e.problem, Problem::TooManyFiles { limit: images::MAX_FILES }, "{e}");
    // Cut anywhere: an error or a smaller set, never a panic.
    let small = zip_of(&[("cat/a.png".into(), thirds_png()), ("dog/b.png".into(), thirds_png())], &[]);
    for cut in (0..small.len()).step_by(7) {
        let _ = import_zip("cut.zip", &small[..cut], &opts(32));
    }
}

fn pets_cfg() -> ExperimentConfig {
    ExperimentConfig { dataset: DatasetKind::Images, image_size: 32, classes: Some(2), ..Default::default() }
}

#[test]
fn a_model_file_keeps_the_class_names_input_size_and_pixel_mean() {
    let cfg = pets_cfg();
    let device = Device::flex();
    let net = cfg.build_net(&device).unwrap();
    let mean: Vec<f32> = (0..3 * 32 * 32).map(|i| (i % 255) as f32 / 255.0).collect();
    let info = ModelInfo::new(&cfg, vec!["cat".into(), "dog".into()], Some(mean));
    assert_eq!((info.input, info.fit), ([3, 32, 32], ImageFit::Crop));
    let bytes = model_file::save_model_with_info(&net, &cfg, &info);
    let (_, cfg2, info2) = model_file::load_model_with_info(&bytes, &device).unwrap();
    assert_eq!((cfg2, info2), (cfg.clone(), info.clone()));
    // A header that contradicts its net is refused, naming the problem.
    let three = ModelInfo { class_names: vec!["a".into(), "b".into(), "c".into()], ..info.clone() };
    let e = model_file::load_model_with_info(&model_file::save_model_with_info(&net, &cfg, &three), &device).err().unwrap();
    assert!(e.contains("names 3 classes but its net predicts 2"), "{e}");
    let short = ModelInfo { pixel_mean: Some(vec![0.5; 10]), ..info };
    let e = model_file::load_model_with_info(&model_file::save_model_with_info(&net, &cfg, &short), &device).err().unwrap();
    assert!(e.contains("pixel mean has 10 values"), "{e}");
}

#[test]
fn a_model_file_from_before_class_names_still_loads_with_the_standard_names() {
    let cfg = ExperimentConfig::default();
    let device = Device::flex();
    let net = cfg.build_net(&device).unwrap();
    let new = model_file::save_model(&net, &cfg);
    let header_end = model_file::MAGIC.len() + 4 + u32::from_le_bytes(new[13..17].try_into().unwrap()) as usize;
    // The old layout: the bare config JSON, without the fields added since.
    let mut config = serde_json::to_value(&cfg).unwrap();
    for field in ["image_size", "image_fit", "test_fraction", "classes"] {
        config.as_object_mut().unwrap().remove(field).expect(field);
    }
    let config = serde_json::to_vec(&config).unwrap();
    let mut old = model_file::MAGIC.to_vec();
    old.extend_from_slice(&(config.len() as u32).to_le_bytes());
    old.extend_from_slice(&config);
    old.extend_from_slice(&new[header_end..]);
    let (_, cfg2, info) = model_file::load_model_with_info(&old, &device).unwrap();
    assert_eq!(cfg2, cfg);
    assert_eq!(info.class_names, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    assert_eq!((info.input, info.pixel_mean), ([1, 28, 28], None));
    // And a file of today names them too, without knowing the mean.
    let (_, _, info) = model_file::load_model_with_info(&new, &device).unwrap();
    assert_eq!(info.class_names.len(), 10);
}

fn reslab(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_reslab")).args(args).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

/// `predict`'s lines: (file, [(class, probability)]).
fn predictions(out: &str) -> Vec<(String, Vec<(String, f64)>)> {
    out.lines()
        .map(|l| {
            let (file, rest) = l.rsplit_once(": ").unwrap_or_else(|| panic!("{l}"));
            let top = rest
                .split(", ")
                .map(|p| {
                    let (c, v) = p.rsplit_once(' ').unwrap();
                    (c.to_string(), v.parse::<f64>().unwrap())
                })
                .collect();
            (file.to_string(), top)
        })
        .collect()
}

#[test]
fn the_cli_trains_on_pictures_names_their_classes_and_predicts_them() {
    let pics = Pictures::resolve();
    pics.announce();
    let dir = temp_dir("cli");
    let (model, result) = (dir.join("pets.reslab"), dir.join("run.json"));
    let data = pics.dir.to_str().unwrap();
    let (ok, _, err) = reslab(&[
        "train", "--data", data, "--model", "cnn", "--image-size", "32", "--max-steps", "12", "--batch", "16", "--quiet",
        "--out", result.to_str().unwrap(), "--save-model", model.to_str().unwrap(),
    ]);
    assert!(ok, "{pics}: {err}");
    let n = pics.per_class;
    let held = (n as f64 * 0.2).round() as usize;
    let classes = format!("2 classes: cat ({} train, {held} test), dog ({} train, {held} test)", n - held, n - held);
    assert!(err.contains(&classes), "{pics}: {err}");
    assert!(err.contains("test accuracy per class: cat "), "{err}");
    let run: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&result).unwrap()).unwrap();
    assert_eq!(run["status"], "finished");
    assert_eq!(run["class_names"], serde_json::json!(["cat", "dog"]));
    assert_eq!((&run["config"]["dataset"], &run["config"]["classes"], &run["config"]["image_size"]), (&serde_json::json!("images"), &serde_json::json!(2), &serde_json::json!(32)));
    assert_eq!(run["confusion_matrix"].as_array().unwrap().len(), 2);

    // The saved model names the classes of new pictures.
    let (cat, dog) = (pics.files("cat")[0].clone(), pics.files("dog")[0].clone());
    let (ok, out, err) = reslab(&["predict", "--model", model.to_str().unwrap(), cat.to_str().unwrap(), dog.to_str().unwrap()]);
    assert!(ok, "{err}");
    let p = predictions(&out);
    assert_eq!(p.len(), 2, "{out}");
    for (i, (file, top)) in p.iter().enumerate() {
        assert_eq!(file, [&cat, &dog][i].to_str().unwrap());
        let mut names: Vec<&str> = top.iter().map(|(c, _)| c.as_str()).collect();
        names.sort();
        assert_eq!(names, ["cat", "dog"], "{out}");
        let sum: f64 = top.iter().map(|(_, v)| v).sum();
        assert!((sum - 1.0).abs() < 1e-3, "probabilities sum to {sum}: {out}");
        assert!(top[0].1 >= top[1].1, "most probable first: {out}");
    }
    let (ok, out, _) = reslab(&["predict", "--model", model.to_str().unwrap(), "--json", "--top", "1", cat.to_str().unwrap()]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["top"].as_array().unwrap().len(), 1);
    assert!(["cat", "dog"].contains(&v[0]["top"][0]["class"].as_str().unwrap()), "{out}");
    // A file that is no picture is named; the others are still predicted.
    let (ok, out, err) = reslab(&["predict", "--model", model.to_str().unwrap(), result.to_str().unwrap(), cat.to_str().unwrap()]);
    assert!(!ok && err.contains("run.json: not an image"), "{err}");
    assert_eq!(predictions(&out).len(), 1, "{out}");
    // eval reads the pictures again, as training split them.
    let (ok, out, err) = reslab(&["eval", "--model", model.to_str().unwrap(), "--data", data, "--json"]);
    assert!(ok, "{err}");
    let ev: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(ev["test_predictions"], run["test_predictions"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_cli_lists_the_files_it_skips_and_trains_on_the_rest() {
    let pics = Pictures::resolve();
    pics.announce();
    let dir = temp_dir("cli-broken");
    let tree = dir.join("pets");
    for class in ["cat", "dog"] {
        std::fs::create_dir_all(tree.join(class)).unwrap();
        for f in pics.files(class).iter().take(6) {
            std::fs::copy(f, tree.join(class).join(f.file_name().unwrap())).unwrap();
        }
    }
    let jpeg = pics.files("dog").into_iter().find(|f| f.extension().is_some_and(|x| x == "jpg")).unwrap();
    let whole = std::fs::read(jpeg).unwrap();
    std::fs::write(tree.join("dog/broken.jpg"), &whole[..whole.len() / 2]).unwrap();
    std::fs::write(tree.join("cat/readme.txt"), "cats").unwrap();
    std::fs::write(tree.join("cat/empty.png"), b"").unwrap();
    let (ok, _, err) = reslab(&["train", "--data", tree.to_str().unwrap(), "--image-size", "32", "--max-steps", "2", "--batch", "4", "--quiet"]);
    assert!(ok, "{err}");
    assert!(err.contains("skipped 3 files:"), "{err}");
    for line in ["pets/cat/empty.png: empty file", "pets/cat/readme.txt: not an image", "pets/dog/broken.jpg: truncated"] {
        assert!(err.contains(line), "no '{line}' in {err}");
    }
    assert!(err.contains("2 classes: cat (5 train, 1 test), dog (5 train, 1 test)"), "{err}");
    // One class folder is not a dataset: said before anything trains.
    let (ok, _, err) = reslab(&["train", "--data", tree.join("cat").to_str().unwrap(), "--quiet"]);
    assert!(!ok, "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn predict_takes_a_picture_of_a_digit_for_an_mnist_model() {
    let dir = temp_dir("digit");
    let model = dir.join("mnist.reslab");
    let (ok, _, err) = reslab(&["train", "--model", "cnn", "--max-steps", "5", "--batch", "16", "--test-limit", "32", "--quiet", "--save-model", model.to_str().unwrap()]);
    assert!(ok, "{err}");
    // A white stroke on black, 40×40: resized to 28×28 grey.
    let digit = image::GrayImage::from_fn(40, 40, |x, y| image::Luma([if (18..22).contains(&x) && (6..34).contains(&y) { 255 } else { 0 }]));
    let png = dir.join("one.png");
    digit.save(&png).unwrap();
    let (ok, out, err) = reslab(&["predict", "--model", model.to_str().unwrap(), png.to_str().unwrap()]);
    assert!(ok, "{err}");
    let p = predictions(&out);
    assert_eq!(p[0].1.len(), 5, "the top 5 of 10 digits: {out}");
    assert!(p[0].1.iter().all(|(c, v)| c.len() == 1 && c.chars().all(|ch| ch.is_ascii_digit()) && (0.0..=1.0).contains(v)), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_thousand_classes_keep_their_labels_and_one_more_is_refused() {
    // ImageNet's count: labels beyond a byte must survive the split and the batches.
    let side = 8;
    let ppi = 3 * side * side;
    let names = |n: usize| (0..n).map(|c| format!("class{c:04}")).collect::<Vec<_>>();
    let pictures = |n: usize| {
        (0..n)
            .flat_map(|class| (0..3).map(move |k| images::Picture { class, split: None, pixels: vec![((class * 3 + k) % 251) as u8; ppi] }))
            .collect::<Vec<_>>()
    };
    let o = ImportOptions { size: side, fit: ImageFit::Crop, test_fraction: 0.34, seed: 3 };
    let d = images::assemble(names(1000), pictures(1000), &o, "many".into()).unwrap();
    assert_eq!(d.class_names.len(), 1000);
    assert_eq!(d.class_names[999], "class0999");
    for set in [&d.train, &d.test] {
        assert!(set.labels.iter().any(|&l| l > 255), "labels above 255 kept");
        // Each picture still carries its own class: its fill byte says which.
        for i in 0..set.len() {
            let class = set.labels[i] as usize;
            let fill = set.image(i)[0] as usize;
            assert!((0..3).any(|k| (class * 3 + k) % 251 == fill), "picture {i} labelled {class} holds class fill {fill}");
        }
    }
    assert_eq!(d.train.class_counts(1000).iter().filter(|&&c| c == 2).count(), 1000, "two training pictures per class");
    // The net follows: 1,000 logits.
    let cfg = ExperimentConfig { model: "cnn".into(), dataset: DatasetKind::Images, image_size: 32, classes: Some(1000), ..Default::default() };
    assert!(cfg.validate().is_empty(), "{:?}", cfg.validate());
    let net = cfg.build_net(&Device::flex()).unwrap().valid();
    assert_eq!(net.forward(Tensor::<4>::zeros([1, 3, 32, 32], &Device::flex())).dims(), [1, 1000]);
    let e = images::assemble(names(1001), pictures(1001), &o, "too-many".into()).unwrap_err();
    assert!(matches!(e.problem, Problem::ClassCount { found: 1001, .. }), "{e}");
    assert!(e.to_string().contains("2 to 1000 classes"), "{e}");
}

#[test]
fn a_study_runs_on_the_pictures_imported_once_with_their_classes() {
    let pics = Pictures::resolve();
    let out = temp_dir("study");
    let data = pics.dir.to_str().unwrap();
    let (ok, _, err) = reslab(&["train", "--preset", "own-images", "--budget", "smoke", "--data", data, "--image-size", "32", "--quiet", "--out", out.to_str().unwrap()]);
    assert!(ok, "{pics}: {err}");
    assert_eq!(err.matches("2 classes: cat").count(), 1, "imported once: {err}");
    let mut files: Vec<_> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "json")).collect();
    files.sort();
    let runs: Vec<serde_json::Value> = files.iter().filter_map(|p| serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(p).unwrap()).ok()).filter(|v| v.get("config").is_some()).collect();
    // At 32 px the study picks the paper's CIFAR nets, each trained on the pictures.
    let models: Vec<&str> = runs.iter().map(|r| r["config"]["model"].as_str().unwrap()).collect();
    assert_eq!(models, ["plain20", "plain56", "resnet20", "resnet56"], "{files:?}");
    for r in &runs {
        assert_eq!(r["status"], "finished", "{r}");
        assert_eq!((&r["config"]["dataset"], &r["config"]["classes"], &r["config"]["image_size"]), (&serde_json::json!("images"), &serde_json::json!(2), &serde_json::json!(32)));
        assert_eq!(r["class_names"], serde_json::json!(["cat", "dog"]));
        assert_eq!(r["group"]["id"], "own-images");
    }
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn timing_a_study_on_pictures_uses_labels_of_their_classes() {
    // The page times a few steps of each net of a plan before it runs (bench::run_config): with two classes a
    // synthetic label beyond 1 made the cross-entropy index out of bounds and the engine trap.
    for classes in [2, 1000] {
        let cfg = ExperimentConfig { model: "cnn".into(), dataset: DatasetKind::Images, image_size: 32, classes: Some(classes), batch_size: 8, ..Default::default() };
        let r = pollster::block_on(reslab::bench::run_config(&cfg, 1, 2, 60.0, &Device::flex(), "cpu")).unwrap();
        assert!(r.ms_per_step.is_some_and(|ms| ms > 0.0), "{classes} classes: {r:?}");
    }
}
