"""What the estimators' parameters accept: one table (:mod:`deltaprop.constraints`) and the
names that map scikit-learn's vocabulary onto deltaprop's."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from ..activations import ACTIVATIONS
from ..constraints import Boolean, Interval, Options, SequenceOf, StrOptions
from ..devices import Device
from ..optimizers import FULL_BATCH_OPTIMIZERS, OPTIMIZERS, Optimizer

#: scikit-learn's names for activations that deltaprop calls otherwise.
ACTIVATION_ALIASES = {"logistic": "sigmoid"}
#: deltaprop's output activation -> scikit-learn's ``out_activation_`` name.
SKLEARN_OUT_NAMES = {"sigmoid": "logistic", "softmax": "softmax", "identity": "identity",
                     "exponential": "exp"}
_SOLVERS = ("adam", "sgd", "lbfgs")
_LEARNING_RATES = ("constant", "invscaling", "adaptive")
#: The parameters that only one solver reads: they are checked only when that solver is
#: used. With ``optimizer=`` given, neither these nor ``solver`` are read or checked.
SOLVER_PARAMETERS = {"sgd": ("learning_rate", "power_t", "momentum", "nesterovs_momentum"),
                     "adam": ("beta_1", "beta_2", "epsilon"),
                     "lbfgs": ("max_fun",)}
#: The regressor's ``loss``: scikit-learn's name keeps scikit-learn's meaning (half the
#: squared error), so ``"squared_error"`` is deltaprop's ``"half_squared_error"``.
REGRESSION_LOSSES = {"squared_error": "half_squared_error",
                     "half_squared_error": "half_squared_error", "mse": "mse",
                     "poisson": "poisson"}
CLASSIFICATION_LOSSES = ("log_loss", "cross_entropy")
SEED_MAX = np.iinfo(np.int32).max


# -- what the parameters accept -----------------------------------------------------------------


def _hidden_activation_names():
    """scikit-learn's names and every elementwise activation of deltaprop's registry."""
    return sorted({*ACTIVATION_ALIASES,
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
CONSTRAINTS = {
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
HINTS = {"solver": "scikit-learn's solvers 'adam', 'sgd' and 'lbfgs', or any deltaprop "
                   "optimizer given as optimizer="}

