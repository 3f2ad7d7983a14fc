"""Run under ``mpiexec -n 2``: process 1 fails in epoch 2, by an exception (``raise``) or
by hanging (``hang``); the job must end with a message, not wait forever."""

import sys
import time

import numpy as np

import deltaprop as dp
from deltaprop.distributed import Distributed

mode = sys.argv[1]
dist = Distributed(timeout=3)


def fail(epoch, logs):
    if dist.rank == 1 and epoch == 1:
        if mode == "raise":
            raise ValueError("a deliberate failure on process 1")
        time.sleep(120)


rng = np.random.default_rng(dist.rank)
X, y = rng.normal(size=(50, 3)), rng.normal(size=50)
net = dp.MLP([3, 4, 1], dtype="float64", seed=0)
net.fit(X, y, epochs=5, batch_size=10, verbose=0, distributed=dist,
        callbacks=[dp.LambdaCallback(on_epoch_end=fail)])
print("not reached: training ended", flush=True)
