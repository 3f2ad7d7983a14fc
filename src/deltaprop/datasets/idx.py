"""The IDX file format (unsigned bytes, gzipped or not) and the MNIST-style data sets stored
in it: MNIST and Fashion-MNIST."""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from .base import DatasetError, float_dtype, reading

GZIP_MAGIC = b"\x1f\x8b"
IDX_IMAGES_MAGIC = 0x00000803  # 2051: unsigned bytes, 3 dimensions (count, rows, cols)
IDX_LABELS_MAGIC = 0x00000801  # 2049: unsigned bytes, 1 dimension (count,)
_IDX_UBYTE = 0x08


def _gunzip(data: bytes, path: Path) -> bytes:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise DatasetError(f"{path}: corrupt gzip stream ({exc or type(exc).__name__})") from None


def _parse_idx_header(data: bytes, path: Path) -> tuple[tuple[int, ...], int]:
    """The dimensions and the header length of an IDX file of unsigned bytes."""
    expected = (f"expected 0x{IDX_IMAGES_MAGIC:08X} for images or "
                f"0x{IDX_LABELS_MAGIC:08X} for labels")
    if len(data) < 4:
        raise DatasetError(f"{path}: not an IDX file: {len(data)} bytes, too short for the "
                           f"4-byte magic number ({expected})")
    magic = int.from_bytes(data[:4], "big")
    type_code, ndim = data[2], data[3]
    if data[:2] != b"\0\0" or ndim == 0:
        raise DatasetError(f"{path}: not an IDX file: bad magic number 0x{magic:08X} ({expected})")
    if type_code != _IDX_UBYTE:
        raise DatasetError(f"{path}: unsupported IDX data type 0x{type_code:02X} in magic number "
                           f"0x{magic:08X}: only unsigned bytes (0x08) are supported")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise DatasetError(f"{path}: truncated header: magic number 0x{magic:08X} announces "
                           f"{ndim} dimension(s), which needs a {header_len}-byte header, but "
                           f"there are only {len(data)} bytes")
    return struct.unpack(f">{ndim}I", data[4:header_len]), header_len


def read_idx(path) -> np.ndarray:
    """Read one IDX file of unsigned bytes, gzipped or not.

    Compression is detected from the gzip magic bytes (``1f 8b``), not from the file name.

    Parameters
    ----------
    path : str or path-like
        The file, e.g. ``train-images-idx3-ubyte.gz``.

    Returns
    -------
    numpy.ndarray
        A writable ``uint8`` array with the shape given in the header: ``(count, rows, cols)``
        for image files (magic number 2051), ``(count,)`` for label files (2049).

    Raises
    ------
    DatasetError
        If the file cannot be read, is not a valid gzip stream, has a bad magic number or a
        short header, or if its payload is not exactly as long as the header's dimensions say
        (the message gives the expected and the actual byte count).
    """
    path = Path(path)
    with reading(path):
        data = path.read_bytes()
    gzipped = data[:2] == GZIP_MAGIC
    if gzipped:
        data = _gunzip(data, path)
    dims, header_len = _parse_idx_header(data, path)
    expected, actual = math.prod(dims), len(data) - header_len
    if actual != expected:
        problem = "truncated" if actual < expected else "extra bytes"
        where = " (after decompression)" if gzipped else ""
        raise DatasetError(f"{path}: {problem}: shape {dims} needs {expected} data bytes after "
                           f"the {header_len}-byte header, found {actual}{where}")
    return np.frombuffer(data, np.uint8, count=expected, offset=header_len).reshape(dims).copy()


_SPLIT_PREFIX = {"train": "train", "test": "t10k"}


def idx_names(split: str) -> tuple[str, str]:
    """The base names (without ``.gz``) of the image and label files of a split."""
    if split not in _SPLIT_PREFIX:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    prefix = _SPLIT_PREFIX[split]
    return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"


def _find_idx_file(data_dir: Path, base: str) -> Path | None:
    for name in (base + ".gz", base):
        if (data_dir / name).is_file():
            return data_dir / name
    return None


def _locate_idx_files(data_dir, split: str) -> tuple[Path, Path]:
    data_dir = Path(data_dir)
    bases = idx_names(split)
    wanted = " and ".join(f"{b}[.gz]" for b in bases)
    if not data_dir.is_dir():
        raise DatasetError(f"data directory {data_dir} does not exist or is not a directory; "
                           f"it should hold {wanted}")
    found = [_find_idx_file(data_dir, b) for b in bases]
    missing = [b for b, f in zip(bases, found) if f is None]
    if missing:
        names = " and ".join(f"{b}[.gz]" for b in missing)
        raise DatasetError(f"{data_dir}: no {names}; the {split!r} split needs {wanted}")
    assert found[0] is not None and found[1] is not None
    return found[0], found[1]


def load_idx_dataset(data_dir, split="train", flatten=True, normalize=True, dtype="float32"):
    """Load one split of an MNIST-style IDX data set from a directory.

    Parameters
    ----------
    data_dir : str or path-like
        Directory holding ``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte`` (for
        ``split="train"``) or ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``
        (``split="test"``), each plain or with a ``.gz`` suffix.
    split : {"train", "test"}
    flatten : bool
        Return images as rows of ``rows * cols`` pixels instead of ``(rows, cols)`` arrays.
    normalize : bool
        Scale pixels from 0..255 to [0, 1] (``pixel / 255``).
    dtype : str or numpy dtype
        Floating-point type of ``X``.

    Returns
    -------
    X : numpy.ndarray
        ``(count, rows * cols)`` if ``flatten``, else ``(count, rows, cols)``.
    y : numpy.ndarray
        ``(count,)`` ``int64`` labels.

    Raises
    ------
    DatasetError
        If the directory or a file is missing (the message names both expected files), a file
        is malformed (see :func:`read_idx`), or the image and label counts differ.
    """
    dt = float_dtype(dtype)
    image_path, label_path = _locate_idx_files(data_dir, split)
    images, labels = read_idx(image_path), read_idx(label_path)
    if images.ndim != 3:
        raise DatasetError(f"{image_path}: expected images of shape (count, rows, cols), "
                           f"found shape {images.shape}")
    if labels.ndim != 1:
        raise DatasetError(f"{label_path}: expected labels of shape (count,), "
                           f"found shape {labels.shape}")
    if len(images) != len(labels):
        raise DatasetError(f"{image_path} holds {len(images)} images but {label_path} holds "
                           f"{len(labels)} labels")
    lookup = np.arange(256, dtype=dt)  # one pass from uint8 to float, exactly pixel / 255
    if normalize:
        lookup /= 255
    X = lookup[images.reshape(len(images), -1) if flatten else images]
    return X, labels.astype(np.int64)


def _has_idx_files(data_dir: Path, split: str) -> bool:
    return data_dir.is_dir() and all(_find_idx_file(data_dir, b) for b in idx_names(split))


def _dataset_dir(data_dir, subdir: str, split: str) -> Path:
    """``data_dir``, or ``data_dir/subdir`` when only that one holds the files."""
    data_dir = Path(data_dir)
    nested = data_dir / subdir
    if not _has_idx_files(data_dir, split) and _has_idx_files(nested, split):
        return nested
    return data_dir


def load_mnist(data_dir, split="train", flatten=True, normalize=True, dtype="float32"):
    """Load MNIST handwritten digits (60,000 training and 10,000 test images, 28x28).

    Parameters
    ----------
    data_dir : str or path-like
        Directory with the four IDX files (plain or gzipped), or its parent when the files
        are in a ``mnist`` subdirectory of it.
    split, flatten, normalize, dtype
        As for :func:`load_idx_dataset`.

    Returns
    -------
    X, y : numpy.ndarray
        ``(60000, 784)`` (train) or ``(10000, 784)`` (test) pixels and labels 0-9.
    """
    return load_idx_dataset(_dataset_dir(data_dir, "mnist", split), split, flatten=flatten,
                            normalize=normalize, dtype=dtype)


def load_fashion_mnist(data_dir, split="train", flatten=True, normalize=True, dtype="float32"):
    """Load Fashion-MNIST (Zalando clothing images, same format and sizes as MNIST).

    Parameters
    ----------
    data_dir : str or path-like
        Directory with the four IDX files (plain or gzipped), or its parent when the files
        are in a ``fashion-mnist`` subdirectory of it.
    split, flatten, normalize, dtype
        As for :func:`load_idx_dataset`.

    Returns
    -------
    X, y : numpy.ndarray
        ``(60000, 784)`` (train) or ``(10000, 784)`` (test) pixels and labels 0-9.
    """
    return load_idx_dataset(_dataset_dir(data_dir, "fashion-mnist", split), split,
                            flatten=flatten, normalize=normalize, dtype=dtype)
