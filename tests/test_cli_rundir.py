"""A run's directory: an interrupted run's resume record survives a new run, and the
Ctrl-C messages speak to the command's user (issue 26, item 1)."""

import json

import numpy as np
import pytest

import deltaprop as dp
from deltaprop import cli
from conftest import interrupt_at


@pytest.fixture
def interrupted(tmp_path, monkeypatch, capsys):
    """``run/``: a digits run stopped by Ctrl-C after its second epoch."""
    monkeypatch.chdir(tmp_path)
    with monkeypatch.context() as m:
        interrupt_at(m, 1)
        assert cli.main(["train", "digits", "--hidden", "8", "--epochs", "50", "--out", "run",
                         "-q"]) == 130
    capsys.readouterr()
    run = tmp_path / "run"
    return run, {p.name: p.read_bytes() for p in run.iterdir()}


def test_a_new_run_into_an_interrupted_runs_directory_is_refused(interrupted, capsys):
    run, before = interrupted
    assert cli.main(["train", "iris", "--epochs", "2", "--out", "run", "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "run holds an interrupted run" in err[0]
    assert "--resume run" in err[0] and "another --out" in err[0] and "--overwrite" in err[0]
    # nothing there was written: the run still resumes, with the digits' 64 features
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before
    assert cli.main(["train", "--resume", "run", "--epochs", "3", "-q"]) == 0
    assert dp.load(run / "model.npz").n_inputs == 64
    assert not (run / "checkpoint.npz").exists()


def test_overwrite_starts_a_new_run_and_discards_the_stale_checkpoint(interrupted):
    run, _ = interrupted
    assert cli.main(["train", "iris", "--epochs", "2", "--out", "run", "-q",
                     "--overwrite"]) == 0
    assert not (run / "checkpoint.npz").exists()
    assert dp.load(run / "model.npz").n_inputs == 4
    record = json.loads((run / "run.json").read_text())
    assert record["data"] == "iris" and "overwrite" not in record
    # and --resume now says there is nothing to resume
    assert cli.main(["train", "--resume", "run"]) == 2


def test_resume_does_not_take_overwrite(interrupted, capsys):
    assert cli.main(["train", "--resume", "run", "--overwrite"]) == 2
    assert "not --overwrite" in capsys.readouterr().err


def test_a_finished_run_may_still_be_replaced(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["train", "iris", "--epochs", "1", "--out", "run", "-q"]) == 0
    assert cli.main(["train", "wine", "--epochs", "1", "--out", "run", "-q"]) == 0
    assert dp.load(tmp_path / "run" / "model.npz").n_inputs == 13


def test_the_ctrl_c_messages_give_no_python_advice_and_name_only_a_model_that_exists(
        tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = ["train", "iris", "--hidden", "8", "--epochs", "20", "--out", "run"]
    with monkeypatch.context() as m:
        interrupt_at(m, 2)
        assert cli.main(args) == 130
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "fit(" not in text and "resume=True" not in text
    assert "unchanged" not in text  # there was no model.npz
    assert "continue it with: deltaprop train --resume run" in captured.err
    assert cli.main(["train", "--resume", "run", "-q"]) == 0
    with monkeypatch.context() as m:
        interrupt_at(m, 2)
        assert cli.main(args + ["--overwrite"]) == 130
    err = capsys.readouterr().err
    assert "run/model.npz is unchanged" in err


def test_python_callers_still_learn_how_to_continue():
    X, y = dp.datasets.load_iris()
    net = dp.MLP([4, 8, 3], output="softmax", loss="cross_entropy", seed=0)

    def stop(epoch, logs):
        if epoch == 1:
            raise KeyboardInterrupt

    history = net.fit(X, y, epochs=5, verbose=0, seed=0,
                      callbacks=[dp.LambdaCallback(on_epoch_end=stop)])
    assert history.interrupted
    assert "continue with fit(..., resume=True)" in repr(history)
    again = net.fit(X, y, epochs=5, verbose=0, resume=True)
    assert len(again.epoch) == 4 and np.isfinite(again["loss"]).all()
