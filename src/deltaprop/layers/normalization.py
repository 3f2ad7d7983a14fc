r"""Normalisation layers: batch normalisation and layer normalisation.

Both standardise their input and apply a learned scale γ and shift β, feature by feature:

.. math:: \hat x = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}, \qquad a = \gamma \odot \hat x + \beta .

* :class:`BatchNorm` (Ioffe and Szegedy, 2015) takes μ and σ² over the *batch*, for each
  feature, in training, and keeps running averages of them for evaluation (as
  ``torch.nn.BatchNorm1d``: ``running ← (1 − momentum) running + momentum · batch``, the
  running variance from the unbiased batch variance).
* :class:`LayerNorm` (Ba et al., 2016) takes μ and σ² over the *features* of each sample,
  the same in training and in evaluation (as ``torch.nn.LayerNorm``).

The backward step goes through the statistics. With ``ĝ = γ ⊙ g`` (``g = ∂J/∂a``) and
``n`` the number of values each statistic is taken over,

.. math::

    \frac{\partial J}{\partial \beta} = \sum g, \qquad
    \frac{\partial J}{\partial \gamma} = \sum g \odot \hat x, \qquad
    \frac{\partial J}{\partial x} = \frac{1}{n\sqrt{\sigma^2 + \epsilon}}
    \Bigl(n\,\hat g - \textstyle\sum \hat g - \hat x \odot \sum \hat g \odot \hat x\Bigr),

the sums running over the batch (BatchNorm) or the features (LayerNorm). In evaluation
BatchNorm's statistics are constants and ``∂J/∂x = ĝ / sqrt(running_var + ε)``.

With sample weights ``w`` (``W = Σ w``), BatchNorm's statistics are weighted,
``μ = Σ w x / W`` and ``σ² = Σ w (x − μ)² / W``, so that a weight of 2 is a duplicated row
(and equal weights change nothing); the input gradient becomes

.. math::

    \frac{\partial J}{\partial x_i} = \frac{1}{\sqrt{\sigma^2 + \epsilon}}
    \Bigl(\hat g_i - \frac{w_i}{W}\bigl(\textstyle\sum \hat g
    + \hat x_i \sum \hat g \odot \hat x\bigr)\Bigr)

(``w_i / W = 1/n`` gives the formula above). The running variance takes the unbiased
correction of reliability weights, ``n_eff / (n_eff − 1)`` with ``n_eff = W² / Σ w²``.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_dtype, check_int, check_number
from .base import Layer, from_torch_tensor, parameter, register_layer, to_torch_tensor

__all__ = ["BatchNorm", "LayerNorm"]


def normalized_input_gradient(g_hat, x_hat, inv_std, axis):
    """``∂J/∂x`` through the statistics taken along ``axis`` (the module docstring's
    formula); ``g_hat = γ ⊙ ∂J/∂a``."""
    n = x_hat.shape[axis]
    s1 = g_hat.sum(axis=axis, keepdims=True)
    s2 = (g_hat * x_hat).sum(axis=axis, keepdims=True)
    return (inv_std / n) * (n * g_hat - s1 - x_hat * s2)


class _Normalization(Layer):
    """γ, β and the shared parts of the two normalisations."""

    parameter_names = ("gamma", "beta")
    gamma = parameter("gamma", "Scale γ ``(n_features,)``; assigning copies into the layer.")
    beta = parameter("beta", "Shift β ``(n_features,)``; assigning copies into the layer.")

    def __init__(self, n_features, eps=1e-5, dtype="float32"):
        self.n_features = check_int("n_features", n_features)
        self.eps = check_number("eps", eps)
        if self.eps <= 0:
            raise ValueError(f"eps must be > 0, got {eps!r}")
        self.dtype = check_dtype(dtype)
        self._gamma = np.ones(self.n_features, dtype=self.dtype)
        self._beta = np.zeros(self.n_features, dtype=self.dtype)
        self.grad_gamma = np.zeros_like(self._gamma)
        self.grad_beta = np.zeros_like(self._beta)
        self.forget()

    @property
    def n_in(self):
        return self.n_features

    @property
    def n_out(self):
        return self.n_features

    def forget(self):
        super().forget()
        self.mean = self.var = self.inv_std = self.x_hat = None

    def _output(self, x, mean, var, inv_std, x_hat, keep):
        """``a = γ ⊙ x̂ + β``; with ``keep`` the statistics are remembered for backward."""
        a = x_hat * self._gamma
        a += self._beta
        if keep:
            self.x, self.mean, self.var, self.inv_std, self.x_hat, self.a = (
                x, mean, var, inv_std, x_hat, a)
        return a

    @classmethod
    def from_config(cls, config, dtype):
        return cls(**config, dtype=dtype)

    def _parameter_gradients(self, g):
        np.sum(g, axis=0, out=self.grad_beta)                 # ∂J/∂β = Σ g
        np.sum(g * self.x_hat, axis=0, out=self.grad_gamma)   # ∂J/∂γ = Σ g ⊙ x̂
        return g * self._gamma                                # ĝ = γ ⊙ g


@register_layer
class BatchNorm(_Normalization):
    """Batch normalisation of each feature over the batch (``torch.nn.BatchNorm1d``).

    Parameters
    ----------
    n_features : int
    momentum : float
        Weight of the batch statistics in the running averages, in ``(0, 1]``.
    eps : float
        ε > 0 added to the variance.
    dtype : {"float32", "float64"}

    Attributes
    ----------
    running_mean, running_var : ndarray
        The running averages used in evaluation (kept in model files).
    mean, var, inv_std, x_hat : ndarray or None
        The statistics and the normalised input of the last forward step with ``keep``.
    """

    kind = "batch_norm"
    buffer_names = ("running_mean", "running_var")
    min_training_batch = 2
    sample_weight = None  # the batch's, set by weigh_batch before a training step

    def __init__(self, n_features, momentum=0.1, eps=1e-5, dtype="float32"):
        super().__init__(n_features, eps, dtype)
        self.momentum = check_number("momentum", momentum)
        if not 0.0 < self.momentum <= 1.0:
            raise ValueError(f"momentum must be in (0, 1], got {momentum!r}")
        self.running_mean = np.zeros(self.n_features, dtype=self.dtype)
        self.running_var = np.ones(self.n_features, dtype=self.dtype)
        self.training = False

    def weigh_batch(self, sample_weight):
        self.sample_weight = sample_weight

    def forget(self):
        super().forget()
        self.sample_weight = None

    def _statistics(self, x, training):
        """The batch mean and variance, weighted by the batch's sample weights (updating
        the running averages), and ``x - mean``."""
        n = len(x)
        if n < 2:
            raise ValueError("BatchNorm needs at least 2 samples per batch in training, got 1 "
                             "(batch statistics of one sample are undefined)")
        w = self.sample_weight
        if w is not None and len(w) != n:
            raise ValueError(f"BatchNorm was given {len(w)} sample weights for a batch of {n}")
        if w is None:
            mean = x.mean(axis=0)
            xc = x - mean
            var = np.einsum("ij,ij->j", xc, xc) / n  # the biased batch variance
            correction = n / (n - 1)  # unbiased, as torch
        else:
            total = w.sum()
            mean = (w @ x) / total
            xc = x - mean
            var = (w @ (xc * xc)) / total
            n_eff = float(total) ** 2 / float(w @ w)  # Kish's effective sample size
            correction = n_eff / (n_eff - 1) if n_eff > 1 else 1.0
        m = self.momentum
        self.running_mean *= 1.0 - m
        self.running_mean += m * mean
        self.running_var *= 1.0 - m
        self.running_var += (m * correction) * var
        return mean, var, xc

    def forward(self, x, training=False, keep=False):
        if training:
            mean, var, x_hat = self._statistics(x, training)
        else:
            mean, var = self.running_mean, self.running_var
            x_hat = x - mean
        inv_std = 1.0 / np.sqrt(var + self.eps)
        x_hat *= inv_std
        self.training = training
        return self._output(x, mean, var, inv_std, x_hat, keep)

    def backward(self, g, need_input_grad=True):
        if self.record:
            self.grad_output = g.copy()
        np.sum(g, axis=0, out=self.grad_beta)                                   # ∂J/∂β = Σ g
        if type(g) is np.ndarray:                                               # ∂J/∂γ = Σ g ⊙ x̂
            np.einsum("ij,ij->j", g, self.x_hat, out=self.grad_gamma)
        else:  # CuPy's einsum takes no out=
            np.sum(g * self.x_hat, axis=0, out=self.grad_gamma)
        if not need_input_grad:
            return None
        scale = self._gamma * self.inv_std
        if not self.training:
            return g * scale  # the running statistics are constants
        # The module docstring's formula; over the batch Σ ĝ = γ ∂J/∂β and
        # Σ ĝ ⊙ x̂ = γ ∂J/∂γ, so no further pass is needed for them.
        w = self.sample_weight
        if w is None:
            n = len(g)
            dx = g * n
            dx -= self.grad_beta
            dx -= self.x_hat * self.grad_gamma
            dx *= scale / n
            return dx
        dx = self.x_hat * self.grad_gamma                 # x̂ Σ ĝ x̂ / γ
        dx += self.grad_beta                              # + Σ ĝ / γ
        dx *= (w / w.sum())[:, None]                      # × w_i / W
        np.subtract(g, dx, out=dx)                        # g − ...
        dx *= scale                                       # × γ / σ
        return dx

    def onnx_nodes(self, graph, x):
        """ONNX's BatchNormalization with the running statistics (evaluation mode)."""
        return graph.node("BatchNormalization", [x] + [graph.constant(a, n) for n, a in (
            ("gamma", self._gamma), ("beta", self._beta), ("running_mean", self.running_mean),
            ("running_var", self.running_var))], epsilon=self.eps)

    def to_torch(self):
        from torch import nn

        module = nn.BatchNorm1d(self.n_features, eps=self.eps, momentum=self.momentum)
        module.weight, module.bias = to_torch_tensor(self._gamma), to_torch_tensor(self._beta)
        module.running_mean = to_torch_tensor(self.running_mean, parameter=False)
        module.running_var = to_torch_tensor(self.running_var, parameter=False)
        return [module]

    @classmethod
    def from_torch(cls, modules, i):
        from torch import nn

        m = modules[i]
        if type(m) is not nn.BatchNorm1d:
            return None
        if not m.affine or not m.track_running_stats or m.momentum is None:
            raise ValueError(f"{m} (module {i}) has no deltaprop twin: BatchNorm takes "
                             f"affine=True, track_running_stats=True and a momentum")
        gamma = from_torch_tensor(m.weight)
        layer = cls(m.num_features, momentum=m.momentum, eps=m.eps, dtype=gamma.dtype)
        layer.gamma, layer.beta = gamma, from_torch_tensor(m.bias)
        layer.running_mean = from_torch_tensor(m.running_mean).astype(gamma.dtype)
        layer.running_var = from_torch_tensor(m.running_var).astype(gamma.dtype)
        return layer, 1

    def get_config(self):
        return {"n_features": self.n_features, "momentum": self.momentum, "eps": self.eps}

    def __repr__(self):
        return f"BatchNorm({self.n_features})"


@register_layer
class LayerNorm(_Normalization):
    """Layer normalisation of each sample over its features (``torch.nn.LayerNorm``).

    Parameters
    ----------
    n_features : int
    eps : float
        ε > 0 added to the variance.
    dtype : {"float32", "float64"}
    """

    kind = "layer_norm"

    def forward(self, x, training=False, keep=False):
        mean = x.mean(axis=1, keepdims=True)
        var = x.var(axis=1, keepdims=True)
        inv_std = 1.0 / np.sqrt(var + self.eps)
        return self._output(x, mean, var, inv_std, (x - mean) * inv_std, keep)

    def backward(self, g, need_input_grad=True):
        if self.record:
            self.grad_output = g.copy()
        g_hat = self._parameter_gradients(g)
        if not need_input_grad:
            return None
        return normalized_input_gradient(g_hat, self.x_hat, self.inv_std, axis=1)

    def onnx_nodes(self, graph, x):
        """ONNX's LayerNormalization over the features (opset 17 and later)."""
        if graph.opset < 17:
            raise ValueError(f"LayerNorm exports as ONNX's LayerNormalization, which needs "
                             f"opset 17 or later (asked for {graph.opset})")
        return graph.node("LayerNormalization", [x, graph.constant(self._gamma, "gamma"),
                                                 graph.constant(self._beta, "beta")],
                          axis=-1, epsilon=self.eps)

    def to_torch(self):
        from torch import nn

        module = nn.LayerNorm(self.n_features, eps=self.eps)
        module.weight, module.bias = to_torch_tensor(self._gamma), to_torch_tensor(self._beta)
        return [module]

    @classmethod
    def from_torch(cls, modules, i):
        from torch import nn

        m = modules[i]
        if type(m) is not nn.LayerNorm:
            return None
        if len(m.normalized_shape) != 1 or m.weight is None or m.bias is None:
            raise ValueError(f"{m} (module {i}) has no deltaprop twin: LayerNorm takes one "
                             f"feature dimension, with elementwise_affine=True and a bias")
        gamma = from_torch_tensor(m.weight)
        layer = cls(m.normalized_shape[0], eps=m.eps, dtype=gamma.dtype)
        layer.gamma, layer.beta = gamma, from_torch_tensor(m.bias)
        return layer, 1

    def get_config(self):
        return {"n_features": self.n_features, "eps": self.eps}

    def __repr__(self):
        return f"LayerNorm({self.n_features})"
