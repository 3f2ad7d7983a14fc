"""The multilayer perceptron: :class:`MLP` builds a :class:`~deltaprop.network.Sequential`
of Dense layers from their sizes (with optional normalisation and dropout after each hidden
layer), its weights drawn from one seed."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from . import io
from ._validation import check_dtype, check_layer_sizes, check_network_size
from .activations import get_activation
from .constraints import Interval, StrOptions, validate_params
from .layers import BatchNorm, Dense, Dropout, LayerNorm
from .network import Sequential

__all__ = ["MLP", "MLP_CONSTRAINTS"]

_NORMS = {"batch": BatchNorm, "layer": LayerNorm}

#: What MLP's parameters accept (deltaprop.constraints), shared with the estimators.
MLP_CONSTRAINTS = {
    "seed": [None, Interval(Integral, 0, None, closed="left"), np.random.Generator,
             np.random.SeedSequence],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "norm": [None, StrOptions(tuple(_NORMS))],
}


class MLP(Sequential):
    """A multilayer perceptron: Dense layers of the given sizes.

    Parameters
    ----------
    layer_sizes : sequence of int
        ``[n_inputs, hidden_1, ..., n_outputs]``.
    activation : str or Activation
        Hidden-layer activation.
    output : str or Activation
        Output activation (``"identity"`` for regression, ``"softmax"`` with
        ``"cross_entropy"``, ``"sigmoid"`` with ``"binary_cross_entropy"``).
    loss : str or Loss
    l2 : float
    reduction : {"mean", "sum"}
    dtype : {"float32", "float64"}
    seed : int or None
        Makes the initial weights (and the dropout masks) reproducible.
    dropout : float
        Probability ``p`` of a :class:`~deltaprop.layers.Dropout` after every hidden
        layer (0: none).
    norm : {None, "batch", "layer"}
        A :class:`~deltaprop.layers.BatchNorm` or :class:`~deltaprop.layers.LayerNorm`
        after every hidden layer's activation (before its dropout).
    task : {None, "classification", "multilabel", "regression"}
        As for :class:`Sequential`.
    device : {"cpu", "cuda", "cuda:N", "strict"} or Device
        As for :class:`Sequential`. The initial weights are drawn on the host, so one
        seed gives the same network on every device.

    Examples
    --------
    >>> import numpy as np, deltaprop
    >>> net = deltaprop.MLP([2, 3, 1], activation="tanh", dtype="float64", seed=0)
    >>> X, T = np.array([[0.5, -1.0]]), np.array([[1.0]])
    >>> J, grads = net.gradients(X, T)
    >>> [g[0].shape for g in grads]
    [(2, 3), (3, 1)]
    """

    def __init__(self, layer_sizes, activation="relu", output="identity", loss="mse", l2=0.0,
                 reduction="mean", dtype="float32", seed=None, dropout=0.0, norm=None,
                 task=None, device=None):
        validate_params({"seed": seed, "dropout": dropout, "norm": norm}, MLP_CONSTRAINTS,
                        owner="MLP")
        sizes = check_layer_sizes(layer_sizes)
        dtype = check_dtype(dtype)
        check_network_size(sizes, dtype)
        dropout = float(dropout)
        hidden = get_activation(activation)
        out = get_activation(output)
        rng = np.random.default_rng(seed)
        dense = [Dense(n_in, n_out, hidden if k < len(sizes) - 2 else out, dtype, rng)
                 for k, (n_in, n_out) in enumerate(zip(sizes, sizes[1:]))]
        layers = []
        for layer in dense[:-1]:
            layers.append(layer)
            if norm is not None:
                layers.append(_NORMS[norm](layer.n_out, dtype=dtype))
            if dropout:
                # Seeded after all the weights: the same seed gives the same weights with
                # and without dropout.
                layers.append(Dropout(dropout, seed=int(rng.integers(1 << 62))))
        layers.append(dense[-1])
        super().__init__(layers, loss=loss, l2=l2, reduction=reduction, task=task,
                         device=device)
        self.layer_sizes = sizes
        self.seed = seed
        self.dropout, self.norm = dropout, norm

    def get_config(self):
        return {**super().get_config(), "mlp": {
            "layer_sizes": self.layer_sizes, "seed": self.seed, "dropout": self.dropout,
            "norm": self.norm}}

    @classmethod
    def from_config(cls, config):
        net = super().from_config(config)
        mlp = config.get("mlp", {})
        net.layer_sizes = mlp.get("layer_sizes") or [net.n_inputs] + [
            layer.n_out for layer in net.layers if isinstance(layer, Dense)]
        net.seed = mlp.get("seed")
        net.dropout, net.norm = mlp.get("dropout", 0.0), mlp.get("norm")
        return net


io.register_model(MLP)
