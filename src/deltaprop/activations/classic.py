"""The lectures' activations: identity, the logistic sigmoid and tanh.

The functions of Nielsen's *Neural Networks and Deep Learning*, of Hagan et al.'s *Neural
Network Design* (``purelin``, ``logsig``, ``tansig``) and of the lecture notes' worked
examples; smooth, saturating (sigmoid, tanh) or linear, Glorot-initialised.
"""

import numpy as np

from .base import Activation, register


@register
class Identity(Activation):
    r"""``f(z) = z``, ``f'(z) = 1`` (the linear output of the worked 2-2-1 example)."""

    name = "identity"
    torch_module = "Identity"
    fused_kernel = "identity"

    def symbol(self):
        return "id", r"\operatorname{id}"

    def derivative_formula(self, s, a):
        return "1", "1"

    def forward(self, z, out=None):
        if out is None or out is z:
            return z
        np.copyto(out, z)
        return out

    def derivative(self, z, a):
        return np.ones_like(z)

    def backward(self, z, a, g, out=None):
        if out is None or out is g:
            return g
        np.copyto(out, g)
        return out

    def onnx_nodes(self, graph, z):
        return z


@register
class Sigmoid(Activation):
    r"""Logistic sigmoid.

    .. math:: \sigma(z) = \frac{1}{1 + e^{-z}}, \qquad \sigma'(z) = \sigma(z)\,(1 - \sigma(z))

    Evaluated as ``e/(1+e)`` with ``e = exp(-|z|)`` folded by sign, so it never overflows.
    """

    name = "sigmoid"
    onnx_op = "Sigmoid"
    torch_module = "Sigmoid"
    fused_kernel = "sigmoid"

    def forward(self, z, out=None):
        e = np.exp(-np.abs(z))  # in (0, 1]: never overflows
        out = np.divide(1.0, 1.0 + e, out=out)  # sigma(|z|)
        if type(z) is np.ndarray:
            np.multiply(out, e, out=out, where=z < 0)  # sigma(-|z|) = e / (1 + e)
        else:  # CuPy's ufuncs take no where= (its copyto does): the same values
            np.copyto(out, out * e, where=z < 0)
        return out

    def derivative(self, z, a):
        return a * (1.0 - a)

    def saturated(self, z, a):
        return (a < 0.01) | (a > 0.99)  # sigma' < 0.0099, 4 % of its maximum 1/4

    def symbol(self):
        return "σ", r"\sigma"

    def derivative_formula(self, s, a):
        (at, al) = a
        return f"{at} ⊙ (1 − {at})", al + r" \odot \left(1 - " + al + r"\right)"


@register
class Tanh(Activation):
    r"""Hyperbolic tangent, ``tanh'(z) = 1 - tanh^2(z)``."""

    name = "tanh"
    onnx_op = "Tanh"
    torch_module = "Tanh"
    fused_kernel = "tanh"

    def forward(self, z, out=None):
        return np.tanh(z, out=out)

    def derivative(self, z, a):
        return 1.0 - a * a

    def saturated(self, z, a):
        return np.abs(a) > 0.98  # tanh' < 0.0396, 4 % of its maximum 1

    def symbol(self):
        return "tanh", r"\tanh"

    def derivative_formula(self, s, a):
        (at, al) = a
        return f"(1 − {at} ⊙ {at})", r"\left(1 - " + al + r" \odot " + al + r"\right)"
