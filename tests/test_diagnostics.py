"""Diagnostics callback: values checked against direct computations on tiny networks."""

import json
import subprocess
import sys

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.diagnostics import Diagnostics, plot_diagnostics, plot_layer_profile


def tiny_relu_net():
    # 2 -> 3 (relu) -> 1; unit 0 of the hidden layer has weights (0, 0) and bias -5: z = -5
    # for every input, so it is dead; units 1 and 2 are alive on the probe.
    net = dp.MLP([2, 3, 1], activation="relu", loss="mse", dtype="float64", seed=0)
    net.layers[0].W = np.array([[0.0, 1.0, -1.0], [0.0, 0.5, 1.0]])
    net.layers[0].b = [-5.0, 0.5, 0.5]
    net.layers[1].W = np.array([[0.3], [-0.2], [0.4]])
    net.layers[1].b = [0.1]
    return net


X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.5]])
Y = np.array([0.5, -0.5, 1.0, 0.0])


def test_values_match_a_direct_computation():
    net = tiny_relu_net()
    W0 = [layer.W.copy() for layer in net.layers]
    diag = Diagnostics(X, Y)
    net.fit(X, Y, optimizer=dp.optimizers.SGD(lr=0.1), epochs=1, batch_size=2, shuffle=False,
            callbacks=[diag], verbose=0, seed=0)
    # direct computation with the weights after the epoch (the probe is the whole X)
    W1, b1 = net.layers[0].W, net.layers[0].b
    W2, b2 = net.layers[1].W, net.layers[1].b
    z1 = X @ W1 + b1
    h = np.maximum(z1, 0)
    y = h @ W2 + b2
    d2 = 2 * (y - Y[:, None])                  # per-sample ∂ℓ/∂z for the MSE with one output
    d1 = (d2 @ W2.T) * (z1 > 0)
    N = len(X)
    np.testing.assert_allclose(diag.history["delta_norm"][0],
                               [np.sqrt(np.mean(np.sum(d1 ** 2, 1))),
                                np.sqrt(np.mean(np.sum(d2 ** 2, 1)))], rtol=1e-12)
    np.testing.assert_allclose(diag.history["grad_norm"][0],
                               [np.linalg.norm(X.T @ d1 / N), np.linalg.norm(h.T @ d2 / N)],
                               rtol=1e-12)
    np.testing.assert_allclose(diag.history["update_ratio"][0],
                               [np.linalg.norm(L.W - W) / np.linalg.norm(W)
                                for L, W in zip(net.layers, W0)], rtol=1e-12)
    # the dead unit stays dead (its gradient is 0), the others are alive: 1 of 3
    assert diag.history["dead"][0][0] == pytest.approx(1 / 3)
    assert np.isnan(diag.history["dead"][0][1]) and np.isnan(diag.history["saturated"][0][0])
    assert diag.history["epoch"] == [1]
    assert "33%" in diag.table() and "1 (relu)" in diag.table()


def test_saturated_sigmoid_is_detected():
    net = dp.MLP([2, 4, 1], activation="sigmoid", loss="mse", dtype="float64", seed=0)
    net.layers[0].W = np.array([[20.0, 0.1, -20.0, 0.0], [0.0, 0.1, 0.0, 30.0]])
    net.layers[0].b = [0.0, 0.0, 0.0, 0.0]
    diag = Diagnostics(X, Y)
    net.fit(X, Y, optimizer=dp.optimizers.SGD(lr=1e-9), epochs=1, callbacks=[diag], verbose=0)
    a = 1 / (1 + np.exp(-(X @ net.layers[0].W + net.layers[0].b)))
    share = np.mean((a < 0.01) | (a > 0.99))
    assert 0.3 < share < 0.9  # the test is not trivial
    assert diag.history["saturated"][0][0] == pytest.approx(share)
    tanh_net = dp.MLP([2, 3, 1], activation="tanh", loss="mse", dtype="float64", seed=0)
    tanh_net.layers[0].W = np.full((2, 3), 10.0)
    diag = Diagnostics(X, Y)
    tanh_net.fit(X, Y, optimizer=dp.optimizers.SGD(lr=1e-9), epochs=1, callbacks=[diag], verbose=0)
    a = np.tanh(X @ tanh_net.layers[0].W + tanh_net.layers[0].b)
    assert diag.history["saturated"][0][0] == pytest.approx(np.mean(np.abs(a) > 0.98))


def test_without_probe_uses_the_last_batch_and_json(tmp_path):
    net = tiny_relu_net()
    diag = Diagnostics()
    net.fit(X, Y, optimizer="sgd", epochs=2, batch_size=4, callbacks=[diag], verbose=0, seed=0)
    layer = net.layers[1]
    share = 1 / len(layer.delta)
    assert diag.history["delta_norm"][-1][1] == pytest.approx(
        np.sqrt(np.mean(np.sum((layer.delta / share) ** 2, 1))))
    data = json.loads(json.dumps(diag.to_dict()))
    assert data["activations"] == ["relu", "identity"] and data["dead"][0][1] is None
    with pytest.raises(ValueError, match="both X and y"):
        Diagnostics(X)


def test_plots(tmp_path):
    pytest.importorskip("matplotlib")
    X2, y2 = dp.datasets.make_moons(100, seed=0)
    runs = {}
    for act in ("sigmoid", "relu"):
        net = dp.MLP([2, 8, 8, 8, 2], activation=act, output="softmax", loss="cross_entropy",
                     seed=0)
        runs[act] = Diagnostics(X2, y2)
        net.fit(X2, y2, epochs=2, callbacks=[runs[act]], verbose=0, seed=0)
    plot_diagnostics(runs["relu"], tmp_path / "d.png")
    plot_layer_profile(runs, tmp_path / "p.png")
    assert (tmp_path / "d.png").stat().st_size > 10_000
    assert (tmp_path / "p.png").stat().st_size > 10_000
    # vanishing gradients: the deep sigmoid network's first layer gets a far smaller gradient
    first = {k: d.history["grad_norm"][0][0] / d.history["grad_norm"][0][-1] for k, d in runs.items()}
    assert first["sigmoid"] < first["relu"]


def test_cli_train_diagnostics(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "deltaprop", "train", "moons", "--hidden", "8,8",
                           "--epochs", "2", "--diagnostics", "--out", "run", "-q"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "run" / "diagnostics.png").stat().st_size > 10_000
    data = json.loads((tmp_path / "run" / "diagnostics.json").read_text())
    assert data["epoch"] == [1, 2] and len(data["grad_norm"][0]) == 3


class HardTanh(dp.Activation):
    """clip(z, -1, 1): f' = 0 where |z| >= 1 (inactive), never merely small (no saturation)."""

    name = "hard_tanh_test"

    def forward(self, z, out=None):
        return np.clip(z, -1.0, 1.0, out=out)

    def derivative(self, z, a):
        return (np.abs(z) < 1).astype(z.dtype)

    def inactive(self, z, a):
        return np.abs(z) >= 1


def test_the_activation_decides_what_dead_and_saturated_mean():
    # unit 0: z = 3 for every input (dead); unit 1: z in (-1, 1) (alive); unit 2:
    # z = 2 x1 - 1.5, inactive on two of the four probe samples but not all (alive)
    layers = [dp.Dense(2, 3, HardTanh(), dtype="float64", rng=0),
              dp.Dense(3, 1, "leaky_relu", dtype="float64", rng=1)]
    net = dp.Sequential(layers, loss="mse")
    net.layers[0].W = np.array([[0.0, 0.3, 2.0], [0.0, 0.2, 0.0]])
    net.layers[0].b = [3.0, 0.0, -1.5]
    diag = Diagnostics(X, Y)
    net.fit(X, Y, optimizer=dp.optimizers.SGD(lr=1e-12), epochs=1, callbacks=[diag], verbose=0)
    z = X @ net.layers[0].W + net.layers[0].b
    assert diag.history["dead"][0][0] == pytest.approx(np.mean(np.all(np.abs(z) >= 1, axis=0)))
    assert diag.history["dead"][0][0] == pytest.approx(1 / 3)
    # no saturation notion for the hard tanh; leaky ReLU is never inactive: NaN
    assert np.isnan(diag.history["saturated"][0][0]) and np.isnan(diag.history["dead"][0][1])
