"""A network to and from PyTorch: :meth:`deltaprop.Sequential.to_torch` and
:func:`from_torch`.

Each layer gives its own ``torch.nn`` modules (:meth:`deltaprop.layers.Layer.to_torch`:
``Dense`` is ``nn.Linear`` then its activation's module, ``Dropout`` ``nn.Dropout``,
``BatchNorm`` ``nn.BatchNorm1d`` with its running statistics, ``LayerNorm``
``nn.LayerNorm``) and recognises them (:meth:`~deltaprop.layers.Layer.from_torch`); this
module only walks them. ``nn.Linear`` keeps ``W.T`` (out × in) where deltaprop keeps ``W``
(in × out, rows are samples); the values are copied, not shared.
"""

from __future__ import annotations

from torch import nn

from ..activations import get_activation
from ..layers import LAYERS
from ..losses import LOSSES, get_loss
from ..network import Sequential

__all__ = ["from_torch", "modules_of"]

#: Losses tried, in order, for an output activation when ``from_torch`` is given none: the
#: first that fuses with it (cross-entropy with softmax...), else the mean squared error.
DEFAULT_LOSSES = ("cross_entropy", "binary_cross_entropy", "poisson", "mse")


def modules_of(module):
    """The modules of ``module`` in order, nested ``nn.Sequential`` flattened."""
    if isinstance(module, nn.Sequential):
        return [m for child in module for m in modules_of(child)]
    return [module]


def default_loss(activation):
    """The loss to train an output ``activation`` with when none is named."""
    for name in DEFAULT_LOSSES:
        if name in LOSSES and get_loss(name).fuses_with(activation):
            return name
    return "mse"


def from_torch(module, loss=None, *, task=None):
    """A :class:`~deltaprop.Sequential` with the layers, weights and running statistics of
    a ``torch.nn`` module.

    Parameters
    ----------
    module : torch.nn.Module
        An ``nn.Sequential`` (nested ones are flattened) of ``nn.Linear`` (each followed,
        or not, by its activation: ``nn.ReLU``, ``nn.GELU``, ``nn.Softmax(dim=1)``...),
        ``nn.Dropout``, ``nn.BatchNorm1d``, ``nn.LayerNorm`` and activation modules; or one
        of these. float32 or float64.
    loss : str or Loss, optional
        Default: the loss that fuses with the output activation (cross-entropy after a
        softmax, binary cross-entropy after a sigmoid), else the mean squared error.
    task : {None, "classification", "multilabel", "regression"}
        As for :class:`~deltaprop.Sequential`.

    Returns
    -------
    Sequential

    Raises
    ------
    ValueError
        For a module with no deltaprop twin, naming it and its position.
    """
    modules = modules_of(module)
    layers, i = [], 0
    while i < len(modules):
        for cls in LAYERS.values():
            found = cls.from_torch(modules, i)
            if found is not None:
                break
        else:
            raise ValueError(f"{type(modules[i]).__name__} (module {i}) has no deltaprop twin: "
                             f"from_torch takes Linear, activations, Dropout, BatchNorm1d and "
                             f"LayerNorm")
        layer, used = found
        layers.append(layer)
        i += used
    if not layers:
        raise ValueError("the module holds no layers")
    if loss is None:
        output = layers[-1].activation
        loss = default_loss(get_activation("identity") if output is None else output)
    return Sequential(layers, loss=loss, task=task)
