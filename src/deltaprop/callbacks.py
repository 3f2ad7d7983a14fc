"""What :func:`deltaprop.training.fit` reports and calls: the :class:`History` of a run,
and the callbacks (:class:`EarlyStopping`, :class:`ModelCheckpoint`,
:class:`GradientNorms`, :class:`LambdaCallback`, or a :class:`Callback` of your own), with
the states that let a resumed run count on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .devices import device_of
from .improvement import Improvement, mode_for

__all__ = ["History", "Callback", "EarlyStopping", "ModelCheckpoint", "LambdaCallback",
           "GradientNorms", "callback_states", "resume_callbacks", "record_callbacks"]


@dataclass
class History:
    """Per-epoch records of a :func:`fit` call (Keras' ``History.history`` layout).

    ``history["loss"]`` is the training objective averaged over the epoch's batches;
    ``"val_loss"``, the metric (``"accuracy"`` or ``"r2"``) and ``"val_<metric>"`` are
    present when they apply; ``"lr"`` is the learning rate and ``"time"`` the wall
    time of each epoch in seconds.
    """

    history: dict = field(default_factory=dict)
    epoch: list = field(default_factory=list)
    stopped_early: bool = False
    interrupted: bool = False

    def __getitem__(self, key):
        return self.history[key]

    def append(self, epoch, logs):
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def drop_epoch(self, epoch):
        """Forget the record of ``epoch`` if it is the last one (an epoch rolled back)."""
        if self.epoch and self.epoch[-1] == epoch:
            self.epoch.pop()
            for values in self.history.values():
                values.pop()

    def to_dict(self):
        return {"epoch": list(self.epoch), **{k: list(v) for k, v in self.history.items()}}

    def __repr__(self):
        last = {k: v[-1] for k, v in self.history.items() if v}
        stopped = ", interrupted: continue with fit(..., resume=True)" if self.interrupted else ""
        return f"History(epochs={len(self.epoch)}{stopped}, last={last})"

    def plot(self, ax=None, path=None, title=None):
        """The learning curves (:func:`deltaprop.plots.learning_curves`): returns the Figure."""
        from .plots import learning_curves

        return learning_curves(self, path, ax=ax, title=title)

    def _repr_png_(self):
        """Jupyter shows the learning curves (nothing without matplotlib or epochs)."""
        if not self.history.get("loss"):
            return None
        import io as _io

        buffer = _io.BytesIO()
        try:
            self.plot(path=buffer)
        except ImportError:
            return None
        return buffer.getvalue()


# -- callbacks ---------------------------------------------------------------------------


class Callback:
    """Hooks called by :func:`fit`. Set ``self.trainer.stop_training = True`` to stop.

    A callback that counts across epochs (:class:`EarlyStopping`) returns its counters from
    :meth:`state_dict`; the training state keeps them after each epoch (and model files
    saved with the optimizer store them), and ``fit(..., resume=True)`` hands them back
    to :meth:`load_state_dict` after ``on_train_begin``, so that a resumed run counts on.
    """

    trainer = None

    def state_dict(self):
        """None (no state), or a dict of JSON-able values, with an optional ``"arrays"``:
        a list of arrays of the network's dtype."""
        return None

    def load_state_dict(self, state):
        pass

    def on_train_begin(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_batch_end(self, batch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass


class LambdaCallback(Callback):
    """A user hook per batch and per epoch: ``on_batch_end(batch, logs)``,
    ``on_epoch_end(epoch, logs)``; ``logs`` holds the current numbers."""

    def __init__(self, on_batch_end=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None):
        for name, fn in (("on_batch_end", on_batch_end), ("on_epoch_end", on_epoch_end),
                         ("on_train_begin", on_train_begin), ("on_train_end", on_train_end)):
            if fn is not None:
                setattr(self, name, fn)


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs (:class:`deltaprop.improvement.Improvement`, Keras' rule).

    With ``restore_best`` the network ends with the weights of its best epoch. ``mode``
    ``"auto"`` maximises accuracies and R², and minimises anything else.
    """

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, restore_best=True,
                 mode="auto"):
        self.monitor, self.patience, self.min_delta = monitor, int(patience), float(min_delta)
        self.restore_best = restore_best
        self.mode = mode_for(monitor) if mode == "auto" else mode
        self.improvement = Improvement(self.mode, self.min_delta)
        self.best_epoch = self.best_weights = None

    @property
    def best(self):
        """The best value of ``monitor`` so far (None before the first epoch)."""
        return self.improvement.best

    @property
    def wait(self):
        """Epochs in a row without improvement."""
        return self.improvement.wait

    def on_train_begin(self, logs=None):
        self.improvement = Improvement(self.mode, self.min_delta)
        self.best_epoch = self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor not in logs:
            raise ValueError(f"EarlyStopping monitors {self.monitor!r}, which is not among "
                             f"the logged values {sorted(logs)}")
        if self.improvement.update(logs[self.monitor]):
            self.best_epoch = epoch
            if self.restore_best:
                self.best_weights = self.trainer.snapshot_weights()
        elif self.improvement.wait >= self.patience:
            self.trainer.stop_training = True
            self.trainer.history.stopped_early = True

    def on_train_end(self, logs=None):
        # An interrupted run keeps the weights of its last epoch, from which it resumes.
        if (self.restore_best and self.best_weights is not None
                and not self.trainer.history.interrupted):
            self.trainer.restore_weights(self.best_weights)

    def state_dict(self):
        """The counters (best value, wait, best epoch) and, with ``restore_best``, the best
        weights: the flat parameters, then each layer's buffers, as ``"arrays"``."""
        imp, snap = self.improvement, self.best_weights
        state = {"monitor": self.monitor, "mode": self.mode, "min_delta": self.min_delta,
                 "best": None if imp.best is None else float(imp.best), "wait": int(imp.wait),
                 "best_epoch": self.best_epoch, "best_states": None, "arrays": []}
        if snap is not None:
            state["best_states"] = snap["states"]
            state["arrays"] = [snap["data"], *(v for layer in snap["buffers"]
                                               for v in layer.values())]
        return state

    def load_state_dict(self, state):
        """Go on counting from ``state`` (:meth:`state_dict`), when it watched the same
        value the same way; the best weights must fit the network."""
        if (state.get("monitor"), state.get("mode"), state.get("min_delta")) != (
                self.monitor, self.mode, self.min_delta):
            return  # another rule: it starts afresh
        self.improvement.best, self.improvement.wait = state["best"], int(state["wait"])
        self.best_epoch = state["best_epoch"]
        arrays = list(state.get("arrays") or [])
        if not (arrays and self.restore_best):
            return
        current = self.trainer.snapshot_weights()
        shapes = [current["data"].shape] + [v.shape for layer in current["buffers"]
                                            for v in layer.values()]
        if [np.shape(a) for a in arrays] != shapes:
            raise ValueError("the saved EarlyStopping best weights do not fit this network")
        current["data"][...] = device_of(current["data"]).asarray(arrays[0])
        rest = iter(arrays[1:])
        for layer in current["buffers"]:
            for name in layer:
                layer[name][...] = device_of(layer[name]).asarray(next(rest))
        current["states"] = state.get("best_states") or current["states"]
        self.best_weights = current


def callback_states(callbacks):
    """``{name: state}`` of the callbacks that have one (names: the class's, numbered
    from the second of a class)."""
    states, seen = {}, {}
    for cb in callbacks:
        state = cb.state_dict()
        if state is None:
            continue
        name = type(cb).__name__
        seen[name] = seen.get(name, 0) + 1
        states[name if seen[name] == 1 else f"{name}_{seen[name]}"] = state
    return states


def resume_callbacks(callbacks, saved):
    """Hand each callback its state saved by :func:`callback_states` (after
    ``on_train_begin``)."""
    if not saved:
        return
    seen = {}
    for cb in callbacks:
        name = type(cb).__name__
        seen[name] = seen.get(name, 0) + 1
        state = saved.get(name if seen[name] == 1 else f"{name}_{seen[name]}")
        if state is not None:
            cb.load_state_dict(state)


def record_callbacks(net, callbacks):
    """Keep the callbacks' states in the training state (after a completed epoch)."""
    states = callback_states(callbacks)
    if states:
        net.train_state_["callbacks"] = states


class ModelCheckpoint(Callback):
    """Save the model file (with the optimizer state) after each epoch, or only when
    ``monitor`` improves (``save_best_only``, by the rule of :class:`EarlyStopping` with
    ``min_delta=0``). ``path`` may contain ``{epoch}``."""

    def __init__(self, path, monitor="val_loss", save_best_only=False, include_optimizer=True,
                 mode="auto"):
        self.path, self.monitor = str(path), monitor
        self.save_best_only, self.include_optimizer = save_best_only, include_optimizer
        self.mode = mode_for(monitor) if mode == "auto" else mode
        self.improvement = Improvement(self.mode)

    @property
    def best(self):
        """The best value of ``monitor`` saved so far (None before the first save)."""
        return self.improvement.best

    def on_epoch_end(self, epoch, logs=None):
        if self.save_best_only:
            value = logs.get(self.monitor)
            if value is None or not self.improvement.update(value):
                return
        self.trainer.net.save(self.path.format(epoch=epoch + 1),
                              include_optimizer=self.include_optimizer)


class GradientNorms(Callback):
    """Record, per epoch, the mean over the batches of each layer's ‖∂J/∂W‖_F.

    ``norms`` is a list of per-epoch lists (one value per Dense layer); plot it with
    :func:`deltaprop.plots.gradient_norms`.
    """

    def __init__(self):
        self.norms = []
        self._sum = None
        self._count = 0

    def on_train_begin(self, logs=None):
        self._layers = [layer for layer in self.trainer.net.layers
                        if "W" in layer.parameter_names]

    def on_epoch_begin(self, epoch, logs=None):
        self._sum = np.zeros(len(self._layers))
        self._count = 0

    def on_batch_end(self, batch, logs=None):
        for k, layer in enumerate(self._layers):
            self._sum[k] += float(np.sqrt(np.vdot(layer.grad_W, layer.grad_W)))
        self._count += 1

    def on_epoch_end(self, epoch, logs=None):
        self.norms.append((self._sum / max(self._count, 1)).tolist())
