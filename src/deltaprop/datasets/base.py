"""What the data set modules share: the error a bad request raises, the wording of a file
that cannot be read, and the dtype check."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np


class DatasetError(ValueError):
    """A data file or data set request that cannot be served: missing, malformed or unknown."""


def float_dtype(dtype) -> np.dtype:
    """``dtype`` as a floating-point ``np.dtype``, or ``ValueError``."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.kind != "f":
        raise ValueError(f"dtype must be a floating-point type such as 'float32' or 'float64', "
                         f"got {dtype!r}")
    return dt


@contextmanager
def reading(path):
    """Turn the ``OSError`` of reading ``path`` in the ``with`` block into a :class:`DatasetError`.

    Parameters
    ----------
    path : path-like
        The file being read, named in the message.
    """
    try:
        yield
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file") from None
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror or exc}") from None
