"""Sparse X (scipy.sparse CSR/CSC, matrices and arrays): equal to the dense result, never dense."""

import tracemalloc

import numpy as np
import pytest

sp = pytest.importorskip("scipy.sparse")

import deltaprop as dp  # noqa: E402

FORMATS = [sp.csr_matrix, sp.csc_matrix, sp.csr_array, sp.csc_array]


def _problem(rng, n=40, d=25, k=3, density=0.15):
    Xs = sp.random(n, d, density=density, format="csr", random_state=int(rng.integers(1 << 30)),
                   data_rvs=lambda m: rng.normal(size=m))
    net = dp.MLP([d, 7, 5, k], activation="tanh", output="softmax", loss="cross_entropy",
                 dtype="float64", seed=int(rng.integers(1 << 30)))
    for layer in net.layers:
        layer.b = rng.normal(scale=0.3, size=layer.b.shape)
    return Xs, Xs.toarray(), rng.integers(0, k, size=n), net


def _close(ours, ref, what):
    err = np.abs(ours - ref).max() / max(np.abs(ref).max(), 1e-300)
    assert err <= 1e-12, f"{what}: sparse {ours} vs dense {ref} (rel err {err:.2e})"


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.__name__)
def test_forward_gradients_and_predict_equal_dense(fmt, rng):
    Xs, Xd, T, net = _problem(rng)
    X = fmt(Xs)
    _close(net.forward(X), net.forward(Xd), "forward")
    w = rng.uniform(0.5, 2.0, size=len(T))
    J, grads = net.gradients(X, T, sample_weight=w)
    J_ref, grads_ref = net.gradients(Xd, T, sample_weight=w)
    assert J == pytest.approx(J_ref, rel=1e-12)
    for (gW, gb), (rW, rb) in zip(grads, grads_ref):
        _close(gW, rW, "grad_W")
        _close(gb, rb, "grad_b")
    np.testing.assert_array_equal(net.predict(X), net.predict(Xd))
    _close(net.predict_proba(X), net.predict_proba(Xd), "predict_proba")
    assert net.evaluate(X, T)["loss"] == pytest.approx(net.evaluate(Xd, T)["loss"], rel=1e-12)


def test_sparse_gradients_pass_finite_differences(rng):
    Xs, _, T, net = _problem(rng, n=6, d=9)
    report = dp.gradcheck(net, Xs, T)
    assert report.passed, str(report)


@pytest.mark.parametrize("fmt", [sp.csr_matrix, sp.csc_array], ids=lambda f: f.__name__)
def test_one_epoch_of_fit_with_shuffling_equals_dense(fmt, rng):
    Xs, Xd, T, net = _problem(rng, n=90)
    twin = net.copy()
    w = rng.uniform(0.5, 2.0, size=len(T))
    for model, X in ((net, fmt(Xs)), (twin, Xd)):
        model.fit(X, T, optimizer="adam", epochs=2, batch_size=16, shuffle=True, seed=5,
                  verbose=0, sample_weight=w, validation_split=0.2)
    for a, b in zip(net.layers, twin.layers):
        _close(a.W, b.W, "W after fit")
        _close(a.b, b.b, "b after fit")


def test_chunked_prediction(rng):
    Xs = sp.random(9000, 12, density=0.05, format="csr", random_state=1)
    net = dp.MLP([12, 4, 2], output="identity", loss="mse", dtype="float64", seed=0)
    _close(net.predict(Xs), net.predict(Xs.toarray()), "predict over chunks of 8192")


def test_validation_keeps_it_sparse(rng):
    from deltaprop._validation import check_X  # the function under test

    Xs = sp.random(5, 4, density=0.5, format="csc", random_state=0, dtype=np.float64)
    out = check_X(Xs, np.dtype(np.float32))
    assert sp.issparse(out) and out.format == "csr" and out.dtype == np.float32
    assert out.shape == (5, 4) and Xs.dtype == np.float64  # the caller's matrix unchanged
    bad = sp.csr_matrix(np.array([[0.0, 1.0], [0.0, np.nan]]))
    with pytest.raises(ValueError, match=r"NaN or inf: X\[1, 1\] = nan"):
        check_X(bad, np.dtype(np.float64))
    with pytest.raises(ValueError, match="expects 3"):
        check_X(Xs, np.dtype(np.float64), n_features=3)


def test_estimators_take_sparse_input(rng):
    from deltaprop.sklearn import MLPClassifier, MLPRegressor

    Xs, Xd, y, _ = _problem(rng, n=120)
    for est in (MLPClassifier(hidden_layer_sizes=(6,), max_iter=5, random_state=0),
                MLPRegressor(hidden_layer_sizes=(6,), max_iter=5, random_state=0)):
        assert est.__sklearn_tags__().input_tags.sparse
        with pytest.warns(Warning):
            a = est.fit(sp.csc_matrix(Xs), y)
            pa = a.predict(Xs)
            b = est.__class__(**est.get_params()).fit(Xd, y)
        np.testing.assert_allclose(pa, b.predict(Xd), rtol=1e-12, atol=1e-12)


def test_a_wide_sparse_problem_is_never_made_dense():
    """10⁵ features, 0.1 % non-zeros, 3000 rows: the dense X would be 2.4 GB and a dense
    batch of 200 rows 160 MB; the whole fit and predict stay far below either."""
    rows, features = 3000, 100_000
    X = sp.random(rows, features, density=0.001, format="csr",
                  random_state=np.random.default_rng(0), dtype=np.float64)  # a Generator: fast
    y = np.asarray(X.sum(axis=1)).ravel()
    net = dp.MLP([features, 8, 1], activation="tanh", output="identity", loss="mse",
                 dtype="float64", seed=0)
    dense_batch = 200 * features * 8
    tracemalloc.start()
    try:
        net.fit(X, y, epochs=1, batch_size=200, shuffle=True, seed=0, verbose=0)
        net.predict(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"\ntracemalloc peak {peak / 1e6:.1f} MB; dense X {rows * features * 8 / 1e6:.0f} MB, "
          f"dense batch {dense_batch / 1e6:.0f} MB")
    assert peak < rows * features * 8 / 20
    assert peak < dense_batch / 2


def test_the_core_needs_no_scipy():
    import subprocess
    import sys

    code = ("import sys; sys.modules['scipy'] = None; import numpy as np, deltaprop as dp; "
            "net = dp.MLP([3, 2], dtype='float64', seed=0); "
            "net.fit(np.ones((4, 3)), np.zeros((4, 2)), epochs=1, verbose=0); "
            "print(net.predict(np.ones((1, 3))).shape)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "(1, 2)", out.stderr


def test_a_first_layer_without_sparse_input_says_so(rng):
    Xs = sp.random(6, 4, density=0.5, format="csr", random_state=0)
    net = dp.Sequential([dp.Dropout(0.1), dp.Dense(4, 2, dtype="float64")], loss="mse")
    for call in (lambda: net.forward(Xs), lambda: net.gradients(Xs, np.zeros((6, 2))),
                 lambda: net.fit(Xs, np.zeros((6, 2)), epochs=1, verbose=0)):
        with pytest.raises(TypeError, match="first layer \\(Dropout\\) takes dense input"):
            call()
