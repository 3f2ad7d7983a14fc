"""The ONNX export of a model's data contract: a model trained on a raw table takes the
table's columns by name, encodes them as the model file records, and gives what
``deltaprop predict`` gives for the same raw rows (unseen levels and missing values
included)."""

import json

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.cli import main
from deltaprop.datasets import TableEncoder
from deltaprop.datasets.base import is_missing
from deltaprop.datasets.encoding import missing_spellings
from deltaprop.export.onnx import GraphBuilder
from conftest import read_csv, write_csv

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def session(model):
    onnx.checker.check_model(model, full_check=True)
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def raw_feed(sess, header, rows):
    """The model's inputs from the rows as written in the file: a number column as floats
    (NaN where the cell is a missing-value marker), a text column as the cells themselves
    (``""``, ``"NA"``, ``"?"``... included)."""
    feed = {}
    for i in sess.get_inputs():
        cells = [row[header.index(i.name)] for row in rows]
        if i.type == "tensor(string)":
            feed[i.name] = np.array(cells, dtype=object)[:, None]
        else:
            dtype = np.float64 if i.type == "tensor(double)" else np.float32
            feed[i.name] = np.array([np.nan if is_missing(c) else float(c) for c in cells],
                                    dtype=dtype)[:, None]
    return feed


def outputs(sess, feed):
    return dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feed)))


# -- a table with every kind of column ------------------------------------------------------
HEADER = ["island", "colour", "sex", "smoker", "length", "mass", "grade", "flag", "species"]


def table_rows(n, seed):
    """Categories (3 levels; 60 levels, the rarer pooled), booleans (text, and 0/1), numbers,
    numbers read as categories, and missing values written in several ways."""
    rng = np.random.default_rng(seed)
    markers = ["", "NA", "nan", "?"]
    rows = []
    for _ in range(n):
        island = rng.choice(["Biscoe", "Dream", "Torgersen"])
        colour = f"c{int(rng.integers(0, 70)):02d}"
        sex = rng.choice(["male", "female"])
        length = rng.normal(44, 5)
        mass = rng.normal(4200, 800)
        grade = rng.choice([1, 2, 2.5, 3, 10])
        flag = int(rng.integers(0, 2))
        score = (length - 44) / 5 + (island == "Dream") - (sex == "male") + (grade > 2) * 0.8
        species = "Adelie" if score > 0.5 else ("Gentoo" if mass > 4200 else "Chinstrap")
        row = [island, colour, sex, rng.choice(["yes", "no"]), f"{length:.1f}", f"{mass:.0f}",
               str(grade), str(flag), species]
        for j in (0, 2, 4, 6, 7):  # island, sex, length, grade, flag: sometimes missing
            if rng.random() < 0.08:
                row[j] = str(rng.choice(markers))
        rows.append(row)
    return rows


def serving_rows():
    """New rows: unseen levels of every kind, pooled levels, and every way of writing a
    missing value, in each column."""
    rows = table_rows(30, seed=7)
    rows += [
        ["Atlantis", "c59", "female", "yes", "40.5", "3900", "7", "1", ""],   # unseen island, grade
        ["Dream", "zz", "unknown", "maybe", "NA", "5000", "NA", "2", ""],     # unseen text, 0/1
        ["NULL", "c58", "N/A", "no", "?", "4100", "#N/A", "<NA>", ""],         # spellings of missing
        ["None", "None", "nan", "NA", "", "4400", "null", "", ""],             # missing everywhere
        ["Biscoe", "c00", "male", "yes", "1e1", "4.2e3", "1e1", "0", ""],      # numbers as 1e1
    ]
    return rows


@pytest.fixture(scope="module")
def trained_on_a_raw_table(tmp_path_factory):
    path = tmp_path_factory.mktemp("table")
    write_csv(path / "train.csv", HEADER, table_rows(300, seed=0))
    assert main(["train", str(path / "train.csv"), "--target", "species", "--categorical",
                 "grade", "--epochs", "8", "--seed", "0", "--out", str(path / "run"),
                 "-q"]) == 0
    assert main(["export", str(path / "run" / "model.npz"), "-o", str(path / "m.onnx")]) == 0
    return path


def test_the_contract_graph_takes_the_columns_by_name(trained_on_a_raw_table, capsys):
    path = trained_on_a_raw_table
    model = onnx.load(str(path / "m.onnx"))
    onnx.checker.check_model(model, full_check=True)
    types = {i.name: i.type.tensor_type.elem_type for i in model.graph.input}
    S, F = onnx.TensorProto.STRING, onnx.TensorProto.FLOAT
    assert types == {"island": S, "colour": S, "sex": S, "smoker": S, "length": F, "mass": F,
                     "grade": F, "flag": F}
    props = {p.key: p.value for p in model.metadata_props}
    assert json.loads(props["columns"]) == [
        {"name": "island", "kind": "categorical", "type": "string"},
        {"name": "colour", "kind": "categorical", "type": "string"},
        {"name": "sex", "kind": "boolean", "type": "string"},
        {"name": "smoker", "kind": "boolean", "type": "string"},
        {"name": "length", "kind": "numeric", "type": "float32"},
        {"name": "mass", "kind": "numeric", "type": "float32"},
        {"name": "grade", "kind": "categorical", "type": "float32"},
        {"name": "flag", "kind": "boolean", "type": "float32"}]
    net = dp.load(path / "run" / "model.npz")
    assert json.loads(props["feature_names"]) == net.data_info_["feature_names"]
    assert props["missing"] == "impute" and json.loads(props["targets"]) == ["species"]
    colour = next(c for c in net.data_info_["columns"] if c["name"] == "colour")
    assert colour["other"], "the table should pool rare colours into (other)"


def test_raw_columns_give_what_predict_gives(trained_on_a_raw_table, monkeypatch, capsys):
    path = trained_on_a_raw_table
    monkeypatch.chdir(path)
    rows = serving_rows()
    write_csv("new.csv", HEADER, rows)
    assert main(["predict", "run/model.npz", "new.csv", "--proba", "-o", "pred.csv"]) == 0
    err = capsys.readouterr().err
    assert "a level not seen in training" in err and "a missing value, imputed" in err
    header, predicted = read_csv("pred.csv")
    sess = session(onnx.load("m.onnx"))
    got = outputs(sess, raw_feed(sess, HEADER, rows))
    assert got["label"].tolist() == [r[0] for r in predicted]
    assert header[1:] == ["p_Adelie", "p_Chinstrap", "p_Gentoo"]
    expected = np.array([r[1:] for r in predicted], dtype=float)
    np.testing.assert_allclose(got["probabilities"], expected, rtol=0, atol=1e-5)
    # and against the engine itself, unrounded
    from deltaprop.cli.data import model_inputs
    from deltaprop.datasets import load_csv

    net = dp.load("run/model.npz")
    X, ok = model_inputs(net, load_csv("new.csv"), quiet=True)
    assert ok.all()
    np.testing.assert_allclose(got["probabilities"], net.predict_proba(X), rtol=0, atol=1e-6)


def test_a_regressor_returns_the_targets_units(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(1)
    header = ["rooms", "area", "city", "garden", "price"]
    rows = []
    for _ in range(200):
        rooms, city = int(rng.integers(1, 7)), rng.choice(["Lyon", "Paris", "Lille"])
        area = rng.normal(80, 25)
        price = 50_000 + 3_000 * area + 40_000 * (city == "Paris") + 5_000 * rooms
        rows.append([str(rooms), "" if rng.random() < 0.1 else f"{area:.1f}",
                     city if rng.random() > 0.1 else "NA", rng.choice(["yes", "no"]),
                     f"{price:.0f}"])
    write_csv("houses.csv", header, rows)
    assert main(["train", "houses.csv", "--target", "price", "--epochs", "10", "--out", "run",
                 "-q"]) == 0
    assert main(["export", "run/model.npz", "-o", "houses.onnx"]) == 0
    new = rows[:20] + [["3", "NA", "Nice", "yes", ""], ["2", "55.5", "", "perhaps", ""]]
    write_csv("new.csv", header, new)
    assert main(["predict", "run/model.npz", "new.csv", "-o", "pred.csv"]) == 0
    _, predicted = read_csv("pred.csv")
    sess = session(onnx.load("houses.onnx"))
    assert [o.name for o in sess.get_outputs()] == ["variable"]
    variable = outputs(sess, raw_feed(sess, header, new))["variable"][:, 0]
    expected = np.array([float(r[0]) for r in predicted])
    assert np.abs(expected).mean() > 10_000  # in the target's units, not standardised ones
    np.testing.assert_allclose(variable, expected, rtol=1e-5)


def test_a_model_trained_with_missing_drop_imputes_in_the_graph(tmp_path, monkeypatch):
    """A graph cannot leave a row out: where ``predict`` (rule drop) leaves a row with a
    missing value empty, the graph imputes it as ``predict --missing impute`` does."""
    monkeypatch.chdir(tmp_path)
    rows = table_rows(200, seed=3)
    write_csv("train.csv", HEADER, rows)
    assert main(["train", "train.csv", "--target", "species", "--missing", "drop", "--epochs",
                 "5", "--out", "run", "-q"]) == 0
    assert main(["export", "run/model.npz", "-o", "m.onnx"]) == 0
    model = onnx.load("m.onnx")
    assert {p.key: p.value for p in model.metadata_props}["missing"] == "drop"
    new = serving_rows()
    write_csv("new.csv", HEADER, new)
    assert main(["predict", "run/model.npz", "new.csv", "-o", "dropped.csv"]) == 0
    assert "" in [r[0] for r in read_csv("dropped.csv")[1]]  # predict: no prediction
    assert main(["predict", "run/model.npz", "new.csv", "--missing", "impute", "--proba", "-o",
                 "imputed.csv"]) == 0
    _, imputed = read_csv("imputed.csv")
    sess = session(model)
    got = outputs(sess, raw_feed(sess, HEADER, new))
    assert got["label"].tolist() == [r[0] for r in imputed]
    np.testing.assert_allclose(got["probabilities"],
                               np.array([r[1:] for r in imputed], dtype=float), atol=1e-5)


def test_raw_penguins(tmp_path, monkeypatch):
    """The palmerpenguins table as it ships: text categories, a text boolean with missing
    values, numbers with missing values."""
    palmerpenguins = pytest.importorskip("palmerpenguins")
    pytest.importorskip("pandas")
    monkeypatch.chdir(tmp_path)
    df = palmerpenguins.load_penguins()
    df.to_csv("penguins.csv", index=False)
    assert main(["train", "penguins.csv", "--target", "species", "--epochs", "10", "--out",
                 "run", "-q"]) == 0
    assert main(["export", "run/model.npz", "-o", "penguins.onnx"]) == 0
    assert main(["predict", "run/model.npz", "penguins.csv", "--proba", "-o", "pred.csv"]) == 0
    _, predicted = read_csv("pred.csv")
    sess = session(onnx.load("penguins.onnx"))
    feed = {}
    for i in sess.get_inputs():  # the DataFrame's columns, NaN and all
        column = df[i.name]
        feed[i.name] = (column.astype(object).where(column.notna(), "").to_numpy()[:, None]
                        if i.type == "tensor(string)" else
                        column.to_numpy(dtype=np.float32)[:, None])
    assert {i.name for i in sess.get_inputs()} == set(df.columns) - {"species"}
    got = outputs(sess, feed)
    assert got["label"].tolist() == [r[0] for r in predicted]
    np.testing.assert_allclose(got["probabilities"],
                               np.array([r[1:] for r in predicted], dtype=float), atol=1e-5)


# -- each column's nodes against its transform ------------------------------------------------
COLUMNS = {
    "num": [1.5, np.nan, -2.25, 4.0, 0.5, np.nan, 3.0, 8.0],
    "word": ["red", "blue", "red", None, "green", "teal", "red", "plum"],
    "yn": ["yes", "no", None, "no", "yes", "yes", "no", "no"],
    "code": [1.0, 2.0, 2.0, 10.0, np.nan, 1.0, 2.5, 10.0],
    "bit": [0.0, 1.0, 1.0, 0.0, 0.0, np.nan, 1.0, 1.0],
}
NEW = {
    "num": [np.nan, 7.75, -1.0, 0.0, 2.5, 1.5, np.nan, 100.0, 3.0, 0.25],
    "word": ["red", "violet", "", "NA", "n/A", "teal", "plum", "nOnE", "#n/a", "<NA>"],
    "yn": ["yes", "", "perhaps", "Null", "no", "?", "NaN", "no", "YES", "yes"],
    "code": [10.0, np.nan, 7.0, 2.5, 1.0, 2.0, np.nan, 10.0, 1.0, 3.0],
    "bit": [1.0, np.nan, 2.0, 0.0, 1.0, np.nan, 0.0, 1.0, 1.0, 0.0],
}


def encoded_by_the_graph(encoder, columns, dtype):
    graph = GraphBuilder(dtype)
    x = encoder.onnx_inputs(graph)
    width = len(encoder.get_feature_names_out())
    graph.output("encoded", x, graph.elem_type, [None, width])
    sess = session(graph.model())
    feed = {}
    for i in sess.get_inputs():
        values = columns[i.name]
        feed[i.name] = (np.array(values, dtype=object) if i.type == "tensor(string)" else
                        np.array(values, dtype=dtype))[:, None]
    return sess.run(None, feed)[0]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_each_columns_nodes_equal_its_transform(dtype):
    """Exactly: the same float64 operations (one row of a small table per value, the
    imputation and the scaling), one cast to the network's dtype."""
    encoder = TableEncoder(categorical=["code"], max_levels=3).fit(COLUMNS)
    kinds = {c.name: c.kind for c in encoder.columns_}
    assert kinds == {"num": "numeric", "word": "categorical", "yn": "boolean",
                     "code": "categorical", "bit": "boolean"}
    assert encoder.columns_[1].other  # word: 5 levels, 2 kept and the rest pooled
    expected = encoder.transform(NEW)
    report = encoder.report_
    assert report["unknown"] == {"word": 1, "yn": 2, "code": 2, "bit": 1}
    assert report["missing"]["word"] == 6 and report["missing"]["yn"] == 4
    got = encoded_by_the_graph(encoder, NEW, dtype)
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, expected.astype(dtype))


def test_every_spelling_of_a_missing_value_is_missing_in_the_graph():
    spellings = missing_spellings()
    assert {"", "NA", "Na", "nan", "NaN", "NULL", "None", "?", "#N/A", "<na>"} <= set(spellings)
    assert all(is_missing(s) for s in spellings) and len(spellings) == len(set(spellings))
    encoder = TableEncoder().fit({"w": ["a", "b", None, "c"]})  # 3 levels and the indicator
    got = encoded_by_the_graph(encoder, {"w": spellings}, "float64")
    np.testing.assert_array_equal(got, np.tile([0.0, 0.0, 0.0, 1.0], (len(spellings), 1)))


def test_numbers_that_one_float32_cannot_tell_apart_are_refused():
    encoder = TableEncoder(categorical=["id"]).fit({"id": [16777216.0, 16777217.0, 1.0] * 3})
    with pytest.raises(ValueError, match=r"levels 16777216 and 16777217 are the same float32"):
        encoded_by_the_graph(encoder, {"id": [1.0]}, "float32")
    got = encoded_by_the_graph(encoder, {"id": [16777217.0, 1.0]}, "float64")
    np.testing.assert_array_equal(got, [[0, 0, 1], [1, 0, 0]])


def test_column_names_that_would_clash_in_the_graph():
    """A column may bear a name the graph would generate (it is declared first); not the
    name of an output."""
    records = [{"name": "cast_1", "kind": "numeric", "fill": 0.0, "indicator": True,
                "mean": 0.0, "scale": 2.0},
               {"name": "label", "kind": "numeric", "fill": 0.0, "indicator": False,
                "mean": 1.0, "scale": 1.0}]
    net = dp.MLP([3, 4, 2], output="softmax", loss="cross_entropy", dtype="float64", seed=0)
    net.data_info_ = {"columns": records[:1] + [dict(records[1], name="size")]}
    sess = session(net.to_onnx())
    label, proba = sess.run(None, {"cast_1": np.array([[4.0], [np.nan]]),
                                   "size": np.array([[3.0], [1.0]])})
    X = np.array([[2.0, 0.0, 2.0], [0.0, 1.0, 0.0]])
    np.testing.assert_allclose(proba, net.predict_proba(X), rtol=1e-12)
    net.data_info_ = {"columns": records}
    with pytest.raises(ValueError, match="input 'label' has the name of the graph's output"):
        net.to_onnx()
