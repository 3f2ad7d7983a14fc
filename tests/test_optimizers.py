"""Tests for ``deltaprop.optimizers`` and ``deltaprop.schedules``.

Every update rule is run side by side with its ``torch.optim`` twin on the same float64
gradients (a 2-D weight and a 1-D bias of random shapes under a fixed seed), and compared
after each step.  The seed-002 weight decay ``W <- W - eta*g - lambda*W``, which torch does
not have, is checked against a hand-written reference.  Learning-rate schedules are compared
with ``torch.optim.lr_scheduler`` where an equivalent exists.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from deltaprop import kernels
from deltaprop.optimizers import (
    OPTIMIZERS,
    SGD,
    AdaGrad,
    Adam,
    AdamW,
    Momentum,
    Nesterov,
    Optimizer,
    RMSProp,
    clip_grad_norm,
    get_optimizer,
    optimizer_from_config,
)
from deltaprop.schedules import (
    SCHEDULES,
    Constant,
    CosineWarmup,
    ExponentialDecay,
    InverseScaling,
    ReduceOnPlateau,
    StepDecay,
    get_schedule,
    schedule_from_config,
)

try:
    import torch
except ImportError:  # pragma: no cover - torch is a test-only dependency
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


@pytest.fixture(params=["numpy", "numba"])
def kernel_path(request):
    """The rules on the NumPy reference path and with the fused Numba kernels."""
    if request.param == "numba":
        pytest.importorskip("numba")
    previous = kernels._mode
    kernels.use(request.param)
    yield request.param
    kernels._mode, kernels._table, kernels._blas = previous, None, None


#: Runs a test on both paths (the torch comparisons, the hand-written references).
both_paths = pytest.mark.usefixtures("kernel_path")

N_STEPS = 6
RTOL = 1e-10


# --------------------------------------------------------------------------- helpers
def assert_close(ours, ref, what, rtol=RTOL, label="torch"):
    """Relative agreement ``max|ours - ref| <= rtol * max(|ref|, 1)``; prints both on failure."""
    ours = np.asarray(ours, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    assert ours.shape == ref.shape, f"{what}: shape {ours.shape} vs {ref.shape}"
    scale = max(float(np.max(np.abs(ref), initial=0.0)), 1.0)
    err = float(np.max(np.abs(ours - ref), initial=0.0)) / scale
    if not err <= rtol:
        print(f"{what}: ours vs {label}\nours:\n{ours}\n{label}:\n{ref}\nrelative error {err:.3e}")
    assert err <= rtol, f"{what}: relative error {err:.3e} > {rtol:.0e} (ours vs {label})"


def make_problem(seed, dtype=np.float64, n_steps=N_STEPS):
    """A random-shape weight ``W`` (2-D) and bias ``b`` (1-D) and ``n_steps`` gradient pairs."""
    rng = np.random.default_rng(seed)
    n_in, n_out = (int(k) for k in rng.integers(2, 7, size=2))
    W = rng.standard_normal((n_in, n_out)).astype(dtype)
    b = rng.standard_normal(n_out).astype(dtype)
    grads = [
        (rng.standard_normal((n_in, n_out)).astype(dtype), rng.standard_normal(n_out).astype(dtype))
        for _ in range(n_steps)
    ]
    return W, b, grads


def run_ours(opt, W, b, grads, lrs=None):
    """Step ``opt`` through ``grads``; returns the list of ``(W, b)`` after each step."""
    W, b = W.copy(), b.copy()
    history = []
    for k, (gW, gb) in enumerate(grads):
        if lrs is not None:
            opt.lr = lrs[k]
        opt.step([(W, gW.copy()), (b, gb.copy())])
        history.append((W.copy(), b.copy()))
    return history


def run_torch(make_opt, W, b, grads, lrs=None, clip=None, groups=None, after_step=None):
    """Step a torch optimizer on the same gradients; returns the list of ``(W, b)``."""
    tW = torch.tensor(W.copy(), requires_grad=True)
    tb = torch.tensor(b.copy(), requires_grad=True)
    opt = make_opt(groups(tW, tb) if groups else [tW, tb])
    history = []
    for k, (gW, gb) in enumerate(grads):
        if lrs is not None:
            for group in opt.param_groups:
                group["lr"] = lrs[k]
        tW.grad = torch.tensor(gW.copy())
        tb.grad = torch.tensor(gb.copy())
        if clip is not None:
            torch.nn.utils.clip_grad_norm_([tW, tb], clip)
        W_old = tW.detach().clone()
        opt.step()
        if after_step is not None:
            with torch.no_grad():
                after_step(tW, tb, W_old)
        history.append((tW.detach().numpy().copy(), tb.detach().numpy().copy()))
    return history


def compare_histories(ours, ref, what, label="torch"):
    for k, ((W, b), (W_ref, b_ref)) in enumerate(zip(ours, ref, strict=True)):
        assert_close(W, W_ref, f"{what}, step {k + 1}, W", label=label)
        assert_close(b, b_ref, f"{what}, step {k + 1}, b", label=label)


# Each case: (id, our optimizer factory, torch optimizer factory).  lr values are large
# enough that the parameters move visibly, so a wrong rule cannot hide in the tolerance.
TORCH_CASES = [
    ("sgd", lambda: SGD(lr=0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    (
        "momentum",
        lambda: SGD(lr=0.1, momentum=0.9),
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
    ),
    (
        "momentum-class",
        lambda: Momentum(lr=0.05, momentum=0.8),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8),
    ),
    (
        "nesterov",
        lambda: SGD(lr=0.1, momentum=0.9, nesterov=True),
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    ),
    (
        "nesterov-class",
        lambda: Nesterov(lr=0.05, momentum=0.7),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.7, nesterov=True),
    ),
    ("adagrad", lambda: AdaGrad(lr=0.3), lambda p: torch.optim.Adagrad(p, lr=0.3)),
    (
        "adagrad-init-acc",
        lambda: AdaGrad(lr=0.3, eps=1e-6, initial_accumulator_value=0.5),
        lambda p: torch.optim.Adagrad(p, lr=0.3, eps=1e-6, initial_accumulator_value=0.5),
    ),
    ("rmsprop", lambda: RMSProp(lr=0.05), lambda p: torch.optim.RMSprop(p, lr=0.05)),
    (
        "rmsprop-alpha-eps",
        lambda: RMSProp(lr=0.05, alpha=0.9, eps=1e-3),
        lambda p: torch.optim.RMSprop(p, lr=0.05, alpha=0.9, eps=1e-3),
    ),
    (
        "rmsprop-centered",
        lambda: RMSProp(lr=0.05, centered=True),
        lambda p: torch.optim.RMSprop(p, lr=0.05, centered=True),
    ),
    (
        "rmsprop-momentum",
        lambda: RMSProp(lr=0.05, momentum=0.9),
        lambda p: torch.optim.RMSprop(p, lr=0.05, momentum=0.9),
    ),
    (
        "rmsprop-centered-momentum",
        lambda: RMSProp(lr=0.05, alpha=0.95, momentum=0.5, centered=True),
        lambda p: torch.optim.RMSprop(p, lr=0.05, alpha=0.95, momentum=0.5, centered=True),
    ),
    ("adam", lambda: Adam(lr=0.1), lambda p: torch.optim.Adam(p, lr=0.1)),
    (
        "adam-betas-eps",
        lambda: Adam(lr=0.1, beta_1=0.5, beta_2=0.9, eps=1e-3),
        lambda p: torch.optim.Adam(p, lr=0.1, betas=(0.5, 0.9), eps=1e-3),
    ),
    (
        "amsgrad",
        lambda: Adam(lr=0.1, amsgrad=True),
        lambda p: torch.optim.Adam(p, lr=0.1, amsgrad=True),
    ),
    (
        "adamw-no-decay",
        lambda: AdamW(lr=0.1, weight_decay=0.0),
        lambda p: torch.optim.AdamW(p, lr=0.1, weight_decay=0.0),
    ),
]


# --------------------------------------------------------------------------- update rules
@both_paths
@needs_torch
@pytest.mark.parametrize("case", TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_update_rule_matches_torch(case):
    name, ours_factory, torch_factory = case
    W, b, grads = make_problem(seed=sum(map(ord, name)))
    ours = run_ours(ours_factory(), W, b, grads)
    ref = run_torch(torch_factory, W, b, grads)
    compare_histories(ours, ref, name)
    # the parameters really moved: a no-op optimizer cannot pass
    assert not np.allclose(ours[-1][0], W)


@both_paths
@needs_torch
@pytest.mark.parametrize("case", TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_update_rule_matches_torch_with_changing_lr(case):
    """A schedule sets ``opt.lr`` between steps; torch sets ``group['lr']``."""
    name, ours_factory, torch_factory = case
    W, b, grads = make_problem(seed=1 + sum(map(ord, name)))
    lrs = [0.1 * 0.7**k for k in range(N_STEPS)]
    ours = run_ours(ours_factory(), W, b, grads, lrs=lrs)
    ref = run_torch(torch_factory, W, b, grads, lrs=lrs)
    compare_histories(ours, ref, f"{name} (scheduled lr)")


@both_paths
@needs_torch
@pytest.mark.parametrize(
    "lrs", [None, [0.1, 0.05, 0.2, 0.01, 0.1, 0.3]], ids=["const-lr", "lr-changes"]
)
def test_adamw_decoupled_decay_matches_torch_on_weights_only(lrs):
    """AdamW: W <- W - eta*lambda*W, then Adam; torch param groups put the decay on W only."""
    W, b, grads = make_problem(seed=7)
    wd = 0.3
    ours = run_ours(AdamW(lr=0.1, weight_decay=wd), W, b, grads, lrs=lrs)
    ref = run_torch(
        lambda p: torch.optim.AdamW(p, lr=0.1),
        W,
        b,
        grads,
        lrs=lrs,
        groups=lambda tW, tb: [
            {"params": [tW], "weight_decay": wd},
            {"params": [tb], "weight_decay": 0.0},
        ],
    )
    compare_histories(ours, ref, "adamw weight decay")
    # and the decay matters: without it the result differs
    no_decay = run_ours(AdamW(lr=0.1, weight_decay=0.0), W, b, grads, lrs=lrs)
    assert not np.allclose(no_decay[-1][0], ours[-1][0])
    np.testing.assert_array_equal(no_decay[-1][1], ours[-1][1])  # biases are never decayed


@both_paths
@needs_torch
def test_adamw_amsgrad_matches_torch():
    W, b, grads = make_problem(seed=8)
    ours = run_ours(AdamW(lr=0.1, weight_decay=0.2, amsgrad=True), W, b, grads)
    ref = run_torch(
        lambda p: torch.optim.AdamW(p, lr=0.1, amsgrad=True),
        W,
        b,
        grads,
        groups=lambda tW, tb: [
            {"params": [tW], "weight_decay": 0.2},
            {"params": [tb], "weight_decay": 0.0},
        ],
    )
    compare_histories(ours, ref, "adamw amsgrad")


@both_paths
def test_seed_002_weight_decay_sgd_matches_hand_written_reference():
    """Seed 002: W <- W - eta * dL/dW - lambda * W; the bias gets no decay."""
    W, b, grads = make_problem(seed=11)
    eta, lam = 0.1, 0.05
    ours = run_ours(SGD(lr=eta, weight_decay=lam), W, b, grads)
    W_ref, b_ref = W.copy(), b.copy()
    ref = []
    for gW, gb in grads:
        W_ref = W_ref - eta * gW - lam * W_ref
        b_ref = b_ref - eta * gb
        ref.append((W_ref, b_ref))
    compare_histories(ours, ref, "seed-002 decay", label="reference")


@both_paths
def test_seed_002_weight_decay_momentum_matches_hand_written_reference():
    """Seed 002 momentum plus decay: Delta <- mu Delta + g; W <- W - eta Delta - lambda W."""
    W, b, grads = make_problem(seed=12)
    eta, mu, lam = 0.1, 0.9, 0.05
    ours = run_ours(SGD(lr=eta, momentum=mu, weight_decay=lam), W, b, grads)
    W_ref, b_ref = W.copy(), b.copy()
    dW, db = np.zeros_like(W), np.zeros_like(b)
    ref = []
    for gW, gb in grads:
        dW = mu * dW + gW
        db = mu * db + gb
        W_ref = W_ref - eta * dW - lam * W_ref
        b_ref = b_ref - eta * db
        ref.append((W_ref, b_ref))
    compare_histories(ours, ref, "seed-002 momentum + decay", label="reference")


SEED_DECAY_CASES = [c for c in TORCH_CASES if not c[0].startswith("adamw")]


@both_paths
@needs_torch
@pytest.mark.parametrize("case", SEED_DECAY_CASES, ids=[c[0] for c in SEED_DECAY_CASES])
def test_seed_002_weight_decay_every_optimizer(case):
    """Our decay = torch's step without decay, then ``W -= lambda * W_old`` on the weight only."""
    name, ours_factory, torch_factory = case
    lam = 0.05
    opt = ours_factory()
    cfg = opt.get_config()
    cfg["weight_decay"] = lam
    opt = optimizer_from_config(cfg)
    W, b, grads = make_problem(seed=13 + sum(map(ord, name)))
    ours = run_ours(opt, W, b, grads)

    def decay_weight(tW, tb, W_old):
        tW.sub_(lam * W_old)

    ref = run_torch(torch_factory, W, b, grads, after_step=decay_weight)
    compare_histories(ours, ref, f"{name} + seed-002 decay", label="torch + manual decay")


@both_paths
@needs_torch
def test_seed_002_decay_equals_torch_sgd_weight_decay_with_lambda_eta_wd():
    """Plain SGD with constant lr: torch's ``weight_decay=wd`` (an L2 term in the gradient) is
    ``W - eta (g + wd W) = W - eta g - (eta wd) W``: ours with ``lambda = eta * wd``."""
    W, b, grads = make_problem(seed=14)
    eta, wd = 0.1, 0.4
    ours = run_ours(SGD(lr=eta, weight_decay=eta * wd), W, b, grads)
    ref = run_torch(
        lambda p: torch.optim.SGD(p, lr=eta),
        W,
        b,
        grads,
        groups=lambda tW, tb: [
            {"params": [tW], "weight_decay": wd},
            {"params": [tb], "weight_decay": 0.0},
        ],
    )
    compare_histories(ours, ref, "seed-002 decay vs torch L2 decay")


# --------------------------------------------------------------------------- clipping
@both_paths
@needs_torch
@pytest.mark.parametrize("max_norm", [0.5, 2.0, 1e3])
def test_clip_grad_norm_matches_torch(max_norm):
    _, _, grads = make_problem(seed=21, n_steps=1)
    gW, gb = grads[0]
    ours = [gW.copy(), gb.copy()]
    total = clip_grad_norm(ours, max_norm)
    tW, tb = torch.tensor(gW.copy()), torch.tensor(gb.copy())
    params = [torch.zeros_like(tW, requires_grad=True), torch.zeros_like(tb, requires_grad=True)]
    params[0].grad, params[1].grad = tW, tb
    total_ref = torch.nn.utils.clip_grad_norm_(params, max_norm)
    assert_close(total, total_ref.item(), "total norm")
    assert_close(ours[0], params[0].grad.numpy(), "clipped grad W")
    assert_close(ours[1], params[1].grad.numpy(), "clipped grad b")
    if max_norm < float(total_ref):
        new_norm = math.sqrt(sum(float(np.sum(g * g)) for g in ours))
        assert new_norm == pytest.approx(max_norm, rel=1e-5)
    else:  # coefficient clamped to 1: grads untouched
        np.testing.assert_array_equal(ours[0], gW)


@both_paths
@needs_torch
@pytest.mark.parametrize(
    "case",
    [c for c in TORCH_CASES if c[0] in ("momentum", "rmsprop-centered", "adam")],
    ids=["momentum", "rmsprop-centered", "adam"],
)
def test_optimizer_clip_norm_matches_torch_clip_then_step(case):
    name, ours_factory, torch_factory = case
    W, b, grads = make_problem(seed=22)
    cfg = ours_factory().get_config()
    cfg["clip_norm"] = 1.0
    ours = run_ours(optimizer_from_config(cfg), W, b, grads)
    ref = run_torch(torch_factory, W, b, grads, clip=1.0)
    compare_histories(ours, ref, f"{name} + clip_norm")
    unclipped = run_ours(ours_factory(), W, b, grads)
    assert not np.allclose(unclipped[-1][0], ours[-1][0])  # clipping was active


# --------------------------------------------------------------------------- dtypes, in place
ALL_CONFIGS = [
    {"name": "sgd", "lr": 0.1},
    {"name": "sgd", "lr": 0.1, "momentum": 0.9},
    {"name": "momentum", "lr": 0.1},
    {"name": "nesterov", "lr": 0.1},
    {"name": "adagrad", "lr": 0.3, "initial_accumulator_value": 0.1},
    {"name": "rmsprop", "lr": 0.05},
    {"name": "rmsprop", "lr": 0.05, "momentum": 0.9, "centered": True},
    {"name": "adam", "lr": 0.1},
    {"name": "adam", "lr": 0.1, "amsgrad": True},
    {"name": "adamw", "lr": 0.1},
]
CONFIG_IDS = ["-".join(str(v) for v in c.values() if v is not True) for c in ALL_CONFIGS]


@both_paths
@pytest.mark.parametrize("cfg", ALL_CONFIGS, ids=CONFIG_IDS)
def test_float32_stays_float32_and_updates_in_place(cfg):
    W64, b64, grads64 = make_problem(seed=31)
    W, b, grads = make_problem(seed=31, dtype=np.float32)
    opt = get_optimizer(cfg["name"], **{k: v for k, v in cfg.items() if k != "name"})
    opt.weight_decay = 0.01
    opt.clip_norm = 3.0
    W_id, b_id = id(W), id(b)
    W_before = W.copy()
    for gW, gb in grads:
        opt.step([(W, gW.copy()), (b, gb.copy())])
        assert W.dtype == np.float32 and b.dtype == np.float32
        state = opt.state_dict()
        arrays = [a for v in state.values() if isinstance(v, list) for a in v]
        assert arrays or cfg == {"name": "sgd", "lr": 0.1}
        for a in arrays + opt.scratch:
            assert a.dtype == np.float32, f"state upcast to {a.dtype}"
    assert id(W) == W_id and id(b) == b_id
    assert not np.array_equal(W, W_before), "the parameter was not updated in place"
    # float32 follows the float64 trajectory to float32 accuracy
    ref = get_optimizer(cfg["name"], **{k: v for k, v in cfg.items() if k != "name"})
    ref.weight_decay, ref.clip_norm = 0.01, 3.0
    hist64 = run_ours(ref, W64, b64, grads64)
    np.testing.assert_allclose(W, hist64[-1][0], rtol=1e-4, atol=1e-4)


@both_paths
@pytest.mark.parametrize("cfg", ALL_CONFIGS, ids=CONFIG_IDS)
def test_step_allocates_no_parameter_sized_arrays(cfg):
    """After the first step (which creates the state), a step works in preallocated buffers."""
    import tracemalloc

    rng = np.random.default_rng(33)
    W, b = rng.standard_normal((200, 100)), rng.standard_normal(100)  # W is 160 kB
    opt = get_optimizer(cfg["name"], **{k: v for k, v in cfg.items() if k != "name"})
    opt.weight_decay, opt.clip_norm = 0.01, 1.0
    pairs = [(W, rng.standard_normal(W.shape)), (b, rng.standard_normal(b.shape))]
    opt.step(pairs)
    tracemalloc.start()
    try:
        for _ in range(3):
            opt.step(pairs)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20_000, f"a step allocated {peak} bytes"


@both_paths
def test_grads_used_only_as_scratch_when_clipping():
    """Without clipping the caller's gradients are left as they were."""
    W, b, grads = make_problem(seed=32, n_steps=1)
    gW, gb = grads[0]
    gW_copy = gW.copy()
    Adam(lr=0.1).step([(W, gW), (b, gb)])
    np.testing.assert_array_equal(gW, gW_copy)


def test_shape_mismatch_between_param_and_grad_raises():
    with pytest.raises(ValueError, match="shape"):
        SGD(lr=0.1).step([(np.zeros((2, 3)), np.zeros((3, 2)))])


def test_changing_parameter_list_raises():
    opt = Adam()
    opt.step([(np.zeros((2, 3)), np.ones((2, 3)))])
    with pytest.raises(ValueError, match="shape"):
        opt.step([(np.zeros((4, 3)), np.ones((4, 3)))])
    with pytest.raises(ValueError, match="2 parameters"):
        opt.step([(np.zeros((2, 3)), np.ones((2, 3))), (np.zeros(3), np.ones(3))])


@both_paths
# --------------------------------------------------------------------------- state_dict
@pytest.mark.parametrize("cfg", ALL_CONFIGS, ids=CONFIG_IDS)
def test_state_dict_roundtrip_resumes_bitwise(cfg):
    W, b, grads = make_problem(seed=41)
    kwargs = {k: v for k, v in cfg.items() if k != "name"}
    kwargs["weight_decay"] = 0.01
    kwargs["clip_norm"] = 2.0

    straight = run_ours(get_optimizer(cfg["name"], **kwargs), W, b, grads)

    first = get_optimizer(cfg["name"], **kwargs)
    part1 = run_ours(first, W, b, grads[:3])
    saved = first.state_dict()
    # the saved arrays are copies: stepping the old optimizer does not change them
    snapshot = {k: [a.copy() for a in v] for k, v in saved.items() if isinstance(v, list)}
    W3, b3 = part1[-1][0].copy(), part1[-1][1].copy()
    first.step([(W3, grads[3][0].copy()), (b3, grads[3][1].copy())])
    for k, arrays in snapshot.items():
        for a, s in zip(saved[k], arrays, strict=True):
            np.testing.assert_array_equal(a, s)

    fresh = optimizer_from_config(first.get_config())
    fresh.lr = 123.0  # load_state_dict restores the hyper-parameters too
    fresh.load_state_dict(saved)
    assert fresh.lr == first.lr
    part2 = run_ours(fresh, part1[-1][0], part1[-1][1], grads[3:])
    for (Wa, ba), (Wb, bb) in zip(part1 + part2, straight, strict=True):
        np.testing.assert_array_equal(Wa, Wb)
        np.testing.assert_array_equal(ba, bb)


def test_state_dict_contents():
    opt = Adam(lr=0.01)
    W, b, grads = make_problem(seed=42)
    run_ours(opt, W, b, grads[:3])
    state = opt.state_dict()
    assert state["name"] == "adam"
    assert state["t"] == 3 and type(state["t"]) is int
    assert state["hyper"]["lr"] == 0.01 and type(state["hyper"]["lr"]) is float
    assert [a.shape for a in state["m"]] == [W.shape, b.shape]
    assert [a.shape for a in state["v"]] == [W.shape, b.shape]


def test_load_state_dict_shape_mismatch_is_a_clear_error():
    W, b, grads = make_problem(seed=43)
    opt = Adam()
    run_ours(opt, W, b, grads[:2])
    state = opt.state_dict()
    other = Adam()
    other.step([(np.zeros((W.shape[0] + 1, W.shape[1])), np.ones((W.shape[0] + 1, W.shape[1]))),
                (np.zeros(b.shape), np.ones(b.shape))])
    with pytest.raises(ValueError, match="shape"):
        other.load_state_dict(state)
    # loaded into a fresh optimizer, the mismatch is reported at the first step
    fresh = Adam()
    fresh.load_state_dict(state)
    with pytest.raises(ValueError, match="shape"):
        fresh.step([(np.zeros((9, 9)), np.ones((9, 9))), (np.zeros(b.shape), np.ones(b.shape))])


def test_load_state_dict_wrong_optimizer_or_missing_state():
    opt = Adam()
    opt.step([(np.zeros((2, 2)), np.ones((2, 2)))])
    state = opt.state_dict()
    with pytest.raises(ValueError, match="adam"):
        RMSProp().load_state_dict(state)
    broken = dict(state)
    del broken["v"]
    with pytest.raises(ValueError, match="v"):
        Adam().load_state_dict(broken)


# --------------------------------------------------------------------------- config, registry
@pytest.mark.parametrize("cfg", ALL_CONFIGS, ids=CONFIG_IDS)
def test_config_roundtrip_through_json(cfg):
    opt = get_optimizer(cfg["name"], **{k: v for k, v in cfg.items() if k != "name"})
    config = opt.get_config()
    assert config["name"] == cfg["name"]
    again = optimizer_from_config(json.loads(json.dumps(config)))
    assert type(again) is type(opt)
    assert again.get_config() == config


def test_registry_names_and_instances():
    assert set(OPTIMIZERS) == {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"}
    assert isinstance(get_optimizer("ADAM"), Adam)
    opt = AdaGrad()
    assert get_optimizer(opt) is opt
    assert isinstance(get_optimizer({"name": "rmsprop", "lr": 0.1}), RMSProp)
    assert isinstance(get_optimizer("momentum"), Optimizer)
    assert get_optimizer("nesterov").nesterov is True
    assert get_optimizer("momentum", momentum=0.5).momentum == 0.5


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError) as info:
        get_optimizer("adamax")
    message = str(info.value)
    assert "adamax" in message
    for name in OPTIMIZERS:
        assert name in message


@pytest.mark.parametrize(
    "name, kwargs, param",
    [
        ("sgd", {"lr": 0.0}, "lr"),
        ("sgd", {"lr": -1.0}, "lr"),
        ("sgd", {"lr": float("nan")}, "lr"),
        ("sgd", {"momentum": -0.1}, "momentum"),
        ("sgd", {"nesterov": True}, "momentum"),
        ("sgd", {"weight_decay": -0.01}, "weight_decay"),
        ("sgd", {"weight_decay": 1.5}, "weight_decay"),
        ("sgd", {"clip_norm": 0.0}, "clip_norm"),
        ("momentum", {"momentum": -0.5}, "momentum"),
        ("adagrad", {"eps": -1e-10}, "eps"),
        ("adagrad", {"initial_accumulator_value": -1.0}, "initial_accumulator_value"),
        ("rmsprop", {"alpha": 1.0}, "alpha"),
        ("rmsprop", {"alpha": -0.1}, "alpha"),
        ("rmsprop", {"momentum": -1.0}, "momentum"),
        ("adam", {"beta_1": 1.0}, "beta_1"),
        ("adam", {"beta_1": -0.1}, "beta_1"),
        ("adam", {"beta_2": 1.0}, "beta_2"),
        ("adam", {"eps": -1.0}, "eps"),
        ("adamw", {"weight_decay": -0.01}, "weight_decay"),
        ("adamw", {"lr": 0}, "lr"),
    ],
)
def test_bad_arguments_name_the_parameter(name, kwargs, param):
    with pytest.raises(ValueError, match=param):
        get_optimizer(name, **kwargs)


def test_lr_setter_validates():
    opt = SGD(lr=0.1)
    opt.lr = 0.0  # a schedule may end at min_lr = 0
    assert opt.lr == 0.0 and type(opt.lr) is float
    with pytest.raises(ValueError, match="lr"):
        opt.lr = -0.1


@both_paths
# --------------------------------------------------------------------------- convergence
@pytest.mark.parametrize(
    "name, lr",
    [
        ("sgd", 0.1),
        ("momentum", 0.05),
        ("nesterov", 0.05),
        ("adagrad", 0.5),
        ("rmsprop", 0.01),
        ("adam", 0.05),
        ("adamw", 0.05),
    ],
)
def test_converges_on_quadratic(name, lr):
    """f(x, y) = 1.5 x^2 + y^2 + 2 from (1, 1): minimum 2 at the origin."""
    xy = np.array([1.0, 1.0])
    f = lambda p: 1.5 * p[0] ** 2 + p[1] ** 2 + 2.0  # noqa: E731
    opt = get_optimizer(name, lr=lr)
    f0 = f(xy)
    for _ in range(200):
        grad = np.array([3.0 * xy[0], 2.0 * xy[1]])
        opt.step([(xy, grad)])
    assert f(xy) < 2.0 + 1e-2 * (f0 - 2.0), f"{name}: f = {f(xy)} after 200 steps"


# =========================================================================== schedules
def torch_lrs(make_scheduler, lr, n_epochs):
    """The lr that a torch scheduler gives at epochs 0..n_epochs-1."""
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr)
    sched = make_scheduler(opt)
    out = []
    for _ in range(n_epochs):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


@both_paths
@needs_torch
@pytest.mark.parametrize(
    "ours, make_torch",
    [
        (StepDecay(0.1, step_size=3), lambda o: torch.optim.lr_scheduler.StepLR(o, 3)),
        (
            StepDecay(0.1, step_size=2, gamma=0.5),
            lambda o: torch.optim.lr_scheduler.StepLR(o, 2, gamma=0.5),
        ),
        (
            ExponentialDecay(0.1, gamma=0.9),
            lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.9),
        ),
        (
            CosineWarmup(0.1, total_epochs=10),
            lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10),
        ),
        (
            CosineWarmup(0.1, total_epochs=7, min_lr=0.01),
            lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=7, eta_min=0.01),
        ),
        (Constant(0.1), lambda o: torch.optim.lr_scheduler.ConstantLR(o, factor=1.0)),
    ],
    ids=["step", "step-gamma", "exponential", "cosine", "cosine-min-lr", "constant"],
)
def test_schedule_matches_torch(ours, make_torch):
    n = ours.total_epochs + 1 if isinstance(ours, CosineWarmup) else 12
    ref = torch_lrs(make_torch, ours.lr, n)
    got = [ours(epoch) for epoch in range(n)]
    assert_close(got, ref, f"{type(ours).__name__} lr sequence", rtol=1e-12)
    assert all(type(x) is float for x in got)


def test_inverse_scaling_is_sklearns_invscaling():
    sched = InverseScaling(0.2, power_t=0.5)
    got = [sched(t) for t in range(6)]
    ref = [0.2 / (t + 1) ** 0.5 for t in range(6)]
    assert_close(got, ref, "invscaling", label="scikit-learn formula")
    assert InverseScaling(0.3, power_t=0.0)(5) == 0.3


def test_cosine_warmup_values():
    lr, total, warm, min_lr = 0.4, 10, 4, 0.04
    sched = CosineWarmup(lr, total_epochs=total, warmup_epochs=warm, min_lr=min_lr)
    # warm-up: lr * (epoch + 1) / warmup_epochs, reaching lr at epoch warmup_epochs - 1
    assert [sched(e) for e in range(warm)] == pytest.approx([0.1, 0.2, 0.3, 0.4], rel=1e-15)
    # cosine from lr at epoch warmup_epochs to min_lr at epoch total_epochs, then flat
    for e in range(warm, total + 3):
        progress = min(e - warm, total - warm) / (total - warm)
        ref = min_lr + (lr - min_lr) * (1 + math.cos(math.pi * progress)) / 2
        assert sched(e) == pytest.approx(ref, rel=1e-15)
    assert sched(warm) == pytest.approx(lr)
    assert sched(total) == pytest.approx(min_lr)
    assert sched(total + 100) == pytest.approx(min_lr)


PLATEAU_METRICS = [5.0, 4.0, 4.0, 3.99995, 4.1, 4.2, 3.0, 3.0, 3.0, 3.0, 3.0, 2.9, 2.9, 2.9, 2.9,
                   2.9, 2.9, 2.9, 2.9, 2.9, float("nan"), 2.9, 2.9, 2.9]


@both_paths
@needs_torch
@pytest.mark.parametrize(
    "mode, kwargs",
    [
        ("min", {"factor": 0.5, "patience": 2, "min_delta": 1e-3}),
        ("min", {"factor": 0.1, "patience": 1, "min_delta": 0.0, "min_lr": 1e-4}),
        ("min", {"factor": 0.5, "patience": 1, "min_delta": 1e-4, "cooldown": 2}),
        ("max", {"factor": 0.5, "patience": 2, "min_delta": 1e-3}),
    ],
)
def test_reduce_on_plateau_matches_torch(mode, kwargs):
    metrics = PLATEAU_METRICS if mode == "min" else [-m for m in PLATEAU_METRICS]
    ours = ReduceOnPlateau(0.1, mode=mode, **kwargs)
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt,
        mode=mode,
        factor=kwargs["factor"],
        patience=kwargs["patience"],
        threshold=kwargs["min_delta"],
        threshold_mode="abs",
        min_lr=kwargs.get("min_lr", 0.0),
        cooldown=kwargs.get("cooldown", 0),
    )
    got, ref = [], []
    for epoch, value in enumerate(metrics):
        assert ours(epoch) == opt.param_groups[0]["lr"]
        got.append(ours.update(value))
        opt.step()
        sched.step(value)
        ref.append(opt.param_groups[0]["lr"])
    assert_close(got, ref, f"ReduceOnPlateau({mode}, {kwargs})", rtol=1e-15)
    assert min(got) < 0.1, "the schedule never reduced: the test would be vacuous"


def test_reduce_on_plateau_state_dict_resumes_exactly():
    metrics = PLATEAU_METRICS
    straight = ReduceOnPlateau(0.1, factor=0.5, patience=1, cooldown=1)
    expected = [straight.update(m) for m in metrics]

    for split in range(1, len(metrics)):  # every counter matters at some split
        first = ReduceOnPlateau(0.1, factor=0.5, patience=1, cooldown=1)
        got = [first.update(m) for m in metrics[:split]]
        saved = json.loads(json.dumps(first.state_dict()))  # plain scalars only
        fresh = schedule_from_config(first.get_config())
        fresh.load_state_dict(saved)
        assert fresh(split) == first(split)
        got += [fresh.update(m) for m in metrics[split:]]
        assert got == expected, f"resumed after {split} epochs"


def test_schedules_config_roundtrip_and_registry():
    schedules = [
        Constant(0.1),
        StepDecay(0.1, step_size=3, gamma=0.5),
        ExponentialDecay(0.1, gamma=0.95),
        InverseScaling(0.1, power_t=0.25),
        CosineWarmup(0.1, total_epochs=20, warmup_epochs=3, min_lr=0.001),
        ReduceOnPlateau(0.1, factor=0.2, patience=3, min_delta=0.01, min_lr=1e-5, mode="max"),
    ]
    assert {s.get_config()["name"] for s in schedules} == set(SCHEDULES)
    for sched in schedules:
        cfg = json.loads(json.dumps(sched.get_config()))
        again = schedule_from_config(cfg)
        assert type(again) is type(sched) and again.get_config() == sched.get_config()
        assert [again(e) for e in range(25)] == [sched(e) for e in range(25)]
        name = cfg.pop("name")
        assert get_schedule(name, **cfg).get_config() == sched.get_config()
        assert get_schedule(sched) is sched
    with pytest.raises(ValueError) as info:
        get_schedule("warm_restarts")
    for name in SCHEDULES:
        assert name in str(info.value)


@pytest.mark.parametrize(
    "factory, param",
    [
        (lambda: Constant(0.0), "lr"),
        (lambda: StepDecay(0.1, step_size=0), "step_size"),
        (lambda: StepDecay(0.1, step_size=2, gamma=0.0), "gamma"),
        (lambda: ExponentialDecay(0.1, gamma=-0.5), "gamma"),
        (lambda: InverseScaling(0.1, power_t=-1.0), "power_t"),
        (lambda: CosineWarmup(0.1, total_epochs=0), "total_epochs"),
        (lambda: CosineWarmup(0.1, total_epochs=5, warmup_epochs=5), "warmup_epochs"),
        (lambda: CosineWarmup(0.1, total_epochs=5, min_lr=0.2), "min_lr"),
        (lambda: ReduceOnPlateau(0.1, factor=1.0), "factor"),
        (lambda: ReduceOnPlateau(0.1, patience=-1), "patience"),
        (lambda: ReduceOnPlateau(0.1, min_delta=-1.0), "min_delta"),
        (lambda: ReduceOnPlateau(0.1, mode="lowest"), "mode"),
        (lambda: Constant(0.1)(-1), "epoch"),
    ],
)
def test_schedule_bad_arguments_name_the_parameter(factory, param):
    with pytest.raises(ValueError, match=param):
        factory()


def test_schedule_drives_optimizer_lr():
    """The training loop sets ``optimizer.lr = schedule(epoch)`` before each epoch."""
    sched = StepDecay(0.1, step_size=2, gamma=0.5)
    opt = SGD(lr=sched.lr)
    W = np.zeros((2, 2))
    for epoch in range(4):
        opt.lr = sched(epoch)
        before = W.copy()
        opt.step([(W, np.ones((2, 2)))])
        np.testing.assert_allclose(before - W, sched(epoch))
