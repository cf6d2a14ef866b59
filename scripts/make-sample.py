#!/usr/bin/env python3
"""Cut the small built-in dataset samples under assets/sample/ from the real data.

Reads ../shared/data (next to the repository; or the folder given as the first
argument) and writes, in the official file formats so that the app's normal
loading code reads them:

  assets/sample/mnist/train-images-idx3-ubyte.gz   first 10,000 training images
  assets/sample/mnist/train-labels-idx1-ubyte.gz   their labels
  assets/sample/mnist/t10k-images-idx3-ubyte.gz    first 2,000 test images
  assets/sample/mnist/t10k-labels-idx1-ubyte.gz    their labels
  assets/sample/cifar10/cifar-10-sample-binary.tar.gz
      cifar-10-batches-bin/data_batch_1.bin   first 2,000 records of data_batch_1
      cifar-10-batches-bin/test_batch.bin     first 500 records of test_batch
      cifar-10-batches-bin/batches.meta.txt   class names, copied

The output is byte-reproducible for a given zlib: gzip mtime 0, no file name
in the gzip header, and fixed tar metadata (mtime, owner, mode).
Python 3 standard library only.
"""

import gzip
import io
import os
import struct
import sys
import tarfile

MNIST_TRAIN = 10_000
MNIST_TEST = 2_000
CIFAR_TRAIN = 2_000
CIFAR_TEST = 500
CIFAR_RECORD = 1 + 3 * 32 * 32
CIFAR_DIR = "cifar-10-batches-bin"
# A fixed timestamp for the tar entries (2009-04-08, the CIFAR-10 report's year);
# any constant would do, it only has to be the same on every run.
TAR_MTIME = 1239148800


def gz(data: bytes) -> bytes:
    """gzip with mtime 0 and no embedded name: same input, same bytes."""
    return gzip.compress(data, compresslevel=9, mtime=0)


def cut_idx(data: bytes, count: int) -> bytes:
    """First `count` records of an IDX file, with the header's count fixed up."""
    magic, total = struct.unpack(">II", data[:8])
    if magic == 2051:
        rows, cols = struct.unpack(">II", data[8:16])
        header, record = 16, rows * cols
    elif magic == 2049:
        header, record = 8, 1
    else:
        raise SystemExit(f"not an IDX file (magic {magic})")
    if count > total:
        raise SystemExit(f"asked for {count} records, file has {total}")
    return data[:4] + struct.pack(">I", count) + data[8:header] + data[header : header + count * record]


def make_mnist(src: str, dst: str) -> None:
    os.makedirs(dst, exist_ok=True)
    for prefix, count in (("train", MNIST_TRAIN), ("t10k", MNIST_TEST)):
        for kind in ("images-idx3-ubyte", "labels-idx1-ubyte"):
            name = f"{prefix}-{kind}.gz"
            with open(os.path.join(src, name), "rb") as f:
                data = gzip.decompress(f.read())
            with open(os.path.join(dst, name), "wb") as f:
                f.write(gz(cut_idx(data, count)))
            print(f"wrote {os.path.join(dst, name)} ({count} records)")


def tar_entry(tar: tarfile.TarFile, name: str, data: bytes = None) -> None:
    info = tarfile.TarInfo(name)
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


def make_cifar(src: str, dst: str) -> None:
    os.makedirs(dst, exist_ok=True)
    members = {}
    with tarfile.open(os.path.join(src, "cifar-10-binary-subset.tar.gz"), "r:gz") as tar:
        for m in tar.getmembers():
            if m.isfile():
                members[os.path.basename(m.name)] = tar.extractfile(m).read()
    train = members["data_batch_1.bin"][: CIFAR_TRAIN * CIFAR_RECORD]
    test = members["test_batch.bin"][: CIFAR_TEST * CIFAR_RECORD]
    assert len(train) == CIFAR_TRAIN * CIFAR_RECORD and len(test) == CIFAR_TEST * CIFAR_RECORD
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        tar_entry(tar, CIFAR_DIR + "/")
        tar_entry(tar, f"{CIFAR_DIR}/batches.meta.txt", members["batches.meta.txt"])
        tar_entry(tar, f"{CIFAR_DIR}/data_batch_1.bin", train)
        tar_entry(tar, f"{CIFAR_DIR}/test_batch.bin", test)
    out = os.path.join(dst, "cifar-10-sample-binary.tar.gz")
    with open(out, "wb") as f:
        f.write(gz(buf.getvalue()))
    print(f"wrote {out} ({CIFAR_TRAIN} train + {CIFAR_TEST} test records)")


def main() -> None:
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(repo, "..", "shared", "data")
    if not os.path.isdir(data):
        raise SystemExit(f"no data folder at {data}; pass the folder with mnist/ and cifar10/ as the argument")
    out = os.path.join(repo, "assets", "sample")
    make_mnist(os.path.join(data, "mnist"), os.path.join(out, "mnist"))
    make_cifar(os.path.join(data, "cifar10"), os.path.join(out, "cifar10"))


if __name__ == "__main__":
    main()
