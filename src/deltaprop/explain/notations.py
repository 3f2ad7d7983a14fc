"""The notations: a trace written in the symbols of one lecture.

Each :class:`Notation` names the quantities of layer ``k`` (input, pre-activation,
activation, weights, bias, error vector) and writes the backward steps as that lecture
does; :func:`build_document` turns a :class:`~.trace.Trace` into a list of document items
(:mod:`.document`). The formulas of an activation or a loss come from the object itself
(:meth:`deltaprop.activations.Activation.derivative_formula`,
:meth:`deltaprop.losses.Loss.formula`, ...); a notation only supplies its symbols.
"""

from __future__ import annotations

import copy

import numpy as np

from . import operations
from .document import (ARROW, CIRCLED, EQ, MINUS, ODOT, ONE, PLUS, TIMES, Eq, Heading, Mat,
                       Para, S, Sym, Table, apply, paren, sub, sup, transpose)

__all__ = ["Notation", "Goodfellow", "Nielsen", "Hagan", "Rousseau", "NOTATIONS",
           "get_notation", "build_document"]


def _kk(base, latex, k):
    """``base⁽ᵏ⁾``: layer ``k`` as a bracketed superscript (Goodfellow et al., Rousseau)."""
    return Sym(base + sup(f"({k})"), f"{latex}^{{({k})}}")


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
        """The derivative of ``of`` (default: the loss of one sample) with respect to ``wrt``."""
        of = of or self.loss
        return Sym(f"∂{of.text}/∂{wrt.text}",
                   r"\frac{\partial " + of.latex + r"}{\partial " + wrt.latex + "}")

    def fprime(self, k):
        f = self.f(k)
        return Sym(f.text + "'", f.latex + "'")

    def fprime_of(self, k):
        """``f'(s)``: the derivative of layer ``k``'s activation at its pre-activation."""
        return apply(self.fprime(k), self.pre(k))

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

    # The formulas are the loss's and the activation's own, written in these symbols.
    def loss_formula(self, loss):
        return Sym(*loss.formula(self.y, self.t))

    def loss_gradient_formula(self, loss):
        return Sym(*loss.gradient_formula(self.y, self.t))

    def derivative_formula(self, k, activation, a=None):
        """``f'`` of layer ``k`` in terms of its pre-activation and of ``a`` (default: its
        activation symbol)."""
        return Sym(*activation.derivative_formula(self.pre(k), a or self.act(k)))

    # -- backward steps (override) ---------------------------------------------------------
    def output_steps(self, c, K):
        raise NotImplementedError

    def hidden_error_steps(self, c, k):
        raise NotImplementedError

    def gradient_steps(self, c, k):
        raise NotImplementedError

    def to_below_steps(self, c, k):
        return []

    def error_through_steps(self, c, k):
        """Step ② for layer ``k`` when layers without weights (dropout, a normalisation)
        sit above it: its error vector from ``∂ℓ/∂(its activation)``, which they passed
        down (the recursions of the lectures hold from Dense layer to Dense layer only)."""
        return self._local_product(c, k, self.err(k), self.d(self.act(k)))

    def to_ops_steps(self, c, k, below):
        """From layer ``k``'s error vector to the gradient with respect to its input, the
        output ``below`` of the layers without weights under it."""
        W = transpose(self.W(k)) if self.transposed else self.W(k)
        return [Eq([self.d(below), EQ, W, TIMES, self.err(k), EQ, Mat(c.W(k)), TIMES,
                    Mat(c.err(k)), EQ, Mat(c.op_g_out(below))])]

    # -- helpers for the steps -------------------------------------------------------------
    def _local_product(self, c, k, lhs, g_sym, label=None):
        """Step ②: ``lhs = g ⊙ f'(s) = [g] ⊙ [f'] = [δ]``, or for an activation that is
        not elementwise (softmax) the product of its matrix with ``g``."""
        layer = c.layer(k)
        formula = self.derivative_formula(k, layer.activation_function)
        if layer.fprime is None:
            return [Eq([lhs, EQ, formula, TIMES, g_sym, EQ, Mat(c.jacobian(k)), TIMES,
                        Mat(c.g(k)), EQ, Mat(c.err(k))], label)]
        parts = [lhs, EQ, g_sym, ODOT, self.fprime_of(k), EQ, g_sym, ODOT, formula]
        if formula == ONE:  # g ⊙ 1 = g
            return [Eq(parts + [EQ, g_sym, EQ, Mat(c.err(k))], label)]
        return [Eq(parts + [EQ, Mat(c.g(k)), ODOT, Mat(c.fp(k)), EQ, Mat(c.err(k))], label)]

    def _fused_steps(self, c, K, lhs, label=None):
        """Fused output: the loss's fused delta (``y − t``), and beside it the unfused
        chain rule with the same numbers."""
        y, t = self.y, self.t
        loss, act = c.trace.loss_function, c.layer(K).activation_function
        fused = Sym(*loss.fused_delta_formula(y, t))
        items = [Eq([lhs, EQ, fused, EQ, Mat(c.err(K))], label)]
        dy = self.d(y)
        local = self.derivative_formula(K, act, a=y)
        fp = apply(Sym(*act.symbol()) + "'", self.pre(K))
        items.append(Para([
            "The loss and the output activation are fused: the engine computes ", lhs,
            " directly as ", fused, ". The chain rule gives the same vector: ",
            dy, " = ", self.loss_gradient_formula(loss),
            ", times the derivative of the output activation, ",
            local if c.layer(K).fprime is None else fp + " = " + local, ", and the two cancel."]))
        items.append(Para(["No ", S("f'", "f'"), " factor is left: this is why σ' disappears "
                           "from the output error vector."]))
        # The unfused product, computed here for display only: the engine takes the fused
        # path and never forms dℓ/dy (c.g) for this pair.
        g = c.g(K)
        unfused = S("unfused: ", r"\text{unfused: }")
        if c.layer(K).fprime is None:
            M = c.jacobian(K)
            prod = M @ g
            items.append(Eq([unfused + local, TIMES, dy, EQ, Mat(M), TIMES, Mat(g), EQ,
                             Mat(prod)]))
        else:
            prod = c.fp(K) * g
            items.append(Eq([unfused + fp + ODOT + dy, EQ, Mat(c.fp(K)), ODOT, Mat(g), EQ,
                             Mat(prod)]))
        diff = float(np.max(np.abs(prod - c.err(K)))) if np.all(np.isfinite(prod)) else float("inf")
        items.append(Para(["Fused and unfused agree to ", S(f"{diff:.1e}"),
                           " (rounding); the fused form never divides by a probability "
                           "close to 0."]))
        return items


class Goodfellow(Notation):
    """Goodfellow et al.: ``α⁽ᵏ⁾ = b⁽ᵏ⁾ + W⁽ᵏ⁾ h⁽ᵏ⁻¹⁾``, ``h⁽ᵏ⁾ = f(α⁽ᵏ⁾)``, backward steps ① to ⑤."""

    key = "goodfellow"
    title = "Goodfellow et al. (Deep Learning)"
    source = "Goodfellow, Bengio & Courville, Deep Learning, ch. 6.5 (algorithm 6.4)"
    transposed = True

    def inp(self, k): return _kk("h", "h", k - 1)
    def pre(self, k): return _kk("α", r"\alpha", k)
    def act(self, k): return _kk("h", "h", k)
    def W(self, k): return _kk("W", "W", k)
    def b(self, k): return _kk("b", "b", k)
    def err(self, k): return S("g")
    def f(self, k): return _kk("f", "f", k)

    def fprime(self, k):
        return Sym("f" + sup(f"({k})") + "'", f"f^{{({k})\\prime}}")

    def d(self, wrt, of=None):
        """``∇_wrt of``; ``of`` defaults to J (the loss of one sample in its own steps)."""
        of = of or self.J
        return Sym(f"∇_{wrt.text} {of.text}", r"\nabla_{" + wrt.latex + "} " + of.latex)

    grad = d

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
        step1 = Eq([g, ARROW, self.grad(y), EQ, self.loss_gradient_formula(c.trace.loss_function),
                    EQ, Mat(c.g(K))], CIRCLED[1])
        return [step1] + self.hidden_error_steps(c, K)

    def hidden_error_steps(self, c, k):
        g = S("g")
        return self._local_product(c, k, g + ARROW + self.grad(self.pre(k)), g, CIRCLED[2])

    def error_through_steps(self, c, k):
        return self.hidden_error_steps(c, k)

    def gradient_steps(self, c, k):
        g = S("g")
        return [
            Eq([self.grad(self.b(k)), EQ, g, EQ, Mat(c.err(k))], CIRCLED[3]),
            Eq([self.grad(self.W(k)), EQ, g, TIMES, transpose(self.inp(k)), EQ, Mat(c.err(k)), TIMES,
                Mat(c.x(k)[None, :]), EQ, Mat(c.gW(k).T)], CIRCLED[4]),
        ]

    def to_below_steps(self, c, k):
        g = S("g")
        return [Eq([g, ARROW, self.grad(self.inp(k)), EQ, transpose(self.W(k)), TIMES, g, EQ,
                    Mat(c.W(k)), TIMES, Mat(c.err(k)), EQ, Mat(c.g(k - 1))], CIRCLED[5])]


class Nielsen(Notation):
    """Nielsen: ``zˡ = wˡ aˡ⁻¹ + bˡ``, ``aˡ = σ(zˡ)``, the four equations BP1–BP4.

    Layers are numbered as in Nielsen's book: the input is layer 1 (``a¹ = x``), so
    deltaprop's layer ``k`` is ``l = k + 1``.
    """

    key = "nielsen"
    title = "Nielsen (Neural Networks and Deep Learning)"
    source = ("the four fundamental equations of backpropagation "
              "(Nielsen, Neural Networks and Deep Learning, ch. 2)")
    transposed = True
    y = S("aᴸ", "a^L")
    t = S("y")
    loss = S("C", "C")
    J = S("C", "C")

    def _l(self, base, latex, k):
        return Sym(base + sup(str(k + 1)), f"{latex}^{{{k + 1}}}")

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
        if c.trace.fused:
            return self._fused_steps(c, K, L, S("(BP1)"))
        gradC = Sym("∇ₐC", r"\nabla_a C")
        items = [Eq([gradC, EQ, self.loss_gradient_formula(c.trace.loss_function), EQ,
                     Mat(c.g(K))])]
        return items + self._local_product(c, K, L, gradC, S("(BP1)"))

    def hidden_error_steps(self, c, k):
        up = self.W(k + 1)
        back = Sym(f"({up.text})ᵀ {self.err(k + 1).text}",
                   f"({up.latex})^{{\\top}} {self.err(k + 1).latex}")
        items = [Eq([back, EQ, Mat(c.W(k + 1)), TIMES, Mat(c.err(k + 1)), EQ, Mat(c.g(k))])]
        g_sym = paren(back)
        return items + self._local_product(c, k, self.err(k), g_sym, S("(BP2)"))

    def gradient_steps(self, c, k):
        return [
            Eq([self.d(self.b(k)), EQ, self.err(k), EQ, Mat(c.err(k))], S("(BP3)")),
            Eq([self.d(self.W(k)), EQ, self.err(k), TIMES, transpose(self.inp(k)), EQ, Mat(c.err(k)),
                TIMES, Mat(c.x(k)[None, :]), EQ, Mat(c.gW(k).T)], S("(BP4)")),
        ]


class Hagan(Notation):
    """Hagan et al.: ``n = Wᵀ â + b``, ``a = σ(n)``, ``S = ∂F/∂n``, ``S = −2 A e``, ``Ŝ = Â W S``."""

    key = "hagan"
    title = "Hagan et al. (Neural Network Design)"
    source = "S-vectors (sensitivities), after Hagan et al., Neural Network Design, ch. 11"
    transposed = False
    loss = Sym("ℱ", r"\mathcal{F}")
    J = Sym("Σ", r"\Sigma")

    def _s(self, base, latex, k):
        return Sym(base + sub(str(k)), f"{latex}_{{{k}}}")

    def inp(self, k): return self._s("a", "a", k - 1)
    def pre(self, k): return self._s("n", "n", k)
    def act(self, k): return self._s("a", "a", k)
    def W(self, k): return self._s("W", "W", k)
    def b(self, k): return self._s("b", "b", k)
    def err(self, k): return self._s("S", "S", k)
    def f(self, k): return S("σ", r"\sigma")
    def A(self, k): return self._s("A", "A", k)

    def forward_rhs(self, k):
        return [transpose(self.W(k)), TIMES, self.inp(k), PLUS, self.b(k)], ["WT", "x", "+", "b"]

    def convention(self):
        return ["Column vectors; ", S("W", "W"), " is H × L (inputs × units) as deltaprop's ",
                S("layer.W", r"\texttt{layer.W}"), ", ", S("n = Wᵀâ + b", r"n = W^{\top}\hat a + b"),
                " where ", S("â", r"\hat a"), " is the output of the layer on the left (",
                S("a₀ = x", "a_0 = x"), "). ", S("A = diag(σ'(n))", r"A = \operatorname{diag}(\sigma'(n))"),
                " and ", S("S = ∂ℱ/∂n", r"S = \partial\mathcal{F}/\partial n"),
                " is the sensitivity vector; σ stands for the layer's activation function."]

    def _A_eq(self, c, k):
        diag = S("diag", r"\operatorname{diag}")
        formula = self.derivative_formula(k, c.layer(k).activation_function)
        return Eq([self.A(k), EQ, apply(diag, self.fprime_of(k)), EQ, apply(diag, formula), EQ,
                   Mat(np.diag(c.fp(k)))])

    def output_steps(self, c, K):
        SK = self.err(K)
        if c.trace.fused:
            return self._fused_steps(c, K, SK)
        layer, loss = c.layer(K), c.trace.loss_function
        e = Sym("e", "e")
        residual = loss.residual_gradient_formula(e)  # e.g. −2e for the squared error
        if residual is not None and layer.fprime is not None:
            # S = A ∂ℱ/∂a = −2 A e: the residual e = t − y is formed here for display
            Ae = Sym(*loss.residual_gradient_formula(self.A(K) + S(" e", "\\, e")))
            return [Eq([e, EQ, self.t, MINUS, self.y, EQ, Mat(c.t()), MINUS, Mat(c.y()), EQ,
                        Mat(c.t() - c.y())]),
                    self._A_eq(c, K),
                    Eq([SK, EQ, Ae, EQ, self.A(K) + S(" ", "\\,") + paren(Sym(*residual)), EQ,
                        Mat(np.diag(c.fp(K))), TIMES, Mat(c.g(K)), EQ, Mat(c.err(K))])]
        dF = self.d(self.y)
        items = [Eq([dF, EQ, self.loss_gradient_formula(loss), EQ, Mat(c.g(K))])]
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
            Eq([self.d(self.W(k)), EQ, self.inp(k), TIMES, transpose(self.err(k)), EQ, Mat(c.x(k)),
                TIMES, Mat(c.err(k)[None, :]), EQ, Mat(c.gW(k))]),
            Eq([self.d(self.b(k)), EQ, self.err(k), EQ, Mat(c.err(k))]),
        ]


class Rousseau(Notation):
    """Rousseau: ``x⁽ᵏ⁾ = σ(W⁽ᵏ⁾ᵀ x⁽ᵏ⁻¹⁾ + b⁽ᵏ⁾)``, ``z⁽ᵏ⁾`` the pre-activation, equations (2)–(4)."""

    key = "rousseau"
    title = "Rousseau (lecture notes)"
    source = "S. Rousseau, AOS 2 Deep learning, lecture 01 (backpropagation, eqs. 2-4)"
    transposed = False
    y = Sym("ŷ", r"\hat{y}")
    t = S("y")
    loss = Sym("ℓ", r"\ell")
    J = Sym("ℒ_B", r"\mathcal{L}_{\mathcal{B}}")

    def inp(self, k): return _kk("x", "x", k - 1)
    def pre(self, k): return _kk("z", "z", k)
    def act(self, k): return _kk("x", "x", k)
    def W(self, k): return _kk("W", "W", k)
    def b(self, k): return _kk("b", "b", k)
    def err(self, k): return self.d(self.pre(k))
    def f(self, k): return S("σ", r"\sigma")

    def forward_rhs(self, k):
        return [transpose(self.W(k)), TIMES, self.inp(k), PLUS, self.b(k)], ["WT", "x", "+", "b"]

    def convention(self):
        return ["Column vectors; ", S("W⁽ᵏ⁾", "W^{(k)}"), " is ",
                S(f"n{sub('k−1')} × n{sub('k')}", r"n_{k-1}\times n_k"),
                " (its columns are the units' weight vectors) as deltaprop's ",
                S("layer.W", r"\texttt{layer.W}"), "; σ stands for the layer's activation "
                "function, ", S("ŷ = x⁽ᴷ⁾", r"\hat y = x^{(K)}"), " is the prediction and y the "
                "target."]

    def output_steps(self, c, K):
        if c.trace.fused:
            return self._fused_steps(c, K, self.err(K))
        dx = self.d(self.act(K))
        return ([Eq([dx, EQ, self.loss_gradient_formula(c.trace.loss_function), EQ,
                     Mat(c.g(K))])] + self.hidden_error_steps(c, K))

    def hidden_error_steps(self, c, k):
        return self._local_product(c, k, self.err(k), self.d(self.act(k)))

    def gradient_steps(self, c, k):
        return [
            Eq([self.d(self.W(k)), EQ, self.inp(k), TIMES, transpose(self.err(k)), EQ, Mat(c.x(k)),
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

    def __init__(self, trace, n, notation, op_by_symbol=None):
        self.trace, self.n, self.nota = trace, n, notation
        self.op_by_symbol = op_by_symbol or {}

    def layer(self, k):
        return self.trace.layers[k - 1]

    def op_g_out(self, sym):
        """Per-sample ∂ℓ/∂(output) of the layer without weights whose output is ``sym``."""
        return self.op_by_symbol[sym.text].g_out[self.n]

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
        """Per-sample ∂ℓ/∂W in deltaprop's layout: the engine's when it is the same thing;
        otherwise formed here for display (the engine only keeps the batch's sum)."""
        layer, tr = self.layer(k), self.trace
        if tr.n_samples == 1 and tr.share[0] == 1.0 and not tr.l2:
            return layer.grad_W
        return np.outer(layer.x[self.n], layer.error[self.n])

    def jacobian(self, k):
        """The matrix ``M`` of step ② (``δ = M g``) for an activation that is not
        elementwise (softmax), for display: the engine only forms its products with g. Its
        column ``i`` is the activation's own ``backward`` applied to the unit vector ``eᵢ``."""
        layer = self.layer(k)
        n = layer.n_out
        z = np.repeat(layer.z[self.n][None, :], n, axis=0)
        a = np.repeat(layer.a[self.n][None, :], n, axis=0)
        return layer.activation_function.backward(z, a, np.eye(n, dtype=z.dtype)).T


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
    ops_after = {}
    for op in trace.ops:
        ops_after.setdefault(op.after, []).append(op)
    parts = [str(trace.sizes[0])] + [op.kind for op in ops_after.get(0, [])]
    for l in trace.layers:
        parts += [f"{l.n_out} ({l.activation})"] + [op.kind for op in ops_after.get(l.index, [])]
    arch = " → ".join(parts)
    # The symbols of the layers without weights, and the input symbol of the Dense layer
    # above them (its input is their output).
    op_syms, override = {}, {}
    for k, ops in ops_after.items():
        base = nota.inp(1) if k == 0 else nota.act(k)
        op_syms[k] = operations.op_symbols(ops, base)
        override[k + 1] = op_syms[k][-1][1]
    if override:
        nota = copy.copy(nota)
        plain_inp = nota.inp
        nota.inp = lambda k: override.get(k) or plain_inp(k)
    op_by_symbol = {out.text: op for k, ops in ops_after.items()
                    for op, (_, out) in zip(ops, op_syms[k])}
    doc = [Heading(f"Backpropagation step by step, in the notation of {nota.title}", 1),
           Para([f"Network {arch}; loss {trace.loss}, reduction \"{trace.reduction}\""
                 + (f", L2 λ = {trace.l2:g}" if trace.l2 else "") + f"; N = {N} sample"
                 + ("s" if N != 1 else "") + f"; dtype {trace.dtype}."]),
           Para(["Source: " + nota.source + "."]),
           Para(nota.convention()),
           Para(["All numbers are deltaprop's own (what the layers hold after net.gradients: "
                 "x, z, a, f'(z), the gradient each layer received, delta, grad_W, grad_b), "
                 "per sample where the batch sums them, shown to "
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
    for op in trace.ops:
        doc += operations.parameter_items(op)
    if trace.ops:
        doc.append(Para(["Mode: " + ("training (dropout masks drawn, batch statistics)"
                                     if trace.training else
                                     "evaluation (no dropout, running statistics); explain "
                                     "with training=True for the training mode") + "."]))
    loss_formula = nota.loss_formula(trace.loss_function)
    batch_nota = nota
    if N > 1 or trace.l2 or trace.share[0] != 1.0:
        # the steps of one sample differentiate its own loss, not the batch's objective J
        nota = copy.copy(nota)
        nota.J = nota.loss
    for n in samples:
        c = _Sample(trace, n, nota, op_by_symbol)
        if N > 1:
            doc.append(Heading(f"Sample {n + 1} of {N}", 2))
        doc.append(Heading("Forward step", 2 if N == 1 else 3))
        first = plain_inp(1) if override else nota.inp(1)
        x0 = trace.X[n]
        doc.append(Eq([first, EQ, S("x"), EQ, Mat(x0)] if first.text != "x"
                      else [S("x"), EQ, Mat(x0)]))
        for op, (s_in, s_out) in zip(ops_after.get(0, []), op_syms.get(0, [])):
            doc += operations.forward_items(op, n, s_in, s_out)
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
            f_of = apply(nota.f(k), nota.pre(k))
            named = apply(Sym(*layer.activation_function.symbol()), nota.pre(k))
            doc.append(Eq([nota.act(k), EQ, f_of] + ([EQ, named] if named != f_of else [])
                          + [EQ, Mat(c.a(k))]))
            for op, (s_in, s_out) in zip(ops_after.get(k, []), op_syms.get(k, [])):
                doc += operations.forward_items(op, n, s_in, s_out)
        doc.append(Eq([nota.y, EQ, nota.act(K), EQ, Mat(c.y())]))
        doc.append(Eq([nota.t, EQ, Mat(c.t())]))
        ell = Sym(f"{nota.loss.text}({nota.t.text}, {nota.y.text})",
                  nota.loss.latex + "(" + nota.t.latex + ", " + nota.y.latex + ")")
        doc.append(Eq([ell, EQ, loss_formula, EQ, Mat(trace.losses[n])]))
        if N == 1 and trace.share[0] == 1.0 and not trace.l2:
            doc.append(Eq([nota.J, EQ, ell, EQ, Mat(trace.J)]))
        if trace.share[n] == 0:
            doc.append(Para(["This sample has weight 0: its rows of the engine's error "
                             "vectors are 0 and it adds nothing to J or to the gradients, so "
                             "it has no backward step here (explain it without "
                             "sample_weight to see one)."]))
            continue
        # Backward
        doc.append(Heading("Backward step", 2 if N == 1 else 3))
        for k in range(K, 0, -1):
            doc.append(Heading(f"layer {k}", 4))
            if k == K:
                doc += nota.output_steps(c, K)
            elif ops_after.get(k):
                doc += nota.error_through_steps(c, k)
            else:
                doc += nota.hidden_error_steps(c, k)
            doc += nota.gradient_steps(c, k)
            below = ops_after.get(k - 1)
            if below:
                doc += nota.to_ops_steps(c, k, op_syms[k - 1][-1][1])
                for op, (s_in, s_out) in reversed(list(zip(below, op_syms[k - 1]))):
                    doc.append(Heading(f"{op.kind} (layer {op.position} of the network)", 4))
                    doc += operations.backward_items(op, n, nota.d, s_in, s_out)
            elif k > 1:
                doc += nota.to_below_steps(c, k)
    if N > len(samples):
        doc.append(Para([f"({N - len(samples)} more sample"
                         f"{'s' if N - len(samples) > 1 else ''} not shown; "
                         "choose one with sample=i.)"]))
    if N > 1 or trace.l2 or trace.share[0] != 1.0:
        doc += _batch_section(trace, batch_nota)
    elif trace.ops:
        for op in trace.ops:
            doc += operations.batch_items(op, lambda sym: batch_nota.d(sym, batch_nota.J))
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
            parts = [nota.d(sym, nota.J), EQ, factor + nota.d(sym, ell_n)]
            if l2 and name == "W":
                parts += [PLUS, Sym("λ " + sym.text, r"\lambda " + sym.latex)]
            doc.append(Eq(parts + [EQ, Mat(value)]))
    for op in trace.ops:
        doc += operations.batch_items(op, lambda sym: nota.d(sym, nota.J))
    return doc
