"""deltaprop: feed-forward neural networks with exact, explainable backpropagation.

The core needs only NumPy. See README.md for a tour and docs/notation.md for how the
lecture notations map onto the code.
"""

from .activations import ACTIVATIONS, Activation, get_activation
from .gradcheck import GradcheckReport, gradcheck
from .losses import LOSSES, Loss, get_loss
from .network import MLP, Dense, Sequential

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "Dense",
    "GradcheckReport",
    "LOSSES",
    "Loss",
    "MLP",
    "Sequential",
    "get_activation",
    "get_loss",
    "gradcheck",
]
