"""The fused Numba kernels (``deltaprop.kernels``) against the NumPy reference path.

Two kinds of agreement are checked, and each test says which:

* **bitwise** where the kernel performs the reference's operations in the same order and in
  the same dtype: the optimizer rules (with weight decay), ReLU, leaky ReLU and the identity
  forward and backward, sigmoid and tanh forward (their exp and tanh are NumPy's own,
  between the kernel's passes), every backward ``g ⊙ f'`` (sigmoid and tanh take ``f'``
  from ``a``: products and differences only), the bias gradient (NumPy's reduction over
  rows runs row after row, as the kernel does), the output deltas ``y − t`` and
  ``c (y − t)``, and the batch gather (a copy);
* **to float32 rounding** (a few units in the last place) where the kernel calls ``exp``
  or ``log`` from the C library while NumPy uses its own SIMD versions (softmax forward on
  small arrays; the cross-entropy and binary cross-entropy values), or sums in another
  order (softmax's row sums, the squared-error values, the gradient norm of clipping,
  which the kernel accumulates in float64).

A whole ``fit`` made only of bitwise kernels trains to the same bits on both paths once the
BLAS thread choice is switched off: OpenBLAS rounds a product differently on one thread
than on two, so with it the two paths agree to rounding.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import deltaprop as dp
from deltaprop import kernels
from deltaprop.activations import get_activation
from deltaprop.losses import get_loss

numba = pytest.importorskip("numba")

DTYPES = [np.float32, np.float64]
ULP_RTOL = {np.float32: 4e-7, np.float64: 1e-15}  # a few units in the last place


@pytest.fixture
def restore_mode():
    previous, loops = kernels._mode, kernels.parallel_loops()
    yield
    kernels._mode, kernels._table, kernels._blas = previous, None, None
    kernels.parallel_loops(loops)


@pytest.fixture(params=[False, True], ids=["serial-loops", "parallel-loops"])
def loops(request, restore_mode):
    """Both settings of kernels.parallel_loops (the parallel loops: each kind of work takes
    the serial and the parallel loop in turn, then the faster)."""
    kernels.parallel_loops(request.param)
    return request.param


def both_paths(fn):
    """``fn()`` on the NumPy path and on the Numba path: ``(numpy_result, numba_result)``."""
    out = []
    for mode in ("numpy", "numba"):
        kernels.use(mode)
        out.append(fn())
    return out


def assert_ulps(ours, ref, dtype, what, factor=1.0):
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    scale = np.maximum(np.abs(ref), 1.0)
    err = float(np.max(np.abs(ours - ref) / scale, initial=0.0))
    assert err <= factor * ULP_RTOL[dtype], f"{what}: relative error {err:.2e}"


# --------------------------------------------------------------------------- the switch
def test_import_deltaprop_does_not_import_numba():
    code = "import sys, deltaprop; print('numba' in sys.modules, 'threadpoolctl' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert out.stdout.split() == ["False", "False"]


def test_environment_variable_forces_the_reference_path():
    code = ("import numpy as np, deltaprop as dp, sys\n"
            "net = dp.MLP([3, 4, 2], output='softmax', loss='cross_entropy', seed=0)\n"
            "net.fit(np.ones((8, 3)), np.arange(8) % 2, epochs=1, verbose=0)\n"
            "print(dp.kernels.backend(), 'numba' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "DELTAPROP_KERNELS": "numpy"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env)
    assert out.stdout.split() == ["numpy", "False"]
    env["DELTAPROP_KERNELS"] = "fastest"
    bad = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert bad.returncode != 0 and "DELTAPROP_KERNELS must be one of" in bad.stderr


def test_auto_imports_numba_only_for_work_large_enough():
    code = ("import numpy as np, deltaprop as dp, sys\n"
            "X = np.random.default_rng(0).standard_normal((64, {n}))\n"
            "net = dp.MLP([{n}, 8, 2], output='softmax', loss='cross_entropy', seed=0)\n"
            "net.fit(X, np.arange(64) % 2, epochs=1, batch_size=16, verbose=0)\n"
            "print('numba' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "DELTAPROP_KERNELS": "auto"}
    small, large = (subprocess.run([sys.executable, "-c", code.format(n=n)], capture_output=True,
                                   text=True, check=True, env=env).stdout.split()
                    for n in (10, 4 * kernels.AUTO_MIN_SIZE // 8))
    assert small == ["False"] and large == ["True"]


def test_use_validates_and_reports(restore_mode):
    with pytest.raises(ValueError, match="mode must be one of auto, numba, numpy"):
        kernels.use("cuda")
    kernels.use("numpy")
    assert kernels.backend() == "numpy" and kernels.get("adam") is None
    assert kernels.use("numba") == "numpy"
    assert kernels.backend() == "numba" and kernels.get("adam") is not None


def test_a_subclass_that_redefines_the_maths_loses_the_kernel():
    class Shifted(dp.activations.ReLU):
        def forward(self, z, out=None):
            return super().forward(z - 1.0, out=out)

    class Named(dp.activations.ReLU):
        pass

    assert Shifted.fused_kernel is None and Named.fused_kernel == "relu"

    class MyCE(dp.losses.CrossEntropy):
        def fused_value(self, z, t):
            return 2.0 * super().fused_value(z, t)

    assert MyCE.fused_kernel is None


# --------------------------------------------------------------------------- optimizers
OPTIMIZER_CONFIGS = [
    ("sgd", {"lr": 0.1}),
    ("sgd", {"lr": 0.1, "weight_decay": 0.01}),
    ("momentum", {"lr": 0.1}),
    ("nesterov", {"lr": 0.1, "weight_decay": 0.02}),
    ("adagrad", {"lr": 0.1, "initial_accumulator_value": 0.1}),
    ("rmsprop", {"lr": 0.01}),
    ("rmsprop", {"lr": 0.01, "momentum": 0.9, "centered": True, "weight_decay": 0.01}),
    ("adam", {"lr": 0.01}),
    ("adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.01}),
    ("adamw", {"lr": 0.01, "weight_decay": 0.1}),
]


def _train_optimizer(name, kwargs, dtype, sizes=(300, 260, 3), steps=4):
    """A network's store (the first layer's 78k parameters: parallel chunks, with the
    parallel loops allowed) stepped with random gradients; returns the parameters and the
    state."""
    net = dp.MLP(list(sizes), dtype=np.dtype(dtype).name, seed=1)
    opt = dp.optimizers.get_optimizer(name, **kwargs)
    rng = np.random.default_rng(2)
    for _ in range(steps):
        net.store.grad[...] = rng.standard_normal(net.store.size)
        opt.step(net.store)
    return net.store.data.copy(), opt.state_dict()


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name, kwargs", OPTIMIZER_CONFIGS,
                         ids=[f"{n}-{'-'.join(k)}" for n, k in OPTIMIZER_CONFIGS])
def test_optimizer_kernels_are_bitwise_the_numpy_rules(name, kwargs, dtype, loops):
    """Bitwise: the same operations in the same order, weight decay on the matrices only."""
    (p_ref, s_ref), (p, s) = both_paths(lambda: _train_optimizer(name, kwargs, dtype))
    np.testing.assert_array_equal(p, p_ref)
    for key in s:
        if isinstance(s[key], list):
            for a, b in zip(s[key], s_ref[key]):
                np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_clipping_kernel_agrees_to_rounding(dtype, restore_mode):
    """To rounding: the norm is accumulated in float64 by the kernel, by BLAS in NumPy."""
    (p_ref, _), (p, _) = both_paths(lambda: _train_optimizer(
        "adam", {"lr": 0.01, "clip_norm": 5.0}, dtype))
    assert not np.array_equal(p_ref, _train_optimizer("adam", {"lr": 0.01}, dtype)[0])
    assert_ulps(p, p_ref, dtype, "clipped Adam", factor=8)


def test_optimizer_kernel_runs_on_the_store_and_falls_back_for_strided_arrays(restore_mode):
    kernels.use("numba")
    net = dp.MLP([4, 5, 2], seed=0)
    opt = dp.optimizers.Adam()
    net.store.grad[...] = 1.0
    opt.step(net.store)
    assert opt._fused is not None
    W = np.zeros((6, 4))[:, ::2]  # not contiguous: the NumPy rule
    opt2 = dp.optimizers.Adam()
    opt2.step([(W, np.ones_like(W))])
    assert opt2._fused is None and np.all(W < 0)


# --------------------------------------------------------------------------- activations
# sigmoid and tanh: the kernels' passes around NumPy's own exp and tanh are the NumPy
# path's operations, so they are bitwise too.
BITWISE_ACTIVATIONS = ["relu", "leaky_relu", "identity", "sigmoid", "tanh"]
ROUNDED_ACTIVATIONS = ["softmax"]


def _forward_backward(name, dtype, rows=37, cols=29, special=False):
    rng = np.random.default_rng(3)
    act = get_activation(name)
    z = rng.standard_normal((rows, cols)).astype(dtype)
    if special:  # NaN and the signed zeros go through as in NumPy
        z[0, :4] = [np.nan, -0.0, 0.0, np.inf]
    b = rng.standard_normal(cols).astype(dtype)
    if special:
        b[:4] = 0.0
    g = rng.standard_normal((rows, cols)).astype(dtype)
    a = z if name == "identity" else np.empty_like(z)
    a = act.forward_biased(z, b, a)
    grad_b = np.empty(cols, dtype)
    delta = g.copy()
    if act.elementwise:
        delta = act.backward_bias_grad(z, a, delta, grad_b)
    return z.copy(), a.copy(), delta.copy(), grad_b.copy()


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", BITWISE_ACTIVATIONS)
def test_bias_activation_and_backward_kernels_bitwise(name, dtype, restore_mode):
    """Bitwise: z + b, max(z, 0) (NaN kept, −0 kept), slope·z, sigmoid (NumPy's exp of
    −|z|, then 1/(1 + e), times e where z < 0) and tanh (NumPy's), g·[z > 0], g·a(1 − a),
    g·(1 − a²), and the row sum."""
    ref, ours = both_paths(lambda: _forward_backward(name, dtype, special=True))
    for what, x, y in zip(("z", "a", "delta", "grad_b"), ours, ref):
        np.testing.assert_array_equal(x, y, err_msg=what)
        assert np.array_equal(np.signbit(x), np.signbit(y)), what


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", ROUNDED_ACTIVATIONS)
@pytest.mark.parametrize("rows", [37, 3])  # 37 x 29: NumPy's exp between passes; 3 x 29: one
def test_bias_activation_kernels_to_rounding(name, dtype, rows, restore_mode):
    """To rounding: softmax's row sums run in the row's order (NumPy sums pairwise), and
    on small arrays its exp is the C library's (NumPy's SIMD one on the reference path)."""
    ref, ours = both_paths(lambda: _forward_backward(name, dtype, rows=rows))
    np.testing.assert_array_equal(ours[0], ref[0])  # z + b
    assert_ulps(ours[1], ref[1], dtype, f"{name} forward", factor=4)
    if name != "softmax":
        act, (z, a, _, _) = get_activation(name), ours
        g = np.random.default_rng(3).standard_normal(a.shape).astype(dtype)

        def backward():
            gb = np.empty(a.shape[1], dtype)
            return act.backward_bias_grad(z, a, g.copy(), gb), gb

        (d_ref, gb_ref), (d, gb) = both_paths(backward)
        np.testing.assert_array_equal(d, d_ref)
        np.testing.assert_array_equal(gb, gb_ref)


# --------------------------------------------------------------------------- losses
HEADS = [("softmax", "cross_entropy"), ("sigmoid", "binary_cross_entropy"),
         ("identity", "half_squared_error"), ("identity", "squared_error"),
         ("identity", "mse")]


def _output_delta(act_name, loss_name, dtype, n=41, k=7):
    rng = np.random.default_rng(4)
    act, loss = get_activation(act_name), get_loss(loss_name)
    z = (3 * rng.standard_normal((n, k))).astype(dtype)
    z[0, 0] = 80.0  # saturated outputs stay finite
    y = act.forward(z.copy(), out=np.empty_like(z))
    if loss_name == "cross_entropy":
        t = np.eye(k, dtype=dtype)[rng.integers(0, k, n)]
    elif loss_name == "binary_cross_entropy":
        t = (rng.random((n, k)) < 0.5).astype(dtype)
    else:
        t = rng.standard_normal((n, k)).astype(dtype)
    out = np.empty_like(z)
    per_sample, delta = loss.output_delta(z, y, t, act, out=out)
    assert delta is out
    return per_sample.copy(), delta.copy()


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("act_name, loss_name", HEADS, ids=[h[1] for h in HEADS])
def test_output_delta_kernels(act_name, loss_name, dtype, restore_mode):
    """δ bitwise (y − t, c·(y − t)); the per-sample loss to rounding (log-sum-exp and
    softplus with the C library's exp and log; the squares summed in another order)."""
    (v_ref, d_ref), (v, d) = both_paths(lambda: _output_delta(act_name, loss_name, dtype))
    np.testing.assert_array_equal(d, d_ref)
    assert np.all(np.isfinite(v))
    assert_ulps(v, v_ref, dtype, f"{loss_name} value", factor=16)


# --------------------------------------------------------------------------- gather, products
@pytest.mark.parametrize("rows", [5, 300])  # below and above the parallel loop's size
def test_take_rows_is_np_take(rows, loops):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((400, 301)).astype(np.float32)
    idx = rng.permutation(400)[:rows]
    for _ in range(3):  # with 300 rows: the serial kernel, the parallel one, the faster
        ref, ours = both_paths(lambda: kernels.take_rows(X, idx, np.empty((rows, 301), X.dtype)))
        np.testing.assert_array_equal(ours, ref)
    with pytest.raises(IndexError):
        kernels.take_rows(X, np.array([0, 400]), np.empty((2, 301), X.dtype))


def test_matmul_restores_the_blas_thread_count(restore_mode):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    kernels.use("numba")
    rng = np.random.default_rng(6)
    a, b = rng.standard_normal((10, 784)), rng.standard_normal((784, 100))  # 0.8 M: one thread
    before = threadpoolctl.threadpool_info()
    out = kernels.matmul(a, b, out=np.empty((10, 100)))
    np.testing.assert_allclose(out, a @ b, rtol=1e-12)
    assert threadpoolctl.threadpool_info() == before


# --------------------------------------------------------------------------- training
def _fit(output, loss, optimizer, dtype, y):
    rng = np.random.default_rng(7)
    X = rng.standard_normal((300, 20)).astype(dtype)
    net = dp.MLP([20, 16, 12, y.shape[1] if y.ndim == 2 else 3], activation="relu",
                 output=output, loss=loss, dtype=np.dtype(dtype).name, seed=0)
    net.fit(X, y, optimizer=optimizer, epochs=3, batch_size=32, verbose=0, seed=1)
    return net.store.data.copy()


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_fit_of_bitwise_kernels_is_bitwise(dtype, restore_mode, monkeypatch):
    """ReLU layers, identity output, half squared error, momentum: every kernel is bitwise,
    so training is, once both paths hand BLAS the same products on the same threads."""
    monkeypatch.setattr(kernels, "BLAS_SPLIT_MIN", 0)
    y = np.random.default_rng(8).standard_normal((300, 2))
    ref, ours = both_paths(lambda: _fit("identity", "half_squared_error", "momentum", dtype, y))
    np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_fit_softmax_adam_agrees_to_rounding(dtype, restore_mode):
    """Softmax's exp differs in the last bit, and the products' rounding with the thread
    count; over 30 Adam steps the weights stay within float32 (float64) rounding."""
    y = np.random.default_rng(8).integers(0, 3, 300)
    ref, ours = both_paths(lambda: _fit("softmax", "cross_entropy", "adam", dtype, y))
    tol = {np.float32: 1e-5, np.float64: 1e-12}[dtype]
    np.testing.assert_allclose(ours, ref, rtol=0, atol=tol)


def test_choice_keeps_the_faster_option_and_tries_the_other_again():
    from deltaprop.kernels._choice import MIN_INTERVAL, Choice

    c = Choice()
    cost = {0: 1.0, 1: 3.0}
    picks = []
    for _ in range(200):
        option = c.pick()
        picks.append(option)
        c.record(option, cost[option])
    assert picks[:2] == [0, 1] and picks[2:2 + MIN_INTERVAL - 1] == [0] * (MIN_INTERVAL - 1)
    trials = [i for i, o in enumerate(picks[2:]) if o == 1]
    assert len(trials) >= 2 and trials[1] - trials[0] > trials[0]  # tried ever more rarely
    cost[0] = 10.0  # the machine changed: the other option wins its next trial
    for _ in range(2 * max(1, c.interval) + 2):
        c.record(o := c.pick(), cost[o])
    assert c.pick() == 1


def test_kernel_path_allocates_nothing_that_grows_per_batch(restore_mode):
    """tracemalloc after each epoch of 60 batches stays flat on the kernels path."""
    import tracemalloc

    kernels.use("numba")
    rng = np.random.default_rng(9)
    X = rng.standard_normal((600, 30)).astype(np.float32)
    y = rng.integers(0, 4, 600)
    net = dp.MLP([30, 64, 4], activation="relu", output="softmax", loss="cross_entropy",
                 dtype="float32", seed=0)
    net.fit(X, y, optimizer="adam", epochs=1, batch_size=10, verbose=0)  # compile, plan
    alive = []
    cb = dp.LambdaCallback(on_epoch_end=lambda e, logs: alive.append(
        tracemalloc.get_traced_memory()[0]))
    tracemalloc.start()
    try:
        net.fit(X, y, optimizer="adam", epochs=5, batch_size=10, verbose=0, callbacks=[cb],
                rollback=False)
    finally:
        tracemalloc.stop()
    assert max(alive[1:]) - alive[1] < 8192, alive


def test_the_registries_name_the_same_kernels():
    compiled = pytest.importorskip("deltaprop.kernels.compiled")
    assert tuple(compiled.KERNELS) == kernels.KERNEL_NAMES


def test_parallel_loops_is_a_switch(restore_mode):
    before = kernels.parallel_loops()
    assert before is False  # the default: serial loops (see kernels._choice.PARALLEL_LOOPS)
    assert kernels.parallel_loops(True) is False
    assert kernels.parallel_loops() is True
    with pytest.raises(TypeError, match="True or False"):
        kernels.parallel_loops("yes")
    assert kernels.parallel_loops(False) is True
