"""Self-gated activations: ``z`` times a gate in ``(0, 1)``.

SiLU's gate is the sigmoid ``sigma(z)``, GELU's the standard normal distribution function
``Phi(z)`` (computed with :func:`~deltaprop.activations.special.erf`, or approximated with a
tanh); smooth, He-initialised.
"""

import math

import numpy as np

from .base import Activation, register
from .classic import Sigmoid
from .special import erf

_SQRT_2 = math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@register
class SiLU(Activation):
    r"""SiLU / swish ``z sigma(z)``; derivative ``sigma(z) (1 + z (1 - sigma(z)))``."""

    name = "silu"
    torch_module = "SiLU"
    init = "he"

    def forward(self, z, out=None):
        return np.multiply(z, Sigmoid().forward(z), out=out)

    def derivative(self, z, a):
        s = Sigmoid().forward(z)
        return s * (1.0 + z * (1.0 - s))

    def symbol(self):
        return "SiLU", r"\operatorname{SiLU}"

    def derivative_formula(self, s, a):
        (st, sl) = s
        sig = r"\sigma\left(" + sl + r"\right)"
        return (f"σ({st}) ⊙ (1 + {st} ⊙ (1 − σ({st})))",
                sig + r" \odot \left(1 + " + sl + r" \odot \left(1 - " + sig + r"\right)\right)")

    def onnx_nodes(self, graph, z):
        return graph.node("Mul", [z, graph.node("Sigmoid", [z])])


@register
class GELU(Activation):
    r"""Exact GELU (Rousseau's lecture notes; Hendrycks and Gimpel).

    .. math:: \mathrm{GELU}(z) = z\,\Phi(z), \qquad
              \mathrm{GELU}'(z) = \Phi(z) + z\,\varphi(z),

    with :math:`\Phi(z) = \tfrac12\,(1 + \mathrm{erf}(z/\sqrt2))` and
    :math:`\varphi` the standard normal density.
    """

    name = "gelu"
    torch_module = "GELU"
    init = "he"

    @staticmethod
    def _cdf(z):
        return 0.5 * (1.0 + erf(z / _SQRT_2))

    def forward(self, z, out=None):
        return np.multiply(z, self._cdf(z), out=out)

    def derivative(self, z, a):
        return self._cdf(z) + z * (_INV_SQRT_2PI * np.exp(-0.5 * z * z))

    def symbol(self):
        return "GELU", r"\operatorname{GELU}"

    def derivative_formula(self, s, a):
        (st, sl) = s  # Φ and φ: the standard normal distribution function and density
        return (f"(Φ({st}) + {st} ⊙ φ({st}))",
                r"\left(\Phi\left(" + sl + r"\right) + " + sl + r" \odot \varphi\left("
                + sl + r"\right)\right)")

    def onnx_nodes(self, graph, z):
        # z Φ(z), Φ(z) = ½ (1 + erf(z / √2)), in the order of forward; ONNX Runtime has
        # Erf in float32 only, so a float64 graph takes erf to float32's precision
        erf_ = graph.node_float32("Erf", [graph.node("Div", [z, graph.constant(_SQRT_2)])])
        cdf = graph.node("Mul", [graph.constant(0.5),
                                 graph.node("Add", [graph.constant(1.0), erf_])])
        return graph.node("Mul", [z, cdf])


@register
class GELUTanh(Activation):
    r"""GELU with the tanh approximation.

    .. math:: f(z) = \tfrac12 z\,(1 + \tanh u), \quad u = \sqrt{2/\pi}\,(z + 0.044715 z^3),
    .. math:: f'(z) = \tfrac12 (1 + \tanh u) + \tfrac12 z\,(1 - \tanh^2 u)\,
              \sqrt{2/\pi}\,(1 + 3 \cdot 0.044715 z^2).
    """

    name = "gelu_tanh"
    torch_module = "GELU"
    init = "he"

    def forward(self, z, out=None):
        t = np.tanh(_SQRT_2_OVER_PI * (z + 0.044715 * z * z * z))
        return np.multiply(0.5 * z, 1.0 + t, out=out)

    def derivative(self, z, a):
        t = np.tanh(_SQRT_2_OVER_PI * (z + 0.044715 * z * z * z))
        du = _SQRT_2_OVER_PI * (1.0 + 3 * 0.044715 * z * z)
        return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * du

    def symbol(self):
        return "GELUₜₐₙₕ", r"\operatorname{GELU}_{\tanh}"

    def derivative_formula(self, s, a):
        (st, sl) = s
        u = f"√(2/π) ({st} + 0.044715 {st}³)"
        ul = r"\sqrt{2/\pi}\left(" + sl + r" + 0.044715\,{" + sl + r"}^{3}\right)"
        t, tl = f"tanh({u})", r"\tanh\left(" + ul + r"\right)"
        return (f"(½ (1 + {t}) + ½ {st} ⊙ (1 − {t}²) ⊙ √(2/π) (1 + 0.134145 {st}²))",
                r"\left(\tfrac12\left(1 + " + tl + r"\right) + \tfrac12\, " + sl
                + r" \odot \left(1 - {" + tl + r"}^{2}\right) \odot \sqrt{2/\pi}\left(1 + 0.134145\,{"
                + sl + r"}^{2}\right)\right)")

    def onnx_nodes(self, graph, z):
        # ½ z (1 + tanh(√(2/π) (z + 0.044715 z³))), in the order of forward
        z3 = graph.node("Mul", [graph.node("Mul", [z, z]), z])
        u = graph.node("Add", [z, graph.node("Mul", [graph.constant(0.044715), z3])])
        t = graph.node("Tanh", [graph.node("Mul", [graph.constant(_SQRT_2_OVER_PI), u])])
        half_z = graph.node("Mul", [graph.constant(0.5), z])
        return graph.node("Mul", [half_z, graph.node("Add", [graph.constant(1.0), t])])

    def torch_settings(self):
        return {"approximate": "tanh"}
