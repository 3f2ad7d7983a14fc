r"""Gradient descent, seen: the example function of Rousseau's lecture notes and its stability limit.

Rousseau's lecture notes (*Neural networks: an introduction*) illustrate gradient descent on

.. math:: f(x, y) = 1.5\,x^2 + y^2 + 2, \qquad \nabla f = (3x,\; 2y),

with the learning rates η = 0.1, 0.001 and 0.665757. One step
:math:`\theta \leftarrow \theta - \eta\,\nabla f(\theta)` acts on each coordinate
separately:

.. math:: x \leftarrow (1 - 3\eta)\,x, \qquad y \leftarrow (1 - 2\eta)\,y,

so :math:`x_k = (1 - 3\eta)^k x_0` and :math:`y_k = (1 - 2\eta)^k y_0`. The iterates
converge exactly when both factors lie in (-1, 1): η < 2/3 (the x factor is the first to
reach -1; for y the limit is η < 1). At η = 0.665757 the x factor is -0.997271: x
changes sign at every step and shrinks by only 0.27 % per step, the zig-zag of the
lecture's third figure; at η = 0.001 both factors are close to 1 and the descent crawls.

:func:`descend` follows plain gradient descent; :func:`optimizer_path` follows any
optimizer of :mod:`deltaprop.optimizers` (momentum, Adam, ...) on the same function, so
that they can be compared on one picture (:func:`plot_descent`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["f", "grad_f", "descend", "closed_form", "optimizer_path", "iterate_table",
           "stability", "plot_descent", "LECTURE_ETAS", "START", "STABILITY_LIMIT"]

#: The learning rates of the lecture's figures.
LECTURE_ETAS = (0.1, 0.001, 0.665757)
SEED_ETAS = LECTURE_ETAS  # the former name, kept for existing callers
#: Default starting point.
START = (-2.5, 2.0)
#: Gradient descent on f converges if and only if 0 < η < 2/3.
STABILITY_LIMIT = 2.0 / 3.0


def f(x: Any, y: Any) -> Any:
    """The lecture's function ``1.5 x² + y² + 2`` (minimum 2 at the origin)."""
    return 1.5 * np.asarray(x) ** 2 + np.asarray(y) ** 2 + 2.0


def grad_f(theta: Any) -> np.ndarray:
    """``∇f = (3x, 2y)`` at ``theta = (x, y)``."""
    x, y = theta
    return np.array([3.0 * x, 2.0 * y])


def _start(start):
    theta = np.array(start, dtype=np.float64)
    if theta.shape != (2,) or not np.isfinite(theta).all():
        raise ValueError(f"start must be two finite numbers (x, y), got {start!r}")
    return theta


def descend(eta: float, start: Sequence[float] = START, steps: int = 30) -> np.ndarray:
    """Plain gradient descent ``θ ← θ − η ∇f(θ)``: the iterates, shape ``(steps + 1, 2)``."""
    eta = float(eta)
    if not eta > 0:
        raise ValueError(f"the learning rate eta must be positive, got {eta}")
    theta = _start(start)
    path = [theta.copy()]
    for _ in range(int(steps)):
        theta = theta - eta * grad_f(theta)
        path.append(theta.copy())
    return np.array(path)


def closed_form(eta: float, start: Sequence[float] = START, steps: int = 30) -> np.ndarray:
    """``x_k = (1 − 3η)^k x₀``, ``y_k = (1 − 2η)^k y₀`` for k = 0..steps."""
    x0, y0 = _start(start)
    k = np.arange(int(steps) + 1)
    return np.column_stack([(1 - 3 * eta) ** k * x0, (1 - 2 * eta) ** k * y0])


def optimizer_path(optimizer: Any, start: Sequence[float] = START,
                   steps: int = 30) -> np.ndarray:
    """The iterates of a deltaprop optimizer on ``f``, shape ``(steps + 1, 2)``.

    ``optimizer`` is an :class:`~deltaprop.optimizers.Optimizer` instance or a name
    (its default hyper-parameters); the point ``(x, y)`` is its one parameter array.
    """
    from .optimizers import get_optimizer

    opt = get_optimizer(optimizer)
    theta = _start(start)
    grad = np.empty(2)
    path = [theta.copy()]
    for _ in range(int(steps)):
        grad[...] = grad_f(theta)
        opt.step([(theta, grad)])
        path.append(theta.copy())
    return np.array(path)


def stability(eta: float) -> str:
    """A sentence: the contraction factors of one step and whether descent converges."""
    fx, fy = 1 - 3 * eta, 1 - 2 * eta
    ok = abs(fx) < 1 and abs(fy) < 1
    verdict = ("converges" if ok else "diverges" if max(abs(fx), abs(fy)) > 1
               else "neither converges nor diverges (a factor is -1)")
    return (f"eta = {eta:g}: x <- (1 - 3 eta) x = {fx:+.6g} x, y <- (1 - 2 eta) y = {fy:+.6g} y;"
            f" {verdict} (stable for eta < 2/3)")


def iterate_table(etas: Sequence[float] = LECTURE_ETAS, start: Sequence[float] = START,
                  steps: int = 30,
                  show: Sequence[int] = (0, 1, 2, 3, 4, 5, 10, 20, 30)) -> str:
    """A plain-text table of the iterates ``(x_k, y_k)`` and ``f`` for each learning rate."""
    rows = [k for k in show if k <= steps]
    paths = {eta: descend(eta, start, steps) for eta in etas}
    head = f"{'k':>4} " + " ".join(f"{'eta = ' + format(eta, 'g'):^36}" for eta in etas)
    sub = f"{'':>4} " + " ".join(f"{'x_k':>11} {'y_k':>11} {'f':>11} " for _ in etas)
    lines = [f"Gradient descent on f(x, y) = 1.5x^2 + y^2 + 2 from (x0, y0) = "
             f"({start[0]:g}, {start[1]:g})", "", head, sub]
    for k in rows:
        cells = []
        for eta in etas:
            x, y = paths[eta][k]
            cells.append(f"{x:>11.5g} {y:>11.5g} {float(f(x, y)):>11.5g} ")
        lines.append(f"{k:>4} " + " ".join(cells))
    lines += ["", "One step multiplies x by (1 - 3 eta) and y by (1 - 2 eta), so"
              " x_k = (1 - 3 eta)^k x0 and y_k = (1 - 2 eta)^k y0."]
    lines += [stability(eta) for eta in etas]
    return "\n".join(lines) + "\n"


def plot_descent(path: str | os.PathLike[str] | None = None,
                 etas: Sequence[float] = LECTURE_ETAS, start: Sequence[float] = START,
                 steps: int = 30, optimizers: Mapping[str, Any] | None = None,
                 title: str | None = None, *, ax: Sequence[Axes] | None = None) -> Figure:
    """Contour plot of ``f`` with the trajectories; returns the figure.

    Left: plain gradient descent for each η in ``etas``. Right: gradient descent
    (η = 0.1), momentum and Adam from the same start (``optimizers`` maps a label to an
    optimizer instance to replace these three). ``ax`` is a pair of Axes to draw into;
    with ``path`` the figure is also written there (see :mod:`deltaprop.plots`).
    """
    from .optimizers import SGD, Adam, Momentum
    from .plots import figure_with_axes, finish
    if optimizers is None:
        optimizers = {"gradient descent, η = 0.1": SGD(lr=0.1),
                      "momentum, η = 0.05, μ = 0.8": Momentum(lr=0.05, momentum=0.8),
                      "Adam, η = 0.3": Adam(lr=0.3)}
    gd = {eta: descend(eta, start, steps) for eta in etas}
    opt = {label: optimizer_path(o, start, steps) for label, o in optimizers.items()}
    every = np.concatenate([np.vstack(list(gd.values())), np.vstack(list(opt.values()))])
    lim = max(np.abs(every).max() * 1.15, 1.0)
    lim = min(lim, 4 * max(abs(start[0]), abs(start[1]), 1.0))
    g = np.linspace(-lim, lim, 300)
    X, Y = np.meshgrid(g, g)
    Z = f(X, Y)
    fig, axes = figure_with_axes(ax, path, (12, 5.6), ncols=2)
    panels = ((axes[0], gd, lambda eta: f"η = {eta:g}" + (" (1 − 3η = %+.4f)" % (1 - 3 * eta))),
              (axes[1], opt, lambda label: label))
    for panel, paths, label in panels:
        levels = [lv for lv in (2.25, 2.5, 3, 4, 6, 9, 13, 18, 25, 35, 50) if lv < Z.max()]
        cs = panel.contour(X, Y, Z, levels=levels, colors="0.7", linewidths=0.8)
        panel.clabel(cs, levels[::2], fmt="f=%g", fontsize=7)
        panel.plot(*start, "*", color="0.3", ms=14, zorder=1,
                   label=f"start ({start[0]:g}, {start[1]:g})")
        panel.plot(0, 0, "kx", ms=9, zorder=1, label="minimum (0, 0)")
        for key, p in paths.items():
            panel.plot(p[:, 0], p[:, 1], "o-", ms=3, lw=1.2, label=label(key), zorder=2)
        panel.set_xlim(-lim, lim)
        panel.set_ylim(-lim, lim)
        panel.set_aspect("equal")
        panel.set_xlabel("x")
        panel.set_ylabel("y")
        panel.legend(fontsize=8, loc="lower right")
    axes[0].set_title(f"gradient descent, {steps} steps: stable only for η < 2/3")
    axes[1].set_title(f"optimizers compared, {steps} steps")
    fig.suptitle(title or "f(x, y) = 1.5x² + y² + 2,  ∇f = (3x, 2y)")
    return finish(fig, path)
