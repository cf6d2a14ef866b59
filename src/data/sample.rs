//! The small built-in samples in `assets/sample/`, cut from the real datasets
//! by `scripts/make-sample.py` in the official file formats, so they go
//! through exactly the same loading code as files a user provides.
//!
//! Native builds embed them (`include_bytes!`, about 9 MB) so that the CLI and
//! the tests work without any download. The wasm build does not: the page
//! fetches the same files as static assets (paths from [`sample_paths`]) and
//! passes them to [`super::load_files`], which keeps the wasm binary small.
//! There is no Fashion-MNIST sample.

use super::DatasetKind;
#[cfg(not(target_family = "wasm"))]
use super::{DataError, Dataset, Problem, load_files};

/// Paths of the sample files relative to `assets/sample/`, or None when no
/// sample is shipped for `kind`. The file name is the last path component.
pub fn sample_paths(kind: DatasetKind) -> Option<&'static [&'static str]> {
    match kind {
        DatasetKind::Mnist => Some(&[
            "mnist/train-images-idx3-ubyte.gz",
            "mnist/train-labels-idx1-ubyte.gz",
            "mnist/t10k-images-idx3-ubyte.gz",
            "mnist/t10k-labels-idx1-ubyte.gz",
        ]),
        DatasetKind::Cifar10 => Some(&["cifar10/cifar-10-sample-binary.tar.gz"]),
        DatasetKind::FashionMnist | DatasetKind::Cifar100 | DatasetKind::Cifar100Coarse | DatasetKind::Images => None,
    }
}

/// Training and test images in the sample for `kind`: (train, test).
pub fn sample_sizes(kind: DatasetKind) -> Option<(usize, usize)> {
    match kind {
        DatasetKind::Mnist => Some((10_000, 2_000)),
        DatasetKind::Cifar10 => Some((2_000, 500)),
        DatasetKind::FashionMnist | DatasetKind::Cifar100 | DatasetKind::Cifar100Coarse | DatasetKind::Images => None,
    }
}

#[cfg(not(target_family = "wasm"))]
macro_rules! asset {
    ($path:literal) => {
        (
            $path.rsplit('/').next().unwrap_or($path),
            &include_bytes!(concat!("../../assets/sample/", $path))[..],
        )
    };
}

/// The sample files for `kind` as (file name, bytes), ready for
/// [`load_files`]; None for Fashion-MNIST and CIFAR-100 (no sample is shipped).
#[cfg(not(target_family = "wasm"))]
pub fn builtin_files(kind: DatasetKind) -> Option<Vec<(String, Vec<u8>)>> {
    let files: &[(&str, &[u8])] = match kind {
        DatasetKind::Mnist => &[
            asset!("mnist/train-images-idx3-ubyte.gz"),
            asset!("mnist/train-labels-idx1-ubyte.gz"),
            asset!("mnist/t10k-images-idx3-ubyte.gz"),
            asset!("mnist/t10k-labels-idx1-ubyte.gz"),
        ],
        DatasetKind::Cifar10 => &[asset!("cifar10/cifar-10-sample-binary.tar.gz")],
        DatasetKind::FashionMnist | DatasetKind::Cifar100 | DatasetKind::Cifar100Coarse | DatasetKind::Images => return None,
    };
    Some(
        files
            .iter()
            .map(|(name, bytes)| (name.to_string(), bytes.to_vec()))
            .collect(),
    )
}

/// The built-in sample for `kind`, loaded, with source "built-in sample (...)".
/// Fashion-MNIST has none: [`Problem::Missing`].
#[cfg(not(target_family = "wasm"))]
pub fn builtin_dataset(kind: DatasetKind) -> Result<Dataset, DataError> {
    let Some(files) = builtin_files(kind) else {
        return Err(DataError::new(
            "built-in sample",
            Problem::Missing(format!(
                "no built-in {} sample; load the dataset's files instead",
                kind.display_name()
            )),
        ));
    };
    let mut data = load_files(&files, Some(kind))?;
    data.source = format!("built-in sample ({})", data.source);
    Ok(data)
}
