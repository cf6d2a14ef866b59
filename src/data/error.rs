//! Errors from reading dataset files.
//!
//! A user who drops the wrong file on the page should learn which file is
//! wrong and why, in words, so every error carries the file name (for files
//! inside an archive: "archive.tar.gz/folder/entry") and a [`Problem`] whose
//! `Display` is a plain sentence. The variants carry numbers rather than
//! prose so that tests (and callers) can match on them.

use std::fmt;

/// An error that names the file and the problem. Display: "<file>: <problem>".
#[derive(Clone, Debug, PartialEq)]
pub struct DataError {
    pub file: String,
    pub problem: Problem,
}

impl DataError {
    pub fn new(file: impl Into<String>, problem: Problem) -> Self {
        DataError {
            file: file.into(),
            problem,
        }
    }
}

/// What is wrong with a file (or a set of files).
#[derive(Clone, Debug, PartialEq)]
pub enum Problem {
    /// The first four bytes are not the IDX magic number this file needs
    /// (2051 for images, 2049 for labels).
    BadMagic { found: u32, expected: u32 },
    /// The file is shorter than its header (or record size) requires: usually
    /// a download that was cut short. Both numbers are whole-file byte counts.
    Truncated { needed: usize, found: usize },
    /// The header claims more records than any dataset file can hold (more than
    /// [`super::MAX_UNPACKED_BYTES`], or an overflowing size): a corrupt header,
    /// not merely a short file. `bytes` saturates at `u64::MAX`.
    HeaderClaimsTooMuch {
        count: u64,
        bytes: u64,
        present: usize,
    },
    /// More bytes follow the data the header describes. The official files
    /// never have any, so this means the header count is wrong; we refuse
    /// rather than silently dropping data.
    TrailingBytes { expected: usize, found: usize },
    /// A label outside 0..=9, at record `index` of the file.
    LabelOutOfRange { index: usize, label: u8 },
    /// An images file and its labels file disagree on the number of records.
    CountMismatch { images: usize, labels: usize },
    /// IDX images must be 28x28.
    BadDimensions {
        rows: usize,
        cols: usize,
        expected_rows: usize,
        expected_cols: usize,
    },
    /// The file (or split) holds no records.
    Empty,
    /// Unpacking would produce more than `limit` bytes.
    TooLarge { limit: usize },
    /// Neither an IDX file, a CIFAR-10 batch nor an archive of them.
    UnknownFile,
    /// A file of a well-known other format (named by its signature, e.g.
    /// "a PNG image"), whatever its name says: a photo renamed
    /// `train-images-idx3-ubyte.gz` is reported as a photo, not as a dataset
    /// with its labels file missing.
    OtherFormat(&'static str),
    /// An IDX or CIFAR file whose name does not say which split it belongs to.
    UnknownSplit,
    /// The gzip stream is corrupt (the decoder's message).
    Gzip(String),
    /// The tar archive is corrupt (the reader's message).
    Tar(String),
    /// A required part is absent, e.g. "no test split (t10k-images-idx3-ubyte or test_batch.bin)".
    Missing(String),
    /// Files of different datasets were given together; names the other file.
    Mixed(String),
    /// Two files play the same part (e.g. two training-image files); names the other file.
    Duplicate(String),
    /// Pictures in class folders: not 2 to 256 classes (`names`: the first few found).
    ClassCount { found: usize, names: Vec<String> },
    /// A class folder none of whose files could be used (every one skipped).
    EmptyClass(String),
    /// Not one usable picture: all `skipped` files were left out.
    NoPictures { skipped: usize },
    /// The decoded pictures would take more than `limit` bytes at this size.
    PixelsTooLarge { pictures: usize, size: usize, limit: usize },
    /// More files than one import takes (a folder tree or a zip).
    TooManyFiles { limit: usize },
    /// The zip archive is corrupt (the reader's message).
    Zip(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::BadMagic { found, expected } => {
                let what = match *expected {
                    2051 => "an IDX images file",
                    2049 => "an IDX labels file",
                    _ => "this kind of file",
                };
                write!(
                    f,
                    "bad magic number: found {found} (0x{found:08x}), expected {expected} for {what}"
                )
            }
            Problem::Truncated { needed, found } => write!(
                f,
                "truncated: the file should have {needed} bytes but has only {found} \
                 (was the download cut short?)"
            ),
            Problem::HeaderClaimsTooMuch {
                count,
                bytes,
                present,
            } => write!(
                f,
                "corrupt header: it claims {count} records ({bytes} bytes) but the file has {present} bytes, \
                 and no dataset file is that large"
            ),
            Problem::TrailingBytes { expected, found } => write!(
                f,
                "{} unexpected bytes after the data: the header describes {expected} bytes but the file has {found}",
                found.saturating_sub(*expected)
            ),
            Problem::LabelOutOfRange { index, label } => {
                write!(
                    f,
                    "label {label} of record {index} is out of range (labels must be 0 to 9)"
                )
            }
            Problem::CountMismatch { images, labels } => {
                write!(f, "count mismatch: {images} images but {labels} labels")
            }
            Problem::BadDimensions {
                rows,
                cols,
                expected_rows,
                expected_cols,
            } => write!(
                f,
                "images are {rows}x{cols} pixels, expected {expected_rows}x{expected_cols}"
            ),
            Problem::Empty => write!(f, "contains no images"),
            Problem::TooLarge { limit } => write!(
                f,
                "too large: unpacks to more than {} MiB, the limit for all files together",
                limit >> 20
            ),
            Problem::UnknownFile => write!(
                f,
                "not a recognised dataset file (expected MNIST/Fashion-MNIST IDX files, \
                 CIFAR-10 .bin batches, or cifar-10-binary.tar.gz)"
            ),
            Problem::OtherFormat(what) => write!(
                f,
                "this is {what}, not a dataset file (expected MNIST/Fashion-MNIST IDX files, \
                 CIFAR-10 .bin batches, or cifar-10-binary.tar.gz)"
            ),
            Problem::UnknownSplit => write!(
                f,
                "cannot tell from the name whether this is training or test data \
                 (expected \"train\"/\"data_batch\" or \"test\"/\"t10k\" in it)"
            ),
            Problem::Gzip(msg) => write!(f, "corrupt gzip data: {msg}"),
            Problem::Tar(msg) => write!(f, "corrupt tar archive: {msg}"),
            Problem::Missing(what) => write!(f, "missing: {what}"),
            Problem::Mixed(other) => write!(
                f,
                "mixed datasets: this file and {other} belong to different datasets; load one dataset at a time"
            ),
            Problem::Duplicate(other) => write!(
                f,
                "duplicate: this file and {other} are both the same part of the dataset"
            ),
            Problem::ClassCount { found, names } => {
                let list = if names.is_empty() { String::new() } else { format!(" ({})", names.join(", ")) };
                write!(
                    f,
                    "{found} class folder{}{list}: pictures need 2 to {} classes, one folder per class \
                     (cat/…, dog/…, optionally inside train/ and test/)",
                    if *found == 1 { "" } else { "s" },
                    super::images::MAX_CLASSES
                )
            }
            Problem::EmptyClass(class) => write!(f, "class '{class}' has no usable picture (every file in its folder was skipped)"),
            Problem::NoPictures { skipped } => write!(f, "no usable picture: all {skipped} files were skipped"),
            Problem::PixelsTooLarge { pictures, size, limit } => write!(
                f,
                "too many pictures: {pictures} pictures of {size}×{size} pixels take more than {} MiB, the limit; \
                 choose a smaller image size or fewer pictures",
                limit >> 20
            ),
            Problem::TooManyFiles { limit } => write!(f, "too many files: more than {limit} in one dataset"),
            Problem::Zip(msg) => write!(f, "corrupt zip archive: {msg}"),
        }
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.problem)
    }
}

impl std::error::Error for DataError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_then_problem() {
        let e = DataError::new(
            "train-images-idx3-ubyte.gz",
            Problem::Truncated {
                needed: 47040016,
                found: 1234,
            },
        );
        let s = e.to_string();
        assert!(
            s.starts_with("train-images-idx3-ubyte.gz: truncated:"),
            "{s}"
        );
        assert!(s.contains("47040016") && s.contains("1234"), "{s}");
        let e = DataError::new(
            "x",
            Problem::BadMagic {
                found: 1,
                expected: 2049,
            },
        );
        assert!(e.to_string().contains("labels"), "{e}");
    }
}
