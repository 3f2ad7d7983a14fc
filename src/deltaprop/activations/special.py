r"""The error function, elementwise in the dtype and on the device of its input.

GELU's :math:`\Phi(z) = \tfrac12 (1 + \mathrm{erf}(z/\sqrt2))` needs it; NumPy has none, so
SciPy's is used when installed (imported on first use) and a NumPy series and continued
fraction otherwise, CuPy's on the GPU.
"""

import math

import numpy as np

from ..devices import is_cupy

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_INV_SQRT_PI = 1.0 / math.sqrt(math.pi)


def _erf_numpy(x):
    """erf with NumPy only, used when SciPy is absent (within 6 ulp of ``math.erf``).

    For ``|x| < 2.5`` the positive-term series
    ``erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_n (2x^2)^n x / (2n+1)!!`` (no cancellation);
    above, the continued fraction
    ``erfc(x) = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...))))``.
    """
    if not isinstance(x, np.ndarray):
        x = np.asarray(x)
    ax = np.abs(x).astype(np.float64)
    result = np.empty_like(ax)
    small = ax < 2.5
    xs = ax[small]
    term = xs.copy()
    total = xs.copy()
    two_x2 = 2.0 * xs * xs
    for n in range(1, 80):
        term *= two_x2 / (2 * n + 1)
        total += term
    result[small] = _TWO_OVER_SQRT_PI * np.exp(-xs * xs) * total
    xl = ax[~small]
    frac = xl.copy()
    for n in range(60, 0, -1):
        frac = xl + (0.5 * n) / frac
    result[~small] = 1.0 - _INV_SQRT_PI * np.exp(-xl * xl) / frac
    return np.copysign(result, x).astype(x.dtype, copy=False)


_ERF: list = []  # SciPy's erf (faster; both are exact to double precision), or None, once looked up


def _scipy_erf():
    """SciPy's erf, imported on first use: importing scipy.special takes longer than the
    rest of ``import deltaprop``."""
    if not _ERF:
        try:
            from scipy.special import erf as scipy_erf
        except ImportError:  # pragma: no cover - depends on the environment
            scipy_erf = None
        _ERF.append(scipy_erf)
    return _ERF[0]


def erf(x, out=None):
    """The error function, elementwise, in the dtype of ``x`` (on ``x``'s device)."""
    if is_cupy(x):
        from cupyx.scipy.special import erf as cupy_erf
        return cupy_erf(x, out=out) if out is not None else cupy_erf(x)
    if not isinstance(x, np.ndarray):
        x = np.asarray(x)
    fast = _scipy_erf()
    if fast is not None:
        return fast(x, out=out) if out is not None else fast(x)
    r = _erf_numpy(x)
    if out is None:
        return r
    out[...] = r
    return out
