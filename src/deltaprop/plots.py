"""Figures written to files (matplotlib is an optional extra: ``pip install 'deltaprop[plots]'``).

Each function draws one figure, saves it to ``path`` (PNG, PDF or SVG by the suffix)
and returns the path. The figures are drawn with the non-interactive Agg backend, so
they work on machines without a display.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["learning_curves", "decision_boundary", "confusion_matrix", "gradient_norms"]


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend, or an ImportError naming the extra."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError("plots need matplotlib: pip install 'deltaprop[plots]'") from None
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path):
    """Lay out, write and close ``fig``; returns the path."""
    path = Path(path)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    pyplot().close(fig)
    return path


def learning_curves(history, path, title=None):
    """Training and validation loss (left) and metric (right) per epoch."""
    plt = pyplot()
    h = history.history if hasattr(history, "history") else history
    epochs = np.arange(1, len(h["loss"]) + 1)
    metric = next((m for m in ("accuracy", "r2") if m in h), None)
    fig, axes = plt.subplots(1, 2 if metric else 1, figsize=(10 if metric else 5.5, 4),
                             squeeze=False)
    ax = axes[0, 0]
    ax.plot(epochs, h["loss"], "o-", ms=3, label="training")
    if "val_loss" in h:
        ax.plot(epochs, h["val_loss"], "s-", ms=3, label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss J")
    if min(h["loss"]) > 0 and max(h["loss"]) / min(h["loss"]) > 20:
        ax.set_yscale("log")
    ax.set_title("loss")
    ax.grid(alpha=0.3)
    ax.legend()
    if metric:
        ax = axes[0, 1]
        ax.plot(epochs, h[metric], "o-", ms=3, label="training")
        if "val_" + metric in h:
            ax.plot(epochs, h["val_" + metric], "s-", ms=3, label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_title(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def decision_boundary(net, X, y, path, resolution=300, title=None):
    """The predicted class over the plane, with the data points on top (2-D inputs)."""
    plt = pyplot()
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"decision_boundary needs 2-D inputs, got shape {X.shape}")
    pad = 0.1 * (X.max(axis=0) - X.min(axis=0)) + 1e-9
    lo, hi = X.min(axis=0) - pad, X.max(axis=0) + pad
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    classes = list(net.classes_)
    index = {c: i for i, c in enumerate(classes)}
    zz = np.array([index[c] for c in net.predict(grid)]).reshape(gx.shape)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    cmap = plt.get_cmap("tab10")
    levels = np.arange(len(classes) + 1) - 0.5
    ax.contourf(gx, gy, zz, levels=levels, colors=[cmap(i) for i in range(len(classes))], alpha=0.25)
    ax.contour(gx, gy, zz, levels=levels, colors="k", linewidths=0.6)
    for i, c in enumerate(classes):
        m = np.asarray(y) == c
        ax.scatter(X[m, 0], X[m, 1], s=14, color=cmap(i), edgecolor="k", linewidth=0.3,
                   label=str(c))
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(title or f"decision boundary (accuracy {net.score(X, y):.3f})")
    ax.legend(title="class", loc="best", fontsize=8)
    return save_figure(fig, path)


def confusion_matrix(y_true, y_pred, path, labels=None, title="confusion matrix"):
    """Counts of (true class, predicted class), annotated."""
    plt = pyplot()
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    labels = np.unique(np.concatenate([y_true, y_pred])) if labels is None else np.asarray(labels)
    index = {c: i for i, c in enumerate(labels.tolist())}
    cm = np.zeros((len(labels), len(labels)), dtype=int)
    for t, p in zip(y_true.tolist(), y_pred.tolist()):
        cm[index[t], index[p]] += 1
    k = len(labels)
    fig, ax = plt.subplots(figsize=(1.2 + 0.55 * k, 1.0 + 0.5 * k))
    im = ax.imshow(cm, cmap="Blues")
    long_names = max(len(str(c)) for c in labels) > 3
    ax.set_xticks(range(k), [str(c) for c in labels], rotation=45 if long_names else 0,
                  ha="right" if long_names else "center")
    ax.set_yticks(range(k), [str(c) for c in labels])
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if cm[i, j] > cm.max() / 2 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax.set_title(f"{title} (accuracy {np.trace(cm) / max(cm.sum(), 1):.3f})")
    return save_figure(fig, path)


def gradient_norms(norms, path, title="gradient norm per layer"):
    """Per-layer ‖∂J/∂W‖ per epoch (from :class:`deltaprop.training.GradientNorms`).

    ``norms`` is a ``(n_epochs, n_layers)`` array, or the callback itself.
    """
    plt = pyplot()
    norms = np.asarray(getattr(norms, "norms", norms), dtype=float)
    fig, ax = plt.subplots(figsize=(6, 4))
    epochs = np.arange(1, len(norms) + 1)
    for k in range(norms.shape[1]):
        ax.plot(epochs, norms[:, k], "o-", ms=3, label=f"layer {k + 1}")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(r"mean $\|\partial J / \partial W\|_F$ over the batches")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return save_figure(fig, path)
