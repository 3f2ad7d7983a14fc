"""Bad input gets a clear error naming what is wrong and where; inputs stay untouched."""

import numpy as np
import pytest

import deltaprop as dp


@pytest.fixture
def net():
    return dp.MLP([3, 4, 2], output="softmax", loss="cross_entropy", seed=0)


@pytest.mark.parametrize("X,exc,match", [
    (np.ones(3), ValueError, r"X must be 2-D .* got shape \(3,\) .*reshape\(1, -1\)"),
    (np.ones((2, 3, 1)), ValueError, r"X must be 2-D"),
    (np.ones((2, 5)), ValueError, r"X has 5 features per sample, but the network expects 3"),
    (np.empty((0, 3)), ValueError, r"X is empty"),
    (np.array([["a", "b", "c"]]), TypeError, r"X must be numeric .*dtype <U1"),
    (np.array([[1, None, 2]], dtype=object), TypeError, r"X must be numeric"),
    ([[1, 2, 3], [1, 2]], ValueError, r"X is not a rectangular array"),
    (np.array([[0, 1, 2], [0, np.nan, 1.0]]), ValueError, r"NaN or inf: X\[1, 1\] = nan"),
    (np.array([[0, 1, np.inf]]), ValueError, r"NaN or inf: X\[0, 2\] = inf"),
])
def test_bad_X(net, X, exc, match):
    with pytest.raises(exc, match=match):
        net.forward(X)
    with pytest.raises(exc, match=match):
        net.gradients(X, np.zeros(len(X), dtype=int))


@pytest.mark.parametrize("T,match", [
    (np.array([0, 2]), r"class label T\[1\] = 2 is out of range for 2 outputs"),
    (np.array([0, -1]), r"class label T\[1\] = -1 is out of range"),
    (np.array([0.5, 1.0]), r"1-D targets must be integer class labels"),
    (np.array([0, 1, 1]), r"T has 3 rows but X has 2 samples"),
    (np.ones((2, 3)) / 3, r"T has shape \(2, 3\), expected \(2, 2\)"),
    (np.array([[0.5, 0.2], [0.5, 0.5]]), r"probability rows summing to 1 .*row 0 sums to 0.7"),
    (np.array([[1.5, -0.5], [0.5, 0.5]]), r"non-negative: T\[0, 1\] = -0.5"),
    (np.array([[np.nan, 1.0], [0.5, 0.5]]), r"T contains NaN or inf: T\[0, 0\]"),
    (np.array(["a", "b"]), r"T must be numeric"),
])
def test_bad_T(net, T, match):
    X = np.zeros((2, 3))
    with pytest.raises((ValueError, TypeError), match=match):
        net.gradients(X, T)
    with pytest.raises((ValueError, TypeError), match=match):
        net.loss(X, T)


def test_bad_targets_for_other_losses():
    bce = dp.MLP([2, 1], output="sigmoid", loss="binary_cross_entropy")
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]: T\[1, 0\] = 2"):
        bce.loss(np.zeros((2, 2)), np.array([1.0, 2.0]))
    reg = dp.MLP([2, 3], loss="mse")
    with pytest.raises(ValueError, match=r"T has shape \(2,\), expected \(2, 3\)"):
        reg.loss(np.zeros((2, 2)), np.array([1.0, 2.0]))
    single = dp.MLP([2, 1], loss="mse", dtype="float64")
    assert single.loss(np.zeros((2, 2)), np.array([1.0, 2.0])) >= 0  # 1-D for one output


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(layer_sizes=[3, 0, 2]), ValueError, r"layer_sizes\[1\] must be positive, got 0"),
    (dict(layer_sizes=[3, -4, 2]), ValueError, r"layer_sizes\[1\] must be positive"),
    (dict(layer_sizes=[3]), ValueError, r"at least an input and an output"),
    (dict(layer_sizes=[3, 2.5, 2]), TypeError, r"layer_sizes\[1\] must be an integer"),
    (dict(layer_sizes=5), TypeError, r"layer_sizes must be a list or tuple of integers"),
    (dict(layer_sizes=[3, 2], activation="rleu"), ValueError, r"unknown activation 'rleu'"),
    (dict(layer_sizes=[3, 2], output="softmaxx"), ValueError, r"unknown activation 'softmaxx'"),
    (dict(layer_sizes=[3, 2], loss="hinge"), ValueError, r"unknown loss 'hinge'; valid names"),
    (dict(layer_sizes=[3, 2], loss="cross_entropy"), ValueError,
     r"loss 'cross_entropy' does not fit output activation 'identity': use output='softmax'"),
    (dict(layer_sizes=[3, 2], output="softmax", loss="binary_cross_entropy"), ValueError,
     r"use output='sigmoid'"),
    (dict(layer_sizes=[3, 2, 2], activation="softmax"), ValueError, r"only supported on the output"),
    (dict(layer_sizes=[3, 2], dtype="float16"), ValueError, r"dtype must be 'float32' or 'float64'"),
    (dict(layer_sizes=[3, 2], l2=-1), ValueError, r"l2 must be a non-negative number"),
    (dict(layer_sizes=[3, 2], reduction="avg"), ValueError, r"reduction must be 'mean' or 'sum'"),
])
def test_bad_construction(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        dp.MLP(**kwargs)


def test_weight_assignment(net):
    layer = net.layers[0]
    with pytest.raises(ValueError, match=r"W must have shape \(3, 4\), got \(4, 3\)"):
        layer.W = np.zeros((4, 3))
    with pytest.raises(ValueError, match="b contains NaN"):
        layer.b = [np.nan] * 4
    W = np.arange(12.0).reshape(3, 4)
    layer.W = W
    W[0, 0] = 99.0  # the layer holds its own copy
    assert layer.W[0, 0] == 0.0 and layer.W.dtype == np.float32


def test_inputs_are_never_modified(net, rng):
    X = rng.normal(size=(5, 3))
    T = rng.integers(0, 2, size=5)
    X0, T0 = X.copy(), T.copy()
    X.flags.writeable = False
    T.flags.writeable = False
    net.gradients(X, T)
    net.forward(X)
    net.loss(X, T)
    dp.gradcheck(net, X, T, max_entries=2)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(T, T0)
    # float64 network: the input is used without a copy, and still not written to
    net64 = net.astype("float64")
    net64.gradients(X, T)
    np.testing.assert_array_equal(X, X0)


def test_memory_mapped_input(net, tmp_path, rng):
    path = tmp_path / "X.npy"
    np.save(path, rng.normal(size=(6, 3)).astype(np.float32))
    X = np.load(path, mmap_mode="r")
    T = rng.integers(0, 2, size=6)
    J, _ = net.gradients(X, T)
    assert np.isfinite(J)
    assert net.forward(X).shape == (6, 2)
    np.testing.assert_array_equal(X, np.load(path))


def test_forward_results_are_not_overwritten(net, rng):
    """Returned arrays belong to the caller: later calls must not write into them."""
    X1, X2 = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    y1 = net.forward(X1)
    keep = y1.copy()
    net.forward(X2)
    net.gradients(X2, np.zeros(4, dtype=int))
    np.testing.assert_array_equal(y1, keep)
    _, g1 = net.gradients(X1, np.zeros(4, dtype=int))
    g1_copy = [w.copy() for w, _ in g1]
    net.gradients(X2, np.ones(4, dtype=int))
    for a, b in zip(g1, g1_copy):
        np.testing.assert_array_equal(a[0], b)
