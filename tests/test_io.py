"""Model files: exact roundtrip, no code execution, atomic writes, clear errors."""

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.io import FORMAT_VERSION, ModelFileError, check_writable, write_atomically


@pytest.fixture
def trained(rng):
    X = rng.normal(size=(60, 4))
    y = np.array(["setosa", "versicolor", "virginica"])[np.arange(60) % 3]
    net = dp.MLP([4, 6, 5, 3], activation="leaky_relu", output="softmax", loss="cross_entropy",
                 l2=1e-3, dtype="float64", seed=0)
    net.fit(X, y, epochs=2, verbose=0, seed=0)
    return net, X, y


def test_roundtrip(trained, tmp_path):
    net, X, y = trained
    path = tmp_path / "model.npz"
    net.save(path)
    again = dp.load(path)
    assert type(again) is dp.MLP and again.layer_sizes == [4, 6, 5, 3]
    assert again.dtype == np.float64 and again.l2 == 1e-3
    assert again.loss_function.name == "cross_entropy"
    assert [layer.activation.name for layer in again.layers] == ["leaky_relu"] * 2 + ["softmax"]
    assert list(again.classes_) == ["setosa", "versicolor", "virginica"]
    np.testing.assert_array_equal(again.predict_proba(X), net.predict_proba(X))
    np.testing.assert_array_equal(again.predict(X), net.predict(X))
    assert again.train_state_["epoch"] == 2


def test_float32_and_integer_labels_and_plain_names(rng, tmp_path):
    net = dp.MLP([3, 2], output="softmax", loss="cross_entropy", seed=0)
    net.fit(rng.normal(size=(10, 3)), np.arange(10) % 2, epochs=1, verbose=0)
    path = tmp_path / "model-without-suffix"
    net.save(path, include_optimizer=False)
    assert path.exists() and not (tmp_path / "model-without-suffix.npz").exists()
    again = dp.load(path)
    assert again.dtype == np.float32 and again.classes_.dtype.kind == "i"
    assert getattr(again, "train_state_", None) is None


def test_file_holds_no_pickled_objects(trained, tmp_path):
    net, _, _ = trained
    path = tmp_path / "m.npz"
    net.save(path)
    with np.load(path, allow_pickle=False) as npz:  # would raise on object arrays
        assert all(npz[k].dtype != object for k in npz.files)
        meta = json.loads(npz["__meta__"].tobytes())
    assert meta["format_version"] == FORMAT_VERSION


def test_a_crash_during_save_leaves_the_old_file_intact(trained, tmp_path, monkeypatch):
    net, X, _ = trained
    path = tmp_path / "m.npz"
    net.save(path)
    before = path.read_bytes()

    def exploding_savez(f, **arrays):
        f.write(b"partial garbage")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", exploding_savez)
    with pytest.raises(OSError, match="disk full"):
        net.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]  # no temporary file left


def _rewrite(path, mutate):
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k].copy() for k in npz.files}
    mutate(arrays)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def test_tampered_weights_are_detected(trained, tmp_path):
    net, _, _ = trained
    path = tmp_path / "m.npz"
    net.save(path)
    _rewrite(path, lambda a: a["layer1/W"].__setitem__((0, 0), 42.0))
    with pytest.raises(ModelFileError, match="do not match the file's checksum"):
        dp.load(path)


def test_wrong_version(trained, tmp_path):
    net, _, _ = trained
    path = tmp_path / "m.npz"
    net.save(path)

    def bump(arrays):
        meta = json.loads(arrays["__meta__"].tobytes())
        meta["format_version"] = 99
        arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)

    _rewrite(path, bump)
    with pytest.raises(ModelFileError, match="format version 99; this deltaprop reads version 1"):
        dp.load(path)


def test_truncated_and_corrupted_files(trained, tmp_path):
    net, _, _ = trained
    path = tmp_path / "m.npz"
    net.save(path)
    data = path.read_bytes()
    (tmp_path / "short.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="short.npz is not a readable deltaprop model file"):
        dp.load(tmp_path / "short.npz")
    flipped = bytearray(data)
    mid = len(flipped) // 2
    flipped[mid:mid + 64] = bytes(64)
    (tmp_path / "flip.npz").write_bytes(bytes(flipped))
    with pytest.raises(ModelFileError):
        dp.load(tmp_path / "flip.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ModelFileError, match="not a readable"):
        dp.load(tmp_path / "text.npz")
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ModelFileError, match="not a deltaprop model file"):
        dp.load(tmp_path / "other.npz")
    with pytest.raises(ModelFileError, match="does not exist"):
        dp.load(tmp_path / "missing.npz")


def test_pickle_payload_is_refused(tmp_path):
    """An .npz whose entry is a pickled object must not be unpickled."""
    path = tmp_path / "evil.npz"
    np.savez(path, __meta__=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ModelFileError):
        dp.load(path)


def test_save_into_a_missing_directory(trained, tmp_path):
    net, _, _ = trained
    with pytest.raises(ModelFileError, match="directory .* does not exist"):
        net.save(tmp_path / "nope" / "m.npz")


# -- the data contract ---------------------------------------------------------------------
DATA_INFO = {
    "feature_names": ["sepal length", "sepal width", "petal length", "petal width"],
    "target_name": "species",
    "task": "classification",
    "source": "iris.csv",
    "split": {"seed": 0, "test_fraction": 0.2, "val_fraction": 0.1, "n_rows": 150,
              "fingerprint": "0123456789abcdef" * 4},
    "target_scaling": None,
}


def test_the_data_contract_round_trips(trained, tmp_path):
    net, _, _ = trained
    net.data_info_ = json.loads(json.dumps(DATA_INFO))
    net.save(tmp_path / "m.npz")
    assert dp.load(tmp_path / "m.npz").data_info_ == DATA_INFO
    del net.data_info_
    net.save(tmp_path / "plain.npz")
    assert dp.load(tmp_path / "plain.npz").data_info_ is None


def test_a_regression_contract_with_target_scaling(rng, tmp_path):
    net = dp.MLP([3, 4, 2], seed=0)
    net.fit(rng.normal(size=(12, 3)), rng.normal(size=(12, 2)), epochs=1, verbose=0)
    info = {"feature_names": None, "target_name": None, "task": "regression",
            "source": "diabetes", "split": None,
            "target_scaling": {"mean": [150.5, -2.0], "scale": [77.0, 1.5]}}
    net.data_info_ = info
    net.save(tmp_path / "r.npz")
    assert dp.load(tmp_path / "r.npz").data_info_ == info


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(feature_names=["a", "b"]),
     "data.feature_names has 2 names but the network has 4 inputs"),
    (lambda d: d.update(feature_names=["a", "a", "b", "c"]), "data.feature_names has the value"),
    (lambda d: d.update(task="clustering"), "data.task must be 'classification', 'regression'"),
    (lambda d: d["split"].update(fingerprint="xyz"), "data.split.fingerprint must be a SHA-256"),
    (lambda d: d["split"].update(test_fraction=1.5), "data.split.test_fraction must be a finite"),
    (lambda d: d.update(target_scaling={"mean": [0.0], "scale": [1.0]}),
     "data.target_scaling is for regression"),
    (lambda d: d.pop("source"), "data has no 'source'"),
    (lambda d: d.update(extra=1), "data has an unknown entry 'extra'"),
])
def test_a_bad_data_contract_is_refused_at_save(trained, tmp_path, change, message):
    net, _, _ = trained
    info = json.loads(json.dumps(DATA_INFO))
    change(info)
    net.data_info_ = info
    with pytest.raises(ValueError, match=re.escape(message)):
        net.save(tmp_path / "m.npz")
    assert not list(tmp_path.iterdir())  # nothing written


def test_an_edited_data_contract_is_detected(trained, tmp_path):
    net, _, _ = trained
    net.data_info_ = json.loads(json.dumps(DATA_INFO))
    net.save(tmp_path / "m.npz")

    def rename(arrays):
        meta = json.loads(arrays["__meta__"].tobytes())
        meta["data"]["feature_names"][0] = "renamed"
        arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)

    _rewrite(tmp_path / "m.npz", rename)
    with pytest.raises(ModelFileError, match="do not match the file's checksum"):
        dp.load(tmp_path / "m.npz")


# -- class labels keep their dtype ---------------------------------------------------------
@pytest.mark.parametrize("classes", [
    np.array([False, True]),
    np.array([3, 7], dtype=np.uint8),
    np.array([-1, 1], dtype=np.int32),
    np.array([0.5, 2.25], dtype=np.float32),
    np.array([0.0, 1.0]),
    np.array(["no", "yes"], dtype="<U12"),
], ids=lambda c: str(c.dtype))
def test_class_labels_come_back_with_their_dtype(rng, tmp_path, classes):
    net = dp.MLP([3, 2], output="softmax", loss="cross_entropy", seed=0)
    net.fit(rng.normal(size=(8, 3)), classes[np.arange(8) % 2], epochs=1, verbose=0)
    net.classes_ = classes  # as fit would keep them
    net.save(tmp_path / "m.npz")
    again = dp.load(tmp_path / "m.npz")
    assert again.classes_.dtype == classes.dtype
    np.testing.assert_array_equal(again.classes_, classes)


def test_complex_labels_are_refused_at_save(trained, tmp_path):
    net, _, _ = trained
    net.classes_ = np.array([1 + 1j, 2, 3])
    with pytest.raises(ValueError, match="class labels .* are complex numbers; class labels "
                                         "must be integers, floats, booleans or strings"):
        net.save(tmp_path / "m.npz")
    assert not list(tmp_path.iterdir())


# -- saving: modes, stale temporaries, finite arrays, the target ---------------------------
@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
def test_a_new_file_gets_the_umask_mode_and_an_old_one_keeps_its_own(trained, tmp_path):
    net, _, _ = trained
    old = os.umask(0o022)
    try:
        net.save(tmp_path / "new.npz")
        assert stat.S_IMODE(os.stat(tmp_path / "new.npz").st_mode) == 0o644
        os.umask(0o077)
        net.save(tmp_path / "private.npz")
        assert stat.S_IMODE(os.stat(tmp_path / "private.npz").st_mode) == 0o600
        os.chmod(tmp_path / "new.npz", 0o640)
        net.save(tmp_path / "new.npz")
        assert stat.S_IMODE(os.stat(tmp_path / "new.npz").st_mode) == 0o640
    finally:
        os.umask(old)


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temporary_files_are_removed_by_the_next_save(trained, tmp_path):
    net, _, _ = trained
    dead = _dead_pid()
    stale = tmp_path / f".m.npz.{dead}.{'ab' * 8}.tmp"
    legacy_old = tmp_path / ".m.npz.k2j4h5g6.tmp"  # an older deltaprop's name: no pid
    legacy_new = tmp_path / ".m.npz.a1b2c3d4.tmp"
    live = tmp_path / f".m.npz.{os.getppid()}.{'cd' * 8}.tmp"  # a concurrent save
    other = tmp_path / f".other.npz.{dead}.{'ef' * 8}.tmp"  # another target's
    notes = tmp_path / ".m.npz.notes.tmp"  # not our pattern
    for p in (stale, legacy_old, legacy_new, live, other, notes):
        p.write_bytes(b"x" * 100)
    os.utime(legacy_old, (time.time() - 3600, time.time() - 3600))
    net.save(tmp_path / "m.npz")
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["m.npz", legacy_new.name, live.name, other.name, notes.name])


KILLED_SAVE = """
import os, signal, sys
import numpy as np
import deltaprop as dp
net = dp.MLP([3, 4, 2], seed=0)
def savez(f, **arrays):
    f.write(b"partial" * 1000)
    f.flush()
    os.kill(os.getpid(), signal.SIGKILL)
np.savez = savez
net.save(sys.argv[1])
"""


@pytest.mark.skipif(os.name == "nt", reason="SIGKILL")
def test_a_save_killed_with_sigkill_leaves_nothing_after_the_next_save(trained, tmp_path):
    net, _, _ = trained
    env = dict(os.environ, PYTHONPATH=str(Path(dp.__file__).parents[1]))
    proc = subprocess.run([sys.executable, "-c", KILLED_SAVE, str(tmp_path / "m.npz")], env=env,
                          check=False)
    assert proc.returncode == -signal.SIGKILL
    assert next(p.name for p in tmp_path.iterdir()).endswith(".tmp")  # what kill -9 left
    net.save(tmp_path / "m.npz")
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]
    assert dp.load(tmp_path / "m.npz").layer_sizes == [4, 6, 5, 3]


# -- write_atomically: the one writer of model files, predict -o and ONNX files -------------
@pytest.mark.skipif(os.name == "nt", reason="symbolic links")
def test_a_save_writes_through_a_symbolic_link(trained, tmp_path):
    net, _, _ = trained
    (tmp_path / "models").mkdir()
    real = tmp_path / "models" / "v1.npz"
    real.write_bytes(b"old")
    os.chmod(real, 0o640)
    link = tmp_path / "current.npz"  # a "current model" link, as deployments keep
    link.symlink_to(real)
    net.save(link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert stat.S_IMODE(os.stat(real).st_mode) == 0o640
    assert dp.load(real).layer_sizes == net.layer_sizes
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["v1.npz"]


def test_ctrl_c_while_writing_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")

    def interrupted(f):
        f.write(b"half of the new")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomically(path, interrupted)
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_the_data_reaches_the_disk_before_the_rename(tmp_path, monkeypatch):
    calls = []
    fsync, replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append("fsync"), fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (calls.append("replace"), replace(a, b))[1])
    write_atomically(tmp_path / "t.csv", lambda f: f.write("a,b\r\n1,2\r\n"), text=True)
    assert calls == ["fsync", "replace"]
    assert (tmp_path / "t.csv").read_bytes() == b"a,b\r\n1,2\r\n"  # newline="": csv's own


def test_writing_onto_a_directory_or_into_a_missing_one_is_one_clear_line(tmp_path):
    with pytest.raises(ModelFileError, match=r"cannot write .*: it is a directory; name a file"):
        write_atomically(tmp_path, lambda f: None)
    with pytest.raises(ModelFileError, match=r"the directory .*nope does not exist"):
        write_atomically(tmp_path / "nope" / "f", lambda f: None)
    assert not list(tmp_path.iterdir())


def test_a_weight_too_large_for_float32_is_refused_at_assignment(rng):
    net = dp.MLP([3, 2], seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no overflow warning on the way
        with pytest.raises(ValueError, match="W has values too large for float32"):
            net.layers[0].W = np.full((3, 2), 1e300)
    assert np.isfinite(net.layers[0].W).all()


def test_a_non_finite_array_is_refused_at_save(trained, tmp_path):
    net, _, _ = trained
    net.save(tmp_path / "m.npz")
    before = (tmp_path / "m.npz").read_bytes()
    net.layers[1].W[0, 0] = np.inf  # in place, past the assignment check
    with pytest.raises(ValueError, match="layer2/W contains NaN or inf"):
        net.save(tmp_path / "m.npz")
    assert (tmp_path / "m.npz").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_saving_onto_a_directory(trained, tmp_path):
    net, _, _ = trained
    (tmp_path / "model.npz").mkdir()
    with pytest.raises(ModelFileError, match="model.npz: it is a directory"):
        net.save(tmp_path / "model.npz")


def test_check_writable(tmp_path):
    check_writable(tmp_path / "m.npz")
    check_writable(tmp_path / "runs" / "deep" / "m.npz")  # would be created
    assert not list(tmp_path.iterdir())  # nothing left behind
    (tmp_path / "file").write_text("x")
    with pytest.raises(ModelFileError, match="file is not a directory"):
        check_writable(tmp_path / "file" / "m.npz")
    with pytest.raises(ModelFileError, match="it is a directory"):
        check_writable(tmp_path)


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0,
                    reason="POSIX permissions (root writes anywhere)")
def test_check_writable_in_a_read_only_directory(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    try:
        with pytest.raises(ModelFileError, match="locked is not writable"):
            check_writable(locked / "m.npz")
    finally:
        locked.chmod(0o755)


def test_check_writable_names_the_reason(tmp_path, monkeypatch):
    import tempfile

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    with pytest.raises(ModelFileError, match=r"is not writable \(Permission denied\)"):
        check_writable(tmp_path / "m.npz")


def test_brackets_inside_names_are_not_nesting(trained, tmp_path):
    net, _, _ = trained
    info = json.loads(json.dumps(DATA_INFO))
    info["feature_names"] = ["x[" * 40, "{\\\"" * 40, "a]", "]}" * 40]
    net.data_info_ = info
    net.save(tmp_path / "m.npz")
    assert dp.load(tmp_path / "m.npz").data_info_["feature_names"] == info["feature_names"]
