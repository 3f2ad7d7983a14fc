"""The data and the network shared by the scripts run under mpiexec and by the tests."""

import numpy as np

SHARDS = (202, 197)  # uneven; 4 local batches of 64 each, the last ones short (10 + 5)
LOCAL_BATCH = 64
SEED = 7


def data():
    rng = np.random.default_rng(3)
    n = sum(SHARDS)
    X = rng.normal(size=(n, 5))
    y = (X[:, 0] + X[:, 1] ** 2 - X[:, 2] > 0.5).astype(int) + (X[:, 3] > 1.0)
    w = rng.uniform(0.2, 2.0, size=n)
    Xv = rng.normal(size=(61, 5))
    yv = (Xv[:, 0] + Xv[:, 1] ** 2 - Xv[:, 2] > 0.5).astype(int) + (Xv[:, 3] > 1.0)
    return X, y, w, Xv, yv


def shard_rows(rank):
    start = sum(SHARDS[:rank])
    return np.arange(start, start + SHARDS[rank])


def val_rows(rank, n_val=61, size=2):
    return np.array_split(np.arange(n_val), size)[rank]


def network():
    import deltaprop as dp

    return dp.MLP([5, 16, 3], activation="tanh", output="softmax", loss="cross_entropy",
                  l2=1e-3, dtype="float64", seed=1)


def regression_targets(X, rng_seed=5):
    rng = np.random.default_rng(rng_seed)
    return np.column_stack([X[:, 0] - 2 * X[:, 1], np.sin(X[:, 2])]) + 0.1 * rng.normal(
        size=(X.shape[0], 2))


def regression_network():
    """Summed squared error (Hagan et al.'s performance index): no 1/N, R² logged."""
    import deltaprop as dp

    return dp.MLP([5, 12, 2], activation="relu", loss="mse", reduction="sum", l2=1e-2,
                  dtype="float64", seed=2)


def batchnorm_network():
    import deltaprop as dp

    return dp.MLP([5, 12, 12, 3], output="softmax", loss="cross_entropy", norm="batch",
                  dropout=0.1, dtype="float64", seed=4)
