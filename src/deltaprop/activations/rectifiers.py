"""The ReLU family: ReLU, leaky ReLU, ELU, and softplus, its smooth form.

Piecewise at ``z = 0`` (``smooth = False``) except softplus; He-initialised except softplus.
"""

import numpy as np

from .base import Activation, register
from .classic import Sigmoid


def _into(out, value):
    """Return ``value``, copied into ``out`` when a buffer is given."""
    if out is None:
        return value
    np.copyto(out, value)
    return out


@register
class ReLU(Activation):
    r"""Rectified linear unit ``max(z, 0)``.

    Its derivative is the step function; at ``z = 0`` exactly we take 0 (the
    convention of PyTorch and scikit-learn).
    """

    name = "relu"
    onnx_op = "Relu"
    torch_module = "ReLU"
    fused_kernel = "relu"
    init = "he"
    smooth = False

    def forward(self, z, out=None):
        if out is None or out is z:
            return np.maximum(z, 0.0, out=out)
        out.fill(0.0)  # max(z, zeros) is about twice as fast as max(z, 0.0) in NumPy
        return np.maximum(z, out, out=out)

    def derivative(self, z, a):
        return (z > 0).astype(z.dtype)

    def backward(self, z, a, g, out=None):
        return np.multiply(g, z > 0, out=out)

    def inactive(self, z, a):
        return z <= 0

    def symbol(self):
        return "ReLU", r"\operatorname{ReLU}"

    def derivative_formula(self, s, a):
        (st, sl) = s
        # step(s) = 1 where s > 0, 0 elsewhere (0 at s = 0, as in the derivative above)
        return f"step({st})", r"\operatorname{step}\left(" + sl + r"\right)"


@register
class LeakyReLU(Activation):
    r"""``z`` for ``z > 0``, ``slope * z`` otherwise; derivative ``slope`` at 0."""

    name = "leaky_relu"
    torch_module = "LeakyReLU"
    fused_kernel = "leaky_relu"
    init = "he"
    smooth = False

    def __init__(self, slope=0.01):
        self.slope = float(slope)

    def kernel_parameter(self):
        return self.slope

    def forward(self, z, out=None):
        return _into(out, np.where(z > 0, z, self.slope * z))

    def derivative(self, z, a):
        return np.where(z > 0, 1.0, self.slope).astype(z.dtype)

    def symbol(self):
        return "LeakyReLU", r"\operatorname{LeakyReLU}"

    def derivative_formula(self, s, a):
        (st, sl), c = s, f"{self.slope:g}"
        return (f"(1 if {st} > 0 else {c})",
                r"\left([" + sl + r" > 0] + " + c + r"\,[" + sl + r" \le 0]\right)")

    def onnx_nodes(self, graph, z):
        # forward's formula: ONNX's LeakyRelu takes its slope as a float32 attribute
        return graph.node("Where", [graph.node("Greater", [z, graph.constant(0.0)]), z,
                                    graph.node("Mul", [graph.constant(self.slope), z])])

    def torch_settings(self):
        return {"negative_slope": self.slope}

    @classmethod
    def from_torch(cls, module):
        from torch import nn

        return cls(module.negative_slope) if type(module) is nn.LeakyReLU else None


@register
class ELU(Activation):
    r"""``z`` for ``z > 0``, ``alpha (e^z - 1)`` otherwise; ``f' = f + alpha`` for ``z <= 0``."""

    name = "elu"
    torch_module = "ELU"
    init = "he"
    smooth = False

    def __init__(self, alpha=1.0):
        self.alpha = float(alpha)

    def forward(self, z, out=None):
        return _into(out, np.where(z > 0, z, self.alpha * np.expm1(np.minimum(z, 0.0))))

    def derivative(self, z, a):
        return np.where(z > 0, 1.0, a + self.alpha).astype(z.dtype)

    def symbol(self):
        return "ELU", r"\operatorname{ELU}"

    def derivative_formula(self, s, a):
        (st, sl), (at, al), c = s, a, f"{self.alpha:g}"
        return (f"(1 if {st} > 0 else {at} + {c})",
                r"\left([" + sl + r" > 0] + (" + al + " + " + c + r")\,[" + sl + r" \le 0]\right)")

    def onnx_nodes(self, graph, z):
        # forward's formula, not ONNX's Elu, which ONNX Runtime has in float32 only
        neg = graph.node("Sub", [graph.node("Exp", [graph.node("Min", [z, graph.constant(0.0)])]),
                                 graph.constant(1.0)])
        return graph.node("Where", [graph.node("Greater", [z, graph.constant(0.0)]), z,
                                    graph.node("Mul", [graph.constant(self.alpha), neg])])

    def torch_settings(self):
        return {"alpha": self.alpha}

    @classmethod
    def from_torch(cls, module):
        from torch import nn

        return cls(module.alpha) if type(module) is nn.ELU else None


@register
class Softplus(Activation):
    r"""``log(1 + e^z)``, computed as ``max(z, 0) + log1p(e^{-|z|})``; derivative ``sigma(z)``."""

    name = "softplus"
    torch_module = "Softplus"

    def forward(self, z, out=None):
        return np.add(np.maximum(z, 0.0), np.log1p(np.exp(-np.abs(z))), out=out)

    def derivative(self, z, a):
        return Sigmoid().forward(z)

    def derivative_formula(self, s, a):
        (st, sl) = s
        return f"σ({st})", r"\sigma\left(" + sl + r"\right)"

    def onnx_nodes(self, graph, z):
        # forward's formula, not ONNX's Softplus, which ONNX Runtime has in float32 only
        e = graph.node("Exp", [graph.node("Neg", [graph.node("Abs", [z])])])
        return graph.node("Add", [graph.node("Relu", [z]),
                                  graph.node("Log", [graph.node("Add", [graph.constant(1.0), e])])])

    def torch_settings(self):
        # torch returns z itself above the threshold: above 40, log(1 + e^z) is z to
        # float64's precision (its default, 20, is exact to float32's only)
        return {"beta": 1.0, "threshold": 40.0}

    @classmethod
    def from_torch(cls, module):
        from torch import nn

        if type(module) is nn.Softplus and module.beta == 1.0 and module.threshold >= 20.0:
            return cls()
        return None
