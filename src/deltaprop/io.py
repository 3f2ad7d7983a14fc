"""Model files: one ``.npz`` archive of arrays plus a JSON header, never pickle.

Layout (format version 1):

* ``__meta__``: UTF-8 JSON as a uint8 array: the format name and version, the
  architecture (layers, activations, loss, L2, reduction, dtype), the class labels, the
  training state (epoch, seed, optimizer configuration, schedule) and a SHA-256 digest
  of every array in the file;
* ``layer{k}/W``, ``layer{k}/b``: the weights of layer ``k`` (1-based);
* ``optimizer/{key}/{i}``: the optimizer's state arrays, when saved with it.

``net.preprocessing_`` (a JSON-able dict, e.g. the feature standardisation that
``deltaprop train`` applies) is stored in the header and restored on load.

Loading reads with ``allow_pickle=False``, so a file cannot run code; it checks the
format, the version, the shapes and the digest, so that a truncated, corrupted or
edited file gives a :class:`ModelFileError` instead of a wrong network. Saving writes
a temporary file in the same directory and renames it over the target: a crash during
a save leaves any existing file intact.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .activations import ACTIVATIONS
from .network import MLP, Dense, Sequential

__all__ = ["save", "load", "ModelFileError", "FORMAT_VERSION"]

FORMAT_NAME = "deltaprop-model"
FORMAT_VERSION = 1


class ModelFileError(ValueError):
    """A model file that cannot be read: missing, truncated, corrupted, tampered with,
    or written by an unknown format version."""


def _digest(arrays):
    h = hashlib.sha256()
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        h.update(key.encode())
        h.update(str(a.dtype).encode())
        h.update(repr(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _activation_config(act):
    if ACTIVATIONS.get(act.name) is not type(act):
        raise ValueError(f"cannot save a network with the unregistered activation "
                         f"{type(act).__name__!r}: register it with deltaprop.activations.register")
    return act.get_config()


def _jsonable_labels(classes):
    if classes is None:
        return None
    classes = np.asarray(classes)
    kind = classes.dtype.kind
    if kind not in "biufU":
        raise ValueError(f"cannot save class labels of dtype {classes.dtype}")
    return {"kind": kind, "values": classes.tolist()}


def save(net, path, include_optimizer=True):
    """Write ``net`` to ``path`` (one ``.npz`` file), atomically.

    Parameters
    ----------
    net : Sequential
    path : str or Path
        The file to write, used as given (no suffix is added).
    include_optimizer : bool
        Also store the optimizer state, epoch counter, seed and schedule, so that
        ``deltaprop.load(path).fit(..., resume=True)`` continues the run exactly.
    """
    path = Path(path)
    arrays = {}
    layers = []
    for k, layer in enumerate(net.layers, start=1):
        arrays[f"layer{k}/W"] = layer.W
        arrays[f"layer{k}/b"] = layer.b
        layers.append({"n_in": layer.n_in, "n_out": layer.n_out,
                       "activation": _activation_config(layer.activation)})
    meta = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "class": type(net).__name__ if type(net) in (MLP, Sequential) else "Sequential",
        "dtype": str(net.dtype),
        "layers": layers,
        "loss": net.loss_function.name,
        "l2": net.l2,
        "reduction": net.reduction,
        "seed": getattr(net, "seed", None),
        "classes": _jsonable_labels(getattr(net, "classes_", None)),
        "preprocessing": getattr(net, "preprocessing_", None),
        "training": None,
    }
    if isinstance(net, MLP):
        meta["layer_sizes"] = net.layer_sizes
    state = getattr(net, "train_state_", None)
    if include_optimizer and state is not None:
        opt_state = state["optimizer"].state_dict()
        scalars = {}
        for key, value in opt_state.items():
            if isinstance(value, (list, tuple)) and value and isinstance(value[0], np.ndarray):
                for i, a in enumerate(value):
                    arrays[f"optimizer/{key}/{i}"] = a
                scalars[key] = {"__arrays__": len(value)}
            else:
                scalars[key] = value
        schedule = state["schedule"]
        meta["training"] = {
            "epoch": state["epoch"],
            "seed": state["seed"],
            "optimizer": state["optimizer"].get_config(),
            "optimizer_state": scalars,
            "schedule": None if schedule is None else {
                "config": schedule.get_config(),
                "state": schedule.state_dict() if hasattr(schedule, "state_dict") else None,
            },
        }
    meta["sha256"] = _digest(arrays)
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)

    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise ModelFileError(f"cannot save to {path}: the directory {directory} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _read(path):
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError) as exc:
        raise ModelFileError(f"{path} is not a readable deltaprop model file "
                             f"(truncated or corrupted?): {exc}") from None
    if "__meta__" not in arrays:
        raise ModelFileError(f"{path} is not a deltaprop model file (no __meta__ entry)")
    try:
        meta = json.loads(arrays.pop("__meta__").tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{path}: the metadata is not valid JSON: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{path} is not a deltaprop model file")
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFileError(f"{path} has format version {version!r}; this deltaprop reads "
                             f"version {FORMAT_VERSION} (upgrade deltaprop to read newer files)")
    if meta.get("sha256") != _digest(arrays):
        raise ModelFileError(f"{path}: the arrays do not match the file's checksum "
                             f"(the file was modified or corrupted)")
    return meta, arrays


def load(path):
    """Read a model written by :func:`save` / ``net.save``.

    Returns
    -------
    Sequential
        An :class:`~deltaprop.MLP` when one was saved, with ``classes_`` and, when the
        file has it, the training state for ``fit(..., resume=True)``.

    Raises
    ------
    ModelFileError
        For a missing, truncated, corrupted, tampered or wrong-version file.
    """
    meta, arrays = _read(path)
    try:
        return _build(meta, arrays)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: inconsistent model file: {exc}") from None


def _build(meta, arrays):
    from .optimizers import optimizer_from_config
    from .schedules import schedule_from_config

    dtype = meta["dtype"]
    layers = []
    for k, spec in enumerate(meta["layers"], start=1):
        cfg = dict(spec["activation"])
        cls = ACTIVATIONS[cfg.pop("name")]
        layer = Dense(spec["n_in"], spec["n_out"], cls(**cfg), dtype=dtype, rng=0)
        for name in ("W", "b"):
            a = arrays[f"layer{k}/{name}"]
            if a.dtype != layer.dtype:
                raise ValueError(f"layer{k}/{name} has dtype {a.dtype}, expected {layer.dtype}")
            setattr(layer, name, a)
        layers.append(layer)
    net = MLP.__new__(MLP) if meta["class"] == "MLP" else Sequential.__new__(Sequential)
    Sequential.__init__(net, layers, loss=meta["loss"], l2=meta["l2"], reduction=meta["reduction"])
    if meta["class"] == "MLP":
        net.layer_sizes, net.seed = meta["layer_sizes"], meta["seed"]
    if meta["classes"] is not None:
        kind = meta["classes"]["kind"]
        net.classes_ = np.array(meta["classes"]["values"],
                                dtype={"U": str, "b": bool, "f": float}.get(kind, np.int64))
    if meta.get("preprocessing") is not None:
        net.preprocessing_ = meta["preprocessing"]
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
        net.train_state_ = {"optimizer": opt, "seed": training["seed"],
                            "epoch": training["epoch"], "schedule": schedule}
    return net
