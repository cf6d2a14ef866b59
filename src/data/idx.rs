//! IDX files: MNIST and Fashion-MNIST.
//!
//! Format (all integers big-endian):
//! - images: magic 2051 (0x00000803: unsigned bytes, 3 dimensions), count,
//!   rows, cols, then count*rows*cols pixel bytes, row-major, 0 = background;
//! - labels: magic 2049 (0x00000801: unsigned bytes, 1 dimension), count,
//!   then count label bytes.
//!
//! Both datasets use exactly this layout and 28x28 images, so the files do
//! not say which dataset they are: the caller's hint decides (see `load`).
//!
//! Sizes in the header are checked, with overflow-free u64 arithmetic,
//! against the bytes present before anything is allocated. Bytes beyond the
//! described data are an error ([`Problem::TrailingBytes`]): the official
//! files have none, so extra bytes mean the header count is wrong.

use super::error::{DataError, Problem};
use super::{MAX_UNPACKED_BYTES, NUM_CLASSES};

pub const IMAGES_MAGIC: u32 = 2051;
pub const LABELS_MAGIC: u32 = 2049;
/// MNIST and Fashion-MNIST images are 28x28.
pub const SIDE: usize = 28;

const IMAGES_HEADER: usize = 16;
const LABELS_HEADER: usize = 8;

/// The big-endian u32 at `at`, if the bytes are there.
fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// The magic number of an IDX file, if it has four bytes.
pub fn magic(bytes: &[u8]) -> Option<u32> {
    be_u32(bytes, 0)
}

/// Checks the header's claim (`header` bytes + `count` records of
/// `record` bytes) against the file length; returns the data part.
fn claimed_data<'a>(
    name: &str,
    bytes: &'a [u8],
    header: usize,
    count: u32,
    record: usize,
) -> Result<&'a [u8], DataError> {
    let err = |p| DataError::new(name, p);
    if count == 0 {
        return Err(err(Problem::Empty));
    }
    // u32 * 784 + 16 cannot overflow u64, but be explicit about it anyway.
    let claimed = (count as u64)
        .checked_mul(record as u64)
        .and_then(|n| n.checked_add(header as u64))
        .unwrap_or(u64::MAX);
    if claimed > MAX_UNPACKED_BYTES as u64 {
        return Err(err(Problem::HeaderClaimsTooMuch {
            count: count as u64,
            bytes: claimed,
            present: bytes.len(),
        }));
    }
    // Fits in usize on every target: it is at most MAX_UNPACKED_BYTES.
    let claimed = claimed as usize;
    if bytes.len() < claimed {
        return Err(err(Problem::Truncated {
            needed: claimed,
            found: bytes.len(),
        }));
    }
    if bytes.len() > claimed {
        return Err(err(Problem::TrailingBytes {
            expected: claimed,
            found: bytes.len(),
        }));
    }
    Ok(&bytes[header..])
}

/// Parses an IDX images file (already decompressed).
/// Returns (count, rows, cols, pixels); rows and cols are always 28.
pub fn parse_idx_images(
    name: &str,
    bytes: &[u8],
) -> Result<(usize, usize, usize, Vec<u8>), DataError> {
    let err = |p| DataError::new(name, p);
    let short = || {
        err(Problem::Truncated {
            needed: IMAGES_HEADER,
            found: bytes.len(),
        })
    };
    let found = magic(bytes).ok_or_else(short)?;
    if found != IMAGES_MAGIC {
        return Err(err(Problem::BadMagic {
            found,
            expected: IMAGES_MAGIC,
        }));
    }
    let (count, rows, cols) = match (be_u32(bytes, 4), be_u32(bytes, 8), be_u32(bytes, 12)) {
        (Some(n), Some(r), Some(c)) => (n, r as usize, c as usize),
        _ => return Err(short()),
    };
    if (rows, cols) != (SIDE, SIDE) {
        return Err(err(Problem::BadDimensions {
            rows,
            cols,
            expected_rows: SIDE,
            expected_cols: SIDE,
        }));
    }
    let pixels = claimed_data(name, bytes, IMAGES_HEADER, count, SIDE * SIDE)?;
    Ok((count as usize, rows, cols, pixels.to_vec()))
}

/// Parses an IDX labels file (already decompressed); every label must be 0..=9.
pub fn parse_idx_labels(name: &str, bytes: &[u8]) -> Result<Vec<u8>, DataError> {
    let err = |p| DataError::new(name, p);
    let short = || {
        err(Problem::Truncated {
            needed: LABELS_HEADER,
            found: bytes.len(),
        })
    };
    let found = magic(bytes).ok_or_else(short)?;
    if found != LABELS_MAGIC {
        return Err(err(Problem::BadMagic {
            found,
            expected: LABELS_MAGIC,
        }));
    }
    let count = be_u32(bytes, 4).ok_or_else(short)?;
    let labels = claimed_data(name, bytes, LABELS_HEADER, count, 1)?;
    if let Some(index) = labels.iter().position(|&l| l as usize >= NUM_CLASSES) {
        return Err(err(Problem::LabelOutOfRange {
            index,
            label: labels[index],
        }));
    }
    Ok(labels.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn images_file(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        for x in [IMAGES_MAGIC, count, rows, cols] {
            v.extend(x.to_be_bytes());
        }
        v.extend_from_slice(pixels);
        v
    }

    fn labels_file(labels: &[u8]) -> Vec<u8> {
        let mut v = LABELS_MAGIC.to_be_bytes().to_vec();
        v.extend((labels.len() as u32).to_be_bytes());
        v.extend_from_slice(labels);
        v
    }

    #[test]
    fn parses_well_formed_files() {
        let px: Vec<u8> = (0..2 * 784).map(|i| i as u8).collect();
        let (n, r, c, data) = parse_idx_images("i", &images_file(2, 28, 28, &px)).unwrap();
        assert_eq!((n, r, c), (2, 28, 28));
        assert_eq!(data, px);
        assert_eq!(
            parse_idx_labels("l", &labels_file(&[3, 9, 0])).unwrap(),
            vec![3, 9, 0]
        );
    }

    #[test]
    fn rejects_each_kind_of_damage() {
        let px = vec![0u8; 784];
        let p = |r: Result<(usize, usize, usize, Vec<u8>), DataError>| r.unwrap_err().problem;
        assert_eq!(
            p(parse_idx_images("i", &[])),
            Problem::Truncated {
                needed: 16,
                found: 0
            }
        );
        assert_eq!(
            p(parse_idx_images("i", &images_file(1, 28, 28, &px)[..10])),
            Problem::Truncated {
                needed: 16,
                found: 10
            }
        );
        assert_eq!(
            p(parse_idx_images("i", &labels_file(&[1]))),
            Problem::BadMagic {
                found: 2049,
                expected: 2051
            }
        );
        assert_eq!(
            p(parse_idx_images("i", &images_file(1, 32, 28, &px))),
            Problem::BadDimensions {
                rows: 32,
                cols: 28,
                expected_rows: 28,
                expected_cols: 28
            }
        );
        assert_eq!(
            p(parse_idx_images("i", &images_file(0, 28, 28, &[]))),
            Problem::Empty
        );
        assert_eq!(
            p(parse_idx_images("i", &images_file(2, 28, 28, &px))),
            Problem::Truncated {
                needed: 16 + 2 * 784,
                found: 16 + 784
            }
        );
        assert_eq!(
            p(parse_idx_images("i", &images_file(u32::MAX, 28, 28, &px))),
            Problem::HeaderClaimsTooMuch {
                count: u32::MAX as u64,
                bytes: u32::MAX as u64 * 784 + 16,
                present: 800
            }
        );
        assert_eq!(
            p(parse_idx_images("i", &images_file(1, 28, 28, &[0u8; 785]))),
            Problem::TrailingBytes {
                expected: 800,
                found: 801
            }
        );
        let l = |b: &[u8]| parse_idx_labels("l", b).unwrap_err().problem;
        assert_eq!(
            l(&labels_file(&[1, 2, 10])),
            Problem::LabelOutOfRange {
                index: 2,
                label: 10
            }
        );
        assert_eq!(l(&labels_file(&[])), Problem::Empty);
        assert_eq!(
            l(&[0, 0, 8, 1, 0]),
            Problem::Truncated {
                needed: 8,
                found: 5
            }
        );
        let mut long = labels_file(&[1, 2]);
        long[7] = 3;
        assert_eq!(
            l(&long),
            Problem::Truncated {
                needed: 11,
                found: 10
            }
        );
    }

    #[test]
    fn never_panics_on_any_short_prefix_or_byte_flip() {
        let mut f = images_file(1, 28, 28, &[9u8; 784]);
        for cut in 0..f.len() {
            let _ = parse_idx_images("i", &f[..cut]);
            let _ = parse_idx_labels("l", &f[..cut]);
        }
        for at in 0..16 {
            for v in [0u8, 1, 0x7f, 0x80, 0xff] {
                f[at] = v;
                let _ = parse_idx_images("i", &f);
                let _ = parse_idx_labels("l", &f);
            }
        }
    }
}
