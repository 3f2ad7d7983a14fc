"""The base of every optimizer: validation, clipping, weight decay, state, configuration,
the registry by name, and the planning of the update over a network's flat
:class:`~deltaprop.parameters.ParameterStore` (one pass over the flat arrays, in blocks on
the NumPy path or with the rule's fused kernel; or :class:`LayerSteps`, layer by layer
inside the backward sweep). The rules themselves are in :mod:`deltaprop.optimizers.rules`.
"""

from __future__ import annotations

import math

import numpy as np

from .. import kernels
from .._validation import check_non_negative, check_number, check_positive
from ..devices import device_of, is_cupy, to_host
from ..parameters import ParameterStore

__all__ = ["Optimizer", "LayerSteps", "OPTIMIZERS", "FULL_BATCH_OPTIMIZERS", "BLOCK",
           "EMPTY_STATE", "clip_grad_norm", "get_optimizer", "optimizer_from_config",
           "register", "unit_interval"]

#: The step-by-step rules by name (each has a :meth:`Optimizer.step`).
OPTIMIZERS: dict[str, type[Optimizer]] = {}
#: The full-batch methods by name (``full_batch = True``, no ``step``: :class:`LBFGS`).
FULL_BATCH_OPTIMIZERS: dict[str, type[Optimizer]] = {}

#: Elements per block of the flat update: 1 MiB of float32, so that a rule's dozen passes
#: over the parameter, gradient, state and work arrays stay in the L2 cache.
BLOCK = 1 << 18

#: An empty state array per dtype, for a fused kernel's absent state (no velocity...).
EMPTY_STATE = {np.float32: np.empty(0, np.float32), np.float64: np.empty(0, np.float64)}

def register(cls):
    """Class decorator: make an optimizer available by its ``name`` (in
    :data:`OPTIMIZERS`, or :data:`FULL_BATCH_OPTIMIZERS` when ``cls.full_batch``)."""
    (FULL_BATCH_OPTIMIZERS if cls.full_batch else OPTIMIZERS)[cls.name] = cls
    return cls


def _named(name):
    """The class registered under ``name`` (case-insensitive), or None."""
    if not isinstance(name, str):
        return None
    return OPTIMIZERS.get(name.lower()) or FULL_BATCH_OPTIMIZERS.get(name.lower())


# --------------------------------------------------------------------------- checks


def unit_interval(name, value):
    """A number in ``[0, 1)``: a decay rate such as a beta or RMSProp's alpha."""
    value = check_number(name, value)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return value


# --------------------------------------------------------------------------- clipping
def clip_grad_norm(grads, max_norm):
    r"""Scale ``grads`` in place so that their global L2 norm is at most ``max_norm``.

    Exactly ``torch.nn.utils.clip_grad_norm_``:

    .. math::

        \|g\| = \sqrt{\textstyle\sum_i \|g_i\|_2^2}, \qquad
        c = \min\!\Big(\frac{\text{max\_norm}}{\|g\| + 10^{-6}},\ 1\Big), \qquad
        g_i \leftarrow c\, g_i .

    Parameters
    ----------
    grads : list of ndarray
        Gradients, modified in place (each keeps its dtype).
    max_norm : float
        Largest allowed global norm.

    Returns
    -------
    float
        The global norm before clipping. A NaN or infinite norm makes ``c`` NaN or 0,
        as in torch (the loss check of the training loop catches such a batch first).
    """
    total_norm = math.sqrt(sum(float(np.vdot(g, g)) for g in grads))
    clip_coef = min(max_norm / (total_norm + 1e-6), 1.0)
    if clip_coef != 1.0:  # math.nan != 1.0 too: NaN propagates as in torch
        for g in grads:
            g *= clip_coef
    return total_norm


# --------------------------------------------------------------------------- base class
class Optimizer:
    r"""Base class: validation, clipping, weight decay, state and configuration.

    A subclass sets ``name``, lists its per-parameter state arrays in
    :meth:`_state_names` and writes one :meth:`_update` that applies its elementwise rule
    to one array (a parameter, or a block of the flat parameters) with its state and a work
    buffer of the same shape.

    Parameters
    ----------
    lr : float
        Learning rate η > 0. The attribute ``lr`` may be reassigned between steps (a
        learning-rate schedule does so); it then accepts any η ≥ 0.
    weight_decay : float
        λ in ``[0, 1)``, applied to the arrays with ``ndim >= 2`` only:
        :math:`W \leftarrow W - \eta\,\mathrm{step} - \lambda W` (Sayrol's lecture notes).
    clip_norm : float or None
        When set, the gradients are first scaled by :func:`clip_grad_norm` (in place).

    Attributes
    ----------
    t : int
        Number of steps taken.
    state : dict of str to list of ndarray
        Per-parameter state (empty lists until the first step).
    """

    name = "optimizer"
    #: True for a rule that needs whole tensors: it is called once per tensor, never on a
    #: block of the flat store that crosses tensor boundaries.
    per_tensor = False
    #: True for a method that minimises the whole training objective itself (``minimize``)
    #: instead of taking steps: :func:`deltaprop.training.fit` then hands it the objective.
    full_batch = False
    #: True for the decoupled ``W <- W - eta*lambda*W`` of AdamW, False for Sayrol's form.
    decoupled_weight_decay = False
    #: Name of the rule's fused kernel in :mod:`deltaprop.kernels` (None: NumPy only); a
    #: rule with a kernel also writes :meth:`_kernel_args`.
    kernel: str | None = None

    def __init__(self, lr, weight_decay=0.0, clip_norm=None):
        self.lr = check_positive("lr", lr)
        self.weight_decay = weight_decay
        self.clip_norm = clip_norm
        self.t = 0
        self.state = {key: [] for key in self._state_names()}
        self.scratch = []  # work buffers of the update
        self._shapes = []  # shapes of the parameters, fixed by the first step
        self._seen = None  # the store, or the (param, grad) pairs, of the last step, and
        self._runs = []  # what the update runs over: (param, grad, {key: state}, work)
        self._grads = []  # the gradients (for clipping) and
        self._decayed = []  # the parameters that weight decay applies to
        self._flat_state = {}  # key: the flat array whose views self.state[key] holds
        self._fused = None  # what the fused kernel runs over (see _plan_fused)

    # -- validated hyper-parameters shared by all optimizers
    @property
    def lr(self):
        """Learning rate η (float); a schedule sets it between steps."""
        return self._lr

    @lr.setter
    def lr(self, value):
        self._lr = check_non_negative("lr", value)

    @property
    def weight_decay(self):
        """Weight decay λ on the arrays with ``ndim >= 2`` (0 disables it)."""
        return self._weight_decay

    @weight_decay.setter
    def weight_decay(self, value):
        value = check_non_negative("weight_decay", value)
        if not self.decoupled_weight_decay and value >= 1.0:
            raise ValueError(
                f"weight_decay must be < 1 (W <- W - eta*g - weight_decay*W), got {value!r}"
            )
        self._weight_decay = value

    @property
    def clip_norm(self):
        """Largest global gradient norm, or None for no clipping."""
        return self._clip_norm

    @clip_norm.setter
    def clip_norm(self, value):
        self._clip_norm = None if value is None else check_positive("clip_norm", value)

    # -- what a subclass provides
    def _state_names(self):
        """Names of the per-parameter state arrays (depends on the options)."""
        return ()

    def _initial_state(self, key, param):
        """A new state array for ``param``: zeros of its shape and dtype."""
        return np.zeros_like(param)

    def _update(self, param, grad, state, step):
        """Apply the update rule to ``param`` in place (without decay and clipping).

        ``state`` maps each name of :meth:`_state_names` to the state array of ``param``;
        ``step`` is a work buffer of its shape. All have the same shape and dtype.
        """
        raise NotImplementedError

    def _hyper(self):
        """The rule's own hyper-parameters (besides lr, weight_decay and clip_norm)."""
        return {}

    def _kernel_args(self, state, dtype):
        """``(state arrays, scalars)`` for the fused kernel: the flat state arrays in the
        kernel's order (an empty array for an absent one) and the hyper-parameters of this
        step, cast to ``dtype`` as NumPy casts a Python float next to an array of it."""
        raise NotImplementedError

    # -- the step
    def step(self, params):
        """Update every ``param`` in place from its ``grad``.

        Parameters
        ----------
        params : ParameterStore or list of (ndarray, ndarray)
            A network's store (``net.store``), or ``(param, grad)`` pairs in the same order
            at every step. float32 and float64 are both fine; the state takes the dtype of
            its parameter. The gradients are scratch buffers owned by the caller and may be
            modified (by ``clip_norm``). Weight decay applies to the store's tensors marked
            ``decay`` (the weight matrices), or to the pairs' arrays with ``ndim >= 2``.
        """
        if not self._same_params(params):
            pairs = params.pairs() if isinstance(params, ParameterStore) else list(params)
            self._check_state(pairs, params)
            self._plan(pairs, params)
        fused = self._fused and kernels.get(self.kernel, self._fused_size, like=self._fused[0][0])
        if fused:
            self._fused_step(fused)
            return
        if self.clip_norm is not None:
            clip_grad_norm(self._grads, self.clip_norm)
        self.t += 1
        if self.weight_decay:
            if self.decoupled_weight_decay:
                keep = 1.0 - self.lr * self.weight_decay  # AdamW: W <- W - eta*lambda*W
            else:
                keep = 1.0 - self.weight_decay  # W <- W - lambda*W (beside the step)
            for param in self._decayed:
                param *= keep
        for run in self._runs:
            self._run(*run)

    def _fused_step(self, kernel):
        """The step with the rule's fused kernel: one pass over the flat arrays per run of
        tensors that weight decay treats alike, clipping and decay folded in (the same
        operations, in the same order, as the NumPy passes)."""
        coef = 1.0
        if self.clip_norm is not None:  # clip_grad_norm's coefficient; g is scaled in the pass
            sumsq = kernels.get("sum_of_squares", 0, like=self._fused_grads[0])
            total_norm = math.sqrt(sum(sumsq(g) for g in self._fused_grads))  # per tensor
            coef = min(self.clip_norm / (total_norm + 1e-6), 1.0)
        keep, states, scalars = self._step_scalars()
        for p, g, state, segments in self._fused:
            dt = p.dtype.type
            if len(self._fused) > 1:
                states, scalars = self._kernel_args(state, dt)
            c = dt(coef)
            if keep == 1.0:  # no decay: one pass over the whole run, not one per tensor
                segments = ((0, p.size, False),)
            for lo, hi, decayed in segments:
                kernel(p, g, *states, lo, hi, dt(keep if decayed else 1.0), c, *scalars)

    def layer_steps(self, store):
        """The next steps taken layer by layer: a :class:`LayerSteps` for ``store`` (a
        network's :class:`~deltaprop.parameters.ParameterStore`), or None where a step must
        see every gradient first or the rule has no fused kernel here (then :meth:`step`
        after the backward sweep, as always).

        ``begin()`` opens a step (``t`` counted, the scalars of this step) and
        ``layer(k)`` updates the parameters of layer ``k`` (each a run of consecutive
        pieces of the store) from their gradients, as soon as its backward step has
        used its weights: while they and their gradients are still in the cache. For an
        elementwise rule the result is bitwise :meth:`step`'s: the same operations on the
        same elements, in another order of the elements. Not with ``clip_norm`` (the
        global norm needs every gradient) or a ``per_tensor`` rule."""
        if self.clip_norm is not None or self.per_tensor or self.kernel is None:
            return None
        if not isinstance(store, ParameterStore) or not store.size:
            return None
        if not self._same_params(store):
            self._check_state(store.pairs(), store)
            self._plan(store.pairs(), store)
        if not self._fused:
            return None
        kernel = kernels.get(self.kernel, self._fused_size, like=self._fused[0][0])
        return LayerSteps(self, kernel, store) if kernel else None

    def _step_scalars(self):
        """Count the step and return ``(keep, states, scalars)`` for the fused kernel: the
        weight-decay factor and the rule's state arrays and hyper-parameters of this step."""
        self.t += 1
        keep = 1.0
        if self.weight_decay:
            keep = 1.0 - (self.lr * self.weight_decay if self.decoupled_weight_decay
                          else self.weight_decay)
        p, _, state, _ = self._fused[0]
        states, scalars = self._kernel_args(state, p.dtype.type)
        return keep, states, scalars

    def _plan_fused(self, store):
        """What the fused kernel runs over: per run, the flat views of the parameter, its
        gradient and its state, and the segments ``(lo, hi, decayed)``; None when a run
        is not contiguous or the rule has no kernel."""
        self._fused = None
        if self.kernel is None or self.per_tensor:
            return
        fused = []
        for p, g, state, _ in self._runs:
            arrays = [p, g, *state.values()]
            if not all(a.flags.c_contiguous for a in arrays):
                return
            flat = {key: a.reshape(-1) for key, a in state.items()}
            if store is not None:  # one run: the whole store, by slots decayed or not
                segments = []
                for s in store.slots:
                    if segments and segments[-1][2] == s.decay:
                        segments[-1] = (segments[-1][0], s.stop, s.decay)
                    else:
                        segments.append((s.offset, s.stop, s.decay))
            else:
                segments = [(0, p.size, p.ndim >= 2)]
            fused.append((p.reshape(-1), g.reshape(-1), flat, segments))
        self._fused = fused
        self._fused_size = sum(p.size for p, _, _, _ in fused)
        # The clipping norm sums tensor by tensor, flat store or not, as clip_grad_norm does.
        self._fused_grads = ([g for _, g, _, _ in fused] if store is None else
                             [fused[0][1][s.offset:s.stop] for s in store.slots])

    def _run(self, param, grad, state, work):
        """The rule over one parameter, or over the flat array block by block."""
        n, block = param.size, work.size
        if n <= block:
            self._update(param, grad, state, work[:n] if work.ndim == 1 else work)
            return
        for lo in range(0, n, block):
            hi = min(lo + block, n)
            self._update(param[lo:hi], grad[lo:hi], {key: a[lo:hi] for key, a in state.items()},
                         work[: hi - lo])

    def __getstate__(self):
        # The plan holds views of the parameters; a copy (pickle, deepcopy) has its own
        # arrays, so it plans again at its first step.
        state = self.__dict__.copy()
        state["_seen"], state["_runs"], state["_grads"], state["_decayed"] = None, [], [], []
        state["_flat_state"] = {}  # a copy's state arrays are its own: laid out again
        state["_fused"] = None
        return state

    def _same_params(self, params):
        """Whether ``params`` is the very store, or holds the very arrays, of the last step
        (then nothing to check or plan)."""
        seen = self._seen
        if isinstance(params, ParameterStore) or isinstance(seen, ParameterStore):
            return params is seen
        params = list(params)
        if seen is None or len(seen) != len(params):
            return False
        for (p, g), (q, h) in zip(params, seen):
            if p is not q or g is not h:
                return False
        return True

    def _plan(self, pairs, params):
        """Decide what the update runs over: the flat arrays of a store, block by block
        (the state is moved into flat arrays of the same layout), its tensors one by one
        for a ``per_tensor`` rule, or each pair of a list."""
        store = params if isinstance(params, ParameterStore) else None
        if store is not None and store.size:
            state = {}
            for key, arrays in self.state.items():
                flat = self._flat_state.get(key)
                if flat is None or flat.size != store.size or flat.dtype != store.dtype:
                    flat = np.concatenate([a.ravel() for a in arrays]).astype(store.dtype,
                                                                             copy=False)
                    if device_of(flat) != store.device:  # loaded from a file for a GPU
                        flat = store.device.asarray(to_host(flat))
                    self.state[key] = store.split(flat)
                    self._flat_state[key] = flat
                state[key] = flat
            if self.per_tensor:
                runs = [(store.view(store.data, s), store.view(store.grad, s),
                         {key: store.view(flat, s) for key, flat in state.items()}, s.size)
                        for s in store.slots]
                size = max(s.size for s in store.slots)
            else:
                runs = [(store.data, store.grad, state, store.size)]
                # Blocks keep a CPU's passes in its cache; a GPU takes the array whole (one
                # launch per pass instead of one per block).
                size = min(store.size, BLOCK) if store.device.is_cpu else store.size
            if not (len(self.scratch) == 1 and self.scratch[0].shape == (size,)
                    and self.scratch[0].dtype == store.dtype):
                self.scratch = [np.empty_like(store.data, shape=(size,))]
            work = self.scratch[0]
            self._runs = [(p, g, st, work[:n].reshape(p.shape) if self.per_tensor else work)
                          for p, g, st, n in runs]
            self._decayed = [store.view(store.data, s) for s in store.slots if s.decay]
        else:
            if [s.shape for s in self.scratch] != [p.shape for p, _ in pairs] or any(
                    s.dtype != p.dtype for s, (p, _) in zip(self.scratch, pairs)):
                self.scratch = [np.empty_like(p) for p, _ in pairs]
            self._runs = [(p, g, {key: arrays[i] for key, arrays in self.state.items()},
                           self.scratch[i]) for i, (p, g) in enumerate(pairs)]
            self._decayed = [p for p, _ in pairs if p.ndim >= 2]
        self._grads = [g for _, g in pairs]
        self._shapes = [p.shape for p, _ in pairs]
        self._seen = store if store is not None else [(p, g) for p, g in pairs]
        self._plan_fused(store if store is not None and store.size else None)

    def _check_state(self, params, source):
        """Create the state on the first step; afterwards check that it still fits."""
        for i, (param, grad) in enumerate(params):
            if np.shape(param) != np.shape(grad):
                raise ValueError(
                    f"parameter {i} has shape {np.shape(param)} but its gradient has shape "
                    f"{np.shape(grad)}"
                )
            if not ((isinstance(param, np.ndarray) or is_cupy(param))
                    and param.dtype.kind == "f"):
                raise ValueError(f"parameter {i} must be a floating-point array (NumPy, or "
                                 f"CuPy on a GPU)")
        n_state = len(self._shapes) or self._n_loaded()
        if n_state and n_state != len(params):
            raise ValueError(
                f"the optimizer holds state for {n_state} parameters but step() got "
                f"{len(params)} parameters; use a new optimizer for a different model"
            )
        store = source if isinstance(source, ParameterStore) else None
        for key, arrays in self.state.items():
            if not arrays:
                if store is not None:
                    # Born flat, in the store's layout: no second copy when _plan runs.
                    flat = self._flat_state[key] = self._initial_state(key, store.data)
                    self.state[key] = store.split(flat)
                else:
                    self.state[key] = [self._initial_state(key, p) for p, _ in params]
                continue
            for i, ((param, _), a) in enumerate(zip(params, arrays)):
                if a.shape != param.shape:
                    raise ValueError(
                        f"optimizer state {key!r} for parameter {i} has shape {a.shape} but "
                        f"the parameter has shape {param.shape} (was the state saved for a "
                        f"different model?)"
                    )
                if a.dtype != param.dtype:  # e.g. float64 state loaded for float32 weights
                    arrays[i] = a.astype(param.dtype)

    def to_device(self, device):
        """Move the state to ``device`` (:meth:`Sequential.to <deltaprop.Sequential.to>`
        calls this); the next step lays it out again."""
        self.state = {key: [device.asarray(to_host(a)) for a in arrays]
                      for key, arrays in self.state.items()}
        self._seen, self._runs, self._flat_state, self._fused, self.scratch = None, [], {}, None, []

    def _n_loaded(self):
        return max((len(arrays) for arrays in self.state.values()), default=0)

    # -- configuration and state
    def get_config(self):
        """JSON-serialisable hyper-parameters, including ``"name"``."""
        return {
            "name": self.name,
            "lr": self.lr,
            **self._hyper(),
            "weight_decay": self.weight_decay,
            "clip_norm": self.clip_norm,
        }

    def state_dict(self):
        """Everything needed to resume exactly: name, hyper-parameters, ``t`` and state.

        Returns
        -------
        dict
            ``{"name": str, "hyper": dict, "t": int, key: [ndarray, ...], ...}`` with one
            list of arrays (copies) per state key, e.g. ``"m"`` and ``"v"`` for Adam.
        """
        hyper = self.get_config()
        del hyper["name"]
        out = {"name": self.name, "hyper": hyper, "t": int(self.t)}
        for key, arrays in self.state.items():
            out[key] = [a.copy() for a in arrays]
        return out

    def load_state_dict(self, state):
        """Restore what :meth:`state_dict` returned (hyper-parameters included).

        Raises
        ------
        ValueError
            When the dict was saved by another optimizer, misses a state key, or its
            arrays do not have the shapes of this optimizer's state.
        """
        if state.get("name") != self.name:
            raise ValueError(
                f"this state_dict was saved by the {state.get('name')!r} optimizer, "
                f"not by {self.name!r}"
            )
        # Validate everything before changing anything.
        trial = _build(type(self), dict(state.get("hyper", {})))
        keys = trial._state_names()
        missing = [key for key in keys if key not in state]
        if missing:
            raise ValueError(f"the {self.name!r} state_dict misses the state {missing}")
        lengths = {len(state[key]) for key in keys}
        if len(lengths) > 1:
            raise ValueError(f"the state arrays {list(keys)} have different lengths")
        loaded = {key: [np.copy(a) for a in state[key]] for key in keys}  # on a's device
        n_params = len(self._shapes)
        for key, arrays in loaded.items():
            if n_params and arrays:
                if len(arrays) != n_params:
                    raise ValueError(
                        f"state {key!r} holds {len(arrays)} arrays but this optimizer "
                        f"updates {n_params} parameters"
                    )
                for i, (a, shape) in enumerate(zip(arrays, self._shapes)):
                    if a.shape != shape:
                        raise ValueError(
                            f"state {key!r} for parameter {i} has shape {a.shape}, but the "
                            f"parameter has shape {shape}"
                        )
        self.__dict__.update({k: v for k, v in trial.__dict__.items()
                              if k not in ("state", "scratch", "t", "_shapes", "_seen", "_runs",
                                           "_grads", "_decayed", "_flat_state", "_fused")})
        self.t = int(state["t"])
        self.state = loaded
        self._seen, self._runs = None, []  # the next step checks and lays out the new state
        self._flat_state = {}
        self._fused = None
        if not any(loaded.values()):
            self._shapes = []  # state saved before the first step

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class LayerSteps:
    """An optimizer's steps over a network's store, taken layer by layer
    (:meth:`Optimizer.layer_steps`): :meth:`begin` once per step, then :meth:`layer` for
    each layer, in any order, once its gradients are complete (the network calls it right
    after the layer's backward step).

    Attributes
    ----------
    ranges : dict of int to list of (int, int, bool)
        Per layer index, the pieces ``(lo, hi, decayed)`` of the flat store that hold its
        parameters: runs of consecutive tensors that weight decay treats alike.
    """

    def __init__(self, optimizer, kernel, store):
        self.optimizer, self.kernel = optimizer, kernel
        p, g, _, _ = optimizer._fused[0]
        self.p, self.g = p, g
        ranges: dict[int, list] = {}
        for s in store.slots:
            pieces = ranges.setdefault(s.layer, [])
            if pieces and pieces[-1][1] == s.offset and pieces[-1][2] == s.decay:
                pieces[-1] = (pieces[-1][0], s.stop, s.decay)
            else:
                pieces.append((s.offset, s.stop, s.decay))
        self.ranges = ranges
        self._plan = optimizer._fused
        self._args = None

    def begin(self):
        """Open a step: count it and fix this step's hyper-parameters (a schedule may have
        changed ``lr``)."""
        if self.optimizer._fused is not self._plan:
            raise RuntimeError("the optimizer laid out its state again (loaded or moved): "
                               "ask it for new layer_steps")
        keep, states, scalars = self.optimizer._step_scalars()
        dt = self.p.dtype.type
        self._args = (dt(keep), dt(1.0), states, scalars)

    def layer(self, k):
        """Update the parameters of layer ``k`` from their gradients (no-op for a layer
        without parameters)."""
        pieces = self.ranges.get(k)
        if not pieces:
            return
        keep, one, states, scalars = self._args
        for lo, hi, decayed in pieces:
            self.kernel(self.p, self.g, *states, lo, hi, keep if decayed else one, one,
                        *scalars)


# --------------------------------------------------------------------------- registry
def get_optimizer(name_or_instance, **kwargs):
    """An optimizer from a registry name (``"adam"``), a config dict, or an instance.

    Parameters
    ----------
    name_or_instance : str, dict or Optimizer
        A name of :data:`OPTIMIZERS` or :data:`FULL_BATCH_OPTIMIZERS` (case-insensitive),
        a :meth:`Optimizer.get_config` dict, or an optimizer (returned as it is).
    **kwargs
        Hyper-parameters for the constructor (names only).

    Raises
    ------
    ValueError
        For an unknown name (the message lists the valid ones) or a bad hyper-parameter
        (the message names it).
    """
    if isinstance(name_or_instance, Optimizer):
        if kwargs:
            raise ValueError(
                f"hyper-parameters {sorted(kwargs)} given with an optimizer instance; "
                f"set them on the instance instead"
            )
        return name_or_instance
    if isinstance(name_or_instance, dict):
        return optimizer_from_config({**name_or_instance, **kwargs})
    cls = _named(name_or_instance)
    if cls is not None:
        try:
            return cls(**kwargs)
        except TypeError as exc:  # an unknown keyword
            raise ValueError(f"{cls.__name__}: {exc}") from None
    raise ValueError(
        f"unknown optimizer {name_or_instance!r}; valid names are: "
        f"{', '.join(sorted({**OPTIMIZERS, **FULL_BATCH_OPTIMIZERS}))}"
    )


def optimizer_from_config(config):
    """Rebuild an optimizer from :meth:`Optimizer.get_config`'s dict."""
    config = dict(config)
    if "name" not in config:
        raise ValueError(f"optimizer config has no 'name': {config!r}")
    name = config.pop("name")
    cls = _named(name)
    if cls is None:
        return get_optimizer(name)  # raises, listing the valid names
    return _build(cls, config)


def _build(cls, hyper):
    """``cls(**hyper)``, except that a saved ``lr`` of 0 (where a schedule left it) is
    restored through the attribute, which accepts it, rather than the constructor."""
    lr = hyper.get("lr")
    if lr is not None and not isinstance(lr, bool) and lr == 0:
        del hyper["lr"]
        opt = get_optimizer(cls.name, **hyper)
        opt.lr = lr
        return opt
    return get_optimizer(cls.name, **hyper)

