"""The device path on the CPU: the strict device runs the code that a GPU runs, on NumPy
arrays that refuse to meet a host array (as CuPy's do), so that nothing NumPy-only leaks
into it; its results must be the CPU's to the last bit (both on the NumPy reference path).
"""

import pickle

import numpy as np
import pytest

import deltaprop as dp
from deltaprop import kernels
from deltaprop.devices import STRICT, StrictArray, device_of, get_device, namespace, to_host

from conftest import HEADS, random_targets


@pytest.fixture
def reference():
    """The NumPy reference path on both sides (the Numba kernels round differently)."""
    previous = kernels.use("numpy")
    yield
    kernels.use(previous)


def host(a):
    return np.array(to_host(a))


def assert_same_weights(a, b):
    assert a.store.dtype == b.store.dtype
    np.testing.assert_array_equal(host(a.store.data), host(b.store.data))
    for la, lb in zip(a.layers, b.layers):
        for name in la.buffer_names:
            np.testing.assert_array_equal(host(getattr(la, name)), host(getattr(lb, name)))


# --------------------------------------------------------------------------- the devices
def test_names():
    assert get_device() is dp.devices.CPU and get_device("cpu") is dp.devices.CPU
    assert get_device(" Strict ") is STRICT
    assert get_device(STRICT) is STRICT
    assert str(STRICT) == "strict" and repr(dp.devices.CPU) == "Device('cpu')"
    assert pickle.loads(pickle.dumps(STRICT)) is STRICT
    for bad in ("tpu", "cuda:x", "cpu:1", 3, "strict:0"):
        with pytest.raises(ValueError, match="device"):
            get_device(bad)


def test_cuda_without_cupy_says_what_is_missing():
    pytest.importorskip("numpy")
    try:
        import cupy  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("CuPy is installed: tests/test_gpu.py covers the GPU")
    with pytest.raises(dp.DeviceError, match=r"needs CuPy.*deltaprop\[cuda\]"):
        dp.MLP([2, 3, 1], device="cuda")
    with pytest.raises(dp.DeviceError, match="needs CuPy"):
        dp.MLP([2, 3, 1]).to("cuda:0")


def test_strict_arrays_refuse_host_arrays():
    xp = STRICT.xp
    a = xp.zeros((3, 4))
    host_arr = np.ones((3, 4))
    for op in (lambda: a + host_arr, lambda: host_arr * a, lambda: np.copyto(a, host_arr),
               lambda: np.sum(a, axis=0, out=np.empty(4)), lambda: a[np.array([0, 1])],
               lambda: a.__setitem__(Ellipsis, host_arr), lambda: np.matmul(a, host_arr.T),
               lambda: np.concatenate([a, host_arr])):
        with pytest.raises(TypeError, match="strict device: a NumPy"):
            op()
    # What CuPy allows: Python and NumPy scalars, 0-d arrays, device arrays everywhere.
    b = a + 1.0 + np.float64(2.0) + np.array(1.0)
    assert type(b) is StrictArray and float(b[0, 0]) == 4.0
    for result in (a @ a.T, np.sum(a, axis=0), a.sum(), np.empty_like(a), a[1:], a.T,
                   a.ravel(), np.take(a, STRICT.asarray(np.array([0, 2])), axis=0),
                   np.argmax(a, axis=1), xp.empty((2, 2)), np.exp(a)):
        assert type(result) is StrictArray
    assert namespace(a) is xp and device_of(a) is STRICT and device_of(host_arr).is_cpu
    h = to_host(a)
    assert type(h) is np.ndarray
    h[0, 0] = 5.0  # a copy, as from a GPU
    assert float(a[0, 0]) == 0.0


def test_a_leaking_layer_is_caught():
    """The strict device finds a layer that makes its work array with NumPy (the mistake
    that breaks on a GPU), and the same layer on the CPU works."""

    @dp.layers.register_layer
    class Leaky(dp.layers.Layer):
        kind = "test_leaky"

        def forward(self, x, training=False, keep=False):
            a = np.empty(x.shape, dtype=x.dtype)  # host memory: wrong on a device
            np.multiply(x, 2.0, out=a)
            self.x = self.a = a
            return a

        def backward(self, g, need_input_grad=True):
            return g * 2.0

        def get_config(self):
            return {}

    try:
        X, y = np.ones((4, 2)), np.array([0, 1, 0, 1])
        for device in ("cpu", "strict"):
            net = dp.Sequential([Leaky(), dp.Dense(2, 2, "softmax", dtype="float64", rng=0)],
                                loss="cross_entropy", device=device)
            if device == "cpu":
                net.fit(X, y, epochs=1, verbose=0)
            else:
                with pytest.raises(TypeError, match="strict device"):
                    net.fit(X, y, epochs=1, verbose=0)
    finally:
        del dp.layers.LAYERS["test_leaky"]


# --------------------------------------------------------------------------- the algorithm
@pytest.mark.parametrize("output,loss", HEADS)
@pytest.mark.parametrize("hidden", ["relu", "sigmoid", "tanh", "gelu", "leaky_relu"])
def test_gradients_are_the_cpu_ones(rng, reference, output, loss, hidden):
    sizes = [3, 5, 4, 3]
    X = rng.normal(size=(7, 3))
    T = random_targets(rng, loss, 7, 3)
    nets = [dp.MLP(sizes, activation=hidden, output=output, loss=loss, l2=0.01,
                   dtype="float64", seed=4, device=d) for d in ("cpu", "strict")]
    (J0, g0), (J1, g1) = (net.gradients(X, T) for net in nets)
    assert J0 == J1
    for (w0, b0), (w1, b1) in zip(g0, g1):
        assert type(w1) is np.ndarray  # handed back on the host
        np.testing.assert_array_equal(w0, w1)
        np.testing.assert_array_equal(b0, b1)
    assert dp.gradcheck(nets[1], X, T).passed


OPTIMIZERS = [
    "adam",
    lambda: dp.optimizers.AdamW(lr=0.01, weight_decay=0.1, clip_norm=0.5),
    lambda: dp.optimizers.Adam(lr=0.01, amsgrad=True),
    lambda: dp.optimizers.SGD(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "sgd", "rmsprop", "adagrad",
]


@pytest.mark.parametrize("make_opt", OPTIMIZERS)
@pytest.mark.parametrize("extra", [{}, {"dropout": 0.3}, {"norm": "batch"},
                                   {"norm": "layer", "dropout": 0.2}])
def test_training_is_the_cpu_training(rng, reference, make_opt, extra):
    X = rng.normal(size=(90, 5))
    y = rng.integers(0, 3, size=90)
    w = rng.random(90) + 0.5
    nets, logs = [], []
    for device in ("cpu", "strict"):
        net = dp.MLP([5, 8, 3], output="softmax", loss="cross_entropy", dtype="float64",
                     seed=2, device=device, l2=1e-3, **extra)
        opt = make_opt if isinstance(make_opt, str) else make_opt()
        history = net.fit(X, y, optimizer=opt, epochs=3, batch_size=16, seed=5, verbose=0,
                          validation_split=0.2, sample_weight=w, schedule=dp.schedules.StepDecay(lr=0.01, step_size=2))
        nets.append(net)
        logs.append(history.history)
    assert_same_weights(*nets)
    assert logs[0] == {k: v for k, v in logs[1].items()} or _same_but_time(*logs)
    np.testing.assert_array_equal(nets[0].predict_proba(X), nets[1].predict_proba(X))
    assert nets[0].evaluate(X, y) == nets[1].evaluate(X, y)


def _same_but_time(a, b):
    return {k: v for k, v in a.items() if k != "time"} == \
        {k: v for k, v in b.items() if k != "time"}


@pytest.mark.parametrize("output,loss", HEADS)
def test_every_head_trains_alike(rng, reference, output, loss):
    X = rng.normal(size=(40, 4))
    T = random_targets(rng, loss, 40, 3)
    if loss == "cross_entropy" and T.ndim == 1:
        T = np.arange(40) % 3  # every class present
    nets = []
    for device in ("cpu", "strict"):
        net = dp.MLP([4, 6, 3], activation="tanh", output=output, loss=loss, dtype="float32",
                     seed=1, device=device, reduction="sum" if "squared" in loss else "mean")
        net.fit(X, T, epochs=2, batch_size=8, seed=3, verbose=0, optimizer="rmsprop")
        nets.append(net)
    assert_same_weights(*nets)
    assert nets[0].evaluate(X, T) == nets[1].evaluate(X, T)
    out = nets[1].predict(X)
    assert type(out) is np.ndarray
    np.testing.assert_array_equal(nets[0].predict(X), out)


def test_batches_copied_one_by_one_when_the_set_does_not_fit(rng, reference, monkeypatch):
    X = rng.normal(size=(50, 3))
    y = rng.normal(size=50)
    whole = dp.MLP([3, 4, 1], dtype="float64", seed=0, device="strict")
    whole.fit(X, y, epochs=2, batch_size=8, seed=1, verbose=0)
    monkeypatch.setattr(type(STRICT), "fits", lambda self, nbytes: False)
    batched = dp.MLP([3, 4, 1], dtype="float64", seed=0, device="strict")
    batched.fit(X, y, epochs=2, batch_size=8, seed=1, verbose=0)
    assert_same_weights(whole, batched)
    unshuffled = dp.MLP([3, 4, 1], dtype="float64", seed=0, device="strict")
    unshuffled.fit(X, y, epochs=1, batch_size=8, shuffle=False, verbose=0)


def test_divergence_rolls_back_on_the_device(rng, reference):
    X = rng.normal(size=(20, 2)) * 1e3
    y = rng.normal(size=20) * 1e3
    nets, messages = [], []
    for device in ("cpu", "strict"):
        net = dp.MLP([2, 8, 1], dtype="float32", seed=0, device=device)
        with pytest.raises(dp.TrainingDiverged) as caught, np.errstate(all="ignore"):
            net.fit(X, y, optimizer=dp.optimizers.SGD(lr=1e6), epochs=3, verbose=0)
        nets.append(net)
        messages.append(str(caught.value))
    assert messages[0] == messages[1] and "restored" in messages[0]
    assert_same_weights(*nets)  # both back at the start of the epoch that diverged
    assert type(nets[1].store.data) is StrictArray


def test_early_stopping_restores_on_the_device(rng, reference):
    X = rng.normal(size=(60, 3))
    y = rng.integers(0, 2, 60)
    nets = []
    for device in ("cpu", "strict"):
        net = dp.MLP([3, 16, 2], output="softmax", loss="cross_entropy", dtype="float64",
                     seed=0, device=device)
        stop = dp.EarlyStopping(patience=1, restore_best=True, monitor="val_loss")
        net.fit(X, y, epochs=15, validation_split=0.3, callbacks=[stop], verbose=0, seed=0,
                optimizer=dp.optimizers.Adam(lr=0.05))
        nets.append(net)
    assert_same_weights(*nets)


# --------------------------------------------------------------------------- moves and files
def test_to_moves_everything_and_back(rng, reference):
    X = rng.normal(size=(30, 3))
    y = rng.integers(0, 3, 30)
    a = dp.MLP([3, 5, 3], output="softmax", loss="cross_entropy", dtype="float64", seed=0,
               norm="batch")
    b = dp.MLP([3, 5, 3], output="softmax", loss="cross_entropy", dtype="float64", seed=0,
               norm="batch")
    a.fit(X, y, epochs=2, verbose=0, seed=1)
    b.fit(X, y, epochs=2, verbose=0, seed=1)
    assert b.to("strict") is b and b.device is STRICT
    assert type(b.layers[0].W) is StrictArray and type(b.layers[1].running_mean) is StrictArray
    assert all(type(m) is StrictArray for m in b.train_state_["optimizer"].state["m"])
    a.fit(X, y, epochs=4, verbose=0, resume=True)
    b.fit(X, y, epochs=4, verbose=0, resume=True)
    assert_same_weights(a, b)
    b.to("cpu")
    assert type(b.layers[0].W) is np.ndarray and b.device.is_cpu
    assert type(b.layers[1].running_var) is np.ndarray
    a.fit(X, y, epochs=5, verbose=0, resume=True)
    b.fit(X, y, epochs=5, verbose=0, resume=True)
    assert_same_weights(a, b)
    c = b.copy().to("strict")
    assert c.device is STRICT and b.device.is_cpu  # the copy moved, not the original
    assert c.copy().device is STRICT


def test_model_files_are_the_same_on_every_device(rng, tmp_path, reference):
    X = rng.normal(size=(30, 4))
    y = rng.integers(0, 2, 30)
    net = dp.MLP([4, 6, 2], output="softmax", loss="cross_entropy", dtype="float64", seed=0,
                 device="strict", dropout=0.2)
    net.fit(X, y, epochs=2, verbose=0, seed=0)
    net.save(tmp_path / "strict.npz")
    net.copy().to("cpu").save(tmp_path / "cpu.npz")
    on_cpu = dp.load(tmp_path / "strict.npz")
    assert on_cpu.device.is_cpu
    np.testing.assert_array_equal(on_cpu.predict_proba(X), net.predict_proba(X))
    with np.load(tmp_path / "strict.npz") as f, np.load(tmp_path / "cpu.npz") as g:
        assert sorted(f.files) == sorted(g.files)
        for key in f.files:
            if key != "__meta__":
                np.testing.assert_array_equal(f[key], g[key])
    back = dp.load(tmp_path / "strict.npz", device="strict")
    assert back.device is STRICT
    back.fit(X, y, epochs=4, verbose=0, resume=True)
    on_cpu.fit(X, y, epochs=4, verbose=0, resume=True)
    assert_same_weights(back, on_cpu)
    with pytest.raises(ValueError, match="device must be"):
        dp.load(tmp_path / "strict.npz", device="gpu:x")


def test_explain_and_parameter_setters_on_the_device(rng):
    from deltaprop.explain import example, explain
    net, X, T = example("relu-2-2-1")
    cpu = explain(net, X, T)
    strict = explain(net.copy().to("strict"), X, T)
    assert cpu.J == strict.J == 1.125
    assert cpu.to_text() == strict.to_text()
    moved = net.copy().to("strict")
    moved.layers[0].W = np.ones((2, 2))
    assert type(moved.layers[0].W) is StrictArray and float(moved.layers[0].W.sum()) == 4.0
    moved.layers[0].W = moved.layers[0].W * 2  # a device array is taken too
    assert float(moved.layers[0].W.sum()) == 8.0


def test_what_runs_on_the_cpu_only_says_so(rng):
    X = rng.normal(size=(20, 3))
    y = rng.integers(0, 2, 20)
    net = dp.MLP([3, 4, 2], output="softmax", loss="cross_entropy", device="strict")
    with pytest.raises(ValueError, match=r"L-BFGS-B.*net.to\('cpu'\)"):
        net.fit(X, y, optimizer="lbfgs", verbose=0)
    from deltaprop.distributed import Distributed
    with pytest.raises(ValueError, match="distributed training runs on the CPU"):
        net.fit(X, y, verbose=0, distributed=Distributed.__new__(Distributed))
    sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match="sparse matrix.*strict.*toarray"):
        net.fit(sparse.csr_matrix(X), y, verbose=0)
    with pytest.raises(TypeError, match="sparse matrix.*strict"):
        net.predict(sparse.csr_matrix(X))


def test_callbacks_and_diagnostics_on_the_device(rng, reference, tmp_path):
    X = rng.normal(size=(64, 5))
    y = rng.integers(0, 3, 64)
    seen = []
    for device in ("cpu", "strict"):
        net = dp.MLP([5, 8, 8, 3], output="softmax", loss="cross_entropy", seed=0,
                     device=device)
        probe, own, norms = dp.Diagnostics(X, y), dp.Diagnostics(), dp.GradientNorms()
        check = dp.ModelCheckpoint(tmp_path / f"{device}.npz")
        net.fit(X, y, epochs=2, validation_split=0.25, verbose=0, seed=0,
                callbacks=[probe, own, norms, check])
        seen.append((probe.to_dict(), own.to_dict(), norms.norms))
        assert dp.load(tmp_path / f"{device}.npz").device.is_cpu
    assert seen[0] == seen[1]
