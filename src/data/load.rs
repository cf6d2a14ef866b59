//! Recognising a set of dataset files and assembling a [`Dataset`].
//!
//! The user hands us whatever they downloaded: the four MNIST `.gz` files (or
//! the same files already decompressed, as some browsers do on download),
//! CIFAR-10 `.bin` batches, or the official `cifar-10-binary.tar.gz`, complete
//! or partial. We proceed in three steps:
//!
//! 1. unpack: gzip is recognised by content; a tar archive by content
//!    ("ustar") or by name (`.tar`, `.tgz`, `.tar.gz`); archive members are
//!    unpacked one level (gzipped members too, nested archives are ignored);
//!    everything unpacked counts against one budget of [`MAX_UNPACKED_BYTES`];
//! 2. classify each file by name and content (see [`classify`]);
//! 3. check that the parts fit together (one dataset, no part twice, both
//!    splits present), and only then parse, so that structural mistakes are
//!    reported before any expensive work.
//!
//! Loose files must all be recognised ([`Problem::UnknownFile`] otherwise),
//! but unknown members of an archive are skipped: archives legitimately carry
//! readmes, metadata and the odd `__MACOSX/` folder.

use super::archive::{gunzip, is_gzip, is_tar, untar};
use super::error::{DataError, Problem};
use super::idx::{self, parse_idx_images, parse_idx_labels};
use super::{Dataset, DatasetKind, ImageSet, MAX_UNPACKED_BYTES, cifar};
use std::borrow::Cow;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Split {
    Train,
    Test,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    IdxImages(Split),
    IdxLabels(Split),
    CifarBatch(Split),
    Cifar100Batch(Split),
    Ignored,
}

/// The families of files that make one dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    Idx,
    Cifar10,
    Cifar100,
}

impl Role {
    /// Which dataset family a role belongs to.
    fn family(self) -> Option<Family> {
        match self {
            Role::IdxImages(_) | Role::IdxLabels(_) => Some(Family::Idx),
            Role::CifarBatch(_) => Some(Family::Cifar10),
            Role::Cifar100Batch(_) => Some(Family::Cifar100),
            Role::Ignored => None,
        }
    }
}

/// One file after unpacking, with what it is.
struct Piece<'a> {
    /// Full name for messages: "file" or "archive/member".
    name: String,
    /// Name of the top-level file it came from (for `Dataset::source`).
    top: &'a str,
    bytes: Cow<'a, [u8]>,
    role: Role,
}

/// The last path component, lowercased, without a trailing ".gz".
fn base_name(name: &str) -> String {
    let base = name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(name)
        .to_ascii_lowercase();
    match base.strip_suffix(".gz") {
        Some(stem) => stem.to_string(),
        None => base,
    }
}

fn split_of(name: &str, base: &str) -> Result<Split, DataError> {
    if base.contains("t10k") || base.contains("test") {
        Ok(Split::Test)
    } else if base.contains("train") || base.contains("data_batch") {
        Ok(Split::Train)
    } else {
        Err(DataError::new(name, Problem::UnknownSplit))
    }
}

/// Files that may sit next to the data and carry nothing we need: CIFAR's
/// `batches.meta.txt` (class names, which we know) and `readme.html`, and
/// macOS litter.
fn is_ignorable(name: &str, base: &str) -> bool {
    base == "batches.meta.txt"
        || base == "fine_label_names.txt"
        || base == "coarse_label_names.txt"
        || base.starts_with("readme")
        || base.starts_with("license")
        || base == ".ds_store"
        || base.starts_with("._")
        || name.contains("__MACOSX/")
}

/// What a file is by its signature, for the formats a user is likely to hand
/// over by mistake (a photo, a document, another archive). None of these
/// signatures can begin an IDX file, whose first two bytes are zero.
fn other_format(bytes: &[u8]) -> Option<&'static str> {
    const SIGNATURES: &[(&[u8], &str)] = &[
        (b"\x89PNG\r\n\x1a\n", "a PNG image"),
        (b"\xff\xd8\xff", "a JPEG image"),
        (b"GIF87a", "a GIF image"),
        (b"GIF89a", "a GIF image"),
        (b"%PDF-", "a PDF document"),
        (b"PK\x03\x04", "a ZIP archive"),
        (b"PK\x05\x06", "a ZIP archive"),
        (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
        (b"Rar!\x1a\x07", "a RAR archive"),
        (b"\xfd7zXZ\x00", "an xz file"),
        (b"<!DOCTYPE", "a web page (HTML)"),
        (b"<!doctype", "a web page (HTML)"),
        (b"<html", "a web page (HTML)"),
    ];
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Some("a WebP image");
    }
    // Two-letter signatures, with what follows them, so text that merely starts "BM" is not a bitmap.
    if bytes.len() >= 26 && &bytes[..2] == b"BM" && bytes[6..10] == [0; 4] {
        return Some("a BMP image");
    }
    if bytes.len() >= 4 && &bytes[..3] == b"BZh" && (b'1'..=b'9').contains(&bytes[3]) {
        return Some("a bzip2 file");
    }
    SIGNATURES.iter().find(|(sig, _)| bytes.starts_with(sig)).map(|&(_, what)| what)
}

/// Decides what a file is. Order matters:
/// - a `.bin` name means a CIFAR-10 batch (its content is arbitrary bytes,
///   so a record could even start like an IDX magic number);
/// - an IDX-like name ("idx3"/"images" or "idx1"/"labels") decides images
///   vs labels, even when the content disagrees, so that the parser reports
///   a bad magic number for a damaged file (rather than, say, "two labels files");
///   (but a loose file whose content is plainly another format, a PNG say,
///   is reported as that, whatever its name);
/// - otherwise the IDX magic numbers decide (files renamed by the user);
/// - anything else is unknown: an error for loose files, skipped in archives.
fn classify(name: &str, bytes: &[u8], in_archive: bool) -> Result<Role, DataError> {
    let base = base_name(name);
    if is_ignorable(name, &base) {
        return Ok(Role::Ignored);
    }
    if base.ends_with(".bin") {
        // CIFAR-100's are train.bin and test.bin (in cifar-100-binary/), with
        // 3074-byte records; CIFAR-10's data_batch_N.bin and test_batch.bin.
        let hundred = base == "train.bin"
            || base == "test.bin"
            || name.to_ascii_lowercase().contains("cifar-100")
            || (bytes.len() % cifar::RECORD_BYTES_100 == 0 && bytes.len() % cifar::RECORD_BYTES != 0);
        let split = split_of(name, &base)?;
        return Ok(if hundred { Role::Cifar100Batch(split) } else { Role::CifarBatch(split) });
    }
    if let Some(what) = other_format(bytes) {
        return if in_archive {
            Ok(Role::Ignored)
        } else {
            Err(DataError::new(name, Problem::OtherFormat(what)))
        };
    }
    let images_name = base.contains("idx3") || base.contains("images");
    let labels_name = base.contains("idx1") || base.contains("labels");
    match (images_name, labels_name, idx::magic(bytes)) {
        (true, false, _) | (false, false, Some(idx::IMAGES_MAGIC)) => {
            return Ok(Role::IdxImages(split_of(name, &base)?));
        }
        (false, true, _) | (false, false, Some(idx::LABELS_MAGIC)) => {
            return Ok(Role::IdxLabels(split_of(name, &base)?));
        }
        // A name that says both (or neither) leaves it to the content.
        (true, true, Some(idx::IMAGES_MAGIC)) => {
            return Ok(Role::IdxImages(split_of(name, &base)?));
        }
        (true, true, Some(idx::LABELS_MAGIC)) => {
            return Ok(Role::IdxLabels(split_of(name, &base)?));
        }
        _ => {}
    }
    if in_archive {
        Ok(Role::Ignored)
    } else {
        Err(DataError::new(name, Problem::UnknownFile))
    }
}

/// A tar archive by name (`.tar`, `.tgz`, `.tar.gz`) or by content. A `.bin`
/// name or an IDX magic number rules the content test out: their payload is
/// arbitrary pixel bytes, which could contain "ustar" at offset 257 by chance.
fn looks_like_archive(name: &str, bytes: &[u8]) -> bool {
    let n = name.to_ascii_lowercase();
    if n.ends_with(".tar") || n.ends_with(".tgz") || n.ends_with(".tar.gz") {
        return true;
    }
    let data_file = base_name(name).ends_with(".bin")
        || matches!(
            idx::magic(bytes),
            Some(idx::IMAGES_MAGIC | idx::LABELS_MAGIC)
        );
    !data_file && is_tar(bytes)
}

/// Gunzips if the content is gzip, charging the output to `budget`.
fn maybe_gunzip<'a>(
    name: &str,
    bytes: &'a [u8],
    budget: &mut usize,
) -> Result<Cow<'a, [u8]>, DataError> {
    if !is_gzip(bytes) {
        return Ok(Cow::Borrowed(bytes));
    }
    let out = gunzip(name, bytes, *budget).map_err(|e| match e.problem {
        // Report the overall limit, which is what the user ran into.
        Problem::TooLarge { .. } => DataError::new(
            name,
            Problem::TooLarge {
                limit: MAX_UNPACKED_BYTES,
            },
        ),
        _ => e,
    })?;
    *budget -= out.len();
    Ok(Cow::Owned(out))
}

/// "a, b, c" or "a, b, c and 4 more": names the given files in errors that
/// are about the set as a whole.
fn describe_files(files: &[(String, Vec<u8>)]) -> String {
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    match names.len() {
        0 => "(no files)".to_string(),
        1..=4 => names.join(", "),
        n => format!("{} and {} more", names[..3].join(", "), n - 3),
    }
}

/// Parse a set of files given as (file name, bytes) into a dataset.
///
/// See the module documentation for how files are recognised. The files
/// decide the family (IDX, CIFAR-10, CIFAR-100); `hint` the flavour:
/// Fashion-MNIST or MNIST for IDX files, whose content cannot tell them
/// apart (without a hint, a file or folder name containing "fashion" means
/// Fashion-MNIST), and CIFAR-100's fine labels (the default) or its coarse
/// ones ([`DatasetKind::Cifar100Coarse`]).
pub fn load_files(
    files: &[(String, Vec<u8>)],
    hint: Option<DatasetKind>,
) -> Result<Dataset, DataError> {
    let all = describe_files(files);
    let mut budget = MAX_UNPACKED_BYTES;

    // 1. Unpack: first gzip at the top level, then tar archives.
    let mut unpacked = Vec::with_capacity(files.len());
    for (name, bytes) in files {
        unpacked.push((name.as_str(), maybe_gunzip(name, bytes, &mut budget)?));
    }
    let mut pieces: Vec<Piece> = Vec::new();
    for (top, data) in &unpacked {
        if looks_like_archive(top, data) {
            for (path, bytes) in untar(top, data)? {
                let name = format!("{top}/{path}");
                let bytes = maybe_gunzip(&name, bytes, &mut budget)?;
                // A tar inside the tar is not opened: classify skips it as unknown.
                let role = classify(&name, &bytes, true)?;
                pieces.push(Piece {
                    name,
                    top,
                    bytes,
                    role,
                });
            }
        } else {
            let role = classify(top, data, false)?;
            pieces.push(Piece {
                name: top.to_string(),
                top,
                bytes: Cow::Borrowed(&data[..]),
                role,
            });
        }
    }
    pieces.retain(|p| p.role != Role::Ignored);

    // 2. One dataset at a time.
    let Some(first) = pieces.first() else {
        return Err(DataError::new(
            all,
            Problem::Missing("no dataset files (MNIST IDX files, CIFAR-10 .bin batches or cifar-10-binary.tar.gz)".into()),
        ));
    };
    if let Some(other) = pieces
        .iter()
        .find(|p| p.role.family() != first.role.family())
    {
        return Err(DataError::new(
            &other.name,
            Problem::Mixed(first.name.clone()),
        ));
    }

    let (kind, train, test) = match first.role.family() {
        Some(Family::Idx) => {
            let named_fashion = pieces.iter().any(|p| p.name.to_ascii_lowercase().contains("fashion"));
            let kind = match hint {
                Some(DatasetKind::FashionMnist) => DatasetKind::FashionMnist,
                Some(DatasetKind::Mnist) => DatasetKind::Mnist,
                _ if named_fashion => DatasetKind::FashionMnist,
                _ => DatasetKind::Mnist,
            };
            let (train, test) = assemble_idx(&pieces, &all)?;
            (kind, train, test)
        }
        Some(Family::Cifar100) => {
            let kind = if hint == Some(DatasetKind::Cifar100Coarse) { DatasetKind::Cifar100Coarse } else { DatasetKind::Cifar100 };
            let (train, test) = assemble_cifar(&pieces, &all, Some(kind == DatasetKind::Cifar100Coarse))?;
            (kind, train, test)
        }
        _ => {
            let (train, test) = assemble_cifar(&pieces, &all, None)?;
            (DatasetKind::Cifar10, train, test)
        }
    };
    Ok(Dataset::standard(kind, train, test, describe_source(&pieces)))
}

/// The single piece with `role`, or an error if there are two.
fn one<'p, 'a>(pieces: &'p [Piece<'a>], role: Role) -> Result<Option<&'p Piece<'a>>, DataError> {
    let mut found = pieces.iter().filter(|p| p.role == role);
    let first = found.next();
    match (first, found.next()) {
        (Some(a), Some(b)) => Err(DataError::new(&b.name, Problem::Duplicate(a.name.clone()))),
        _ => Ok(first),
    }
}

fn assemble_idx(pieces: &[Piece], all: &str) -> Result<(ImageSet, ImageSet), DataError> {
    let mut splits = Vec::with_capacity(2);
    for (split, prefix) in [(Split::Train, "train"), (Split::Test, "t10k")] {
        let images = one(pieces, Role::IdxImages(split))?;
        let labels = one(pieces, Role::IdxLabels(split))?;
        let (images, labels) = match (images, labels) {
            (Some(i), Some(l)) => (i, l),
            (None, None) => {
                let which = if split == Split::Train {
                    "training"
                } else {
                    "test"
                };
                let what = format!(
                    "no {which} split ({prefix}-images-idx3-ubyte and {prefix}-labels-idx1-ubyte)"
                );
                return Err(DataError::new(all, Problem::Missing(what)));
            }
            (Some(i), None) => {
                let what = format!("{prefix}-labels-idx1-ubyte, the labels for {}", i.name);
                return Err(DataError::new(&i.name, Problem::Missing(what)));
            }
            (None, Some(l)) => {
                let what = format!("{prefix}-images-idx3-ubyte, the images for {}", l.name);
                return Err(DataError::new(&l.name, Problem::Missing(what)));
            }
        };
        let (count, rows, cols, pixels) = parse_idx_images(&images.name, &images.bytes)?;
        let label_bytes = parse_idx_labels(&labels.name, &labels.bytes)?;
        if count != label_bytes.len() {
            let both = format!("{}, {}", images.name, labels.name);
            return Err(DataError::new(
                both,
                Problem::CountMismatch {
                    images: count,
                    labels: label_bytes.len(),
                },
            ));
        }
        splits.push(ImageSet {
            images: pixels,
            labels: label_bytes.into_iter().map(u16::from).collect(),
            channels: 1,
            height: rows,
            width: cols,
        });
    }
    let test = splits.pop().unwrap_or_default();
    let train = splits.pop().unwrap_or_default();
    Ok((train, test))
}

/// Sort key that puts data_batch_2 before data_batch_10.
fn batch_order(name: &str) -> (String, u64, String) {
    let base = base_name(name);
    let letters: String = base.chars().filter(|c| !c.is_ascii_digit()).collect();
    let number = base
        .chars()
        .filter_map(|c| c.to_digit(10))
        .fold(0u64, |n, d| n.saturating_mul(10).saturating_add(d as u64));
    (letters, number, base)
}

/// The CIFAR splits; `coarse`: None for CIFAR-10, else CIFAR-100 with its
/// coarse (true) or fine (false) labels.
fn assemble_cifar(pieces: &[Piece], all: &str, coarse: Option<bool>) -> Result<(ImageSet, ImageSet), DataError> {
    let mut splits = Vec::with_capacity(2);
    let record = if coarse.is_some() { cifar::RECORD_BYTES_100 } else { cifar::RECORD_BYTES };
    for split in [Split::Train, Split::Test] {
        let role = if coarse.is_some() { Role::Cifar100Batch(split) } else { Role::CifarBatch(split) };
        let mut batches: Vec<&Piece> = pieces.iter().filter(|p| p.role == role).collect();
        batches.sort_by_cached_key(|p| batch_order(&p.name));
        if let Some(w) = batches
            .windows(2)
            .find(|w| base_name(&w[0].name) == base_name(&w[1].name))
        {
            return Err(DataError::new(
                &w[1].name,
                Problem::Duplicate(w[0].name.clone()),
            ));
        }
        if batches.is_empty() {
            let what = match (split, coarse.is_some()) {
                (Split::Train, false) => "no training split (data_batch_1.bin ... data_batch_5.bin)",
                (Split::Test, false) => "no test split (test_batch.bin)",
                (Split::Train, true) => "no training split (train.bin of cifar-100-binary)",
                (Split::Test, true) => "no test split (test.bin of cifar-100-binary)",
            };
            return Err(DataError::new(all, Problem::Missing(what.into())));
        }
        // Reserve once (from the lengths actually present), then copy each
        // batch straight into place.
        let total: usize = batches
            .iter()
            .map(|p| p.bytes.len() / record)
            .sum();
        let mut set = ImageSet::empty(cifar::CHANNELS, cifar::SIDE, cifar::SIDE);
        set.images.reserve_exact(total * cifar::IMAGE_BYTES);
        set.labels.reserve_exact(total);
        for p in batches {
            match coarse {
                None => cifar::append_cifar_batch(&p.name, &p.bytes, &mut set)?,
                Some(c) => cifar::append_cifar100_batch(&p.name, &p.bytes, c, &mut set)?,
            };
        }
        splits.push(set);
    }
    let test = splits.pop().unwrap_or_default();
    let train = splits.pop().unwrap_or_default();
    Ok((train, test))
}

/// "a.gz, b.gz" for loose files; "x.tar.gz (data_batch_1.bin, test_batch.bin)" for archives.
fn describe_source(pieces: &[Piece]) -> String {
    let mut parts: Vec<(String, Vec<String>)> = Vec::new();
    for p in pieces {
        let member =
            (p.name != p.top).then(|| p.name.rsplit('/').next().unwrap_or(&p.name).to_string());
        match parts.iter_mut().find(|(top, _)| top == p.top) {
            Some((_, members)) => members.extend(member),
            None => parts.push((p.top.to_string(), member.into_iter().collect())),
        }
    }
    parts
        .into_iter()
        .map(|(top, members)| {
            if members.is_empty() {
                top
            } else {
                format!("{top} ({})", members.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_by_name_and_content() {
        let img = [0, 0, 8, 3];
        let lab = [0, 0, 8, 1];
        let c = |n: &str, b: &[u8]| classify(n, b, false);
        assert_eq!(
            c("train-images-idx3-ubyte", &img),
            Ok(Role::IdxImages(Split::Train))
        );
        assert_eq!(
            c("x/t10k-labels-idx1-ubyte.gz", &lab),
            Ok(Role::IdxLabels(Split::Test))
        );
        // An informative name wins over the content, so the parser can report a bad magic number...
        assert_eq!(
            c("train-images-idx3-ubyte", &lab),
            Ok(Role::IdxImages(Split::Train))
        );
        // ...but an uninformative one leaves it to the content.
        assert_eq!(
            c("mnist-train.dat", &lab),
            Ok(Role::IdxLabels(Split::Train))
        );
        assert_eq!(c("test", &img), Ok(Role::IdxImages(Split::Test)));
        // An IDX name with other content is still IDX, so the parser can say "bad magic".
        assert_eq!(
            c("train-images-idx3-ubyte", b"junk"),
            Ok(Role::IdxImages(Split::Train))
        );
        // A .bin is CIFAR even if its first bytes look like an IDX magic number.
        assert_eq!(
            c("cifar-10-batches-bin/data_batch_3.bin", &img),
            Ok(Role::CifarBatch(Split::Train))
        );
        assert_eq!(c("test_batch.bin", &[]), Ok(Role::CifarBatch(Split::Test)));
        assert_eq!(c("batches.meta.txt", b"airplane"), Ok(Role::Ignored));
        assert_eq!(
            c("photo.png", b"\x89PNG\r\n\x1a\n").unwrap_err().problem,
            Problem::OtherFormat("a PNG image")
        );
        // A photo renamed as an IDX file is reported as a photo, not as IDX with a bad magic number.
        assert_eq!(
            c("train-images-idx3-ubyte.gz", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap_err().problem,
            Problem::OtherFormat("a PNG image")
        );
        assert_eq!(
            c("t10k-labels-idx1-ubyte", b"\xff\xd8\xff\xe0\0\x10JFIF").unwrap_err().problem,
            Problem::OtherFormat("a JPEG image")
        );
        assert_eq!(c("photo.png", b"\x89PNG").unwrap_err().problem, Problem::UnknownFile);
        assert_eq!(
            classify("a.tar/photo.png", b"\x89PNG", true),
            Ok(Role::Ignored)
        );
        assert_eq!(
            classify("a.tar/train-images-idx3-ubyte", b"\x89PNG\r\n\x1a\n", true),
            Ok(Role::Ignored)
        );
        assert_eq!(
            c("images.bin", &[]).unwrap_err().problem,
            Problem::UnknownSplit
        );
    }

    #[test]
    fn archives_by_name_or_content_but_not_data_files() {
        let mut fake = vec![0u8; 3073];
        fake[257..262].copy_from_slice(b"ustar");
        assert!(looks_like_archive("download", &fake));
        assert!(!looks_like_archive("data_batch_1.bin", &fake));
        fake[..4].copy_from_slice(&idx::IMAGES_MAGIC.to_be_bytes());
        assert!(!looks_like_archive("download", &fake));
        assert!(looks_like_archive("CIFAR-10-BINARY.TAR.GZ", b""));
        assert!(looks_like_archive("c.tgz", b""));
        assert!(!looks_like_archive("t10k-labels-idx1-ubyte", b""));
    }

    #[test]
    fn batches_sort_numerically() {
        let mut names = vec!["data_batch_10.bin", "data_batch_2.bin", "data_batch_1.bin"];
        names.sort_by_key(|n| batch_order(n));
        assert_eq!(
            names,
            ["data_batch_1.bin", "data_batch_2.bin", "data_batch_10.bin"]
        );
    }
}
