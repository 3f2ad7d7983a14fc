"""Input checks shared by the public entry points.

Bad input gets a ``ValueError`` or ``TypeError`` that names what is wrong and where,
before any NumPy routine deep inside the algorithm sees it. Arrays are converted with
``np.asarray`` (no copy when the dtype already fits), and never written to.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from .devices import to_host

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_dtype(dtype) -> np.dtype:
    """``"float32"`` or ``"float64"`` (or their NumPy types) as a ``np.dtype``."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in FLOAT_DTYPES:
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return dt


def _as_numeric(a, name):
    try:
        arr = np.asarray(to_host(a))  # a GPU array is checked on the host, as any other
    except ValueError as exc:  # ragged nested lists
        raise ValueError(f"{name} is not a rectangular array: {exc}") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must be numeric (integers or floats), got dtype {arr.dtype} "
            f"(convert strings or objects first)"
        )
    return arr


def _check_finite(arr, name, block=1 << 20):
    """Raise naming the first NaN or inf; checks blocks of rows, so that the temporary
    mask stays small next to a large data set."""
    if arr.dtype.kind != "f":
        return
    rows = max(1, block // max(1, arr[:1].size)) if arr.ndim else 1
    if arr.ndim and len(arr) > rows:
        for lo in range(0, len(arr), rows):
            if not np.isfinite(arr[lo:lo + rows]).all():
                break
        else:
            return
    if not np.isfinite(arr).all():
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        idx = ", ".join(map(str, where))
        raise ValueError(f"{name} contains NaN or inf: {name}[{idx}] = {arr[where]}")


def issparse(X) -> bool:
    """Whether ``X`` is a SciPy sparse matrix or array. SciPy is not imported for this: when
    ``scipy.sparse`` was never imported, ``X`` cannot be one of its matrices."""
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(X)


def _check_shape(shape, n_features, name):
    """The shape of a data matrix: 2-D, not empty, ``n_features`` columns."""
    if len(shape) != 2:
        hint = " (use X.reshape(1, -1) for a single sample)" if len(shape) == 1 else ""
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {shape}{hint}")
    if shape[0] == 0 or shape[1] == 0:
        raise ValueError(f"{name} is empty: shape {shape}")
    if n_features is not None and shape[1] != n_features:
        raise ValueError(
            f"{name} has {shape[1]} features per sample, but the network expects {n_features}"
        )


def check_sparse_X(X, dtype, n_features=None, name="X"):
    """A SciPy sparse ``X`` as CSR of ``dtype`` (rows are taken by index in training),
    never made dense: the finite check looks at the stored values ``.data`` only."""
    _check_shape(X.shape, n_features, name)
    if X.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric (integers or floats), got dtype {X.dtype}")
    X = X.tocsr()  # no copy when it is CSR already
    if X.dtype != dtype:
        X = X.astype(dtype)  # copies the stored values, not a dense array
    if X.dtype.kind == "f" and not np.isfinite(X.data).all():
        X = X.copy()
        X.sum_duplicates()
        i = int(np.argmax(~np.isfinite(X.data)))
        row = int(np.searchsorted(X.indptr, i, side="right") - 1)
        raise ValueError(f"{name} contains NaN or inf: {name}[{row}, {int(X.indices[i])}] = "
                         f"{X.data[i]}")
    return X


def check_X(X, dtype, n_features=None, name="X", finite=True):
    """A finite 2-D array ``(n_samples, n_features)`` of ``dtype``; a SciPy sparse matrix or
    array stays sparse (CSR, :func:`check_sparse_X`). ``finite=False`` leaves out the
    finiteness check of a dense array, for a caller that checks it block by block (and
    calls ``check_X`` again for the message when a block fails)."""
    if issparse(X):
        return check_sparse_X(X, dtype, n_features, name)
    arr = _as_numeric(X, name)
    _check_shape(arr.shape, n_features, name)
    given = arr
    with np.errstate(over="ignore"):
        arr = np.asarray(arr, dtype=dtype)
    if not finite:
        return arr
    try:
        _check_finite(arr, name)
    except ValueError:
        _check_finite(given, name)  # NaN or inf in the data itself: that message
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        idx = ", ".join(map(str, where))
        raise ValueError(f"{name}[{idx}] = {given[where]:g} does not fit in {np.dtype(dtype)} "
                         f"(largest {np.finfo(dtype).max:.3g}): scale the data, or use "
                         f"dtype='float64'") from None
    return arr


def check_targets(T, n_samples, n_outputs, loss, dtype, name="T"):
    """Targets converted by ``loss.prepare_targets`` to ``(n_samples, n_outputs)``."""
    arr = _as_numeric(T, name)
    if arr.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-D or 2-D, got shape {arr.shape}")
    if arr.shape[0] != n_samples:
        raise ValueError(f"{name} has {arr.shape[0]} rows but X has {n_samples} samples")
    _check_finite(arr, name)
    arr = loss.prepare_targets(arr, n_outputs, dtype)
    if arr.shape != (n_samples, n_outputs):
        raise ValueError(
            f"{name} has shape {arr.shape}, expected ({n_samples}, {n_outputs}) "
            f"for a network with {n_outputs} outputs and loss {loss.name!r}"
        )
    return np.asarray(arr, dtype=dtype)


def check_layer_sizes(layer_sizes):
    """A list of at least two positive integers, from a list, tuple, range or 1-D array (a
    set or a dict has no order to read the layers in)."""
    if not isinstance(layer_sizes, (list, tuple, range, np.ndarray)):
        raise TypeError(f"layer_sizes must be a list or tuple of integers, got "
                        f"{type(layer_sizes).__name__} {layer_sizes!r}")
    sizes = list(np.asarray(layer_sizes).ravel()) if isinstance(layer_sizes, np.ndarray) \
        else list(layer_sizes)
    if len(sizes) < 2:
        raise ValueError(f"layer_sizes needs at least an input and an output size, got {sizes}")
    for i, n in enumerate(sizes):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"layer_sizes[{i}] must be an integer, got {n!r}")
        if n <= 0:
            raise ValueError(f"layer_sizes[{i}] must be positive, got {n}")
    return [int(n) for n in sizes]


def available_memory():
    """Bytes of memory free for a new allocation (Linux's MemAvailable; the free physical
    pages elsewhere), or None when the system does not say; never more than what the
    process's address-space limit (``ulimit -v``, ``RLIMIT_AS``) leaves."""
    free = _system_free_memory()
    room = _address_space_left()
    if room is not None:
        free = room if free is None else min(free, room)
    return free


def _system_free_memory():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import os

        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _address_space_left():
    """``RLIMIT_AS`` less the address space in use (Linux), or None without a limit."""
    try:
        import resource

        limit = resource.getrlimit(resource.RLIMIT_AS)[0]
        if limit == resource.RLIM_INFINITY:
            return None
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return max(0, limit - int(line.split()[1]) * 1024)
    except (ImportError, OSError, ValueError):
        pass
    return None


def format_bytes(n):
    """``1.5 GB``: a byte count for messages (powers of 1000, as ``df -H``)."""
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000.0


def check_network_size(sizes, dtype, name="layer_sizes", float64_copies=0):
    """Refuse, before allocating anything, a network whose weights and gradients cannot fit
    in the memory that is free: building one holds each parameter four times (the layer's
    weights and gradients, then the flat store's) plus one float64 copy of the largest
    weight matrix while it is drawn, and ``float64_copies`` float64 copies of every
    parameter that the caller holds meanwhile (the estimators' scikit-learn-style initial
    weights)."""
    n_params = sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))
    largest = max(a * b for a, b in zip(sizes, sizes[1:]))
    need = (4 * n_params * np.dtype(dtype).itemsize + 8 * largest
            + 8 * float64_copies * n_params)
    free = available_memory()
    if free is not None and need > free:
        raise MemoryError(
            f"{name} {sizes}: {n_params:,} parameters need about {format_bytes(need)} to "
            f"build in {np.dtype(dtype).name}, but only {format_bytes(free)} of memory is "
            f"free for this process; choose smaller layers")
    return n_params


#: How far below the dtype's largest number the weights' sum must stay, so that the weighted
#: losses Σ w ℓ (ℓ up to about 10⁶) and their gradients stay finite.
_WEIGHT_HEADROOM = 1e-6


def check_sample_weight(sample_weight, n_samples, dtype):
    """None, or a finite non-negative 1-D array of length ``n_samples`` with a positive sum,
    in ``dtype``, whose values that dtype's arithmetic can carry: none overflows it, none
    (but zeros) falls below its smallest normal number (where the ratios between weights,
    all that the mean loss sees, are lost), and their sum leaves room for Σ w ℓ."""
    if sample_weight is None:
        return None
    w = _as_numeric(sample_weight, "sample_weight")
    if w.ndim == 0:
        w = np.full(n_samples, w)
    if w.shape != (n_samples,):
        raise ValueError(f"sample_weight must have shape ({n_samples},), got {w.shape}")
    _check_finite(w, "sample_weight")  # NaN or inf in the weights themselves
    if (w < 0).any():
        i = int(np.argmax(w < 0))
        raise ValueError(f"sample_weight must be non-negative: sample_weight[{i}] = {w[i]:g}")
    given = w
    with np.errstate(over="ignore", under="ignore"):
        w = np.asarray(w, dtype=dtype)
    info = np.finfo(w.dtype)
    advice = ("scale the weights (with reduction='mean' only their ratios matter)"
              + (", or use dtype='float64'" if w.dtype != np.float64 else ""))
    if not np.isfinite(w).all():
        i = int(np.argmax(~np.isfinite(w)))
        raise ValueError(f"sample_weight[{i}] = {given[i]:g} overflows {w.dtype} (largest "
                         f"{info.max:.3g}): {advice}")
    lost = (given != 0) & (w < info.tiny)
    if lost.any():
        i = int(np.argmax(lost))
        raise ValueError(f"sample_weight[{i}] = {given[i]:g} is below {w.dtype}'s smallest "
                         f"normal number ({info.tiny:.3g}), where its ratio to the other "
                         f"weights is lost: {advice}")
    total = float(w.sum(dtype=np.float64))
    if not total > 0:
        raise ValueError("sample_weight sums to zero")
    if total > _WEIGHT_HEADROOM * float(info.max):
        raise ValueError(f"sample_weight sums to {total:.3g}, too large for {w.dtype} "
                         f"arithmetic: the weighted losses Σ w ℓ would overflow (largest "
                         f"{info.max:.3g}); {advice}")
    return w


# -- scalar parameters: hyper-parameters of optimizers, schedules and estimators -----------
def check_number(name, value):
    """A finite real number (not a bool), as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


def check_positive(name, value):
    value = check_number(name, value)
    if value <= 0.0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return value


def check_non_negative(name, value):
    value = check_number(name, value)
    if value < 0.0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return value


def check_int(name, value, minimum=1):
    """An integer (not a bool) of at least ``minimum``, as an int."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return int(value)


def check_bool(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)
