"""Where a network's arrays live: the CPU (NumPy), an NVIDIA GPU (CuPy), or the strict
CPU device that tests use to keep the code device-clean.

A network's parameters, gradients, optimizer state and work buffers live on one
:class:`Device`; the layers, losses, activations and optimizers run the same code on
either array module. NumPy's functions dispatch to CuPy for CuPy arrays (NumPy's
``__array_ufunc__`` and ``__array_function__`` protocols, which CuPy implements), so the
maths is written once; what must name the module is the creation of new arrays
(``device.xp.empty``) and the moves between host and device (:meth:`Device.asarray`,
:meth:`Device.to_host`), which every public method of a network does at its edge: it
takes and returns NumPy arrays.

* ``"cpu"``: NumPy, the reference.
* ``"cuda"`` / ``"cuda:N"``: CuPy on GPU ``N`` (the optional extra ``cuda``:
  ``pip install 'deltaprop[cuda]'``). Asking for it without CuPy or without a GPU raises
  :class:`DeviceError`, which says what is missing.
* ``"strict"``: NumPy behind the device interface, with arrays of a subclass
  (:class:`StrictArray`) that refuse to meet a plain NumPy array in any operation, as
  CuPy refuses, and refuse host arrays as indices or as assigned values. Its results are
  NumPy's to the last bit; a test that trains on it proves that no host array leaks into
  the device path, without a GPU.
"""

from __future__ import annotations

import re

import numpy as np

__all__ = ["Device", "DeviceError", "StrictArray", "get_device", "device_of", "namespace",
           "to_host", "is_cupy", "device_name", "CPU"]


class DeviceError(RuntimeError):
    """A device was asked for that this machine cannot provide (no CuPy, no GPU)."""


class Device:
    """One place for arrays: its name and its array module ``xp``.

    Devices compare equal by name; :func:`get_device` returns them.
    """

    kind = "cpu"

    def __init__(self, name="cpu"):
        self.name = name
        self.xp = np

    @property
    def is_cpu(self):
        """Whether arrays on this device are plain NumPy arrays."""
        return self.kind == "cpu"

    def asarray(self, a, dtype=None):
        """``a`` (a NumPy array, or an array of any device) as an array of this device; no
        copy when it is one already (of ``dtype``)."""
        return np.asarray(to_host(a), dtype=dtype)

    def to_host(self, a):
        """``a`` as a NumPy array (a copy from a GPU; ``a`` itself on the CPU)."""
        return to_host(a)

    def synchronize(self):
        """Wait for the work queued on the device (no-op on the CPU)."""

    def fits(self, nbytes):
        """Whether ``nbytes`` of data may be moved to the device whole (always on the CPU)."""
        return True

    def pinned_empty(self, shape, dtype):
        """A host (NumPy) array to stage copies to the device in: page-locked memory on a
        GPU, whose copies run at the bus's full rate."""
        return np.empty(shape, dtype=dtype)

    def upload(self, host, out):
        """Copy the host array ``host`` into the device array ``out`` (same shape), and
        return ``out``; the copy is complete when it returns."""
        out[...] = self.asarray(host)
        return out

    def __eq__(self, other):
        return isinstance(other, Device) and other.name == self.name

    def __hash__(self):
        return hash(self.name)

    def __repr__(self):
        return f"Device({self.name!r})"

    def __str__(self):
        return self.name

    def __reduce__(self):  # a pickled network remembers its device by name
        return (get_device, (self.name,))


CPU = Device("cpu")


# --------------------------------------------------------------------------- strict device
def _host_operand(values):
    """The first plain NumPy array (not 0-d) among ``values``, or None."""
    for v in values:
        if type(v) is np.ndarray and v.ndim:
            return v
        if isinstance(v, (tuple, list)):
            found = _host_operand(v)
            if found is not None:
                return found
    return None


def _refuse(what, host):
    raise TypeError(f"strict device: a NumPy (host) array of shape {host.shape} met a device "
                    f"array in {what}; move it with device.asarray() first (CuPy refuses this "
                    f"too)")


def _plain(v):
    if isinstance(v, StrictArray):
        return v.view(np.ndarray)
    if isinstance(v, tuple):
        return tuple(_plain(x) for x in v)
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def _wrap(result):
    """NumPy's results as device arrays (0-d ones too: CuPy's reductions return 0-d
    arrays, not scalars)."""
    if isinstance(result, StrictArray):
        return result
    if isinstance(result, np.ndarray):
        return result.view(StrictArray)
    if isinstance(result, np.generic):
        return np.asarray(result).view(StrictArray)
    if isinstance(result, tuple):
        return tuple(_wrap(r) for r in result)
    return result


class StrictArray(np.ndarray):
    """An array of the ``"strict"`` device: a NumPy array that, like a CuPy array, cannot be
    mixed with host arrays (see the module docstring)."""

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        host = _host_operand(inputs) if out is None else _host_operand(inputs + tuple(out))
        if host is not None:
            _refuse(f"np.{ufunc.__name__}", host)
        if kwargs.get("where", True) is not True:
            raise TypeError(f"strict device: np.{ufunc.__name__}(..., where=) is NumPy's only: "
                            f"CuPy's ufuncs take no where= (np.copyto does)")
        if out is not None:
            kwargs["out"] = _plain(out)
        result = getattr(ufunc, method)(*_plain(inputs), **{k: _plain(v) for k, v in kwargs.items()})
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        if np.ndarray in types:
            host = _host_operand(tuple(args) + tuple(kwargs.values()))
            if host is not None:
                _refuse(f"np.{func.__name__}", host)
        return _wrap(func(*_plain(args), **{k: _plain(v) for k, v in kwargs.items()}))

    def __getitem__(self, key):
        host = _host_operand(key if isinstance(key, tuple) else (key,))
        if host is not None:
            _refuse("indexing", host)
        return _wrap(super().__getitem__(key))

    def __setitem__(self, key, value):
        host = _host_operand((key if isinstance(key, tuple) else (key,)) + (value,))
        if host is not None:
            _refuse("an assignment", host)
        super().__setitem__(key, value)

    def __array_wrap__(self, obj, context=None, return_scalar=False):
        return obj.view(StrictArray) if isinstance(obj, np.ndarray) else obj


def _strict(fn):
    """NumPy's creation function ``fn``, returning a device array."""
    def create(*args, **kwargs):
        return fn(*args, **kwargs).view(StrictArray)
    create.__name__ = fn.__name__
    return staticmethod(create)


class _StrictNamespace:
    """NumPy's namespace with its creation functions returning device arrays: the ``xp``
    of the strict device. Every other name is NumPy's (whose functions dispatch to the
    arrays' own protocol)."""

    empty, zeros, ones, full = _strict(np.empty), _strict(np.zeros), _strict(np.ones), \
        _strict(np.full)
    arange, eye, linspace = _strict(np.arange), _strict(np.eye), _strict(np.linspace)

    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    def asarray(a, dtype=None, order=None):
        if isinstance(a, StrictArray):
            return a if dtype is None or a.dtype == dtype else a.astype(dtype)
        return np.asarray(a, dtype=dtype, order=order).view(StrictArray)

    @staticmethod
    def array(a, dtype=None, copy=True):
        return np.array(_plain(a), dtype=dtype, copy=copy).view(StrictArray)

    @staticmethod
    def ascontiguousarray(a, dtype=None):
        return np.ascontiguousarray(_plain(a), dtype=dtype).view(StrictArray)


_strict_xp = _StrictNamespace()


class _StrictDevice(Device):
    kind = "strict"

    def __init__(self):
        super().__init__("strict")
        self.xp = _strict_xp

    def asarray(self, a, dtype=None):
        if isinstance(a, StrictArray):
            return a if dtype is None or a.dtype == np.dtype(dtype) else a.astype(dtype)
        return np.array(to_host(a), dtype=dtype).view(StrictArray)  # a copy, as a transfer is


STRICT = _StrictDevice()


# --------------------------------------------------------------------------- CUDA (CuPy)
_cupy = None


def _import_cupy():
    global _cupy
    if _cupy is None:
        try:
            import cupy
        except ImportError as exc:
            raise DeviceError(
                "device 'cuda' needs CuPy, which is not installed here: "
                "pip install 'deltaprop[cuda]' (or the CuPy wheel for your CUDA version, "
                "e.g. cupy-cuda12x)") from exc
        _cupy = cupy
    return _cupy


class _CudaDevice(Device):
    kind = "cuda"

    def __init__(self, index):
        cupy = _import_cupy()
        try:
            count = cupy.cuda.runtime.getDeviceCount()
        except Exception as exc:  # CUDARuntimeError: no driver, no device
            raise DeviceError(f"device 'cuda:{index}': CuPy is installed but finds no CUDA "
                              f"GPU ({exc})") from exc
        if count == 0:
            raise DeviceError(f"device 'cuda:{index}': CuPy is installed but finds no CUDA GPU")
        if index >= count:
            raise DeviceError(f"device 'cuda:{index}' does not exist: this machine has {count} "
                              f"CUDA GPU{'s' if count > 1 else ''} (cuda:0 to cuda:{count - 1})")
        super().__init__(f"cuda:{index}")
        self.index = index
        self.xp = cupy

    def asarray(self, a, dtype=None):
        cupy = self.xp
        with cupy.cuda.Device(self.index):
            if isinstance(a, cupy.ndarray):
                return cupy.asarray(a, dtype=dtype)
            return cupy.asarray(np.asarray(to_host(a), dtype=dtype))

    def synchronize(self):
        self.xp.cuda.Device(self.index).synchronize()

    def fits(self, nbytes):
        """Whether ``nbytes`` fit in half the GPU's free memory (then a training set is
        moved there whole; otherwise batch by batch, through pinned host memory)."""
        with self.xp.cuda.Device(self.index):
            free, _ = self.xp.cuda.runtime.memGetInfo()
        pool = self.xp.get_default_memory_pool()
        return nbytes <= 0.5 * (free + pool.free_bytes())

    def pinned_empty(self, shape, dtype):
        import cupyx
        return cupyx.empty_pinned(shape, dtype=dtype)

    def upload(self, host, out):
        out.set(host)  # synchronous without a stream: the staging buffer is free again after
        return out


_CUDA: dict = {}
_NAME = re.compile(r"^(cpu|strict|cuda)(?::(\d+))?$")


def device_name(device):
    """The canonical name (``"cpu"``, ``"strict"``, ``"cuda:N"``) of a device's name, checked
    for its spelling only (nothing is imported): a ``ValueError`` for anything else."""
    match = _NAME.match(device.strip().lower()) if isinstance(device, str) else None
    if match is None:
        raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:N' (N a GPU's number) or "
                         f"'strict'; got {device!r}")
    kind, index = match.group(1), match.group(2)
    if kind != "cuda":
        if index is not None:
            raise ValueError(f"device {device!r}: only 'cuda' takes a number")
        return kind
    return f"cuda:{int(index or 0)}"


def get_device(device=None):
    """The :class:`Device` for ``device``: None or ``"cpu"``, ``"cuda"`` (GPU 0),
    ``"cuda:N"``, ``"strict"``, or a Device (returned as it is)."""
    if device is None:
        return CPU
    if isinstance(device, Device):
        return device
    name = device_name(device)
    if name in ("cpu", "strict"):
        return CPU if name == "cpu" else STRICT
    index = int(name[len("cuda:"):])
    dev = _CUDA.get(index)
    if dev is None:
        dev = _CUDA[index] = _CudaDevice(index)
    return dev


def is_cupy(a):
    """Whether ``a`` is a CuPy array (told by its type's module: CuPy is not imported)."""
    return type(a).__module__.startswith("cupy")


def device_of(a):
    """The :class:`Device` that holds the array ``a`` (the CPU for anything else)."""
    t = type(a)
    if t is np.ndarray:
        return CPU
    if t is StrictArray:
        return STRICT
    if is_cupy(a):
        index = a.device.id
        return _CUDA.get(index) or get_device(f"cuda:{index}")
    return CPU


def namespace(a):
    """The array module of ``a``: NumPy, CuPy, or the strict device's."""
    return np if type(a) is np.ndarray else device_of(a).xp


def to_host(a):
    """``a`` as a plain NumPy array: a copy from a GPU or the strict device, ``a``
    itself when it is one (anything else through ``np.asarray``)."""
    t = type(a)
    if t is np.ndarray:
        return a
    if t is StrictArray:
        return a.view(np.ndarray).copy()  # a copy, as from a GPU
    if is_cupy(a):
        return a.get()
    return np.asarray(a)
