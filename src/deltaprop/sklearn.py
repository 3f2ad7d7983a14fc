r"""scikit-learn estimators on deltaprop: :class:`MLPClassifier` and :class:`MLPRegressor`.

Thin wrappers: each ``fit`` builds (or reuses) a :class:`deltaprop.MLP`, kept as ``net_``,
and trains it with :meth:`deltaprop.MLP.fit`, the library's one training loop. The wrappers
add what scikit-learn expects around it: input validation, label encoding, the stopping rule
of scikit-learn's MLP, ``partial_fit``, ``warm_start`` and the fitted attributes.

The objective minimised by both estimators, for the ``N`` samples of a mini-batch, is

.. math::

    J = \frac{\sum_n w_n\, \ell(y_n, t_n)}{\sum_n w_n}
        + \frac{\alpha}{2} \sum_k \lVert W_k \rVert_F^2

(``w_n = 1`` without ``sample_weight``). ``alpha`` is **not** divided by the batch size or
by the sum of the weights, unlike scikit-learn's ``alpha``, and ``loss_curve_`` records
this ``J``: the quantity whose gradient the optimizer follows. ``docs/sklearn.md`` lists
every difference from scikit-learn.

This module needs scikit-learn (``pip install "deltaprop[sklearn]"``); ``import deltaprop``
does not import it.
"""

from __future__ import annotations

import copy
import numbers
import warnings

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.model_selection import train_test_split
    from sklearn.utils import check_random_state, column_or_1d
    from sklearn.utils.multiclass import (check_classification_targets, type_of_target,
                                          unique_labels)
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        'deltaprop.sklearn needs scikit-learn >= 1.6 (validate_data, __sklearn_tags__); '
        'install it with: pip install "deltaprop[sklearn]"'
    ) from exc

from ._validation import check_bool, check_int, check_sample_weight
from .activations import ACTIVATIONS
from .network import MLP
from .optimizers import OPTIMIZERS, SGD, Adam, Optimizer, get_optimizer
from .training import Callback

__all__ = ["MLPClassifier", "MLPRegressor"]

#: scikit-learn's names for activations that deltaprop calls otherwise.
_ACTIVATION_ALIASES = {"logistic": "sigmoid"}
#: deltaprop's output activation -> scikit-learn's ``out_activation_`` name.
_SKLEARN_OUT_NAMES = {"sigmoid": "logistic", "softmax": "softmax", "identity": "identity"}
_SOLVERS = ("adam", "sgd")
_LEARNING_RATES = ("constant", "invscaling", "adaptive")
#: The regressor's ``loss``: scikit-learn's name keeps scikit-learn's meaning (half the
#: squared error), so ``"squared_error"`` is deltaprop's ``"half_squared_error"``.
_REGRESSION_LOSSES = {"squared_error": "half_squared_error",
                      "half_squared_error": "half_squared_error", "mse": "mse"}
_CLASSIFICATION_LOSSES = ("log_loss", "cross_entropy")
_SEED_MAX = np.iinfo(np.int32).max


# -- parameter checks ------------------------------------------------------------------------


def _check_number(name, value, low=None, high=None, low_open=False, high_open=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value!r}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {value!r}")
    return float(value)


def _hidden_activation(name):
    """deltaprop's name for a hidden activation given by scikit-learn's or deltaprop's name."""
    valid = sorted({"logistic", *(k for k, cls in ACTIVATIONS.items() if cls.elementwise)})
    if isinstance(name, str):
        key = _ACTIVATION_ALIASES.get(name.lower(), name.lower())
        if key in ACTIVATIONS and ACTIVATIONS[key].elementwise:
            return key
    raise ValueError(f"activation={name!r} is not a hidden-layer activation; valid names "
                     f"are: {', '.join(valid)}")


def _hidden_sizes(value):
    sizes = [value] if isinstance(value, numbers.Integral) else value
    try:
        sizes = list(sizes)
    except TypeError:
        raise ValueError(f"hidden_layer_sizes must be an int or a sequence of ints, "
                         f"got {value!r}") from None
    for n in sizes:
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"hidden_layer_sizes must hold positive integers, got {value!r}")
    return [int(n) for n in sizes]


# -- the stopping rule ------------------------------------------------------------------------


class _StoppingRule(Callback):
    """scikit-learn's stopping rule, as a deltaprop callback.

    After each epoch it appends the epoch's objective to ``loss_curve_`` and counts the
    epochs without improvement: without validation data an epoch improves when its loss
    is below ``best_loss_ - tol``; with validation data (``early_stopping=True``) when
    the validation score is at least ``best_validation_score_ + tol``. Training stops
    when more than ``n_iter_no_change`` epochs in a row did not improve. With validation
    data the weights of the best-scoring epoch are restored at the end.

    The counters live on the estimator, so that they carry over ``warm_start`` and
    ``partial_fit`` calls, as in scikit-learn.

    It also applies scikit-learn's ``learning_rate`` rule of ``solver="sgd"``:
    ``"invscaling"`` sets the rate to ``learning_rate_init / (t_ + 1) ** power_t`` after each
    epoch (``t_`` counts the samples seen), and ``"adaptive"`` divides it by 5 instead of
    stopping, until it falls below 1e-6.
    """

    def __init__(self, estimator, n_train, validation=None, learning_rate="constant"):
        self.est, self.n_train, self.validation = estimator, n_train, validation
        self.learning_rate = learning_rate

    def on_epoch_end(self, epoch, logs=None):
        est = self.est
        loss = float(logs["loss"])
        est.loss_curve_.append(loss)
        est.t_ += self.n_train
        if self.validation is not None:
            score = est._validation_score(*self.validation)
            est.validation_scores_.append(score)
            if est.verbose:
                print(f"Validation score: {score:f}", flush=True)
            if score >= est.best_validation_score_ + est.tol:  # NaN: no improvement
                est._no_improvement_count = 0
            else:
                est._no_improvement_count += 1
            if score > est.best_validation_score_:
                est.best_validation_score_ = float(score)
                est._best_weights = self.trainer.snapshot_weights()
        else:
            if loss > est.best_loss_ - est.tol:
                est._no_improvement_count += 1
            else:
                est._no_improvement_count = 0
            est.best_loss_ = min(est.best_loss_, loss)
        optimizer = self.trainer.net.train_state_["optimizer"]
        if self.learning_rate == "invscaling":
            optimizer.lr = float(est.learning_rate_init) / (est.t_ + 1) ** float(est.power_t)
        if est._no_improvement_count > est.n_iter_no_change:
            if self.learning_rate == "adaptive" and optimizer.lr > 1e-6:
                optimizer.lr /= 5.0
                est._no_improvement_count = 0
                if est.verbose:
                    print(f"Setting learning rate to {optimizer.lr:f}", flush=True)
                return
            self.trainer.stop_training = True
            self.trainer.history.stopped_early = True
            if est.verbose:
                what = "Validation score" if self.validation is not None else "Training loss"
                print(f"{what} did not improve more than tol={est.tol:f} for "
                      f"{est.n_iter_no_change} consecutive epochs. Stopping.", flush=True)

    def on_train_end(self, logs=None):
        if self.validation is not None and self.est._best_weights is not None:
            self.trainer.restore_weights(self.est._best_weights)


# -- the shared base ------------------------------------------------------------------------


class _BaseMLP(BaseEstimator):
    """Fitting, warm starts, partial_fit and the fitted attributes shared by both estimators."""

    def __init__(self, *, hidden_layer_sizes, activation, solver, alpha, batch_size,
                 learning_rate, learning_rate_init, power_t, max_iter, shuffle, random_state,
                 tol, verbose, warm_start,
                 momentum, nesterovs_momentum, early_stopping, validation_fraction, beta_1,
                 beta_2, epsilon, n_iter_no_change, loss, optimizer, dtype):
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
        self.loss = loss
        self.optimizer = optimizer
        self.dtype = dtype

    # -- fitted attributes that are views of the network ----------------------------------
    @property
    def coefs_(self):
        """list of ndarray: the weight matrices ``W`` (n_in, n_out) of ``net_``'s layers.

        The arrays are the network's own (no copies): writing into them changes the model.
        Assigning a list copies each matrix into the corresponding layer.
        """
        return [layer.W for layer in self._net().layers]

    @coefs_.setter
    def coefs_(self, value):
        layers = self._net().layers
        if len(value) != len(layers):
            raise ValueError(f"coefs_ needs {len(layers)} arrays, got {len(value)}")
        for layer, W in zip(layers, value):
            layer.W = W

    @property
    def intercepts_(self):
        """list of ndarray: the bias vectors ``b`` (n_out,) of ``net_``'s layers (no copies)."""
        return [layer.b for layer in self._net().layers]

    @intercepts_.setter
    def intercepts_(self, value):
        layers = self._net().layers
        if len(value) != len(layers):
            raise ValueError(f"intercepts_ needs {len(layers)} arrays, got {len(value)}")
        for layer, b in zip(layers, value):
            layer.b = b

    def _net(self):
        net = self.__dict__.get("net_")
        if net is None:
            raise AttributeError(f"this {type(self).__name__} is not fitted yet")
        return net

    # -- parameters -----------------------------------------------------------------------
    def _settings(self):
        """The validated hyper-parameters, as a dict; raises ValueError naming a bad one."""
        s = {
            "hidden": _hidden_sizes(self.hidden_layer_sizes),
            "activation": _hidden_activation(self.activation),
            "alpha": _check_number("alpha", self.alpha, low=0.0),
            "max_iter": check_int("max_iter", self.max_iter),
            "shuffle": check_bool("shuffle", self.shuffle),
            "tol": _check_number("tol", self.tol, low=0.0),
            "warm_start": check_bool("warm_start", self.warm_start),
            "early_stopping": check_bool("early_stopping", self.early_stopping),
            "validation_fraction": _check_number("validation_fraction",
                                                 self.validation_fraction, 0.0, 1.0,
                                                 low_open=True, high_open=True),
            "loss": self._check_loss(),
        }
        if not (self.n_iter_no_change == np.inf
                or (isinstance(self.n_iter_no_change, numbers.Integral)
                    and not isinstance(self.n_iter_no_change, bool)
                    and self.n_iter_no_change >= 1)):
            raise ValueError(f"n_iter_no_change must be an integer >= 1 or numpy.inf, "
                             f"got {self.n_iter_no_change!r}")
        if not (self.batch_size is None or (isinstance(self.batch_size, str)
                                             and self.batch_size == "auto")):
            if (isinstance(self.batch_size, bool)
                    or not isinstance(self.batch_size, numbers.Integral)
                    or self.batch_size < 1):
                raise ValueError(f"batch_size must be a positive integer, 'auto' or None, "
                                 f"got {self.batch_size!r}")
        if self.dtype not in ("float32", "float64", np.float32, np.float64):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")
        s["dtype"] = np.dtype(self.dtype)
        if isinstance(self.verbose, bool) or not isinstance(self.verbose, numbers.Integral):
            check_bool("verbose", self.verbose)
        _check_number("learning_rate_init", self.learning_rate_init, low=0.0, low_open=True)
        if not (self.optimizer is None or isinstance(self.optimizer, Optimizer)
                or (isinstance(self.optimizer, str) and self.optimizer.lower() in OPTIMIZERS)):
            raise ValueError(f"optimizer must be None, a deltaprop.optimizers.Optimizer "
                             f"instance or one of the names {', '.join(sorted(OPTIMIZERS))}; "
                             f"got {self.optimizer!r}")
        s["learning_rate"] = "constant"
        if self.optimizer is None:
            if self.solver not in _SOLVERS:
                hint = (" (deltaprop trains by mini-batch gradient descent only; L-BFGS is "
                        "not available)" if self.solver == "lbfgs" else "")
                raise ValueError(f"solver={self.solver!r} is not supported{hint}; valid "
                                 f"solvers are 'adam' and 'sgd', or pass a deltaprop "
                                 f"optimizer instance as optimizer=")
            if self.solver == "sgd":
                _check_number("momentum", self.momentum, 0.0, 1.0)
                check_bool("nesterovs_momentum", self.nesterovs_momentum)
                if self.learning_rate not in _LEARNING_RATES:
                    raise ValueError(f"learning_rate={self.learning_rate!r} is not valid; "
                                     f"valid values are: {', '.join(_LEARNING_RATES)}")
                _check_number("power_t", self.power_t, low=0.0)
                s["learning_rate"] = self.learning_rate
            else:
                _check_number("beta_1", self.beta_1, 0.0, 1.0, high_open=True)
                _check_number("beta_2", self.beta_2, 0.0, 1.0, high_open=True)
                _check_number("epsilon", self.epsilon, low=0.0, low_open=True)
        return s

    def _make_optimizer(self):
        """A new optimizer: a copy of ``optimizer``, one named by ``optimizer`` (with
        ``learning_rate_init``), or one built from ``solver``."""
        if isinstance(self.optimizer, str):
            return get_optimizer(self.optimizer, lr=float(self.learning_rate_init))
        if self.optimizer is not None:
            return copy.deepcopy(self.optimizer)  # the parameter itself is never changed
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
    def _fit(self, X, y, sample_weight=None, *, incremental, classes=None):
        s = self._settings()
        if incremental and s["early_stopping"]:
            raise ValueError("partial_fit does not support early_stopping=True")
        first = "net_" not in self.__dict__ or not (s["warm_start"] or incremental)
        X, y = validate_data(self, X, y, reset=first, dtype=s["dtype"], multi_output=True,
                             y_numeric=not self._is_classifier())
        T = self._encode_targets(y, first=first, incremental=incremental, classes=classes,
                                 dtype=s["dtype"])
        w = check_sample_weight(sample_weight, len(X), s["dtype"])
        head = self._head(s["loss"])  # (output activation, deltaprop loss, n_outputs)
        rng = check_random_state(self.random_state)
        if first:
            self._build(X.shape[1], s, head, rng)
        else:
            self._check_same_network(X.shape[1], s, head)
            self.net_.l2 = s["alpha"]

        # the validation split (scikit-learn's: stratified for single-label classifiers)
        validation = None
        if s["early_stopping"] and not incremental:
            stratify = y if self._is_classifier() and y.ndim == 1 else None
            arrays = (X, T, y) if w is None else (X, T, y, w)
            parts = train_test_split(*arrays, test_size=s["validation_fraction"],
                                     random_state=rng, stratify=stratify)
            X, T, w = parts[0], parts[2], None if w is None else parts[6]
            validation = (parts[1], parts[5], None if w is None else parts[7])
            if len(validation[0]) < 2:
                raise ValueError("The validation set is too small: increase "
                                 "validation_fraction or the size of the data set")
            if self.validation_scores_ is None:  # early stopping switched on in a warm start
                self.validation_scores_, self.best_validation_score_ = [], -np.inf
        elif self.best_loss_ is None:  # early stopping switched off in a warm start
            self.best_loss_ = np.inf

        # A weight of 0 removes the sample: then mini-batches never have a zero weight sum.
        if w is not None and not w.all():
            keep = w > 0
            X, T, w = X[keep], T[keep], w[keep]
        self._check_training_targets(T, incremental)

        net = self.net_
        state = getattr(net, "train_state_", None)
        resume = incremental and state is not None
        epochs = state["epoch"] + 1 if resume else (1 if incremental else s["max_iter"])
        stopping = _StoppingRule(self, len(X), validation, s["learning_rate"])
        self._before_training()
        try:
            history = net.fit(X, T, optimizer=None if resume else self._make_optimizer(),
                              epochs=epochs, batch_size=self._batch_size(len(X)),
                              shuffle=s["shuffle"], callbacks=[stopping],
                              verbose=2 if self.verbose else 0,
                              seed=int(rng.randint(_SEED_MAX)), resume=resume,
                              sample_weight=w)
        finally:
            self._after_training()
        self.n_iter_ = len(history.epoch)
        self.loss_ = self.loss_curve_[-1] if self.loss_curve_ else None
        if history.interrupted:
            warnings.warn("Training interrupted by user.", UserWarning)
        elif not incremental and not history.stopped_early and self.n_iter_ == s["max_iter"]:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({s['max_iter']}) reached "
                          f"and the optimization hasn't converged yet.", ConvergenceWarning)
        return self

    def _build(self, n_features, s, head, rng):
        """A new network and the fitted attributes of a first fit."""
        out, loss, n_outputs = head
        sizes = [n_features, *s["hidden"], n_outputs]
        self.net_ = MLP(sizes, activation=s["activation"], output=out, loss=loss,
                        l2=s["alpha"], dtype=s["dtype"], seed=int(rng.randint(_SEED_MAX)))
        self.n_outputs_ = n_outputs
        self.n_layers_ = len(sizes)
        self.out_activation_ = _SKLEARN_OUT_NAMES[out]
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
        now = (sizes, s["activation"] if s["hidden"] else None, out, loss, s["dtype"])
        hidden = net.layers[0].activation.name if len(net.layers) > 1 else None
        before = (net.layer_sizes, hidden, net.output_activation.name,
                  net.loss_function.name, net.dtype)
        if now != before:
            what = "warm_start=True" if s["warm_start"] else "partial_fit"
            raise ValueError(
                f"{what} continues the fitted network, but the parameters now ask for "
                f"another one (layer sizes, hidden activation, output, loss, dtype: "
                f"{now} instead of {before}); fit with warm_start=False to start anew")

    def _before_training(self):
        pass

    def _after_training(self):
        # The layers remember their last batch for inspection; after fit that would keep
        # the caller's training data alive (and in pickles). Forget it.
        for layer in self.net_.layers:
            layer.x = layer.z = layer.a = layer.delta = None

    def _is_classifier(self):
        return False

    def _check_training_targets(self, T, incremental):
        pass

    # -- prediction helpers ----------------------------------------------------------------
    def _validated_X(self, X):
        check_is_fitted(self)
        return validate_data(self, X, reset=False, dtype=self.net_.dtype)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


# -- the classifier ---------------------------------------------------------------------------


class MLPClassifier(ClassifierMixin, _BaseMLP):
    r"""Multi-layer perceptron classifier trained by deltaprop's backpropagation.

    A scikit-learn estimator around :class:`deltaprop.MLP`: ``fit`` builds the network
    (``net_``) and trains it with :meth:`deltaprop.MLP.fit`. Binary problems get one
    sigmoid output unit with binary cross-entropy, multiclass problems a softmax layer with
    cross-entropy, multilabel problems (``y`` a 2-D 0/1 indicator matrix) one sigmoid unit
    per label with binary cross-entropy. The objective of a mini-batch is

    .. math::

        J = \frac{\sum_n w_n \ell(y_n, t_n)}{\sum_n w_n}
            + \frac{\alpha}{2}\sum_k \lVert W_k \rVert_F^2 ,

    with :math:`\ell = -\sum_j t_j \log y_j` (softmax) or
    :math:`\ell = -\sum_j [t_j \log y_j + (1 - t_j)\log(1 - y_j)]` (sigmoid units).

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default=(100,)
        Units of each hidden layer; ``()`` gives a network without hidden layer (logistic
        or softmax regression).
    activation : str, default="relu"
        Hidden-layer activation: scikit-learn's ``"identity"``, ``"logistic"``, ``"tanh"``,
        ``"relu"``, or any elementwise activation of deltaprop (``"sigmoid"``,
        ``"leaky_relu"``, ``"elu"``, ``"softplus"``, ``"silu"``, ``"gelu"``,
        ``"gelu_tanh"``).
    solver : {"adam", "sgd"}, default="adam"
        ``"adam"`` is :class:`deltaprop.optimizers.Adam` with ``learning_rate_init``,
        ``beta_1``, ``beta_2``, ``epsilon``; ``"sgd"`` is
        :class:`deltaprop.optimizers.SGD` with ``learning_rate_init``, ``momentum`` and
        ``nesterovs_momentum``. ``"lbfgs"`` is not available. Ignored when ``optimizer``
        is given.
    alpha : float, default=0.0001
        :math:`\alpha \ge 0` in the objective above. It is not divided by the batch size
        (scikit-learn's ``alpha`` is): scikit-learn's ``alpha=a`` with batches of ``B``
        samples corresponds to ``alpha=a / B`` here.
    batch_size : int, "auto" or None, default="auto"
        Samples per gradient step: ``"auto"`` is ``min(200, n_samples)``, ``None`` the
        full batch (gradient descent); larger values are clipped to ``n_samples``.
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        scikit-learn's learning-rate rule for ``solver="sgd"`` (ignored otherwise):
        ``"invscaling"`` uses ``learning_rate_init / (t_ + 1) ** power_t`` after each epoch,
        ``"adaptive"`` divides the rate by 5 whenever the stopping rule would stop, until
        it is below 1e-6.
    learning_rate_init : float, default=0.001
        Learning rate of the ``solver`` (or of a named ``optimizer``).
    power_t : float, default=0.5
        Exponent of ``learning_rate="invscaling"``.
    max_iter : int, default=200
        Largest number of epochs (passes over the training data) of one ``fit``.
    shuffle : bool, default=True
        Visit the samples in a new random order each epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the validation split and the order of the samples.
    tol : float, default=1e-4
        An epoch improves when its training loss is below the best loss so far minus
        ``tol`` (or, with ``early_stopping``, its validation accuracy is at least the best
        so far plus ``tol``).
    verbose : bool or int, default=False
        Print one line per epoch.
    warm_start : bool, default=False
        ``fit`` continues from the fitted network (with a new optimizer) instead of
        starting anew; ``loss_curve_`` and the stopping counters carry on.
    momentum : float, default=0.9
        Momentum of ``solver="sgd"``, in ``[0, 1]``.
    nesterovs_momentum : bool, default=True
        Nesterov momentum for ``solver="sgd"`` (when ``momentum > 0``).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified), stop when the
        validation accuracy has not improved by ``tol`` for more than ``n_iter_no_change``
        epochs, and keep the weights of the best epoch.
    validation_fraction : float, default=0.1
        Fraction of the data held out with ``early_stopping``, in ``(0, 1)``.
    beta_1, beta_2 : float, default=0.9, 0.999
        Decay rates of Adam's moment estimates, in ``[0, 1)``.
    epsilon : float, default=1e-8
        Adam's :math:`\epsilon`, added to the bias-corrected :math:`\sqrt{v}`.
    n_iter_no_change : int or numpy.inf, default=10
        Largest number of epochs in a row that may miss the ``tol`` improvement.
    loss : {"log_loss", "cross_entropy"}, default="log_loss"
        ``"log_loss"`` chooses the output as scikit-learn does (one sigmoid unit with binary
        cross-entropy for two classes, softmax with cross-entropy for more, one sigmoid
        unit per label for multilabel targets); ``"cross_entropy"`` always uses a softmax
        layer with one unit per class (not for multilabel targets).
    optimizer : str, deltaprop.optimizers.Optimizer or None, default=None
        Overrides ``solver``. A name (``"sgd"``, ``"momentum"``, ``"nesterov"``,
        ``"adagrad"``, ``"rmsprop"``, ``"adam"``, ``"adamw"``) gives that optimizer with
        ``lr=learning_rate_init`` and its own defaults otherwise; an instance
        (``RMSProp(alpha=0.9)``, ``SGD(clip_norm=1.0)``, ...) is copied for each ``fit``.
        ``solver``, ``learning_rate``, ``momentum``, ``nesterovs_momentum``, ``beta_1``,
        ``beta_2`` and ``epsilon`` are then ignored.
    dtype : {"float64", "float32"}, default="float64"
        Floating-point type of the network and of the data it is given.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels (for multilabel targets ``0 .. n_labels - 1``).
    net_ : deltaprop.MLP
        The trained network; ``net_.classes_`` is ``classes_``.
    coefs_ : list of ndarray
        Weight matrices ``W`` of shape ``(n_in, n_out)``, the arrays of ``net_``.
    intercepts_ : list of ndarray
        Bias vectors of shape ``(n_out,)``, the arrays of ``net_``.
    loss_ : float
        The objective ``J`` of the last epoch.
    loss_curve_ : list of float
        ``J`` of each epoch (the mean over the epoch's mini-batches, weighted by their
        sizes), across ``warm_start`` and ``partial_fit`` calls.
    best_loss_ : float or None
        Smallest training loss so far (None with ``early_stopping``).
    validation_scores_ : list of float or None
        Validation accuracy of each epoch with ``early_stopping``, else None.
    best_validation_score_ : float or None
        Best validation accuracy with ``early_stopping``, else None.
    n_iter_ : int
        Epochs run by the last ``fit`` (1 for ``partial_fit``).
    t_ : int
        Training samples seen by the optimizer, over all calls.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features, when ``X`` had string column names.
    n_layers_ : int
        Number of layers, input and output included.
    n_outputs_ : int
        Number of output units.
    out_activation_ : str
        ``"logistic"`` or ``"softmax"`` (scikit-learn's names).

    See Also
    --------
    MLPRegressor : The regressor.
    deltaprop.MLP : The network itself, with the full training API.

    Notes
    -----
    ``docs/sklearn.md`` lists the differences from
    :class:`sklearn.neural_network.MLPClassifier`: ``alpha`` is not rescaled by the batch
    size, the initial weights follow deltaprop (He for the ReLU family, Glorot otherwise,
    zero biases), zero sample weights remove their samples, and there is no ``lbfgs`` and
    no sparse input.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from deltaprop.sklearn import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01,
    ...                     max_iter=300, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:1]).shape
    (1, 3)
    >>> bool(clf.score(X, y) > 0.9)
    True
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, loss="log_loss", optimizer=None, dtype="float64"):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
            alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t,
            max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol,
            verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, loss=loss,
            optimizer=optimizer, dtype=dtype)

    def fit(self, X, y, sample_weight=None):
        """Train the network on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels (numbers or strings), or a 0/1 indicator matrix for multilabel
            classification. At least two classes are needed.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples' losses; an integer weight ``k`` equals
            ``k`` copies of the sample, and ``0`` removes it.

        Returns
        -------
        self : MLPClassifier
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Train for one epoch on ``(X, y)``, continuing the fitted network and optimizer.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data of this step.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, which need not cover all ``classes``.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples' losses.
        classes : array-like of shape (n_classes,), default=None
            All the labels of the problem: required on the first call (except for
            multilabel indicator targets), and if given later, equal to ``classes_``.

        Returns
        -------
        self : MLPClassifier
            The updated estimator.
        """
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_`` (for multilabel targets, the
            probability of each label).
        """
        X = self._validated_X(X)
        return self.net_.predict_proba(X)

    def predict_log_proba(self, X):
        """Logarithm of the class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            ``log(predict_proba(X))``.
        """
        proba = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(proba, out=proba)

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            The most probable class of each sample, or the 0/1 indicator matrix (threshold
            0.5) for multilabel targets.
        """
        return self._decode(self.predict_proba(X))

    # -- internals ---------------------------------------------------------------------------
    def _is_classifier(self):
        return True

    def _check_loss(self):
        if not isinstance(self.loss, str) or self.loss not in _CLASSIFICATION_LOSSES:
            raise ValueError(f"loss={self.loss!r} is not a classification loss; valid "
                             f"losses are: {', '.join(_CLASSIFICATION_LOSSES)}")
        return self.loss

    def _head(self, loss):
        n_classes = len(self.classes_)
        if self._multilabel:
            if loss == "cross_entropy":
                raise ValueError("loss='cross_entropy' needs one label per sample; use "
                                 "loss='log_loss' for multilabel targets")
            return "sigmoid", "binary_cross_entropy", n_classes
        if n_classes == 2 and loss == "log_loss":
            return "sigmoid", "binary_cross_entropy", 1
        return "softmax", "cross_entropy", n_classes

    def _decode(self, proba):
        if self._multilabel:
            return (proba > 0.5).astype(np.int64)
        return self.classes_[np.argmax(proba, axis=1)]

    def _encode_targets(self, y, *, first, incremental, classes, dtype):
        """Sets ``classes_`` on a first fit; returns what the network trains on: class
        indices into ``classes_``, or the indicator matrix for multilabel targets."""
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        kind = type_of_target(y)
        multilabel = kind == "multilabel-indicator"
        if kind not in ("binary", "multiclass", "multilabel-indicator"):
            raise ValueError(f"MLPClassifier supports binary, multiclass and multilabel-"
                             f"indicator targets, got {kind!r}")
        if first:
            if multilabel:
                new_classes = np.arange(y.shape[1])
            elif incremental:
                if classes is None:
                    raise ValueError("classes must be passed on the first call to "
                                     "partial_fit")
                new_classes = unique_labels(classes)
            else:
                new_classes = unique_labels(y)
            if len(new_classes) < 2 and not multilabel:
                raise ValueError(f"MLPClassifier needs samples of at least 2 classes, but "
                                 f"the data contain only one class: {new_classes[0]!r}")
            self.classes_, self._multilabel = new_classes, multilabel
        else:
            if multilabel != self._multilabel or (multilabel
                                                  and y.shape[1] != len(self.classes_)):
                raise ValueError(f"y is {kind!r} with shape {y.shape}, but the estimator "
                                 f"was fitted on other targets")
            if incremental and classes is not None and not np.array_equal(
                    unique_labels(classes), self.classes_):
                raise ValueError(f"classes={classes!r} is not the same as on the first "
                                 f"call, which was: {self.classes_!r}")
        if multilabel:
            return y.astype(dtype)
        labels = unique_labels(y)
        if not first and self.warm_start and not incremental and not np.array_equal(
                labels, self.classes_):
            raise ValueError(f"warm_start can only be used where y has the same classes as "
                             f"in the previous call to fit. Previously got {self.classes_}, "
                             f"y has {labels}")
        unknown = np.setdiff1d(labels, self.classes_)
        if len(unknown):
            raise ValueError(f"y has classes not in classes_: {unknown}; classes_ is "
                             f"{self.classes_}")
        return np.searchsorted(self.classes_, y)

    def _check_training_targets(self, T, incremental):
        # With sample weights, the samples left for training may be of one class only.
        if not incremental and not self._multilabel and np.all(T == T[0]):
            raise ValueError(f"MLPClassifier needs samples of at least 2 classes with a "
                             f"non-zero sample_weight, but only one class, "
                             f"{self.classes_[T[0]]!r}, is left")

    def _before_training(self):
        # The network trains on class indices; it returns labels between fits.
        self.net_.classes_ = np.arange(len(self.classes_))

    def _after_training(self):
        self.net_.classes_ = self.classes_
        super()._after_training()

    def _validation_score(self, X, y, sample_weight):
        y_pred = self._decode(self.net_.predict_proba(X))
        return float(accuracy_score(y, y_pred, sample_weight=sample_weight))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = self.loss != "cross_entropy"  # softmax: one label
        return tags


# -- the regressor ----------------------------------------------------------------------------


class MLPRegressor(RegressorMixin, _BaseMLP):
    r"""Multi-layer perceptron regressor trained by deltaprop's backpropagation.

    A scikit-learn estimator around :class:`deltaprop.MLP` with an identity output layer:
    ``fit`` builds the network (``net_``) and trains it with :meth:`deltaprop.MLP.fit`.
    With the default loss the objective of a mini-batch is

    .. math::

        J = \frac{\sum_n w_n\, \tfrac12 \lVert y_n - t_n \rVert^2}{\sum_n w_n}
            + \frac{\alpha}{2}\sum_k \lVert W_k \rVert_F^2 ,

    the half squared error summed over the outputs. For one output its data term is the
    loss that scikit-learn reports; for several outputs it is the loss whose gradient
    scikit-learn follows, while scikit-learn reports that loss divided by the number of
    outputs (scikit-learn issue 8349). ``loss_curve_`` records this ``J``, so that it is
    the function whose gradient the optimizer follows.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default=(100,)
        Units of each hidden layer; ``()`` gives a linear model.
    activation : str, default="relu"
        Hidden-layer activation: scikit-learn's ``"identity"``, ``"logistic"``, ``"tanh"``,
        ``"relu"``, or any elementwise activation of deltaprop (``"sigmoid"``,
        ``"leaky_relu"``, ``"elu"``, ``"softplus"``, ``"silu"``, ``"gelu"``,
        ``"gelu_tanh"``).
    solver : {"adam", "sgd"}, default="adam"
        ``"adam"`` is :class:`deltaprop.optimizers.Adam` with ``learning_rate_init``,
        ``beta_1``, ``beta_2``, ``epsilon``; ``"sgd"`` is
        :class:`deltaprop.optimizers.SGD` with ``learning_rate_init``, ``momentum`` and
        ``nesterovs_momentum``. ``"lbfgs"`` is not available. Ignored when ``optimizer``
        is given.
    alpha : float, default=0.0001
        :math:`\alpha \ge 0` in the objective above. It is not divided by the batch size
        (scikit-learn's ``alpha`` is): scikit-learn's ``alpha=a`` with batches of ``B``
        samples corresponds to ``alpha=a / B`` here.
    batch_size : int, "auto" or None, default="auto"
        Samples per gradient step: ``"auto"`` is ``min(200, n_samples)``, ``None`` the
        full batch (gradient descent); larger values are clipped to ``n_samples``.
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        scikit-learn's learning-rate rule for ``solver="sgd"`` (ignored otherwise):
        ``"invscaling"`` uses ``learning_rate_init / (t_ + 1) ** power_t`` after each epoch,
        ``"adaptive"`` divides the rate by 5 whenever the stopping rule would stop, until
        it is below 1e-6.
    learning_rate_init : float, default=0.001
        Learning rate of the ``solver`` (or of a named ``optimizer``).
    power_t : float, default=0.5
        Exponent of ``learning_rate="invscaling"``.
    max_iter : int, default=200
        Largest number of epochs (passes over the training data) of one ``fit``.
    shuffle : bool, default=True
        Visit the samples in a new random order each epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the validation split and the order of the samples.
    tol : float, default=1e-4
        An epoch improves when its training loss is below the best loss so far minus
        ``tol`` (or, with ``early_stopping``, its validation R² is at least the best so
        far plus ``tol``).
    verbose : bool or int, default=False
        Print one line per epoch.
    warm_start : bool, default=False
        ``fit`` continues from the fitted network (with a new optimizer) instead of
        starting anew; ``loss_curve_`` and the stopping counters carry on.
    momentum : float, default=0.9
        Momentum of ``solver="sgd"``, in ``[0, 1]``.
    nesterovs_momentum : bool, default=True
        Nesterov momentum for ``solver="sgd"`` (when ``momentum > 0``).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data, stop when the validation
        R² has not improved by ``tol`` for more than ``n_iter_no_change`` epochs, and keep
        the weights of the best epoch.
    validation_fraction : float, default=0.1
        Fraction of the data held out with ``early_stopping``, in ``(0, 1)``.
    beta_1, beta_2 : float, default=0.9, 0.999
        Decay rates of Adam's moment estimates, in ``[0, 1)``.
    epsilon : float, default=1e-8
        Adam's :math:`\epsilon`, added to the bias-corrected :math:`\sqrt{v}`.
    n_iter_no_change : int or numpy.inf, default=10
        Largest number of epochs in a row that may miss the ``tol`` improvement.
    loss : {"squared_error", "half_squared_error", "mse"}, default="squared_error"
        The per-sample loss :math:`\ell`. ``"squared_error"`` keeps scikit-learn's meaning,
        half the squared error :math:`\tfrac12\lVert y - t\rVert^2` summed over the
        outputs, and is deltaprop's ``"half_squared_error"``; ``"mse"`` is deltaprop's
        :math:`\tfrac{1}{n_K}\lVert y - t\rVert^2` (mean over the ``n_K`` outputs).
        scikit-learn's ``"poisson"`` is not available.
    optimizer : str, deltaprop.optimizers.Optimizer or None, default=None
        Overrides ``solver``. A name (``"sgd"``, ``"momentum"``, ``"nesterov"``,
        ``"adagrad"``, ``"rmsprop"``, ``"adam"``, ``"adamw"``) gives that optimizer with
        ``lr=learning_rate_init`` and its own defaults otherwise; an instance
        (``RMSProp(alpha=0.9)``, ``SGD(clip_norm=1.0)``, ...) is copied for each ``fit``.
        ``solver``, ``learning_rate``, ``momentum``, ``nesterovs_momentum``, ``beta_1``,
        ``beta_2`` and ``epsilon`` are then ignored.
    dtype : {"float64", "float32"}, default="float64"
        Floating-point type of the network and of the data it is given.

    Attributes
    ----------
    net_ : deltaprop.MLP
        The trained network.
    coefs_ : list of ndarray
        Weight matrices ``W`` of shape ``(n_in, n_out)``, the arrays of ``net_``.
    intercepts_ : list of ndarray
        Bias vectors of shape ``(n_out,)``, the arrays of ``net_``.
    loss_ : float
        The objective ``J`` of the last epoch.
    loss_curve_ : list of float
        ``J`` of each epoch (the mean over the epoch's mini-batches, weighted by their
        sizes), across ``warm_start`` and ``partial_fit`` calls.
    best_loss_ : float or None
        Smallest training loss so far (None with ``early_stopping``).
    validation_scores_ : list of float or None
        Validation R² of each epoch with ``early_stopping``, else None.
    best_validation_score_ : float or None
        Best validation R² with ``early_stopping``, else None.
    n_iter_ : int
        Epochs run by the last ``fit`` (1 for ``partial_fit``).
    t_ : int
        Training samples seen by the optimizer, over all calls.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features, when ``X`` had string column names.
    n_layers_ : int
        Number of layers, input and output included.
    n_outputs_ : int
        Number of outputs.
    out_activation_ : str
        ``"identity"``.

    See Also
    --------
    MLPClassifier : The classifier.
    deltaprop.MLP : The network itself, with the full training API.

    Notes
    -----
    ``docs/sklearn.md`` lists the differences from
    :class:`sklearn.neural_network.MLPRegressor`: the loss reported equals the loss
    trained, ``alpha`` is not rescaled by the batch size, the initial weights follow
    deltaprop, zero sample weights remove their samples, and there is no ``lbfgs``, no
    ``poisson`` loss and no sparse input.

    Examples
    --------
    >>> import numpy as np
    >>> from deltaprop.sklearn import MLPRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, size=(200, 2))
    >>> y = X[:, 0] ** 2 + X[:, 1]
    >>> reg = MLPRegressor(hidden_layer_sizes=(32,), learning_rate_init=0.01,
    ...                    max_iter=500, random_state=0).fit(X, y)
    >>> bool(reg.score(X, y) > 0.9)
    True
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, loss="squared_error", optimizer=None,
                 dtype="float64"):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
            alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t,
            max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol,
            verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, loss=loss,
            optimizer=optimizer, dtype=dtype)

    def fit(self, X, y, sample_weight=None):
        """Train the network on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples' losses; an integer weight ``k`` equals
            ``k`` copies of the sample, and ``0`` removes it.

        Returns
        -------
        self : MLPRegressor
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def partial_fit(self, X, y, sample_weight=None):
        """Train for one epoch on ``(X, y)``, continuing the fitted network and optimizer.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data of this step.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples' losses.

        Returns
        -------
        self : MLPRegressor
            The updated estimator.
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The network outputs (1-D for one output).
        """
        X = self._validated_X(X)
        return self.net_.predict(X)

    # -- internals ---------------------------------------------------------------------------
    def _check_loss(self):
        if not isinstance(self.loss, str) or self.loss not in _REGRESSION_LOSSES:
            raise ValueError(f"loss={self.loss!r} is not a regression loss of this estimator; "
                             f"valid losses are: {', '.join(_REGRESSION_LOSSES)}")
        return _REGRESSION_LOSSES[self.loss]

    def _head(self, loss):
        return "identity", loss, self._n_targets

    def _encode_targets(self, y, *, first, incremental, classes, dtype):
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        n_targets = 1 if y.ndim == 1 else y.shape[1]
        if first:
            self._n_targets = n_targets
        elif n_targets != self._n_targets:
            raise ValueError(f"y has {n_targets} outputs, but the estimator was fitted "
                             f"with {self._n_targets}")
        return y.astype(dtype, copy=False)

    def _validation_score(self, X, y, sample_weight):
        y_pred = self.net_.predict(X)
        if not np.isfinite(y_pred).all():
            return np.nan
        return float(r2_score(y, y_pred, sample_weight=sample_weight))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
