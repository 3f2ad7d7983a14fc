"""The fused kernels a run needs are compiled before it starts (``kernels.prepare``), and the
first run on a machine says so; Numba's on-disk cache spares the next process the compiling.

Each check runs in a fresh process (a Numba dispatcher lists the signatures it was compiled
for, or loaded from its cache, in this process only), with its own cache directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("numba")

RUNS = """
import numpy as np, deltaprop as dp
from deltaprop import kernels
from deltaprop.kernels import compiled
kernels.use("numba")
rng = np.random.default_rng(0)

def signatures():
    return {name: set(f.signatures) for name, f in vars(compiled).items()
            if hasattr(f, "signatures")}

for sizes, act, out, loss, opt, dtype, batch in CONFIGS:
    X = rng.normal(size=(600, sizes[0])).astype(dtype)
    if loss == "cross_entropy":
        y = rng.integers(0, sizes[-1], 600)
    elif loss == "binary_cross_entropy":
        y = (rng.random((600, sizes[-1])) < 0.5).astype(int)
    else:
        y = rng.normal(size=(600, sizes[-1]))
    net = dp.MLP(sizes, activation=act, output=out, loss=loss, dtype=dtype, seed=0)
    optimizer = dp.optimizers.get_optimizer(opt)
    T = net.encode_targets(y, 600, fit=True)[0]
    kernels.prepare(net, optimizer, batch, (X, T))
    before = signatures()
    net.fit(X, y, optimizer=optimizer, epochs=2, batch_size=batch, verbose=0, seed=0,
            validation_split=0.1)
    net.predict(X)
    after = signatures()
    new = {k: v - before.get(k, set()) for k, v in after.items() if v - before.get(k, set())}
    print("NEW", (sizes, act, out, loss, str(opt), dtype, batch), new if new else "none")
"""


def run(code, cache_dir):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "NUMBA_CACHE_DIR": str(cache_dir)}
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, env=env, timeout=900)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.parametrize("configs", [
    [((784, 300, 10), "relu", "softmax", "cross_entropy", "adam", "float32", 128),
     ((20, 30, 30, 3), "tanh", "sigmoid", "binary_cross_entropy",
      {"name": "sgd", "lr": 0.01, "momentum": 0.9, "clip_norm": 1.0}, "float32", 64)],
    [((300, 64, 1), "sigmoid", "identity", "mse", "rmsprop", "float64", 256),
     ((200, 100, 5), "leaky_relu", "softmax", "cross_entropy",
      {"name": "adamw", "weight_decay": 0.01}, "float64", 32)],
], ids=["float32", "float64"])
def test_prepare_compiles_everything_a_run_calls(configs, tmp_path):
    out = run(f"CONFIGS = {configs!r}\n" + RUNS, tmp_path)
    lines = [line for line in out.splitlines() if line.startswith("NEW")]
    assert len(lines) == len(configs)
    for line in lines:
        assert line.endswith("none"), f"compiled during the run, not by prepare: {line}"


SAY = """
import numpy as np, deltaprop as dp
from deltaprop import kernels
kernels.use("numba")
kernels.SAY_AFTER = 0.0  # any compiling is said (the test asserts no time)
X = np.random.default_rng(0).normal(size=(512, 100)).astype("float32")
net = dp.MLP([100, 200, 3], output="softmax", loss="cross_entropy", seed=0)
for _ in range(2):  # said once per process
    net.fit(X, np.arange(512) % 3, epochs=1, batch_size=64, verbose=2, seed=0)
"""


def test_the_first_run_says_it_compiles_and_the_next_loads_from_the_cache(tmp_path):
    first = run(SAY, tmp_path)
    assert first.count("compiling the fused kernels (once, about") == 1, first
    assert first.index("compiling the fused kernels") < first.index("Epoch 1/1")
    cached = [f for _, _, files in os.walk(tmp_path) for f in files if f.endswith(".nbc")]
    assert cached, "nothing in the cache directory"
    second = run(SAY, tmp_path)
    assert "compiling" not in second, second


def test_prepare_leaves_the_reference_path_and_small_auto_runs_alone(tmp_path):
    code = """
    import sys, numpy as np, deltaprop as dp
    from deltaprop import kernels
    net = dp.MLP([8, 16, 3], output="softmax", loss="cross_entropy", seed=0)
    kernels.prepare(net, dp.optimizers.Adam(), 32, ())  # auto, small work: nothing
    print("auto", "numba" in sys.modules)
    kernels.use("numpy")
    big = dp.MLP([784, 256, 10], output="softmax", loss="cross_entropy", seed=0)
    print("numpy", kernels.prepare(big, dp.optimizers.Adam(), 128, ()), "numba" in sys.modules)
    """
    out = run(code, tmp_path).split()
    assert out == ["auto", "False", "numpy", "0.0", "False"], out
