"""Renderers: a document (:mod:`.document`) as plain text, Markdown or LaTeX.

They know the document items and nothing of backpropagation. :func:`render` picks one by
the name of its format (:data:`FORMATS`).
"""

from __future__ import annotations

import math
import textwrap
from typing import Any

from .document import EQ, TIMES, Code, Mat, S, Sym

__all__ = ["TextRenderer", "MarkdownRenderer", "LatexRenderer", "render", "FORMATS",
           "latex_escape", "format_number"]


def format_number(v, precision):
    """``v`` to ``precision`` significant digits, as every trace writes it (no ``-0``)."""
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    s = f"{v + 0.0:.{precision}g}"
    return "0" if s == "-0" else s


def _pick(n, m):
    """Indices to show out of n, at most m, with None for an ellipsis."""
    if n <= m:
        return list(range(n))
    head = max(m - 2, 1)
    return list(range(head)) + [None, n - 1]


def _cells(M, precision, max_rows, max_cols, fmt, dots):
    hd, vd, dd = dots
    rows = []
    for i in _pick(M.shape[0], max_rows):
        row = []
        for j in _pick(M.shape[1], max_cols):
            if i is None:
                row.append(dd if j is None else vd)
            else:
                row.append(hd if j is None else fmt(M[i, j], precision))
        rows.append(row)
    return rows


def _hconcat(blocks):
    """Join text blocks (lists of equal-width lines) side by side, centred vertically."""
    H = max(len(b) for b in blocks)
    mid = (H - 1) // 2
    out = [""] * H
    for b in blocks:
        w = max((len(line) for line in b), default=0)
        top = mid - (len(b) - 1) // 2
        for r in range(H):
            i = r - top
            out[r] += (b[i] if 0 <= i < len(b) else "").ljust(w)
    return [line.rstrip() for line in out]


class TextRenderer:
    """Plain text with Unicode symbols and bracketed matrices."""

    DOTS = ("⋯", "⋮", "⋱")

    def __init__(self, precision=6, width=100, max_rows=8, max_cols=8):
        self.precision, self.width = int(precision), int(width)
        self.max_rows, self.max_cols = int(max_rows), int(max_cols)

    def render(self, doc):
        out = []
        for item in doc:
            out.append(getattr(self, "_" + type(item).__name__.lower())(item))
        return "\n".join(out).rstrip() + "\n"

    def block(self, part):
        if isinstance(part, Sym):
            return [part.text]
        M = part.value
        cells = _cells(M, self.precision, self.max_rows, self.max_cols, format_number, self.DOTS)
        if len(cells) == 1 and len(cells[0]) == 1 and not part.tmark:
            return [cells[0][0]]
        widths = [max(len(r[j]) for r in cells) for j in range(len(cells[0]))]
        lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
        if len(lines) == 1:
            lines = ["[" + lines[0] + "]"]
        else:
            last = len(lines) - 1
            lines = [("⎡" if i == 0 else "⎣" if i == last else "⎢") + line +
                     ("⎤" if i == 0 else "⎦" if i == last else "⎥") for i, line in enumerate(lines)]
        if part.tmark:
            lines = [lines[0] + "ᵀ"] + [line + " " for line in lines[1:]]
        return lines

    def _eq(self, eq):
        chunks, cur = [], []
        parts = list(eq.parts)
        for i, p in enumerate(parts):  # "2 · 1.5", not "2 1.5", next to a scalar
            if p is TIMES and 0 < i < len(parts) - 1 and isinstance(parts[i - 1], Mat) \
                    and isinstance(parts[i + 1], Mat) \
                    and 1 in (parts[i - 1].value.size, parts[i + 1].value.size):
                parts[i] = S(" · ", r"\cdot")
        for p in parts:
            if p is EQ or (isinstance(p, Sym) and p.text == " = "):
                chunks.append(cur)
                cur = []
            else:
                cur.append(p)
        chunks.append(cur)
        label = (eq.label.text + "  ") if eq.label is not None else ""
        rendered = [_hconcat([self.block(p) for p in ch]) if ch else [""] for ch in chunks]
        rows, current = [], None
        indent = " " * (len(label) + 4)
        for i, blk in enumerate(rendered):
            if current is None:
                current = _hconcat([[label], blk])
                continue
            candidate = _hconcat([current, [" = "], blk])
            if max(len(line) for line in candidate) <= self.width:
                current = candidate
            else:
                rows.append(current)
                current = _hconcat([[indent + "= "], blk])
        rows.append(current)
        return "\n".join("\n".join(r) for r in rows) + "\n"

    def _para(self, para):
        text = "".join(p if isinstance(p, str) else p.text for p in para.parts)  # Code too
        return textwrap.fill(text.replace(" = ", " = "), self.width) + "\n"

    def _heading(self, h):
        if h.level == 1:
            return h.text + "\n" + "═" * min(len(h.text), self.width) + "\n"
        if h.level == 2:
            return h.text + "\n" + "─" * min(len(h.text), self.width) + "\n"
        return f"· {h.text}\n"

    def _table(self, table):
        def cell(c):
            if isinstance(c, (Sym, Code)):
                return c.text
            if isinstance(c, Mat):
                return format_number(c.value[0, 0], self.precision)
            return str(c)
        rows = [[cell(c) for c in table.header]] + [[cell(c) for c in r] for r in table.rows]
        widths = [max(len(r[j]) for r in rows) for j in range(len(rows[0]))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines) + "\n"


_LATEX_PROSE = {
    "→": r"$\to$", "×": r"$\times$", "−": "-", "½": r"$\frac12$", "⊙": r"$\odot$",
    "≈": r"$\approx$", "—": "---", "–": "--", "η": r"$\eta$", "λ": r"$\lambda$",
    "σ": r"$\sigma$", "δ": r"$\delta$", "‖": r"$\|$", "ᵀ": r"$^\top$", "²": r"$^2$",
    "≤": r"$\le$", "≥": r"$\ge$", "∂": r"$\partial$", "·": r"$\cdot$", "ⁿ": r"$^n$",
    "ₙ": r"$_n$", "Σ": r"$\Sigma$", "α": r"$\alpha$", "∇": r"$\nabla$", "ℓ": r"$\ell$",
    "…": r"\dots{}", "“": "``", "”": "''", "’": "'", "①": r"\textcircled{\scriptsize 1}",
    "②": r"\textcircled{\scriptsize 2}", "③": r"\textcircled{\scriptsize 3}",
    "④": r"\textcircled{\scriptsize 4}", "⑤": r"\textcircled{\scriptsize 5}",
}
_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                  "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                  "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}",
                  "|": r"\textbar{}"}


def latex_escape(text):
    """Prose for LaTeX: special characters escaped, the few Unicode symbols used translated."""
    out = []
    for ch in text:
        if ch in _LATEX_SPECIAL:
            out.append(_LATEX_SPECIAL[ch])
        elif ch in _LATEX_PROSE:
            out.append(_LATEX_PROSE[ch])
        elif ord(ch) < 128:
            out.append(ch)
        else:
            out.append("?")
    return "".join(out)


def _latex_number(v, precision):
    s = format_number(v, precision)
    if s in ("inf", "-inf"):
        return s.replace("inf", r"\infty")
    if s == "nan":
        return r"\mathrm{NaN}"
    if "e" in s:
        m, e = s.split("e")
        return f"{m}\\times 10^{{{int(e)}}}"
    return s


class LatexRenderer:
    """LaTeX (amsmath): ``align*`` equations broken at each ``=``, ``bmatrix`` matrices."""

    DOTS = (r"\cdots", r"\vdots", r"\ddots")

    def __init__(self, precision=6, max_rows=6, max_cols=6, standalone=False):
        self.precision = int(precision)
        self.max_rows, self.max_cols = int(max_rows), int(max_cols)
        self.standalone = standalone

    PREAMBLE = ("\\documentclass[11pt]{article}\n"
                "\\usepackage{amsmath}\n"
                "\\usepackage{amssymb}\n"
                "\\usepackage[margin=2cm]{geometry}\n"
                "\\allowdisplaybreaks\n"
                "\\setlength{\\parindent}{0pt}\n"
                "\\begin{document}\n")

    def render(self, doc):
        body = "\n".join(getattr(self, "_" + type(item).__name__.lower())(item) for item in doc)
        if self.standalone:
            return self.PREAMBLE + body + "\n\\end{document}\n"
        return body + "\n"

    def math(self, part):
        if isinstance(part, Sym):
            return part.latex
        cells = _cells(part.value, self.precision, self.max_rows, self.max_cols,
                       _latex_number, self.DOTS)
        if len(cells) == 1 and len(cells[0]) == 1 and not part.tmark:
            return cells[0][0]
        body = r" \\ ".join(" & ".join(r) for r in cells)
        m = r"\begin{bmatrix} " + body + r" \end{bmatrix}"
        return m + r"^{\top}" if part.tmark else m

    def equation_lines(self, eq):
        chunks, cur = [], []
        for p in eq.parts:
            if p is EQ:
                chunks.append(cur)
                cur = []
            else:
                cur.append(p)
        chunks.append(cur)
        tex = [" ".join(self.math(p) for p in ch) for ch in chunks]
        if len(tex) == 1:
            return [tex[0]]
        return [tex[0] + " &= " + tex[1]] + ["&= " + t for t in tex[2:]]

    def _eq(self, eq):
        lines = self.equation_lines(eq)
        if eq.label is not None:  # label.latex is text-mode material
            lines[0] += r" \tag*{" + eq.label.latex + "}"
        return "\\begin{align*}\n" + " \\\\\n".join(lines) + "\n\\end{align*}"

    def _para(self, para):
        return "".join(self.inline(p) for p in para.parts) + "\n"

    def inline(self, part):
        """Prose, a name in monospace, or a symbol in math mode."""
        if isinstance(part, str):
            return latex_escape(part)
        if isinstance(part, Code):
            return r"\texttt{" + latex_escape(part.text) + "}"
        return f"${part.latex}$"

    def _heading(self, h):
        cmd = {1: "section*", 2: "subsection*", 3: "subsubsection*"}.get(h.level, "paragraph")
        return f"\\{cmd}{{{latex_escape(h.text)}}}"

    def _table(self, table):
        def cell(c):
            if isinstance(c, (Sym, Code)):
                return self.inline(c)
            if isinstance(c, Mat):
                return f"${_latex_number(c.value[0, 0], self.precision)}$"
            return latex_escape(str(c))
        cols = "l" * len(table.header)
        lines = [f"\\begin{{tabular}}{{{cols}}}", "\\hline",
                 " & ".join(cell(c) for c in table.header) + r" \\", "\\hline"]
        lines += [" & ".join(cell(c) for c in r) + r" \\" for r in table.rows]
        lines += ["\\hline", "\\end{tabular}", ""]
        return "\n".join(lines)


class MarkdownRenderer(LatexRenderer):
    """Markdown: headings, prose with ``$…$``, ``$$\\begin{aligned}…$$`` equations."""

    DOTS = LatexRenderer.DOTS

    def __init__(self, precision=6, max_rows=8, max_cols=8):
        super().__init__(precision, max_rows, max_cols, standalone=False)

    def render(self, doc):
        return "\n".join(getattr(self, "_" + type(item).__name__.lower())(item)
                         for item in doc).rstrip() + "\n"

    def _eq(self, eq):
        lines = self.equation_lines(eq)
        label = f"**{eq.label.text}**\n" if eq.label is not None else ""
        if len(lines) == 1:  # no alignment point outside an aligned block (MathJax, KaTeX)
            return f"{label}$${lines[0].replace(' &= ', ' = ', 1)}$$\n"
        return label + "$$\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}$$\n"

    def _para(self, para):
        return "".join(self.inline(p) for p in para.parts) + "\n"

    def inline(self, part):
        if isinstance(part, str):
            return part.replace("*", r"\*").replace("_", r"\_")
        if isinstance(part, Code):
            return f"`{part.text}`"
        return f"${part.latex}$"

    def _heading(self, h):
        return "#" * min(h.level, 6) + " " + h.text + "\n"

    def _table(self, table):
        def cell(c):
            if isinstance(c, (Sym, Code)):
                return self.inline(c)
            if isinstance(c, Mat):
                return format_number(c.value[0, 0], self.precision)
            return str(c).replace("|", r"\|")
        lines = ["| " + " | ".join(cell(c) for c in table.header) + " |",
                 "|" + "---|" * len(table.header)]
        lines += ["| " + " | ".join(cell(c) for c in r) + " |" for r in table.rows]
        return "\n".join(lines) + "\n"


FORMATS = ("text", "markdown", "latex", "json")


def render(trace: Any, fmt: str = "text", notation: str | None = None, **kw: Any) -> str:
    """``trace`` as a string in ``fmt`` (``"text"``, ``"markdown"``, ``"latex"``, ``"json"``).

    Keyword arguments go to the renderer (e.g. ``standalone=True`` for LaTeX,
    ``sample=0``).
    """
    if fmt == "text":
        return trace.to_text(notation, **kw)
    if fmt == "markdown":
        return trace.to_markdown(notation, **kw)
    if fmt == "latex":
        return trace.to_latex(notation, **kw)
    if fmt == "json":
        return trace.to_json(notation) + "\n"
    raise ValueError(f"unknown format {fmt!r}; valid formats are: {', '.join(FORMATS)}")
