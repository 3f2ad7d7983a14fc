"""Run under ``mpiexec -n 2``: data-parallel training on two uneven shards, saved per
process into the directory ``argv[1]``; ``argv[2]`` is 1 to shuffle, 0 not to."""

import sys

import numpy as np

import deltaprop as dp
from common import (LOCAL_BATCH, SEED, batchnorm_network, data, network, regression_network,
                    regression_targets, shard_rows, val_rows)
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
# Regression, summed loss, R²; the optimizer and learning rate of plain SGD.
T, Tv = regression_targets(X), regression_targets(Xv, 6)
reg = regression_network()
reg_history = reg.fit(X[rows], T[rows], optimizer=dp.optimizers.get_optimizer("sgd", lr=1e-3),
                      epochs=3, batch_size=LOCAL_BATCH, shuffle=shuffle, seed=SEED,
                      validation_data=(Xv[vrows], Tv[vrows]), verbose=0, distributed=dist)
# Batch normalisation (per-process batch statistics) and dropout, with early stopping on a
# validation split of each shard: the processes must still agree bit for bit.
bn = batchnorm_network()
bn_history = bn.fit(X[rows], y[rows], epochs=6, batch_size=32, seed=SEED, validation_split=0.2,
                    verbose=0, distributed=dist,
                    callbacks=[dp.EarlyStopping(patience=1, min_delta=10.0)])
bn_state = np.concatenate([np.ravel(v) for layer in bn.layers for v in layer.buffers().values()])
np.savez(f"{out}/rank{dist.rank}.npz", data=net.store.data, resumed=resumed.store.data,
         reg=reg.store.data, bn=bn.store.data, bn_state=bn_state,
         bn_epochs=len(bn_history.epoch), bn_val_loss=bn_history["val_loss"],
         bn_predict=bn.predict_proba(Xv),
         **{k: np.asarray(v) for k, v in history.history.items() if k != "time"},
         **{"reg_" + k: np.asarray(v) for k, v in reg_history.history.items() if k != "time"})
