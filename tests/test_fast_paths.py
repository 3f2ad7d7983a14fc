"""The fast paths of the engine against straightforward references.

* Training (``fit``) against a fresh plain-NumPy loop: forward, softmax + cross-entropy
  backward and Adam written out from the formulas, the same batches (shuffled, with a
  partial last batch). float64 agrees to 1e-12 (only the order of roundings differs);
  float32 to 1e-5, since a few hundred float32 roundings in different orders separate the two.
* The flat optimizer update (one pass over all parameters, block by block) against the same
  rule applied parameter by parameter: bitwise equal, because every rule is elementwise.
* The layers' reused buffers: batch sizes that change (last partial batch, evaluation),
  results handed to the user that later steps must not change, and no allocation that
  grows with the number of batches.
"""

from __future__ import annotations

import copy
import math
import pickle
import tracemalloc

import numpy as np
import pytest

import deltaprop as dp
from deltaprop import optimizers
from deltaprop._validation import _check_finite

DTYPES = ["float32", "float64"]
# Relative tolerance of fit vs the reference loop: float64 differs only by the order of
# roundings; float32 accumulates ~1e-7 per operation over a few hundred operations.
FIT_RTOL = {"float64": 1e-12, "float32": 1e-5}


def assert_close(ours, ref, what, rtol):
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    scale = max(float(np.max(np.abs(ref), initial=0.0)), 1.0)
    err = float(np.max(np.abs(ours - ref), initial=0.0)) / scale
    if not err <= rtol:
        print(f"{what}: ours vs reference\nours:\n{ours}\nreference:\n{ref}\nerror {err:.3e}")
    assert err <= rtol, f"{what}: relative error {err:.3e} > {rtol:.0e} (ours vs reference)"


# --------------------------------------------------------------------------- reference
def reference_gradients(Ws, bs, X, T):
    """Plain forward and backward of a ReLU MLP with softmax + cross-entropy (mean)."""
    hs, zs = [X], []
    for k, (W, b) in enumerate(zip(Ws, bs)):
        z = hs[-1] @ W + b
        zs.append(z)
        hs.append(np.maximum(z, 0) if k < len(Ws) - 1 else z)
    z = zs[-1]
    m = z.max(axis=1, keepdims=True)
    lse = m + np.log(np.exp(z - m).sum(axis=1, keepdims=True))
    y = np.exp(z - lse)
    loss = float(np.sum(T * (lse - z), dtype=np.float64)) / len(X)
    delta = (y - T) / len(X)
    grads = [None] * len(Ws)
    for k in range(len(Ws) - 1, -1, -1):
        grads[k] = (hs[k].T @ delta, delta.sum(axis=0))
        if k:
            delta = (delta @ Ws[k].T) * (zs[k - 1] > 0)
    return loss, grads, y


def reference_adam(params, grads, m, v, t, lr, b1=0.9, b2=0.999, eps=1e-8):
    """Kingma & Ba's Adam as torch writes it, one array at a time."""
    for p, g, mi, vi in zip(params, grads, m, v):
        mi[...] = b1 * mi + (1 - b1) * g
        vi[...] = b2 * vi + (1 - b2) * g * g
        denom = np.sqrt(vi) / math.sqrt(1 - b2**t) + eps
        p -= (lr / (1 - b1**t)) * mi / denom


def reference_fit(net, X, labels, epochs, batch_size, seed, lr):
    """What ``fit`` does, written plainly: returns the weights, losses and accuracies."""
    dtype = net.dtype
    Ws = [layer.W.astype(dtype, copy=True) for layer in net.layers]
    bs = [layer.b.astype(dtype, copy=True) for layer in net.layers]
    T = np.eye(net.n_outputs, dtype=dtype)[labels]
    params = [a for pair in zip(Ws, bs) for a in pair]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    t, n, losses, accuracies = 0, len(X), [], []
    for epoch in range(epochs):
        order = np.random.default_rng([seed, epoch]).permutation(n)
        total, correct = 0.0, 0
        for lo in range(0, n, batch_size):
            idx = order[lo:lo + batch_size]
            J, grads, y = reference_gradients(Ws, bs, X[idx], T[idx])
            total += J * len(idx)
            correct += int(np.sum(y.argmax(axis=1) == labels[idx]))
            t += 1
            reference_adam(params, [g for pair in grads for g in pair], m, v, t, lr)
        losses.append(total / n)
        accuracies.append(correct / n)
    return Ws, bs, losses, accuracies


def problem(dtype, sizes=(7, 9, 6, 4), n=53, seed=0):
    rng = np.random.default_rng(seed)
    net = dp.MLP(list(sizes), activation="relu", output="softmax", loss="cross_entropy",
                 dtype=dtype, seed=seed)
    for layer in net.layers:
        layer.b = rng.normal(scale=0.3, size=layer.b.shape)
    X = rng.normal(size=(n, sizes[0])).astype(dtype)
    labels = rng.integers(0, sizes[-1], size=n)
    return net, X, labels


# --------------------------------------------------------------------------- training
@pytest.mark.parametrize("dtype", DTYPES)
def test_fit_equals_the_plain_numpy_loop(dtype):
    """Shuffled batches of 16 over 53 samples (a last batch of 5), three epochs of Adam."""
    net, X, labels = problem(dtype)
    ref_W, ref_b, ref_loss, ref_acc = reference_fit(net, X, labels, 3, 16, seed=7, lr=0.01)
    history = net.fit(X, labels, optimizer=dp.optimizers.Adam(lr=0.01), epochs=3,
                      batch_size=16, seed=7, verbose=0)
    rtol = FIT_RTOL[dtype]
    for k, layer in enumerate(net.layers):
        assert layer.W.dtype == np.dtype(dtype)
        assert_close(layer.W, ref_W[k], f"W{k + 1} ({dtype})", rtol)
        assert_close(layer.b, ref_b[k], f"b{k + 1} ({dtype})", rtol)
    assert_close(history["loss"], ref_loss, f"loss history ({dtype})", rtol)
    assert history["accuracy"] == ref_acc  # the same predictions, counted once per epoch


@pytest.mark.parametrize("dtype", DTYPES)
def test_gradients_with_changing_batch_sizes(dtype):
    """Full, partial, single-sample and full batches again: each against the reference,
    so a buffer kept from another batch size cannot leak into a result."""
    net, X, labels = problem(dtype, n=40)
    T = np.eye(net.n_outputs, dtype=dtype)[labels]
    Ws = [layer.W.copy() for layer in net.layers]
    bs = [layer.b.copy() for layer in net.layers]
    rtol = 1e-12 if dtype == "float64" else 1e-5
    for lo, hi in [(0, 16), (16, 32), (32, 40), (0, 1), (5, 21), (0, 40), (8, 24)]:
        J = net.backprop(X[lo:hi], T[lo:hi])
        ref_J, ref_grads, ref_y = reference_gradients(Ws, bs, X[lo:hi], T[lo:hi])
        assert_close(J, ref_J, f"J on rows {lo}:{hi}", rtol)
        assert_close(net.layers[-1].a, ref_y, f"outputs on rows {lo}:{hi}", rtol)
        for k, layer in enumerate(net.layers):
            assert_close(layer.grad_W, ref_grads[k][0], f"grad_W{k + 1} on rows {lo}:{hi}", rtol)
            assert_close(layer.grad_b, ref_grads[k][1], f"grad_b{k + 1} on rows {lo}:{hi}", rtol)


def test_buffers_per_batch_size_are_bounded():
    net, X, labels = problem("float64", n=40)
    T = np.eye(net.n_outputs)[labels]
    for n in range(1, 12):
        net.backprop(X[:n], T[:n])
    for layer in net.layers:
        assert len(layer._buffers) <= 3
    assert len(net._delta_buffers) <= 3


def test_results_handed_out_are_not_internal_buffers():
    """What the user gets back does not change when the network trains or predicts on."""
    net, X, labels = problem("float32", n=40)
    T = np.eye(net.n_outputs, dtype=np.float32)[labels]
    J, grads = net.gradients(X[:16], T[:16])
    out = net.forward(X[:16])
    proba = net.predict_proba(X[:16])
    kept = [g.copy() for pair in grads for g in pair], out.copy(), proba.copy()
    internal = [a for layer in net.layers for a in (layer.W, layer.b, layer.grad_W, layer.grad_b)]
    internal += [a for layer in net.layers for bufs in layer._buffers.values() for a in bufs]
    internal += list(net._delta_buffers.values())
    for result in [g for pair in grads for g in pair] + [out, proba]:
        assert not any(np.shares_memory(result, a) for a in internal)
    net.fit(X, labels, epochs=2, batch_size=16, verbose=0, seed=0)
    net.forward(X[16:32])
    net.gradients(X[16:32], T[16:32])
    for a, b in zip([g for pair in grads for g in pair], kept[0]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(out, kept[1])
    np.testing.assert_array_equal(proba, kept[2])


def test_training_allocates_nothing_that_grows_with_the_batches():
    """tracemalloc between batch 20 and batch 390 of one epoch: flat."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(4000, 20)).astype(np.float32)
    y = rng.integers(0, 5, size=4000)
    net = dp.MLP([20, 32, 5], output="softmax", loss="cross_entropy", seed=0)
    net.fit(X, y, epochs=1, batch_size=10, verbose=0, seed=0)  # warm: state, buffers
    alive = {}

    def record(batch, logs):
        if batch in (20, 390):
            alive[batch] = tracemalloc.get_traced_memory()[0]

    tracemalloc.start()
    try:
        net.fit(X, y, epochs=1, batch_size=10, verbose=0, seed=1,
                callbacks=[dp.LambdaCallback(on_batch_end=record)])
    finally:
        tracemalloc.stop()
    assert alive[390] - alive[20] < 4096, f"grew by {alive[390] - alive[20]} bytes over 370 batches"


def test_binary_accuracy_with_one_sigmoid_output():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(45, 3))
    y = (X[:, 0] > 0).astype(int)
    net = dp.MLP([3, 4, 1], output="sigmoid", loss="binary_cross_entropy", dtype="float64",
                 seed=0)
    history = net.fit(X, y, epochs=1, batch_size=8, verbose=0, seed=0, optimizer="sgd")
    # Recompute the epoch's accuracy by hand: the weights before each step are needed, so
    # replay the same steps on a copy.
    twin = dp.MLP([3, 4, 1], output="sigmoid", loss="binary_cross_entropy", dtype="float64",
                  seed=0)
    opt = dp.optimizers.SGD()
    order = np.random.default_rng([0, 0]).permutation(45)
    correct = 0
    for lo in range(0, 45, 8):
        idx = order[lo:lo + 8]
        twin.backprop(X[idx], y[idx, None].astype(float))
        correct += int(np.sum((twin.layers[-1].a[:, 0] > 0.5) == y[idx]))
        opt.step(twin.store)
    assert history["accuracy"] == [correct / 45]


# --------------------------------------------------------------------------- optimizer
OPTIMIZER_CONFIGS = [
    ("sgd", {"lr": 0.1}),
    ("momentum", {"lr": 0.1}),
    ("nesterov", {"lr": 0.1}),
    ("adagrad", {"lr": 0.1}),
    ("rmsprop", {"lr": 0.01, "momentum": 0.9, "centered": True}),
    ("adam", {"lr": 0.01}),
    ("adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.01, "clip_norm": 0.5}),
    ("adamw", {"lr": 0.01, "weight_decay": 0.1}),
]


def _two_copies(dtype, seed=5):
    """The same parameters twice: packed in a network (flat run) and as separate arrays."""
    net, _, _ = problem(dtype, sizes=(6, 11, 7, 3), seed=seed)
    rng = np.random.default_rng(seed)
    loose = [(p.copy(), np.empty_like(g)) for p, g in net.parameters()]
    grads = [[rng.normal(size=p.shape).astype(dtype) for p, _ in loose] for _ in range(5)]
    return net, loose, grads


@pytest.mark.parametrize("block", [optimizers.BLOCK, 7])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, kwargs", OPTIMIZER_CONFIGS,
                         ids=[f"{n}-{len(k)}" for n, k in OPTIMIZER_CONFIGS])
def test_flat_update_equals_the_per_parameter_update_bitwise(name, kwargs, dtype, block,
                                                             monkeypatch):
    """Block 7: the flat array (185 parameters) in many blocks and a ragged last one."""
    monkeypatch.setattr(optimizers, "BLOCK", block)
    net, loose, grads = _two_copies(dtype)
    flat_opt = optimizers.get_optimizer(name, **kwargs)
    loose_opt = optimizers.get_optimizer(name, **kwargs)
    packed = net.parameters()
    for step in grads:
        for (_, g), new in zip(packed, step):
            g[...] = new
        for (_, g), new in zip(loose, step):
            g[...] = new
        flat_opt.step(net.store)
        loose_opt.step(loose)
    assert len(flat_opt._runs) == 1 and len(loose_opt._runs) == len(loose)
    for (p, _), (q, _) in zip(packed, loose):
        np.testing.assert_array_equal(p, q)
    a, b = flat_opt.state_dict(), loose_opt.state_dict()
    for key in flat_opt.state:
        for x, y in zip(a[key], b[key]):
            np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("dtype", DTYPES)
def test_adam_equals_the_formula(dtype):
    net, loose, grads = _two_copies(dtype)
    opt = optimizers.Adam(lr=0.05, beta_1=0.8, beta_2=0.95, eps=1e-6)
    ref = [p.copy() for p, _ in net.parameters()]
    m = [np.zeros_like(p) for p in ref]
    v = [np.zeros_like(p) for p in ref]
    packed = net.parameters()
    for t, step in enumerate(grads, start=1):
        for (_, g), new in zip(packed, step):
            g[...] = new
        opt.step(net.store)
        reference_adam(ref, step, m, v, t, 0.05, 0.8, 0.95, 1e-6)
    rtol = 1e-12 if dtype == "float64" else 1e-5
    for k, ((p, _), r) in enumerate(zip(packed, ref)):
        assert_close(p, r, f"parameter {k} after {len(grads)} Adam steps ({dtype})", rtol)


def test_state_dict_of_the_flat_state_is_a_copy_and_loads_back():
    net, _, grads = _two_copies("float64")
    opt = optimizers.Adam(lr=0.01)
    packed = net.parameters()
    for step in grads[:2]:
        for (_, g), new in zip(packed, step):
            g[...] = new
        opt.step(net.store)
    saved = opt.state_dict()
    assert not any(np.shares_memory(a, b) for a in saved["m"] for b in opt.state["m"])
    weights = [p.copy() for p, _ in packed]
    for step in grads[2:]:
        for (_, g), new in zip(packed, step):
            g[...] = new
        opt.step(net.store)
    after = [p.copy() for p, _ in packed]
    opt.load_state_dict(saved)  # back to step 2, then the same three steps again
    for (p, _), w in zip(packed, weights):
        p[...] = w
    for step in grads[2:]:
        for (_, g), new in zip(packed, step):
            g[...] = new
        opt.step(net.store)
    assert opt._runs[0][0] is net.store.data  # the loaded state was laid out flat again
    for (p, _), a in zip(packed, after):
        np.testing.assert_array_equal(p, a)


def test_assigning_weights_keeps_the_flat_layout():
    net, X, labels = problem("float64")
    opt = optimizers.Adam(lr=0.01)
    net.fit(X, labels, optimizer=opt, epochs=1, batch_size=16, verbose=0, seed=0)
    net.layers[0].W = np.zeros_like(net.layers[0].W)
    net.layers[0].b = np.ones_like(net.layers[0].b)
    net.fit(X, labels, optimizer=opt, epochs=1, batch_size=16, verbose=0, seed=1)
    assert opt._runs[0][0] is net.store.data and net.layers[0].W.base is net.store.data
    assert not np.any(net.layers[0].W == 0.0)  # the optimizer moved the assigned weights


@pytest.mark.parametrize("how", ["pickle", "deepcopy", "copy", "save"])
def test_copies_train_on_exactly_like_the_original(how, tmp_path):
    """A copy has arrays of its own; its optimizer must update those, not the original's."""
    net, X, labels = problem("float32")
    net.fit(X, labels, epochs=2, batch_size=16, verbose=0, seed=3)
    if how == "pickle":
        twin = pickle.loads(pickle.dumps(net))
    elif how == "deepcopy":
        twin = copy.deepcopy(net)
    elif how == "copy":
        twin = net.copy()
        twin.train_state_ = copy.deepcopy(net.train_state_)
    else:
        net.save(tmp_path / "net.npz")
        twin = dp.load(tmp_path / "net.npz")
    for layer, other in zip(net.layers, twin.layers):
        assert not np.shares_memory(layer.W, other.W)
        assert layer.W.base is not None and other.W.base is not None  # both laid out flat
    net.fit(X, labels, epochs=4, batch_size=16, verbose=0, resume=True)
    twin.fit(X, labels, epochs=4, batch_size=16, verbose=0, resume=True)
    for layer, other in zip(net.layers, twin.layers):
        np.testing.assert_array_equal(layer.W, other.W)
        np.testing.assert_array_equal(layer.b, other.b)


def test_shallow_copy_does_not_move_the_original_weights():
    net, _, _ = problem("float64")
    W = net.layers[0].W
    copy.copy(net)
    net.copy()
    net.astype("float32")
    assert net.layers[0].W is W


# --------------------------------------------------------------------------- validation
def test_finite_check_in_blocks_names_the_first_bad_entry():
    X = np.ones((1000, 7))
    X[613, 5] = np.inf
    X[900, 1] = np.nan
    with pytest.raises(ValueError, match=r"X\[613, 5\] = inf"):
        _check_finite(X, "X", block=70)
    _check_finite(np.ones((1000, 7)), "X", block=70)


def test_pickled_optimizer_with_its_parameters_updates_them():
    """Pickling keeps identities but not views: the unpickled optimizer plans again."""
    net, _, grads = _two_copies("float64")
    opt = optimizers.Adam(lr=0.01)
    pairs = net.parameters()
    for (_, g), new in zip(pairs, grads[0]):
        g[...] = new
    opt.step(pairs)
    pairs2, opt2 = pickle.loads(pickle.dumps((pairs, opt)))
    opt.step(pairs)
    opt2.step(pairs2)
    for (p, _), (q, _) in zip(pairs, pairs2):
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_into_a_buffer_equals_the_plain_maximum(dtype):
    """ReLU.forward(z, out=buffer) takes max(z, zeros) instead of max(z, 0.0): same bits,
    NaN, inf and signed zeros included."""
    rng = np.random.default_rng(6)
    z = rng.normal(size=(17, 9)).astype(dtype)
    z.flat[:6] = [np.nan, np.inf, -np.inf, 0.0, -0.0, -1e-45]
    out = np.full_like(z, 7.0)
    got = dp.activations.ReLU().forward(z, out=out)
    ref = np.maximum(z, 0.0)
    assert got is out
    np.testing.assert_array_equal(got, ref)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(ref))


def test_pickle_leaves_the_work_buffers_behind():
    """A pickled network carries its weights (and training state), not its scratch
    buffers, and trains on exactly like the original."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(300, 64)), rng.integers(0, 10, size=300)
    net = dp.MLP([64, 128, 10], output="softmax", loss="cross_entropy", seed=0)
    net.fit(X, y, epochs=1, batch_size=32, verbose=0, seed=0)
    assert all(layer._buffers for layer in net.layers)
    twin = pickle.loads(pickle.dumps(net))
    assert not any(layer._buffers for layer in twin.layers) and not twin._delta_buffers
    for a in (net, twin):
        a.fit(X, y, epochs=2, batch_size=32, verbose=0, seed=0, resume=True)
    for la, lb in zip(net.layers, twin.layers):
        np.testing.assert_array_equal(la.W, lb.W)
