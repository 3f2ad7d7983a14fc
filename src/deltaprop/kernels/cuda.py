"""The fused kernels on an NVIDIA GPU (CuPy), with the signatures of the Numba kernels.

:func:`deltaprop.kernels.get` returns these for a CuPy array (this module is imported
only then: importing it needs CuPy but no GPU, and nothing is compiled before a kernel
is first called). Each one takes exactly the arguments of its namesake in
:mod:`deltaprop.kernels.compiled` and has the same effect.

How they are built:

* the optimizer rules and the elementwise activations are ``cupy.RawKernel`` s, one
  thread per element (a grid-stride loop), whose bodies repeat the Numba kernels'
  operations in the same order and dtype. They are compiled with ``--fmad=false``, so that
  NVRTC does not contract ``a * b + c`` into a fused multiply-add, which rounds once
  where NumPy and Numba round twice; division and ``sqrt`` are NVRTC's IEEE-rounded
  defaults. The options (momentum, Nesterov, centred, AMSGrad) and the activation are
  compiled in: one variant per combination and dtype, compiled on first use (CuPy keeps
  the binaries in its kernel cache on disk). An absent state array (the size-0 NumPy
  array that the optimizers pass) is never read by the variant without it; the kernel is
  handed the parameter's pointer in its place.
* softmax and the output deltas are row kernels, one thread per row looping over its
  columns as the Numba kernel does (the row's sum in the same order).
* the bias gradients ``Σ_rows g`` are ``cupy.sum(g, axis=0)``, what the NumPy path runs
  on a GPU (NumPy's ``np.sum`` dispatches to CuPy), after the fused ``g ⊙ f'(z)``.
* ``sum_of_squares`` is a ``cupy.ReductionKernel`` in float64; ``take_rows`` is
  ``cupy.take``.

Agreement (checked by ``tests/test_gpu.py`` on a GPU):

* bitwise, with the GPU's NumPy path and with the CPU (NumPy or Numba) given the same
  inputs: the optimizer rules (SGD with or without momentum and Nesterov, AdaGrad,
  RMSProp, Adam, AMSGrad, weight decay and a given clipping coefficient folded in), the
  ReLU, leaky ReLU and identity forward steps, and the batch gather;
* bitwise with the GPU's NumPy path: ``g ⊙ f'(z)`` and the bias gradients (the same
  CuPy reduction); with the CPU within float32 rounding, since CuPy's reduction adds in a
  tree where NumPy adds row after row;
* within float32 rounding (a few units in the last place): the steps that call ``exp``,
  ``log``, ``log1p`` or ``tanh`` (sigmoid, tanh, softmax, the output deltas), whose CUDA
  implementations are not the C library's nor NumPy's; and ``sum_of_squares``, which adds
  in a tree where Numba adds serially (float64, so the clipping coefficient differs in its
  last bits at most).

``sum_of_squares`` returns a 0-d float64 CuPy array rather than a Python float: the
optimizer adds the tensors' sums and takes ``math.sqrt`` of the total, which then waits
for the GPU once per step instead of once per tensor.
"""

from __future__ import annotations

import numpy as np

import cupy

from . import KERNEL_NAMES

__all__ = ["KERNELS"]

#: Threads per block of every kernel here, and the largest grid (the loops stride over
#: the rest).
BLOCK = 256
MAX_BLOCKS = 8192

_OPTIONS = ("--fmad=false",)  # NVRTC: no contraction into fused multiply-adds
_CTYPE = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}

_compiled: dict = {}


def _kernel(source, name, dtype, **flags):
    """The RawKernel ``name`` of ``source`` for ``dtype`` with the compile-time ``flags``
    (macros), created once; CuPy compiles it at its first launch."""
    key = (name, np.dtype(dtype), tuple(sorted(flags.items())))
    kernel = _compiled.get(key)
    if kernel is None:
        ctype = _CTYPE.get(np.dtype(dtype))
        if ctype is None:
            raise TypeError(f"deltaprop.kernels.cuda: float32 or float64 arrays only, got "
                            f"{np.dtype(dtype)}")
        defines = "".join(f"#define {k.upper()} {int(v)}\n" for k, v in sorted(flags.items()))
        code = f"typedef {ctype} T;\n{defines}{source}"
        kernel = _compiled[key] = cupy.RawKernel(code, name, options=_OPTIONS)
    return kernel


def _grid(n):
    return (max(1, min((n + BLOCK - 1) // BLOCK, MAX_BLOCKS)),)


def _launch(kernel, n, args):
    if n > 0:
        kernel(_grid(n), (BLOCK,), args)


def _state(a, p):
    """A state array as the kernel takes it: ``p`` in place of an absent one."""
    return p if a.size == 0 or not isinstance(a, cupy.ndarray) else a


def _need(flag, a, what):
    if flag and (a.size == 0 or not isinstance(a, cupy.ndarray)):
        raise ValueError(f"deltaprop.kernels.cuda: the {what} state array is missing (got an "
                         f"array of shape {a.shape} of {type(a).__module__})")


# --------------------------------------------------------------------------- optimizers
# The loop of every rule: element i = lo + k of flat arrays, for k in [0, n).
_LOOP = """
    for (long long k = blockIdx.x * (long long)blockDim.x + threadIdx.x; k < n;
         k += (long long)gridDim.x * blockDim.x) {
        const long long i = lo + k;
        T gi = g[i];
        if (coef != (T)1) { gi = gi * coef; g[i] = gi; }
        T pi = p[i];
        if (keep != (T)1) pi = pi * keep;
"""

_SGD = """
extern "C" __global__ void sgd(T* p, T* g, T* vel, const long long lo, const long long n,
                               const T keep, const T coef, const T lr, const T mu) {
""" + _LOOP + """
#if MOMENTUM
        T vi = vel[i] * mu + gi;  // Delta <- mu Delta + g
        vel[i] = vi;
#if NESTEROV
        T step = (vi * mu + gi) * lr;
#else
        T step = vi * lr;
#endif
#else
        T step = gi * lr;
#endif
        p[i] = pi - step;
    }
}
"""

_ADAGRAD = """
extern "C" __global__ void adagrad(T* p, T* g, T* G, const long long lo, const long long n,
                                   const T keep, const T coef, const T lr, const T eps) {
""" + _LOOP + """
        T Gi = G[i] + gi * gi;  // G <- G + g*g
        G[i] = Gi;
        p[i] = pi - (gi / (sqrt(Gi) + eps)) * lr;
    }
}
"""

_RMSPROP = """
extern "C" __global__ void rmsprop(T* p, T* g, T* v, T* gbar, T* B, const long long lo,
                                   const long long n, const T keep, const T coef, const T lr,
                                   const T alpha, const T one_minus_alpha, const T eps,
                                   const T mu) {
""" + _LOOP + """
        T vi = v[i] * alpha + (gi * gi) * one_minus_alpha;  // v <- alpha v + (1 - alpha) g*g
        v[i] = vi;
#if CENTERED
        T gb = gbar[i] * alpha + gi * one_minus_alpha;
        gbar[i] = gb;
        T d = sqrt(vi - gb * gb) + eps;
#else
        T d = sqrt(vi) + eps;
#endif
        d = gi / d;
#if MOMENTUM
        T Bi = B[i] * mu + d;  // B <- mu B + g / d
        B[i] = Bi;
        d = Bi * lr;
#else
        d = d * lr;
#endif
        p[i] = pi - d;
    }
}
"""

_ADAM = """
extern "C" __global__ void adam(T* p, T* g, T* m, T* v, T* v_max, const long long lo,
                                const long long n, const T keep, const T coef,
                                const T one_minus_beta_1, const T beta_2,
                                const T one_minus_beta_2, const T eps_c, const T scale) {
""" + _LOOP + """
        T mi = m[i];
        mi = mi + (gi - mi) * one_minus_beta_1;  // torch's lerp, as the NumPy rule
        m[i] = mi;
        T vi = v[i] * beta_2 + (gi * gi) * one_minus_beta_2;
        v[i] = vi;
#if AMSGRAD
        T vm = v_max[i];
        if (!(vm >= vi || vm != vm)) vm = vi;  // np.maximum, NaN included
        v_max[i] = vm;
        vi = vm;
#endif
        p[i] = pi - (mi / (sqrt(vi) + eps_c)) * scale;
    }
}
"""


def _range_args(p, lo, hi, keep, coef, scalars):
    t = p.dtype.type
    return (np.int64(lo), np.int64(hi - lo), t(keep), t(coef)) + tuple(t(s) for s in scalars)


def sgd(p, g, vel, lo, hi, keep, coef, lr, mu, momentum, nesterov):
    """SGD, with momentum and Nesterov's variant (``compiled._sgd_range``)."""
    _need(momentum, vel, "velocity")
    kernel = _kernel(_SGD, "sgd", p.dtype, momentum=bool(momentum),
                     nesterov=bool(momentum) and bool(nesterov))
    with p.device:
        _launch(kernel, hi - lo, (p, g, _state(vel, p)) + _range_args(p, lo, hi, keep, coef,
                                                                      (lr, mu)))


def adagrad(p, g, G, lo, hi, keep, coef, lr, eps):
    """AdaGrad (``compiled._adagrad_range``)."""
    _need(True, G, "sum")
    kernel = _kernel(_ADAGRAD, "adagrad", p.dtype)
    with p.device:
        _launch(kernel, hi - lo, (p, g, G) + _range_args(p, lo, hi, keep, coef, (lr, eps)))


def rmsprop(p, g, v, gbar, B, lo, hi, keep, coef, lr, alpha, one_minus_alpha, eps, mu,
            centered, momentum):
    """RMSProp, centred or not, with or without momentum (``compiled._rmsprop_range``)."""
    _need(True, v, "square_avg")
    _need(centered, gbar, "grad_avg")
    _need(momentum, B, "momentum_buffer")
    kernel = _kernel(_RMSPROP, "rmsprop", p.dtype, centered=bool(centered),
                     momentum=bool(momentum))
    with p.device:
        _launch(kernel, hi - lo, (p, g, v, _state(gbar, p), _state(B, p))
                + _range_args(p, lo, hi, keep, coef, (lr, alpha, one_minus_alpha, eps, mu)))


def adam(p, g, m, v, v_max, lo, hi, keep, coef, one_minus_beta_1, beta_2, one_minus_beta_2,
         eps_c, scale, amsgrad):
    """Adam and AMSGrad (``compiled._adam_range``)."""
    _need(True, m, "m")
    _need(True, v, "v")
    _need(amsgrad, v_max, "v_max")
    kernel = _kernel(_ADAM, "adam", p.dtype, amsgrad=bool(amsgrad))
    with p.device:
        _launch(kernel, hi - lo, (p, g, m, v, _state(v_max, p))
                + _range_args(p, lo, hi, keep, coef, (one_minus_beta_1, beta_2,
                                                      one_minus_beta_2, eps_c, scale)))


_sumsq = None


def sum_of_squares(x):
    """Σ x² of a flat array, accumulated in float64 (a 0-d CuPy array)."""
    global _sumsq
    if _sumsq is None:
        _sumsq = cupy.ReductionKernel("T x", "float64 s", "(double)x * (double)x", "a + b",
                                      "s = a", "0", "deltaprop_sum_of_squares")
    with x.device:
        return _sumsq(x)


# --------------------------------------------------------------------------- activations
# Activation codes (the order of ACTIVATION_CODES in deltaprop.kernels).
IDENTITY, RELU, LEAKY_RELU, SIGMOID, TANH, SOFTMAX = range(6)

_BIAS_ACTIVATION = """
extern "C" __global__ void bias_activation(T* z, const T* b, T* a, const long long size,
                                           const long long k, const T param) {
    const T one = 1, zero = 0;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < size;
         i += (long long)gridDim.x * blockDim.x) {
        T zij = z[i] + b[i % k];
        z[i] = zij;
#if KIND == 1
        a[i] = zij < zero ? zero : zij;  // np.maximum(z, 0): NaN kept
#elif KIND == 2
        a[i] = zij > zero ? zij : param * zij;
#elif KIND == 3
        T e = exp(-fabs(zij));
        T s = one / (one + e);
        a[i] = zij < zero ? s * e : s;
#elif KIND == 4
        a[i] = tanh(zij);
#else
        a[i] = zij;
#endif
    }
}
"""

_BIAS_SOFTMAX = """
extern "C" __global__ void bias_softmax(T* z, const T* b, T* a, const long long n,
                                        const long long k) {
    for (long long r = blockIdx.x * (long long)blockDim.x + threadIdx.x; r < n;
         r += (long long)gridDim.x * blockDim.x) {
        T* zr = z + r * k;
        T* ar = a + r * k;
        T m = zr[0] + b[0];
        for (long long j = 0; j < k; j++) {
            T zij = zr[j] + b[j];
            zr[j] = zij;
            if (zij > m) m = zij;
        }
        T s = 0;
        for (long long j = 0; j < k; j++) {
            T e = exp(zr[j] - m);
            ar[j] = e;
            s += e;
        }
        for (long long j = 0; j < k; j++) ar[j] = ar[j] / s;
    }
}
"""

_DELTA = """
extern "C" __global__ void delta(const T* z, const T* a, T* g, const long long size,
                                 const T param) {
    const T one = 1, zero = 0;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < size;
         i += (long long)gridDim.x * blockDim.x) {
        T gij = g[i];
#if KIND == 1
        gij = gij * (z[i] > zero ? one : zero);
#elif KIND == 2
        gij = gij * (z[i] > zero ? one : param);
#elif KIND == 3
        T aij = a[i];
        gij = gij * (aij * (one - aij));
#elif KIND == 4
        T aij = a[i];
        gij = gij * (one - aij * aij);
#endif
        g[i] = gij;
    }
}
"""


def bias_activation(z, b, a, kind, param):
    """z <- z + b (row by row), a <- f(z): the forward step of a dense layer after its
    product."""
    n, k = z.shape
    with z.device:
        if kind == SOFTMAX:
            _launch(_kernel(_BIAS_SOFTMAX, "bias_softmax", z.dtype), n,
                    (z, b, a, np.int64(n), np.int64(k)))
        else:
            _launch(_kernel(_BIAS_ACTIVATION, "bias_activation", z.dtype, kind=int(kind)),
                    n * k, (z, b, a, np.int64(n * k), np.int64(k), z.dtype.type(param)))


def delta_and_bias_grad(z, a, g, grad_b, kind, param):
    """g <- g ⊙ f'(z) in place and grad_b <- Σ_rows g; f' from z (ReLU, leaky ReLU) or
    from a (sigmoid, tanh). The sum is CuPy's reduction over axis 0, as on the NumPy
    path."""
    if kind == SOFTMAX:  # as Numba's kernel: g unchanged (softmax's backward is not
        kind = IDENTITY  # elementwise, and the activations never ask for it)
    with g.device:
        if kind != IDENTITY:
            _launch(_kernel(_DELTA, "delta", g.dtype, kind=int(kind)), g.size,
                    (z, a, g, np.int64(g.size), g.dtype.type(param)))
        cupy.sum(g, axis=0, out=grad_b)


def bias_grad(g, grad_b):
    """grad_b <- Σ_rows g (where g is already δ): CuPy's reduction, as on the NumPy path."""
    with g.device:
        cupy.sum(g, axis=0, out=grad_b)


# --------------------------------------------------------------------------- losses
# Loss codes (deltaprop.kernels.LOSS_CODES).
SOFTMAX_CE, SIGMOID_BCE, SQUARED = range(3)

_OUTPUT_DELTA = """
extern "C" __global__ void output_delta(const T* z, const T* y, const T* t, T* delta,
                                        T* per_sample, const long long n, const long long k,
                                        const T grad_scale, const T value_scale) {
    const T zero = 0;
    for (long long r = blockIdx.x * (long long)blockDim.x + threadIdx.x; r < n;
         r += (long long)gridDim.x * blockDim.x) {
        const T* zr = z + r * k;
        const T* yr = y + r * k;
        const T* tr = t + r * k;
        T* dr = delta + r * k;
        T s = zero;
#if KIND == 0
        T m = zr[0];
        for (long long j = 1; j < k; j++) if (zr[j] > m) m = zr[j];
        T e = zero;
        for (long long j = 0; j < k; j++) e += exp(zr[j] - m);
        T lse = m + log(e);
        for (long long j = 0; j < k; j++) {
            T tij = tr[j];
            s += tij * (lse - zr[j]);
            dr[j] = yr[j] - tij;
        }
#elif KIND == 1
        for (long long j = 0; j < k; j++) {
            T zij = zr[j], tij = tr[j];
            T sp = (zij > zero ? zij : zero) + log1p(exp(-fabs(zij)));
            s += sp - tij * zij;
            dr[j] = yr[j] - tij;
        }
#else
        for (long long j = 0; j < k; j++) {
            T e = tr[j] - yr[j];
            s += e * e;
            dr[j] = grad_scale * (yr[j] - tr[j]);
        }
        s = s * value_scale;
#endif
        per_sample[r] = s;
    }
}
"""


def output_delta(z, y, t, delta, per_sample, kind, grad_scale, value_scale):
    """The per-sample loss and δ = ∂l/∂z at the output layer, one thread per row
    (``compiled.output_delta``)."""
    n, k = z.shape
    dt = z.dtype.type
    with z.device:
        _launch(_kernel(_OUTPUT_DELTA, "output_delta", z.dtype, kind=int(kind)), n,
                (z, y, t, delta, per_sample, np.int64(n), np.int64(k), dt(grad_scale),
                 dt(value_scale)))


# --------------------------------------------------------------------------- batches
def take_rows(X, idx, out):
    """out[r] <- X[idx[r]] for every r; True when done. Indices on the host are checked
    first (False, with nothing written, for one out of range, as the Numba kernel);
    indices on the GPU are not, since that would wait for the GPU (``cupy.take`` wraps
    them around): the training loop's come from a permutation."""
    if not isinstance(idx, cupy.ndarray):
        idx = np.asarray(idx)
        if idx.size and (idx.min() < 0 or idx.max() >= X.shape[0]):
            return False
    with X.device:
        cupy.take(X, cupy.asarray(idx), axis=0, out=out)
    return True


# --------------------------------------------------------------------------- checks
def all_finite(x):
    """Whether every element of ``x`` is finite (``cupy.isfinite(x).all()``; the host
    waits for the answer)."""
    with x.device:
        return bool(cupy.isfinite(x).all())


#: The registry: kernel name -> callable, one per name of ``deltaprop.kernels.KERNEL_NAMES``.
KERNELS = {name: globals()[name] for name in KERNEL_NAMES}
