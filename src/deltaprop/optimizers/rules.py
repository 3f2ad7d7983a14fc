"""The update rules: SGD (with momentum or Nesterov's), AdaGrad, RMSProp, Adam and AdamW.

Each rule is an :class:`~deltaprop.optimizers.Optimizer` that writes its elementwise update
for one array (:meth:`~deltaprop.optimizers.Optimizer._update`, the NumPy path) and, where it
has one, the arguments of its fused kernel (``_kernel_args``); the base class plans where
it runs (:mod:`deltaprop.optimizers.base`).
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import check_bool, check_non_negative, check_number
from .base import EMPTY_STATE, Optimizer, register, unit_interval

__all__ = ["SGD", "Momentum", "Nesterov", "AdaGrad", "RMSProp", "Adam", "AdamW"]


# --------------------------------------------------------------------------- SGD family
@register
class SGD(Optimizer):
    r"""Stochastic gradient descent, with optional momentum or Nesterov momentum.

    Plain (``momentum=0``):

    .. math:: W \leftarrow W - \eta\, \frac{\partial L}{\partial W}

    With momentum μ, Sayrol's form (equal to ``torch.optim.SGD`` with ``dampening=0``):

    .. math::

        \Delta \leftarrow \mu \Delta + \frac{\partial L}{\partial W}, \qquad
        W \leftarrow W - \eta \Delta

    With ``nesterov=True`` (as ``torch.optim.SGD(nesterov=True)``):

    .. math::

        \Delta \leftarrow \mu \Delta + g, \qquad
        W \leftarrow W - \eta\,(g + \mu \Delta)

    The velocity Δ (``state["velocity"]``) starts at zero. Sayrol's weight decay
    subtracts λW from the weight matrices besides the step (see :class:`Optimizer`).

    Parameters
    ----------
    lr : float
        Learning rate η.
    momentum : float
        μ ≥ 0.
    nesterov : bool
        Nesterov momentum (needs ``momentum > 0``).
    weight_decay, clip_norm
        See :class:`Optimizer`.
    """

    name = "sgd"

    def __init__(self, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0, clip_norm=None):
        self.momentum = check_non_negative("momentum", momentum)
        self.nesterov = check_bool("nesterov", nesterov)
        if self.nesterov and self.momentum == 0.0:
            raise ValueError("nesterov=True requires momentum > 0")
        super().__init__(lr, weight_decay, clip_norm)

    def _state_names(self):
        return ("velocity",) if self.momentum else ()

    def _hyper(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov}

    kernel = "sgd"

    def _kernel_args(self, state, dt):
        velocity = state.get("velocity", EMPTY_STATE[dt])
        return (velocity,), (dt(self.lr), dt(self.momentum), bool(self.momentum),
                             bool(self.nesterov))

    def _update(self, param, grad, state, step):
        if not self.momentum:
            np.multiply(grad, self.lr, out=step)
            param -= step  # W <- W - eta g
            return
        velocity = state["velocity"]
        velocity *= self.momentum
        velocity += grad  # Delta <- mu Delta + g
        if self.nesterov:
            np.multiply(velocity, self.momentum, out=step)
            step += grad  # g + mu Delta
        else:
            step[...] = velocity
        step *= self.lr
        param -= step  # W <- W - eta step


@register
class Momentum(SGD):
    r"""SGD with (heavy-ball) momentum; :class:`SGD` with ``momentum=0.9`` by default.

    .. math::

        \Delta \leftarrow \mu \Delta + \frac{\partial L}{\partial W}, \qquad
        W \leftarrow W - \eta \Delta
    """

    name = "momentum"
    _nesterov = False

    def __init__(self, lr=0.01, momentum=0.9, weight_decay=0.0, clip_norm=None):
        if check_number("momentum", momentum) <= 0.0:
            raise ValueError(f"momentum must be > 0, got {momentum!r}")
        super().__init__(lr, momentum, self._nesterov, weight_decay, clip_norm)

    def _hyper(self):
        return {"momentum": self.momentum}


@register
class Nesterov(Momentum):
    r"""SGD with Nesterov momentum (``torch.optim.SGD(nesterov=True)``).

    .. math::

        \Delta \leftarrow \mu \Delta + g, \qquad
        W \leftarrow W - \eta\,(g + \mu \Delta)
    """

    name = "nesterov"
    _nesterov = True


# --------------------------------------------------------------------------- adaptive
@register
class AdaGrad(Optimizer):
    r"""AdaGrad (Duchi et al., 2011), as ``torch.optim.Adagrad`` with ``lr_decay=0``.

    .. math::

        G \leftarrow G + g \odot g, \qquad
        W \leftarrow W - \eta\, \frac{g}{\sqrt{G} + \epsilon}

    ``G`` (``state["sum"]``) starts at ``initial_accumulator_value``.

    Parameters
    ----------
    lr : float
        Learning rate η.
    eps : float
        ε ≥ 0, added to :math:`\sqrt{G}`.
    initial_accumulator_value : float
        Starting value ≥ 0 of G.
    weight_decay, clip_norm
        See :class:`Optimizer`.
    """

    name = "adagrad"

    def __init__(self, lr=0.01, eps=1e-10, initial_accumulator_value=0.0, weight_decay=0.0,
                 clip_norm=None):
        self.eps = check_non_negative("eps", eps)
        self.initial_accumulator_value = check_non_negative(
            "initial_accumulator_value", initial_accumulator_value
        )
        super().__init__(lr, weight_decay, clip_norm)

    def _state_names(self):
        return ("sum",)

    def _initial_state(self, key, param):
        return np.full_like(param, self.initial_accumulator_value)

    def _hyper(self):
        return {"eps": self.eps, "initial_accumulator_value": self.initial_accumulator_value}

    kernel = "adagrad"

    def _kernel_args(self, state, dt):
        return (state["sum"],), (dt(self.lr), dt(self.eps))

    def _update(self, param, grad, state, step):
        G = state["sum"]
        np.multiply(grad, grad, out=step)
        G += step  # G <- G + g*g
        np.sqrt(G, out=step)
        step += self.eps
        np.divide(grad, step, out=step)  # g / (sqrt(G) + eps)
        step *= self.lr
        param -= step


@register
class RMSProp(Optimizer):
    r"""RMSProp (Hinton), as ``torch.optim.RMSprop``.

    .. math::

        v \leftarrow \alpha v + (1 - \alpha)\, g \odot g

    Centered, with the running mean of the gradient :math:`\bar g`:

    .. math::

        \bar g \leftarrow \alpha \bar g + (1 - \alpha)\, g, \qquad
        d = \sqrt{v - \bar g \odot \bar g} + \epsilon
        \quad(\text{otherwise } d = \sqrt{v} + \epsilon)

    Then, without momentum :math:`W \leftarrow W - \eta\, g / d`; with momentum μ,

    .. math::

        B \leftarrow \mu B + g / d, \qquad W \leftarrow W - \eta B .

    State: ``v`` (``"square_avg"``), :math:`\bar g` (``"grad_avg"``, centered only),
    ``B`` (``"momentum_buffer"``, momentum only); all start at zero.

    Parameters
    ----------
    lr : float
        Learning rate η.
    alpha : float
        Smoothing constant α in ``[0, 1)``.
    eps : float
        ε ≥ 0, added to the square root.
    momentum : float
        μ ≥ 0.
    centered : bool
        Normalise by an estimate of the variance instead of the second moment.
    weight_decay, clip_norm
        See :class:`Optimizer`.
    """

    name = "rmsprop"

    def __init__(self, lr=0.01, alpha=0.99, eps=1e-8, momentum=0.0, centered=False,
                 weight_decay=0.0, clip_norm=None):
        self.alpha = unit_interval("alpha", alpha)
        self.eps = check_non_negative("eps", eps)
        self.momentum = check_non_negative("momentum", momentum)
        self.centered = check_bool("centered", centered)
        super().__init__(lr, weight_decay, clip_norm)

    def _state_names(self):
        names = ["square_avg"]
        if self.centered:
            names.append("grad_avg")
        if self.momentum:
            names.append("momentum_buffer")
        return tuple(names)

    def _hyper(self):
        return {"alpha": self.alpha, "eps": self.eps, "momentum": self.momentum,
                "centered": self.centered}

    kernel = "rmsprop"

    def _kernel_args(self, state, dt):
        empty = EMPTY_STATE[dt]
        return ((state["square_avg"], state.get("grad_avg", empty),
                 state.get("momentum_buffer", empty)),
                (dt(self.lr), dt(self.alpha), dt(1.0 - self.alpha), dt(self.eps),
                 dt(self.momentum), bool(self.centered), bool(self.momentum)))

    def _update(self, param, grad, state, d):
        v = state["square_avg"]
        np.multiply(grad, grad, out=d)
        d *= 1.0 - self.alpha
        v *= self.alpha
        v += d  # v <- alpha v + (1 - alpha) g*g
        if self.centered:
            g_bar = state["grad_avg"]
            np.multiply(grad, 1.0 - self.alpha, out=d)
            g_bar *= self.alpha
            g_bar += d  # g_bar <- alpha g_bar + (1 - alpha) g
            np.multiply(g_bar, g_bar, out=d)
            np.subtract(v, d, out=d)
            np.sqrt(d, out=d)  # sqrt(v - g_bar^2)
        else:
            np.sqrt(v, out=d)
        d += self.eps
        np.divide(grad, d, out=d)  # g / d
        if self.momentum:
            B = state["momentum_buffer"]
            B *= self.momentum
            B += d  # B <- mu B + g / d
            np.multiply(B, self.lr, out=d)
        else:
            d *= self.lr
        param -= d


@register
class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), exactly as ``torch.optim.Adam``.

    At step ``t`` (counting from 1):

    .. math::

        m \leftarrow \beta_1 m + (1 - \beta_1)\, g, \qquad
        v \leftarrow \beta_2 v + (1 - \beta_2)\, g \odot g

    .. math::

        W \leftarrow W - \frac{\eta}{1 - \beta_1^t}\,
        \frac{m}{\sqrt{v} / \sqrt{1 - \beta_2^t} + \epsilon}

    (ε is added *after* the bias correction of :math:`\sqrt v`, as in torch.) With
    ``amsgrad=True``, :math:`\hat v \leftarrow \max(\hat v, v)` replaces ``v`` in the
    denominator. ``m``, ``v`` and ``v_max`` start at zero. Sayrol's weight decay
    subtracts λW beside the step; for the decoupled form use :class:`AdamW`.

    Parameters
    ----------
    lr : float
        Learning rate η.
    beta_1, beta_2 : float
        Decay rates in ``[0, 1)`` of the first and second moment estimates.
    eps : float
        ε ≥ 0.
    amsgrad : bool
        Use the running maximum of ``v`` (Reddi et al., 2018).
    weight_decay, clip_norm
        See :class:`Optimizer`.
    """

    name = "adam"

    def __init__(self, lr=0.001, beta_1=0.9, beta_2=0.999, eps=1e-8, amsgrad=False,
                 weight_decay=0.0, clip_norm=None):
        self.beta_1 = unit_interval("beta_1", beta_1)
        self.beta_2 = unit_interval("beta_2", beta_2)
        self.eps = check_non_negative("eps", eps)
        self.amsgrad = check_bool("amsgrad", amsgrad)
        super().__init__(lr, weight_decay, clip_norm)

    def _state_names(self):
        return ("m", "v", "v_max") if self.amsgrad else ("m", "v")

    def _hyper(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "eps": self.eps,
                "amsgrad": self.amsgrad}

    kernel = "adam"

    def _kernel_args(self, state, dt):
        c = math.sqrt(1.0 - self.beta_2**self.t)  # as in _update
        return ((state["m"], state["v"], state.get("v_max", EMPTY_STATE[dt])),
                (dt(1.0 - self.beta_1), dt(self.beta_2), dt(1.0 - self.beta_2),
                 dt(self.eps * c), dt(self.lr * c / (1.0 - self.beta_1**self.t)),
                 bool(self.amsgrad)))

    def _update(self, param, grad, state, step):
        m, v = state["m"], state["v"]
        np.subtract(grad, m, out=step)
        step *= 1.0 - self.beta_1
        m += step  # m <- m + (1 - beta_1)(g - m) = beta_1 m + (1 - beta_1) g (torch's lerp)
        np.multiply(grad, grad, out=step)
        step *= 1.0 - self.beta_2
        v *= self.beta_2
        v += step  # v <- beta_2 v + (1 - beta_2) g*g
        if self.amsgrad:
            v_max = state["v_max"]
            np.maximum(v_max, v, out=v_max)
            v = v_max
        # eta/(1-beta_1^t) m / (sqrt(v)/c + eps) with c = sqrt(1-beta_2^t), multiplied
        # through by c: one pass fewer, equal up to rounding.
        c = math.sqrt(1.0 - self.beta_2**self.t)
        np.sqrt(v, out=step)
        step += self.eps * c
        np.divide(m, step, out=step)
        step *= self.lr * c / (1.0 - self.beta_1**self.t)
        param -= step


@register
class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as ``torch.optim.AdamW``.

    On the weight matrices (``ndim >= 2``) first

    .. math:: W \leftarrow W - \eta \lambda W ,

    then the :class:`Adam` step. Unlike Sayrol's form, λ is multiplied by the current η
    (so it follows a learning-rate schedule), and any λ ≥ 0 is accepted.
    """

    name = "adamw"
    decoupled_weight_decay = True

    def __init__(self, lr=0.001, beta_1=0.9, beta_2=0.999, eps=1e-8, weight_decay=0.01,
                 amsgrad=False, clip_norm=None):
        super().__init__(lr, beta_1, beta_2, eps, amsgrad, weight_decay, clip_norm)


