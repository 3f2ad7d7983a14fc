"""Backpropagation against finite differences and against PyTorch autograd."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import deltaprop as dp

from conftest import HEADS, HIDDEN, random_problem

torch.set_default_dtype(torch.float64)


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("output,loss", HEADS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_finite_differences(hidden, output, loss, depth, rng):
    net, X, T = random_problem(rng, hidden, output, loss, depth,
                               l2=float(rng.choice([0.0, 0.3])),
                               reduction=str(rng.choice(["mean", "sum"])))
    report = dp.gradcheck(net, X, T)
    assert report.passed, f"\n{net}\n{report}"
    assert report.max_rel_error < 1e-6


# -- the PyTorch twin ------------------------------------------------------------------

TORCH_ACTIVATIONS = {
    "identity": lambda z: z,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": lambda z: F.leaky_relu(z, 0.01),
    "elu": lambda z: F.elu(z, 1.0),
    "softplus": F.softplus,
    "silu": F.silu,
    "gelu": lambda z: F.gelu(z, approximate="none"),
    "gelu_tanh": lambda z: F.gelu(z, approximate="tanh"),
    "softmax": lambda z: torch.softmax(z, dim=1),
}


def torch_per_sample_loss(loss, z, y, t):
    """The losses written independently with torch operations."""
    if loss == "half_squared_error":
        return 0.5 * ((t - y) ** 2).sum(1)
    if loss == "squared_error":
        return ((t - y) ** 2).sum(1)
    if loss == "mse":
        return ((y - t) ** 2).mean(1)
    if loss == "cross_entropy":
        return -(t * torch.log_softmax(z, dim=1)).sum(1)
    if loss == "binary_cross_entropy":
        return F.binary_cross_entropy_with_logits(z, t, reduction="none").sum(1)
    raise AssertionError(loss)


def torch_twin(net, X, T, hidden, output, loss, torch_device="cpu"):
    """Loss and gradients of the same network computed by torch.autograd, on
    ``torch_device`` (the network's arrays may be on any device of ours)."""
    from deltaprop.devices import to_host

    def tensor(a, grad=False):
        return torch.tensor(to_host(a), dtype=torch.float64, device=torch_device,
                            requires_grad=grad)

    params = []
    h = tensor(X)
    for k, layer in enumerate(net.layers):
        W, b = tensor(layer.W, True), tensor(layer.b, True)
        params.append((W, b))
        z = h @ W + b
        h = TORCH_ACTIVATIONS[hidden if k < len(net.layers) - 1 else output](z)
    t = np.asarray(T)
    if t.ndim == 1:
        t = np.eye(net.n_outputs)[t] if loss == "cross_entropy" else t[:, None]
    per = torch_per_sample_loss(loss, z, h, tensor(t))
    J = per.mean() if net.reduction == "mean" else per.sum()
    J = J + 0.5 * net.l2 * sum((W ** 2).sum() for W, _ in params)
    J.backward()
    return J.item(), [(W.grad.cpu().numpy(), b.grad.cpu().numpy()) for W, b in params]


def rel_err(ours, ref):
    scale = max(np.abs(ref).max(), 1e-300)
    return float(np.abs(ours - ref).max() / scale)


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("output,loss", HEADS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_against_pytorch(hidden, output, loss, depth, rng):
    net, X, T = random_problem(rng, hidden, output, loss, depth,
                               l2=float(rng.choice([0.0, 0.3])),
                               reduction=str(rng.choice(["mean", "sum"])))
    J, grads = net.gradients(X, T)
    J_ref, grads_ref = torch_twin(net, X, T, hidden, output, loss)
    assert abs(J - J_ref) <= 1e-10 * max(abs(J_ref), 1e-300), f"loss ours {J!r} vs torch {J_ref!r}"
    assert net.loss(X, T) == pytest.approx(J, rel=1e-12)
    for k, ((gW, gb), (rW, rb)) in enumerate(zip(grads, grads_ref), start=1):
        for name, ours, ref in ((f"W{k}", gW, rW), (f"b{k}", gb, rb)):
            if not np.any(ref):
                np.testing.assert_array_equal(ours, ref, err_msg=f"{name}: ours vs torch")
                continue
            err = rel_err(ours, ref)
            assert err < 1e-10, f"{name}: rel err {err:.2e}\nours  {ours}\ntorch {ref}"


def test_pytorch_larger_network(rng):
    """A wider, deeper network with a real batch: still 1e-10."""
    net = dp.MLP([30, 64, 48, 32, 10], activation="gelu", output="softmax",
                 loss="cross_entropy", l2=1e-3, dtype="float64", seed=3)
    X = rng.normal(size=(50, 30))
    T = rng.integers(0, 10, size=50)
    J, grads = net.gradients(X, T)
    J_ref, grads_ref = torch_twin(net, X, T, "gelu", "softmax", "cross_entropy")
    assert abs(J - J_ref) < 1e-10 * J_ref
    for (gW, gb), (rW, rb) in zip(grads, grads_ref):
        assert rel_err(gW, rW) < 1e-10 and rel_err(gb, rb) < 1e-10


@pytest.mark.parametrize("output,loss", [("softmax", "cross_entropy"),
                                         ("sigmoid", "binary_cross_entropy")])
def test_fused_equals_unfused_chain_rule(output, loss, rng):
    """The fused error vector y - t equals loss.gradient followed by the activation's backward."""
    act, lossf = dp.get_activation(output), dp.get_loss(loss)
    z = rng.normal(scale=3.0, size=(20, 4))
    y = act.forward(z)
    t = np.eye(4)[rng.integers(0, 4, size=20)] if loss == "cross_entropy" else (
        rng.random((20, 4)) < 0.5).astype(float)
    fused = lossf.fused_delta(y, t)
    chain = act.backward(z, y, lossf.gradient(y, t))
    np.testing.assert_allclose(fused, chain, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(lossf.fused_value(z, t), lossf.value(y, t), rtol=1e-10)


@pytest.mark.parametrize("output,loss", [("softmax", "cross_entropy"),
                                         ("sigmoid", "binary_cross_entropy")])
def test_fused_path_is_finite_when_saturated(output, loss):
    """|z| = 1000: the unfused chain rule gives inf/nan, the fused path does not."""
    net = dp.MLP([2, 3], output=output, loss=loss, dtype="float64", seed=0)
    net.layers[0].W = np.array([[1000.0, -1000.0, 0.0], [0.0, 0.0, 0.0]])
    X = np.array([[1.0, 0.0], [-1.0, 0.0]])
    T = np.array([1, 0]) if loss == "cross_entropy" else np.array([[1, 0, 1], [1, 1, 0.0]])
    J, grads = net.gradients(X, T)
    assert np.isfinite(J) and J > 100  # confidently wrong on purpose: a large, finite loss
    assert all(np.isfinite(g).all() for pair in grads for g in pair)
    with np.errstate(all="ignore"):
        y = net.forward(X)
        lossf = net.loss_function
        t = lossf.prepare_targets(np.asarray(T), 3, np.float64)
        unfused = net.output_activation.backward(X @ net.layers[0].W, y, lossf.gradient(y, t))
    assert not np.isfinite(unfused).all()


def test_float32_end_to_end(rng):
    net = dp.MLP([5, 7, 3], activation="gelu", output="softmax", loss="cross_entropy",
                 dtype="float32", seed=0, l2=0.01)
    X = rng.normal(size=(6, 5))  # float64 input: converted once to the network's dtype
    J, grads = net.gradients(X, rng.integers(0, 3, size=6))
    assert isinstance(J, float)
    for layer, (gW, gb) in zip(net.layers, grads):
        assert layer.W.dtype == layer.b.dtype == np.float32
        assert gW.dtype == gb.dtype == np.float32
        assert layer.z.dtype == layer.a.dtype == layer.delta.dtype == np.float32
    assert net.forward(X).dtype == np.float32


def test_float32_matches_float64(rng):
    net64 = dp.MLP([8, 16, 4], activation="tanh", output="softmax", loss="cross_entropy",
                   dtype="float64", seed=5)
    net32 = net64.astype("float32")
    X, T = rng.normal(size=(10, 8)), rng.integers(0, 4, size=10)
    J64, g64 = net64.gradients(X, T)
    J32, g32 = net32.gradients(X, T)
    assert J32 == pytest.approx(J64, rel=1e-5)
    for (a, b), (c, d) in zip(g64, g32):
        np.testing.assert_allclose(c, a, rtol=1e-3, atol=1e-5)
        np.testing.assert_allclose(d, b, rtol=1e-3, atol=1e-5)


def test_gradcheck_detects_a_wrong_gradient(rng):
    """A test that cannot fail is a defect: break one derivative, the check must fail."""

    class WrongTanh(dp.Activation):
        name = "wrong_tanh"

        def forward(self, z, out=None):
            return np.tanh(z, out=out)

        def derivative(self, z, a):
            return 1.0 + a * a  # the sign garbled in the slides' extraction

    net = dp.MLP([3, 4, 2], activation=WrongTanh(), dtype="float64", seed=0)
    report = dp.gradcheck(net, rng.normal(size=(5, 3)), rng.normal(size=(5, 2)))
    assert not report.passed
    assert report.arrays[0].max_rel_error > 1e-2  # W1 is wrong...
    assert report.arrays[-1].max_rel_error < 1e-6  # ...the output layer is not
    assert "FAIL" in str(report)


def test_gradcheck_does_not_touch_the_network(rng):
    net = dp.MLP([3, 4, 2], dtype="float32", seed=0)
    before = [layer.W.copy() for layer in net.layers]
    report = dp.gradcheck(net, rng.normal(size=(5, 3)), rng.normal(size=(5, 2)), max_entries=4)
    assert all(a.n_checked <= 4 for a in report.arrays)
    for w, layer in zip(before, net.layers):
        np.testing.assert_array_equal(w, layer.W)
        assert layer.W.dtype == np.float32
