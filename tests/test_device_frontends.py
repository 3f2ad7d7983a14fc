"""``--device`` of ``deltaprop train`` and ``device=`` of the scikit-learn estimators: the
strict device shows that the device path runs through them (its results are the CPU's to
the last bit on the NumPy path), and ``"cuda"`` without CuPy shows the error the user gets.
"""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

import deltaprop as dp
from deltaprop import cli, kernels
from deltaprop.devices import StrictArray


def _has_cupy():
    try:
        import cupy  # noqa: F401
    except ImportError:
        return False
    return True


no_cupy = pytest.mark.skipif(_has_cupy(), reason="CuPy is installed: tests/test_gpu.py "
                                                  "covers the GPU")


@pytest.fixture
def reference():
    """The NumPy path on both devices (the Numba kernels round otherwise than NumPy)."""
    previous = kernels.use("numpy")
    yield
    kernels.use(previous)


def _train(tmp_path, capsys, *extra, out="run"):
    code = cli.main(["train", "iris", "--hidden", "8", "--epochs", "4", "--json",
                     "--out", str(tmp_path / out), *extra])
    captured = capsys.readouterr()
    return code, captured


# --------------------------------------------------------------------------- the CLI
def test_train_on_the_strict_device_is_the_cpu_run(tmp_path, capsys, reference):
    code, cpu = _train(tmp_path, capsys, out="cpu")
    assert code == 0, cpu.err
    code, strict = _train(tmp_path, capsys, "--device", "strict", out="strict")
    assert code == 0, strict.err
    a, b = json.loads(cpu.out), json.loads(strict.out)
    assert a["device"] == "cpu" and b["device"] == "strict"
    assert a["test_loss"] == b["test_loss"] and a["train_loss"] == b["train_loss"]
    m1, m2 = dp.load(tmp_path / "cpu" / "model.npz"), dp.load(tmp_path / "strict" / "model.npz")
    assert m2.device == dp.devices.CPU  # a model file is the same for every device
    np.testing.assert_array_equal(m1.store.data, m2.store.data)


def test_train_prints_the_device(tmp_path, capsys):
    code = cli.main(["train", "iris", "--hidden", "8", "--epochs", "2", "--device", "strict",
                     "--out", str(tmp_path / "run")])
    out = capsys.readouterr().out
    assert code == 0 and "device: strict" in out.splitlines()


def _one_line_error(capsys, code, match):
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and "Traceback" not in err[0] and match in err[0], err
    return err[0]


@no_cupy
def test_train_on_cuda_without_cupy_is_a_one_line_error(tmp_path, capsys):
    code = cli.main(["train", "iris", "--device", "cuda", "--out", str(tmp_path / "run")])
    line = _one_line_error(capsys, code, "needs CuPy")
    assert line.startswith("deltaprop train: error: device 'cuda'") and "deltaprop[cuda]" in line
    assert not (tmp_path / "run" / "model.npz").exists()


@pytest.mark.parametrize("bad", ["tpu", "cuda:x", "gpu0", ""])
def test_train_rejects_a_bad_device_name(capsys, bad):
    with pytest.raises(SystemExit) as exc:
        cli.main(["train", "iris", "--device", bad])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1
    assert "argument --device: expected cpu, cuda or cuda:N" in err[0]


def test_train_lbfgs_on_a_device_says_it_runs_on_the_cpu(tmp_path, capsys):
    code = cli.main(["train", "iris", "--optimizer", "lbfgs", "--device", "strict",
                     "--out", str(tmp_path / "run")])
    _one_line_error(capsys, code, "--optimizer lbfgs runs on the CPU")


def test_resume_may_change_the_device(tmp_path, capsys, monkeypatch, reference):
    """An interrupted run on one device goes on on another: --device is one of the options
    that --resume takes; the result is the uninterrupted run's to the last bit."""
    monkeypatch.chdir(tmp_path)
    args = ["train", "wine", "--hidden", "8", "--epochs", "5", "-q"]
    assert cli.main(args + ["--out", "full"]) == 0
    original = dp.GradientNorms.on_epoch_end

    def on_epoch_end(self, e, logs=None):
        original(self, e, logs)
        if e == 2:
            raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(dp.GradientNorms, "on_epoch_end", on_epoch_end)
        assert cli.main(args + ["--out", "run", "--device", "strict"]) == 130
    assert json.loads((tmp_path / "run" / "run.json").read_text())["device"] == "strict"
    capsys.readouterr()
    assert cli.main(["train", "--resume", "run", "--device", "cpu", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["device"] == "cpu"
    full, resumed = dp.load("full/model.npz"), dp.load("run/model.npz")
    np.testing.assert_array_equal(full.store.data, resumed.store.data)


# --------------------------------------------------------------------------- scikit-learn
sklearn = pytest.importorskip("sklearn")
from deltaprop.sklearn import MLPClassifier, MLPRegressor  # noqa: E402


def _data(rng):
    X = rng.normal(size=(80, 4))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int), X[:, 2] - X[:, 3]


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_device_is_a_parameter(Estimator):
    est = Estimator(device="strict")
    assert est.get_params()["device"] == "strict" and Estimator().get_params()["device"] is None
    assert sklearn.base.clone(est).device == "strict"
    assert est.set_params(device="cpu").device == "cpu"


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_estimators_on_the_strict_device_are_the_cpus(Estimator, rng, reference):
    X, labels, values = _data(rng)
    y = labels if Estimator is MLPClassifier else values
    cpu = Estimator((8,), max_iter=5, random_state=0).fit(X, y)
    est = Estimator((8,), max_iter=5, random_state=0, device="strict").fit(X, y)
    assert est.net_.device == dp.devices.STRICT
    assert type(est.net_.layers[0].W) is StrictArray
    assert est.loss_curve_ == cpu.loss_curve_
    np.testing.assert_array_equal(est.predict(X), cpu.predict(X))
    for a, b in zip(est.coefs_ + est.intercepts_, cpu.coefs_ + cpu.intercepts_):
        assert type(a) is np.ndarray  # host copies on a device
        np.testing.assert_array_equal(a, b)
    assert est.score(X, y) == cpu.score(X, y)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict(X), est.predict(X))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_warm_start_and_partial_fit_move_the_network(rng, reference):
    X, y, _ = _data(rng)
    est = MLPClassifier((8,), max_iter=3, random_state=0, device="strict").fit(X, y)
    est.set_params(device=None, warm_start=True).fit(X, y)
    assert est.net_.device == dp.devices.CPU and type(est.net_.layers[0].W) is np.ndarray
    est.set_params(device="strict")
    est.partial_fit(X, y)
    assert est.net_.device == dp.devices.STRICT
    twin = MLPClassifier((8,), max_iter=3, random_state=0).fit(X, y)
    twin.set_params(warm_start=True).fit(X, y)
    twin.partial_fit(X, y)
    np.testing.assert_array_equal(est.predict_proba(X), twin.predict_proba(X))


def test_a_bad_device_is_reported_by_fit(rng):
    X, y, _ = _data(rng)
    est = MLPClassifier((4,), device="tpu")  # stored as given: checked in fit
    assert est.device == "tpu"
    with pytest.raises(dp.constraints.ParameterError, match="MLPClassifier: device must be"):
        est.fit(X, y)
    with pytest.raises(dp.constraints.ParameterError, match="device must be None, an instance"):
        MLPClassifier((4,), device=3).fit(X, y)


def test_lbfgs_on_a_device_says_it_runs_on_the_cpu(rng):
    X, y, _ = _data(rng)
    with pytest.raises(ValueError, match="L-BFGS solver runs on the CPU"):
        MLPClassifier((4,), solver="lbfgs", device="strict").fit(X, y)


@no_cupy
@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_cuda_without_cupy_says_what_is_missing(Estimator, rng):
    X, labels, values = _data(rng)
    est = Estimator((4,), device="cuda")
    with pytest.raises(dp.DeviceError, match=r"needs CuPy.*deltaprop\[cuda\]"):
        est.fit(X, labels if Estimator is MLPClassifier else values)
    assert not hasattr(est, "net_")
