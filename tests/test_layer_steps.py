"""The optimizer's step taken layer by layer inside the backward sweep
(:meth:`Optimizer.layer_steps`, ``Sequential.backprop(steps=...)``), against the step taken
after the sweep: the same bits for every elementwise rule, with weight decay, L2, dropout, a
schedule and sample weights; today's order where the whole gradient is needed (clipping);
no update at all for a batch whose loss is not finite.
"""

from __future__ import annotations

import numpy as np
import pytest

import deltaprop as dp
from deltaprop import kernels, training
from deltaprop.optimizers import LayerSteps, Optimizer

pytest.importorskip("numba")

OPTIMIZERS = [
    lambda: dp.optimizers.Adam(lr=3e-3),
    lambda: dp.optimizers.Adam(lr=3e-3, amsgrad=True, weight_decay=1e-3),
    lambda: dp.optimizers.AdamW(lr=3e-3, weight_decay=0.05),
    lambda: dp.optimizers.SGD(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    lambda: dp.optimizers.SGD(lr=0.05),
    lambda: dp.optimizers.RMSProp(lr=1e-3, centered=True, momentum=0.5),
    lambda: dp.optimizers.AdaGrad(lr=0.05),
]


@pytest.fixture(autouse=True)
def layer_steps_on(monkeypatch):
    """fit takes the steps layer by layer where it can (training.LAYER_STEPS)."""
    monkeypatch.setattr(training, "LAYER_STEPS", True)


@pytest.fixture
def numba_path():
    previous = kernels._mode
    kernels.use("numba")
    yield
    kernels._mode, kernels._table, kernels._blas = previous, None, None


def train(make_opt, layer_steps, dtype="float32", l2=1e-3, dropout=0.0, epochs=2, lr_decay=False,
          weights=False, rollback=True, X=None, y=None, seed=0):
    rng = np.random.default_rng(seed)
    if X is None:
        X = rng.normal(size=(300, 30)).astype(dtype)
        y = rng.integers(0, 5, size=300)
    net = dp.MLP([X.shape[1], 40, 20, 5], output="softmax", loss="cross_entropy", l2=l2,
                 dropout=dropout, dtype=dtype, seed=seed)
    opt = make_opt()
    if not layer_steps:
        opt.layer_steps = lambda store: None  # the step after the sweep, as before
    w = rng.random(len(X)) if weights else None
    net.fit(X, y, optimizer=opt, epochs=epochs, batch_size=32, verbose=0, seed=1,
            schedule=dp.schedules.ExponentialDecay(3e-3, 0.5) if lr_decay else None,
            sample_weight=w, rollback=rollback)
    return net, opt


@pytest.mark.parametrize("make_opt", OPTIMIZERS, ids=lambda f: repr(f()))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_layer_by_layer_is_the_step_after_the_sweep_bit_for_bit(numba_path, make_opt, dtype,
                                                                 monkeypatch):
    taken = []
    backprop = dp.Sequential.backprop

    def spy(self, *args, steps=None, **kwargs):
        taken.append(steps is not None)
        return backprop(self, *args, steps=steps, **kwargs)

    monkeypatch.setattr(dp.Sequential, "backprop", spy)
    ours, opt = train(make_opt, True, dtype)
    assert taken and all(taken), "fit did not take the steps layer by layer"
    taken.clear()
    ref, ref_opt = train(make_opt, False, dtype)
    assert taken and not any(taken)
    assert isinstance(opt.layer_steps(ours.store), LayerSteps)
    np.testing.assert_array_equal(ours.store.data, ref.store.data)
    assert opt.t == ref_opt.t
    for key, arrays in opt.state_dict().items():
        if isinstance(arrays, list):
            for a, b in zip(arrays, ref_opt.state_dict()[key]):
                np.testing.assert_array_equal(a, b, err_msg=key)


@pytest.mark.parametrize("options", [dict(dropout=0.2), dict(lr_decay=True),
                                     dict(weights=True), dict(l2=0.0)])
def test_with_dropout_schedule_weights_and_no_l2(numba_path, options):
    ours, _ = train(OPTIMIZERS[1], True, **options)
    ref, _ = train(OPTIMIZERS[1], False, **options)
    np.testing.assert_array_equal(ours.store.data, ref.store.data)


def test_the_reference_path_agrees_to_rounding():
    """The NumPy path (one step after the sweep) and the kernels' layer by layer."""
    previous = kernels._mode
    try:
        kernels.use("numpy")
        ref, _ = train(OPTIMIZERS[0], True, dtype="float64")
        kernels.use("numba")
        ours, _ = train(OPTIMIZERS[0], True, dtype="float64")
    finally:
        kernels._mode, kernels._table, kernels._blas = previous, None, None
    np.testing.assert_allclose(ours.store.data, ref.store.data, rtol=1e-10, atol=1e-12)


def test_where_the_whole_gradient_is_needed_the_step_comes_after_the_sweep(numba_path):
    net = dp.MLP([3, 4, 2], seed=0)
    assert dp.optimizers.Adam(clip_norm=1.0).layer_steps(net.store) is None
    assert dp.optimizers.Adam().layer_steps([(net.layers[0].W, net.layers[0].grad_W)]) is None

    class PerTensor(dp.optimizers.SGD):
        per_tensor = True

    assert PerTensor(lr=0.1).layer_steps(net.store) is None
    kernels.use("numpy")
    assert dp.optimizers.Adam().layer_steps(net.store) is None  # no fused kernel


def test_clipping_trains_as_before(numba_path):
    make = lambda: dp.optimizers.Adam(lr=3e-3, clip_norm=0.5)  # noqa: E731
    ours, _ = train(make, True)
    ref, _ = train(make, False)
    np.testing.assert_array_equal(ours.store.data, ref.store.data)


def test_a_batch_whose_loss_is_not_finite_updates_nothing(numba_path):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(96, 30)).astype(np.float32)
    y = rng.integers(0, 5, size=96)
    results = []
    for layer_steps in (True, False):
        net = dp.MLP([30, 40, 20, 5], output="softmax", loss="cross_entropy", seed=0)
        opt = dp.optimizers.Adam(lr=1e-3)
        if not layer_steps:
            opt.layer_steps = lambda store: None

        bad = dp.LambdaCallback(on_batch_end=lambda b, logs: (
            net.layers[0].W.__setitem__((0, 0), 3e38) if b == 1 else None))
        with pytest.raises(dp.TrainingDiverged):
            net.fit(X * 1e3, y, optimizer=opt, epochs=3, batch_size=32, verbose=0, seed=0,
                    rollback=False, callbacks=[bad])
        results.append((net.store.data.copy(), opt.t))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    assert results[0][1] == results[1][1]


def test_a_replanned_optimizer_refuses_stale_layer_steps(numba_path):
    net = dp.MLP([3, 4, 2], seed=0)
    opt = dp.optimizers.Adam()
    steps = opt.layer_steps(net.store)
    opt.load_state_dict(opt.state_dict())  # the plan is made again at the next step
    with pytest.raises(RuntimeError, match="layer_steps"):
        steps.begin()
    assert isinstance(opt, Optimizer)
