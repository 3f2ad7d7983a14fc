"""Fused kernels (Numba) for the training step and prediction, and the threads they use.

NumPy is the reference. With the optional extra ``fast`` (``pip install
'deltaprop[fast]'``: Numba and threadpoolctl) the objects that own the maths run their
elementwise work as compiled one-pass kernels instead of one NumPy pass per operator:

* an optimizer's rule (:mod:`deltaprop.optimizers`: SGD, momentum, Nesterov, AdaGrad,
  RMSProp, Adam, AdamW), with weight decay and the gradient-norm clipping folded in;
* an activation's forward step after the product, ``z += b; a = f(z)``, and its backward
  step ``g ⊙ f'(z)`` together with the bias gradient ``Σ g`` (ReLU, leaky ReLU, sigmoid,
  tanh, identity; softmax forward);
* a loss's output delta with its per-sample value (softmax + cross-entropy, sigmoid +
  binary cross-entropy, the squared errors with an identity output);
* the gather of a shuffled batch (:func:`take_rows`);
* prediction's check for NaN and inf, chunk by chunk (:func:`all_finite`).

Which operations are bitwise those of NumPy and which agree to float32 rounding is said in
:mod:`deltaprop.kernels.compiled` and checked in ``tests/test_kernels.py``.

The switch: :func:`use` (``"auto"``, ``"numba"`` or ``"numpy"``), or the environment
variable ``DELTAPROP_KERNELS`` with the same values, read once, when the first kernel is
asked for (``"auto"``, the default: Numba when it is installed, from the first training
step with work of :data:`AUTO_MIN_SIZE` elements on). ``"numpy"`` forces the
reference path everywhere, the BLAS thread choice included. Numba is imported on the first
training step, never by ``import deltaprop``; its machine code is cached on disk, so only
the first run on a machine compiles.

Compiling. :func:`prepare` (called by ``fit`` before its first epoch) compiles, or loads
from the cache, exactly the kernels the run will call (:func:`needed`: those of its
activations, loss, optimizer and batch gather, in its dtype), so that no step or epoch
time includes compiling; when it compiles for longer than :data:`SAY_AFTER` seconds it
says so once: "compiling the fused kernels (once, about N s)".

Threads. OpenBLAS hands a product to all its threads from about 2.6·10⁵ multiply-adds
on. For a small product the hand-off costs more than it saves, and when another process
keeps a core busy, a product that waits for its descheduled second thread can take 5–50×
longer. :func:`matmul` runs the products below :data:`BLAS_SPLIT_MIN` multiply-adds on one
thread (threadpoolctl's handle on OpenBLAS; the count is set back after each product), the
larger ones on all (with :data:`ADAPTIVE_BLAS`, on one thread or all, whichever measures
faster for that shape). The kernels of the training step run on one thread: with
:func:`parallel_loops` on, the optimizer over a large flat array and the gather of a large
batch choose between Numba's parallel loop and the serial one by measurement
(:mod:`~deltaprop.kernels._choice`: both are timed now and then; the same bits either way),
but their OpenMP threads, spinning after each loop, take the cores from OpenBLAS's next
product, so they are off by default. Prediction (:func:`map_chunks`) splits the rows into
chunks that as many threads as BLAS has take one after the other, each chunk's products on
one BLAS thread: a thread that another job slows down takes fewer chunks, and no product
waits for a descheduled thread.
"""

from __future__ import annotations

import os
import time

import numpy as np

from ..devices import is_cupy, namespace
from ._choice import allow_parallel_loops, choice_for, parallel_loops_allowed

_perf = time.perf_counter

__all__ = ["use", "parallel_loops", "backend", "get", "matmul", "map_chunks", "take_rows", "all_finite", "needed",
           "prepare", "BLAS_SPLIT_MIN", "MODES"]

#: The values of :func:`use` and of ``DELTAPROP_KERNELS``.
MODES = ("auto", "numba", "numpy")

#: Multiply-adds (m·k·n) from which a product is left to all of OpenBLAS's threads; below,
#: one thread. Measured on 2 cores, quiet: a second thread gains nothing at 10×784×100
#: (0.8 M), 20–45 % at 32×256×128 and 32×128×256 (1 M, 2²⁰) and 128×256×128 (4.2 M), 30–40 %
#: from 6 M on. Training 784-256-128-10 on batches of 32 was 7–8 % faster per step with
#: 2²⁰ than with 2²² (9 interleaved epochs, twice); batch 128 and 784-1024-1024-10 the same.
BLAS_SPLIT_MIN = 1 << 20
#: In ``"auto"`` mode, the size of work (elements of a batch's array, or parameters for an
#: optimizer) from which Numba is imported: 64-128-10 on batches of 32 (Nielsen-sized
#: digits) stays below, 784-100-10 (79,510 parameters) does not.
AUTO_MIN_SIZE = 1 << 14
#: Whether the products from BLAS_SPLIT_MIN on choose their thread count by measurement
#: (one thread or all, whichever is faster now: see ``_choice``) instead of using all
#: threads. Off by default: OpenBLAS rounds some products differently on one thread than
#: on two (measured: those with k = 784, e.g. 128×784×256; not 256×1024×1024), and a choice
#: made by timing would make the trained weights differ in their last bits from run to
#: run; the size rule below BLAS_SPLIT_MIN is deterministic. On a machine that other jobs
#: keep busy it is the faster setting (the products stop waiting for a descheduled thread).
ADAPTIVE_BLAS = False
#: OpenBLAS's own limit (SMP_THRESHOLD_MIN × GEMM_MULTITHREAD_THRESHOLD): below it, it uses
#: one thread anyway, and nothing needs setting.
_BLAS_OWN_MIN = 65536 * 4

#: The fused kernels, by name: what ``compiled.KERNELS`` (Numba) and ``cuda.KERNELS`` (CuPy)
#: both provide, with the same signatures.
KERNEL_NAMES = ("sgd", "adagrad", "rmsprop", "adam", "sum_of_squares", "bias_activation",
                "delta_and_bias_grad", "bias_grad", "output_delta", "take_rows", "all_finite")

#: The activations that the fused kernels know, by their ``fused_kernel`` name.
ACTIVATION_CODES = {"identity": 0, "relu": 1, "leaky_relu": 2, "sigmoid": 3, "tanh": 4,
                    "softmax": 5}
#: The output deltas that the fused kernel knows (a loss's ``fused_kernel``).
LOSS_CODES = {"softmax_cross_entropy": 0, "sigmoid_binary_cross_entropy": 1, "squared": 2}

_table = None  # name -> kernel, once resolved ({} on the reference path)
_mode = None  # the mode asked for by use(), or None: the environment's
_blas = None  # (get_num_threads, set_num_threads) of OpenBLAS, False: none / not used
_env = None  # DELTAPROP_KERNELS, once read


def use(mode):
    """Choose the kernels: ``"numba"`` (fused, compiled; ImportError when Numba is not
    installed), ``"numpy"`` (the reference path) or ``"auto"`` (Numba when installed).
    Takes effect at the next training step. Returns the previous mode."""
    global _mode, _table, _blas
    if mode not in MODES:
        raise ValueError(f"deltaprop.kernels.use: mode must be one of {', '.join(MODES)}, "
                         f"got {mode!r}")
    previous = _mode or _env_mode()
    _mode, _table, _blas = mode, None, None
    if mode == "numba":
        _resolve()  # raises now, not at the next step, when Numba is missing
    return previous


def _env_mode():
    """``DELTAPROP_KERNELS``, read once (a kernel is asked for at every step: reading the
    environment each time cost ~3 us a call, a tenth of a small network's step)."""
    global _env
    if _env is None:
        mode = os.environ.get("DELTAPROP_KERNELS", "auto").strip().lower() or "auto"
        if mode not in MODES:
            raise ValueError(f"DELTAPROP_KERNELS must be one of {', '.join(MODES)}, got "
                             f"{os.environ['DELTAPROP_KERNELS']!r}")
        _env = mode
    return _env


def _resolve():
    global _table
    mode = _mode or _env_mode()
    table = {}
    if mode != "numpy":
        try:
            from . import compiled
        except ImportError as exc:
            if mode == "numba":
                raise ImportError("deltaprop.kernels: the 'numba' kernels need Numba: "
                                  "pip install 'deltaprop[fast]'") from exc
        else:
            table = compiled.KERNELS
    _table = table
    return table


def parallel_loops(enable=None):
    """Whether the optimizer's and the batch gather's kernels may run Numba's parallel
    loops over large arrays (each kind of work then takes the faster of its serial and
    parallel loop, by measurement). With ``enable`` (True or False), set it. Returns the
    setting before the call.

    Off by default: on 2 cores they made training no faster, and their OpenMP threads,
    spinning for a while after each loop, slowed OpenBLAS's next product on two threads up
    to 20-fold (see ``kernels._choice.PARALLEL_LOOPS``). Worth a measurement where the
    cores outnumber BLAS's threads, or where the optimizer's pass over a large store
    dominates a step."""
    if enable is None:
        return parallel_loops_allowed()
    if not isinstance(enable, (bool, np.bool_)):
        raise TypeError(f"deltaprop.kernels.parallel_loops: enable must be True or False, "
                        f"got {enable!r}")
    return allow_parallel_loops(enable)


def backend():
    """``"numba"`` or ``"numpy"``: the path the next training step takes (resolves the
    mode, importing Numba if it is to be used)."""
    table = _table if _table is not None else _resolve()
    return "numba" if table else "numpy"


def get(name, size=None, like=None):
    """The fused kernel ``name``, or None on the reference path (or for an unknown name).

    ``like``: an array the kernel is to work on. For a GPU array the kernel is CuPy's
    (:mod:`deltaprop.kernels.cuda`, same signature), for an array of the strict device
    there is none (the reference path, as NumPy writes it).

    ``size``: the number of elements the kernel is asked to work on. In ``"auto"`` mode
    Numba is imported (about 0.4 s, and a few tens of milliseconds per cached kernel) only
    once work of at least :data:`AUTO_MIN_SIZE` elements comes; until then smaller work
    takes the NumPy path, so that a short job on a small network pays no import. Once
    imported, every kernel is used."""
    if like is not None and type(like) is not np.ndarray:
        return _device_kernel(name, like)
    table = _table
    if table is None:
        if size is not None and size < AUTO_MIN_SIZE and (_mode or _env_mode()) == "auto":
            return None
        table = _resolve()
    return table.get(name)


def _device_kernel(name, like):
    """The GPU's kernel ``name`` for a CuPy array (None with ``"numpy"`` forced, or for any
    other array type)."""
    if not is_cupy(like) or (_mode or _env_mode()) == "numpy":
        return None
    from . import cuda
    return cuda.KERNELS.get(name)


# --------------------------------------------------------------------------- warming up
#: Seconds of compiling from which :func:`prepare` says what it is doing.
SAY_AFTER = 1.0
_said = False  # the message is printed once per process


def needed(net, optimizer, batch_size, gathers=()):
    """The fused kernels a training run will call: ``[(name, kind or None), ...]`` from the
    network's activations (their forward and backward steps) and loss (its output
    delta), the optimizer's rule (and the gradient norm when it clips), and the batch
    gather when ``gathers`` (the arrays whose rows are taken) is not empty."""
    jobs = []
    for layer in net.layers:
        act = layer.activation
        if act is not None and act.fused_kernel is not None:
            jobs.append(("bias_activation", ACTIVATION_CODES[act.fused_kernel]))
            if act.elementwise:
                jobs.append(("delta_and_bias_grad", None))
    if net.loss_function.fused_kernel is not None:
        jobs.append(("output_delta", None))
    if getattr(optimizer, "kernel", None) is not None and not optimizer.per_tensor:
        jobs.append((optimizer.kernel, None))
        if optimizer.clip_norm is not None:
            jobs.append(("sum_of_squares", None))
    if gathers:
        jobs.append(("take_rows", None))
    jobs.append(("all_finite", None))  # prediction's check of each chunk (after fit, often)
    return list(dict.fromkeys(jobs))  # each once, in order


def prepare(net, optimizer, batch_size, gathers=(), say=None):
    """Compile the fused kernels a training run will call (:func:`needed`), or load them
    from Numba's cache, before its first step: the first run on a machine compiles for a
    few seconds, which then shows in no step or epoch time. ``say`` (e.g. ``print``) is
    told once per process, when compiling takes longer than :data:`SAY_AFTER` seconds:
    "compiling the fused kernels (once, about N s)". Returns the seconds it took.

    Nothing happens on the reference path, on a device, or where ``"auto"`` leaves a small
    run on it (the work of the largest step below :data:`AUTO_MIN_SIZE`: Numba is not
    imported for it)."""
    global _said
    store = net.store
    if not store.device.is_cpu or type(store.data) is not np.ndarray:
        return 0.0
    width = max([layer.n_out or 0 for layer in net.layers] + [net.n_inputs])
    work = max(store.size, batch_size * width)
    if _table is None and work < AUTO_MIN_SIZE and (_mode or _env_mode()) == "auto":
        return 0.0
    if not (_table if _table is not None else _resolve()):
        return 0.0
    from . import compiled

    jobs = needed(net, optimizer, batch_size, gathers)
    t0, compiled_before = _perf(), compiled.compiles()
    fastest = float("inf")
    for i, (name, kind) in enumerate(jobs):
        size = store.size if name in ("sgd", "adagrad", "rmsprop", "adam") else (
            batch_size * width if name != "take_rows" else
            batch_size * max(a.shape[1] if a.ndim > 1 else 1 for a in gathers))
        t1 = _perf()
        compiled.warm_up(name, store.dtype, size, kind, gathers if name == "take_rows" else None)
        fastest = min(fastest, _perf() - t1)  # the first also pays Numba's own start-up
        left = len(jobs) - i - 1
        if say is None or _said or not left or (i == 0 and left > 1):
            continue
        estimate = _perf() - t0 + fastest * left
        # Compiling (not loading from the cache, which takes milliseconds once Numba's own
        # start-up is paid), for longer than SAY_AFTER in all: say so, once.
        if estimate > SAY_AFTER and compiled.compiles() > compiled_before:
            _said = True
            say(f"compiling the fused kernels (once, about {max(1, round(estimate))} s)")
    return _perf() - t0


# --------------------------------------------------------------------------- BLAS threads
def _blas_handle():
    """OpenBLAS's (get, set) thread functions through threadpoolctl, or False."""
    global _blas
    _blas = False
    if (_mode or _env_mode()) == "numpy":
        return _blas
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return _blas
    for lib in ThreadpoolController().select(internal_api="openblas").lib_controllers:
        if "numpy" not in lib.filepath:
            continue
        for prefix in ("", "scipy_"):
            for suffix in ("", "64_", "_64"):
                get_n = getattr(lib.dynlib, f"{prefix}openblas_get_num_threads{suffix}", None)
                set_n = getattr(lib.dynlib, f"{prefix}openblas_set_num_threads{suffix}", None)
                if get_n is not None and set_n is not None:
                    _blas = (get_n, set_n)
                    return _blas
    return _blas


def matmul(a, b, out):
    """``np.matmul(a, b, out=out)`` on one BLAS thread when the product is small
    (below :data:`BLAS_SPLIT_MIN` multiply-adds); above, on all threads, or with
    :data:`ADAPTIVE_BLAS` on one thread or all, whichever measures faster for this shape
    (:mod:`deltaprop.kernels._choice`)."""
    if is_cupy(a):
        return namespace(a).matmul(a, b, out=out)  # cuBLAS, through CuPy's own matmul
    global _blas_busy_at
    blas = _blas
    if blas is None:
        blas = _blas_handle()
    if blas:
        work = a.shape[0] * a.shape[1] * b.shape[1]
        if work >= _BLAS_OWN_MIN:
            threads = blas[0]()
            if threads > 1:
                if work < BLAS_SPLIT_MIN:
                    option, choice = 0, None
                elif not ADAPTIVE_BLAS:
                    _blas_busy_at = _perf()
                    return np.matmul(a, b, out=out)
                else:
                    choice = choice_for((a.shape, b.shape, a.flags.c_contiguous,
                                         b.flags.c_contiguous))
                    option = choice.pick()
                t0 = _perf()
                if option == 0:
                    blas[1](1)
                    try:
                        np.matmul(a, b, out=out)
                    finally:
                        blas[1](threads)
                else:
                    _blas_busy_at = t0
                    np.matmul(a, b, out=out)
                if choice is not None:
                    choice.record(option, _perf() - t0)
                return out
    return np.matmul(a, b, out=out)


# --------------------------------------------------------------------------- prediction
def map_chunks(run, starts, layers, concurrent):
    """``run(layers_w, lo)`` for every ``lo`` of ``starts`` (the first rows of prediction's
    chunks), on as many threads as BLAS has (each taking the next chunk when done with
    its last: a thread that another job slows down takes fewer), BLAS on one thread
    meanwhile; worker 0 runs ``layers`` themselves, each other worker copies of them
    (``copy.copy``: their own work arrays, the same parameters).

    That is done where the fused kernels are on, more than one chunk is to be done, the
    BLAS thread count can be set (threadpoolctl), and ``concurrent`` (every layer's
    ``infer`` may run on copies at once); otherwise the chunks run in order, here, with the
    products as :func:`matmul` runs them. Each chunk's results depend on its rows only,
    never on which thread took it, so a prediction is the same from run to run."""
    blas = _blas if _blas is not None else _blas_handle()
    threads = blas[0]() if blas else 1
    if (not concurrent or len(starts) < 2 or threads < 2
            or (_table if _table is not None else _resolve()) == {}):
        for lo in starts:
            run(layers, lo)
        return
    import copy
    import threading

    chunks = iter(starts)
    lock = threading.Lock()
    failed = []

    def work(own):
        while not failed:
            with lock:
                lo = next(chunks, None)
            if lo is None:
                return
            try:
                run(own, lo)
            except BaseException as exc:  # noqa: BLE001 (re-raised by the calling thread)
                failed.append(exc)
                return

    others = [threading.Thread(target=work, args=([copy.copy(layer) for layer in layers],),
                               daemon=True) for _ in range(min(threads, len(starts)) - 1)]
    blas[1](1)
    if _perf() - _blas_busy_at < _BLAS_SPIN:
        _stop_blas_threads()
    try:
        for t in others:
            t.start()
        work(layers)
        for t in others:
            t.join()
    except BaseException:  # Ctrl-C here: the other threads stop after their chunk
        failed.append(None)
        raise
    finally:
        blas[1](threads)
    if failed:
        raise failed[0]


def all_finite(x):
    """Whether every element of the float array ``x`` is finite: the fused kernel's one
    read pass for a C-contiguous array, else ``np.isfinite(x).all()``."""
    kernel = get("all_finite", x.size, like=x)
    if kernel is None or not x.flags.c_contiguous or x.dtype.kind != "f":
        return bool(np.isfinite(x).all())
    return kernel(x)


_shutdown = None  # OpenBLAS's blas_thread_shutdown_, or False where it has none
_blas_busy_at = -1e9  # when matmul last ran a product on all of BLAS's threads
#: Seconds after such a product within which OpenBLAS's threads may still spin.
_BLAS_SPIN = 0.5


def _stop_blas_threads():
    """Stop OpenBLAS's own threads (``blas_thread_shutdown_``; it starts them again at its
    next product on several threads). After a product on several threads they spin, each
    on a core, for OpenBLAS's thread timeout (about 0.1 s) before they sleep: prediction
    right after training found its threads sharing the cores with them (the first calls
    1.5-2x slower, measured on 2 cores; OPENBLAS_THREAD_TIMEOUT=4 made the difference go
    away)."""
    global _shutdown
    if _shutdown is None:
        _shutdown = False
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            return
        for lib in ThreadpoolController().select(internal_api="openblas").lib_controllers:
            if "numpy" in lib.filepath:
                _shutdown = getattr(lib.dynlib, "blas_thread_shutdown_", None) or False
                break
    if _shutdown:
        _shutdown()


# --------------------------------------------------------------------------- batches
def take_rows(X, idx, out):
    """``np.take(X, idx, axis=0, out=out)``: the rows ``idx`` of ``X`` into ``out`` (the
    batch gather), with a parallel kernel for a C-contiguous 2-D ``X``."""
    kernel = get("take_rows", out.size, like=X)
    if (kernel is None or X.ndim != 2 or X.dtype != out.dtype or not X.flags.c_contiguous
            or not out.flags.c_contiguous or idx.dtype != np.int64):
        return np.take(X, idx, axis=0, out=out)
    if len(idx) != len(out) or not kernel(X, idx, out):
        return np.take(X, idx, axis=0, out=out)  # NumPy's own error for a bad index
    return out
