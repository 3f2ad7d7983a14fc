"""What a student computes, in the order of the sheet: the forward step, the loss, then
steps ① to ⑤ for every layer, and for a batch the averaged gradients.

Each :class:`Quantity` has the name of its entry in ``answers.json`` (in the chosen
notation's words: ``alpha1``, ``z2``, ``n1``, ...), its step and layer, and its key value
in deltaprop's layout, taken from the trace (:func:`quantities`). A notation that writes
the weight matrix one row per unit (Goodfellow et al., Nielsen) shows the weight
gradients transposed; :meth:`Quantity.sheet_value` gives the layout of the sheet.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Quantity", "NAMES", "quantities", "TRANSPOSED"]

#: answers.json names in each notation ({k}: deltaprop's layer k; {l}: Nielsen's l = k + 1).
NAMES = {
    "goodfellow": {"pre": "alpha{k}", "act": "h{k}", "grad_out": "grad_h{k}",
                   "grad_y": "grad_y", "err": "grad_alpha{k}", "grad_b": "grad_b{k}",
                   "grad_W": "grad_W{k}", "loss": "L", "J": "J"},
    "nielsen": {"pre": "z{l}", "act": "a{l}", "grad_out": "grad_a{l}", "grad_y": "grad_a{l}",
                "err": "delta{l}", "grad_b": "dC_db{l}", "grad_W": "dC_dw{l}", "loss": "C_x",
                "J": "C"},
    "hagan": {"pre": "n{k}", "act": "a{k}", "grad_out": "dF_da{k}", "grad_y": "dF_da{k}",
              "err": "S{k}", "grad_b": "dF_db{k}", "grad_W": "dF_dW{k}", "loss": "F",
              "J": "F_total"},
    "rousseau": {"pre": "z{k}", "act": "x{k}", "grad_out": "dl_dx{k}", "grad_y": "dl_dx{k}",
                 "err": "dl_dz{k}", "grad_b": "dl_db{k}", "grad_W": "dl_dW{k}", "loss": "l",
                 "J": "L_B"},
}
#: Notations whose weight matrix is deltaprop's W transposed (one row per unit).
TRANSPOSED = {"goodfellow": True, "nielsen": True, "hagan": False, "rousseau": False}

#: The step of each kind of quantity (① to ⑤ as in the Gradient computation notes).
STEPS = {"pre": "forward", "act": "forward", "loss": "loss", "J": "loss", "grad_y": "①",
         "err": "②", "grad_b": "③", "grad_W": "④", "grad_out": "⑤"}


@dataclass
class Quantity:
    """One entry of the answer file.

    Attributes
    ----------
    key : str
        Its name in ``answers.json`` (with ``[n]``, the sample from 1, in a batch).
    kind : str
        ``pre``, ``act`` (forward), ``loss`` (a sample's), ``J``, ``grad_y`` (step ①),
        ``err`` (②), ``grad_b`` (③), ``grad_W`` (④), ``grad_out`` (⑤, the gradient with
        respect to layer ``k``'s activation).
    k : int or None
        The layer (from 1) it belongs to.
    n : int or None
        The sample (from 0); None for a quantity of the whole batch.
    value : ndarray
        The key, in deltaprop's layout (``W`` gradients ``n_in × n_out``).
    transposed : bool
        Whether the sheet writes it transposed (a weight gradient in a notation with one
        row per unit).
    """

    key: str
    kind: str
    k: int | None
    n: int | None
    value: np.ndarray
    transposed: bool = False
    offset: int = 0   # Nielsen counts the input as layer 1: his layer l is deltaprop's k + 1

    @property
    def layer(self):
        """The layer whose step computes it, numbered as the notation numbers layers (⑤ of
        layer k + 1 gives the gradient of layer k's activation)."""
        return None if self.k is None else self.k + (self.kind == "grad_out") + self.offset

    @property
    def step(self):
        if self.n is None and self.kind in ("grad_W", "grad_b"):
            return "batch"
        return STEPS[self.kind]

    def sheet_value(self, value=None):
        """``value`` (default: the key) in the sheet's layout."""
        v = self.value if value is None else value
        return v.T if self.transposed else v

    @property
    def sheet_shape(self):
        return self.sheet_value().shape

    def where(self, n_samples=1):
        """Step, layer and sample in words: ``"② of layer 1 (sample 2)"``."""
        step = self.step
        if step == "forward":
            text = f"forward step, layer {self.layer}"
        elif step == "loss":
            text = "the loss" if self.kind == "loss" or n_samples == 1 else "J of the batch"
        elif step == "batch":
            text = f"the batch gradient of layer {self.layer}"
        else:
            text = f"{step} of layer {self.layer}"
        if self.n is not None and n_samples > 1:
            text += f" (sample {self.n + 1})"
        return text


def _name(notation, kind, k, K):
    names = NAMES[notation]
    pattern = names["grad_y"] if kind == "grad_y" else names[kind]
    return pattern.format(k=k, l=None if k is None else k + 1, K=K)


def quantities(trace, notation, fused=None):
    """The quantities of ``trace`` in the order of the sheet, keys taken from it."""
    K, N = len(trace.layers), trace.n_samples
    fused = trace.fused if fused is None else fused
    flip = TRANSPOSED[notation]
    offset = 1 if notation == "nielsen" else 0
    single = N == 1
    out = []

    def add(kind, k, n, value, transposed=False):
        key = _name(notation, kind, k, K)
        if n is not None and not single:
            key += f"[{n + 1}]"
        out.append(Quantity(key, kind, k, n, np.array(value, dtype=np.float64), transposed,
                            offset))

    for n in range(N):
        for layer in trace.layers:
            add("pre", layer.index, n, layer.z[n])
            add("act", layer.index, n, layer.a[n])
        if single:
            add("J", None, n, trace.J)
        else:
            add("loss", None, n, trace.losses[n])
        for layer in reversed(trace.layers):
            k = layer.index
            if k == K and not fused:
                add("grad_y", k, n, layer.g[n])
            add("err", k, n, layer.error[n])
            if single:  # the engine's own gradients (one sample: the batch's)
                add("grad_b", k, n, layer.grad_b)
                add("grad_W", k, n, layer.grad_W, flip)
            else:
                add("grad_b", k, n, layer.error[n])
                add("grad_W", k, n, np.outer(layer.x[n], layer.error[n]), flip)
            if k > 1:
                add("grad_out", k - 1, n, trace.layers[k - 2].g[n])
    if not single:
        add("J", None, None, trace.J)
        for layer in reversed(trace.layers):
            add("grad_b", layer.index, None, layer.grad_b)
            add("grad_W", layer.index, None, layer.grad_W, flip)
    return out
