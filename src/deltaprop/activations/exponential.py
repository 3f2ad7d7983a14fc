"""The exponential: an output link (Poisson regression's log link), no hidden activation."""

import numpy as np

from .base import Activation, operator_name, register


@register
class Exponential(Activation):
    r"""``f(z) = e^z``, ``f'(z) = e^z``: the log link of Poisson regression.

    Capped at the largest finite number of the dtype (``z`` above ``log(max)`` gives
    ``max``), so that it never overflows to inf.
    """

    name = "exponential"
    output_only = True  # e^(e^(e^z)) overflows: a link for the output layer

    def forward(self, z, out=None):
        cap = np.nextafter(np.log(np.finfo(z.dtype).max), 0).astype(z.dtype)
        return np.exp(np.minimum(z, cap), out=out)

    def derivative(self, z, a):
        return a.copy()

    def symbol(self):
        return operator_name("exp")

    def derivative_formula(self, s, a):
        (at, al) = a
        return at, al

    def onnx_nodes(self, graph, z):
        cap = np.nextafter(np.log(np.finfo(graph.dtype).max), 0).astype(graph.dtype)
        return graph.node("Exp", [graph.node("Min", [z, graph.constant(cap)])])

    def to_torch(self):
        from ..export.torch_modules import CappedExp

        return CappedExp()
