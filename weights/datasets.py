"""Readers for the official Fashion-MNIST and CIFAR-10 files.

Accepted layouts, under a data folder (--data-dir, else $CAM_DATA_DIR, else
../shared/data beside the source tree):
  fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]   (official IDX)
  cifar-10/{data_batch_1..5,test_batch}.bin[.gz]                    (official binary)
  cifar-10-batches-bin/... or cifar-10/cifar-10-batches-bin/...      (official tarball layout)
Datasets: Fashion-MNIST https://github.com/zalandoresearch/fashion-mnist (MIT),
CIFAR-10 https://www.cs.toronto.edu/~kriz/cifar.html (Krizhevsky 2009).
Returns uint8 arrays N x C x H x W and int64 labels, plus the sha256 of the files read.
"""
import gzip
import hashlib
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def default_data_dir():
    env = os.environ.get("CAM_DATA_DIR")
    if env:
        return env
    return os.path.normpath(os.path.join(HERE, "..", "..", "shared", "data"))


def _find(folder_candidates, stem):
    for folder in folder_candidates:
        for suffix in ("", ".gz"):
            path = os.path.join(folder, stem + suffix)
            if os.path.isfile(path):
                return path
    raise FileNotFoundError(
        f"dataset file {stem}[.gz] not found in: {', '.join(folder_candidates)} "
        "(set --data-dir or CAM_DATA_DIR; see weights/README.md for where to get the datasets)")


def _read(path, digests):
    with open(path, "rb") as f:
        raw = f.read()
    digests.append((os.path.basename(path), hashlib.sha256(raw).hexdigest()))
    return gzip.decompress(raw) if path.endswith(".gz") else raw


def _idx(path, digests):
    data = _read(path, digests)
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"{path}: IDX size {arr.size} does not match dims {dims}")
    return arr.reshape(dims)


def load_fashion_mnist(data_dir, split):
    """split 'train' or 'test' -> (images uint8 N x 1 x 28 x 28, labels int64, digests)."""
    folders = [os.path.join(data_dir, "fashion-mnist"), data_dir]
    stem = "train" if split == "train" else "t10k"
    digests = []
    images = _idx(_find(folders, f"{stem}-images-idx3-ubyte"), digests)
    labels = _idx(_find(folders, f"{stem}-labels-idx1-ubyte"), digests)
    return images[:, None, :, :].copy(), labels.astype(np.int64), digests


def load_cifar10(data_dir, split):
    """split 'train' or 'test' -> (images uint8 N x 3 x 32 x 32, labels int64, digests)."""
    folders = [os.path.join(data_dir, "cifar-10"), os.path.join(data_dir, "cifar-10-batches-bin"),
               os.path.join(data_dir, "cifar-10", "cifar-10-batches-bin"), data_dir]
    stems = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    digests, images, labels = [], [], []
    for stem in stems:
        raw = np.frombuffer(_read(_find(folders, stem + ".bin"), digests), dtype=np.uint8)
        if raw.size % 3073:
            raise ValueError(f"{stem}.bin: size {raw.size} is not a multiple of 3073-byte records")
        rec = raw.reshape(-1, 3073)
        labels.append(rec[:, 0].astype(np.int64))
        images.append(rec[:, 1:].reshape(-1, 3, 32, 32))
    return np.concatenate(images), np.concatenate(labels), digests


LOADERS = {"fashion-mnist": load_fashion_mnist, "cifar10": load_cifar10}


def load(name, data_dir, split):
    return LOADERS[name](data_dir, split)
