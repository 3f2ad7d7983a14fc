"""The fused kernels, compiled by Numba (imported by :mod:`deltaprop.kernels` on first use).

Each kernel makes one pass over memory where the NumPy reference makes one pass per
operator. Where the reference's operations can be repeated in the same order and in the
same dtype, they are (the results are then identical to the last bit, see
``tests/test_kernels.py``): every scalar arrives already cast to the arrays' dtype, as NumPy
casts a Python float next to a float32 array, and no fast-math flag lets LLVM reorder or
contract (fused multiply-add) anything. ``exp``, ``log`` and ``tanh`` called element by
element come from the C library here and from NumPy's own SIMD code there, so the kernels
that call them agree with the reference to float32 rounding, not bitwise; and the C
library's are 10-50x slower than NumPy's vectorised ones, so the activations' forward step
calls NumPy's between its passes (sigmoid and tanh then give NumPy's bits).

``cache=True`` keeps the machine code on disk (``__pycache__`` beside this file, or
Numba's user cache directory when that is not writable): only the first run on a machine
compiles.
"""

from __future__ import annotations

import math
import time

import numba
import numpy as np
from numba import njit, prange

from ._choice import choice_for, parallel_loops_allowed

_perf = time.perf_counter
_THREADS = numba.config.NUMBA_NUM_THREADS

# Elements per chunk of a parallel loop over a flat array, and the size below which the
# loops stay on one thread (a parallel launch costs a few microseconds).
CHUNK = 1 << 15
PARALLEL_MIN = 1 << 16

_opts = {"cache": True, "nogil": True, "error_model": "numpy"}


# --------------------------------------------------------------------------- optimizers
# Each range kernel first takes the slices lo..hi and loops from 0: LLVM then knows the
# indices are non-negative and vectorizes the loop (4-5x faster than indexing from lo).
# Signature of every rule: (p, g, <state arrays>, lo, hi, keep, coef, <hyper-parameters>),
# over the elements lo..hi of flat arrays. keep multiplies p first (weight decay,
# W <- keep W; a product by 1 changes no bit); coef != 1 scales g in place first
# (gradient-norm clipping), as the NumPy path does in passes of its own. Absent state
# arrays are passed as empty arrays. The options (momentum, Nesterov, centred, AMSGrad)
# choose between loops, never branch inside one: a loop with a branch does not vectorise
# (Adam over 235 k float32 parameters: 377 us with its options tested per element, 116 us
# without).


@njit(**_opts)
def _scale(g, coef):
    for i in range(g.size):
        g[i] = g[i] * coef


@njit(**_opts)
def _sgd_range(p, g, vel, lo, hi, keep, coef, lr, mu, momentum, nesterov):
    p, g, vel = p[lo:hi], g[lo:hi], vel[lo:hi]
    if coef != 1:
        _scale(g, coef)
    if not momentum:
        for i in range(p.size):
            p[i] = p[i] * keep - g[i] * lr
    elif nesterov:
        for i in range(p.size):
            gi = g[i]
            vi = vel[i] * mu + gi  # Delta <- mu Delta + g
            vel[i] = vi
            p[i] = p[i] * keep - (vi * mu + gi) * lr
    else:
        for i in range(p.size):
            vi = vel[i] * mu + g[i]
            vel[i] = vi
            p[i] = p[i] * keep - vi * lr


@njit(parallel=True, **_opts)
def _sgd_par(p, g, vel, lo, hi, keep, coef, lr, mu, momentum, nesterov):
    n_chunks = (hi - lo + CHUNK - 1) // CHUNK
    for c in prange(n_chunks):
        a = lo + c * CHUNK
        _sgd_range(p, g, vel, a, min(a + CHUNK, hi), keep, coef, lr, mu, momentum, nesterov)


@njit(**_opts)
def _adagrad_range(p, g, G, lo, hi, keep, coef, lr, eps):
    p, g, G = p[lo:hi], g[lo:hi], G[lo:hi]
    if coef != 1:
        _scale(g, coef)
    for i in range(p.size):
        gi = g[i]
        Gi = G[i] + gi * gi  # G <- G + g*g
        G[i] = Gi
        p[i] = p[i] * keep - (gi / (math.sqrt(Gi) + eps)) * lr


@njit(parallel=True, **_opts)
def _adagrad_par(p, g, G, lo, hi, keep, coef, lr, eps):
    n_chunks = (hi - lo + CHUNK - 1) // CHUNK
    for c in prange(n_chunks):
        a = lo + c * CHUNK
        _adagrad_range(p, g, G, a, min(a + CHUNK, hi), keep, coef, lr, eps)


@njit(**_opts)
def _rmsprop_range(p, g, v, gbar, B, lo, hi, keep, coef, lr, alpha, one_minus_alpha, eps, mu,
                   centered, momentum):
    p, g, v, gbar, B = p[lo:hi], g[lo:hi], v[lo:hi], gbar[lo:hi], B[lo:hi]
    if coef != 1:
        _scale(g, coef)
    if centered and momentum:
        for i in range(p.size):
            gi = g[i]
            vi = v[i] * alpha + (gi * gi) * one_minus_alpha  # v <- alpha v + (1 - alpha) g*g
            v[i] = vi
            gb = gbar[i] * alpha + gi * one_minus_alpha
            gbar[i] = gb
            Bi = B[i] * mu + gi / (math.sqrt(vi - gb * gb) + eps)  # B <- mu B + g / d
            B[i] = Bi
            p[i] = p[i] * keep - Bi * lr
    elif centered:
        for i in range(p.size):
            gi = g[i]
            vi = v[i] * alpha + (gi * gi) * one_minus_alpha
            v[i] = vi
            gb = gbar[i] * alpha + gi * one_minus_alpha
            gbar[i] = gb
            p[i] = p[i] * keep - (gi / (math.sqrt(vi - gb * gb) + eps)) * lr
    elif momentum:
        for i in range(p.size):
            gi = g[i]
            vi = v[i] * alpha + (gi * gi) * one_minus_alpha
            v[i] = vi
            Bi = B[i] * mu + gi / (math.sqrt(vi) + eps)
            B[i] = Bi
            p[i] = p[i] * keep - Bi * lr
    else:
        for i in range(p.size):
            gi = g[i]
            vi = v[i] * alpha + (gi * gi) * one_minus_alpha
            v[i] = vi
            p[i] = p[i] * keep - (gi / (math.sqrt(vi) + eps)) * lr


@njit(parallel=True, **_opts)
def _rmsprop_par(p, g, v, gbar, B, lo, hi, keep, coef, lr, alpha, one_minus_alpha, eps, mu,
                 centered, momentum):
    n_chunks = (hi - lo + CHUNK - 1) // CHUNK
    for c in prange(n_chunks):
        a = lo + c * CHUNK
        _rmsprop_range(p, g, v, gbar, B, a, min(a + CHUNK, hi), keep, coef, lr, alpha,
                       one_minus_alpha, eps, mu, centered, momentum)


@njit(**_opts)
def _adam_range(p, g, m, v, v_max, lo, hi, keep, coef, one_minus_beta_1, beta_2,
                one_minus_beta_2, eps_c, scale, amsgrad):
    p, g, m, v, v_max = p[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi], v_max[lo:hi]
    if coef != 1:
        _scale(g, coef)
    if amsgrad:
        for i in range(p.size):
            gi = g[i]
            mi = m[i]
            mi = mi + (gi - mi) * one_minus_beta_1  # torch's lerp, as the NumPy rule
            m[i] = mi
            vi = v[i] * beta_2 + (gi * gi) * one_minus_beta_2
            v[i] = vi
            vm = v_max[i]
            if not (vm >= vi or vm != vm):  # np.maximum, NaN included
                vm = vi
            v_max[i] = vm
            p[i] = p[i] * keep - (mi / (math.sqrt(vm) + eps_c)) * scale
    else:
        for i in range(p.size):
            gi = g[i]
            mi = m[i]
            mi = mi + (gi - mi) * one_minus_beta_1
            m[i] = mi
            vi = v[i] * beta_2 + (gi * gi) * one_minus_beta_2
            v[i] = vi
            p[i] = p[i] * keep - (mi / (math.sqrt(vi) + eps_c)) * scale


@njit(parallel=True, **_opts)
def _adam_par(p, g, m, v, v_max, lo, hi, keep, coef, one_minus_beta_1, beta_2,
              one_minus_beta_2, eps_c, scale, amsgrad):
    n_chunks = (hi - lo + CHUNK - 1) // CHUNK
    for c in prange(n_chunks):
        a = lo + c * CHUNK
        _adam_range(p, g, m, v, v_max, a, min(a + CHUNK, hi), keep, coef, one_minus_beta_1,
                    beta_2, one_minus_beta_2, eps_c, scale, amsgrad)


@njit(**_opts)
def _sumsq_range(x, lo, hi):
    x = x[lo:hi]
    s = 0.0
    for i in range(x.size):
        xi = np.float64(x[i])
        s += xi * xi
    return s


def sum_of_squares(x):
    """Σ x² of a flat array, accumulated in float64, serially: a parallel reduction would
    add in an order that depends on the threads, and the clipped weights with it."""
    return _sumsq_range(x, 0, x.size)


def _timed(name, serial, parallel, args, n):
    """``serial(*args)`` or ``parallel(*args)``: for n >= PARALLEL_MIN, whichever measures
    faster for this kernel and size (see deltaprop.kernels._choice), when parallel loops
    are allowed (:func:`deltaprop.kernels.parallel_loops`)."""
    if n < PARALLEL_MIN or _THREADS < 2 or not parallel_loops_allowed():
        return serial(*args)
    choice = choice_for((name, n))
    option = choice.pick()
    t0 = _perf()
    result = (parallel if option else serial)(*args)
    choice.record(option, _perf() - t0)
    return result


def _rule(name, serial, parallel, n_state):
    hi_at = 2 + n_state + 1

    def rule(*args):
        return _timed(name, serial, parallel, args, args[hi_at] - args[hi_at - 1])

    rule.__name__ = name
    return rule


# --------------------------------------------------------------------------- activations
# Activation codes (the order of ACTIVATION_CODES in deltaprop.kernels).
IDENTITY, RELU, LEAKY_RELU, SIGMOID, TANH, SOFTMAX = range(6)


@njit(**_opts)
def _bias_activation(z, b, a, kind, param):
    """z <- z + b (row by row), a <- f(z) for the activations without a transcendental
    function (identity, ReLU, leaky ReLU), and softmax on small arrays: one pass."""
    n, k = z.shape
    zero = z.dtype.type(0.0)
    for i in range(n):
        if kind == SOFTMAX:
            m = z[i, 0] + b[0]
            for j in range(k):
                zij = z[i, j] + b[j]
                z[i, j] = zij
                if zij > m:
                    m = zij
            s = zero
            for j in range(k):
                e = math.exp(z[i, j] - m)
                a[i, j] = e
                s += e
            for j in range(k):
                a[i, j] = a[i, j] / s
            continue
        zi, ai = z[i], a[i]  # one loop per kind: the loops over a row vectorise
        for j in range(k):
            zi[j] = zi[j] + b[j]
        if kind == RELU:
            for j in range(k):
                ai[j] = zero if zi[j] < zero else zi[j]  # np.maximum(z, 0): NaN kept
        elif kind == LEAKY_RELU:
            for j in range(k):
                ai[j] = zi[j] if zi[j] > zero else param * zi[j]
        else:
            for j in range(k):
                ai[j] = zi[j]


@njit(**_opts)
def _add_bias(z, b):
    """z <- z + b, row by row."""
    n, k = z.shape
    for i in range(n):
        zi = z[i]
        for j in range(k):
            zi[j] = zi[j] + b[j]


@njit(**_opts)
def _bias_minus_abs(z, b, a):
    """z <- z + b, a <- -|z|: the argument of sigmoid's exp."""
    n, k = z.shape
    for i in range(n):
        zi, ai = z[i], a[i]
        for j in range(k):
            zij = zi[j] + b[j]
            zi[j] = zij
            ai[j] = -abs(zij)


@njit(**_opts)
def _sigmoid_from_exp(z, a):
    """a holds e = exp(-|z|): a <- 1 / (1 + e), times e where z < 0 (the NumPy path's
    operations, in its order)."""
    n, k = z.shape
    one = z.dtype.type(1.0)
    zero = z.dtype.type(0.0)
    for i in range(n):
        zi, ai = z[i], a[i]
        for j in range(k):
            e = ai[j]
            s = one / (one + e)
            ai[j] = s * e if zi[j] < zero else s


@njit(**_opts)
def _bias_shift_rows(z, b, a):
    """z <- z + b, a <- z - max(z) over each row: the argument of softmax's exp."""
    n, k = z.shape
    for i in range(n):
        zi, ai = z[i], a[i]
        m = zi[0] + b[0]
        for j in range(k):
            zij = zi[j] + b[j]
            zi[j] = zij
            if zij > m:
                m = zij
        for j in range(k):
            ai[j] = zi[j] - m


@njit(**_opts)
def _normalise_rows(a):
    """a <- a / Σ_row a (the sum in the row's order)."""
    n, k = a.shape
    zero = a.dtype.type(0.0)
    for i in range(n):
        ai = a[i]
        s = zero
        for j in range(k):
            s += ai[j]
        for j in range(k):
            ai[j] = ai[j] / s


#: Elements from which softmax's exp is NumPy's (SIMD) between two passes rather than the C
#: library's, one element at a time, inside one pass.
SOFTMAX_SPLIT_MIN = 1024


def bias_activation(z, b, a, kind, param):
    """z <- z + b (row by row), a <- f(z): the forward step of a dense layer after its
    product. One pass where f has no transcendental function. For sigmoid and tanh the
    exp and tanh are NumPy's own (vectorised, 10-50x faster than the C library's called
    element by element) between branch-free passes, which makes them the NumPy path's
    bits; softmax the same from SOFTMAX_SPLIT_MIN elements on (its row sums run in the
    row's order, so it agrees with NumPy to rounding)."""
    if kind == TANH:
        _add_bias(z, b)
        np.tanh(z, out=a)
    elif kind == SIGMOID:
        _bias_minus_abs(z, b, a)
        np.exp(a, out=a)
        _sigmoid_from_exp(z, a)
    elif kind == SOFTMAX and z.size >= SOFTMAX_SPLIT_MIN:
        _bias_shift_rows(z, b, a)
        np.exp(a, out=a)
        _normalise_rows(a)
    else:
        _bias_activation(z, b, a, kind, param)


@njit(**_opts)
def delta_and_bias_grad(z, a, g, grad_b, kind, param):
    """g <- g ⊙ f'(z) in place (step ②) and grad_b <- Σ_rows g (step ③), in one pass;
    f' from z (ReLU, leaky ReLU) or from a (sigmoid, tanh), whichever it needs. The sum
    runs row after row from row 0, as NumPy's reduction over axis 0 does. The branches on
    ``kind`` stay outside the loops over a row, which then vectorise."""
    n, k = g.shape
    one = g.dtype.type(1.0)
    zero = g.dtype.type(0.0)
    for i in range(n):
        gi, zi, ai = g[i], z[i], a[i]
        if kind == RELU:
            for j in range(k):
                gi[j] = gi[j] * (one if zi[j] > zero else zero)
        elif kind == LEAKY_RELU:
            for j in range(k):
                gi[j] = gi[j] * (one if zi[j] > zero else param)
        elif kind == SIGMOID:
            for j in range(k):
                aij = ai[j]
                gi[j] = gi[j] * (aij * (one - aij))
        elif kind == TANH:
            for j in range(k):
                aij = ai[j]
                gi[j] = gi[j] * (one - aij * aij)
        if i == 0:
            for j in range(k):
                grad_b[j] = gi[j]
        else:
            for j in range(k):
                grad_b[j] = grad_b[j] + gi[j]


@njit(**_opts)
def bias_grad(g, grad_b):
    """grad_b <- Σ_rows g (step ③ where g is already δ), row after row as NumPy."""
    n, k = g.shape
    for j in range(k):
        grad_b[j] = g[0, j]
    for i in range(1, n):
        for j in range(k):
            grad_b[j] = grad_b[j] + g[i, j]


# --------------------------------------------------------------------------- losses
# Loss codes (deltaprop.kernels.LOSS_CODES).
SOFTMAX_CE, SIGMOID_BCE, SQUARED = range(3)


@njit(**_opts)
def output_delta(z, y, t, delta, per_sample, kind, grad_scale, value_scale):
    """Steps ① and ② at the output layer in one pass: the per-sample loss and
    δ = ∂l/∂z. softmax + cross-entropy and sigmoid + binary cross-entropy: δ = y − t and
    the loss from z (log-sum-exp, softplus); squared errors with an identity output:
    δ = grad_scale (y − t) and value_scale ‖t − y‖²."""
    n, k = z.shape
    zero = z.dtype.type(0.0)
    for i in range(n):
        s = zero
        if kind == SOFTMAX_CE:
            m = z[i, 0]
            for j in range(1, k):
                if z[i, j] > m:
                    m = z[i, j]
            e = zero
            for j in range(k):
                e += math.exp(z[i, j] - m)
            lse = m + math.log(e)
            for j in range(k):
                tij = t[i, j]
                s += tij * (lse - z[i, j])
                delta[i, j] = y[i, j] - tij
        elif kind == SIGMOID_BCE:
            for j in range(k):
                zij, tij = z[i, j], t[i, j]
                sp = (zij if zij > zero else zero) + math.log1p(math.exp(-abs(zij)))
                s += sp - tij * zij
                delta[i, j] = y[i, j] - tij
        else:
            for j in range(k):
                e = t[i, j] - y[i, j]
                s += e * e
                delta[i, j] = grad_scale * (y[i, j] - t[i, j])
            s = s * value_scale
        per_sample[i] = s


# --------------------------------------------------------------------------- batches
@njit(**_opts)
def _indices_ok(idx, n):
    for r in range(idx.size):
        if idx[r] < 0 or idx[r] >= n:
            return False
    return True


@njit(**_opts)
def _copy_rows(X, idx, out, lo, hi):
    d = out.shape[1]
    for r in range(lo, hi):
        src = idx[r]
        for j in range(d):
            out[r, j] = X[src, j]


@njit(**_opts)
def _take_rows_serial(X, idx, out):
    if not _indices_ok(idx, X.shape[0]):
        return False
    _copy_rows(X, idx, out, 0, out.shape[0])
    return True


@njit(parallel=True, **_opts)
def _take_rows_par(X, idx, out):
    if not _indices_ok(idx, X.shape[0]):
        return False
    for r in prange(out.shape[0]):
        _copy_rows(X, idx, out, r, r + 1)
    return True


def take_rows(X, idx, out):
    """out[r] <- X[idx[r]] for every r (``np.take(X, idx, axis=0, out=out)``); False,
    with nothing written, when an index is out of range."""
    return _timed("take_rows", _take_rows_serial, _take_rows_par, (X, idx, out), out.size)


# --------------------------------------------------------------------------- checks
@njit(**_opts)
def _nonfinite_bits(bits, mask):
    """Whether any element's exponent bits are all ones (an inf or a NaN): integer
    operations only, which vectorise, and nothing written."""
    bad = 0
    for i in range(bits.size):
        bad |= (bits[i] & mask) == mask
    return bad != 0


def all_finite(x):
    """Whether every element of a C-contiguous float array is finite (one read pass at
    memory speed: no boolean mask, as ``np.isfinite(x).all()`` writes)."""
    if x.dtype == np.float32:
        return not _nonfinite_bits(x.reshape(-1).view(np.uint32), np.uint32(0x7F800000))
    return not _nonfinite_bits(x.reshape(-1).view(np.uint64),
                               np.uint64(0x7FF0000000000000))


# --------------------------------------------------------------------------- warming up
#: Per optimizer kernel: (serial, parallel, state arrays, scalars of the dtype, flags).
_RULES = {"sgd": (_sgd_range, _sgd_par, 1, 2, 2),
          "adagrad": (_adagrad_range, _adagrad_par, 1, 2, 0),
          "rmsprop": (_rmsprop_range, _rmsprop_par, 3, 5, 2),
          "adam": (_adam_range, _adam_par, 3, 5, 1)}


def compiles():
    """How many times this module's kernels were compiled in this process (the cache
    misses of Numba's dispatchers; a kernel loaded from the on-disk cache is a hit)."""
    return sum(sum(f.stats.cache_misses.values()) for f in globals().values()
               if isinstance(f, numba.core.registry.CPUDispatcher))


_warm: set = set()  # what warm_up did in this process


def warm_up(name, dtype, size=0, kind=None, arrays=None):
    """Compile, or load from the cache, the machine code that ``KERNELS[name]`` runs on
    arrays of ``dtype``, by calling it on a few elements with the argument types of a real
    call: ``size`` (the largest work it will get) decides whether the parallel loops and
    softmax's exp between passes are needed too; ``kind`` is the activation's code for
    ``bias_activation`` (only its own passes are compiled); ``arrays``, for
    ``take_rows``, the arrays whose rows will be gathered (their types: read-only or not)."""
    dt = np.dtype(dtype).type
    parallel = size >= PARALLEL_MIN and _THREADS > 1 and parallel_loops_allowed()
    key = (name, dt, parallel, kind, kind == SOFTMAX and size >= SOFTMAX_SPLIT_MIN,
           tuple((a.dtype, a.ndim, a.flags.writeable) for a in arrays or ()))
    if key in _warm:  # once per process: a parallel loop's launch alone takes milliseconds
        return
    _warm.add(key)
    zero = dt(0.0)
    if name in _RULES:
        serial, par, n_state, n_scalars, n_flags = _RULES[name]
        v = [np.zeros(4, dt) for _ in range(2 + n_state)]
        args = (*v, 0, 4, dt(1.0), dt(1.0), *([zero] * n_scalars), *([False] * n_flags))
        serial(*args)
        if parallel:
            par(*args)
    elif name == "sum_of_squares":
        _sumsq_range(np.zeros(4, dt), 0, 4)
    elif name == "all_finite":
        all_finite(np.zeros((2, 3), dt))
    elif name == "bias_activation":
        z, b, a = np.zeros((2, 3), dt), np.zeros(3, dt), np.zeros((2, 3), dt)
        if kind == TANH:
            _add_bias(z, b)
        elif kind == SIGMOID:
            _bias_minus_abs(z, b, a)
            _sigmoid_from_exp(z, a)
        else:
            _bias_activation(z, b, a, kind, zero)
            if kind == SOFTMAX and size >= SOFTMAX_SPLIT_MIN:
                _bias_shift_rows(z, b, a)
                _normalise_rows(a)
    elif name == "delta_and_bias_grad":
        delta_and_bias_grad(np.zeros((2, 3), dt), np.zeros((2, 3), dt), np.zeros((2, 3), dt),
                            np.zeros(3, dt), RELU, zero)
    elif name == "output_delta":
        output_delta(*(np.zeros((2, 3), dt) for _ in range(4)), np.zeros(2, dt), SOFTMAX_CE,
                     zero, zero)
    elif name == "take_rows":
        idx = np.zeros(1, np.int64)
        for X in arrays or (np.zeros((2, 3), dt),):
            out = np.empty((1,) + X.shape[1:], X.dtype)
            _take_rows_serial(X, idx, out)
            if parallel:
                _take_rows_par(X, idx, out)


#: The registry: kernel name -> callable.
KERNELS = {
    "sgd": _rule("sgd", _sgd_range, _sgd_par, 1),
    "adagrad": _rule("adagrad", _adagrad_range, _adagrad_par, 1),
    "rmsprop": _rule("rmsprop", _rmsprop_range, _rmsprop_par, 3),
    "adam": _rule("adam", _adam_range, _adam_par, 3),
    "sum_of_squares": sum_of_squares,
    "bias_activation": bias_activation,
    "delta_and_bias_grad": delta_and_bias_grad,
    "bias_grad": bias_grad,
    "output_delta": output_delta,
    "take_rows": take_rows,
    "all_finite": all_finite,
}

