"""Figures of a training run, in matplotlib's own shape (``pip install 'deltaprop[plots]'``).

Every function draws into ``ax`` when given one (then the figure is the caller's), and
returns the :class:`matplotlib.figure.Figure` it drew on; with ``path`` it also writes
the figure (PNG, PDF or SVG by the suffix). None of them changes matplotlib's backend:

* ``ax`` given: draws there; the figure, its layout and its life are the caller's.
* no ``ax``, no ``path``: a new :mod:`matplotlib.pyplot` figure, shown as any other
  (inline in Jupyter, in a window after ``plt.show()``);
* no ``ax``, a ``path``: a stand-alone :class:`~matplotlib.figure.Figure` that pyplot
  does not know (nothing to close, no window, no backend involved: what a script or a
  server wants), written to ``path`` and returned.

matplotlib is imported by the functions, never by ``import deltaprop``.

Examples
--------
>>> import matplotlib.pyplot as plt                          # doctest: +SKIP
>>> import deltaprop as dp                                   # doctest: +SKIP
>>> fig = dp.plots.learning_curves(history, "curves.png")    # doctest: +SKIP
>>> fig, (left, right) = plt.subplots(1, 2)                  # doctest: +SKIP
>>> dp.plots.confusion_matrix(y_test, y_pred, ax=left)       # doctest: +SKIP
>>> dp.plots.gradient_norms(norms, ax=right)                 # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

import numpy as np

from .io import write_atomically

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["learning_curves", "decision_boundary", "confusion_matrix", "gradient_norms"]

def _matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ImportError("plots need matplotlib: pip install 'deltaprop[plots]'") from None
    return matplotlib


def new_figure(figsize: tuple[float, float], nrows: int = 1, ncols: int = 1,
               standalone: bool = False,
               margins: dict[str, float] | None = None) -> tuple[Figure, Any]:
    """A figure and its axes (an array when ``nrows * ncols > 1``).

    ``standalone=True`` builds a :class:`~matplotlib.figure.Figure` that pyplot does not
    manage (for files); otherwise a pyplot figure in the current backend. The layout is
    matplotlib's constrained layout, or fixed ``margins`` (``subplots_adjust`` arguments)
    where the labels are known in advance: a third less drawing time per figure.
    """
    _matplotlib()
    layout: Literal["constrained"] | None = None if margins else "constrained"
    if standalone:
        from matplotlib.figure import Figure

        fig = Figure(figsize=figsize, layout=layout)
        axes = fig.subplots(nrows, ncols, squeeze=True)
    else:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(nrows, ncols, figsize=figsize, layout=layout)
    if margins:
        fig.subplots_adjust(**margins)
    return fig, axes


def figure_with_axes(ax: Any, path: Any, figsize: tuple[float, float],
                     ncols: int = 1) -> tuple[Figure, list[Any]]:
    """``(figure, axes)`` for a plot function's ``ax=`` and ``path``: a new figure with
    ``ncols`` panels when ``ax`` is None (standalone when it goes to a path), else the
    caller's axes and their figure."""
    if ax is None:
        fig, axes = new_figure(figsize, 1, ncols, standalone=path is not None)
        return fig, list(np.atleast_1d(axes))
    axes = list(ax) if isinstance(ax, (Sequence, np.ndarray)) else [ax]
    return _axes_figure(axes[0]), axes


def finish(fig: Figure, path: str | os.PathLike[str] | IO[bytes] | None,
           dpi: int = 120) -> Figure:
    """Write ``fig`` to ``path`` (a file name or a binary file object) when given; return it.

    A file name is written as model files are (:func:`deltaprop.io.write_atomically`: an
    earlier figure stays whole until the new one is on the disk), in the format of its
    extension; without one, in matplotlib's default format, whose extension is added to
    the name (as ``savefig`` does)."""
    if path is None:
        return fig
    if hasattr(path, "write"):
        fig.savefig(path, dpi=dpi)
        return fig
    path = Path(path)
    fmt = path.suffix[1:].lower()
    if not fmt:
        fmt = _matplotlib().rcParams["savefig.format"]
        path = path.with_name(f"{path.name}.{fmt}")
    write_atomically(path, lambda f: fig.savefig(f, format=fmt, dpi=dpi))
    return fig


def _integer_ticks(axis: Any) -> None:
    """Whole-number ticks (epochs)."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def _axes_figure(ax: Axes) -> Figure:
    """The figure that holds ``ax`` (the root figure when ``ax`` is in a subfigure)."""
    fig = ax.figure
    root = getattr(fig, "figure", None)
    return root if root is not None else fig  # type: ignore[return-value]


def learning_curves(history: Any, path: str | os.PathLike[str] | None = None, *,
                    ax: Axes | Sequence[Axes] | None = None, title: str | None = None) -> Figure:
    """Training and validation loss per epoch, and the metric (accuracy or R²) beside it.

    Parameters
    ----------
    history : History or dict
        What :meth:`deltaprop.Sequential.fit` returns, or its ``history`` dict
        (``"loss"``, optionally ``"val_loss"``, ``"accuracy"``/``"r2"`` and their
        ``"val_"`` twins).
    path : str or path-like, optional
        Where to write the figure.
    ax : Axes or a pair of Axes, optional
        One Axes draws the loss only; a pair draws the loss and the metric.
    title : str, optional
        The figure's title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    h = history.history if hasattr(history, "history") else history
    if not isinstance(h, Mapping) or not h.get("loss"):
        raise ValueError("learning_curves needs a History (or its dict) with a 'loss' list")
    epochs = np.arange(1, len(h["loss"]) + 1)
    metric = next((m for m in ("accuracy", "r2") if m in h), None)
    if ax is None:
        top = 0.84 if title else 0.91
        margins = (dict(left=0.08, right=0.98, bottom=0.14, top=top, wspace=0.25) if metric
                   else dict(left=0.15, right=0.97, bottom=0.14, top=top))
        fig, axes = new_figure((9.0 if metric else 5.0, 3.6), 1, 2 if metric else 1,
                               standalone=path is not None, margins=margins)
        axes = list(np.atleast_1d(axes))
    else:
        axes = list(ax) if isinstance(ax, Sequence) or isinstance(ax, np.ndarray) else [ax]
        fig = _axes_figure(axes[0])
    panels = [("loss", "loss J")] + ([(metric, metric)] if metric and len(axes) > 1 else [])
    for a, (key, ylabel) in zip(axes, panels):
        a.plot(epochs, h[key], "o-", ms=3, label="training")
        if "val_" + key in h:
            a.plot(epochs, h["val_" + key], "s-", ms=3, label="validation")
        a.set_xlabel("epoch")
        a.set_ylabel(ylabel)
        a.set_title(key)
        a.grid(alpha=0.3)
        a.legend()
        _integer_ticks(a.xaxis)
    loss = np.asarray(h["loss"], dtype=float)
    if np.all(loss > 0) and loss.max() / loss.min() > 20:
        axes[0].set_yscale("log")
    if title:
        fig.suptitle(title)
    return finish(fig, path)


def decision_boundary(net: Any, X: Any, y: Any, path: str | os.PathLike[str] | None = None, *,
                      ax: Axes | None = None, resolution: int = 300, title: str | None = None,
                      display_labels: Sequence[str] | None = None) -> Figure:
    """The predicted class over the plane, with the data points on top (2-D inputs).

    ``display_labels`` names the classes in the legend, in the order of ``net.classes_``
    (default: the class labels themselves).
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"decision_boundary needs 2-D inputs, got shape {X.shape}")
    classes = list(net.classes_)
    names = _display_labels(classes, display_labels)
    pad = 0.1 * (X.max(axis=0) - X.min(axis=0)) + 1e-9
    lo, hi = X.min(axis=0) - pad, X.max(axis=0) + pad
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution),
                         np.linspace(lo[1], hi[1], resolution))
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    index = {c: i for i, c in enumerate(classes)}
    zz = np.array([index[c] for c in net.predict(grid)]).reshape(gx.shape)
    if ax is None:
        fig, ax = new_figure((5.2, 4.8), standalone=path is not None)
    else:
        fig = _axes_figure(ax)
    import matplotlib as mpl

    cmap = mpl.colormaps["tab10" if len(classes) <= 10 else "tab20"]
    colors = [cmap(i % cmap.N) for i in range(len(classes))]
    levels = np.arange(len(classes) + 1) - 0.5
    ax.contourf(gx, gy, zz, levels=levels, colors=colors, alpha=0.25)
    ax.contour(gx, gy, zz, levels=levels, colors="k", linewidths=0.6)
    y = np.asarray(y)
    for i, (c, name) in enumerate(zip(classes, names)):
        m = y == c
        ax.scatter(X[m, 0], X[m, 1], s=14, color=colors[i], edgecolor="k", linewidth=0.3,
                   label=name)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(title or f"decision boundary\naccuracy {net.score(X, y):.3f}")
    ax.legend(title="class", loc="best", fontsize=8)
    return finish(fig, path)


def _display_labels(labels: Sequence[Any], display_labels: Sequence[str] | None) -> list[str]:
    if display_labels is None:
        return [str(c) for c in labels]
    names = [str(n) for n in display_labels]
    if len(names) != len(labels):
        raise ValueError(f"display_labels has {len(names)} names but there are {len(labels)} "
                         "classes")
    return names


def confusion_matrix(y_true: Any, y_pred: Any, path: str | os.PathLike[str] | None = None, *,
                     labels: Sequence[Any] | None = None,
                     display_labels: Sequence[str] | None = None, ax: Axes | None = None,
                     title: str = "confusion matrix", colorbar: bool = True) -> Figure:
    """Counts of (true class, predicted class), annotated, with the accuracy in the title.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        Class labels.
    path : str or path-like, optional
        Where to write the figure.
    labels : sequence, optional
        The classes, in the order of the rows and columns (default: every label seen,
        sorted).
    display_labels : sequence of str, optional
        The names shown for ``labels`` (e.g. iris' species), same order.
    ax : Axes, optional
        Where to draw.
    title : str
        The first line of the title; the accuracy is the second.
    colorbar : bool
        Draw a colour bar.

    Returns
    -------
    matplotlib.figure.Figure
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"confusion_matrix needs y_true and y_pred of one shape (n,), got "
                         f"{y_true.shape} and {y_pred.shape}")
    classes = (np.unique(np.concatenate([y_true, y_pred])) if labels is None
               else np.asarray(labels))
    names = _display_labels(list(classes), display_labels)
    index = {c: i for i, c in enumerate(classes.tolist())}
    unknown = sorted({str(v) for v in np.concatenate([y_true, y_pred]).tolist()} -
                     {str(c) for c in index})
    if unknown:
        raise ValueError(f"confusion_matrix: labels not in `labels`: {', '.join(unknown[:5])}")
    k = len(classes)
    cm = np.zeros((k, k), dtype=int)
    np.add.at(cm, ([index[t] for t in y_true.tolist()], [index[p] for p in y_pred.tolist()]), 1)
    if ax is None:
        longest = max(len(n) for n in names)
        side = min(max(3.6, 0.45 * k + 1.6 + 0.06 * longest), 14.0)
        fig, ax = new_figure((side + (0.9 if colorbar else 0.0), side),
                             standalone=path is not None)
    else:
        fig = _axes_figure(ax)
    im = ax.imshow(cm, cmap="Blues", vmin=0)
    rotate = sum(len(n) for n in names) > 4 * k or max(len(n) for n in names) > 4
    ax.set_xticks(range(k), names, rotation=45 if rotate else 0,
                  ha="right" if rotate else "center", rotation_mode="anchor")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    fontsize = float(np.clip(160 / max(k, 1) ** 1.1, 6, 12))
    threshold = cm.max() / 2
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=fontsize,
                    color="white" if cm[i, j] > threshold else "black")
    if colorbar:
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    accuracy = np.trace(cm) / max(cm.sum(), 1)
    ax.set_title(f"{title}\naccuracy {accuracy:.3f} ({np.trace(cm)} of {cm.sum()})",
                 fontsize=10)
    return finish(fig, path)


def gradient_norms(norms: Any, path: str | os.PathLike[str] | None = None, *,
                   ax: Axes | None = None, title: str = "gradient norm per layer") -> Figure:
    """Per-layer ‖∂J/∂W‖ per epoch (from :class:`deltaprop.training.GradientNorms`).

    ``norms`` is a ``(n_epochs, n_layers)`` array, or the callback itself.
    """
    values = np.asarray(getattr(norms, "norms", norms), dtype=float)
    if values.ndim != 2 or values.size == 0:
        raise ValueError(f"gradient_norms needs a (n_epochs, n_layers) array, got shape "
                         f"{values.shape}")
    if ax is None:
        fig, ax = new_figure((5.6, 3.8), standalone=path is not None,
                             margins=dict(left=0.16, right=0.97, bottom=0.13, top=0.91))
    else:
        fig = _axes_figure(ax)
    epochs = np.arange(1, len(values) + 1)
    for k in range(values.shape[1]):
        ax.plot(epochs, values[:, k], "o-", ms=3, label=f"layer {k + 1}")
    if np.all(values > 0):
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(r"mean $\|\partial J / \partial W\|_F$ over the batches")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    _integer_ticks(ax.xaxis)
    return finish(fig, path)
