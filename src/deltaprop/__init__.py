"""deltaprop: feed-forward neural networks with exact, explainable backpropagation.

The core needs only NumPy. See README.md for a tour and docs/notation.md for how the
lecture notations map onto the code.
"""

from . import activations, datasets, losses, optimizers, schedules
from .activations import ACTIVATIONS, Activation, get_activation
from .diagnostics import Diagnostics
from .exercises import check_backward
from . import explain
from .gradcheck import GradcheckReport, gradcheck
from .io import ModelFileError, load, save
from .losses import LOSSES, Loss, get_loss
from .network import MLP, Dense, Sequential
from .training import (Callback, EarlyStopping, GradientNorms, History, LambdaCallback,
                       ModelCheckpoint, TrainingDiverged)

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "Callback",
    "Dense",
    "Diagnostics",
    "EarlyStopping",
    "GradcheckReport",
    "GradientNorms",
    "History",
    "LOSSES",
    "LambdaCallback",
    "Loss",
    "MLP",
    "ModelCheckpoint",
    "ModelFileError",
    "Sequential",
    "TrainingDiverged",
    "activations",
    "check_backward",
    "datasets",
    "explain",
    "get_activation",
    "get_loss",
    "gradcheck",
    "load",
    "losses",
    "optimizers",
    "save",
    "schedules",
]
