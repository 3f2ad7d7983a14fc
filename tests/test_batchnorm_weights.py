"""Batch normalisation weights its batch statistics by the sample weights (issue 26,
item 9): equal weights change nothing, and a weight of 2 is a duplicated row, in the
training-mode outputs and in every gradient."""

import numpy as np
import pytest

import deltaprop as dp


def _net(seed=0):
    return dp.Sequential([dp.Dense(4, 6, "tanh", dtype="float64", rng=seed),
                          dp.BatchNorm(6, dtype="float64"),
                          dp.Dense(6, 3, "softmax", dtype="float64", rng=seed + 1)],
                         loss="cross_entropy")


@pytest.fixture
def batch():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(9, 4))
    T = np.eye(3)[rng.integers(0, 3, 9)]
    return X, T


def _training_pass(net, X, T, w=None):
    """The objective, every gradient, the BatchNorm layer's output and its running
    statistics after one training-mode forward and backward step."""
    J, _ = net.gradients(X, T, w, training=True)
    bn = net.layers[1]
    return J, net.parameter_gradients(), bn.a.copy(), {k: v.copy() for k, v in bn.buffers().items()}


def test_equal_weights_change_nothing(batch):
    X, T = batch
    J0, g0, a0, r0 = _training_pass(_net(), X, T)
    J1, g1, a1, r1 = _training_pass(_net(), X, T, np.full(len(X), 3.7))
    assert J1 == pytest.approx(J0, rel=1e-13)
    np.testing.assert_allclose(a1, a0, rtol=1e-12, atol=1e-14)
    for key in g0:
        np.testing.assert_allclose(g1[key], g0[key], rtol=1e-11, atol=1e-14, err_msg=key)
    for key in r0:
        np.testing.assert_allclose(r1[key], r0[key], rtol=1e-12, err_msg=key)


@pytest.mark.parametrize("k", [0, 4])
def test_a_weight_of_2_is_a_duplicated_row(batch, k):
    X, T = batch
    dup = np.r_[np.arange(len(X)), k]
    J0, g0, a0, _ = _training_pass(_net(), X[dup], T[dup])
    w = np.ones(len(X))
    w[k] = 2.0
    J1, g1, a1, _ = _training_pass(_net(), X, T, w)
    assert J1 == pytest.approx(J0, rel=1e-12)
    np.testing.assert_allclose(a1, a0[:len(X)], rtol=1e-11, atol=1e-13)  # the same outputs
    for key in g0:
        print(key, "weighted vs duplicated:", g1[key].ravel()[:3], g0[key].ravel()[:3])
        np.testing.assert_allclose(g1[key], g0[key], rtol=1e-10, atol=1e-13, err_msg=key)


def test_the_weighted_gradient_matches_finite_differences(batch):
    X, T = batch
    w = np.random.default_rng(1).uniform(0.2, 3.0, len(X))
    net = _net()
    _, grads = net.gradients(X, T, w, training=True)
    W = net.layers[0].W
    rng = np.random.default_rng(2)
    for _ in range(6):
        i, j = rng.integers(0, W.shape[0]), rng.integers(0, W.shape[1])
        old = W[i, j]
        h = 1e-6
        W[i, j] = old + h
        up = net.loss(X, T, w, training=True)
        W[i, j] = old - h
        down = net.loss(X, T, w, training=True)
        W[i, j] = old
        numeric = (up - down) / (2 * h)
        assert grads[0][0][i, j] == pytest.approx(numeric, rel=1e-6, abs=1e-9), (i, j)


def test_full_batch_training_with_integer_weights_equals_repeated_rows(batch):
    X, T = batch
    counts = np.array([1, 2, 1, 3, 1, 1, 2, 1, 1])
    rows = np.repeat(np.arange(len(X)), counts)
    kw = dict(epochs=5, batch_size=None, shuffle=False, verbose=0, seed=0, optimizer="sgd")
    weighted, repeated = _net(), _net()
    weighted.fit(X, T, sample_weight=counts.astype(float), **kw)
    repeated.fit(X[rows], T[rows], **kw)
    np.testing.assert_allclose(weighted.store.data, repeated.store.data, rtol=1e-10, atol=1e-13)
