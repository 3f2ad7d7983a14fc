"""Model files: one ``.npz`` archive of arrays plus a JSON header, never pickle.

Layout (format version 2):

* ``__meta__``: UTF-8 JSON as a uint8 array: the format name and version, the network's
  class and architecture (``net.get_config()``: each layer's kind and config, the loss,
  L2, reduction, dtype), the class labels, the preprocessing, the training state (epoch,
  seed, optimizer configuration, schedule, the layers' random generators) and a SHA-256
  digest of the header and of every array in the file;
* ``layer{k}/{name}``: the parameters and buffers of layer ``k`` (1-based), e.g.
  ``layer1/W``, ``layer1/b``, ``layer2/running_mean``;
* ``optimizer/{key}/{i}``: the optimizer's state arrays, when saved with it.

Files of format version 1 (Dense layers only; the digest covers the arrays) still load.

``net.preprocessing_`` (a JSON-able dict, e.g. the feature standardisation that
``deltaprop train`` applies) is stored in the header and restored on load.

Loading reads with ``allow_pickle=False``, so a file cannot run code; it checks the
format, the version, the shapes and the digest, so that a truncated, corrupted or
edited file gives a :class:`ModelFileError` instead of a wrong network. Saving writes
a temporary file in the same directory and renames it over the target: a crash during
a save leaves any existing file intact.

This module knows networks only through their public methods and the classes that
register themselves (:func:`register_model`), so that it imports no network module.
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

__all__ = ["save", "load", "ModelFileError", "FORMAT_VERSION", "register_model", "MODELS"]

FORMAT_NAME = "deltaprop-model"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)

#: The network classes a file can name, filled by :func:`register_model`.
MODELS: dict[str, type] = {}


def register_model(cls):
    """Make a network class loadable by its name (``"Sequential"``, ``"MLP"``)."""
    MODELS[cls.__name__] = cls
    return cls


class ModelFileError(ValueError):
    """A model file that cannot be read: missing, truncated, corrupted, tampered with,
    or written by an unknown format version."""


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
        h.update(a.tobytes())
    return h.hexdigest()


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
        raise ValueError(f"cannot save class labels of dtype {classes.dtype}")
    return {"kind": kind, "values": classes.tolist()}


def _training_meta(net, arrays):
    state = net.train_state_
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
    }


def save(net, path, include_optimizer=True):
    """Write ``net`` to ``path`` (one ``.npz`` file), atomically.

    Parameters
    ----------
    net : Sequential
    path : str or Path
        The file to write, used as given (no suffix is added).
    include_optimizer : bool
        Also store the optimizer state, epoch counter, seed, schedule and the layers'
        random generators, so that ``deltaprop.load(path).fit(..., resume=True)``
        continues the run exactly.
    """
    path = Path(path)
    _check_registered(net)
    arrays = {}
    for k, layer in enumerate(net.layers, start=1):
        for name, (value, _) in zip(layer.parameter_names, layer.parameters()):
            arrays[f"layer{k}/{name}"] = value
        for name, value in layer.buffers().items():
            arrays[f"layer{k}/{name}"] = value
    cls = type(net).__name__
    meta = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "class": cls if MODELS.get(cls) is type(net) else "Sequential",
        "model": net.get_config(),
        "classes": _jsonable_labels(getattr(net, "classes_", None)),
        "preprocessing": getattr(net, "preprocessing_", None),
        "training": None,
    }
    if include_optimizer and getattr(net, "train_state_", None) is not None:
        meta["training"] = _training_meta(net, arrays)
    meta["sha256"] = _digest(arrays, meta)
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
    if version not in READABLE_VERSIONS:
        raise ModelFileError(f"{path} has format version {version!r}; this deltaprop reads "
                             f"version 1 and version 2 (upgrade deltaprop to read newer files)")
    if meta.get("sha256") != _digest(arrays, meta if version >= 2 else None):
        what = "the arrays do not" if version == 1 else "the header and arrays do not"
        raise ModelFileError(f"{path}: {what} match the file's checksum "
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
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise ModelFileError(f"{path}: inconsistent model file: {exc}") from None


def _upgrade_v1(meta):
    """The architecture of a version-1 header (Dense layers only) as ``get_config()``."""
    config = {"layers": [{"kind": "dense", **spec} for spec in meta["layers"]],
              "loss": meta["loss"], "l2": meta["l2"], "reduction": meta["reduction"],
              "dtype": meta["dtype"]}
    if meta["class"] == "MLP":
        config["mlp"] = {"layer_sizes": meta["layer_sizes"], "seed": meta["seed"]}
    return config


def _build(meta, arrays):
    from .optimizers import optimizer_from_config
    from .schedules import schedule_from_config

    config = meta["model"] if meta["format_version"] >= 2 else _upgrade_v1(meta)
    if meta["class"] not in MODELS:
        raise ValueError(f"unknown network class {meta['class']!r}")
    net = MODELS[meta["class"]].from_config(config)
    for k, layer in enumerate(net.layers, start=1):
        for name, value in [*zip(layer.parameter_names, (v for v, _ in layer.parameters())),
                            *layer.buffers().items()]:
            a = arrays[f"layer{k}/{name}"]
            if a.dtype != value.dtype:
                raise ValueError(f"layer{k}/{name} has dtype {a.dtype}, expected {value.dtype}")
            if a.shape != value.shape:
                raise ValueError(f"layer{k}/{name} has shape {a.shape}, expected {value.shape}")
            value[...] = a
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
        for layer, layer_state in zip(net.layers, training.get("layer_states") or []):
            if layer_state is not None:
                layer.set_state(layer_state)
        net.train_state_ = {"optimizer": opt, "seed": training["seed"],
                            "epoch": training["epoch"], "schedule": schedule}
    return net
