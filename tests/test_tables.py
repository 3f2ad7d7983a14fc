"""Real tables through the whole CSV path: text categories, missing values and row identity,
read in one pass (a pipe, ``-``, a FIFO), one prediction per input row. Each test runs the
real command, in a subprocess, on data it writes."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.datasets import DatasetError, Table, TableEncoder, load_csv


def run(*args, cwd, check=True, input=None, timeout=300, stdin=None):
    proc = subprocess.run([sys.executable, "-m", "deltaprop", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, input=input,
                          stdin=stdin)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def fails(*args, cwd, match, **kw):
    proc = run(*args, cwd=cwd, check=False, **kw)
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    err = proc.stderr.strip().splitlines()
    assert match in err[-1], proc.stderr
    return err[-1]


def rows_of(text):
    import csv
    import io

    return list(csv.reader(io.StringIO(text)))


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """A table as users have them: a text category, a yes/no column, an ID, numbers with
    gaps, a text target; and a model trained on it with no option but --target."""
    cwd = tmp_path_factory.mktemp("shop")
    rng = np.random.default_rng(0)
    n = 400
    colour = rng.choice(["red", "green", "blue"], n)
    member = rng.choice(["yes", "no"], n)
    spend = np.round(rng.gamma(2.0, 30.0, n), 2)
    visits = rng.integers(0, 20, n).astype(float)
    score = (colour == "red") * 1.5 + (member == "yes") + spend / 60 - visits / 10
    label = np.where(score > np.median(score), "buy", "skip")
    spend_cells = spend.astype(str).astype(object)
    spend_cells[rng.choice(n, 30, replace=False)] = ""
    visits_cells = visits.astype(int).astype(str).astype(object)
    visits_cells[rng.choice(n, 20, replace=False)] = "NA"
    lines = ["customer,colour,member,spend,visits,label"]
    lines += [f"c{i:04d},{c},{m},{s},{v},{lab}"
              for i, (c, m, s, v, lab) in enumerate(zip(colour, member, spend_cells,
                                                          visits_cells, label))]
    (cwd / "shop.csv").write_text("\n".join(lines) + "\n")
    proc = run("train", "shop.csv", "--target", "label", "--out", "run", cwd=cwd)
    return cwd, proc


def test_a_raw_table_trains_with_no_option_but_the_target(shop):
    cwd, proc = shop
    out = proc.stdout
    assert "colour: categorical, 3 values" in out
    assert "member: boolean, 2 values" in out
    assert "customer: left out: 300 distinct values in 300 rows" in out  # training rows and "--drop" in out
    assert "stopped at epoch" in out
    accuracy = float(out.split("accuracy ")[-1].split()[0])
    assert accuracy > 0.85, out
    info = dp.load(cwd / "run" / "model.npz").data_info_
    kinds = {c["name"]: c["kind"] for c in info["columns"]}
    assert kinds == {"colour": "categorical", "member": "boolean", "spend": "numeric",
                     "visits": "numeric"}
    spend = next(c for c in info["columns"] if c["name"] == "spend")
    assert spend["indicator"] and info["missing"] == "impute" and info["ignored"] == ["customer"]


def test_summary_shows_the_data_contract(shop):
    cwd, _ = shop
    out = run("summary", "run/model.npz", cwd=cwd).stdout
    assert "target: label" in out and "classes: buy, skip" in out
    assert "colour: categorical, 3 levels, one-hot" in out
    assert "spend: numeric, standardised" in out and "median" in out and "indicator" in out
    assert "ignored columns: customer" in out


def test_evaluate_finds_the_held_out_rows_with_the_columns_in_any_order(shop):
    cwd, proc = shop
    first = json.loads(run("evaluate", "run/model.npz", "shop.csv", "--json", cwd=cwd).stdout)
    lines = (cwd / "shop.csv").read_text().splitlines()
    order = [5, 3, 0, 4, 1, 2]
    (cwd / "reordered.csv").write_text("\n".join(
        ",".join(line.split(",")[j] for j in order) for line in lines) + "\n")
    again = run("evaluate", "run/model.npz", "reordered.csv", "--json", cwd=cwd)
    second = json.loads(again.stdout)
    assert first["split"] == second["split"] == "test" and first["rows"] == second["rows"] == 100
    assert first["accuracy"] == second["accuracy"]
    assert "none seen in training" in again.stderr


def test_predict_writes_one_row_per_input_row_with_ids(shop, tmp_path):
    cwd, _ = shop
    text = ("customer,colour,member,spend,visits\n"
            "a1,red,yes,50,3\n"
            "a2,green,,,\n"             # every gap: imputed
            "a3,purple,no,20,1\n"       # a level never seen
            "a4,blue,yes,80,NA\n")
    (tmp_path / "new.csv").write_text(text)
    proc = run("predict", cwd / "run" / "model.npz", "new.csv", "--id", "customer", "--proba",
               cwd=tmp_path)
    rows = rows_of(proc.stdout)
    assert rows[0] == ["customer", "prediction", "p_buy", "p_skip"]
    assert [r[0] for r in rows[1:]] == ["a1", "a2", "a3", "a4"]  # every row, in order
    assert all(r[1] in ("buy", "skip") for r in rows[1:])
    assert "a level not seen in training" in proc.stderr and "colour 1" in proc.stderr
    assert "imputed" in proc.stderr
    fails("predict", cwd / "run" / "model.npz", "new.csv", "--unknown", "error", cwd=tmp_path,
          match="line 4, column 'colour': 'purple' is a level the training rows did not have")
    fails("predict", cwd / "run" / "model.npz", "new.csv", "--missing", "error", cwd=tmp_path,
          match="line 3, column 'member': missing value")
    dropped = run("predict", cwd / "run" / "model.npz", "new.csv", "--missing", "drop",
                  "--id", "customer", cwd=tmp_path)
    rows = rows_of(dropped.stdout)
    assert [r[0] for r in rows[1:]] == ["a1", "a2", "a3", "a4"]
    assert rows[2][1] == rows[4][1] == "" and rows[1][1] and rows[3][1]  # none shifted
    assert "2 rows had a missing value and no prediction" in dropped.stderr


def test_a_model_trained_with_drop_predicts_without_being_told(tmp_path):
    rows = [f"{i % 5},{'' if i % 7 == 0 else i % 3},{i % 2}" for i in range(120)]
    (tmp_path / "t.csv").write_text("a,b,y\n" + "\n".join(rows) + "\n")
    proc = run("train", "t.csv", "--target", "y", "--missing", "drop", "--epochs", "2",
               "--out", "run", cwd=tmp_path)
    assert "left out 18 rows with a missing feature value" in proc.stderr
    (tmp_path / "new.csv").write_text("a,b\n1,2\n3,\n4,1\n")
    out = run("predict", "run/model.npz", "new.csv", cwd=tmp_path)
    rows = rows_of(out.stdout)
    assert len(rows) == 4 and rows[2] == [""] and rows[1][0] in ("0", "1") and rows[3][0] in ("0", "1")
    ev = json.loads(run("evaluate", "run/model.npz", "t.csv", "--json", cwd=tmp_path).stdout)
    assert ev["split"] == "test"  # the same rows left out, the same split found


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("many")
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 3))
    y = (X[:, 0] > 0).astype(int)
    (cwd / "t.csv").write_text("a,b,c,y\n" + "\n".join(
        f"{a:.4f},{b:.4f},{c:.4f},{t}" for (a, b, c), t in zip(X, y)) + "\n")
    run("train", "t.csv", "--target", "y", "--epochs", "5", "-q", "--out", "run", cwd=cwd)
    big = "a,b,c\n" + "".join(f"{i % 7 / 3:.3f},{i % 5},{i % 3}\n" for i in range(20000))
    (cwd / "big.csv").write_text(big)
    return cwd


def n_predictions(stdout):
    return len(stdout.strip().splitlines()) - 1


def test_a_pipe_gives_every_row(many):
    with open(many / "big.csv") as f:
        proc = run("predict", "run/model.npz", "/dev/stdin", cwd=many, stdin=f)
    assert n_predictions(proc.stdout) == 20000
    cat = subprocess.Popen(["cat", str(many / "big.csv")], stdout=subprocess.PIPE)
    proc = run("predict", "run/model.npz", "-", cwd=many, stdin=cat.stdout)
    cat.wait()
    assert n_predictions(proc.stdout) == 20000


def test_standard_input_as_dash(many):
    text = (many / "big.csv").read_text()
    assert n_predictions(run("predict", "run/model.npz", "-", cwd=many, input=text).stdout) \
        == 20000
    proc = run("evaluate", "run/model.npz", "-", "--json", cwd=many,
               input=(many / "t.csv").read_text())
    assert json.loads(proc.stdout)["split"] == "test"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_read_once_and_whole(many, tmp_path):
    fifo = tmp_path / "rows.fifo"
    os.mkfifo(fifo)
    writer = subprocess.Popen(["sh", "-c", f"cat '{many / 'big.csv'}' > '{fifo}'"])
    try:
        proc = run("predict", "run/model.npz", fifo, cwd=many, timeout=120)
    finally:
        writer.kill()
    assert n_predictions(proc.stdout) == 20000


def test_a_number_like_header_is_a_header(many, tmp_path):
    rows = "".join(f"{i % 3},{i % 2},{i % 5},{i % 2}\n" for i in range(60))
    (tmp_path / "num.csv").write_text("1,2,3,label\n" + rows)
    run("train", "num.csv", "--target", "label", "--epochs", "2", "-q", "--out", "r",
        cwd=tmp_path)
    table = load_csv(tmp_path / "num.csv")
    assert table.names == ["1", "2", "3", "label"] and len(table) == 60
    (tmp_path / "swapped.csv").write_text("3,1,2\n4,0,1\n")  # matched by name, not position
    (tmp_path / "ordered.csv").write_text("1,2,3\n0,1,4\n")
    a = run("predict", "r/model.npz", "swapped.csv", "--proba", cwd=tmp_path).stdout
    b = run("predict", "r/model.npz", "ordered.csv", "--proba", cwd=tmp_path).stdout
    assert a == b


def test_an_endless_line_is_refused_in_bounded_memory(many):
    code = ("import resource, sys\n"
            "resource.setrlimit(resource.RLIMIT_AS, (1 << 31, 1 << 31))\n"
            "from deltaprop.cli import main\n"
            "sys.exit(main(['predict', 'run/model.npz', '/dev/zero']))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=many, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "line 1: longer than 1,048,576 characters" in proc.stderr


def test_a_typo_among_numbers_is_named_not_guessed(tmp_path):
    rows = "".join(f"{i},{i % 3}\n" for i in range(40))
    (tmp_path / "t.csv").write_text("a,y\n1_000,0\n" + rows)
    fails("train", "t.csv", "--target", "y", cwd=tmp_path,
          match="line 2, column 'a': '1_000' is not a number, but 40 of the column's 41")


def test_several_targets_and_class_weights(tmp_path):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 2))
    (tmp_path / "m.csv").write_text("a,b,u,v,p,q\n" + "".join(
        f"{a:.4f},{b:.4f},{a + b:.4f},{a - b:.4f},{int(a > 0)},{int(b > 0)}\n" for a, b in X))
    reg = json.loads(run("train", "m.csv", "--target", "u,v", "--drop", "p,q", "--json",
                         "--out", "reg", cwd=tmp_path).stdout)
    assert reg["task"] == "regression" and reg["layers"][-1] == 2 and reg["test_r2"] > 0.9
    pred = rows_of(run("predict", "reg/model.npz", "m.csv", cwd=tmp_path).stdout)
    assert pred[0] == ["prediction_0", "prediction_1"] and len(pred) == 201
    multi = json.loads(run("train", "m.csv", "--target", "p,q", "--features", "a,b", "--json",
                           "--out", "multi", cwd=tmp_path).stdout)
    assert multi["task"] == "multilabel" and multi["layers"][-1] == 2
    (tmp_path / "c.csv").write_text("a,y\n" + "".join(
        f"{x:.3f},{'rare' if x > 1.3 else 'common'}\n" for x in rng.normal(size=300)))
    plain = json.loads(run("train", "c.csv", "--target", "y", "--epochs", "20", "--json",
                           "--out", "p", cwd=tmp_path).stdout)
    weighted = json.loads(run("train", "c.csv", "--target", "y", "--epochs", "20", "--json",
                              "--class-weight", "balanced", "--out", "w", cwd=tmp_path).stdout)
    assert plain["test_loss"] != weighted["test_loss"]


def test_options_that_name_no_column_are_errors(tmp_path):
    (tmp_path / "t.csv").write_text("a,b,y\n" + "".join(f"{i},{i % 4},{i % 2}\n"
                                                         for i in range(40)))
    fails("train", "t.csv", "--target", "y", "--drop", "zz", cwd=tmp_path,
          match="--drop zz: t.csv has no such column")
    fails("train", "t.csv", "--target", "nope", cwd=tmp_path, match="has no column 'nope'")
    fails("train", "iris", "--categorical", "a", cwd=tmp_path, match="--categorical is for CSV")


# -- the transformer, in Python --------------------------------------------------------------


def frame():
    pd = pytest.importorskip("pandas")
    return pd.DataFrame({
        "size": [1.0, 2.0, np.nan, 4.0, 5.0, 6.0],
        "colour": ["red", "blue", None, "red", "green", "blue"],
        "ok": [True, False, True, True, False, True],
        "code": [10, 20, 10, 30, 20, 10],
    })


def test_table_encoder_rules():
    enc = TableEncoder(categorical=["code"])
    X = enc.fit_transform(frame())
    names = enc.get_feature_names_out().tolist()
    assert names == ["size", "size (missing)", "colour=blue", "colour=green", "colour=red",
                     "colour (missing)", "ok=1", "code=10", "code=20", "code=30"]
    size = X[:, 0]
    observed = np.array([1, 2, 4, 5, 6.0])
    filled = np.array([1, 2, 4, 4, 5, 6.0])  # the median of the training rows, 4
    np.testing.assert_allclose(size, (filled - filled.mean()) / filled.std())
    assert np.median(observed) == 4
    np.testing.assert_array_equal(X[:, 1], [0, 0, 1, 0, 0, 0])  # the indicator
    np.testing.assert_array_equal(X[2, 2:6], [0, 0, 0, 1])      # missing: a level of its own
    np.testing.assert_array_equal(X[:, 6], [1, 0, 1, 1, 0, 1])  # 0/1, not standardised
    new = frame().iloc[:2].copy()
    new.loc[0, "colour"] = "purple"
    Z = enc.transform(new)
    np.testing.assert_array_equal(Z[0, 2:6], [0, 0, 0, 0])      # unseen: all zeros
    assert enc.report_["unknown"] == {"colour": 1}
    again = TableEncoder.from_state(json.loads(json.dumps(enc.get_state())))
    np.testing.assert_array_equal(again.transform(frame()), X)


def test_many_levels_are_pooled_and_identifiers_left_out():
    n = 200
    table = Table.coerce({"city": [f"c{i % 60}" for i in range(n)],
                          "name": [f"person {i}" for i in range(n)],
                          "x": np.arange(n, dtype=float)})
    enc = TableEncoder(max_levels=10).fit(table)
    assert "name" in enc.excluded_ and "identifier" in enc.excluded_["name"]
    city = enc.columns_[0]
    assert len(city.levels) == 9 and len(city.other) == 51
    assert enc.get_feature_names_out().tolist()[9] == "city=(other)"


def test_table_encoder_in_a_scikit_learn_pipeline():
    pytest.importorskip("sklearn")
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    pipe = make_pipeline(TableEncoder(), LogisticRegression())
    df = frame()
    pipe.fit(df, [0, 1, 0, 0, 1, 0])
    assert pipe.predict(df).shape == (6,)
    assert clone(TableEncoder(max_levels=7)).get_params()["max_levels"] == 7
    assert len(pipe[:-1].get_feature_names_out()) == 8


def test_table_encoder_errors():
    with pytest.raises(ValueError, match="missing must be 'impute' or 'error'"):
        TableEncoder(missing="drop").fit(frame())
    enc = TableEncoder(missing="error")
    with pytest.raises(DatasetError, match="row 3, column 'size': missing value"):
        enc.fit(frame())
    with pytest.raises(ValueError, match="not fitted"):
        TableEncoder().transform(frame())
    enc = TableEncoder().fit(frame())
    with pytest.raises(DatasetError, match="has no column 'colour'"):
        enc.transform(frame().drop(columns=["colour"]))
    with pytest.raises(ValueError, match=r"data.columns\[0\] is not a column record"):
        TableEncoder.from_state([{"name": "a", "kind": "numeric"}])


def test_raw_penguins_round_trip(tmp_path):
    """The real table as it ships: train with no option but the target, summary, evaluate,
    predict with an ID column."""
    penguins = pytest.importorskip("palmerpenguins").load_penguins()
    penguins.to_csv(tmp_path / "penguins.csv", index=False)
    proc = run("train", "penguins.csv", "--target", "species", "--out", "p", cwd=tmp_path)
    assert "island: categorical, 3 values" in proc.stdout
    assert "sex: boolean, 2 values (and missing values)" in proc.stdout
    summary = run("summary", "p/model.npz", cwd=tmp_path).stdout
    assert "bill_length_mm: numeric, standardised" in summary and "+ indicator" in summary
    ev = json.loads(run("evaluate", "p/model.npz", "penguins.csv", "--json",
                        cwd=tmp_path).stdout)
    assert ev["split"] == "test" and ev["rows"] == 86 and ev["accuracy"] > 0.95
    new = penguins.drop(columns="species").head(10)
    new.insert(0, "tag", [f"t{i}" for i in range(10)])
    new.to_csv(tmp_path / "new.csv", index=False)  # row 3 has every measurement missing
    rows = rows_of(run("predict", "p/model.npz", "new.csv", "--id", "tag",
                       cwd=tmp_path).stdout)
    assert [r[0] for r in rows[1:]] == [f"t{i}" for i in range(10)]
    assert {r[1] for r in rows[1:]} <= {"Adelie", "Chinstrap", "Gentoo"}


def test_targets_that_cannot_be_classes_or_split_are_named(tmp_path):
    (tmp_path / "ids.csv").write_text("x,y\n" + "".join(f"{i % 4},k{i}\n" for i in range(60)))
    fails("train", "ids.csv", "--target", "y", cwd=tmp_path,
          match="the target 'y' has 60 distinct values in 60 rows: too many to be classes")
    (tmp_path / "two.csv").write_text("x,y\n1,a\n2,b\n")
    fails("train", "two.csv", "--target", "y", cwd=tmp_path,
          match="2 rows are too few to split")
    (tmp_path / "few.csv").write_text("x,y\n" + "".join(f"{i},{'ab'[i % 2]}\n"
                                                        for i in range(20)))
    fails("train", "few.csv", "--target", "y", "--test-split", "0.999", cwd=tmp_path,
          match="--test-split 0.999")
