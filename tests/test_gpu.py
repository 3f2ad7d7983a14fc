"""The GPU path (``device="cuda"``, CuPy): gradients against PyTorch's autograd on the GPU,
the CUDA kernels (:mod:`deltaprop.kernels.cuda`) against the NumPy path on the GPU and on
the CPU, training on the GPU against the CPU, model files and moves between devices.

The tests that need a GPU skip without CuPy or without a CUDA device; those that make
sense without one also run on the strict device (``device="strict"``), which runs the
same device code on the CPU. ``benchmarks/gpu_check.sh`` runs this file on a GPU machine.
Without a GPU, the CUDA sources themselves are still checked: compiled as C++ for the host
(with a stand-in for CuPy, one thread running each grid-stride loop), they must give the
Numba kernels' results (the last section).

Agreement, as :mod:`deltaprop.kernels.cuda` states it: bitwise where the kernel repeats
the reference's operations in the same order (the optimizer rules, ReLU / leaky ReLU /
identity, the output deltas ``y − t`` and ``c (y − t)``, the gather, and against the GPU's
NumPy path the backward steps and bias gradients); to float32 rounding where ``exp``,
``log``, ``log1p``, ``tanh`` or a reduction in another order enter.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import deltaprop as dp
from deltaprop import kernels
from deltaprop.activations import get_activation
from deltaprop.datasets.idx import idx_names
from deltaprop.devices import to_host
from deltaprop.losses import get_loss

from conftest import HEADS, HIDDEN, random_problem, random_targets

ROOT = Path(__file__).resolve().parents[1]
DTYPES = [np.float32, np.float64]
ULP_RTOL = {np.float32: 4e-7, np.float64: 1e-15}  # a few units in the last place


def _gpu_count():
    try:
        import cupy
        return cupy.cuda.runtime.getDeviceCount()
    except Exception:  # noqa: BLE001 - no CuPy, no driver, no device
        return 0


def need_cuda():
    """Skip unless CuPy and a CUDA GPU are there; returns CuPy."""
    cupy = pytest.importorskip("cupy")
    if _gpu_count() == 0:
        pytest.skip("CuPy is installed but finds no CUDA GPU")
    return cupy


@pytest.fixture
def cupy():
    return need_cuda()


@pytest.fixture(params=["cuda", "strict"])
def device(request):
    """The devices other than the CPU: ``"cuda"`` (skipped without a GPU) and ``"strict"``."""
    if request.param == "cuda":
        need_cuda()
    return request.param


@pytest.fixture
def mode():
    """Restores the kernel mode after a test that switches it."""
    previous = kernels._mode
    yield kernels.use
    kernels._mode, kernels._table, kernels._blas = previous, None, None


def host(a):
    return np.array(to_host(a))


def assert_ulps(ours, ref, dtype, what, factor=1.0):
    ours, ref = np.asarray(to_host(ours), np.float64), np.asarray(to_host(ref), np.float64)
    scale = np.maximum(np.abs(ref), 1.0)
    err = float(np.max(np.abs(ours - ref) / scale, initial=0.0))
    assert err <= factor * ULP_RTOL[dtype], f"{what}: relative error {err:.2e}"


def assert_bitwise(ours, ref, what):
    np.testing.assert_array_equal(host(ours), host(ref), err_msg=what)


# --------------------------------------------------------------------------- gradients
def torch_twin(net, X, T, hidden, output, loss, torch_device):
    """Loss and gradients of the same network by torch.autograd, on ``torch_device``
    (tests/test_gradients.py's twin)."""
    pytest.importorskip("torch")
    from test_gradients import torch_twin as twin
    return twin(net, X, T, hidden, output, loss, torch_device)


def rel_err(ours, ref):
    from test_gradients import rel_err as err
    return err(ours, ref)


@pytest.mark.parametrize("depth", [1, 3])
@pytest.mark.parametrize("output,loss", HEADS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_backprop_against_pytorch(device, hidden, output, loss, depth, rng):
    """float64 gradients of ``net.backprop`` on the device against autograd on the GPU
    (on the CPU for the strict device): relative error at most 1e-10."""
    net, X, T = random_problem(rng, hidden, output, loss, depth,
                               l2=float(rng.choice([0.0, 0.3])),
                               reduction=str(rng.choice(["mean", "sum"])))
    assert net.to(device) is net and net.device == dp.get_device(device)
    J, grads = net.gradients(X, T)
    J_ref, grads_ref = torch_twin(net, X, T, hidden, output, loss,
                                  "cuda" if device == "cuda" else "cpu")
    assert isinstance(J, float)
    assert abs(J - J_ref) <= 1e-10 * max(abs(J_ref), 1e-300), f"loss {J!r} vs torch {J_ref!r}"
    for k, ((gW, gb), (rW, rb)) in enumerate(zip(grads, grads_ref), start=1):
        for name, ours, ref in ((f"W{k}", gW, rW), (f"b{k}", gb, rb)):
            assert type(ours) is np.ndarray
            if not np.any(ref):
                np.testing.assert_array_equal(ours, ref, err_msg=name)
            else:
                assert rel_err(ours, ref) <= 1e-10, f"{name}: rel err {rel_err(ours, ref):.2e}"


# --------------------------------------------------------------------------- the kernels
def test_kernels_are_cudas_for_a_gpu_array(cupy, mode):
    from deltaprop.kernels import cuda

    a = cupy.zeros(4, np.float32)
    assert set(cuda.KERNELS) == {"sgd", "adagrad", "rmsprop", "adam", "sum_of_squares",
                                 "bias_activation", "delta_and_bias_grad", "bias_grad",
                                 "output_delta", "take_rows"}
    mode("auto")
    for name, fn in cuda.KERNELS.items():
        assert kernels.get(name, 10, like=a) is fn
    mode("numpy")
    assert kernels.get("adam", 10, like=a) is None


FUSED_ACTIVATIONS = ["identity", "relu", "leaky_relu", "sigmoid", "tanh", "softmax"]
BITWISE_FORWARD = {"identity", "relu", "leaky_relu"}


def _three_ways(mode, cupy, fn, *host_arrays):
    """``fn`` on the CPU's NumPy path, the GPU's NumPy path and the GPU's kernels, each on
    its own copies of ``host_arrays``: ``[(result, arrays), ...]`` in that order."""
    runs = []
    for where, m in (("cpu", "numpy"), ("gpu", "numpy"), ("gpu", "auto")):
        mode(m)
        arrays = [a.copy() if where == "cpu" else cupy.asarray(a) for a in host_arrays]
        runs.append((fn(*arrays), arrays))
    return runs


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", FUSED_ACTIVATIONS)
def test_bias_activation_kernel(cupy, mode, rng, name, dtype):
    act = get_activation(name)
    z = (3 * rng.normal(size=(37, 11))).astype(dtype)
    z[0, :3] = [0.0, -0.0, 40.0]
    b = rng.normal(size=11).astype(dtype)
    runs = _three_ways(mode, cupy, lambda z, b, out: act.forward_biased(z, b, out), z, b,
                       np.empty_like(z))
    (cpu, (zc, _, _)), (ref, (zr, _, _)), (ker, (zk, _, _)) = runs
    assert type(ker) is cupy.ndarray
    assert_bitwise(zk, zc, "z + b")
    assert_bitwise(zk, zr, "z + b")
    if name in BITWISE_FORWARD:
        assert_bitwise(ker, cpu, f"{name} vs the CPU")
        assert_bitwise(ker, ref, f"{name} vs the GPU's NumPy path")
    else:
        assert_ulps(ker, cpu, dtype, f"{name} vs the CPU", factor=4)
        assert_ulps(ker, ref, dtype, f"{name} vs the GPU's NumPy path", factor=4)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["identity", "relu", "leaky_relu", "sigmoid", "tanh"])
def test_delta_and_bias_grad_kernel(cupy, mode, rng, name, dtype):
    act = get_activation(name)
    z = rng.normal(size=(300, 13)).astype(dtype)
    z[0, 0] = 0.0
    a = act.forward(z.copy())
    g = rng.normal(size=z.shape).astype(dtype)
    runs = _three_ways(mode, cupy, lambda z, a, g, gb: (act.backward_bias_grad(z, a, g, gb), gb),
                       z, a, g, np.empty(13, dtype))
    (cpu, _), (ref, _), (ker, _) = runs
    assert_bitwise(ker[0], cpu[0], "δ vs the CPU")
    assert_bitwise(ker[0], ref[0], "δ vs the GPU's NumPy path")
    assert_bitwise(ker[1], ref[1], "bias gradient vs the GPU's NumPy path")
    assert_ulps(ker[1], cpu[1], dtype, "bias gradient vs the CPU", factor=300)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output,loss", [("softmax", "cross_entropy"),
                                         ("sigmoid", "binary_cross_entropy"),
                                         ("identity", "mse"), ("identity", "squared_error"),
                                         ("identity", "half_squared_error")])
def test_output_delta_kernel(cupy, mode, rng, output, loss, dtype):
    act, lf = get_activation(output), get_loss(loss)
    z = (2 * rng.normal(size=(64, 7))).astype(dtype)
    y = act.forward(z.copy())
    t = random_targets(rng, loss, 64, 7)
    if t.ndim == 1:
        t = np.eye(7)[t]
    t = t.astype(dtype)
    runs = _three_ways(mode, cupy, lambda z, y, t, out: lf.output_delta(z, y, t, act, out=out),
                       z, y, t, np.empty_like(z))
    (cpu, _), (ref, _), (ker, _) = runs
    assert type(ker[1]) is cupy.ndarray
    assert_bitwise(ker[1], cpu[1], "δ vs the CPU")
    assert_bitwise(ker[1], ref[1], "δ vs the GPU's NumPy path")
    assert_ulps(ker[0], cpu[0], dtype, "per-sample loss vs the CPU", factor=16)
    assert_ulps(ker[0], ref[0], dtype, "per-sample loss vs the GPU's NumPy path", factor=16)


OPTIMIZERS = [
    ("sgd", {"lr": 0.1}),
    ("sgd", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}),
    ("sgd", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("adagrad", {"lr": 0.1, "weight_decay": 0.001}),
    ("rmsprop", {"lr": 0.01}),
    ("rmsprop", {"lr": 0.01, "centered": True, "momentum": 0.5}),
    ("rmsprop", {"lr": 0.01, "momentum": 0.5, "weight_decay": 0.01}),
    ("adam", {"lr": 0.01}),
    ("adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.01}),
    ("adamw", {"lr": 0.01, "weight_decay": 0.1}),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,hyper", OPTIMIZERS)
def test_optimizer_kernels_are_bitwise(cupy, mode, rng, name, hyper, dtype):
    """Three steps of each rule on a network's flat store, with the same gradients: the
    CUDA kernel, the GPU's NumPy path and the CPU's agree to the last bit."""
    grads = [rng.normal(size=3 * 5 + 5 + 5 * 2 + 2).astype(dtype) for _ in range(3)]
    results = []
    for device, m in (("cpu", "numpy"), ("cuda", "numpy"), ("cuda", "auto")):
        mode(m)
        net = dp.MLP([3, 5, 2], dtype=np.dtype(dtype).name, seed=1, device=device)
        opt = dp.optimizers.get_optimizer(name, **hyper)
        for g in grads:
            net.store.grad[...] = net.device.asarray(g)
            opt.step(net.store)
        results.append((host(net.store.data),
                        [host(a) for arrays in opt.state.values() for a in arrays]))
    (cpu, cpu_state), (ref, ref_state), (ker, ker_state) = results
    assert not np.array_equal(cpu, host(dp.MLP([3, 5, 2], dtype=np.dtype(dtype).name,
                                                seed=1).store.data))  # it did move
    assert_bitwise(ker, cpu, f"{name}: weights vs the CPU")
    assert_bitwise(ker, ref, f"{name}: weights vs the GPU's NumPy path")
    for a, b in zip(ker_state, cpu_state):
        assert_bitwise(a, b, f"{name}: state vs the CPU")


@pytest.mark.parametrize("dtype", DTYPES)
def test_clipping_and_sum_of_squares(cupy, mode, rng, dtype):
    from deltaprop.kernels import cuda

    x = rng.normal(size=100_003).astype(dtype)
    total = cuda.sum_of_squares(cupy.asarray(x))
    expected = float(np.sum(x.astype(np.float64) ** 2))
    assert abs(float(total) - expected) <= 1e-12 * expected
    grads = [rng.normal(size=3 * 5 + 5 + 5 * 2 + 2).astype(dtype) for _ in range(3)]
    results = []
    for device, m in (("cpu", "numpy"), ("cuda", "auto")):
        mode(m)
        net = dp.MLP([3, 5, 2], dtype=np.dtype(dtype).name, seed=1, device=device)
        opt = dp.optimizers.Adam(lr=0.01, clip_norm=0.5)
        for g in grads:
            net.store.grad[...] = net.device.asarray(g)
            opt.step(net.store)
        results.append(host(net.store.data))
    assert_ulps(results[1], results[0], dtype, "clipped Adam", factor=8)


def test_take_rows_kernel(cupy, mode, rng):
    from deltaprop.kernels import cuda

    X = rng.normal(size=(50, 9)).astype(np.float32)
    idx = rng.permutation(50)[:20]
    mode("auto")
    out = cupy.empty((20, 9), np.float32)
    got = kernels.take_rows(cupy.asarray(X), cupy.asarray(idx), out)
    assert_bitwise(got, X[idx], "gather")
    assert cuda.take_rows(cupy.asarray(X), idx, out) is True  # host indices, checked first
    assert_bitwise(out, X[idx], "gather, host indices")
    out[...] = 7.0
    assert cuda.take_rows(cupy.asarray(X), np.array([0, 50]), out[:2]) is False
    assert float(out[0, 0]) == 7.0  # nothing written


# --------------------------------------------------------------------------- training
def _train(device, dtype, rng_seed=0, epochs=3, optimizer="adam"):
    rng = np.random.default_rng(rng_seed)
    X = rng.normal(size=(96, 12))
    y = rng.integers(0, 3, size=96)
    net = dp.MLP([12, 16, 8, 3], activation="relu", output="softmax", loss="cross_entropy",
                 dtype=dtype, seed=5, device=device)
    history = net.fit(X, y, optimizer=optimizer, epochs=epochs, batch_size=16, seed=2,
                      verbose=0)
    return net, X, y, history


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_training_on_the_device_is_the_cpus(device, mode, dtype):
    """A few epochs of Adam from the same seed: the strict device's weights are the CPU's
    to the last bit (both on the NumPy path); the GPU's agree to rounding (float32:
    products and reductions add in other orders, and the differences grow over the steps)."""
    if device == "strict":
        mode("numpy")
    cpu_net = _train("cpu", dtype)[0]
    dev_net = _train(device, dtype)[0]
    assert dev_net.device == dp.get_device(device)
    ours, ref = host(dev_net.store.data), host(cpu_net.store.data)
    if device == "strict":
        np.testing.assert_array_equal(ours, ref)
    else:
        tol = 2e-4 if dtype == "float32" else 1e-10
        assert rel_err(ours, ref) <= tol, f"GPU vs CPU weights: rel err {rel_err(ours, ref):.2e}"
    assert not np.array_equal(ref, host(dp.MLP([12, 16, 8, 3], dtype=dtype, seed=5).store.data))


def test_model_saved_on_the_device_loads_on_the_cpu(device, tmp_path):
    net, X, y, _ = _train(device, "float32", epochs=2)
    path = tmp_path / "model.npz"
    dp.save(net, path)
    loaded = dp.load(path)
    assert loaded.device == dp.devices.CPU and type(loaded.store.data) is np.ndarray
    np.testing.assert_array_equal(loaded.store.data, host(net.store.data))
    np.testing.assert_allclose(loaded.forward(X), net.forward(X), rtol=1e-5, atol=1e-6)
    loaded.fit(X, y, epochs=3, resume=True, verbose=0)  # the optimizer state came along
    back = dp.load(path, device=device)
    assert back.device == dp.get_device(device)
    np.testing.assert_array_equal(host(back.store.data), host(net.store.data))


def test_to_cpu_and_back(device):
    net, X, y, _ = _train(device, "float32", epochs=1)
    weights = host(net.store.data)
    out = net.forward(X)
    assert type(out) is np.ndarray
    assert net.to("cpu") is net and net.device == dp.devices.CPU
    assert type(net.store.data) is np.ndarray and type(net.layers[0].W) is np.ndarray
    np.testing.assert_array_equal(net.store.data, weights)
    np.testing.assert_allclose(net.forward(X), out, rtol=1e-5, atol=1e-6)
    net.fit(X, y, epochs=2, resume=True, verbose=0)  # the optimizer state moved too
    moved = host(net.store.data)
    assert net.to(device) is net and net.device == dp.get_device(device)
    assert type(net.store.data) is not np.ndarray
    assert type(net.layers[-1].W) is type(net.store.data)
    np.testing.assert_array_equal(host(net.store.data), moved)
    net.fit(X, y, epochs=3, resume=True, verbose=0)
    assert np.all(np.isfinite(host(net.store.data)))


# --------------------------------------------------------------------------- the GPU check
def _write_idx(directory, split, n, rng):
    """A tiny MNIST-shaped IDX data set (random pixels, labels 0-9)."""
    images, labels = idx_names(split)
    pixels = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    (directory / images).write_bytes(struct.pack(">IIII", 0x803, n, 28, 28) + pixels.tobytes())
    digits = rng.integers(0, 10, size=n, dtype=np.uint8)
    (directory / labels).write_bytes(struct.pack(">II", 0x801, n) + digits.tobytes())


def test_gpu_check_runs_on_the_strict_device(tmp_path, rng):
    """The prepared GPU script, with tiny sizes on the strict device (PyTorch on the CPU):
    every subcommand runs and writes what the summary reads."""
    pytest.importorskip("torch")
    data = tmp_path / "mnist"
    data.mkdir()
    for split, n in (("train", 1000), ("test", 500)):
        _write_idx(data, split, n, rng)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), *sys.path])}
    script = str(ROOT / "benchmarks" / "gpu_check.py")

    def run(*args):
        return subprocess.run([sys.executable, script, *args], capture_output=True, text=True,
                              env=env, timeout=120, check=True).stdout

    run("bench", "--device", "strict", "--small", "--reference", "--out", str(out))
    run("mnist", "--device", "strict", "--small", "--data", str(data), "--out", str(out))
    (out / "steps.json").write_text(json.dumps([{"name": "pytest", "rc": 0, "seconds": 1}]))
    text = run("summary", "--out", str(out))
    bench = json.loads((out / "bench.json").read_text())
    assert bench["environment"]["device"] == "strict" and bench["torch_device"] == "cpu"
    assert len(bench["rows"]) == 2
    for row in bench["rows"]:
        assert set(row["step_s"]) == {"deltaprop", "deltaprop_numpy", "torch"}
        assert all(s > 0 for s in row["step_s"].values())
        assert row["torch_over_deltaprop"] > 0
    result = json.loads((out / "mnist.json").read_text())
    assert result["n_train"] == 1000 and result["n_test"] == 500
    assert len(result["epoch_s"]) == result["epochs"] == 2
    assert 0.0 <= result["test_accuracy"] <= 1.0
    assert "GPU check summary" in text and "MNIST 784-32-10" in text and "pytest" in text
    assert (out / "summary.txt").read_text().strip() == text.strip()


def test_gpu_check_shell_script_parses():
    subprocess.run(["bash", "-n", str(ROOT / "benchmarks" / "gpu_check.sh")], check=True)


# --------------------------------------------------------------------------- the sources
_HOST_PRELUDE = """
#include <cmath>
using std::exp; using std::log; using std::log1p; using std::tanh; using std::sqrt;
using std::fabs;
struct _dim3 { unsigned int x; };
static const _dim3 blockIdx = {0}, threadIdx = {0}, blockDim = {1}, gridDim = {1};
#define __global__
"""


def _fake_cupy(tmp_path):
    """A stand-in for CuPy whose RawKernel compiles the CUDA source as C++ for the host
    (one thread, so each grid-stride loop runs over everything; no contraction into fused
    multiply-adds, as ``--fmad=false`` on the GPU), its arrays NumPy's."""
    import ctypes
    import types

    fake = types.ModuleType("cupy")

    class _Device:
        id = 0

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    class ndarray(np.ndarray):
        device = _Device()

        def get(self):
            return self.view(np.ndarray).copy()

    ndarray.__module__ = "cupy"
    libraries = []

    class RawKernel:
        def __init__(self, code, name, options=()):
            assert "--fmad=false" in options
            self.code, self.name, self.fn = code, name, None

        def __call__(self, grid, block, args):
            if self.fn is None:  # compiled once per source in the session's folder
                code = _HOST_PRELUDE + self.code
                stem = hashlib.sha256(code.encode()).hexdigest()[:16]
                src, lib = tmp_path / f"{stem}.cpp", tmp_path / f"{stem}.so"
                if not lib.exists():
                    src.write_text(code)
                    subprocess.run(["g++", "-O1", "-std=c++11", "-ffp-contract=off",
                                    "-shared", "-fPIC", str(src), "-o", str(lib)], check=True)
                libraries.append(ctypes.CDLL(str(lib)))
                self.fn = getattr(libraries[-1], self.name)
            converted = []
            for a in args:
                if isinstance(a, np.ndarray):
                    assert type(a) is ndarray and a.flags.c_contiguous, "a host array"
                    converted.append(ctypes.c_void_p(a.ctypes.data))
                elif isinstance(a, np.int64):
                    converted.append(ctypes.c_longlong(int(a)))
                elif isinstance(a, np.float32):
                    converted.append(ctypes.c_float(float(a)))
                elif isinstance(a, np.float64):
                    converted.append(ctypes.c_double(float(a)))
                else:
                    raise AssertionError(f"kernel argument of type {type(a)}")
            self.fn(*converted)

    def reduction_kernel(*args, **kwargs):
        return lambda x: np.asarray(np.sum(np.asarray(x, np.float64) ** 2)).view(ndarray)

    fake.ndarray = ndarray
    fake.RawKernel = RawKernel
    fake.ReductionKernel = reduction_kernel
    fake.asarray = lambda a, dtype=None: np.asarray(a, dtype=dtype).view(ndarray)
    fake.sum = lambda a, axis=None, out=None: np.sum(a.view(np.ndarray), axis=axis,
                                                     out=out.view(np.ndarray))
    fake.take = lambda a, idx, axis=None, out=None: np.take(a.view(np.ndarray), np.asarray(idx),
                                                            axis=axis, out=out.view(np.ndarray))
    return fake


@pytest.fixture(scope="session")
def host_build_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("host_cuda")


@pytest.fixture
def host_cuda(host_build_dir, monkeypatch):
    """``deltaprop.kernels.cuda`` imported over the stand-in CuPy: ``(module, to_device)``."""
    import importlib
    import shutil

    if shutil.which("g++") is None:
        pytest.skip("needs g++ to compile the CUDA sources for the host")
    fake = _fake_cupy(host_build_dir)
    monkeypatch.setitem(sys.modules, "cupy", fake)
    monkeypatch.delitem(sys.modules, "deltaprop.kernels.cuda", raising=False)
    module = importlib.import_module("deltaprop.kernels.cuda")
    monkeypatch.delitem(sys.modules, "deltaprop.kernels.cuda")  # restored to absent after
    return module, lambda a: np.array(a).view(fake.ndarray)


def _compiled():
    pytest.importorskip("numba")
    from deltaprop.kernels import compiled
    return compiled


@pytest.mark.parametrize("dtype", DTYPES)
def test_cuda_sources_on_the_host_are_the_numba_kernels(host_cuda, rng, dtype):
    """The CUDA sources, compiled for the host, against the Numba kernels that they
    transcribe: the same results, bitwise where no exp/log/tanh enters (which come from
    the same C library here but not on a GPU)."""
    cuda, dev = host_cuda
    compiled = _compiled()
    dt = np.dtype(dtype).type
    n, k = 23, 7
    z = (3 * rng.normal(size=(n, k))).astype(dtype)
    z[0, :2] = [0.0, -0.0]
    b = rng.normal(size=k).astype(dtype)
    for kind in range(6):
        zr, ar = z.copy(), np.empty_like(z)
        compiled.bias_activation(zr, b, ar, kind, dt(0.01))
        zc, ac = dev(z), dev(np.empty_like(z))
        cuda.bias_activation(zc, dev(b), ac, kind, dt(0.01))
        np.testing.assert_array_equal(zc, zr)
        assert_ulps(ac, ar, dtype, f"activation {kind}", factor=2)
        if kind in (0, 1, 2):
            np.testing.assert_array_equal(ac, ar)
    a = np.tanh(z)
    g = rng.normal(size=(n, k)).astype(dtype)
    for kind in range(5):
        gr, gbr = g.copy(), np.empty(k, dtype)
        compiled.delta_and_bias_grad(z, a, gr, gbr, kind, dt(0.01))
        gc, gbc = dev(g), dev(np.empty(k, dtype))
        cuda.delta_and_bias_grad(dev(z), dev(a), gc, gbc, kind, dt(0.01))
        np.testing.assert_array_equal(gc, gr)
        np.testing.assert_array_equal(gbc, gbr)  # NumPy's sum here, row by row as Numba
    gbr, gbc = np.empty(k, dtype), dev(np.empty(k, dtype))
    compiled.bias_grad(g, gbr)
    cuda.bias_grad(dev(g), gbc)
    np.testing.assert_array_equal(gbc, gbr)
    y = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    t = np.eye(k, dtype=dtype)[rng.integers(0, k, size=n)]
    for kind in range(3):
        dr, sr = np.empty_like(z), np.empty(n, dtype)
        compiled.output_delta(z, y, t, dr, sr, kind, dt(0.5), dt(2.0))
        dc, sc = dev(np.empty_like(z)), dev(np.empty(n, dtype))
        cuda.output_delta(dev(z), dev(y), dev(t), dc, sc, kind, dt(0.5), dt(2.0))
        np.testing.assert_array_equal(dc, dr)
        assert_ulps(sc, sr, dtype, f"loss {kind}", factor=2)
        if kind == 2:
            np.testing.assert_array_equal(sc, sr)
    X = rng.normal(size=(30, 5)).astype(dtype)
    idx = rng.permutation(30)[:12]
    out = dev(np.empty((12, 5), dtype))
    assert cuda.take_rows(dev(X), dev(idx), out) is True
    np.testing.assert_array_equal(out, X[idx])
    assert cuda.take_rows(dev(X), np.array([1, 30]), out[:2]) is False
    x = rng.normal(size=1000).astype(dtype)
    assert float(cuda.sum_of_squares(dev(x))) == pytest.approx(compiled.sum_of_squares(x),
                                                               rel=1e-12)


RULES = [  # (name, n_state, scalars, flags)
    ("sgd", 1, (0.1, 0.9), (False, False)),
    ("sgd", 1, (0.1, 0.9), (True, False)),
    ("sgd", 1, (0.1, 0.9), (True, True)),
    ("adagrad", 1, (0.1, 1e-10), ()),
    ("rmsprop", 3, (0.01, 0.99, 0.01, 1e-8, 0.5), (False, False)),
    ("rmsprop", 3, (0.01, 0.99, 0.01, 1e-8, 0.5), (True, False)),
    ("rmsprop", 3, (0.01, 0.99, 0.01, 1e-8, 0.5), (False, True)),
    ("rmsprop", 3, (0.01, 0.99, 0.01, 1e-8, 0.5), (True, True)),
    ("adam", 3, (0.1, 0.999, 0.001, 1e-8, 0.003), (False,)),
    ("adam", 3, (0.1, 0.999, 0.001, 1e-8, 0.003), (True,)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,n_state,scalars,flags", RULES)
def test_cuda_rule_sources_on_the_host_are_the_numba_rules(host_cuda, rng, name, n_state,
                                                           scalars, flags, dtype):
    """Each optimizer rule with each option, weight decay and a clipping coefficient on a
    segment, absent states passed as the optimizers pass them: bitwise the Numba rule."""
    cuda, dev = host_cuda
    compiled = _compiled()
    dt = np.dtype(dtype).type
    n, lo, hi = 600, 37, 590
    p = rng.normal(size=n).astype(dtype)
    g = rng.normal(size=n).astype(dtype)
    states = [np.abs(rng.normal(size=n)).astype(dtype) for _ in range(n_state)]
    if name == "rmsprop":
        states[1] = states[1] * 0.1  # v - gbar^2 stays positive
    # state i -> whether the optimizer has it (else the empty array stands in for it)
    present = {"sgd": lambda: {0: flags[0]}, "adagrad": dict, "adam": lambda: {2: flags[0]},
               "rmsprop": lambda: {1: flags[0], 2: flags[1]}}[name]()
    empty = np.empty(0, dtype)
    args = tuple(dt(s) for s in scalars) + tuple(flags)
    rule = compiled.KERNELS[name]
    for keep, coef in ((1.0, 1.0), (0.99, 0.5)):
        ref = [p.copy(), g.copy()] + [s.copy() if present.get(i, True) else empty
                                      for i, s in enumerate(states)]
        ours = [dev(a) if a.size else empty for a in ref]
        rule(*ref, lo, hi, dt(keep), dt(coef), *args)
        cuda.KERNELS[name](*ours, lo, hi, dt(keep), dt(coef), *args)
        for i, (a, r) in enumerate(zip(ours, ref)):
            np.testing.assert_array_equal(a, r, err_msg=f"{name}: array {i}")
        assert not np.array_equal(ref[0], p)
