"""An exercise: its network and numbers, its key, its answer files, and its files on disk.

:func:`new` draws one (:mod:`.draw`), :func:`load` reads one back from its
``exercise.json`` (the numbers are in the file: the key is traced again from them, never
taken from a seed), :meth:`Exercise.write` writes the sheet, the key and the answer file.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ..io import write_atomically
from .draw import Setting, draw, numbers_of_trace, problems
from .quantities import quantities

__all__ = ["Exercise", "Tolerance", "new", "new_class", "load", "write_class", "answers_json",
           "FILES"]

#: The files of an exercise's directory.
FILES = ("sheet.md", "sheet.tex", "key.md", "key.tex", "answers.json", "exercise.json")
FORMAT = 1


@dataclass(frozen=True)
class Tolerance:
    """An answer is right when ``|answer − key| <= atol + rtol |key|`` in every entry."""

    atol: float
    rtol: float

    @classmethod
    def for_setting(cls, exact):
        return cls(1e-3, 0.0) if exact else cls(1e-3, 1e-2)

    def close(self, answer, key):
        answer, key = np.asarray(answer, dtype=np.float64), np.asarray(key, dtype=np.float64)
        return answer.shape == key.shape and bool(np.all(
            np.abs(answer - key) <= self.atol + self.rtol * np.abs(key)))

    def describe(self):
        if self.rtol == 0:
            return (f"exact numbers: write them in full, as decimals or fractions such as "
                    f"“3/8”; an answer within {self.atol:g} of the key is right")
        return (f"give three significant digits; an answer within {self.rtol:.0%} of the key "
                f"(or {self.atol:g} of it, near 0) is right")


class Exercise:
    """A backpropagation exercise: a network with its numbers, in one notation.

    Build one with :func:`new` or :func:`load`. The key is :attr:`trace`, the engine's
    own sweep (:func:`deltaprop.explain`) of :attr:`spec`.
    """

    def __init__(self, spec, notation, tolerance, seed=None, setting=None, student=None):
        self.spec = spec
        self.notation = notation
        self.tolerance = tolerance
        self.seed = seed
        self.setting = setting
        self.student = student

    def __repr__(self):
        arch = "-".join(map(str, self.spec.sizes))
        return (f"Exercise({arch}, {'/'.join(self.spec.activations)}, loss={self.spec.loss!r}, "
                f"notation={self.notation!r}, N={len(self.spec.X)}, seed={self.seed})")

    @property
    def exact(self):
        return self.tolerance.rtol == 0

    @cached_property
    def trace(self):
        """The key: :func:`deltaprop.explain` of the network on its data."""
        return self.spec.explain(notation=self.notation, precision=6 if self.exact else 4)

    @cached_property
    def quantities(self):
        """What the student computes, in the order of the sheet (:class:`Quantity`)."""
        return quantities(self.trace, self.notation)

    @property
    def id(self):
        """A short fingerprint of the numbers: answer files carry it."""
        text = json.dumps(self.spec.to_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def title(self):
        who = f"student {self.student:02d}, " if self.student is not None else ""
        seed = f"seed {self.seed}" if self.seed is not None else "by hand"
        return f"Backpropagation by hand ({who}{seed})"

    # -- answer files -------------------------------------------------------------------
    def blank_answers(self):
        """The answer file to fill in: every quantity, its entries ``null``."""
        return self._answers(lambda q: np.full(q.sheet_shape, np.nan))

    def key_answers(self):
        """The answer file filled with the key (a teacher's test of the marking)."""
        return self._answers(lambda q: q.sheet_value())

    def _answers(self, values):
        def plain(v):
            if np.ndim(v) == 0:
                return None if math.isnan(float(v)) else float(v)
            return [plain(x) for x in v]

        return {"exercise": self.id, "notation": self.notation,
                "answers": {q.key: plain(values(q)) for q in self.quantities}}

    # -- documents ------------------------------------------------------------------------
    def sheet(self, fmt="markdown"):
        """The sheet (``"markdown"`` or ``"latex"``, a complete document)."""
        from .sheet import render_sheet

        return render_sheet(self, fmt, key=False)

    def key(self, fmt="markdown"):
        """The key: every answer, then the trace of every number."""
        from .sheet import render_sheet

        return render_sheet(self, fmt, key=True)

    def to_dict(self):
        """The content of ``exercise.json``: a network file (``explain --network`` reads it)
        with an ``"exercise"`` section."""
        data = self.spec.to_dict()
        data["notation"] = self.notation
        section = {"format": FORMAT, "id": self.id, "seed": self.seed,
                   "tolerance": {"atol": self.tolerance.atol, "rtol": self.tolerance.rtol}}
        if self.setting is not None:
            section["setting"] = self.setting.to_dict()
        if self.student is not None:
            section["student"] = self.student
        data["exercise"] = section
        return data

    def write(self, directory, force=False):
        """Write :data:`FILES` into ``directory`` (made if needed); the paths written.

        An existing file is never overwritten unless ``force`` (a student's filled
        ``answers.json`` may be there)."""
        directory = Path(directory)
        texts = {"sheet.md": self.sheet("markdown"), "sheet.tex": self.sheet("latex"),
                 "key.md": self.key("markdown"), "key.tex": self.key("latex"),
                 "answers.json": answers_json(self.blank_answers()),
                 "exercise.json": _json(self.to_dict())}
        return _write_files(directory, texts, force)


def _json(data):
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def answers_json(data):
    """An answer file as text: one quantity a line, ``"h1": [null, null]``, easy to fill in."""
    head = {k: v for k, v in data.items() if k != "answers"}
    lines = [f" {json.dumps(k)}: {json.dumps(v)}," for k, v in head.items()]
    entries = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in data["answers"].items()]
    return "{\n" + "\n".join(lines) + '\n "answers": {\n' + ",\n".join(entries) + "\n }\n}\n"


def _write_files(directory, texts, force):
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"{directory} is a file, not a directory")
    there = [name for name in texts if (directory / name).exists()]
    if there and not force:
        raise ValueError(f"{directory / there[0]} exists; choose another directory, or "
                         f"overwrite it with force=True (--force)")
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in texts.items():
        write_atomically(directory / name, lambda f, text=text: f.write(text), text=True)
        paths.append(directory / name)
    return paths


def new(network="2-2-1", activation="relu", output="identity", loss=None,
        notation="goodfellow", batch=1, seed=0, allow_inactive=False, student=None):
    """A new exercise.

    Parameters
    ----------
    network : str or sequence of int
        Layer sizes, ``"2-2-1"`` (inputs, hidden units, outputs).
    activation : str
        The hidden layers' activation (``"relu"``, ``"sigmoid"``, ``"tanh"``, ...).
    output : {"identity", "sigmoid", "softmax"}
        The output activation.
    loss : str, optional
        Default: ``half_squared_error`` (½‖t − y‖²) for identity and sigmoid outputs,
        ``cross_entropy`` for softmax.
    notation : {"goodfellow", "nielsen", "hagan", "rousseau"}
        The lecture whose symbols the sheet uses.
    batch : int
        Samples (1 to 8); with more than one, the batch mean and its gradients too.
    seed : int
        Every seed gives a different problem of the same difficulty.
    allow_inactive : bool
        Allow a hidden unit inactive for every sample (a ReLU unit whose step is 0).
    student : int, optional
        A student's number, for the title and the class key.

    Returns
    -------
    Exercise
        Its numbers pass every check of :func:`deltaprop.exercises.draw.problems`: no layer
        whose gradients are all zero, no unit at a kink, saturated or (unless allowed)
        inactive for every sample, no output equal to its target, every number readable.
        Integers and halves through ReLU and identity (exact answers); two or three
        significant digits otherwise, with the tolerance on the sheet.
    """
    from ..explain.spec import NetworkSpec

    setting = Setting.make(network, activation, output, loss, notation, batch, allow_inactive)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    tolerance = Tolerance.for_setting(setting.exact)
    found = {}

    def make(Ws, bs, X, T):
        spec = NetworkSpec(list(Ws), list(bs), setting.activations, setting.loss, X, T,
                           notation=notation)
        ex = Exercise(spec, notation, tolerance, int(seed), setting, student)
        if any(mask[0] for mask in problems(numbers_of_trace(ex.trace), setting).values()):
            return False
        found["exercise"] = ex
        return True

    draw(setting, int(seed), accept=make)
    return found["exercise"]


def new_class(students, seed=0, **setting):
    """One exercise per student, seeds ``seed`` to ``seed + students − 1``."""
    if isinstance(students, bool) or not isinstance(students, (int, np.integer)) \
            or not 1 <= students <= 500:
        raise ValueError(f"students must be an integer from 1 to 500, got {students!r}")
    return [new(seed=seed + i, student=i + 1, **setting) for i in range(students)]


def write_class(directory, exercises, force=False):
    """``DIR/student01/`` … (each an exercise's files) and the class key
    ``DIR/class_key.md``, ``DIR/class_key.tex``; the paths written."""
    from .sheet import render_class_key

    directory = Path(directory)
    texts = {"class_key.md": render_class_key(exercises, "markdown"),
             "class_key.tex": render_class_key(exercises, "latex")}
    paths = _write_files(directory, texts, force)
    for ex in exercises:
        paths += ex.write(directory / f"student{ex.student:02d}", force)
    return paths


def load(source: Any) -> Exercise:
    """An exercise from its directory, its ``exercise.json`` or that file's dict."""
    from ..explain.spec import SpecError, load_spec

    where = "the exercise"
    if not isinstance(source, dict):
        path = Path(source)
        path = path / "exercise.json" if path.is_dir() else path
        if not path.exists():
            raise ValueError(f"{path}: no such file (an exercise's directory holds "
                             f"exercise.json)")
        where = str(path)
        source = path
    spec = load_spec(source)
    section = spec.extra.get("exercise")
    if not isinstance(section, dict):
        raise SpecError(f"{where}: no \"exercise\" section: this is a network file, not an "
                        f"exercise (deltaprop exercise new writes one)")
    tol = section.get("tolerance", {})
    try:
        tolerance = Tolerance(float(tol["atol"]), float(tol["rtol"]))
        setting = section.get("setting")
        setting = None if setting is None else Setting.make(**setting)
    except (KeyError, TypeError, ValueError) as exc:
        raise SpecError(f"{where}: the \"exercise\" section is damaged ({exc})") from None
    notation = spec.notation or "goodfellow"
    return Exercise(spec, notation, tolerance, section.get("seed"), setting,
                    section.get("student"))
