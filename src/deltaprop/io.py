"""Model files: one ``.npz`` archive of arrays plus a JSON header, never pickle.

Layout (format version 2):

* ``__meta__``: UTF-8 JSON as a uint8 array: the format name and version, the network's
  class and architecture (``net.get_config()``: each layer's kind and config, the loss,
  L2, reduction, dtype), the class labels with their dtype, the preprocessing, the data
  contract (``"data"``), the training state (epoch, seed, optimizer configuration,
  schedule, the layers' random generators) and a SHA-256 digest of the header and of
  every array in the file;
* ``layer{k}/{name}``: the parameters and buffers of layer ``k`` (1-based), e.g.
  ``layer1/W``, ``layer1/b``, ``layer2/running_mean``;
* ``optimizer/{key}/{i}``: the optimizer's state arrays, when saved with it;
* ``callbacks/{name}/{i}``: the arrays of a callback's state (EarlyStopping's best
  weights), when saved with the optimizer.

Files of format version 1 (Dense layers only; the digest covers the arrays, not the
header) still load; their header is checked against the same schema.

``net.preprocessing_`` (e.g. the feature standardisation that ``deltaprop train`` applies)
and ``net.data_info_`` (the data contract: feature and target names, the task, the data
source, the split and its fingerprint, the target scaling) are JSON-able dicts stored in
the header and restored on load; :data:`HEADER_SCHEMA` says what each may hold.

Loading trusts nothing in the file:

* it reads with no pickle, so a file cannot run code;
* the header is at most :data:`MAX_HEADER_BYTES` and :data:`MAX_HEADER_DEPTH` levels deep
  (checked before it is parsed) and is validated against :data:`HEADER_SCHEMA` (types,
  lengths, registered kinds, layer sizes that fit together, as many classes as outputs,
  preprocessing as long as the input) before anything is built;
* memory is bounded: the shape and dtype that each array's ``.npy`` header declares must
  match the header's architecture and the archive's real sizes, and their total must be
  under ``max_bytes`` (default 2 GiB, or the environment variable
  ``DELTAPROP_MAX_MODEL_BYTES``, e.g. ``8G``) before any array is allocated; no member is
  decompressed beyond the size it declares;
* the digest covers the header and the arrays, and every array must be finite;

so that a missing, truncated, corrupted, edited or hostile file gives a one-line
:class:`ModelFileError` instead of a traceback or a wrong network.

Saving validates the header against the same schema and refuses non-finite arrays (a
file is never written that would not load). It writes with :func:`write_atomically`, as
``deltaprop predict -o`` and the ONNX export do: a temporary file
``.{name}.{pid}.{random}.tmp`` in the same directory, flushed to the disk and renamed over
the target, so that a crash or a Ctrl-C during a save leaves any existing file intact; the
temporary files that a killed save left behind for that target are removed by the next
save to it (only those whose writing process is gone; :mod:`deltaprop.io_files`). A new
file gets the mode the umask gives (``0o666 & ~umask``), an existing file keeps its own; a
symbolic link is written through (the link stays).

This module knows networks only through their public methods and the classes that
register themselves (:func:`register_model`), so that it imports no network module. The
header's schema and its checks live in :mod:`deltaprop.io_schema` (:data:`HEADER_SCHEMA`,
:func:`register_model` and the format's version are importable from here as before).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import stat
import zipfile
import zlib
from numbers import Integral
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

from .activations import ACTIVATIONS
from .devices import get_device, to_host
from .io_files import STALE_TMP_AGE, remove_stale_temporaries, temporary_path
from .io_schema import (
    FORMAT_NAME,
    FORMAT_VERSION,
    HEADER_SCHEMA,
    MODELS,
    READABLE_VERSIONS,
    InvalidHeader,
    expected_arrays,
    register_model,
    validate_header,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "FORMAT_VERSION",
    "HEADER_SCHEMA",
    "MAX_HEADER_BYTES",
    "MAX_HEADER_DEPTH",
    "MODELS",
    "READABLE_VERSIONS",
    "STALE_TMP_AGE",
    "ModelFileError",
    "check_writable",
    "load",
    "register_model",
    "save",
    "write_atomically",
]

#: The default bound on the arrays a model file may declare (``load(max_bytes=)``).
DEFAULT_MAX_BYTES = 2 << 30
#: The environment variable that overrides :data:`DEFAULT_MAX_BYTES` (``"4000000000"``, ``"8G"``).
MAX_BYTES_ENV = "DELTAPROP_MAX_MODEL_BYTES"
#: The largest JSON header read (an MLP's header is a few kB; feature names add to it).
MAX_HEADER_BYTES = 8 << 20
#: The deepest nesting of lists and objects in a header (deltaprop writes 5).
MAX_HEADER_DEPTH = 32
#: The most entries an archive may have.
MAX_MEMBERS = 100_000
#: Deflate expands at most about 1032-fold; a member declaring more is not a real one.
_DEFLATE_MAX_RATIO = 1100


class ModelFileError(ValueError):
    """A model file that cannot be read or written: missing, truncated, corrupted,
    tampered with, hostile, too large, written by an unknown format version, or a target
    that cannot be written."""


# ======================================================================== the archive
def _digest(arrays, meta=None):
    h = hashlib.sha256()
    if meta is not None:
        h.update(json.dumps({k: v for k, v in meta.items() if k != "sha256"},
                            sort_keys=True).encode())
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        h.update(key.encode())
        h.update(str(a.dtype).encode())
        h.update(repr(a.shape).encode())
        h.update(memoryview(a).cast("B") if a.size else b"")  # no copy of the data
    return h.hexdigest()


def _max_bytes(max_bytes):
    if max_bytes is None:
        text = os.environ.get(MAX_BYTES_ENV, "").strip()
        if not text:
            return DEFAULT_MAX_BYTES
        match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)i?B?", text, re.IGNORECASE)
        if not match:
            raise ModelFileError(f"{MAX_BYTES_ENV} must be a number of bytes such as "
                                 f"4000000000 or 4G; got {text!r}")
        scale = 1024 ** " KMGT".index(match.group(2).upper() or " ")
        return int(float(match.group(1)) * scale)
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, Integral) or max_bytes <= 0:
        raise ValueError(f"max_bytes must be a positive integer (bytes); got {max_bytes!r}")
    return int(max_bytes)


def _size(n):
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024


def _too_large(what, n, limit):
    return ModelFileError(
        f"{what} {_size(n)}, over the limit of {_size(limit)} for loading a model (raise it "
        f"with load(path, max_bytes=...) or the environment variable {MAX_BYTES_ENV})")


_MEMBER = re.compile(r"__meta__|layer[1-9][0-9]{0,5}/[A-Za-z_][A-Za-z0-9_]{0,63}"
                     r"|(optimizer|callbacks)/[A-Za-z_][A-Za-z0-9_]{0,63}/(0|[1-9][0-9]{0,6})")


class _Member:
    """One ``.npy`` entry of the archive, its declared shape and dtype read from its own
    header without reading its data."""

    def __init__(self, zf, info):
        self.zf, self.info = zf, info
        with zf.open(info) as f:
            version = npy_format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = npy_format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran, dtype = npy_format.read_array_header_2_0(f)
            else:
                raise ValueError(f"unsupported .npy version {version}")
            self.offset = f.tell()
        if dtype.hasobject:
            raise ModelFileError(f"not a deltaprop model file ({info.filename} holds pickled "
                                 f"Python objects, which deltaprop never reads)")
        if dtype.kind not in "uf" or dtype.fields is not None:
            raise ValueError(f"{info.filename} holds {dtype} data, not numbers")
        self.shape, self.fortran, self.dtype = shape, fortran, dtype
        self.nbytes = math.prod(shape) * dtype.itemsize
        if self.offset + self.nbytes != info.file_size:
            raise ValueError(f"{info.filename} declares {_size(self.nbytes)} of data but holds "
                             f"{_size(info.file_size - self.offset)}")

    def read(self, out=None):
        """The array, read into a buffer of its declared size (never more): ``out`` (of
        the member's shape and dtype, C-contiguous) or a new array."""
        if out is not None and (out.shape != self.shape or out.dtype != self.dtype):
            raise ValueError(f"{self.info.filename} has shape {self.shape} and dtype "
                             f"{self.dtype}, expected {out.shape} and {out.dtype}")
        if out is not None and not self.fortran and out.flags.c_contiguous:
            a = out.reshape(-1)
        else:
            a = np.empty(math.prod(self.shape), dtype=self.dtype)
        view = memoryview(a).cast("B") if a.size else memoryview(b"")
        with self.zf.open(self.info) as f:
            f.seek(self.offset)
            got = 0
            while got < len(view):
                n = f.readinto(view[got:got + (1 << 24)])
                if not n:
                    raise EOFError(f"{self.info.filename} ends early")
                got += n
            if f.read(1):  # also makes zipfile check the CRC
                raise ValueError(f"{self.info.filename} has more data than it declares")
        a = a.reshape(self.shape[::-1]).T if self.fortran else a.reshape(self.shape)
        if out is not None and a.base is not out and a is not out:
            out[...] = a
            return out
        return a


_JSON_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def _header_depth(raw, limit):
    """A number above ``limit`` exactly when JSON text nests deeper than ``limit``
    (json.loads recurses once per level), found without parsing it: a vectorised count
    of the brackets bounds the depth from above (brackets inside strings count too); only
    when that bound exceeds ``limit`` are the brackets walked one by one, strings skipped,
    until the depth passes it."""
    b = np.frombuffer(raw, dtype=np.uint8)
    depth = bound = 0
    for start in range(0, len(b), 1 << 20):  # in blocks: a few MB at most
        block = b[start:start + (1 << 20)]
        step = ((block == ord("[")).view(np.int8) + (block == ord("{")).view(np.int8)
                - (block == ord("]")).view(np.int8) - (block == ord("}")).view(np.int8))
        running = np.cumsum(step, dtype=np.int64) + depth
        bound = max(bound, int(running.max(initial=depth)))
        depth = int(running[-1]) if len(running) else depth
    if bound <= limit:
        return bound
    depth = 0
    for token in _JSON_TOKEN.finditer(raw):
        c = raw[token.start()]
        if c in b"[{":
            depth += 1
            if depth > limit:
                return depth
        elif c in b"]}":
            depth -= 1
    return depth


def _no_duplicates(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"the key {key!r} appears twice in one object")
        obj[key] = value
    return obj


def _parse_header(raw):
    if _header_depth(raw, MAX_HEADER_DEPTH) > MAX_HEADER_DEPTH:
        raise ModelFileError(f"the header nests more than {MAX_HEADER_DEPTH} levels deep")
    try:
        return json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelFileError(f"the header is not valid JSON ({exc})") from None


def _check_path(path):
    path = Path(path)
    if path.is_dir():
        raise ModelFileError(f"{path} is a directory, not a model file")
    if not path.exists():
        raise ModelFileError(f"model file {path} does not exist")
    if not path.is_file():
        raise ModelFileError(f"{path} is not a regular file")
    return path


class _BuildError(Exception):
    """The network that a valid header describes cannot be built or filled."""


def _read(path, max_bytes=None):
    """``(meta in format 2's shape, the network with its weights, the file's arrays)``."""
    limit = _max_bytes(max_bytes)
    path = _check_path(path)
    try:
        return _read_archive(path, limit)
    except ModelFileError as exc:
        message = str(exc)
        raise ModelFileError(message if message.startswith(str(path)) else
                             f"{path}: {message}") from None
    except _BuildError as exc:
        raise ModelFileError(f"{path}: inconsistent model file: {exc}") from None
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, KeyError,
            NotImplementedError, RuntimeError, SyntaxError, OverflowError) as exc:
        raise ModelFileError(f"{path} is not a readable deltaprop model file (truncated or "
                             f"corrupted?): {exc}") from None


def _one_line(exc):
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def _network(meta):
    """The network of the header, with fresh weights (its arrays are read into it)."""
    try:
        return MODELS[meta["class"]].from_config(meta["model"])
    except Exception as exc:  # noqa: BLE001 - any failure to build is the file's fault
        raise _BuildError(_one_line(exc)) from None


def _layer_arrays(net):
    """``{"layer{k}/{name}": array}``: every parameter and buffer, where it lives."""
    return {f"layer{k}/{name}": value
            for k, layer in enumerate(net.layers, start=1)
            for name, value in [*zip(layer.parameter_names,
                                     (v for v, _ in layer.parameters())),
                                *layer.buffers().items()]}


def _read_archive(path, limit):
    size = path.stat().st_size
    if size > limit + MAX_HEADER_BYTES:
        raise _too_large("the file is", size, limit)
    if not zipfile.is_zipfile(path):
        raise ModelFileError(f"{path} is not a readable deltaprop model file (not a .npz "
                             f"archive: truncated, or another kind of file)")
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise ModelFileError(f"the archive has {len(infos)} entries (at most {MAX_MEMBERS})")
        by_key, declared = {}, 0
        for info in infos:
            key = info.filename[:-4] if info.filename.endswith(".npy") else None
            if key is None or not _MEMBER.fullmatch(key):
                raise ModelFileError(f"not a deltaprop model file (unexpected entry "
                                     f"{info.filename!r})")
            if key in by_key:
                raise ModelFileError(f"the archive has the entry {info.filename!r} twice")
            if info.flag_bits & 0x1:
                raise ModelFileError(f"the entry {info.filename!r} is encrypted")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise ModelFileError(f"the entry {info.filename!r} uses an unsupported "
                                     f"compression")
            if (info.compress_type == zipfile.ZIP_DEFLATED
                    and info.file_size > _DEFLATE_MAX_RATIO * info.compress_size + 4096):
                raise ModelFileError(f"the entry {info.filename!r} declares {_size(info.file_size)}"
                                     f" from {_size(info.compress_size)} of compressed data, "
                                     f"more than deflate can give (a zip bomb?)")
            if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
                raise ModelFileError(f"the entry {info.filename!r} has inconsistent sizes")
            by_key[key] = info
            if key != "__meta__":
                declared += info.file_size
        if "__meta__" not in by_key:
            raise ModelFileError(f"{path} is not a deltaprop model file (no __meta__ entry)")
        if declared > limit:
            raise _too_large("the arrays take", declared, limit)

        info = by_key.pop("__meta__")
        if info.file_size > MAX_HEADER_BYTES:
            raise ModelFileError(f"the header is {_size(info.file_size)} (at most "
                                 f"{_size(MAX_HEADER_BYTES)})")
        member = _Member(zf, info)
        if member.dtype != np.uint8 or len(member.shape) != 1:
            raise ModelFileError("the __meta__ entry is not UTF-8 text")
        meta = _parse_header(member.read().tobytes())
        try:
            meta = validate_header(meta)
            expected, complete = expected_arrays(meta)
        except InvalidHeader as exc:
            text = str(exc)
            if text.startswith(("not a deltaprop", "format version")):
                raise ModelFileError(f"{path} {'is ' if text.startswith('not') else 'has '}"
                                     f"{text}") from None
            raise ModelFileError(f"invalid header: {text}") from None

        # Every declared shape is checked before anything is allocated.
        dtype = np.dtype(meta["model"]["dtype"])
        members = {}
        for key, shape in expected.items():
            if key not in by_key:
                raise ModelFileError(f"the array {key} is missing")
            members[key] = _Member(zf, by_key[key])
            if shape is not None and members[key].shape != shape:
                raise ModelFileError(f"the array {key} has shape {members[key].shape}, but the "
                                     f"header implies {shape}")
            if members[key].dtype != dtype:
                raise ModelFileError(f"the array {key} has dtype {members[key].dtype}, but the "
                                     f"network is {dtype}")
        for key, info in by_key.items():
            if key in members:
                continue
            if complete or not key.startswith("layer"):
                raise ModelFileError(f"the archive has an entry {key!r} that the header does "
                                     f"not describe")
            members[key] = _Member(zf, info)

        # The weights are read straight into the network (no second copy of them).
        net = _network(meta)
        arrays = {}
        for key, value in _layer_arrays(net).items():
            if key not in members:
                raise _BuildError(f"the array {key} is missing")
            m = members.pop(key)
            if (m.shape, m.dtype) != (value.shape, value.dtype):
                raise _BuildError(f"{key} has shape {m.shape} and dtype {m.dtype}, expected "
                                  f"{value.shape} and {value.dtype}")
            arrays[key] = m.read(out=value)
        extra = [key for key in members if key.startswith("layer")]
        if extra:
            raise _BuildError(f"the file has arrays that no layer holds: {', '.join(extra)}")
        arrays.update((key, m.read()) for key, m in members.items())

    if meta["sha256"] != _digest(arrays, meta if meta["format_version"] >= 2 else None):
        what = "the arrays do not" if meta["format_version"] == 1 else \
            "the header and arrays do not"
        raise ModelFileError(f"{what} match the file's checksum (the file was modified or "
                             f"corrupted)")
    for key, a in arrays.items():
        if not np.isfinite(a).all():
            raise ModelFileError(f"the array {key} contains NaN or inf")
    return meta, net, arrays


def load(path, max_bytes=None, device=None):
    """Read a model written by :func:`save` / ``net.save``.

    Parameters
    ----------
    path : str or Path
    max_bytes : int, optional
        The most bytes the file's arrays may declare (default: the environment variable
        ``DELTAPROP_MAX_MODEL_BYTES``, e.g. ``"8G"``, else 2 GiB). Checked against every
        array's declared shape before anything is allocated. The network built takes a
        small multiple of it: its weights (read straight into the network, whose weights
        are not drawn first: about 1.2x the weights at the peak) and, once it trains, their
        gradients, plus the optimizer's state.
    device : {None, "cpu", "cuda", "cuda:N"} or Device
        Where to put the network (:meth:`~deltaprop.Sequential.to`); files are the same
        for every device, so a model trained on a GPU loads on a machine without one.

    Returns
    -------
    Sequential
        An :class:`~deltaprop.MLP` when one was saved, with ``classes_`` (in the dtype
        they had), ``preprocessing_`` and ``data_info_`` when the file has them, and the
        training state for ``fit(..., resume=True)``.

    Raises
    ------
    ModelFileError
        For a missing, truncated, corrupted, tampered, hostile, too large or wrong-version
        file; the message is one line naming the file and what is wrong.
    """
    device = get_device(device)  # a bad name or a missing GPU fails before the file is read
    meta, net, arrays = _read(path, max_bytes)
    try:
        net = _restore(net, meta, arrays)
    except Exception as exc:  # noqa: BLE001 - any failure to build is the file's fault
        raise ModelFileError(f"{path}: inconsistent model file: {_one_line(exc)}") from None
    return net.to(device)


def _labels(classes):
    kind = classes["kind"]
    dtype = classes.get("dtype") or {"U": str, "b": bool, "f": np.float64}.get(kind, np.int64)
    return np.array(classes["values"], dtype=dtype)


def _restore(net, meta, arrays):
    """The labels, preprocessing, data contract and training state of the header."""
    from .optimizers import optimizer_from_config
    from .schedules import schedule_from_config

    if meta["classes"] is not None:
        net.classes_ = _labels(meta["classes"])
    if meta.get("preprocessing") is not None:
        net.preprocessing_ = meta["preprocessing"]
    net.data_info_ = meta.get("data")
    training = meta.get("training")
    if training:
        state = {}
        for key, value in training["optimizer_state"].items():
            if isinstance(value, dict) and "__arrays__" in value:
                value = [arrays[f"optimizer/{key}/{i}"] for i in range(value["__arrays__"])]
            state[key] = value
        opt = optimizer_from_config(training["optimizer"])
        opt.load_state_dict(state)
        schedule = None
        if training["schedule"] is not None:
            schedule = schedule_from_config(training["schedule"]["config"])
            if training["schedule"]["state"] is not None:
                schedule.load_state_dict(training["schedule"]["state"])
        for layer, layer_state in zip(net.layers, training.get("layer_states") or []):
            if layer_state is not None:
                layer.set_state(layer_state)
        net.train_state_ = {"optimizer": opt, "seed": training["seed"],
                            "epoch": training["epoch"], "schedule": schedule}
        callbacks = training.get("callbacks")
        if callbacks:
            net.train_state_["callbacks"] = {
                name: {**{k: v for k, v in state.items() if k != "__arrays__"},
                       "arrays": [arrays[f"callbacks/{name}/{i}"]
                                  for i in range(state["__arrays__"])]}
                for name, state in callbacks.items()}
    return net


# ============================================================================== saving
def _check_registered(net):
    for k, layer in enumerate(net.layers, start=1):
        act = layer.activation
        if act is not None and ACTIVATIONS.get(act.name) is not type(act):
            raise ValueError(f"cannot save a network with the unregistered activation "
                             f"{type(act).__name__!r} (layer {k}): register it with "
                             f"deltaprop.activations.register")


def _jsonable_labels(classes):
    if classes is None:
        return None
    classes = np.asarray(classes)
    kind = classes.dtype.kind
    if kind not in "biufU":
        what = "complex numbers" if kind == "c" else f"dtype {classes.dtype}"
        raise ValueError(f"cannot save the class labels (classes_): they are {what}; class "
                         f"labels must be integers, floats, booleans or strings")
    return {"kind": kind, "dtype": classes.dtype.name if kind != "U" else classes.dtype.str,
            "values": classes.tolist()}


def _training_meta(net, arrays):
    state = net.train_state_
    opt_state = state["optimizer"].state_dict()
    scalars = {}
    for key, value in opt_state.items():
        if isinstance(value, (list, tuple)) and value and hasattr(value[0], "dtype"):
            for i, a in enumerate(value):
                arrays[f"optimizer/{key}/{i}"] = to_host(a)
            scalars[key] = {"__arrays__": len(value)}
        else:
            scalars[key] = value
    schedule = state["schedule"]
    return {
        "epoch": state["epoch"],
        "seed": state["seed"],
        "optimizer": state["optimizer"].get_config(),
        "optimizer_state": scalars,
        "schedule": None if schedule is None else {
            "config": schedule.get_config(),
            "state": schedule.state_dict() if hasattr(schedule, "state_dict") else None,
        },
        "layer_states": [layer.get_state() for layer in net.layers],
        **_callbacks_meta(state.get("callbacks"), arrays),
    }


def _callbacks_meta(states, arrays):
    """``{"callbacks": ...}`` for the header (the arrays go to ``arrays``), or ``{}``."""
    if not states:
        return {}
    meta = {}
    for name, state in states.items():
        state = dict(state)
        values = state.pop("arrays", None) or []
        for i, a in enumerate(values):
            arrays[f"callbacks/{name}/{i}"] = to_host(a)
        meta[name] = {**state, "__arrays__": len(values)}
    return {"callbacks": meta}


def _check_finite_arrays(arrays):
    for key, a in arrays.items():
        if not np.isfinite(a).all():
            raise ValueError(f"cannot save the network: {key} contains NaN or inf (a file "
                             f"with it would not load; a diverged run? reload a checkpoint)")


def save(net, path, include_optimizer=True):
    """Write ``net`` to ``path`` (one ``.npz`` file), atomically.

    Parameters
    ----------
    net : Sequential
    path : str or Path
        The file to write, used as given (no suffix is added). A new file gets the mode
        the umask gives; an existing one keeps its mode; a symbolic link is written
        through (:func:`write_atomically`).
    include_optimizer : bool
        Also store the optimizer state, epoch counter, seed, schedule and the layers'
        random generators, so that ``deltaprop.load(path).fit(..., resume=True)``
        continues the run exactly.

    Raises
    ------
    ModelFileError
        When the target cannot be written (no such directory, a directory); see
        :func:`write_atomically`, which writes the file.
    ValueError
        When the network cannot be stored faithfully: a non-finite array, complex class
        labels, ``preprocessing_`` or ``data_info_`` that do not fit the header schema.
    """
    path = Path(path)
    _check_registered(net)
    arrays = {}
    for k, layer in enumerate(net.layers, start=1):  # copied from a GPU: files are the host's
        for name, (value, _) in zip(layer.parameter_names, layer.parameters()):
            arrays[f"layer{k}/{name}"] = to_host(value)
        for name, value in layer.buffers().items():
            arrays[f"layer{k}/{name}"] = to_host(value)
    cls = type(net).__name__
    meta = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "class": cls if MODELS.get(cls) is type(net) else "Sequential",
        "model": net.get_config(),
        "classes": _jsonable_labels(getattr(net, "classes_", None)),
        "preprocessing": getattr(net, "preprocessing_", None),
        "data": getattr(net, "data_info_", None),
        "training": None,
    }
    if include_optimizer and getattr(net, "train_state_", None) is not None:
        meta["training"] = _training_meta(net, arrays)
    _check_finite_arrays(arrays)
    try:
        text = json.dumps(meta, allow_nan=True)
        meta = json.loads(text)  # what a reader will see (tuples as lists...)
        meta["sha256"] = "0" * 64
        validate_header(meta)
    except InvalidHeader as exc:
        raise ValueError(f"cannot save the network: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ValueError(f"cannot save the network: its header is not JSON-able ({exc})") \
            from None
    meta["sha256"] = _digest(arrays, meta)
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)

    write_atomically(path, lambda f: np.savez(f, **arrays))


def write_atomically(path, write, *, text=False):
    """Write the file ``path`` atomically: ``write(f)`` fills a temporary file beside it,
    which is flushed to the disk (``fsync``) and then renamed over the target.

    An error or a Ctrl-C midway leaves any earlier file whole and removes the temporary
    file ``.{name}.{pid}.{random}.tmp``; those that killed writers left for the same target
    are removed first (only those whose process is gone). A new file gets the mode the
    umask gives (``0o666 & ~umask``), an existing file keeps its own. A path that is a
    symbolic link is written through: the file it names gets the content and the link
    stays (as the shell's ``>`` does). Model files (:func:`save`), ``deltaprop predict -o``
    and ONNX exports are all written so.

    Parameters
    ----------
    path : str or Path
    write : callable
        ``write(f)``, ``f`` the open temporary file: binary, or text (UTF-8, ``newline=""``
        as the :mod:`csv` module wants) when ``text`` is true.

    Raises
    ------
    ModelFileError
        In one line naming ``path``, before anything is written: a directory, a directory
        that does not exist, no permission. What ``write`` raises (and an ``OSError`` from
        the disk) passes unchanged, once the temporary file is gone.
    """
    path = Path(path)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    shown = str(path) if target == path else f"{path} (a link to {target})"
    if target.is_dir():
        raise ModelFileError(f"cannot write {shown}: it is a directory; name a file")
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise ModelFileError(f"cannot write {shown}: the directory {directory} does not exist")
    remove_stale_temporaries(directory, target.name)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        mode = None  # a new file: the umask decides, as for any file the user creates
    tmp = temporary_path(directory, target.name)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                     0o666)
    except OSError as exc:
        raise ModelFileError(f"cannot write {shown}: {exc.strerror or exc}") from None
    try:
        with (os.fdopen(fd, "w", encoding="utf-8", newline="") if text
              else os.fdopen(fd, "wb")) as f:
            if mode is not None:
                os.chmod(tmp, mode)
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def check_writable(path):
    """Check, before a long computation, that a file can later be written at ``path``.

    The directory (or, when it does not exist yet, the nearest existing parent, where it
    would be created) must be a directory in which a file can be created: a temporary
    file is created and removed there; nothing else is created.

    Raises
    ------
    ModelFileError
        Naming the path and the reason (a directory, a parent that is a file, no
        permission, a read-only file system).
    """
    path = Path(path)
    if path.is_dir():
        raise ModelFileError(f"cannot write {path}: it is a directory")
    directory = path.parent if str(path.parent) else Path(".")
    probe = directory
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise ModelFileError(f"cannot write {path}: {probe} is not a directory")
    import tempfile

    try:
        with tempfile.TemporaryFile(dir=probe, prefix=".deltaprop-write-check."):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ModelFileError(f"cannot write {path}: {probe} is not writable ({reason})") \
            from None
