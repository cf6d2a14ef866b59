//! CIFAR-10 and CIFAR-100 binary batches.
//!
//! CIFAR-100's binary version (`cifar-100-binary.tar.gz`) is `train.bin`
//! (50,000 records) and `test.bin` (10,000), each record 3074 bytes: the
//! coarse label (0..=19, the superclass), the fine label (0..=99), then the
//! image as in CIFAR-10. [`append_cifar100_batch`] keeps the one the user
//! chose.
//!
//! The "binary version" of CIFAR-10 is five training batches
//! `data_batch_1.bin` ... `data_batch_5.bin` and `test_batch.bin`, 10,000
//! records each, with no header at all: every record is 3073 bytes, one label
//! byte (0..=9) and then the 32x32 image as 1024 red, 1024 green and 1024
//! blue bytes, each plane row-major. That is already our N x C x H x W layout,
//! so parsing is stripping the label bytes.
//!
//! With no header, the only checks are that the length is a whole number of
//! records and that labels are in range. Files are recognised by name (see
//! `load`), because their content is arbitrary bytes.

use super::error::{DataError, Problem};
use super::{ImageSet, NUM_CLASSES};

/// Image side in pixels.
pub const SIDE: usize = 32;
pub const CHANNELS: usize = 3;
/// Bytes of one image: 3 x 32 x 32.
pub const IMAGE_BYTES: usize = CHANNELS * SIDE * SIDE;
/// Bytes of one record: label + image.
pub const RECORD_BYTES: usize = 1 + IMAGE_BYTES;

/// Parses one binary batch. A length that is not a whole number of records is
/// [`Problem::Truncated`] (the last record is cut short); no records is
/// [`Problem::Empty`].
pub fn parse_cifar_batch(name: &str, bytes: &[u8]) -> Result<ImageSet, DataError> {
    let mut set = ImageSet::empty(CHANNELS, SIDE, SIDE);
    append_cifar_batch(name, bytes, &mut set)?;
    Ok(set)
}

/// The number of `record`-byte records in a batch: no bytes is
/// [`Problem::Empty`], a length that is not a whole number of records
/// [`Problem::Truncated`] (the last record is cut short).
fn whole_records(name: &str, bytes: &[u8], record: usize) -> Result<usize, DataError> {
    if bytes.is_empty() {
        return Err(DataError::new(name, Problem::Empty));
    }
    let count = bytes.len() / record;
    if !bytes.len().is_multiple_of(record) {
        // Saturating: `needed` is only reported, and the length is real memory anyway.
        let needed = (count + 1).saturating_mul(record);
        return Err(DataError::new(name, Problem::Truncated { needed, found: bytes.len() }));
    }
    Ok(count)
}

/// Like [`parse_cifar_batch`], but appends to `set` (which must hold 3x32x32
/// images), so that several batches are assembled with a single copy.
/// On error, `set` is left unchanged. Returns the number of records added.
pub fn append_cifar_batch(
    name: &str,
    bytes: &[u8],
    set: &mut ImageSet,
) -> Result<usize, DataError> {
    let err = |p| DataError::new(name, p);
    let count = whole_records(name, bytes, RECORD_BYTES)?;
    // Check all labels before copying anything.
    let records = bytes.chunks_exact(RECORD_BYTES);
    if let Some((index, rec)) = records
        .clone()
        .enumerate()
        .find(|(_, r)| r[0] as usize >= NUM_CLASSES)
    {
        return Err(err(Problem::LabelOutOfRange {
            index,
            label: rec[0],
        }));
    }
    debug_assert_eq!(set.pixels_per_image(), IMAGE_BYTES);
    set.images.reserve(count * IMAGE_BYTES);
    set.labels.reserve(count);
    for rec in records {
        set.labels.push(u16::from(rec[0]));
        set.images.extend_from_slice(&rec[1..]);
    }
    Ok(count)
}

/// Bytes of one CIFAR-100 record: coarse label + fine label + image.
pub const RECORD_BYTES_100: usize = 2 + IMAGE_BYTES;

/// [`append_cifar_batch`] for a CIFAR-100 batch, keeping the fine labels
/// (0..=99) or, with `coarse`, the superclasses (0..=19).
pub fn append_cifar100_batch(name: &str, bytes: &[u8], coarse: bool, set: &mut ImageSet) -> Result<usize, DataError> {
    let err = |p| DataError::new(name, p);
    let count = whole_records(name, bytes, RECORD_BYTES_100)?;
    let (at, classes) = if coarse { (0, 20) } else { (1, 100) };
    let records = bytes.chunks_exact(RECORD_BYTES_100);
    if let Some((index, rec)) = records.clone().enumerate().find(|(_, r)| r[0] >= 20 || r[1] >= 100) {
        let label = if rec[0] >= 20 { rec[0] } else { rec[1] };
        return Err(err(Problem::LabelOutOfRange { index, label }));
    }
    debug_assert!(classes <= 100);
    set.images.reserve(count * IMAGE_BYTES);
    set.labels.reserve(count);
    for rec in records {
        set.labels.push(u16::from(rec[at]));
        set.images.extend_from_slice(&rec[2..]);
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(label: u8, fill: u8) -> Vec<u8> {
        let mut r = vec![label];
        r.extend(std::iter::repeat_n(fill, IMAGE_BYTES));
        r
    }

    #[test]
    fn strips_labels_and_keeps_planes() {
        let mut bytes = record(3, 0);
        // Second record: red plane 1, green 2, blue 3.
        bytes.push(7);
        for c in 1..=3u8 {
            bytes.extend(std::iter::repeat_n(c, 1024));
        }
        let set = parse_cifar_batch("b.bin", &bytes).unwrap();
        assert_eq!(set.len(), 2);
        assert_eq!(set.labels, vec![3, 7]);
        assert_eq!((set.channels, set.height, set.width), (3, 32, 32));
        let img = set.image(1);
        assert_eq!(
            (img[0], img[1023], img[1024], img[2048], img[3071]),
            (1, 1, 2, 3, 3)
        );
    }

    #[test]
    fn rejects_partial_records_bad_labels_and_empty_files() {
        let mut bytes = record(1, 5);
        bytes.extend(record(2, 5));
        let e = parse_cifar_batch("p.bin", &bytes[..5000]).unwrap_err();
        assert_eq!(
            e,
            DataError::new(
                "p.bin",
                Problem::Truncated {
                    needed: 6146,
                    found: 5000
                }
            )
        );
        bytes[RECORD_BYTES] = 10;
        let e = parse_cifar_batch("l.bin", &bytes).unwrap_err();
        assert_eq!(
            e.problem,
            Problem::LabelOutOfRange {
                index: 1,
                label: 10
            }
        );
        assert_eq!(
            parse_cifar_batch("e.bin", &[]).unwrap_err().problem,
            Problem::Empty
        );
        assert!(matches!(
            parse_cifar_batch("s.bin", &[0]).unwrap_err().problem,
            Problem::Truncated { .. }
        ));
    }
}
