"""Splitting samples into a training and a test set, stratified or not."""

from __future__ import annotations

import math

import numpy as np


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


def split_indices(y, test_size=0.25, seed=None, stratify=False):
    """``(train, test)``: the row indices of :func:`train_test_split`'s two sets, in their
    order (the same ``y``, ``test_size``, ``seed`` and ``stratify`` give the same split)."""
    y = np.asarray(y)
    if y.ndim == 0:
        raise ValueError("y must have one sample per row")
    n = len(y)
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
    return rng.permutation(np.flatnonzero(~in_test)), rng.permutation(test)


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
    train, test = split_indices(y, test_size, seed, stratify)
    return X[train], X[test], y[train], y[test]
