"""The base both estimators share: parameters, fitting (warm starts, ``partial_fit``, the
validation split of early stopping), and the fitted attributes that are views of ``net_``."""

from __future__ import annotations

import copy
import warnings
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .._validation import check_network_size, check_sample_weight
from ..constraints import ParameterError, validate_params
from ..devices import get_device, to_host
from ..layers import Dense
from ..mlp import MLP
from ..optimizers import FULL_BATCH_OPTIMIZERS, LBFGS, SGD, Adam, get_optimizer
from ..training import TrainingDiverged
from .parameters import (ACTIVATION_ALIASES, CONSTRAINTS, HINTS, SEED_MAX, SKLEARN_OUT_NAMES,
                         SOLVER_PARAMETERS)
from .stopping import LossCurve, StoppingRule, warn_lbfgs_result


def check_stochastic(est):
    """``partial_fit`` exists for the step-by-step optimizers only (scikit-learn's rule)."""
    if est._full_batch():
        raise AttributeError(f"partial_fit is only available for stochastic optimizers. "
                             f"{est.solver if est.optimizer is None else est.optimizer!r} "
                             f"is not stochastic.")
    return True


def check_input(est, X):
    """``X`` validated for the fitted estimator ``est`` (features, dtype of ``net_``; CSR and
    CSC stay sparse); raises NotFittedError before a fit."""
    check_is_fitted(est)
    return validate_data(est, X, reset=False, dtype=est.net_.dtype,
                         accept_sparse=["csr", "csc"])


class BaseMLP(BaseEstimator):
    """Fitting, warm starts, partial_fit and the fitted attributes shared by both estimators."""

    _constraints = CONSTRAINTS

    def __init__(self, *, hidden_layer_sizes, activation, solver, alpha, batch_size,
                 learning_rate, learning_rate_init, power_t, max_iter, shuffle, random_state,
                 tol, verbose, warm_start,
                 momentum, nesterovs_momentum, early_stopping, validation_fraction, beta_1,
                 beta_2, epsilon, n_iter_no_change, loss, optimizer, dtype, dropout, norm,
                 max_fun, device):
        # The defaults are those of the subclasses' signatures (scikit-learn reads those).
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.loss = loss
        self.optimizer = optimizer
        self.dtype = dtype
        self.dropout = dropout
        self.norm = norm
        self.device = device

    # -- fitted attributes that are views of the network ----------------------------------
    @property
    def coefs_(self):
        """list of ndarray: the weight matrices ``W`` (n_in, n_out) of ``net_``'s layers.

        On the CPU the arrays are the network's own (no copies): writing into them changes
        the model; on a device (``device=``) they are NumPy copies. Assigning a list copies
        each matrix into the corresponding layer.
        """
        return [to_host(layer.W) for layer in self._dense_layers()]

    @coefs_.setter
    def coefs_(self, value):
        layers = self._dense_layers()
        if len(value) != len(layers):
            raise ValueError(f"coefs_ needs {len(layers)} arrays, got {len(value)}")
        for layer, W in zip(layers, value):
            layer.W = W

    @property
    def intercepts_(self):
        """list of ndarray: the bias vectors ``b`` (n_out,) of ``net_``'s layers (no copies
        on the CPU, NumPy copies on a device, as :attr:`coefs_`)."""
        return [to_host(layer.b) for layer in self._dense_layers()]

    @intercepts_.setter
    def intercepts_(self, value):
        layers = self._dense_layers()
        if len(value) != len(layers):
            raise ValueError(f"intercepts_ needs {len(layers)} arrays, got {len(value)}")
        for layer, b in zip(layers, value):
            layer.b = b

    def _dense_layers(self):
        """The network's Dense layers (scikit-learn's ``coefs_`` know no other kind)."""
        return [layer for layer in self._net().layers if isinstance(layer, Dense)]

    def _net(self):
        net = self.__dict__.get("net_")
        if net is None:
            raise AttributeError(f"this {type(self).__name__} is not fitted yet")
        return net

    # -- parameters -----------------------------------------------------------------------
    def _settings(self):
        """The validated hyper-parameters, as a dict; raises ValueError naming a bad one.

        Each parameter is checked against the table ``_constraints``, except those that
        the solver (or ``optimizer=``) does not read (``SOLVER_PARAMETERS``).
        """
        unread = {name for solver, names in SOLVER_PARAMETERS.items()
                  if self.optimizer is not None or solver != self.solver for name in names}
        if self.optimizer is not None:
            unread.add("solver")
        validate_params({k: v for k, v in self.get_params(deep=False).items()
                         if k not in unread}, self._constraints,
                        owner=type(self).__name__, hints=HINTS)
        sizes, activation = self.hidden_layer_sizes, self.activation.lower()
        return {
            "hidden": [int(n) for n in ([sizes] if isinstance(sizes, Integral) else sizes)],
            "activation": ACTIVATION_ALIASES.get(activation, activation),
            "alpha": float(self.alpha),
            "max_iter": int(self.max_iter),
            "shuffle": bool(self.shuffle),
            "warm_start": bool(self.warm_start),
            "early_stopping": bool(self.early_stopping),
            "validation_fraction": float(self.validation_fraction),
            "loss": self._loss(),
            "dtype": None if self.dtype is None else np.dtype(self.dtype),
            "dropout": float(self.dropout),
            "norm": self.norm,
            "learning_rate": "constant" if "learning_rate" in unread else self.learning_rate,
            "device": self._device(),
        }

    def _device(self):
        """The :class:`~deltaprop.devices.Device` of ``device``: a ParameterError for a bad
        name, :class:`~deltaprop.devices.DeviceError` when CuPy or the GPU is missing."""
        try:
            return get_device(self.device)
        except ValueError as exc:
            raise ParameterError(f"{type(self).__name__}: {exc}", "device", self.device) from None

    def _full_batch(self):
        """Whether ``solver`` (or ``optimizer``) is a full-batch method (L-BFGS)."""
        opt = self.optimizer
        if opt is None:
            return self.solver == "lbfgs"
        if isinstance(opt, str):
            return opt.lower() in FULL_BATCH_OPTIMIZERS
        return bool(getattr(opt, "full_batch", False))

    def _make_optimizer(self):
        """A new optimizer: a copy of ``optimizer``, one named by ``optimizer`` (with
        ``learning_rate_init``), or one built from ``solver``."""
        if isinstance(self.optimizer, str):
            return get_optimizer(self.optimizer, lr=float(self.learning_rate_init))
        if self.optimizer is not None:
            return copy.deepcopy(self.optimizer)  # the parameter itself is never changed
        if self.solver == "lbfgs":
            return LBFGS(max_fun=int(self.max_fun), tol=float(self.tol))
        if self.solver == "sgd":
            momentum = float(self.momentum)
            return SGD(lr=self.learning_rate_init, momentum=momentum,
                       nesterov=bool(self.nesterovs_momentum) and momentum > 0)
        return Adam(lr=self.learning_rate_init, beta_1=self.beta_1, beta_2=self.beta_2,
                    eps=self.epsilon)

    def _batch_size(self, n_samples):
        if self.batch_size is None:
            return None
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn(f"batch_size={self.batch_size} is larger than the {n_samples} "
                          f"training samples; it is clipped to {n_samples}", UserWarning)
        return min(int(self.batch_size), n_samples)

    # -- fitting ------------------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Train the network on ``(X, y)``; each estimator documents its own targets."""
        return self._fit(X, y, sample_weight, incremental=False)

    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Train for one epoch on ``(X, y)``, continuing the fitted network and optimizer."""
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _fit(self, X, y, sample_weight=None, *, incremental, classes=None):
        s = self._settings()
        full_batch = self._full_batch()
        if full_batch and not s["device"].is_cpu:
            raise ValueError(f"the full-batch L-BFGS solver runs on the CPU (SciPy's L-BFGS-B): "
                             f"device={self.device!r} needs a mini-batch solver ('adam' or "
                             f"'sgd'), or use device=None")
        if full_batch:
            s["early_stopping"] = False  # as in scikit-learn: only for stochastic solvers
        if incremental and s["early_stopping"]:
            raise ValueError("partial_fit does not support early_stopping=True")
        first = "net_" not in self.__dict__ or not (s["warm_start"] or incremental)
        if s["dtype"] is None:  # as the data (float32 stays float32), or as the fitted network
            s["dtype"] = (np.float64, np.float32) if first else self.net_.dtype
        X, y = validate_data(self, X, y, reset=first, dtype=s["dtype"], multi_output=True,
                             y_numeric=not self._is_classifier(), accept_sparse=["csr", "csc"])
        s["dtype"] = X.dtype
        w = check_sample_weight(sample_weight, X.shape[0], s["dtype"])
        T = self._encode_targets(y, first=first, incremental=incremental, classes=classes,
                                 dtype=s["dtype"], sample_weight=w)
        w = self._weigh_classes(y, w, incremental, s["dtype"])
        head = self._head(s["loss"])  # (output activation, deltaprop loss, n_outputs)
        rng = check_random_state(self.random_state)
        if first:
            self._build(X.shape[1], s, head, rng)
        else:
            self._check_same_network(X.shape[1], s, head)
            self.net_.l2 = s["alpha"]
            self.net_.to(s["device"])

        validation = None
        if s["early_stopping"] and not incremental:
            X, T, w, validation = self._split_validation(X, T, y, w, s["validation_fraction"],
                                                         rng)
        elif self.best_loss_ is None:  # early stopping switched off in a warm start
            self.best_loss_ = np.inf

        # A weight of 0 removes the sample: then mini-batches never have a zero weight sum.
        if w is not None and not w.all():
            keep = w > 0
            X, T, w = X[keep], T[keep], w[keep]
        self._check_training_targets(T, incremental)

        history = self._train(X, T, w, s, validation, incremental=incremental,
                              full_batch=full_batch, rng=rng)
        self.n_iter_ = len(history.epoch)
        self.loss_ = self.loss_curve_[-1] if self.loss_curve_ else None
        if history.interrupted:
            warnings.warn("Training interrupted by user.", UserWarning)
        elif full_batch:
            # at the estimator's fit, as scikit-learn's _check_optimize_result
            warn_lbfgs_result(self.net_.train_state_["optimizer"].result, self.n_iter_,
                              s["max_iter"], stacklevel=3)
        elif not incremental and not history.stopped_early and self.n_iter_ == s["max_iter"]:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({s['max_iter']}) reached "
                          f"and the optimization hasn't converged yet.", ConvergenceWarning)
        return self

    def _split_validation(self, X, T, y, w, fraction, rng):
        """Hold out ``fraction`` of the data for early stopping, by scikit-learn's split
        (stratified for single-label classifiers): the training ``X, T, w`` and the validation
        triple ``(X, y, w)``."""
        stratify = y if self._is_classifier() and y.ndim == 1 else None
        if stratify is not None and len(self.classes_) == 2:
            # as scikit-learn, which stratifies on its label-binarized (boolean) targets
            stratify = (y == self.classes_[1])[:, None]
        arrays = (X, T, y) if w is None else (X, T, y, w)
        parts = train_test_split(*arrays, test_size=fraction, random_state=rng,
                                 stratify=stratify)
        X, T, w = parts[0], parts[2], None if w is None else parts[6]
        validation = (parts[1], parts[5], None if w is None else parts[7])
        if validation[0].shape[0] < 2:
            raise ValueError("The validation set is too small: increase "
                             "validation_fraction or the size of the data set")
        if self.validation_scores_ is None:  # early stopping switched on in a warm start
            self.validation_scores_, self.best_validation_score_ = [], -np.inf
        return X, T, w, validation

    def _train(self, X, T, w, s, validation, *, incremental, full_batch, rng):
        """Train ``net_`` (a new optimizer, or one more epoch of the saved one for
        ``partial_fit``) under the stopping rule; returns the History."""
        net = self.net_
        state = getattr(net, "train_state_", None)
        resume = incremental and state is not None
        epochs = state["epoch"] + 1 if resume else (1 if incremental else s["max_iter"])
        if full_batch:
            stopping = LossCurve(self, X.shape[0])
        else:
            stopping = StoppingRule(self, X.shape[0], validation, s["learning_rate"],
                                    score=self._validation_score,
                                    wait=self._no_improvement_count,
                                    best_weights=self._best_weights)
        self._before_training()
        try:
            history = net.fit(X, T, optimizer=None if resume else self._make_optimizer(),
                              epochs=epochs,
                              batch_size=None if full_batch else self._batch_size(X.shape[0]),
                              shuffle=s["shuffle"], callbacks=[stopping],
                              verbose=0, seed=int(rng.randint(SEED_MAX)), resume=resume,
                              sample_weight=w)
        except TrainingDiverged as exc:
            if validation is None:
                raise ValueError(
                    f"Solver produced non-finite parameter weights. The input data may "
                    f"contain large values and need to be preprocessed. ({exc})") from None
            # With early stopping a diverging run ends as scikit-learn's does: the epoch
            # scores NaN, and the best weights seen so far are kept.
            history = exc.history
            self.validation_scores_.append(float("nan"))
            if stopping.best_weights is not None:
                net.restore(stopping.best_weights)
        finally:
            if not full_batch:  # the rule's counters carry over warm starts and partial_fit
                self._no_improvement_count = stopping.wait
                self._best_weights = stopping.best_weights
            self._after_training()
        return history

    def _build(self, n_features, s, head, rng):
        """A new network and the fitted attributes of a first fit."""
        out, loss, n_outputs = head
        sizes = [n_features, *s["hidden"], n_outputs]
        # For scikit-learn's activations, scikit-learn's initialisation, drawn first from
        # the same generator, so that a random_state gives the initial weights scikit-learn's
        # MLP starts from: uniform in ±sqrt(f / (fan_in + fan_out)) for weights and biases,
        # f = 2 for a logistic hidden activation and 6 otherwise (Glorot and Bengio, 2010).
        # deltaprop's other activations keep their own scheme (initial_weights).
        factor = 2.0 if s["activation"] == "sigmoid" else 6.0
        initial = []
        sklearn_activation = s["activation"] in ("identity", "sigmoid", "tanh", "relu")
        # Refused in MLP's words before anything is drawn (the initial weights are float64).
        check_network_size(sizes, s["dtype"], name=f"{type(self).__name__}: layer sizes",
                           float64_copies=1 if sklearn_activation else 0)
        for fan_in, fan_out in zip(sizes, sizes[1:]) if sklearn_activation else ():
            bound = np.sqrt(factor / (fan_in + fan_out))
            initial.append((rng.uniform(-bound, bound, (fan_in, fan_out)),
                            rng.uniform(-bound, bound, fan_out)))
        self.net_ = MLP(sizes, activation=s["activation"], output=out, loss=loss,
                        l2=s["alpha"], dtype=s["dtype"], seed=int(rng.randint(SEED_MAX)),
                        dropout=s["dropout"], norm=s["norm"], device=s["device"])
        for layer, (W, b) in zip(self._dense_layers(), initial):
            layer.W, layer.b = W, b
        self.n_outputs_ = n_outputs
        self.n_layers_ = len(sizes)
        self.out_activation_ = SKLEARN_OUT_NAMES[out]
        self.t_ = 0
        self.loss_curve_ = []
        self._no_improvement_count = 0
        self._best_weights = None
        if s["early_stopping"]:
            self.validation_scores_, self.best_validation_score_ = [], -np.inf
            self.best_loss_ = None
        else:
            self.validation_scores_ = self.best_validation_score_ = None
            self.best_loss_ = np.inf

    def _check_same_network(self, n_features, s, head):
        net = self.net_
        out, loss, n_outputs = head
        sizes = [n_features, *s["hidden"], n_outputs]
        now = (sizes, s["activation"] if s["hidden"] else None, out, loss, s["dtype"],
               s["dropout"] if s["hidden"] else 0.0, s["norm"] if s["hidden"] else None)
        hidden = net.layers[0].activation.name if len(net.layers) > 1 else None
        before = (net.layer_sizes, hidden, net.output_activation.name,
                  net.loss_function.name, net.dtype, net.dropout if len(net.layers) > 1 else 0.0,
                  net.norm if len(net.layers) > 1 else None)
        if now != before:
            what = "warm_start=True" if s["warm_start"] else "partial_fit"
            raise ValueError(
                f"{what} continues the fitted network, but the parameters now ask for "
                f"another one (layer sizes, hidden activation, output, loss, dtype, dropout, norm: "
                f"{now} instead of {before}); fit with warm_start=False to start anew")

    def _before_training(self):
        pass

    def _after_training(self):
        # The layers remember their last batch for inspection; after fit that would keep
        # the caller's training data alive (and in pickles). Forget it.
        for layer in self.net_.layers:
            layer.forget()

    def _is_classifier(self):
        return False

    def _check_training_targets(self, T, incremental):
        pass

    def _weigh_classes(self, y, w, incremental, dtype):
        """The sample weights ``w`` (or None) times the class weights of ``y``'s labels."""
        return w

    # -- what each estimator defines --------------------------------------------------------
    def _loss(self):
        """deltaprop's name of the loss that ``loss`` chooses."""
        raise NotImplementedError

    def _head(self, loss):
        """The network's head for ``loss``: (output activation, deltaprop loss, n_outputs)."""
        raise NotImplementedError

    def _encode_targets(self, y, *, first, incremental, classes, dtype, sample_weight=None):
        """What the network trains on for the targets ``y``."""
        raise NotImplementedError

    def _validation_score(self, X, y, sample_weight):
        """The early-stopping score (accuracy or R²) of ``net_`` on ``(X, y)``."""
        raise NotImplementedError

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # CSR and CSC, never made dense
        return tags

