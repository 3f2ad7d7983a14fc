r"""Exercises: set a backpropagation exercise, mark a hand calculation, check backward code.

Three tools for a course taught from the lecture notes:

* :func:`new` sets an exercise: a small network with numbers made for hand work (integers
  and halves through ReLU and identity; two or three significant digits otherwise), a
  sheet in Markdown and LaTeX in the notation of one lecture (Goodfellow et al.'s steps
  ① to ⑤, Nielsen's four equations, Hagan et al.'s sensitivities, Rousseau's notes), its
  key (the engine's own numbers, as :func:`deltaprop.explain` traces them) and a blank
  answer file. Every seed gives a different problem of the same difficulty.
* :func:`check` marks an answer file: a verdict for every quantity, later steps marked
  against the student's own earlier numbers (error carried forward), the first wrong step,
  and the classic slip named when the numbers fit one (σ' written as σ, f' taken at the
  activation, a missing transpose in ④ or ⑤, t − y for y − t, the loss's ½ or 1/n or the
  batch mean dropped or doubled, the bias gradient not summed over the batch).
* :func:`check_backward` checks backward *code* a student wrote, against finite
  differences and the engine's own backward step.

>>> import deltaprop as dp
>>> ex = dp.exercises.new("2-2-1", activation="relu", seed=0)
>>> answers = ex.key_answers()          # a teacher's test: the key marks itself right
>>> dp.exercises.check(ex, answers).passed
True

The command line: ``deltaprop exercise new|check|key`` (docs/exercises.md).
"""

from __future__ import annotations

from .backward import ArrayComparison, BackwardCheck, check_backward
from .exercise import Exercise, load, new
from .marking import SLIPS, Marking, Verdict, check

__all__ = ["new", "load", "check", "Exercise", "Marking", "Verdict", "SLIPS",
           "check_backward", "BackwardCheck", "ArrayComparison"]
