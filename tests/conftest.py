"""Shared helpers: random networks and data under a fixed seed."""

import csv
import zlib
from pathlib import Path

import numpy as np
import pytest

import deltaprop as dp

SHARED_DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"

HIDDEN = sorted(name for name, cls in dp.ACTIVATIONS.items()
                if cls.elementwise and not cls.output_only)
# (output activation, loss): every pairing that makes sense, fused and unfused.
HEADS = [
    ("identity", "half_squared_error"),
    ("identity", "squared_error"),
    ("identity", "mse"),
    ("tanh", "half_squared_error"),
    ("sigmoid", "mse"),
    ("softmax", "mse"),
    ("softmax", "cross_entropy"),
    ("sigmoid", "binary_cross_entropy"),
]


def random_targets(rng, loss, n, k):
    if loss == "cross_entropy":
        if rng.random() < 0.5:
            return rng.integers(0, k, size=n)  # integer labels
        p = rng.random((n, k))
        return p / p.sum(axis=1, keepdims=True)  # probability rows
    if loss == "binary_cross_entropy":
        return (rng.random((n, k)) < 0.5).astype(float)
    return rng.normal(size=(n, k))


def random_problem(rng, hidden, output, loss, depth, dtype="float64", l2=0.0, reduction="mean"):
    """A random MLP of the given depth (number of Dense layers) and matching data."""
    sizes = [int(s) for s in rng.integers(1, 6, size=depth + 1)]
    if output == "softmax" or loss == "cross_entropy":
        sizes[-1] = max(sizes[-1], 2)
    n = int(rng.integers(1, 8))
    net = dp.MLP(sizes, activation=hidden, output=output, loss=loss, l2=l2,
                 reduction=reduction, dtype=dtype, seed=int(rng.integers(1 << 31)))
    # Non-zero biases, so that every term of the algorithm is exercised.
    for layer in net.layers:
        layer.b = rng.normal(scale=0.5, size=layer.b.shape)
    X = rng.normal(size=(n, sizes[0]))
    T = random_targets(rng, loss, n, sizes[-1])
    return net, X, T


@pytest.fixture
def rng(request):
    # One stream per test, reproducible: seeded from the test's name.
    return np.random.default_rng(zlib.crc32(request.node.name.encode()))


# -- helpers shared by the command-line and export tests ------------------------------------


def write_csv(path, header, rows):
    """A CSV file with a header row, written by Python's csv module."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def read_csv(path):
    """``(header, rows)`` of a CSV file."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def interrupt_at(monkeypatch, epoch):
    """Make the next in-process ``cli.main`` see Ctrl-C at the end of ``epoch`` (0-based)."""
    original = dp.GradientNorms.on_epoch_end

    def on_epoch_end(self, e, logs=None):
        original(self, e, logs)
        if e == epoch:
            raise KeyboardInterrupt

    monkeypatch.setattr(dp.GradientNorms, "on_epoch_end", on_epoch_end)
