r"""The layers without weights and activation of their own in a trace: dropout, batch and
layer normalisation, each with its numbers (:class:`OpTrace`) and its own steps, forward
and backward, written in the symbols of the notation around it.

Their formulas (Srivastava et al. 2014; Ioffe and Szegedy 2015; Ba et al. 2016):

* dropout: :math:`\tilde h = m \odot h`, :math:`\partial\ell/\partial h = m \odot \partial\ell/\partial\tilde h`;
* normalisation: :math:`\hat x = (h - \mu) \oslash \sqrt{\sigma^2 + \epsilon}`,
  :math:`\tilde h = \gamma \odot \hat x + \beta`; backward through the statistics, see
  :mod:`deltaprop.layers.normalization`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .document import EQ, ODOT, PLUS, Eq, Mat, Para, S, Sym, sup

__all__ = ["OpTrace", "TAGS", "op_symbols", "forward_items", "backward_items",
           "parameter_items", "batch_items"]

#: The short name of each kind in the symbols (h⁽¹⁾[BN] is h⁽¹⁾ after batch normalisation).
TAGS = {"dropout": "drop", "batch_norm": "BN", "layer_norm": "LN"}


@dataclass
class OpTrace:
    """One layer without weights (dropout, a normalisation) after a sweep; rows are samples.

    Attributes
    ----------
    kind : str
        The layer's kind (``"dropout"``, ``"batch_norm"``, ``"layer_norm"``).
    position : int
        Its place in ``net.layers``, from 1 (the number in ``gamma2``).
    after : int
        The Dense layer it follows (``k``, counting Dense layers from 1; 0 before the first).
    x, a : ndarray
        The engine's input and output rows of the layer.
    g_out, g_in : ndarray or None
        Per-sample ``∂ℓ/∂a`` (the engine's ``grad_output`` of the layer) and ``∂ℓ/∂x`` (what
        it passed below: the ``grad_output`` of the layer below; None for a first layer,
        whose input gradient the engine does not form), each divided by the sample's share.
    training : bool
        Whether the sweep ran in training mode.
    params : dict
        ``mask`` and ``p`` (dropout); ``mean``, ``var``, ``x_hat``, ``gamma``, ``beta``,
        ``grad_gamma``, ``grad_beta``, ``eps`` (normalisation).
    """

    kind: str
    position: int
    after: int
    x: np.ndarray
    a: np.ndarray
    g_out: np.ndarray | None
    g_in: np.ndarray | None
    training: bool
    params: dict


def op_symbols(ops, base):
    """(input, output) symbols of each op in ``ops`` (the ops after one Dense layer, in
    order), starting from ``base``, the symbol of that layer's activation."""
    out, tags, current = [], [], base
    for op in ops:
        tags.append(TAGS.get(op.kind, op.kind))
        new = Sym(f"{base.text}[{'·'.join(tags)}]",
                  base.latex + r"_{\mathrm{" + ",".join(tags) + "}}")
        out.append((current, new))
        current = new
    return out


def _gamma(op):
    p = op.position
    return (Sym("γ" + sup(f"({p})"), rf"\gamma^{{({p})}}"),
            Sym("β" + sup(f"({p})"), rf"\beta^{{({p})}}"))


_MU, _VAR, _XHAT = S("μ", r"\mu"), S("σ²", r"\sigma^2"), S("x̂", r"\hat x")


def forward_items(op, n, sym_in, sym_out):
    """The forward step of ``op`` for sample ``n``."""
    P = op.params
    if op.kind not in TAGS:  # a user's layer: what went in and what came out
        return [Eq([sym_out, EQ, Sym(f"{op.kind}({sym_in.text})",
                                     rf"\operatorname{{{op.kind}}}\left({sym_in.latex}\right)"),
                    EQ, Mat(op.a[n])])]
    if op.kind == "dropout":
        if P["mask"] is None:
            return [Eq([sym_out, EQ, sym_in, EQ, Mat(op.a[n])]),
                    Para([f"Dropout (p = {P['p']:g}) is the identity in evaluation."])]
        m = S("m")
        return [Eq([sym_out, EQ, m, ODOT, sym_in, EQ, Mat(P["mask"][n]), ODOT, Mat(op.x[n]),
                    EQ, Mat(op.a[n])]),
                Para([f"Inverted dropout, p = {P['p']:g}: each entry of the mask m is 0 "
                      f"(dropped) or 1/(1 − p) = {1 / (1 - P['p']):.6g} (kept and rescaled)."])]
    gamma, beta = _gamma(op)
    batch = op.kind == "batch_norm"
    mean = P["mean"] if batch else P["mean"][n]
    var = P["var"] if batch else P["var"][n]
    where = ("over the batch, per feature" if op.training else "the running averages") \
        if batch else "over the features of this sample"
    items = [Para([("Batch" if batch else "Layer") + " normalisation: μ and σ² are taken "
                   + where + f", ε = {P['eps']:g}."]),
             Eq([_MU, EQ, Mat(np.ravel(mean))]), Eq([_VAR, EQ, Mat(np.ravel(var))]),
             Eq([_XHAT, EQ, Sym(f"({sym_in.text} − μ) ⊘ √(σ² + ε)",
                                rf"\left({sym_in.latex} - \mu\right) \oslash \sqrt{{\sigma^2 + \epsilon}}"),
                 EQ, Mat(P["x_hat"][n])]),
             Eq([sym_out, EQ, gamma, ODOT, _XHAT, PLUS, beta, EQ, Mat(P["gamma"]), ODOT,
                 Mat(P["x_hat"][n]), PLUS, Mat(P["beta"]), EQ, Mat(op.a[n])])]
    return items


def backward_items(op, n, d, sym_in, sym_out):
    """The backward step of ``op`` for sample ``n``; ``d(sym)`` is the notation's
    ``∂ℓ/∂sym``."""
    P = op.params
    g_out, g_in = op.g_out[n], None if op.g_in is None else op.g_in[n]
    din, dout = d(sym_in), d(sym_out)
    if op.kind not in TAGS:
        return [] if g_in is None else [Eq([din, EQ, Mat(g_in)])]
    if op.kind == "dropout":
        if P["mask"] is None:
            return [Eq([din, EQ, dout, EQ, Mat(g_out)])] if g_in is not None else []
        if g_in is None:
            return [Para(["The input layer's gradient is not needed: backpropagation stops here."])]
        return [Eq([din, EQ, S("m"), ODOT, dout, EQ, Mat(P["mask"][n]), ODOT, Mat(g_out), EQ,
                    Mat(g_in)])]
    gamma, beta = _gamma(op)
    items = [Eq([d(gamma), EQ, dout, ODOT, _XHAT, EQ, Mat(g_out), ODOT, Mat(P["x_hat"][n]), EQ,
                 Mat(g_out * P["x_hat"][n])]),
             Eq([d(beta), EQ, dout, EQ, Mat(g_out)])]
    if g_in is None:
        return items
    batch = op.kind == "batch_norm"
    if batch and not op.training:
        items.append(Eq([din, EQ, gamma, Sym(" ⊘ √(σ² + ε)", r" \oslash \sqrt{\sigma^2 + \epsilon}"),
                         ODOT, dout, EQ, Mat(P["gamma"] / np.sqrt(P["var"] + P["eps"])), ODOT,
                         Mat(g_out), EQ, Mat(g_in)]))
        items.append(Para(["In evaluation the running statistics are constants."]))
        return items
    over = "the batch (Σ over its N samples)" if batch else "the features (Σ over j)"
    g_hat = Sym("ĝ", r"\hat g")
    items.append(Eq([g_hat, EQ, gamma, ODOT, dout]))
    items.append(Eq([din, EQ, Sym("(1/(n √(σ² + ε))) ⊙ (n ĝ − Σ ĝ − x̂ ⊙ Σ ĝ ⊙ x̂)",
                                  r"\frac{1}{n\sqrt{\sigma^2+\epsilon}} \odot \left(n\,\hat g"
                                  r" - \textstyle\sum \hat g - \hat x \odot \sum \hat g \odot \hat x\right)"),
                     EQ, Mat(g_in)]))
    note = ("The statistics are taken over " + over + ", so each row of the input gradient "
            "depends on every " + ("sample of the batch" if batch else "feature")
            + f" (n = {op.x.shape[0 if batch else 1]}).")
    items.append(Para([note]))
    return items


def parameter_items(op):
    """``γ`` and ``β`` of a normalisation (for the page's parameter section)."""
    if op.kind not in ("batch_norm", "layer_norm"):
        return []
    gamma, beta = _gamma(op)
    return [Eq([gamma, EQ, Mat(op.params["gamma"])]), Eq([beta, EQ, Mat(op.params["beta"])])]


def batch_items(op, d_J):
    """``∂J/∂γ`` and ``∂J/∂β``: the engine's sums over the batch."""
    if op.kind not in ("batch_norm", "layer_norm"):
        return []
    gamma, beta = _gamma(op)
    return [Eq([d_J(gamma), EQ, Mat(op.params["grad_gamma"])]),
            Eq([d_J(beta), EQ, Mat(op.params["grad_beta"])])]

