"""Dropout (Srivastava et al., 2014), in its *inverted* form.

In training each input is kept with probability ``1 - p`` and scaled by ``1/(1 - p)``,

.. math:: a = m \\odot x, \\qquad m_{ij} = \\frac{[u_{ij} \\ge p]}{1 - p},\\ u_{ij} \\sim U[0, 1),

so that the expected output equals the input and evaluation is the identity (no
rescaling at prediction time). The backward step multiplies by the same mask:
``dJ/dx = m ⊙ dJ/da``. The masks come from the layer's own seeded generator, whose state
is part of a model file's training state: a run resumes bit for bit.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_number
from ..devices import device_of
from .base import Layer, register_layer

__all__ = ["Dropout"]


@register_layer
class Dropout(Layer):
    """Inverted dropout: zero each input with probability ``p`` in training.

    Parameters
    ----------
    p : float
        The probability of dropping a unit, in ``[0, 1)``.
    seed : int or None
        Seeds the generator of the masks.

    Attributes
    ----------
    mask : ndarray or None
        The scaled mask ``m`` of the last training forward step (None in evaluation).
    """

    kind = "dropout"
    concurrent_infer = True  # the identity in evaluation

    def __init__(self, p=0.5, seed=None):
        p = check_number("p", p)
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout p must be in [0, 1), got {p!r}")
        self.p = p
        self.seed = None if seed is None else int(seed)
        self.rng = np.random.default_rng(seed)
        self.mask = None
        self.forget()

    def forward(self, x, training=False, keep=False):
        if not training or self.p == 0.0:
            self.mask = None
            if keep:
                self.x = self.a = x
            return x
        if not (self.hold_noise and self.mask is not None and self.mask.shape == x.shape):
            keep_prob = 1.0 - self.p
            # Drawn on the host from the layer's generator, whatever the device: the same
            # masks, and so the same training, on the CPU and on a GPU.
            mask = (self.rng.random(x.shape) >= self.p).astype(x.dtype)
            mask /= x.dtype.type(keep_prob)
            self.mask = device_of(x).asarray(mask)  # mask itself on the CPU
        if not keep:
            return x * self.mask
        a = self.work_arrays(len(x), lambda n: np.empty_like(x))
        np.multiply(x, self.mask, out=a)
        self.x, self.a = x, a
        return a

    def backward(self, g, need_input_grad=True):
        if self.record:
            self.grad_output = g.copy()
        if not need_input_grad:
            return None
        if self.mask is None:
            return g
        g *= self.mask  # dJ/dx = m ⊙ dJ/da (in place: g is the layer above's buffer)
        return g

    def to_device(self, device):
        super().to_device(device)
        if self.mask is not None:  # a held mask (finite differences) goes along
            self.mask = device.asarray(self.mask)

    def get_state(self):
        return {"rng": self.rng.bit_generator.state}

    def set_state(self, state):
        self.rng.bit_generator.state = state["rng"]

    def onnx_nodes(self, graph, x):
        return x  # evaluation: the identity

    def to_torch(self):
        from torch import nn

        return [nn.Dropout(self.p)]

    @classmethod
    def from_torch(cls, modules, i):
        from torch import nn

        return (cls(modules[i].p), 1) if type(modules[i]) is nn.Dropout else None

    def get_config(self):
        return {"p": self.p, "seed": self.seed}

    @classmethod
    def from_config(cls, config, dtype):
        return cls(**config)

    def __repr__(self):
        return f"Dropout(p={self.p:g})"
