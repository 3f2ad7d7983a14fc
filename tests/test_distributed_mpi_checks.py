"""MPI runs agree before they start and stop together (issue 26, item 5): processes
given different settings fail at once on every process, naming what differs (no hang, no
late "reduction did not give every process the same sums"); a run says it is shared;
Ctrl-C stops every process at the same step, leaving no MPI request pending."""

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import deltaprop as dp

pytest.importorskip("mpi4py")

SRC = str(Path(dp.__file__).parents[1])
SCRIPTS = Path(__file__).parent / "mpi_scripts"


def _mpiexec():
    here = Path(sys.executable).parent / "mpiexec"
    found = str(here) if here.exists() else shutil.which("mpiexec")
    if found is None:
        pytest.skip("no mpiexec (pip install 'deltaprop[mpi]')")
    return found


ENV = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", PYTHONPATH=SRC,
           DELTAPROP_MPI_TIMEOUT="30")


def _two(first, second, cwd, timeout=90):
    """``mpiexec`` with process 0 running ``deltaprop *first`` and process 1 ``*second``."""
    command = [_mpiexec(), "-n", "1", sys.executable, "-m", "deltaprop", *first, ":",
               "-n", "1", sys.executable, "-m", "deltaprop", *second]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=ENV,
                          cwd=str(cwd))


BASE = ["train", "xor", "--hidden", "8", "--epochs", "3", "--batch-size", "16", "--seed", "0",
        "-q", "--out", "run"]


def _with(option, value):
    args = list(BASE)
    if option in args:
        args[args.index(option) + 1] = value
    else:
        args[-2:-2] = [option, value]
    return args


@pytest.mark.parametrize("option, value, named", [
    ("--hidden", "16", "hidden: [[8]] on process 0, [[16]] on process 1"),
    ("--seed", "1", "seed: 0 on process 0, 1 on process 1"),
    ("--lr", "0.01", "lr: None on process 0, 0.01 on process 1"),
    ("--epochs", "4", "epochs: 3 on process 0, 4 on process 1"),
    ("--batch-size", "32", "batch_size: 16 on process 0, 32 on process 1"),
])
def test_different_settings_fail_at_once_on_every_process(tmp_path, option, value, named):
    result = _two(BASE, _with(option, value), tmp_path)
    assert result.returncode == 2, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert errors and all(named in line for line in errors), result.stderr[-3000:]
    assert "not given the same settings" in errors[0]
    assert "reduction did not give" not in result.stderr
    assert "no answer" not in result.stderr
    assert not (tmp_path / "run").exists()  # refused before anything was written


def test_different_data_is_named(tmp_path):
    result = _two(BASE, ["train", "moons", *BASE[2:]], tmp_path)
    assert result.returncode == 2
    assert "data: 'xor' on process 0, 'moons' on process 1" in result.stderr
    assert "X: an array of shape" in result.stderr


def test_a_run_under_mpiexec_says_so(tmp_path):
    command = [_mpiexec(), "-n", "2", sys.executable, "-m", "deltaprop", "train", "xor",
               "--hidden", "8", "--epochs", "2", "--batch-size", "32", "--out", "run"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=90, env=ENV,
                            cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0] == "data-parallel training over MPI: 2 processes, global batch 64 (2 × 32)"
    assert result.stdout.count("data-parallel") == 1  # process 0 alone says it


@pytest.mark.parametrize("case, named", [
    ("batch", "batch_size: 10 on process 0, 20 on process 1"),
    ("seed", "weights (CRC-32):"),
])
def test_fit_refuses_different_settings_at_once(case, named):
    result = subprocess.run([_mpiexec(), "-n", "2", sys.executable, str(SCRIPTS / "settings.py"),
                             case], capture_output=True, text=True, timeout=90, env=ENV)
    assert result.returncode != 0
    assert "not given the same training settings" in result.stderr, result.stderr[-3000:]
    assert named in result.stderr
    assert "no answer" not in result.stderr and "not reached" not in result.stdout


def test_ctrl_c_stops_every_process_together_and_leaves_nothing_pending(tmp_path):
    command = [_mpiexec(), "-n", "2", sys.executable, "-u", "-m", "deltaprop", "train",
               "digits", "--epochs", "500", "--out", "run"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=ENV, cwd=str(tmp_path))
    for line in proc.stdout:
        if line.startswith("Epoch 3/"):
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-3000:]
    assert "pending" not in err and "Traceback" not in err, err[-3000:]
    assert "continue it with: deltaprop train --resume run" in err
    resumed = subprocess.run([_mpiexec(), "-n", "2", sys.executable, "-m", "deltaprop",
                              "train", "--resume", "run", "--epochs", "6", "-q"],
                             capture_output=True, text=True, timeout=120, env=ENV,
                             cwd=str(tmp_path))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert dp.load(tmp_path / "run" / "model.npz").train_state_["epoch"] == 6
