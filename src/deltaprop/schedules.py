r"""Learning-rate schedules: small objects that give the learning rate of an epoch.

A schedule is called with the epoch number (counting from 0) and returns η for that epoch;
the training loop sets ``optimizer.lr = schedule(epoch)`` at the start of each epoch.
:class:`ReduceOnPlateau` also watches a metric: the loop calls ``update(value)`` once at
the end of each epoch, and the schedule keeps its counters in :meth:`ReduceOnPlateau.state_dict`
so that a resumed run continues exactly.

Each schedule matches its ``torch.optim.lr_scheduler`` counterpart where one exists
(``StepLR``, ``ExponentialLR``, ``CosineAnnealingLR``, ``ReduceLROnPlateau`` with
``threshold_mode="abs"``); :class:`InverseScaling` is scikit-learn's ``"invscaling"``.
New schedules are one class with ``@register``; :func:`get_schedule` finds them by name.
"""

from __future__ import annotations

import math

from ._validation import check_int, check_non_negative, check_positive
from .improvement import Improvement

__all__ = [
    "Schedule",
    "Constant",
    "StepDecay",
    "ExponentialDecay",
    "InverseScaling",
    "CosineWarmup",
    "ReduceOnPlateau",
    "SCHEDULES",
    "get_schedule",
    "register",
    "schedule_from_config",
]

SCHEDULES: dict[str, type[Schedule]] = {}


def register(cls):
    """Class decorator: make a schedule available by its ``name``."""
    SCHEDULES[cls.name] = cls
    return cls


class Schedule:
    """Base class: ``schedule(epoch) -> lr`` and a JSON-serialisable configuration.

    Parameters
    ----------
    lr : float
        The initial (base) learning rate, > 0.
    """

    name = "schedule"

    def __init__(self, lr):
        self.lr = check_positive("lr", lr)

    def __call__(self, epoch):
        """The learning rate of ``epoch`` (an integer ≥ 0) as a Python float."""
        return float(self._lr_at(check_int("epoch", epoch, 0)))

    def _lr_at(self, epoch):
        raise NotImplementedError

    def _hyper(self):
        return {}

    def get_config(self):
        """JSON-serialisable parameters, including ``"name"``."""
        return {"name": self.name, "lr": self.lr, **self._hyper()}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


@register
class Constant(Schedule):
    r"""The same learning rate at every epoch: :math:`\eta_e = \eta`."""

    name = "constant"

    def _lr_at(self, epoch):
        return self.lr


@register
class StepDecay(Schedule):
    r"""Multiply by ``gamma`` every ``step_size`` epochs (``torch``'s ``StepLR``).

    .. math:: \eta_e = \eta\, \gamma^{\lfloor e / \text{step\_size} \rfloor}

    Parameters
    ----------
    lr : float
        η at epoch 0.
    step_size : int
        Epochs between two decays, ≥ 1.
    gamma : float
        Factor γ > 0.
    """

    name = "step_decay"

    def __init__(self, lr, step_size, gamma=0.1):
        super().__init__(lr)
        self.step_size = check_int("step_size", step_size, 1)
        self.gamma = check_positive("gamma", gamma)

    def _lr_at(self, epoch):
        return self.lr * self.gamma ** (epoch // self.step_size)

    def _hyper(self):
        return {"step_size": self.step_size, "gamma": self.gamma}


@register
class ExponentialDecay(Schedule):
    r"""Multiply by ``gamma`` every epoch (``torch``'s ``ExponentialLR``).

    .. math:: \eta_e = \eta\, \gamma^{e}

    Parameters
    ----------
    lr : float
        η at epoch 0.
    gamma : float
        Factor γ > 0 (γ < 1 decays).
    """

    name = "exponential_decay"

    def __init__(self, lr, gamma):
        super().__init__(lr)
        self.gamma = check_positive("gamma", gamma)

    def _lr_at(self, epoch):
        return self.lr * self.gamma**epoch

    def _hyper(self):
        return {"gamma": self.gamma}


@register
class InverseScaling(Schedule):
    r"""scikit-learn's ``learning_rate="invscaling"``, counted in epochs.

    .. math:: \eta_e = \frac{\eta}{(e + 1)^{p}}

    Parameters
    ----------
    lr : float
        η at epoch 0.
    power_t : float
        Exponent p ≥ 0.
    """

    name = "inverse_scaling"

    def __init__(self, lr, power_t=0.5):
        super().__init__(lr)
        self.power_t = check_non_negative("power_t", power_t)

    def _lr_at(self, epoch):
        return self.lr / (epoch + 1) ** self.power_t

    def _hyper(self):
        return {"power_t": self.power_t}


@register
class CosineWarmup(Schedule):
    r"""Linear warm-up, then cosine annealing to ``min_lr``.

    With W = ``warmup_epochs`` and T = ``total_epochs``:

    .. math::

        \eta_e =
        \begin{cases}
        \eta\, \dfrac{e + 1}{W} & e < W \\[1ex]
        \eta_{\min} + \dfrac{\eta - \eta_{\min}}{2}
            \Big(1 + \cos\big(\pi\, \dfrac{\min(e, T) - W}{T - W}\big)\Big) & e \ge W
        \end{cases}

    The warm-up climbs in equal steps from η/W at epoch 0 to η at epoch W − 1 (no epoch is
    spent at η = 0); the cosine starts at η at epoch W, reaches ``min_lr`` at epoch T and
    stays there. With ``warmup_epochs=0`` this is ``torch``'s
    ``CosineAnnealingLR(T_max=total_epochs, eta_min=min_lr)`` for epochs 0 to T.

    Parameters
    ----------
    lr : float
        Peak learning rate η.
    total_epochs : int
        T ≥ 1: the epoch at which ``min_lr`` is reached.
    warmup_epochs : int
        W, with 0 ≤ W < T.
    min_lr : float
        Final learning rate, 0 ≤ ``min_lr`` ≤ η.
    """

    name = "cosine_warmup"

    def __init__(self, lr, total_epochs, warmup_epochs=0, min_lr=0.0):
        super().__init__(lr)
        self.total_epochs = check_int("total_epochs", total_epochs, 1)
        self.warmup_epochs = check_int("warmup_epochs", warmup_epochs, 0)
        if self.warmup_epochs >= self.total_epochs:
            raise ValueError(
                f"warmup_epochs must be < total_epochs ({self.total_epochs}), "
                f"got {self.warmup_epochs}"
            )
        self.min_lr = check_non_negative("min_lr", min_lr)
        if self.min_lr > self.lr:
            raise ValueError(f"min_lr must be <= lr ({self.lr}), got {self.min_lr}")

    def _lr_at(self, epoch):
        W, T = self.warmup_epochs, self.total_epochs
        if epoch < W:
            return self.lr * (epoch + 1) / W
        progress = (min(epoch, T) - W) / (T - W)
        return self.min_lr + (self.lr - self.min_lr) * (1.0 + math.cos(math.pi * progress)) / 2.0

    def _hyper(self):
        return {"total_epochs": self.total_epochs, "warmup_epochs": self.warmup_epochs,
                "min_lr": self.min_lr}


@register
class ReduceOnPlateau(Schedule):
    r"""Divide the learning rate when a monitored metric stops improving.

    ``torch``'s ``ReduceLROnPlateau`` with ``threshold_mode="abs"``. Call :meth:`update`
    once per epoch with the metric (e.g. the validation loss). A value is an improvement
    (:class:`deltaprop.improvement.Improvement` with ``best=±inf``) when it beats the best
    so far by more than ``min_delta``
    (:math:`x < x_{\text{best}} - \delta` in ``"min"`` mode,
    :math:`x > x_{\text{best}} + \delta` in ``"max"`` mode; NaN never improves). After
    more than ``patience`` epochs in a row without improvement,

    .. math:: \eta \leftarrow \max(\gamma\,\eta,\ \eta_{\min}),

    the counter restarts, and the next ``cooldown`` epochs are not counted. (As in torch,
    a reduction smaller than 1e-8 is skipped.) ``schedule(epoch)`` returns the current
    learning rate whatever the epoch.

    Parameters
    ----------
    lr : float
        Initial learning rate.
    factor : float
        γ in (0, 1).
    patience : int
        Epochs without improvement that are tolerated, ≥ 0.
    min_delta : float
        Smallest change δ ≥ 0 that counts as an improvement.
    min_lr : float
        Lower bound ≥ 0 of the learning rate.
    mode : {"min", "max"}
        Whether the metric should decrease (a loss) or increase (an accuracy).
    cooldown : int
        Epochs to wait after a reduction before counting again, ≥ 0.

    Attributes
    ----------
    current_lr : float
        The learning rate now.
    best : float
        Best metric seen (±inf before the first update).
    num_bad_epochs : int
        Epochs in a row without improvement.
    """

    name = "reduce_on_plateau"
    _EPS = 1e-8  # torch's eps: smaller reductions are ignored

    def __init__(self, lr, factor=0.1, patience=10, min_delta=1e-4, min_lr=0.0, mode="min",
                 cooldown=0):
        super().__init__(lr)
        self.factor = check_positive("factor", factor)
        if self.factor >= 1.0:
            raise ValueError(f"factor must be < 1, got {self.factor}")
        self.patience = check_int("patience", patience, 0)
        # torch's rule: beat the best by more than min_delta; best starts at ±inf
        self.improvement = Improvement(mode, min_delta,
                                       best=math.inf if mode == "min" else -math.inf)
        self.min_delta, self.mode = self.improvement.min_delta, mode
        self.min_lr = check_non_negative("min_lr", min_lr)
        self.cooldown = check_int("cooldown", cooldown, 0)
        self.current_lr = self.lr
        self.cooldown_counter = 0

    @property
    def best(self):
        return self.improvement.best

    @property
    def num_bad_epochs(self):
        return self.improvement.wait

    def _lr_at(self, epoch):
        return self.current_lr

    def update(self, value):
        """Record the metric of the epoch that just ended; return the learning rate to use."""
        self.improvement.update(float(value))
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.improvement.wait = 0  # bad epochs during the cool-down are not counted
        if self.improvement.wait > self.patience:
            new_lr = max(self.current_lr * self.factor, self.min_lr)
            if self.current_lr - new_lr > self._EPS:
                self.current_lr = new_lr
            self.cooldown_counter = self.cooldown
            self.improvement.wait = 0
        return self.current_lr

    def _hyper(self):
        return {"factor": self.factor, "patience": self.patience, "min_delta": self.min_delta,
                "min_lr": self.min_lr, "mode": self.mode, "cooldown": self.cooldown}

    def state_dict(self):
        """The counters (plain Python scalars; ``best`` may be ±inf)."""
        return {"current_lr": self.current_lr, "best": self.best,
                "num_bad_epochs": self.num_bad_epochs, "cooldown_counter": self.cooldown_counter}

    def load_state_dict(self, state):
        """Restore what :meth:`state_dict` returned."""
        missing = {"current_lr", "best", "num_bad_epochs", "cooldown_counter"} - set(state)
        if missing:
            raise ValueError(f"ReduceOnPlateau state misses {sorted(missing)}")
        self.current_lr = check_non_negative("current_lr", state["current_lr"])
        self.improvement.best = float(state["best"])
        self.improvement.wait = check_int("num_bad_epochs", state["num_bad_epochs"], 0)
        self.cooldown_counter = check_int("cooldown_counter", state["cooldown_counter"], 0)


def get_schedule(name_or_instance, **kwargs):
    """A schedule from a registry name (``"step_decay"``), a config dict, or an instance.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the valid ones) or a bad parameter (the
        message names it).
    """
    if isinstance(name_or_instance, Schedule):
        if kwargs:
            raise ValueError(f"parameters {sorted(kwargs)} given with a schedule instance")
        return name_or_instance
    if isinstance(name_or_instance, dict):
        return schedule_from_config({**name_or_instance, **kwargs})
    if isinstance(name_or_instance, str) and name_or_instance.lower() in SCHEDULES:
        cls = SCHEDULES[name_or_instance.lower()]
        try:
            return cls(**kwargs)
        except TypeError as exc:  # a missing or unknown keyword
            raise ValueError(f"{cls.__name__}: {exc}") from None
    raise ValueError(
        f"unknown schedule {name_or_instance!r}; valid names are: {', '.join(sorted(SCHEDULES))}"
    )


def schedule_from_config(config):
    """Rebuild a schedule from :meth:`Schedule.get_config`'s dict."""
    config = dict(config)
    if "name" not in config:
        raise ValueError(f"schedule config has no 'name': {config!r}")
    return get_schedule(config.pop("name"), **config)
