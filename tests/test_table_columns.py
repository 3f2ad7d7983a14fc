"""The column-wise reader and encoder against a row-by-row oracle.

The CSV reader, :class:`Table` and :class:`TableEncoder` work a column at a time (a
distinct value looked up once, then indexed); the oracle here is the plain reading of the
rules, one cell at a time, written independently in this file. Random tables under fixed
seeds, with the awkward cells: missing markers in any case and padding, ``-0`` beside ``0``,
numbers with Unicode digits, quoted commas and newlines, blank rows, levels the training
rows did not have.
"""

import csv
import gc
import io

import numpy as np
import pytest

from deltaprop.datasets import DatasetError, Table, TableEncoder, load_csv
from deltaprop.datasets.base import MISSING, is_number
from deltaprop.datasets.table import canonical_number, factorize

WORDS = ["red", " red ", "Red", "green", "blue", "a, b", "two\nlines", "NA", " na ", "Null",
         "", "?", "#N/A", "yes", "no"]
NUMBERS = ["1", " 2.5 ", "-0", "0", "0.0", "1e3", ".5", "+7", "٣", "", "NaN", "N/A"]
TYPOS = NUMBERS + ["1_000"]


def oracle_csv(text):
    """The table, cell by cell: each column's strings (stripped, None where missing),
    numeric when every present cell is a number."""
    rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
    header, rows = rows[0], rows[1:]
    columns = {}
    for j, name in enumerate(header):
        cells = [None if r[j].strip().lower() in MISSING else r[j].strip() for r in rows]
        present = [c for c in cells if c is not None]
        if present and all(is_number(c) for c in present):
            columns[name] = np.array([np.nan if c is None else float(c) for c in cells])
        else:
            columns[name] = cells
    return columns


def random_csv(rng, rows):
    columns = {"w": WORDS, "n": NUMBERS, "t": TYPOS, "b": ["yes", "no", "", "NA"],
               "c": [f"level {k}" for k in range(70)] + [""]}
    lines = [",".join(columns)]
    for _ in range(rows):
        if rng.random() < 0.05:
            lines.append(" , ,  ,,")  # blank: not a row
        cells = [rng.choice(pool) for pool in columns.values()]
        lines.append(",".join(f'"{c}"' if ("," in c or "\n" in c) else c for c in cells))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("seed", range(4))
def test_the_reader_matches_a_cell_by_cell_reading(tmp_path, seed):
    text = random_csv(np.random.default_rng(seed), 300)
    path = tmp_path / "t.csv"
    path.write_text(text)
    table, expected = load_csv(path), oracle_csv(text)
    assert table.names == list(expected)
    for name, cells in expected.items():
        got = table[name]
        if isinstance(cells, np.ndarray):
            assert got.dtype == np.float64, name
            np.testing.assert_array_equal(got, cells)
            assert (np.signbit(got) == np.signbit(cells)).all(), name  # -0 stays -0
        else:
            assert got.dtype == object and got.tolist() == cells, name
    assert table.missing("w").tolist() == [c is None for c in expected["w"]]


def test_the_reader_names_the_first_row_of_the_wrong_width(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n3,4\n\n5\n6,7,8\n")
    with pytest.raises(DatasetError, match="line 5: 1 values, but the header has 2 columns"):
        load_csv(path)


def test_reading_leaves_the_cycle_collector_as_it_found_it(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,x\n")
    assert gc.isenabled()
    load_csv(path)
    assert gc.isenabled()
    gc.disable()
    try:
        load_csv(path)
        assert not gc.isenabled()  # the caller's choice, kept
    finally:
        gc.enable()
    with pytest.raises(DatasetError):
        load_csv(tmp_path / "absent.csv")
    assert gc.isenabled()


def test_a_number_as_text_is_written_once_a_bit_pattern():
    v = np.array([0.0, -0.0, np.nan, 1.0, 2.5, 1e21, -0.0, 0.1 + 0.2, np.nan])
    table = Table({"v": v})
    assert table.text("v").tolist() == [None if np.isnan(x) else canonical_number(x)
                                        for x in v.tolist()]
    assert table.text("v").tolist()[:2] == ["0", "-0"]


def test_the_fingerprint_is_the_cells_joined_row_by_row():
    """The model file records it: a missing cell is NUL, cells are joined by US, columns
    are taken in name order."""
    import hashlib

    table = Table({"t": np.array(["a", None, "", "b"], dtype=object),
                   "f": np.array([1.0, np.nan, -0.0, 2.0])})
    h = hashlib.sha256()
    h.update(b"f\x1e" + b"f" + table["f"].tobytes())
    h.update(b"t\x1e" + b"t" + "\x1f".join(["a", "\x00", "", "b"]).encode())
    assert table.fingerprint() == h.hexdigest()


def test_factorize_gives_each_item_its_distinct_value():
    values = ["b", None, "a", "b", None, "c"]
    uniques, codes = factorize(np.array(values, dtype=object))
    assert uniques == ["b", None, "a", "c"]  # in order of first appearance
    assert [uniques[k] for k in codes] == values


def oracle_encoding(encoder, table):
    """Each row's encoding from the fitted state, one cell at a time."""
    rows, report = [], {"missing": {}, "unknown": {}}
    for i in range(len(table)):
        row = []
        for column in encoder.columns_:
            cell = table[column.name][i]
            if column.kind == "numeric":
                missing = cell is None or (isinstance(cell, float) and np.isnan(cell))
                x = column.fill if missing else float(cell)
                row.append((x - column.mean) / column.scale)
                unseen = False
            else:
                if table.is_numeric(column.name):
                    cell = None if np.isnan(cell) else canonical_number(cell)
                missing = cell is None
                known = list(column.keys)
                unseen = not missing and cell not in known
                if column.kind == "boolean":
                    row.append(column.fill if missing else column.mean if unseen
                               else float(cell == column.levels[1]))
                else:
                    width = len(column.levels) + bool(column.other)
                    one_hot = [0.0] * width
                    if not missing and not unseen:
                        k = known.index(cell)
                        one_hot[min(k, width - 1)] = 1.0
                    row.extend(one_hot)
            if column.indicator:
                row.append(float(missing))
            for what, flag in (("missing", missing), ("unknown", unseen)):
                if flag:
                    report[what][column.name] = report[what].get(column.name, 0) + 1
        rows.append(row)
    return np.array(rows), report


def random_table(rng, rows, levels):
    def pick(pool, p=0.1):
        return [None if rng.random() < p else pool[k] for k in rng.integers(0, len(pool), rows)]

    return Table({
        "x": np.where(rng.random(rows) < 0.1, np.nan, rng.normal(size=rows)),
        "code": rng.choice([0.0, -0.0, 1.0, 2.5, np.nan], rows),
        "yes": np.array(pick(["yes", "no"]), dtype=object),
        "city": np.array(pick([f"c{k:02d}" for k in range(levels)]), dtype=object),
        "few": np.array(pick(["b", "a", "c"], 0.0), dtype=object),
    })


@pytest.mark.parametrize("seed", range(4))
def test_the_encoder_matches_a_cell_by_cell_encoding(seed):
    rng = np.random.default_rng(seed)
    train, new = random_table(rng, 400, 30), random_table(rng, 200, 40)  # unseen: c30...
    encoder = TableEncoder(categorical=["code"], max_levels=12).fit(train)
    city = next(c for c in encoder.columns_ if c.name == "city")
    counts = {}
    for cell in train["city"].tolist():
        if cell is not None:
            counts[cell] = counts.get(cell, 0) + 1
    by_count = sorted(counts, key=lambda level: (-counts[level], level))
    assert city.levels == sorted(by_count[:11]) and city.other == sorted(by_count[11:])
    yes = next(c for c in encoder.columns_ if c.name == "yes")
    present = [c for c in train["yes"].tolist() if c is not None]
    assert yes.levels == ["no", "yes"] and yes.mean == np.mean([c == "yes" for c in present])
    for table in (train, new):
        X = encoder.transform(table)
        expected, report = oracle_encoding(encoder, table)
        np.testing.assert_array_equal(X, expected)
        assert encoder.report_ == report
    assert encoder.report_["unknown"]["city"] > 0


def test_refusals_name_the_first_bad_row():
    table = Table({"city": np.array(["a", "b", "a", None, "z", "y"], dtype=object),
                   "n": np.array(["1", "2", None, "3", "x", "4"], dtype=object)})
    encoder = TableEncoder(unknown="error", features=["city"]).fit(table.take([0, 1, 2]))
    with pytest.raises(DatasetError, match=r"row 5, column 'city': 'z' is a level the "
                                           r"training rows did not have \(known: 'a', 'b'\)"):
        encoder.transform(table)
    with pytest.raises(DatasetError, match="row 4, column 'city': missing value"):
        TableEncoder(missing="error", features=["city"]).fit(table.take([0, 1, 2])).transform(
            table)
    with pytest.raises(DatasetError, match="row 5, column 'n': 'x' is not a number"):
        table.numbers(["n"], allow_missing=True)


def test_a_text_column_of_numbers_only_is_encoded_as_its_type_says():
    """A Table built with text cells that are all numbers: nothing to refuse (the
    nearly-all-numbers check names a typo among numbers); the cells are categories, as
    their type says, and are encoded without an error."""
    table = Table({"a": np.array(["1", "2", "3", "1"], dtype=object),
                   "b": np.array([1.0, 2.0, 3.0, 4.0])})
    enc = TableEncoder()
    X = enc.fit_transform(table)
    assert enc.get_state()[0]["kind"] == "categorical"
    np.testing.assert_array_equal(X[:, :3], [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]])
