"""Where deltaprop's training time goes: matrix products, elementwise work, the optimizer,
batching and the rest of the loop (Python overhead), per benchmark configuration.

    python benchmarks/profile_step.py            # manual timers for the four rows
    python benchmarks/profile_step.py --cprofile # plus the top functions of cProfile
    git archive <commit> src | tar -x -C /tmp/old
    python benchmarks/profile_step.py --compare /tmp/old/src   # before/after, interleaved
    python benchmarks/profile_step.py --paths numpy,numba      # the reference vs the kernels
    python benchmarks/profile_step.py --layer-steps   # the step inside the sweep vs after it

Method. One epoch of ``net.fit`` (Adam, softmax + cross-entropy, float32, the benchmark's
data) is timed as it is, and divided by its number of batches: the time of one step. Then
the same epoch runs again with timers around the parts, in place (the caches and the
memory traffic are those of real training):

* products: every ``np.matmul`` of the network (forward ``x @ W``, ``x.T @ delta``,
  ``delta @ W.T``), with the BLAS thread choice of ``deltaprop.kernels.matmul``;
* elementwise: ``net.backprop`` minus its products (bias, activations, softmax,
  loss, output delta, bias gradients: fused kernels or NumPy passes);
* optimizer: ``opt.step(params)``, or the optimizer's steps taken layer by layer inside
  ``net.backprop`` (``LayerSteps.begin`` and ``.layer``);
* batching: the shuffled gathers of the batches (``kernels.take_rows``, or ``np.take``);
* rest: the epoch minus all of the above: the training loop's own Python work (loss check,
  running metric, progress, callbacks) and the once-per-fit and once-per-epoch work (input
  checks, one-hot targets, the divergence guard's snapshot, the optimizer's state).

The timers cost about 0.3 us per timed call, which the instrumented epoch includes. Each
figure is the median over three epochs; with ``--compare`` the two versions alternate epoch by
epoch, so that a slow phase of a shared machine hits both.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import CONFIGS, make_data  # noqa: E402

import deltaprop  # noqa: E402

PARTS = ("products", "elementwise", "optimizer", "batching", "rest")


def load_other(src):
    """Another copy of deltaprop (e.g. an older commit's ``src/``), as ``deltaprop_other``,
    to compare with in the same process, epoch by epoch."""
    import importlib.util

    path = os.path.join(os.path.abspath(src), "deltaprop")
    spec = importlib.util.spec_from_file_location(
        "deltaprop_other", os.path.join(path, "__init__.py"), submodule_search_locations=[path])
    module = importlib.util.module_from_spec(spec)
    sys.modules["deltaprop_other"] = module
    spec.loader.exec_module(module)
    return module


class _TimedNumpy:
    """Stands in for the ``np`` of a deltaprop module: times ``matmul`` and ``take``."""

    def __init__(self, totals, take=True):
        self._totals = totals
        if not take:
            self.take = np.take

    def __getattr__(self, name):
        return getattr(np, name)

    def _timed(self, part, fn, *args, **kwargs):
        t0 = time.perf_counter()
        result = fn(*args, **kwargs)
        self._totals[part] += time.perf_counter() - t0
        return result

    def matmul(self, *args, **kwargs):
        return self._timed("products", np.matmul, *args, **kwargs)

    def take(self, *args, **kwargs):
        return self._timed("batching", np.take, *args, **kwargs)


def _instrumented_epoch(pkg, net, fit):
    """Per-part seconds of one epoch, measured in place."""
    totals = dict.fromkeys(("products", "batching", "fb", "optimizer"), 0.0)
    timed_np = _TimedNumpy(totals)
    # This version's seam, or that of a version before the layer protocol (--compare).
    method = "backprop" if hasattr(net, "backprop") else "_loss_and_gradients"
    inner = getattr(net, method)
    modules = [pkg.training, pkg.layers.dense if hasattr(pkg, "layers") else pkg.network]

    def loss_and_gradients(*args, **kwargs):
        t0 = time.perf_counter()
        J = inner(*args, **kwargs)
        totals["fb"] += time.perf_counter() - t0
        return J

    opt = pkg.optimizers.Adam(lr=1e-3)
    inner_step = opt.step

    def step(params):
        t0 = time.perf_counter()
        inner_step(params)
        totals["optimizer"] += time.perf_counter() - t0

    opt.step = step
    totals["optimizer in backprop"] = 0.0
    inner_layer_steps = getattr(opt, "layer_steps", None)
    if inner_layer_steps is not None:  # the step taken layer by layer, inside backprop
        def layer_steps(store):
            steps = inner_layer_steps(store)
            return None if steps is None else _TimedSteps(steps, totals)

        opt.layer_steps = layer_steps
    setattr(net, method, loss_and_gradients)
    for module in modules:
        module.np = timed_np
    kern = getattr(pkg, "kernels", None)
    if kern is not None:  # the products and the gathers go through deltaprop.kernels
        inner_take = kern.take_rows

        def take_rows(*args):
            t0 = time.perf_counter()
            out = inner_take(*args)
            totals["batching"] += time.perf_counter() - t0
            return out

        kern.np = _TimedNumpy(totals, take=False)
        kern.take_rows = take_rows
    try:
        t0 = time.perf_counter()
        fit(opt)
        epoch = time.perf_counter() - t0
    finally:
        for module in modules:
            module.np = np
        if kern is not None:
            kern.np = np
            kern.take_rows = inner_take
        delattr(net, method)
    inside = totals["optimizer in backprop"]
    return {"products": totals["products"],
            "elementwise": totals["fb"] - totals["products"] - inside,
            "optimizer": totals["optimizer"] + inside, "batching": totals["batching"],
            "rest": epoch - totals["fb"] - totals["optimizer"] - totals["batching"],
            "epoch": epoch}


class _TimedSteps:
    """Stands in for an optimizer's LayerSteps: times begin() and layer(k)."""

    def __init__(self, steps, totals):
        self._steps, self._totals = steps, totals

    def begin(self):
        t0 = time.perf_counter()
        self._steps.begin()
        self._totals["optimizer in backprop"] += time.perf_counter() - t0

    def layer(self, k):
        t0 = time.perf_counter()
        self._steps.layer(k)
        self._totals["optimizer in backprop"] += time.perf_counter() - t0


def profile_config(cfg, n_samples, packages, cprofile=False, repeats=3):
    """Alternate the packages epoch by epoch; print each one's median step and parts."""
    X, y = make_data(cfg, n_samples)
    n_batches = -(-n_samples // cfg.batch)
    runs = {}
    for label, pkg, mode, layer_steps in packages:
        net = pkg.MLP(list(cfg.sizes), activation="relu", output="softmax",
                      loss="cross_entropy", dtype="float32", seed=0)

        def fit(opt=None, pkg=pkg, net=net, mode=mode, layer_steps=layer_steps):
            if mode is not None:
                pkg.kernels.use(mode)
            if layer_steps is not None:
                pkg.training.LAYER_STEPS = layer_steps
            net.fit(X, y, optimizer=opt or pkg.optimizers.Adam(lr=1e-3), epochs=1,
                    batch_size=cfg.batch, verbose=0, seed=0)

        fit()
        runs[label] = (pkg, net, fit, [], [])
    for _ in range(repeats):
        for label, (pkg, net, fit, plain, parts) in runs.items():
            t0 = time.perf_counter()
            fit()
            plain.append(time.perf_counter() - t0)
            parts.append(_instrumented_epoch(pkg, net, fit))
    print(f"\n{cfg.name}: {n_samples} samples, {n_batches} steps per epoch")
    for label, (pkg, net, fit, plain, parts) in runs.items():
        step = statistics.median(plain) / n_batches
        med = {k: statistics.median(r[k] for r in parts) / n_batches for k in PARTS + ("epoch",)}
        total = med.pop("epoch")
        print(f"  {label}: step {step * 1e6:.0f} us ({cfg.batch / step / 1e3:.1f}k samples/s); "
              f"instrumented {total * 1e6:.0f} us:")
        for name in PARTS:
            print(f"    {name:<12} {med[name] * 1e6:9.1f} us  {med[name] / total:6.1%}")
        if cprofile:
            pr = cProfile.Profile()
            pr.enable()
            fit()
            pr.disable()
            pstats.Stats(pr).sort_stats("tottime").print_stats(12)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cprofile", action="store_true", help="also print cProfile's top functions")
    ap.add_argument("--rows", default=None, help="comma-separated row numbers (1-4)")
    ap.add_argument("--repeats", type=int, default=3, help="epochs per package (median)")
    ap.add_argument("--compare", metavar="SRC", default=None,
                    help="also profile the deltaprop package under SRC (e.g. an old "
                         "commit's src/ from `git archive`), alternating epoch by epoch")
    ap.add_argument("--paths", default=None,
                    help="comma-separated kernel paths of this deltaprop to alternate "
                         "(numpy, numba; default: the one deltaprop.kernels picks)")
    ap.add_argument("--layer-steps", action="store_true",
                    help="alternate the optimizer's step layer by layer inside the backward "
                         "sweep (training.LAYER_STEPS) with the step after it")
    args = ap.parse_args(argv)
    modes = [None] if args.paths is None else [m.strip() for m in args.paths.split(",")]
    steps = [None] if not args.layer_steps else [True, False]
    packages = [(f"this deltaprop{'' if m is None else ', ' + m + ' path'}"
                 + ("" if ls is None else f", layer steps {'on' if ls else 'off'}"),
                 deltaprop, m, ls) for m in modes for ls in steps]
    if args.compare:
        packages.insert(0, (f"deltaprop from {args.compare}", load_other(args.compare), None,
                            None))
    rows = range(len(CONFIGS)) if args.rows is None else [int(i) - 1 for i in args.rows.split(",")]
    for i in rows:
        profile_config(CONFIGS[i], CONFIGS[i].n_train, packages, cprofile=args.cprofile,
                       repeats=args.repeats)


if __name__ == "__main__":
    main()
