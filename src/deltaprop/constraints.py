r"""Declarative parameter checks: one table per object, one wording for every error.

An object states what each of its parameters accepts in one table, in the style of
scikit-learn's ``_parameter_constraints``, and :func:`validate_params` checks a set of
values against it::

    from numbers import Integral, Real
    from deltaprop.constraints import Boolean, Interval, Options, StrOptions, validate_params

    CONSTRAINTS = {
        "lr": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), Options(["auto"]), None],
        "shuffle": [Boolean()],
        "solver": [StrOptions(("adam", "sgd"))],
    }
    validate_params({"lr": 0.1, "batch_size": 0, "shuffle": True}, CONSTRAINTS)
    # ParameterError: batch_size must be an integer >= 1, 'auto' or None; got 0

A value is valid when it satisfies at least one constraint of its list. The kinds:

=====================================  ==================================================
:class:`Interval` ``(Integral|Real)``  a finite number (not a bool) between two bounds
:class:`Options`                       one of a few literal values (``'auto'``, ``inf``)
:class:`StrOptions`                    one of a vocabulary of names (a registry's keys)
:class:`InstanceOf`, or a class        an instance of one of the types
``None``                               the value ``None``
:class:`Boolean`                       ``True`` or ``False`` (Python's or NumPy's)
:class:`Callable`                      anything callable
:class:`SequenceOf`                    a sequence whose items each satisfy a constraint
=====================================  ==================================================

Every error is a :class:`ParameterError` (both a ``ValueError`` and a ``TypeError``, so
that either ``except`` catches it) worded ``"<name> must be <expected>; got <value>"``.
This module imports NumPy only; nothing in it knows about scikit-learn.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from numbers import Integral, Real

import numpy as np

__all__ = [
    "Boolean",
    "Callable",
    "Constraint",
    "InstanceOf",
    "Interval",
    "Options",
    "ParameterError",
    "SequenceOf",
    "StrOptions",
    "describe",
    "validate_params",
]

_BOOLS = (bool, np.bool_)


class ParameterError(ValueError, TypeError):
    """A parameter satisfies none of its constraints.

    Attributes
    ----------
    parameter : str
        The parameter's name.
    value : object
        The value it was given.
    """

    def __init__(self, message, parameter, value):
        super().__init__(message)
        self.parameter, self.value = parameter, value


class Constraint:
    """One kind of accepted value: :meth:`is_satisfied_by`, and :meth:`alternatives`, whose
    ``str`` completes the sentence "<name> must be ..."."""

    def is_satisfied_by(self, value) -> bool:
        raise NotImplementedError

    def alternatives(self):
        """The description as a list of alternatives (``["True", "False"]``), so that a
        list of constraints reads as one enumeration."""
        raise NotImplementedError

    def __str__(self):
        return _join(self.alternatives())

    def __repr__(self):
        return f"<{type(self).__name__}: {self}>"


class Interval(Constraint):
    """A finite number of ``kind`` between ``low`` and ``high``.

    Parameters
    ----------
    kind : numbers.Integral or numbers.Real
        ``Integral`` admits integers (Python's and NumPy's); ``Real`` admits integers and
        floats. Bools are never numbers here.
    low, high : number or None
        The bounds; ``None`` leaves that side unbounded.
    closed : {"left", "right", "both", "neither"}
        Which bounds belong to the interval.

    Notes
    -----
    NaN and ±inf lie outside every interval; admit infinity with ``Options([math.inf])``.
    """

    _CLOSED = ("left", "right", "both", "neither")

    def __init__(self, kind, low, high, *, closed):
        if kind not in (Integral, Real):
            raise ValueError(f"Interval kind must be numbers.Integral or numbers.Real, "
                             f"got {kind!r}")
        if closed not in self._CLOSED:
            raise ValueError(f"Interval closed must be one of {', '.join(self._CLOSED)}, "
                             f"got {closed!r}")
        if low is not None and high is not None and low > high:
            raise ValueError(f"Interval low must be <= high, got {low} > {high}")
        self.kind, self.low, self.high, self.closed = kind, low, high, closed

    def is_satisfied_by(self, value):
        if isinstance(value, _BOOLS) or not isinstance(value, self.kind):
            return False
        if not math.isfinite(value):
            return False
        if self.low is not None:
            if value < self.low or (value == self.low and self.closed in ("right", "neither")):
                return False
        if self.high is not None:
            if value > self.high or (value == self.high and self.closed in ("left", "neither")):
                return False
        return True

    def alternatives(self):
        return [self._text()]

    def _text(self):
        what = "an integer" if self.kind is Integral else "a finite number"
        low_in = self.closed in ("left", "both")
        high_in = self.closed in ("right", "both")
        if self.low is None and self.high is None:
            return what
        if self.high is None:
            return f"{what} {'>=' if low_in else '>'} {self.low}"
        if self.low is None:
            return f"{what} {'<=' if high_in else '<'} {self.high}"
        return f"{what} in {'[' if low_in else '('}{self.low}, {self.high}{']' if high_in else ')'}"


def _same(value, option):
    """``value == option`` for scalars, where a bool matches only a bool."""
    if isinstance(value, _BOOLS) != isinstance(option, _BOOLS):
        return False
    try:
        equal = value == option
    except Exception:  # noqa: BLE001 - a value that cannot be compared is not equal
        return False
    return isinstance(equal, _BOOLS) and bool(equal)


def _literal(value):
    """How a value is written in a message: its repr, with infinity as numpy.inf."""
    if isinstance(value, float) and math.isinf(value):
        return "numpy.inf" if value > 0 else "-numpy.inf"
    return repr(value)


class Options(Constraint):
    """One of a few literal values, written as such in the message (``'auto' or None``).

    Parameters
    ----------
    values : iterable
        The accepted values. A value matches when it equals one (NumPy scalars equal
        their Python counterparts; a bool matches only a bool; NaN matches nothing).
    key : callable, optional
        Applied to the value before comparing, for spellings of the same option (such as
        ``np.float32`` for ``"float32"``); a key that raises means no match.
    """

    def __init__(self, values, *, key=None):
        self.values = tuple(values)
        if not self.values:
            raise ValueError("Options needs at least one value")
        self.key = key

    def is_satisfied_by(self, value):
        if self.key is not None:
            try:
                value = self.key(value)
            except Exception:  # noqa: BLE001
                return False
        return any(_same(value, option) for option in self.values)

    def alternatives(self):
        return [_literal(v) for v in self.values]


class StrOptions(Constraint):
    """One of a vocabulary of names, listed in the message (``one of adam, sgd``).

    Parameters
    ----------
    names : iterable of str, or a function returning one
        Read at each check, so that a registry (a dict of names) that grows stays valid.
    ignore_case : bool, default=False
        Match the names whatever the case of the value.
    """

    def __init__(self, names, *, ignore_case=False):
        self.names, self.ignore_case = names, ignore_case

    def _current(self):
        return list(self.names() if callable(self.names) else self.names)

    def is_satisfied_by(self, value):
        if not isinstance(value, str):
            return False
        if self.ignore_case:
            return value.lower() in {n.lower() for n in self._current()}
        return value in self._current()

    def alternatives(self):
        return ["one of " + ", ".join(self._current())]


class InstanceOf(Constraint):
    """An instance of one of ``types`` (``isinstance``; a class in a table means this)."""

    def __init__(self, *types):
        if not types:
            raise ValueError("InstanceOf needs at least one type")
        self.types = types

    def is_satisfied_by(self, value):
        return isinstance(value, self.types)

    def alternatives(self):
        return [f"an instance of {_type_name(t)}" for t in self.types]


def _type_name(cls):
    """``numpy.random.Generator``: the public spelling (private submodules dropped)."""
    module = ".".join(part for part in cls.__module__.split(".") if not part.startswith("_"))
    return cls.__qualname__ if module in ("builtins", "") else f"{module}.{cls.__qualname__}"


def brief(value, limit=80):
    """``repr(value)`` for a message: an array by its shape and dtype, anything else cut
    to ``limit`` characters."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, (tuple, list)) and any(isinstance(v, np.ndarray) for v in value):
        items = ", ".join(brief(v, limit) for v in value)
        return f"a {type(value).__name__} of {len(value)} items ({items})"
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


class _NoneConstraint(Constraint):
    def is_satisfied_by(self, value):
        return value is None

    def alternatives(self):
        return ["None"]


class Boolean(Constraint):
    """``True`` or ``False``: a Python bool or a NumPy bool (not 0 or 1)."""

    def is_satisfied_by(self, value):
        return isinstance(value, _BOOLS)

    def alternatives(self):
        return ["True", "False"]


class Callable(Constraint):
    """Anything callable (a function, a class, an object with ``__call__``)."""

    def is_satisfied_by(self, value):
        return callable(value)

    def alternatives(self):
        return ["a callable"]


class SequenceOf(Constraint):
    """A sequence (a list, tuple, range, 1-D array...) whose items each satisfy one of
    ``constraints``. Strings and one-pass iterators (generators) are not sequences."""

    def __init__(self, *constraints):
        if not constraints:
            raise ValueError("SequenceOf needs at least one constraint for its items")
        self.items = [_as_constraint(c) for c in constraints]

    def is_satisfied_by(self, value):
        if (isinstance(value, (str, bytes, Iterator)) or not isinstance(value, Iterable)):
            return False
        try:
            items = list(value)
        except TypeError:  # e.g. a 0-d array
            return False
        return all(any(c.is_satisfied_by(item) for c in self.items) for item in items)

    def alternatives(self):
        return [f"a sequence whose items are each {describe(self.items)}"]


def _as_constraint(c):
    if isinstance(c, Constraint):
        return c
    if c is None:
        return _NoneConstraint()
    if isinstance(c, type):
        return InstanceOf(c)
    raise TypeError(f"{c!r} is not a constraint: use a Constraint, a class or None")


def _join(parts):
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def describe(constraints):
    """The English for a list of constraints: ``"an integer >= 1, 'auto' or None"``."""
    return _join([part for c in constraints for part in _as_constraint(c).alternatives()])


def validate_params(params, constraints, *, owner=None, hints=None):
    """Check each value of ``params`` named in the table ``constraints``.

    Parameters
    ----------
    params : mapping
        Parameter names and their values. Names that are not in the table are not
        checked, and names of the table that are not given are not required.
    constraints : mapping
        Name -> list of constraints (:class:`Constraint` instances, classes or ``None``);
        a value is valid when it satisfies at least one.
    owner : str, optional
        Prefixed to the message (``"MLPClassifier: alpha must be ..."``).
    hints : mapping, optional
        Name -> a remark appended, in parentheses, to that parameter's message.

    Raises
    ------
    ParameterError
        For the first invalid value, in the table's order:
        ``"<name> must be <expected>; got <value!r>"``.
    """
    for name, accepted in constraints.items():
        if name not in params:
            continue
        value = params[name]
        accepted = [_as_constraint(c) for c in accepted]
        if any(c.is_satisfied_by(value) for c in accepted):
            continue
        message = f"{name} must be {describe(accepted)}; got {brief(value)}"
        if owner:
            message = f"{owner}: {message}"
        if hints and name in hints:
            message += f" ({hints[name]})"
        raise ParameterError(message, name, value)
