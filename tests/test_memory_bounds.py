"""Memory is checked before it is spent (issue 26, item 2): the estimators refuse a network
too large for the memory in MLP's own words before they draw a single weight, and loading
a model file draws no weights that the file then overwrites."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import deltaprop as dp

resource = pytest.importorskip("resource")
pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(),
                                reason="reads /proc (Linux)")

SRC = str(Path(dp.__file__).parents[1])


def _python(code, timeout=120):
    env = dict(os.environ, PYTHONPATH=SRC, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               MKL_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout, env=env)


_BOUNDED = """
import resource
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))   # 3 GiB of address space
import numpy as np
import deltaprop as dp
from deltaprop.sklearn import MLPClassifier, MLPRegressor
X = np.random.default_rng(0).normal(size=(40, 8)).astype({dtype!r})
y = np.arange(40) % 2
try:
    {make}.fit(X, y)
except MemoryError as exc:
    print("MemoryError:", exc)
"""


@pytest.mark.parametrize("make", [
    "MLPClassifier(hidden_layer_sizes=(24000, 24000), max_iter=1)",
    "MLPRegressor(hidden_layer_sizes=(24000, 24000), max_iter=1)",
    "MLPClassifier(hidden_layer_sizes=(24000, 24000), activation='gelu', max_iter=1)",
    "dp.MLP([8, 24000, 24000, 1], seed=0)",
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_network_too_large_is_refused_before_anything_is_allocated(make, dtype):
    """Under a 3 GiB limit the first weight matrix drawn (24000 × 24000 in float64, 4.3 GiB)
    would fail in NumPy's words; the size check must come first, and count the limit."""
    result = _python(_BOUNDED.format(dtype=dtype, make=make).replace(
        "dp.MLP([8, 24000, 24000, 1], seed=0).fit(X, y)",
        "dp.MLP([8, 24000, 24000, 1], seed=0, dtype=X.dtype).fit(X, y, verbose=0)"))
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout.strip()
    assert out.startswith("MemoryError:"), out
    assert "Unable to allocate" not in out
    assert "parameters need about" in out and "free for this process" in out, out


_LOAD = """
import os, sys
import deltaprop as dp

def peak():  # this process's peak resident memory (ru_maxrss would include the parent's)
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))

before = peak()
net = dp.load(sys.argv[1])
print((peak() - before) / os.path.getsize(sys.argv[1]))
"""


def test_loading_a_model_costs_about_its_weights_not_four_times_them(tmp_path):
    """Before, the network was built with random weights (drawn in float64, then cast),
    their gradients written, then packed: the peak was 4× the file's weights."""
    path = tmp_path / "wide.npz"
    net = dp.MLP([2500, 2500, 1], dtype="float64", seed=0)  # 50 MB of weights
    net.save(path)
    env = dict(os.environ, PYTHONPATH=SRC)
    result = subprocess.run([sys.executable, "-c", _LOAD, str(path)], capture_output=True,
                            text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    ratio = float(result.stdout)
    assert ratio < 2.5, f"loading took {ratio:.2f}× the file's size at its peak"
    loaded = dp.load(path)
    for (a, _), (b, _) in zip(net.parameters(), loaded.parameters()):
        assert (a == b).all()


def test_from_config_draws_nothing():
    net = dp.MLP([3, 4, 2], seed=0)
    empty = dp.MLP.from_config(net.get_config())
    assert not empty.store.data.any()
    assert empty.layer_sizes == [3, 4, 2]
