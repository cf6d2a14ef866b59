//! gzip and tar, in memory and bounded.
//!
//! The official datasets come compressed: MNIST as four `.gz` files, CIFAR-10
//! as `cifar-10-binary.tar.gz`. Both formats carry sizes in headers that we
//! must not trust (gzip's ISIZE trailer, tar's entry sizes), so gunzip caps
//! its output at a caller-given limit while decoding, and untar checks every
//! entry against the bytes actually present and returns slices into the
//! input instead of copies (CIFAR's archive unpacks to ~176 MiB, and in the
//! browser every copy counts).

use super::error::{DataError, Problem};
use std::io::Read;

/// gzip files start with 1f 8b.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// POSIX and GNU tar headers carry "ustar" at offset 257 (very old v7
/// archives do not; those are recognised by name only).
pub fn is_tar(bytes: &[u8]) -> bool {
    bytes.get(257..262) == Some(b"ustar")
}

/// Decompresses gzip data (one or more concatenated members, like `gunzip`).
///
/// The output is capped at `limit` bytes: beyond that, [`Problem::TooLarge`].
/// The size recorded in the gzip trailer is only used as a capacity hint, and
/// only up to 8x the compressed size, so a lying header cannot make us
/// allocate more than a small multiple of what we were actually given.
pub fn gunzip(name: &str, bytes: &[u8], limit: usize) -> Result<Vec<u8>, DataError> {
    if !is_gzip(bytes) {
        return Err(DataError::new(
            name,
            Problem::Gzip("not gzip data (it does not start with 1f 8b)".into()),
        ));
    }
    let hint = match bytes.len() {
        n if n >= 18 => {
            u32::from_le_bytes([bytes[n - 4], bytes[n - 3], bytes[n - 2], bytes[n - 1]]) as usize
        }
        _ => 0,
    };
    let capacity = hint.min(bytes.len().saturating_mul(8)).min(limit);
    let mut out = Vec::with_capacity(capacity);
    // Read at most one byte past the limit: enough to know it was exceeded.
    let cap = (limit as u64).saturating_add(1);
    let mut decoder = flate2::read::MultiGzDecoder::new(bytes).take(cap);
    decoder
        .read_to_end(&mut out)
        .map_err(|e| DataError::new(name, Problem::Gzip(e.to_string())))?;
    if out.len() > limit {
        return Err(DataError::new(name, Problem::TooLarge { limit }));
    }
    Ok(out)
}

/// The regular files of a tar archive, as (path inside the archive, contents).
/// Directories, links and other special entries are skipped. The contents are
/// slices of `bytes`, checked to lie inside it.
pub fn untar<'a>(name: &str, bytes: &'a [u8]) -> Result<Vec<(String, &'a [u8])>, DataError> {
    let err = |msg: String| DataError::new(name, Problem::Tar(msg));
    let mut archive = tar::Archive::new(bytes);
    let entries = archive.entries().map_err(|e| err(e.to_string()))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| err(e.to_string()))?;
        let kind = entry.header().entry_type();
        // Sparse files are not stored contiguously, so slicing would be wrong;
        // no dataset archive contains them.
        if !(kind.is_file() || kind.is_contiguous()) {
            continue;
        }
        let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let (pos, size) = (entry.raw_file_position(), entry.size());
        let range = usize::try_from(pos)
            .ok()
            .zip(usize::try_from(size).ok())
            .and_then(|(start, len)| Some(start..start.checked_add(len)?))
            .filter(|r| r.end <= bytes.len());
        match range {
            Some(r) => files.push((path, &bytes[r])),
            None => {
                return Err(err(format!(
                    "entry {path} claims {size} bytes at offset {pos}, but the archive has only {} bytes",
                    bytes.len()
                )));
            }
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, path, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn gunzip_round_trips_and_handles_concatenated_members() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        assert_eq!(gunzip("a.gz", &gz(&data), 1 << 20).unwrap(), data);
        let mut two = gz(b"hello ");
        two.extend(gz(b"world"));
        assert_eq!(gunzip("b.gz", &two, 100).unwrap(), b"hello world");
    }

    #[test]
    fn gunzip_caps_output_regardless_of_header() {
        let zeros = gz(&vec![0u8; 1 << 20]);
        let e = gunzip("bomb.gz", &zeros, 1000).unwrap_err();
        assert_eq!(e.problem, Problem::TooLarge { limit: 1000 });
        assert_eq!(gunzip("ok.gz", &zeros, 1 << 20).unwrap().len(), 1 << 20);
        // A trailer that lies about the size changes nothing.
        let mut lying = gz(b"small");
        let n = lying.len();
        lying[n - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            gunzip("lie.gz", &lying, 100).unwrap_err().problem,
            Problem::Gzip(_)
        ));
    }

    #[test]
    fn gunzip_rejects_corrupt_and_truncated_streams() {
        let good = gz(&[7u8; 5000]);
        assert!(matches!(
            gunzip("x", b"plain", 10).unwrap_err().problem,
            Problem::Gzip(_)
        ));
        for cut in [1, 2, 10, good.len() / 2, good.len() - 1] {
            let e = gunzip("cut.gz", &good[..cut], 1 << 20).unwrap_err();
            assert!(matches!(e.problem, Problem::Gzip(_)), "cut at {cut}: {e}");
        }
        let mut bad = good.clone();
        let n = bad.len();
        bad[n - 6] ^= 0xff; // CRC
        assert!(matches!(
            gunzip("crc.gz", &bad, 1 << 20).unwrap_err().problem,
            Problem::Gzip(_)
        ));
    }

    #[test]
    fn untar_returns_files_as_slices_and_skips_directories() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_size(0);
        h.set_cksum();
        b.append_data(&mut h, "dir/", &[][..]).unwrap();
        let raw = b.into_inner().unwrap();
        let mut t = raw[..raw.len() - 1024].to_vec(); // drop end-of-archive blocks
        t.extend(tar_of(&[("dir/a.bin", b"abc"), ("dir/b.txt", &[1u8; 700])]));
        let files = untar("t.tar", &t).unwrap();
        assert_eq!(files.len(), 2);
        assert_eq!(files[0], ("dir/a.bin".to_string(), &b"abc"[..]));
        assert_eq!(files[1].1.len(), 700);
    }

    #[test]
    fn untar_rejects_corrupt_headers_and_overlong_entries() {
        let t = tar_of(&[("a.bin", &[5u8; 3000])]);
        let mut bad = t.clone();
        bad[10] ^= 0x55; // inside the name: checksum no longer matches
        assert!(matches!(
            untar("bad.tar", &bad).unwrap_err().problem,
            Problem::Tar(_)
        ));
        // Cut inside the entry's data: the entry claims more than is there.
        let e = untar("cut.tar", &t[..2000]).unwrap_err();
        assert!(matches!(e.problem, Problem::Tar(_)), "{e}");
        // Cut inside a header.
        assert!(untar("cut.tar", &t[..100]).is_err());
        // Empty input is an empty archive.
        assert!(untar("empty.tar", &[]).unwrap().is_empty());
    }
}
