"""Prediction's path (:meth:`Sequential.outputs`): the input validated once, one product per
layer and chunk of rows, the bias and the activation in one pass into reused work arrays,
the chunks spread over every core (:func:`deltaprop.kernels.map_chunks`).

Checked on both kernel paths against the layer-by-layer formulas written here in NumPy,
with many chunks (a small ``PREDICT_CHUNK_BYTES``) and with one; labels against the argmax
of the probabilities, bit for bit; repeated calls to the same bits; an error in a worker
thread raised in the caller, with BLAS's thread count set back.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

import deltaprop as dp
from deltaprop import kernels, network


@pytest.fixture(params=["numpy", "numba"])
def path(request):
    if request.param == "numba":
        pytest.importorskip("numba")
    previous = kernels._mode
    kernels.use(request.param)
    yield request.param
    kernels._mode, kernels._table, kernels._blas = previous, None, None


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of PREDICT_MIN_ROWS rows: many chunks for a few thousand rows."""
    monkeypatch.setattr(network, "PREDICT_CHUNK_BYTES", 1)
    return network.PREDICT_MIN_ROWS


def reference(net, X):
    """The network's outputs, layer by layer, as the formulas say (float64)."""
    a = np.asarray(X, np.float64)
    for layer in net.layers:
        if isinstance(layer, dp.Dropout):
            continue
        z = a @ layer.W.astype(np.float64) + layer.b.astype(np.float64)
        a = layer.activation.forward(z)
    return a


def assert_close(ours, ref, dtype, what):
    tol = 2e-5 if np.dtype(dtype) == np.float32 else 1e-12
    err = float(np.max(np.abs(ours - ref) / np.maximum(np.abs(ref), 1.0)))
    assert err <= tol, f"{what}: ours vs reference, relative error {err:.2e} > {tol:g}"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("hidden,output,loss", [
    ("relu", "softmax", "cross_entropy"),
    ("tanh", "sigmoid", "binary_cross_entropy"),
    ("sigmoid", "identity", "mse"),
    ("gelu", "softmax", "cross_entropy"),
    ("leaky_relu", "identity", "mse"),
])
def test_outputs_match_the_formulas_in_many_chunks_and_in_one(path, small_chunks, rng, dtype,
                                                              hidden, output, loss):
    net = dp.MLP([20, 33, 17, 4], activation=hidden, output=output, loss=loss, dtype=dtype,
                 seed=1)
    for layer in net.layers:
        layer.b = rng.normal(scale=0.5, size=layer.b.shape)
    X = rng.normal(size=(5 * small_chunks + 37, 20))  # float64 data for a float32 net too
    ref = reference(net, X.astype(dtype))
    many = net.forward(X)
    assert many.dtype == np.dtype(dtype) and many.shape == (len(X), 4)
    assert_close(many, ref, dtype, f"{path} path, chunks of {small_chunks} rows")
    one = net.forward(X[:small_chunks])
    assert_close(one, ref[:small_chunks], dtype, f"{path} path, one chunk")
    np.testing.assert_array_equal(net.forward(X), many)  # the same bits again


def test_labels_are_the_argmax_of_the_probabilities_bit_for_bit(path, small_chunks, rng):
    net = dp.MLP([12, 40, 7], output="softmax", loss="cross_entropy", seed=2)
    X = rng.normal(size=(9 * small_chunks + 5, 12)).astype(np.float32)
    y = rng.integers(0, 7, size=len(X))
    net.fit(X, y, epochs=1, batch_size=64, verbose=0, seed=0)
    proba = net.predict_proba(X)
    np.testing.assert_array_equal(net.predict(X), net.classes_[np.argmax(proba, axis=1)])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


def test_binary_and_multilabel_and_regression_heads(path, small_chunks, rng):
    X = rng.normal(size=(3 * small_chunks + 1, 6))
    net = dp.MLP([6, 9, 1], output="sigmoid", loss="binary_cross_entropy", dtype="float64",
                 seed=3)
    net.fit(X, (X[:, 0] > 0).astype(int), epochs=1, verbose=0, seed=0)
    p = net.predict_proba(X)
    assert p.shape == (len(X), 2)
    np.testing.assert_array_equal(net.predict(X), net.classes_[(p[:, 1] > 0.5).astype(int)])
    reg = dp.MLP([6, 9, 1], dtype="float64", seed=4)
    assert_close(reg.predict(X), reference(reg, X)[:, 0], np.float64, "regression")
    assert reg.predict(X).shape == (len(X),)


def test_the_input_is_validated_once(path, monkeypatch, rng):
    calls = []
    check_X = network.check_X

    def counting(*args, **kwargs):
        calls.append(1)
        return check_X(*args, **kwargs)

    monkeypatch.setattr(network, "check_X", counting)
    net = dp.MLP([5, 8, 3], output="softmax", loss="cross_entropy", seed=0)
    X = rng.normal(size=(40000, 5))
    for method in (net.forward, net.predict_proba, net.predict):
        calls.clear()
        method(X)
        assert len(calls) == 1, f"{method.__name__} validated X {len(calls)} times"


def test_results_are_the_callers_and_the_input_is_not_written(path, small_chunks, rng):
    net = dp.MLP([4, 6, 3], output="softmax", loss="cross_entropy", seed=0)
    X = rng.normal(size=(4 * small_chunks, 4)).astype(np.float32)
    X.flags.writeable = False
    first = net.predict_proba(X)
    kept = first.copy()
    net.predict_proba(X[::-1].copy())
    np.testing.assert_array_equal(first, kept)


def test_normalisation_layers_take_the_one_thread_path(path, small_chunks, rng):
    for norm in ("batch", "layer"):
        net = dp.MLP([5, 7, 3], output="softmax", loss="cross_entropy", norm=norm, dropout=0.1,
                     dtype="float64", seed=0)
        X = rng.normal(size=(3 * small_chunks + 2, 5))
        net.fit(X, rng.integers(0, 3, len(X)), epochs=1, verbose=0, seed=0)
        a = X
        for layer in net.layers:
            a = layer.forward(a)
        assert_close(net.predict_proba(X), a, np.float64, f"norm={norm}")


def test_chunks_run_on_every_blas_thread_and_set_it_back(small_chunks, rng, monkeypatch):
    pytest.importorskip("numba")
    pytest.importorskip("threadpoolctl")
    previous = kernels._mode
    kernels.use("numba")
    try:
        blas = kernels._blas_handle()
        if not blas or blas[0]() < 2:
            pytest.skip("BLAS runs on one thread here")
        threads = blas[0]()
        net = dp.MLP([8, 16, 3], output="softmax", loss="cross_entropy", seed=0)
        X = rng.normal(size=(40 * small_chunks, 8)).astype(np.float32)
        seen, during = set(), set()
        infer = dp.Dense.infer
        # Each thread's first chunk waits for the others': fails (after 20 s) unless as
        # many threads as BLAS has take chunks.
        barrier = threading.Barrier(threads, timeout=20)

        def spy(self, x, out=None):
            if threading.get_ident() not in seen:
                seen.add(threading.get_ident())
                barrier.wait()
            during.add(blas[0]())
            return infer(self, x, out)

        monkeypatch.setattr(dp.Dense, "infer", spy)
        with_threads = net.predict_proba(X)
        assert during == {1}, "BLAS must run on one thread while the chunks are spread"
        assert blas[0]() == threads
        assert len(seen) == threads
        # The same rows on one thread, chunk after chunk: the same bits.
        monkeypatch.setattr(dp.Dense, "infer", infer)
        monkeypatch.setattr(dp.Dense, "concurrent_infer", False)
        blas[1](1)
        try:
            one_thread = net.predict_proba(X)
        finally:
            blas[1](threads)
        np.testing.assert_array_equal(with_threads, one_thread)
    finally:
        kernels._mode, kernels._table, kernels._blas = previous, None, None


def test_an_error_in_a_chunk_is_raised_here(path, small_chunks, rng, monkeypatch):
    net = dp.MLP([3, 5, 2], output="softmax", loss="cross_entropy", seed=0)
    X = rng.normal(size=(20 * small_chunks, 3))
    blas = kernels._blas_handle()
    threads = blas[0]() if blas else None
    infer = dp.Dense.infer
    count = [0]

    def failing(self, x, out=None):
        count[0] += 1
        if count[0] == 7:
            raise RuntimeError("planted failure")
        return infer(self, x, out)

    monkeypatch.setattr(dp.Dense, "infer", failing)
    with pytest.raises(RuntimeError, match="planted failure"):
        net.predict_proba(X)
    if blas:
        assert blas[0]() == threads
    monkeypatch.setattr(dp.Dense, "infer", infer)
    assert_close(net.predict_proba(X), reference(net, X.astype(np.float32)), np.float32,
                 "after the failure")


@pytest.mark.parametrize("bad,message", [
    (np.nan, r"X contains NaN or inf: X\[1234, 3\] = nan"),
    (np.inf, r"X contains NaN or inf: X\[1234, 3\] = inf"),
    (1e300, r"X\[1234, 3\] = 1e\+300 does not fit in float32"),
])
def test_a_bad_value_in_any_chunk_is_named_with_its_place(path, small_chunks, rng, bad, message):
    net = dp.MLP([6, 9, 3], output="softmax", loss="cross_entropy", seed=0)
    X = rng.normal(size=(10 * small_chunks, 6))
    X[1234, 3] = bad
    X[2000, 1] = bad  # a later chunk too: the first one is named
    for method in (net.predict, net.predict_proba, net.forward):
        with pytest.raises(ValueError, match=message):
            method(X)
    X[1234, 3] = X[2000, 1] = 0.0
    assert net.predict(X).shape == (len(X),)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_finiteness_kernel_against_numpy(dtype, rng):
    pytest.importorskip("numba")
    from deltaprop.kernels import compiled

    x = rng.normal(size=(37, 29)).astype(dtype)
    assert compiled.all_finite(x)
    for value in (np.nan, np.inf, -np.inf):
        y = x.copy()
        y[36, 28] = value
        assert not compiled.all_finite(y)
        y[36, 28] = np.finfo(dtype).max  # the largest finite value is finite
        assert compiled.all_finite(y)
    y = x.copy()
    y[0, 0] = -0.0
    assert compiled.all_finite(y) and compiled.all_finite(x[:0])
