"""A resumed run counts on where it stopped (issue 26, item 9): EarlyStopping's best value,
wait and best weights travel in the training state and the model file, so that a run
interrupted and resumed stops at the epoch, and with the weights, of the run that was not."""

import json

import numpy as np
import pytest

import deltaprop as dp
from deltaprop import cli


@pytest.fixture(scope="module")
def wine():
    X, y = dp.datasets.load_wine()
    return (X - X.mean(0)) / X.std(0), y


def _net(norm=None):
    return dp.MLP([13, 16, 3], output="softmax", loss="cross_entropy", seed=0, norm=norm)


def _fit(net, X, y, callbacks, **kw):
    return net.fit(X, y, epochs=200, verbose=0, seed=0, validation_split=0.3,
                   callbacks=callbacks, optimizer=dp.optimizers.get_optimizer("adam", lr=0.05),
                   **kw)


def _stop_at(epoch):
    def stop(e, logs):
        if e == epoch:
            raise KeyboardInterrupt
    return dp.LambdaCallback(on_epoch_end=stop)


@pytest.mark.parametrize("norm", [None, "batch"])
@pytest.mark.parametrize("restore_best", [True, False])
def test_early_stopping_counts_on_through_a_model_file(wine, tmp_path, norm, restore_best):
    X, y = wine
    whole = _net(norm)
    rule = dp.EarlyStopping(patience=3, restore_best=restore_best)
    history = _fit(whole, X, y, [rule])
    assert history.stopped_early and rule.best_epoch < len(history.epoch) - 1
    stop = rule.best_epoch + 1  # after the best epoch, with a count already running

    first = _net(norm)
    assert _fit(first, X, y, [dp.EarlyStopping(patience=3, restore_best=restore_best),
                              _stop_at(stop)]).interrupted
    first.save(tmp_path / "checkpoint.npz")
    resumed = dp.load(tmp_path / "checkpoint.npz")
    again = dp.EarlyStopping(patience=3, restore_best=restore_best)
    rest = resumed.fit(X, y, epochs=200, verbose=0, validation_split=0.3, callbacks=[again],
                       resume=True)
    assert rest.stopped_early
    assert resumed.train_state_["epoch"] == len(history.epoch)
    assert (again.best, again.best_epoch) == (rule.best, rule.best_epoch)
    np.testing.assert_array_equal(resumed.store.data, whole.store.data)
    for a, b in zip(resumed.layers, whole.layers):
        for name, value in a.buffers().items():
            np.testing.assert_array_equal(value, b.buffers()[name])


def test_another_rule_starts_afresh(wine):
    X, y = wine
    net = _net()
    _fit(net, X, y, [dp.EarlyStopping(patience=3), _stop_at(4)])
    other = dp.EarlyStopping(monitor="val_accuracy", patience=3)
    net.fit(X, y, epochs=6, verbose=0, validation_split=0.3, callbacks=[other], resume=True)
    assert other.best_epoch is not None and other.best_epoch >= 4


def test_an_interrupted_run_keeps_its_last_weights_not_the_best(wine):
    """They are what resume continues from; the best ones are restored when the run ends."""
    X, y = wine
    net = _net()
    rule = dp.EarlyStopping(patience=50)
    _fit(net, X, y, [_stop_at(14), rule])
    same = _net()  # the same 14 epochs, not interrupted, keeping the last weights
    same.fit(X, y, epochs=14, verbose=0, seed=0, validation_split=0.3,
             optimizer=dp.optimizers.get_optimizer("adam", lr=0.05))
    np.testing.assert_array_equal(net.store.data, same.store.data)
    assert rule.best_epoch < 13 and not np.array_equal(net.store.data, rule.best_weights["data"])


def test_the_command_resumes_early_stopping_bit_for_bit(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = ["train", "wine", "--hidden", "16", "--early-stopping", "3", "--lr", "0.05",
            "--epochs", "200", "-q"]
    assert cli.main(args + ["--out", "full"]) == 0
    val = json.loads((tmp_path / "full" / "history.json").read_text())["val_loss"]
    best = int(np.argmin(val))
    assert len(val) == best + 4  # stopped by the rule, 3 epochs after the best

    original = dp.GradientNorms.on_epoch_end

    def on_epoch_end(self, e, logs=None):
        original(self, e, logs)
        if e == best + 1:
            raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(dp.GradientNorms, "on_epoch_end", on_epoch_end)
        assert cli.main(args + ["--out", "run"]) == 130
    assert cli.main(["train", "--resume", "run", "-q"]) == 0
    full, resumed = dp.load("full/model.npz"), dp.load("run/model.npz")
    assert resumed.train_state_["epoch"] == len(val)
    np.testing.assert_array_equal(full.store.data, resumed.store.data)
