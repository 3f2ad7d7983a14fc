"""CSV files: the one CSV reader of the package (:func:`read_csv_rows`) and the loaders of
numeric tables with a target column (:func:`load_csv`) or without (:func:`load_features_csv`)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from .base import DatasetError, float_dtype, reading


def read_csv_rows(path, delimiter=",") -> list[tuple[int, list[str]]]:
    """The non-blank rows of a CSV file, each with its (last) physical line number.

    Every CSV file of the package is read here: the loaders below, and the CLI's target
    files.

    Parameters
    ----------
    path : str or path-like
        A UTF-8 text file (a leading byte order mark is skipped).
    delimiter : str
        Field separator.

    Returns
    -------
    list of (int, list of str)
        ``(line, cells)`` for each row with a non-blank cell; cells are not stripped.

    Raises
    ------
    DatasetError
        If the file is missing, unreadable, not UTF-8 or badly quoted (the message names
        the line).
    """
    rows = []
    try:
        with reading(path), open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, delimiter=delimiter, strict=True)
            try:
                for cells in reader:
                    if any(cell.strip() for cell in cells):
                        rows.append((reader.line_num, cells))
            except csv.Error as exc:
                raise DatasetError(f"{path}, line {reader.line_num}: {exc}") from None
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


def _check_widths(path, rows, width: int, reference: str):
    """Every row has ``width`` values, as ``reference`` ("the header", "line 1") has."""
    for line, cells in rows:
        if len(cells) != width:
            raise DatasetError(f"{path}, line {line}: {len(cells)} values, but {reference} has "
                               f"{width} columns")


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _bad_cell(path, line, name, cell, what="is not a number"):
    if not cell.strip():
        return DatasetError(f"{path}, line {line}, column {name!r}: empty value")
    return DatasetError(f"{path}, line {line}, column {name!r}: {cell.strip()!r} {what}")


def _parse_features(path, rows, header, columns, dt):
    """The ``columns`` of ``rows`` as a ``dt`` array; ``header`` names the columns in the
    messages (column numbers, 1-based, for a file without a header)."""
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
    dt = float_dtype(dtype)
    path = Path(path)
    rows = read_csv_rows(path, delimiter)
    if not rows:
        raise DatasetError(f"{path} is empty: expected a header row with the column names")
    (header_line, header), rows = rows[0], rows[1:]
    header = [name.strip() for name in header]
    t = _check_header(path, header_line, header, target)
    if not rows:
        raise DatasetError(f"{path} has a header row but no data rows")
    _check_widths(path, rows, len(header), "the header")
    columns = [j for j in range(len(header)) if j != t]
    X = _parse_features(path, rows, header, columns, dt)
    y = _parse_target(path, rows, target, t)
    return X, y, [header[j] for j in columns]


def load_features_csv(path, *, delimiter=",", dtype="float32"):
    """Load a table of numeric features, without a target, from a CSV file.

    What ``deltaprop predict`` and ``deltaprop explain`` read: one sample a row.

    Parameters
    ----------
    path : str or path-like
        A UTF-8 text file. Its first non-blank row is a header (column names, which are not
        used) when none of its cells is a number, and the first sample otherwise. Blank
        lines are skipped.
    delimiter, dtype
        As for :func:`load_csv`.

    Returns
    -------
    X : numpy.ndarray
        ``(n_rows, n_columns)`` features; the caller checks ``n_columns`` against what it
        expects.

    Raises
    ------
    DatasetError
        If the file is missing, unreadable, empty or has a header but no data rows; if a row
        has more or fewer values than the header (or than the first row, in a file without
        a header); or if a value is empty, not a number or not finite (the message names the
        line, the column and the value).
    """
    dt = float_dtype(dtype)
    path = Path(path)
    rows = read_csv_rows(path, delimiter)
    if not rows:
        raise DatasetError(f"{path} is empty: expected rows of numbers, after an optional "
                           f"header row")
    first_line, first = rows[0]
    if any(_is_number(cell) for cell in first):
        header = list(range(1, len(first) + 1))  # no header: columns named by number
        _check_widths(path, rows, len(header), f"line {first_line}")
    else:
        header, rows = [name.strip() for name in first], rows[1:]
        if not rows:
            raise DatasetError(f"{path} has a header row but no data rows")
        _check_widths(path, rows, len(header), "the header")
    return _parse_features(path, rows, header, range(len(header)), dt)
