"""Gradient checking by central finite differences, in float64.

For every parameter entry ``θ`` the derivative is estimated by the fourth-order
central difference (``order=4``, the default)

.. math:: \\frac{\\partial J}{\\partial\\theta} \\approx
          \\frac{8\\,[J(\\theta+h) - J(\\theta-h)] - [J(\\theta+2h) - J(\\theta-2h)]}{12h}

(error :math:`O(h^4)`), or the plain two-point one ``(J(θ+h) - J(θ-h)) / 2h``
(``order=2``, error :math:`O(h^2)`), and compared with backpropagation by the
relative error ``|analytic - numeric| / max(|analytic|, |numeric|, floor)``.

The ``floor`` keeps round-off from being read as an error where the true gradient is
(nearly) zero: each evaluation of ``J`` is exact only to a few units of the machine
epsilon ``ε`` times ``|J|``, so the difference quotient carries an absolute noise of
about ``16 ε max(|J|, 1) / h``. By default (``floor="auto"``) the floor is that noise
divided by the tolerance: entries smaller than the floor pass only if backprop and the
finite difference agree to within the round-off noise.

Piecewise activations (ReLU, leaky ReLU, ELU) have a kink at ``z = 0``. When a
perturbation moves some pre-activation across it, the difference quotient measures a
mixture of two slopes and means nothing; such entries are reported as ``kinks`` and
left out of the maximum instead of failing (or passing) by accident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .devices import to_host

__all__ = ["gradcheck", "GradcheckReport", "ArrayCheck"]


@dataclass
class ArrayCheck:
    """The comparison for one parameter array (``"W1"``, ``"b1"``, ...)."""

    name: str
    shape: tuple
    max_rel_error: float
    worst: list = field(default_factory=list)  # [(index, analytic, numeric, rel_error)]
    n_checked: int = 0
    kinks: list = field(default_factory=list)  # indices skipped: stencil crosses z = 0


@dataclass
class GradcheckReport:
    """Result of :func:`gradcheck`: one :class:`ArrayCheck` per parameter array."""

    arrays: list
    tolerance: float
    eps: float
    order: int
    floor: float

    @property
    def max_rel_error(self) -> float:
        return max(a.max_rel_error for a in self.arrays)

    @property
    def n_kinks(self) -> int:
        return sum(len(a.kinks) for a in self.arrays)

    @property
    def passed(self) -> bool:
        return self.max_rel_error <= self.tolerance

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        lines = [
            f"gradcheck: {'PASS' if self.passed else 'FAIL'}  max relative error "
            f"{self.max_rel_error:.3e} (tolerance {self.tolerance:.0e}; "
            f"order-{self.order} central differences, h = {self.eps:.0e}, "
            f"floor {self.floor:.1e})",
            f"{'array':<6} {'shape':<12} {'checked':>8} {'max rel err':>12}   worst entry "
            "(index: backprop vs finite difference)",
        ]
        for a in self.arrays:
            worst = "-"
            if a.worst:
                idx, an, nu, _ = a.worst[0]
                worst = f"{idx}: {an:+.10e} vs {nu:+.10e}"
            lines.append(f"{a.name:<6} {str(a.shape):<12} {a.n_checked:>8} "
                         f"{a.max_rel_error:>12.3e}   {worst}")
        if self.n_kinks:
            lines.append(f"({self.n_kinks} entries skipped: their perturbation moves a "
                         "pre-activation across the kink at z = 0)")
        return "\n".join(lines)


def _loss_and_kinks(net, X, T, training):
    """The objective, and the signs of the pre-activations of piecewise activations."""
    z, a = net.forward_sweep(X, training, keep=True)
    signs = [layer.z > 0 for layer in net.layers
             if layer.activation is not None and not layer.activation.smooth]
    per_sample = net.loss_function.per_sample(z, a, T, net.output_activation)
    return net.objective(per_sample), signs


def gradcheck(net: Any, X: Any, T: Any, *, eps: float = 1e-4, order: Literal[2, 4] = 4,
              tolerance: float = 1e-6, floor: float | Literal["auto"] = "auto",
              max_entries: int | None = None, seed: int = 0, n_worst: int = 3,
              training: bool = False) -> GradcheckReport:
    """Compare the backpropagated gradient of ``net`` with finite differences.

    The check runs on a float64 copy of ``net``; ``net`` itself is not changed. Every
    parameter of every layer is checked (``W1``, ``b1``, ``gamma2``, ...).

    Parameters
    ----------
    net : Sequential
    X, T : array_like
        Inputs and targets, as for ``net.gradients``.
    eps : float
        The step ``h``.
    order : {4, 2}
        Fourth-order (4 evaluations per entry) or second-order (2) central differences.
    tolerance : float
        The check passes when every relative error is at most this.
    floor : float or "auto"
        Lower bound of the relative error's denominator; "auto" derives it from the
        round-off noise of the difference quotient (see the module docstring).
    max_entries : int, optional
        Check at most this many randomly chosen entries per array (all by default).
    seed : int
        Chooses the entries when ``max_entries`` is set.
    n_worst : int
        How many of the worst entries each array reports.
    training : bool
        Check the gradient of training mode (dropout with one fixed mask, drawn once and
        held for every evaluation; batch statistics) instead of evaluation mode.

    Returns
    -------
    GradcheckReport
        ``report.passed``, ``report.max_rel_error``, ``print(report)`` for a table.
    """
    if order not in (2, 4):
        raise ValueError(f"order must be 2 or 4, got {order!r}")
    net64 = net.astype("float64")
    X, T = net64.check_inputs(X, T)
    J0 = net64.backprop(X, T, training=training)
    analytic = to_host(net64.store.grad).copy()
    if not net64.device.is_cpu:  # the device's gradients, against differences on the host
        net64.to("cpu")
        X, T = to_host(X), to_host(T)
    for layer in net64.layers:
        layer.hold_noise = True  # the masks just drawn serve every evaluation below
    _, base_signs = _loss_and_kinks(net64, X, T, training)
    if floor == "auto":
        floor = 16 * np.finfo(np.float64).eps * max(abs(J0), 1.0) / eps / tolerance
    steps = (1, -1) if order == 2 else (1, -1, 2, -2)
    rng = np.random.default_rng(seed)
    store = net64.store
    checks = []
    for slot in store.slots:
        param, grad = store.view(store.data, slot), store.view(analytic, slot)
        flat = param.reshape(-1)  # a view: perturbing it perturbs the layer
        indices = np.arange(flat.size)
        if max_entries is not None and flat.size > max_entries:
            indices = np.sort(rng.choice(flat.size, size=max_entries, replace=False))
        numeric = np.empty(len(indices))
        crossed = np.zeros(len(indices), dtype=bool)
        for j, i in enumerate(indices):
            old = flat[i]
            J = {}
            for s in steps:
                flat[i] = old + s * eps
                J[s], signs = _loss_and_kinks(net64, X, T, training)
                crossed[j] |= any((a != b).any() for a, b in zip(signs, base_signs))
            flat[i] = old
            d1 = J[1] - J[-1]
            numeric[j] = d1 / (2 * eps) if order == 2 else (8 * d1 - (J[2] - J[-2])) / (12 * eps)
        an = grad.reshape(-1)[indices]
        rel = np.abs(an - numeric) / np.maximum(np.maximum(np.abs(an), np.abs(numeric)), floor)
        kinks = [tuple(int(v) for v in np.unravel_index(i, param.shape))
                 for i in indices[crossed]]
        rel[crossed] = 0.0
        order_ = np.argsort(rel)[::-1]
        worst = [
            (tuple(int(v) for v in np.unravel_index(indices[o], param.shape)),
             float(an[o]), float(numeric[o]), float(rel[o]))
            for o in order_[~crossed[order_]][:n_worst]
        ]
        checks.append(ArrayCheck(slot.label, param.shape, float(rel.max(initial=0.0)),
                                 worst, int((~crossed).sum()), kinks))
    return GradcheckReport(checks, tolerance, eps, order, float(floor))
