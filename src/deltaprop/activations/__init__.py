"""Activation functions: each one small object with its value and its derivative.

An activation ``f`` is applied to the pre-activation ``z`` of a layer (Goodfellow et al.'s
``alpha``, Nielsen's ``z``, Hagan et al.'s ``n``) and gives the activation ``a = f(z)``.
In the backward step ② it turns the gradient with respect to ``a`` into the gradient
with respect to ``z``: ``g <- g * f'(z)`` for elementwise functions, and a
Jacobian-vector product for softmax.

Every method works in the dtype of its input (float32 stays float32) and accepts
``out=`` so that the layers can reuse their buffers.  New activations are one class
with ``@register``; :func:`get_activation` finds them by name.

Each activation also writes its own formulas, for :mod:`deltaprop.explain`:
:meth:`Activation.symbol` (its name) and :meth:`Activation.derivative_formula`
(``f'`` in the symbols of a notation), each a ``(text, latex)`` pair. The base class
gives a generic form, so a new activation is explained without further work.

An activation also exports itself: :meth:`Activation.onnx_nodes` writes the ONNX nodes it
becomes (:mod:`deltaprop.export.onnx` only walks the layers), :meth:`Activation.to_torch`
gives its ``torch.nn`` module and :meth:`Activation.from_torch` recognises one
(:mod:`deltaprop.export.torch`); one that is a single ONNX operator or ``torch.nn`` module
names it (``onnx_op = "Relu"``, ``torch_module = "ReLU"``).

The package, one module per kind of function:

* :mod:`~deltaprop.activations.base`: :class:`Activation` (the protocol, the fused-kernel
  glue, the exported forms), the registry and the look-ups by name, config and torch module;
* :mod:`~deltaprop.activations.classic`: identity, sigmoid and tanh, the lectures' functions;
* :mod:`~deltaprop.activations.rectifiers`: ReLU, leaky ReLU, ELU and softplus;
* :mod:`~deltaprop.activations.exponential`: the exponential, an output link;
* :mod:`~deltaprop.activations.gated`: ``z`` times a gate: SiLU, GELU and its tanh form;
* :mod:`~deltaprop.activations.softmax`: softmax, whose Jacobian is not diagonal;
* :mod:`~deltaprop.activations.special`: the error function (GELU's).

Every name is imported from ``deltaprop.activations`` itself.
"""

# Imported in the order the registry has always listed them (list(ACTIVATIONS)).
# isort: off
from .base import (ACTIVATIONS, Activation, register, get_activation, activation_from_config,
                   activation_from_torch, operator_name)
from .classic import Identity, Sigmoid, Tanh
from .rectifiers import ReLU, LeakyReLU, ELU, Softplus
from .exponential import Exponential
from .gated import SiLU, GELU, GELUTanh
from .softmax import Softmax
from .special import erf
# isort: on

__all__ = ["Activation", "ACTIVATIONS", "get_activation", "activation_from_config", "register",
           "erf", "operator_name", "activation_from_torch",
           "Identity", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "Softplus", "Exponential",
           "SiLU", "GELU", "GELUTanh", "Softmax"]

# The classes are deltaprop.activations.ReLU, as before the package was split: pickles (of
# networks, of deep copies) name a class by its module, and so do error messages.
for _cls in (Activation, *ACTIVATIONS.values()):
    if _cls.__module__.startswith(__name__ + "."):
        _cls.__module__ = __name__
del _cls
