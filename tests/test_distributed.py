"""deltaprop.distributed without an MPI job: the launcher detection and the lazy imports
(the runs under mpiexec are in test_distributed_mpi.py)."""

import subprocess
import sys

import numpy as np
import pytest

import deltaprop as dp
from deltaprop import distributed


@pytest.mark.parametrize("variable", ["PMI_SIZE", "OMPI_COMM_WORLD_SIZE"])
def test_world_size_comes_from_the_launchers_environment(monkeypatch, variable):
    for name in distributed._SIZE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert distributed.world_size() == 1
    assert distributed.from_environment() is None  # one process: no MPI at all
    monkeypatch.setenv(variable, "4")
    assert distributed.world_size() == 4


def test_importing_deltaprop_imports_neither_mpi_nor_dask():
    code = ("import sys, deltaprop, deltaprop.distributed; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'mpi4py', 'dask', 'distributed', 'dask_ml'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_full_batch_lbfgs_refuses_distributed_with_a_clear_error():
    pytest.importorskip("scipy")
    net = dp.MLP([2, 3, 1], dtype="float64", seed=0)
    with pytest.raises(ValueError, match="needs a mini-batch optimizer"):
        net.fit(np.zeros((4, 2)), np.zeros(4), optimizer="lbfgs", epochs=1, verbose=0,
                distributed=_NoCollectives())


class _NoCollectives:
    """Stands in for a Distributed of one process up to the first collective."""

    rank, size, is_root = 0, 1, True

    def agree_classes(self, net, y):
        pass

    def guard(self, fn, *args, **kwargs):
        return fn(*args, **kwargs)
