//! Your own pictures: a folder of class folders, the way people keep image
//! datasets (and the way Keras' `image_dataset_from_directory` and
//! torchvision's `ImageFolder` read them):
//!
//! ```text
//! cat/cat.1.jpg  cat/cat.2.png  …        one folder per class, any file names
//! dog/dog.1.jpg  …
//! ```
//!
//! optionally under one top folder (`pets/cat/…`), optionally split as
//! `train/<class>/…` and `test/<class>/…` (`val/` counts as test). Class names
//! are the folder names, sorted; labels are their positions in that list.
//! Without a `test/` folder, a seeded stratified split holds out the same
//! share of every class ([`ImportOptions::test_fraction`]).
//!
//! The import is in three steps, so that the page can run the middle one with
//! the browser's decoders and hand the engine pixels:
//!
//! 1. [`place_files`]: from the paths alone, which file belongs to which
//!    class (and split); dot-files and `__MACOSX/` are ignored;
//! 2. decoding (native only, [`decode_picture`]): JPEG, PNG, WebP, GIF (its
//!    first frame) and BMP, resized to the square input the net takes, by
//!    centre crop or by padding ([`ImageFit`]);
//! 3. [`assemble`]: decoded pictures + class names → a [`Dataset`].
//!
//! A file that cannot be used (empty, not a picture, damaged) is listed in
//! [`ImageImport::skipped`] with the reason, and the import goes on; what
//! cannot make a dataset (fewer than two classes, a class left without any
//! picture, nothing usable at all) is an error. Natively, [`import_dir`] walks
//! a folder and [`import_zip`] reads a `.zip` of the tree; both read one file
//! at a time, so memory holds one file plus the decoded pixels, and both stay
//! within [`MAX_UNPACKED_BYTES`](super::MAX_UNPACKED_BYTES) and [`MAX_FILES`].

use super::error::{DataError, Problem};
use super::{Dataset, DatasetKind, ImageSet};
#[cfg(not(target_family = "wasm"))]
use super::MAX_UNPACKED_BYTES;
use crate::rng::Rng;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The input sizes offered for pictures (square, in pixels).
pub const SIZES: [usize; 5] = [32, 64, 96, 128, 224];
/// The input size a new config has: enough to tell a cat from a dog, small
/// enough to train in a browser.
pub const DEFAULT_SIZE: usize = 64;
/// Pictures are read as colour images.
pub const CHANNELS: usize = 3;
/// Classes a dataset of pictures may have: 2 to 1,000 (ImageNet's count;
/// labels are `u16`, [`ImageSet::labels`]).
pub const MIN_CLASSES: usize = 2;
pub const MAX_CLASSES: usize = 1_000;
/// Files one import may name (a folder tree or a zip's entries): beyond this,
/// a zip's directory alone would cost more memory than it is worth.
pub const MAX_FILES: usize = 200_000;
/// Largest single file read as a picture (a 50-megapixel JPEG is ~30 MiB).
pub const MAX_PICTURE_BYTES: usize = 64 << 20;
/// Largest picture decoded, per side: far above any photo, and it keeps a
/// hostile header from asking the decoder for gigabytes.
#[cfg(not(target_family = "wasm"))]
const MAX_PICTURE_SIDE: u32 = 20_000;

/// How a picture that is not square becomes the net's square input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageFit {
    /// The centre square, scaled to size: the subject fills the input, the
    /// edges of a wide or tall picture are lost.
    Crop,
    /// The whole picture, scaled so that its longer side fits, centred on
    /// black: nothing is lost, but part of the input is border.
    Pad,
}

impl ImageFit {
    pub const ALL: [ImageFit; 2] = [ImageFit::Crop, ImageFit::Pad];

    pub fn id(self) -> &'static str {
        match self {
            ImageFit::Crop => "crop",
            ImageFit::Pad => "pad",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ImageFit::Crop => "Crop to the centre square",
            ImageFit::Pad => "Pad to a square (black border)",
        }
    }
}

/// What an import needs besides the files (from the experiment config:
/// `image_size`, `image_fit`, `test_fraction`, `seed`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ImportOptions {
    /// Side of the square input, in pixels.
    pub size: usize,
    pub fit: ImageFit,
    /// Share of each class held out as test pictures when the tree has no
    /// `test/` folder.
    pub test_fraction: f64,
    /// Fixes that split and the order of the pictures.
    pub seed: u64,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions { size: DEFAULT_SIZE, fit: ImageFit::Crop, test_fraction: 0.2, seed: 1 }
    }
}

/// Which split a folder tree puts a file in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    Train,
    Test,
}

/// Why a file was left out of an import.
#[derive(Clone, Debug, PartialEq)]
pub enum Skip {
    /// Zero bytes.
    Empty,
    /// Its first bytes are none of the picture formats read here.
    NotAnImage,
    /// A JPEG that stops before its end-of-image marker. Decoders would fill
    /// the missing part with grey, and the net would learn from that.
    Truncated,
    /// The decoder refused it (its message).
    Undecodable(String),
    /// It lies outside every class folder (e.g. a README beside them).
    NotInClassFolder,
    /// Larger than [`MAX_PICTURE_BYTES`].
    TooLarge,
    /// It could not be read (the file system's or the archive's message).
    Unreadable(String),
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skip::Empty => write!(f, "empty file (0 bytes)"),
            Skip::NotAnImage => write!(f, "not an image (JPEG, PNG, WebP, GIF or BMP)"),
            Skip::Truncated => write!(f, "truncated: the JPEG ends before its end-of-image marker (was the download cut short?)"),
            Skip::Undecodable(msg) => write!(f, "cannot be decoded: {msg}"),
            Skip::NotInClassFolder => write!(f, "not inside a class folder (put each picture in a folder named after its class)"),
            Skip::TooLarge => write!(f, "larger than {} MiB", MAX_PICTURE_BYTES >> 20),
            Skip::Unreadable(msg) => write!(f, "cannot be read: {msg}"),
        }
    }
}

/// A file left out, with why.
#[derive(Clone, Debug, PartialEq)]
pub struct Skipped {
    pub name: String,
    pub reason: Skip,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.reason)
    }
}

impl Serialize for Skipped {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Skipped", 2)?;
        st.serialize_field("name", &self.name)?;
        st.serialize_field("reason", &self.reason.to_string())?;
        st.end()
    }
}

/// A dataset of pictures, and the files that were left out of it.
#[derive(Clone, Debug)]
pub struct ImageImport {
    pub dataset: Dataset,
    pub skipped: Vec<Skipped>,
}

// ---------------------------------------------------------------------------
// 1. Where each file belongs, from its path.
// ---------------------------------------------------------------------------

/// Where [`place_files`] puts one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// A candidate picture of `class`; `split` when the tree has
    /// `train/`/`test/` folders.
    Picture { class: String, split: Option<Split> },
    /// Outside every class folder: listed as skipped.
    Loose,
    /// Dot-files, `__MACOSX/`, `Thumbs.db`, `desktop.ini`: not mentioned.
    Ignored,
}

/// The path's folders and file name, without empty or `.` parts.
fn components(name: &str) -> Vec<&str> {
    name.split(['/', '\\']).filter(|c| !c.is_empty() && *c != ".").collect()
}

/// Files that tools leave beside pictures, and hidden files (which includes
/// `..`, so an archive's path cannot climb out of the tree).
fn is_litter(parts: &[&str]) -> bool {
    let last = parts.last().map(|s| s.to_ascii_lowercase()).unwrap_or_default();
    parts.iter().any(|c| c.starts_with('.') || c.eq_ignore_ascii_case("__MACOSX")) || last == "thumbs.db" || last == "desktop.ini"
}

fn split_word(folder: &str) -> Option<Split> {
    match folder.to_ascii_lowercase().as_str() {
        "train" | "training" => Some(Split::Train),
        "test" | "testing" | "val" | "valid" | "validation" => Some(Split::Test),
        _ => None,
    }
}

/// Whether a file name ends like a picture: used only to find the tree's
/// top (a README beside the class folders must not hide it); the content
/// decides what a file is.
fn picture_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".gif", ".bmp", ".dib"].iter().any(|e| n.ends_with(e))
}

/// The class (and split) of each named file, by its folders: the folders
/// every picture shares are the tree's top and are dropped (keeping at least
/// one folder above each picture), then either the first folder is the
/// class, or, when the first folders are all `train`/`test`/`val` (with a
/// `train`), the second is. Deeper folders belong to their class.
pub fn place_files(names: &[&str]) -> Vec<Place> {
    let parts: Vec<Vec<&str>> = names.iter().map(|n| components(n)).collect();
    let usable = |p: &Vec<&str>| !p.is_empty() && !is_litter(p);
    // The tree's top, from the pictures if there are any (else from every file).
    let pictures: Vec<&Vec<&str>> = parts.iter().filter(|p| usable(p) && picture_name(p[p.len() - 1])).collect();
    let basis: Vec<&Vec<&str>> = if pictures.is_empty() { parts.iter().filter(|p| usable(p)).collect() } else { pictures };
    let min_folders = basis.iter().map(|p| p.len() - 1).min().unwrap_or(0);
    let mut top = 0;
    while top + 1 < min_folders.max(1) && basis.iter().all(|p| p[top] == basis[0][top]) {
        top += 1;
    }
    let first: Vec<&str> = basis.iter().filter(|p| p.len() > top + 1).map(|p| p[top]).collect();
    let split_tree = !first.is_empty()
        && first.iter().all(|f| split_word(f).is_some())
        && first.iter().any(|f| split_word(f) == Some(Split::Train));
    let prefix = basis.first().map(|p| p[..top].to_vec()).unwrap_or_default();
    parts
        .iter()
        .map(|p| {
            if !usable(p) {
                return Place::Ignored;
            }
            if p.len() <= top || p[..top] != prefix[..] {
                return Place::Loose;
            }
            let rest = &p[top..];
            // rest = [folder…, file]; the class folder must have the file below it.
            let (split, class_at) = match split_tree {
                true => (split_word(rest[0]), 1),
                false => (None, 0),
            };
            if split_tree && split.is_none() {
                return Place::Loose;
            }
            if rest.len() < class_at + 2 {
                return Place::Loose;
            }
            Place::Picture { class: rest[class_at].to_string(), split }
        })
        .collect()
}

// ---------------------------------------------------------------------------
// 2. What a file is, by its first bytes.
// ---------------------------------------------------------------------------

/// The picture formats read here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PictureFormat {
    Jpeg,
    Png,
    Gif,
    WebP,
    Bmp,
}

/// The picture format by signature, whatever the file's name says.
pub fn picture_format(bytes: &[u8]) -> Option<PictureFormat> {
    if bytes.starts_with(b"\xff\xd8\xff") {
        Some(PictureFormat::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(PictureFormat::Png)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(PictureFormat::Gif)
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(PictureFormat::WebP)
    } else if bytes.len() >= 26 && &bytes[..2] == b"BM" && bytes[6..10] == [0; 4] {
        // "BM" and the header's reserved zeros, so that text starting "BM" is not a bitmap.
        Some(PictureFormat::Bmp)
    } else {
        None
    }
}

/// Whether a JPEG runs to its end-of-image marker: walks the segments from
/// the start (skipping each by its length, so a thumbnail inside the EXIF
/// segment, with its own end marker, does not count) and scans each scan's
/// entropy-coded data for the next marker. A file cut short ends first.
pub fn jpeg_complete(b: &[u8]) -> bool {
    if !b.starts_with(&[0xFF, 0xD8]) {
        return false;
    }
    let mut i = 2;
    loop {
        // To the next marker (tolerating stray bytes between segments, as decoders do).
        match b.get(i..).and_then(|rest| rest.iter().position(|&x| x == 0xFF)) {
            Some(p) => i += p,
            None => return false,
        }
        while b.get(i) == Some(&0xFF) {
            i += 1;
        }
        let Some(&marker) = b.get(i) else { return false };
        i += 1;
        match marker {
            0xD9 => return true,
            0x00 | 0x01 | 0xD0..=0xD8 => continue,
            _ => {
                let Some(len) = b.get(i..i + 2).map(|l| u16::from_be_bytes([l[0], l[1]]) as usize) else { return false };
                if len < 2 || i + len > b.len() {
                    return false;
                }
                i += len;
                if marker == 0xDA {
                    // Entropy-coded data: FF 00 is a stuffed FF and FF D0…D7 a
                    // restart marker; any other FF xx ends it.
                    loop {
                        match b.get(i..).and_then(|rest| rest.iter().position(|&x| x == 0xFF)) {
                            Some(p) => i += p,
                            None => return false,
                        }
                        let mut j = i + 1;
                        while b.get(j) == Some(&0xFF) {
                            j += 1;
                        }
                        match b.get(j) {
                            None => return false,
                            Some(0x00 | 0xD0..=0xD7) => i = j + 1,
                            Some(_) => break,
                        }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// 3. Decoded pictures → a dataset (every platform).
// ---------------------------------------------------------------------------

/// One decoded picture: `CHANNELS × size × size` bytes, channel-major (all
/// red, then green, then blue, as CIFAR stores them), and where it belongs.
#[derive(Clone, Debug, PartialEq)]
pub struct Picture {
    /// Index into the class names.
    pub class: usize,
    pub split: Option<Split>,
    pub pixels: Vec<u8>,
}

/// The class names of placed files: the folder names, sorted, each once.
pub fn class_names(places: &[Place]) -> Vec<String> {
    let mut names: Vec<String> = places
        .iter()
        .filter_map(|p| match p {
            Place::Picture { class, .. } => Some(class.clone()),
            _ => None,
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The class count is one a net here can be trained for.
fn check_class_count(names: &[String], source: &str) -> Result<(), DataError> {
    if (MIN_CLASSES..=MAX_CLASSES).contains(&names.len()) {
        Ok(())
    } else {
        Err(DataError::new(source, Problem::ClassCount { found: names.len(), names: names.iter().take(5).cloned().collect() }))
    }
}

/// A dataset from decoded pictures (the page decodes with the browser and
/// calls this; the native import decodes with [`decode_picture`]).
///
/// Splits: when any picture is marked [`Split::Test`] the marks are the
/// split (unmarked ones train); otherwise each class holds out
/// `round(n × test_fraction)` of its `n` pictures, at least one and at most
/// `n − 1` when it has two or more, chosen by the seed. Both splits are then
/// shuffled by the seed, so that the first N (`train_limit`, `test_limit`)
/// hold every class.
pub fn assemble(class_names: Vec<String>, pictures: Vec<Picture>, opts: &ImportOptions, source: String) -> Result<Dataset, DataError> {
    check_class_count(&class_names, &source)?;
    let size = opts.size;
    let ppi = CHANNELS * size * size;
    if let Some(p) = pictures.iter().find(|p| p.class >= class_names.len() || p.pixels.len() != ppi) {
        let what = format!("{} bytes of class {} for a {CHANNELS}×{size}×{size} picture of one of {} classes", p.pixels.len(), p.class, class_names.len());
        return Err(DataError::new(source, Problem::Missing(what)));
    }
    let explicit_test = pictures.iter().any(|p| p.split == Some(Split::Test));
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); class_names.len()];
    for (i, p) in pictures.iter().enumerate() {
        if !explicit_test || p.split != Some(Split::Test) {
            by_class[p.class].push(i);
        }
    }
    if let Some(c) = by_class.iter().position(Vec::is_empty) {
        let folder = if explicit_test { format!("train/{}", class_names[c]) } else { class_names[c].clone() };
        return Err(DataError::new(folder, Problem::EmptyClass(class_names[c].clone())));
    }
    let (mut train, mut test): (Vec<usize>, Vec<usize>) = (Vec::new(), Vec::new());
    if explicit_test {
        train = by_class.concat();
        test = (0..pictures.len()).filter(|&i| pictures[i].split == Some(Split::Test)).collect();
    } else {
        let fraction = if opts.test_fraction.is_finite() { opts.test_fraction.clamp(0.0, 1.0) } else { 0.0 };
        for (c, mut members) in by_class.into_iter().enumerate() {
            Rng::with_stream(opts.seed, c as u64).shuffle(&mut members);
            let n = members.len();
            let held = if n >= 2 { ((n as f64 * fraction).round() as usize).clamp(1, n - 1) } else { 0 };
            test.extend_from_slice(&members[..held]);
            train.extend_from_slice(&members[held..]);
        }
    }
    // Streams far from the per-class ones above.
    train.sort_unstable();
    test.sort_unstable();
    Rng::with_stream(opts.seed, 1 << 40).shuffle(&mut train);
    Rng::with_stream(opts.seed, (1 << 40) + 1).shuffle(&mut test);
    let gather = |order: &[usize]| {
        let mut set = ImageSet::empty(CHANNELS, size, size);
        set.images.reserve_exact(order.len() * ppi);
        for &i in order {
            set.images.extend_from_slice(&pictures[i].pixels);
            // Below MAX_CLASSES, checked above: the label fits its u16.
            set.labels.push(pictures[i].class as u16);
        }
        set
    };
    let (train, test) = (gather(&train), gather(&test));
    Ok(Dataset { kind: DatasetKind::Images, train, test, source, class_names })
}

// ---------------------------------------------------------------------------
// Native: decoding, folders and zip archives.
// ---------------------------------------------------------------------------

/// Decodes a picture and fits it to `channels × size × size` (1 channel:
/// grey; 3: RGB), channel-major. Used for training pictures and for
/// `reslab predict`, so both see a picture the same way.
#[cfg(not(target_family = "wasm"))]
pub fn decode_picture(bytes: &[u8], channels: usize, size: usize, fit: ImageFit) -> Result<Vec<u8>, Skip> {
    use image::{DynamicImage, ImageFormat, ImageReader};
    if bytes.is_empty() {
        return Err(Skip::Empty);
    }
    if bytes.len() > MAX_PICTURE_BYTES {
        return Err(Skip::TooLarge);
    }
    let format = match picture_format(bytes).ok_or(Skip::NotAnImage)? {
        PictureFormat::Jpeg => ImageFormat::Jpeg,
        PictureFormat::Png => ImageFormat::Png,
        PictureFormat::Gif => ImageFormat::Gif,
        PictureFormat::WebP => ImageFormat::WebP,
        PictureFormat::Bmp => ImageFormat::Bmp,
    };
    if format == ImageFormat::Jpeg && !jpeg_complete(bytes) {
        return Err(Skip::Truncated);
    }
    let mut reader = ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_PICTURE_SIDE);
    limits.max_image_height = Some(MAX_PICTURE_SIDE);
    limits.max_alloc = Some(MAX_UNPACKED_BYTES as u64 / 2);
    reader.limits(limits);
    let image: DynamicImage = reader.decode().map_err(|e| Skip::Undecodable(e.to_string()))?;
    if image.width() == 0 || image.height() == 0 {
        return Err(Skip::Undecodable("the picture has no pixels".into()));
    }
    let side = u32::try_from(size).map_err(|_| Skip::Undecodable(format!("input size {size} is too large")))?;
    Ok(match channels {
        1 => planar(fitted(&image.to_luma8(), side, fit)),
        _ => planar(fitted(&image.to_rgb8(), side, fit)),
    })
}

/// `img` as a `size × size` square: its centre square scaled (crop), or the
/// whole of it scaled to fit and centred on black (pad). Scaling filters
/// with a triangle (bilinear) kernel widened by the scale factor, so a
/// large photo is averaged down rather than sampled.
#[cfg(not(target_family = "wasm"))]
fn fitted<P>(img: &image::ImageBuffer<P, Vec<u8>>, size: u32, fit: ImageFit) -> image::ImageBuffer<P, Vec<u8>>
where
    P: image::Pixel<Subpixel = u8> + 'static,
{
    use image::imageops::{self, FilterType};
    let (w, h) = img.dimensions();
    match fit {
        ImageFit::Crop => {
            let side = w.min(h);
            let square = imageops::crop_imm(img, (w - side) / 2, (h - side) / 2, side, side).to_image();
            imageops::resize(&square, size, size, FilterType::Triangle)
        }
        ImageFit::Pad => {
            let long = w.max(h) as u64;
            let scale = |v: u32| ((v as u64 * size as u64 + long / 2) / long).clamp(1, size as u64) as u32;
            let (nw, nh) = (scale(w), scale(h));
            let inner = imageops::resize(img, nw, nh, FilterType::Triangle);
            let mut out = image::ImageBuffer::<P, Vec<u8>>::new(size, size);
            imageops::replace(&mut out, &inner, ((size - nw) / 2) as i64, ((size - nh) / 2) as i64);
            out
        }
    }
}

/// Interleaved (HWC) pixels to channel-major (CHW).
#[cfg(not(target_family = "wasm"))]
fn planar<P: image::Pixel<Subpixel = u8>>(img: image::ImageBuffer<P, Vec<u8>>) -> Vec<u8> {
    let c = P::CHANNEL_COUNT as usize;
    let raw = img.into_raw();
    if c == 1 {
        return raw;
    }
    let n = raw.len() / c;
    let mut out = vec![0u8; raw.len()];
    for (i, px) in raw.chunks_exact(c).enumerate() {
        for (k, &v) in px.iter().enumerate() {
            out[k * n + i] = v;
        }
    }
    out
}

/// What reading one file gave: its bytes, a reason to skip it, or an error
/// that ends the import (a limit exceeded, a corrupt archive).
#[cfg(not(target_family = "wasm"))]
type ReadResult = Result<Result<Vec<u8>, Skip>, DataError>;

/// The import's middle: places the named files, reads and decodes the
/// pictures one at a time in name order (`read(i)` gives file `i`), and
/// assembles the dataset.
#[cfg(not(target_family = "wasm"))]
fn import_named(names: &[String], read: &mut dyn FnMut(usize) -> ReadResult, opts: &ImportOptions, source: String) -> Result<ImageImport, DataError> {
    if names.len() > MAX_FILES {
        return Err(DataError::new(source, Problem::TooManyFiles { limit: MAX_FILES }));
    }
    if !(1..=1024).contains(&opts.size) {
        return Err(DataError::new(source, Problem::Missing(format!("an input size of 1 to 1024 pixels (got {})", opts.size))));
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let places = place_files(&refs);
    let classes = class_names(&places);
    check_class_count(&classes, &source)?;
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by(|&a, &b| names[a].cmp(&names[b]));
    let ppi = CHANNELS * opts.size * opts.size;
    let (mut pictures, mut skipped) = (Vec::new(), Vec::new());
    let mut per_class = vec![0usize; classes.len()];
    for i in order {
        let (class, split) = match &places[i] {
            Place::Ignored => continue,
            Place::Loose => {
                skipped.push(Skipped { name: names[i].clone(), reason: Skip::NotInClassFolder });
                continue;
            }
            Place::Picture { class, split } => (classes.binary_search(class).unwrap_or(0), *split),
        };
        let decoded = read(i)?.and_then(|bytes| decode_picture(&bytes, CHANNELS, opts.size, opts.fit));
        match decoded {
            Ok(pixels) => {
                if (pictures.len() + 1) * ppi > MAX_UNPACKED_BYTES {
                    let problem = Problem::PixelsTooLarge { pictures: pictures.len() + 1, size: opts.size, limit: MAX_UNPACKED_BYTES };
                    return Err(DataError::new(source, problem));
                }
                per_class[class] += 1;
                pictures.push(Picture { class, split, pixels });
            }
            Err(reason) => skipped.push(Skipped { name: names[i].clone(), reason }),
        }
    }
    if pictures.is_empty() {
        return Err(DataError::new(source, Problem::NoPictures { skipped: skipped.len() }));
    }
    if let Some(c) = per_class.iter().position(|&n| n == 0) {
        return Err(DataError::new(classes[c].clone(), Problem::EmptyClass(classes[c].clone())));
    }
    let dataset = assemble(classes, pictures, opts, source)?;
    Ok(ImageImport { dataset, skipped })
}

/// (path, bytes) pairs, as the page hands files over: a `.zip` among them is
/// opened (one zip, or loose files; not both).
#[cfg(not(target_family = "wasm"))]
pub fn import_files(files: &[(String, Vec<u8>)], opts: &ImportOptions) -> Result<ImageImport, DataError> {
    let zips: Vec<&(String, Vec<u8>)> = files.iter().filter(|(n, b)| is_zip(n, b)).collect();
    match zips.as_slice() {
        [] => {}
        [(name, bytes)] if files.len() == 1 => return import_zip(name, bytes, opts),
        _ => {
            let (name, _) = zips[0];
            let other = files.iter().find(|(n, _)| n != name).map_or_else(String::new, |(n, _)| n.clone());
            return Err(DataError::new(name.clone(), Problem::Mixed(other)));
        }
    }
    let total: usize = files.iter().map(|(_, b)| b.len()).fold(0, usize::saturating_add);
    let source = match files.first() {
        Some((n, _)) if files.len() == 1 => n.clone(),
        _ => format!("{} files", files.len()),
    };
    if total > MAX_UNPACKED_BYTES {
        return Err(DataError::new(source, Problem::TooLarge { limit: MAX_UNPACKED_BYTES }));
    }
    let names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    import_named(&names, &mut |i| Ok(Ok(files[i].1.clone())), opts, source)
}

/// A zip archive by signature or name.
#[cfg(not(target_family = "wasm"))]
pub fn is_zip(name: &str, bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") || name.to_ascii_lowercase().ends_with(".zip")
}

/// A `.zip` of a class-folder tree. Refused up front when it has more than
/// [`MAX_FILES`] entries or its entries claim more than
/// [`MAX_UNPACKED_BYTES`] in all; each entry is then read with a cap at its
/// claimed size, so a lying header cannot make it inflate further.
/// Entries the reader cannot open (encrypted, another compression method)
/// are skipped with the reader's message.
#[cfg(not(target_family = "wasm"))]
pub fn import_zip(name: &str, bytes: &[u8], opts: &ImportOptions) -> Result<ImageImport, DataError> {
    use std::io::Read;
    let err = |msg: String| DataError::new(name, Problem::Zip(msg));
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| err(e.to_string()))?;
    if archive.len() > MAX_FILES {
        return Err(DataError::new(name, Problem::TooManyFiles { limit: MAX_FILES }));
    }
    let (mut names, mut index, mut claimed) = (Vec::new(), Vec::new(), 0u64);
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(|e| err(e.to_string()))?;
        if entry.is_dir() {
            continue;
        }
        claimed = claimed.saturating_add(entry.size());
        names.push(entry.name().to_string());
        index.push((i, entry.size(), entry.name().to_string()));
    }
    if claimed > MAX_UNPACKED_BYTES as u64 {
        return Err(DataError::new(name, Problem::TooLarge { limit: MAX_UNPACKED_BYTES }));
    }
    let mut budget = MAX_UNPACKED_BYTES as u64;
    let mut read = |k: usize| -> ReadResult {
        let (i, size, entry_name) = &index[k];
        let (i, size) = (*i, *size);
        if size > MAX_PICTURE_BYTES as u64 {
            return Ok(Err(Skip::TooLarge));
        }
        let entry = match archive.by_index(i) {
            Ok(e) => e,
            Err(e) => return Ok(Err(Skip::Unreadable(e.to_string()))),
        };
        let mut out = Vec::with_capacity(size as usize);
        // One byte past the claim: enough to see that the claim was false.
        if let Err(e) = entry.take(size + 1).read_to_end(&mut out) {
            return Ok(Err(Skip::Unreadable(e.to_string())));
        }
        if out.len() as u64 > size {
            return Err(err(format!("entry {entry_name} holds more than the {size} bytes it claims")));
        }
        budget = budget.saturating_sub(out.len() as u64);
        if budget == 0 {
            return Err(DataError::new(name, Problem::TooLarge { limit: MAX_UNPACKED_BYTES }));
        }
        Ok(Ok(out))
    };
    import_named(&names, &mut read, opts, name.to_string())
}

/// A folder holding the class-folder tree (or a `train/`/`test/` tree).
/// Files are named by their path below the folder's parent
/// (`pets/cat/1.jpg`), read one at a time; hidden folders are not entered
/// and links to folders not followed.
#[cfg(not(target_family = "wasm"))]
pub fn import_dir(dir: &std::path::Path, opts: &ImportOptions) -> Result<ImageImport, DataError> {
    use std::path::PathBuf;
    let top = dir.file_name().map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into_owned());
    let io = |p: &std::path::Path, e: std::io::Error| DataError::new(p.display().to_string(), Problem::Missing(format!("a readable folder ({e})")));
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    let mut pending: Vec<(String, PathBuf)> = vec![(top.clone(), dir.to_path_buf())];
    while let Some((name, path)) = pending.pop() {
        for entry in std::fs::read_dir(&path).map_err(|e| io(&path, e))? {
            let entry = entry.map_err(|e| io(&path, e))?;
            let child = format!("{name}/{}", entry.file_name().to_string_lossy());
            let kind = entry.file_type().map_err(|e| io(&entry.path(), e))?;
            if kind.is_dir() {
                if !entry.file_name().to_string_lossy().starts_with('.') {
                    pending.push((child, entry.path()));
                }
            } else {
                files.push((child, entry.path()));
            }
            if files.len() > MAX_FILES {
                return Err(DataError::new(top, Problem::TooManyFiles { limit: MAX_FILES }));
            }
        }
    }
    let names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    let mut read = |i: usize| -> ReadResult {
        let path = &files[i].1;
        match std::fs::metadata(path) {
            Ok(m) if m.len() > MAX_PICTURE_BYTES as u64 => return Ok(Err(Skip::TooLarge)),
            Ok(m) if !m.is_file() => return Ok(Err(Skip::NotAnImage)),
            Ok(_) => {}
            Err(e) => return Ok(Err(Skip::Unreadable(e.to_string()))),
        }
        Ok(std::fs::read(path).map_err(|e| Skip::Unreadable(e.to_string())))
    };
    import_named(&names, &mut read, opts, top)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn places(names: &[&str]) -> Vec<Place> {
        place_files(names)
    }

    fn pic(class: &str) -> Place {
        Place::Picture { class: class.into(), split: None }
    }

    #[test]
    fn class_folders_are_found_under_any_top_folder() {
        assert_eq!(places(&["cat/1.jpg", "dog/2.jpg"]), vec![pic("cat"), pic("dog")]);
        assert_eq!(places(&["pets/cat/1.jpg", "pets/dog/x/2.png"]), vec![pic("cat"), pic("dog")]);
        // One class folder is still a class (the import then says two are needed).
        assert_eq!(places(&["a/b/cat/1.jpg", "a/b/cat/2.jpg"]), vec![pic("cat"), pic("cat")]);
        // A README beside the class folders does not move the top; it is loose.
        assert_eq!(places(&["pets/README.txt", "pets/cat/1.jpg", "pets/dog/2.jpg"]), vec![Place::Loose, pic("cat"), pic("dog")]);
        assert_eq!(places(&["1.jpg", "cat/2.jpg", "dog/3.jpg"]), vec![Place::Loose, pic("cat"), pic("dog")]);
        assert_eq!(
            places(&["__MACOSX/cat/._1.jpg", "cat/.DS_Store", "cat/1.jpg", "dog\\2.jpg", "../dog/3.jpg", "dog/Thumbs.db"]),
            vec![Place::Ignored, Place::Ignored, pic("cat"), pic("dog"), Place::Ignored, Place::Ignored]
        );
    }

    #[test]
    fn train_and_test_folders_split() {
        let train = |c: &str| Place::Picture { class: c.into(), split: Some(Split::Train) };
        let test = |c: &str| Place::Picture { class: c.into(), split: Some(Split::Test) };
        assert_eq!(
            places(&["d/train/cat/1.jpg", "d/test/cat/2.jpg", "d/Train/dog/3.jpg", "d/val/dog/4.jpg", "d/train/5.jpg"]),
            vec![train("cat"), test("cat"), train("dog"), test("dog"), Place::Loose]
        );
        // "test" among other class names is a class.
        assert_eq!(places(&["test/1.jpg", "cat/2.jpg"]), vec![pic("test"), pic("cat")]);
    }

    #[test]
    fn signatures_and_complete_jpegs() {
        assert_eq!(picture_format(b"\xff\xd8\xff\xe0"), Some(PictureFormat::Jpeg));
        assert_eq!(picture_format(b"GIF89a.."), Some(PictureFormat::Gif));
        assert_eq!(picture_format(b"hello, world"), None);
        assert_eq!(picture_format(b""), None);
        // SOI, APP0 (length 4), SOS (length 3), data with a stuffed FF and a restart, EOI.
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 1, 2, 0xFF, 0xDA, 0, 3, 9, 1, 0xFF, 0, 2, 0xFF, 0xD0, 3, 0xFF, 0xD9];
        assert!(jpeg_complete(&jpeg));
        for cut in 0..jpeg.len() {
            assert!(!jpeg_complete(&jpeg[..cut]), "cut at {cut}");
        }
        // An end marker inside a segment (a thumbnail) does not count.
        let thumb = [0xFF, 0xD8, 0xFF, 0xE1, 0, 4, 0xFF, 0xD9, 0xFF, 0xDA, 0, 2, 5, 6];
        assert!(!jpeg_complete(&thumb));
    }

    #[test]
    fn assemble_splits_each_class_by_the_seed() {
        let names = vec!["a".to_string(), "b".to_string()];
        let opts = ImportOptions { size: 1, test_fraction: 0.25, ..Default::default() };
        let pictures: Vec<Picture> = (0..20).map(|i| Picture { class: (i % 2) as usize, split: None, pixels: vec![i as u8; 3] }).collect();
        let d = assemble(names.clone(), pictures.clone(), &opts, "t".into()).unwrap();
        assert_eq!((d.train.class_counts(2), d.test.class_counts(2)), (vec![7, 7], vec![3, 3]));
        let again = assemble(names.clone(), pictures.clone(), &opts, "t".into()).unwrap();
        assert_eq!((again.train.images, again.test.images), (d.train.images.clone(), d.test.images.clone()));
        let other = assemble(names.clone(), pictures.clone(), &ImportOptions { seed: 2, ..opts }, "t".into()).unwrap();
        assert_ne!(other.test.images, d.test.images);
        // Wrong pixel counts and class indices are refused, not panicked on.
        let mut bad = pictures.clone();
        bad[3].pixels.pop();
        assert!(assemble(names.clone(), bad, &opts, "t".into()).is_err());
        let mut bad = pictures;
        bad[0].class = 7;
        assert!(assemble(names, bad, &opts, "t".into()).is_err());
    }
}
