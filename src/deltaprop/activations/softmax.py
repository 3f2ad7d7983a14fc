"""Softmax: the one activation whose Jacobian is not diagonal (``elementwise = False``).

Its ``backward`` is a Jacobian-vector product instead of ``g * f'(z)``; its fused kernel
is the forward only.
"""

import numpy as np

from .base import Activation, register


@register
class Softmax(Activation):
    r"""Softmax over each row (Rousseau's lecture notes; Sayrol's ``o(a)``).

    .. math:: a_i = \frac{e^{z_i - m}}{\sum_c e^{z_c - m}}, \quad m = \max_c z_c

    Subtracting the row maximum changes nothing (shift invariance) and prevents overflow.
    The Jacobian ``diag(a) - a a^T`` is never formed; ``backward`` is its product with g:

    .. math:: (\nabla_z)_i = a_i \,\bigl(g_i - \textstyle\sum_c g_c a_c\bigr)
    """

    name = "softmax"
    torch_module = "Softmax"
    fused_kernel = "softmax"  # the forward; its backward is not elementwise
    elementwise = False

    def forward(self, z, out=None):
        out = np.subtract(z, z.max(axis=1, keepdims=True), out=out)
        np.exp(out, out=out)
        out /= out.sum(axis=1, keepdims=True)
        return out

    def derivative(self, z, a):
        raise TypeError("softmax has no elementwise derivative; use backward (a Jacobian-vector product)")

    def derivative_formula(self, s, a):
        (at, al) = a  # the Jacobian diag(a) − a aᵀ, symmetric: it is its own transpose
        return (f"(diag({at}) − {at} {at}ᵀ)",
                r"\left(\operatorname{diag}(" + al + ") - " + al + r"\,{" + al + r"}^{\top}\right)")

    def backward(self, z, a, g, out=None):
        s = np.einsum("ij,ij->i", g, a)[:, None]
        out = np.subtract(g, s, out=out)
        out *= a
        return out

    def onnx_nodes(self, graph, z):
        return graph.node("Softmax", [z], axis=1)

    def torch_settings(self):
        return {"dim": 1}

    @classmethod
    def from_torch(cls, module):
        from torch import nn

        return cls() if type(module) is nn.Softmax and module.dim in (1, -1) else None
