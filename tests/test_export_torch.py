"""A network to PyTorch and back: ``net.to_torch()`` and ``dp.from_torch(module)`` keep the
weights (``nn.Linear`` holds ``W.T``), the running statistics and the activations' settings;
round trips are exact in float64 (1e-12) and within rounding in float32, for the parameters
(training mode's) and for evaluation mode's outputs."""

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.activations import Activation

torch = pytest.importorskip("torch")
nn = torch.nn

HIDDEN = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "silu",
          "gelu", "gelu_tanh")
HEADS = {"softmax": ("softmax", "cross_entropy"), "sigmoid": ("sigmoid", "binary_cross_entropy"),
         "identity": ("identity", "mse"), "exponential": ("exponential", "poisson")}
LAYER_KINDS = {"dropout": {"dropout": 0.3}, "batch_norm": {"norm": "batch"},
               "layer_norm": {"norm": "layer"}}
TOL = {"float64": 1e-12, "float32": 1e-5}


def targets(head, rng, n):
    if head == "softmax":
        return rng.integers(0, 3, n)
    if head == "sigmoid":
        return (rng.random((n, 3)) < 0.5).astype(float)
    if head == "exponential":
        return rng.poisson(2.0, size=(n, 3)).astype(float)
    return rng.normal(size=(n, 3))


def trained(hidden, head, kind, dtype, rng):
    output, loss = HEADS[head]
    net = dp.MLP([4, 7, 5, 3], activation=hidden, output=output, loss=loss, dtype=dtype,
                 seed=0, **LAYER_KINDS[kind])
    X = rng.normal(size=(48, 4)) * 2
    net.fit(X, targets(head, rng, 48), epochs=2, batch_size=16, verbose=0, seed=0)
    return net, X.astype(dtype)


def torch_outputs(module, X):
    with torch.no_grad():
        return module(torch.from_numpy(X)).numpy()


def parameters_of(net):
    """Every parameter and buffer of a deltaprop network, in order."""
    arrays = [value for value, _ in net.parameters()]
    arrays += [b for layer in net.layers for b in layer.buffers().values()]
    return arrays


def assert_same_network(a, b):
    assert [type(x) for x in a.layers] == [type(x) for x in b.layers]
    assert [x.activation for x in a.layers] == [x.activation for x in b.layers]
    for x, y in zip(parameters_of(a), parameters_of(b)):
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)  # copied, not computed: bit for bit


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", list(LAYER_KINDS))
@pytest.mark.parametrize("head", list(HEADS))
@pytest.mark.parametrize("hidden", HIDDEN)
def test_round_trip(hidden, head, kind, dtype, rng):
    net, X = trained(hidden, head, kind, dtype, rng)
    module = net.to_torch()
    assert not module.training  # evaluation mode, ready to serve
    # the weights as nn.Linear keeps them (out × in), the running statistics as they are
    linears = [m for m in module if isinstance(m, nn.Linear)]
    dense = [layer for layer in net.layers if isinstance(layer, dp.Dense)]
    for linear, layer in zip(linears, dense):
        np.testing.assert_array_equal(linear.weight.detach().numpy(), layer.W.T)
        np.testing.assert_array_equal(linear.bias.detach().numpy(), layer.b)
        assert linear.weight.dtype == getattr(torch, dtype)
    for bn, layer in zip([m for m in module if isinstance(m, nn.BatchNorm1d)],
                         [x for x in net.layers if isinstance(x, dp.BatchNorm)]):
        np.testing.assert_array_equal(bn.running_mean.numpy(), layer.running_mean)
        np.testing.assert_array_equal(bn.running_var.numpy(), layer.running_var)
    np.testing.assert_allclose(torch_outputs(module, X), net.forward(X), rtol=TOL[dtype],
                               atol=TOL[dtype])
    back = dp.from_torch(module.train())  # training mode's parameters come back unchanged
    assert_same_network(net, back)
    assert back.loss_function.name == net.loss_function.name
    np.testing.assert_allclose(back.forward(X), net.forward(X), rtol=TOL[dtype],
                               atol=TOL[dtype])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_a_module_trained_in_torch_comes_over(dtype):
    torch.manual_seed(0)
    module = nn.Sequential(nn.Linear(4, 8), nn.LeakyReLU(0.2), nn.BatchNorm1d(8, momentum=0.3),
                           nn.Dropout(0.1), nn.Linear(8, 6), nn.ELU(0.5), nn.LayerNorm(6),
                           nn.Sequential(nn.Linear(6, 3), nn.Softmax(dim=-1))).to(dtype)
    optimizer = torch.optim.SGD(module.parameters(), lr=0.1)
    X = torch.randn(32, 4, dtype=dtype) * 3
    y = torch.randint(0, 3, (32,))
    for _ in range(5):  # moves the weights and the running statistics
        optimizer.zero_grad()
        torch.nn.functional.nll_loss(torch.log(module(X)), y).backward()
        optimizer.step()
    net = dp.from_torch(module)
    assert [type(layer).__name__ for layer in net.layers] == [
        "Dense", "BatchNorm", "Dropout", "Dense", "LayerNorm", "Dense"]
    assert net.layers[0].activation.slope == pytest.approx(0.2)
    assert net.layers[3].activation.alpha == 0.5 and net.layers[1].momentum == pytest.approx(0.3)
    assert net.loss_function.name == "cross_entropy"
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    module.eval()
    np.testing.assert_allclose(net.forward(X.numpy()), torch_outputs(module, X.numpy()),
                               rtol=tol, atol=tol)
    again = net.to_torch()
    for (name, a), (_, b) in zip(module.state_dict().items(), again.state_dict().items()):
        if "num_batches_tracked" not in name:
            torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_an_activation_layer_and_torch_defaults(rng):
    module = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Softplus(), nn.Linear(4, 2),
                           nn.Sigmoid()).double().eval()
    net = dp.from_torch(module)
    assert [layer.kind for layer in net.layers] == ["dense", "batch_norm", "activation",
                                                    "dense"]
    assert net.loss_function.name == "binary_cross_entropy"
    X = rng.normal(size=(10, 3))
    np.testing.assert_allclose(net.forward(X), torch_outputs(module, X), rtol=1e-12)
    assert [type(m) for m in net.to_torch()] == [nn.Linear, nn.Identity, nn.BatchNorm1d,
                                                 nn.Softplus, nn.Linear, nn.Sigmoid]


def test_the_exponential_is_capped_as_deltaprop_caps_it():
    net = dp.MLP([2, 2], output="exponential", loss="poisson", dtype="float32", seed=0)
    net.layers[0].W = [[400.0, 0.0], [0.0, 1.0]]  # e^400 overflows float32
    X = np.array([[1.0, 1.0]], dtype=np.float32)
    y = torch_outputs(net.to_torch(), X)
    np.testing.assert_allclose(y, net.forward(X), rtol=1e-6)
    assert y[0, 0] == net.forward(X)[0, 0] > 3e38  # capped below inf, in both


def test_modules_without_a_twin_are_named():
    with pytest.raises(ValueError, match=r"Conv1d \(module 1\) has no deltaprop twin"):
        dp.from_torch(nn.Sequential(nn.Linear(3, 4), nn.Conv1d(1, 1, 1)))
    with pytest.raises(ValueError, match="BatchNorm takes affine=True"):
        dp.from_torch(nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4, affine=False)))
    with pytest.raises(ValueError, match="dtype must be 'float32' or 'float64'"):
        dp.from_torch(nn.Sequential(nn.Linear(3, 4)).half())


class Bent(Activation):
    name = "bent"

    def forward(self, z, out=None):
        return np.add(z, (np.sqrt(z * z + 1.0) - 1.0) / 2, out=out)

    def derivative(self, z, a):
        return 1.0 + z / (2 * np.sqrt(z * z + 1.0))


def test_an_activation_without_a_twin_says_so():
    net = dp.Sequential([dp.Dense(2, 3, Bent(), rng=0)])
    with pytest.raises(NotImplementedError, match="activation 'bent' has no PyTorch twin"):
        net.to_torch()


def test_a_network_on_a_device_goes_to_torch_from_host_copies(rng):
    """The strict device's arrays refuse to meet host arrays, as a GPU's do."""
    net = dp.MLP([3, 5, 2], norm="batch", dtype="float64", device="strict", seed=0)
    X = rng.normal(size=(20, 3))
    net.fit(X, rng.normal(size=(20, 2)), epochs=2, verbose=0)
    np.testing.assert_allclose(torch_outputs(net.to_torch(), X), net.forward(X), rtol=1e-12)
