"""The training loop: equivalence with hand-written loops, callbacks, guard, resume."""

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.training import EarlyStopping, LambdaCallback, ModelCheckpoint, TrainingDiverged


def blobs(rng, n=120, k=3, d=2):
    centers = rng.normal(scale=4.0, size=(k, d))
    y = np.arange(n) % k
    return centers[y] + rng.normal(size=(n, d)), y


class StopAfter(dp.Callback):
    """Stops training after ``n`` epochs, as a checkpoint-then-crash would."""

    def __init__(self, n):
        self.n = n

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.n:
            self.trainer.stop_training = True


def weights(net):
    return [(layer.W.copy(), layer.b.copy()) for layer in net.layers]


def assert_same_weights(a, b):
    for (Wa, ba), (Wb, bb) in zip(a, b):
        np.testing.assert_array_equal(Wa, Wb)
        np.testing.assert_array_equal(ba, bb)


def test_full_batch_gd_equals_the_hand_written_loop(rng):
    X, y = blobs(rng)
    net = dp.MLP([2, 8, 3], activation="tanh", output="softmax", loss="cross_entropy",
                 dtype="float64", seed=0)
    ref = net.copy()
    net.fit(X, y, optimizer=dp.optimizers.SGD(lr=0.1), epochs=5, batch_size=None, verbose=0)
    for _ in range(5):  # θ ← θ − η ∇J, on the whole training set
        _, grads = ref.gradients(X, y)
        for layer, (gW, gb) in zip(ref.layers, grads):
            layer.W = layer.W - 0.1 * gW
            layer.b = layer.b - 0.1 * gb
    assert_same_weights(weights(net), weights(ref))


def test_pure_sgd_in_order_equals_per_sample_updates(rng):
    X, y = rng.normal(size=(7, 3)), rng.normal(size=(7, 2))
    net = dp.MLP([3, 4, 2], activation="sigmoid", loss="half_squared_error", dtype="float64",
                 seed=1)
    ref = net.copy()
    net.fit(X, y, optimizer=dp.optimizers.SGD(lr=0.05), epochs=2, batch_size=1, shuffle=False,
            verbose=0)
    for _ in range(2):
        for i in range(7):
            _, grads = ref.gradients(X[i:i + 1], y[i:i + 1])
            for layer, (gW, gb) in zip(ref.layers, grads):
                layer.W = layer.W - 0.05 * gW
                layer.b = layer.b - 0.05 * gb
    assert_same_weights(weights(net), weights(ref))


def test_learns_a_classification_problem(rng):
    X, y = blobs(rng, n=300)
    net = dp.MLP([2, 16, 3], output="softmax", loss="cross_entropy", seed=0)
    hist = net.fit(X, y, epochs=30, batch_size=16, verbose=0, seed=0,
                   optimizer=dp.optimizers.Adam(lr=0.01))
    assert hist["loss"][-1] < hist["loss"][0] / 3
    assert hist["accuracy"][-1] > 0.9
    assert net.score(X, y) > 0.9
    assert set(hist.history) == {"loss", "accuracy", "lr", "time"}
    assert len(hist.epoch) == 30


def test_string_labels_are_mapped_and_returned(rng):
    X, y = blobs(rng, n=90)
    names = np.array(["cat", "dog", "eel"])[y]
    net = dp.MLP([2, 8, 3], output="softmax", loss="cross_entropy", seed=0)
    net.fit(X, names, epochs=20, verbose=0, seed=0, optimizer=dp.optimizers.Adam(lr=0.02))
    assert list(net.classes_) == ["cat", "dog", "eel"]
    pred = net.predict(X)
    assert pred.dtype.kind == "U" and np.mean(pred == names) > 0.8
    proba = net.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match=r"label y\[0\] = fox is not one of the classes"):
        net.evaluate(X[:2], ["fox", "cat"])
    with pytest.raises(ValueError, match="y has 4 distinct labels"):
        net.fit(X[:4], ["a", "b", "c", "d"], epochs=1, verbose=0)


def test_one_hot_targets(rng):
    X, y = blobs(rng)
    net = dp.MLP([2, 8, 3], output="softmax", loss="cross_entropy", seed=0)
    net.fit(X, np.eye(3)[y], epochs=3, verbose=0, seed=0)
    assert list(net.classes_) == [0, 1, 2]
    assert net.evaluate(X, np.eye(3)[y])["accuracy"] == net.score(X, y)


def test_binary_classifier_with_one_sigmoid_output(rng):
    y = np.arange(120) % 2
    X = np.where(y[:, None] == 1, 2.0, -2.0) + rng.normal(size=(120, 2))  # well separated
    labels = np.where(y == 1, "yes", "no")
    net = dp.MLP([2, 8, 1], output="sigmoid", loss="binary_cross_entropy", seed=0)
    net.fit(X, labels, epochs=20, verbose=0, seed=0, optimizer=dp.optimizers.Adam(lr=0.02))
    assert list(net.classes_) == ["no", "yes"]
    assert net.predict_proba(X).shape == (len(X), 2)
    assert np.mean(net.predict(X) == labels) > 0.9


def test_regression(rng):
    X = rng.uniform(-2, 2, size=(200, 1))
    y = np.sin(X[:, 0])
    net = dp.MLP([1, 32, 1], activation="tanh", loss="mse", seed=0)
    hist = net.fit(X, y, epochs=60, batch_size=20, verbose=0, seed=0,
                   optimizer=dp.optimizers.Adam(lr=0.01), validation_split=0.2)
    assert {"loss", "r2", "val_loss", "val_r2"} <= set(hist.history)
    assert net.predict(X).shape == (200,)
    res = net.evaluate(X, y)
    assert res["r2"] > 0.95 and res["mse"] < 0.03
    assert net.score(X, y) == res["r2"]
    with pytest.raises(TypeError, match="predict_proba needs a classifier"):
        net.predict_proba(X)


def test_callbacks_are_called(rng):
    X, y = blobs(rng, n=50)
    calls = {"batch": 0, "epoch": []}
    cb = LambdaCallback(on_batch_end=lambda b, logs: calls.__setitem__("batch", calls["batch"] + 1),
                        on_epoch_end=lambda e, logs: calls["epoch"].append((e, logs["loss"])))
    net = dp.MLP([2, 4, 3], output="softmax", loss="cross_entropy", seed=0)
    hist = net.fit(X, y, epochs=3, batch_size=16, verbose=0, callbacks=[cb])
    assert calls["batch"] == 3 * 4  # ceil(50/16) = 4 batches per epoch
    assert [e for e, _ in calls["epoch"]] == [0, 1, 2]
    assert [v for _, v in calls["epoch"]] == hist["loss"]


def test_early_stopping_restores_the_best_weights(rng):
    X, y = blobs(rng, n=60)
    Xv, yv = blobs(rng, n=30)
    per_epoch = []
    net = dp.MLP([2, 32, 3], output="softmax", loss="cross_entropy", seed=0)
    record = LambdaCallback(on_epoch_end=lambda e, logs: per_epoch.append(
        (logs["val_loss"], weights(net))))
    stop = EarlyStopping(monitor="val_loss", patience=3, restore_best=True)
    # A large learning rate makes the validation loss bounce, so it stops early.
    hist = net.fit(X, y, epochs=200, batch_size=8, verbose=0, seed=0, callbacks=[record, stop],
                   validation_data=(Xv, yv), optimizer=dp.optimizers.SGD(lr=0.5))
    assert hist.stopped_early and len(hist.epoch) < 200
    best = int(np.argmin([v for v, _ in per_epoch]))
    assert stop.best_epoch == best
    assert len(hist.epoch) == best + 1 + 3
    assert_same_weights(weights(net), per_epoch[best][1])


def test_early_stopping_unknown_monitor(rng):
    X, y = blobs(rng, n=20)
    net = dp.MLP([2, 3], output="softmax", loss="cross_entropy")
    with pytest.raises(ValueError, match=r"monitors 'val_loss', which is not among"):
        net.fit(X, y, epochs=2, verbose=0, callbacks=[EarlyStopping()])


def test_divergence_guard(rng):
    X = rng.normal(size=(64, 3)) * 100
    y = rng.normal(size=(64, 1)) * 1e3
    net = dp.MLP([3, 64, 64, 1], activation="relu", loss="mse", seed=0)
    starts = []
    guard = LambdaCallback(on_epoch_end=lambda e, logs: starts.append(weights(net)))
    with pytest.raises(TrainingDiverged, match=r"loss became (nan|inf) at epoch (\d+), batch (\d+)") as err:
        net.fit(X, y, epochs=50, batch_size=8, verbose=0, seed=0, callbacks=[guard],
                optimizer=dp.optimizers.SGD(lr=10.0))
    epoch = int(str(err.value).split("at epoch ")[1].split(",")[0])
    for layer in net.layers:
        assert np.isfinite(layer.W).all() and np.isfinite(layer.b).all()
    expected = starts[epoch - 2] if epoch > 1 else None
    if expected is not None:  # back to the state at the start of the failing epoch
        assert_same_weights(weights(net), expected)
    assert len(err.value.history.epoch) == epoch - 1


def test_same_seed_same_weights_bitwise(rng):
    X, y = blobs(rng)
    runs = []
    for fit_seed in (5, 5, 6):
        net = dp.MLP([2, 16, 3], output="softmax", loss="cross_entropy", seed=1)
        net.fit(X, y, epochs=4, batch_size=10, verbose=0, seed=fit_seed)
        runs.append(weights(net))
    assert_same_weights(runs[0], runs[1])
    assert not np.array_equal(runs[0][0][0], runs[2][0][0])


@pytest.mark.parametrize("optimizer,schedule", [
    ("adam", None),
    ("momentum", dp.schedules.StepDecay(0.05, step_size=2, gamma=0.5)),
    ("rmsprop", dp.schedules.ReduceOnPlateau(0.01, patience=1, factor=0.5)),
])
def test_resume_after_save_equals_uninterrupted(optimizer, schedule, rng, tmp_path):
    import copy

    X, y = blobs(rng, n=100)
    kw = dict(batch_size=16, verbose=0, seed=3, validation_split=0.2)
    full = dp.MLP([2, 8, 3], output="softmax", loss="cross_entropy", seed=0)
    full.fit(X, y, optimizer=optimizer, epochs=6, schedule=copy.deepcopy(schedule), **kw)

    part = dp.MLP([2, 8, 3], output="softmax", loss="cross_entropy", seed=0)
    part.fit(X, y, optimizer=optimizer, epochs=6, schedule=copy.deepcopy(schedule),
             callbacks=[StopAfter(3)], **kw)
    assert part.train_state_["epoch"] == 3
    path = tmp_path / "ckpt.npz"
    part.save(path)
    resumed = dp.load(path)
    resumed.fit(X, y, epochs=6, resume=True, **kw)
    assert_same_weights(weights(resumed), weights(full))


def test_ctrl_c_rolls_back_to_the_last_epoch_and_resumes(rng):
    X, y = blobs(rng, n=80)
    kw = dict(batch_size=16, verbose=0, seed=3)
    full = dp.MLP([2, 8, 3], output="softmax", loss="cross_entropy", seed=0)
    full.fit(X, y, epochs=5, **kw)

    net = dp.MLP([2, 8, 3], output="softmax", loss="cross_entropy", seed=0)

    def interrupt(batch, logs):
        if logs["epoch"] == 2 and batch == 2:
            raise KeyboardInterrupt

    hist = net.fit(X, y, epochs=5, callbacks=[LambdaCallback(on_batch_end=interrupt)], **kw)
    assert hist.interrupted and len(hist.epoch) == 2
    assert net.train_state_["epoch"] == 2
    net.fit(X, y, epochs=5, resume=True, **kw)
    assert_same_weights(weights(net), weights(full))


@pytest.mark.parametrize("where", ["batch", "epoch_end"])
def test_ctrl_c_anywhere_resumes_bitwise_with_a_plateau_schedule(where, rng):
    # Ctrl-C during on_epoch_end (a checkpoint being saved) used to keep the schedule's
    # update of the rolled-back epoch: the learning-rate sequence then shifted.
    X, y = blobs(rng, n=80)
    kw = dict(batch_size=16, verbose=0, seed=3, optimizer="sgd", validation_split=0.25)

    def plateau():
        return dp.schedules.ReduceOnPlateau(0.5, patience=0, factor=0.5)

    full = dp.MLP([2, 8, 3], output="softmax", loss="cross_entropy", seed=0)
    full_hist = full.fit(X, y, epochs=6, schedule=plateau(), **kw)

    def interrupt_batch(batch, logs):
        if logs["epoch"] == 3 and batch == 1:
            raise KeyboardInterrupt

    def interrupt_epoch_end(epoch, logs):
        if epoch == 3:
            raise KeyboardInterrupt

    cb = (LambdaCallback(on_batch_end=interrupt_batch) if where == "batch"
          else LambdaCallback(on_epoch_end=interrupt_epoch_end))
    net = dp.MLP([2, 8, 3], output="softmax", loss="cross_entropy", seed=0)
    hist = net.fit(X, y, epochs=6, schedule=plateau(), callbacks=[cb], **kw)
    assert hist.interrupted and hist.epoch == [0, 1, 2]
    resumed = net.fit(X, y, epochs=6, resume=True, **kw)
    assert hist["lr"] + resumed["lr"] == full_hist["lr"]
    assert_same_weights(weights(net), weights(full))


def test_schedule_sets_the_learning_rate(rng):
    X, y = blobs(rng, n=40)
    net = dp.MLP([2, 4, 3], output="softmax", loss="cross_entropy", seed=0)
    hist = net.fit(X, y, epochs=4, verbose=0, optimizer="sgd",
                   schedule=dp.schedules.StepDecay(0.1, step_size=2, gamma=0.5))
    assert hist["lr"] == pytest.approx([0.1, 0.1, 0.05, 0.05])


def test_model_checkpoint(rng, tmp_path):
    X, y = blobs(rng, n=40)
    net = dp.MLP([2, 4, 3], output="softmax", loss="cross_entropy", seed=0)
    net.fit(X, y, epochs=3, verbose=0,
            callbacks=[ModelCheckpoint(tmp_path / "m-{epoch}.npz", monitor="loss")])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m-1.npz", "m-2.npz", "m-3.npz"]
    np.testing.assert_array_equal(dp.load(tmp_path / "m-3.npz").predict(X), net.predict(X))


def test_progress_output(rng, capsys):
    X, y = blobs(rng, n=40)
    net = dp.MLP([2, 4, 3], output="softmax", loss="cross_entropy", seed=0)
    net.fit(X, y, epochs=2, verbose=0)
    assert capsys.readouterr().out == ""
    net.fit(X, y, epochs=2, verbose=2)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 2 and out[1].startswith("Epoch 2/2 - ") and "loss: " in out[1]
    assert "accuracy: " in out[1]


def test_fit_does_not_modify_inputs(rng, tmp_path):
    X, y = blobs(rng, n=40)
    path = tmp_path / "X.npy"
    np.save(path, X.astype(np.float32))
    Xm = np.load(path, mmap_mode="r")
    y0 = y.copy()
    y.flags.writeable = False
    net = dp.MLP([2, 4, 3], output="softmax", loss="cross_entropy", seed=0)
    net.fit(Xm, y, epochs=2, verbose=0, validation_split=0.25)
    np.testing.assert_array_equal(np.load(path), X.astype(np.float32))
    np.testing.assert_array_equal(y, y0)


@pytest.mark.parametrize("kwargs,match", [
    (dict(epochs=0), "fit: epochs must be an integer >= 1; got 0"),
    (dict(batch_size=0), "fit: batch_size must be an integer >= 1 or None; got 0"),
    (dict(validation_split=1.5), r"validation_split must be a finite number in \[0, 1\)"),
    (dict(validation_split="0.1"), r"validation_split must be .*; got '0.1'"),
    (dict(seed="x"), r"fit: seed must be None or an integer >= 0; got 'x'"),
    (dict(seed=-1), r"fit: seed must be None or an integer >= 0; got -1"),
    (dict(callbacks=[1]), r"callbacks must be a sequence whose items are each an instance of "
                          r"deltaprop.callbacks.Callback; got \[1\]"),
    (dict(verbose=5), "verbose must be 0, 1, 2, True or False; got 5"),
    (dict(shuffle="yes"), "shuffle must be True or False"),
    (dict(validation_data=(np.zeros((2, 3)), np.zeros(2), np.ones(2))),
     r"validation_data must be None or a pair \(X_val, y_val\); got a tuple of 3 items"),
    (dict(optimizer="adamm"), "unknown optimizer"),
    (dict(resume=True), "resume=True, but this network has no saved training state"),
])
def test_bad_fit_arguments(kwargs, match, rng):
    X, y = blobs(rng, n=20)
    net = dp.MLP([2, 3], output="softmax", loss="cross_entropy")
    with pytest.raises(ValueError, match=match):
        net.fit(X, y, **{"epochs": 1, "verbose": 0, **kwargs})


def test_sample_weight_equals_repeating_samples(rng):
    """Integer weights are the same as repeating the samples (full batch, mean reduction)."""
    X, y = blobs(rng, n=30)
    w = rng.integers(0, 4, size=30)
    w[0] = 1
    net = dp.MLP([2, 5, 3], activation="tanh", output="softmax", loss="cross_entropy",
                 dtype="float64", seed=0, l2=0.1)
    J_w, g_w = net.gradients(X, y, sample_weight=w)
    J_r, g_r = net.gradients(np.repeat(X, w, axis=0), np.repeat(y, w))
    assert J_w == pytest.approx(J_r, rel=1e-12)
    for (a, b), (c, d) in zip(g_w, g_r):
        np.testing.assert_allclose(a, c, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(b, d, rtol=1e-10, atol=1e-14)
    assert net.loss(X, y, sample_weight=w) == pytest.approx(J_r, rel=1e-12)
    fitted = net.copy()
    fitted.fit(X, y, sample_weight=w, epochs=2, batch_size=None, verbose=0,
               optimizer=dp.optimizers.SGD(lr=0.1))
    repeated = net.copy()
    repeated.fit(np.repeat(X, w, axis=0), np.repeat(y, w), epochs=2, batch_size=None,
                 verbose=0, optimizer=dp.optimizers.SGD(lr=0.1))
    for (a, _), (b, _) in zip(weights(fitted), weights(repeated)):
        np.testing.assert_allclose(a, b, rtol=1e-10)


def test_bad_sample_weight(rng):
    X, y = blobs(rng, n=10)
    net = dp.MLP([2, 3], output="softmax", loss="cross_entropy")
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(10,\)"):
        net.gradients(X, y, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match=r"non-negative: sample_weight\[2\] = -1"):
        net.fit(X, y, sample_weight=[1, 1, -1] + [1] * 7, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="sums to zero"):
        net.fit(X, y, sample_weight=np.zeros(10), epochs=1, verbose=0)


def test_mini_batch_with_all_zero_weights_is_skipped_not_nan(rng):
    """A batch whose weights are all zero carries no data: no NaN from 0/0, and training
    matches training on the other batches alone (the zero batch leaves only the l2 step)."""
    X, y = blobs(rng, n=20)
    w = np.ones(20)
    w[10:] = 0.0                                   # the second batch of 10 weighs nothing
    net = dp.MLP([2, 4, 3], output="softmax", loss="cross_entropy", dtype="float64", seed=0)
    fitted = net.copy()
    fitted.fit(X, y, sample_weight=w, epochs=1, batch_size=10, shuffle=False, verbose=0,
               optimizer=dp.optimizers.SGD(lr=0.1))
    first_half = net.copy()
    first_half.fit(X[:10], y[:10], epochs=1, batch_size=10, shuffle=False, verbose=0,
                   optimizer=dp.optimizers.SGD(lr=0.1))
    for (a, _), (b, _) in zip(weights(fitted), weights(first_half)):
        np.testing.assert_array_equal(a, b)


def test_divergence_without_rollback_keeps_the_weights_before_the_failing_update(rng):
    X = rng.normal(size=(64, 3)) * 100
    y = rng.normal(size=(64, 1)) * 1e3
    net = dp.MLP([3, 64, 64, 1], activation="relu", loss="mse", seed=0)
    last = []
    keep = LambdaCallback(on_batch_end=lambda b, logs: last.append(weights(net)))
    with pytest.raises(TrainingDiverged, match="With rollback=False the weights were left"):
        net.fit(X, y, epochs=50, batch_size=8, verbose=0, seed=0, callbacks=[keep],
                optimizer=dp.optimizers.SGD(lr=10.0), rollback=False)
    assert_same_weights(weights(net), last[-1])


def test_rollback_false_keeps_no_copy_of_the_epoch_start():
    """The guard's copy (weights + Adam's two moments) is the difference in peak memory,
    and without it training allocates Adam's state, one block-sized work buffer and
    batch-sized buffers, nothing of the size of the data or a third copy of the weights."""
    import tracemalloc

    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 128)).astype(np.float32)
    y = rng.integers(0, 10, size=1000)
    peaks = {}
    for rollback in (True, False):
        net = dp.MLP([128, 512, 512, 10], output="softmax", loss="cross_entropy", seed=0)
        P = sum(layer.W.nbytes + layer.b.nbytes for layer in net.layers)
        tracemalloc.start()
        try:
            net.fit(X, y, epochs=2, batch_size=64, verbose=0, seed=0, rollback=rollback)
            peaks[rollback] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    batch = 64 * (128 + 3 * (512 + 512 + 10)) * 4
    assert peaks[True] - peaks[False] > 2.5 * P
    assert peaks[False] < 2 * P + (1 << 20) + 2 * batch + X.nbytes, (peaks, P)
