"""A small document model: what a page of a trace is made of, before it is rendered.

Items: :class:`Heading`, :class:`Para` (prose with inline symbols), :class:`Eq` (an
equation of symbols and matrices), :class:`Table`. A :class:`Sym` carries its plain-text
(Unicode) and its LaTeX form; a :class:`Mat` carries numbers. The renderers
(:mod:`.renderers`) know these items and nothing of backpropagation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Sym", "Mat", "Eq", "Para", "Heading", "Table", "Code", "S", "sup", "sub",
           "transpose", "paren", "enclosed", "apply", "ONE", "EQ", "PLUS", "MINUS", "ODOT", "TIMES",
           "ARROW", "CIRCLED"]


@dataclass(frozen=True)
class Sym:
    """A symbol or an operator: its plain-text (Unicode) and its LaTeX form."""

    text: str
    latex: str

    def __add__(self, other):
        other = other if isinstance(other, Sym) else Sym(other, other)
        return Sym(self.text + other.text, self.latex + other.latex)

    def __iter__(self):
        """``text, latex = sym``: the pair that the activations' and losses' formulas take."""
        return iter((self.text, self.latex))


@dataclass
class Mat:
    """Numbers shown as a matrix (2-D), a column vector (n x 1), a row or a scalar (1 x 1).

    ``tmark`` adds a transpose mark after the brackets (``[W]ᵀ``).
    """

    value: np.ndarray
    tmark: bool = False

    def __post_init__(self):
        v = np.asarray(self.value, dtype=np.float64)
        self.value = v.reshape(1, 1) if v.ndim == 0 else (v[:, None] if v.ndim == 1 else v)


@dataclass
class Eq:
    """An equation: a sequence of :class:`Sym` and :class:`Mat`, broken after ``=``."""

    parts: list
    label: Sym | None = None


@dataclass
class Para:
    """Prose: strings and inline :class:`Sym`."""

    parts: list


@dataclass(frozen=True)
class Code:
    """A name to type as it is (a file, a key of a JSON file): monospace, not maths."""

    text: str


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Table:
    """Header and rows of cells (str, :class:`Sym` or numbers)."""

    header: list
    rows: list


def sup(s):
    """Unicode superscript of ``s`` (digits, signs, brackets, a few letters)."""
    table = str.maketrans("0123456789+-−()=nkliTLKNj", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁽⁾⁼ⁿᵏˡⁱᵀᴸᴷᴺʲ")
    return str(s).translate(table)


def sub(s):
    """Unicode subscript of ``s``."""
    table = str.maketrans("0123456789+-−()=knlijx", "₀₁₂₃₄₅₆₇₈₉₊₋₋₍₎₌ₖₙₗᵢⱼₓ")
    return str(s).translate(table)


def S(text, latex=None):
    """A :class:`Sym`; ``latex`` defaults to ``text`` (ASCII symbols)."""
    return Sym(text, text if latex is None else latex)


def transpose(sym):
    """``sym`` transposed (in brackets when it is more than one symbol)."""
    if "/" in sym.text or " " in sym.text:
        return Sym("(" + sym.text + ")ᵀ", r"\left(" + sym.latex + r"\right)^{\top}")
    return Sym(sym.text + "ᵀ", "{" + sym.latex + "}^{\\top}")


def paren(sym):
    return Sym("(" + sym.text + ")", "\\left(" + sym.latex + "\\right)")


def enclosed(sym):
    """Whether ``sym`` is one bracketed group, ``(…)``, in both of its forms."""
    depth = 0
    for i, ch in enumerate(sym.text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0 and i < len(sym.text) - 1:
            return False
    return (sym.text.startswith("(") and depth == 0 and sym.latex.startswith(r"\left(")
            and sym.latex.endswith(r"\right)"))


def apply(f, x):
    """``f(x)``: the function symbol ``f`` applied to the symbol ``x`` (bracketed once)."""
    return f + (x if enclosed(x) else paren(x))


ONE = S("1")
EQ, PLUS, MINUS, ODOT, TIMES, ARROW = (S(" = ", "="), S(" + ", "+"), S(" − ", "-"),
                                       S(" ⊙ ", "\\odot"), S(" ", "\\,"),
                                       S(" ← ", "\\leftarrow"))
CIRCLED = {i: Sym(c, f"\\textcircled{{\\scriptsize {i}}}") for i, c in
           zip(range(1, 6), "①②③④⑤")}

