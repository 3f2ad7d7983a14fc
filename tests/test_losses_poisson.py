"""The Poisson loss: against torch.nn.PoissonNLLLoss, finite differences and scikit-learn."""

import numpy as np
import pytest
import torch

import deltaprop as dp

torch.set_default_dtype(torch.float64)


def _problem(rng, output, n=7, sizes=(3, 5, 2)):
    net = dp.MLP(list(sizes), activation="tanh", output=output, loss="poisson",
                 dtype="float64", seed=int(rng.integers(1 << 31)))
    for layer in net.layers:
        layer.b = rng.normal(scale=0.3, size=layer.b.shape)
    X = rng.normal(size=(n, sizes[0]))
    T = rng.poisson(2.0, size=(n, sizes[-1])).astype(float)
    return net, X, T


def _torch_objective(net, X, T, output):
    """J and its gradients by torch.autograd; PoissonNLLLoss sums over outputs here."""
    params, h = [], torch.tensor(X)
    for k, layer in enumerate(net.layers):
        W = torch.tensor(layer.W, requires_grad=True)
        b = torch.tensor(layer.b, requires_grad=True)
        params += [W, b]
        z = h @ W + b
        h = torch.tanh(z) if k < len(net.layers) - 1 else z
    t = torch.tensor(T)
    if output == "exponential":  # the fused pair: the loss on z = log y
        nll = torch.nn.PoissonNLLLoss(log_input=True, full=False, reduction="none")(z, t)
    else:
        y = torch.nn.functional.softplus(z) if output == "softplus" else z
        nll = torch.nn.PoissonNLLLoss(log_input=False, full=False, eps=0.0,
                                      reduction="none")(y, t)
    J = nll.sum(1).mean()
    J.backward()
    return J.item(), [p.grad.numpy() for p in params]


@pytest.mark.parametrize("output", ["exponential", "softplus", "identity"])
def test_against_torch_poisson_nll(output, rng):
    net, X, T = _problem(rng, output)
    if output == "identity":  # positive outputs: a large positive output bias
        net.layers[-1].b = np.full_like(net.layers[-1].b, 5.0)
    J, grads = net.gradients(X, T)
    J_ref, ref = _torch_objective(net, X, T, output)
    assert J == pytest.approx(J_ref, rel=1e-12), f"ours {J!r} vs torch {J_ref!r}"
    ours = [g for pair in grads for g in pair]
    for k, (g, r) in enumerate(zip(ours, ref)):
        err = np.abs(g - r).max() / np.abs(r).max()
        assert err < 1e-10, f"gradient {k}: ours {g} vs torch {r}"


@pytest.mark.parametrize("output", ["exponential", "softplus"])
def test_finite_differences(output, rng):
    net, X, T = _problem(rng, output)
    report = dp.gradcheck(net, X, T)
    assert report.passed and report.max_rel_error < 1e-6, str(report)


def test_fused_equals_unfused_chain_rule(rng):
    loss, act = dp.get_loss("poisson"), dp.get_activation("exponential")
    z = rng.normal(size=(6, 3))
    y = act.forward(z)
    t = rng.poisson(1.5, size=z.shape).astype(float)
    assert loss.fuses_with(act)
    value, delta = loss.output_delta(z, y, t, act)
    np.testing.assert_allclose(value, loss.value(y, t), rtol=1e-13)
    np.testing.assert_allclose(delta, act.backward(z, y, loss.gradient(y, t)), rtol=1e-13)
    np.testing.assert_allclose(delta, y - t, rtol=0, atol=0)


def test_zero_counts_and_formulas():
    loss = dp.get_loss("poisson")
    y, t = np.array([[0.0, 2.0]]), np.array([[0.0, 3.0]])
    assert loss.value(y, t)[0] == pytest.approx(2.0 - 3.0 * np.log(2.0))  # 0 log 0 = 0
    assert loss.gradient(y, t)[0, 0] == 1.0
    assert loss.formula(("y", "y"), ("t", "t"))[0] == "Σⱼ (yⱼ − tⱼ log yⱼ)"
    assert loss.gradient_formula(("y", "y"), ("t", "t"))[0] == "1 − t ⊘ y"
    assert loss.fused_delta_formula(("y", "y"), ("t", "t"))[0] == "y − t"
    assert loss.task == "regression" and loss.default_output == "exponential"


def test_negative_targets_are_refused():
    net = dp.MLP([2, 1], output="exponential", loss="poisson", dtype="float64", seed=0)
    X, T = np.zeros((3, 2)), np.array([[1.0], [0.0], [-2.0]])
    with pytest.raises(ValueError, match=r"non-negative.*T\[2, 0\] = -2"):
        net.fit(X, T, epochs=1)


def test_output_must_fit():
    with pytest.raises(ValueError, match="exponential"):
        dp.MLP([2, 1], output="sigmoid", loss="poisson")


def test_exponential_does_not_overflow():
    act = dp.get_activation("exponential")
    for dtype in (np.float32, np.float64):
        z = np.array([-1000.0, 0.0, 1.0, 1000.0], dtype=dtype)
        with np.errstate(over="raise"):
            a = act.forward(z)
        assert a.dtype == dtype and np.isfinite(a).all() and a[1] == 1.0
        assert a[2] == np.exp(dtype(1.0))


def test_sklearn_regressor_poisson(rng):
    from deltaprop.sklearn import MLPRegressor

    X = rng.normal(size=(400, 3))
    rate = np.exp(0.5 * X[:, 0] - 0.3 * X[:, 1])
    y = rng.poisson(rate).astype(float)
    reg = MLPRegressor(hidden_layer_sizes=(8,), loss="poisson", learning_rate_init=0.01,
                       max_iter=300, random_state=0).fit(X, y)
    assert reg.out_activation_ == "exp"
    assert reg.net_.output_activation.name == "exponential"
    pred = reg.predict(X)
    assert pred.shape == (400,) and (pred > 0).all()
    # close to the true rates: the mean Poisson deviance beats a constant prediction's
    from sklearn.metrics import mean_poisson_deviance
    assert mean_poisson_deviance(y, pred) < 0.8 * mean_poisson_deviance(
        y, np.full_like(y, y.mean()))
    with pytest.raises(ValueError, match="non-negative"):
        MLPRegressor(hidden_layer_sizes=(2,), loss="poisson", max_iter=2).fit(X, -y)
