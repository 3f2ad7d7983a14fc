"""Hostile model files: every malformed, edited or oversized file gives a one-line
ModelFileError, before anything large is allocated.

The files are crafted here, small: a member whose .npy header claims 10⁹ floats holds
none of them, and a "zip bomb" is a size field patched in the archive's directory, so
that no test allocates or compresses more than a few megabytes.
"""

import io as _io
import json
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest
from numpy.lib import format as npy_format

import deltaprop as dp
from deltaprop import io as dpio
from deltaprop.io import ModelFileError


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """A small trained classifier with standardisation and its file."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 4))
    y = np.array(["a", "b", "c"])[np.arange(40) % 3]
    net = dp.MLP([4, 5, 3], output="softmax", loss="cross_entropy", l2=1e-3, seed=0,
                 dtype="float64")
    net.fit(X, y, epochs=2, verbose=0, seed=0)
    net.preprocessing_ = {"standardize": {"mean": [0.0] * 4, "scale": [1.0] * 4}}
    path = tmp_path_factory.mktemp("hostile") / "model.npz"
    net.save(path)
    return path


def _arrays(path):
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k].copy() for k in npz.files}


def _meta(arrays):
    return json.loads(arrays["__meta__"].tobytes())


def _write(path, arrays, meta=None, redigest=False):
    """Write ``arrays`` with ``meta`` as the header; ``redigest`` signs the edited header
    (a malformed file with a valid digest), otherwise the old digest stays."""
    arrays = dict(arrays)
    if meta is not None:
        if redigest:
            body = {k: v for k, v in arrays.items() if k != "__meta__"}
            meta = dict(meta, sha256=dpio._digest(body, meta))
        arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def _edit(model_file, tmp_path, change, redigest=False):
    arrays = _arrays(model_file)
    meta = _meta(arrays)
    change(meta, arrays)
    return _write(tmp_path / "edited.npz", arrays, meta, redigest=redigest)


def _load_error(path, **kwargs):
    with pytest.raises(ModelFileError) as info:
        dp.load(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message and "allow_pickle" not in message, message
    return message


# -- the digest covers the header -------------------------------------------------------
def _set(*keys_and_value):
    *keys, value = keys_and_value

    def change(meta, arrays):
        target = meta
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return change


@pytest.mark.parametrize("change", [
    _set("model", "layers", 0, "activation", "name", "tanh"),
    _set("classes", "values", ["b", "a", "c"]),
    _set("model", "l2", 0.5),
    _set("preprocessing", "standardize", "mean", [5.0, 0.0, 0.0, 0.0]),
], ids=["activation", "class-order", "l2", "preprocessing-mean"])
def test_an_edited_header_is_detected(model_file, tmp_path, change):
    message = _load_error(_edit(model_file, tmp_path, change))
    assert "header and arrays do not match the file's checksum" in message


# -- a malformed header with a valid digest ---------------------------------------------
def test_deep_json_is_refused_before_it_is_parsed(model_file, tmp_path):
    arrays = _arrays(model_file)
    text = json.dumps(_meta(arrays))
    deep = text[:-1] + ', "junk": ' + "[" * 200_000 + "]" * 200_000 + "}"
    arrays["__meta__"] = np.frombuffer(deep.encode(), dtype=np.uint8)
    path = _write(tmp_path / "deep.npz", arrays)
    assert "the header nests more than 32 levels deep" in _load_error(path)


def _output_units(meta, arrays):
    # a valid file of another network (one more output unit), with the old classes
    layer = meta["model"]["layers"][-1]
    layer["n_out"] = 4
    meta["model"]["mlp"]["layer_sizes"][-1] = 4
    arrays["layer2/W"] = np.zeros((5, 4))
    arrays["layer2/b"] = np.zeros(4)
    meta["training"] = None
    for key in [k for k in arrays if k.startswith("optimizer/")]:
        del arrays[key]


@pytest.mark.parametrize("change, expected", [
    (_output_units, "the file has 3 classes but the network has 4 outputs"),
    (_set("preprocessing", "standardize", "mean", [0.0] * 3),
     "preprocessing.standardize.mean has 3 values but the network has 4 inputs"),
    (_set("preprocessing", "standardize", "scale", [1.0, 1.0, 0.0, 1.0]),
     "preprocessing.standardize.scale[2] must be a finite number > 0"),
    (_set("model", "layers", "abc"), "model.layers must be a list"),
    (_set("model", "layers", 0, "n_in", "4"), "model.layers[0].n_in must be an integer >= 1"),
    (_set("model", "layers", 1, "n_in", 6),
     "model.layers[1] takes 6 inputs, but the layer before it gives 5"),
    (_set("model", "layers", 0, "kind", "conv"), "model.layers[0].kind must be one of"),
    (_set("model", "layers", 0, "activation", "name", "swish2"),
     "model.layers[0].activation.name must be one of"),
    (_set("model", "l2", float("nan")), "model.l2 must be a finite number >= 0"),
    (_set("model", "l2", -1), "model.l2 must be a finite number >= 0"),
    (_set("model", "dtype", "float16"), "model.dtype must be 'float32' or 'float64'"),
    (_set("model", "mlp", "layer_sizes", [4, 9, 3]),
     "model.mlp.layer_sizes [4, 9, 3] does not match the layers' sizes [4, 5, 3]"),
    (_set("classes", "values", ["a", "a", "b"]), "classes.values has the value \"a\" twice"),
    (_set("classes", "kind", "i"), "classes.values[0] = \"a\" is not a label of kind 'i'"),
    (_set("classes", "values", [1, 2, 3]), "classes.values[0] = 1 is not a label of kind 'U'"),
    (_set("classes", "dtype", "object"), "classes.dtype must be a label dtype"),
    (_set("training", "epoch", -5), "training.epoch must be an integer >= 0"),
    (_set("training", "layer_states", []), "training.layer_states has 0 entries for 2 layers"),
    (_set("training", "optimizer_state", "m", {"__arrays__": 3}),
     "training.optimizer_state.m holds 3 arrays for 4 parameters"),
    (_set("training", "schedule", {"config": {"name": "sawtooth"}, "state": None}),
     "training.schedule.config.name must be one of"),
    (_set("surprise", 1), "the header has an unknown entry 'surprise'"),
    (_set("data", {"task": "classification"}), "data has no 'feature_names'"),
    (_set("format_version", 99), "has format version 99; this deltaprop reads version 1"),
    (_set("format", "other"), "is not a deltaprop model file"),
], ids=lambda v: v if isinstance(v, str) and len(v) < 30 else None)
def test_a_malformed_header_with_a_valid_digest(model_file, tmp_path, change, expected):
    message = _load_error(_edit(model_file, tmp_path, change, redigest=True))
    assert expected in message, message


def test_a_bad_layer_state_is_an_error_not_a_traceback(tmp_path):
    net = dp.MLP([3, 4, 2], output="softmax", loss="cross_entropy", dropout=0.5, seed=0)
    net.fit(np.random.default_rng(0).normal(size=(10, 3)), np.arange(10) % 2, epochs=1,
            verbose=0)
    net.save(tmp_path / "m.npz")
    arrays = _arrays(tmp_path / "m.npz")
    meta = _meta(arrays)
    meta["training"]["layer_states"][1] = {"rng": {"bit_generator": "NoSuchGenerator"}}
    path = _write(tmp_path / "bad.npz", arrays, meta, redigest=True)
    assert "inconsistent model file" in _load_error(path)


# -- not model files at all --------------------------------------------------------------
def test_files_that_are_not_model_files(tmp_path):
    rng = np.random.default_rng(1)
    (tmp_path / "random.bin").write_bytes(rng.bytes(4096))
    assert "not a readable deltaprop model file" in _load_error(tmp_path / "random.bin")
    np.save(tmp_path / "single.npy", np.zeros(3))  # one array, not an archive
    assert "not a readable deltaprop model file" in _load_error(tmp_path / "single.npy")
    np.save(tmp_path / "pickled.npy", np.array([{"x": 1}], dtype=object), allow_pickle=True)
    assert "not a readable deltaprop model file" in _load_error(tmp_path / "pickled.npy")
    np.savez(tmp_path / "pickled.npz", __meta__=np.array([{"x": 1}], dtype=object))
    assert "holds pickled Python objects, which deltaprop never reads" in _load_error(
        tmp_path / "pickled.npz")
    assert "is a directory" in _load_error(tmp_path)
    assert "does not exist" in _load_error(tmp_path / "missing.npz")


# -- memory --------------------------------------------------------------------------------
def _npy(shape, dtype, data=b""):
    f = _io.BytesIO()
    npy_format.write_array_header_1_0(f, {"descr": np.dtype(dtype).str, "fortran_order": False,
                                          "shape": shape})
    return f.getvalue() + data


def _patch_file_size(path, member, file_size, compress_size=None):
    """Make the archive's directory claim ``file_size`` bytes (and ``compress_size``) for
    ``member``: a zip bomb's size fields, without the bomb."""
    data = bytearray(path.read_bytes())
    name = member.encode()
    pos = 0
    while True:
        pos = data.index(b"PK\x01\x02", pos)
        n = struct.unpack_from("<H", data, pos + 28)[0]
        if bytes(data[pos + 46:pos + 46 + n]) == name:
            struct.pack_into("<I", data, pos + 24, file_size)
            if compress_size is not None:
                struct.pack_into("<I", data, pos + 20, compress_size)
            break
        pos += 4
    path.write_bytes(bytes(data))


def _peak_while(fn):
    tracemalloc.start()
    try:
        fn()
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak


def test_a_member_claiming_a_billion_floats_allocates_nothing(model_file, tmp_path):
    path = tmp_path / "claim.npz"
    members = {}
    with zipfile.ZipFile(model_file) as zf:
        for info in zf.infolist():
            members[info.filename] = zf.read(info)
    members["layer1/W.npy"] = _npy((10**9,), "<f8")  # the header, not the data
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    peak = _peak_while(lambda: _load_error(path))
    assert "layer1/W.npy declares 7.5 GiB of data but holds 0 bytes" in _load_error(path)
    assert peak < 4 << 20, f"peak {peak} bytes"


def test_a_zip_bomb_is_refused_from_its_declared_size(model_file, tmp_path):
    path = tmp_path / "bomb.npz"
    path.write_bytes(model_file.read_bytes())
    _patch_file_size(path, "layer1/W.npy", 4_200_000_000)
    assert "'layer1/W.npy' has inconsistent sizes" in _load_error(path)
    _patch_file_size(path, "layer1/W.npy", 4_200_000_000, 4_200_000_000)
    peak = _peak_while(lambda: _load_error(path))
    assert "the arrays take 3.9 GiB, over the limit of 2.0 GiB" in _load_error(path)
    assert peak < 4 << 20, f"peak {peak} bytes"


def test_deflate_cannot_give_what_a_member_declares(tmp_path):
    path = tmp_path / "deflated.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("__meta__.npy", _npy((2,), "u1", b"{}"))
        zf.writestr("layer1/W.npy", _npy((1 << 20,), "<f8", bytes(8 << 20)))  # 8 MB of zeros
    _patch_file_size(path, "layer1/W.npy", 1_900_000_000)
    assert "more than deflate can give (a zip bomb?)" in _load_error(path)


def test_a_compressed_member_is_never_read_beyond_its_declared_size(tmp_path):
    """The data would expand to 4 MB; the member declares 208 bytes: reading stops there
    (and the checksum of the data fails) instead of decompressing all of it."""
    path = tmp_path / "lying.npz"
    body = _npy((10,), "<f8", bytes(4 << 20))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("layer1/W.npy", body)
    with (zipfile.ZipFile(path) as zf,  # the honest size does not match the .npy header
          pytest.raises(ValueError, match="declares 80 bytes of data but holds 4.0 MiB")):
        dpio._Member(zf, zf.getinfo("layer1/W.npy"))
    _patch_file_size(path, "layer1/W.npy", 128 + 80)

    def read():
        with zipfile.ZipFile(path) as zf, pytest.raises(zipfile.BadZipFile, match="Bad CRC-32"):
            dpio._Member(zf, zf.getinfo("layer1/W.npy")).read()

    peak = _peak_while(read)
    assert peak < 1 << 20, f"peak {peak} bytes"


def test_a_header_claiming_a_million_outputs_allocates_nothing(model_file, tmp_path):
    def huge(meta, arrays):
        meta["model"]["layers"][-1]["n_out"] = 10**6
        meta["model"]["mlp"]["layer_sizes"][-1] = 10**6
        meta["classes"] = None
        meta["training"] = None
        for key in [k for k in arrays if k.startswith("optimizer/")]:
            del arrays[key]

    path = _edit(model_file, tmp_path, huge, redigest=True)
    peak = _peak_while(lambda: _load_error(path))
    message = _load_error(path)
    assert "the array layer2/W has shape (5, 3), but the header implies (5, 1000000)" in message
    assert peak < 4 << 20, f"peak {peak} bytes"


def test_the_memory_limit_is_configurable(model_file, monkeypatch):
    assert "over the limit of 1.0 KiB" in _load_error(model_file, max_bytes=1024)
    monkeypatch.setenv("DELTAPROP_MAX_MODEL_BYTES", "1K")
    message = _load_error(model_file)
    assert "over the limit of 1.0 KiB" in message and "DELTAPROP_MAX_MODEL_BYTES" in message
    assert dp.load(model_file, max_bytes=10**6).layer_sizes == [4, 5, 3]
    monkeypatch.setenv("DELTAPROP_MAX_MODEL_BYTES", "lots")
    assert "DELTAPROP_MAX_MODEL_BYTES must be a number of bytes" in _load_error(model_file)
    monkeypatch.setenv("DELTAPROP_MAX_MODEL_BYTES", "1G")
    assert dp.load(model_file).layer_sizes == [4, 5, 3]
    with pytest.raises(ValueError, match="max_bytes must be a positive integer"):
        dp.load(model_file, max_bytes=-1)


def test_entries_that_the_header_does_not_describe(model_file, tmp_path):
    arrays = _arrays(model_file)
    arrays["layer9/W"] = np.zeros(2)
    assert "has an entry 'layer9/W' that the header does not describe" in _load_error(
        _write(tmp_path / "extra.npz", arrays))
    arrays = _arrays(model_file)
    del arrays["layer2/b"]
    assert "the array layer2/b is missing" in _load_error(_write(tmp_path / "miss.npz", arrays))
    arrays = _arrays(model_file)
    arrays["layer1/W"] = arrays["layer1/W"].astype(np.float32)
    assert "layer1/W has dtype float32, but the network is float64" in _load_error(
        _write(tmp_path / "dtype.npz", arrays))


def test_non_finite_arrays_are_refused(model_file, tmp_path):
    def inf(meta, arrays):
        arrays["layer1/b"][0] = np.inf

    assert "the array layer1/b contains NaN or inf" in _load_error(
        _edit(model_file, tmp_path, inf, redigest=True))


def test_a_fortran_ordered_array_reads_as_saved(model_file, tmp_path):
    arrays = _arrays(model_file)
    arrays["layer1/W"] = np.asfortranarray(arrays["layer1/W"])
    again = dp.load(_write(tmp_path / "fortran.npz", arrays))
    np.testing.assert_array_equal(again.layers[0].W, dp.load(model_file).layers[0].W)
