"""MLPClassifier(class_weight=...): balanced and dict weights, with sample_weight, partial_fit."""

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.metrics import recall_score  # noqa: E402
from sklearn.utils.class_weight import compute_class_weight  # noqa: E402

from deltaprop.sklearn import MLPClassifier  # noqa: E402


def _imbalanced(rng, n_major=600, n_minor=30):
    """Two overlapping Gaussian blobs, 20:1."""
    X = np.vstack([rng.normal(0.0, 1.0, size=(n_major, 2)),
                   rng.normal(1.5, 1.0, size=(n_minor, 2))])
    y = np.array(["major"] * n_major + ["minor"] * n_minor)
    return X, y


def _clf(**kw):
    return MLPClassifier(hidden_layer_sizes=(8,), learning_rate_init=0.01, max_iter=60,
                         random_state=0, n_iter_no_change=1000, **kw)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_balanced_raises_the_minority_recall(rng):
    X, y = _imbalanced(rng)
    plain = recall_score(y, _clf().fit(X, y).predict(X), pos_label="minor")
    balanced = recall_score(y, _clf(class_weight="balanced").fit(X, y).predict(X),
                            pos_label="minor")
    assert balanced > plain + 0.3, f"recall of the minority: balanced {balanced} vs {plain}"


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_dict_equals_the_same_sample_weights_by_hand(rng):
    X, y = _imbalanced(rng, 200, 40)
    weights = {"major": 0.5, "minor": 3.0}
    by_hand = np.array([weights[label] for label in y])
    a = _clf(class_weight=weights).fit(X, y)
    b = _clf().fit(X, y, sample_weight=by_hand)
    for ca, cb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(ca, cb)
    # combined with sample_weight by multiplication
    sw = rng.uniform(0.5, 2.0, size=len(y))
    c = _clf(class_weight=weights).fit(X, y, sample_weight=sw)
    d = _clf().fit(X, y, sample_weight=sw * by_hand)
    for cc, cd in zip(c.coefs_ + c.intercepts_, d.coefs_ + d.intercepts_):
        np.testing.assert_array_equal(cc, cd)
    # balanced is compute_class_weight's balanced weights
    cw = compute_class_weight("balanced", classes=np.unique(y), y=y)
    e = _clf(class_weight="balanced").fit(X, y)
    f = _clf(class_weight=dict(zip(np.unique(y), cw))).fit(X, y)
    for ce, cf in zip(e.coefs_, f.coefs_):
        np.testing.assert_array_equal(ce, cf)


def test_partial_fit_takes_a_dict_but_not_balanced(rng):
    X, y = _imbalanced(rng, 100, 20)
    weights = {"major": 1.0, "minor": 5.0}
    a = _clf(class_weight=weights).partial_fit(X, y, classes=["major", "minor"])
    b = _clf().partial_fit(X, y, classes=["major", "minor"],
                           sample_weight=np.where(y == "minor", 5.0, 1.0))
    for ca, cb in zip(a.coefs_, b.coefs_):
        np.testing.assert_array_equal(ca, cb)
    with pytest.raises(ValueError, match="'balanced' is not supported for partial_fit.*"
                                         "compute_class_weight"):
        _clf(class_weight="balanced").partial_fit(X, y, classes=["major", "minor"])


def test_bad_class_weight_is_named(rng):
    X, y = _imbalanced(rng, 20, 5)
    with pytest.raises(ValueError, match="class_weight must be"):
        _clf(class_weight="equal").fit(X, y)
    with pytest.raises(ValueError, match="multilabel"):
        _clf(class_weight="balanced").fit(X, np.c_[y == "minor", y == "major"].astype(int))


def test_documented_once():
    assert "class_weight : dict, \"balanced\" or None, default=None" in MLPClassifier.__doc__
    assert "class_weight" in MLPClassifier().get_params()
