"""deltaprop.improvement: one "has it improved?" rule, whose parameters give the rule of each
user. Each variant is checked step by step against that user's rule written out by hand."""

import math

import numpy as np
import pytest

from deltaprop.constraints import ParameterError
from deltaprop.improvement import Improvement, mode_for

INF, NAN = math.inf, math.nan


# -- the rules as their users wrote them (the references) ---------------------------------

def keras_rule(mode, delta, best=None):
    """EarlyStopping / ModelCheckpoint: the first value improves; best follows improvements.
    ReduceOnPlateau (torch's threshold_mode="abs") is the same with best=±inf."""
    state = {"best": best, "wait": 0}

    def update(v):
        best = state["best"]
        improved = best is None or (v < best - delta if mode == "min" else v > best + delta)
        if improved:
            state["best"], state["wait"] = v, 0
        else:
            state["wait"] += 1
        return improved, state["best"], state["wait"]
    return update


def torch_rule(mode, delta):
    return keras_rule(mode, delta, best=INF if mode == "min" else -INF)


def sklearn_loss_rule(tol):
    """scikit-learn's training-loss rule: no improvement when loss > best_loss - tol;
    best_loss is the smallest loss seen."""
    state = {"best": INF, "wait": 0}

    def update(v):
        improved = not v > state["best"] - tol
        state["wait"] = 0 if improved else state["wait"] + 1
        state["best"] = min(state["best"], v)
        return improved, state["best"], state["wait"]
    return update


def sklearn_score_rule(tol):
    """scikit-learn's validation-score rule: an improvement when score >= best + tol; best
    is the highest score seen."""
    state = {"best": -INF, "wait": 0}

    def update(v):
        improved = v >= state["best"] + tol
        state["wait"] = 0 if improved else state["wait"] + 1
        if v > state["best"]:
            state["best"] = v
        return improved, state["best"], state["wait"]
    return update


VARIANTS = {
    "keras-min": (lambda: Improvement("min", 0.25), lambda: keras_rule("min", 0.25)),
    "keras-max": (lambda: Improvement("max", 0.25), lambda: keras_rule("max", 0.25)),
    "keras-zero": (lambda: Improvement("min", 0.0), lambda: keras_rule("min", 0.0)),
    "torch-min": (lambda: Improvement("min", 0.25, best=INF), lambda: torch_rule("min", 0.25)),
    "torch-max": (lambda: Improvement("max", 0.5, best=-INF), lambda: torch_rule("max", 0.5)),
    "sklearn-loss": (lambda: Improvement("min", 0.25, inclusive=True, best_of="all", best=INF),
                     lambda: sklearn_loss_rule(0.25)),
    "sklearn-score": (lambda: Improvement("max", 0.25, inclusive=True, best_of="all",
                                          best=-INF), lambda: sklearn_score_rule(0.25)),
}


def sequences(with_nan):
    """Values on a grid of 0.25, so that "exactly best - delta" occurs and is exact."""
    rng = np.random.default_rng(0)
    fixed = [3.0, 2.75, 2.5, 2.5, 2.25, 2.5, 2.0, 2.0, 1.75, 1.5, INF, 1.25, 1.25, -INF, 0.0]
    seqs = [fixed, [-v for v in fixed], [INF, 1.0, 0.75]]
    for _ in range(30):
        seq = list(rng.integers(-12, 12, size=25) * 0.25)
        seq[rng.integers(25)] = INF
        if with_nan:
            seq[rng.integers(25)] = NAN
        seqs.append(seq)
    if with_nan:
        seqs += [[NAN, 1.0, 0.5], [1.0, NAN, NAN, 0.5]]
    return seqs


def same(a, b):
    return (a is None and b is None) or a == b or (
        a is not None and b is not None and math.isnan(a) and math.isnan(b))


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_each_variant_is_its_users_rule(variant):
    make_ours, make_ref = VARIANTS[variant]
    # scikit-learn's loss rule is written "no improvement when loss > best - tol", which
    # makes a NaN loss an improvement; Improvement says NaN never improves. deltaprop never
    # hands that rule a NaN loss (fit raises TrainingDiverged first), so NaN is left out.
    with_nan = variant != "sklearn-loss"
    n_improved = n_tie = 0
    for seq in sequences(with_nan):
        ours, ref = make_ours(), make_ref()
        for i, v in enumerate(seq):
            before = ours.best
            got = (ours.update(v), ours.best, ours.wait)
            want = ref(v)
            assert got[0] == want[0] and same(got[1], want[1]) and got[2] == want[2], (
                f"{variant} at {i} of {seq}: ours {got} vs reference {want}")
            n_improved += got[0]
            n_tie += (before is not None and math.isfinite(before)
                      and abs(v - before) == ours.min_delta)
    assert n_improved and n_tie, "the sequences never improved or never hit a tie"


def test_new_best_tells_when_best_changed():
    rule = Improvement("max", 0.25, inclusive=True, best_of="all", best=-INF)
    flags = []
    for v in [0.5, 0.6, 0.75, 0.7, NAN, 1.0]:
        improved = rule.update(v)
        flags.append((improved, rule.new_best))
    # 0.6 is a new best that misses tol; 1.0 is both
    assert flags == [(True, True), (False, True), (False, True), (False, False),
                     (False, False), (True, True)]
    keras = Improvement("min", 0.1)
    assert [keras.update(v) or keras.new_best for v in [1.0, 0.95, 0.8]] == [True, False, True]


def test_nan_never_improves_and_the_first_value_always_does():
    assert not Improvement("min", 0.0, best=INF).update(NAN)
    assert not Improvement("max", 0.0, inclusive=True, best=-INF).update(NAN)
    rule = Improvement("min", 1.0)
    assert rule.update(5.0) and rule.best == 5.0 and rule.wait == 0
    assert not rule.update(4.5) and rule.wait == 1 and rule.best == 5.0
    assert not rule.update(4.0) and rule.wait == 2  # exactly δ better: not more than δ
    assert rule.update(3.5) and rule.wait == 0 and rule.best == 3.5


def test_mode_for_a_metric_name():
    assert [mode_for(m) for m in ("val_loss", "loss", "accuracy", "val_accuracy", "r2",
                                  "val_r2")] == ["min", "min", "max", "max", "max", "max"]


@pytest.mark.parametrize("kwargs, name", [
    ({"mode": "lowest"}, "mode"),
    ({"min_delta": -1.0}, "min_delta"),
    ({"min_delta": NAN}, "min_delta"),
    ({"inclusive": 1}, "inclusive"),
    ({"best_of": "some"}, "best_of"),
    ({"best": "0"}, "best"),
])
def test_bad_arguments_name_the_parameter(kwargs, name):
    with pytest.raises(ParameterError, match=rf"^{name} must be") as info:
        Improvement(**kwargs)
    assert info.value.parameter == name


# -- the callbacks of deltaprop.training that use the rule --------------------------------

class FakeTrainer:
    """What the callbacks touch: the stop flag, the history and the weights."""

    def __init__(self):
        from deltaprop.training import History

        self.stop_training, self.history, self.saved = False, History(), []
        self.net = self
        self.epoch = None

    def snapshot_weights(self):
        return f"weights of epoch {self.epoch}"

    def restore_weights(self, weights):
        self.restored = weights

    def save(self, path, include_optimizer):
        self.saved.append(path)


@pytest.mark.parametrize("monitor, values, min_delta, patience", [
    ("val_loss", [1.0, 0.9, 0.95, 0.85, 0.84, 0.86, 0.8, 0.9, 0.9, 0.9], 0.02, 3),
    ("val_accuracy", [0.5, 0.6, 0.6, 0.7, 0.69, 0.7, 0.71, 0.2, 0.3], 0.0, 2),
    ("val_loss", [2.0, NAN, 1.0, NAN, NAN], 0.0, 2),
])
def test_early_stopping_follows_keras_rule(monitor, values, min_delta, patience):
    from deltaprop.training import EarlyStopping

    mode = "max" if monitor.endswith("accuracy") else "min"
    ref, best_epoch, stop_at = keras_rule(mode, min_delta), None, None
    for epoch, v in enumerate(values):
        improved, _, wait = ref(v)
        best_epoch = epoch if improved else best_epoch
        if not improved and wait >= patience:
            stop_at = epoch
            break
    assert stop_at is not None, "the sequence never stops: the test would be vacuous"
    cb = EarlyStopping(monitor=monitor, patience=patience, min_delta=min_delta)
    cb.trainer = trainer = FakeTrainer()
    cb.on_train_begin({})
    for epoch, v in enumerate(values):
        trainer.epoch = epoch
        cb.on_epoch_end(epoch, {monitor: v})
        if trainer.stop_training:
            break
    cb.on_train_end({})
    assert (epoch, cb.best_epoch) == (stop_at, best_epoch)
    assert trainer.history.stopped_early and cb.wait == patience
    assert trainer.restored == f"weights of epoch {best_epoch}"


def test_model_checkpoint_saves_each_strict_improvement():
    from deltaprop.training import ModelCheckpoint

    values = [1.0, 1.0, 0.9, 0.95, 0.9, 0.5, NAN, 0.4]
    cb = ModelCheckpoint("m-{epoch}.npz", monitor="loss", save_best_only=True)
    cb.trainer = trainer = FakeTrainer()
    for epoch, v in enumerate(values):
        cb.on_epoch_end(epoch, {"loss": v})
    cb.on_epoch_end(len(values), {})  # the monitored value is missing: nothing saved
    assert trainer.saved == ["m-1.npz", "m-3.npz", "m-6.npz", "m-8.npz"]
    assert cb.best == 0.4
    every = ModelCheckpoint("e-{epoch}.npz", monitor="loss")
    every.trainer = FakeTrainer()
    for epoch, v in enumerate(values):
        every.on_epoch_end(epoch, {"loss": v})
    assert len(every.trainer.saved) == len(values)
