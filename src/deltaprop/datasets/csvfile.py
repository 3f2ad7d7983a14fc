"""CSV files: the one CSV reader of the package.

:func:`read_csv_rows` reads a file, ``-`` (standard input), a pipe or a FIFO in **one
streaming pass** with Python's :mod:`csv` module: the delimiter is sniffed from the first
lines as they are read (nothing is opened twice), every physical line is bounded
(:data:`MAX_LINE` characters) before it is held in memory, and every error names the line.
:func:`load_csv` turns the rows into a typed :class:`~deltaprop.datasets.table.Table`: the
first row is the header, always (as in pandas and R's ``read.csv``), unless
``header=False``.
"""

from __future__ import annotations

import csv
import gc
import io
import itertools
import operator
import os
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .base import DatasetError, float_dtype, missing_mask, reading

#: The separators the sniffer chooses from.
DELIMITERS = ",;\t|"

#: The longest physical line (and field) read, in characters: a longer one is an error
#: naming its line, before more of it is held in memory.
MAX_LINE = 1 << 20

#: How much of the input the delimiter is sniffed from (lines read once, then parsed).
SNIFF_CHARS = 65536

def source_name(path) -> str:
    """How messages name an input: ``standard input`` for ``-``, else the path."""
    return "standard input" if str(path) == "-" else str(path)


@contextmanager
def _no_cycle_collection():
    """Pause Python's cycle collector: reading makes a list a row and no cycle, and the
    collector would otherwise walk every row read so far, again and again (a third of the
    time of a million-row file)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def _open_text(path):
    """A text stream of ``path`` (``-``: standard input), UTF-8 with an optional byte order
    mark, newlines kept for :mod:`csv`."""
    if str(path) == "-":
        stream = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="")
        try:
            yield stream
        finally:
            stream.detach()  # the process's stdin stays open
        return
    if Path(path).is_dir():
        raise DatasetError(f"{path} is a directory, not a CSV file")
    with reading(path), open(path, newline="", encoding="utf-8-sig") as f:
        yield f


def _bounded_lines(f, name, limit):
    """The physical lines of ``f``, none longer than ``limit`` characters."""
    for number in itertools.count(1):
        line = f.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(("\n", "\r")):
            raise DatasetError(f"{name}, line {number}: longer than {limit:,} characters "
                               f"(not a CSV file of rows? the limit is "
                               f"deltaprop.datasets.csvfile.MAX_LINE)")
        yield line


def _sniff(lines, path) -> str:
    if Path(str(path)).suffix.lower() == ".tsv":
        return "\t"
    sample = [line for line in lines if line.strip()][:20]
    try:
        return csv.Sniffer().sniff("".join(sample), delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","


def iter_csv_rows(f, name, delimiter=None, limit=MAX_LINE, path=""):
    """``(line, cells)`` of each non-blank row of the open text stream ``f``, in one pass;
    ``delimiter`` None sniffs it from the first :data:`SNIFF_CHARS` characters."""
    lines = _bounded_lines(f, name, limit)
    if delimiter is None:  # sniffed from whole lines read once, then parsed with the rest
        head, size = [], 0
        for line in lines:
            head.append(line)
            size += len(line)
            if size >= SNIFF_CHARS:
                break
        delimiter = _sniff(head, path or name)
        lines = itertools.chain(head, lines)
    old = csv.field_size_limit()
    csv.field_size_limit(limit)
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    try:
        for cells in reader:
            if "".join(cells).strip():  # a cell that is not blank
                yield reader.line_num, cells
    except csv.Error as exc:
        raise DatasetError(f"{name}, line {reader.line_num}: {exc}") from None
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{name} is not a UTF-8 text file ({exc.reason} at byte "
                           f"{exc.start} of a block, after line {reader.line_num})") from None
    finally:
        csv.field_size_limit(old)


def read_csv_rows(path, delimiter=None, limit=MAX_LINE) -> list[tuple[int, list[str]]]:
    """The non-blank rows of a CSV file, each with its (last) physical line number.

    Every CSV input of the package is read here, once, as a stream: a file, ``-`` for
    standard input, a pipe or a FIFO.

    Parameters
    ----------
    path : str or path-like
        A UTF-8 text file (a leading byte order mark is skipped), or ``-``.
    delimiter : str or None
        Field separator; None sniffs it from the first lines (a tab for ``.tsv``).
    limit : int
        The longest physical line and field, in characters.

    Returns
    -------
    list of (int, list of str)
        ``(line, cells)`` for each row with a non-blank cell; cells are not stripped.

    Raises
    ------
    DatasetError
        If the input is missing, unreadable, not UTF-8, badly quoted or has a line over
        ``limit`` (the message names the line).
    """
    name = source_name(path)
    with _open_text(path) as f, _no_cycle_collection():
        try:
            return list(iter_csv_rows(f, name, delimiter, limit, path=path))
        except UnicodeDecodeError as exc:
            raise DatasetError(f"{name} is not a UTF-8 text file ({exc.reason})") from None
        except OSError as exc:
            raise DatasetError(f"cannot read {name}: {exc.strerror or exc}") from None


#: The name given to a first column whose header cell is empty: the rows' names, as R's
#: ``write.csv`` and pandas' ``to_csv`` write them.
ROW_NAMES = "(row names)"


def _header(name, line, cells):
    header = [cell.strip() for cell in cells]
    if len(header) > 1 and not header[0]:
        header[0] = ROW_NAMES  # R's read.csv takes such a column as the row names
    seen = set()
    for j, column in enumerate(header, start=1):
        if not column:
            raise DatasetError(f"{name}, line {line}, column {j}: empty column name (give "
                               f"every column a name, or --no-header for a file without one)")
        if column in seen:
            raise DatasetError(f"{name}, line {line}: duplicate column name {column!r}")
        seen.add(column)
    return header


def load_csv(path, *, delimiter=None, header=True, limit=MAX_LINE):
    """Read a CSV file into a typed :class:`~deltaprop.datasets.table.Table`.

    Parameters
    ----------
    path : str or path-like
        A UTF-8 text file, or ``-`` for standard input (a pipe or a FIFO works too: the
        input is read once).
    delimiter : str or None
        Field separator; None sniffs it (a tab for ``.tsv``).
    header : bool
        The first non-blank row names the columns (default, always: a row such as
        ``1,2,3,label`` is a header too). ``False``: every row is data and the columns
        are named ``1``, ``2``, ...
    limit : int
        The longest line and field, in characters.

    Returns
    -------
    Table
        The columns, each numeric (every non-missing cell a number) or text, with the
        rows' line numbers; :attr:`Table.kinds` says which columns are numeric, boolean or
        categorical. A first column with an empty name holds the rows' names (as R and
        pandas write them): it is named ``(row names)`` and is never a feature.

    Raises
    ------
    DatasetError
        If the input is missing, unreadable or empty, if a row has more or fewer values
        than the header, or as :func:`read_csv_rows`.
    """
    name = source_name(path)
    with _no_cycle_collection():
        return _table(name, read_csv_rows(path, delimiter, limit), header)


def _table(name, rows, header):
    from .table import Table

    if not rows:
        raise DatasetError(f"{name} is empty: expected a header row with the column names")
    if header:
        (line, cells), rows = rows[0], rows[1:]
        names = _header(name, line, cells)
        reference = "the header"
        if not rows:
            raise DatasetError(f"{name} has a header row but no data rows")
    else:
        names = [str(j) for j in range(1, len(rows[0][1]) + 1)]
        reference = f"line {rows[0][0]}"
    width = len(names)
    cell_rows = list(map(operator.itemgetter(1), rows))
    widths = np.fromiter(map(len, cell_rows), dtype=np.intp, count=len(rows))
    wrong = np.flatnonzero(widths != width)
    if len(wrong):
        line, cells = rows[wrong[0]]
        raise DatasetError(f"{name}, line {line}: {len(cells)} values, but {reference} "
                           f"has {width} columns")
    lines = np.fromiter(map(operator.itemgetter(0), rows), dtype=np.int64, count=len(rows))
    del rows
    columns = {}
    for j, column in enumerate(names):  # column by column, at C speed (map, not a loop)
        cells = list(map(str.strip, map(operator.itemgetter(j), cell_rows)))
        for i in np.flatnonzero(missing_mask(cells)).tolist():
            cells[i] = None
        columns[column] = cells
    table = Table.from_cells(columns, lines=lines, source=name,
                             row_names=ROW_NAMES if ROW_NAMES in columns else None)
    table.has_header = header
    return table


def load_features_csv(path, *, delimiter=None, dtype="float32", header=True):
    """Load a table of numbers, without a target, from a CSV file: ``X`` of
    ``(n_rows, n_columns)``.

    Raises
    ------
    DatasetError
        As :func:`load_csv`, and if a value is missing, not a number or not finite (the
        message names the line, the column and the value).
    """
    table = load_csv(path, delimiter=delimiter, header=header)
    return table.numbers(table.names, dtype=float_dtype(dtype))


def exists(path) -> bool:
    """Whether ``path`` names an input that can be read: ``-``, or an existing file,
    pipe or FIFO."""
    return str(path) == "-" or (os.path.exists(path) and not os.path.isdir(path))
