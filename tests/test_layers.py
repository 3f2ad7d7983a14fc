"""The layer protocol and the layers that prove it: Dropout, BatchNorm, LayerNorm.

Each is checked against PyTorch (float64, 1e-10 relative: ``nn.Dropout``'s rule with the
same mask, ``nn.BatchNorm1d``, ``nn.LayerNorm``) in training and in evaluation mode, and
against finite differences; then through MLP, Sequential, model files (running statistics,
bitwise resume) and summary().
"""

import numpy as np
import pytest
import torch

import deltaprop as dp
from deltaprop.layers import BatchNorm, Dense, Dropout, LayerNorm

torch.set_default_dtype(torch.float64)
RTOL = 1e-10


def rel_err(ours, ref):
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    return float(np.max(np.abs(ours - ref), initial=0.0)) / max(float(np.max(np.abs(ref))), 1e-300)


def assert_close(ours, ref, what, rtol=RTOL):
    err = rel_err(ours, ref)
    assert err <= rtol, f"{what}: relative error {err:.2e}\nours:\n{ours}\nreference:\n{ref}"


def net_with(middle, rng, n_in=5, width=7, n_out=3):
    """Dense(tanh) -> middle -> Dense(softmax), cross-entropy, float64, random biases."""
    first = Dense(n_in, width, "tanh", dtype="float64", rng=rng)
    last = Dense(width, n_out, "softmax", dtype="float64", rng=rng)
    net = dp.Sequential([first, middle, last], loss="cross_entropy")
    first.b = rng.normal(size=width)
    last.b = rng.normal(size=n_out)
    return net


def torch_loss(net, X, labels, middle_fn):
    """The same network in torch; returns J and the leaf tensors (W1, b1, W3, b3) plus the
    middle layer's own leaves."""
    first, _, last = net.layers
    W1, b1 = torch.tensor(first.W, requires_grad=True), torch.tensor(first.b, requires_grad=True)
    W3, b3 = torch.tensor(last.W, requires_grad=True), torch.tensor(last.b, requires_grad=True)
    h = torch.tanh(torch.tensor(X) @ W1 + b1)
    h, extra = middle_fn(h)
    z = h @ W3 + b3
    J = torch.nn.functional.cross_entropy(z, torch.tensor(labels))
    J.backward()
    return J.item(), [W1, b1, *extra, W3, b3]


def compare_with_torch(net, X, labels, middle_fn, training):
    J, grads = net.gradients(X, labels, training=training)
    ours = net.parameter_gradients()
    J_t, leaves = torch_loss(net, X, labels, middle_fn)
    assert abs(J - J_t) <= RTOL * abs(J_t), (J, J_t)
    names = list(ours)
    assert len(names) == len(leaves)
    for name, leaf in zip(names, leaves):
        assert_close(ours[name], leaf.grad.numpy(), f"∂J/∂{name} ({'training' if training else 'evaluation'})")


# -- Dropout -------------------------------------------------------------------------------
def test_dropout_matches_torch_with_the_same_mask(rng):
    drop = Dropout(0.4, seed=3)
    net = net_with(drop, rng)
    X, y = rng.normal(size=(9, 5)), rng.integers(0, 3, size=9)
    net.gradients(X, y, training=True)  # draws the mask
    mask = drop.mask.copy()
    assert set(np.unique(mask)) <= {0.0, 1 / 0.6} and 0 < np.count_nonzero(mask) < mask.size
    drop.hold_noise = True  # the same mask again for the comparison
    compare_with_torch(net, X, y, lambda h: (h * torch.tensor(mask), []), training=True)
    # nn.Dropout's own rule: every output is 0 or x / (1 - p), and eval is the identity.
    x = torch.tensor(rng.normal(size=(50, 7)))
    out = torch.nn.Dropout(0.4).train()(x)
    kept = out != 0
    assert torch.allclose(out[kept], x[kept] / 0.6)
    assert torch.equal(torch.nn.Dropout(0.4).eval()(x), x)


def test_dropout_is_the_identity_in_evaluation(rng):
    net = net_with(Dropout(0.5, seed=0), rng)
    X, y = rng.normal(size=(6, 5)), rng.integers(0, 3, size=6)
    compare_with_torch(net, X, y, lambda h: (h, []), training=False)
    np.testing.assert_array_equal(net.forward(X), net.forward(X))


def test_dropout_masks_are_reproducible_with_the_seed(rng):
    a, b = Dropout(0.3, seed=7), Dropout(0.3, seed=7)
    x = rng.normal(size=(20, 4))
    np.testing.assert_array_equal(a.forward(x, training=True), b.forward(x, training=True))
    assert not np.array_equal(a.forward(x, training=True), b.forward(x[::-1], training=True))
    with pytest.raises(ValueError, match=r"dropout p must be in \[0, 1\), got 1.0"):
        Dropout(1.0)


# -- BatchNorm -----------------------------------------------------------------------------
def randomize(layer, rng):
    layer.gamma = rng.normal(size=layer.n_features)
    layer.beta = rng.normal(size=layer.n_features)
    return layer


def torch_bn(layer, training, rm, rv):
    def fn(h):
        bn = torch.nn.BatchNorm1d(layer.n_features, eps=layer.eps, momentum=layer.momentum)
        with torch.no_grad():
            bn.weight.copy_(torch.tensor(layer.gamma))
            bn.bias.copy_(torch.tensor(layer.beta))
            bn.running_mean.copy_(torch.tensor(rm))
            bn.running_var.copy_(torch.tensor(rv))
        bn.train(training)
        fn.module = bn
        return bn(h), [bn.weight, bn.bias]
    return fn


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_matches_torch(training, rng):
    bn = randomize(BatchNorm(7, momentum=0.2, dtype="float64"), rng)
    bn.running_mean[:] = rng.normal(size=7)
    bn.running_var[:] = rng.uniform(0.5, 2.0, size=7)
    rm, rv = bn.running_mean.copy(), bn.running_var.copy()
    net = net_with(bn, rng)
    X, y = rng.normal(size=(10, 5)), rng.integers(0, 3, size=10)
    fn = torch_bn(bn, training, rm, rv)
    compare_with_torch(net, X, y, fn, training=training)
    # the running averages moved exactly as torch's (one step in training), or not at all
    assert_close(bn.running_mean, fn.module.running_mean.numpy(), "running_mean")
    assert_close(bn.running_var, fn.module.running_var.numpy(), "running_var")
    if not training:
        np.testing.assert_array_equal(bn.running_mean, rm)


def test_batch_norm_needs_two_samples_in_training(rng):
    net = dp.MLP([3, 4, 2], norm="batch", output="softmax", loss="cross_entropy", seed=0)
    X, y = rng.normal(size=(9, 3)), rng.integers(0, 2, size=9)
    with pytest.raises(ValueError, match="batches of at least 2 samples.*leave a batch of 1"):
        net.fit(X, y, batch_size=4, epochs=1, verbose=0)
    net.fit(X, y, batch_size=3, epochs=1, verbose=0)  # 3 + 3 + 3
    assert net.predict(X[:1]).shape == (1,)  # one sample is fine in evaluation


# -- LayerNorm -----------------------------------------------------------------------------
@pytest.mark.parametrize("training", [True, False])
def test_layer_norm_matches_torch(training, rng):
    ln = randomize(LayerNorm(7, dtype="float64"), rng)
    net = net_with(ln, rng)
    X, y = rng.normal(size=(6, 5)), rng.integers(0, 3, size=6)

    def fn(h):
        mod = torch.nn.LayerNorm(7, eps=ln.eps)
        with torch.no_grad():
            mod.weight.copy_(torch.tensor(ln.gamma))
            mod.bias.copy_(torch.tensor(ln.beta))
        return mod(h), [mod.weight, mod.bias]

    compare_with_torch(net, X, y, fn, training=training)


# -- finite differences ----------------------------------------------------------------------
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("norm", [None, "batch", "layer"])
@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_finite_differences(norm, dropout, training, rng):
    net = dp.MLP([4, 6, 5, 3], activation="tanh", output="softmax", loss="cross_entropy",
                 dtype="float64", seed=1, norm=norm, dropout=dropout, l2=0.1)
    for layer in net.layers:
        if isinstance(layer, (BatchNorm, LayerNorm)):
            randomize(layer, rng)
        if isinstance(layer, BatchNorm):
            layer.running_mean[:] = rng.normal(size=layer.n_features)
    X, y = rng.normal(size=(8, 4)), rng.integers(0, 3, size=8)
    report = dp.gradcheck(net, X, y, training=training)
    assert report.passed and report.max_rel_error < 1e-7, f"\n{report}"
    labels = [a.name for a in report.arrays]
    assert labels[:2] == ["W1", "b1"] and (norm is None or "gamma2" in labels)


# -- the network around them ---------------------------------------------------------------
def test_mlp_builds_norm_and_dropout_after_each_hidden_layer():
    net = dp.MLP([4, 8, 8, 3], norm="batch", dropout=0.2, output="softmax",
                 loss="cross_entropy", seed=0)
    kinds = [layer.kind for layer in net.layers]
    assert kinds == ["dense", "batch_norm", "dropout"] * 2 + ["dense"]
    plain = dp.MLP([4, 8, 8, 3], output="softmax", loss="cross_entropy", seed=0)
    dense = [layer for layer in net.layers if isinstance(layer, Dense)]
    for a, b in zip(dense, plain.layers):  # same seed, same weights
        np.testing.assert_array_equal(a.W, b.W)
    text = net.summary(print_fn=None)
    assert "batch_norm_1" in text and "dropout_2" in text
    assert f"Total params: {4 * 8 + 8 + 16 + 8 * 8 + 8 + 16 + 8 * 3 + 3:,}" in text
    with pytest.raises(ValueError, match="norm must be None or one of batch, layer"):
        dp.MLP([2, 2], norm="group")


def test_sequential_checks_its_layers():
    with pytest.raises(TypeError, match=r"layers\[1\] is 3, not a deltaprop layer"):
        dp.Sequential([Dense(2, 2), 3])
    with pytest.raises(ValueError, match="layer 1 has 4 outputs but layer 2 expects 5"):
        dp.Sequential([Dense(2, 4), Dropout(0.1), BatchNorm(5)])
    with pytest.raises(ValueError, match="no layer of the network fixes its size"):
        dp.Sequential([Dropout(0.1)])
    net = dp.Sequential([Dropout(0.2), Dense(3, 2)])  # input dropout: sizes from the Dense
    assert (net.n_inputs, net.n_outputs) == (3, 2)


def test_store_offsets_and_views():
    net = dp.MLP([3, 4, 2], norm="layer", seed=0, dtype="float64")
    store = net.store
    assert [s.label for s in store.slots] == ["W1", "b1", "gamma2", "beta2", "W3", "b3"]
    assert [s.decay for s in store.slots] == [True, False, False, False, True, False]
    for slot, (value, grad) in zip(store.slots, net.parameters()):
        assert value.base is store.data and grad.base is store.grad
        np.testing.assert_array_equal(store.view(store.data, slot), value)
    assert store.size == net.n_params() == 3 * 4 + 4 + 8 + 4 * 2 + 2


def test_weight_decay_and_l2_only_touch_the_weight_matrices(rng):
    net = dp.MLP([3, 4, 2], norm="batch", seed=0, dtype="float64")
    before = net.snapshot()
    net.store.grad[:] = 0.0
    opt = dp.optimizers.SGD(lr=0.1, weight_decay=0.5)
    opt.step(net.store)
    for slot in net.store.slots:
        now = net.store.view(net.store.data, slot)
        was = net.store.view(before["data"], slot)
        np.testing.assert_array_equal(now, was * 0.5 if slot.decay else was)


def test_a_per_tensor_rule_sees_whole_tensors():
    """A rule that normalises each tensor's step by that tensor's norm (as LARS does) is
    written by setting per_tensor: it is called once per tensor, never on a block."""

    class TensorNormSGD(dp.optimizers.Optimizer):
        name = "tensor_norm_sgd"
        per_tensor = True
        shapes = []

        def _update(self, param, grad, state, step):
            self.shapes.append(param.shape)
            np.multiply(grad, self.lr / (np.linalg.norm(grad) + 1e-12), out=step)
            param -= step

    net = dp.MLP([3, 5, 2], seed=0, dtype="float64")
    rng = np.random.default_rng(0)
    net.store.grad[:] = rng.normal(size=net.store.size)
    expected = [p - 0.1 * g / (np.linalg.norm(g) + 1e-12) for p, g in net.parameters()]
    TensorNormSGD(lr=0.1).step(net.store)
    assert TensorNormSGD.shapes == [(3, 5), (5,), (5, 2), (2,)]
    for (p, _), e in zip(net.parameters(), expected):
        np.testing.assert_allclose(p, e, rtol=1e-15)


# -- model files and resuming ----------------------------------------------------------------
def data(rng, n=64):
    X = rng.normal(size=(n, 4))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)


@pytest.mark.parametrize("norm", ["batch", "layer"])
def test_save_load_keeps_running_statistics_and_resumes_bitwise(norm, rng, tmp_path):
    X, y = data(rng)
    make = lambda: dp.MLP([4, 8, 3], norm=norm, dropout=0.25, output="softmax",  # noqa: E731
                          loss="cross_entropy", seed=0, dtype="float64")
    straight = make()
    straight.fit(X, y, epochs=4, batch_size=16, verbose=0, seed=5)
    first = make()
    first.fit(X, y, epochs=2, batch_size=16, verbose=0, seed=5)
    first.save(tmp_path / "m.npz")
    again = dp.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(again.predict_proba(X), first.predict_proba(X))
    if norm == "batch":
        np.testing.assert_array_equal(again.layers[1].running_var, first.layers[1].running_var)
        assert not np.all(again.layers[1].running_var == 1.0)  # it did move in training
    again.fit(X, y, epochs=4, batch_size=16, verbose=0, resume=True)
    np.testing.assert_array_equal(again.store.data, straight.store.data)
    for a, b in zip(again.layers, straight.layers):
        for name, value in a.buffers().items():
            np.testing.assert_array_equal(value, b.buffers()[name])


def test_ctrl_c_with_dropout_and_batch_norm_resumes_bitwise(rng):
    X, y = data(rng)
    make = lambda: dp.MLP([4, 8, 3], norm="batch", dropout=0.3, output="softmax",  # noqa: E731
                          loss="cross_entropy", seed=0, dtype="float64")
    straight = make()
    straight.fit(X, y, epochs=3, batch_size=16, verbose=0, seed=1)

    def interrupt(batch, logs):
        if logs["epoch"] == 1 and batch == 2:
            raise KeyboardInterrupt

    broken = make()
    history = broken.fit(X, y, epochs=3, batch_size=16, verbose=0, seed=1,
                         callbacks=[dp.LambdaCallback(on_batch_end=interrupt)])
    assert history.interrupted
    broken.fit(X, y, epochs=3, batch_size=16, verbose=0, resume=True)
    np.testing.assert_array_equal(broken.store.data, straight.store.data)
    np.testing.assert_array_equal(broken.layers[1].running_mean, straight.layers[1].running_mean)


def test_format_1_files_still_load(tmp_path):
    """tests/data/model_v1.npz was written by deltaprop before the layer protocol."""
    here = __import__("pathlib").Path(__file__).parent / "data"
    net = dp.load(here / "model_v1.npz")
    expected = np.load(here / "model_v1_expected.npz")
    assert type(net) is dp.MLP and net.layer_sizes == [4, 6, 5, 3]
    assert list(net.classes_) == ["a", "b", "c"]
    # The expected values were computed on another CPU, whose BLAS kernels may round a
    # product differently in the last bit: equal to float64 rounding, not bitwise.
    np.testing.assert_allclose(net.predict_proba(expected["X"]), expected["proba"],
                               rtol=1e-13, atol=0)
    y = np.array(["a", "b", "c"])[np.arange(60) % 3]
    net.fit(expected["X"], y, epochs=3, verbose=0, resume=True)  # as the old version did
    np.testing.assert_allclose(net.layers[0].W, np.load(here / "model_v1_resumed.npz")["W1"],
                               rtol=1e-10, atol=1e-13)


def test_astype_and_copies_keep_the_new_layers(rng):
    net = dp.MLP([4, 6, 3], norm="batch", dropout=0.2, output="softmax", loss="cross_entropy",
                 seed=0)
    X, y = data(rng)
    net.fit(X, y, epochs=1, batch_size=16, verbose=0, seed=0)
    net64 = net.astype("float64")
    assert net64.dtype == np.float64 and net64.layers[1].running_mean.dtype == np.float64
    np.testing.assert_allclose(net64.predict_proba(X), net.predict_proba(X), rtol=1e-5)
    twin = net.copy()
    twin.layers[1].running_mean[:] = 0
    assert not np.all(net.layers[1].running_mean == 0)


# -- a user's layer, as docs/architecture.md writes it ------------------------------------------
from deltaprop.layers import Layer, register_layer  # noqa: E402
from deltaprop.layers.base import parameter  # noqa: E402


@register_layer
class Scale(Layer):
    """a = s * x with one learned scalar s."""
    kind = "test_scale"
    parameter_names = ("s",)
    s = parameter("s")  # the value at layer.s (a view into the store), its gradient at grad_s

    def __init__(self, dtype="float64"):
        self.dtype = dtype
        self._s, self.grad_s = np.ones(1, dtype), np.zeros(1, dtype)
        self.forget()

    def forward(self, x, training=False, keep=False):
        a = x * self._s
        if keep:  # what backward (and explain) needs: the input and the output
            self.x, self.a = x, a
        return a

    def backward(self, g, need_input_grad=True):
        if self.record:
            self.grad_output = g.copy()
        self.grad_s[0] = np.vdot(g, self.x)      # ∂J/∂s = Σ g ⊙ x
        return g * self._s if need_input_grad else None

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config, dtype):
        return cls(dtype)


def test_a_new_layer_is_one_class(rng, tmp_path):
    net = dp.Sequential([Dense(2, 3, "tanh", dtype="float64", rng=0), Scale(),
                         Dense(3, 1, dtype="float64", rng=1)])
    net.layers[1].s = [1.7]
    X, t = rng.normal(size=(20, 2)), rng.normal(size=(20, 1))
    report = dp.gradcheck(net, X[:5], t[:5])
    assert report.passed and "s2" in [a.name for a in report.arrays], report
    net.fit(X, t, epochs=3, batch_size=5, verbose=0, seed=0)
    assert net.layers[1].s[0] != 1.7  # the optimizer reached it through the store
    net.save(tmp_path / "m.npz")
    np.testing.assert_array_equal(dp.load(tmp_path / "m.npz").forward(X), net.forward(X))
    assert "test_scale_1" in net.summary(print_fn=None)
    assert "test_scale(" in str(dp.explain(net, X[:1], t[:1]))


# -- the activation as a layer: batch normalisation before the nonlinearity ----------------------
from deltaprop.layers import ActivationLayer  # noqa: E402


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_before_the_activation_as_in_the_paper(training, rng):
    first = Dense(5, 6, dtype="float64", rng=rng)
    bn = randomize(BatchNorm(6, dtype="float64"), rng)
    last = Dense(6, 3, dtype="float64", rng=rng)
    net = dp.Sequential([first, bn, ActivationLayer("relu"), last, ActivationLayer("softmax")],
                        loss="cross_entropy")
    X, y = rng.normal(size=(8, 5)), rng.integers(0, 3, size=8)
    report = dp.gradcheck(net, X, y, training=training)
    assert report.passed, report
    J, _ = net.gradients(X, y, training=training)
    ours = net.parameter_gradients()
    W1, b1 = torch.tensor(first.W, requires_grad=True), torch.tensor(first.b, requires_grad=True)
    W4, b4 = torch.tensor(last.W, requires_grad=True), torch.tensor(last.b, requires_grad=True)
    mod = torch_bn(bn, training, np.zeros(6), np.ones(6))
    h, (gamma, beta) = mod(torch.tensor(X) @ W1 + b1)
    z = torch.relu(h) @ W4 + b4
    J_t = torch.nn.functional.cross_entropy(z, torch.tensor(y))
    J_t.backward()
    assert abs(J - J_t.item()) <= RTOL * abs(J_t.item())
    for name, leaf in zip(["W1", "b1", "gamma2", "beta2", "W4", "b4"], [W1, b1, gamma, beta, W4, b4]):
        if name == "b1" and training:  # batch statistics remove the mean: ∂J/∂b1 = 0 exactly
            assert np.abs(ours[name]).max() < 1e-15 and np.abs(leaf.grad.numpy()).max() < 1e-15
            continue
        assert_close(ours[name], leaf.grad.numpy(), f"∂J/∂{name}")
    assert net.task == "classification"  # the softmax output layer decides, fused with the loss
    assert "activation_1" in net.summary(print_fn=None)


def test_activation_layer_trains_and_saves(rng, tmp_path):
    net = dp.Sequential([Dense(2, 8, dtype="float64", rng=0), LayerNorm(8, dtype="float64"),
                         ActivationLayer("tanh"), Dense(8, 1, "sigmoid", dtype="float64", rng=1)],
                        loss="binary_cross_entropy")
    X = rng.normal(size=(64, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    net.fit(X, y, epochs=40, batch_size=16, verbose=0, seed=0,
            optimizer=dp.optimizers.Adam(lr=0.02))
    assert net.score(X, y) > 0.85
    net.save(tmp_path / "m.npz")
    again = dp.load(tmp_path / "m.npz")
    assert again.layers[2].activation.name == "tanh"
    np.testing.assert_array_equal(again.predict_proba(X), net.predict_proba(X))
    text = str(dp.explain(net, X[:2], y[:2]))
    assert "activation(" in text  # shown as a step of its own
