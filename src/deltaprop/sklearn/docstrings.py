"""The estimators' docstrings: each shared parameter and attribute described once, and the
class decorator that writes them into each estimator's numpydoc sections."""

from __future__ import annotations

import inspect
import textwrap
from string import Template

#: name -> (type, description) of the parameters both estimators share; the default is read
#: from the signature. ``$score``, ``$no_hidden`` and ``$stratified`` are filled per estimator.
PARAMETER_DOCS = {
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
ATTRIBUTE_DOCS = {
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


def documented(*, parameters, attributes, **words):
    """Class decorator: fill ``$parameters`` and ``$attributes`` in the class docstring with
    the shared descriptions and the class's own (``parameters`` and ``attributes``, which also
    set the attributes' order), the parameters in the order and with the defaults of
    ``__init__``; ``$word`` fields of the descriptions are filled from ``words``."""

    def decorate(cls):
        signature = inspect.signature(cls.__init__).parameters
        docs = {**PARAMETER_DOCS, **parameters}
        params = {name: docs[name] for name in signature if name != "self"}
        cls.__doc__ = Template(cls.__doc__).substitute(
            parameters=_section("Parameters", params, words, signature),
            attributes=_section("Attributes", attributes, words))
        return cls

    return decorate
