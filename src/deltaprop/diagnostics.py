r"""Per-layer diagnostics of training: is the gradient reaching every layer?

:class:`Diagnostics` is a training callback. At the end of every epoch it runs one
forward and one backward sweep of a copy of the network on a fixed *probe batch* (the
first ``max_samples`` rows of the data you give it) and reads the engine's own layer
quantities (``z``, ``a``, ``delta``, ``grad_W``). What it records, for each Dense layer
``k`` (one value per layer per epoch):

``delta_norm``
    :math:`\sqrt{\tfrac1N\sum_n \lVert\delta_n\rVert^2}`: the root mean square over the
    probe samples of the norm of the per-sample error vector
    :math:`\delta_n = \partial\ell_n/\partial z_n` (Nielsen's :math:`\delta^l`, Hagan et al.'s
    :math:`S`). With ``reduction="mean"`` the engine's ``layer.delta`` rows carry a
    ``1/N``; it is taken out so the number does not depend on the probe size.
``grad_norm``
    :math:`\lVert\partial J/\partial W\rVert_F` on the probe batch (``layer.grad_W``,
    with the L2 term if any).
``update_ratio``
    :math:`\lVert W_\text{end} - W_\text{begin}\rVert_F / \lVert W_\text{begin}\rVert_F`:
    how much the epoch's optimizer steps changed the weights, relative to their size
    (weights copied at the start of each epoch).
``dead``
    The share of units that are inactive for every probe sample: :math:`f'(z) = 0`, so no
    gradient passes (Rousseau's "dead ReLU: never activated across the whole training
    set"). The activation decides what inactive means
    (:meth:`~deltaprop.activations.Activation.inactive`): for ReLU :math:`z \le 0`. NaN
    for activations whose derivative never vanishes.
``saturated``
    The share of (sample, unit) entries in the flat parts of the curve, where the
    derivative has fallen below 4 % of its maximum (Rousseau's "killing gradients",
    Sayrol's "vanishing gradients"). The activation decides
    (:meth:`~deltaprop.activations.Activation.saturated`): sigmoid :math:`a < 0.01` or
    :math:`a > 0.99`; tanh :math:`|a| > 0.98`. NaN for activations without flat parts.

Without a probe batch (``Diagnostics()``) the numbers come from the last training batch of
each epoch as the layers hold them after its backward sweep; ``update_ratio`` is the same.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .devices import to_host
from .training import Callback

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["Diagnostics", "QUANTITIES", "layer_statistics", "plot_diagnostics",
           "plot_layer_profile"]

#: The recorded quantities, in the order of the plots, with a label for each.
QUANTITIES = {
    "delta_norm": "RMS ‖δ‖ per sample (error vector ∂ℓ/∂z)",
    "grad_norm": "‖∂J/∂W‖ (Frobenius)",
    "update_ratio": "‖ΔW‖ / ‖W‖ over the epoch",
    "dead": "dead units, f' = 0 on every sample (share)",
    "saturated": "saturated entries, f' < 4 % of its maximum (share)",
}


def layer_statistics(layer: Any, share: float) -> dict[str, float]:
    """The probe statistics of one layer after a backward sweep: a dict with
    ``delta_norm``, ``grad_norm``, ``dead`` and ``saturated`` (see the module docstring).

    ``share`` is each sample's weight in the objective (``1/N`` for the mean), by which
    the rows of ``layer.delta`` are divided to give the per-sample error vectors.
    """
    delta = np.asarray(to_host(layer.delta), dtype=np.float64) / share  # from any device
    grad_W, z, a = to_host(layer.grad_W), to_host(layer.z), to_host(layer.a)
    stats = {
        "delta_norm": float(np.sqrt(np.mean(np.sum(delta * delta, axis=1)))),
        "grad_norm": float(np.sqrt(np.vdot(grad_W, grad_W))),
        "dead": float("nan"),
        "saturated": float("nan"),
    }
    inactive = layer.activation.inactive(z, a)
    if inactive is not None:  # dead: inactive for every probe sample
        stats["dead"] = float(np.mean(np.all(inactive, axis=0)))
    saturated = layer.activation.saturated(z, a)
    if saturated is not None:
        stats["saturated"] = float(np.mean(saturated))
    return stats


class Diagnostics(Callback):
    """Record per-layer gradient health once per epoch (see the module docstring).

    Parameters
    ----------
    X, y : array_like, optional
        Probe data (e.g. the training set); the first ``max_samples`` rows are used at
        every epoch. ``y`` as for ``fit`` (labels or targets).
    max_samples : int
        Size of the probe batch.

    Attributes
    ----------
    history : dict
        ``history[name]`` is a list with one entry per epoch, each a list with one value
        per layer, for every name in :data:`QUANTITIES`; ``history["epoch"]`` counts
        from 1. Quantities that do not apply to a layer are NaN.
    activations : list of str
        The activation of each layer.

    Examples
    --------
    >>> import deltaprop as dp
    >>> X, y = dp.datasets.make_moons(200, seed=0)
    >>> net = dp.MLP([2, 16, 16, 2], activation="relu", output="softmax",
    ...              loss="cross_entropy", seed=0)
    >>> diag = dp.Diagnostics(X, y)
    >>> _ = net.fit(X, y, epochs=3, callbacks=[diag], verbose=0, seed=0)
    >>> len(diag.history["grad_norm"]), len(diag.history["grad_norm"][0])
    (3, 3)
    """

    def __init__(self, X: Any = None, y: Any = None, max_samples: int = 256) -> None:
        if (X is None) != (y is None):
            raise ValueError("give both X and y for the probe batch, or neither")
        if isinstance(max_samples, bool) or int(max_samples) < 1:
            raise ValueError(f"max_samples must be a positive integer, got {max_samples!r}")
        self.X, self.y, self.max_samples = X, y, int(max_samples)
        self.history: dict[str, list] = {"epoch": [], **{name: [] for name in QUANTITIES}}
        self.activations: list[str] = []
        self._probe = None
        self._start = None

    def on_train_begin(self, logs=None):
        from ._validation import check_X

        net = self.trainer.net
        # The layers with weights and an activation (Dense): dropout and normalisation
        # layers between them have no f' and no W of their own to diagnose.
        self._dense = [i for i, layer in enumerate(net.layers)
                       if layer.activation is not None and "W" in layer.parameter_names]
        self.activations = [net.layers[i].activation.name for i in self._dense]
        if self.X is not None:
            X = check_X(self.X, net.dtype, net.n_inputs, name="Diagnostics X")
            n = min(len(X), self.max_samples)
            y = self.y[:n] if hasattr(self.y, "__getitem__") else self.y
            T, _ = net.encode_targets(np.asarray(y)[:n], n, fit=False)
            self._probe = (np.ascontiguousarray(X[:n]), T)

    def on_epoch_begin(self, epoch, logs=None):
        layers = self.trainer.net.layers
        self._start = [to_host(layers[i].W).astype(np.float64) for i in self._dense]

    def on_epoch_end(self, epoch, logs=None):
        net = self.trainer.net
        if self._probe is not None:
            # On a copy (the network being trained keeps its buffers and gradients), on the
            # CPU, where the statistics are taken.
            probe = net.copy().to("cpu")
            probe.backprop(*self._probe)
            layers, n = probe.layers, len(self._probe[0])
        else:
            layers, n = net.layers, len(net.layers[-1].delta)
        share = 1.0 / n if net.reduction == "mean" else 1.0
        rows = {name: [] for name in QUANTITIES}
        for i, W0 in zip(self._dense, self._start):
            layer, W1 = layers[i], net.layers[i]
            stats = layer_statistics(layer, share)
            norm0 = float(np.linalg.norm(W0))
            change = float(np.linalg.norm(to_host(W1.W) - W0))
            stats["update_ratio"] = change / norm0 if norm0 > 0 else float("nan")
            for name in QUANTITIES:
                rows[name].append(stats[name])
        self.history["epoch"].append(epoch + 1)
        for name in QUANTITIES:
            self.history[name].append(rows[name])

    def to_dict(self) -> dict[str, Any]:
        """The history with NaN written as None (valid JSON)."""
        def clean(v):
            return None if isinstance(v, float) and math.isnan(v) else v
        out = {"activations": list(self.activations), "epoch": list(self.history["epoch"])}
        for name in QUANTITIES:
            out[name] = [[clean(v) for v in row] for row in self.history[name]]
        return out

    def table(self, epoch: int = -1) -> str:
        """A plain-text table of one epoch (the last by default), one row per layer."""
        if not self.history["epoch"]:
            return "(no epoch recorded yet)\n"
        e = self.history["epoch"][epoch]
        head = (f"{'layer':<14} {'RMS ‖δ‖':>10} {'‖∂J/∂W‖':>10} {'‖ΔW‖/‖W‖':>10} "
                f"{'dead':>6} {'saturated':>9}")
        lines = [f"diagnostics after epoch {e}", head]
        for k, act in enumerate(self.activations):
            v = {name: self.history[name][epoch][k] for name in QUANTITIES}
            pct = lambda x: "-" if math.isnan(x) else f"{100 * x:.0f}%"  # noqa: E731
            lines.append(f"{f'{k + 1} ({act})':<14} {v['delta_norm']:>10.3g} "
                         f"{v['grad_norm']:>10.3g} {v['update_ratio']:>10.3g} "
                         f"{pct(v['dead']):>6} {pct(v['saturated']):>9}")
        return "\n".join(lines) + "\n"


def plot_diagnostics(diag: Diagnostics, path: str | os.PathLike[str] | None = None, *,
                     title: str | None = None) -> Figure:
    """The recorded quantities per epoch, one line per layer, on a 2 x 3 grid of panels.

    Writes the figure to ``path`` when given and returns it (see :mod:`deltaprop.plots`
    for the figure's life: stand-alone with a path, a pyplot figure without).
    """
    from matplotlib.ticker import MaxNLocator

    from .plots import finish, new_figure

    h = diag.history
    if not h["epoch"]:
        raise ValueError("the Diagnostics callback has recorded no epoch yet")
    epochs = np.array(h["epoch"])
    fig, axes = new_figure((13, 7), 2, 3, standalone=path is not None)
    axes = axes.ravel()
    n_layers = len(diag.activations)
    import matplotlib as mpl

    colors = mpl.colormaps["viridis"](np.linspace(0, 0.9, max(n_layers, 2)))
    for ax, name in zip(axes, QUANTITIES):
        values = np.array(h[name], dtype=float)  # (epochs, layers)
        drawn = False
        for k in range(n_layers):
            if np.all(np.isnan(values[:, k])):
                continue
            ax.plot(epochs, values[:, k], "o-", ms=3, color=colors[k],
                    label=f"layer {k + 1} ({diag.activations[k]})")
            drawn = True
        ax.set_title(QUANTITIES[name], fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_xlim(epochs[0] - 0.5, epochs[-1] + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if name in ("dead", "saturated"):
            ax.set_ylim(-0.03, 1.03)
            if not drawn:
                ax.text(0.5, 0.5, "no layer whose activation can be " + name, ha="center",
                        va="center", transform=ax.transAxes, color="0.5")
        elif drawn and np.nanmin(values) > 0:
            ax.set_yscale("log")
    handles, labels = axes[0].get_legend_handles_labels()
    axes[5].axis("off")
    axes[5].legend(handles, labels, loc="center", fontsize=9, title="Dense layer (input side first)")
    fig.suptitle(title or "Diagnostics per layer, measured at the end of each epoch")
    return finish(fig, path)


def plot_layer_profile(runs: Mapping[str, Diagnostics],
                       path: str | os.PathLike[str] | None = None, *, epoch: int = 0,
                       title: str | None = None, ax: Sequence[Axes] | None = None) -> Figure:
    """Compare networks layer by layer at one epoch: ``runs`` maps a label to a
    :class:`Diagnostics`. Left the gradient norm per layer (log scale: vanishing
    gradients fall towards the input), right the dead / saturated shares.

    ``ax`` is a pair of Axes to draw into; the figure is written to ``path`` when given
    and returned."""
    from matplotlib.ticker import MaxNLocator

    from .plots import figure_with_axes, finish

    fig, axes = figure_with_axes(ax, path, (12, 4.6), ncols=2)
    for label, diag in runs.items():
        g = np.array(diag.history["grad_norm"][epoch], dtype=float)
        k = np.arange(1, len(g) + 1)
        axes[0].semilogy(k, g, "o-", label=label)
        dead = np.array(diag.history["dead"][epoch], dtype=float)
        sat = np.array(diag.history["saturated"][epoch], dtype=float)
        if not np.all(np.isnan(dead)):
            axes[1].plot(k, dead, "s-", label=f"{label}: dead units")
        if not np.all(np.isnan(sat)):
            axes[1].plot(k, sat, "^-", label=f"{label}: saturated entries")
    e = runs[next(iter(runs))].history["epoch"][epoch]
    axes[0].set_title(f"‖∂J/∂W‖ per layer after epoch {e}")
    axes[0].set_xlabel("layer k (1 = next to the input)")
    axes[0].set_ylabel("Frobenius norm (log scale)")
    axes[1].set_title(f"units that pass no gradient, after epoch {e}")
    axes[1].set_xlabel("layer k (1 = next to the input)")
    axes[1].set_ylabel("share")
    axes[1].set_ylim(-0.03, 1.03)
    for panel in axes:
        panel.grid(alpha=0.3)
        panel.legend(fontsize=8)
        panel.xaxis.set_major_locator(MaxNLocator(integer=True))
    if title:
        fig.suptitle(title)
    return finish(fig, path)
