"""Feature scaling: the :class:`Standardizer` (mean 0, standard deviation 1 per column)."""

from __future__ import annotations

import numpy as np


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
