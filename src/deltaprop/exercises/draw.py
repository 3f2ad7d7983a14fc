"""The numbers of an exercise: a setting (sizes, activations, loss, notation, batch), the
draw of weights, inputs and targets for hand work, and the checks that make every seed
a problem of the same difficulty.

Many candidates are drawn at once and swept forward and backward together (NumPy, one
candidate a slice of the leading axis); the first that passes every check is the
exercise. The same checks then run on the engine's own trace of it (:func:`problems` of
:func:`numbers_of_trace`), so what the student sees is checked, not a copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..activations import ACTIVATIONS, get_activation
from ..losses import get_loss

__all__ = ["Setting", "Numbers", "parse_sizes", "sweep", "problems", "draw",
           "numbers_of_trace", "NOTATION_NAMES", "OUTPUTS", "DEFAULT_LOSS", "LOSSES"]

NOTATION_NAMES = ("goodfellow", "nielsen", "hagan", "rousseau")
#: The output activations an exercise offers, and the loss each one gets by default.
DEFAULT_LOSS = {"identity": "half_squared_error", "sigmoid": "half_squared_error",
                "softmax": "cross_entropy"}
OUTPUTS = tuple(DEFAULT_LOSS)
#: The losses an exercise offers (those whose targets it knows how to draw).
LOSSES = ("half_squared_error", "squared_error", "mse", "cross_entropy",
          "binary_cross_entropy")
#: Activations whose numbers stay exact with integers and halves.
EXACT_ACTIVATIONS = ("relu", "identity")
EXACT_DENOMINATOR = 16       # every exact number is a multiple of 1/16 (per sample)
LARGEST = 20.0               # no number on the sheet or the key is larger
SMALLEST = 1e-3              # nor, unless it is 0, smaller (two or three digits)
MAX_UNITS, MAX_LAYERS, MAX_BATCH = 6, 4, 8
CANDIDATES, ROUNDS = 16, 200


def parse_sizes(text):
    """``"2-2-1"`` -> ``(2, 2, 1)``; a clear ``ValueError`` otherwise."""
    parts = str(text).replace(",", "-").split("-")
    try:
        sizes = tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError(f"network {text!r}: write the layer sizes as 2-2-1 (inputs, hidden "
                         f"units, outputs)") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"network {text!r}: at least an input and an output size, each >= 1")
    if len(sizes) - 1 > MAX_LAYERS or max(sizes) > MAX_UNITS:
        raise ValueError(f"network {text!r}: a hand exercise has at most {MAX_LAYERS} layers "
                         f"of at most {MAX_UNITS} units")
    return sizes


@dataclass(frozen=True)
class Setting:
    """What an exercise is about; every seed of one setting is a problem of its kind."""

    sizes: tuple[int, ...] = (2, 2, 1)
    activation: str = "relu"
    output: str = "identity"
    loss: str = "half_squared_error"
    notation: str = "goodfellow"
    batch: int = 1
    allow_inactive: bool = False

    @classmethod
    def make(cls, network="2-2-1", activation="relu", output="identity", loss=None,
             notation="goodfellow", batch=1, allow_inactive=False):
        """A checked setting; ``ValueError`` naming the option that does not fit."""
        sizes = parse_sizes(network) if isinstance(network, str) else tuple(network)
        act = get_activation(activation)
        if act.name == "softmax" or act.output_only:
            hidden = ", ".join(n for n, c in ACTIVATIONS.items()
                               if n != "softmax" and not c.output_only)
            raise ValueError(f"activation {act.name!r} is not a hidden activation; choose one "
                             f"of: {hidden}")
        if output not in OUTPUTS:
            raise ValueError(f"output {output!r}: an exercise's output is one of "
                             f"{', '.join(OUTPUTS)}")
        loss = get_loss(loss or DEFAULT_LOSS[output]).name
        if loss not in LOSSES:
            raise ValueError(f"loss {loss!r}: an exercise's loss is one of {', '.join(LOSSES)}")
        fits = get_loss(loss).outputs
        if fits is not None and output not in fits or (output == "softmax"
                                                       and loss != "cross_entropy"):
            raise ValueError(f"loss {loss!r} does not go with the {output} output (softmax "
                             f"takes cross_entropy, binary_cross_entropy takes sigmoid)")
        if output == "softmax" and sizes[-1] < 2:
            raise ValueError("a softmax output needs at least 2 units (e.g. --network 2-2-2)")
        if notation not in NOTATION_NAMES:
            raise ValueError(f"notation {notation!r}: one of {', '.join(NOTATION_NAMES)}")
        if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) \
                or not 1 <= batch <= MAX_BATCH:
            raise ValueError(f"batch must be an integer from 1 to {MAX_BATCH}, got {batch!r}")
        return cls(sizes, act.name, output, loss, notation, int(batch), bool(allow_inactive))

    @property
    def activations(self):
        return [self.activation] * (len(self.sizes) - 2) + [self.output]

    @property
    def exact(self):
        """Whether the numbers are exact (integers and halves through ReLU and identity,
        a polynomial loss whose factor is a power of 2)."""
        n_out = self.sizes[-1]
        factor_ok = self.loss in ("half_squared_error", "squared_error") or (
            self.loss == "mse" and n_out in (1, 2, 4))
        return all(a in EXACT_ACTIVATIONS for a in self.activations) and factor_ok

    def to_dict(self):
        return {"network": "-".join(map(str, self.sizes)), "activation": self.activation,
                "output": self.output, "loss": self.loss, "notation": self.notation,
                "batch": self.batch, "allow_inactive": self.allow_inactive}


@dataclass
class Numbers:
    """The numbers of a sweep; axis 0 is the candidate, axis 1 the sample (per layer)."""

    z: list
    a: list
    g: list          # ∂ℓ/∂a per sample (None at a fused output)
    err: list        # ∂ℓ/∂z per sample
    gW: list         # ∂ℓ/∂W per sample, (C, N, n_in, n_out)
    losses: np.ndarray
    J: np.ndarray
    grad_W: list
    grad_b: list


def sweep(Ws, bs, X, T, activations, loss, reduction="mean"):
    """Forward and backward for every candidate at once (``Ws[k]`` is ``(C, n_in, n_out)``,
    ``X`` ``(C, N, n_in)``, ``T`` ``(C, N, n_out)``)."""
    acts = [get_activation(a) for a in activations]
    loss = get_loss(loss)
    C, N = X.shape[:2]

    def rows(v):
        return v.reshape(C * N, -1)

    xs, zs, as_ = [], [], []
    h = X
    for W, b, f in zip(Ws, bs, acts):
        xs.append(h)
        z = np.einsum("cni,cio->cno", h, W) + b[:, None, :]
        h = f.forward(rows(z)).reshape(z.shape)
        zs.append(z)
        as_.append(h)
    out = acts[-1]
    losses = loss.per_sample(rows(zs[-1]), rows(h), rows(T), out).reshape(C, N)
    K = len(Ws)
    gs, errs, gWs = [None] * K, [None] * K, [None] * K
    if loss.fuses_with(out):
        errs[-1] = loss.fused_delta(h, T)
    else:
        gs[-1] = loss.gradient(rows(h), rows(T)).reshape(h.shape)
    for k in range(K - 1, -1, -1):
        if errs[k] is None:
            errs[k] = acts[k].backward(rows(zs[k]), rows(as_[k]), rows(gs[k])).reshape(
                zs[k].shape)
        gWs[k] = np.einsum("cni,cno->cnio", xs[k], errs[k])
        if k:
            gs[k - 1] = np.einsum("cno,cio->cni", errs[k], Ws[k])
    share = 1.0 / N if reduction == "mean" else 1.0
    return Numbers(zs, as_, gs, errs, gWs, losses, (losses * share).sum(1),
                   [(gW * share).sum(1) for gW in gWs], [(e * share).sum(1) for e in errs])


def numbers_of_trace(trace):
    """The :class:`Numbers` of a trace (one candidate): the engine's own."""
    def one(v):
        return None if v is None else np.asarray(v, dtype=np.float64)[None]

    L = trace.layers
    fused = trace.fused
    return Numbers(
        z=[one(layer.z) for layer in L], a=[one(layer.a) for layer in L],
        g=[None if (fused and layer is L[-1]) else one(layer.g) for layer in L],
        err=[one(layer.error) for layer in L],
        gW=[np.einsum("ni,no->nio", layer.x, layer.error)[None] for layer in L],
        losses=one(trace.losses), J=np.array([trace.J]),
        grad_W=[one(layer.grad_W) for layer in L], grad_b=[one(layer.grad_b) for layer in L])


def problems(nums, setting):
    """``{what is wrong: mask over candidates}``; a candidate passes when no mask is set."""
    C = len(nums.J)
    acts = [get_activation(a) for a in setting.activations]
    found = {}

    def flag(name, mask):
        found[name] = found.get(name, np.zeros(C, bool)) | mask

    def per_candidate(mask):
        return mask.reshape(C, -1).any(axis=1)

    for k, (z, a, f, gW) in enumerate(zip(nums.z, nums.a, acts, nums.gW)):
        flag("a layer whose gradients are all zero",
             np.all(np.abs(gW.reshape(C, -1)) < 1e-12, axis=1))
        if not f.smooth:
            flag("a pre-activation at the kink of f", per_candidate(np.abs(z) < 1e-9))
        sat = f.saturated(z, a)
        if sat is not None:
            flag("a saturated unit", per_candidate(sat))
        if k < len(acts) - 1 and not setting.allow_inactive:
            off = f.inactive(z, a)
            if off is not None:
                flag("a unit inactive for every sample", np.any(np.all(off, axis=1), axis=1))
    if setting.output in ("sigmoid", "softmax"):
        y = nums.a[-1]
        flag("an output probability below 0.02 or above 0.98",
             per_candidate((y < 0.02) | (y > 0.98)))
    flag("an output equal to its target",
         np.any(np.all(np.abs(nums.err[-1]) < 1e-12, axis=2), axis=1))
    per_sample = [*nums.z, *nums.a, *[g for g in nums.g if g is not None], *nums.err,
                  *nums.gW, nums.losses]
    batch = [nums.J, *nums.grad_W, *nums.grad_b]
    values = np.concatenate([v.reshape(C, -1) for v in per_sample + batch], axis=1)
    flag("a number too large to work by hand", np.any(np.abs(values) > LARGEST, axis=1))
    if setting.exact:  # the batch's numbers are means: multiples of 1/(16 N)
        scale = np.concatenate([np.full(v[0].size, EXACT_DENOMINATOR * (1 if i < len(per_sample)
                                                                       else setting.batch))
                                for i, v in enumerate(per_sample + batch)])
        q = values * scale
        flag("a number that is not a multiple of 1/16",
             np.any(np.abs(q - np.round(q)) > 1e-9, axis=1))
    else:
        small = (np.abs(values) < SMALLEST) & (np.abs(values) > 1e-12)
        flag("a number too small to read", np.any(small, axis=1))
    return found


def _draw_candidates(rng, setting, C):
    """``C`` candidate problems: ``(Ws, bs, X, T)`` with a leading candidate axis.

    Exact: the first layer's weights are integers and halves, the later layers' integers
    (so that the denominators stay small), biases halves, inputs integers. Otherwise
    weights and biases to one decimal, inputs halves."""
    sizes, N = setting.sizes, setting.batch
    shapes = list(zip(sizes, sizes[1:]))
    if setting.exact:  # more units in: smaller and balanced weights (the sums stay small)
        first = (rng.choice([-1.0, -0.5, 0.5, 1.0, 2.0], p=[.15, .15, .2, .3, .2],
                            size=(C, *shapes[0])) if sizes[0] <= 2 else
                 rng.choice([-1.0, -0.5, 0.5, 1.0], size=(C, *shapes[0])))
        Ws = [first] + [rng.choice([-2.0, -1.0, 1.0, 2.0], p=[.1, .3, .45, .15], size=(C, i, o))
                        if i <= 2 else rng.choice([-1.0, 1.0], size=(C, i, o))
                        for i, o in shapes[1:]]
        bs = [rng.choice([-1.0, -0.5, 0.0, 0.5, 1.0], size=(C, o)) for o in sizes[1:]]
        X = rng.choice([-1.0, 0.0, 1.0, 2.0], size=(C, N, sizes[0]))
    else:
        Ws = [rng.choice(np.r_[-15:-1, 2:16], size=(C, i, o)) / 10.0 for i, o in shapes]
        bs = [rng.integers(-5, 6, size=(C, o)) / 10.0 for o in sizes[1:]]
        X = rng.integers(-4, 5, size=(C, N, sizes[0])) / 2.0
    if not setting.allow_inactive:
        _wake(rng, setting, Ws, bs, X)
    n_out = sizes[-1]
    if setting.output == "softmax":
        T = np.eye(n_out)[rng.integers(0, n_out, size=(C, N))]
    elif setting.output == "sigmoid":
        T = rng.integers(0, 2, size=(C, N, n_out)).astype(float)
    elif setting.exact:
        T = rng.integers(-4, 5, size=(C, N, n_out)) / 2.0
    else:
        T = rng.integers(-10, 11, size=(C, N, n_out)) / 10.0
    return Ws, bs, X, T


def _wake(rng, setting, Ws, bs, X):
    """A hidden unit that its activation leaves inactive for every sample gets a new bias:
    one that puts its largest pre-activation at a small positive value (½ or 1; 0.2 to 1
    with decimals). Changes ``bs`` in place."""
    acts = [get_activation(a) for a in setting.activations]
    h = X
    for k, (W, b, f) in enumerate(zip(Ws, bs, acts)):
        s = np.einsum("cni,cio->cno", h, W)
        if k < len(Ws) - 1:
            off = f.inactive(s + b[:, None, :], f.forward(s + b[:, None, :]))
            if off is not None:
                dead = np.all(off, axis=1)
                target = (rng.choice([0.5, 1.0], size=b.shape) if setting.exact
                          else rng.integers(2, 11, size=b.shape) / 10.0)
                b[dead] = (target - s.max(axis=1))[dead]
        z = s + b[:, None, :]
        h = f.forward(z.reshape(-1, z.shape[-1])).reshape(z.shape)


def draw(setting, seed, accept=None):
    """The first candidate of ``seed`` that passes :func:`problems` (and ``accept``, a
    check of the final problem: the trace's), as ``(Ws, bs, X, T)`` for one problem."""
    rng = np.random.default_rng(seed)
    seen = {}
    for _ in range(ROUNDS):
        Ws, bs, X, T = _draw_candidates(rng, setting, CANDIDATES)
        nums = sweep(Ws, bs, X, T, setting.activations, setting.loss)
        bad = np.zeros(CANDIDATES, bool)
        for what, mask in problems(nums, setting).items():
            bad |= mask
            seen[what] = seen.get(what, 0) + int(mask.sum())
        for c in np.flatnonzero(~bad):
            problem = ([W[c] for W in Ws], [b[c] for b in bs], X[c], T[c])
            if accept is None or accept(*problem):
                return problem
    worst = max(seen, key=seen.get) if seen else "the final check"
    raise ValueError(f"no exercise of the network {'-'.join(map(str, setting.sizes))} with "
                     f"{setting.activation} and a batch of {setting.batch} passes the checks for "
                     f"seed {seed} (most often: {worst}, in {ROUNDS * CANDIDATES} draws); a "
                     f"smaller network or batch makes one")
