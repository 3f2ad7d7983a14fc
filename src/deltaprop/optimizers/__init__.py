r"""Gradient-descent optimizers: each one owns its state and updates ``(param, grad)`` pairs.

An optimizer is given the list ``[(W1, grad_W1), (b1, grad_b1), ...]`` of
:meth:`Sequential.parameters` and updates every ``param`` **in place**. Its state (a
velocity, moment estimates) is created on the first :meth:`Optimizer.step` with the shape
and dtype of each parameter and is keyed by the position of the pair in the list, so the
list must keep the same order from step to step. float32 parameters get float32 state;
hyper-parameters are Python floats, so NumPy 2 never promotes an update to float64.

Every update rule agrees with its ``torch.optim`` twin to rounding (see
``tests/test_optimizers.py``). Two things are added on top of each rule:

* ``clip_norm``: the gradients are first rescaled like ``torch.nn.utils.clip_grad_norm_``
  (:func:`clip_grad_norm`).
* ``weight_decay=λ`` on the weight matrices only (``param.ndim >= 2``; biases are never
  decayed). For every optimizer except :class:`AdamW` it is the form of Sayrol's lecture notes

  .. math:: W \leftarrow W - \eta\,\mathrm{step} - \lambda W,

  a decay of the weights *beside* the gradient step (λ is not multiplied by η, and it is not
  an L2 term in the loss: the network's own ``l2=`` adds that one to ``grad_W``). For plain
  SGD with a constant η it equals ``torch.optim.SGD(weight_decay=λ/η)``. :class:`AdamW` uses
  the decoupled form of Loshchilov & Hutter, as ``torch.optim.AdamW``:
  :math:`W \leftarrow W - \eta\lambda W`, then the Adam step.

The gradient arrays belong to the caller and serve as scratch buffers: ``step`` may modify
them in place. At present only ``clip_norm`` does (it scales them, as
``clip_grad_norm_`` does); the updates themselves work in a buffer of their own, so no array
is allocated per step.

One pass over the flat store, not one per parameter: a network hands its optimizer its
:class:`~deltaprop.parameters.ParameterStore` (``net.store``): the flat parameter and
gradient arrays and the offset of every tensor. The state is laid out the same way, and an
elementwise rule runs once over the whole flat array, in blocks of at most :data:`BLOCK`
elements (one block-sized work buffer); the result is bitwise the same as parameter by
parameter. A rule that needs whole tensors (a per-layer norm) sets ``per_tensor = True`` and
is called once per tensor, at the store's offsets. A plain list of ``(param, grad)`` pairs
works too, one run per pair. ``state`` and :meth:`Optimizer.state_dict` hold one array per
parameter either way (views into the flat state).
"""

from __future__ import annotations

from .base import (BLOCK, EMPTY_STATE, FULL_BATCH_OPTIMIZERS, OPTIMIZERS, LayerSteps, Optimizer,
                   clip_grad_norm, get_optimizer, optimizer_from_config, register)
from .lbfgs import LBFGS
from .rules import SGD, AdaGrad, Adam, AdamW, Momentum, Nesterov, RMSProp

__all__ = [
    "Optimizer",
    "SGD",
    "Momentum",
    "Nesterov",
    "AdaGrad",
    "RMSProp",
    "Adam",
    "AdamW",
    "LBFGS",
    "LayerSteps",
    "OPTIMIZERS",
    "FULL_BATCH_OPTIMIZERS",
    "BLOCK",
    "EMPTY_STATE",
    "clip_grad_norm",
    "get_optimizer",
    "optimizer_from_config",
    "register",
]
