"""The progress display of ``fit(verbose=1)``: a tqdm bar over the batches only where one
shows (standard output a terminal); elsewhere (a file, a pipe, a captured run) the epoch
lines alone, without importing tqdm or building a hidden bar each epoch."""

import io
import sys
import types

import numpy as np

import deltaprop as dp


class FakeTqdm:
    made = 0

    def __init__(self, **kw):
        FakeTqdm.made += 1

    def update(self, n):
        pass

    def set_postfix_str(self, text, refresh=True):
        pass

    def close(self):
        pass


class Terminal(io.StringIO):
    def isatty(self):
        return True


def fit_with(monkeypatch, stdout):
    FakeTqdm.made = 0
    monkeypatch.setitem(sys.modules, "tqdm.auto", types.SimpleNamespace(tqdm=FakeTqdm))
    monkeypatch.setattr(sys, "stdout", stdout)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.integers(0, 2, 40)
    net = dp.MLP([3, 4, 2], output="softmax", loss="cross_entropy", seed=0)
    net.fit(X, y, epochs=3, batch_size=10, verbose=1)
    return stdout.getvalue()


def test_a_bar_an_epoch_on_a_terminal(monkeypatch):
    out = fit_with(monkeypatch, Terminal())
    assert FakeTqdm.made == 3
    assert out.count("Epoch ") == 3


def test_no_bar_where_none_would_show(monkeypatch):
    out = fit_with(monkeypatch, io.StringIO())
    assert FakeTqdm.made == 0
    assert out.count("Epoch ") == 3 and "loss: " in out
