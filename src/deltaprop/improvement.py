r"""Has a monitored value improved? One rule for early stopping, checkpoints, plateau
schedules and the estimators' ``tol``.

:class:`Improvement` holds the best value so far and the number of values in a row that did
not improve on it. In ``"min"`` mode, with δ = ``min_delta``, a value :math:`x` improves when

.. math::

    x < x_{\text{best}} - \delta \quad (\text{or } x \le x_{\text{best}} - \delta
    \text{ with } \texttt{inclusive=True}),

and symmetrically (:math:`x > x_{\text{best}} + \delta`) in ``"max"`` mode; NaN never
improves. Its users differ only in parameters:

======================================  ==================================================
Keras' ``EarlyStopping``,               ``Improvement(mode, min_delta)``: the first value
``ModelCheckpoint(save_best_only)``     improves; ``best`` is the last improvement
torch's ``ReduceLROnPlateau``           ``Improvement(mode, min_delta, best=±inf)``
(``threshold_mode="abs"``)
scikit-learn's ``tol`` and              ``Improvement("min", tol, inclusive=True,
``n_iter_no_change`` (training loss)    best_of="all", best=inf)``: no improvement when
                                        ``loss > best_loss_ - tol``; ``best_loss_`` is the
                                        smallest loss seen
scikit-learn's ``early_stopping``       ``Improvement("max", tol, inclusive=True,
(validation score)                      best_of="all", best=-inf)``
======================================  ==================================================

What a user does after ``wait`` values without improvement (stop, reduce the learning
rate, after how many) is the user's own rule.
"""

from __future__ import annotations

from numbers import Real

from .constraints import Boolean, Interval, StrOptions, validate_params

__all__ = ["Improvement", "mode_for"]


def mode_for(metric):
    """``"max"`` for a metric that should grow (an accuracy, R²), ``"min"`` otherwise
    (a loss), from its name as logged (``"val_accuracy"``, ``"r2"``, ``"val_loss"``)."""
    return "max" if metric.endswith(("accuracy", "r2")) else "min"


class Improvement:
    """The best value so far, and how many values in a row did not improve on it.

    Parameters
    ----------
    mode : {"min", "max"}, default="min"
        Whether smaller (a loss) or larger (an accuracy) values are better.
    min_delta : float, default=0.0
        δ ≥ 0: how much a value must beat ``best`` by.
    inclusive : bool, default=False
        Whether beating ``best`` by exactly δ counts (scikit-learn's ``tol``) or a value
        must beat it by more than δ (Keras, torch).
    best_of : {"improvements", "all"}, default="improvements"
        What ``best`` follows: the values that improved (so ``best`` is the last
        improvement; Keras, torch), or all values (``best`` is the best value seen, even one
        that beat the previous best by less than δ; scikit-learn's ``best_loss_``).
    best : float or None, default=None
        The starting best. ``None``: the first value improves, whatever it is.

    Attributes
    ----------
    best : float or None
        The best value so far, as defined by ``best_of``.
    wait : int
        Values in a row that did not improve; users may set it (to 0 after acting on a
        plateau, or to carry a count over from an earlier run).
    new_best : bool
        Whether the last value became ``best`` (with ``best_of="all"`` a value can be a
        new best without being an improvement).
    """

    _CONSTRAINTS = {
        "mode": [StrOptions(("min", "max"))],
        "min_delta": [Interval(Real, 0, None, closed="left")],
        "inclusive": [Boolean()],
        "best_of": [StrOptions(("improvements", "all"))],
        "best": [None, Real],
    }

    def __init__(self, mode="min", min_delta=0.0, *, inclusive=False, best_of="improvements",
                 best=None):
        validate_params({"mode": mode, "min_delta": min_delta, "inclusive": inclusive,
                         "best_of": best_of, "best": best}, self._CONSTRAINTS)
        self.mode, self.min_delta = mode, float(min_delta)
        self.inclusive, self.best_of = bool(inclusive), best_of
        self.best = best
        self.wait = 0
        self.new_best = False

    def improves(self, value):
        """Whether ``value`` would improve on ``best`` (nothing is recorded)."""
        if self.best is None:
            return True
        if self.mode == "min":
            bar = self.best - self.min_delta
            return value <= bar if self.inclusive else value < bar
        bar = self.best + self.min_delta
        return value >= bar if self.inclusive else value > bar

    def update(self, value):
        """Record ``value``; return whether it improved."""
        improved = self.improves(value)
        self.wait = 0 if improved else self.wait + 1
        if self.best_of == "improvements":
            self.new_best = improved
        else:
            self.new_best = self.best is None or (
                value < self.best if self.mode == "min" else value > self.best)
        if self.new_best:
            self.best = value
        return improved

    def __repr__(self):
        return (f"Improvement(mode={self.mode!r}, min_delta={self.min_delta!r}, "
                f"inclusive={self.inclusive!r}, best_of={self.best_of!r}, best={self.best!r}, "
                f"wait={self.wait!r})")
