"""What every data set module shares: the error a bad request raises and the dtype check."""

from __future__ import annotations

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
