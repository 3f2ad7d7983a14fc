"""The command at its edges: each case gives the right result or a one-line error.

Every case here was a silent wrong answer, a lost file or a traceback before; the real
command runs in a subprocess (``run``), or in-process through ``cli.main`` where the test
needs to interrupt it at a chosen epoch.
"""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import deltaprop as dp
from deltaprop import cli
from conftest import interrupt_at

ENV = {**os.environ, "PYTHONWARNINGS": "default"}


def run(*args, cwd, check=True, input=None):
    proc = subprocess.run([sys.executable, "-m", "deltaprop", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300, env=ENV, input=input)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def fails(*args, cwd, match, code=2):
    proc = run(*args, cwd=cwd, check=False)
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and match in err[0], proc.stderr
    return err[0]


def write_csv(path, header, rows, sep=","):
    path.write_text("\n".join([sep.join(header)] + [sep.join(map(str, r)) for r in rows]) + "\n")


@pytest.fixture(scope="module")
def iris_model(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("iris")
    proc = run("train", "iris", "--hidden", "8", "--epochs", "40", "--json", cwd=cwd)
    return cwd, json.loads(proc.stdout)


# -- scores that lie ------------------------------------------------------------------------


def test_evaluate_scores_exactly_the_held_out_rows(iris_model):
    cwd, trained = iris_model
    model = trained["model"]
    test = run("evaluate", model, "iris", "--json", cwd=cwd)
    result = json.loads(test.stdout)
    assert result["split"] == "test" and result["rows"] == 38
    assert result["accuracy"] == trained["test_accuracy"]
    assert "none seen in training" in test.stderr
    every = run("evaluate", model, "iris", "--split", "all", cwd=cwd).stdout
    assert "scored 150 rows" in every and "112 of them in the training split" in every
    train = json.loads(run("evaluate", model, "iris", "--split", "train", "--json",
                           cwd=cwd).stdout)
    assert train["rows"] == 112


def test_evaluate_on_other_data_says_so_and_refuses_a_test_split(iris_model, tmp_path):
    cwd, trained = iris_model
    X, y = dp.datasets.load_iris()
    names = dp.datasets.dataset_info("iris")["feature_names"]
    species = np.asarray(dp.datasets.dataset_info("iris")["target_names"])[y]
    write_csv(tmp_path / "some.csv", names + ["species"],
              [[*np.round(x, 2), s] for x, s in zip(X[::3], species[::3])])
    fails("evaluate", trained["model"], tmp_path / "some.csv", "--target", "species",
          "--split", "test", cwd=cwd, match="is not the data this model was trained on")
    out = run("evaluate", trained["model"], tmp_path / "some.csv", "--target", "species",
              cwd=cwd).stdout
    assert "scored 50 rows: all rows of some.csv" in out


def test_iris_predictions_are_species_names(iris_model, tmp_path):
    cwd, trained = iris_model
    X, _ = dp.datasets.load_iris()
    names = dp.datasets.dataset_info("iris")["feature_names"]
    write_csv(tmp_path / "rows.csv", names, X[:3])
    out = run("predict", trained["model"], tmp_path / "rows.csv", cwd=cwd).stdout.split()
    assert out == ["prediction", "setosa", "setosa", "setosa"]


# -- columns that are ignored ------------------------------------------------------------------


@pytest.fixture(scope="module")
def csv_model(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("csv")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    label = np.where(2 * X[:, 0] - X[:, 2] > 0, "up", "down")
    write_csv(cwd / "train.csv", ["a", "b", "c", "label"],
              [[*np.round(x, 4), s] for x, s in zip(X, label)])
    proc = run("train", "train.csv", "--target", "label", "--hidden", "16", "--epochs", "40",
               "--json", cwd=cwd)
    return cwd, json.loads(proc.stdout), X, label


def test_predict_matches_columns_by_name(csv_model, tmp_path):
    cwd, trained, X, label = csv_model
    model = trained["model"]
    write_csv(tmp_path / "ordered.csv", ["a", "b", "c"], np.round(X[:50], 4))
    write_csv(tmp_path / "shuffled.csv", ["c", "a", "b"], np.round(X[:50][:, [2, 0, 1]], 4))
    ordered = run("predict", model, tmp_path / "ordered.csv", cwd=cwd).stdout
    shuffled = run("predict", model, tmp_path / "shuffled.csv", cwd=cwd).stdout
    assert ordered == shuffled
    # the training file itself, target column included, is accepted (the target is left out)
    whole = run("predict", model, "train.csv", cwd=cwd).stdout.split()[1:51]
    assert whole == ordered.split()[1:]
    write_csv(tmp_path / "renamed.csv", ["a", "B", "c"], np.round(X[:5], 4))
    fails("predict", model, tmp_path / "renamed.csv", cwd=cwd, match="has no column 'b'")
    write_csv(tmp_path / "extra.csv", ["a", "b", "c", "d"], np.round(np.c_[X[:5], X[:5, 0]], 4))
    extra = run("predict", model, tmp_path / "extra.csv", cwd=cwd)
    assert extra.stdout.split()[1:] == ordered.split()[1:6]  # a column it does not use:
    assert "ignored column 'd': not an input of the model" in extra.stderr  # said, not fatal


def test_predict_output_never_overwrites_the_model_or_the_input(csv_model):
    cwd, trained, _, _ = csv_model
    model = trained["model"]
    before = (cwd / model).read_bytes()
    fails("predict", model, "train.csv", "-o", model, cwd=cwd, match="would overwrite the model")
    fails("predict", model, "train.csv", "-o", "train.csv", cwd=cwd,
          match="would overwrite the input")
    assert (cwd / model).read_bytes() == before


# -- options that do something else --------------------------------------------------------


@pytest.mark.parametrize("args,match", [
    (("train", "--data", "iris.csv", "--target", "species"),
     "the data set is a positional argument in every command: deltaprop train DATA"),
    (("train", "--dat", "iris"), "unrecognized arguments: --dat"),
    (("train", "iris", "--target", "species"), "--target is for CSV files, not the built-in"),
    (("train", "iris", "--data-dir", "."), "--data-dir is for mnist and fashion-mnist"),
    (("train", "mnist", "--data-dir", ".", "--test-split", "0.2"),
     "--test-split does not apply to mnist"),
    (("train", "iris", "--output", "softmax"), "the output activation is --output-activation"),
    (("train", "iris", "--hidden", "10,,5"), "empty layer size in '10,,5'"),
    (("train", "iris", "--hidden", ""), "empty layer size in ''"),
    (("train", "iris", "--early-stopping", "0"), "expected a positive integer, got '0'"),
    (("train", "iris", "--early-stopping", "-1"), "expected a positive integer, got '-1'"),
    (("train", "iris", "--seed", "-1"), "argument --seed: expected an integer >= 0, got '-1'"),
    (("train", "iris", "--lr", "-0.1"), "argument --lr: expected a number > 0"),
    (("train", "iris", "--activation", "softmax"), "invalid choice: 'softmax'"),
    (("train", "iris", "--plot-boundary"), "--plot-boundary needs classification with 2 features"),
    (("train", "iris", "--hidden", "1000000000", "1000000000"), "parameters need about"),
    (("evaluate", "m.npz", "--data", "digits"), "deltaprop evaluate MODEL DATA (not --data)"),
])
def test_options_that_cannot_be_honoured_are_one_line_errors(args, match, tmp_path):
    fails(*args, cwd=tmp_path, match=match)


def test_hidden_takes_commas_or_spaces_and_negative_numbers_parse(tmp_path):
    a = json.loads(run("train", "xor", "--hidden", "8,4", "--epochs", "1", "--json", "--out",
                       "a", cwd=tmp_path).stdout)
    b = json.loads(run("train", "xor", "--hidden", "8", "4", "--epochs", "1", "--json", "--out",
                       "b", cwd=tmp_path).stdout)
    assert a["layers"] == b["layers"] == [2, 8, 4, 2]
    out = run("descent", "--start", "-2.5,2", "--steps", "2", "--plot", "none",
              cwd=tmp_path).stdout
    assert "(-2.5, 2)" in out


# -- guesses that go wrong ------------------------------------------------------------------


def test_rows_without_a_target_are_left_out_and_counted_constant_targets_are_errors(tmp_path):
    rows = [[i, i % 3] for i in range(40)]
    rows[17][1] = "NA"
    write_csv(tmp_path / "na.csv", ["x", "y"], rows)
    proc = run("train", "na.csv", "--target", "y", "--epochs", "2", "--json", cwd=tmp_path)
    assert "left out 1 rows with no target value (line 19)" in proc.stderr
    ok = json.loads(proc.stdout)
    assert ok["task"] == "classification"
    write_csv(tmp_path / "const.csv", ["x", "y"], [[i, 5.0] for i in range(20)])
    fails("train", "const.csv", "--target", "y", cwd=tmp_path, match="is constant (5 in all 20")


def test_task_is_inferred_from_the_targets_and_said(tmp_path):
    write_csv(tmp_path / "few.csv", ["x", "y"], [[i, i % 3] for i in range(60)])
    out = run("train", "few.csv", "--target", "y", "--epochs", "1", cwd=tmp_path).stdout
    assert "task: classification (inferred from the target 'y': 3 distinct integer values" in out
    out = run("train", "few.csv", "--target", "y", "--epochs", "1", "--task", "regression",
              "--out", "reg", cwd=tmp_path).stdout
    assert "task: regression (--task)" in out


def test_regression_targets_are_standardised_and_scaled_back(tmp_path):
    # A target in the hundreds (as the diabetes progression): unscaled, a 64-unit network
    # in 50 epochs is far from it; standardised, it fits, and predictions come back in units.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 5))
    y = 150 + 60 * X[:, 0] - 30 * X[:, 1] + 5 * rng.normal(size=400)
    write_csv(tmp_path / "prog.csv", ["a", "b", "c", "d", "e", "progression"],
              [[*np.round(x, 4), round(t, 3)] for x, t in zip(X, y)])
    args = ("train", "prog.csv", "--target", "progression", "--hidden", "64", "--epochs", "50",
            "--json")
    scaled = json.loads(run(*args, cwd=tmp_path).stdout)
    raw = json.loads(run(*args, "--no-standardize-target", "--out", "raw", cwd=tmp_path).stdout)
    assert scaled["test_r2"] > 0.95 > raw["test_r2"]
    write_csv(tmp_path / "rows.csv", ["a", "b", "c", "d", "e"], np.round(X[:20], 4))
    pred = np.array(run("predict", scaled["model"], "rows.csv", cwd=tmp_path).stdout.split()[1:],
                    dtype=float)
    assert np.sqrt(np.mean((pred - y[:20]) ** 2)) < 15  # in the target's own units
    ev = json.loads(run("evaluate", scaled["model"], "prog.csv", "--json", cwd=tmp_path).stdout)
    assert ev["r2"] == pytest.approx(scaled["test_r2"])
    assert ev["mse"] == pytest.approx(scaled["test_mse"])


def test_nielsens_sigmoid_quadratic_classifier_reports_accuracy(tmp_path):
    res = json.loads(run("train", "digits", "--output-activation", "sigmoid", "--loss", "mse",
                         "--epochs", "10", "--json", cwd=tmp_path).stdout)
    assert res["task"] == "classification" and res["test_accuracy"] > 0.9
    ev = json.loads(run("evaluate", res["model"], "digits", "--json", cwd=tmp_path).stdout)
    assert ev["accuracy"] == res["test_accuracy"]


@pytest.mark.parametrize("sep,name", [("\t", "data.tsv"), (";", "data.csv")])
def test_delimiters_are_detected(sep, name, tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 2))
    write_csv(tmp_path / name, ["a", "b", "y"], [[*np.round(x, 3), int(x[0] > 0)] for x in X],
              sep=sep)
    res = json.loads(run("train", name, "--target", "y", "--epochs", "2", "--json",
                         cwd=tmp_path).stdout)
    assert res["layers"][0] == 2


def test_a_file_named_like_a_builtin_set_does_not_shadow_it(tmp_path):
    (tmp_path / "iris").write_text("not,a\ndata,set\n")
    res = json.loads(run("train", "iris", "--epochs", "1", "--json", cwd=tmp_path).stdout)
    assert res["data"] == "iris" and res["layers"][0] == 4


# -- work that is lost ----------------------------------------------------------------------


def test_ctrl_c_keeps_the_model_and_resume_continues_bit_for_bit(tmp_path, monkeypatch,
                                                                 capsys):
    monkeypatch.chdir(tmp_path)
    args = ["train", "wine", "--hidden", "16", "--epochs", "6", "--optimizer", "momentum",
            "-q"]
    assert cli.main(args + ["--out", "full"]) == 0
    assert cli.main(args + ["--out", "run"]) == 0
    previous = (tmp_path / "run" / "model.npz").read_bytes()
    with monkeypatch.context() as m:
        interrupt_at(m, 3)
        assert cli.main(args + ["--out", "run"]) == 130
    err = capsys.readouterr().err
    assert "model.npz is unchanged" in err and "deltaprop train --resume run" in err
    assert (tmp_path / "run" / "model.npz").read_bytes() == previous
    assert (tmp_path / "run" / "checkpoint.npz").exists()
    assert cli.main(["train", "--resume", "run", "--hidden", "8"]) == 2  # options are the run's
    assert cli.main(["train", "--resume", "run", "-q"]) == 0
    assert not (tmp_path / "run" / "checkpoint.npz").exists()
    full, resumed = dp.load("full/model.npz"), dp.load("run/model.npz")
    for (a, _), (b, _) in zip(full.parameters(), resumed.parameters()):
        np.testing.assert_array_equal(a, b)


def test_sigint_to_a_real_train_exits_130_with_a_checkpoint(tmp_path):
    proc = subprocess.Popen([sys.executable, "-u", "-m", "deltaprop", "train", "digits",
                             "--epochs", "200", "--out", "run"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    for line in proc.stdout:
        if line.startswith("Epoch 2/"):
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "continue it with: deltaprop train --resume run" in err
    assert (tmp_path / "run" / "checkpoint.npz").exists()
    assert not (tmp_path / "run" / "model.npz").exists()


def test_an_unwritable_output_directory_fails_before_training(tmp_path):
    (tmp_path / "afile").write_text("x")
    fails("train", "iris", "--out", "afile/sub", cwd=tmp_path,
          match="cannot write to the output directory afile/sub")


# -- messages that mislead ------------------------------------------------------------------


def test_numpy_warnings_never_reach_the_output(tmp_path):
    proc = run("train", "iris", "--optimizer", "sgd", "--lr", "1e6", "--epochs", "3",
               cwd=tmp_path, check=False)
    assert proc.returncode == 2
    assert "RuntimeWarning" not in proc.stderr + proc.stdout
    assert proc.stderr.strip().splitlines()[-1].startswith("deltaprop train: error: training "
                                                           "diverged")


def test_a_closed_pipe_ends_quietly(iris_model):
    cwd, trained = iris_model
    proc = subprocess.run(f"{sys.executable} -m deltaprop summary {trained['model']} | head -1",
                          shell=True, cwd=cwd, capture_output=True, text=True, timeout=60)
    assert proc.stderr == "" and proc.stdout.startswith("MLP")


def test_core_install_trains_without_scikit_learn(tmp_path):
    code = ("import sys; sys.modules['sklearn'] = None; sys.modules['matplotlib'] = None\n"
            "from deltaprop.cli import main\n"
            "sys.exit(main(['train', '--epochs', '2']))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "test: loss" in proc.stdout and "matplotlib is not installed" in proc.stdout
