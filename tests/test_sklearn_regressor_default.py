"""MLPRegressor is a drop-in: with scikit-learn's parameters it scores as scikit-learn does
(issue 26, item 7; the measurements on seven tables are in docs/sklearn.md)."""

import warnings

import pytest

pytest.importorskip("sklearn")

from sklearn.datasets import load_diabetes  # noqa: E402
from sklearn.model_selection import cross_val_score  # noqa: E402
from sklearn.neural_network import MLPRegressor as SkMLPRegressor  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from deltaprop.sklearn import MLPRegressor  # noqa: E402


def test_the_default_trains_on_y_as_scikit_learn_does():
    assert MLPRegressor().standardize_target is False
    assert MLPRegressor().get_params()["standardize_target"] is False


def test_diabetes_scores_as_scikit_learn_with_its_parameters():
    """The report's case: 0.137 against scikit-learn's 0.458 with standardised targets."""
    X, y = load_diabetes(return_X_y=True)
    params = dict(hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=1000,
                  random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = cross_val_score(make_pipeline(StandardScaler(), MLPRegressor(**params)), X, y,
                               cv=3).mean()
        theirs = cross_val_score(make_pipeline(StandardScaler(), SkMLPRegressor(**params)), X,
                                 y, cv=3).mean()
    print(f"R²: deltaprop {ours:.3f} vs scikit-learn {theirs:.3f}")
    assert ours >= theirs - 0.01
