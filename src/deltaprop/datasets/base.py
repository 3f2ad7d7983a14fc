"""What the data set modules share: the error a bad request raises, the wording of a file
that cannot be read, and the dtype check."""

from __future__ import annotations

import re
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


#: Cells read as a missing value (compared in lower case, stripped): pandas' default NA
#: markers that are not numbers.
MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "#n/a", "<na>"})

#: A number as a CSV cell writes it: no ``1_000``, no ``inf``, no hexadecimal.
NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def is_missing(cell) -> bool:
    """Whether a cell means a missing value (:data:`MISSING`)."""
    return cell is None or cell.strip().lower() in MISSING


def is_number(cell: str) -> bool:
    """Whether a cell is a plain decimal number (``1``, ``-2.5``, ``3e-4``; not ``1_000``,
    ``inf`` or ``0x1f``)."""
    return NUMBER.fullmatch(cell.strip()) is not None


# The column-wise forms of the two tests: ``map`` over C methods, so that no Python code
# runs for each cell of a million-row column.

def missing_mask(cells) -> np.ndarray:
    """:func:`is_missing` of each cell (strings) of a sequence, as a boolean array."""
    cells = list(cells)
    lowered = map(str.lower, map(str.strip, cells))
    return np.fromiter(map(MISSING.__contains__, lowered), dtype=bool, count=len(cells))


def all_numbers(cells) -> bool:
    """Whether :func:`is_number` holds for every cell (strings) of a sequence."""
    return all(map(NUMBER.fullmatch, map(str.strip, cells)))


