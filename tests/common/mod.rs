//! Which MNIST and CIFAR-10 files the tests read.
//!
//! The full datasets are not part of the repository, so a test that needs
//! them reads them when they are present and otherwise the built-in samples
//! (`assets/sample/`, compiled into the crate): `./scripts/test` then passes
//! on a fresh clone. Either way the test checks the known facts of what it
//! read (the full sets' official counts and accuracy, or the sample's own)
//! and says which data it used.
//!
//! - `RESLAB_DATA`: a folder laid out like `../shared/data` (`mnist/` with the
//!   four official .gz files, `cifar10/cifar-10-binary-subset.tar.gz`; see
//!   that folder's README.md). Default: `../shared/data` next to the repository.
//! - `RESLAB_REQUIRE_FULL_DATA=1`: missing full data is an error instead of a
//!   fallback to the sample. CI sets it, so it cannot silently test less.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use reslab::data::{self, Dataset, DatasetKind, sample};
use std::cell::RefCell;
use std::fmt;
use std::path::PathBuf;

pub type Files = Vec<(String, Vec<u8>)>;

pub const DATA_VAR: &str = "RESLAB_DATA";
pub const REQUIRE_VAR: &str = "RESLAB_REQUIRE_FULL_DATA";

/// Where a test's dataset comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// The full set's files, in this folder.
    Full(PathBuf),
    /// The built-in sample; `missing` is the full-data file that was not
    /// found, named so that a wrong `RESLAB_DATA` is easy to spot.
    Sample { missing: PathBuf },
}

/// One dataset as the tests read it.
#[derive(Clone, Debug)]
pub struct Data {
    pub kind: DatasetKind,
    pub source: Source,
}

/// `RESLAB_DATA`, or `../shared/data` next to the repository.
pub fn data_dir() -> PathBuf {
    match std::env::var_os(DATA_VAR) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data")),
    }
}

/// Whether `RESLAB_REQUIRE_FULL_DATA` asks for the full data (set, and not
/// empty or "0").
pub fn full_data_required() -> bool {
    std::env::var(REQUIRE_VAR).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// The folder under the data directory, and the files the tests read there.
fn layout(kind: DatasetKind) -> (&'static str, &'static [&'static str]) {
    match kind {
        DatasetKind::Mnist => (
            "mnist",
            &[
                "train-images-idx3-ubyte.gz",
                "train-labels-idx1-ubyte.gz",
                "t10k-images-idx3-ubyte.gz",
                "t10k-labels-idx1-ubyte.gz",
            ],
        ),
        DatasetKind::Cifar10 => ("cifar10", &["cifar-10-binary-subset.tar.gz"]),
        other => panic!("the tests have no full {} data (its tests build their files from the samples)", other.display_name()),
    }
}

impl Data {
    /// The full `kind` if all its files are in the data directory, else the
    /// built-in sample. Panics instead of falling back when
    /// `RESLAB_REQUIRE_FULL_DATA` is set.
    pub fn resolve(kind: DatasetKind) -> Data {
        let (folder, names) = layout(kind);
        let dir = data_dir().join(folder);
        let missing = names.iter().map(|n| dir.join(n)).find(|p| !p.is_file());
        let source = match missing {
            None => Source::Full(dir.canonicalize().unwrap_or(dir)),
            Some(missing) => {
                let origin = match std::env::var_os(DATA_VAR) {
                    Some(dir) if !dir.is_empty() => format!("{DATA_VAR}={}", dir.to_string_lossy()),
                    _ => format!("{DATA_VAR} unset, so {}", data_dir().display()),
                };
                assert!(
                    !full_data_required(),
                    "{REQUIRE_VAR} is set but the full {name} is missing: {missing} not found \
                     (data directory: {origin}). Point {DATA_VAR} at a folder with mnist/ and cifar10/ \
                     laid out like ../shared/data (see its README.md), or unset {REQUIRE_VAR} to \
                     test on the built-in sample.",
                    name = kind.display_name(),
                    missing = missing.display(),
                );
                Source::Sample { missing }
            }
        };
        Data { kind, source }
    }

    pub fn is_full(&self) -> bool {
        matches!(self.source, Source::Full(_))
    }

    /// A folder holding the files in their official names: the full set's,
    /// or the sample's in `assets/sample/`.
    pub fn dir(&self) -> PathBuf {
        match &self.source {
            Source::Full(dir) => dir.clone(),
            Source::Sample { .. } => {
                PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/sample"))
                    .join(layout(self.kind).0)
            }
        }
    }

    /// The files as (file name, bytes), ready for `load_files`.
    pub fn files(&self) -> Files {
        match &self.source {
            Source::Full(dir) => layout(self.kind)
                .1
                .iter()
                .map(|name| {
                    let path = dir.join(name);
                    let bytes = std::fs::read(&path)
                        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
                    (name.to_string(), bytes)
                })
                .collect(),
            Source::Sample { .. } => sample::builtin_files(self.kind).expect("a built-in sample"),
        }
    }

    /// The dataset, loaded through the same code as a user's files.
    pub fn load(&self) -> Dataset {
        data::load_files(&self.files(), Some(self.kind)).unwrap_or_else(|e| panic!("{self}: {e}"))
    }

    /// Prints which data the test uses (to stderr: shown with `--nocapture`,
    /// and with the output of a failed test), once per test and dataset.
    pub fn announce(&self) -> &Self {
        // libtest runs each test on its own thread.
        thread_local!(static SAID: RefCell<Vec<DatasetKind>> = const { RefCell::new(Vec::new()) });
        let first = SAID.with(|said| {
            let mut said = said.borrow_mut();
            let first = !said.contains(&self.kind);
            if first {
                said.push(self.kind);
            }
            first
        });
        if first {
            eprintln!("{self}");
        }
        self
    }
}

impl fmt::Display for Data {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match &self.source {
            Source::Full(dir) => match self.kind {
                DatasetKind::Cifar10 => write!(
                    f,
                    "data: CIFAR-10 subset (data_batch_1 + test_batch) from {}",
                    dir.display()
                ),
                kind => write!(
                    f,
                    "data: full {} from {}",
                    kind.display_name(),
                    dir.display()
                ),
            },
            Source::Sample { missing } => write!(
                f,
                "data: built-in {} sample ({} not found; set {DATA_VAR} to a folder with mnist/ and \
                 cifar10/ to test on the full sets)",
                self.kind.display_name(),
                missing.display()
            ),
        }
    }
}

/// The folder of real photos under the data directory: `cat/` and `dog/`,
/// 100 JPEGs each (see its README.md).
pub const PETS: &str = "cats_vs_dogs_sample";

/// A folder of pictures in class folders (`cat/`, `dog/`), as the picture
/// tests read it: the real photos when the data directory has them, else a
/// synthetic set made here (two classes anyone can tell apart: reddish
/// horizontal stripes and bluish vertical ones, PNG and JPEG, of varied
/// shapes). `RESLAB_REQUIRE_FULL_DATA` makes the real photos required.
#[derive(Clone, Debug)]
pub struct Pictures {
    pub dir: PathBuf,
    /// Pictures per class.
    pub per_class: usize,
    pub real: bool,
}

/// Pictures per class of the synthetic set.
pub const SYNTHETIC_PER_CLASS: usize = 24;

impl Pictures {
    pub fn resolve() -> Pictures {
        let dir = data_dir().join(PETS);
        if dir.join("cat").is_dir() && dir.join("dog").is_dir() {
            return Pictures { dir: dir.canonicalize().unwrap_or(dir), per_class: 100, real: true };
        }
        assert!(
            !full_data_required(),
            "{REQUIRE_VAR} is set but the photos are missing: {} has no cat/ and dog/ folders. Point {DATA_VAR} \
             at a folder laid out like ../shared/data, or unset {REQUIRE_VAR} to test on synthetic pictures.",
            dir.display()
        );
        static MADE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
        let dir = MADE.get_or_init(|| {
            // Under the target directory (Cargo's scratch space for tests), not the system's /tmp.
            let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("synthetic-pets-{}", std::process::id()));
            write_synthetic_pictures(&dir, SYNTHETIC_PER_CLASS);
            dir
        });
        Pictures { dir: dir.clone(), per_class: SYNTHETIC_PER_CLASS, real: false }
    }

    /// The pictures of one class, sorted by name.
    pub fn files(&self, class: &str) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.dir.join(class)).unwrap().map(|e| e.unwrap().path()).collect();
        v.sort();
        v
    }

    /// Says which pictures the test uses (stderr, shown with `--nocapture`).
    pub fn announce(&self) -> &Self {
        eprintln!("{self}");
        self
    }
}

impl fmt::Display for Pictures {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.real {
            write!(f, "data: real cat and dog photos from {}", self.dir.display())
        } else {
            write!(
                f,
                "data: synthetic cat/dog pictures in {} ({PETS}/ not found in the data directory; set {DATA_VAR} to test on the real photos)",
                self.dir.display()
            )
        }
    }
}

/// Writes `cat/` and `dog/` with `n` pictures each into `dir`: cats are
/// reddish with horizontal stripes, dogs bluish with vertical ones; sizes
/// and aspect ratios vary; even pictures are PNG, odd ones JPEG.
pub fn write_synthetic_pictures(dir: &std::path::Path, n: usize) {
    for (class, red) in [("cat", true), ("dog", false)] {
        std::fs::create_dir_all(dir.join(class)).unwrap();
        for i in 0..n {
            let (w, h) = (40 + (i as u32 * 7) % 50, 36 + (i as u32 * 11) % 40);
            let img = image::RgbImage::from_fn(w, h, |x, y| {
                let stripe = if red { (y / 4) % 2 == 0 } else { (x / 4) % 2 == 0 };
                let v = if stripe { 220 } else { 90 } as u8;
                let noise = ((x * 31 + y * 17 + i as u32 * 13) % 23) as u8;
                if red { image::Rgb([v, 40 + noise, 30]) } else { image::Rgb([30, 60 + noise, v]) }
            });
            let ext = if i % 2 == 0 { "png" } else { "jpg" };
            img.save(dir.join(class).join(format!("{class}.{i}.{ext}"))).unwrap();
        }
    }
}
