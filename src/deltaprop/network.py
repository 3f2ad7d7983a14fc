"""The network: layers in order, a loss, L2 regularisation, and the user's facade
(:class:`~deltaprop.mlp.MLP` builds one from layer sizes).

:class:`Sequential` walks its layers (:mod:`deltaprop.layers`): forward from the input,
then one backward sweep from the loss to the input (Goodfellow et al., *Deep Learning*,
§6.5.4: steps ① to ⑤, with :meth:`Dense.backward <deltaprop.layers.Dense.backward>`
holding ② to ⑤). It never names a layer's fields: the parameters live in one
:class:`~deltaprop.parameters.ParameterStore` that the optimizer is handed, the task
(targets, classes, metrics) is :mod:`deltaprop.tasks`' business, and model files are
:mod:`deltaprop.io`'s.
"""

from __future__ import annotations

import copy as _copy
import math

import numpy as np

from . import io, kernels
from ._validation import (check_dtype, check_number, check_sample_weight, check_targets,
                          check_X, issparse)
from .activations import Identity, Softmax
from .devices import get_device, to_host
from .layers import BatchNorm, Dense, Dropout, Layer, LayerNorm, layer_from_config
from .losses import get_loss
from .parameters import ParameterStore
from .tasks import METRICS, TASKS, encode_targets, infer_network_task, predict_index, r2_score

__all__ = ["Dense", "Dropout", "BatchNorm", "LayerNorm", "Sequential"]

_MAX_BUFFER_SIZES = 3  # batch sizes whose output-delta buffers the network keeps
#: The most bytes of one chunk of prediction's input rows, or of its widest layer's
#: activations (16 times that off the CPU). Measured on 2 cores against the faster of
#: PyTorch and scikit-learn, interleaved (chunks of 512 / 1,024 / 2,048 / 4,096 rows): at
#: 784-256-128-10 float32 1.14 / 1.15 / 1.13 / 1.13x, float64 1.22 / 1.19 / 1.13 / 1.09x; at
#: 784-1024-1024-10 1.06 / 1.08 / 1.09 / 1.03x. 4 MiB gives 1,024, 512 and 1,024 rows.
PREDICT_CHUNK_BYTES = 1 << 22
#: The fewest and the most rows of a chunk of prediction (the most: 16 times as many off
#: the CPU), however narrow or wide the layers.
PREDICT_MIN_ROWS = 256
PREDICT_MAX_ROWS = 8192
_IDENTITY = Identity()


class Sequential:
    """A feed-forward network: layers in order, a loss, L2 regularisation.

    The objective for a batch of ``N`` samples is

    .. math:: J = \\frac{1}{N}\\sum_{n=1}^N \\ell(y_n, t_n) + \\frac{\\lambda}{2}\\sum_k \\lVert W_k\\rVert_F^2

    with ``reduction="mean"`` (the mini-batch loss of Rousseau's lecture notes); with
    ``reduction="sum"`` the :math:`1/N` is dropped (the total squared error of Hagan et
    al.). Only the weight matrices are penalised (each layer's ``decayed`` parameters),
    and ``λ`` is never rescaled by the batch size.

    Parameters
    ----------
    layers : list of Layer
        E.g. ``[Dense(4, 16, "relu"), Dropout(0.2), Dense(16, 3, "softmax")]``.
    loss : str or Loss
    l2 : float
        ``λ`` in the objective above.
    reduction : {"mean", "sum"}
    task : {None, "classification", "multilabel", "regression"}
        What the targets are. ``None`` (default): inferred from the targets at the first
        ``fit`` (:func:`deltaprop.tasks.infer_network_task`: labels that can only be
        classes, such as strings or 1-D labels for several outputs, make a classifier),
        else the loss's own task. Declare it to train, for example, Nielsen's sigmoid
        network with the quadratic cost as a classifier of 0/1 labels on one output.
    device : {"cpu", "cuda", "cuda:N", "strict"} or Device
        Where the parameters, gradients, optimizer state and work arrays live
        (:mod:`deltaprop.devices`; :meth:`to` moves them). The methods take and return
        NumPy arrays on any device; the layers' own arrays (``layer.W``, ``layer.a``...)
        are the device's.

    Attributes
    ----------
    store : ParameterStore
        Every parameter in one flat array and every gradient in another, with the offset
        of each tensor; the layers' arrays are views into it.
    device : deltaprop.devices.Device
    """

    def __init__(self, layers, loss="mse", l2=0.0, reduction="mean", task=None, device=None):
        self.layers = list(layers)
        if not self.layers:
            raise ValueError("a network needs at least one layer")
        for i, layer in enumerate(self.layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layers[{i}] is {layer!r}, not a deltaprop layer "
                                f"(Dense, Dropout, BatchNorm, LayerNorm, ...)")
        self._check_shapes()
        self.loss_function = get_loss(loss)
        self.loss_function.check_output(self.output_activation)
        for i, layer in enumerate(self.layers[:-1]):
            if layer.activation is not None and not layer.activation.elementwise:
                raise ValueError(f"{layer.activation.name!r} (layers[{i}]) is only supported "
                                 f"on the output layer")
        l2 = check_number("l2", l2)
        if l2 < 0:
            raise ValueError(f"l2 must be a non-negative number, got {l2}")
        self.l2 = l2
        if reduction not in ("mean", "sum"):
            raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
        self.reduction = reduction
        self.declared_task = self._check_task(task)
        device = get_device(device)
        for layer in self.layers:
            layer.to_device(device)
        self._build_store(device)

    def _check_task(self, task):
        """``task`` (None or one of :data:`~deltaprop.tasks.TASKS`), checked against the
        loss and the output activation."""
        if task is None:
            return None
        if task not in TASKS:
            raise ValueError(f"task must be None or one of {', '.join(map(repr, TASKS))}; "
                             f"got {task!r}")
        if isinstance(self.output_activation, Softmax) and task != "classification":
            raise ValueError(f"task={task!r} does not fit a softmax output, whose outputs are "
                             f"class probabilities: use task='classification'")
        if task not in self.loss_function.tasks:
            raise ValueError(f"loss {self.loss_function.name!r} cannot serve task={task!r}; "
                             f"it serves {', '.join(map(repr, self.loss_function.tasks))}")
        return task

    def _check_shapes(self):
        width, dtypes = None, set()
        for i, layer in enumerate(self.layers):
            if layer.n_in is not None and width is not None and layer.n_in != width:
                raise ValueError(f"layer {i - 1} has {width} outputs but layer {i} expects "
                                 f"{layer.n_in} inputs")
            if layer.n_out is not None:
                width = layer.n_out
            if layer.dtype is not None:
                dtypes.add(np.dtype(layer.dtype))
        if width is None:
            raise ValueError("no layer of the network fixes its size (add a Dense layer)")
        if len(dtypes) > 1:
            raise ValueError(f"the layers have different dtypes: {sorted(map(str, dtypes))}")

    def _build_store(self, device=None):
        """Move the parameters into the store ``[W1, b1, W2, b2, ...]`` on ``device`` (the
        store's own by default; the layers keep views of the right shapes), and note the
        arrays that L2 applies to."""
        if device is None:
            store = self.__dict__.get("store")
            device = store.device if store is not None else None
        self.store = ParameterStore(self.layers, device)
        self._decayed = [(self.store.view(self.store.data, s), self.store.view(self.store.grad, s))
                         for s in self.store.slots if s.decay]
        self._decayed_by_layer = {}
        for s, pair in zip((s for s in self.store.slots if s.decay), self._decayed):
            self._decayed_by_layer.setdefault(s.layer, []).append(pair)
        self._delta_buffers = {}

    def __getstate__(self):
        return {**self.__dict__, "_delta_buffers": {}}

    def __setstate__(self, state):
        self.__dict__.update(state)
        # Unpickled or deep-copied, each view became an array of its own: pack them
        # again. A shallow copy shares the layers, which stay bound to the store.
        store = self.store
        if not all(value.base is store.data for layer in self.layers
                   for value, _ in layer.parameters()) or "_decayed_by_layer" not in state:
            self._build_store()

    # -- device ---------------------------------------------------------------------------
    @property
    def device(self):
        """The :class:`~deltaprop.devices.Device` of the parameters."""
        return self.store.device

    def to(self, device):
        """Move the network (parameters, gradients, buffers, optimizer state) to ``device``
        (``"cpu"``, ``"cuda"``, ``"cuda:N"``; see :mod:`deltaprop.devices`), in place.
        Returns the network, as ``torch.nn.Module.to`` does."""
        device = get_device(device)
        if device == self.device:
            return self
        for layer in self.layers:
            layer.to_device(device)
        self._build_store(device)
        state = getattr(self, "train_state_", None)
        if state is not None and hasattr(state.get("optimizer"), "to_device"):
            state["optimizer"].to_device(device)
        return self

    def on_device(self, a):
        """A validated host array ``a`` on the network's device (``a`` itself on the CPU)."""
        device = self.store.device
        if device.is_cpu or a is None:
            return a
        if issparse(a):
            raise TypeError(f"X is a sparse matrix, which the device {device} does not take: "
                            f"pass X.toarray(), or train on the CPU")
        return device.asarray(a)

    # -- shape and dtype ------------------------------------------------------------------
    @property
    def n_inputs(self):
        return next(layer.n_in for layer in self.layers if layer.n_in is not None)

    @property
    def n_outputs(self):
        return next(layer.n_out for layer in reversed(self.layers) if layer.n_out is not None)

    @property
    def dtype(self):
        return next(np.dtype(layer.dtype) for layer in self.layers if layer.dtype is not None)

    @property
    def output_activation(self):
        """The output layer's activation (the identity when it has none)."""
        act = self.layers[-1].activation
        return _IDENTITY if act is None else act

    def n_params(self):
        return self.store.size

    @property
    def task(self):
        """``"classification"``, ``"multilabel"`` or ``"regression"``: the declared task
        (``task=``), else the one inferred from the targets at ``fit``, else the loss's
        (:meth:`~deltaprop.losses.Loss.task_for`; a softmax output always gives class
        probabilities)."""
        task = getattr(self, "declared_task", None) or getattr(self, "task_", None)
        return task or self.default_task

    @property
    def default_task(self):
        """The task the loss and the output activation give, before any target is seen."""
        if isinstance(self.output_activation, Softmax):
            return "classification"
        return self.loss_function.task_for(self.n_outputs)

    @property
    def metric_name(self):
        """The metric logged by ``fit``: ``"accuracy"``, ``"r2"``, or None (multilabel)."""
        return METRICS[self.task]

    @property
    def classes(self):
        """The class labels (``classes_`` after ``fit``; ``0..n-1`` before)."""
        classes = getattr(self, "classes_", None)
        return np.arange(max(self.n_outputs, 2)) if classes is None else classes

    # -- public maths -----------------------------------------------------------------------
    def forward(self, X):
        """The network outputs ``y`` of shape ``(N, n_outputs)`` (after the output
        activation), in evaluation mode."""
        return self._forward_checked(self.check_input(X), X)

    def check_input(self, X):
        """``X`` as prediction takes it: 2-D, numeric, of the network's dtype (:func:`check_X`),
        its finiteness left to :meth:`outputs`, chunk by chunk."""
        return self.check_sparse(check_X(X, self.dtype, self.n_inputs, finite=False))

    def _forward_checked(self, X, given):
        out = np.empty((X.shape[0], self.n_outputs), dtype=self.dtype)
        self.outputs(X, out, given=given)
        return out

    def predict_chunk_rows(self, n):
        """Rows per chunk of prediction (at most ``n``): the power of two that keeps one
        chunk's input rows and its widest layer's activations within
        :data:`PREDICT_CHUNK_BYTES`, between :data:`PREDICT_MIN_ROWS` and
        :data:`PREDICT_MAX_ROWS`."""
        widest = max([self.n_inputs or 0] + [layer.n_out or 0 for layer in self.layers] + [1])
        scale = 1 if self.device.is_cpu else 16
        rows = PREDICT_CHUNK_BYTES * scale // (self.dtype.itemsize * widest)
        rows = 1 << max(0, int(rows).bit_length() - 1)  # a power of two, rounded down
        return max(1, min(n, PREDICT_MAX_ROWS * scale, max(PREDICT_MIN_ROWS, rows)))

    def outputs(self, X, out=None, each=None, given=None):
        """Evaluation-mode outputs of ``X`` (:meth:`check_input`: validated once by the
        caller, but for finiteness), chunk by chunk: into ``out[lo:hi]`` when ``out`` is
        given, and ``each(lo, hi, y)`` is called with the host outputs ``y`` of the rows
        ``lo:hi`` (``out[lo:hi]``, or a work array that the next chunk overwrites).

        Each chunk is checked for NaN and inf right before its first product (the check
        reads the rows into the cache for it); when one has any, ``check_X`` of the whole
        ``given`` input (``X`` by default) raises, naming the first. Then one product per
        layer (:meth:`Layer.infer <deltaprop.layers.Layer.infer>`: the bias and the
        activation in one pass after it, into reused work arrays), over chunks of
        :meth:`predict_chunk_rows` rows, run by :func:`deltaprop.kernels.map_chunks`: on
        every core at once where it can, so ``each`` may be called from several threads
        (for disjoint rows)."""
        n = X.shape[0]
        rows = self.predict_chunk_rows(n)
        on_cpu = self.device.is_cpu
        dense = not issparse(X)

        def run(layers, lo):
            hi = min(lo + rows, n)
            a = X[lo:hi]
            if dense and not kernels.all_finite(a):
                check_X(X if given is None else given, self.dtype, self.n_inputs)  # raises
                raise AssertionError("check_X passed the rows that all_finite refused")
            a = self.on_device(a)
            for layer in layers[:-1]:
                a = layer.infer(a)
            if on_cpu:
                y = layers[-1].infer(a, out=None if out is None else out[lo:hi])
            else:
                y = to_host(layers[-1].infer(a))
                if out is not None:
                    out[lo:hi] = y
                    y = out[lo:hi]
            if each is not None:
                each(lo, hi, y)

        concurrent = on_cpu and all(layer.concurrent_infer for layer in self.layers)
        kernels.map_chunks(run, range(0, n, rows), self.layers, concurrent)

    def check_sparse(self, X):
        """``X``, unless it is sparse and the first layer takes no sparse input."""
        first = self.layers[0]
        if not first.accepts_sparse and issparse(X):
            raise TypeError(f"X is a sparse matrix, but the first layer ({type(first).__name__})"
                            f" takes dense input only: a Dense first layer takes sparse X "
                            f"(or pass X.toarray())")
        return X

    def forward_sweep(self, X, training=False, keep=False, sample_weight=None):
        """``(z, y)``, the output layer's pre-activation and output, for a validated
        ``X``; with ``keep`` every layer remembers what its backward step needs. In
        training the layers are told the batch's ``sample_weight`` (batch statistics)."""
        if training:
            for layer in self.layers:
                layer.weigh_batch(sample_weight)
        a = X
        for layer in self.layers[:-1]:
            a = layer.forward(a, training, keep)
        out = self.layers[-1]
        if not keep:
            return out.forward_pair(a, training)
        a = out.forward(a, training, True)
        return (a if out.activation is None else out.z), a

    def loss(self, X, T, sample_weight=None, *, training=False):
        """The objective ``J`` (loss reduced over the batch, plus the L2 term) as a float.

        ``training=True`` evaluates it as training does (dropout masks, batch statistics,
        which also updates batch normalisation's running averages).
        """
        X, T = self.check_inputs(X, T)
        w = self.on_device(check_sample_weight(sample_weight, X.shape[0], self.dtype))
        z, y = self.forward_sweep(X, training, sample_weight=w)
        return self.objective(self.loss_function.per_sample(z, y, T, self.output_activation), w)

    def gradients(self, X, T, sample_weight=None, *, training=False):
        """The objective and its gradient: ``(J, [(grad_W, grad_b), ...])``, one pair per
        Dense layer.

        One forward sweep and one backward sweep (steps ① to ⑤). The returned arrays are
        copies, the caller's to keep; every layer's gradients are in
        :meth:`parameter_gradients`. With ``sample_weight`` the per-sample losses are
        weighted, and ``"mean"`` becomes ``Σ w ℓ / Σ w``. ``training`` as for :meth:`loss`.
        """
        X, T = self.check_inputs(X, T)
        w = self.on_device(check_sample_weight(sample_weight, X.shape[0], self.dtype))
        J = self.backprop(X, T, w, training=training)
        return J, [(np.array(to_host(layer.grad_W)), np.array(to_host(layer.grad_b)))
                   for layer in self.layers if isinstance(layer, Dense)]

    def parameters(self):
        """``[(W1, grad_W1), (b1, grad_b1), ...]``: every layer's pairs, in order."""
        return [pair for layer in self.layers for pair in layer.parameters()]

    def parameter_gradients(self):
        """``{"W1": grad, "b1": grad, "gamma2": grad, ...}``: copies of every gradient,
        labelled by name and 1-based layer number."""
        grad = to_host(self.store.grad)
        return {s.label: self.store.view(grad, s).copy() for s in self.store.slots}

    # -- the algorithm --------------------------------------------------------------------------
    def check_inputs(self, X, T):
        """``(X, T)`` validated: X as a finite ``(N, n_inputs)`` array of the network's
        dtype, T converted by the loss to ``(N, n_outputs)``, both on the network's
        device (what :meth:`backprop` takes)."""
        X = self.check_sparse(check_X(X, self.dtype, self.n_inputs))
        T = check_targets(T, X.shape[0], self.n_outputs, self.loss_function, self.dtype)
        return self.on_device(X), self.on_device(T)

    def objective(self, per_sample, sample_weight=None, lazy=False):
        """``J`` from the per-sample losses: reduced over the batch (weighted by
        ``sample_weight``), plus the L2 term. ``lazy``: as a 0-d array of the losses'
        device (float64), which a GPU computes without the host waiting for it; the same
        operations in the same order as the float."""
        w = sample_weight
        if w is None:
            J, count = per_sample.sum(dtype=np.float64), len(per_sample)
        else:
            J, count = np.dot(per_sample, w).astype(np.float64), float(w.sum(dtype=np.float64))
        if self.reduction == "mean":
            # A batch whose weights are all zero carries no data: its data term is 0.
            J = J / count if count > 0 else np.zeros_like(J)
        if self.l2:
            J = J + 0.5 * self.l2 * sum(np.vdot(W, W).astype(np.float64)
                                        for W, _ in self._decayed)
        return J if lazy else float(J)

    def output_delta(self, z, y, T, w=None):
        """Step ① (and ② for the output layer): ``dJ/dz`` at the output, and the
        per-sample losses. The loss decides whether the chain rule cancels to ``y − t``."""
        n = len(T)
        buf = self._delta_buffers.get(n)
        if buf is None:
            if len(self._delta_buffers) >= _MAX_BUFFER_SIZES:
                self._delta_buffers.pop(next(iter(self._delta_buffers)))
            buf = self._delta_buffers[n] = np.empty_like(self.store.data,
                                                         shape=(n, self.n_outputs))
        per_sample, delta = self.loss_function.output_delta(z, y, T, self.output_activation,
                                                            out=buf)
        if w is not None:
            delta *= w[:, None]
        if self.reduction == "mean":
            count = n if w is None else float(w.sum(dtype=np.float64))
            delta *= 1.0 / count if count > 0 else 0.0
        return delta, per_sample

    def backprop(self, X, T, w=None, training=True, lazy=False, steps=None):
        """Forward, then backward, on validated arrays (:meth:`check_inputs`); the
        gradients land in the layers (``store.grad``). Returns ``J`` (``lazy``: see
        :meth:`objective`).

        ``steps`` (:meth:`Optimizer.layer_steps
        <deltaprop.optimizers.Optimizer.layer_steps>`): also take the optimizer's step,
        layer by layer, each layer's right after its backward step (its weights no longer
        needed below, its gradients complete, the L2 term included); not at all when ``J``
        is not finite (unless ``lazy``: then as the step after the sweep would)."""
        layers = self.layers
        z, y = self.forward_sweep(X, training, keep=True, sample_weight=w)
        g, per_sample = self.output_delta(z, y, T, w)
        J = self.objective(per_sample, w, lazy)  # before any weight changes
        if steps is not None:
            if not lazy and not math.isfinite(J):
                steps = None  # no update: the training loop reports the divergence
            else:
                steps.begin()
        last = len(layers) - 1
        out = layers[last]
        if out.activation is not None:
            g = out.backward(g, is_delta=True, need_input_grad=last > 0)
        else:
            g = out.backward(g, need_input_grad=last > 0)
        if steps is not None:
            self._layer_step(last, steps)
        for k in range(last - 1, -1, -1):
            g = layers[k].backward(g, need_input_grad=k > 0)
            if steps is not None:
                self._layer_step(k, steps)
        if self.l2 and steps is None:
            for W, grad_W in self._decayed:
                grad_W += self.l2 * W  # ∇ of (λ/2)‖W‖²
        return J

    def _layer_step(self, k, steps):
        """Layer ``k``'s gradients completed (the L2 term), then its optimizer step."""
        if self.l2:
            for W, grad_W in self._decayed_by_layer.get(k, ()):
                grad_W += self.l2 * W  # ∇ of (λ/2)‖W‖²
        steps.layer(k)

    def snapshot(self, into=None):
        """A copy of everything training changes in the layers: the parameters, the
        buffers (running statistics) and the layers' states (random generators).
        ``into``, an earlier snapshot, is overwritten and returned."""
        if into is None:
            return {"data": self.store.data.copy(),
                    "buffers": [{k: v.copy() for k, v in layer.buffers().items()}
                                for layer in self.layers],
                    "states": [layer.get_state() for layer in self.layers]}
        np.copyto(into["data"], self.store.data)
        for layer, saved in zip(self.layers, into["buffers"]):
            for k, v in layer.buffers().items():
                np.copyto(saved[k], v)
        into["states"] = [layer.get_state() for layer in self.layers]
        return into

    def restore(self, snapshot):
        """Go back to a :meth:`snapshot`."""
        np.copyto(self.store.data, snapshot["data"])
        for layer, saved, state in zip(self.layers, snapshot["buffers"], snapshot["states"]):
            for k, v in saved.items():
                layer.set_buffer(k, v)
            if state is not None:
                layer.set_state(state)

    @property
    def min_training_batch(self):
        """The smallest batch every layer can train on."""
        return max(layer.min_training_batch for layer in self.layers)

    # -- training ---------------------------------------------------------------------------
    def fit(self, X, y, *, optimizer="adam", epochs=10, batch_size=32, shuffle=True,
            validation_data=None, validation_split=0.0, callbacks=(), verbose=1, seed=None,
            schedule=None, resume=False, sample_weight=None, rollback=True, distributed=None):
        """Train by mini-batch gradient descent; returns a :class:`~deltaprop.training.History`.

        Parameters
        ----------
        X : array_like (N, n_inputs)
        y : array_like
            Class labels (integers or strings; remembered in ``classes_`` and returned
            by :meth:`predict`) or one-hot rows for classifiers; targets ``(N,)`` or
            ``(N, n_outputs)`` for regression.
        optimizer : str or Optimizer
            ``"sgd"``, ``"momentum"``, ``"nesterov"``, ``"adagrad"``, ``"rmsprop"``,
            ``"adam"``, ``"adamw"`` or an instance (its state then lives on); or
            ``"lbfgs"`` (:class:`deltaprop.optimizers.LBFGS`, needs SciPy), a full-batch
            method: each epoch is then one L-BFGS iteration over the whole training set,
            ``epochs`` the largest number of iterations, and ``batch_size``, ``shuffle``
            and ``schedule`` are ignored.
        epochs : int
            Total number of passes over the data (with ``resume``, including those
            already done).
        batch_size : int or None
            Samples per gradient step; ``None`` is full-batch gradient descent and 1 is
            pure stochastic gradient descent.
        shuffle : bool
            Visit the samples in a new random order each epoch.
        validation_data : (X_val, y_val), optional
        validation_split : float
            Fraction of ``X`` held out for validation (a random, seeded split).
        callbacks : sequence of Callback
            E.g. ``EarlyStopping``, ``ModelCheckpoint``, ``LambdaCallback``.
        verbose : {0, 1, 2}
            0 silent, 1 a progress bar (with tqdm) and a line per epoch, 2 lines only.
        seed : int, optional
            Seeds the shuffling and the validation split; with the same initial weights,
            the same seed gives bitwise identical weights after training.
        schedule : str or Schedule, optional
            Learning-rate schedule, evaluated at the start of each epoch.
        resume : bool
            Continue a run that stopped (Ctrl-C, early stopping, a loaded checkpoint)
            from its last completed epoch, with its optimizer state and seed.
        sample_weight : array_like (N,), optional
            Per-sample weights of the loss; ``"mean"`` becomes ``Σ w ℓ / Σ w`` per batch.
        rollback : bool
            Keep a copy of the weights and the optimizer state at the start of each
            epoch (default), so that a divergence or Ctrl-C goes back to it and
            ``resume`` continues bit for bit. It costs memory: one more copy of the
            weights and of the optimizer state (3× the parameters with Adam).
            ``rollback=False`` keeps no copy: a diverged or interrupted run keeps the
            weights it has (before the failing batch's update), and a resumed run
            restarts the interrupted epoch from them.
        distributed : deltaprop.distributed.Distributed, optional
            Data-parallel training over MPI: ``X`` is this process's shard,
            ``batch_size`` the local batch, and one all-reduce of the gradients per step
            keeps every process's weights the same (:mod:`deltaprop.distributed`).

        Raises
        ------
        TrainingDiverged
            When the loss becomes NaN or infinite; the weights and the optimizer go back
            to their state at the start of that epoch (with ``rollback``), and the
            message names the epoch and the batch.
        """
        from .training import fit

        kw = dict(optimizer=optimizer, epochs=epochs, batch_size=batch_size, shuffle=shuffle,
                  validation_data=validation_data, validation_split=validation_split,
                  callbacks=callbacks, verbose=verbose, seed=seed, schedule=schedule,
                  resume=resume, sample_weight=sample_weight, rollback=rollback)
        if distributed is not None:  # an error on one process ends the job, not a hang
            if not self.device.is_cpu:  # the same answer on every process: no guard needed
                raise ValueError(f"distributed training runs on the CPU: move the network "
                                 f"there (net.to('cpu')) or train on one device "
                                 f"({self.device}) without distributed=")
            return distributed.guard(fit, self, X, y, distributed=distributed, **kw)
        return fit(self, X, y, **kw)

    # -- targets, prediction, scores ---------------------------------------------------------
    def encode_targets(self, y, n_samples, fit=False):
        """Targets for the loss, and class indices (or None): labels are mapped through
        ``classes_``, which ``fit=True`` (re)computes from ``y`` (:mod:`deltaprop.tasks`)."""
        if fit and getattr(self, "declared_task", None) is None:
            self.task_ = infer_network_task(y, self.default_task, self.n_outputs)
        known = getattr(self, "classes_", None)
        T, labels, classes = encode_targets(y, n_samples, self.n_outputs, self.loss_function,
                                            self.dtype, self.task,
                                            classes=None if fit else known)
        if self.task == "classification" and (fit or known is None):
            self.classes_ = classes
        return T, labels

    def predict(self, X):
        """Class labels for classifiers; outputs for regression (1-D for one output)."""
        given, X = X, self.check_input(X)
        if self.task == "classification":  # the class of each chunk, while it is in cache
            index = np.empty(X.shape[0], dtype=np.intp)
            self.outputs(X, each=lambda lo, hi, y: predict_index(y, out=index[lo:hi]),
                         given=given)
            return self.classes[index]
        y = self._forward_checked(X, given)
        if self.task == "multilabel":
            return (y > 0.5).astype(np.int64)
        return y[:, 0] if self.n_outputs == 1 else y

    def predict_proba(self, X):
        """Class probabilities ``(N, n_classes)``, columns in the order of ``classes_``."""
        if self.task == "regression":
            raise TypeError("predict_proba needs a classifier (softmax output, or sigmoid with "
                            "binary_cross_entropy)")
        p = self.forward(X)
        if self.task == "classification" and self.n_outputs == 1:
            return np.hstack([1.0 - p, p])
        return p

    def evaluate(self, X, y):
        """Loss and metrics on ``(X, y)``: ``{"loss", "accuracy"}`` for classifiers (for
        multilabel targets the subset accuracy: every label of a sample right),
        ``{"loss", "mse", "r2"}`` for regression."""
        X = check_X(X, self.dtype, self.n_inputs)
        T, labels = self.encode_targets(y, X.shape[0], fit=False)
        return self.measure(X, T, labels)

    def measure(self, X, T, labels, chunk=8192):
        """:meth:`evaluate` on validated, encoded arrays (evaluation mode, in chunks)."""
        total, correct, sse = 0.0, 0, 0.0
        act = self.output_activation
        multilabel = self.task == "multilabel"
        for i in range(0, X.shape[0], chunk):
            Tc = T[i:i + chunk]
            z, y = self.forward_sweep(self.on_device(X[i:i + chunk]))
            z, y = to_host(z), to_host(y)
            total += float(self.loss_function.per_sample(z, y, Tc, act).sum(dtype=np.float64))
            if labels is not None:
                correct += int(np.count_nonzero(predict_index(y) == labels[i:i + chunk]))
            elif multilabel:  # subset accuracy: every label of the sample right
                correct += int(np.count_nonzero(((y > 0.5) == (Tc > 0.5)).all(axis=1)))
            sse += float(((y - Tc) ** 2).sum(dtype=np.float64))
        n = X.shape[0]
        loss = total / n if self.reduction == "mean" else total
        if self.l2:
            loss += 0.5 * self.l2 * sum(float(np.vdot(W, W)) for W, _ in self._decayed)
        result = {"loss": float(loss)}
        if self.task in ("classification", "multilabel"):
            result["accuracy"] = correct / n
        elif self.task == "regression":
            result["mse"] = sse / T.size
            result["r2"] = r2_score(sse, T)
        return result

    def score(self, X, y):
        """Accuracy for classifiers, R² for regression (scikit-learn's convention)."""
        result = self.evaluate(X, y)
        return result["accuracy"] if "accuracy" in result else result.get("r2", float("nan"))

    # -- model files ----------------------------------------------------------------------------
    def get_config(self):
        """The architecture as a JSON-able dict (what a model file's header holds)."""
        config = {"layers": [{"kind": layer.kind, **layer.get_config()} for layer in self.layers],
                  "loss": self.loss_function.name, "l2": self.l2, "reduction": self.reduction,
                  "dtype": str(self.dtype)}
        if self.task != self.default_task or getattr(self, "declared_task", None):
            config["task"] = self.task
        return config

    @classmethod
    def from_config(cls, config):
        """A network with the architecture of :meth:`get_config`, its weights zero (nothing
        is drawn: a model file fills them next)."""
        layers = [layer_from_config(spec, config["dtype"]) for spec in config["layers"]]
        net = cls.__new__(cls)
        Sequential.__init__(net, layers, loss=config["loss"], l2=config["l2"],
                            reduction=config["reduction"], task=config.get("task"))
        return net

    def save(self, path, include_optimizer=True):
        """Write the model to one ``.npz`` file (atomically); see :func:`deltaprop.load`."""
        io.save(self, path, include_optimizer=include_optimizer)

    # -- export -------------------------------------------------------------------------------
    def to_onnx(self, path=None, *, opset=None, inputs=None):
        """The network as an ONNX model (``onnx.ModelProto``), written to ``path`` when given.

        Evaluation mode, in the network's dtype: one float input ``X``, the
        standardisation that ``deltaprop train`` recorded, every layer (each writes its own
        nodes), and the outputs that skl2onnx gives the same model: ``label`` and
        ``probabilities`` for a classifier, ``variable`` (in the targets' units) for a
        regressor. ``inputs`` replaces the input stage. Needs the ``onnx`` extra; see
        :func:`deltaprop.export.onnx.to_onnx`.
        """
        from .export.onnx import DEFAULT_OPSET, feature_inputs, to_onnx

        return to_onnx(self, path, opset=DEFAULT_OPSET if opset is None else opset,
                       inputs=feature_inputs if inputs is None else inputs)

    def to_torch(self):
        """A ``torch.nn.Sequential`` with the same layers, weights and running statistics,
        in evaluation mode (``nn.Linear`` keeps ``W.T``); :func:`deltaprop.from_torch` takes
        it back. Each layer gives its own modules (:meth:`Layer.to_torch
        <deltaprop.layers.Layer.to_torch>`)."""
        try:
            from torch import nn
        except ImportError:
            raise ImportError("to_torch needs PyTorch: pip install torch") from None
        return nn.Sequential(*[m for layer in self.layers for m in layer.to_torch()]).eval()

    # -- copies -------------------------------------------------------------------------------
    def copy(self):
        """An independent deep copy (weights included, work buffers not); the training
        state and history are shared with the original, as before a new ``fit``."""
        memo = {id(v): v for k, v in self.__dict__.items() if k in ("train_state_", "history_")}
        return _copy.deepcopy(self, memo)

    def astype(self, dtype):
        """A copy of the network with every array in ``dtype``."""
        dtype = check_dtype(dtype)
        new = self.copy()
        for layer in new.layers:
            layer.cast(dtype)
        new._build_store()
        return new

    def summary(self, print_fn=print):
        """Print a table of the layers (Keras' ``summary()``): shapes, activation, parameters."""
        rows = [("Layer", "Input", "Output", "Activation", "Params")]
        counts, width = {}, None
        for layer in self.layers:
            counts[layer.kind] = counts.get(layer.kind, 0) + 1
            n_in = layer.n_in if layer.n_in is not None else width
            width = layer.n_out if layer.n_out is not None else n_in
            activation, n = layer.summary_row()
            rows.append((f"{layer.kind}_{counts[layer.kind]}", f"(None, {n_in})",
                         f"(None, {width})", activation, f"{n:,}"))
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        line = "  ".join("{:<%d}" % w for w in widths[:-1]) + "  {:>%d}" % widths[-1]
        rule = "-" * (sum(widths) + 8)
        out = [f"{type(self).__name__}: loss={self.loss_function.name}, l2={self.l2:g}, "
               f"reduction={self.reduction}, dtype={self.dtype}", rule, line.format(*rows[0]),
               rule.replace("-", "=")]
        out += [line.format(*r) for r in rows[1:]]
        out += [rule, f"Total params: {self.n_params():,}"]
        text = "\n".join(out)
        if print_fn is not None:
            print_fn(text)
        return text

    def _repr_html_(self):
        """Jupyter shows a network as its summary table."""
        import html

        return f"<pre>{html.escape(self.summary(print_fn=None))}</pre>"

    def __repr__(self):
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"{type(self).__name__}([{inner}], loss={self.loss_function.name!r})"


io.register_model(Sequential)
