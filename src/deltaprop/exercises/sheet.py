"""The sheet and the key of an exercise, as documents of :mod:`deltaprop.explain.document`
rendered by its Markdown and LaTeX renderers (so they look like every trace).

The sheet gives the network, its numbers, the conventions in force and the list of what
to compute, each with its symbol in the chosen notation and its name in ``answers.json``;
the key gives every answer and then the trace of every number.
"""

from __future__ import annotations

import copy

from ..explain.document import EQ, Code, Eq, Heading, Mat, Para, S, Sym, Table, apply
from ..explain.notations import get_notation
from ..explain.renderers import LatexRenderer, MarkdownRenderer

__all__ = ["render_sheet", "render_class_key", "symbol", "DESCRIPTIONS"]

#: What each kind of quantity is, in words.
DESCRIPTIONS = {
    "pre": "pre-activation", "act": "activation", "loss": "loss of the sample",
    "J": "objective", "grad_y": "gradient of the loss", "err": "error vector",
    "grad_b": "bias gradient", "grad_W": "weight gradient", "grad_out": "gradient passed down",
}


def symbol(nota, q, n_samples):
    """The symbol of quantity ``q`` in notation ``nota`` (per sample: the sample's loss)."""
    of = nota.loss if (q.n is not None and n_samples > 1) else nota.J
    k = q.k
    if q.kind == "pre":
        return nota.pre(k)
    if q.kind == "act":
        return nota.act(k)
    if q.kind == "loss":
        return _ell(nota)
    if q.kind == "J":
        return nota.J
    if q.kind == "err":  # Goodfellow et al.'s g has no layer index: ∇_α⁽ᵏ⁾ J names it
        return nota.d(nota.pre(k), of) if nota.key == "goodfellow" else nota.err(k)
    if q.kind == "grad_y":
        return nota.d(nota.y, of)
    wrt = {"grad_b": nota.b, "grad_W": nota.W, "grad_out": nota.act}[q.kind](k)
    return nota.d(wrt, of)


def _ell(nota):
    """``ℓ(t, y)`` in the notation's symbols."""
    return Sym(f"{nota.loss.text}({nota.t.text}, {nota.y.text})",
               f"{nota.loss.latex}({nota.t.latex}, {nota.y.latex})")


def _header(ex, nota, key):
    trace = ex.trace
    spec = ex.spec
    N = len(spec.X)
    arch = " → ".join([str(spec.sizes[0])] + [f"{n} ({a})" for n, a in
                                               zip(spec.sizes[1:], spec.activations)])
    ell = _ell(nota)
    doc = [Heading(ex.title + (": key" if key else ""), 1),
           Para([f"The network {arch}; " + ("one sample" if N == 1 else
                                              f"a batch of N = {N} samples")
                 + f"; the loss {spec.loss}:"]),
           Eq([ell, EQ, nota.loss_formula(trace.loss_function)]),
           Para([f"Notation: {nota.title}, after {nota.source}."]),
           Para(["Conventions: "] + nota.convention()),
           Para(_factor_words(trace, nota, N)),
           Heading("The network and its numbers", 2)]
    for layer in trace.layers:
        k = layer.index
        doc.append(Eq([nota.W(k), EQ, Mat(nota.Wmat(layer.W))]))
        doc.append(Eq([nota.b(k), EQ, Mat(layer.b)]))
    for layer in trace.layers:
        k = layer.index
        rhs, _ = nota.forward_rhs(k)
        named = apply(Sym(*layer.activation_function.symbol()), nota.pre(k))
        doc.append(Eq([nota.pre(k), EQ, *rhs]))
        doc.append(Eq([nota.act(k), EQ, named]))
    K = len(trace.layers)
    doc.append(Eq([nota.y, EQ, nota.act(K)]))
    for n in range(N):
        if N > 1:
            doc.append(Para([f"Sample {n + 1}:"]))
        doc.append(Eq([nota.inp(1), EQ, S("x"), EQ, Mat(trace.X[n])]))
        doc.append(Eq([nota.t, EQ, Mat(trace.T[n])]))
    return doc


def _factor_words(trace, nota, N):
    n_out = trace.layers[-1].n_out
    words = {"half_squared_error": "The loss carries the factor ½ (as in the Gradient "
                                   "computation notes). ",
             "squared_error": "The loss has no ½ (Hagan et al.'s squared error). ",
             "mse": f"The loss is the mean over the {n_out} output{'s' * (n_out > 1)} "
                    "(the 1/n of Rousseau's notes). ",
             "cross_entropy": "The softmax output and the cross-entropy are fused: steps ① "
                              "and ② are one step. ",
             "binary_cross_entropy": "The sigmoid output and the binary cross-entropy are "
                                     "fused: steps ① and ② are one step. "}
    out = [words.get(trace.loss, "")]
    if N > 1:
        J, ell = nota.J, Sym(nota.loss.text + "ₙ", nota.loss.latex + "_n")
        out += ["The objective is the batch mean ", J, " = ",
                Sym(f"(1/N) Σₙ {ell.text}", r"\frac{1}{N}\sum_{n=1}^{N} " + ell.latex),
                ", and its gradients are the means of the samples' gradients; each sample's "
                "steps differentiate its own loss."]
    return out


def _todo(ex, nota):
    N = len(ex.spec.X)
    header = ["step", "layer", "quantity", "symbol", "answers.json", "shape"]
    tables, rows, current = [], [], ex.quantities[0].n
    for q in ex.quantities + [None]:
        if q is None or q.n != current:  # one table a sample (a page holds it), then the batch
            title = ("The batch" if current is None else f"Sample {current + 1}")
            tables += ([Heading(title, 3)] if N > 1 else []) + [Table(header, rows)]
            if q is None:
                break
            rows, current = [], q.n
        layer = "" if q.layer is None else str(q.layer)
        shape = " × ".join(map(str, q.sheet_shape)) or "number"
        rows.append([q.step, layer, DESCRIPTIONS[q.kind], symbol(nota, q, N), Code(q.key),
                     shape])
    return [Heading("What to compute", 2),
            Para(["Work the forward step, the loss, then the backward steps ① to ⑤ layer by "
                  "layer from the output down (① the loss's derivative, ② the error vector, "
                  "③ the bias gradient, ④ the weight gradient, ⑤ the gradient passed to the "
                  "layer below)" + (", for each sample; then the batch's objective and "
                                    "gradients." if N > 1 else ".")]),
            *tables,
            Para(["Tolerance: " + ex.tolerance.describe() + "."]),
            Para(["Write your answers in ", Code("answers.json"), " under the names above: a "
                  "number, a list for a vector, a list of rows for a matrix, in the layout of "
                  "this sheet (a weight gradient has the shape of the weight matrix shown "
                  "here). Mark them with ", Code("deltaprop exercise check DIR answers.json"),
                  "; later steps are marked against your own earlier numbers."])]


def _answers(ex, nota):
    N = len(ex.spec.X)
    doc = [Heading("Answers", 2), Para(["Tolerance: " + ex.tolerance.describe() + "."])]
    current = object()
    for q in ex.quantities:
        if N > 1 and q.n != current:
            current = q.n
            doc.append(Heading("The batch" if q.n is None else f"Sample {q.n + 1}", 3))
        doc.append(Eq([symbol(nota, q, N), EQ, Mat(q.sheet_value())],
                      label=Sym(q.key, r"\texttt{" + q.key.replace("_", r"\_") + "}")))
    return doc


def _demoted(doc, by=1):
    out = []
    for item in doc:
        if isinstance(item, Heading):
            item = copy.copy(item)
            item.level += by
        out.append(item)
    return out


def document(ex, key=False):
    """The sheet (or the key) of ``ex`` as a list of document items."""
    nota = get_notation(ex.notation)
    doc = _header(ex, nota, key)
    if not key:
        return doc + _todo(ex, nota)
    trace_doc = ex.trace.document(ex.notation, max_samples=len(ex.spec.X))
    return (doc + _answers(ex, nota) + [Heading("Every number, step by step", 2)]
            + _demoted(trace_doc[1:], by=1))


def _render(doc, fmt, precision):
    if fmt == "markdown":
        return MarkdownRenderer(precision).render(doc)
    if fmt == "latex":
        return LatexRenderer(precision, standalone=True).render(doc)
    raise ValueError(f"unknown format {fmt!r}; a sheet is \"markdown\" or \"latex\"")


def render_sheet(ex, fmt="markdown", key=False):
    """The sheet or the key of ``ex`` in ``fmt`` (``"markdown"`` or ``"latex"``)."""
    return _render(document(ex, key), fmt, ex.trace.precision)


def render_class_key(exercises, fmt="markdown"):
    """Every student's answers in one document."""
    doc = [Heading(f"Class key: {len(exercises)} exercises", 1)]
    for ex in exercises:
        nota = get_notation(ex.notation)
        doc.append(Heading(ex.title, 2))
        doc += _demoted(_answers(ex, nota)[1:], by=1)
    precision = max(ex.trace.precision for ex in exercises)
    return _render(doc, fmt, precision)
