"""Data-parallel training over MPI: two processes under ``mpiexec -n 2`` (the scripts in
tests/mpi_scripts/) against one process on the same samples in the same order."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import deltaprop as dp

pytest.importorskip("mpi4py")

SCRIPTS = Path(__file__).parent / "mpi_scripts"
sys.path.insert(0, str(SCRIPTS))
from common import (LOCAL_BATCH, SEED, SHARDS, data, network, regression_network,  # noqa: E402
                    regression_targets, shard_rows)


def _mpiexec():
    """The mpiexec next to this Python (the mpich wheel's), else the one on PATH."""
    here = Path(sys.executable).parent / "mpiexec"
    found = str(here) if here.exists() else shutil.which("mpiexec")
    if found is None:
        pytest.skip("no mpiexec (pip install 'deltaprop[mpi]')")
    return found


def _run(script, *args, timeout=120):
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(Path(dp.__file__).parents[1]), str(SCRIPTS)]))
    return subprocess.run([_mpiexec(), "-n", "2", sys.executable, str(SCRIPTS / script),
                           *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=str(SCRIPTS))


def _reference(shuffle, regression=False):
    """One process, batches of 128 made of the same samples as the two processes' local
    batches of 64, epoch by epoch (a resumed fit per epoch, with that epoch's order)."""
    X, y, w, Xv, yv = data()
    net = network()
    kw = {"optimizer": "adam"}
    if regression:
        y, yv, net, w = regression_targets(X), regression_targets(Xv, 6), regression_network(), None
        kw = {"optimizer": dp.optimizers.get_optimizer("sgd", lr=1e-3)}
    steps = -(-max(SHARDS) // LOCAL_BATCH)
    history = None
    for epoch in range(3):
        local = []
        for rank, n in enumerate(SHARDS):
            order = (np.random.default_rng([SEED, epoch, rank]).permutation(n) if shuffle
                     else np.arange(n))
            local.append(shard_rows(rank)[order])
        order = np.concatenate([part[b * LOCAL_BATCH:(b + 1) * LOCAL_BATCH]
                                for b in range(steps) for part in local])
        h = net.fit(X[order], y[order], sample_weight=None if w is None else w[order],
                    epochs=epoch + 1, **kw,
                    batch_size=2 * LOCAL_BATCH, shuffle=False, seed=SEED, resume=epoch > 0,
                    validation_data=(Xv, yv), verbose=0)
        history = h.history if history is None else {k: history[k] + v for k, v in h.history.items()}
    return net, history


def _relative(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


@pytest.mark.parametrize("shuffle", [False, True], ids=["in-order", "shuffled"])
def test_two_processes_equal_one_process_with_the_global_batch(tmp_path, shuffle):
    result = _run("equivalence.py", tmp_path, int(shuffle))
    assert result.returncode == 0, result.stderr[-3000:]
    r0, r1 = np.load(tmp_path / "rank0.npz"), np.load(tmp_path / "rank1.npz")
    # Every process holds the same weights, bit for bit, and the same history.
    assert r0["data"].tobytes() == r1["data"].tobytes()
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert r0[key].tobytes() == r1[key].tobytes(), key
    # Resuming from epoch 2 continues bit for bit.
    assert r0["resumed"].tobytes() == r0["data"].tobytes()
    net, history = _reference(shuffle)
    assert not np.array_equal(net.store.data, network().store.data)  # it did train
    assert _relative(r0["data"], net.store.data) < 1e-12
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(r0[key], history[key], rtol=1e-12)
    for key in ("accuracy", "val_accuracy"):
        np.testing.assert_allclose(r0[key], history[key], rtol=0, atol=1e-15)
    # Regression with the summed loss: the L2 term once, R² over every process's targets.
    assert r0["reg"].tobytes() == r1["reg"].tobytes()
    reg, reg_history = _reference(shuffle, regression=True)
    assert _relative(r0["reg"], reg.store.data) < 1e-12
    for key in ("loss", "r2", "val_loss", "val_r2"):
        np.testing.assert_allclose(r0["reg_" + key], reg_history[key], rtol=1e-12, err_msg=key)
    # Batch normalisation and dropout, early stopping: the processes agree, running
    # statistics and predictions included.
    for key in ("bn", "bn_state", "bn_val_loss", "bn_predict"):
        assert r0[key].tobytes() == r1[key].tobytes(), key
    assert int(r0["bn_epochs"]) == int(r1["bn_epochs"]) == 2  # stopped early, together


@pytest.mark.parametrize("mode, message", [
    ("raise", "process 1 of 2: training failed: ValueError: a deliberate failure on process 1"),
    ("hang", "process 0 of 2: no answer from the other processes within 3 s in the agreement "
             "on stopping (epoch 2, batch 5)"),
])
def test_a_failing_process_ends_the_job_with_a_message(mode, message):
    result = _run("failure.py", mode, timeout=90)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr[-3000:]
    assert "not reached" not in result.stdout


def _run_cli(*args, cwd, timeout=120):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(Path(dp.__file__).parents[1]))
    return subprocess.run([_mpiexec(), "-n", "2", sys.executable, "-m", "deltaprop", *args],
                          capture_output=True, text=True, timeout=timeout, env=env, cwd=str(cwd))


def test_the_command_trains_on_two_processes_and_process_0_writes(tmp_path):
    import json

    result = _run_cli("train", "xor", "--hidden", "8", "--epochs", "4", "--batch-size", "16",
                      "--early-stopping", "3", "--json", "--out", "run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1  # process 0 alone reports
    report = json.loads(lines[0])
    net = dp.load(tmp_path / "run" / "model.npz")
    assert report["epochs"] == len(json.loads((tmp_path / "run" / "history.json").read_text())
                                   ["loss"])
    assert net.train_state_["epoch"] == report["epochs"]


def test_the_command_ends_every_process_on_an_error(tmp_path):
    result = _run_cli("train", "missing.csv", "--target", "y", cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert "deltaprop train: error: missing.csv" in result.stderr
