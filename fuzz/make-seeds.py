#!/usr/bin/env python3
"""Write the fuzzers' seed inputs, cut from the real data, into fuzz/corpus/<target>/seed-*.

Reads ../shared/data (next to the repository; or the folder given as the first
argument): small, valid files in the official formats, so that the fuzzers
start from inputs that reach the parsers' success paths:

  idx/         a 20-image IDX images file and its 20 labels, gzipped; a
               2-image pair, raw
  cifar/       a 2-record CIFAR-10 batch; a .tar.gz in the official layout
               (folder entry, batches.meta.txt, a 2-record data_batch_1.bin and
               a 1-record test_batch.bin); a plain .tar with 1 + 1 records; the
               pax tar below
  archive/     the .tar.gz and .tar above, and a gzipped IDX labels file; a pax
               tar (long member path and an explicit "size" record, which
               overrides the header's) and a GNU tar with long names ('L'
               entries), whose extension data is outside the header checksum
               and so easy for a fuzzer to vary
  load_files/  whole datasets in the format of fuzz/src/harness.rs's
               decode_files: the four MNIST .gz files (20 train, 10 test images),
               the four raw IDX files (2 + 1) with the Fashion-MNIST hint, the
               CIFAR .tar.gz above, two loose 1-record .bin batches, the pax
               tar named "download" (an archive by content) and the GNU tar

Small on purpose: every input stays under the fuzzers' -max_len (scripts/fuzz.sh),
and small inputs keep the runs fast and the minimised corpus small.

The output is byte-reproducible (gzip mtime 0, fixed tar metadata). After a
fuzzing run, `cargo fuzz cmin` may drop seeds that add no coverage.
Python 3 standard library only.
"""

import gzip
import io
import os
import struct
import sys
import tarfile

CIFAR_RECORD = 1 + 3 * 32 * 32
CIFAR_DIR = "cifar-10-batches-bin"
TAR_MTIME = 1239148800
# Indices into NAMES in fuzz/src/harness.rs.
NAME = {
    "train-images-idx3-ubyte.gz": 0,
    "train-labels-idx1-ubyte.gz": 1,
    "t10k-images-idx3-ubyte.gz": 2,
    "t10k-labels-idx1-ubyte.gz": 3,
    "train-images-idx3-ubyte": 4,
    "train-labels-idx1-ubyte": 5,
    "t10k-images-idx3-ubyte": 6,
    "t10k-labels-idx1-ubyte": 7,
    "data_batch_1.bin": 8,
    "test_batch.bin": 10,
    "cifar-10-binary.tar.gz": 11,
    "cifar-10-binary.tar": 12,
    "download": 15,
}
# Hints, as bits 0-1 of byte 0 in decode_files.
NO_HINT, MNIST, FASHION, CIFAR = 0, 1, 2, 3


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def cut_idx(data: bytes, count: int, skip: int = 0) -> bytes:
    """Records skip..skip+count of an IDX file, with the header's count fixed up."""
    magic = struct.unpack(">I", data[:4])[0]
    header, record = (16, 28 * 28) if magic == 2051 else (8, 1)
    body = data[header + skip * record : header + (skip + count) * record]
    assert len(body) == count * record
    return data[:4] + struct.pack(">I", count) + data[8:header] + body


def tar_of(entries, fmt=tarfile.GNU_FORMAT, pax_size=False, trim=False) -> bytes:
    """A tar of (name, data or None for a folder). pax_size: give each file's
    size as a pax record (tarfile then writes 0 in the header itself).
    trim: drop the zero padding after the two end-of-archive blocks."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            if pax_size and data is not None:
                info.pax_headers = {"size": str(len(data))}
            info.mtime = TAR_MTIME
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if data is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            else:
                info.mode = 0o644
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        end = buf.tell() + 1024
    out = buf.getvalue()
    return out[:end] if trim else out


def encode_files(hint: int, files) -> bytes:
    """The inverse of decode_files in fuzz/src/harness.rs."""
    assert 1 <= len(files) <= 4
    out = bytes([hint | (len(files) - 1) << 2])
    for name, data in files:
        out += bytes([NAME[name]]) + struct.pack("<I", len(data)) + data
    return out


def main() -> None:
    fuzz = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(fuzz)
    data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(repo, "..", "shared", "data")
    if not os.path.isdir(data):
        raise SystemExit(f"no data folder at {data}; pass the folder with mnist/ and cifar10/ as the argument")

    mnist = {}
    for prefix in ("train", "t10k"):
        for kind in ("images-idx3-ubyte", "labels-idx1-ubyte"):
            with open(os.path.join(data, "mnist", f"{prefix}-{kind}.gz"), "rb") as f:
                mnist[f"{prefix}-{kind}"] = gzip.decompress(f.read())
    members = {}
    with tarfile.open(os.path.join(data, "cifar10", "cifar-10-binary-subset.tar.gz"), "r:gz") as tar:
        for m in tar.getmembers():
            if m.isfile():
                members[os.path.basename(m.name)] = tar.extractfile(m).read()
    train, test = members["data_batch_1.bin"], members["test_batch.bin"]

    batch2 = train[: 2 * CIFAR_RECORD]
    tgz = gz(
        tar_of(
            [
                (CIFAR_DIR + "/", None),
                (f"{CIFAR_DIR}/batches.meta.txt", members["batches.meta.txt"]),
                (f"{CIFAR_DIR}/data_batch_1.bin", batch2),
                (f"{CIFAR_DIR}/test_batch.bin", test[:CIFAR_RECORD]),
            ]
        )
    )
    # A plain POSIX (ustar) tar, where the .tar.gz above is GNU format.
    plain = tar_of(
        [
            (f"{CIFAR_DIR}/data_batch_1.bin", train[:CIFAR_RECORD]),
            (f"{CIFAR_DIR}/test_batch.bin", test[:CIFAR_RECORD]),
        ],
        tarfile.USTAR_FORMAT,
    )
    # Member paths over 100 bytes need a pax record or a GNU 'L' entry.
    deep = CIFAR_DIR + "/" + "subfolder-with-a-long-name/" * 4
    pax = tar_of(
        [(deep + "data_batch_1.bin", train[:CIFAR_RECORD]), (f"{CIFAR_DIR}/test_batch.bin", test[:CIFAR_RECORD])],
        tarfile.PAX_FORMAT,
        pax_size=True,
        trim=True,
    )
    gnu = tar_of(
        [(deep + "data_batch_1.bin", train[:CIFAR_RECORD]), (deep + "test_batch.bin", test[:CIFAR_RECORD])],
        tarfile.GNU_FORMAT,
        trim=True,
    )
    idx20 = {k: cut_idx(v, 20) for k, v in mnist.items() if k.startswith("train")}
    seeds = {
        "idx": {
            "seed-images-20.gz": gz(idx20["train-images-idx3-ubyte"]),
            "seed-labels-20.gz": gz(idx20["train-labels-idx1-ubyte"]),
            "seed-images-2": cut_idx(mnist["t10k-images-idx3-ubyte"], 2),
            "seed-labels-2": cut_idx(mnist["t10k-labels-idx1-ubyte"], 2),
        },
        "cifar": {
            "seed-batch-2.bin": batch2,
            "seed-cifar-3.tar.gz": tgz,
            "seed-cifar-2.tar": plain,
            "seed-cifar-pax.tar": pax,
        },
        "archive": {
            "seed-cifar-3.tar.gz": tgz,
            "seed-cifar-2.tar": plain,
            "seed-cifar-pax.tar": pax,
            "seed-cifar-gnu-longname.tar": gnu,
            "seed-labels-20.gz": gz(idx20["train-labels-idx1-ubyte"]),
        },
        "load_files": {
            "seed-mnist-gz": encode_files(
                NO_HINT,
                [(f"{p}-{k}.gz", gz(cut_idx(mnist[f"{p}-{k}"], n)))
                 for p, n in (("train", 20), ("t10k", 10))
                 for k in ("images-idx3-ubyte", "labels-idx1-ubyte")],
            ),
            "seed-mnist-raw-fashion": encode_files(
                FASHION,
                [(f"{p}-{k}", cut_idx(mnist[f"{p}-{k}"], n))
                 for p, n in (("train", 2), ("t10k", 1))
                 for k in ("images-idx3-ubyte", "labels-idx1-ubyte")],
            ),
            "seed-cifar-tgz": encode_files(CIFAR, [("cifar-10-binary.tar.gz", tgz)]),
            "seed-cifar-bins": encode_files(
                MNIST,  # a wrong hint: the content decides the family
                [("data_batch_1.bin", train[:CIFAR_RECORD]), ("test_batch.bin", test[:CIFAR_RECORD])],
            ),
            "seed-cifar-pax-download": encode_files(NO_HINT, [("download", pax)]),
            "seed-cifar-gnu-longname": encode_files(CIFAR, [("cifar-10-binary.tar", gnu)]),
        },
    }
    for target, files in seeds.items():
        out = os.path.join(fuzz, "corpus", target)
        os.makedirs(out, exist_ok=True)
        for name, content in files.items():
            with open(os.path.join(out, name), "wb") as f:
                f.write(content)
        print(f"wrote {len(files)} seeds to {out}")


if __name__ == "__main__":
    main()
