"""Generated 2-D classification problems, drawn with a seed: moons, circles, spirals, xor
and blobs."""

from __future__ import annotations

import math

import numpy as np

from .base import float_dtype


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
    dt, noise = float_dtype(dtype), _check_noise(noise)
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
    dt, noise = float_dtype(dtype), _check_noise(noise)
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
    dt, noise = float_dtype(dtype), _check_noise(noise)
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
    dt, noise = float_dtype(dtype), _check_noise(noise)
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
    dt = float_dtype(dtype)
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
