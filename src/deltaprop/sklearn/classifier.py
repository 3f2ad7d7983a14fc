"""The classifier: :class:`MLPClassifier` (labels, class weights, multilabel targets)."""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.utils import column_or_1d
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels

from ..constraints import StrOptions
from ..tasks import default_head
from .base import BaseMLP, check_input, check_stochastic
from .docstrings import ATTRIBUTE_DOCS, documented
from .parameters import CLASSIFICATION_LOSSES, CONSTRAINTS


@documented(
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
        **ATTRIBUTE_DOCS,
        "out_activation_": ("str", '``"logistic"`` or ``"softmax"`` (scikit-learn\'s names).'),
    },
    score="accuracy", stratified=" (stratified)",
    no_hidden="a network without hidden layer (logistic or softmax regression)")
class MLPClassifier(ClassifierMixin, BaseMLP):
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

    _constraints = {**CONSTRAINTS, "loss": [StrOptions(CLASSIFICATION_LOSSES)],
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
        return super().fit(X, y, sample_weight)

    @available_if(check_stochastic)
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
        return super().partial_fit(X, y, sample_weight, classes=classes)

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
        X = check_input(self, X)
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

