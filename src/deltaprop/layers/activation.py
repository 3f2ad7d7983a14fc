"""An activation as a layer of its own: ``a = f(x)``.

The lectures put the activation inside the layer (:class:`~deltaprop.layers.Dense`); as a
layer of its own it lets a normalisation sit between the product and the nonlinearity, as
Ioffe and Szegedy (2015) place batch normalisation:
``Sequential([Dense(n, m), BatchNorm(m), ActivationLayer("relu"), ...])``. Its backward
step is step ② alone, ``g ← g ⊙ f'(x)``.
"""

from __future__ import annotations

import numpy as np

from ..activations import activation_from_config, activation_from_torch, get_activation
from .base import Layer, register_layer

__all__ = ["ActivationLayer"]


@register_layer
class ActivationLayer(Layer):
    """``a = f(x)`` elementwise (or softmax over each row, at the output).

    Parameters
    ----------
    activation : str or Activation
    """

    kind = "activation"

    def __init__(self, activation):
        self.activation = get_activation(activation)
        self.forget()

    def forget(self):
        super().forget()
        self.z = self.delta = self.fprime = None

    def forward(self, x, training=False, keep=False):
        if not keep:
            return self.activation.forward(x)
        a = self.activation.forward(x, out=self.work_arrays(len(x), lambda n: np.empty_like(x)))
        self.x, self.z, self.a = x, x, a
        return a

    def forward_pair(self, x, training=False):
        return x, self.activation.forward(x)

    def backward(self, g, *, is_delta=False, need_input_grad=True):
        if self.record:
            self.grad_output = None if is_delta else g.copy()
        delta = g if is_delta else self.activation.backward(self.z, self.a, g, out=g)  # ②
        self.delta = delta
        return delta if need_input_grad else None

    def onnx_nodes(self, graph, x):
        return self.activation.onnx_nodes(graph, x)

    def to_torch(self):
        return [self.activation.to_torch()]

    @classmethod
    def from_torch(cls, modules, i):
        activation = activation_from_torch(modules[i])
        return None if activation is None else (cls(activation), 1)

    def get_config(self):
        return {"activation": self.activation.get_config()}

    @classmethod
    def from_config(cls, config, dtype):
        return cls(activation_from_config(config["activation"]))

    def __repr__(self):
        return f"ActivationLayer({self.activation.name!r})"
