"""Dense layers, the Sequential network and the MLP.

Convention (seeds 001 and 004): a layer maps a batch whose rows are samples,

    z = x @ W + b,   a = f(z),     W: (n_in, n_out),  b: (n_out,)

which is seed 001's ``x^(k) = sigma(W^T x^(k-1) + b)`` applied to every row. Seed 000
writes ``alpha = W h + b`` and seed 003 ``z = w a + b`` for one column vector: their
``W`` is our ``W.T``. ``docs/notation.md`` has the full table.

The backward pass is seed 000's algorithm in batch form, one sweep from the loss to
the input (:meth:`Dense.backward` holds steps ② to ⑤).
"""

from __future__ import annotations

import copy as _copy

import numpy as np

from ._validation import (check_dtype, check_layer_sizes, check_sample_weight,
                          check_targets, check_X)
from .activations import Activation, get_activation
from .losses import get_loss

__all__ = ["Dense", "Sequential", "MLP"]

_MAX_BUFFER_SIZES = 3  # batch sizes whose work arrays a layer keeps (full, last, eval)


class Dense:
    """A fully connected layer ``a = f(x @ W + b)``.

    Parameters
    ----------
    n_in, n_out : int
        Number of inputs and of units.
    activation : str or Activation
        The activation ``f``.
    dtype : {"float32", "float64"}
    rng : numpy.random.Generator, optional
        Source for the initial weights: Glorot-uniform for sigmoid/tanh/identity/softmax
        (limit ``sqrt(6/(n_in+n_out))``), He-normal for the ReLU family and GELU
        (std ``sqrt(2/n_in)``). Biases start at zero.

    Attributes
    ----------
    W, b : ndarray
        Weights ``(n_in, n_out)`` and biases ``(n_out,)``. Assigning an array of the
        right shape copies it into the layer. In a :class:`Sequential` they are views
        into the network's one flat parameter array.
    grad_W, grad_b : ndarray
        ``dJ/dW`` and ``dJ/db`` from the last backward step (views into the network's
        flat gradient array).
    x, z, a, delta : ndarray or None
        From the last training forward/backward: the input ``h^(k-1)``, the
        pre-activation ``alpha^(k)``, the activation ``h^(k)``, and the error vector
        ``delta = dJ/dz`` (one row per sample).
    record : bool
        When True, ``backward`` also keeps ``grad_output`` (``dJ/da`` as received, None
        when it received the delta) and ``fprime`` (``f'(z)``, None for softmax).
    """

    record = False  # class defaults: layers pickled before the hook have them too
    grad_output = fprime = None

    def __init__(self, n_in, n_out, activation="identity", dtype="float32", rng=None):
        self.activation: Activation = get_activation(activation)
        self.dtype = check_dtype(dtype)
        rng = np.random.default_rng(rng)
        if self.activation.init == "he":
            W = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))
        else:
            limit = np.sqrt(6.0 / (n_in + n_out))
            W = rng.uniform(-limit, limit, size=(n_in, n_out))
        self._W = W.astype(self.dtype)
        self._b = np.zeros(n_out, dtype=self.dtype)
        self.grad_W = np.zeros_like(self._W)
        self.grad_b = np.zeros_like(self._b)
        self.x = self.z = self.a = self.delta = None
        self._buffers: dict[int, tuple] = {}

    # -- parameters --------------------------------------------------------------
    @property
    def n_in(self):
        return self._W.shape[0]

    @property
    def n_out(self):
        return self._W.shape[1]

    @property
    def W(self):
        return self._W

    @W.setter
    def W(self, value):
        self._set("W", self._W, value)

    @property
    def b(self):
        return self._b

    @b.setter
    def b(self, value):
        self._set("b", self._b, value)

    def _set(self, name, target, value):
        arr = np.asarray(value)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
        if arr.shape != target.shape:
            raise ValueError(f"{name} must have shape {target.shape}, got {arr.shape}")
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} contains NaN or inf")
        target[...] = arr  # in place: optimizers and views keep pointing at the weights

    # -- forward -----------------------------------------------------------------
    def _work_arrays(self, n):
        """Per-batch-size buffers for z, a and the gradient sent to the layer below."""
        bufs = self._buffers.get(n)
        if bufs is None:
            if len(self._buffers) >= _MAX_BUFFER_SIZES:
                self._buffers.pop(next(iter(self._buffers)))
            z = np.empty((n, self.n_out), dtype=self.dtype)
            a = z if self.activation.name == "identity" else np.empty_like(z)
            g_in = np.empty((n, self.n_in), dtype=self.dtype)
            bufs = self._buffers[n] = (z, a, g_in)
        return bufs

    def forward(self, x, keep=False):
        """``z = x @ W + b``, ``a = f(z)``; with ``keep`` the layer remembers x, z, a
        for the backward step and writes into its reused buffers."""
        if not keep:
            return self.activation.forward(self.pre_activation(x))
        z, a, _ = self._work_arrays(len(x))
        np.matmul(x, self._W, out=z)
        z += self._b
        a = self.activation.forward(z, out=a)
        self.x, self.z, self.a = x, z, a
        return a

    def pre_activation(self, x):
        """``z = x @ W + b`` in a new array."""
        z = x @ self._W
        z += self._b
        return z

    # -- backward ----------------------------------------------------------------
    def backward(self, g, *, is_delta=False, need_input_grad=True):
        """Seed 000's steps ② to ⑤ for a batch (rows are samples).

        ``g`` is ``dJ/da`` for this layer (overwritten in place), or already the error
        vector ``dJ/dz`` when ``is_delta`` (the fused output layer). Returns ``dJ/dx``,
        the ``g`` of the layer below, or None when ``need_input_grad`` is False.
        """
        if self.record:  # for explain: dJ/da before ② overwrites it, and f'(z)
            self.grad_output = None if is_delta else g.copy()
            self.fprime = (self.activation.derivative(self.z, self.a)
                           if self.activation.elementwise else None)
        delta = g if is_delta else self.activation.backward(self.z, self.a, g, out=g)  # ② g ⊙ f'(α)
        np.sum(delta, axis=0, out=self.grad_b)                # ③ ∇b J = g
        np.matmul(self.x.T, delta, out=self.grad_W)           # ④ ∇W J = h gᵀ (as W: n_in × n_out)
        self.delta = delta
        if not need_input_grad:
            return None
        return np.matmul(delta, self._W.T, out=self._work_arrays(len(delta))[2])  # ⑤ g ← W g

    def n_params(self):
        return self._W.size + self._b.size

    def __getstate__(self):
        # The work buffers are scratch space: a pickle or deep copy starts without them.
        return {**self.__dict__, "_buffers": {}}

    def __repr__(self):
        return f"Dense({self.n_in}, {self.n_out}, activation={self.activation.name!r})"


class Sequential:
    """A feed-forward network: layers in order, a loss, L2 regularisation.

    The objective for a batch of ``N`` samples is

    .. math:: J = \\frac{1}{N}\\sum_{n=1}^N \\ell(y_n, t_n) + \\frac{\\lambda}{2}\\sum_k \\lVert W_k\\rVert_F^2

    with ``reduction="mean"`` (seed 001's :math:`\\mathcal L_\\mathcal B`); with
    ``reduction="sum"`` the :math:`1/N` is dropped (seed 004's :math:`\\Sigma_{TSE}`).
    Biases are not penalised, and ``λ`` is never rescaled by the batch size.

    Parameters
    ----------
    layers : list of Dense
    loss : str or Loss
    l2 : float
        ``λ`` in the objective above (seed 002's L2 term).
    reduction : {"mean", "sum"}
    """

    def __init__(self, layers, loss="mse", l2=0.0, reduction="mean"):
        self.layers = list(layers)
        if not self.layers:
            raise ValueError("a network needs at least one layer")
        for i, (lower, upper) in enumerate(zip(self.layers, self.layers[1:])):
            if lower.n_out != upper.n_in:
                raise ValueError(
                    f"layer {i} has {lower.n_out} outputs but layer {i + 1} expects {upper.n_in} inputs"
                )
            if lower.dtype != upper.dtype:
                raise ValueError(f"layers {i} and {i + 1} have different dtypes")
        self.loss_function = get_loss(loss)
        self.loss_function.check_output(self.layers[-1].activation)
        for layer in self.layers[:-1]:
            if not layer.activation.elementwise:
                raise ValueError(f"{layer.activation.name!r} is only supported on the output layer")
        l2 = float(l2)
        if not np.isfinite(l2) or l2 < 0:
            raise ValueError(f"l2 must be a non-negative number, got {l2}")
        self.l2 = l2
        if reduction not in ("mean", "sum"):
            raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
        self.reduction = reduction
        self._pack()

    def __getstate__(self):
        return {**self.__dict__, "_delta_buffers": {}}

    def __setstate__(self, state):
        self.__dict__.update(state)
        if self.layers[0]._W.base is None:  # unpickled: each view became an array of its own
            self._pack()

    def _pack(self):
        """Move the parameters into one flat array ``[W1, b1, W2, b2, ...]`` and the
        gradients into another; the layers keep views of the right shapes.

        The order is that of :meth:`parameters`, so an optimizer sees consecutive pieces
        of one array and updates them all in one pass (:mod:`deltaprop.optimizers`).
        """
        for name in (("_W", "_b"), ("grad_W", "grad_b")):
            arrays = [getattr(layer, attr) for layer in self.layers for attr in name]
            flat = np.concatenate([a.ravel() for a in arrays])
            pos = 0
            for layer in self.layers:
                for attr in name:
                    shape = getattr(layer, attr).shape
                    size = int(np.prod(shape))
                    setattr(layer, attr, flat[pos:pos + size].reshape(shape))
                    pos += size
        self._delta_buffers = {}

    # -- shape and dtype ------------------------------------------------------------
    @property
    def n_inputs(self):
        return self.layers[0].n_in

    @property
    def n_outputs(self):
        return self.layers[-1].n_out

    @property
    def dtype(self):
        return self.layers[0].dtype

    @property
    def output_activation(self):
        return self.layers[-1].activation

    def n_params(self):
        return sum(layer.n_params() for layer in self.layers)

    # -- public maths -----------------------------------------------------------------
    def forward(self, X):
        """The network outputs ``y`` of shape ``(N, n_outputs)`` (after the output activation)."""
        a = check_X(X, self.dtype, self.n_inputs)
        for layer in self.layers:
            a = layer.forward(a)
        return a

    def loss(self, X, T, sample_weight=None):
        """The objective ``J`` (loss reduced over the batch, plus the L2 term) as a float."""
        X, T = self.check_inputs(X, T)
        w = check_sample_weight(sample_weight, len(X), self.dtype)
        z = X
        for layer in self.layers[:-1]:
            z = layer.forward(z)
        z = self.layers[-1].pre_activation(z)
        y = self.output_activation.forward(z)
        return self.objective(self._per_sample_loss(z, y, T), w)

    def gradients(self, X, T, sample_weight=None):
        """The objective and its gradient: ``(J, [(grad_W, grad_b), ...])``, one pair per layer.

        One forward sweep and one backward sweep (seed 000's steps ① to ⑤). The
        returned arrays are copies, the caller's to keep. With ``sample_weight`` the
        per-sample losses are weighted, and ``"mean"`` becomes ``Σ w ℓ / Σ w``.
        """
        X, T = self.check_inputs(X, T)
        w = check_sample_weight(sample_weight, len(X), self.dtype)
        J = self.backprop(X, T, w)
        return J, [(layer.grad_W.copy(), layer.grad_b.copy()) for layer in self.layers]

    def parameters(self):
        """``[(W1, grad_W1), (b1, grad_b1), ...]``: the pairs an optimizer updates in place."""
        pairs = []
        for layer in self.layers:
            pairs += [(layer.W, layer.grad_W), (layer.b, layer.grad_b)]
        return pairs

    # -- the algorithm ------------------------------------------------------------------
    def check_inputs(self, X, T):
        X = check_X(X, self.dtype, self.n_inputs)
        T = check_targets(T, len(X), self.n_outputs, self.loss_function, self.dtype)
        return X, T

    def _per_sample_loss(self, z, y, T):
        if self.loss_function.fuses_with(self.output_activation):
            return self.loss_function.fused_value(z, T)
        return self.loss_function.value(y, T)

    def objective(self, per_sample, w=None):
        if w is None:
            J, count = float(per_sample.sum(dtype=np.float64)), len(per_sample)
        else:
            J, count = float(np.dot(per_sample, w)), float(w.sum(dtype=np.float64))
        if self.reduction == "mean":
            # A batch whose weights are all zero carries no data: its data term is 0.
            J = J / count if count > 0 else 0.0
        if self.l2:
            J += 0.5 * self.l2 * sum(float(np.vdot(layer.W, layer.W)) for layer in self.layers)
        return J

    def _output_delta(self, T, w=None):
        """Step ① (and ② for the output layer): ``dJ/dz`` at the output, and the loss."""
        out = self.layers[-1]
        loss, act = self.loss_function, out.activation
        if loss.fuses_with(act):
            per_sample = loss.fused_value(out.z, T)
            # σ' cancelled analytically: y − t
            delta = loss.fused_delta(out.a, T, out=self._delta_buffer(len(T)))
        else:
            per_sample = loss.value(out.a, T)
            delta = act.backward(out.z, out.a, loss.gradient(out.a, T))  # ① then ②
        if w is not None:
            delta *= w[:, None]
        if self.reduction == "mean":
            count = len(T) if w is None else float(w.sum(dtype=np.float64))
            delta *= 1.0 / count if count > 0 else 0.0
        return delta, per_sample

    def _delta_buffer(self, n):
        """A reused ``(n, n_outputs)`` array for the output delta (a few batch sizes)."""
        buf = self._delta_buffers.get(n)
        if buf is None:
            if len(self._delta_buffers) >= _MAX_BUFFER_SIZES:
                self._delta_buffers.pop(next(iter(self._delta_buffers)))
            buf = self._delta_buffers[n] = np.empty((n, self.n_outputs), dtype=self.dtype)
        return buf

    def backprop(self, X, T, w=None):
        """Forward, then backward, on validated arrays; gradients land in the layers."""
        a = X
        for layer in self.layers:
            a = layer.forward(a, keep=True)
        g, per_sample = self._output_delta(T, w)
        is_delta = True
        for k in range(len(self.layers) - 1, -1, -1):
            g = self.layers[k].backward(g, is_delta=is_delta, need_input_grad=k > 0)
            is_delta = False
        if self.l2:
            for layer in self.layers:
                layer.grad_W += self.l2 * layer.W  # ∇ of (λ/2)‖W‖²
        return self.objective(per_sample, w)

    # -- training and prediction ----------------------------------------------------------
    def fit(self, X, y, *, optimizer="adam", epochs=10, batch_size=32, shuffle=True,
            validation_data=None, validation_split=0.0, callbacks=(), verbose=1, seed=None,
            schedule=None, resume=False, sample_weight=None, rollback=True):
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
            ``"adam"``, ``"adamw"`` or an instance (its state then lives on).
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

        Raises
        ------
        TrainingDiverged
            When the loss becomes NaN or infinite; the weights and the optimizer go back
            to their state at the start of that epoch (with ``rollback``), and the
            message names the epoch and the batch.
        """
        from .training import fit

        return fit(self, X, y, optimizer=optimizer, epochs=epochs, batch_size=batch_size,
                   shuffle=shuffle, validation_data=validation_data,
                   validation_split=validation_split, callbacks=callbacks, verbose=verbose,
                   seed=seed, schedule=schedule, resume=resume, sample_weight=sample_weight,
                   rollback=rollback)

    @property
    def task(self):
        """``"classification"``, ``"multilabel"`` or ``"regression"``, from the output and loss."""
        if self.output_activation.name == "softmax":
            return "classification"
        if self.loss_function.name == "binary_cross_entropy":
            return "classification" if self.n_outputs == 1 else "multilabel"
        return "regression"

    @property
    def metric_name(self):
        """The metric logged by ``fit``: ``"accuracy"``, ``"r2"``, or None (multilabel)."""
        return {"classification": "accuracy", "regression": "r2"}.get(self.task)

    def encode_targets(self, y, n_samples, fit=False):
        """Targets for the loss, and class indices (or None): labels are mapped through
        ``classes_``, which ``fit=True`` (re)computes from ``y``."""
        if self.task != "classification":
            return check_targets(y, n_samples, self.n_outputs, self.loss_function, self.dtype), None
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == self.n_outputs and self.n_outputs > 1:
            T = check_targets(y, n_samples, self.n_outputs, self.loss_function, self.dtype)
            if fit or getattr(self, "classes_", None) is None:
                self.classes_ = np.arange(self.n_outputs)
            return T, T.argmax(axis=1)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D class labels or one-hot rows with {self.n_outputs} "
                             f"columns, got shape {y.shape}")
        if len(y) != n_samples:
            raise ValueError(f"y has {len(y)} labels but X has {n_samples} samples")
        n_classes = max(self.n_outputs, 2)
        if fit or getattr(self, "classes_", None) is None:
            self.classes_ = _classes_for(y, n_classes)
        labels = _label_indices(y, self.classes_)
        if self.n_outputs == 1:
            return labels[:, None].astype(self.dtype), labels
        T = np.zeros((n_samples, self.n_outputs), dtype=self.dtype)
        T[np.arange(n_samples), labels] = 1.0
        return T, labels

    def _forward_chunks(self, X, chunk=8192):
        X = check_X(X, self.dtype, self.n_inputs)
        if len(X) <= chunk:
            return self.forward(X)
        return np.concatenate([self.forward(X[i:i + chunk]) for i in range(0, len(X), chunk)])

    def predict(self, X):
        """Class labels for classifiers; outputs for regression (1-D for one output)."""
        y = self._forward_chunks(X)
        if self.task == "classification":
            from .training import _predict_index

            return self.classes[_predict_index(y)]
        if self.task == "multilabel":
            return (y > 0.5).astype(np.int64)
        return y[:, 0] if self.n_outputs == 1 else y

    def predict_proba(self, X):
        """Class probabilities ``(N, n_classes)``, columns in the order of ``classes_``."""
        if self.task == "regression":
            raise TypeError("predict_proba needs a classifier (softmax output, or sigmoid with "
                            "binary_cross_entropy)")
        p = self._forward_chunks(X)
        if self.task == "classification" and self.n_outputs == 1:
            return np.hstack([1.0 - p, p])
        return p

    def evaluate(self, X, y):
        """Loss and metrics on ``(X, y)``: ``{"loss", "accuracy"}`` for classifiers,
        ``{"loss", "mse", "r2"}`` for regression."""
        X = check_X(X, self.dtype, self.n_inputs)
        T, labels = self.encode_targets(y, len(X), fit=False)
        return self.measure(X, T, labels)

    def measure(self, X, T, labels, chunk=8192):
        total, correct, sse = 0.0, 0, 0.0
        for i in range(0, len(X), chunk):
            Xc, Tc = X[i:i + chunk], T[i:i + chunk]
            a = Xc
            for layer in self.layers[:-1]:
                a = layer.forward(a)
            z = self.layers[-1].pre_activation(a)
            y = self.output_activation.forward(z)
            total += float(self._per_sample_loss(z, y, Tc).sum(dtype=np.float64))
            if labels is not None:
                from .training import _predict_index

                correct += int(np.count_nonzero(_predict_index(y) == labels[i:i + chunk]))
            sse += float(((y - Tc) ** 2).sum(dtype=np.float64))
        n = len(X)
        loss = total / n if self.reduction == "mean" else total
        if self.l2:
            loss += 0.5 * self.l2 * sum(float(np.vdot(layer.W, layer.W)) for layer in self.layers)
        result = {"loss": loss}
        if self.task == "classification":
            result["accuracy"] = correct / n
        elif self.task == "regression":
            sst = float(((T - T.mean(axis=0)) ** 2).sum(dtype=np.float64))
            result["mse"] = sse / T.size
            result["r2"] = 1.0 - sse / sst if sst > 0 else float("nan")
        return result

    def score(self, X, y):
        """Accuracy for classifiers, R² for regression (scikit-learn's convention)."""
        result = self.evaluate(X, y)
        return result["accuracy"] if "accuracy" in result else result.get("r2", float("nan"))

    @property
    def classes(self):
        """The class labels (``classes_`` after ``fit``; ``0..n-1`` before)."""
        classes = getattr(self, "classes_", None)
        return np.arange(max(self.n_outputs, 2)) if classes is None else classes

    def save(self, path, include_optimizer=True):
        """Write the model to one ``.npz`` file (atomically); see :func:`deltaprop.load`."""
        from .io import save

        save(self, path, include_optimizer=include_optimizer)

    # -- copies ---------------------------------------------------------------------------
    def copy(self):
        """An independent deep copy (weights included, work buffers not)."""
        new = _copy.copy(self)
        new.layers = []
        for layer in self.layers:
            twin = _copy.copy(layer)
            twin._W, twin._b = layer.W.copy(), layer.b.copy()
            twin.grad_W, twin.grad_b = layer.grad_W.copy(), layer.grad_b.copy()
            twin.x = twin.z = twin.a = twin.delta = None
            twin._buffers = {}
            new.layers.append(twin)
        new._pack()
        return new

    def astype(self, dtype):
        """A copy of the network with every array in ``dtype``."""
        dtype = check_dtype(dtype)
        new = self.copy()
        for layer in new.layers:
            layer.dtype = dtype
            layer._W, layer._b = layer._W.astype(dtype), layer._b.astype(dtype)
            layer.grad_W, layer.grad_b = layer.grad_W.astype(dtype), layer.grad_b.astype(dtype)
        new._pack()
        return new

    def summary(self, print_fn=print):
        """Print a table of the layers (Keras' ``summary()``): shapes, activation, parameters."""
        rows = [("Layer", "Input", "Output", "Activation", "Params")]
        for k, layer in enumerate(self.layers, start=1):
            rows.append((f"dense_{k}", f"(None, {layer.n_in})", f"(None, {layer.n_out})",
                         layer.activation.name, f"{layer.n_params():,}"))
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

    def __repr__(self):
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"{type(self).__name__}([{inner}], loss={self.loss_function.name!r})"


def _classes_for(y, n_classes):
    """The label set: 0..n-1 when the labels are already indices, else the sorted labels."""
    if y.dtype.kind in "biuf":
        if not np.isfinite(y).all():
            raise ValueError("y contains NaN or inf")
        if np.all(np.mod(y, 1) == 0) and y.min() >= 0 and y.max() < n_classes:
            return np.arange(n_classes)
    classes = np.unique(y)
    if len(classes) != n_classes:
        raise ValueError(f"y has {len(classes)} distinct labels {_preview(classes)}, but the "
                         f"network has outputs for {n_classes} classes")
    return classes


def _label_indices(y, classes):
    idx = np.searchsorted(classes, y)
    idx = np.clip(idx, 0, len(classes) - 1)
    bad = classes[idx] != y
    if np.any(bad):
        i = int(np.argmax(bad))
        raise ValueError(f"label y[{i}] = {y[i]!s} is not one of the classes {_preview(classes)}")
    return idx.astype(np.int64)


def _preview(values, n=10):
    items = ", ".join(str(v) for v in values[:n])
    return f"[{items}{', ...' if len(values) > n else ''}]"


class MLP(Sequential):
    """A multilayer perceptron: Dense layers of the given sizes.

    Parameters
    ----------
    layer_sizes : sequence of int
        ``[n_inputs, hidden_1, ..., n_outputs]``.
    activation : str or Activation
        Hidden-layer activation.
    output : str or Activation
        Output activation (``"identity"`` for regression, ``"softmax"`` with
        ``"cross_entropy"``, ``"sigmoid"`` with ``"binary_cross_entropy"``).
    loss : str or Loss
    l2 : float
    reduction : {"mean", "sum"}
    dtype : {"float32", "float64"}
    seed : int or None
        Makes the initial weights reproducible.

    Examples
    --------
    >>> import numpy as np, deltaprop
    >>> net = deltaprop.MLP([2, 3, 1], activation="tanh", dtype="float64", seed=0)
    >>> X, T = np.array([[0.5, -1.0]]), np.array([[1.0]])
    >>> J, grads = net.gradients(X, T)
    >>> [g[0].shape for g in grads]
    [(2, 3), (3, 1)]
    """

    def __init__(
        self,
        layer_sizes,
        activation="relu",
        output="identity",
        loss="mse",
        l2=0.0,
        reduction="mean",
        dtype="float32",
        seed=None,
    ):
        sizes = check_layer_sizes(layer_sizes)
        dtype = check_dtype(dtype)
        hidden = get_activation(activation)
        out = get_activation(output)
        rng = np.random.default_rng(seed)
        layers = [
            Dense(n_in, n_out, hidden if k < len(sizes) - 2 else out, dtype, rng)
            for k, (n_in, n_out) in enumerate(zip(sizes, sizes[1:]))
        ]
        super().__init__(layers, loss=loss, l2=l2, reduction=reduction)
        self.layer_sizes = sizes
        self.seed = seed
