"""The playground's engine: one data set, one network, one optimizer, trained step by step.

Everything here is the real deltaprop engine (``MLP``, ``Sequential.backprop``, the
optimizers and schedules, ``explain``); this module only holds the state of one page and
turns it into numbers the page draws. It needs NumPy only, so it is tested without a server.

A set-up is a plain dict (:data:`DEFAULTS`), checked against one table (:data:`LIMITS`):
every value that comes from a browser is bounded before it is used.
"""

from __future__ import annotations

import base64
import math
import os
import reprlib
import tempfile

import numpy as np

from ..datasets import make_blobs, make_circles, make_spirals, make_xor
from ..diagnostics import layer_statistics
from ..explain import explain as _explain
from ..explain.notations import NOTATIONS
from ..io import save as _save
from ..mlp import MLP
from ..optimizers import get_optimizer
from ..schedules import get_schedule

__all__ = [
    "DATASETS",
    "DEFAULTS",
    "FEATURES",
    "LIMITS",
    "ConfigError",
    "Engine",
    "check_config",
]

#: The input features of TensorFlow Playground, computed from the point (x1, x2).
FEATURES = {
    "x1": lambda x1, x2: x1,
    "x2": lambda x1, x2: x2,
    "x1^2": lambda x1, x2: x1 * x1,
    "x2^2": lambda x1, x2: x2 * x2,
    "x1x2": lambda x1, x2: x1 * x2,
    "sin_x1": lambda x1, x2: np.sin(x1),
    "sin_x2": lambda x1, x2: np.sin(x2),
}
FEATURE_LABELS = {"x1": "x₁", "x2": "x₂", "x1^2": "x₁²", "x2^2": "x₂²", "x1x2": "x₁x₂",
                  "sin_x1": "sin x₁", "sin_x2": "sin x₂"}

#: Classification sets (two classes) and regression sets.
DATASETS = {"circle": "classification", "xor": "classification", "gauss": "classification",
            "spiral": "classification", "plane": "regression", "reg_gauss": "regression"}

ACTIVATIONS = ("tanh", "relu", "sigmoid", "identity", "leaky_relu", "elu")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")
SCHEDULES = ("constant", "step_decay", "exponential_decay", "inverse_scaling")
REGULARIZATIONS = ("none", "l1", "l2")
NORMS = ("none", "batch", "layer")

#: The domain drawn: the square [-DOMAIN, DOMAIN]², as in TensorFlow Playground.
DOMAIN = 6.0
#: Cells per side of the decision-boundary image and of each neuron's image.
GRID, NEURON_GRID = 49, 25
HISTORY_MAX = 1000

DEFAULTS = {
    "dataset": "circle", "noise": 0, "train_ratio": 50, "n_points": 500, "batch_size": 10,
    "features": ["x1", "x2"], "hidden": [4, 2], "activation": "tanh", "lr": 0.03,
    "regularization": "none", "reg_rate": 0.0, "optimizer": "adam", "schedule": "constant",
    "dropout": 0.0, "norm": "none", "seed": 0, "init_seed": 0, "steps_per_update": 10,
    "notation": "goodfellow",
}

#: The bounds of every setting: ("int", lo, hi), ("float", lo, hi) or ("choice", options).
LIMITS = {
    "dataset": ("choice", tuple(DATASETS)),
    "noise": ("int", 0, 50),
    "train_ratio": ("int", 10, 90),
    "n_points": ("int", 50, 1000),
    "batch_size": ("int", 1, 100),
    "features": ("subset", tuple(FEATURES)),
    "hidden": ("layers", 6, 8),
    "activation": ("choice", ACTIVATIONS),
    "lr": ("float", 1e-5, 10.0),
    "regularization": ("choice", REGULARIZATIONS),
    "reg_rate": ("float", 0.0, 10.0),
    "optimizer": ("choice", OPTIMIZERS),
    "schedule": ("choice", SCHEDULES),
    "dropout": ("float", 0.0, 0.9),
    "norm": ("choice", NORMS),
    "seed": ("int", 0, 2**31 - 1),
    "init_seed": ("int", 0, 2**31 - 1),
    "steps_per_update": ("int", 1, 100),
    "notation": ("choice", tuple(NOTATIONS)),
}

#: Settings that change the data or the network: the run starts again.
RESTART = {"dataset", "noise", "train_ratio", "n_points", "features", "hidden", "activation",
           "dropout", "norm", "seed", "init_seed"}

#: How many times the initial weights of a unit that is dead from the start are drawn again.
REDRAWS = 20

_shown = reprlib.Repr()  # values echoed in messages: long strings, numbers, nesting cut short
_shown.maxstring = _shown.maxother = 40
_shown.maxlong = 24


class ConfigError(ValueError):
    """A setting out of its bounds, or of the wrong kind (the message names it)."""


def _check_value(name, value):
    rule = LIMITS[name]
    kind = rule[0]
    if kind == "choice":
        if not isinstance(value, str) or value not in rule[1]:
            raise ConfigError(f"{name} must be one of {', '.join(rule[1])}; "
                              f"got {_shown.repr(value)}")
        return value
    if kind in ("int", "float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{name} must be a number; got {_shown.repr(value)}")
        # the bounds first, compared exactly: an integer such as 10**400 is never made a float
        if not (rule[1] <= value <= rule[2]):  # False for NaN too
            raise ConfigError(f"{name} must be in [{rule[1]}, {rule[2]}]; "
                              f"got {_shown.repr(value)}")
        if kind == "int":
            if not float(value).is_integer():
                raise ConfigError(f"{name} must be an integer; got {value!r}")
            return int(value)
        return float(value)
    if kind == "subset":
        if not isinstance(value, list) or not value or len(value) > len(rule[1]):
            raise ConfigError(f"{name} must be a non-empty list of {', '.join(rule[1])}")
        for v in value:
            if not isinstance(v, str) or v not in rule[1]:
                raise ConfigError(f"{name}: unknown feature {_shown.repr(v)}; "
                                  f"valid: {', '.join(rule[1])}")
        return [f for f in rule[1] if f in value]  # canonical order, no duplicates
    if kind == "layers":
        max_layers, max_units = rule[1], rule[2]
        if not isinstance(value, list) or len(value) > max_layers:
            raise ConfigError(f"{name} must be a list of at most {max_layers} layer sizes")
        out = []
        for v in value:
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= max_units:
                raise ConfigError(f"{name}: each hidden layer has 1 to {max_units} units; "
                                  f"got {_shown.repr(v)}")
            out.append(v)
        return out
    raise AssertionError(kind)  # pragma: no cover


def check_config(changes, base=None):
    """``base`` (default :data:`DEFAULTS`) updated by ``changes``, every value checked.

    Raises :class:`ConfigError` for an unknown name or a value out of bounds; ``base``
    is not changed.
    """
    if not isinstance(changes, dict):
        raise ConfigError("the set-up must be an object of settings")
    cfg = dict(DEFAULTS if base is None else base)
    for name, value in changes.items():
        if name not in LIMITS:
            raise ConfigError(f"unknown setting {_shown.repr(name)}; "
                              f"valid: {', '.join(LIMITS)}")
        cfg[name] = _check_value(name, value)
    return cfg


def make_points(dataset, n, noise, seed):
    """``(P, t)``: ``n`` points of ``dataset`` in [-6, 6]² and their targets (labels 0/1
    for a classification set, numbers in about [-1, 1] for regression). ``noise`` in
    per cent, as TensorFlow Playground's slider."""
    s = noise / 100.0
    rng = np.random.default_rng(seed)
    if dataset == "circle":
        P, t = make_circles(n, noise=s * 0.5, seed=seed, factor=0.5, dtype="float64")
        P, t = P * 5.0, 1 - t  # the inner disc is the positive class
    elif dataset == "xor":
        P, t = make_xor(n, noise=s * 0.5, seed=seed, dtype="float64")
        P = P * 5.0
    elif dataset == "gauss":
        P, t = make_blobs(n, centers=[[2.0, 2.0], [-2.0, -2.0]], cluster_std=0.5 + 3 * s,
                          seed=seed, dtype="float64")
    elif dataset == "spiral":
        P, t = make_spirals(n, noise=s * 0.5, seed=seed, dtype="float64")
        P = P * 5.0
    elif dataset == "plane":
        P = rng.uniform(-DOMAIN, DOMAIN, (n, 2))
        t = (P[:, 0] + P[:, 1]) / (2 * DOMAIN) + rng.normal(scale=s, size=n)
    elif dataset == "reg_gauss":
        P = rng.uniform(-DOMAIN, DOMAIN, (n, 2))
        centres = np.array([[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1],
                            [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]], dtype=float)
        d2 = ((P[:, None, :] - centres[None, :, :2]) ** 2).sum(-1)
        t = (centres[:, 2][None, :] * np.exp(-d2 / 2.0)).sum(1) + rng.normal(scale=s, size=n)
    else:  # pragma: no cover - checked by LIMITS
        raise ConfigError(f"unknown data set {dataset!r}")
    return np.clip(P, -DOMAIN, DOMAIN), np.asarray(t, dtype=np.float64)


def features_of(P, names):
    """The feature columns ``names`` of the points ``P`` (N, 2)."""
    x1, x2 = P[:, 0], P[:, 1]
    return np.column_stack([FEATURES[f](x1, x2) for f in names])


def _grid(n):
    c = np.linspace(-DOMAIN, DOMAIN, n)
    g1, g2 = np.meshgrid(c, -c)  # row 0 is the top of the image: x2 = +6
    return np.column_stack([g1.ravel(), g2.ravel()])


def _b64(a):
    return base64.b64encode(np.ascontiguousarray(a, dtype=np.uint8).tobytes()).decode("ascii")


def _quantize(v, scale):
    """``v / scale`` in [-1, 1] as bytes 0..255 (127.5 is 0); ``scale`` > 0 (an array
    of one scale a column, or a number)."""
    q = np.clip(v / np.maximum(scale, 1e-12), -1.0, 1.0)
    return np.rint((q + 1.0) * 127.5).astype(np.uint8)


def _columns(q):
    """Each column of the byte matrix ``q`` in base64."""
    return [_b64(col) for col in np.ascontiguousarray(q.T)]


def _finite(v):
    v = float(v)
    return v if math.isfinite(v) else None


class Engine:
    """The state of one playground page: data, network, optimizer, history.

    Parameters
    ----------
    config : dict, optional
        Settings that differ from :data:`DEFAULTS` (checked by :func:`check_config`).
    """

    def __init__(self, config=None):
        self.config = check_config(config or {})
        self.playing = False
        self.restart()

    # -- set-up ---------------------------------------------------------------------------
    @property
    def task(self):
        return DATASETS[self.config["dataset"]]

    def restart(self):
        """New data, new initial weights (from the seed), a new optimizer, empty history."""
        c = self.config
        P, t = make_points(c["dataset"], c["n_points"], c["noise"], c["seed"])
        n_train = max(2, min(len(P) - 1, round(len(P) * c["train_ratio"] / 100)))
        self.P_train, self.P_test = P[:n_train], P[n_train:]
        self.t_train, self.t_test = t[:n_train], t[n_train:]
        self.X_train = features_of(self.P_train, c["features"])
        self.X_test = features_of(self.P_test, c["features"])
        self.T_train, self.T_test = self.t_train[:, None], self.t_test[:, None]
        self.G = _grid(GRID)
        self.XG = features_of(self.G, c["features"])
        # the neurons' images: every other cell of the grid (GRID = 2 NEURON_GRID - 1)
        cells = np.arange(GRID * GRID).reshape(GRID, GRID)
        self.neuron_cells = cells[::2, ::2].ravel()
        sizes = [len(c["features"]), *c["hidden"], 1]
        if self.task == "classification":
            out, loss = "sigmoid", "binary_cross_entropy"
        else:
            out, loss = "identity", "mse"
        self.net = MLP(sizes, activation=c["activation"], output=out, loss=loss,
                       dtype="float64", seed=self.weights_seed, dropout=c["dropout"],
                       norm=None if c["norm"] == "none" else c["norm"])
        if self.task == "classification":
            self.net.classes_ = np.array([0, 1])
        self.rng = np.random.default_rng([c["seed"], 1])
        self.order, self.cursor = self.rng.permutation(n_train), 0
        self.steps = 0
        self.samples_seen = 0
        self.history = {"step": [], "train": [], "test": [], "delta_norm": [], "grad_norm": []}
        self.new_optimizer()
        self.apply_regularization()
        self.redraw_dead_units()
        self.start_undecided()

    @property
    def weights_seed(self):
        """The seed of the initial weights: ``seed`` alone for the first draw
        (``init_seed`` 0), then one for each draw that *Reset* asks for."""
        c = self.config
        if c["init_seed"] == 0:
            return c["seed"]
        return int(np.random.SeedSequence([c["seed"], c["init_seed"]]).generate_state(1)[0])

    def redraw_dead_units(self):
        """Draw again the initial weights of every hidden unit that is dead from the start.

        A unit whose activation is inactive (``f' = 0``, the activation's own ``inactive``
        rule) on every training point never learns: no gradient reaches its weights. With
        ReLU and inputs as large as the playground's (up to 6, or 36 for x₁²), He
        initialisation leaves such a unit often enough that the default 4-2 network on the
        circle starts with one of its two second-layer units dead, and the other soon
        follows (the loss stays at log 2). Such a unit's incoming weights are drawn again,
        from the activation's own initialisation, up to :data:`REDRAWS` times; the draws are
        seeded, so a set-up still gives the same network every time. Activations that never
        have ``f' = 0`` (tanh, sigmoid, leaky ReLU, ELU, identity) are left as drawn.
        """
        rng = np.random.default_rng([self.weights_seed, 2])
        for _ in range(REDRAWS):
            dead = self.training_sweep()[2]
            if not any(any(layer) for layer in dead):
                return
            for layer, mask in zip(self.dense_layers(), dead):
                if any(mask):
                    W = layer.W.copy()
                    fresh = layer.activation.initial_weights(layer.n_in, layer.n_out, rng,
                                                             W.dtype)
                    W[:, mask] = fresh[:, mask]
                    layer.W = W

    def start_undecided(self):
        """Start the output layer's weights at zero when the hidden units can die (their
        activation has an ``inactive`` rule: ReLU), so that the network's first prediction
        is undecided: p = 0.5 for classification (the loss log 2), 0 for regression.

        Drawn at random, the output weights make the first prediction confidently wrong on
        many points (the playground's inputs are large); the quickest way down the loss is
        then to switch hidden units off, and with Adam's steps of size η per weight a ReLU
        unit is off on every point within tens of steps and never comes back. Starting at
        zero (as a logistic regression does), the hidden layers get no gradient at the
        first step and then one that grows with the output weights, as these learn which
        units to use. Measured over 30 *Reset* draws of the default set-up with ReLU (Adam,
        η = 0.03, 1,500 steps): 6 ended above a loss of 0.2 before, none after. The hidden
        layers keep their own initialisation (they differ, so there is no symmetry to
        break); tanh, sigmoid and the activations without ``f' = 0`` keep the drawn output
        weights, with which they train better.
        """
        *hidden, out = self.dense_layers()
        self.training_sweep()  # every layer's z and a on the training points
        if any(layer.activation.inactive(layer.z, layer.a) is not None for layer in hidden):
            out.W = np.zeros_like(out.W)

    def hint(self):
        """A line about the set-up that the page shows, or None: a network whose hidden
        units are all identity is linear in its inputs, so with x₁ and x₂ alone its
        boundary is a straight line (it cannot learn the circle, XOR or the spiral)."""
        c = self.config
        if c["activation"] == "identity" and c["hidden"] and set(c["features"]) <= {"x1", "x2"}:
            return ("identity hidden units make the whole network linear in x₁ and x₂: its "
                    "boundary is a straight line. Add a feature such as x₁² or x₁x₂, or "
                    "choose another activation, to fit a curve.")
        return None

    def new_optimizer(self):
        c = self.config
        self.optimizer = get_optimizer(c["optimizer"], lr=c["lr"])
        self.schedule = None if c["schedule"] == "constant" else get_schedule(
            c["schedule"], **self._schedule_args())

    def _schedule_args(self):
        lr, name = self.config["lr"], self.config["schedule"]
        return {"step_decay": {"lr": lr, "step_size": 50, "gamma": 0.5},
                "exponential_decay": {"lr": lr, "gamma": 0.99},
                "inverse_scaling": {"lr": lr, "power_t": 0.5}}[name]

    def apply_regularization(self):
        c = self.config
        self.net.l2 = c["reg_rate"] if c["regularization"] == "l2" else 0.0
        self.l1 = c["reg_rate"] if c["regularization"] == "l1" else 0.0

    def update(self, changes):
        """Apply checked ``changes``; returns True when the run started again."""
        new = check_config(changes, self.config)
        changed = {k for k in new if new[k] != self.config[k]}
        old = self.config
        self.config = new
        if changed & RESTART:
            self.restart()
            return True
        if {"optimizer", "schedule"} & changed:
            self.new_optimizer()
        elif "lr" in changed:
            if self.schedule is not None:
                self.new_optimizer()
            else:
                self.optimizer.lr = new["lr"]
        if {"regularization", "reg_rate"} & changed:
            self.apply_regularization()
        if "batch_size" in changed and old["batch_size"] != new["batch_size"]:
            self.cursor = 0
        return False

    # -- training -------------------------------------------------------------------------
    @property
    def batch_size(self):
        n = len(self.X_train)
        bs = min(self.config["batch_size"], n)
        return max(bs, min(self.net.min_training_batch, n))

    @property
    def epoch(self):
        return self.samples_seen / len(self.X_train)

    def step(self, n=1):
        """``n`` mini-batch steps of the optimizer (each: backprop, L1 term, update)."""
        net, X, T = self.net, self.X_train, self.T_train
        bs = self.batch_size
        n = int(n)
        for _ in range(n):
            if self.cursor + bs > len(self.order):
                self.order, self.cursor = self.rng.permutation(len(X)), 0
            idx = self.order[self.cursor:self.cursor + bs]
            self.cursor += bs
            if self.schedule is not None:
                self.optimizer.lr = self.schedule(int(self.epoch))
            with np.errstate(over="ignore", invalid="ignore"):  # reported just below
                J = net.backprop(X[idx], T[idx])
            if not math.isfinite(J):
                self.playing = False
                raise FloatingPointError(
                    f"the loss became {J} at step {self.steps + 1}: the weights left "
                    f"the range of floating point; lower the learning rate and reset")
            if self.l1:
                self.add_l1_gradient()
            self.optimizer.step(net.store)
            self.steps += 1
            self.samples_seen += len(idx)

    def add_l1_gradient(self):
        r"""The gradient of :math:`\lambda_1 \sum_k \lVert W_k\rVert_1`, added to each weight
        matrix's gradient: :math:`\lambda_1\,\mathrm{sign}(W)` (0 at 0, a subgradient).
        The core has the L2 term (``Sequential.l2``); the L1 term is the playground's."""
        for slot in self.net.store.slots:
            if slot.decay:
                W = self.net.store.view(self.net.store.data, slot)
                g = self.net.store.view(self.net.store.grad, slot)
                g += self.l1 * np.sign(W)

    def objective(self, X, T):
        """``J`` as training minimises it: the mean loss plus the L2 and L1 terms."""
        J = self.net.loss(X, T)
        if self.l1:
            J += self.l1 * sum(float(np.abs(self.net.store.view(self.net.store.data, s)).sum())
                               for s in self.net.store.slots if s.decay)
        return J

    def dense_layers(self):
        return [layer for layer in self.net.layers if "W" in layer.parameter_names]

    def training_sweep(self):
        """One forward and backward sweep over the whole training set at the current
        weights (evaluation mode: no dropout mask; the weights are not changed).

        Returns ``(loss, stats, dead)``: the mean loss without the regularisation terms;
        per Dense layer the gradient flow of :func:`deltaprop.diagnostics.layer_statistics`
        (``delta_norm``, the RMS per sample of ‖δ‖, and ``grad_norm``, ‖∂J/∂W‖ with the
        regularisation terms); per hidden layer, whether each unit is dead (inactive,
        f' = 0, for every training point, as the activation defines it).
        """
        net = self.net
        net.backprop(self.X_train, self.T_train, training=False)
        if self.l1:
            self.add_l1_gradient()
        dense = self.dense_layers()
        out = dense[-1]
        per_sample = net.loss_function.per_sample(out.z, out.a, self.T_train,
                                                  net.output_activation)
        stats = [layer_statistics(layer, 1.0 / len(self.X_train)) for layer in dense]
        dead = []
        for layer in dense[:-1]:
            inactive = layer.activation.inactive(layer.z, layer.a)
            dead.append([False] * layer.n_out if inactive is None
                        else np.all(inactive, axis=0).tolist())
        return _finite(per_sample.mean()), stats, dead

    def data_loss(self, X, T):
        """The mean loss without the regularisation terms (what the curves show)."""
        if len(X) == 0:
            return None
        net = self.net
        z, y = net.forward_sweep(X)
        return _finite(net.loss_function.per_sample(z, y, T, net.output_activation).mean())

    # -- what the page draws --------------------------------------------------------------
    def activations_on(self, X):
        """Every hidden unit's output on ``X`` (evaluation mode), one array per Dense
        layer, and the network's output."""
        a, outs = X, []
        for layer in self.net.layers:
            a = layer.forward(a)
            if "W" in layer.parameter_names:
                outs.append(a)
            elif outs:  # a normalisation or dropout after a Dense layer: what the next sees
                outs[-1] = a
        return outs

    def output_image(self, values):
        if self.task == "classification":
            return _quantize(2.0 * values - 1.0, 1.0)
        return _quantize(values, 1.0)

    def frame(self):
        """The numbers of one view update: losses, the boundary image, every neuron's
        image, weights, biases, gradient flow, dead units."""
        train, stats, dead = self.training_sweep()
        test = self.data_loss(self.X_test, self.T_test)
        h = self.history
        if not h["step"] or h["step"][-1] != self.steps:
            h["step"].append(self.steps)
            h["train"].append(train)
            h["test"].append(test)
            h["delta_norm"].append([_finite(s["delta_norm"]) for s in stats])
            h["grad_norm"].append([_finite(s["grad_norm"]) for s in stats])
            if len(h["step"]) > HISTORY_MAX:  # keep every other point of the older half
                for key in h:
                    h[key] = h[key][:HISTORY_MAX // 2:2] + h[key][HISTORY_MAX // 2:]
        # one pass over the grid: the boundary, and every other cell for the neurons
        acts = self.activations_on(self.XG)
        sub = self.neuron_cells
        Xn = self.XG[sub]  # each feature on its own scale, each layer on one scale
        neurons = [_columns(_quantize(Xn, np.abs(Xn).max(axis=0)))]
        for A in acts[:-1]:
            A = A[sub]
            neurons.append(_columns(_quantize(A, max(float(np.abs(A).max()), 1e-12))))
        out_grid = acts[-1][:, 0]
        neurons.append([_b64(self.output_image(out_grid[sub]))])
        dense = self.dense_layers()
        return {
            "type": "frame",
            "step": self.steps,
            "epoch": self.epoch,
            "lr": float(self.optimizer.lr),
            "train_loss": train,
            "test_loss": test,
            "boundary": _b64(self.output_image(out_grid)),
            "grid": GRID,
            "neuron_grid": NEURON_GRID,
            "neurons": neurons,
            "weights": [np.nan_to_num(layer.W).tolist() for layer in dense],
            "biases": [np.nan_to_num(layer.b).tolist() for layer in dense],
            "delta_norm": h["delta_norm"][-1],
            "grad_norm": h["grad_norm"][-1],
            "dead": dead,
            "playing": self.playing,
        }

    def points(self):
        """The data: points and targets of the training and the test set."""
        return {"type": "data", "task": self.task,
                "train": {"P": self.P_train.round(4).tolist(), "t": self.t_train.round(4).tolist()},
                "test": {"P": self.P_test.round(4).tolist(), "t": self.t_test.round(4).tolist()},
                "features": self.config["features"],
                "feature_labels": [FEATURE_LABELS[f] for f in self.config["features"]],
                "sizes": [len(self.config["features"]), *self.config["hidden"], 1],
                "hint": self.hint(),
                "history": self.history}

    # -- explain and export ---------------------------------------------------------------
    def sample(self, split, index):
        """``(x, t, point)`` of one data point (features, target, position)."""
        if split not in ("train", "test"):
            raise ConfigError(f"split must be 'train' or 'test'; got {_shown.repr(split)}")
        X, T, P = ((self.X_train, self.T_train, self.P_train) if split == "train"
                   else (self.X_test, self.T_test, self.P_test))
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(X):
            raise ConfigError(f"index must be an integer in [0, {len(X) - 1}] for the "
                              f"{split} set; got {_shown.repr(index)}")
        return X[index:index + 1], T[index:index + 1], P[index]

    def trace(self, split, index, notation=None):
        """``dp.explain`` of one data point with the current weights."""
        x, t, _ = self.sample(split, index)
        notation = _check_value("notation", notation or self.config["notation"])
        return _explain(self.net, x, t, notation=notation)

    def model_bytes(self):
        """The network as a deltaprop model file (``dp.load`` reads it), as bytes.

        ``deltaprop.io.save`` writes a path, atomically; it writes into a private
        temporary directory that is removed at once."""
        # The data contract of the model file: the input features by name (x1, x1², ...)
        # and the data set they came from.
        self.net.preprocessing_ = None
        self.net.data_info_ = {
            "feature_names": list(self.config["features"]), "target_name": None,
            "task": self.net.task, "source": f"playground:{self.config['dataset']}",
            "split": None, "target_scaling": None}
        self.net.train_state_ = None
        with tempfile.TemporaryDirectory(prefix="deltaprop-playground-") as d:
            path = os.path.join(d, "model.npz")
            _save(self.net, path, include_optimizer=False)
            with open(path, "rb") as f:
                return f.read()

    @staticmethod
    def load_bytes(data):
        """A model file's bytes read back with ``deltaprop.load`` (for the tests)."""
        from ..io import load
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "model.npz")
            with open(path, "wb") as f:
                f.write(data)
            return load(path)

