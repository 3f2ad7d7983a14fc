"""The typed table: columns as read from a CSV file (or taken from a pandas DataFrame, a
dict of columns or an array), each numeric or text, with the line each row came from.

A column's *kind* is what :class:`~deltaprop.datasets.encoding.TableEncoder` makes of it:
``numeric`` (every value a number), ``boolean`` (two values: yes/no, true/false, 0/1...)
or ``categorical`` (text). Missing values are ``NaN`` in a numeric column and ``None`` in a
text column.
"""

from __future__ import annotations

import hashlib
import itertools
import operator

import numpy as np

from .base import DatasetError, all_numbers, is_missing, is_number

#: Kinds of column, in the words the command line prints.
KINDS = ("numeric", "boolean", "categorical")


def canonical_number(value: float) -> str:
    """A number as a category's name: ``1.0`` and ``1`` are both ``"1"``."""
    return np.format_float_positional(float(value), trim="-")


def factorize(values) -> tuple[list, np.ndarray]:
    """The distinct values of a sequence (in order of first appearance) and each item's
    index among them, so that ``values[i] == uniques[codes[i]]``.

    The values are hashed at C speed (``dict``, ``map``): the Python work is per distinct
    value, as it is in what a caller then does with ``uniques`` before indexing by ``codes``.
    """
    values = values.tolist() if isinstance(values, np.ndarray) else list(values)
    index = dict(zip(dict.fromkeys(values), itertools.count()))
    codes = np.fromiter(map(index.__getitem__, values), dtype=np.intp, count=len(values))
    return list(index), codes


def none_mask(values) -> np.ndarray:
    """Where a sequence's items are ``None`` (a text column's missing values)."""
    values = values.tolist() if isinstance(values, np.ndarray) else list(values)
    return np.fromiter(map(operator.is_, values, itertools.repeat(None)), dtype=bool,
                       count=len(values))


def parse_numbers(cells, missing) -> np.ndarray:
    """``float(cell)`` of each cell, ``NaN`` where ``missing`` (each cell a number: the
    caller has checked)."""
    out = np.full(len(missing), np.nan)
    present = list(itertools.compress(cells, ~missing)) if missing.any() else list(cells)
    out[~missing] = np.fromiter(map(float, present), dtype=np.float64, count=len(present))
    return out


def infer_kind(values: np.ndarray) -> str:
    """The kind of a column: numeric, boolean (exactly two distinct values; 0 and 1 for
    numbers) or categorical."""
    if values.dtype.kind == "f":
        present = np.unique(values[~np.isnan(values)])
        return "boolean" if len(present) == 2 and set(present.tolist()) == {0.0, 1.0} \
            else "numeric"
    levels = set(values.tolist())
    levels.discard(None)
    return "boolean" if len(levels) == 2 else "categorical"


class Table:
    """Named columns of equal length, each a ``float64`` array (numbers, ``NaN`` where
    missing) or an ``object`` array of ``str`` (``None`` where missing).

    Parameters
    ----------
    columns : dict of str to numpy.ndarray
        The columns, in order.
    lines : numpy.ndarray, optional
        The line of the file each row came from (named in messages); default: the row
        numbers, from 1.
    source : str
        What messages call the table (the file's name).
    row_names : str or None
        The column that holds the rows' names (never a feature).
    """

    def __init__(self, columns, *, lines=None, source="the table", row_names=None):
        self._columns = dict(columns)
        self.row_names = row_names
        #: False when the column names were made up (a file read without a header row).
        self.has_header = True
        lengths = {len(v) for v in self._columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"the columns of a Table must have one length, got {sorted(lengths)}")
        n = lengths.pop() if lengths else 0
        self.lines = np.arange(1, n + 1) if lines is None else np.asarray(lines)
        self.source = source
        self._by_line = lines is not None

    # -- building ------------------------------------------------------------------------
    @classmethod
    def from_cells(cls, cells, *, lines=None, source="the table", row_names=None):
        """A table from ``{name: [cell or None, ...]}``: a column whose every non-missing
        cell is a plain number (:func:`~deltaprop.datasets.csvfile.is_number`) is numeric,
        any other is text."""
        columns = {}
        for name, values in cells.items():
            values = list(values)
            missing = none_mask(values)
            present = itertools.compress(values, ~missing)
            if not missing.all() and all_numbers(present):
                columns[name] = parse_numbers(values, missing)
            else:
                column = np.empty(len(values), dtype=object)
                column[:] = values
                columns[name] = column
        return cls(columns, lines=lines, source=source, row_names=row_names)

    @classmethod
    def coerce(cls, X, names=None):
        """``X`` as a :class:`Table`: a Table (as it is), a pandas DataFrame (numeric and
        boolean columns as numbers, the others as text; NaN, None and pd.NA are missing),
        a dict of columns, or a 2-D array (columns ``x0``, ``x1``... unless ``names``)."""
        if isinstance(X, Table):
            return X
        if hasattr(X, "columns") and hasattr(X, "dtypes"):  # a pandas DataFrame
            return cls({str(name): _column(X[name].to_numpy(dtype=object),
                                           X[name].dtype.kind in "biuf")
                        for name in X.columns})
        if isinstance(X, dict):
            return cls({str(k): _column(np.asarray(v, dtype=object),
                                        np.asarray(v).dtype.kind in "biuf")
                        for k, v in X.items()})
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"expected a 2-D table (rows of columns), got shape {X.shape}")
        if names is None:
            names = [f"x{j}" for j in range(X.shape[1])]
        return cls({str(n): _column(X[:, j].astype(object), X.dtype.kind in "biuf")
                    for j, n in enumerate(names)})

    # -- reading -------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        """The column names, in order."""
        return list(self._columns)

    @property
    def kinds(self) -> dict[str, str]:
        """Each column's kind as read: numeric, boolean or categorical (:func:`infer_kind`)."""
        return {name: infer_kind(v) for name, v in self._columns.items()}

    def __len__(self) -> int:
        return len(self.lines)

    def __contains__(self, name) -> bool:
        return name in self._columns

    def __getitem__(self, name) -> np.ndarray:
        return self._columns[name]

    def __repr__(self) -> str:
        return f"Table({len(self)} rows, columns {self.names})"

    def where(self, row: int) -> str:
        """``"FILE, line N"`` (or ``"row N"``) of row ``row`` (0-based), for messages."""
        return f"{self.source}, line {self.lines[row]}" if self._by_line else \
            f"{self.source}, row {self.lines[row]}"

    def missing(self, name) -> np.ndarray:
        """Where column ``name`` is missing (a boolean mask)."""
        v = self._columns[name]
        return np.isnan(v) if v.dtype.kind == "f" else none_mask(v)

    def is_numeric(self, name) -> bool:
        return self._columns[name].dtype.kind == "f"

    def take(self, rows) -> Table:
        """The rows ``rows`` (indices or a mask), as a new table."""
        return self._like({k: v[rows] for k, v in self._columns.items()}, self.lines[rows])

    def select(self, names) -> Table:
        """The columns ``names``, in that order."""
        return self._like({n: self._columns[n] for n in names}, self.lines)

    def _like(self, columns, lines):
        table = Table(columns, lines=lines, source=self.source,
                      row_names=self.row_names if self.row_names in columns else None)
        table._by_line, table.has_header = self._by_line, self.has_header
        return table

    def text(self, name) -> np.ndarray:
        """Column ``name`` as ``object`` strings (numbers as :func:`canonical_number`),
        ``None`` where missing."""
        v = self._columns[name]
        if v.dtype.kind != "f":
            return v
        # each distinct bit pattern written once (-0.0 is "-0", 0.0 is "0"), then indexed
        bits, codes = np.unique(np.ascontiguousarray(v).view(np.uint64), return_inverse=True)
        words = np.empty(len(bits), dtype=object)
        words[:] = [None if np.isnan(x) else canonical_number(x)
                    for x in bits.view(np.float64).tolist()]
        return words[codes.reshape(-1)]

    def numbers(self, names, dtype=np.float64, *, allow_missing=False) -> np.ndarray:
        """The columns ``names`` as a ``(rows, len(names))`` float array.

        Raises
        ------
        DatasetError
            Naming the line, the column and the cell, if one is not a number, is not finite
            in ``dtype``, or is missing (unless ``allow_missing``: then it is ``NaN``).
        """
        X = np.empty((len(self), len(names)), dtype=np.float64)
        for j, name in enumerate(names):
            v = self._columns[name]
            if v.dtype.kind != "f":
                missing = none_mask(v)
                if not all_numbers(itertools.compress(v.tolist(), ~missing)):
                    for i, cell in enumerate(v.tolist()):
                        if cell is not None and not is_number(cell):
                            raise DatasetError(f"{self.where(i)}, column {name!r}: {cell!r} "
                                               f"is not a number")
                v = parse_numbers(v.tolist(), missing)
            X[:, j] = v
            if not allow_missing and np.isnan(v).any():
                i = int(np.flatnonzero(np.isnan(v))[0])
                raise DatasetError(f"{self.where(i)}, column {name!r}: missing value")
        with np.errstate(over="ignore"):
            out = X.astype(dtype)
        bad = np.argwhere(np.isinf(out))
        if len(bad):
            i, j = bad[0]
            raise DatasetError(f"{self.where(i)}, column {names[j]!r}: {float(X[i, j]):g} is "
                               f"not a finite {np.dtype(dtype)} number")
        return out

    def fingerprint(self) -> str:
        """SHA-256 of the columns taken in name order (so the same data with its columns
        in another order has the same fingerprint), the rows in file order."""
        h = hashlib.sha256()
        for name in sorted(self._columns):
            h.update(name.encode() + b"\x1e")
            v = self._columns[name]
            if v.dtype.kind == "f":
                h.update(b"f" + np.ascontiguousarray(v).tobytes())
            else:
                cells = v.copy()  # (not np.where: NumPy's str_ drops a trailing NUL)
                cells[none_mask(v)] = "\x00"
                h.update(b"t" + "\x1f".join(cells.tolist()).encode())
        return h.hexdigest()

    def to_pandas(self):
        """The table as a pandas DataFrame (needs pandas)."""
        import pandas as pd

        return pd.DataFrame(self._columns)


def _column(values: np.ndarray, numeric: bool) -> np.ndarray:
    """One column from objects: floats (NaN where missing) when ``numeric``, else
    stripped strings (None where missing)."""
    if numeric:
        return np.array([np.nan if _absent(v) else float(v) for v in values.tolist()],
                        dtype=np.float64)
    out = np.empty(len(values), dtype=object)
    out[:] = [None if _absent(v) or is_missing(str(v)) else str(v).strip()
              for v in values.tolist()]
    if all(v is None or is_number(v) for v in out.tolist()) and any(
            v is not None for v in out.tolist()):
        return np.array([np.nan if v is None else float(v) for v in out.tolist()])
    return out


def _absent(v) -> bool:
    if v is None:
        return True
    try:
        return bool(v != v)  # NaN, pd.NA (whose comparison raises: missing too)
    except (TypeError, ValueError):
        return True
