"""Marking a hand calculation: a verdict for every quantity of the answer file, as a
teacher marks.

* **right**: within the tolerance of the key;
* **carried forward**: not the key, but what the right method gives from the student's own
  earlier numbers (an earlier error carried forward is not marked twice);
* **wrong**: neither; when the numbers fit a classic slip (:data:`SLIPS`), it is named;
* **missing**: no number (or not all of them).

Every computation is in deltaprop's layout, with the network's own activation and loss
objects: the answer is turned back from the sheet's layout first.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..activations import get_activation
from ..losses import get_loss

__all__ = ["SLIPS", "Verdict", "Marking", "check", "read_answers"]

#: The classic slips the marking recognises, by name.
SLIPS = {
    "sigma_as_derivative": "σ' written as σ: step ② multiplied by f(z) instead of f'(z)",
    "fprime_at_activation": "f' taken at the activation instead of the pre-activation "
                            "(f'(a) for f'(z))",
    "missing_transpose_4": "missing transpose in ④: the weight gradient is written "
                           "transposed",
    "missing_transpose_5": "missing transpose in ⑤: W times the error vector instead of "
                           "Wᵀ times it",
    "t_minus_y": "t − y written for y − t: the sign of the output error is flipped",
    "half_dropped": "the loss's ½ dropped: a factor 2 too many",
    "half_doubled": "the loss's ½ doubled: a factor ½ too many",
    "two_dropped": "the 2 of the derivative of the square dropped",
    "mean_dropped": "the loss's 1/n (the mean over the outputs) dropped",
    "mean_doubled": "the loss's 1/n (the mean over the outputs) doubled",
    "batch_mean_dropped": "the batch mean dropped: summed over the samples, not averaged",
    "batch_mean_doubled": "the batch mean doubled: divided by N twice",
    "bias_not_summed": "the bias gradient not summed over the batch",
}
VERDICTS = ("right", "carried forward", "wrong", "missing")


@dataclass
class Verdict:
    """The mark of one quantity (values in the sheet's layout)."""

    key: str
    where: str
    verdict: str
    answer: Any = None
    key_value: Any = None
    expected: Any = None       # what the student's own earlier numbers give, when not the key
    slip: str | None = None
    message: str = ""

    @property
    def right(self):
        return self.verdict in ("right", "carried forward")


@dataclass
class Marking:
    """The result of :func:`check`; ``print`` it for the report, :meth:`to_dict` for a
    gradebook."""

    exercise: str
    notation: str
    tolerance: str
    verdicts: list
    unknown: list

    @property
    def passed(self):
        """Every quantity right against the key."""
        return all(v.verdict == "right" for v in self.verdicts)

    def __bool__(self):
        return self.passed

    @property
    def first_wrong(self):
        """The first wrong step, in the order of the sheet (None if there is none)."""
        return next((v for v in self.verdicts if v.verdict == "wrong"), None)

    def counts(self):
        return {name: sum(v.verdict == name for v in self.verdicts) for name in VERDICTS}

    def slips(self):
        """``[(key, slip name)]`` of every wrong answer whose slip was recognised."""
        return [(v.key, v.slip) for v in self.verdicts if v.slip]

    def to_dict(self):
        first = self.first_wrong
        return {"exercise": self.exercise, "notation": self.notation, "passed": self.passed,
                "score": sum(v.right for v in self.verdicts), "total": len(self.verdicts),
                **self.counts(), "tolerance": self.tolerance,
                "first_wrong": None if first is None else {
                    "key": first.key, "where": first.where, "slip": first.slip,
                    "description": SLIPS.get(first.slip or "")},
                "unknown_entries": self.unknown,
                "verdicts": [asdict(v) for v in self.verdicts]}

    def __str__(self):
        c = self.counts()
        total = len(self.verdicts)
        right = c["right"] + c["carried forward"]
        lines = [f"exercise {self.exercise} ({self.notation}): {right} of {total} right"
                 + (f" ({c['carried forward']} carried forward)" if c["carried forward"] else "")
                 + f", {c['wrong']} wrong, {c['missing']} missing",
                 f"tolerance: {self.tolerance}"]
        kw = max(len(v.key) for v in self.verdicts)
        ww = max(len(v.where) for v in self.verdicts)
        for v in self.verdicts:
            text = v.verdict + (f": {v.message}" if v.message else "")
            lines.append(f"  {v.key:<{kw}}  {v.where:<{ww}}  {text}")
        for name in self.unknown:
            lines.append(f"  {name}: not a quantity of this sheet (ignored)")
        first = self.first_wrong
        if first is not None:
            slip = f": {SLIPS[first.slip]}" if first.slip else ""
            lines.append(f"first wrong step: {first.where}, {first.key}{slip}")
        elif c["missing"]:
            lines.append("no wrong step; some answers are missing")
        else:
            lines.append("everything is right")
        return "\n".join(lines)


def _fmt(v):
    v = np.asarray(v, dtype=np.float64)
    if v.ndim == 0:
        return f"{float(v) + 0.0:.6g}"
    return "[" + ", ".join(_fmt(x) for x in v) + "]"


def _number(x):
    if isinstance(x, bool):
        raise ValueError
    if isinstance(x, (int, float)):
        return float(x)
    if isinstance(x, str):
        return float(Fraction(x.strip().replace("−", "-")))
    raise ValueError


def _parse(raw):
    """``(array, problem)``: the numbers of an answer, or why there are none."""
    try:
        flat = np.asarray(raw, dtype=object).ravel()
        shaped = np.asarray(raw, dtype=object)
    except ValueError:
        return None, "not a number, a list or a list of rows of equal length"
    if shaped.dtype == object and any(isinstance(x, (list, dict)) for x in flat):
        return None, "not a number, a list or a list of rows of equal length"
    if flat.size == 0:
        return None, "missing"
    empty = sum(x is None for x in flat)
    if empty:
        return None, ("missing" if empty == flat.size else
                      f"incomplete: {empty} of {flat.size} entries are empty")
    try:
        values = np.array([_number(x) for x in flat], dtype=np.float64).reshape(shaped.shape)
    except (ValueError, ZeroDivisionError, TypeError):
        bad = next(x for x in flat if not _is_number(x))
        return None, f"{bad!r} is not a number"
    return values, None


def _is_number(x):
    try:
        _number(x)
    except (ValueError, ZeroDivisionError, TypeError):
        return False
    return True


def _fit(values, q):
    """The answer in the sheet's shape, when it is only written another way (a flat list
    for a column); None when its shape is another."""
    shape = q.sheet_shape
    if values.shape == shape:
        return values
    if values.size != int(np.prod(shape)):
        return None
    squeezed = tuple(s for s in values.shape if s != 1)
    if len(shape) < 2 and squeezed == tuple(s for s in shape if s != 1):
        return values.reshape(shape)
    if len(shape) == 2 and values.ndim == 1 and 1 in shape:  # a row or column as a list
        return values.reshape(shape)
    return None


class _Context:
    """The key and the student's own numbers, in deltaprop's layout, by (kind, k, n)."""

    def __init__(self, ex):
        self.ex = ex
        spec = ex.spec
        self.Ws, self.bs = spec.Ws, spec.bs
        self.acts = [get_activation(a) for a in spec.activations]
        self.loss = get_loss(spec.loss)
        self.X, self.T = ex.trace.X, ex.trace.T
        self.K, self.N = len(self.Ws), len(self.X)
        self.share = ex.trace.share
        self.fused = ex.trace.fused
        self.key = {(q.kind, q.k, q.n): q.value for q in ex.quantities}
        self.mine = {}

    def get(self, kind, k, n):
        return self.mine.get((kind, k, n), self.key.get((kind, k, n)))

    def key_get(self, kind, k, n):
        return self.key.get((kind, k, n))

    # the right method, from the numbers that ``get`` gives ----------------------------
    def follow(self, q, get):
        """What the right method gives for ``q`` from ``get``'s numbers (a list: two
        readings where the method allows both, f'(z) from z or from a)."""
        kind, k, n = q.kind, q.k, q.n
        if n is None:  # the batch's: the share-weighted sum of the samples'
            per = "loss" if kind == "J" else kind
            return [sum(self.share[m] * get(per, None if per == "loss" else k, m)
                        for m in range(self.N))]
        if kind == "pre":
            return [self._input(k, n, get) @ self.Ws[k - 1] + self.bs[k - 1]]
        if kind == "act":
            return [self._f(k, get("pre", k, n))]
        if kind in ("J", "loss"):
            y, z, t = get("act", self.K, n), get("pre", self.K, n), self.T[n]
            out = [self.loss.value(y[None], t[None])[0]]
            if self.fused:
                out.append(self.loss.fused_value(z[None], t[None])[0])
            return [v * (self.share[n] if kind == "J" else 1.0) for v in out]
        if kind == "grad_y":
            return [self.loss.gradient(get("act", k, n)[None], self.T[n][None])[0]]
        if kind == "err":
            if k == self.K and self.fused:
                return [get("act", k, n) - self.T[n]]
            g = get("grad_y" if k == self.K else "grad_out", k, n)
            z = get("pre", k, n)
            f = self.acts[k - 1]
            return [f.backward(z[None], a[None], g[None])[0]
                    for a in (self._f(k, z), get("act", k, n))]
        if kind == "grad_b":
            return [get("err", k, n)]
        if kind == "grad_W":
            return [np.outer(self._input(k, n, get), get("err", k, n))]
        if kind == "grad_out":  # ⑤ of layer k + 1
            return [self.Ws[k] @ get("err", k + 1, n)]
        raise ValueError(f"unknown quantity {kind!r}")

    def _input(self, k, n, get):
        return self.X[n] if k == 1 else get("act", k - 1, n)

    def _f(self, k, z):
        return self.acts[k - 1].forward(np.array(z, dtype=np.float64)[None])[0]

    # the slips, from the numbers that ``get`` gives -----------------------------------
    def slips(self, q, get):
        """``[(slip name, value)]``: what each slip gives for ``q``."""
        kind, k, n = q.kind, q.k, q.n
        right = self.follow(q, get)[0]
        out = []
        if n is None:
            if self.ex.spec.reduction == "mean" and self.N > 1:
                total = right * self.N
                out += [("batch_mean_dropped", total), ("batch_mean_doubled", total / self.N**2)]
            return out
        if kind in ("J", "loss"):
            out += [(name, c * right) for name, c in self._loss_factors(kind)]
        elif kind == "grad_y":
            out += [("t_minus_y", -right)]
            out += [(name, c * right) for name, c in self._loss_factors(kind)]
        elif kind == "err":
            if k == self.K:
                out.append(("t_minus_y", -right))
            f = self.acts[k - 1]
            if not (k == self.K and self.fused) and f.elementwise:
                g = get("grad_y" if k == self.K else "grad_out", k, n)
                z = get("pre", k, n)
                out.append(("sigma_as_derivative", g * self._f(k, z)))
                for a in (self._f(k, z), get("act", k, n)):
                    out.append(("fprime_at_activation",
                                f.backward(a[None], self._f(k, a)[None], g[None])[0]))
        elif kind == "grad_out":
            W = self.Ws[k]
            if W.shape[0] == W.shape[1]:
                out.append(("missing_transpose_5", W.T @ get("err", k + 1, n)))
        return out

    def _loss_factors(self, kind):
        name, n_out = self.loss.name, self.Ws[-1].shape[1]
        if name == "half_squared_error":
            return [("half_dropped", 2.0), ("half_doubled", 0.5)]
        if name == "mse" and n_out > 1:
            return [("mean_dropped", float(n_out)), ("mean_doubled", 1.0 / n_out)]
        if name == "squared_error" and kind == "grad_y":
            return [("two_dropped", 0.5)]
        return []

    def shape_slip(self, q, values, tol):
        """A slip that shows in the answer's shape (or its transposition)."""
        if q.kind == "grad_W":
            for get in (self.get, self.key_get):
                for right in self.follow(q, get):
                    if tol.close(values, q.sheet_value(right).T):
                        return "missing_transpose_4"
        if q.kind == "grad_b" and q.n is None and self.N > 1:
            for get in (self.get, self.key_get):
                rows = np.array([get("grad_b", q.k, m) for m in range(self.N)])
                scaled = rows * self.share[:, None]
                for cand in (rows, scaled, rows.T, scaled.T, *rows, *scaled):
                    if tol.close(values, cand):
                        return "bias_not_summed"
        return None


def read_answers(source):
    """``(answers, exercise id or None, where)`` of an answer file (a path or a parsed dict);
    ``where`` names it in messages."""
    where = "the answers"
    if not isinstance(source, dict):
        path = Path(source)
        where = str(path)
        try:
            source = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ValueError(f"{path}: no such file") from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno}, column "
                             f"{exc.colno}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: cannot be read ({exc})") from None
    if not isinstance(source, dict):
        raise ValueError(f"{where}: an answer file is a JSON object {{\"answers\": {{...}}}}")
    answers = source.get("answers", source)
    if not isinstance(answers, dict):
        raise ValueError(f"{where}: \"answers\" must be an object of name: value")
    ident = source.get("exercise") if "answers" in source else None
    return {k: v for k, v in answers.items()}, ident, where


def check(exercise: Any, answers: Any) -> Marking:
    """Mark ``answers`` (an answer file's path or its dict) against ``exercise`` (an
    :class:`~deltaprop.exercises.Exercise`, its directory or its ``exercise.json``).

    Returns
    -------
    Marking
        ``.passed``, ``.first_wrong``, ``.verdicts``; ``print`` it for the report.

    Examples
    --------
    >>> import deltaprop as dp
    >>> ex = dp.exercises.new(seed=3)
    >>> answers = ex.key_answers()
    >>> answers["answers"]["grad_y"] = [-v for v in answers["answers"]["grad_y"]]  # t - y
    >>> dp.exercises.check(ex, answers).first_wrong.slip
    't_minus_y'
    """
    from .exercise import Exercise, load

    ex = exercise if isinstance(exercise, Exercise) else load(exercise)
    given, ident, where = read_answers(answers)
    if ident is not None and ident != ex.id:
        raise ValueError(f"{where} was written for exercise {ident}, not for this one "
                         f"({ex.id}): mark each student's answers against their own sheet")
    ctx = _Context(ex)
    tol = ex.tolerance
    verdicts = [_mark(q, given, ctx, tol) for q in ex.quantities]
    names = {q.key for q in ex.quantities}
    unknown = [k for k in given if k not in names]
    return Marking(ex.id, ex.notation, tol.describe(), verdicts, unknown)


def _mark(q, given, ctx, tol):
    where = q.where(ctx.N)
    key_sheet = q.sheet_value().tolist()
    verdict = Verdict(q.key, where, "missing", key_value=key_sheet)
    if q.key not in given:
        return verdict
    values, problem = _parse(given[q.key])
    if values is None:
        verdict.message = "" if problem == "missing" else problem
        verdict.verdict = "missing" if problem.startswith(("missing", "incomplete")) else "wrong"
        verdict.answer = given[q.key]
        return verdict
    verdict.answer = values.tolist()
    fitted = _fit(values, q)
    if fitted is not None:
        mine = q.sheet_value(fitted)  # the sheet's layout back to deltaprop's
        ctx.mine[(q.kind, q.k, q.n)] = mine
        if tol.close(mine, q.value):
            verdict.verdict = "right"
            return verdict
        follow = [c for c in ctx.follow(q, ctx.get) if not tol.close(c, q.value)]
        if any(tol.close(mine, c) for c in follow):
            verdict.verdict = "carried forward"
            verdict.expected = q.sheet_value(follow[0]).tolist()
            verdict.message = "right from your own earlier numbers"
            return verdict
    verdict.verdict = "wrong"
    verdict.slip = ctx.shape_slip(q, values, tol)
    if verdict.slip is None and fitted is not None:
        mine = ctx.mine[(q.kind, q.k, q.n)]
        for get in (ctx.get, ctx.key_get):
            verdict.slip = next((name for name, value in ctx.slips(q, get)
                                 if tol.close(mine, value)), None)
            if verdict.slip:
                break
    expected = ctx.follow(q, ctx.get)[0]
    shown = (f"the key is {_fmt(key_sheet)}" if tol.close(expected, q.value) else
             f"your earlier numbers give {_fmt(q.sheet_value(expected))} (the key: "
             f"{_fmt(key_sheet)})")
    if fitted is None and verdict.slip is None:
        shown = (f"a {' × '.join(map(str, values.shape)) or 'number'} answer where the sheet "
                 f"asks for {' × '.join(map(str, q.sheet_shape)) or 'a number'}; " + shown)
    verdict.message = (f"{_fmt(values)}; " + shown
                       + (f". Slip: {SLIPS[verdict.slip]}" if verdict.slip else ""))
    return verdict
