"""The parameter store: every parameter of a network in one flat array, every gradient in
another, and the map of which tensor lives where.

The network builds the store from its layers' declarations
(:attr:`~deltaprop.layers.Layer.parameter_names`) and hands the layers views of the right
shapes (:meth:`~deltaprop.layers.Layer.bind`), so that ``layer.W`` *is* a piece of
``store.data``. An optimizer is handed the store itself: it updates ``data`` from ``grad``
in one pass over the flat arrays for an elementwise rule, or tensor by tensor, at the
offsets of :attr:`ParameterStore.slots`, for a rule that needs whole tensors (a per-layer
norm). Nothing is ever inferred from memory addresses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .devices import CPU, get_device, to_host

__all__ = ["Slot", "ParameterStore"]


@dataclass(frozen=True)
class Slot:
    """Where one parameter tensor lives in the store.

    Attributes
    ----------
    layer : int
        Index of its layer in the network (0-based).
    name : str
        Its name in the layer (``"W"``, ``"b"``, ``"gamma"``, ...).
    offset, size : int
        Its elements are ``data[offset:offset + size]``.
    shape : tuple of int
    decay : bool
        Whether weight decay and the network's L2 term apply to it (weight matrices).
    """

    layer: int
    name: str
    offset: int
    size: int
    shape: tuple
    decay: bool

    @property
    def label(self):
        """``"W1"``, ``"b1"``, ``"gamma2"``...: the name and the 1-based layer number."""
        return f"{self.name}{self.layer + 1}"

    @property
    def stop(self):
        return self.offset + self.size


class ParameterStore:
    """The flat parameter and gradient arrays of a network's layers.

    Building the store copies each layer's parameters into it and binds the layer to
    views; the order is the layers' order, then each layer's :attr:`parameter_names`
    (``[W1, b1, W2, b2, ...]`` for an MLP).

    Attributes
    ----------
    data, grad : ndarray
        1-D arrays of the network's dtype: the parameters and their gradients, on
        ``device`` (NumPy arrays on the CPU, CuPy arrays on a GPU).
    slots : list of Slot
    device : deltaprop.devices.Device
    """

    device = CPU  # for stores pickled before there were devices

    def __init__(self, layers, device=None):  # device: see deltaprop.devices.get_device
        entries = []
        for k, layer in enumerate(layers):
            for name, (value, grad) in zip(layer.parameter_names, layer.parameters()):
                entries.append((k, layer, name, value, grad))
        dtypes = {value.dtype for *_, value, _ in entries}
        if len(dtypes) > 1:
            raise ValueError(f"the layers' parameters have different dtypes: {sorted(map(str, dtypes))}")
        dtype = dtypes.pop() if dtypes else np.dtype(np.float64)
        total = sum(value.size for *_, value, _ in entries)
        # Packed on the host, then moved whole: one transfer to a GPU, not one per tensor.
        data = np.empty(total, dtype=dtype)
        grad = np.zeros(total, dtype=dtype)
        self.slots = []
        pos = 0
        for k, layer, name, value, g in entries:
            size, shape = value.size, value.shape
            data[pos:pos + size] = to_host(value).ravel()
            g = to_host(g)
            if g.any():  # fresh zeros stay untouched pages (a network about to be loaded)
                grad[pos:pos + size] = g.ravel()
            self.slots.append(Slot(k, name, pos, size, shape, name in layer.decayed))
            pos += size
        self.device = get_device(device)
        self.data = self.device.asarray(data) if not self.device.is_cpu else data
        self.grad = self.device.asarray(grad) if not self.device.is_cpu else grad
        for (k, layer, name, _, _), s in zip(entries, self.slots):
            layer.bind(name, self.view(self.data, s), self.view(self.grad, s))

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def size(self):
        return self.data.size

    def __len__(self):
        return len(self.slots)

    def view(self, flat, slot):
        """The tensor of ``slot`` in any flat array laid out like the store."""
        return flat[slot.offset:slot.stop].reshape(slot.shape)

    def split(self, flat):
        """One view of ``flat`` per slot, in order (e.g. an optimizer's state)."""
        return [self.view(flat, slot) for slot in self.slots]

    def pairs(self):
        """``[(value, grad), ...]``, one pair of views per tensor."""
        return [(self.view(self.data, s), self.view(self.grad, s)) for s in self.slots]

    def __repr__(self):
        return (f"ParameterStore({self.size} {self.dtype} parameters in "
                f"{len(self.slots)} tensors: {', '.join(s.label for s in self.slots)})")
