"""The fully connected layer ``a = f(x @ W + b)``: the lectures' layer.

Convention (Rousseau's and Hagan et al.'s notes): a layer maps a batch whose rows are
samples,

    z = x @ W + b,   a = f(z),     W: (n_in, n_out),  b: (n_out,)

which is ``x^(k) = sigma(W^T x^(k-1) + b)`` applied to every row. Goodfellow et al.
write ``alpha = W h + b`` and Nielsen ``z = w a + b`` for one column vector: their
``W`` is our ``W.T``. ``docs/notation.md`` has the full table.
"""

from __future__ import annotations

import numpy as np

from .. import kernels
from .._validation import check_dtype, check_int, issparse
from ..activations import (Activation, activation_from_config, activation_from_torch,
                           get_activation)
from .base import Layer, from_torch_tensor, parameter, register_layer, to_torch_tensor

__all__ = ["Dense"]


def _sparse_matmul(a, b, out):
    """``a @ b`` for a SciPy sparse ``a``, written into ``out`` (``np.matmul`` takes no
    sparse operand); the product is a sparse-dense one, ``a`` is never made dense."""
    np.copyto(out, a @ b)
    return out


@register_layer
class Dense(Layer):
    """A fully connected layer ``a = f(x @ W + b)``.

    Parameters
    ----------
    n_in, n_out : int
        Number of inputs and of units.
    activation : str or Activation
        The activation ``f``.
    dtype : {"float32", "float64"}
    rng : numpy.random.Generator or int, optional
        Source of the initial weights, drawn by the activation's own scheme
        (:meth:`~deltaprop.activations.Activation.initial_weights`: Glorot-uniform for
        sigmoid/tanh/identity/softmax, He-normal for the ReLU family and GELU). Biases
        start at zero.
    initialize : bool
        False: the weights start at zero and nothing is drawn (a layer about to be filled,
        e.g. from a model file, spends no memory on weights that are overwritten).

    Attributes
    ----------
    W, b : ndarray
        Weights ``(n_in, n_out)`` and biases ``(n_out,)``. Assigning an array of the
        right shape copies it into the layer. In a :class:`~deltaprop.Sequential` they are
        views into the network's one flat parameter array.
    grad_W, grad_b : ndarray
        ``dJ/dW`` and ``dJ/db`` from the last backward step (views into the network's
        flat gradient array).
    x, z, a, delta : ndarray or None
        From the last forward/backward with ``keep``: the input ``h^(k-1)``, the
        pre-activation ``alpha^(k)``, the activation ``h^(k)``, and the error vector
        ``delta = dJ/dz`` (one row per sample).
    grad_output, fprime : ndarray or None
        With ``record = True``: the gradient ``dJ/da`` the backward step received
        (before step ② overwrote it; None at a fused output, which receives ``delta``
        directly) and ``f'(z)`` (None for softmax, whose Jacobian is not diagonal).
    """

    kind = "dense"
    parameter_names = ("W", "b")
    decayed = ("W",)
    accepts_sparse = True  # x @ W and xᵀ δ as sparse products
    concurrent_infer = True  # infer reads W, b and writes its own work arrays
    _infer_arrays = None  # prediction's work arrays (z, a), made by the first chunk
    W = parameter("W", "Weights ``(n_in, n_out)``; assigning copies into the layer.")
    b = parameter("b", "Biases ``(n_out,)``; assigning copies into the layer.")

    def __init__(self, n_in, n_out, activation="identity", dtype="float32", rng=None,
                 initialize=True):
        n_in, n_out = check_int("n_in", n_in), check_int("n_out", n_out)
        self.activation: Activation = get_activation(activation)  # type: ignore[assignment]
        self.dtype = check_dtype(dtype)
        if initialize:
            rng = np.random.default_rng(rng)
            self._W = self.activation.initial_weights(n_in, n_out, rng, self.dtype)
        else:
            self._W = np.zeros((n_in, n_out), dtype=self.dtype)
        self._b = np.zeros(n_out, dtype=self.dtype)
        self.grad_W = np.zeros(self._W.shape, dtype=self.dtype)  # untouched pages until used
        self.grad_b = np.zeros_like(self._b)
        self.forget()

    @property
    def n_in(self):
        return self._W.shape[0]

    @property
    def n_out(self):
        return self._W.shape[1]

    def forget(self):
        super().forget()
        self.z = self.delta = self.fprime = None
        self._infer_arrays = None  # (z, a) of prediction's chunks (infer)
        self._matmul = kernels.matmul  # _sparse_matmul after a sparse input (the first layer)

    # -- forward -----------------------------------------------------------------------------
    def _make_buffers(self, n):
        """z, a and the gradient sent to the layer below, for batches of n rows; that one
        is made by :meth:`_input_grad_buffer` when first needed (the first layer of a
        network never needs it: with 10⁵ inputs it would be a dense batch of X)."""
        z = np.empty_like(self._W, shape=(n, self.n_out))  # on the weights' device
        a = z if self.activation.name == "identity" else np.empty_like(z)
        return [z, a, None]

    def _input_grad_buffer(self, n):
        bufs = self.work_arrays(n, self._make_buffers)
        if bufs[2] is None:
            bufs[2] = np.empty_like(self._W, shape=(n, self.n_in))
        return bufs[2]

    def forward(self, x, training=False, keep=False):
        """``z = x @ W + b``, ``a = f(z)``; with ``keep`` the layer remembers x, z, a
        for the backward step and writes into its reused buffers."""
        if not keep:
            return self.activation.forward(self.pre_activation(x))
        z, a, _ = self.work_arrays(x.shape[0], self._make_buffers)
        # the one branch on sparsity: x @ W here and xᵀ δ in step ④ as sparse products
        self._matmul = (kernels.matmul if type(x) is np.ndarray or not issparse(x)
                        else _sparse_matmul)
        self._matmul(x, self._W, out=z)
        a = self.activation.forward_biased(z, self._b, out=a)  # z += b, a = f(z): one pass
        self.x, self.z, self.a = x, z, a
        return a

    def infer(self, x, out=None):
        """Prediction's forward step over a block of rows: ``z = x @ W`` into a work array
        that the next block reuses, then ``z += b; a = f(z)`` in one pass (into ``out``
        when given). Nothing is allocated once the first block has sized the arrays."""
        n = x.shape[0]
        bufs = self._infer_arrays
        if bufs is None or bufs[0].shape[0] < n:
            z = np.empty_like(self._W, shape=(n, self.n_out))
            bufs = self._infer_arrays = (z, z if self.activation.name == "identity"
                                         else np.empty_like(z))
        z = bufs[0][:n]
        matmul = (kernels.matmul if type(x) is np.ndarray or not issparse(x)
                  else _sparse_matmul)
        matmul(x, self._W, out=z)
        if out is None:
            out = z if bufs[1] is bufs[0] else bufs[1][:n]
        return self.activation.forward_biased(z, self._b, out=out)

    def forward_pair(self, x, training=False):
        z = self.pre_activation(x)
        return z, self.activation.forward(z)

    def pre_activation(self, x):
        """``z = x @ W + b`` in a new array."""
        z = x @ self._W
        z += self._b
        return z

    # -- backward ----------------------------------------------------------------------------
    def backward(self, g, *, is_delta=False, need_input_grad=True):
        """Goodfellow et al.'s steps ② to ⑤ (Deep Learning, §6.5.4) for a batch.

        ``g`` is ``dJ/da`` for this layer (overwritten in place), or already the error
        vector ``dJ/dz`` when ``is_delta`` (the fused output layer). Returns ``dJ/dx``,
        the ``g`` of the layer below, or None when ``need_input_grad`` is False.
        """
        if self.record:
            self._record(g, is_delta)
        if is_delta:
            delta = g
            np.sum(delta, axis=0, out=self.grad_b)            # ③ ∇b J = g
        else:  # ② g ⊙ f'(α) and ③ ∇b J = g, in one pass where a fused kernel is available
            delta = self.activation.backward_bias_grad(self.z, self.a, g, self.grad_b)
        self._matmul(self.x.T, delta, out=self.grad_W)        # ④ ∇W J = h gᵀ (as W: n_in × n_out)
        self.delta = delta
        if not need_input_grad:
            return None
        return kernels.matmul(delta, self._W.T, out=self._input_grad_buffer(len(delta)))  # ⑤ g ← W g

    def _record(self, g, is_delta):
        self.grad_output = None if is_delta else g.copy()
        act = self.activation
        self.fprime = np.copy(act.derivative(self.z, self.a)) if act.elementwise else None

    def __getstate__(self):  # a copy (pickle, deepcopy, prediction's copies) has its own
        return {**super().__getstate__(), "_infer_arrays": None}

    # -- export ------------------------------------------------------------------------------
    def onnx_nodes(self, graph, x):
        """``z = x W + b`` (Gemm), then the activation's own nodes."""
        z = graph.node("Gemm", [x, graph.constant(self._W, "W"), graph.constant(self._b, "b")])
        return self.activation.onnx_nodes(graph, z)

    def to_torch(self):
        """``[nn.Linear, activation]``; ``nn.Linear`` keeps ``W.T`` (out × in)."""
        from torch import nn

        linear = nn.Linear(self.n_in, self.n_out)
        linear.weight = to_torch_tensor(self._W.T)
        linear.bias = to_torch_tensor(self._b)
        return [linear, self.activation.to_torch()]

    @classmethod
    def from_torch(cls, modules, i):
        """An ``nn.Linear``, with the activation module that follows it if there is one."""
        from torch import nn

        linear = modules[i]
        if type(linear) is not nn.Linear:
            return None
        activation = activation_from_torch(modules[i + 1]) if i + 1 < len(modules) else None
        W = from_torch_tensor(linear.weight).T
        layer = cls(linear.in_features, linear.out_features, activation or "identity",
                    dtype=W.dtype, rng=0)
        layer.W = W
        layer.b = 0.0 * layer.b if linear.bias is None else from_torch_tensor(linear.bias)
        return layer, 1 if activation is None else 2

    # -- description -------------------------------------------------------------------------
    def get_config(self):
        return {"n_in": self.n_in, "n_out": self.n_out,
                "activation": self.activation.get_config()}

    @classmethod
    def from_config(cls, config, dtype):
        config = dict(config)
        activation = activation_from_config(config.pop("activation"))
        # filled from the model file next: nothing is drawn
        return cls(config["n_in"], config["n_out"], activation, dtype=dtype, initialize=False)

    def __repr__(self):
        return f"Dense({self.n_in}, {self.n_out}, activation={self.activation.name!r})"
