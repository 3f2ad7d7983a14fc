"""The training loop: mini-batches, callbacks (:mod:`deltaprop.callbacks`), progress, the
divergence guard.

The three rooms are kept apart: the network computes the loss and its gradient
(:meth:`Sequential.backprop`), the optimizer updates the network's parameter store and
owns its state (:mod:`deltaprop.optimizers`), and this module walks the batches and
calls the callbacks. What the targets are and how they are scored is
:mod:`deltaprop.tasks`'.

Each epoch's order of the samples is drawn from ``default_rng([seed, epoch])``, so
an interrupted run resumed from its last completed epoch replays exactly the same
batches as an uninterrupted one.
"""

from __future__ import annotations

import copy as _copy
import math
import sys
import time
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np

from . import kernels
from ._validation import check_int, check_sample_weight, check_X, issparse
from .callbacks import (Callback, EarlyStopping, GradientNorms, History, LambdaCallback,
                        ModelCheckpoint, record_callbacks, resume_callbacks)
from .constraints import (Boolean, Constraint, Interval, Options, SequenceOf,
                          validate_params)
from .devices import to_host
from .optimizers import get_optimizer
from .schedules import get_schedule
from .tasks import RunningMetric

#: Whether :func:`fit` takes the optimizer's step layer by layer inside the backward sweep
#: where it can (:meth:`~deltaprop.optimizers.Optimizer.layer_steps`; the same bits as the
#: step after the sweep). Off: on the 2-core host it was measured on it gained nothing
#: (784-256-128-10: -4 % to +2 %; 784-1024-1024-10: 5-7 % slower, its parallel Adam then
#: running three times a step between products); ``benchmarks/profile_step.py
#: --layer-steps`` measures it elsewhere.
LAYER_STEPS = False

__all__ = [
    "History",
    "Callback",
    "EarlyStopping",
    "ModelCheckpoint",
    "LambdaCallback",
    "GradientNorms",
    "TrainingDiverged",
    "fit",
]


class TrainingDiverged(FloatingPointError, ValueError):
    """The loss became NaN or infinite; the weights were restored (see the message).

    A ``ValueError`` too, so that code written for scikit-learn's estimators, which raise
    ``ValueError`` for non-finite weights, catches it."""

    def __init__(self, message, history):
        super().__init__(message)
        self.history = history


# -- progress ------------------------------------------------------------------------------


def _format_logs(logs):
    parts = []
    for key, value in logs.items():
        if key in ("time", "lr"):
            continue
        parts.append(f"{key}: {value:.4f}")
    return " - ".join(parts)


class _Progress:
    """Keras-like output: a tqdm bar over the batches (verbose=1, when tqdm is
    installed), then one line per epoch; verbose=2 prints only the lines."""

    def __init__(self, verbose, epochs, n_batches):
        self.verbose, self.epochs, self.n_batches = verbose, epochs, n_batches
        self.bar = None
        self._tqdm = None  # imported with the first bar shown (None: not yet, False: absent)

    def _bar_class(self):
        """tqdm, when a bar would show: verbose=1 and standard output a terminal (tqdm's own
        ``disable=None`` rule, checked here, so that a run whose output goes to a file or a
        pipe neither imports tqdm nor builds a hidden bar each epoch)."""
        isatty = getattr(sys.stdout, "isatty", None)
        if self.verbose != 1 or self._tqdm is False or (isatty is not None and not isatty()):
            return None
        if self._tqdm is None:
            try:
                from tqdm.auto import tqdm

                self._tqdm = tqdm
            except ImportError:
                self._tqdm = False
                return None
        return self._tqdm

    def epoch_begin(self, epoch):
        tqdm = self._bar_class()
        if tqdm is not None:
            self.bar = tqdm(total=self.n_batches, desc=f"Epoch {epoch + 1}/{self.epochs}",
                            leave=False, file=sys.stdout, dynamic_ncols=True,
                            disable=None)  # no bar when stdout is not a terminal

    def batch_end(self, loss):
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix_str(f"loss: {loss:.4f}", refresh=False)

    def epoch_end(self, epoch, logs):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if self.verbose:
            t = logs["time"]
            took = f"{t:.1f}s" if t >= 1 else f"{1000 * t:.0f}ms"
            print(f"Epoch {epoch + 1}/{self.epochs} - {took} - "
                  f"{_format_logs(logs)} - lr: {logs['lr']:.3g}", flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


# -- the loop ------------------------------------------------------------------------------


class _Trainer:
    """State of one fit call, handed to the callbacks as ``callback.trainer``."""

    def __init__(self, net, history):
        self.net, self.history = net, history
        self.stop_training = False

    def snapshot_weights(self, into=None):
        """A copy of the weights (and of the layers' running statistics and random
        generators: :meth:`Sequential.snapshot`); ``into`` (an earlier snapshot) is
        overwritten and returned."""
        return self.net.snapshot(into)

    def restore_weights(self, weights):
        self.net.restore(weights)


def _validation_split(X, T, labels, weights, fraction, seed):
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"validation_split must be in [0, 1), got {fraction}")
    n_val = int(round(X.shape[0] * fraction))
    if n_val == 0 or n_val == X.shape[0]:
        left = "validation" if n_val == 0 else "training"
        raise ValueError(f"validation_split={fraction} leaves no {left} samples out of "
                         f"{X.shape[0]}")
    perm = np.random.default_rng([seed, 1 << 30]).permutation(X.shape[0])
    tr, va = perm[n_val:], perm[:n_val]
    lab = (None, None) if labels is None else (labels[tr], labels[va])
    return (X[tr], T[tr], lab[0]), (X[va], T[va], lab[1]), None if weights is None else weights[tr]


def l2_overflow(net):
    """Why the L2 term cannot be computed at the network's weights, or None: ``λ/2 Σ‖W‖²``
    overflows float64, or its gradient ``λ W`` the network's dtype."""
    if not net.l2:
        return None
    store = net.store
    decayed = [store.view(store.data, s) for s in store.slots if s.decay]
    if not decayed:
        return None
    largest = max(float(abs(W).max()) for W in decayed)
    with np.errstate(over="ignore"):
        term = 0.5 * net.l2 * sum(float(np.vdot(W, W)) for W in decayed)
    limit = float(np.finfo(net.dtype).max)
    if math.isfinite(term) and net.l2 * largest <= limit:
        return None
    return (f"l2 = {net.l2:g} is too large: the L2 term (λ/2)Σ‖W‖² and its gradient λW "
            f"overflow {net.dtype} (largest {limit:.3g}) with weights of up to {largest:.3g}; "
            f"choose a much smaller l2 (alpha for the estimators; usual values are 1e-5 to "
            f"1e-1)")


def _diverged(J, epoch, b, opt, trainer, safe, history):
    """Raise TrainingDiverged for batch ``b`` of ``epoch``, after the rollback to ``safe``
    (the start of the epoch) when there is one; the advice names the L2 term when it is
    the one that overflows, else the learning rate."""
    if safe is not None:
        trainer.restore_weights(safe[0])
        opt.load_state_dict(safe[1])
    net = trainer.net
    advice = l2_overflow(net) or "try a smaller learning rate"
    if advice.startswith("try") and net.l2 * opt.lr > 2:  # |1 - lr·λ| > 1: the decay overshoots
        advice = (f"the L2 term alone makes gradient steps diverge when lr·λ > 2 (here "
                  f"{opt.lr:g} × {net.l2:g}): choose a smaller l2 or learning rate")
    if safe is None:
        raise TrainingDiverged(
            f"training diverged: the loss became {J} at epoch {epoch + 1}, "
            f"batch {b + 1} (learning rate {opt.lr:g}). With rollback=False "
            f"the weights were left as they are, before this batch's update; "
            f"{advice}.", history)
    raise TrainingDiverged(
        f"training diverged: the loss became {J} at epoch {epoch + 1}, batch "
        f"{b + 1} (learning rate {opt.lr:g}). The weights and the optimizer "
        f"were restored to their state at the start of epoch {epoch + 1}; "
        f"{advice}.", history)


class _Pair(Constraint):
    """A pair ``(X, y)``: a tuple or list of two items."""

    def is_satisfied_by(self, value):
        return isinstance(value, (tuple, list)) and len(value) == 2

    def alternatives(self):
        return ["a pair (X_val, y_val)"]


#: What each parameter of :func:`fit` accepts (deltaprop.constraints).
FIT_CONSTRAINTS = {
    "epochs": [Interval(Integral, 1, None, closed="left")],
    "batch_size": [Interval(Integral, 1, None, closed="left"), None],
    "shuffle": [Boolean()],
    "validation_data": [None, _Pair()],
    "validation_split": [Interval(Real, 0, 1, closed="left")],
    "callbacks": [SequenceOf(Callback)],
    "verbose": [Options([0, 1, 2]), Boolean()],
    "seed": [None, Interval(Integral, 0, None, closed="left")],
    "resume": [Boolean()],
    "rollback": [Boolean()],
}


def _start(net, optimizer, seed, schedule, resume, epochs):
    """``(optimizer, seed, schedule, first epoch, saved callback states)``: new ones, or
    those of the training state that ``resume`` continues."""
    state = getattr(net, "train_state_", None)
    saved_callbacks = (state or {}).get("callbacks") if resume else None
    if resume:
        if state is None:
            raise ValueError("resume=True, but this network has no saved training state "
                             "(train it first, or load a file saved with include_optimizer=True)")
        opt, seed, start = state["optimizer"], state["seed"], state["epoch"]
        schedule = state["schedule"] if schedule is None else get_schedule(schedule)
    else:
        opt = get_optimizer(optimizer)
        seed = int(np.random.SeedSequence().entropy % (1 << 63)) if seed is None else int(seed)
        schedule = None if schedule is None else get_schedule(schedule)
        start = 0
    if start >= epochs:
        raise ValueError(f"the network has already been trained for {start} epochs; "
                         f"ask for more than that with epochs=")
    return opt, seed, schedule, start, saved_callbacks


def _interrupted(net, opt, trainer, safe, epoch, say):
    """Ctrl-C during ``epoch``: roll the unfinished epoch back (also when it was interrupted
    in a callback at its end) so that the network holds a consistent state that
    ``fit(..., resume=True)`` continues exactly: weights, optimizer, schedule and history of
    epoch - 1. ``say``: 0 silent, 1 without rollback, 2 with it."""
    history = trainer.history
    if safe is not None:
        trainer.restore_weights(safe[0])
        opt.load_state_dict(safe[1])
        net.train_state_["schedule"] = safe[2]
        history.drop_epoch(epoch)
    net.train_state_["epoch"] = epoch
    history.interrupted = True
    if say == 2:  # how to continue is the caller's to say (History's repr)
        print(f"\ninterrupted during epoch {epoch + 1}: the network holds its weights after "
              f"epoch {epoch}", flush=True)
    elif say:
        print(f"\ninterrupted during epoch {epoch + 1}; with rollback=False the network "
              f"keeps the weights it had when interrupted", flush=True)


@dataclass
class _Loop:
    """What one run's batches are walked with: the network, the optimizer's step (after the
    sweep, or ``steps`` layer by layer inside it), and those who watch each step."""

    net: object
    opt: object
    steps: object  # Optimizer.layer_steps, or None: one opt.step after each sweep
    score: RunningMetric
    progress: _Progress
    callbacks: list
    trainer: _Trainer
    distributed: object = None


@dataclass
class _Batches:
    """The training set staged for a run's batches, their reused buffers, and one epoch's
    walk over them (:meth:`epoch`).

    On a GPU the training set moves there whole when it fits; else each batch is gathered
    on the host (``Xh``, into page-locked memory) and copied. Targets, labels and weights
    always move. A sparse ``X`` (CSR) gives its rows by ``X[idx]``, with no dense buffer.
    With ``batch_J`` (lazy), each batch's loss stays on the device until the epoch ends."""

    X: object  # None when the batches are copied from the host's Xh
    T: object
    labels: object
    weights: object
    bs: int
    n_batches: int
    sparse: bool
    Xh: object = None
    Xh_buf: object = None
    Xd_buf: object = None
    Xb_buf: object = None
    Tb_buf: object = None
    batch_J: object = None

    @classmethod
    def stage(cls, net, X, T, labels, weights, bs, n_batches, lazy):
        """Stage the training set; ``lazy``: keep the batches' losses on the device (one
        transfer an epoch, not one wait a step), where nothing must see them at once."""
        device = net.device
        staged = cls(X, T, labels, weights, bs, n_batches, issparse(X))
        if not device.is_cpu:
            net.on_device(X if staged.sparse else None)  # the device's own error for sparse X
            if not device.fits(X.nbytes + T.nbytes):  # staged in page-locked host memory
                staged.Xh = X
                staged.Xh_buf = device.pinned_empty((bs,) + X.shape[1:], X.dtype)
                staged.Xd_buf = device.xp.empty((bs,) + X.shape[1:], dtype=X.dtype)
            staged.X = net.on_device(X) if staged.Xh is None else None
            staged.T, staged.labels, staged.weights = (net.on_device(a)
                                                       for a in (T, labels, weights))
        X, T = staged.X, staged.T
        if not (staged.sparse or X is None):
            staged.Xb_buf = np.empty_like(X, shape=(bs,) + X.shape[1:])
        if lazy:
            staged.batch_J = np.empty_like(T, shape=(n_batches,), dtype=np.float64)
        staged.Tb_buf = np.empty_like(T, shape=(bs,) + T.shape[1:])
        return staged

    def gathered(self):
        """The arrays whose rows a shuffled batch gathers (for the kernels to prepare)."""
        return (self.T,) if self.sparse or self.X is None else (self.X, self.T)

    def epoch(self, loop, epoch, order, order_h, safe):
        """One pass over the batches in ``order`` (None: in order; ``order_h`` its host
        copy): forward, backward and step each; returns the sum of the batches' losses,
        each times its size. ``safe``: the epoch's starting point for the divergence
        guard."""
        net, opt, steps, score = loop.net, loop.opt, loop.steps, loop.score
        progress = loop.progress
        callbacks, distributed, trainer = loop.callbacks, loop.distributed, loop.trainer
        history, params, device = trainer.history, net.store, net.device
        X, Xh, T, weights, sparse = self.X, self.Xh, self.T, self.weights, self.sparse
        Xh_buf, Xd_buf, Xb_buf, Tb_buf = self.Xh_buf, self.Xd_buf, self.Xb_buf, self.Tb_buf
        batch_J, lazy = self.batch_J, self.batch_J is not None
        bs, n_batches, n = self.bs, self.n_batches, T.shape[0]
        total = 0.0
        for b in range(n_batches):
            lo, hi = min(b * bs, n), min((b + 1) * bs, n)  # empty: a used-up shard
            if order is None:
                Xb, Tb = (X[lo:hi] if Xh is None else Xh[lo:hi]), T[lo:hi]
                idx = slice(lo, hi)
            else:
                idx = order[lo:hi]
                if Xh is not None:
                    Xb = kernels.take_rows(Xh, order_h[lo:hi], Xh_buf[: hi - lo])
                else:
                    Xb = X[idx] if sparse else kernels.take_rows(X, idx, Xb_buf[: hi - lo])
                Tb = kernels.take_rows(T, idx, Tb_buf[: hi - lo])
            if Xh is not None:
                Xb = device.upload(Xb, Xd_buf[: hi - lo])
            wb = None if weights is None else weights[idx]
            if lazy:  # the loss stays on the device: no wait for the GPU at each step
                batch_J[b] = net.backprop(Xb, Tb, wb, lazy=True, steps=steps)
                if steps is None:
                    opt.step(params)
                score.update(lo, hi, net.layers[-1].a, Tb)
                if progress.bar is not None:
                    progress.batch_end(float(batch_J[b]))
                continue
            J, size = (net.backprop(Xb, Tb, wb, steps=steps) if hi > lo else 0.0), hi - lo
            if distributed is not None:
                distributed.where(epoch, b)
                J, size = distributed.reduce_gradient(net, J, hi - lo, wb)
            if not math.isfinite(J):  # (no layer stepped: backprop saw J first)
                _diverged(J, epoch, b, opt, trainer, safe, history)
            if steps is None:
                opt.step(params)
            total += J * size
            if hi > lo:
                score.update(lo, hi, net.layers[-1].a, Tb)
            progress.batch_end(J)
            if callbacks:
                for cb in callbacks:
                    cb.on_batch_end(b, {"epoch": epoch, "batch": b, "loss": J,
                                        "size": size})
        if lazy:  # the batches' losses, checked and summed as the steps would have
            for b, J in enumerate(to_host(batch_J).tolist()):
                if not math.isfinite(J):
                    _diverged(J, epoch, b, opt, trainer, safe, history)
                total += J * (min((b + 1) * bs, n) - b * bs)
        return total

def fit(net, X, y, *, optimizer="adam", epochs=10, batch_size=32, shuffle=True,
        validation_data=None, validation_split=0.0, callbacks=(), verbose=1, seed=None,
        schedule=None, resume=False, sample_weight=None, rollback=True, distributed=None):
    """Train ``net`` by mini-batch gradient descent; see :meth:`Sequential.fit`.

    ``distributed`` (a :class:`deltaprop.distributed.Distributed`): data-parallel
    training, ``X`` being this process's shard."""
    validate_params(dict(epochs=epochs, batch_size=batch_size, shuffle=shuffle,
                         validation_data=validation_data, validation_split=validation_split,
                         callbacks=callbacks, verbose=verbose, seed=seed, resume=resume,
                         rollback=rollback), FIT_CONSTRAINTS, owner="fit")
    epochs = check_int("epochs", epochs)
    X = net.check_sparse(check_X(X, net.dtype, net.n_inputs))
    if distributed is not None and not resume:
        distributed.agree_classes(net, y)  # the classes of every process's labels
    T, labels = net.encode_targets(y, X.shape[0], fit=not resume and distributed is None)
    weights = check_sample_weight(sample_weight, X.shape[0], net.dtype)
    overflow = l2_overflow(net)  # named now, not as a divergence "of the learning rate"
    if overflow is not None:
        raise ValueError(overflow)

    opt, seed, schedule, start, saved_callbacks = _start(net, optimizer, seed, schedule, resume,
                                                         epochs)

    if validation_data is not None:
        Xv = check_X(validation_data[0], net.dtype, net.n_inputs, name="validation X")
        Tv, labels_v = net.encode_targets(validation_data[1], Xv.shape[0], fit=False)
        train = (X, T, labels)
    elif validation_split:
        train, (Xv, Tv, labels_v), weights = _validation_split(X, T, labels, weights,
                                                               validation_split, seed)
        X, T, labels = train
    else:
        Xv = Tv = labels_v = None
    device = net.device
    if not device.is_cpu:
        if distributed is not None:  # (Sequential.fit says so before its guard)
            raise ValueError(f"distributed training runs on the CPU, not on {device}")
        if getattr(opt, "full_batch", False):
            raise ValueError(f"the full-batch {opt.name!r} optimizer runs on the CPU (SciPy's "
                             f"L-BFGS-B): move the network there (net.to('cpu')) or choose a "
                             f"mini-batch optimizer (sgd, adam, ...) for the device {device}")
    if getattr(opt, "full_batch", False):
        if distributed is not None:
            raise ValueError("distributed training needs a mini-batch optimizer (sgd, adam, "
                             "...), not the full-batch L-BFGS")
        return _fit_full_batch(net, opt, (X, T, labels, weights), (Xv, Tv, labels_v),
                               start, epochs, list(callbacks), verbose, seed, schedule,
                               rollback, saved_callbacks)
    n = n_global = X.shape[0]
    bs = n if batch_size is None else min(check_int("batch_size", batch_size), n)
    n_batches = math.ceil(n / bs)
    smallest = n - (n_batches - 1) * bs
    if distributed is not None:  # the same number of steps on every process
        bs, n_batches, n_global = distributed.plan(net, T, Tv, batch_size)
        smallest = bs
        callbacks, verbose = distributed.callbacks(callbacks), distributed.verbose(verbose)
    if min(bs, smallest) < net.min_training_batch:
        raise ValueError(
            f"the network needs batches of at least {net.min_training_batch} samples in "
            f"training (batch normalisation), but {n} samples in batches of {bs} leave a "
            f"batch of {min(bs, smallest)}: choose another batch_size")

    history = History()
    trainer = _Trainer(net, history)
    callbacks = list(callbacks)
    for cb in callbacks:
        cb.trainer = trainer
    net.train_state_ = {"optimizer": opt, "seed": seed, "epoch": start, "schedule": schedule}
    metric = net.metric_name
    params = net.store
    progress = _Progress(verbose, epochs, n_batches)
    batches = _Batches.stage(net, X, T, labels, weights, bs, n_batches,
                             lazy=not device.is_cpu and rollback and not callbacks)
    score = RunningMetric(metric, batches.T, batches.labels)
    safe = safe_weights = None
    # The optimizer's step taken layer by layer inside the backward sweep, where it can be
    # (kernels on the CPU, an elementwise rule without clipping, one process): each layer's
    # parameters updated while they are in the cache; otherwise one step after the sweep.
    steps = (opt.layer_steps(params) if LAYER_STEPS and distributed is None and device.is_cpu
             else None)
    loop = _Loop(net, opt, steps, score, progress, callbacks, trainer, distributed)
    # The fused kernels this run calls, compiled (or loaded from Numba's cache) now: the
    # first run on a machine compiles for a few seconds, and says so, before any epoch.
    shuffled = shuffle and n_batches > 1
    kernels.prepare(net, opt, bs, batches.gathered() if shuffled else (),
                    say=(lambda text: print(text, flush=True)) if verbose else None)

    for cb in callbacks:
        cb.on_train_begin({})
    resume_callbacks(callbacks, saved_callbacks)  # EarlyStopping counts on after a resume
    epoch = start
    try:
        for epoch in range(start, epochs):
            if schedule is not None:
                opt.lr = schedule(epoch)
            # The epoch's starting point, for the divergence guard and Ctrl-C: the previous
            # copy goes first (None: nothing to roll back yet), the weights' buffers are reused.
            safe = None
            if rollback:
                safe_weights = trainer.snapshot_weights(into=safe_weights)
                # A schedule that learns from the epochs (ReduceOnPlateau) goes back too.
                safe = (safe_weights, opt.state_dict(),
                        _copy.deepcopy(schedule) if hasattr(schedule, "update") else schedule)
            key = [seed, epoch] if distributed is None else distributed.shuffle_key(seed, epoch)
            order = np.random.default_rng(key).permutation(n) if shuffle and n_batches > 1 else None
            order_h, order = order, net.on_device(order)  # the same order on every device
            for cb in callbacks:
                cb.on_epoch_begin(epoch, {})
            progress.epoch_begin(epoch)
            t0 = time.perf_counter()
            score.reset(order)
            total = batches.epoch(loop, epoch, order, order_h, safe)
            if distributed is not None:  # the means over every process's samples
                logs = distributed.epoch_logs(net, total, n_global, score, n,
                                              (Xv, Tv, labels_v))
            else:
                logs = _epoch_logs(net, total / n, metric and score.value(), metric,
                                   (Xv, Tv, labels_v))
            logs["lr"] = float(opt.lr)
            logs["time"] = time.perf_counter() - t0
            if schedule is not None and hasattr(schedule, "update"):
                schedule.update(logs.get("val_loss", logs["loss"]))
            history.append(epoch, logs)
            net.train_state_["epoch"] = epoch + 1
            progress.epoch_end(epoch, logs)
            for cb in callbacks:
                cb.on_epoch_end(epoch, logs)
            if distributed is not None:  # one process stopping stops them all
                trainer.stop_training = distributed.any(trainer.stop_training)
            record_callbacks(net, callbacks)
            if trainer.stop_training:
                break
    except KeyboardInterrupt:
        _interrupted(net, opt, trainer, safe, epoch, verbose and (1 + bool(rollback)))
    finally:
        progress.close()
    history = _end_training(net, callbacks, history)
    if distributed is not None:
        distributed.check_identical(net)
    return history


def _epoch_logs(net, loss, metric_value, metric, validation):
    """An epoch's ``{"loss", metric, "val_loss", "val_" + metric}`` (the validation ones
    when ``validation = (Xv, Tv, labels_v)`` has data)."""
    logs = {"loss": loss}
    if metric:
        logs[metric] = metric_value
    Xv, Tv, labels_v = validation
    if Xv is not None:
        val = net.measure(Xv, Tv, labels_v)
        logs["val_loss"] = val["loss"]
        if metric:
            logs["val_" + metric] = val[metric]
    return logs


def _end_training(net, callbacks, history):
    """The callbacks' on_train_end, and the history kept on the network."""
    for cb in callbacks:
        cb.on_train_end({})
    net.history_ = history
    return history


def _fit_full_batch(net, opt, train, validation, start, epochs, callbacks, verbose, seed,
                    schedule, rollback, saved_callbacks=None):
    """Train with a full-batch optimizer (:class:`deltaprop.optimizers.LBFGS`).

    The optimizer minimises ``J(theta)``: ``net.store.data[:] = theta``, then
    :meth:`Sequential.backprop` on the whole training set. Each of its iterations is one
    epoch of the history and of the callbacks (``on_batch_end`` once per evaluation of
    ``J``); ``stop_training`` ends the run after the iteration.
    """
    X, T, labels, weights = train
    Xv, Tv, labels_v = validation
    if X.shape[0] < net.min_training_batch:
        raise ValueError(f"the network needs at least {net.min_training_batch} samples in "
                         f"training (batch normalisation), got {X.shape[0]}")
    history = History()
    trainer = _Trainer(net, history)
    for cb in callbacks:
        cb.trainer = trainer
    net.train_state_ = {"optimizer": opt, "seed": seed, "epoch": start, "schedule": schedule}
    metric, params, n = net.metric_name, net.store, X.shape[0]
    progress = _Progress(2 if verbose else 0, epochs, 1)  # lines only: no batches to count
    score = RunningMetric(metric, T, labels)
    # The last evaluation: its parameters, loss and metric (scipy ends an iteration on the
    # point it last evaluated; if not, the callback evaluates the iterate again).
    last = {"theta": None, "J": None, "score": None, "evals": 0, "begun": False}
    safe = trainer.snapshot_weights() if rollback else None
    clock = [time.perf_counter()]
    epoch = [start]

    def objective(theta):
        if not last["begun"]:
            for cb in callbacks:
                cb.on_epoch_begin(epoch[0], {})
            last["begun"] = True
        params.data[:] = theta
        J = net.backprop(X, T, weights)
        if not math.isfinite(J):
            if safe is None:
                raise TrainingDiverged(
                    f"training diverged: the loss became {J} in L-BFGS iteration "
                    f"{epoch[0] + 1}. With rollback=False the weights were left at the point "
                    f"of that evaluation; try scaling the data or a larger alpha/l2.", history)
            trainer.restore_weights(safe)
            raise TrainingDiverged(
                f"training diverged: the loss became {J} in L-BFGS iteration {epoch[0] + 1}. "
                f"The weights were restored to those after iteration {epoch[0]}; try scaling "
                f"the data or a larger alpha/l2.", history)
        if metric:
            score.reset(None)
            score.update(0, n, net.layers[-1].a, T)
        last.update(theta=theta.copy(), J=J, score=score.value() if metric else None)
        for cb in callbacks:
            cb.on_batch_end(last["evals"], {"epoch": epoch[0], "batch": last["evals"],
                                            "loss": J, "size": n})
        last["evals"] += 1
        return J, params.grad.astype(np.float64)

    def iteration_end(result):
        if not np.array_equal(result.x, last["theta"]):
            objective(result.x)
        params.data[:] = result.x
        logs = _epoch_logs(net, float(last["J"]), last["score"], metric, (Xv, Tv, labels_v))
        logs["lr"] = float(opt.lr)
        now = time.perf_counter()
        logs["time"], clock[0] = now - clock[0], now
        history.append(epoch[0], logs)
        net.train_state_["epoch"] = epoch[0] + 1
        progress.epoch_end(epoch[0], logs)
        for cb in callbacks:
            cb.on_epoch_end(epoch[0], logs)
        record_callbacks(net, callbacks)
        if safe is not None:
            trainer.snapshot_weights(into=safe)
        epoch[0] += 1
        last.update(evals=0, begun=False)
        if trainer.stop_training:
            raise StopIteration

    for cb in callbacks:
        cb.on_train_begin({})
    resume_callbacks(callbacks, saved_callbacks)
    try:
        result = opt.minimize(objective, params.data, epochs - start, iteration_end)
        if not trainer.stop_training:
            params.data[:] = result.x  # the best point scipy found (already set when stopped)
    except KeyboardInterrupt:
        if safe is not None:
            trainer.restore_weights(safe)
        history.interrupted = True
        if verbose:
            print(f"\ninterrupted during L-BFGS iteration {epoch[0] + 1}: the network holds "
                  f"its weights after iteration {epoch[0]}", flush=True)
    finally:
        progress.close()
    return _end_training(net, callbacks, history)
