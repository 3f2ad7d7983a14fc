"""Training and prediction throughput of deltaprop against PyTorch, scikit-learn and a
plain NumPy loop, with the matrix-multiply roofline and peak memory.

    python benchmarks/bench.py            # full run (about 4 minutes on 2 cores)
    python benchmarks/bench.py --quick    # short run (about 1 minute), no RSS subprocesses
    python benchmarks/bench.py --rows 1 --no-sweep --no-memory   # one row only
    python benchmarks/profile_step.py     # where deltaprop's time goes (docs/performance.md)
    python benchmarks/bench.py --help

Every framework trains the same architecture (ReLU hidden layers, softmax output,
cross-entropy) with Adam (lr 1e-3, betas 0.9/0.999, eps 1e-8), the same batch size,
shuffling every epoch, on the same random float32 data. One timed run is one epoch
(for deltaprop ``net.fit(..., epochs=1)`` and for scikit-learn ``MLPClassifier(max_iter=1)
.fit``, both including their input checks; for PyTorch and the NumPy loop the epoch loop
itself). The frameworks are alternated within each round (the order rotates from round to
round) and the run is repeated for several rounds; the table gives medians, and each
ratio is the median of the per-round ratios, so that slow phases of a shared machine hit
both sides of a ratio alike.

Roofline: FLOPs per training sample are counted as 3 x 2 x sum(n_in * n_out): the forward
product, the product back to the layer input and the weight-gradient product (the first
layer needs no product back to the input, so the true count is a little lower; the
convention is the usual one and is kept for comparability). The share of the roofline is
(FLOPs per sample x samples/s) / (float32 matmul FLOP/s). The matmul FLOP/s ("peak") is
measured with a large square ``np.matmul`` at the start and again, briefly (1536^3), in
every round next to the training runs; the share is the median over the rounds of each
round's rate over that round's peak, so that a slow phase of a shared machine lowers both.
The "vs GEMM" column compares with the very products of one training step at the row's
own shapes, timed after the rounds.

Products only: in every round, the matrix products of one training step at the row's shapes
and dtype (forward ``x @ W``, ``x.T @ delta`` and, but for the first layer, ``delta @ W.T``)
are timed alone, each on one BLAS thread and on all of them, the faster counted: the
machine's limit for a step. Each framework's step time (epoch time / batches) is reported as
a multiple of it (median of the per-round multiples).

The limit: a step cannot be faster than its products plus the optimizer's memory traffic
(Adam reads p, g, m, v and writes p, m, v: 7 x itemsize bytes per parameter, 28 in
float32). In every round a stream bandwidth is measured (a NumPy add over 64 MiB float32
arrays, STREAM's byte count), and the limit of the round is products only + optimizer
bytes / bandwidth; each framework's step is reported as a multiple of it (``x limit``,
the median of the per-round multiples). Where the optimizer's arrays fit in the caches the
true floor is lower, so the multiple can be below 1 there.

Prediction: ``predict_proba`` (PyTorch: ``softmax(model(X))``) of the whole training set,
returned as a NumPy array, timed alike for every framework: one call to warm up, then the
median of three (``predict_seconds``); the ratio is deltaprop's rate over the faster of
PyTorch and scikit-learn, the median of the per-round ratios.

Width sweep (``--no-sweep`` skips it): 784-w-w-10 for w = 64 ... 2048, batch 128, float32:
samples/s of deltaprop, PyTorch and scikit-learn (median of a few rounds, frameworks
alternating), printed and plotted to ``docs/img/width_sweep.png`` (``--plot``).

The kernels: deltaprop runs with whatever ``deltaprop.kernels`` picks (the fused Numba
kernels when Numba is installed); ``DELTAPROP_KERNELS=numpy`` benchmarks the reference path.

Memory: ``tracemalloc`` (NumPy reports its allocations to it) traces deltaprop's, the
NumPy loop's and scikit-learn's allocations during a fit; a subprocess per framework
reports the RSS high-water mark (``VmHWM``) against the RSS before training.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
import warnings
from dataclasses import dataclass

import numpy as np

FRAMEWORKS = ("deltaprop", "torch", "sklearn", "numpy")
LR, BETA_1, BETA_2, EPS = 1e-3, 0.9, 0.999, 1e-8


@dataclass(frozen=True)
class Config:
    sizes: tuple
    batch: int
    n_train: int  # samples per epoch in a full run
    n_quick: int  # samples per epoch with --quick
    dtype: str = "float32"

    @property
    def name(self):
        extra = "" if self.dtype == "float32" else f", {self.dtype}"
        return "-".join(map(str, self.sizes)) + f", batch {self.batch}" + extra

    @property
    def key(self):
        extra = "" if self.dtype == "float32" else "/f64"
        return "-".join(map(str, self.sizes)) + f"/b{self.batch}" + extra

    @property
    def itemsize(self):
        return np.dtype(self.dtype).itemsize

    def flops_per_sample(self):
        """Training FLOPs per sample by the 3 x 2 x sum(n_in n_out) convention."""
        return 6 * sum(a * b for a, b in zip(self.sizes, self.sizes[1:]))

    def n_params(self):
        return sum(a * b + b for a, b in zip(self.sizes, self.sizes[1:]))


CONFIGS = (
    Config((784, 256, 128, 10), 128, 16384, 4096),
    Config((784, 256, 128, 10), 32, 8192, 2048),
    Config((64, 32, 10), 32, 32768, 8192),
    Config((784, 1024, 1024, 10), 256, 8192, 2048),
    Config((784, 256, 128, 10), 128, 8192, 2048, dtype="float64"),
)
SWEEP_WIDTHS = (64, 128, 256, 512, 1024, 2048)
SWEEP_FRAMEWORKS = ("deltaprop", "torch", "sklearn")

# Targets: (row, framework) -> minimum ratio deltaprop / framework; row -> minimum share of
# the matmul peak; row -> largest multiple of the products-only step time.
RATIO_TARGETS = {
    ("784-256-128-10/b128", "torch"): 1.8,
    ("784-256-128-10/b32", "torch"): 2.5,
    ("784-1024-1024-10/b256", "torch"): 1.15,
    ("64-32-10/b32", "torch"): 6.0, ("64-32-10/b32", "sklearn"): 3.0,
}
ROOFLINE_TARGETS = {"784-1024-1024-10/b256": 0.85}
PRODUCTS_TARGETS = {"784-256-128-10/b128": 1.3, "784-1024-1024-10/b256": 1.1}
# Row -> largest multiple of the limit (products only + optimizer bytes / stream bandwidth).
LIMIT_TARGETS = {"784-256-128-10/b128": 1.15, "784-256-128-10/b32": 1.15,
                 "784-1024-1024-10/b256": 1.15}
# Prediction: deltaprop's rows/s over the faster of these peers, on every row.
PREDICT_PEERS = ("torch", "sklearn")
PREDICT_TARGET = 1.2


# --------------------------------------------------------------------------- machine
def blas_threads():
    """Threads of NumPy's BLAS (threadpoolctl when available, else the CPU count)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return os.cpu_count() or 1, "threadpoolctl not installed: assumed os.cpu_count()"
    for info in threadpool_info():
        if info.get("user_api") == "blas" and "numpy" in info.get("filepath", ""):
            return int(info["num_threads"]), f"{info['internal_api']} {info.get('version')}"
    for info in threadpool_info():
        if info.get("user_api") == "blas":
            return int(info["num_threads"]), f"{info['internal_api']} {info.get('version')}"
    return os.cpu_count() or 1, "BLAS not found by threadpoolctl: assumed os.cpu_count()"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_description(threads, blas):
    import sklearn
    import torch

    return {
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas,
        "blas_threads": threads,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "sklearn": sklearn.__version__,
        "platform": platform.platform(),
    }


# --------------------------------------------------------------------------- matmul rate
def _best_rate(fn, flops, min_time=0.2, repeats=5):
    """Best FLOP/s over ``repeats`` timings, each looping ``fn`` for ``min_time`` seconds."""
    fn()
    best = 0.0
    for _ in range(repeats):
        n, t0 = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            dt = time.perf_counter() - t0
            if dt >= min_time:
                break
        best = max(best, n * flops / dt)
    return best


def sgemm_peak(n=2048, quick=False, min_time=None, repeats=None, dtype="float32"):
    """FLOP/s of a large square matmul (``np.matmul`` with ``out=``), float32 by default."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    c = np.empty((n, n), dtype=dtype)
    return _best_rate(lambda: np.matmul(a, b, out=c), 2.0 * n**3,
                      min_time=min_time or (0.3 if quick else 0.6),
                      repeats=repeats or (3 if quick else 5))


def round_peak(dtype="float32"):
    """A short matmul-peak measurement taken in every round, next to the training runs, so
    that a slow phase of a shared machine lowers both sides of the roofline share."""
    return sgemm_peak(n=1536, min_time=0.08, repeats=2, dtype=dtype)


def stream_bandwidth(n=1 << 24, repeats=3):
    """Bytes/s of a large NumPy add ``a = b + c`` over float32 arrays of ``n`` elements
    (64 MiB each by default, beyond the caches): 3 x 4n bytes moved per pass (STREAM's
    "add"; the write-allocate read of ``a`` is not counted, as in STREAM). The best of
    ``repeats`` passes."""
    b = np.ones(n, np.float32)
    c = np.ones(n, np.float32)
    a = np.empty(n, np.float32)
    np.add(b, c, out=a)
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.add(b, c, out=a)
        best = min(best, time.perf_counter() - t0)
    return 3 * a.nbytes / best


def optimizer_bytes(cfg):
    """Bytes of memory traffic of one Adam step over the row's parameters: read p, g, m, v
    and write p, m, v (7 x itemsize per parameter: 28 bytes in float32)."""
    return 7 * cfg.itemsize * cfg.n_params()


def _step_products(cfg, rng):
    """The (a, b, out) of every product of one training step at cfg's shapes and dtype,
    and the step's true FLOPs."""
    n, dt = cfg.batch, cfg.dtype
    ops, flops = [], 0
    for k, (a, b) in enumerate(zip(cfg.sizes, cfg.sizes[1:])):
        x = rng.standard_normal((n, a)).astype(dt)
        W = rng.standard_normal((a, b)).astype(dt)
        d = rng.standard_normal((n, b)).astype(dt)
        ops += [(x, W, np.empty((n, b), dt)), (x.T, d, np.empty((a, b), dt))]
        flops += 4 * n * a * b
        if k > 0:
            ops.append((d, W.T, np.empty((n, a), dt)))
            flops += 2 * n * a * b
    return ops, flops


def _blas_setter():
    """(get, set) of NumPy's BLAS thread count through threadpoolctl, or None."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    ctl = ThreadpoolController().select(user_api="blas")
    libs = [lib for lib in ctl.lib_controllers if "numpy" in lib.filepath] or ctl.lib_controllers
    if not libs:
        return None
    lib = libs[0]
    return lib.get_num_threads, lib.set_num_threads


class ProductsOnly:
    """The products of one training step alone, at the row's shapes: each product timed on
    one BLAS thread and on all, the faster counted (the machine's limit for a step)."""

    def __init__(self, cfg):
        self.ops, self.flops = _step_products(cfg, np.random.default_rng(1))
        self.blas = _blas_setter()

    def seconds(self, repeats=3, min_time=0.01):
        total = 0.0
        threads = self.blas[0]() if self.blas else 1
        counts = (1, threads) if threads > 1 else (threads,)
        try:
            for a, b, c in self.ops:
                best = math.inf
                for t in counts:
                    if self.blas:
                        self.blas[1](t)
                    np.matmul(a, b, out=c)
                    for _ in range(repeats):
                        k, t0 = 0, time.perf_counter()
                        while True:
                            np.matmul(a, b, out=c)
                            k += 1
                            dt = time.perf_counter() - t0
                            if dt >= min_time:
                                break
                        best = min(best, dt / k)
                total += best
        finally:
            if self.blas:
                self.blas[1](threads)
        return total


def gemm_rate_at_shapes(cfg, quick=False):
    """FLOP/s of the products of one training step at this row's shapes: per layer the
    forward ``x @ W``, the weight gradient ``x.T @ delta`` and (not for the first layer)
    the product back to the input ``delta @ W.T``. Returns (FLOP/s, true FLOPs/sample)."""
    n = cfg.batch
    ops, flops = _step_products(cfg, np.random.default_rng(1))

    def step():
        for a, b, c in ops:
            np.matmul(a, b, out=c)

    rate = _best_rate(step, flops, min_time=0.15 if quick else 0.3, repeats=3 if quick else 5)
    return rate, flops / n


# --------------------------------------------------------------------------- data
def make_data(cfg, n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, cfg.sizes[0])).astype(cfg.dtype)
    y = rng.integers(0, cfg.sizes[-1], size=n)
    return X, y


# --------------------------------------------------------------------------- frameworks
class DeltapropRunner:
    name = "deltaprop"

    def __init__(self, cfg, X, y):
        import deltaprop as dp

        self.dp, self.cfg, self.X, self.y = dp, cfg, X, y
        self.net = None

    def build(self, seed):
        self.net = self.dp.MLP(list(self.cfg.sizes), activation="relu", output="softmax",
                               loss="cross_entropy", dtype=self.cfg.dtype, seed=seed)
        self.seed = seed

    def train_epoch(self):
        opt = self.dp.optimizers.Adam(lr=LR, beta_1=BETA_1, beta_2=BETA_2, eps=EPS)
        self.net.fit(self.X, self.y, optimizer=opt, epochs=1, batch_size=self.cfg.batch,
                     shuffle=True, verbose=0, seed=self.seed)

    def predict(self, X):
        return self.net.predict_proba(X)

    def dtype(self):
        return str(self.net.layers[0].W.dtype)


class NumpyRunner:
    """A plain NumPy loop: what a careful hand-written script does (preallocated buffers,
    in-place ufuncs, Adam per array). The reference of the issue's "plain NumPy" column."""

    name = "numpy"

    def __init__(self, cfg, X, y):
        self.cfg, self.X, self.y = cfg, X, y
        self.dt = np.dtype(cfg.dtype)

    def build(self, seed):
        rng = np.random.default_rng(seed)
        self.params = []
        for a, b in zip(self.cfg.sizes, self.cfg.sizes[1:]):
            self.params.append(rng.normal(0, math.sqrt(2 / a), (a, b)).astype(self.dt))
            self.params.append(np.zeros(b, self.dt))
        self.seed = seed

    def train_epoch(self):
        X, y, bs = self.X, self.y, self.cfg.batch
        n = len(X)
        params = self.params
        Ws, bs_ = params[0::2], params[1::2]
        grads = [np.empty_like(p) for p in params]
        gWs, gbs = grads[0::2], grads[1::2]
        m = [np.zeros_like(p) for p in params]
        v = [np.zeros_like(p) for p in params]
        tmp = [np.empty_like(p) for p in params]
        L = len(Ws)
        acts = [np.empty((bs, W.shape[1]), self.dt) for W in Ws]
        gins = [np.empty((bs, W.shape[0]), self.dt) for W in Ws]
        Xb_buf = np.empty((bs, X.shape[1]), self.dt)
        order = np.random.default_rng(self.seed).permutation(n)
        t = 0
        total = 0.0
        for lo in range(0, n, bs):
            idx = order[lo:lo + bs]
            nb = len(idx)
            h = [np.take(X, idx, axis=0, out=Xb_buf[:nb])]
            yb = y[idx]
            for k in range(L):
                z = np.matmul(h[-1], Ws[k], out=acts[k][:nb])
                z += bs_[k]
                if k < L - 1:
                    np.maximum(z, 0, out=z)
                h.append(z)
            z = h[-1]  # logits -> softmax probabilities in place
            z -= z.max(axis=1, keepdims=True)
            np.exp(z, out=z)
            z /= z.sum(axis=1, keepdims=True)
            rows = np.arange(nb)
            total -= float(np.log(z[rows, yb]).sum())
            z[rows, yb] -= 1.0
            z *= 1.0 / nb
            d = z
            for k in range(L - 1, -1, -1):
                np.matmul(h[k].T, d, out=gWs[k])
                np.sum(d, axis=0, out=gbs[k])
                if k > 0:
                    d_in = np.matmul(d, Ws[k].T, out=gins[k][:nb])
                    d_in *= h[k] > 0
                    d = d_in
            t += 1
            c1, c2 = 1 - BETA_1**t, math.sqrt(1 - BETA_2**t)
            for p, g, mi, vi, s in zip(params, grads, m, v, tmp):
                mi *= BETA_1
                mi += (1 - BETA_1) * g
                vi *= BETA_2
                np.multiply(g, g, out=s)
                s *= 1 - BETA_2
                vi += s
                np.sqrt(vi, out=s)
                s /= c2
                s += EPS
                np.divide(mi, s, out=s)
                s *= LR / c1
                p -= s
        self.loss = total / n

    def predict(self, X):
        h = X
        L = len(self.params) // 2
        for k in range(L):
            h = h @ self.params[2 * k] + self.params[2 * k + 1]
            if k < L - 1:
                np.maximum(h, 0, out=h)
        h -= h.max(axis=1, keepdims=True)
        np.exp(h, out=h)
        h /= h.sum(axis=1, keepdims=True)
        return h

    def dtype(self):
        return str(self.params[0].dtype)


class TorchRunner:
    name = "torch"

    def __init__(self, cfg, X, y):
        import torch

        self.torch, self.cfg = torch, cfg
        self.X = torch.from_numpy(X)
        self.y = torch.from_numpy(y.astype(np.int64))

    def build(self, seed):
        torch = self.torch
        torch.manual_seed(seed)
        layers = []
        sizes = self.cfg.sizes
        for k, (a, b) in enumerate(zip(sizes, sizes[1:])):
            layers.append(torch.nn.Linear(a, b))
            if k < len(sizes) - 2:
                layers.append(torch.nn.ReLU())
        self.model = torch.nn.Sequential(*layers).to(getattr(torch, self.cfg.dtype))
        self.gen = torch.Generator().manual_seed(seed)

    def train_epoch(self):
        torch, bs = self.torch, self.cfg.batch
        model, X, y = self.model, self.X, self.y
        opt = torch.optim.Adam(model.parameters(), lr=LR, betas=(BETA_1, BETA_2), eps=EPS)
        loss_fn = torch.nn.functional.cross_entropy
        n = len(X)
        order = torch.randperm(n, generator=self.gen)
        total = 0.0
        for lo in range(0, n, bs):
            idx = order[lo:lo + bs]
            xb, yb = X[idx], y[idx]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        self.loss = total / n

    def predict(self, X):
        torch = self.torch
        with torch.no_grad():
            return torch.softmax(self.model(torch.from_numpy(X)), dim=1).numpy()

    def dtype(self):
        return str(next(self.model.parameters()).dtype).replace("torch.", "")


class SklearnRunner:
    name = "sklearn"

    def __init__(self, cfg, X, y):
        from sklearn.neural_network import MLPClassifier

        self.cls, self.cfg, self.X, self.y = MLPClassifier, cfg, X, y

    def build(self, seed):
        self.model = self.cls(hidden_layer_sizes=self.cfg.sizes[1:-1], activation="relu",
                              solver="adam", batch_size=self.cfg.batch, learning_rate_init=LR,
                              beta_1=BETA_1, beta_2=BETA_2, epsilon=EPS, alpha=0.0, tol=0.0,
                              max_iter=1, shuffle=True, random_state=seed,
                              n_iter_no_change=10**9)

    def train_epoch(self):
        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model.fit(self.X, self.y)

    def predict(self, X):
        return self.model.predict_proba(X)

    def dtype(self):
        return str(self.model.coefs_[0].dtype)


RUNNERS = {r.name: r for r in (DeltapropRunner, TorchRunner, SklearnRunner, NumpyRunner)}


# --------------------------------------------------------------------------- timing
def time_training(cfg, frameworks, rounds, n, seed=0, log=print, extras=True):
    """Per framework, the samples/s of each round (frameworks alternate within a round);
    with ``extras`` also each round's prediction rate, products-only step and stream
    bandwidth (the under-load runs and the width sweep leave them out)."""
    X, y = make_data(cfg, n, seed)
    runners = {f: RUNNERS[f](cfg, X, y) for f in frameworks}
    warm = {f: RUNNERS[f](cfg, X[: 8 * cfg.batch], y[: 8 * cfg.batch]) for f in frameworks}
    for f, r in warm.items():  # first calls: imports, BLAS threads, allocator
        r.build(seed)
        r.train_epoch()
    rates = {f: [] for f in frameworks}
    predict = {f: [] for f in frameworks}
    peaks, products, bandwidths = [], [], []
    dtypes = {}
    only = ProductsOnly(cfg)
    for rnd in range(rounds):
        peaks.append(round_peak(cfg.dtype))
        if extras:
            products.append(only.seconds())
            bandwidths.append(stream_bandwidth())
        order = frameworks[rnd % len(frameworks):] + frameworks[: rnd % len(frameworks)]
        for f in order:
            r = runners[f]
            r.build(seed + rnd)
            gc.collect()
            t0 = time.perf_counter()
            r.train_epoch()
            dt = time.perf_counter() - t0
            rates[f].append(n / dt)
            if extras:
                predict[f].append(n / predict_seconds(r, X))
            dtypes[f] = r.dtype()
        log("  round %d: " % (rnd + 1)
            + ", ".join(f"{f} {rates[f][-1] / 1e3:.1f}k/s" for f in frameworks)
            + f"; matmul peak {peaks[-1] / 1e9:.0f} GFLOP/s"
            + (f"; products only {products[-1] * 1e6:.0f} us/step"
               f"; stream {bandwidths[-1] / 1e9:.1f} GB/s" if extras else ""))
    return rates, predict, dtypes, peaks, products, bandwidths


def predict_seconds(runner, X, repeats=3):
    """The time of ``runner.predict(X)`` (probabilities of the whole set, as a NumPy
    array), timed alike for every framework: one call to warm up (first-call costs: a
    fresh model's work arrays, the allocator), then the median of ``repeats`` calls."""
    runner.predict(X)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        runner.predict(X)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# --------------------------------------------------------------------------- memory
def _rss_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return float("nan")


def _reset_hwm():
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where that is not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def rss_child(framework, rows, quick):
    """Subprocess entry: per row, train one epoch and print the RSS before training and the
    high-water mark during it (reset between rows), as JSON lines."""
    _set_torch_threads(blas_threads()[0])
    for i in rows:
        cfg = CONFIGS[i]
        X, y = make_data(cfg, cfg.n_quick if quick else cfg.n_train)
        r = RUNNERS[framework](cfg, X, y)
        r.build(0)
        gc.collect()
        reset = _reset_hwm()
        before = _rss_kib("VmRSS")
        r.train_epoch()
        print(json.dumps({"row": i, "rss_before_kib": before, "hwm_kib": _rss_kib("VmHWM"),
                          "hwm_reset": reset}), flush=True)
        del r, X, y


def rss_in_subprocess(framework, rows, quick):
    """{row: {"rss_before_kib", "hwm_kib"}} from one subprocess per framework (one per row
    where the high-water mark cannot be reset)."""
    def run(rows_):
        cmd = [sys.executable, os.path.abspath(__file__), "--_rss-child", framework,
               ",".join(map(str, rows_))] + (["--quick"] if quick else [])
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]

    lines = run(rows)
    if lines and not lines[0]["hwm_reset"]:
        lines = [run([i])[0] for i in rows]
    return {d["row"]: d for d in lines}


def traced_peak(cfg, framework, n, epochs=1, rollback=True):
    """tracemalloc (NumPy reports its buffers to it): the peak of new allocations during
    ``epochs`` epochs of training, beyond the data and the built model, and what is still
    allocated after each epoch (growth from epoch to epoch would show there)."""
    X, y = make_data(cfg, n)
    r = RUNNERS[framework](cfg, X, y)
    r.build(0)
    gc.collect()
    tracemalloc.start()
    try:
        after = []
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        if framework == "deltaprop":
            import deltaprop as dp

            def record(epoch, logs):
                after.append(tracemalloc.get_traced_memory()[0] - base)

            cb = dp.LambdaCallback(on_epoch_end=record)
            opt = dp.optimizers.Adam(lr=LR, beta_1=BETA_1, beta_2=BETA_2, eps=EPS)
            r.net.fit(X, y, optimizer=opt, epochs=epochs, batch_size=cfg.batch, verbose=0,
                      seed=0, callbacks=[cb], rollback=rollback)
        else:
            for _ in range(epochs):
                r.train_epoch()
                after.append(tracemalloc.get_traced_memory()[0] - base)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return {"peak_new": peak, "alive_after_epochs": after, "data": X.nbytes + y.nbytes}


# --------------------------------------------------------------------------- under load
NIELSEN = Config((784, 100, 10), 10, 10000, 2000)


def under_load(cfgs, frameworks, rounds, quick, log=print):
    """Each configuration timed twice: as it is, and with a competing CPU-bound process
    (``python -c "while True: pass"``) running. Per framework: the median samples/s both
    ways and the slowdown (as it is / loaded)."""
    out = {}
    log(f"\nunder load: each row as it is and beside one busy process, {rounds} rounds")
    for cfg in cfgs:
        n = cfg.n_quick if quick else cfg.n_train
        rates = {}
        for state in ("as it is", "loaded"):
            busy = None
            if state == "loaded":
                busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            try:
                rates[state] = time_training(cfg, frameworks, rounds, n, log=lambda *_: None,
                                             extras=False)[0]
            finally:
                if busy is not None:
                    busy.kill()
                    busy.wait()
        row = {f: {"idle": _med(rates["as it is"][f]), "loaded": _med(rates["loaded"][f])}
               for f in frameworks}
        out[cfg.key] = row
        log(f"  {cfg.name} ({n} samples): " + "; ".join(
            f"{f} {fmt_rate(r['idle'])}/s -> {fmt_rate(r['loaded'])}/s "
            f"(slowdown {r['idle'] / r['loaded']:.2f}x)" for f, r in row.items()))
    return out


# --------------------------------------------------------------------------- width sweep
def width_sweep(frameworks, rounds, quick, log=print):
    """784-w-w-10, batch 128, float32, for every w of SWEEP_WIDTHS: per framework the
    median samples/s over the rounds (frameworks alternating within a round), and
    deltaprop's ratio to each other one as everywhere else: the median of per-round ratios."""
    out = {"widths": list(SWEEP_WIDTHS), "rates": {f: [] for f in frameworks}, "n": [],
           "ratios": {f: [] for f in frameworks if f != "deltaprop"}}
    log(f"\nwidth sweep: 784-w-w-10, batch 128, float32, {rounds} rounds")
    for w in SWEEP_WIDTHS:
        flops = 6 * (784 * w + w * w + 10 * w)
        n = int(min(16384, max(1024, (1.5e9 if quick else 4e9) / flops))) // 128 * 128
        cfg = Config((784, w, w, 10), 128, n, n)
        rates = time_training(cfg, frameworks, rounds, n, log=lambda *_: None, extras=False)[0]
        out["n"].append(n)
        for f in frameworks:
            out["rates"][f].append(_med(rates[f]))
            if f != "deltaprop" and "deltaprop" in rates:
                out["ratios"][f].append(_med([a / b for a, b in zip(rates["deltaprop"],
                                                                   rates[f])]))
        log(f"  w={w:<5} ({n} samples) " + ", ".join(
            f"{f} {fmt_rate(_med(rates[f]))}/s" for f in frameworks)
            + ("" if "deltaprop" not in rates else "; deltaprop / " + ", ".join(
                f"{f} {out['ratios'][f][-1]:.2f}x" for f in frameworks if f != "deltaprop")))
    return out


def plot_sweep(sweep, frameworks, path):
    """samples/s against the width (log-log), and deltaprop's ratio to the others."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib not installed: no plot)")
        return
    widths = sweep["widths"]
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4))
    for f in frameworks:
        ax.plot(widths, sweep["rates"][f], marker="o", label=f)
        if sweep["ratios"].get(f):
            bx.plot(widths, sweep["ratios"][f], marker="o", label=f"deltaprop / {f}")
    for a in (ax, bx):
        a.set_xscale("log", base=2)
        a.set_xticks(widths, [str(w) for w in widths])
        a.set_xlabel("hidden width w (784-w-w-10, batch 128, float32)")
        a.grid(True, alpha=0.3)
        a.legend()
    ax.set_yscale("log")
    ax.set_ylabel("training samples/s")
    bx.axhline(1.0, color="gray", lw=0.8)
    bx.set_ylabel("ratio of samples/s (median of rounds)")
    fig.suptitle("Training throughput by width (medians of rounds, one machine)")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"(plot saved to {os.path.normpath(path)})")


# --------------------------------------------------------------------------- report
def _med(xs):
    return statistics.median(xs) if xs else float("nan")


def fmt_rate(x):
    return f"{x / 1e3:.1f}k" if x < 1e6 else f"{x / 1e6:.2f}M"


def main(argv=None):
    started = time.perf_counter()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="fewer samples and rounds, no RSS subprocesses (about 30 s)")
    ap.add_argument("--rounds", type=int, default=None, help="rounds (default 9, quick 3)")
    ap.add_argument("--frameworks", default=",".join(FRAMEWORKS),
                    help="comma-separated subset of " + ",".join(FRAMEWORKS))
    ap.add_argument("--rows", default=None,
                    help="comma-separated row numbers (1-4) to run; default all")
    ap.add_argument("--no-memory", action="store_true", help="skip the memory measurements")
    ap.add_argument("--rss", action="store_true", help="measure RSS also with --quick")
    ap.add_argument("--json", default=None, help="also write the raw results to this file")
    ap.add_argument("--no-sweep", action="store_true", help="skip the width sweep")
    ap.add_argument("--load", action="store_true",
                    help="also time 784-100-10 at batch 10 (Nielsen's setup) and the chosen "
                         "rows beside a competing CPU-bound process")
    ap.add_argument("--plot", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                   "..", "docs", "img", "width_sweep.png"),
                    help="where to save the width sweep's plot ('' for none)")
    ap.add_argument("--_rss-child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._rss_child:
        fw, rows = args._rss_child
        rss_child(fw, [int(i) for i in rows.split(",")], args.quick)
        return

    frameworks = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    for f in frameworks:
        if f not in RUNNERS:
            ap.error(f"unknown framework {f!r}")
    rows = (list(range(len(CONFIGS))) if args.rows is None
            else [int(i) - 1 for i in args.rows.split(",") if i.strip()])
    rounds = args.rounds or (3 if args.quick else 9)
    threads, blas = blas_threads()
    _set_torch_threads(threads)
    machine = machine_description(threads, blas)
    print("machine: " + ", ".join(f"{k}={v}" for k, v in machine.items()))
    try:
        import deltaprop

        print(f"deltaprop kernels: {deltaprop.kernels.backend()}")
    except ImportError:
        pass

    peak = sgemm_peak(quick=args.quick)
    print(f"float32 matmul peak (2048^3 np.matmul, best of several): {peak / 1e9:.1f} GFLOP/s")
    results = {"machine": machine, "quick": args.quick, "rounds": rounds,
               "sgemm_peak": peak, "rows": {}}

    for i in rows:
        cfg = CONFIGS[i]
        n = cfg.n_quick if args.quick else cfg.n_train
        print(f"\n[{i + 1}] {cfg.name}: {n} samples/epoch, {rounds} rounds")
        rates, pred, dtypes, peaks, products, bandwidths = time_training(cfg, frameworks,
                                                                         rounds, n)
        gemm, true_flops = gemm_rate_at_shapes(cfg, quick=args.quick)
        steps = math.ceil(n / cfg.batch)
        # The limit of a step: its products alone, plus Adam's memory traffic at the
        # round's stream bandwidth (no reordering hides either).
        limits = [p + optimizer_bytes(cfg) / bw for p, bw in zip(products, bandwidths)]
        row = {"n": n, "rates": rates, "predict": pred, "dtypes": dtypes, "peaks": peaks,
               "gemm_at_shapes": gemm, "flops_per_sample": cfg.flops_per_sample(),
               "true_flops_per_sample": true_flops, "params": cfg.n_params(),
               "products_only": products, "bandwidths": bandwidths, "limits": limits,
               "optimizer_bytes": optimizer_bytes(cfg),
               # step time (epoch / steps) as a multiple of the products-only step, per round
               "vs_products": {f: _med([n / r / steps / p for r, p in zip(rates[f], products)])
                               for f in frameworks},
               # ... and as a multiple of the limit (products + optimizer bytes / bandwidth)
               "vs_limit": {f: _med([n / r / steps / lim for r, lim in zip(rates[f], limits)])
                            for f in frameworks}}
        peers = [f for f in PREDICT_PEERS if f in frameworks]
        if "deltaprop" in frameworks and peers:
            # deltaprop's prediction rate over the faster peer's, per round (median)
            row["predict_ratio"] = _med([pred["deltaprop"][k] / max(pred[f][k] for f in peers)
                                         for k in range(rounds)])
        # Roofline share: the median over rounds of (FLOPs/sample x samples/s) / that
        # round's matmul peak.
        fl = cfg.flops_per_sample()
        row["roofline"] = {f: _med([r * fl / p for r, p in zip(rates[f], peaks)])
                           for f in frameworks}
        if "deltaprop" in frameworks:
            row["ratios"] = {f: _med([a / b for a, b in zip(rates["deltaprop"], rates[f])])
                             for f in frameworks if f != "deltaprop"}
        results["rows"][cfg.key] = row
        _print_row(cfg, row, frameworks, peak)

    if not args.no_memory:
        # After all timings. tracemalloc in this process (deltaprop over 3 epochs, to show
        # that nothing grows from epoch to epoch); RSS in one subprocess per framework.
        traced = [f for f in frameworks if f in ("deltaprop", "numpy", "sklearn")]
        rss = {}
        if not args.quick or args.rss:
            for f in frameworks:
                rss[f] = rss_in_subprocess(f, rows, args.quick)
        print("\nmemory (MiB): tracemalloc peak of new allocations during training (beyond "
              "the data and the model), and the RSS high-water mark minus the RSS before")
        for i in rows:
            cfg = CONFIGS[i]
            row = results["rows"][cfg.key]
            mem = {f: {} for f in frameworks}
            for f in traced:
                epochs = 3 if f == "deltaprop" else 1
                mem[f]["traced"] = traced_peak(cfg, f, row["n"], epochs=epochs)
            if "deltaprop" in traced:
                # Without the divergence guard's copy of the epoch's start (fit(rollback=False)).
                mem["deltaprop"]["traced_no_rollback"] = traced_peak(cfg, "deltaprop", row["n"],
                                                                     epochs=3, rollback=False)
            for f in rss:
                mem[f]["rss"] = rss[f][i]
            row["memory"] = mem
            _print_memory(cfg, row, frameworks)

    if args.load:
        load_fw = [f for f in frameworks if f in ("deltaprop", "torch")]
        results["under_load"] = under_load([NIELSEN] + [CONFIGS[i] for i in rows], load_fw,
                                           rounds, args.quick)

    if not args.no_sweep:
        sweep_fw = [f for f in SWEEP_FRAMEWORKS if f in frameworks]
        results["sweep"] = width_sweep(sweep_fw, 2 if args.quick else 3, args.quick)
        if args.plot:
            plot_sweep(results["sweep"], sweep_fw, args.plot)

    _print_summary(results, frameworks)
    print(f"\n(benchmark took {time.perf_counter() - started:.0f} s)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


def _set_torch_threads(threads):
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(threads)


def _print_row(cfg, row, frameworks, peak):
    fl = cfg.flops_per_sample()
    print(f"  matmul peak in the rounds: median {_med(row['peaks']) / 1e9:.1f} GFLOP/s "
          f"(range {min(row['peaks']) / 1e9:.0f}-{max(row['peaks']) / 1e9:.0f})")
    print(f"  FLOPs/sample (3x2xsum n_in n_out) = {fl / 1e6:.3f} M "
          f"(true count {row['true_flops_per_sample'] / 1e6:.3f} M); "
          f"GEMM at these shapes {row['gemm_at_shapes'] / 1e9:.1f} GFLOP/s "
          f"= {row['gemm_at_shapes'] / peak:.0%} of peak")
    print(f"  products only: median {_med(row['products_only']) * 1e6:.0f} us per step "
          f"(each product on 1 or all BLAS threads, the faster)")
    print(f"  limit: median {_med(row['limits']) * 1e6:.0f} us per step = products only + "
          f"Adam's {row['optimizer_bytes'] / 1e6:.2f} MB / stream bandwidth (median "
          f"{_med(row['bandwidths']) / 1e9:.1f} GB/s)")
    print(f"  {'framework':<10} {'train/s':>9} {'min-max':>15} {'dp ratio':>9} "
          f"{'roofline':>9} {'vs GEMM':>8} {'x products':>10} {'x limit':>8} {'predict/s':>10} "
          f"{'dtype':>8}")
    for f in frameworks:
        r = row["rates"][f]
        med = _med(r)
        ratio = row.get("ratios", {}).get(f)
        ratio_s = f"{ratio:.2f}x" if ratio is not None else "-"
        # vs GEMM: the time the products alone take at these shapes / the epoch's time.
        vs_gemm = med * row["true_flops_per_sample"] / row["gemm_at_shapes"]
        print(f"  {f:<10} {fmt_rate(med):>9} {fmt_rate(min(r)) + '-' + fmt_rate(max(r)):>15} "
              f"{ratio_s:>9} {row['roofline'][f]:>9.1%} {vs_gemm:>8.0%} "
              f"{row['vs_products'][f]:>9.2f}x {row['vs_limit'][f]:>7.2f}x "
              f"{fmt_rate(_med(row['predict'][f])):>10} {row['dtypes'][f]:>8}")
    if "predict_ratio" in row:
        print(f"  prediction: deltaprop / the faster of {', '.join(PREDICT_PEERS)} = "
              f"{row['predict_ratio']:.2f}x (median of per-round ratios)")


def _print_memory(cfg, row, frameworks):
    P = cfg.itemsize * cfg.n_params()
    batch_act = cfg.itemsize * cfg.batch * sum(cfg.sizes)
    data = cfg.itemsize * row["n"] * cfg.sizes[0]
    print(f"  [{cfg.key}] data {data / 2**20:.1f}, params {P / 2**20:.2f}, one batch of "
          f"activations {batch_act / 2**20:.2f}")
    for f in frameworks:
        m = row["memory"][f]
        parts = []
        if "traced" in m:
            t = m["traced"]
            parts.append(f"traced peak {t['peak_new'] / 2**20:7.2f} (= {t['peak_new'] / P:4.1f} x "
                         f"params), alive after each epoch "
                         + "/".join(f"{a / 2**20:.2f}" for a in t["alive_after_epochs"]))
        if "traced_no_rollback" in m:
            t = m["traced_no_rollback"]
            parts.append(f"rollback=False: traced peak {t['peak_new'] / 2**20:.2f} "
                         f"(= {t['peak_new'] / P:4.1f} x params)")
        if "rss" in m:
            rss = m["rss"]
            parts.append(f"RSS +{(rss['hwm_kib'] - rss['rss_before_kib']) / 1024:6.1f} "
                         f"(before {rss['rss_before_kib'] / 1024:.0f})")
        if parts:
            print(f"    {f:<10} " + "; ".join(parts))


def _print_summary(results, frameworks):
    print("\nsummary (medians; ratios are medians of per-round ratios; roofline = median over "
          "rounds of FLOPs/sample x samples/s / that round's matmul peak)")
    head = "| row | " + " | ".join(f"{f} samples/s" for f in frameworks)
    head += " | " + " | ".join(f"dp / {f}" for f in frameworks if f != "deltaprop")
    head += (" | dp roofline | dp step / products only | torch step / products only"
             " | dp step / limit | torch step / limit | dp predict/s | dp predict / faster peer |")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for key, row in results["rows"].items():
        cells = [fmt_rate(_med(row["rates"][f])) for f in frameworks]
        cells += [f"{row['ratios'][f]:.2f}x" for f in frameworks if f != "deltaprop"] \
            if "ratios" in row else []
        cells += [f"{row['roofline'].get('deltaprop', float('nan')):.1%}",
                  f"{row['vs_products'].get('deltaprop', float('nan')):.2f}x",
                  f"{row['vs_products'].get('torch', float('nan')):.2f}x",
                  f"{row['vs_limit'].get('deltaprop', float('nan')):.2f}x",
                  f"{row['vs_limit'].get('torch', float('nan')):.2f}x",
                  fmt_rate(_med(row["predict"].get("deltaprop", [float("nan")]))),
                  f"{row.get('predict_ratio', float('nan')):.2f}x"]
        print(f"| {key} | " + " | ".join(cells) + " |")
    print("\ntargets:")
    rows = results["rows"]

    def report(key, what, got, target, at_most=False):
        met = got <= target if at_most else got >= target
        bound = f"{'<=' if at_most else '>='} {target:.2f}x" if what != "roofline share" \
            else f">= {target:.0%}"
        shown = f"{got:.1%}" if what == "roofline share" else f"{got:.2f}x"
        print(f"  {key:<22} {what:<18} {bound}: {shown} {'met' if met else 'MISSED'}")

    for (key, f), target in RATIO_TARGETS.items():
        if key in rows and f in rows[key].get("ratios", {}):
            report(key, f"deltaprop/{f}", rows[key]["ratios"][f], target)
    for key, target in ROOFLINE_TARGETS.items():
        if key in rows and "deltaprop" in rows[key]["rates"]:
            report(key, "roofline share", rows[key]["roofline"]["deltaprop"], target)
    for key, target in PRODUCTS_TARGETS.items():
        if key in rows and "deltaprop" in rows[key]["rates"]:
            report(key, "step / products", rows[key]["vs_products"]["deltaprop"], target,
                   at_most=True)
    for key, target in LIMIT_TARGETS.items():
        if key in rows and "deltaprop" in rows[key]["rates"]:
            report(key, "step / limit", rows[key]["vs_limit"]["deltaprop"], target,
                   at_most=True)
    for key, row in rows.items():
        if "predict_ratio" in row:
            report(key, "predict / peers", row["predict_ratio"], PREDICT_TARGET)
    for key, row in results["rows"].items():
        for variant, label in (("traced", ""), ("traced_no_rollback", " (rollback=False)")):
            t = row.get("memory", {}).get("deltaprop", {}).get(variant)
            if t:
                # Peak <= data + 4 x params + a few batch buffers, i.e. beyond the data and the
                # model: 3 x params, 8 batch-sized buffers, and the per-sample arrays that are
                # the data set in another form (float32 one-hot targets) or an index (the
                # shuffled order, predictions and labels, int64).
                cfg = next(c for c in CONFIGS if c.key == key)
                P = cfg.itemsize * row["params"]
                batch = 8 * cfg.itemsize * cfg.batch * sum(cfg.sizes)
                per_sample = row["n"] * (cfg.itemsize * cfg.sizes[-1] + 3 * 8)
                budget = 3 * P + batch + per_sample
                print(f"  {key:<22} memory{label}: new during training "
                      f"{t['peak_new'] / 2**20:.2f} MiB; "
                      f"target 3 x params {3 * P / 2**20:.2f} + batch buffers {batch / 2**20:.2f} + "
                      f"per-sample {per_sample / 2**20:.2f} = {budget / 2**20:.2f} MiB: "
                      f"{'met' if t['peak_new'] <= budget else 'MISSED'} "
                      f"({(t['peak_new'] - batch - per_sample) / P:.1f} x params beyond the rest)")


if __name__ == "__main__":
    main()
