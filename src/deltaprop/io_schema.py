"""The header of a model file, field by field: what :func:`deltaprop.io.load` accepts and
:func:`deltaprop.io.save` writes.

:data:`HEADER_SCHEMA` is one declarative table (scikit-learn's ``_parameter_constraints``
style): each field names its check, built from a few small validators (a constrained leaf, a
bounded string, a list, a record of named fields, a record tagged by its ``kind``). The
checks across fields (layer sizes that fit together, as many classes as outputs, a data
contract as wide as the input) follow in :func:`validate_header`, and
:func:`expected_arrays` says which arrays, of which shapes, a valid header implies, so that a
file is checked before anything is allocated or built.

Every failure is an :class:`InvalidHeader` whose message names the field (``model.layers[1]
.n_in must be ...``); :mod:`deltaprop.io` turns it into a one-line ``ModelFileError``.
"""

from __future__ import annotations

import json
import math
import re
from numbers import Integral, Real

import numpy as np

from .activations import ACTIVATIONS
from .constraints import Boolean, Interval, Options, StrOptions, describe

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "HEADER_SCHEMA", "MODELS", "READABLE_VERSIONS",
           "InvalidHeader", "expected_arrays", "register_model", "validate_header"]

FORMAT_NAME = "deltaprop-model"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)

#: The network classes a file can name, filled by :func:`register_model`.
MODELS: dict[str, type] = {}


def register_model(cls):
    """Make a network class loadable by its name (``"Sequential"``, ``"MLP"``)."""
    MODELS[cls.__name__] = cls
    return cls


class InvalidHeader(Exception):
    """A header that does not fit the schema; the message names the field."""


def _show(value, limit=60):
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _where(prefix, key):
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    return f"{prefix}.{key}" if prefix else key


class _Leaf:
    """A value that satisfies one of a list of :mod:`deltaprop.constraints` constraints."""

    def __init__(self, *constraints):
        self.constraints = constraints

    def __call__(self, value, where):
        for c in self.constraints:
            try:
                ok = value is None if c is None else (
                    not isinstance(value, (np.generic, np.ndarray)) and c.is_satisfied_by(value))
            except Exception:  # noqa: BLE001 - e.g. an int too large for a float
                ok = False
            if ok:
                return
        raise InvalidHeader(f"{where} must be {describe(self.constraints)}; got {_show(value)}")


class _Str:
    """A string of at most ``max_len`` characters, optionally matching ``pattern``."""

    def __init__(self, max_len=10_000, pattern=None, what="a string"):
        self.max_len, self.pattern, self.what = max_len, pattern and re.compile(pattern), what

    def __call__(self, value, where):
        if not isinstance(value, str) or len(value) > self.max_len or (
                self.pattern is not None and not self.pattern.fullmatch(value)):
            raise InvalidHeader(f"{where} must be {self.what}; got {_show(value)}")


class _Optional:
    """``None`` or what ``inner`` accepts."""

    def __init__(self, inner):
        self.inner = inner

    def __call__(self, value, where):
        if value is not None:
            self.inner(value, where)


class _Any:
    """One of several alternatives (the message of the last is given)."""

    def __init__(self, *alternatives):
        self.alternatives = alternatives

    def __call__(self, value, where):
        for alt in self.alternatives[:-1]:
            try:
                alt(value, where)
                return
            except InvalidHeader:
                pass
        self.alternatives[-1](value, where)


class _List:
    """A JSON list of at most ``max_len`` items, each checked by ``item``."""

    def __init__(self, item, max_len=10_000_000, min_len=0, unique=False):
        self.item, self.max_len, self.min_len, self.unique = item, max_len, min_len, unique

    def __call__(self, value, where):
        if not isinstance(value, list):
            raise InvalidHeader(f"{where} must be a list; got {_show(value)}")
        if not self.min_len <= len(value) <= self.max_len:
            raise InvalidHeader(f"{where} must have {self.min_len} to {self.max_len} items; "
                           f"got {len(value)}")
        for i, item in enumerate(value):
            self.item(item, _where(where, i))
        if self.unique:
            seen = set()
            for i, item in enumerate(value):
                key = (type(item).__name__, item)
                if key in seen:
                    raise InvalidHeader(f"{where} has the value {_show(item)} twice")
                seen.add(key)


class _Record:
    """A JSON object with the keys of ``fields`` (``key?``: optional), nothing else unless
    ``extra`` checks the values of other keys."""

    def __init__(self, fields, extra=None):
        self.fields = {k.rstrip("?"): (v, k.endswith("?")) for k, v in fields.items()}
        self.extra = extra

    def __call__(self, value, where):
        if not isinstance(value, dict):
            raise InvalidHeader(f"{where or 'the header'} must be an object; got {_show(value)}")
        for key, (check, optional) in self.fields.items():
            if key in value:
                check(value[key], _where(where, key))
            elif not optional:
                raise InvalidHeader(f"{where or 'the header'} has no {key!r}")
        for key in value:
            if key not in self.fields:
                if self.extra is None:
                    raise InvalidHeader(f"{where or 'the header'} has an unknown entry {key!r}")
                self.extra(value[key], _where(where, key))


class _Tagged:
    """An object whose ``tag`` (e.g. a layer's ``"kind"``) selects its record."""

    def __init__(self, tag, records, known, fallback):
        self.tag, self.records, self.known, self.fallback = tag, records, known, fallback

    def __call__(self, value, where):
        if not isinstance(value, dict):
            raise InvalidHeader(f"{where} must be an object; got {_show(value)}")
        kind = value.get(self.tag)
        _Leaf(StrOptions(self.known))(kind, _where(where, self.tag))
        rest = {k: v for k, v in value.items() if k != self.tag}
        self.records.get(kind, self.fallback)(rest, where)


def _registry(module, name):
    """The keys of a registry, read at check time (extensions register later)."""
    def names():
        import importlib

        return sorted(getattr(importlib.import_module(f"deltaprop.{module}"), name))
    return names


_SIZE = _Leaf(Interval(Integral, 1, None, closed="left"))
_COUNT = _Leaf(Interval(Integral, 0, None, closed="left"))
_INT = _Leaf(Interval(Integral, None, None, closed="neither"))
_FLOAT = _Leaf(Interval(Real, None, None, closed="neither"))
_POSITIVE = _Leaf(Interval(Real, 0, None, closed="neither"))
_FRACTION = _Leaf(Interval(Real, 0, 1, closed="left"))


class _ScalarCheck:
    """A number (±inf allowed), a bool, a string or null: a hyper-parameter's value."""

    def __call__(self, value, where):
        if value is None or isinstance(value, bool) or (
                isinstance(value, str) and len(value) <= 10_000):
            return
        if isinstance(value, int) or (isinstance(value, float) and not math.isnan(value)):
            return
        raise InvalidHeader(f"{where} must be a number, a bool, a string or null; got {_show(value)}")


class _JSONCheck:
    """Any JSON value without NaN (nesting is bounded before parsing)."""

    def __call__(self, value, where):
        if isinstance(value, dict):
            for k, v in value.items():
                self(v, _where(where, k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                self(v, _where(where, i))
        else:
            _ScalarCheck()(value, where)


_SCALAR = _ScalarCheck()
_JSON = _JSONCheck()
_HEX64 = _Str(64, r"[0-9a-f]{64}", "a SHA-256 digest (64 hexadecimal digits)")
_ACTIVATION = _Record({"name": _Leaf(StrOptions(lambda: sorted(ACTIVATIONS)))}, extra=_SCALAR)
_NUMBERS = _List(_FLOAT)
_POSITIVES = _List(_POSITIVE)
_STANDARDIZE = _Record({"mean": _NUMBERS, "scale": _POSITIVES})


class _LayerSpec:
    """What io knows of a built-in layer kind: its config, the arrays it keeps (name ->
    shape: its parameters, then its ``buffers``) and its (input, output) widths (None:
    it keeps its input's), so that a file is checked before a layer is built. A kind
    registered elsewhere is checked by its own ``from_config`` instead."""

    def __init__(self, record, arrays, widths, buffers=()):
        self.record, self.arrays, self.widths, self.buffers = record, arrays, widths, buffers


_LAYER_SPECS = {
    "dense": _LayerSpec(
        _Record({"n_in": _SIZE, "n_out": _SIZE, "activation": _ACTIVATION}),
        lambda c: {"W": (c["n_in"], c["n_out"]), "b": (c["n_out"],)},
        lambda c: (c["n_in"], c["n_out"])),
    "batch_norm": _LayerSpec(
        _Record({"n_features": _SIZE, "momentum": _Leaf(Interval(Real, 0, 1, closed="right")),
                 "eps": _POSITIVE}),
        lambda c: {n: (c["n_features"],) for n in
                   ("gamma", "beta", "running_mean", "running_var")},
        lambda c: (c["n_features"], c["n_features"]), buffers=("running_mean", "running_var")),
    "layer_norm": _LayerSpec(
        _Record({"n_features": _SIZE, "eps": _POSITIVE}),
        lambda c: {n: (c["n_features"],) for n in ("gamma", "beta")},
        lambda c: (c["n_features"], c["n_features"])),
    "dropout": _LayerSpec(
        _Record({"p": _FRACTION, "seed": _Optional(_INT)}),
        lambda c: {}, lambda c: (None, None)),
}

_LAYER = _Tagged("kind", {kind: spec.record for kind, spec in _LAYER_SPECS.items()},
                 _registry("layers.base", "LAYERS"), _Record({}, extra=_JSON))

_CLASS_DTYPES = r"bool|u?int(8|16|32|64)|float(16|32|64)|[<>=|]?U[0-9]{1,5}"
_CLASSES = _Record({
    "kind": _Leaf(Options("biufU")),
    "dtype?": _Str(16, _CLASS_DTYPES, "a label dtype (bool, int64, float64, <U5...)"),
    "values": _List(_Any(_Leaf(Boolean()), _INT, _FLOAT, _Str()), min_len=1, unique=True),
})

_SPLIT = _Record({"seed": _INT, "test_fraction": _FRACTION, "val_fraction": _FRACTION,
                  "n_rows": _COUNT, "fingerprint": _HEX64})

_MODEL = _Record({
    "layers": _List(_LAYER, max_len=10_000, min_len=1),
    "loss": _Leaf(StrOptions(_registry("losses", "LOSSES"))),
    "l2": _Leaf(Interval(Real, 0, None, closed="left")),
    "reduction": _Leaf(Options(("mean", "sum"))),
    "dtype": _Leaf(Options(("float32", "float64"))),
    "task?": _Leaf(Options(("classification", "regression", "multilabel"))),
    "mlp?": _Record({"layer_sizes": _List(_SIZE, min_len=2), "seed": _Optional(_INT),
                     "dropout?": _Leaf(Interval(Real, 0, 1, closed="left")),
                     "norm?": _Leaf(Options(("batch", "layer")), None)}),
})

_TRAINING = _Record({
    "epoch": _COUNT,
    "seed": _Optional(_INT),
    "optimizer": _Record({"name": _Str(200)}, extra=_SCALAR),
    "optimizer_state": _Record({"name": _Str(200), "hyper": _Record({}, extra=_SCALAR),
                                "t": _COUNT},
                               extra=_Any(_SCALAR, _Record({"__arrays__": _COUNT}))),
    "schedule": _Optional(_Record({
        "config": _Record({"name": _Leaf(StrOptions(_registry("schedules", "SCHEDULES")))},
                          extra=_SCALAR),
        "state": _Optional(_Record({}, extra=_SCALAR))})),
    "layer_states?": _List(_Optional(_Record({}, extra=_JSON)), max_len=10_000),
    # the callbacks' counters (EarlyStopping's), their arrays as callbacks/{name}/{i}
    "callbacks?": _Record({}, extra=_Record({"__arrays__": _COUNT}, extra=_JSON)),
})

#: The header of a format-2 file, field by field (``key?``: optional).
HEADER_SCHEMA = _Record({
    "format": _Leaf(Options((FORMAT_NAME,))),
    "format_version": _Leaf(Options(READABLE_VERSIONS)),
    "class": _Leaf(StrOptions(lambda: sorted(MODELS))),
    "model": _MODEL,
    "classes": _Optional(_CLASSES),
    "preprocessing": _Optional(_Record({"standardize?": _STANDARDIZE})),
    "data?": _Optional(_Record({
        "feature_names": _Optional(_List(_Str(), unique=True)),
        "target_name": _Optional(_Str()),
        "task": _Leaf(Options(("classification", "regression", "multilabel"))),
        "source": _Str(),
        "split": _Optional(_SPLIT),
        "target_scaling": _Optional(_Record({"mean": _NUMBERS, "scale": _POSITIVES})),
        # the data contract of a model trained on a table (TableEncoder.get_state)
        "targets?": _List(_Str(), min_len=1, unique=True),
        "columns?": _List(_Record({"name": _Str(), "kind": _Leaf(Options(
            ("numeric", "boolean", "categorical")))}, extra=_JSON), min_len=1,
            max_len=100_000),
        "ignored?": _List(_Str(), unique=True),
        "missing?": _Leaf(Options(("impute", "drop", "error"))),
    })),
    "training": _Optional(_TRAINING),
    "sha256": _HEX64,
})

#: The header of a format-1 file (upgraded to format 2's ``model`` before the checks).
_HEADER_V1 = _Record({
    "format": _Leaf(Options((FORMAT_NAME,))),
    "format_version": _Leaf(Options((1,))),
    "class": _Leaf(StrOptions(lambda: sorted(MODELS))),
    "dtype": _JSON, "layers": _List(_Record({}, extra=_JSON), max_len=10_000, min_len=1),
    "loss": _JSON, "l2": _JSON, "reduction": _JSON, "seed": _JSON,
    "classes": _JSON, "preprocessing": _JSON, "training": _JSON, "layer_sizes?": _JSON,
    "sha256": _HEX64,
})


# ---------------------------------------------------------- rules across fields
def _widths(model):
    """``[(layer index, spec or None, config)]`` and the network's input and output widths."""
    entries, n_in, width, known = [], None, None, True
    for k, layer in enumerate(model["layers"]):
        config = {key: v for key, v in layer.items() if key != "kind"}
        spec = _LAYER_SPECS.get(layer["kind"])
        entries.append((k, spec, config))
        if spec is None:
            width, known = None, False  # an extension layer: checked once it is built
            continue
        a, b = spec.widths(config)
        if a is not None:
            if width is not None and a != width:
                raise InvalidHeader(f"model.layers[{k}] takes {a} inputs, but the layer before it "
                               f"gives {width}")
            if n_in is None and known:
                n_in = a
            width = b
    return entries, n_in, width


def _check_rules(meta):
    """The checks that involve several fields (sizes that fit together)."""
    model = meta["model"]
    _, n_in, n_out = _widths(model)
    mlp = model.get("mlp")
    if mlp is not None and n_in is not None:
        dense = [layer for layer in model["layers"] if layer["kind"] == "dense"]
        sizes = [dense[0]["n_in"]] + [d["n_out"] for d in dense] if dense else []
        if mlp["layer_sizes"] != sizes:
            raise InvalidHeader(f"model.mlp.layer_sizes {_show(mlp['layer_sizes'])} does not match "
                           f"the layers' sizes {_show(sizes)}")
    classes = meta.get("classes")
    if classes is not None:
        values, kind = classes["values"], classes["kind"]
        types = {"b": (bool,), "i": (int,), "u": (int,), "f": (int, float), "U": (str,)}[kind]
        for i, v in enumerate(values):
            if not isinstance(v, types) or (kind != "b" and isinstance(v, bool)) or (
                    kind == "u" and v < 0):
                raise InvalidHeader(f"classes.values[{i}] = {_show(v)} is not a label of kind "
                               f"{kind!r}")
        dtype = classes.get("dtype")
        if dtype is not None and np.dtype(dtype).kind != kind:
            raise InvalidHeader(f"classes.dtype {dtype!r} is not of kind {kind!r}")
        if n_out is not None and not (len(values) == n_out or (n_out == 1 and len(values) == 2)):
            raise InvalidHeader(f"the file has {len(values)} classes but the network has {n_out} "
                           f"output{'s' if n_out != 1 else ''}")
    standardize = (meta.get("preprocessing") or {}).get("standardize")
    if standardize is not None:
        for key in ("mean", "scale"):
            if n_in is not None and len(standardize[key]) != n_in:
                raise InvalidHeader(f"preprocessing.standardize.{key} has {len(standardize[key])} "
                               f"values but the network has {n_in} inputs")
    data = meta.get("data")
    if data is not None:
        names = data["feature_names"]
        if names is not None and n_in is not None and len(names) != n_in:
            raise InvalidHeader(f"data.feature_names has {len(names)} names but the network has "
                           f"{n_in} inputs")
        if data.get("columns") is not None:
            from .datasets.encoding import TableEncoder

            try:
                encoder = TableEncoder.from_state(data["columns"])
            except ValueError as exc:
                raise InvalidHeader(str(exc)) from None
            width = len(encoder.get_feature_names_out())
            if n_in is not None and width != n_in:
                raise InvalidHeader(f"data.columns encode {width} features but the network has "
                               f"{n_in} inputs")
        scaling = data["target_scaling"]
        if scaling is not None:
            if data["task"] != "regression":
                raise InvalidHeader(f"data.target_scaling is for regression, but data.task is "
                               f"{data['task']!r}")
            for key in ("mean", "scale"):
                if n_out is not None and len(scaling[key]) != n_out:
                    raise InvalidHeader(f"data.target_scaling.{key} has {len(scaling[key])} values "
                                   f"but the network has {n_out} outputs")
        if classes is not None and data["task"] == "regression":
            raise InvalidHeader("the file has class labels but data.task is 'regression'")
    training = meta.get("training")
    if training is not None:
        states = training.get("layer_states")
        if states is not None and len(states) != len(model["layers"]):
            raise InvalidHeader(f"training.layer_states has {len(states)} entries for "
                           f"{len(model['layers'])} layers")


def _upgrade_v1(meta):
    """The architecture of a version-1 header (Dense layers only) as ``get_config()``."""
    config = {"layers": [{"kind": "dense", **spec} for spec in meta["layers"]],
              "loss": meta["loss"], "l2": meta["l2"], "reduction": meta["reduction"],
              "dtype": meta["dtype"]}
    if meta["class"] == "MLP":
        config["mlp"] = {"layer_sizes": meta.get("layer_sizes"), "seed": meta["seed"]}
    return config


def validate_header(meta):
    """The header in format 2's shape, checked against the schema and the rules.

    Raises
    ------
    InvalidHeader
    """
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise InvalidHeader("not a deltaprop model file (no deltaprop header)")
    version = meta.get("format_version")
    if version not in READABLE_VERSIONS:
        raise InvalidHeader(f"format version {_show(version)}; this deltaprop reads version 1 "
                       f"and version 2 (upgrade deltaprop to read newer files)")
    if version == 1:
        _HEADER_V1(meta, "")
        meta = {"format": FORMAT_NAME, "format_version": 1, "class": meta["class"],
                "model": _upgrade_v1(meta), "classes": meta["classes"],
                "preprocessing": meta["preprocessing"], "training": meta["training"],
                "sha256": meta["sha256"]}
    HEADER_SCHEMA(meta, "")
    _check_rules(meta)
    return meta


def expected_arrays(meta):
    """``{key: shape or None}`` of the arrays the header implies (None: a layer kind that
    io does not know, checked once built), and whether the list is complete."""
    model = meta["model"]
    entries, _, _ = _widths(model)
    expected, shapes, complete = {}, [], True
    for k, spec, config in entries:
        if spec is None:
            complete = False
            continue
        for name, shape in spec.arrays(config).items():
            expected[f"layer{k + 1}/{name}"] = shape
            if name not in spec.buffers:
                shapes.append(shape)  # the trainable parameters, in the store's order
    training = meta.get("training")
    if training is not None:
        for key, value in training["optimizer_state"].items():
            if isinstance(value, dict) and "__arrays__" in value:
                n = value["__arrays__"]
                if complete and n not in (0, len(shapes)):
                    raise InvalidHeader(f"training.optimizer_state.{key} holds {n} arrays for "
                                   f"{len(shapes)} parameters")
                for i in range(n):
                    expected[f"optimizer/{key}/{i}"] = shapes[i] if complete else None
        for name, callback in (training.get("callbacks") or {}).items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", name):
                raise InvalidHeader(f"training.callbacks has the name {_show(name)}, not an "
                                    f"identifier")
            for i in range(callback["__arrays__"]):  # shapes: checked by the callback
                expected[f"callbacks/{name}/{i}"] = None
    return expected, complete
