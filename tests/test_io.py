"""Model files: exact roundtrip, no code execution, atomic writes, clear errors."""

import json

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.io import FORMAT_VERSION, ModelFileError


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
