//! What the fuzz targets do, shared by the fuzz crate (`fuzz_targets/*.rs`)
//! and the main crate's `tests/fuzz_corpus.rs`, which replays the committed
//! corpus through these same functions on every `cargo test`.
//!
//! Each function feeds its input to the parsers, which must never panic, and
//! whenever a parser accepts the input, checks that the sizes of the result
//! agree with each other and with the input. A failed check panics, which
//! libFuzzer reports like a panic in the parser. Each function returns how
//! many parses succeeded, so that the replay can check that the corpus
//! reaches the success paths (and so these checks) too.
//!
//! Included by path from both crates, it names the parsers `crate::data`:
//! the module itself in the fuzz crate, an import of `reslab::data` in the test.

use crate::data::archive::{gunzip, is_gzip, untar};
use crate::data::idx::{self, parse_idx_images, parse_idx_labels};
use crate::data::{
    Dataset, DatasetKind, ImageSet, MAX_UNPACKED_BYTES, NUM_CLASSES, Problem, cifar,
};

/// A target's entry point: returns how many parses of the input succeeded.
pub type Target = fn(&[u8]) -> usize;

/// The fuzz targets by name, as in `fuzz/Cargo.toml` and `fuzz/corpus/<name>/`.
pub const TARGETS: [(&str, Target); 4] = [
    ("idx", idx),
    ("cifar", cifar),
    ("archive", archive),
    ("load_files", load_files),
];

/// Target `idx`: the input as an IDX images file and as an IDX labels file,
/// both raw and, when it is gzip, decompressed.
pub fn idx(bytes: &[u8]) -> usize {
    let mut ok = idx_raw(bytes);
    if is_gzip(bytes)
        && let Ok(raw) = gunzip("fuzz-idx-ubyte.gz", bytes, MAX_UNPACKED_BYTES)
    {
        assert!(raw.len() <= MAX_UNPACKED_BYTES);
        ok += idx_raw(&raw);
    }
    ok
}

fn idx_raw(bytes: &[u8]) -> usize {
    let mut ok = 0;
    if let Ok((n, rows, cols, pixels)) = parse_idx_images("fuzz-images-idx3-ubyte", bytes) {
        assert_eq!((rows, cols), (idx::SIDE, idx::SIDE));
        assert!(n > 0);
        assert_eq!(pixels.len(), n * rows * cols);
        // A 16-byte header and exactly the pixels it describes.
        assert_eq!(pixels[..], bytes[16..]);
        ok += 1;
    }
    match parse_idx_labels("fuzz-labels-idx1-ubyte", bytes) {
        Ok(labels) => {
            assert!(!labels.is_empty());
            // An 8-byte header and exactly the labels it describes.
            assert_eq!(labels[..], bytes[8..]);
            assert!(labels.iter().all(|&l| (l as usize) < NUM_CLASSES));
            ok += 1;
        }
        Err(e) => touch_error(&e),
    }
    ok
}

/// Target `cifar`: the input as one CIFAR-10 binary batch, and as the
/// official archive `cifar-10-binary.tar.gz` (gzip by content, tar by name).
pub fn cifar(bytes: &[u8]) -> usize {
    let mut ok = 0;
    match cifar::parse_cifar_batch("data_batch_1.bin", bytes) {
        Ok(set) => {
            check_set(&set, cifar::CHANNELS, cifar::SIDE, NUM_CLASSES);
            assert_eq!(set.len() * cifar::RECORD_BYTES, bytes.len());
            ok += 1;
        }
        Err(e) => touch_error(&e),
    }
    let files = [("cifar-10-binary.tar.gz".to_string(), bytes.to_vec())];
    match crate::data::load_files(&files, None) {
        Ok(d) => {
            assert_eq!(d.kind, DatasetKind::Cifar10);
            check_dataset(&d);
            ok += 1;
        }
        Err(e) => touch_error(&e),
    }
    ok
}

/// Target `archive`: gunzip (with the real limit and with a small one: the
/// cap must be exact and must not change what decodes below it), then untar
/// the input and, if it was gzip, what it decompressed to.
pub fn archive(bytes: &[u8]) -> usize {
    const SMALL: usize = 4096;
    let mut ok = 0;
    let full = gunzip("fuzz.gz", bytes, MAX_UNPACKED_BYTES);
    let capped = gunzip("fuzz.gz", bytes, SMALL);
    match (&full, &capped) {
        (Ok(out), Ok(small)) => {
            assert!(out.len() <= SMALL);
            assert_eq!(out, small);
        }
        (Ok(out), Err(e)) => {
            assert!(out.len() > SMALL, "{e}");
            assert_eq!(e.problem, Problem::TooLarge { limit: SMALL });
        }
        (Err(e), Ok(_)) => panic!("a lower limit turned an error into success: {e}"),
        (Err(a), Err(b)) => {
            touch_error(a);
            touch_error(b);
        }
    }
    if let Ok(out) = &full {
        assert!(out.len() <= MAX_UNPACKED_BYTES);
        ok += 1;
        ok += untar_checked(out);
    }
    ok + untar_checked(bytes)
}

fn untar_checked(bytes: &[u8]) -> usize {
    match untar("fuzz.tar", bytes) {
        Ok(files) => {
            let whole = bytes.as_ptr_range();
            let mut total = 0usize;
            for (_, data) in &files {
                // Slices of the input, as documented.
                let part = data.as_ptr_range();
                assert!(whole.start <= part.start && part.end <= whole.end);
                total += data.len();
            }
            // Each entry's data follows its own header, so they cannot overlap.
            assert!(total <= bytes.len());
            1
        }
        Err(e) => {
            assert!(matches!(e.problem, Problem::Tar(_)), "{e}");
            touch_error(&e);
            0
        }
    }
}

/// Target `load_files`: the input decoded by [`decode_files`] into 1 to 4
/// named files and a hint, loaded as a dataset.
pub fn load_files(bytes: &[u8]) -> usize {
    let (files, hint) = decode_files(bytes);
    match crate::data::load_files(&files, hint) {
        Ok(d) => {
            check_dataset(&d);
            // The hint decides the flavour; without one, a name with "fashion" in it does.
            let named_fashion = files.iter().any(|(n, _)| n.to_ascii_lowercase().contains("fashion"));
            match d.kind {
                DatasetKind::Cifar10 | DatasetKind::Cifar100 => assert_ne!(hint, Some(DatasetKind::Cifar100Coarse)),
                DatasetKind::Cifar100Coarse => assert_eq!(hint, Some(DatasetKind::Cifar100Coarse)),
                DatasetKind::FashionMnist => {
                    assert!(hint == Some(DatasetKind::FashionMnist) || (hint != Some(DatasetKind::Mnist) && named_fashion), "{hint:?}")
                }
                DatasetKind::Mnist => {
                    assert!(hint == Some(DatasetKind::Mnist) || (hint != Some(DatasetKind::FashionMnist) && !named_fashion), "{hint:?}")
                }
                // Pictures are imported by `data::images`, never by `load_files`.
                DatasetKind::Images => panic!("load_files made a dataset of pictures"),
            }
            assert!(!d.source.is_empty());
            1
        }
        Err(e) => {
            touch_error(&e);
            0
        }
    }
}

/// Realistic file names for [`decode_files`]: official names (gzipped and
/// not), other spellings, and files the loader must skip or reject.
/// Append only: the committed corpus refers to these by index.
pub const NAMES: [&str; 20] = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
    "data_batch_1.bin",
    "data_batch_2.bin",
    "test_batch.bin",
    "cifar-10-binary.tar.gz",
    "cifar-10-binary.tar",
    "cifar-10-batches-bin/data_batch_10.bin",
    "mnist-train.dat",
    "download",
    "batches.meta.txt",
    "__MACOSX/._test_batch.bin",
    "images.bin",
    "fashion/T10K-IMAGES-IDX3-UBYTE.GZ",
];

/// The hints that byte 0 selects from.
const HINTS: [Option<DatasetKind>; 4] = [
    None,
    Some(DatasetKind::Mnist),
    Some(DatasetKind::FashionMnist),
    Some(DatasetKind::Cifar10),
];

/// Decodes a fuzz input into 1 to 4 named files and a hint. Every input
/// decodes; bytes past the end of the input read as zero.
///
/// - byte 0: bits 0-1 pick the hint from [`HINTS`] (none, MNIST,
///   Fashion-MNIST, CIFAR-10), bits 2-3 the number of files minus one;
/// - then for each file: one byte, the name (index into [`NAMES`], modulo its
///   length); a u32, little-endian, the length; and that many bytes of
///   content, or what is left of the input if that is less.
///
/// `fuzz/make-seeds.py` writes seeds in this format.
pub fn decode_files(bytes: &[u8]) -> (Vec<(String, Vec<u8>)>, Option<DatasetKind>) {
    let mut rest = bytes;
    let first = take(&mut rest, 1).first().copied().unwrap_or(0);
    let hint = HINTS[(first & 3) as usize];
    let count = 1 + ((first >> 2) & 3) as usize;
    let mut files = Vec::with_capacity(count);
    for _ in 0..count {
        let name = NAMES[take(&mut rest, 1).first().copied().unwrap_or(0) as usize % NAMES.len()];
        let mut len = [0u8; 4];
        let got = take(&mut rest, 4);
        len[..got.len()].copy_from_slice(got);
        // The length is capped by `take` at what is present.
        let len = usize::try_from(u32::from_le_bytes(len)).unwrap_or(usize::MAX);
        files.push((name.to_string(), take(&mut rest, len).to_vec()));
    }
    (files, hint)
}

/// The next `n` bytes of `rest`, or all of them if fewer are left.
fn take<'a>(rest: &mut &'a [u8], n: usize) -> &'a [u8] {
    let (head, tail) = rest.split_at(n.min(rest.len()));
    *rest = tail;
    head
}

fn check_dataset(d: &Dataset) {
    check_set(&d.train, d.kind.channels(), d.kind.size(), d.num_classes());
    check_set(&d.test, d.kind.channels(), d.kind.size(), d.num_classes());
    let info = d.info_json();
    assert_eq!(info["train"], d.train.len());
    assert_eq!(info["test"], d.test.len());
}

fn check_set(set: &ImageSet, channels: usize, side: usize, classes: usize) {
    assert_eq!(
        (set.channels, set.height, set.width),
        (channels, side, side)
    );
    assert!(!set.is_empty());
    assert_eq!(set.images.len(), set.len() * channels * side * side);
    assert!(set.labels.iter().all(|&l| (l as usize) < classes));
    assert_eq!(set.image(set.len() - 1).len(), set.pixels_per_image());
    let counts = set.class_counts(classes);
    assert_eq!(counts.iter().sum::<usize>(), set.len());
}

/// Errors are shown to the user: formatting one must not panic either.
fn touch_error(e: &crate::data::DataError) {
    assert!(!e.to_string().is_empty());
}
