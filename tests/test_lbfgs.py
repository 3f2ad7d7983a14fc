"""L-BFGS (deltaprop.optimizers.LBFGS): the objective handed to SciPy, fit's full-batch
branch, the estimators' solver="lbfgs" against scikit-learn's, and the CLI option."""

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.optimizers import FULL_BATCH_OPTIMIZERS, LBFGS, get_optimizer

scipy_optimize = pytest.importorskip("scipy.optimize")


def blobs(n=90, d=4, k=3, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=2.0, size=(k, d))
    y = np.arange(n) % k
    return centers[y] + rng.normal(size=(n, d)), y


def small_net(dtype="float64", seed=0, l2=0.0):
    return dp.MLP([4, 6, 3], activation="tanh", output="softmax", loss="cross_entropy",
                  dtype=dtype, seed=seed, l2=l2)


def test_registered_as_full_batch_and_step_refused():
    assert FULL_BATCH_OPTIMIZERS["lbfgs"] is LBFGS
    opt = get_optimizer("LBFGS", max_fun=50)
    assert isinstance(opt, LBFGS) and opt.full_batch and opt.max_fun == 50
    assert get_optimizer(opt.get_config()).get_config() == opt.get_config()
    with pytest.raises(TypeError, match="full-batch"):
        opt.step(small_net().store)
    with pytest.raises(ValueError, match="max_fun"):
        LBFGS(max_fun=0)
    with pytest.raises(ValueError, match="tol"):
        LBFGS(tol=-1.0)


def test_without_scipy_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy.optimize", None)  # import fails
    X, y = blobs()
    with pytest.raises(ImportError, match=r"pip install scipy.*deltaprop\[sklearn\]"):
        small_net().fit(X, y, optimizer="lbfgs", epochs=5, verbose=0)


def test_reaches_a_stationary_point_and_matches_scipy_by_hand():
    X, y = blobs()
    net = small_net(l2=1e-3)
    theta0 = net.store.data.copy()
    history = net.fit(X, y, optimizer=LBFGS(tol=1e-6), epochs=500, verbose=0)
    opt = net.train_state_["optimizer"]
    assert opt.result.status == 0, opt.result.message
    # the gradient at the final weights, evaluated afresh
    T, _ = net.encode_targets(y, len(X), fit=False)
    Xc = np.asarray(X, dtype=np.float64)
    J = net.backprop(Xc, T)
    print(opt.result.message, np.abs(net.store.grad).max())
    assert np.abs(net.store.grad).max() <= 1e-4  # from about 0.6 at the start
    assert len(history.epoch) == opt.result.nit == len(history["loss"])
    assert history["loss"][-1] == pytest.approx(J, rel=1e-12)
    assert np.all(np.diff(history["loss"]) <= 1e-12)  # a descent method

    # the same objective, minimised by scipy by hand from the same start
    twin = small_net(l2=1e-3)
    twin.store.data[:] = theta0

    def fun(theta):
        twin.store.data[:] = theta
        return twin.backprop(Xc, T), twin.store.grad.astype(np.float64).copy()

    ref = scipy_optimize.minimize(fun, theta0, method="L-BFGS-B", jac=True,
                                  options={"maxiter": 500, "maxfun": 15000, "gtol": 1e-6})
    print("ours", opt.result.nit, opt.result.fun, "scipy", ref.nit, ref.fun)
    assert opt.result.nit == ref.nit and opt.result.nfev == ref.nfev
    np.testing.assert_allclose(net.store.data, ref.x, rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_float32_and_float64_networks(dtype):
    X, y = blobs(seed=1)
    net = small_net(dtype, l2=1e-2)
    history = net.fit(X, y, optimizer="lbfgs", epochs=300, verbose=0)
    assert net.store.data.dtype == np.dtype(dtype)
    assert history["accuracy"][-1] >= 0.9
    assert history["loss"][-1] < history["loss"][0]
    assert net.store.grad.dtype == np.dtype(dtype)


def test_max_fun_and_epochs_are_respected():
    X, y = blobs()
    net = small_net()
    net.fit(X, y, optimizer=LBFGS(max_fun=7, tol=0.0), epochs=1000, verbose=0)
    result = net.train_state_["optimizer"].result
    assert result.nfev <= 7 + 1 and result.status == 1  # scipy may finish the line search
    net = small_net()
    history = net.fit(X, y, optimizer=LBFGS(tol=0.0), epochs=5, verbose=0)
    assert len(history.epoch) == 5 and net.train_state_["epoch"] == 5


def test_callbacks_validation_and_early_stopping():
    X, y = blobs(n=120)
    net = small_net()
    seen = []
    stop = dp.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(epoch))
    early = dp.EarlyStopping(monitor="loss", patience=1, min_delta=10.0)  # stops at once
    history = net.fit(X, y, optimizer="lbfgs", epochs=100, validation_split=0.25, verbose=0,
                      callbacks=[stop, early])
    assert history.stopped_early and seen == [0, 1]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "lr", "time"} <= set(history.history)


def test_divergence_raises_and_rolls_back():
    X, y = blobs()
    net = small_net()
    start = net.store.data.copy()
    calls = []

    def poison(epoch, logs):
        calls.append(epoch)
        net.l2 = float("inf")  # the next evaluation is not finite

    with pytest.raises(dp.TrainingDiverged, match="L-BFGS iteration 2"):
        net.fit(X, y, optimizer="lbfgs", epochs=50, verbose=0,
                callbacks=[dp.LambdaCallback(on_epoch_end=poison)])
    net.l2 = 0.0
    assert calls == [0] and np.all(np.isfinite(net.store.data))
    assert not np.array_equal(net.store.data, start)  # the weights after iteration 1


def test_save_and_load_with_the_optimizer(tmp_path):
    X, y = blobs()
    net = small_net()
    net.fit(X, y, optimizer=LBFGS(max_fun=100), epochs=10, verbose=0)
    net.save(tmp_path / "m.npz")
    back = dp.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(back.predict(X), net.predict(X))
    assert back.train_state_["optimizer"].get_config() == LBFGS(max_fun=100).get_config()


# -- the estimators against scikit-learn's ---------------------------------------------------

sk_nn = pytest.importorskip("sklearn.neural_network")


def _scaled(loader):
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = loader(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, random_state=0)
    scaler = StandardScaler().fit(Xtr)
    return scaler.transform(Xtr), scaler.transform(Xte), ytr, yte


def test_classifier_lbfgs_against_scikit_learn_on_iris():
    from sklearn.datasets import load_iris

    from deltaprop.sklearn import MLPClassifier

    Xtr, Xte, ytr, yte = _scaled(load_iris)
    kw = dict(solver="lbfgs", hidden_layer_sizes=(20,), max_iter=500, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = MLPClassifier(**kw).fit(Xtr, ytr)
        theirs = sk_nn.MLPClassifier(**kw).fit(Xtr, ytr)
    print("ours", ours.score(Xte, yte), ours.n_iter_, "sklearn", theirs.score(Xte, yte),
          theirs.n_iter_)
    assert ours.score(Xte, yte) >= theirs.score(Xte, yte) - 0.03
    assert 1 <= ours.n_iter_ <= 500 and len(ours.loss_curve_) == ours.n_iter_
    assert ours.loss_ == ours.loss_curve_[-1]
    assert not hasattr(ours, "partial_fit")
    with pytest.raises(AttributeError, match="partial_fit") as info:
        ours.partial_fit(Xtr, ytr)
    assert "lbfgs' is not stochastic" in str(info.value.__cause__)


def test_regressor_lbfgs_against_scikit_learn():
    from sklearn.datasets import make_friedman1

    from deltaprop.sklearn import MLPRegressor

    X, y = make_friedman1(n_samples=400, noise=0.5, random_state=0)
    Xtr, Xte, ytr, yte = X[:300], X[300:], y[:300], y[300:]
    kw = dict(solver="lbfgs", hidden_layer_sizes=(20,), max_iter=300, random_state=0,
              alpha=1e-2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = MLPRegressor(**kw).fit(Xtr, ytr)
        theirs = sk_nn.MLPRegressor(**kw).fit(Xtr, ytr)
    print("ours", ours.score(Xte, yte), ours.n_iter_, "sklearn", theirs.score(Xte, yte),
          theirs.n_iter_)
    assert ours.score(Xte, yte) >= theirs.score(Xte, yte) - 0.05
    assert ours.score(Xte, yte) > 0.8


def test_convergence_warning_in_scikit_learn_words():
    from sklearn.exceptions import ConvergenceWarning

    from deltaprop.sklearn import MLPClassifier

    X, y = blobs()
    with pytest.warns(ConvergenceWarning, match=r"lbfgs failed to converge after 3 "
                                                r"iteration\(s\)[\s\S]*max_iter=3"):
        MLPClassifier(solver="lbfgs", max_iter=3, random_state=0).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        MLPClassifier(solver="lbfgs", max_fun=4, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="max_fun"):
        MLPClassifier(solver="lbfgs", max_fun=0).fit(X, y)


# -- the CLI -----------------------------------------------------------------------------------


def test_cli_train_with_lbfgs(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "deltaprop", "train", "moons", "--hidden", "8",
         "--activation", "tanh", "--optimizer", "lbfgs", "--epochs", "100", "--seed", "0",
         "--json", "--out", "out"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)
    assert res["test_accuracy"] > 0.85 and 1 <= res["epochs"] <= 100
