"""Messages name the real cause (issue 26, item 6): an L2 term that overflows, sample
weights too large or too small for the dtype's arithmetic, are said as such, not as a
divergence "of the learning rate" or "NaN or inf" in the weights."""

import subprocess
import sys

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.sklearn import MLPClassifier, MLPRegressor


@pytest.fixture(scope="module")
def iris():
    return dp.datasets.load_iris()


def _net(dtype="float32", l2=0.0):
    return dp.MLP([4, 8, 3], output="softmax", loss="cross_entropy", seed=0, dtype=dtype,
                  l2=l2)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_an_overflowing_l2_term_is_named(iris, dtype):
    X, y = iris
    with pytest.raises(ValueError) as info:
        _net(dtype, l2=1e308).fit(X, y, epochs=2, verbose=0)
    message = str(info.value)
    assert not isinstance(info.value, dp.TrainingDiverged)
    assert "l2 = 1e+308 is too large" in message and f"overflow {dtype}" in message
    assert "learning rate" not in message


def test_the_command_names_the_l2_term(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "deltaprop", "train", "iris", "--l2", "1e308",
                           "--epochs", "2", "-q", "--out", "run"], capture_output=True,
                          text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and "l2 = 1e+308 is too large" in err[0], proc.stderr
    assert "learning rate" not in err[0] and "diverged" not in err[0]


def test_an_l2_step_that_overshoots_is_named_when_training_diverges(iris):
    X, y = iris
    with pytest.raises(dp.TrainingDiverged, match=r"lr·λ > 2 \(here 0.01 × 1e\+30\)"):
        _net(l2=1e30).fit(X, y, epochs=2, verbose=0, optimizer="sgd")


@pytest.mark.parametrize("weight, words", [
    (3e38, "sample_weight sums to 4.5e+40, too large for float32 arithmetic"),
    (1e-45, "sample_weight[0] = 1e-45 is below float32's smallest normal number"),
    (1e300, "sample_weight[0] = 1e+300 overflows float32"),
])
def test_sample_weights_the_dtype_cannot_carry_are_named(iris, weight, words):
    X, y = iris
    w = np.full(len(X), weight)
    for fit in (lambda: _net().fit(X, y, epochs=2, verbose=0, sample_weight=w),
                lambda: _net().loss(X, np.eye(3)[y], w),
                lambda: MLPClassifier((8,), max_iter=3).fit(X.astype(np.float32), y, w),
                lambda: MLPRegressor((8,), max_iter=3).fit(X.astype(np.float32), X[:, 0], w)):
        with pytest.raises(ValueError) as info:
            fit()
        message = str(info.value)
        assert words in message, message
        assert "learning rate" not in message and "NaN or inf" not in message
        assert "ratios matter" in message and "dtype='float64'" in message


def test_the_same_weights_are_fine_in_float64(iris):
    X, y = iris
    for weight in (1e-45, 1e300):
        net = _net("float64")
        net.fit(X, y, epochs=2, verbose=0, sample_weight=np.full(len(X), weight))
        assert np.isfinite(net.history_["loss"]).all()


def test_ordinary_weights_and_zeros_still_train(iris):
    X, y = iris
    w = np.random.default_rng(0).uniform(1e-3, 1e3, len(X))
    w[:5] = 0.0
    net = _net()
    net.fit(X, y, epochs=3, verbose=0, sample_weight=w)
    assert np.isfinite(net.history_["loss"]).all()
    with pytest.raises(ValueError, match="NaN or inf"):  # a NaN is still called one
        _net().fit(X, y, epochs=1, verbose=0, sample_weight=np.r_[np.nan, w[1:]])
