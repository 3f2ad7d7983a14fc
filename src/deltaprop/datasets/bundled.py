"""The small real data sets bundled with scikit-learn (digits, iris, wine, breast cancer).

scikit-learn is imported lazily, by the loaders (``pip install 'deltaprop[sklearn]'``).
"""

from __future__ import annotations

import numpy as np

from .base import float_dtype


def _load_sklearn(name: str, dtype):
    dt = float_dtype(dtype)
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
