"""Data sets: IDX files (MNIST, Fashion-MNIST), CSV files, generated 2-D problems,
scikit-learn's small real sets, a train/test split and a feature standardizer.

Only NumPy and the standard library are needed. scikit-learn is imported lazily, by the
four loaders that wrap its bundled data sets (``pip install 'deltaprop[sklearn]'``).
Nothing is ever unpickled.

Every loader returns ``(X, y)``: ``X`` a float array (``float32`` unless ``dtype`` says
otherwise), ``y`` ``int64`` class labels (``load_csv`` also returns the feature names).
Bad files raise :class:`DatasetError`, a ``ValueError`` whose message names the file and,
where it applies, the line, the column and the offending value.
"""

from __future__ import annotations

import csv
import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

__all__ = [
    "DATASETS",
    "DatasetError",
    "Standardizer",
    "load_breast_cancer",
    "load_csv",
    "load_dataset",
    "load_digits",
    "load_fashion_mnist",
    "load_idx_dataset",
    "load_iris",
    "load_mnist",
    "load_wine",
    "make_blobs",
    "make_circles",
    "make_moons",
    "make_spirals",
    "make_xor",
    "read_idx",
    "train_test_split",
]


class DatasetError(ValueError):
    """A data file or data set request that cannot be served: missing, malformed or unknown."""


def _float_dtype(dtype) -> np.dtype:
    """``dtype`` as a floating-point ``np.dtype``, or ``ValueError``."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.kind != "f":
        raise ValueError(f"dtype must be a floating-point type such as 'float32' or 'float64', "
                         f"got {dtype!r}")
    return dt


# -- IDX files ------------------------------------------------------------------------------

GZIP_MAGIC = b"\x1f\x8b"
IDX_IMAGES_MAGIC = 0x00000803  # 2051: unsigned bytes, 3 dimensions (count, rows, cols)
IDX_LABELS_MAGIC = 0x00000801  # 2049: unsigned bytes, 1 dimension (count,)
_IDX_UBYTE = 0x08


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file") from None
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror or exc}") from None


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
    data = _read_bytes(path)
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


def _idx_names(split: str) -> tuple[str, str]:
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
    bases = _idx_names(split)
    wanted = " and ".join(f"{b}[.gz]" for b in bases)
    if not data_dir.is_dir():
        raise DatasetError(f"data directory {data_dir} does not exist or is not a directory; "
                           f"it should hold {wanted}")
    found = [_find_idx_file(data_dir, b) for b in bases]
    missing = [b for b, f in zip(bases, found) if f is None]
    if missing:
        names = " and ".join(f"{b}[.gz]" for b in missing)
        raise DatasetError(f"{data_dir}: no {names}; the {split!r} split needs {wanted}")
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
    dt = _float_dtype(dtype)
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
    return data_dir.is_dir() and all(_find_idx_file(data_dir, b) for b in _idx_names(split))


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


# -- scikit-learn's bundled data sets (optional) --------------------------------------------


def _load_sklearn(name: str, dtype):
    dt = _float_dtype(dtype)
    try:
        from sklearn import datasets as sk_datasets
    except ImportError:
        raise ImportError(f"load_{name} needs scikit-learn: pip install 'deltaprop[sklearn]'") \
            from None
    bunch = getattr(sk_datasets, f"load_{name}")()
    return np.asarray(bunch.data, dtype=dt), np.asarray(bunch.target, dtype=np.int64)


def load_digits(dtype="float32"):
    """scikit-learn's 8x8 handwritten digits: 1,797 samples, 64 features (0-16), 10 classes.

    Parameters
    ----------
    dtype : str or numpy dtype
        Floating-point type of ``X``.

    Returns
    -------
    X, y : numpy.ndarray

    Raises
    ------
    ImportError
        If scikit-learn is not installed.
    """
    return _load_sklearn("digits", dtype)


def load_iris(dtype="float32"):
    """Fisher's iris flowers: 150 samples, 4 features, 3 classes. Needs scikit-learn.

    Parameters
    ----------
    dtype : str or numpy dtype
        Floating-point type of ``X``.

    Returns
    -------
    X, y : numpy.ndarray
    """
    return _load_sklearn("iris", dtype)


def load_wine(dtype="float32"):
    """UCI wine recognition: 178 samples, 13 features, 3 classes. Needs scikit-learn.

    Parameters
    ----------
    dtype : str or numpy dtype
        Floating-point type of ``X``.

    Returns
    -------
    X, y : numpy.ndarray
    """
    return _load_sklearn("wine", dtype)


def load_breast_cancer(dtype="float32"):
    """Wisconsin diagnostic breast cancer: 569 samples, 30 features, 2 classes.

    Needs scikit-learn.

    Parameters
    ----------
    dtype : str or numpy dtype
        Floating-point type of ``X``.

    Returns
    -------
    X, y : numpy.ndarray
    """
    return _load_sklearn("breast_cancer", dtype)


# -- generated 2-D problems -----------------------------------------------------------------


def _class_sizes(n_samples, n_classes: int) -> list[int]:
    """Split ``n_samples`` into ``n_classes`` counts that differ by at most one."""
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)):
        raise TypeError(f"n_samples must be an integer, got {n_samples!r}")
    if n_samples < n_classes:
        raise ValueError(f"n_samples must be at least {n_classes} (one per class), "
                         f"got {n_samples}")
    base, extra = divmod(int(n_samples), n_classes)
    return [base + (k < extra) for k in range(n_classes)]


def _check_noise(noise, name="noise") -> float:
    noise = float(noise)
    if not (math.isfinite(noise) and noise >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {noise!r}")
    return noise


def _finish(parts, noise, rng, dtype):
    """Stack per-class point arrays, add Gaussian noise, shuffle, cast."""
    X = np.concatenate(parts)
    y = np.concatenate([np.full(len(p), k, dtype=np.int64) for k, p in enumerate(parts)])
    if noise > 0:
        X = X + rng.normal(scale=noise, size=X.shape)
    order = rng.permutation(len(X))
    return X[order].astype(dtype), y[order]


def make_moons(n_samples=200, noise=0.1, seed=None, *, dtype="float32"):
    """Two interleaving half circles.

    Class 0 lies on the upper unit half circle, class 1 on the lower half circle of radius
    1 centred at (1, 0.5).

    Parameters
    ----------
    n_samples : int
        Total number of points, split as evenly as possible between the two classes.
    noise : float
        Standard deviation of the Gaussian noise added to each coordinate.
    seed : int or None
        Seed of ``np.random.default_rng``; the same seed gives the same data.
    dtype : str or numpy dtype
        Floating-point type of ``X``.

    Returns
    -------
    X : numpy.ndarray
        ``(n_samples, 2)`` points, shuffled.
    y : numpy.ndarray
        ``(n_samples,)`` ``int64`` labels 0 and 1.
    """
    dt, noise = _float_dtype(dtype), _check_noise(noise)
    n0, n1 = _class_sizes(n_samples, 2)
    t0, t1 = np.linspace(0, np.pi, n0), np.linspace(0, np.pi, n1)
    outer = np.column_stack([np.cos(t0), np.sin(t0)])
    inner = np.column_stack([1 - np.cos(t1), 0.5 - np.sin(t1)])
    return _finish([outer, inner], noise, np.random.default_rng(seed), dt)


def make_circles(n_samples=200, noise=0.05, seed=None, factor=0.5, *, dtype="float32"):
    """Two concentric circles: class 0 of radius 1, class 1 of radius ``factor``.

    Parameters
    ----------
    n_samples : int
        Total number of points, split as evenly as possible between the two classes.
    noise : float
        Standard deviation of the Gaussian noise added to each coordinate.
    seed : int or None
        Seed of ``np.random.default_rng``.
    factor : float
        Radius of the inner circle, in (0, 1).
    dtype : str or numpy dtype
        Floating-point type of ``X``.

    Returns
    -------
    X, y : numpy.ndarray
        ``(n_samples, 2)`` shuffled points and their ``int64`` labels 0 and 1.
    """
    dt, noise = _float_dtype(dtype), _check_noise(noise)
    if not 0 < factor < 1:
        raise ValueError(f"factor must be in (0, 1), got {factor!r}")
    parts = []
    for radius, n in zip((1.0, factor), _class_sizes(n_samples, 2)):
        t = np.linspace(0, 2 * np.pi, n, endpoint=False)
        parts.append(radius * np.column_stack([np.cos(t), np.sin(t)]))
    return _finish(parts, noise, np.random.default_rng(seed), dt)


def make_spirals(n_samples=300, noise=0.05, seed=None, n_classes=2, turns=1.5, *,
                 dtype="float32"):
    """Interleaved spiral arms, one per class.

    Arm ``k`` is the curve ``r * (cos a, sin a)`` with ``a = 2 pi (k / n_classes + turns * r)``
    for radii ``r`` evenly spaced in [0.1, 1].

    Parameters
    ----------
    n_samples : int
        Total number of points, split as evenly as possible between the classes.
    noise : float
        Standard deviation of the Gaussian noise added to each coordinate.
    seed : int or None
        Seed of ``np.random.default_rng``.
    n_classes : int
        Number of arms (classes), at least 2.
    turns : float
        Number of revolutions of each arm between radius 0 and 1.
    dtype : str or numpy dtype
        Floating-point type of ``X``.

    Returns
    -------
    X, y : numpy.ndarray
        ``(n_samples, 2)`` shuffled points and their ``int64`` labels ``0 .. n_classes - 1``.
    """
    dt, noise = _float_dtype(dtype), _check_noise(noise)
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) \
            or n_classes < 2:
        raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}")
    parts = []
    for k, n in enumerate(_class_sizes(n_samples, int(n_classes))):
        r = np.linspace(0.1, 1.0, n)
        angle = 2 * np.pi * (k / n_classes + turns * r)
        parts.append(r[:, None] * np.column_stack([np.cos(angle), np.sin(angle)]))
    return _finish(parts, noise, np.random.default_rng(seed), dt)


def make_xor(n_samples=200, noise=0.1, seed=None, *, dtype="float32"):
    """The XOR problem: points uniform in [-1, 1]^2, labelled by the quadrant.

    Class 0 lies in the quadrants where both coordinates have the same sign, class 1 where
    they differ. Each class is split evenly between its two quadrants.

    Parameters
    ----------
    n_samples : int
        Total number of points, split as evenly as possible between the two classes.
    noise : float
        Standard deviation of the Gaussian noise added to each coordinate.
    seed : int or None
        Seed of ``np.random.default_rng``.
    dtype : str or numpy dtype
        Floating-point type of ``X``.

    Returns
    -------
    X, y : numpy.ndarray
        ``(n_samples, 2)`` shuffled points and their ``int64`` labels 0 and 1.
    """
    dt, noise = _float_dtype(dtype), _check_noise(noise)
    rng = np.random.default_rng(seed)
    quadrants = (((1, 1), (-1, -1)), ((-1, 1), (1, -1)))
    parts = []
    for signs, n in zip(quadrants, _class_sizes(n_samples, 2)):
        halves = [(1.0 - rng.random((m, 2))) * s for s, m in zip(signs, _class_sizes(n, 2))]
        parts.append(np.concatenate(halves))  # magnitudes in (0, 1]: never on an axis
    return _finish(parts, noise, rng, dt)


def make_blobs(n_samples=300, centers=3, cluster_std=1.0, seed=None, *, noise=None,
               n_features=2, center_box=(-10.0, 10.0), dtype="float32"):
    """Isotropic Gaussian clusters, one per class.

    Parameters
    ----------
    n_samples : int
        Total number of points, split as evenly as possible between the clusters.
    centers : int or array-like of shape (n_centers, n_features)
        Number of clusters, with centres drawn uniformly from ``center_box``, or the centres.
    cluster_std : float
        Standard deviation of each cluster along each coordinate.
    seed : int or None
        Seed of ``np.random.default_rng``.
    noise : float or None
        If given, used instead of ``cluster_std`` (the common name of the generators).
    n_features : int
        Dimension of the points when ``centers`` is a number.
    center_box : (float, float)
        Range of the random centres.
    dtype : str or numpy dtype
        Floating-point type of ``X``.

    Returns
    -------
    X, y : numpy.ndarray
        ``(n_samples, n_features)`` shuffled points and their ``int64`` cluster labels.
    """
    dt = _float_dtype(dtype)
    std = _check_noise(cluster_std if noise is None else noise,
                       "cluster_std" if noise is None else "noise")
    rng = np.random.default_rng(seed)
    if np.ndim(centers) == 0:
        if isinstance(centers, bool) or not isinstance(centers, (int, np.integer)) or centers < 1:
            raise ValueError(f"centers must be a positive integer or an array of centres, "
                             f"got {centers!r}")
        centers = rng.uniform(center_box[0], center_box[1], size=(int(centers), n_features))
    centers = np.asarray(centers, dtype=np.float64)
    if centers.ndim != 2 or len(centers) == 0:
        raise ValueError(f"centers must have shape (n_centers, n_features), got {centers.shape}")
    sizes = _class_sizes(n_samples, len(centers))
    parts = [np.repeat(c[None, :], n, axis=0) for c, n in zip(centers, sizes)]
    return _finish(parts, std, rng, dt)


# -- CSV files ------------------------------------------------------------------------------


def _read_csv_rows(path: Path, delimiter: str) -> list[tuple[int, list[str]]]:
    """The non-blank rows of a CSV file, each with its (last) physical line number."""
    rows = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, delimiter=delimiter, strict=True)
            try:
                for cells in reader:
                    if any(cell.strip() for cell in cells):
                        rows.append((reader.line_num, cells))
            except csv.Error as exc:
                raise DatasetError(f"{path}, line {reader.line_num}: {exc}") from None
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file") from None
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path} is not a UTF-8 text file ({exc.reason} at byte "
                           f"{exc.start})") from None
    return rows


def _check_header(path: Path, line: int, header: list[str], target: str) -> int:
    """The index of the target column, after checking the column names."""
    seen = set()
    for j, name in enumerate(header, start=1):
        if not name:
            raise DatasetError(f"{path}, line {line}, column {j}: empty column name")
        if name in seen:
            raise DatasetError(f"{path}, line {line}: duplicate column name {name!r}")
        seen.add(name)
    if target not in seen:
        raise DatasetError(f"{path}: no column named {target!r}; available columns: "
                           f"{', '.join(header)}")
    if len(header) < 2:
        raise DatasetError(f"{path}: no feature columns besides the target {target!r}")
    return header.index(target)


def _bad_cell(path, line, name, cell, what="is not a number"):
    if not cell.strip():
        return DatasetError(f"{path}, line {line}, column {name!r}: empty value")
    return DatasetError(f"{path}, line {line}, column {name!r}: {cell.strip()!r} {what}")


def _parse_features(path, rows, header, columns, dt):
    X = np.empty((len(rows), len(columns)), dtype=np.float64)
    for i, (line, cells) in enumerate(rows):
        try:
            X[i] = [float(cells[j]) for j in columns]
        except ValueError:
            for j in columns:
                try:
                    float(cells[j])
                except ValueError:
                    raise _bad_cell(path, line, header[j], cells[j]) from None
    with np.errstate(over="ignore"):
        X = X.astype(dt)
    bad = np.argwhere(~np.isfinite(X))
    if len(bad):
        i, k = bad[0]
        line, cells = rows[i]
        raise _bad_cell(path, line, header[columns[k]], cells[columns[k]],
                        f"is not a finite {dt} number")
    return X


def _parse_target(path, rows, name, t):
    values = [cells[t].strip() for _, cells in rows]
    for (line, _), value in zip(rows, values):
        if not value:
            raise _bad_cell(path, line, name, value)
    try:
        y = np.array([float(v) for v in values], dtype=np.float64)
    except ValueError:
        return np.array(values, dtype=str)  # class labels, mapped by the caller
    bad = np.flatnonzero(~np.isfinite(y))
    if len(bad):
        raise _bad_cell(path, rows[bad[0]][0], name, values[bad[0]], "is not a finite number")
    return y


def load_csv(path, target, *, delimiter=",", dtype="float32"):
    """Load a table of numeric features and one target column from a CSV file.

    Parameters
    ----------
    path : str or path-like
        A UTF-8 text file whose first non-blank row names the columns. Blank lines are
        skipped.
    target : str
        Name of the target column; every other column is a numeric feature.
    delimiter : str
        Field separator (``"\\t"`` for tab-separated files).
    dtype : str or numpy dtype
        Floating-point type of ``X``.

    Returns
    -------
    X : numpy.ndarray
        ``(n_rows, n_features)`` features.
    y : numpy.ndarray
        ``float64`` if every target value is a number (the caller decides between regression
        and classification), otherwise the values as strings (class labels).
    feature_names : list of str
        The feature columns, in file order.

    Raises
    ------
    DatasetError
        If the file is missing, unreadable, empty or has no data rows; if the target column
        is missing (the message lists the available columns); if a row has more or fewer
        values than the header; or if a feature value is empty, not a number or not finite
        (the message names the line, the column and the value).
    """
    dt = _float_dtype(dtype)
    path = Path(path)
    rows = _read_csv_rows(path, delimiter)
    if not rows:
        raise DatasetError(f"{path} is empty: expected a header row with the column names")
    (header_line, header), rows = rows[0], rows[1:]
    header = [name.strip() for name in header]
    t = _check_header(path, header_line, header, target)
    if not rows:
        raise DatasetError(f"{path} has a header row but no data rows")
    for line, cells in rows:
        if len(cells) != len(header):
            raise DatasetError(f"{path}, line {line}: {len(cells)} values, but the header has "
                               f"{len(header)} columns")
    columns = [j for j in range(len(header)) if j != t]
    X = _parse_features(path, rows, header, columns, dt)
    y = _parse_target(path, rows, target, t)
    return X, y, [header[j] for j in columns]


# -- splitting and scaling ------------------------------------------------------------------


def _n_test(test_size, n: int) -> int:
    if isinstance(test_size, bool):
        raise TypeError(f"test_size must be a fraction or a count, got {test_size!r}")
    if isinstance(test_size, (int, np.integer)):
        n_test = int(test_size)
    elif isinstance(test_size, (float, np.floating)) and 0 < test_size < 1:
        n_test = math.ceil(test_size * n)
    else:
        raise ValueError(f"test_size must be a fraction in (0, 1) or a number of samples, "
                         f"got {test_size!r}")
    if not 1 <= n_test <= n - 1:
        raise ValueError(f"test_size={test_size!r} gives {n_test} test samples out of {n}; the "
                         f"training and the test set each need at least one")
    return n_test


def _stratified_test_indices(labels: np.ndarray, n_test: int, rng) -> np.ndarray:
    """Test indices with each class's share of ``n_test`` (largest remainders rounding)."""
    axis = 0 if labels.ndim > 1 else None  # one-hot rows are classes too
    _, inverse = np.unique(labels, axis=axis, return_inverse=True)
    inverse = inverse.reshape(-1)
    counts = np.bincount(inverse)
    exact = counts * n_test / len(labels)
    alloc = np.floor(exact).astype(np.int64)
    remainder = exact - alloc
    order = np.lexsort((rng.random(len(counts)), -remainder))  # random among ties
    alloc[order[: n_test - alloc.sum()]] += 1
    parts = [rng.permutation(np.flatnonzero(inverse == c))[:k] for c, k in enumerate(alloc)]
    return np.concatenate(parts)


def train_test_split(X, y, test_size=0.25, seed=None, stratify=False):
    """Shuffle and split samples into a training and a test set.

    The inputs are never modified (read-only and memory-mapped arrays work); the outputs are
    new arrays.

    Parameters
    ----------
    X : array-like
        Samples along the first axis.
    y : array-like
        Targets, one per sample (1-D labels, or 2-D rows such as one-hot vectors).
    test_size : float or int
        Fraction of the samples for the test set (rounded up), or their number.
    seed : int or None
        Seed of ``np.random.default_rng``.
    stratify : bool or array-like
        ``True``: keep each class of ``y`` in the same proportion in both sets (up to
        rounding). An array gives the classes to stratify by instead of ``y``.

    Returns
    -------
    X_train, X_test, y_train, y_test : numpy.ndarray
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError("X and y must have one sample per row")
    n = len(X)
    if len(y) != n:
        raise ValueError(f"X has {n} samples but y has {len(y)}")
    n_test = _n_test(test_size, n)
    rng = np.random.default_rng(seed)
    if isinstance(stratify, (bool, np.bool_)) or stratify is None:
        test = _stratified_test_indices(y, n_test, rng) if stratify else \
            rng.permutation(n)[:n_test]
    else:
        labels = np.asarray(stratify)
        if len(labels) != n:
            raise ValueError(f"stratify has {len(labels)} labels but X has {n} samples")
        test = _stratified_test_indices(labels, n_test, rng)
    in_test = np.zeros(n, dtype=bool)
    in_test[test] = True
    train, test = rng.permutation(np.flatnonzero(~in_test)), rng.permutation(test)
    return X[train], X[test], y[train], y[test]


class Standardizer:
    """Scale each feature to mean 0 and standard deviation 1.

    Columns with zero variance (constant up to rounding) get scale 1, so they are only
    centred. The transforms keep a floating-point input's dtype (``float32`` stays
    ``float32``); integer input gives ``float64``.

    Attributes
    ----------
    mean_ : numpy.ndarray
        ``(n_features,)`` ``float64`` column means.
    scale_ : numpy.ndarray
        ``(n_features,)`` ``float64`` column standard deviations (1 where zero).
    n_features_in_ : int
    """

    def __init__(self):
        self.mean_ = None
        self.scale_ = None

    @property
    def n_features_in_(self) -> int:
        self._check_fitted()
        return len(self.mean_)

    def fit(self, X):
        """Compute the column means and standard deviations of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        Standardizer
            ``self``.
        """
        X = self._as_2d(np.asarray(X), "X")
        if len(X) == 0:
            raise ValueError("cannot fit a Standardizer on an empty X")
        if X.dtype.kind not in "biuf":
            raise TypeError(f"X must be numeric, got dtype {X.dtype}")
        if not np.isfinite(X).all():
            raise ValueError("X contains NaN or inf")
        mean = X.mean(axis=0, dtype=np.float64)
        var = X.var(axis=0, dtype=np.float64)
        eps = np.finfo(np.float64).eps
        constant = var <= (len(X) * eps * mean) ** 2  # zero but for rounding in the mean
        self.mean_ = mean
        self.scale_ = np.where(constant, 1.0, np.sqrt(var))
        return self

    def transform(self, X):
        """``(X - mean_) / scale_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        numpy.ndarray
        """
        X, dt = self._prepare(X)
        return (X - self.mean_.astype(dt)) / self.scale_.astype(dt)

    def fit_transform(self, X):
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X)

    def inverse_transform(self, Z):
        """``Z * scale_ + mean_``: undo :meth:`transform`.

        Parameters
        ----------
        Z : array-like of shape (n_samples, n_features)

        Returns
        -------
        numpy.ndarray
        """
        Z, dt = self._prepare(Z, "Z")
        return Z * self.scale_.astype(dt) + self.mean_.astype(dt)

    def get_state(self) -> dict:
        """The fitted parameters as plain lists, ready for ``json.dumps``.

        Returns
        -------
        dict
            ``{"mean": [...], "scale": [...]}``.
        """
        self._check_fitted()
        return {"mean": self.mean_.tolist(), "scale": self.scale_.tolist()}

    @classmethod
    def from_state(cls, state: dict) -> Standardizer:
        """Rebuild a fitted Standardizer from :meth:`get_state`'s dict.

        Parameters
        ----------
        state : dict
            With keys ``"mean"`` and ``"scale"``, equal-length lists of numbers.

        Returns
        -------
        Standardizer
        """
        try:
            mean = np.asarray(state["mean"], dtype=np.float64)
            scale = np.asarray(state["scale"], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a Standardizer state (needs numeric lists 'mean' and "
                             f"'scale'): {exc!r}") from None
        if mean.ndim != 1 or mean.shape != scale.shape:
            raise ValueError(f"Standardizer state: 'mean' and 'scale' must be lists of equal "
                             f"length, got shapes {mean.shape} and {scale.shape}")
        if not (np.isfinite(mean).all() and np.isfinite(scale).all() and (scale > 0).all()):
            raise ValueError("Standardizer state: values must be finite and scales positive")
        new = cls()
        new.mean_, new.scale_ = mean, scale
        return new

    def _check_fitted(self):
        if self.mean_ is None:
            raise RuntimeError("this Standardizer is not fitted yet: call fit(X) first")

    @staticmethod
    def _as_2d(X, name):
        if X.ndim != 2:
            raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {X.shape}")
        return X

    def _prepare(self, X, name="X"):
        self._check_fitted()
        X = self._as_2d(np.asarray(X), name)
        if X.shape[1] != len(self.mean_):
            raise ValueError(f"{name} has {X.shape[1]} features, but the Standardizer was "
                             f"fitted on {len(self.mean_)}")
        if X.dtype.kind not in "biuf":
            raise TypeError(f"{name} must be numeric, got dtype {X.dtype}")
        dt = X.dtype if X.dtype.kind == "f" else np.dtype(np.float64)
        return X, dt


# -- registry -------------------------------------------------------------------------------

DATASETS = {
    "digits": load_digits,
    "iris": load_iris,
    "wine": load_wine,
    "breast_cancer": load_breast_cancer,
    "moons": make_moons,
    "circles": make_circles,
    "spirals": make_spirals,
    "xor": make_xor,
    "blobs": make_blobs,
    "mnist": load_mnist,
    "fashion-mnist": load_fashion_mnist,
}

_NEEDS_DATA_DIR = ("mnist", "fashion-mnist")
#: The data sets drawn at random (they take ``seed``, ``n_samples`` and ``noise``).
GENERATED = ("moons", "circles", "spirals", "xor", "blobs")


def _dataset_key(name) -> str:
    if isinstance(name, str):
        key = name.strip().lower()
        for candidate in (key, key.replace("_", "-"), key.replace("-", "_")):
            if candidate in DATASETS:
                return candidate
    raise DatasetError(f"unknown dataset {name!r}; valid names: {', '.join(DATASETS)}")


def load_dataset(name, data_dir=None, **kw):
    """Load a data set by name.

    Parameters
    ----------
    name : str
        A key of :data:`DATASETS` (``"fashion_mnist"`` and ``"breast-cancer"`` are accepted
        too).
    data_dir : str or path-like, optional
        Required for ``"mnist"`` and ``"fashion-mnist"``: the directory with their IDX files.
        Ignored by the other data sets.
    **kw
        Passed to the loader, e.g. ``split="test"`` for the IDX sets (default ``"train"``), or
        ``n_samples``, ``noise`` and ``seed`` for the generated ones.

    Returns
    -------
    X, y : numpy.ndarray

    Raises
    ------
    DatasetError
        If the name is unknown (the message lists the valid ones), or ``data_dir`` is missing
        for an IDX data set.
    """
    key = _dataset_key(name)
    loader = DATASETS[key]
    if key in _NEEDS_DATA_DIR:
        if data_dir is None:
            images, labels = _idx_names(kw.get("split", "train"))
            raise DatasetError(f"dataset {key!r} needs data_dir: a directory holding "
                               f"{images}[.gz] and {labels}[.gz]")
        return loader(data_dir, **kw)
    return loader(**kw)
