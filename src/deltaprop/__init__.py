"""deltaprop: feed-forward neural networks with exact, explainable backpropagation.

The core needs only NumPy. See README.md for a tour and docs/notation.md for how the
lecture notations map onto the code. The modules that need an optional dependency
(:mod:`deltaprop.plots`: matplotlib; :mod:`deltaprop.sklearn`: scikit-learn) and the explainer
(:mod:`deltaprop.explain`, callable as ``dp.explain(net, X, T)``) are imported on first use,
``dp.plots`` as well as ``import deltaprop.plots``.
"""

import importlib as _importlib

from . import activations, datasets, devices, layers, losses, optimizers, schedules, tasks
from .activations import ACTIVATIONS, Activation, get_activation
from .devices import Device, DeviceError, get_device
from .diagnostics import Diagnostics
from .exercises import check_backward
from .gradcheck import GradcheckReport, gradcheck
from .io import ModelFileError, load, save
from .losses import LOSSES, Loss, get_loss
from .layers import ActivationLayer, BatchNorm, Dense, Dropout, Layer, LayerNorm
from .mlp import MLP
from .network import Sequential
from .parameters import ParameterStore
from .training import (Callback, EarlyStopping, GradientNorms, History, LambdaCallback,
                       ModelCheckpoint, TrainingDiverged)

__version__ = "0.1.0"

#: Submodules imported on first attribute access (``dp.plots``), not by ``import deltaprop``.
_LAZY_SUBMODULES = ("explain", "plots", "sklearn", "descent")


def from_torch(module, loss=None, *, task=None):
    """A :class:`Sequential` from a ``torch.nn.Sequential`` of ``Linear`` (each with the
    activation that follows it), ``Dropout``, ``BatchNorm1d``, ``LayerNorm`` and activation
    modules: the inverse of :meth:`Sequential.to_torch`. See
    :func:`deltaprop.export.torch.from_torch`."""
    from .export.torch import from_torch as convert

    return convert(module, loss, task=task)


def __getattr__(name: str):
    if name in _LAZY_SUBMODULES:
        return _importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_SUBMODULES))


__all__ = [
    "ACTIVATIONS",
    "Activation",
    "ActivationLayer",
    "BatchNorm",
    "Callback",
    "Dense",
    "Device",
    "DeviceError",
    "Diagnostics",
    "Dropout",
    "EarlyStopping",
    "GradcheckReport",
    "GradientNorms",
    "History",
    "LOSSES",
    "LambdaCallback",
    "Layer",
    "LayerNorm",
    "Loss",
    "MLP",
    "ModelCheckpoint",
    "ModelFileError",
    "ParameterStore",
    "Sequential",
    "TrainingDiverged",
    "activations",
    "check_backward",
    "datasets",
    "devices",
    "explain",
    "from_torch",
    "get_activation",
    "get_device",
    "get_loss",
    "gradcheck",
    "layers",
    "load",
    "losses",
    "optimizers",
    "save",
    "schedules",
    "tasks",
]
