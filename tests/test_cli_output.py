"""``predict -o``: the file follows the model files' rules (issue 26, item 4): a new file
gets the umask's mode, an existing one keeps its mode, a symbolic link is written through
(the link stays), and a directory gives one clear line. The other files the commands write
(explain traces, exercise sheets and keys, ONNX exports) are replaced the same way."""

import os
import stat

import numpy as np
import pytest

import deltaprop as dp
from deltaprop import cli

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX modes and links")


@pytest.fixture(scope="module")
def model_and_rows(tmp_path_factory):
    here = tmp_path_factory.mktemp("predict")
    X, _ = dp.datasets.load_iris()
    header = ",".join(dp.datasets.dataset_info("iris")["feature_names"])
    np.savetxt(here / "in.csv", X[:5], delimiter=",", header=header, comments="", fmt="%g")
    cwd = os.getcwd()
    os.chdir(here)
    try:
        assert cli.main(["train", "iris", "--epochs", "1", "--out", "run", "-q"]) == 0
    finally:
        os.chdir(cwd)
    return here / "run" / "model.npz", here / "in.csv"


def predict(model_and_rows, out):
    model, rows = model_and_rows
    return cli.main(["predict", str(model), str(rows), "-o", str(out)])


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_file_gets_the_umasks_mode(model_and_rows, tmp_path):
    old = os.umask(0o022)
    try:
        assert predict(model_and_rows, tmp_path / "a.csv") == 0
        os.umask(0o002)
        assert predict(model_and_rows, tmp_path / "b.csv") == 0
    finally:
        os.umask(old)
    assert _mode(tmp_path / "a.csv") == 0o644
    assert _mode(tmp_path / "b.csv") == 0o664


def test_an_existing_file_keeps_its_mode(model_and_rows, tmp_path):
    out = tmp_path / "shared.csv"
    out.write_text("old\n")
    os.chmod(out, 0o664)
    assert predict(model_and_rows, out) == 0
    assert _mode(out) == 0o664
    assert out.read_text().startswith("prediction")


def test_a_link_is_written_through_and_stays_a_link(model_and_rows, tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "pred.csv"
    target.write_text("old\n")
    os.chmod(target, 0o640)
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    assert predict(model_and_rows, link) == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text().startswith("prediction") and _mode(target) == 0o640
    assert not [p for p in (tmp_path / "real").iterdir() if p.name != "pred.csv"]
    # a link to a file not yet there creates it, as the shell's > does
    dangling = tmp_path / "later.csv"
    dangling.symlink_to(tmp_path / "real" / "new.csv")
    assert predict(model_and_rows, dangling) == 0
    assert dangling.is_symlink() and (tmp_path / "real" / "new.csv").is_file()


def test_a_link_to_the_model_is_refused(model_and_rows, tmp_path, capsys):
    model, _ = model_and_rows
    link = tmp_path / "m.csv"
    link.symlink_to(model)
    before = model.read_bytes()
    assert predict(model_and_rows, link) == 2
    assert "would overwrite the model" in capsys.readouterr().err
    assert model.read_bytes() == before


@pytest.mark.parametrize("name, words", [
    (".", "it is a directory; name a file"),
    ("missing/p.csv", "the directory"),
])
def test_a_path_that_cannot_be_a_file_gives_one_clear_line(model_and_rows, tmp_path, capsys,
                                                          name, words):
    out = tmp_path / name
    assert predict(model_and_rows, out) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("deltaprop predict: error: cannot write ")
    assert words in err[0] and ".tmp" not in err[0] and "Errno" not in err[0], err
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_an_unwritable_directory_gives_one_clear_line(model_and_rows, tmp_path, capsys):
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(locked, 0o500)
    try:
        assert predict(model_and_rows, locked / "p.csv") == 2
    finally:
        os.chmod(locked, 0o700)
    err = capsys.readouterr().err
    assert "Permission denied" in err and ".tmp" not in err


# -- one writer for every file (deltaprop.io.write_atomically) -----------------------------
def _dead_pid():
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_what_a_killed_predict_left_is_removed_by_the_next(model_and_rows, tmp_path):
    stale = tmp_path / f".p.csv.{_dead_pid()}.{'ab' * 8}.tmp"  # kill -9 during a write
    stale.write_text("prediction\n0\n")
    assert predict(model_and_rows, tmp_path / "p.csv") == 0
    assert [p.name for p in tmp_path.iterdir()] == ["p.csv"]


def test_the_predictions_reach_the_disk_before_the_rename(model_and_rows, tmp_path,
                                                         monkeypatch):
    calls = []
    fsync, replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append("fsync"), fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (calls.append(b), replace(a, b))[1])
    out = tmp_path / "p.csv"
    assert predict(model_and_rows, out) == 0
    assert calls == ["fsync", out]


def test_ctrl_c_while_writing_the_predictions_keeps_the_old_file(model_and_rows, tmp_path,
                                                                monkeypatch):
    import csv

    out = tmp_path / "p.csv"
    out.write_text("old\n")

    class Interrupted:
        def __init__(self, f):
            pass

        def writerow(self, row):
            raise KeyboardInterrupt

    monkeypatch.setattr(csv, "writer", Interrupted)
    assert predict(model_and_rows, out) == 130
    assert out.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["p.csv"]


def test_an_onnx_export_follows_the_same_rules(model_and_rows, tmp_path):
    pytest.importorskip("onnx")
    model, _ = model_and_rows
    old = os.umask(0o022)
    try:
        assert cli.main(["export", str(model), "-o", str(tmp_path / "new.onnx")]) == 0
    finally:
        os.umask(old)
    assert _mode(tmp_path / "new.onnx") == 0o644  # was 0o600: a private temporary's mode
    real = tmp_path / "real.onnx"
    real.write_bytes(b"old")
    os.chmod(real, 0o640)
    (tmp_path / "link.onnx").symlink_to(real)
    assert cli.main(["export", str(model), "-o", str(tmp_path / "link.onnx")]) == 0
    assert (tmp_path / "link.onnx").is_symlink() and _mode(real) == 0o640
    assert real.read_bytes() == (tmp_path / "new.onnx").read_bytes()


@pytest.fixture
def text_writers(tmp_path):
    """The commands that write a text file for the user, each as a function of the path:
    an explain trace, an exercise's key, an exercise's sheets (a directory of files)."""
    assert cli.main(["exercise", "new", "--network", "2-2-1", "--activation", "sigmoid",
                     "-o", str(tmp_path / "ex")]) == 0
    return {
        "explain -o": lambda path: ["explain", "--example", "sigmoid-4-layer", "-o", str(path)],
        "exercise key -o": lambda path: ["exercise", "key", str(tmp_path / "ex"), "-o",
                                         str(path), "--force"],
        "exercise new -o": lambda path: ["exercise", "new", "--network", "2-2-1", "--seed", "3",
                                         "-o", str(path.parent), "--force"],
    }


@pytest.mark.parametrize("command", ["explain -o", "exercise key -o", "exercise new -o"])
def test_every_text_file_a_command_writes_is_replaced_only_once_on_the_disk(
        command, text_writers, tmp_path, monkeypatch):
    """Ctrl-C before the new text is on the disk (at its fsync) leaves the old file whole,
    as for model files and predictions: the text is written beside it, then renamed."""
    target = tmp_path / "out" / "sheet.md"  # exercise new writes sheet.md among others
    target.parent.mkdir()
    target.write_text("old\n")

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    assert cli.main(text_writers[command](target)) == 130
    assert target.read_text() == "old\n"
    assert not [p for p in target.parent.iterdir() if p.name.endswith(".tmp")]
