"""The worked examples: small float64 networks with chosen weights, one per lecture note's notation.

========================  ============  ==========================================================
name                      notation      what it shows
========================  ============  ==========================================================
``relu-2-2-1``            goodfellow    the worked 2-2-1 example: steps 1-5 and its 9 derivatives
``sigmoid-2-3-2``         nielsen       Nielsen's four equations BP1-BP4 on a sigmoid network
``sigmoid-4-layer``       hagan         Hagan et al.'s sensitivities over a training set of 2 pairs
``softmax``               rousseau      softmax + cross-entropy: the output error is ``y - t``
``minibatch``             rousseau      the mini-batch objective: per-sample and averaged gradients
========================  ============  ==========================================================

The 2-2-1 example is the network the README, ``deltaprop explain --example relu-2-2-1``,
the notebook *Backpropagation by hand* and the tests all use: ``x = (1, 2)``, ``t = 0.5``,
``J = 1.125``. (The names of earlier versions still work, with a :class:`DeprecationWarning`.)
"""

from __future__ import annotations

from dataclasses import dataclass

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .trace import Trace, explain

__all__ = ["Example", "EXAMPLES", "example", "explain_example"]


@dataclass(frozen=True)
class Example:
    """A worked example: a small float64 network with chosen weights, inputs and targets."""

    name: str
    title: str
    notation: str
    build: Callable[[], tuple[Any, np.ndarray, np.ndarray]]  # () -> (net, X, T)


def _net(sizes, activations, loss, weights, biases, reduction="mean"):
    """A float64 network whose layer ``k`` has the given weights, written as Goodfellow et al.
    and Nielsen do: one row per unit (``n_out x n_in``), i.e. deltaprop's ``W.T``."""
    from ..network import Dense, Sequential

    layers = []
    for n_in, n_out, act, W, b in zip(sizes, sizes[1:], activations, weights, biases):
        layer = Dense(n_in, n_out, act, dtype="float64")
        layer.W = np.asarray(W, dtype=np.float64).T
        layer.b = b
        layers.append(layer)
    return Sequential(layers, loss=loss, reduction=reduction)


def _relu_2_2_1():
    # Goodfellow et al.'s steps (Deep Learning, §6.5.4) on a 2-2-1 network, f1 = ReLU, f2 = identity,
    # L = ½(t − y)²: nine derivatives.
    # The first hidden unit is inactive (α₁ = −0.5) to show step(α) = 0.
    net = _net([2, 2, 1], ["relu", "identity"], "half_squared_error",
               weights=[[[1.0, -1.0], [0.5, 1.0]], [[2.0, 1.0]]],
               biases=[[0.5, -1.0], [0.5]])
    return net, np.array([[1.0, 2.0]]), np.array([[0.5]])


def _sigmoid_2_3_2():
    # Nielsen's sigmoid network with the quadratic cost C = ½‖y − aᴸ‖².
    net = _net([2, 3, 2], ["sigmoid", "sigmoid"], "half_squared_error",
               weights=[[[0.1, 0.4], [-0.3, 0.2], [0.5, -0.1]],
                        [[0.3, -0.2, 0.6], [-0.4, 0.1, 0.2]]],
               biases=[[0.1, 0.0, -0.2], [0.0, 0.1]])
    return net, np.array([[1.0, 0.5]]), np.array([[1.0, 0.0]])


def _sigmoid_4_layer():
    # Hagan's 4-layer network, sigmoid units, total squared error Σ_TSE = Σᵢ ‖tⁱ − yⁱ‖²
    # over a training set of two pairs.
    net = _net([2, 3, 3, 2, 2], ["sigmoid"] * 4, "squared_error",
               weights=[[[0.5, -0.3], [0.2, 0.8], [-0.6, 0.4]],
                        [[0.3, -0.5, 0.2], [0.7, 0.1, -0.4], [-0.2, 0.6, 0.5]],
                        [[0.4, -0.7, 0.3], [0.6, 0.2, -0.5]],
                        [[0.8, -0.6], [-0.3, 0.9]]],
               biases=[[0.1, -0.1, 0.0], [0.0, 0.2, -0.1], [0.1, 0.0], [-0.2, 0.1]],
               reduction="sum")
    return net, np.array([[1.0, -1.0], [0.5, 2.0]]), np.array([[1.0, 0.0], [0.0, 1.0]])


def _softmax():
    # A softmax classifier with cross-entropy: the output error vector is y − t, no σ'.
    net = _net([2, 3, 3], ["tanh", "softmax"], "cross_entropy",
               weights=[[[0.5, -0.4], [0.3, 0.8], [-0.7, 0.2]],
                        [[0.6, -0.3, 0.2], [-0.5, 0.4, 0.7], [0.1, 0.9, -0.6]]],
               biases=[[0.0, 0.1, -0.1], [0.1, 0.0, -0.1]])
    return net, np.array([[1.0, 0.5]]), np.array([[0.0, 0.0, 1.0]])


def _minibatch():
    # Rousseau's mini-batch objective L_B = (1/|B|) Σ ℓ with the MSE loss, |B| = 3.
    net = _net([2, 2, 1], ["tanh", "identity"], "mse",
               weights=[[[0.5, -0.5], [1.0, 0.5]], [[1.0, -1.0]]],
               biases=[[0.0, 0.5], [0.25]])
    return net, np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.array([[1.0], [0.0], [0.5]])


class _Examples(dict):
    """The examples by name; the old names are accepted (``in``, ``[]``) but not listed."""

    def __contains__(self, name: object) -> bool:
        return super().__contains__(_ALIASES.get(name, name) if isinstance(name, str) else name)

    def __missing__(self, name: str) -> Example:
        if isinstance(name, str) and name in _ALIASES:
            return self[_resolve(name)]
        raise KeyError(name)


#: Deprecated names of the examples (hidden: not listed, still accepted).
_ALIASES = {"seed000": "relu-2-2-1", "seed003": "sigmoid-2-3-2", "seed004": "sigmoid-4-layer"}


def _resolve(name: str) -> str:
    if name in _ALIASES:
        warnings.warn(f"the example name {name!r} is deprecated; use {_ALIASES[name]!r}",
                      DeprecationWarning, stacklevel=3)
        return _ALIASES[name]
    return name


EXAMPLES: dict[str, Example] = _Examples((e.name, e) for e in (
    Example("relu-2-2-1", "Goodfellow et al.'s steps 1-5: a 2-2-1 ReLU network and its 9 "
                          "derivatives", "goodfellow", _relu_2_2_1),
    Example("sigmoid-2-3-2", "Nielsen's four equations (BP1-BP4): a 2-3-2 sigmoid network, "
                             "quadratic cost", "nielsen", _sigmoid_2_3_2),
    Example("sigmoid-4-layer", "Hagan et al.'s sensitivities (S = -2Ae, S^ = A^WS): a 4-layer "
                               "sigmoid network, total squared error over 2 pairs", "hagan",
            _sigmoid_4_layer),
    Example("softmax", "softmax + cross-entropy: why sigma' disappears from the output error",
            "rousseau", _softmax),
    Example("minibatch", "Rousseau's mini-batch objective: 3 samples, per-sample and "
                         "averaged gradients (MSE)", "rousseau", _minibatch),
))


def example(name: str) -> tuple[Any, np.ndarray, np.ndarray]:
    """``(net, X, T)`` of a worked example; see :data:`EXAMPLES` for the names.

    Examples
    --------
    >>> net, X, T = example("relu-2-2-1")
    >>> net.loss(X, T)
    1.125
    """
    if name not in EXAMPLES:
        raise ValueError(f"unknown example {name!r}; valid names are: {', '.join(EXAMPLES)}")
    return EXAMPLES[_resolve(name)].build()


def explain_example(name: str, notation: str | None = None, **kw: Any) -> Trace:
    """:func:`explain` on a worked example, in the notation of its lecture by default."""
    net, X, T = example(name)
    return explain(net, X, T, notation=notation or EXAMPLES[_resolve(name)].notation, **kw)
