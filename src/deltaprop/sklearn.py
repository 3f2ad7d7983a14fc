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
import inspect
import textwrap
import warnings
from numbers import Integral, Real
from string import Template

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.model_selection import train_test_split
    from sklearn.utils import check_random_state, column_or_1d
    from sklearn.utils.metaestimators import available_if
    from sklearn.utils.class_weight import compute_sample_weight
    from sklearn.utils.multiclass import (check_classification_targets, type_of_target,
                                          unique_labels)
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        'deltaprop.sklearn needs scikit-learn >= 1.6 (validate_data, __sklearn_tags__); '
        'install it with: pip install "deltaprop[sklearn]"'
    ) from exc

from ._validation import check_network_size, check_sample_weight
from .activations import ACTIVATIONS
from .losses import get_loss
from .constraints import (Boolean, Interval, Options, ParameterError, SequenceOf, StrOptions,
                          validate_params)
from .devices import Device, get_device, to_host
from .improvement import Improvement
from .layers import Dense
from .mlp import MLP
from .tasks import default_head
from .optimizers import (FULL_BATCH_OPTIMIZERS, LBFGS, OPTIMIZERS, SGD, Adam, Optimizer,
                         get_optimizer)
from .schedules import InverseScaling
from .training import Callback, TrainingDiverged

__all__ = ["MLPClassifier", "MLPRegressor"]

#: scikit-learn's names for activations that deltaprop calls otherwise.
_ACTIVATION_ALIASES = {"logistic": "sigmoid"}
#: deltaprop's output activation -> scikit-learn's ``out_activation_`` name.
_SKLEARN_OUT_NAMES = {"sigmoid": "logistic", "softmax": "softmax", "identity": "identity",
                      "exponential": "exp"}
_SOLVERS = ("adam", "sgd", "lbfgs")
_LEARNING_RATES = ("constant", "invscaling", "adaptive")
#: The parameters that only one solver reads: they are checked only when that solver is
#: used. With ``optimizer=`` given, neither these nor ``solver`` are read or checked.
_SOLVER_PARAMETERS = {"sgd": ("learning_rate", "power_t", "momentum", "nesterovs_momentum"),
                      "adam": ("beta_1", "beta_2", "epsilon"),
                      "lbfgs": ("max_fun",)}
#: The regressor's ``loss``: scikit-learn's name keeps scikit-learn's meaning (half the
#: squared error), so ``"squared_error"`` is deltaprop's ``"half_squared_error"``.
_REGRESSION_LOSSES = {"squared_error": "half_squared_error",
                      "half_squared_error": "half_squared_error", "mse": "mse",
                      "poisson": "poisson"}
_CLASSIFICATION_LOSSES = ("log_loss", "cross_entropy")
_SEED_MAX = np.iinfo(np.int32).max


# -- what the parameters accept -----------------------------------------------------------------


def _hidden_activation_names():
    """scikit-learn's names and every elementwise activation of deltaprop's registry."""
    return sorted({*_ACTIVATION_ALIASES,
                   *(name for name, cls in ACTIVATIONS.items()
                     if cls.elementwise and not cls.output_only)})


def _dtype_name(value):
    """The name of a NumPy type or dtype (``np.float32`` -> ``"float32"``); other values as
    they are."""
    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, type) and issubclass(value, np.generic):
        return value.__name__
    return value


_POSITIVE_INT = Interval(Integral, 1, None, closed="left")
_NON_NEGATIVE = Interval(Real, 0, None, closed="left")
_POSITIVE = Interval(Real, 0, None, closed="neither")

#: What each parameter accepts (deltaprop.constraints); each estimator adds its ``loss``
#: (and the classifier its ``class_weight``).
#: ``random_state`` is scikit-learn's ``check_random_state``'s to check.
_CONSTRAINTS = {
    "hidden_layer_sizes": [_POSITIVE_INT, SequenceOf(_POSITIVE_INT)],
    "activation": [StrOptions(_hidden_activation_names, ignore_case=True)],
    "solver": [StrOptions(_SOLVERS)],
    "alpha": [_NON_NEGATIVE],
    "batch_size": [_POSITIVE_INT, Options(["auto"]), None],
    "learning_rate": [StrOptions(_LEARNING_RATES)],
    "learning_rate_init": [_POSITIVE],
    "power_t": [_NON_NEGATIVE],
    "max_iter": [_POSITIVE_INT],
    "shuffle": [Boolean()],
    "tol": [_NON_NEGATIVE],
    "verbose": [Interval(Integral, None, None, closed="neither"), Boolean()],
    "warm_start": [Boolean()],
    "momentum": [Interval(Real, 0, 1, closed="both")],
    "nesterovs_momentum": [Boolean()],
    "early_stopping": [Boolean()],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "beta_1": [Interval(Real, 0, 1, closed="left")],
    "beta_2": [Interval(Real, 0, 1, closed="left")],
    "epsilon": [_POSITIVE],
    "n_iter_no_change": [_POSITIVE_INT, Options([np.inf])],
    "max_fun": [_POSITIVE_INT],
    "optimizer": [None, Optimizer,
                  StrOptions(lambda: sorted({*OPTIMIZERS, *FULL_BATCH_OPTIMIZERS}),
                             ignore_case=True)],
    "dtype": [None, Options(["float32", "float64"], key=_dtype_name)],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "norm": [None, StrOptions(("batch", "layer"))],
    "device": [None, str, Device],  # the name is checked by get_device in fit
}
_HINTS = {"solver": "scikit-learn's solvers 'adam', 'sgd' and 'lbfgs', or any deltaprop "
                    "optimizer given as optimizer="}


# -- the docstrings: each shared parameter and attribute described once -------------------------

#: name -> (type, description) of the parameters both estimators share; the default is read
#: from the signature. ``$score``, ``$no_hidden`` and ``$stratified`` are filled per estimator.
_PARAMETER_DOCS = {
    "hidden_layer_sizes": ("int or sequence of int",
                           "Units of each hidden layer; ``()`` gives $no_hidden."),
    "activation": ("str",
                   'Hidden-layer activation: scikit-learn\'s ``"identity"``, ``"logistic"``, '
                   '``"tanh"``, ``"relu"``, or any elementwise activation of deltaprop '
                   '(``"sigmoid"``, ``"leaky_relu"``, ``"elu"``, ``"softplus"``, ``"silu"``, '
                   '``"gelu"``, ``"gelu_tanh"``), in any case.'),
    "solver": ('{"adam", "sgd", "lbfgs"}',
               '``"adam"`` is :class:`deltaprop.optimizers.Adam` with ``learning_rate_init``, '
               '``beta_1``, ``beta_2``, ``epsilon``; ``"sgd"`` is '
               ':class:`deltaprop.optimizers.SGD` with ``learning_rate_init``, ``momentum`` '
               'and ``nesterovs_momentum``; ``"lbfgs"`` is :class:`deltaprop.optimizers.LBFGS` '
               '(SciPy\'s L-BFGS-B on the whole training set, for small data sets) with '
               '``max_fun`` and ``tol``: each epoch is one iteration, and ``batch_size``, '
               '``shuffle``, ``early_stopping`` and ``n_iter_no_change`` are ignored, as in '
               'scikit-learn. Ignored when ``optimizer`` is given.'),
    "alpha": ("float",
              r":math:`\alpha \ge 0` in the objective above. It is not divided by the batch "
              "size (scikit-learn's ``alpha`` is): scikit-learn's ``alpha=a`` with batches of "
              "``B`` samples corresponds to ``alpha=a / B`` here."),
    "batch_size": ('int, "auto" or None',
                   'Samples per gradient step: ``"auto"`` is ``min(200, n_samples)``, '
                   '``None`` the full batch (gradient descent); larger values are clipped to '
                   '``n_samples``.'),
    "learning_rate": ('{"constant", "invscaling", "adaptive"}',
                      'scikit-learn\'s learning-rate rule for ``solver="sgd"`` (ignored '
                      'otherwise): ``"invscaling"`` uses ``learning_rate_init / (t_ + 1) ** '
                      'power_t`` after each epoch (:class:`deltaprop.schedules.InverseScaling` '
                      'at ``t_``), ``"adaptive"`` divides the rate by 5 whenever the stopping '
                      'rule would stop, until it is below 1e-6.'),
    "learning_rate_init": ("float",
                           "Learning rate of the ``solver`` (or of a named ``optimizer``), "
                           "> 0."),
    "power_t": ("float", 'Exponent of ``learning_rate="invscaling"``, >= 0.'),
    "max_iter": ("int",
                 "Largest number of epochs (passes over the training data) of one ``fit``."),
    "shuffle": ("bool", "Visit the samples in a new random order each epoch."),
    "random_state": ("int, RandomState instance or None",
                     "Seeds the initial weights, the validation split and the order of the "
                     "samples."),
    "tol": ("float",
            "An epoch improves when its training loss is at most the best loss so far minus "
            "``tol`` (or, with ``early_stopping``, its validation $score is at least the best "
            "so far plus ``tol``). With ``solver=\"lbfgs\"``, L-BFGS stops when the largest "
            "gradient component is at most ``tol`` (SciPy's ``gtol``)."),
    "verbose": ("bool or int", "Print one line per epoch."),
    "warm_start": ("bool",
                   "``fit`` continues from the fitted network (with a new optimizer) instead "
                   "of starting anew; ``loss_curve_`` and the stopping counters carry on."),
    "momentum": ("float", 'Momentum of ``solver="sgd"``, in ``[0, 1]``.'),
    "nesterovs_momentum": ("bool",
                           'Nesterov momentum for ``solver="sgd"`` (when ``momentum > 0``).'),
    "early_stopping": ("bool",
                       "Hold out ``validation_fraction`` of the training data$stratified, stop "
                       "when the validation $score has not improved by ``tol`` for more than "
                       "``n_iter_no_change`` epochs, and keep the weights of the best epoch."),
    "validation_fraction": ("float",
                            "Fraction of the data held out with ``early_stopping``, in "
                            "``(0, 1)``."),
    "beta_1": ("float", "Decay rate of Adam's first-moment estimate, in ``[0, 1)``."),
    "beta_2": ("float", "Decay rate of Adam's second-moment estimate, in ``[0, 1)``."),
    "epsilon": ("float",
                r"Adam's :math:`\epsilon > 0`, added to the bias-corrected :math:`\sqrt{v}`."),
    "n_iter_no_change": ("int or numpy.inf",
                         "Largest number of epochs in a row that may miss the ``tol`` "
                         "improvement."),
    "max_fun": ("int",
                'Largest number of evaluations of the objective and its gradient with '
                '``solver="lbfgs"`` (SciPy\'s ``maxfun``), >= 1.'),
    "optimizer": ("str, deltaprop.optimizers.Optimizer or None",
                  'Overrides ``solver``. A name (``"sgd"``, ``"momentum"``, ``"nesterov"``, '
                  '``"adagrad"``, ``"rmsprop"``, ``"adam"``, ``"adamw"``, ``"lbfgs"``, in any '
                  'case) gives '
                  'that optimizer with ``lr=learning_rate_init`` and its own defaults '
                  'otherwise; an instance (``RMSProp(alpha=0.9)``, ``SGD(clip_norm=1.0)``, '
                  '...) is copied for each ``fit``. ``solver``, ``learning_rate``, '
                  '``power_t``, ``momentum``, ``nesterovs_momentum``, ``beta_1``, ``beta_2`` '
                  'and ``epsilon`` are then ignored.'),
    "dtype": ('{None, "float64", "float32"}',
              "Floating-point type of the network and of the data it is given. None (as "
              "scikit-learn): float32 when the training data is float32, float64 otherwise; "
              "a continued fit (``warm_start``, ``partial_fit``) keeps the network's."),
    "dropout": ("float",
                "Probability of (inverted) dropout after every hidden layer in training "
                "(0: none); see :class:`deltaprop.layers.Dropout`. Not in scikit-learn."),
    "norm": ('{None, "batch", "layer"}',
             "Batch or layer normalisation after every hidden layer's activation; see "
             ":class:`deltaprop.layers.BatchNorm` and :class:`deltaprop.layers.LayerNorm`. "
             "Not in scikit-learn."),
    "device": ('str, deltaprop.devices.Device or None',
               'Where the network trains: ``None`` or ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` '
               '(an NVIDIA GPU, with CuPy: ``pip install "deltaprop[cuda]"``), or '
               '``"strict"`` (the CPU test device, :mod:`deltaprop.devices`). Checked by '
               '``fit``, which raises :class:`deltaprop.DeviceError` when CuPy or the GPU is '
               'missing; a ``warm_start`` or ``partial_fit`` moves the fitted network to it. '
               '``predict`` and the other methods take and return NumPy arrays, and on a '
               'device ``coefs_`` and ``intercepts_`` are copies on the host. Not in '
               'scikit-learn.'),
    "class_weight": ('dict, "balanced" or None',
                     "Weights of the classes, ``{label: weight}``; ``\"balanced\"`` gives "
                     "``n_samples / (n_classes * np.bincount(y))`` "
                     "(:func:`sklearn.utils.class_weight.compute_sample_weight`). They multiply "
                     "``sample_weight``, as in scikit-learn's other classifiers. "
                     "``partial_fit`` takes a dict but not ``\"balanced\"`` (as "
                     ":class:`sklearn.linear_model.SGDClassifier`); multilabel targets take "
                     "none. Not in scikit-learn's MLPClassifier."),
}

#: name -> (type, description) of the fitted attributes both estimators share.
_ATTRIBUTE_DOCS = {
    "net_": ("deltaprop.MLP", "The trained network."),
    "coefs_": ("list of ndarray",
               "Weight matrices ``W`` of shape ``(n_in, n_out)``, the arrays of ``net_`` "
               "(NumPy copies of them when ``net_`` is on a device)."),
    "intercepts_": ("list of ndarray",
                    "Bias vectors of shape ``(n_out,)``, the arrays of ``net_`` (NumPy "
                    "copies of them when ``net_`` is on a device)."),
    "loss_": ("float", "The objective ``J`` of the last epoch."),
    "loss_curve_": ("list of float",
                    "``J`` of each epoch (the mean over the epoch's mini-batches, weighted by "
                    "their sizes; with ``solver=\"lbfgs\"``, ``J`` after each iteration), "
                    "across ``warm_start`` and ``partial_fit`` calls."),
    "best_loss_": ("float or None",
                   "Smallest training loss so far (None with ``early_stopping``)."),
    "validation_scores_": ("list of float or None",
                           "Validation $score of each epoch with ``early_stopping``, else "
                           "None."),
    "best_validation_score_": ("float or None",
                               "Best validation $score with ``early_stopping``, else None."),
    "n_iter_": ("int", "Epochs run by the last ``fit`` (1 for ``partial_fit``); L-BFGS "
                       'iterations with ``solver="lbfgs"``.'),
    "t_": ("int", "Training samples seen by the optimizer, over all calls."),
    "n_features_in_": ("int", "Number of features seen during ``fit``."),
    "feature_names_in_": ("ndarray of shape (n_features_in_,)",
                          "Names of the features, when ``X`` had string column names."),
    "n_layers_": ("int", "Number of layers, input and output included."),
    "n_outputs_": ("int", "Number of output units."),
}


def _section(title, entries, words, signature=None):
    """A numpydoc section, indented for a class docstring; ``signature`` adds the defaults."""
    lines = [title, "-" * len(title)]
    for name, (kind, text) in entries.items():
        if signature is not None:
            kind = f"{kind}, default={signature[name].default!r}"
        lines.append(f"{name} : {kind}")
        lines += textwrap.wrap(Template(text).substitute(words), width=84,
                               initial_indent="    ", subsequent_indent="    ",
                               break_on_hyphens=False)
    return "\n    ".join(lines)


def _documented(*, parameters, attributes, **words):
    """Class decorator: fill ``$parameters`` and ``$attributes`` in the class docstring with
    the shared descriptions and the class's own (``parameters`` and ``attributes``, which also
    set the attributes' order), the parameters in the order and with the defaults of
    ``__init__``; ``$word`` fields of the descriptions are filled from ``words``."""

    def decorate(cls):
        signature = inspect.signature(cls.__init__).parameters
        docs = {**_PARAMETER_DOCS, **parameters}
        params = {name: docs[name] for name in signature if name != "self"}
        cls.__doc__ = Template(cls.__doc__).substitute(
            parameters=_section("Parameters", params, words, signature),
            attributes=_section("Attributes", attributes, words))
        return cls

    return decorate


# -- the stopping rule ------------------------------------------------------------------------


class _StoppingRule(Callback):
    """scikit-learn's stopping rule, as a deltaprop callback.

    After each epoch it appends the epoch's objective to ``loss_curve_`` and asks
    :class:`deltaprop.improvement.Improvement` whether the epoch improved, by scikit-learn's
    rule: without validation data when its loss is at most ``best_loss_ - tol``; with
    validation data (``early_stopping=True``) when the validation score is at least
    ``best_validation_score_ + tol`` (``best_*`` being the best value seen). Training stops
    when more than ``n_iter_no_change`` epochs in a row did not improve. With validation
    data the weights of the best-scoring epoch are restored at the end.

    The counters live on the estimator, so that they carry over ``warm_start`` and
    ``partial_fit`` calls, as in scikit-learn.

    It also applies scikit-learn's ``learning_rate`` rule of ``solver="sgd"``:
    ``"invscaling"`` sets the rate to :class:`deltaprop.schedules.InverseScaling`'s at
    ``t_`` after each epoch (scikit-learn counts its steps in samples seen), and
    ``"adaptive"`` divides it by 5 instead of stopping, until it falls below 1e-6.
    """

    def __init__(self, estimator, n_train, validation=None, learning_rate="constant"):
        self.est, self.n_train, self.validation = estimator, n_train, validation
        self.adaptive = learning_rate == "adaptive"
        self.schedule = (InverseScaling(estimator.learning_rate_init, estimator.power_t)
                         if learning_rate == "invscaling" else None)
        if validation is None:
            self.improvement = Improvement("min", estimator.tol, inclusive=True,
                                           best_of="all", best=estimator.best_loss_)
        else:
            self.improvement = Improvement("max", estimator.tol, inclusive=True,
                                           best_of="all", best=estimator.best_validation_score_)
        self.improvement.wait = estimator._no_improvement_count

    def on_epoch_end(self, epoch, logs=None):
        est, rule = self.est, self.improvement
        loss = float(logs["loss"])
        est.loss_curve_.append(loss)
        est.t_ += self.n_train
        if est.verbose:
            print(f"Iteration {len(est.loss_curve_)}, loss = {loss:.8f}", flush=True)
        if self.validation is None:
            rule.update(loss)
            est.best_loss_ = rule.best
        else:
            score = est._validation_score(*self.validation)
            est.validation_scores_.append(score)
            if est.verbose:
                print(f"Validation score: {score:f}", flush=True)
            rule.update(score)  # NaN: no improvement
            if rule.new_best:
                est.best_validation_score_ = float(score)
                est._best_weights = self.trainer.snapshot_weights()
        optimizer = self.trainer.net.train_state_["optimizer"]
        if self.schedule is not None:
            optimizer.lr = self.schedule(est.t_)
        if rule.wait > est.n_iter_no_change:
            if self.adaptive and optimizer.lr > 1e-6:
                optimizer.lr /= 5.0
                rule.wait = 0
                if est.verbose:
                    print(f"Setting learning rate to {optimizer.lr:f}", flush=True)
            else:
                self.trainer.stop_training = True
                self.trainer.history.stopped_early = True
                if est.verbose:
                    what = "Validation score" if self.validation is not None else "Training loss"
                    print(f"{what} did not improve more than tol={est.tol:f} for "
                          f"{est.n_iter_no_change} consecutive epochs. Stopping.", flush=True)
        est._no_improvement_count = rule.wait

    def on_train_end(self, logs=None):
        if self.validation is not None and self.est._best_weights is not None:
            self.trainer.restore_weights(self.est._best_weights)


class _LossCurve(Callback):
    """With ``solver="lbfgs"``: record ``J`` after each iteration in ``loss_curve_`` (no
    stopping rule: L-BFGS stops by ``tol``, ``max_iter`` and ``max_fun``)."""

    def __init__(self, estimator, n_train):
        self.est, self.n_train = estimator, n_train

    def on_epoch_end(self, epoch, logs=None):
        self.est.loss_curve_.append(float(logs["loss"]))
        self.est.t_ += self.n_train


def _check_stochastic(est):
    """``partial_fit`` exists for the step-by-step optimizers only (scikit-learn's rule)."""
    if est._full_batch():
        raise AttributeError(f"partial_fit is only available for stochastic optimizers. "
                             f"{est.solver if est.optimizer is None else est.optimizer!r} "
                             f"is not stochastic.")
    return True


# -- the shared base ------------------------------------------------------------------------


class _BaseMLP(BaseEstimator):
    """Fitting, warm starts, partial_fit and the fitted attributes shared by both estimators."""

    _constraints = _CONSTRAINTS

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
        the solver (or ``optimizer=``) does not read (``_SOLVER_PARAMETERS``).
        """
        unread = {name for solver, names in _SOLVER_PARAMETERS.items()
                  if self.optimizer is not None or solver != self.solver for name in names}
        if self.optimizer is not None:
            unread.add("solver")
        validate_params({k: v for k, v in self.get_params(deep=False).items()
                         if k not in unread}, self._constraints,
                        owner=type(self).__name__, hints=_HINTS)
        sizes, activation = self.hidden_layer_sizes, self.activation.lower()
        return {
            "hidden": [int(n) for n in ([sizes] if isinstance(sizes, Integral) else sizes)],
            "activation": _ACTIVATION_ALIASES.get(activation, activation),
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

        # the validation split (scikit-learn's: stratified for single-label classifiers)
        validation = None
        if s["early_stopping"] and not incremental:
            stratify = y if self._is_classifier() and y.ndim == 1 else None
            if stratify is not None and len(self.classes_) == 2:
                # as scikit-learn, which stratifies on its label-binarized (boolean) targets
                stratify = (y == self.classes_[1])[:, None]
            arrays = (X, T, y) if w is None else (X, T, y, w)
            parts = train_test_split(*arrays, test_size=s["validation_fraction"],
                                     random_state=rng, stratify=stratify)
            X, T, w = parts[0], parts[2], None if w is None else parts[6]
            validation = (parts[1], parts[5], None if w is None else parts[7])
            if validation[0].shape[0] < 2:
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
        if full_batch:
            stopping = _LossCurve(self, X.shape[0])
        else:
            stopping = _StoppingRule(self, X.shape[0], validation, s["learning_rate"])
        self._before_training()
        try:
            history = net.fit(X, T, optimizer=None if resume else self._make_optimizer(),
                              epochs=epochs,
                              batch_size=None if full_batch else self._batch_size(X.shape[0]),
                              shuffle=s["shuffle"], callbacks=[stopping],
                              verbose=0, seed=int(rng.randint(_SEED_MAX)), resume=resume,
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
            if self._best_weights is not None:
                net.restore(self._best_weights)
        finally:
            self._after_training()
        self.n_iter_ = len(history.epoch)
        self.loss_ = self.loss_curve_[-1] if self.loss_curve_ else None
        if history.interrupted:
            warnings.warn("Training interrupted by user.", UserWarning)
        elif full_batch:
            self._check_lbfgs_result(net.train_state_["optimizer"].result, s["max_iter"])
        elif not incremental and not history.stopped_early and self.n_iter_ == s["max_iter"]:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({s['max_iter']}) reached "
                          f"and the optimization hasn't converged yet.", ConvergenceWarning)
        return self

    def _check_lbfgs_result(self, result, max_iter):
        """scikit-learn's ConvergenceWarning when L-BFGS stopped before converging
        (``sklearn.utils.optimize._check_optimize_result``, same words)."""
        if result is None or result.status == 0:
            return
        message = (f"lbfgs failed to converge after {self.n_iter_} iteration(s) "
                   f"(status={result.status}):\n{result.message}\n")
        if self.n_iter_ == max_iter:
            message += (f"\nIncrease the number of iterations to improve the convergence "
                        f"(max_iter={max_iter}).")
        message += ("\nYou might also want to scale the data as shown in:\n"
                    "    https://scikit-learn.org/stable/modules/preprocessing.html")
        warnings.warn(message, ConvergenceWarning, stacklevel=3)

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
                        l2=s["alpha"], dtype=s["dtype"], seed=int(rng.randint(_SEED_MAX)),
                        dropout=s["dropout"], norm=s["norm"], device=s["device"])
        for layer, (W, b) in zip(self._dense_layers(), initial):
            layer.W, layer.b = W, b
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

    # -- prediction helpers ----------------------------------------------------------------
    def _validated_X(self, X):
        check_is_fitted(self)
        return validate_data(self, X, reset=False, dtype=self.net_.dtype,
                             accept_sparse=["csr", "csc"])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # CSR and CSC, never made dense
        return tags


# -- the classifier ---------------------------------------------------------------------------


@_documented(
    parameters={
        "loss": ('{"log_loss", "cross_entropy"}',
                 '``"log_loss"`` chooses the output as scikit-learn does (one sigmoid unit with '
                 'binary cross-entropy for two classes, softmax with cross-entropy for more, '
                 'one sigmoid unit per label for multilabel targets); ``"cross_entropy"`` '
                 'always uses a softmax layer with one unit per class (not for multilabel '
                 'targets).'),
    },
    attributes={
        "classes_": ("ndarray of shape (n_classes,)",
                     "The class labels (for multilabel targets ``0 .. n_labels - 1``); "
                     "``net_.classes_`` is this array too."),
        **_ATTRIBUTE_DOCS,
        "out_activation_": ("str", '``"logistic"`` or ``"softmax"`` (scikit-learn\'s names).'),
    },
    score="accuracy", stratified=" (stratified)",
    no_hidden="a network without hidden layer (logistic or softmax regression)")
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

    $parameters

    $attributes

    See Also
    --------
    MLPRegressor : The regressor.
    deltaprop.MLP : The network itself, with the full training API.

    Notes
    -----
    ``docs/sklearn.md`` lists the differences from
    :class:`sklearn.neural_network.MLPClassifier`: ``alpha`` is not rescaled by the batch
    size, the initial weights follow deltaprop (He for the ReLU family, Glorot otherwise,
    zero biases), and zero sample weights remove their samples.

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

    _constraints = {**_CONSTRAINTS, "loss": [StrOptions(_CLASSIFICATION_LOSSES)],
                    "class_weight": [None, StrOptions(("balanced",)), dict]}

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, loss="log_loss", optimizer=None,
                 dtype=None, dropout=0.0, norm=None, device=None, class_weight=None):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
            alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t,
            max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol,
            verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun, loss=loss,
            optimizer=optimizer, dtype=dtype, dropout=dropout, norm=norm, device=device)
        self.class_weight = class_weight

    def fit(self, X, y, sample_weight=None):
        """Train the network on ``(X, y)``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
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

    @available_if(_check_stochastic)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Train for one epoch on ``(X, y)``, continuing the fitted network and optimizer.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
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
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_`` (for multilabel targets, the
            probability of each label).
        """
        X = self._validated_X(X)
        if len(self.classes_) == 1:  # one class seen in training: it is certain
            return np.ones((X.shape[0], 1), dtype=self.net_.dtype)
        return self.net_.predict_proba(X)

    def predict_log_proba(self, X):
        """Logarithm of the class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
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
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
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

    def _loss(self):
        return self.loss

    def _head(self, loss):
        n_classes = len(self.classes_)
        if self._multilabel:
            if loss == "cross_entropy":
                raise ValueError("loss='cross_entropy' needs one label per sample; use "
                                 "loss='log_loss' for multilabel targets")
            return default_head("multilabel", n_classes)
        # scikit-learn's head: one logistic unit for two classes, softmax for more
        return default_head("classification", n_classes,
                            output="sigmoid" if n_classes == 2 and loss == "log_loss" else None)

    def _decode(self, proba):
        if self._multilabel:
            return (proba > 0.5).astype(np.int64)
        if len(self.classes_) == 1:
            return np.full(len(proba), self.classes_[0])
        return self.classes_[np.argmax(proba, axis=1)]

    def _encode_targets(self, y, *, first, incremental, classes, dtype, sample_weight=None):
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
                unknown = np.setdiff1d(unique_labels(y), new_classes)
                if len(unknown):
                    raise ValueError(f"y has labels {unknown.tolist()} that are not in "
                                     f"classes={np.asarray(classes).tolist()}")
            else:
                new_classes = unique_labels(y)
            # One class is allowed, as scikit-learn allows it: every prediction is that class.
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
            raise ValueError(f"warm_start can only be used where `y` has the same classes as "
                             f"in the previous call to fit. Previously got {self.classes_}, "
                             f"`y` has {labels}")  # scikit-learn's words
        unknown = np.setdiff1d(labels, self.classes_)
        if len(unknown):
            raise ValueError(f"y has classes not in classes_: {unknown}; classes_ is "
                             f"{self.classes_}")
        return np.searchsorted(self.classes_, y)

    def _weigh_classes(self, y, w, incremental, dtype):
        if self.class_weight is None:
            return w
        if self._multilabel:
            raise ValueError("class_weight is not supported for multilabel targets; pass "
                             "sample_weight instead")
        if incremental and self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' is not supported for partial_fit (one batch does not "
                "give the class frequencies; as in SGDClassifier): compute the weights once "
                "with sklearn.utils.class_weight.compute_class_weight('balanced', "
                "classes=classes, y=y) on enough of the targets and pass them as a dict "
                "{label: weight}")
        cw = compute_sample_weight(self.class_weight, y).astype(dtype)
        return cw if w is None else w * cw

    def _check_training_targets(self, T, incremental):
        # With sample weights, the samples left for training may be of one class only.
        if (not incremental and not self._multilabel and len(self.classes_) > 1
                and np.all(T == T[0])):
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


@_documented(
    parameters={
        "loss": ('{"squared_error", "half_squared_error", "mse", "poisson"}',
                 r"The per-sample loss :math:`\ell`. "
                 r'``"squared_error"`` keeps '
                 r"scikit-learn's meaning, half the squared error "
                 r":math:`\tfrac12\lVert y - t\rVert^2` summed over the outputs, and is "
                 r"deltaprop's "
                 r'``"half_squared_error"``; ``"mse"`` is '
                 r"deltaprop's :math:`\tfrac{1}{n_K}\lVert y - t\rVert^2` (mean over the "
                 r"``n_K`` outputs). "
                 r'``"poisson"`` is the Poisson negative log-likelihood '
                 r":math:`\sum_j (y_j - t_j \log y_j)` with an exponential output "
                 r"(scikit-learn's log link, ``out_activation_ = \"exp\"``) for "
                 r"non-negative count targets; it differs from scikit-learn's half Poisson "
                 r"deviance by a constant."),
        "standardize_target": ("bool",
                               "``True``: train on the targets standardised to zero mean "
                               "and unit variance (each output; the first fit's figures, "
                               "kept by ``partial_fit`` and warm starts), and scale the "
                               "predictions back, so that targets in any units train alike "
                               "(much better with the default learning rate on targets "
                               "far from unit scale; docs/sklearn.md has the measurements). "
                               'Not applied with ``loss="poisson"``. ``loss_curve_`` is then '
                               "in the standardised units; ``score`` and ``predict`` are not. "
                               "The default ``False`` trains on ``y`` as scikit-learn does, so "
                               "that the same parameters give scikit-learn's results."),
    },
    attributes={**_ATTRIBUTE_DOCS,
                "out_activation_": ("str", '``"identity"``, or ``"exp"`` with ``"poisson"``.'),
                "target_mean_": ("ndarray of shape (n_outputs,) or None",
                                 "The targets' mean, with ``standardize_target``."),
                "target_scale_": ("ndarray of shape (n_outputs,) or None",
                                  "The targets' standard deviation (1 where it is 0), with "
                                  "``standardize_target``.")},
    score="R²", stratified="", no_hidden="a linear model")
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

    $parameters

    $attributes

    See Also
    --------
    MLPClassifier : The classifier.
    deltaprop.MLP : The network itself, with the full training API.

    Notes
    -----
    ``docs/sklearn.md`` lists the differences from
    :class:`sklearn.neural_network.MLPRegressor`: the loss reported equals the loss
    trained, ``alpha`` is not rescaled by the batch size, the initial weights follow
    deltaprop, and zero sample weights remove their samples.

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

    _constraints = {**_CONSTRAINTS, "loss": [StrOptions(_REGRESSION_LOSSES)],
                    "standardize_target": [Boolean()]}

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, loss="squared_error", optimizer=None,
                 dtype=None, dropout=0.0, norm=None, device=None, standardize_target=False):
        self.standardize_target = standardize_target
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
            alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t,
            max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol,
            verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun, loss=loss,
            optimizer=optimizer, dtype=dtype, dropout=dropout, norm=norm, device=device)

    def fit(self, X, y, sample_weight=None):
        """Train the network on ``(X, y)``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
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

    @available_if(_check_stochastic)
    def partial_fit(self, X, y, sample_weight=None):
        """Train for one epoch on ``(X, y)``, continuing the fitted network and optimizer.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
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
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The network outputs (1-D for one output).
        """
        X = self._validated_X(X)
        return self._unscaled(self.net_.predict(X))

    def _unscaled(self, y):
        """Network outputs in the targets' units (``standardize_target`` undone)."""
        scale = getattr(self, "target_scale_", None)
        if scale is None:
            return y
        shape = y.shape[1:]
        return (y * scale.reshape(shape).astype(y.dtype)
                + self.target_mean_.reshape(shape).astype(y.dtype))

    # -- internals ---------------------------------------------------------------------------
    def _loss(self):
        return _REGRESSION_LOSSES[self.loss]

    def _head(self, loss):
        # the loss names its output: the exponential (log link) for "poisson"
        return default_head("regression", self._n_targets, loss=loss,
                            output=get_loss(loss).default_output)

    def _encode_targets(self, y, *, first, incremental, classes, dtype, sample_weight=None):
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        n_targets = 1 if y.ndim == 1 else y.shape[1]
        if first:
            self._n_targets = n_targets
            # Standardised targets (undone by predict): the first fit's mean and standard
            # deviation, kept by partial_fit and warm starts. Not for the Poisson loss,
            # whose targets are counts.
            self.target_mean_ = self.target_scale_ = None
            if self.standardize_target and self.loss != "poisson":
                yy = y.reshape(len(y), -1).astype(np.float64)
                # weighted as the loss is: a weight of 2 is a duplicated row
                mean = np.average(yy, axis=0, weights=sample_weight)
                scale = np.sqrt(np.average((yy - mean) ** 2, axis=0, weights=sample_weight))
                self.target_mean_ = mean
                self.target_scale_ = np.where(scale > 0, scale, 1.0)
        elif n_targets != self._n_targets:
            raise ValueError(f"y has {n_targets} outputs, but the estimator was fitted "
                             f"with {self._n_targets}")
        if getattr(self, "target_scale_", None) is not None:
            shape = y.shape[1:]
            y = (y - self.target_mean_.reshape(shape)) / self.target_scale_.reshape(shape)
        return y.astype(dtype, copy=False)

    def _validation_score(self, X, y, sample_weight):
        y_pred = self._unscaled(self.net_.predict(X))
        if not np.isfinite(y_pred).all():
            return np.nan
        return float(r2_score(y, y_pred, sample_weight=sample_weight))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
