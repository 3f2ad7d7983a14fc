"""A trace as HTML for the playground page: the explain document, rendered on the server.

The items are those of :mod:`deltaprop.explain.document` (the same document the text,
Markdown and LaTeX renderers print): prose and symbols in their Unicode form, matrices as
small HTML tables between brackets. No formula engine runs in the browser, so the page
works offline and nothing needs vendoring.

Every matrix that holds one of the network's quantities is tagged with what it is, so the
page can link a number to the drawing of the network: a cell of a weight matrix carries
``data-w="k:i:j"`` (layer ``k``'s weight from unit ``i`` below to unit ``j``), a cell of a
vector of units carries ``data-u="k:j"`` (unit ``j`` of layer ``k``; 0 is the input
layer). What a matrix is, is found from its numbers: they are compared, exactly, with the
trace's own arrays for that layer (the weights, their gradient, the layer's input and its
pre-activation, activation, f', error and gradient vectors).
"""

from __future__ import annotations

import html

import numpy as np

from ..explain.document import EQ, Eq, Heading, Mat, Para, Sym, Table
from ..explain.renderers import format_number

__all__ = ["trace_html"]


def _esc(s):
    return html.escape(str(s), quote=True)


class _Tagger:
    """What a matrix of the document is, found by comparing numbers with the trace."""

    def __init__(self, trace):
        self.units, self.weights = [], []
        for layer in trace.layers:
            k = layer.index
            for name in ("z", "a", "error", "g", "fprime"):
                v = getattr(layer, name)
                if v is not None:
                    self.units.append((np.asarray(v[0], float), k))
            for v in (layer.b, layer.grad_b):
                self.units.append((np.asarray(v, float).ravel(), k))
            self.units.append((np.asarray(layer.x[0], float), k - 1))
            for v in (layer.W, layer.grad_W):
                self.weights.append((np.asarray(v, float), k))

    def tag(self, value):
        """``("u", k)``, ``("w", k, transposed)`` or None for a matrix ``value``."""
        if value.ndim == 2 and min(value.shape) == 1:
            flat = value.ravel()
            for v, k in self.units:
                if v.shape == flat.shape and np.array_equal(v, flat, equal_nan=True):
                    return ("u", k)
        for W, k in self.weights:
            if W.shape == value.shape and np.array_equal(W, value, equal_nan=True):
                return ("w", k, False)
            if W.T.shape == value.shape and np.array_equal(W.T, value, equal_nan=True):
                return ("w", k, True)
        return None


class HtmlRenderer:
    """The document items as HTML, numbers to ``precision`` significant digits."""

    def __init__(self, trace, precision=4, max_rows=8, max_cols=8):
        self.tagger = _Tagger(trace)
        self.precision, self.max_rows, self.max_cols = precision, max_rows, max_cols

    def render(self, doc):
        return "\n".join(getattr(self, "_" + type(item).__name__.lower())(item)
                         for item in doc)

    def mat(self, m):
        v = m.value
        if v.size == 1 and not m.tmark:
            return (f'<span class="num" data-v="{float(v[0, 0])!r}">'
                    f'{_esc(format_number(v[0, 0], self.precision))}</span>')
        tag = self.tagger.tag(v)
        rows = []
        for i in range(min(v.shape[0], self.max_rows)):
            cells = []
            for j in range(min(v.shape[1], self.max_cols)):
                attr = ""
                if tag is not None and tag[0] == "u":
                    attr = f' data-u="{tag[1]}:{i if v.shape[1] == 1 else j}"'
                elif tag is not None:
                    r, c = (j, i) if tag[2] else (i, j)  # (input, unit) in deltaprop's layout
                    attr = f' data-w="{tag[1]}:{r}:{c}"'
                cells.append(f'<td{attr} data-v="{float(v[i, j])!r}">'
                             f'{_esc(format_number(v[i, j], self.precision))}</td>')
            if v.shape[1] > self.max_cols:
                cells.append("<td>⋯</td>")
            rows.append("<tr>" + "".join(cells) + "</tr>")
        if v.shape[0] > self.max_rows:
            rows.append("<tr><td>⋮</td></tr>")
        t = '<sup>T</sup>' if m.tmark else ""
        return f'<table class="mat">{"".join(rows)}</table>{t}'

    def part(self, p):
        if isinstance(p, Mat):
            return self.mat(p)
        if p is EQ:
            return '<span class="op"> = </span>'
        return f'<span class="sym">{_esc(p.text)}</span>'

    def _eq(self, eq: Eq):
        label = (f'<span class="label">{_esc(eq.label.text)}</span>'
                 if eq.label is not None else "")
        body = "".join(self.part(p) for p in eq.parts)
        return f'<div class="eq">{label}{body}</div>'

    def _para(self, para: Para):
        return "<p>" + "".join(_esc(p) if isinstance(p, str) else
                               f'<span class="sym">{_esc(p.text)}</span>'
                               for p in para.parts) + "</p>"

    def _heading(self, h: Heading):
        level = min(h.level + 2, 6)
        return f"<h{level}>{_esc(h.text)}</h{level}>"

    def _table(self, table: Table):
        def cell(c):
            if isinstance(c, Sym):
                return _esc(c.text)
            if isinstance(c, Mat):
                return _esc(format_number(c.value[0, 0], self.precision))
            return _esc(c)
        head = "".join(f"<th>{cell(c)}</th>" for c in table.header)
        body = "".join("<tr>" + "".join(f"<td>{cell(c)}</td>" for c in r) + "</tr>"
                       for r in table.rows)
        return f'<table class="shapes"><tr>{head}</tr>{body}</table>'


def trace_html(trace, notation=None, precision=4):
    """The trace of one sample as an HTML fragment, in ``notation``."""
    doc = trace.document(notation)
    return HtmlRenderer(trace, precision=precision).render(doc)
