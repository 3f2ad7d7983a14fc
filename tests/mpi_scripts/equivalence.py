"""Run under ``mpiexec -n 2``: data-parallel training on two uneven shards, saved per
process into the directory ``argv[1]``; ``argv[2]`` is 1 to shuffle, 0 not to."""

import sys

import numpy as np

from common import LOCAL_BATCH, SEED, data, network, shard_rows, val_rows
from deltaprop.distributed import Distributed

out, shuffle = sys.argv[1], sys.argv[2] == "1"
dist = Distributed(timeout=60)
X, y, w, Xv, yv = data()
rows, vrows = shard_rows(dist.rank), val_rows(dist.rank)
kw = dict(optimizer="adam", batch_size=LOCAL_BATCH, shuffle=shuffle, seed=SEED,
          sample_weight=w[rows], validation_data=(Xv[vrows], yv[vrows]), verbose=0,
          distributed=dist)
net = network()
history = net.fit(X[rows], y[rows], epochs=3, **kw)
resumed = network()
resumed.fit(X[rows], y[rows], epochs=2, **kw)
resumed.fit(X[rows], y[rows], epochs=3, resume=True, **kw)
np.savez(f"{out}/rank{dist.rank}.npz", data=net.store.data, resumed=resumed.store.data,
         **{k: np.asarray(v) for k, v in history.history.items() if k != "time"})
