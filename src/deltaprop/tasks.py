"""The task of a network: what its targets are, how they are encoded, how it is scored.

Three tasks, declared (``MLP(task=...)``, ``--task``) or inferred from the targets
(:func:`infer_network_task`), else the loss's own (:meth:`~deltaprop.losses.Loss.task_for`),
never by comparing names:

* ``"classification"``: one label per sample (integers, strings, booleans...) or one-hot
  rows; the network's outputs are class scores (softmax, or one sigmoid unit for two
  classes); scored by accuracy;
* ``"multilabel"``: several independent yes/no labels per sample (sigmoid units with
  binary cross-entropy); scored by subset accuracy (every label of a sample right);
* ``"regression"``: real targets; scored by R².

This module is the one home of target encoding, class labels, the metrics and the default
output and loss for a task: the training loop, the CLI and the estimators use it alike.
"""

from __future__ import annotations

import numpy as np

from ._validation import check_targets

__all__ = ["TASKS", "METRICS", "predict_index", "classes_for", "label_indices", "encode_targets",
           "infer_task", "infer_network_task", "check_labels", "default_head", "RunningMetric",
           "r2_score"]

TASKS = ("classification", "multilabel", "regression")

#: The metric that ``fit`` logs for each task (None: no single number).
METRICS = {"classification": "accuracy", "multilabel": "accuracy", "regression": "r2"}


def predict_index(y, out=None):
    """Class index from outputs: argmax for several outputs, threshold 0.5 for one."""
    if y.shape[1] == 1:
        if out is None:
            return (y[:, 0] > 0.5).astype(np.int64)
        return np.greater(y[:, 0], 0.5, out=out)
    return np.argmax(y, axis=1, out=out)


def preview(values, n=10):
    """``[a, b, ...]``: the first ``n`` values, for messages."""
    items = ", ".join(str(v) for v in values[:n])
    return f"[{items}{', ...' if len(values) > n else ''}]"


def check_labels(y, name="y"):
    """Class labels as an array of numbers, booleans or strings; complex numbers, ``None``
    and mixed kinds are refused, naming the first bad label."""
    y = np.asarray(y)
    if y.dtype.kind == "c":
        raise TypeError(f"{name} holds complex numbers; class labels must be integers, "
                        f"floats, booleans or strings")
    if y.dtype.kind == "O":
        flat = y.ravel()
        kinds = [str if isinstance(v, str) else None for v in flat]
        if all(k is str for k in kinds):
            return flat.astype(str).reshape(y.shape)
        i = next((i for i, v in enumerate(flat) if not isinstance(v, str)), 0)
        raise TypeError(f"{name}[{i}] is {flat[i]!r}: class labels must be all numbers, all "
                        f"booleans or all strings")
    if y.dtype.kind not in "biufUS":
        raise TypeError(f"{name} has dtype {y.dtype}; class labels must be integers, floats, "
                        f"booleans or strings")
    return y


def classes_for(y, n_classes):
    """The label set: 0..n-1 (in the labels' own dtype) when the labels are already indices,
    else the sorted labels."""
    if y.dtype.kind in "biuf":
        if not np.isfinite(y).all():
            raise ValueError("y contains NaN or inf")
        if np.all(np.mod(y, 1) == 0) and y.min() >= 0 and y.max() < n_classes:
            return np.arange(n_classes).astype(y.dtype)
    classes = np.unique(y)
    if len(classes) != n_classes:
        raise ValueError(f"y has {len(classes)} distinct labels {preview(classes)}, but the "
                         f"network has outputs for {n_classes} classes")
    return classes


def label_indices(y, classes):
    """The index in ``classes`` of every label of ``y``; an unknown label is an error."""
    idx = np.searchsorted(classes, y)
    idx = np.clip(idx, 0, len(classes) - 1)
    bad = classes[idx] != y
    if np.any(bad):
        i = int(np.argmax(bad))
        raise ValueError(f"label y[{i}] = {y[i]!s} is not one of the classes {preview(classes)}")
    return idx.astype(np.int64)


def encode_targets(y, n_samples, n_outputs, loss, dtype, task, classes=None):
    """Targets for the loss, the class indices (or None) and the classes (or None).

    For classification, labels are mapped through ``classes`` (computed from ``y`` when
    None); one-hot rows are taken as they are. Other tasks check the targets' shape and
    domain through the loss.
    """
    if task != "classification":
        return check_targets(y, n_samples, n_outputs, loss, dtype), None, None
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == n_outputs and n_outputs > 1:
        T = check_targets(y, n_samples, n_outputs, loss, dtype)
        return T, T.argmax(axis=1), np.arange(n_outputs) if classes is None else classes
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    y = check_labels(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D class labels or one-hot rows with {n_outputs} "
                         f"columns, got shape {y.shape}")
    if len(y) != n_samples:
        raise ValueError(f"y has {len(y)} labels but X has {n_samples} samples")
    if classes is None:
        classes = classes_for(y, max(n_outputs, 2))
    labels = label_indices(y, classes)
    if n_outputs == 1:
        return labels[:, None].astype(dtype), labels, classes
    T = np.zeros((n_samples, n_outputs), dtype=dtype)
    T[np.arange(n_samples), labels] = 1.0
    return T, labels, classes


def infer_task(y, max_classes=20):
    """``"classification"`` for non-numeric labels or few distinct integers, else
    ``"regression"``: the guess the CLI makes from a target column."""
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        return "classification"
    integral = bool(np.all(np.mod(y, 1) == 0))
    return "classification" if integral and len(np.unique(y)) <= max_classes else "regression"


def infer_network_task(y, default, n_outputs):
    """The task a network without a declared one takes from its first targets ``y``.

    Targets that can only be class labels make it a classifier: strings, booleans, or a
    1-D vector of labels for a network with several outputs (one-hot encoded for it).
    Otherwise the network keeps ``default``, the task of its loss and output activation.
    """
    if default == "classification":
        return default
    y = np.asarray(y)
    if y.dtype.kind in "bUSO":
        return "classification"
    if n_outputs > 1 and (y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)):
        return "classification"
    return default


def default_head(task, n_outputs, output=None, loss=None):
    """``(output activation, loss, n_output_units)`` for a task.

    ``n_outputs`` is the number of classes (classification) or of targets. The defaults:
    softmax with cross-entropy for classes, one sigmoid unit with binary cross-entropy for
    two classes when ``output="sigmoid"`` is asked for, sigmoid with binary cross-entropy for
    multilabel targets, the identity with the mean squared error for regression. ``output``
    and ``loss`` override the defaults.
    """
    if task == "classification":
        output = output or "softmax"
        loss = loss or ("binary_cross_entropy" if output == "sigmoid" else "cross_entropy")
        if output == "sigmoid" and loss == "binary_cross_entropy" and n_outputs == 2:
            n_outputs = 1
        return output, loss, n_outputs
    if task == "multilabel":
        return output or "sigmoid", loss or "binary_cross_entropy", n_outputs
    if task == "regression":
        return output or "identity", loss or "mse", n_outputs
    raise ValueError(f"unknown task {task!r}; valid tasks are: {', '.join(TASKS)}")


def r2_score(sse, T):
    """``1 - SSE/SST`` over all target columns (NaN when the targets are constant)."""
    sst = float(((T - T.mean(axis=0)) ** 2).sum(dtype=np.float64))
    return 1.0 - sse / sst if sst > 0 else float("nan")


class RunningMetric:
    """Accuracy or R² over the batches of an epoch.

    For accuracy each batch only writes its predicted classes into one epoch-long array
    (one call); they are compared with the labels, in the epoch's order, once at the end.
    """

    def __init__(self, metric, T_all, labels):
        self.metric = metric
        self.labels = labels
        self.multilabel = metric == "accuracy" and labels is None
        if self.multilabel:
            self.correct = 0
        elif metric == "accuracy":
            self.pred = np.empty_like(labels, shape=(len(labels),), dtype=np.int64)
        elif metric == "r2":
            self.sst = float(((T_all - T_all.mean(axis=0)) ** 2).sum())

    def reset(self, order):
        self.order, self.a, self.n, self.correct = order, 0.0, 0, 0

    def update(self, lo, hi, y, T):
        if self.multilabel:  # subset accuracy: every label of the sample right
            self.correct += int(np.count_nonzero(((y > 0.5) == (T > 0.5)).all(axis=1)))
            self.n = hi
        elif self.metric == "accuracy":
            predict_index(y, out=self.pred[lo:hi])
            self.n = hi
        elif self.metric == "r2":
            self.a += ((y - T) ** 2).sum()  # on y's device: no wait for a GPU

    def value(self):
        if self.multilabel:
            return self.correct / self.n
        if self.metric == "accuracy":
            n = self.n
            labels = self.labels[:n] if self.order is None else self.labels[self.order[:n]]
            return int(np.count_nonzero(self.pred[:n] == labels)) / n
        return 1.0 - float(self.a) / self.sst if self.sst > 0 else float("nan")
