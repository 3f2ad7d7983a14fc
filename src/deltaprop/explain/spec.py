r"""A network written by hand: a small JSON file with the layers' numbers, the loss and the
data, for ``deltaprop explain --network FILE`` and the exercises (``exercise.json`` is one).

.. code-block:: json

    {
      "layers": [
        {"W": [[1, 0.5], [-1, 1]], "b": [0.5, -1], "activation": "relu"},
        {"W": [[2], [1]], "b": [0.5], "activation": "identity"}
      ],
      "loss": "half_squared_error",
      "x": [1, 2],
      "t": 0.5
    }

``W`` is in deltaprop's orientation, ``n_in × n_out`` (``a = f(h W + b)`` on rows), unless
the file says ``"orientation": "lecture"``: then every ``W`` is written as the lectures
write it, one row per unit, ``n_out × n_in`` (``α = W h + b``). One sample is ``"x"`` and
``"t"``; a batch is ``"X"`` and ``"T"`` (one row per sample; class labels for
cross-entropy may be integers). Optional: ``"reduction"`` (``"mean"``, the default, or
``"sum"``), ``"notation"`` (the default notation of ``explain``), ``"title"``,
``"comment"``. Any other key is an error, so that a misspelt one is never ignored
(``"exercise"`` is the section an exercise adds for itself).

JSON rather than TOML: Python reads *and writes* it with the standard library on every
version deltaprop supports (``tomllib`` reads only, and only from Python 3.11), and an
exercise file written by the tool must be read back by the same tool and by a
gradebook's scripts.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["NetworkSpec", "SpecError", "load_spec", "spec_of", "ORIENTATIONS"]

ORIENTATIONS = ("library", "lecture")
_KEYS = {"layers", "loss", "x", "t", "X", "T", "orientation", "reduction", "notation", "title",
         "comment", "exercise"}
_LAYER_KEYS = {"W", "b", "activation"}


class SpecError(ValueError):
    """A network file that cannot be read: the message names the file and the entry."""


@dataclass
class NetworkSpec:
    """A network, its data and its loss, as a hand-written file gives them.

    ``Ws`` are in deltaprop's orientation (``n_in × n_out``) whatever the file's.
    """

    Ws: list[np.ndarray]
    bs: list[np.ndarray]
    activations: list[str]
    loss: str
    X: np.ndarray
    T: np.ndarray
    reduction: str = "mean"
    notation: str | None = None
    title: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def sizes(self) -> list[int]:
        return [self.Ws[0].shape[0]] + [W.shape[1] for W in self.Ws]

    def network(self) -> Any:
        """A float64 :class:`~deltaprop.network.Sequential` with these weights."""
        from ..network import Dense, Sequential

        layers = []
        for W, b, act in zip(self.Ws, self.bs, self.activations):
            layer = Dense(W.shape[0], W.shape[1], act, dtype="float64")
            layer.W, layer.b = W.copy(), b.copy()
            layers.append(layer)
        return Sequential(layers, loss=self.loss, reduction=self.reduction)

    def explain(self, notation: str | None = None, **kw: Any) -> Any:
        """:func:`~deltaprop.explain.explain` of this network on its data."""
        from .trace import explain

        return explain(self.network(), self.X, self.T,
                       notation=notation or self.notation or "goodfellow", **kw)

    def to_dict(self, orientation: str = "library") -> dict[str, Any]:
        """The file's content (without ``extra``), W in the given orientation."""
        if orientation not in ORIENTATIONS:
            raise ValueError(f"orientation must be one of {ORIENTATIONS}, got {orientation!r}")
        out: dict[str, Any] = {}
        if self.title:
            out["title"] = self.title
        if orientation == "lecture":
            out["orientation"] = "lecture"
        out["layers"] = [{"W": _plain(W.T if orientation == "lecture" else W), "b": _plain(b),
                          "activation": act}
                         for W, b, act in zip(self.Ws, self.bs, self.activations)]
        out["loss"] = self.loss
        if self.reduction != "mean":
            out["reduction"] = self.reduction
        if self.notation:
            out["notation"] = self.notation
        if len(self.X) == 1:
            out["x"], out["t"] = _plain(self.X[0]), _plain(self.T[0])
        else:
            out["X"], out["T"] = _plain(self.X), _plain(self.T)
        return out


def _plain(a):
    """An array as JSON numbers: integers where the value is one (``1`` rather than ``1.0``)."""
    a = np.asarray(a)
    if a.ndim == 0:
        v = float(a)
        return int(v) if v.is_integer() and abs(v) < 2**53 else v
    return [_plain(v) for v in a]


def _matrix(value, where):
    """A non-empty list of equal-length rows of finite numbers, as a float64 array."""
    ok = (isinstance(value, list) and value and all(isinstance(r, list) and r for r in value)
          and len({len(r) for r in value}) == 1)
    if not ok:
        raise SpecError(f"{where} must be a matrix: a list of rows of equal length, e.g. "
                        f"[[1, 0.5], [-1, 1]]")
    return _numbers(value, where)


def _numbers(value, where):
    try:
        a = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise SpecError(f"{where} must hold numbers only, got {json.dumps(value)[:60]}") from None
    if a.dtype == object or not np.all(np.isfinite(a)):
        raise SpecError(f"{where} must hold finite numbers, got {json.dumps(value)[:60]}")
    return a


def _vector(value, where):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value]
    if not (isinstance(value, list) and value and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
        raise SpecError(f"{where} must be a list of numbers, e.g. [0.5, -1]")
    return _numbers(value, where)


def _layers(data, orientation):
    layers = data.get("layers")
    if not isinstance(layers, list) or not layers:
        raise SpecError("\"layers\" must be a non-empty list of {\"W\", \"b\", \"activation\"}")
    from ..activations import get_activation

    Ws, bs, acts = [], [], []
    for i, layer in enumerate(layers):
        where = f"layers[{i}]"
        if not isinstance(layer, dict):
            raise SpecError(f"{where} must be an object with \"W\", \"b\" and \"activation\"")
        unknown = sorted(set(layer) - _LAYER_KEYS)
        missing = sorted(_LAYER_KEYS - set(layer))
        if unknown or missing:
            what = (f"unknown key {unknown[0]!r}" if unknown else f"no {missing[0]!r}")
            raise SpecError(f"{where} has {what}; a layer has \"W\", \"b\" and \"activation\"")
        W = _matrix(layer["W"], f"{where}.W")
        if orientation == "lecture":
            W = W.T
        b = _vector(layer["b"], f"{where}.b")
        shape = "n_out × n_in (\"orientation\": \"lecture\")" if orientation == "lecture" \
            else "n_in × n_out (deltaprop's orientation; write \"orientation\": \"lecture\" " \
                 "for n_out × n_in)"
        if Ws and W.shape[0] != Ws[-1].shape[1]:
            raise SpecError(f"{where}.W is {_shape(W, orientation)}: it takes {W.shape[0]} "
                            f"inputs, but layers[{i - 1}] has {Ws[-1].shape[1]} units "
                            f"(W is {shape})")
        if b.shape != (W.shape[1],):
            raise SpecError(f"{where}.b has {b.size} entries, but {where}.W has {W.shape[1]} "
                            f"units (W is {shape})")
        try:
            act = get_activation(layer["activation"]).name
        except (ValueError, TypeError) as exc:
            raise SpecError(f"{where}.activation: {exc}") from None
        Ws.append(W)
        bs.append(b)
        acts.append(act)
    return Ws, bs, acts


def _shape(W, orientation):
    r, c = (W.shape[1], W.shape[0]) if orientation == "lecture" else W.shape
    return f"{r} × {c}"


def _data(data, n_in, n_out, labels):
    """``(X, T)`` from ``x``/``t`` (one sample) or ``X``/``T`` (rows); ``labels``: whether
    a single number per sample is a class label (cross-entropy)."""
    one, batch = ("x" in data or "t" in data), ("X" in data or "T" in data)
    if one == batch:
        raise SpecError("give one sample as \"x\" and \"t\", or a batch as \"X\" and \"T\" "
                        "(one row per sample)")
    if one:
        if "x" not in data or "t" not in data:
            raise SpecError("one sample needs both \"x\" and \"t\"")
        X = _vector(data["x"], "x")[None, :]
        T = _targets([data["t"]], "t", n_out, labels)
    else:
        if "X" not in data or "T" not in data:
            raise SpecError("a batch needs both \"X\" and \"T\"")
        X = _matrix(data["X"], "X")
        T = _targets(data["T"], "T", n_out, labels)
        if len(T) != len(X):
            raise SpecError(f"X has {len(X)} rows but T has {len(T)}: one target per sample")
    if X.shape[1] != n_in:
        name = "x" if one else "X"
        raise SpecError(f"{name} has {X.shape[1]} entr{'y' if X.shape[1] == 1 else 'ies'} per "
                        f"sample, but layers[0] takes {n_in} inputs")
    return X, T


def _targets(rows, where, n_out, labels):
    """Target rows: lists of n_out numbers, a number (one output), or class labels."""
    if not isinstance(rows, list) or not rows:
        raise SpecError(f"{where} must be a list of target rows")
    if all(isinstance(r, (int, float)) and not isinstance(r, bool) for r in rows):
        if n_out == 1:
            return _numbers(rows, where)[:, None]
        if not labels:
            raise SpecError(f"{where} gives one number per sample, but the last layer has "
                            f"{n_out} units: write the target row of {n_out} numbers (a class "
                            f"label is for the cross_entropy loss)")
        labels = _numbers(rows, where)
        if not np.all(labels == np.round(labels)) or labels.min() < 0 or labels.max() >= n_out:
            raise SpecError(f"{where}: with {n_out} outputs a single number must be a class label "
                            f"0..{n_out - 1}; otherwise write the target row of {n_out} numbers")
        return np.eye(n_out)[labels.astype(int)]
    T = _matrix(rows if where == "T" else [_vector(rows[0], where).tolist()], where)
    if T.shape[1] != n_out:
        raise SpecError(f"{where} has {T.shape[1]} entries per sample, but the last layer has "
                        f"{n_out} units")
    return T


def read_spec(data: Any, source: str = "the network") -> NetworkSpec:
    """A :class:`NetworkSpec` from the parsed JSON ``data``; errors name ``source``."""
    try:
        return _read(data)
    except SpecError as exc:
        raise SpecError(f"{source}: {exc}") from None


def _read(data):
    if not isinstance(data, dict):
        raise SpecError("the file must hold a JSON object {\"layers\": [...], \"loss\": ...}")
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise SpecError(f"unknown key {unknown[0]!r}; the keys are: {', '.join(sorted(_KEYS))}")
    orientation = data.get("orientation", "library")
    if orientation not in ORIENTATIONS:
        raise SpecError(f"\"orientation\" must be \"library\" (W is n_in × n_out) or "
                        f"\"lecture\" (n_out × n_in), got {orientation!r}")
    Ws, bs, acts = _layers(data, orientation)
    if "loss" not in data:
        raise SpecError("no \"loss\" (e.g. \"half_squared_error\" for ½‖t − y‖²)")
    from ..losses import get_loss

    try:
        loss = get_loss(data["loss"]).name
    except (ValueError, TypeError) as exc:
        raise SpecError(f"loss: {exc}") from None
    reduction = data.get("reduction", "mean")
    if reduction not in ("mean", "sum"):
        raise SpecError(f"\"reduction\" must be \"mean\" or \"sum\", got {reduction!r}")
    notation = data.get("notation")
    if notation is not None:
        from .notations import get_notation

        try:
            notation = get_notation(notation).key
        except ValueError as exc:
            raise SpecError(f"notation: {exc}") from None
    X, T = _data(data, Ws[0].shape[0], Ws[-1].shape[1], labels=loss == "cross_entropy")
    title = data.get("title")
    return NetworkSpec(Ws, bs, acts, loss, X, T, reduction, notation,
                       None if title is None else str(title),
                       {k: data[k] for k in ("exercise", "comment") if k in data})


def load_spec(source: Any) -> NetworkSpec:
    """Read a network file (a path) or an already parsed dict.

    Raises :class:`SpecError` (a ``ValueError``) with one line naming the file and the
    entry that is wrong.
    """
    if isinstance(source, dict):
        return read_spec(source)
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot be read ({exc})") from None
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise SpecError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno}, column "
                        f"{exc.colno}") from None
    return read_spec(data, str(path))


def _no_constant(name):
    raise SpecError(f"{name} is not a finite number")


def spec_of(net: Any, X: Any, T: Any, notation: str | None = None,
            title: str | None = None) -> NetworkSpec:
    """The :class:`NetworkSpec` of a network of Dense layers and its data (float64)."""
    Ws, bs, acts = [], [], []
    for layer in net.layers:
        if not hasattr(layer, "W"):
            raise ValueError(f"a network file holds Dense layers only, not {layer!r}")
        Ws.append(np.array(layer.W, dtype=np.float64))
        bs.append(np.array(layer.b, dtype=np.float64))
        acts.append(layer.activation.name)
    X = np.atleast_2d(np.asarray(X, dtype=np.float64))
    T = np.asarray(T, dtype=np.float64).reshape(len(X), -1)
    if not math.isfinite(float(np.sum(X))) or not math.isfinite(float(np.sum(T))):
        raise ValueError("a network file holds finite numbers only")
    return NetworkSpec(Ws, bs, acts, net.loss_function.name, X, T, net.reduction, notation,
                       title)
