"""The estimators on a Dask cluster: scikit-learn's searches on joblib's Dask backend give
the serial search's figures, and dask-ml's Incremental feeds partial_fit the chunks of a
Dask array as they would be fed by hand."""

import numpy as np
import pytest

pytest.importorskip("dask.array")
pytest.importorskip("distributed")
pytest.importorskip("sklearn")

import dask.array as da  # noqa: E402
import joblib  # noqa: E402
from distributed import Client, LocalCluster, get_task_stream  # noqa: E402
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV  # noqa: E402

from deltaprop.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

# Short searches: the estimators stop at max_iter on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                      dashboard_address=None) as cluster, Client(cluster) as c:
        yield c


def _classification(n=120):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] + 0.5 * X[:, 1] ** 2 > 0.3).astype(int) + (X[:, 2] > 0.8)
    return X, y


def _same_results(serial, on_dask):
    for key in [k for k in serial.cv_results_ if k.startswith(("split", "mean_test", "rank"))]:
        np.testing.assert_array_equal(on_dask.cv_results_[key], serial.cv_results_[key],
                                      err_msg=key)
    assert on_dask.best_params_ == serial.best_params_
    for a, b in zip(on_dask.best_estimator_.coefs_, serial.best_estimator_.coefs_):
        np.testing.assert_array_equal(a, b)


def _search_twice(make, X, y, client):
    serial = make(n_jobs=1).fit(X, y)
    with get_task_stream(client) as tasks, joblib.parallel_backend("dask"):
        on_dask = make(n_jobs=-1).fit(X, y)
    assert len(tasks.data) > 0  # the fits ran on the cluster
    return serial, on_dask


def test_grid_search_on_dask_equals_the_serial_search(client):
    X, y = _classification()

    def make(n_jobs):
        return GridSearchCV(MLPClassifier(max_iter=15, random_state=0),
                            {"hidden_layer_sizes": [(4,), (8,)], "alpha": [1e-4, 1e-1]},
                            cv=3, n_jobs=n_jobs)

    _same_results(*_search_twice(make, X, y, client))


def test_randomized_search_on_dask_equals_the_serial_search(client):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(90, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=90)

    def make(n_jobs):
        return RandomizedSearchCV(MLPRegressor(max_iter=20, random_state=0),
                                  {"learning_rate_init": [1e-3, 3e-3, 1e-2, 3e-2],
                                   "hidden_layer_sizes": [(4,), (8,), (6, 6)]},
                                  n_iter=3, cv=2, random_state=0, n_jobs=n_jobs)

    _same_results(*_search_twice(make, X, y, client))


def test_incremental_feeds_the_chunks_in_order_like_partial_fit_by_hand(client):
    Incremental = pytest.importorskip("dask_ml.wrappers").Incremental
    X, y = _classification(150)
    chunks = 40  # 40, 40, 40, 30
    Xd, yd = da.from_array(X, chunks=(chunks, 4)), da.from_array(y, chunks=chunks)
    inc = Incremental(MLPClassifier(hidden_layer_sizes=(8,), random_state=0),
                      shuffle_blocks=False)
    by_hand = MLPClassifier(hidden_layer_sizes=(8,), random_state=0)
    classes = np.unique(y)
    for _ in range(2):
        inc.partial_fit(Xd, yd, classes=classes)
        for lo in range(0, len(X), chunks):
            by_hand.partial_fit(X[lo:lo + chunks], y[lo:lo + chunks], classes=classes)
    for a, b in zip(inc.estimator_.coefs_, by_hand.coefs_):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(by_hand.coefs_[0],
                              MLPClassifier(hidden_layer_sizes=(8,), random_state=0)
                              .partial_fit(X[:1], y[:1], classes=classes).coefs_[0])
    np.testing.assert_array_equal(inc.predict(Xd).compute(), by_hand.predict(X))
