"""A new activation and a new loss, defined here and nowhere else, work everywhere.

``Softsign`` (``f(z) = z / (1 + |z|)``, ``f'(z) = 1 / (1 + |z|)²``) and ``LogCosh``
(``ℓ = Σ log cosh(y − t)``, ``∂ℓ/∂y = tanh(y − t)``) are registered by this file only. The
library must train with them, check their gradient, explain them in every notation and
format, diagnose them, save and load them, offer them on the command line and in the
estimators, with correct numbers (checked against PyTorch and finite differences).
"""

import json

import numpy as np
import pytest
import torch

import deltaprop as dp
from deltaprop import activations, losses

torch.set_default_dtype(torch.float64)


@activations.register
class Softsign(activations.Activation):
    name = "test_softsign"

    def forward(self, z, out=None):
        return np.divide(z, 1.0 + np.abs(z), out=out)

    def derivative(self, z, a):
        return 1.0 / (1.0 + np.abs(z)) ** 2


@losses.register
class LogCosh(losses.Loss):
    name = "test_log_cosh"

    def value(self, y, t):
        e = y - t
        # log cosh e = |e| + log1p(exp(-2|e|)) - log 2, finite for any e
        return (np.abs(e) + np.log1p(np.exp(-2.0 * np.abs(e))) - np.log(2.0)).sum(axis=1)

    def gradient(self, y, t):
        return np.tanh(y - t)


@pytest.fixture
def problem(rng):
    X = rng.normal(size=(40, 3))
    t = (np.sin(X[:, :1]) + 0.5 * X[:, 1:2]).astype(float)
    net = dp.MLP([3, 6, 5, 1], activation="test_softsign", loss="test_log_cosh",
                 dtype="float64", seed=0)
    return net, X, t


def test_gradient_against_torch_and_finite_differences(problem):
    net, X, t = problem
    assert dp.gradcheck(net, X[:6], t[:6]).passed
    J, grads = net.gradients(X, t)
    h = torch.tensor(X)
    leaves = []
    for k, layer in enumerate(net.layers):
        W = torch.tensor(layer.W, requires_grad=True)
        b = torch.tensor(layer.b, requires_grad=True)
        leaves.append((W, b))
        z = h @ W + b
        h = z / (1 + z.abs()) if k < len(net.layers) - 1 else z
    J_t = torch.log(torch.cosh(h - torch.tensor(t))).sum(1).mean()
    J_t.backward()
    assert abs(J - J_t.item()) < 1e-12 * abs(J_t.item())
    for (gW, gb), (W, b) in zip(grads, leaves):
        np.testing.assert_allclose(gW, W.grad.numpy(), rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(gb, b.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_training_model_files_and_diagnostics(problem, tmp_path):
    net, X, t = problem
    diag = dp.Diagnostics(X, t)
    before = net.loss(X, t)
    history = net.fit(X, t, epochs=30, batch_size=8, verbose=0, seed=0, callbacks=[diag])
    assert history["loss"][-1] < before and net.task == "regression" and "r2" in history.history
    assert np.isfinite(np.asarray(diag.history["grad_norm"])).all()
    assert np.isnan(diag.history["dead"][0]).all()  # softsign never has f' = 0
    net.save(tmp_path / "m.npz")
    again = dp.load(tmp_path / "m.npz")
    assert again.layers[0].activation.name == "test_softsign"
    assert again.loss_function.name == "test_log_cosh"
    np.testing.assert_array_equal(again.predict(X), net.predict(X))


def test_explain_in_every_notation_and_format(problem):
    net, X, t = problem
    trace = dp.explain(net, X[:2], t[:2])
    for k, layer in enumerate(trace.layers):  # the engine's own numbers
        J, grads = net.gradients(X[:2], t[:2])
        np.testing.assert_array_equal(layer.grad_W, grads[k][0])
    for notation in ("goodfellow", "nielsen", "hagan", "rousseau"):
        for fmt in ("text", "markdown", "latex"):
            text = dp.explain.render(trace, fmt, notation=notation)
            assert "softsign" in text, (notation, fmt)
        assert json.loads(trace.to_json(notation))


def test_command_line(problem, tmp_path, capsys):
    from deltaprop import cli

    net, X, t = problem
    csv = tmp_path / "data.csv"
    rows = ["a,b,c,y"] + [",".join(f"{v:.6f}" for v in (*x, y)) for x, y in zip(X, t[:, 0])]
    csv.write_text("\n".join(rows) + "\n")
    code = cli.main(["train", str(csv), "--target", "y", "--task", "regression", "--hidden", "8",
                     "--activation", "test_softsign", "--loss", "test_log_cosh", "--epochs", "5",
                     "--out", str(tmp_path / "run"), "--json", "--seed", "0"])
    out = capsys.readouterr().out
    assert code == 0, out
    result = json.loads(out.strip().splitlines()[-1])
    model = dp.load(result["model"])
    assert model.layers[0].activation.name == "test_softsign"
    assert model.loss_function.name == "test_log_cosh"


def test_estimators(problem):
    from deltaprop.sklearn import MLPRegressor

    net, X, t = problem
    est = MLPRegressor(hidden_layer_sizes=(8,), activation="test_softsign", max_iter=20,
                       random_state=0).fit(X, t[:, 0])
    assert est.net_.layers[0].activation.name == "test_softsign"
    assert np.isfinite(est.predict(X)).all()
