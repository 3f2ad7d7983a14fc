r"""Exercise mode: check a backward function you wrote yourself.

:func:`check_backward` runs your function on random inputs (fixed seed) and compares
what it returns, entry by entry, with

* **finite differences** of the forward function (no oracle needed), and
* **the reference**: deltaprop's own backward step for the same activation, loss or
  dense layer,

and reports which entries differ and by how much. Three kinds of exercise:

``activation`` (``reference`` is an activation name such as ``"sigmoid"``)
    Write step ② of the backward pass (Goodfellow et al., *Deep Learning*, §6.5.4),
    ``backward(z, g)`` (or ``backward(z, a, g)`` with
    ``a = f(z)``), returning :math:`\partial J/\partial z = g \odot f'(z)` where ``g`` is
    :math:`\partial J/\partial a`. Arrays are ``(N, n)``, rows are samples.
``loss`` (``reference`` is a loss name such as ``"half_squared_error"``)
    Write step ①, ``gradient(y, t)``, returning :math:`\partial\ell/\partial y` for every
    sample, shape ``(N, K)``.
``dense`` (``reference="dense"``, optionally ``activation=``)
    Write the backward pass of a layer ``a = f(x @ W + b)``: ``backward(x, W, b, g)``
    returning ``(grad_W, grad_b, grad_x)`` for ``g`` = :math:`\partial J/\partial a` (steps
    ② to ⑤; with the default identity activation, steps ③ to ⑤).

In all three, the scalar being differentiated is :math:`J = \sum g \odot \text{output}`
(for a loss, :math:`J = \sum_n \ell(y_n, t_n)`), so the exact answer is unique.

Example
-------
>>> import numpy as np
>>> from deltaprop import check_backward
>>> def my_sigmoid_backward(z, g):
...     s = 1 / (1 + np.exp(-z))
...     return g * s * (1 - s)
>>> check_backward(my_sigmoid_backward, "sigmoid").passed
True
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["check_backward", "BackwardCheck", "ArrayComparison"]


@dataclass
class ArrayComparison:
    """One returned array compared entry by entry.

    ``differ`` lists ``(index, yours, reference, finite_difference, |yours - expected|)``
    for every entry outside the tolerance, largest difference first.
    """

    name: str
    shape: tuple
    yours: np.ndarray
    reference: np.ndarray | None
    numeric: np.ndarray
    differ: list = field(default_factory=list)
    max_abs_diff: float = 0.0
    reference_vs_numeric: float = 0.0

    @property
    def passed(self):
        return not self.differ


@dataclass
class BackwardCheck:
    """Result of :func:`check_backward`; ``print`` it for the report."""

    kind: str
    name: str
    inputs: dict
    arrays: list
    rtol: float
    atol: float

    @property
    def passed(self):
        return all(a.passed for a in self.arrays)

    def __bool__(self):
        return self.passed

    def differing_entries(self):
        """``{array name: [index, ...]}`` of the entries that differ."""
        return {a.name: [d[0] for d in a.differ] for a in self.arrays if a.differ}

    def __str__(self, max_rows=10):
        shapes = ", ".join(f"{k} {tuple(v.shape)}" for k, v in self.inputs.items())
        lines = [f"check_backward: {'PASS' if self.passed else 'FAIL'}  {self.name} "
                 f"({self.kind}); inputs {shapes}; tolerance |yours - expected| <= "
                 f"{self.atol:g} + {self.rtol:g} |expected|"]
        for a in self.arrays:
            n = int(np.prod(a.shape))
            expected = ("the reference and finite differences" if a.reference is not None
                        else "finite differences")
            if a.passed:
                lines.append(f"  {a.name}: all {n} entries agree with {expected} "
                             f"(max difference {a.max_abs_diff:.2e})")
                continue
            lines.append(f"  {a.name}: {len(a.differ)} of {n} entries differ "
                         f"(max |yours - expected| = {a.max_abs_diff:.3g})")
            lines.append(f"    {'index':<10} {'yours':>14} {'reference':>14} "
                         f"{'finite diff':>14} {'difference':>12}")
            for idx, y, r, nu, d in a.differ[:max_rows]:
                ref = "-" if r is None else f"{r:.8g}"
                lines.append(f"    {str(idx):<10} {y:>14.8g} {ref:>14} {nu:>14.8g} {d:>12.3g}")
            if len(a.differ) > max_rows:
                lines.append(f"    ... and {len(a.differ) - max_rows} more")
        return "\n".join(lines)


def _n_args(fn):
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return None
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
               for p in params)


def _as_array(value, name, shape):
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"your backward returned {type(value).__name__} for {name}; "
                        f"expected an array of shape {shape}") from None
    if arr.shape != tuple(shape):
        raise ValueError(f"your backward returned {name} with shape {arr.shape}, expected "
                         f"{tuple(shape)}")
    return arr


def _numeric(J, arrays, name, eps):
    """Central differences of the scalar ``J()`` with respect to ``arrays[name]``."""
    x = arrays[name]
    out = np.empty_like(x)
    flat, grad = x.reshape(-1), out.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = J()
        flat[i] = old - eps
        down = J()
        flat[i] = old
        grad[i] = (up - down) / (2 * eps)
    return out


def _compare(name, yours, reference, numeric, rtol, atol, fd_rtol, fd_atol):
    differ = []
    expected = numeric if reference is None else reference
    diff = np.abs(yours - expected)
    bad = diff > atol + rtol * np.abs(expected)
    # Entries that agree with the reference must also agree with finite differences
    # (loosely: the difference quotient is exact only to about eps²).
    bad |= np.abs(yours - numeric) > fd_atol + fd_rtol * np.abs(numeric)
    for idx in sorted(zip(*np.nonzero(bad)), key=lambda i: -diff[i]):
        idx = tuple(int(i) for i in idx)
        differ.append((idx, float(yours[idx]),
                       None if reference is None else float(reference[idx]),
                       float(numeric[idx]), float(diff[idx])))
    rvn = 0.0 if reference is None else float(np.max(np.abs(reference - numeric), initial=0.0))
    return ArrayComparison(name, yours.shape, yours, reference, numeric, differ,
                           float(diff.max(initial=0.0)), rvn)


def _away_from_zero(rng, shape, low=0.1, high=2.0):
    """Random values with |v| in [low, high]: no finite-difference stencil crosses a kink."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(low, high, size=shape)


def check_backward(backward: Callable[..., Any], reference: str, *, activation: str = "identity",
                   forward: Callable[..., Any] | None = None, shape: tuple[int, int] = (4, 3),
                   inputs: dict[str, Any] | None = None, seed: int = 0, rtol: float = 1e-6,
                   atol: float = 1e-8, eps: float = 1e-6) -> BackwardCheck:
    """Compare a backward function you wrote with finite differences and deltaprop's own.

    Parameters
    ----------
    backward : callable
        Your function; its signature depends on the kind (module docstring):
        ``backward(z, g)`` or ``backward(z, a, g)`` for an activation,
        ``gradient(y, t)`` for a loss, ``backward(x, W, b, g) -> (grad_W, grad_b, grad_x)``
        for a dense layer.
    reference : str, Activation, Loss or None
        What you implemented: an activation (``"sigmoid"``, ``"relu"``, ...), a loss
        (``"mse"``, ``"cross_entropy"``, ...) or ``"dense"``. ``None`` for a function of
        your own, with ``forward`` given: then only finite differences are used.
    activation : str
        For ``"dense"``: the layer's activation ``f`` (default identity).
    forward : callable, optional
        With ``reference=None``: your elementwise forward function ``f(z)``.
    shape : tuple
        ``(N, n)`` of the random inputs (for a dense layer ``(N, n_in)``; ``n_out`` is
        ``n_in + 1``).
    inputs : dict, optional
        Your own inputs instead of random ones: ``{"z": ..., "g": ...}`` (activation),
        ``{"y": ..., "t": ...}`` (loss), ``{"x", "W", "b", "g"}`` (dense).
    seed : int
        Seed of the random inputs.
    rtol, atol : float
        An entry differs when ``|yours - expected| > atol + rtol |expected|``, where
        ``expected`` is the reference (or the finite difference without one). Every
        entry is also checked against the finite difference with ``1e3`` times these.
    eps : float
        Step of the central differences (computed in float64).

    Returns
    -------
    BackwardCheck
        ``.passed``, ``.differing_entries()``, ``print(result)`` for a table.
    """
    from ..activations import ACTIVATIONS, Activation, get_activation
    from ..losses import LOSSES, Loss, get_loss

    if not callable(backward):
        raise TypeError(f"backward must be a function, got {type(backward).__name__}")
    run = _Run(rng=np.random.default_rng(seed),
               given={k: np.array(v, dtype=np.float64) for k, v in (inputs or {}).items()},
               fd=dict(rtol=rtol, atol=atol, fd_rtol=max(1e3 * rtol, 1e-5),
                       fd_atol=max(1e3 * atol, 1e-7)),
               shape=tuple(int(s) for s in shape), eps=eps, rtol=rtol, atol=atol)
    if isinstance(reference, Loss) or (isinstance(reference, str) and reference.lower() in LOSSES):
        return _check_loss(backward, get_loss(reference), run)
    if isinstance(reference, str) and reference.lower() == "dense":
        return _check_dense(backward, get_activation(activation), run)
    if reference is None:
        if forward is None:
            raise ValueError("reference=None needs your forward function: forward=f")
        return _check_activation(backward, None, forward,
                                 getattr(forward, "__name__", "your function"), run)
    if isinstance(reference, Activation) or (isinstance(reference, str)
                                             and reference.lower() in ACTIVATIONS):
        act = get_activation(reference)
        return _check_activation(backward, act, act.forward, act.name, run)
    raise ValueError(f"unknown reference {reference!r}; use an activation "
                     f"({', '.join(sorted(ACTIVATIONS))}), a loss "
                     f"({', '.join(sorted(LOSSES))}), 'dense', or None with forward=")


@dataclass
class _Run:
    """What the three kinds of check share: the random inputs, the tolerances."""

    rng: np.random.Generator
    given: dict
    fd: dict
    shape: tuple
    eps: float
    rtol: float
    atol: float


def _check_loss(backward, loss, run):
    """Step ①: ``gradient(y, t)`` against the loss's own gradient."""
    rng, (N, n) = run.rng, run.shape
    if loss.name == "cross_entropy":
        p = np.exp(rng.normal(size=(N, n)))
        y_default = p / p.sum(axis=1, keepdims=True)
        t_default = np.eye(n)[rng.integers(0, n, size=N)]
    elif loss.name == "binary_cross_entropy":
        y_default = rng.uniform(0.1, 0.9, size=(N, n))
        t_default = rng.integers(0, 2, size=(N, n)).astype(float)
    else:
        y_default, t_default = rng.normal(size=(N, n)), rng.normal(size=(N, n))
    y, t = run.given.get("y", y_default), run.given.get("t", t_default)
    arrays = {"y": y.copy()}
    yours = _as_array(backward(y.copy(), t.copy()), "dl/dy", y.shape)
    ref = np.asarray(loss.gradient(y.copy(), t), dtype=np.float64)
    num = _numeric(lambda: float(loss.value(arrays["y"], t).sum()), arrays, "y", run.eps)
    comp = [_compare("dl/dy", yours, ref, num, **run.fd)]
    return BackwardCheck("loss", f"{loss.name} gradient", {"y": y, "t": t}, comp, run.rtol,
                         run.atol)


def _check_dense(backward, act, run):
    """Steps ② to ⑤ of a dense layer against :class:`~deltaprop.network.Dense`."""
    from ..network import Dense

    rng, given, (N, n), eps = run.rng, run.given, run.shape, run.eps
    n_out = n + 1
    x = given.get("x", rng.normal(size=(N, n)))
    W = given.get("W", rng.normal(size=(x.shape[1], n_out)) / np.sqrt(x.shape[1]))
    b = given.get("b", rng.normal(scale=0.1, size=W.shape[1]))
    g = given.get("g", rng.normal(size=(x.shape[0], W.shape[1])))
    if x.ndim != 2 or W.ndim != 2 or x.shape[1] != W.shape[0] or b.shape != (W.shape[1],) \
            or g.shape != (x.shape[0], W.shape[1]):
        raise ValueError(f"dense inputs do not fit: x {x.shape} @ W {W.shape} + b {b.shape} "
                         f"must give the shape of g {g.shape}")
    z = x @ W + b
    if not act.smooth and np.any(np.abs(z) < 1e3 * eps):
        raise ValueError("a pre-activation x @ W + b lies within 1e3*eps of the kink at 0; "
                         "finite differences are meaningless there: change the inputs or seed")
    layer = Dense(W.shape[0], W.shape[1], act, dtype="float64")
    layer.W, layer.b = W, b
    layer.forward(x.copy(), keep=True)
    ref_x = np.array(layer.backward(g.copy()))
    ref_W, ref_b = layer.grad_W.copy(), layer.grad_b.copy()
    out = backward(x.copy(), W.copy(), b.copy(), g.copy())
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        raise ValueError("a dense backward must return three arrays (grad_W, grad_b, grad_x)")
    yours = [_as_array(out[0], "grad_W", W.shape), _as_array(out[1], "grad_b", b.shape),
             _as_array(out[2], "grad_x", x.shape)]
    arrays = {"W": W.copy(), "b": b.copy(), "x": x.copy()}

    def J():
        return float(np.vdot(g, act.forward(arrays["x"] @ arrays["W"] + arrays["b"])))

    comp = [_compare(name, mine, ref, _numeric(J, arrays, key, eps), **run.fd)
            for name, key, mine, ref in (("grad_W", "W", yours[0], ref_W),
                                         ("grad_b", "b", yours[1], ref_b),
                                         ("grad_x", "x", yours[2], ref_x))]
    return BackwardCheck("dense", f"dense layer ({act.name}) backward",
                         {"x": x, "W": W, "b": b, "g": g}, comp, run.rtol, run.atol)


def _check_activation(backward, act, f, name, run):
    """Step ②: ``backward(z, g)`` (or ``(z, a, g)``) against the activation's own (or, for
    a function of your own, ``act`` None, finite differences only)."""
    given, rng = run.given, run.rng
    z = given.get("z", _away_from_zero(rng, run.shape))
    g = given.get("g", rng.normal(size=z.shape))
    if g.shape != z.shape:
        raise ValueError(f"g has shape {g.shape} but z has shape {z.shape}; they must match")
    a = np.asarray(f(z.copy()), dtype=np.float64)
    n_args = _n_args(backward)
    result = backward(z.copy(), g.copy()) if n_args == 2 else backward(z.copy(), a.copy(), g.copy())
    yours = _as_array(result, "dJ/dz", z.shape)
    ref = None if act is None else np.asarray(act.backward(z.copy(), a.copy(), g.copy()),
                                              dtype=np.float64)
    arrays = {"z": z.copy()}
    num = _numeric(lambda: float(np.vdot(g, f(arrays["z"]))), arrays, "z", run.eps)
    comp = [_compare("dJ/dz", yours, ref, num, **run.fd)]
    return BackwardCheck("activation", f"{name} backward", {"z": z, "g": g}, comp, run.rtol,
                         run.atol)
