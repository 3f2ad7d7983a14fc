r"""Backpropagation, explained with the engine's own numbers.

:func:`explain` runs one forward and one backward sweep of a network on a batch and
returns a :class:`Trace`: for every layer the input, the pre-activation, the
activation, the error vector, :math:`\partial J/\partial W` and
:math:`\partial J/\partial b`, taken from the layers after
:meth:`~deltaprop.Sequential.gradients` (nothing of the algorithm is computed a second
time). The trace renders in the notation of one of the lecture notes:

============  =========  =================================  ==========================
notation      seed       forward, column vectors            weight matrix shown
============  =========  =================================  ==========================
goodfellow    000        :math:`\alpha = b + W h`           ``layer.W.T`` (out x in)
nielsen       003        :math:`z = w a + b`                ``layer.W.T`` (out x in)
hagan         004        :math:`n = W^\top \hat a + b`      ``layer.W`` (in x out)
rousseau      001        :math:`x^{(k)} = \sigma(W^\top x^{(k-1)} + b)`  ``layer.W``
============  =========  =================================  ==========================

as plain text (``str(trace)``), Markdown, LaTeX (:meth:`Trace.to_latex`, optionally a
complete document) or a dict/JSON for programs.

The module is laid out in the order data -> words -> pages:

1. the numbers: :class:`LayerTrace`, :class:`Trace`, :func:`explain`;
2. a small document model (:class:`Sym`, :class:`Mat`, :class:`Eq`, ...);
3. the notations, each turning a trace into a document in its own symbols;
4. three renderers (text, Markdown, LaTeX) that know nothing of backpropagation;
5. the worked examples of the lecture notes (:func:`example`).

Gradient descent on seed 001's function is in :mod:`deltaprop.descent`; the command
``deltaprop explain`` is in :mod:`deltaprop.cli`.
"""

from __future__ import annotations

import copy
import json
import math
import textwrap
from dataclasses import dataclass

import numpy as np

__all__ = [
    "NOTATIONS",
    "EXAMPLES",
    "LayerTrace",
    "Trace",
    "explain",
    "example",
    "explain_example",
    "render",
    "FORMATS",
]


# =========================================================================================
# 1. The numbers
# =========================================================================================


@dataclass
class LayerTrace:
    r"""One layer's numbers after a forward and a backward sweep (rows are samples).

    The arrays named as in :class:`deltaprop.network.Dense` are copies of the engine's
    own; the three "presentation" arrays are derived from them for display.

    Attributes
    ----------
    index : int
        ``k``, counting the Dense layers from 1.
    activation : str
        Name of ``f``.
    W, b : ndarray
        The parameters in deltaprop's layout: ``W`` is ``(n_in, n_out)``.
    x, z, a : ndarray
        ``layer.x`` (the input rows), ``layer.z`` and ``layer.a``, each ``(N, .)``.
    delta : ndarray
        ``layer.delta``: the rows of :math:`\partial J/\partial z` for the batch
        objective ``J`` (with ``reduction="mean"`` they include the ``1/N``).
    grad_W, grad_b : ndarray
        ``layer.grad_W`` and ``layer.grad_b``: :math:`\partial J/\partial W` (with the
        L2 term) and :math:`\partial J/\partial b`.
    error : ndarray
        Presentation: the per-sample error vectors
        :math:`\delta_n = \partial \ell_n / \partial z_n`, i.e. ``delta`` divided by each
        sample's share of ``J`` (``1/N`` for the mean, ``w_n/Σw`` with weights).
    fprime : ndarray or None
        Presentation: ``f'(z)`` from the activation's own ``derivative`` (None for
        softmax, whose Jacobian is not diagonal).
    g : ndarray
        Presentation: per-sample :math:`\partial\ell_n/\partial a` before step ②; for
        the output layer the loss's ``gradient``, for a hidden layer
        ``error_above @ W_above.T`` (step ⑤ of the layer above).
    """

    index: int
    activation: str
    W: np.ndarray
    b: np.ndarray
    x: np.ndarray
    z: np.ndarray
    a: np.ndarray
    delta: np.ndarray
    grad_W: np.ndarray
    grad_b: np.ndarray
    error: np.ndarray
    fprime: np.ndarray | None
    g: np.ndarray

    @property
    def n_in(self):
        return self.W.shape[0]

    @property
    def n_out(self):
        return self.W.shape[1]


class Trace:
    """One forward and one backward sweep of a network, ready to be rendered.

    Build it with :func:`explain`. ``str(trace)`` is the plain-text rendering.

    Attributes
    ----------
    layers : list of LayerTrace
    X, T : ndarray
        The inputs and the targets as the network saw them (validated, ``(N, .)``).
    y : ndarray
        The outputs ``(N, n_outputs)``.
    J : float
        The objective returned by the engine.
    losses : ndarray
        The per-sample losses ``ℓ_n`` (the engine's, fused where the engine fuses).
    share : ndarray
        Each sample's weight in ``J``: ``1/N`` (mean), 1 (sum), ``w_n/Σw`` or ``w_n``.
    loss, reduction, l2, fused, dtype
        The network's settings; ``fused`` is True when the loss and the output
        activation are fused (softmax + cross-entropy, sigmoid + binary cross-entropy).
    notation : str
        The default notation of the renderers.
    precision : int
        Significant digits of the rendered numbers.
    """

    def __init__(self, *, layers, X, T, J, losses, share, loss, reduction, l2, fused,
                 dtype, sample_weight, notation, precision):
        self.layers = layers
        self.X, self.T = X, T
        self.J = J
        self.losses = losses
        self.share = share
        self.loss, self.reduction, self.l2, self.fused = loss, reduction, l2, fused
        self.dtype = dtype
        self.sample_weight = sample_weight
        self.notation = get_notation(notation).key
        self.precision = int(precision)

    # -- convenience ---------------------------------------------------------------------
    @property
    def y(self):
        return self.layers[-1].a

    @property
    def n_samples(self):
        return len(self.X)

    @property
    def sizes(self):
        return [self.layers[0].n_in] + [layer.n_out for layer in self.layers]

    def gradients(self):
        """``[(grad_W, grad_b), ...]``, in the layout of ``net.gradients``."""
        return [(layer.grad_W, layer.grad_b) for layer in self.layers]

    def __repr__(self):
        arch = " → ".join(str(s) for s in self.sizes)
        return (f"Trace({arch}, loss={self.loss!r}, N={self.n_samples}, J={self.J:.6g}, "
                f"notation={self.notation!r})")

    # -- renderings ----------------------------------------------------------------------
    def document(self, notation=None, sample=None, max_samples=3):
        """The trace as a list of document items (see :class:`Eq`), in ``notation``."""
        return build_document(self, get_notation(notation or self.notation),
                              sample=sample, max_samples=max_samples)

    def to_text(self, notation=None, sample=None, precision=None, max_samples=3, width=100,
                max_rows=8, max_cols=8):
        """Plain text for a terminal.

        Parameters
        ----------
        notation : str, optional
            ``"goodfellow"``, ``"nielsen"``, ``"hagan"`` or ``"rousseau"`` (default: the
            trace's own).
        sample : int, optional
            Show this sample (0-based) step by step; by default the first
            ``max_samples`` samples are shown. With ``N > 1`` the batch section with the
            averaged (or summed) gradients follows.
        precision : int, optional
            Significant digits (default: the trace's ``precision``).
        max_samples : int
            How many samples to show step by step when ``sample`` is None.
        width : int
            Equations longer than this are broken after an ``=``.
        max_rows, max_cols : int
            Larger matrices are shown with ``⋯`` and ``⋮``.
        """
        doc = self.document(notation, sample, max_samples)
        return TextRenderer(precision or self.precision, width, max_rows, max_cols).render(doc)

    def __str__(self):
        return self.to_text()

    def to_markdown(self, notation=None, sample=None, precision=None, max_samples=3,
                    max_rows=8, max_cols=8):
        """Markdown with ``$…$`` / ``$$…$$`` math (GitHub, Jupyter, MkDocs with MathJax)."""
        doc = self.document(notation, sample, max_samples)
        return MarkdownRenderer(precision or self.precision, max_rows, max_cols).render(doc)

    def to_latex(self, notation=None, sample=None, precision=None, max_samples=3,
                 standalone=False, max_rows=6, max_cols=6):
        r"""LaTeX for a handout (needs ``amsmath``; pure ASCII).

        Parameters
        ----------
        standalone : bool
            A complete document (``\documentclass{article}`` … ``\end{document}``) that
            ``pdflatex`` compiles as it is; otherwise a fragment to ``\input``.
        notation, sample, precision, max_samples, max_rows, max_cols
            As for :meth:`to_text`.
        """
        doc = self.document(notation, sample, max_samples)
        return LatexRenderer(precision or self.precision, max_rows, max_cols,
                             standalone).render(doc)

    def to_dict(self, notation=None):
        """Every number, in deltaprop's layout, plus the notation's symbol names.

        Arrays become nested lists; per-layer entries hold ``input``, ``z``, ``a``,
        ``delta`` (engine rows), ``error`` (per-sample δ), ``fprime``, ``grad_W`` and
        ``grad_b`` with their shapes, and ``symbols`` maps each quantity to its LaTeX
        symbol in the chosen notation.
        """
        nota = get_notation(notation or self.notation)
        layers = []
        for layer in self.layers:
            k = layer.index
            entry = {
                "k": k,
                "activation": layer.activation,
                "symbols": {
                    "input": nota.inp(k).latex, "W": nota.W(k).latex, "b": nota.b(k).latex,
                    "pre_activation": nota.pre(k).latex, "activation": nota.act(k).latex,
                    "error": nota.err(k).latex,
                },
                "W_layout": "W^T of deltaprop (n_out x n_in)" if nota.transposed
                            else "as deltaprop (n_in x n_out)",
            }
            for name in ("W", "b", "x", "z", "a", "delta", "error", "fprime", "g", "grad_W",
                         "grad_b"):
                value = getattr(layer, name)
                key = "input" if name == "x" else name
                entry[key] = None if value is None else np.asarray(value, float).tolist()
                entry[key + "_shape"] = None if value is None else list(np.shape(value))
            layers.append(entry)
        return {
            "notation": nota.key,
            "source": nota.source,
            "sizes": self.sizes,
            "loss": self.loss,
            "reduction": self.reduction,
            "l2": self.l2,
            "fused": self.fused,
            "dtype": self.dtype,
            "n_samples": self.n_samples,
            "X": self.X.tolist(),
            "T": self.T.tolist(),
            "y": self.y.tolist(),
            "J": self.J,
            "losses": self.losses.tolist(),
            "share": self.share.tolist(),
            "layers": layers,
        }

    def to_json(self, notation=None, indent=1):
        """:meth:`to_dict` as a JSON string."""
        return json.dumps(self.to_dict(notation), indent=indent)


def explain(net, X, T, notation="goodfellow", sample_weight=None, precision=6):
    """Trace one forward and one backward sweep of ``net`` on ``(X, T)``.

    Calls ``net.gradients(X, T)`` and copies what every layer then holds (``x``, ``z``,
    ``a``, ``delta``, ``grad_W``, ``grad_b``): the trace's numbers are the engine's.
    The weights are not changed.

    Parameters
    ----------
    net : Sequential
    X, T : array_like
        Inputs ``(N, n_inputs)`` (a 1-D array is one sample) and targets, as for
        ``net.gradients``.
    notation : {"goodfellow", "nielsen", "hagan", "rousseau"}
        The default notation of the renderings (each rendering can pick another).
    sample_weight : array_like, optional
        Per-sample weights, as for ``net.gradients``.
    precision : int
        Significant digits of the rendered numbers.

    Returns
    -------
    Trace

    Examples
    --------
    >>> from deltaprop.explain import example, explain
    >>> trace = explain(*example("seed000"))
    >>> trace.J
    1.125
    >>> print(trace.to_text())  # doctest: +SKIP
    """
    get_notation(notation)  # fail early on a bad name
    X = np.asarray(X)
    if X.ndim == 1:
        X = X[None, :]
        T = np.asarray(T)
        T = T[None] if T.ndim >= 1 and net.loss_function.name != "cross_entropy" else T
        if np.ndim(T) == 0:
            T = np.reshape(T, (1,))
    Xv, Tv = net.check_inputs(X, T)
    J, _ = net.gradients(Xv, Tv, sample_weight=sample_weight)
    N = len(Xv)
    if sample_weight is None:
        share = np.full(N, 1.0 / N if net.reduction == "mean" else 1.0)
        w = None
    else:
        w = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
        share = w / w.sum() if net.reduction == "mean" else w.copy()
    out = net.layers[-1]
    loss_fn, act = net.loss_function, out.activation
    fused = loss_fn.fuses_with(act)
    losses = net.loss_function.per_sample(out.z, out.a, Tv, act).astype(np.float64)

    layers = []
    for k, layer in enumerate(net.layers, start=1):
        fprime = None if not layer.activation.elementwise else np.array(
            layer.activation.derivative(layer.z, layer.a))
        layers.append(LayerTrace(
            index=k, activation=layer.activation.name,
            W=layer.W.copy(), b=layer.b.copy(),
            x=np.array(layer.x), z=np.array(layer.z), a=np.array(layer.a),
            delta=np.array(layer.delta), grad_W=layer.grad_W.copy(),
            grad_b=layer.grad_b.copy(),
            error=None, fprime=fprime, g=None))
    # Presentation: per-sample error vectors δ_n = delta_n / share_n. A sample with zero
    # weight contributes nothing to `delta`; its own δ comes from a one-sample sweep.
    zero = np.flatnonzero(share == 0)
    for layer in layers:
        with np.errstate(divide="ignore", invalid="ignore"):
            layer.error = layer.delta / share[:, None].astype(layer.delta.dtype)
        if N == 1 and share[0] == 1.0:
            layer.error = layer.delta.copy()
    if len(zero):
        twin = net.copy()
        for n in zero:
            twin.gradients(Xv[n:n + 1], Tv[n:n + 1])
            for layer, tl in zip(layers, twin.layers):
                scale = 1.0  # one sample: mean and sum agree
                layer.error[n] = tl.delta[0] * scale
    # Presentation: g = dℓ/da before step ② (step ① at the output, step ⑤ above).
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        layers[-1].g = np.asarray(loss_fn.gradient(out.a, Tv), dtype=out.a.dtype)
    for lower, upper in zip(layers[-2::-1], layers[::-1]):
        lower.g = upper.error @ upper.W.T
    return Trace(layers=layers, X=np.array(Xv), T=np.array(Tv), J=float(J), losses=losses,
                 share=share, loss=loss_fn.name, reduction=net.reduction, l2=net.l2,
                 fused=fused, dtype=str(net.dtype), sample_weight=w, notation=notation,
                 precision=precision)


# =========================================================================================
# 2. The document model
# =========================================================================================


@dataclass(frozen=True)
class Sym:
    """A symbol or an operator: its plain-text (Unicode) and its LaTeX form."""

    text: str
    latex: str

    def __add__(self, other):
        other = other if isinstance(other, Sym) else Sym(other, other)
        return Sym(self.text + other.text, self.latex + other.latex)


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


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Table:
    """Header and rows of cells (str, :class:`Sym` or numbers)."""

    header: list
    rows: list


def _sup(s):
    """Unicode superscript of ``s`` (digits, signs, brackets, a few letters)."""
    table = str.maketrans("0123456789+-−()=nkliTLKNj", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁽⁾⁼ⁿᵏˡⁱᵀᴸᴷᴺʲ")
    return str(s).translate(table)


def _sub(s):
    """Unicode subscript of ``s``."""
    table = str.maketrans("0123456789+-−()=knlijx", "₀₁₂₃₄₅₆₇₈₉₊₋₋₍₎₌ₖₙₗᵢⱼₓ")
    return str(s).translate(table)


def S(text, latex=None):
    """A :class:`Sym`; ``latex`` defaults to ``text`` (ASCII symbols)."""
    return Sym(text, text if latex is None else latex)


def _T(sym):
    """``sym`` transposed (in brackets when it is more than one symbol)."""
    if "/" in sym.text or " " in sym.text:
        return Sym("(" + sym.text + ")ᵀ", r"\left(" + sym.latex + r"\right)^{\top}")
    return Sym(sym.text + "ᵀ", "{" + sym.latex + "}^{\\top}")


def _paren(sym):
    return Sym("(" + sym.text + ")", "\\left(" + sym.latex + "\\right)")


EQ, PLUS, MINUS, ODOT, TIMES, ARROW = (S(" = ", "="), S(" + ", "+"), S(" − ", "-"),
                                       S(" ⊙ ", "\\odot"), S(" ", "\\,"),
                                       S(" ← ", "\\leftarrow"))
CIRCLED = {i: Sym(c, f"\\textcircled{{\\scriptsize {i}}}") for i, c in
           zip(range(1, 6), "①②③④⑤")}


# =========================================================================================
# 3. The notations: a trace in each lecture's symbols
# =========================================================================================

# Per-sample loss and its gradient with respect to the output, as templates in the
# output symbol {y} and the target symbol {t}: (text, latex) pairs.
_LOSS_FORMULAS = {
    "half_squared_error": (("½‖{t} − {y}‖²", r"\tfrac12\lVert {t} - {y}\rVert^2"),
                           ("{y} − {t}", r"{y} - {t}")),
    "squared_error": (("‖{t} − {y}‖²", r"\lVert {t} - {y}\rVert^2"),
                      ("−2({t} − {y})", r"-2\left({t} - {y}\right)")),
    "mse": (("(1/n)‖{y} − {t}‖²", r"\tfrac{{1}}{{n}}\lVert {y} - {t}\rVert^2"),
            ("(2/n)({y} − {t})", r"\tfrac{{2}}{{n}}\left({y} - {t}\right)")),
    "cross_entropy": (("−Σⱼ {t}ⱼ log {y}ⱼ", r"-\sum_j {t}_j \log {y}_j"),
                      ("−{t} ⊘ {y}", r"-{t} \oslash {y}")),
    "binary_cross_entropy": (
        ("−Σⱼ [{t}ⱼ log {y}ⱼ + (1 − {t}ⱼ) log(1 − {y}ⱼ)]",
         r"-\sum_j \left[{t}_j \log {y}_j + (1 - {t}_j)\log(1 - {y}_j)\right]"),
        ("({y} − {t}) ⊘ ({y} ⊙ (1 − {y}))",
         r"\left({y} - {t}\right) \oslash \left({y} \odot (1 - {y})\right)")),
}

# f'(s) in terms of the pre-activation s and the activation a = f(s).
_DERIVATIVES = {
    "identity": ("1", "1"),
    "relu": ("step({s})", r"\operatorname{{step}}\left({s}\right)"),
    "sigmoid": ("{a} ⊙ (1 − {a})", r"{a} \odot \left(1 - {a}\right)"),
    "tanh": ("(1 − {a} ⊙ {a})", r"\left(1 - {a} \odot {a}\right)"),
    "leaky_relu": ("(1 if {s} > 0 else 0.01)",
                   r"\left([{s} > 0] + 0.01\,[{s} \le 0]\right)"),
    "softplus": ("σ({s})", r"\sigma\left({s}\right)"),
}


def _fill(template_pair, **syms):
    """Fill a (text, latex) template with symbols."""
    text, latex = template_pair
    return Sym(text.format(**{k: v.text for k, v in syms.items()}),
               latex.format(**{k: v.latex for k, v in syms.items()}))


_ACTIVATION_LATEX = {"identity": r"\operatorname{id}", "relu": r"\operatorname{ReLU}",
                     "sigmoid": r"\sigma", "tanh": r"\tanh", "softmax": r"\operatorname{softmax}"}


def _act_name(name):
    return Sym(name if name != "sigmoid" else "σ",
               _ACTIVATION_LATEX.get(name, r"\operatorname{" + name.replace("_", r"\_") + "}"))


class Notation:
    """The symbols and the step-by-step equations of one lecture note.

    Subclasses give the symbols (``inp``, ``pre``, ``act``, ``W``, ``b``, ``err``, …, each a
    :class:`Sym` for layer ``k`` counted from 1) and the backward steps. ``transposed``
    tells whether the lecture's weight matrix is deltaprop's ``W.T`` (one row per unit).
    """

    key = ""
    title = ""
    source = ""
    transposed = False

    # -- symbols (override) --------------------------------------------------------------
    def inp(self, k): raise NotImplementedError
    def pre(self, k): raise NotImplementedError
    def act(self, k): raise NotImplementedError
    def W(self, k): raise NotImplementedError
    def b(self, k): raise NotImplementedError
    def err(self, k): raise NotImplementedError
    def f(self, k): raise NotImplementedError
    y = S("y")
    t = S("t")
    loss = S("L")          # per-sample loss
    J = S("J")             # batch objective

    def d(self, wrt, of=None):
        """The derivative of the loss (per sample) with respect to ``wrt``."""
        of = of or self.loss
        return Sym(f"∂{of.text}/∂{wrt.text}",
                   r"\frac{\partial " + of.latex + r"}{\partial " + wrt.latex + "}")

    def fprime(self, k):
        f = self.f(k)
        return Sym(f.text + "'", f.latex + "'")

    # -- shared pieces ---------------------------------------------------------------------
    def Wmat(self, W):
        """deltaprop's W in this lecture's layout."""
        return W.T if self.transposed else W

    def forward_rhs(self, k):
        """The symbolic right-hand side of the pre-activation and its numbers."""
        raise NotImplementedError

    def convention(self):
        """Prose stating the matrix convention."""
        raise NotImplementedError

    def loss_gradient_formula(self, loss_name):
        pair = _LOSS_FORMULAS.get(loss_name)
        return None if pair is None else _fill(pair[1], y=self.y, t=self.t)

    def loss_formula(self, loss_name):
        pair = _LOSS_FORMULAS.get(loss_name)
        return None if pair is None else _fill(pair[0], y=self.y, t=self.t)

    def derivative_formula(self, k, activation):
        pair = _DERIVATIVES.get(activation)
        if pair is None:
            return None
        return _fill(pair, s=self.pre(k), a=self.act(k))

    # -- backward steps (override) ---------------------------------------------------------
    def output_steps(self, c, K):
        raise NotImplementedError

    def hidden_error_steps(self, c, k):
        raise NotImplementedError

    def gradient_steps(self, c, k):
        raise NotImplementedError

    def to_below_steps(self, c, k):
        return []

    # -- helpers for the steps -------------------------------------------------------------
    def _local_product(self, c, k, lhs, g_sym, label=None):
        """``lhs = g ⊙ f'(s) = [g] ⊙ [f'] = [δ]`` (or the softmax Jacobian product)."""
        layer = c.layer(k)
        if layer.fprime is None:  # softmax: Jacobian-vector product
            a = self.act(k)
            jac = Sym(f"(diag({a.text}) − {a.text} {a.text}ᵀ)",
                      r"\left(\operatorname{diag}(" + a.latex + ") - " + a.latex + " {"
                      + a.latex + r"}^{\top}\right)")
            J = np.diag(c.a(k)) - np.outer(c.a(k), c.a(k))
            return [Eq([lhs, EQ, jac, TIMES, g_sym, EQ, Mat(J), TIMES, Mat(c.g(k)), EQ,
                        Mat(c.err(k))], label)]
        fp_sym = Sym(self.fprime(k).text + f"({self.pre(k).text})",
                     self.fprime(k).latex + r"\left(" + self.pre(k).latex + r"\right)")
        parts = [lhs, EQ, g_sym, ODOT, fp_sym]
        formula = self.derivative_formula(k, layer.activation)
        if formula is not None:
            parts += [EQ, g_sym, ODOT, formula]
        if layer.activation == "identity":
            return [Eq(parts + [EQ, g_sym, EQ, Mat(c.err(k))], label)]
        return [Eq(parts + [EQ, Mat(c.g(k)), ODOT, Mat(c.fp(k)), EQ, Mat(c.err(k))], label)]

    def _fused_steps(self, c, K, lhs, label=None):
        """Fused output: ``δ = y − t``, and beside it the unfused chain-rule product."""
        y, t = self.y, self.t
        items = [Eq([lhs, EQ, y, MINUS, t, EQ, Mat(c.y()), MINUS, Mat(c.t()), EQ,
                     Mat(c.err(K))], label)]
        dy = self.d(y)
        g_formula = self.loss_gradient_formula(c.trace.loss)
        softmax = c.layer(K).activation == "softmax"
        z = self.pre(K)
        jac_sym = (_fill(("(diag({y}) − {y} {y}ᵀ)",
                          r"\left(\operatorname{{diag}}({y}) - {y}\,{{{y}}}^{{\top}}\right)"), y=y)
                   if softmax else
                   _fill(("σ'({z}) = {y} ⊙ (1 − {y})", r"\sigma'({z}) = {y} \odot (1 - {y})"),
                         y=y, z=z))
        items.append(Para([
            "The loss and the output activation are fused: the engine computes ", lhs,
            " directly as ", y, MINUS, t, ". The chain rule gives the same vector: ",
            dy, " = ", g_formula, ", times the Jacobian of the output activation, ",
            jac_sym, ": the ", _fill(("1/{y}", "1/{y}"), y=y),
            " of the loss cancels the derivative of the activation, so no ",
            S("f'", "f'"), " factor is left (this is why σ' disappears from the output "
            "error vector)."]))
        g = c.g(K)
        if softmax:
            jac = np.diag(c.y()) - np.outer(c.y(), c.y())
            prod = jac @ g
            items.append(Eq([S("unfused: ", r"\text{unfused: }") + jac_sym, TIMES, dy, EQ,
                             Mat(jac), TIMES, Mat(g), EQ, Mat(prod)]))
        else:
            sp = c.y() * (1.0 - c.y())
            prod = sp * g
            items.append(Eq([_fill(("unfused: σ'({z}) ⊙ ", r"\text{{unfused: }} \sigma'({z}) \odot "),
                                   z=z) + dy, EQ, Mat(sp), ODOT, Mat(g), EQ, Mat(prod)]))
        diff = float(np.max(np.abs(prod - c.err(K)))) if np.all(np.isfinite(prod)) else float("inf")
        items.append(Para(["Fused and unfused agree to ", S(f"{diff:.1e}"),
                           " (rounding); the fused form never divides by a probability "
                           "close to 0."]))
        return items


class Goodfellow(Notation):
    """Seed 000: ``α⁽ᵏ⁾ = b⁽ᵏ⁾ + W⁽ᵏ⁾ h⁽ᵏ⁻¹⁾``, ``h⁽ᵏ⁾ = f(α⁽ᵏ⁾)``, backward steps ① to ⑤."""

    key = "goodfellow"
    title = "Goodfellow et al. (seed 000)"
    source = "seed 000: Goodfellow, Bengio & Courville, Deep Learning, ch. 6.5 (algorithm 6.4)"
    transposed = True

    def _kk(self, base, latex, k):
        return Sym(base + _sup(f"({k})"), f"{latex}^{{({k})}}")

    def inp(self, k): return self._kk("h", "h", k - 1)
    def pre(self, k): return self._kk("α", r"\alpha", k)
    def act(self, k): return self._kk("h", "h", k)
    def W(self, k): return self._kk("W", "W", k)
    def b(self, k): return self._kk("b", "b", k)
    def err(self, k): return S("g")
    def f(self, k): return self._kk("f", "f", k)

    def fprime(self, k):
        return Sym("f" + _sup(f"({k})") + "'", f"f^{{({k})\\prime}}")

    def grad(self, wrt):
        return Sym(f"∇_{wrt.text} {self.J.text}", r"\nabla_{" + wrt.latex + "} " + self.J.latex)

    def d(self, wrt, of=None):
        return self.grad(wrt)

    def forward_rhs(self, k):
        return [self.b(k), PLUS, self.W(k), TIMES, self.inp(k)], ["b", "+", "W", "x"]

    def convention(self):
        return ["Column vectors, one row of ", S("W⁽ᵏ⁾", "W^{(k)}"),
                " per unit: ", S("W⁽ᵏ⁾", "W^{(k)}"), " is deltaprop's ",
                S("layer.W.T", r"\texttt{layer.W.T}"), " (n_out × n_in). ",
                "g is the part of the gradient computed so far."]

    def output_steps(self, c, K):
        y = self.y
        g = S("g")
        if c.trace.fused:
            lhs = g + ARROW + self.grad(self.pre(K))
            items = [Para(["Steps ① and ② at once (fused loss and output activation):"])]
            return items + self._fused_steps(c, K, lhs, Sym("①②", r"\textcircled{\scriptsize 1}\textcircled{\scriptsize 2}"))
        parts = [g, ARROW, self.grad(y)]
        formula = self.loss_gradient_formula(c.trace.loss)
        if formula is not None:
            parts += [EQ, formula]
        step1 = Eq(parts + [EQ, Mat(c.g(K))], CIRCLED[1])
        return [step1] + self.hidden_error_steps(c, K)

    def hidden_error_steps(self, c, k):
        g = S("g")
        return self._local_product(c, k, g + ARROW + self.grad(self.pre(k)), g, CIRCLED[2])

    def gradient_steps(self, c, k):
        g = S("g")
        return [
            Eq([self.grad(self.b(k)), EQ, g, EQ, Mat(c.err(k))], CIRCLED[3]),
            Eq([self.grad(self.W(k)), EQ, g, TIMES, _T(self.inp(k)), EQ, Mat(c.err(k)), TIMES,
                Mat(c.x(k)[None, :]), EQ, Mat(c.gW(k).T)], CIRCLED[4]),
        ]

    def to_below_steps(self, c, k):
        g = S("g")
        return [Eq([g, ARROW, self.grad(self.inp(k)), EQ, _T(self.W(k)), TIMES, g, EQ,
                    Mat(c.W(k)), TIMES, Mat(c.err(k)), EQ, Mat(c.g(k - 1))], CIRCLED[5])]


class Nielsen(Notation):
    """Seed 003: ``zˡ = wˡ aˡ⁻¹ + bˡ``, ``aˡ = σ(zˡ)``, the four equations BP1–BP4.

    Layers are numbered as in Nielsen's book: the input is layer 1 (``a¹ = x``), so
    deltaprop's layer ``k`` is ``l = k + 1``.
    """

    key = "nielsen"
    title = "Nielsen (seed 003)"
    source = ("seed 003: the four fundamental equations of backpropagation "
              "(Nielsen, Neural Networks and Deep Learning, ch. 2)")
    transposed = True
    y = S("aᴸ", "a^L")
    t = S("y")
    loss = S("C", "C")
    J = S("C", "C")

    def _l(self, base, latex, k):
        return Sym(base + _sup(str(k + 1)), f"{latex}^{{{k + 1}}}")

    def inp(self, k): return self._l("a", "a", k - 1)
    def pre(self, k): return self._l("z", "z", k)
    def act(self, k): return self._l("a", "a", k)
    def W(self, k): return self._l("w", "w", k)
    def b(self, k): return self._l("b", "b", k)
    def err(self, k): return self._l("δ", r"\delta", k)
    def f(self, k): return S("σ", r"\sigma")

    def forward_rhs(self, k):
        return [self.W(k), TIMES, self.inp(k), PLUS, self.b(k)], ["W", "x", "+", "b"]

    def convention(self):
        return ["Column vectors; ", S("wˡ", "w^l"), " has one row per unit of layer l (",
                S("wˡⱼₖ", "w^l_{jk}"), " connects unit k of layer l−1 to unit j of layer l), "
                "so ", S("wˡ", "w^l"), " is deltaprop's ", S("layer.W.T", r"\texttt{layer.W.T}"),
                ". Layer 1 is the input (", S("a¹ = x", "a^1 = x"), "), L the output; σ "
                "stands for the layer's activation function."]

    def output_steps(self, c, K):
        L = self.err(K)
        items = []
        if c.trace.fused:
            return self._fused_steps(c, K, L, S("(BP1)"))
        formula = self.loss_gradient_formula(c.trace.loss)
        gradC = Sym("∇ₐC", r"\nabla_a C")
        parts = [gradC]
        if formula is not None:
            parts += [EQ, formula]
        items.append(Eq(parts + [EQ, Mat(c.g(K))]))
        items += self._local_product(c, K, L, gradC, S("(BP1)"))
        return items

    def hidden_error_steps(self, c, k):
        up = self.W(k + 1)
        back = Sym(f"({up.text})ᵀ {self.err(k + 1).text}",
                   f"({up.latex})^{{\\top}} {self.err(k + 1).latex}")
        items = [Eq([back, EQ, Mat(c.W(k + 1)), TIMES, Mat(c.err(k + 1)), EQ, Mat(c.g(k))])]
        g_sym = _paren(back)
        return items + self._local_product(c, k, self.err(k), g_sym, S("(BP2)"))

    def gradient_steps(self, c, k):
        return [
            Eq([self.d(self.b(k)), EQ, self.err(k), EQ, Mat(c.err(k))], S("(BP3)")),
            Eq([self.d(self.W(k)), EQ, self.err(k), TIMES, _T(self.inp(k)), EQ, Mat(c.err(k)),
                TIMES, Mat(c.x(k)[None, :]), EQ, Mat(c.gW(k).T)], S("(BP4)")),
        ]


class Hagan(Notation):
    """Seed 004: ``n = Wᵀ â + b``, ``a = σ(n)``, ``S = ∂F/∂n``, ``S = −2 A e``, ``Ŝ = Â W S``."""

    key = "hagan"
    title = "Hagan et al. (seed 004)"
    source = "seed 004: S-vectors (sensitivities), after Hagan et al., Neural Network Design, ch. 11"
    transposed = False
    loss = Sym("ℱ", r"\mathcal{F}")
    J = Sym("Σ", r"\Sigma")

    def _s(self, base, latex, k):
        return Sym(base + _sub(str(k)), f"{latex}_{{{k}}}")

    def inp(self, k): return self._s("a", "a", k - 1)
    def pre(self, k): return self._s("n", "n", k)
    def act(self, k): return self._s("a", "a", k)
    def W(self, k): return self._s("W", "W", k)
    def b(self, k): return self._s("b", "b", k)
    def err(self, k): return self._s("S", "S", k)
    def f(self, k): return S("σ", r"\sigma")
    def A(self, k): return self._s("A", "A", k)

    def forward_rhs(self, k):
        return [_T(self.W(k)), TIMES, self.inp(k), PLUS, self.b(k)], ["WT", "x", "+", "b"]

    def convention(self):
        return ["Column vectors; ", S("W", "W"), " is H × L (inputs × units) as deltaprop's ",
                S("layer.W", r"\texttt{layer.W}"), ", ", S("n = Wᵀâ + b", r"n = W^{\top}\hat a + b"),
                " where ", S("â", r"\hat a"), " is the output of the layer on the left (",
                S("a₀ = x", "a_0 = x"), "). ", S("A = diag(σ'(n))", r"A = \operatorname{diag}(\sigma'(n))"),
                " and ", S("S = ∂ℱ/∂n", r"S = \partial\mathcal{F}/\partial n"),
                " is the sensitivity vector; σ stands for the layer's activation function."]

    def _A_eq(self, c, k):
        fp = c.fp(k)
        return Eq([self.A(k), EQ, Sym(f"diag(σ'({self.pre(k).text}))",
                                      r"\operatorname{diag}\left(\sigma'(" + self.pre(k).latex + r")\right)"),
                   EQ, Mat(np.diag(fp))])

    def output_steps(self, c, K):
        SK = self.err(K)
        if c.trace.fused:
            return self._fused_steps(c, K, SK)
        layer = c.layer(K)
        if c.trace.loss == "squared_error" and layer.fprime is not None:
            e = Sym("e", "e")
            items = [Eq([e, EQ, self.t, MINUS, self.y, EQ, Mat(c.t()), MINUS, Mat(c.y()), EQ,
                         Mat(c.t() - c.y())]), self._A_eq(c, K)]
            items.append(Eq([SK, EQ, S("−2 ", "-2\\,") + self.A(K) + S(" e", "\\, e"), EQ,
                             S("−2 ", "-2"), Mat(np.diag(c.fp(K))), TIMES, Mat(c.t() - c.y()),
                             EQ, Mat(c.err(K))]))
            return items
        dF = self.d(self.y)
        formula = self.loss_gradient_formula(c.trace.loss)
        parts = [dF] + ([EQ, formula] if formula is not None else [])
        items = [Eq(parts + [EQ, Mat(c.g(K))])]
        if layer.fprime is None:
            return items + self._local_product(c, K, SK, dF)
        items.append(self._A_eq(c, K))
        items.append(Eq([SK, EQ, self.A(K) + S(" ", "\\,") + dF, EQ, Mat(np.diag(c.fp(K))),
                         TIMES, Mat(c.g(K)), EQ, Mat(c.err(K))]))
        return items

    def hidden_error_steps(self, c, k):
        rec = Sym(f"{self.A(k).text} {self.W(k + 1).text} {self.err(k + 1).text}",
                  f"{self.A(k).latex}\\, {self.W(k + 1).latex}\\, {self.err(k + 1).latex}")
        return [self._A_eq(c, k),
                Eq([self.err(k), EQ, rec, EQ, Mat(np.diag(c.fp(k))), TIMES, Mat(c.W(k + 1)),
                    TIMES, Mat(c.err(k + 1)), EQ, Mat(c.err(k))], Sym("(Ŝ = Â W S)", r"($\hat S = \hat A W S$)"))]

    def gradient_steps(self, c, k):
        return [
            Eq([self.d(self.W(k)), EQ, self.inp(k), TIMES, _T(self.err(k)), EQ, Mat(c.x(k)),
                TIMES, Mat(c.err(k)[None, :]), EQ, Mat(c.gW(k))]),
            Eq([self.d(self.b(k)), EQ, self.err(k), EQ, Mat(c.err(k))]),
        ]


class Rousseau(Notation):
    """Seed 001: ``x⁽ᵏ⁾ = σ(W⁽ᵏ⁾ᵀ x⁽ᵏ⁻¹⁾ + b⁽ᵏ⁾)``, ``z⁽ᵏ⁾`` the pre-activation, equations (2)–(4)."""

    key = "rousseau"
    title = "Rousseau (seed 001)"
    source = "seed 001: S. Rousseau, AOS 2 Deep learning, lecture 01 (backpropagation, eqs. 2-4)"
    transposed = False
    y = Sym("ŷ", r"\hat{y}")
    t = S("y")
    loss = Sym("ℓ", r"\ell")
    J = Sym("ℒ_B", r"\mathcal{L}_{\mathcal{B}}")

    def _kk(self, base, latex, k):
        return Sym(base + _sup(f"({k})"), f"{latex}^{{({k})}}")

    def inp(self, k): return self._kk("x", "x", k - 1)
    def pre(self, k): return self._kk("z", "z", k)
    def act(self, k): return self._kk("x", "x", k)
    def W(self, k): return self._kk("W", "W", k)
    def b(self, k): return self._kk("b", "b", k)
    def err(self, k): return self.d(self.pre(k))
    def f(self, k): return S("σ", r"\sigma")

    def forward_rhs(self, k):
        return [_T(self.W(k)), TIMES, self.inp(k), PLUS, self.b(k)], ["WT", "x", "+", "b"]

    def convention(self):
        return ["Column vectors; ", S("W⁽ᵏ⁾", "W^{(k)}"), " is ", S("n_{k−1} × n_k", "n_{k-1}\\times n_k"),
                " (its columns are the units' weight vectors) as deltaprop's ",
                S("layer.W", r"\texttt{layer.W}"), "; σ stands for the layer's activation "
                "function, ", S("ŷ = x⁽ᴷ⁾", r"\hat y = x^{(K)}"), " is the prediction and y the "
                "target."]

    def output_steps(self, c, K):
        if c.trace.fused:
            return self._fused_steps(c, K, self.err(K))
        dx = self.d(self.act(K))
        formula = self.loss_gradient_formula(c.trace.loss)
        parts = [dx] + ([EQ, formula] if formula is not None else [])
        return [Eq(parts + [EQ, Mat(c.g(K))])] + self.hidden_error_steps(c, K)

    def hidden_error_steps(self, c, k):
        return self._local_product(c, k, self.err(k), self.d(self.act(k)))

    def gradient_steps(self, c, k):
        return [
            Eq([self.d(self.W(k)), EQ, self.inp(k), TIMES, _T(self.err(k)), EQ, Mat(c.x(k)),
                TIMES, Mat(c.err(k)[None, :]), EQ, Mat(c.gW(k))], S("(2)")),
            Eq([self.d(self.b(k)), EQ, self.err(k), EQ, Mat(c.err(k))], S("(3)")),
        ]

    def to_below_steps(self, c, k):
        return [Eq([self.d(self.inp(k)), EQ, self.W(k), TIMES, self.err(k), EQ, Mat(c.W(k)),
                    TIMES, Mat(c.err(k)), EQ, Mat(c.g(k - 1))], S("(4)"))]


NOTATIONS = {cls.key: cls() for cls in (Goodfellow, Nielsen, Hagan, Rousseau)}


def get_notation(name):
    """A :class:`Notation` by name (or the instance itself)."""
    if isinstance(name, Notation):
        return name
    key = str(name).lower()
    if key not in NOTATIONS:
        raise ValueError(f"unknown notation {name!r}; valid names are: {', '.join(NOTATIONS)}")
    return NOTATIONS[key]


class _Sample:
    """The numbers of one sample ``n``, as column vectors in a lecture's layout."""

    def __init__(self, trace, n, notation):
        self.trace, self.n, self.nota = trace, n, notation

    def layer(self, k):
        return self.trace.layers[k - 1]

    def x(self, k): return self.layer(k).x[self.n]
    def z(self, k): return self.layer(k).z[self.n]
    def a(self, k): return self.layer(k).a[self.n]
    def fp(self, k): return self.layer(k).fprime[self.n]
    def g(self, k): return self.layer(k).g[self.n]
    def err(self, k): return self.layer(k).error[self.n]
    def y(self): return self.trace.y[self.n]
    def t(self): return self.trace.T[self.n]

    def W(self, k):
        """The matrix that multiplies the error vector in the backward step: deltaprop's W."""
        return self.layer(k).W

    def gW(self, k):
        """Per-sample ∂ℓ/∂W in deltaprop's layout: the engine's when it is the same thing."""
        layer, tr = self.layer(k), self.trace
        if tr.n_samples == 1 and tr.share[0] == 1.0 and not tr.l2:
            return layer.grad_W
        return np.outer(layer.x[self.n], layer.error[self.n])


def build_document(trace, nota, sample=None, max_samples=3):
    """The page for ``trace`` in notation ``nota``: a list of document items."""
    N = trace.n_samples
    K = len(trace.layers)
    if sample is not None:
        if not -N <= int(sample) < N:
            raise ValueError(f"sample {sample} is out of range for a batch of {N} samples "
                             f"(valid: 0 to {N - 1})")
        samples = [int(sample) % N]
    else:
        samples = list(range(min(N, max_samples)))
    arch = " → ".join([str(trace.sizes[0])] + [f"{l.n_out} ({l.activation})" for l in trace.layers])
    doc = [Heading(f"Backpropagation step by step, in the notation of {nota.title}", 1),
           Para([f"Network {arch}; loss {trace.loss}, reduction \"{trace.reduction}\""
                 + (f", L2 λ = {trace.l2:g}" if trace.l2 else "") + f"; N = {N} sample"
                 + ("s" if N != 1 else "") + f"; dtype {trace.dtype}."]),
           Para(["Source: " + nota.source + "."]),
           Para(nota.convention()),
           Para(["All numbers are deltaprop's own (the layers' x, z, a, delta, grad_W, grad_b "
                 "after net.gradients), shown to "
                 f"{trace.precision} significant digits."])]
    # Shapes
    rows = []
    for layer in trace.layers:
        k = layer.index
        wshape = (layer.n_out, layer.n_in) if nota.transposed else (layer.n_in, layer.n_out)
        rows.append([str(k), nota.W(k), f"{wshape[0]} × {wshape[1]}", nota.b(k), str(layer.n_out),
                     nota.inp(k), str(layer.n_in), nota.pre(k), nota.act(k), layer.activation])
    doc += [Heading("Shapes", 2),
            Table(["k", "weights", "shape", "bias", "units", "input", "inputs",
                   "pre-activation", "activation", "f"], rows)]
    # Parameters
    doc.append(Heading("Parameters", 2))
    for layer in trace.layers:
        k = layer.index
        doc.append(Eq([nota.W(k), EQ, Mat(nota.Wmat(layer.W))]))
        doc.append(Eq([nota.b(k), EQ, Mat(layer.b)]))
    loss_formula = nota.loss_formula(trace.loss)
    batch_nota = nota
    if N > 1 or trace.l2 or trace.share[0] != 1.0:
        # the steps of one sample differentiate its own loss, not the batch's objective J
        nota = copy.copy(nota)
        nota.J = nota.loss
    for n in samples:
        c = _Sample(trace, n, nota)
        if N > 1:
            doc.append(Heading(f"Sample {n + 1} of {N}", 2))
        doc.append(Heading("Forward step", 2 if N == 1 else 3))
        doc.append(Eq([nota.inp(1), EQ, S("x"), EQ, Mat(c.x(1))] if nota.inp(1).text != "x"
                      else [S("x"), EQ, Mat(c.x(1))]))
        for layer in trace.layers:
            k = layer.index
            sym_rhs, order = nota.forward_rhs(k)
            numbers = []
            for tok in order:
                numbers.append({"b": Mat(layer.b), "+": PLUS, "x": Mat(c.x(k)),
                                "W": Mat(nota.Wmat(layer.W)), "WT": Mat(layer.W, tmark=True)}[tok])
                if tok in ("W", "WT"):
                    numbers.append(TIMES)
            doc.append(Eq([nota.pre(k), EQ] + sym_rhs + [EQ] + numbers + [EQ, Mat(c.z(k))]))
            f_of = Sym(f"{nota.f(k).text}({nota.pre(k).text})",
                       nota.f(k).latex + r"\left(" + nota.pre(k).latex + r"\right)")
            doc.append(Eq([nota.act(k), EQ, f_of, EQ,
                           Sym(f"{layer.activation}({nota.pre(k).text})",
                               _act_name(layer.activation).latex + r"\left(" + nota.pre(k).latex + r"\right)"),
                           EQ, Mat(c.a(k))]))
        doc.append(Eq([nota.y, EQ, nota.act(K), EQ, Mat(c.y())]))
        doc.append(Eq([nota.t, EQ, Mat(c.t())]))
        ell = Sym(f"{nota.loss.text}({nota.t.text}, {nota.y.text})",
                  nota.loss.latex + "(" + nota.t.latex + ", " + nota.y.latex + ")")
        parts = [ell]
        if loss_formula is not None:
            parts += [EQ, loss_formula]
        doc.append(Eq(parts + [EQ, Mat(trace.losses[n])]))
        if N == 1 and trace.share[0] == 1.0 and not trace.l2:
            doc.append(Eq([nota.J, EQ, ell, EQ, Mat(trace.J)]))
        # Backward
        doc.append(Heading("Backward step", 2 if N == 1 else 3))
        for k in range(K, 0, -1):
            doc.append(Heading(f"layer {k}", 4))
            if k == K:
                doc += nota.output_steps(c, K)
            else:
                doc += nota.hidden_error_steps(c, k)
            doc += nota.gradient_steps(c, k)
            if k > 1:
                doc += nota.to_below_steps(c, k)
    if N > len(samples):
        doc.append(Para([f"({N - len(samples)} more sample"
                         f"{'s' if N - len(samples) > 1 else ''} not shown; "
                         "choose one with sample=i.)"]))
    if N > 1 or trace.l2 or trace.share[0] != 1.0:
        doc += _batch_section(trace, batch_nota)
    return doc


def _batch_section(trace, nota):
    N = trace.n_samples
    ell_n = Sym(nota.loss.text + "ₙ", nota.loss.latex + "_n")
    if trace.sample_weight is not None:
        red = Sym("Σₙ wₙ " + ell_n.text + " / Σₙ wₙ" if trace.reduction == "mean" else
                  "Σₙ wₙ " + ell_n.text,
                  (r"\frac{\sum_n w_n " + ell_n.latex + r"}{\sum_n w_n}") if trace.reduction == "mean"
                  else r"\sum_n w_n " + ell_n.latex)
        factor = (Sym("Σₙ (wₙ/Σw) ", r"\sum_n \frac{w_n}{\sum w}\,") if trace.reduction == "mean"
                  else Sym("Σₙ wₙ ", r"\sum_n w_n\,"))
    elif trace.reduction == "mean":
        red = Sym(f"(1/N) Σₙ {ell_n.text}", r"\frac{1}{N}\sum_{n=1}^{N} " + ell_n.latex)
        factor = Sym("(1/N) Σₙ ", r"\frac{1}{N}\sum_{n=1}^{N}")
    else:
        red = Sym(f"Σₙ {ell_n.text}", r"\sum_{n=1}^{N} " + ell_n.latex)
        factor = Sym("Σₙ ", r"\sum_{n=1}^{N}")
    l2 = trace.l2
    doc = [Heading("The batch: " + ("averaged" if trace.reduction == "mean" else "summed")
                   + " over the samples", 2),
           Para([f"N = {N}. The objective and the gradients that the optimizer uses are the "
                 "engine's layer.grad_W and layer.grad_b (with reduction \"mean\" the output "
                 "error vector already carries the 1/N, so each row of layer.delta is ",
                 S("δₙ/N", r"\delta_n/N"), ")."]),
           Table(["n", ell_n], [[str(n + 1), Mat(trace.losses[n])] for n in range(N)])]
    J_parts = [nota.J, EQ, red]
    if l2:
        J_parts += [PLUS, Sym("(λ/2) Σₖ ‖W‖²", r"\frac{\lambda}{2}\sum_k \lVert W_k\rVert^2")]
    doc.append(Eq(J_parts + [EQ, Mat(trace.J)]))
    for layer in trace.layers:
        k = layer.index
        for name, sym, value in (("W", nota.W(k), nota.Wmat(layer.grad_W)),
                                 ("b", nota.b(k), layer.grad_b)):
            lhs = (nota.grad(sym) if isinstance(nota, Goodfellow) else
                   Sym(f"∂{nota.J.text}/∂{sym.text}",
                       r"\frac{\partial " + nota.J.latex + r"}{\partial " + sym.latex + "}"))
            per = (Sym(f"∇_{sym.text} {ell_n.text}", r"\nabla_{" + sym.latex + "} " + ell_n.latex)
                   if isinstance(nota, Goodfellow) else
                   Sym(f"∂{ell_n.text}/∂{sym.text}",
                       r"\frac{\partial " + ell_n.latex + r"}{\partial " + sym.latex + "}"))
            parts = [lhs, EQ, factor + per]
            if l2 and name == "W":
                parts += [PLUS, Sym("λ " + sym.text, r"\lambda " + sym.latex)]
            doc.append(Eq(parts + [EQ, Mat(value)]))
    return doc


# =========================================================================================
# 4. Renderers: text, Markdown, LaTeX
# =========================================================================================


def _number(v, precision):
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
        cells = _cells(M, self.precision, self.max_rows, self.max_cols, _number, self.DOTS)
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
        text = "".join(p if isinstance(p, str) else p.text for p in para.parts)
        return textwrap.fill(text.replace(" = ", " = "), self.width) + "\n"

    def _heading(self, h):
        if h.level == 1:
            return h.text + "\n" + "═" * min(len(h.text), self.width) + "\n"
        if h.level == 2:
            return h.text + "\n" + "─" * min(len(h.text), self.width) + "\n"
        return f"· {h.text}\n"

    def _table(self, table):
        def cell(c):
            if isinstance(c, Sym):
                return c.text
            if isinstance(c, Mat):
                return _number(c.value[0, 0], self.precision)
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
    s = _number(v, precision)
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
        return "".join(latex_escape(p) if isinstance(p, str) else f"${p.latex}$"
                       for p in para.parts) + "\n"

    def _heading(self, h):
        cmd = {1: "section*", 2: "subsection*", 3: "subsubsection*"}.get(h.level, "paragraph")
        return f"\\{cmd}{{{latex_escape(h.text)}}}"

    def _table(self, table):
        def cell(c):
            if isinstance(c, Sym):
                return f"${c.latex}$"
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
        if len(lines) == 1:
            return f"{label}$${lines[0]}$$\n"
        return label + "$$\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}$$\n"

    def _para(self, para):
        out = []
        for p in para.parts:
            if isinstance(p, str):
                out.append(p.replace("*", r"\*").replace("_", r"\_"))
            else:
                out.append(f"${p.latex}$")
        return "".join(out) + "\n"

    def _heading(self, h):
        return "#" * min(h.level, 6) + " " + h.text + "\n"

    def _table(self, table):
        def cell(c):
            if isinstance(c, Sym):
                return f"${c.latex}$"
            if isinstance(c, Mat):
                return _number(c.value[0, 0], self.precision)
            return str(c).replace("|", r"\|")
        lines = ["| " + " | ".join(cell(c) for c in table.header) + " |",
                 "|" + "---|" * len(table.header)]
        lines += ["| " + " | ".join(cell(c) for c in r) + " |" for r in table.rows]
        return "\n".join(lines) + "\n"


FORMATS = ("text", "markdown", "latex", "json")


def render(trace, fmt="text", notation=None, **kw):
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


# =========================================================================================
# 5. Worked examples of the lecture notes
# =========================================================================================


@dataclass(frozen=True)
class Example:
    """A worked example: a small float64 network with chosen weights, inputs and targets."""

    name: str
    title: str
    notation: str
    build: object  # () -> (net, X, T)


def _net(sizes, activations, loss, weights, biases, reduction="mean"):
    """A float64 network whose layer ``k`` has the given weights, written as in seeds 000
    and 003: one row per unit (``n_out x n_in``), i.e. deltaprop's ``W.T``."""
    from .network import Dense, Sequential

    layers = []
    for n_in, n_out, act, W, b in zip(sizes, sizes[1:], activations, weights, biases):
        layer = Dense(n_in, n_out, act, dtype="float64")
        layer.W = np.asarray(W, dtype=np.float64).T
        layer.b = b
        layers.append(layer)
    return Sequential(layers, loss=loss, reduction=reduction)


def _seed000():
    # Seed 000's 2-2-1 network, f1 = ReLU, f2 = identity, L = ½(t − y)²: nine derivatives.
    # The first hidden unit is inactive (α₁ = −0.5) to show step(α) = 0.
    net = _net([2, 2, 1], ["relu", "identity"], "half_squared_error",
               weights=[[[1.0, -1.0], [0.5, 1.0]], [[2.0, 1.0]]],
               biases=[[0.5, -1.0], [0.5]])
    return net, np.array([[1.0, 2.0]]), np.array([[0.5]])


def _seed003():
    # Nielsen's sigmoid network with the quadratic cost C = ½‖y − aᴸ‖².
    net = _net([2, 3, 2], ["sigmoid", "sigmoid"], "half_squared_error",
               weights=[[[0.1, 0.4], [-0.3, 0.2], [0.5, -0.1]],
                        [[0.3, -0.2, 0.6], [-0.4, 0.1, 0.2]]],
               biases=[[0.1, 0.0, -0.2], [0.0, 0.1]])
    return net, np.array([[1.0, 0.5]]), np.array([[1.0, 0.0]])


def _seed004():
    # Hagan's 4-layer network, sigmoid units, total squared error Σ_TSE = Σᵢ ‖tⁱ − yⁱ‖²
    # over a training set of two pairs.
    net = _net([2, 3, 3, 2, 2], ["sigmoid"] * 4, "squared_error",
               weights=[[[0.5, -0.3], [0.2, 0.8], [-0.6, 0.4]],
                        [[0.3, -0.5, 0.2], [0.7, 0.1, -0.4], [-0.2, 0.6, 0.5]],
                        [[0.4, -0.7, 0.3], [0.6, 0.2, -0.5]],
                        [[0.8, -0.6], [-0.3, 0.9]]],
               biases=[[0.1, -0.1, 0.0], [0.0, 0.2, -0.1], [0.1, 0.0], [-0.2, 0.1]],
               reduction="sum")
    return net, np.array([[1.0, -1.0], [0.5, 2.0]]), np.array([[1.0, 0.0], [0.0, 1.0]])


def _softmax():
    # A softmax classifier with cross-entropy: the output error vector is y − t, no σ'.
    net = _net([2, 3, 3], ["tanh", "softmax"], "cross_entropy",
               weights=[[[0.5, -0.4], [0.3, 0.8], [-0.7, 0.2]],
                        [[0.6, -0.3, 0.2], [-0.5, 0.4, 0.7], [0.1, 0.9, -0.6]]],
               biases=[[0.0, 0.1, -0.1], [0.1, 0.0, -0.1]])
    return net, np.array([[1.0, 0.5]]), np.array([[0.0, 0.0, 1.0]])


def _minibatch():
    # Seed 001's mini-batch objective L_B = (1/|B|) Σ ℓ with the MSE loss, |B| = 3.
    net = _net([2, 2, 1], ["tanh", "identity"], "mse",
               weights=[[[0.5, -0.5], [1.0, 0.5]], [[1.0, -1.0]]],
               biases=[[0.0, 0.5], [0.25]])
    return net, np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.array([[1.0], [0.0], [0.5]])


EXAMPLES = {e.name: e for e in (
    Example("seed000", "seed 000: the 2-2-1 ReLU network and its 9 derivatives", "goodfellow",
            _seed000),
    Example("seed003", "seed 003: a 2-3-2 sigmoid network with the quadratic cost (BP1-BP4)",
            "nielsen", _seed003),
    Example("seed004", "seed 004: a 4-layer sigmoid network, total squared error over 2 pairs "
                       "(S = -2Ae, S^ = A^WS)", "hagan", _seed004),
    Example("softmax", "softmax + cross-entropy: why sigma' disappears from the output error",
            "rousseau", _softmax),
    Example("minibatch", "seed 001: a mini-batch of 3 samples, per-sample and averaged "
                         "gradients (MSE)", "rousseau", _minibatch),
)}


def example(name):
    """``(net, X, T)`` of a worked example; see :data:`EXAMPLES` for the names.

    >>> net, X, T = example("seed000")
    >>> net.loss(X, T)
    1.125
    """
    if name not in EXAMPLES:
        raise ValueError(f"unknown example {name!r}; valid names are: {', '.join(EXAMPLES)}")
    return EXAMPLES[name].build()


def explain_example(name, notation=None, **kw):
    """:func:`explain` on a worked example, in the notation of its lecture by default."""
    net, X, T = example(name)
    return explain(net, X, T, notation=notation or EXAMPLES[name].notation, **kw)
