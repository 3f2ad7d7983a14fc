"""The regressor: :class:`MLPRegressor` (scikit-learn's losses, standardised targets)."""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils import column_or_1d
from sklearn.utils.metaestimators import available_if

from ..constraints import Boolean, StrOptions
from ..losses import get_loss
from ..tasks import default_head
from .base import BaseMLP, check_input, check_stochastic
from .docstrings import ATTRIBUTE_DOCS, documented
from .parameters import CONSTRAINTS, REGRESSION_LOSSES


@documented(
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
    attributes={**ATTRIBUTE_DOCS,
                "out_activation_": ("str", '``"identity"``, or ``"exp"`` with ``"poisson"``.'),
                "target_mean_": ("ndarray of shape (n_outputs,) or None",
                                 "The targets' mean, with ``standardize_target``."),
                "target_scale_": ("ndarray of shape (n_outputs,) or None",
                                  "The targets' standard deviation (1 where it is 0), with "
                                  "``standardize_target``.")},
    score="R²", stratified="", no_hidden="a linear model")
class MLPRegressor(RegressorMixin, BaseMLP):
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

    _constraints = {**CONSTRAINTS, "loss": [StrOptions(REGRESSION_LOSSES)],
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
        return super().fit(X, y, sample_weight)

    @available_if(check_stochastic)
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
        return super().partial_fit(X, y, sample_weight)

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
        X = check_input(self, X)
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
        return REGRESSION_LOSSES[self.loss]

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
