"""Run under ``mpiexec -n 2``: process 1 asks for another batch size (``batch``) or starts
from other weights (``seed``); fit must refuse at once on every process, naming it."""

import sys

import numpy as np

import deltaprop as dp
from deltaprop.distributed import Distributed

case = sys.argv[1]
dist = Distributed(timeout=20)
rng = np.random.default_rng(dist.rank)
X, y = rng.normal(size=(50, 3)), rng.normal(size=50)
seed = 1 if case == "seed" and dist.rank == 1 else 0
batch = 20 if case == "batch" and dist.rank == 1 else 10
net = dp.MLP([3, 4, 1], dtype="float64", seed=seed)
net.fit(X, y, epochs=3, batch_size=batch, verbose=0, distributed=dist)
print("not reached: training ended", flush=True)
