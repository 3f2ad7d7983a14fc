"""The task: declared or inferred from the targets, never from a loss name; labels keep
their dtype."""

import numpy as np
import pytest

import deltaprop as dp


def blobs(n=60, k=3, d=2, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=4.0, size=(k, d))
    y = np.arange(n) % k
    return centers[y] + rng.normal(size=(n, d)), y


def test_nielsen_sigmoid_quadratic_classifier_takes_labels_and_reports_accuracy():
    # Nielsen, ch. 1: sigmoid outputs, quadratic cost, digit labels.
    X, y = blobs()
    net = dp.MLP([2, 8, 3], activation="sigmoid", output="sigmoid", loss="mse", seed=0)
    assert net.task == "regression"  # before any target: the loss's own task
    net.fit(X, y, optimizer=dp.optimizers.get_optimizer("adam", lr=0.05), epochs=30,
            batch_size=10, verbose=0, seed=0)
    assert net.task == "classification"
    result = net.evaluate(X, y)
    assert set(result) == {"loss", "accuracy"}
    assert result["accuracy"] > 0.8
    assert net.score(X, y) == result["accuracy"]
    assert set(np.unique(net.predict(X))) <= {0, 1, 2}
    assert net.history_["accuracy"]


def test_declared_classification_with_one_sigmoid_output_and_the_quadratic_cost():
    X, y = blobs(k=2)
    net = dp.MLP([2, 4, 1], output="sigmoid", loss="mse", task="classification", seed=0)
    net.fit(X, y, epochs=20, verbose=0, seed=0)
    assert "accuracy" in net.evaluate(X, y)
    assert net.predict_proba(X).shape == (len(X), 2)


def test_declared_task_is_checked_against_the_loss_and_output():
    with pytest.raises(ValueError, match="task must be None or one of"):
        dp.MLP([2, 3], task="clustering")
    with pytest.raises(ValueError, match="softmax"):
        dp.MLP([2, 3], output="softmax", loss="cross_entropy", task="regression")
    with pytest.raises(ValueError, match="poisson.*cannot serve"):
        dp.MLP([2, 1], output="exponential", loss="poisson", task="classification")


def test_multilabel_sigmoid_bce_reports_subset_accuracy():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 3))
    T = np.stack([X[:, 0] > 0, X[:, 1] > 0], axis=1).astype(float)
    net = dp.MLP([3, 8, 2], output="sigmoid", loss="binary_cross_entropy", seed=0)
    net.fit(X, T, optimizer=dp.optimizers.get_optimizer("adam", lr=0.05), epochs=40,
            verbose=0, seed=0)
    assert net.task == "multilabel"
    result = net.evaluate(X, T)
    assert np.isfinite(result["accuracy"]) and result["accuracy"] > 0.8
    by_hand = np.mean((net.predict(X) == T).all(axis=1))
    assert result["accuracy"] == pytest.approx(by_hand)
    assert np.isfinite(net.history_["accuracy"][-1])


def test_string_labels_make_a_regression_loss_network_a_classifier():
    X, y = blobs(k=2)
    labels = np.array(["no", "yes"])[y]
    net = dp.MLP([2, 4, 2], output="sigmoid", loss="mse", seed=0)
    net.fit(X, labels, epochs=5, verbose=0, seed=0)
    assert net.task == "classification"
    assert net.predict(X).dtype.kind == "U"


def test_task_survives_save_and_load(tmp_path):
    X, y = blobs()
    net = dp.MLP([2, 4, 3], output="sigmoid", loss="mse", seed=0, dtype="float64")
    net.fit(X, y, epochs=2, verbose=0, seed=0)
    net.save(tmp_path / "m.npz")
    back = dp.load(tmp_path / "m.npz")
    assert back.task == "classification"
    np.testing.assert_array_equal(back.predict(X), net.predict(X))


@pytest.mark.parametrize("labels", [np.array([0.0, 1.0]), np.array([False, True]),
                                    np.array([2.5, 7.5]), np.array(["a", "b"])])
def test_labels_come_back_with_their_dtype(labels):
    X, y = blobs(k=2)
    yy = labels[y]
    net = dp.MLP([2, 4, 2], output="softmax", loss="cross_entropy", seed=0)
    net.fit(X, yy, epochs=2, verbose=0, seed=0)
    pred = net.predict(X)
    assert pred.dtype == yy.dtype
    assert set(pred.tolist()) <= set(yy.tolist())


def test_complex_and_mixed_labels_are_refused_by_name():
    X, y = blobs(k=2)
    net = dp.MLP([2, 2], output="softmax", loss="cross_entropy", seed=0)
    with pytest.raises(TypeError, match="complex"):
        net.fit(X, y.astype(complex), epochs=1, verbose=0)
    mixed = np.array(["a", None] * (len(X) // 2), dtype=object)
    with pytest.raises(TypeError, match=r"y\[1\] is None"):
        net.fit(X, mixed, epochs=1, verbose=0)
