"""Four small real data sets, shipped with deltaprop (digits, iris, wine, breast cancer).

The arrays are scikit-learn's copies of the UCI data sets, stored in
``datasets/data/small_sets.npz`` (128 kB; see ``datasets/data/README.md`` for the sources
and licences), so that they load with NumPy alone: a core install (``pip install
deltaprop``) trains on them. The values are exactly scikit-learn's.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np

from .base import float_dtype

SMALL_SETS = ("digits", "iris", "wine", "breast_cancer")


@lru_cache(maxsize=None)
def _arrays(name: str) -> dict:
    with resources.files(__package__).joinpath("data/small_sets.npz").open("rb") as f:
        with np.load(f, allow_pickle=False) as archive:
            return {key.split("/", 1)[1]: archive[key] for key in archive.files
                    if key.startswith(name + "/")}


def _load(name: str, dtype):
    dt = float_dtype(dtype)
    a = _arrays(name)
    return a["X"].astype(dt), a["y"].astype(np.int64)


def dataset_info(name: str) -> dict:
    """``{"feature_names": [...], "target_names": [...]}`` of a shipped data set: the
    column names and the names of classes ``0, 1, ...`` (iris: ``setosa``, ...)."""
    if name not in SMALL_SETS:
        raise KeyError(f"{name!r} is not one of the shipped data sets {', '.join(SMALL_SETS)}")
    a = _arrays(name)
    return {"feature_names": [str(s) for s in a["feature_names"]],
            "target_names": [str(s) for s in a["target_names"]]}


def load_digits(dtype="float32"):
    """The UCI optical digits as scikit-learn ships them: 1,797 samples of 8x8 pixels
    (64 features, 0-16), 10 classes.

    Parameters
    ----------
    dtype : str or numpy dtype
        Floating-point type of ``X``.

    Returns
    -------
    X, y : numpy.ndarray
    """
    return _load("digits", dtype)


def load_iris(dtype="float32"):
    """Fisher's iris flowers: 150 samples, 4 features, 3 classes (setosa, versicolor,
    virginica: :func:`dataset_info`).

    Parameters
    ----------
    dtype : str or numpy dtype
        Floating-point type of ``X``.

    Returns
    -------
    X, y : numpy.ndarray
    """
    return _load("iris", dtype)


def load_wine(dtype="float32"):
    """UCI wine recognition: 178 samples, 13 features, 3 classes.

    Parameters
    ----------
    dtype : str or numpy dtype
        Floating-point type of ``X``.

    Returns
    -------
    X, y : numpy.ndarray
    """
    return _load("wine", dtype)


def load_breast_cancer(dtype="float32"):
    """Wisconsin diagnostic breast cancer: 569 samples, 30 features, 2 classes (malignant,
    benign).

    Parameters
    ----------
    dtype : str or numpy dtype
        Floating-point type of ``X``.

    Returns
    -------
    X, y : numpy.ndarray
    """
    return _load("breast_cancer", dtype)
