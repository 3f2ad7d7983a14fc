"""The ``deltaprop`` command, run for real in a subprocess."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import SHARED_DATASETS


def run(*args, cwd, check=True):
    proc = subprocess.run([sys.executable, "-m", "deltaprop", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def fails(*args, cwd, match):
    proc = run(*args, cwd=cwd, check=False)
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and match in err[0], proc.stderr
    return err[0]


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """The README's main job: `deltaprop train` with no further arguments."""
    cwd = tmp_path_factory.mktemp("main-job")
    proc = run("train", cwd=cwd)
    return cwd, proc


def test_console_script_is_installed():
    assert shutil.which("deltaprop") is not None


def test_main_job_trains_on_digits(digits_run):
    cwd, proc = digits_run
    out = proc.stdout
    assert "dense_1" in out and "Total params" in out  # the summary table
    stopped = [ln for ln in out.splitlines() if ln.startswith("stopped at epoch ")][0]
    words = stopped.replace(":", "").replace(";", "").split()
    epochs, patience, restored = int(words[3]), int(words[11]), int(words[-1])
    assert f"Epoch {epochs}/1000" in out and restored == epochs - patience  # early stopping
    assert patience == max(10, -(-1000 // 38))  # 10 epochs or 1,000 steps (38 an epoch)
    line = [ln for ln in out.splitlines() if ln.startswith("test: ")][0]
    accuracy = float(line.split("accuracy ")[1].split()[0])
    assert accuracy > 0.95
    for name in ("model.npz", "history.json", "learning_curve.png", "gradient_norms.png",
                 "confusion_matrix.png"):
        assert (cwd / "runs" / "digits" / name).stat().st_size > 0
    history = json.loads((cwd / "runs" / "digits" / "history.json").read_text())
    assert len(history["loss"]) == epochs and "val_accuracy" in history


def test_summary_evaluate_predict(digits_run, tmp_path):
    cwd, _ = digits_run
    model = cwd / "runs" / "digits" / "model.npz"
    out = run("summary", model, cwd=tmp_path).stdout
    assert "dense_2" in out and "softmax" in out and "Total params: 9,610" in out
    res = json.loads(run("evaluate", model, "digits", "--json", cwd=tmp_path).stdout)
    assert res["accuracy"] > 0.95 and res["loss"] > 0
    import deltaprop as dp

    X, y = dp.datasets.load_digits()
    header = ",".join(dp.datasets.dataset_info("digits")["feature_names"])
    np.savetxt(tmp_path / "in.csv", X[:20], delimiter=",", header=header, comments="", fmt="%g")
    run("predict", model, "in.csv", "-o", "pred.csv", "--proba", cwd=tmp_path)
    lines = (tmp_path / "pred.csv").read_text().splitlines()
    assert lines[0].startswith("prediction,p_0,p_1") and len(lines) == 21
    pred = np.array([int(ln.split(",")[0]) for ln in lines[1:]])
    assert np.mean(pred == y[:20]) >= 0.9
    stdout = run("predict", model, "in.csv", cwd=tmp_path).stdout
    assert stdout.splitlines()[0] == "prediction" and len(stdout.splitlines()) == 21


def test_train_json_and_options(tmp_path):
    proc = run("train", "moons", "--hidden", "16,16", "--activation", "tanh", "--epochs", "40",
               "--optimizer", "momentum", "--lr", "0.05", "--batch-size", "16", "--l2", "1e-4",
               "--seed", "1", "--val-split", "0.2", "--early-stopping", "5", "--plot-boundary",
               "--json", "--out", "out", cwd=tmp_path)
    res = json.loads(proc.stdout)
    assert res["layers"] == [2, 16, 16, 2] and res["test_accuracy"] > 0.85
    assert 1 <= res["epochs"] <= 40
    assert (tmp_path / "out" / "decision_boundary.png").exists()


def test_train_is_reproducible_on_generated_data(tmp_path):
    """The same --seed draws the same moons and trains the same network: same figures."""
    args = ("train", "moons", "--hidden", "8", "--epochs", "5", "--seed", "3", "--json")
    first, second = (json.loads(run(*args, "--out", out, cwd=tmp_path).stdout) for out in "ab")
    assert first["test_accuracy"] == second["test_accuracy"]
    assert first["test_loss"] == second["test_loss"]


def _write_csv(path, header, rows):
    path.write_text("\n".join([",".join(header)] + [",".join(map(str, r)) for r in rows]) + "\n")


def test_train_on_csv_classification_and_regression(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    labels = np.where(X[:, 0] + X[:, 1] > 0, "high", "low")
    _write_csv(tmp_path / "cls.csv", ["a", "b", "c", "kind"],
               [[*np.round(x, 4), lab] for x, lab in zip(X, labels)])
    res = json.loads(run("train", "cls.csv", "--target", "kind", "--epochs", "30", "--json",
                         cwd=tmp_path).stdout)
    assert res["task"] == "classification" and res["test_accuracy"] > 0.85
    target = X @ [1.0, -2.0, 0.5] + 0.1 * rng.normal(size=200)
    _write_csv(tmp_path / "reg.csv", ["a", "b", "c", "y"],
               [[*np.round(x, 4), round(t, 4)] for x, t in zip(X, target)])
    res = json.loads(run("train", "reg.csv", "--target", "y", "--epochs", "60", "--json",
                         "--hidden", "32", "--lr", "0.01", cwd=tmp_path).stdout)
    assert res["task"] == "regression" and res["test_r2"] > 0.9
    model = tmp_path / "runs" / "reg" / "model.npz"
    ev = json.loads(run("evaluate", model, "reg.csv", "--target", "y", "--json",
                        cwd=tmp_path).stdout)
    assert ev["r2"] > 0.9


@pytest.mark.skipif(not (SHARED_DATASETS / "mnist").is_dir(), reason="shared MNIST not present")
def test_train_mnist_from_the_idx_files(tmp_path):
    res = json.loads(run("train", "mnist", "--data-dir", SHARED_DATASETS / "mnist", "--hidden",
                         "32", "--epochs", "1", "--batch-size", "256", "--json",
                         cwd=tmp_path).stdout)
    assert res["test_accuracy"] > 0.85


@pytest.mark.parametrize("command", ["train", "evaluate", "predict", "summary", "explain", "descent",
                                     "export", "exercise"])
def test_help_with_examples(command, tmp_path):
    out = run(command, "--help", cwd=tmp_path).stdout
    assert "examples:" in out and "usage: deltaprop " + command in out


def test_errors_are_one_line(tmp_path, digits_run):
    model = digits_run[0] / "runs" / "digits" / "model.npz"
    fails("train", "nope.csv", "--target", "y", cwd=tmp_path, match="nope.csv")
    (tmp_path / "ragged.csv").write_text("a,b,y\n1,2,3\n4,5\n")
    fails("train", "ragged.csv", "--target", "y", cwd=tmp_path, match="line 3")
    (tmp_path / "ok.csv").write_text("a,b,y\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n")
    fails("train", "ok.csv", "--target", "label", cwd=tmp_path, match="label")
    fails("train", "ok.csv", cwd=tmp_path, match="--target")
    rows = "".join(f"{i},{i % 7},{i % 2}\n" for i in range(30))
    (tmp_path / "text.csv").write_text("a,b,y\n1,x2,0\n" + rows)  # a typo among numbers
    err = fails("train", "text.csv", "--target", "y", cwd=tmp_path, match="x2")
    assert "line 2, column 'b'" in err and "--categorical b" in err
    fails("train", "mnist", cwd=tmp_path, match="data_dir")
    fails("train", "mnist", "--data-dir", tmp_path / "absent", cwd=tmp_path, match="absent")
    fails("train", "nosuchset", cwd=tmp_path, match="nosuchset")
    fails("predict", model, "ok.csv", cwd=tmp_path, match="ok.csv has no column 'pixel_0_0'")
    fails("evaluate", model, "iris", cwd=tmp_path, match="model expects 64")
    fails("summary", tmp_path / "missing.npz", cwd=tmp_path, match="does not exist")
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 not really")
    fails("summary", tmp_path / "broken.npz", cwd=tmp_path, match="not a readable")


def test_argument_errors_exit_2(tmp_path):
    proc = run("train", "--hidden", "12,-3", cwd=tmp_path, check=False)
    assert proc.returncode == 2 and "layer sizes must be positive" in proc.stderr
    proc = run("train", "--activation", "rleu", cwd=tmp_path, check=False)
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_train_with_dropout_and_batch_norm(tmp_path):
    proc = run("train", "iris", "--hidden", "16,16", "--epochs", "60", "--dropout", "0.2",
               "--norm", "batch", "--json", cwd=tmp_path)
    result = json.loads(proc.stdout)
    assert result["test_accuracy"] > 0.8
    summary = run("summary", result["model"], cwd=tmp_path).stdout
    assert "batch_norm_1" in summary and "dropout_2" in summary
    # the saved model evaluates to the figure train printed (dropout off, running statistics)
    again = json.loads(run("evaluate", result["model"], "iris", "--json",
                           cwd=tmp_path).stdout)
    assert again["rows"] == 38 and again["split"] == "test"
    assert again["accuracy"] == result["test_accuracy"]
    for bad, message in ((("--norm", "group"), "invalid choice: 'group'"),
                         (("--dropout", "1.5"), "expected a fraction in [0, 1), got 1.5")):
        proc = run("train", "iris", *bad, cwd=tmp_path, check=False)
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr
