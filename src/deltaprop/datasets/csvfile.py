"""CSV files: the one CSV reader of the package (:func:`read_csv_rows`) and the loaders of
numeric tables with a target column (:func:`load_csv`) or without (:func:`load_features_csv`)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from .base import DatasetError, float_dtype, reading

#: Cells read as a missing value (compared in lower case, stripped): pandas' default NA
#: markers that are not numbers.
MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "#n/a", "<na>"})

#: The separators :func:`detect_delimiter` chooses from.
DELIMITERS = ",;\t|"


def detect_delimiter(path, sample_bytes=65536) -> str:
    """The field separator of a CSV file: a tab for ``.tsv``, else the one of
    :data:`DELIMITERS` that :class:`csv.Sniffer` finds in the first lines (a comma when
    the file has a single column or the sniffer cannot tell)."""
    path = Path(path)
    if path.suffix.lower() == ".tsv":
        return "\t"
    try:
        with reading(path), open(path, newline="", encoding="utf-8-sig") as f:
            sample = f.read(sample_bytes)
    except UnicodeDecodeError:
        return ","  # read_csv_rows reports it
    lines = [line for line in sample.splitlines() if line.strip()][:20]
    if len(lines) > 1 and not sample.endswith(("\n", "\r")) and len(sample) == sample_bytes:
        lines = lines[:-1]  # a line cut by the sample's end
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","


def _is_missing(cell: str) -> bool:
    return cell.strip().lower() in MISSING


def _drop_missing(path, rows, columns, on_drop):
    """``rows`` without those with a missing value in ``columns``; ``on_drop`` is told the
    line numbers of the rows dropped."""
    kept, dropped = [], []
    for line, cells in rows:
        (dropped if any(_is_missing(cells[j]) for j in columns) else kept).append((line, cells))
    if not kept:
        raise DatasetError(f"{path}: every data row has a missing value")
    if dropped and on_drop is not None:
        on_drop([line for line, _ in dropped])
    return kept


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
    if _is_missing(cell):
        shown = "empty value" if not cell.strip() else f"missing value {cell.strip()!r}"
        return DatasetError(f"{path}, line {line}, column {name!r}: {shown} (drop the rows with "
                            f"missing values explicitly: missing='drop', or --missing drop)")
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
        if _is_missing(value):
            raise _bad_cell(path, line, name, value)
    numbers = [_is_number(v) for v in values]
    if not all(numbers):
        if any(numbers):  # a number among text labels, or text among numbers: no guess
            i, k = numbers.index(True), numbers.index(False)
            raise DatasetError(
                f"{path}: column {name!r} mixes numbers ({values[i]!r}, line {rows[i][0]}) "
                f"and text ({values[k]!r}, line {rows[k][0]}); make it all numbers or all "
                f"text labels")
        return np.array(values, dtype=str)  # class labels, mapped by the caller
    y = np.array([float(v) for v in values], dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(y))
    if len(bad):
        raise _bad_cell(path, rows[bad[0]][0], name, values[bad[0]], "is not a finite number")
    return y


def load_csv(path, target, *, delimiter=None, dtype="float32", missing="error", on_drop=None):
    """Load a table of numeric features and one target column from a CSV file.

    Parameters
    ----------
    path : str or path-like
        A UTF-8 text file whose first non-blank row names the columns. Blank lines are
        skipped.
    target : str
        Name of the target column; every other column is a numeric feature.
    delimiter : str or None
        Field separator (``"\\t"`` for tab-separated files); None detects it
        (:func:`detect_delimiter`).
    dtype : str or numpy dtype
        Floating-point type of ``X``.
    missing : {"error", "drop"}
        What a missing value (an empty cell, ``NA``, ``NaN``, ``null``, ``?``...: see
        :data:`MISSING`) does: an error naming its line and column, or the row is dropped.
    on_drop : callable, optional
        With ``missing="drop"``, called with the list of the line numbers dropped.

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
    _check_missing_option(missing)
    rows = read_csv_rows(path, detect_delimiter(path) if delimiter is None else delimiter)
    if not rows:
        raise DatasetError(f"{path} is empty: expected a header row with the column names")
    (header_line, header), rows = rows[0], rows[1:]
    header = [name.strip() for name in header]
    t = _check_header(path, header_line, header, target)
    if not rows:
        raise DatasetError(f"{path} has a header row but no data rows")
    _check_widths(path, rows, len(header), "the header")
    if missing == "drop":
        rows = _drop_missing(path, rows, range(len(header)), on_drop)
    columns = [j for j in range(len(header)) if j != t]
    X = _parse_features(path, rows, header, columns, dt)
    y = _parse_target(path, rows, target, t)
    return X, y, [header[j] for j in columns]


def _check_missing_option(missing):
    if missing not in ("error", "drop"):
        raise ValueError(f"missing must be 'error' or 'drop', got {missing!r}")


def read_table(path, *, delimiter=None, missing="error", on_drop=None):
    """``(header, rows)`` of a CSV file whose first row may be a header: ``header`` the
    stripped column names (None when the first row holds a number: no header), ``rows``
    the ``(line, cells)`` of the data, each as wide as the first row."""
    path = Path(path)
    _check_missing_option(missing)
    rows = read_csv_rows(path, detect_delimiter(path) if delimiter is None else delimiter)
    if not rows:
        raise DatasetError(f"{path} is empty: expected rows of numbers, after an optional "
                           f"header row")
    first_line, first = rows[0]
    if any(_is_number(cell) for cell in first):
        header = None
        _check_widths(path, rows, len(first), f"line {first_line}")
    else:
        header, rows = [name.strip() for name in first], rows[1:]
        if not rows:
            raise DatasetError(f"{path} has a header row but no data rows")
        _check_widths(path, rows, len(header), "the header")
    if missing == "drop":
        rows = _drop_missing(path, rows, range(len(rows[0][1])), on_drop)
    return header, rows


def parse_columns(path, header, rows, columns, dtype="float32"):
    """The ``columns`` (indices) of :func:`read_table`'s ``rows`` as a float array; the
    messages name a bad cell's line and column."""
    names = header if header is not None else list(range(1, len(rows[0][1]) + 1))
    return _parse_features(Path(path), rows, names, list(columns), float_dtype(dtype))


def load_features_csv(path, *, delimiter=None, dtype="float32", missing="error", on_drop=None):
    """Load a table of numeric features, without a target, from a CSV file.

    What ``deltaprop predict`` and ``deltaprop explain`` read: one sample a row.

    Parameters
    ----------
    path : str or path-like
        A UTF-8 text file. Its first non-blank row is a header (column names, which are not
        used) when none of its cells is a number, and the first sample otherwise. Blank
        lines are skipped.
    delimiter, dtype, missing, on_drop
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
    header, rows = read_table(path, delimiter=delimiter, missing=missing, on_drop=on_drop)
    return parse_columns(path, header, rows, range(len(rows[0][1])), dtype)
