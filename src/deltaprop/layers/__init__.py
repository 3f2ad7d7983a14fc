"""The layers of a network, each one class that follows :class:`Layer`'s protocol.

:class:`Dense` is the lectures' layer ``a = f(x @ W + b)``; :class:`Dropout`,
:class:`BatchNorm`, :class:`LayerNorm` and :class:`ActivationLayer` (an activation on
its own, to normalise before the nonlinearity) fit the same protocol. A new layer type is one
class with :func:`register_layer`: the network walks the layers, the optimizer walks the
parameters, model files ask each layer for its config.
"""

from .activation import ActivationLayer
from .base import LAYERS, Layer, layer_from_config, register_layer
from .dense import Dense
from .dropout import Dropout
from .normalization import BatchNorm, LayerNorm

__all__ = ["LAYERS", "Layer", "Dense", "ActivationLayer", "Dropout", "BatchNorm", "LayerNorm", "layer_from_config",
           "register_layer"]
