r"""The numbers of one forward and one backward sweep: :class:`LayerTrace`, :class:`Trace`
and :func:`explain`, which takes them from the engine.

A :class:`Trace` renders itself through :mod:`.notations` (a document in a lecture's
symbols) and :mod:`.renderers` (text, Markdown, LaTeX).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..activations import Activation
from .notations import build_document, get_notation
from .operations import OpTrace
from .renderers import LatexRenderer, MarkdownRenderer, TextRenderer

__all__ = ["LayerTrace", "Trace", "explain"]


@dataclass
class LayerTrace:
    r"""One layer's numbers after a forward and a backward sweep (rows are samples).

    The arrays named as in :class:`deltaprop.network.Dense` are copies of the engine's
    own (``fprime`` included, kept by the layer's record hook); ``error`` and ``g`` are
    the engine's rows taken per sample, for display.

    Attributes
    ----------
    index : int
        ``k``, counting the Dense layers from 1.
    activation : str
        Name of ``f``.
    activation_function : Activation
        ``f`` itself: its formulas are written by it.
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
        sample's share of ``J`` (``1/N`` for the mean, ``w_n/Σw`` with weights); NaN
        for a sample of weight 0, which the sweep multiplies by 0.
    fprime : ndarray or None
        ``layer.fprime``: ``f'(z)`` as the engine's backward step evaluated it (None for
        softmax, whose Jacobian is not diagonal).
    g : ndarray
        Presentation: per-sample :math:`\partial\ell_n/\partial a` before step ②. For a
        hidden layer the engine's ``layer.grad_output`` (step ⑤ of the layer above) taken
        per sample like ``error``; for the output layer the loss's ``gradient``, which the
        engine folds into the output delta without keeping it (and never forms for a
        fused pair).
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
    activation_function: Activation

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
        The Dense layers.
    ops : list of OpTrace
        The layers without weights between them (dropout, normalisation), each with the
        number of the Dense layer it follows.
    training : bool
        Whether the sweep ran in training mode (dropout masks, batch statistics).
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
        The network's settings (``loss`` by name); ``fused`` is True when the loss and
        the output activation are fused (softmax + cross-entropy, sigmoid + binary
        cross-entropy).
    loss_function : Loss
        The loss itself: its formulas are written by it.
    notation : str
        The default notation of the renderers.
    precision : int
        Significant digits of the rendered numbers.
    """

    def __init__(self, *, layers, X, T, J, losses, share, loss_function, reduction, l2,
                 fused, dtype, sample_weight, notation, precision, ops=(), training=False):
        self.layers = layers
        self.ops = list(ops)
        self.training = training
        self.loss_function = loss_function
        loss = loss_function.name
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
    def document(self, notation: str | None = None, sample: int | None = None,
                 max_samples: int = 3) -> Any:
        """The trace as a list of document items (see :class:`Eq`), in ``notation``."""
        return build_document(self, get_notation(notation or self.notation),
                              sample=sample, max_samples=max_samples)

    def to_text(self, notation: str | None = None, sample: int | None = None,
                precision: int | None = None, max_samples: int = 3, width: int = 100,
                max_rows: int = 8, max_cols: int = 8) -> str:
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

    def _repr_markdown_(self):
        """Jupyter shows a trace as its Markdown rendering (MathJax/KaTeX math)."""
        return self.to_markdown()

    def _repr_latex_(self):
        return self.to_latex()

    def to_markdown(self, notation: str | None = None, sample: int | None = None,
                    precision: int | None = None, max_samples: int = 3, max_rows: int = 8,
                    max_cols: int = 8) -> str:
        """Markdown with ``$…$`` / ``$$…$$`` math (GitHub, Jupyter, MkDocs with MathJax)."""
        doc = self.document(notation, sample, max_samples)
        return MarkdownRenderer(precision or self.precision, max_rows, max_cols).render(doc)

    def to_latex(self, notation: str | None = None, sample: int | None = None,
                 precision: int | None = None, max_samples: int = 3, standalone: bool = False,
                 max_rows: int = 6, max_cols: int = 6) -> str:
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

    def to_dict(self, notation: str | None = None) -> dict[str, Any]:
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
                # what the "W" entry holds, and how this notation's matrix relates to it
                "W_layout": ("deltaprop's layer.W (n_in x n_out); this notation's matrix is "
                             "its transpose (n_out x n_in)") if nota.transposed
                            else "as deltaprop's layer.W (n_in x n_out), this notation's layout",
            }
            for name in ("W", "b", "x", "z", "a", "delta", "error", "fprime", "g", "grad_W",
                         "grad_b"):
                value = getattr(layer, name)
                key = "input" if name == "x" else name
                entry[key] = None if value is None else np.asarray(value, float).tolist()
                entry[key + "_shape"] = None if value is None else list(np.shape(value))
            layers.append(entry)
        ops = []
        for op in self.ops:
            entry = {"kind": op.kind, "position": op.position, "after": op.after}
            for name, value in (("input", op.x), ("output", op.a), ("g_out", op.g_out),
                                ("g_in", op.g_in), *op.params.items()):
                entry[name] = (value if value is None or np.isscalar(value)
                               else np.asarray(value, float).tolist())
            ops.append(entry)
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
            "ops": ops,
            "training": self.training,
        }

    def to_json(self, notation: str | None = None, indent: int | None = 1) -> str:
        """:meth:`to_dict` as a JSON string."""
        return json.dumps(self.to_dict(notation), indent=indent)


def explain(net: Any, X: Any, T: Any, notation: str = "goodfellow", sample_weight: Any = None,
            precision: int = 6, training: bool = False) -> Trace:
    """Trace one forward and one backward sweep of ``net`` on ``(X, T)``.

    Runs ``gradients(X, T)`` on a copy of ``net`` whose layers record what their backward
    step sees (``Dense.record``), and copies what every layer then holds (``x``, ``z``,
    ``a``, ``f'(z)``, the gradient it received, ``delta``, ``grad_W``, ``grad_b``): the
    trace's numbers are the engine's. ``net`` itself is not changed.

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
        Significant digits of the rendered numbers (an integer >= 1).
    training : bool
        Sweep in training mode: dropout draws its masks, batch normalisation uses the
        batch's statistics (on the copy; ``net`` keeps its running averages).

    Returns
    -------
    Trace

    Examples
    --------
    >>> from deltaprop.explain import example, explain
    >>> trace = explain(*example("relu-2-2-1"))
    >>> trace.J
    1.125
    >>> print(trace.to_text())  # doctest: +SKIP
    """
    get_notation(notation)  # fail early on a bad name
    if isinstance(precision, bool) or not isinstance(precision, (int, np.integer)) \
            or precision < 1:
        raise ValueError(f"precision must be an integer >= 1 (significant digits), got "
                         f"{precision!r}")
    X = np.asarray(X)
    if X.ndim == 1:  # one sample: T is its target row, or its class label
        X = X[None, :]
        T = np.asarray(T)
        label = T.ndim == 0 or (T.size == 1 and net.n_outputs > 1)
        T = T.reshape(1) if label else T.reshape(1, -1)
    # One sweep of the engine, on a copy whose layers record what backward sees (on the
    # CPU: a trace copies every number of the sweep to the host anyway).
    probe = net.copy().to("cpu")
    Xv, Tv = probe.check_inputs(X, T)
    for layer in probe.layers:
        layer.record = True
    if not hasattr(probe.layers[-1], "W"):
        raise ValueError("explain needs a Dense output layer, but the network ends with "
                         f"{probe.layers[-1]!r}")
    J = probe.gradients(Xv, Tv, sample_weight=sample_weight, training=training)[0]
    N = len(Xv)
    if sample_weight is None:
        share = np.full(N, 1.0 / N if net.reduction == "mean" else 1.0)
        w = None
    else:
        w = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
        total = w.sum()
        share = (w / total if total > 0 else np.zeros(N)) if net.reduction == "mean" else w.copy()
    out = probe.layers[-1]
    loss_fn, act = probe.loss_function, out.activation
    # Per-sample losses, for display: the engine sums them into J without keeping them.
    losses = loss_fn.per_sample(out.z, out.a, Tv, act).astype(np.float64)

    layers, ops, k = [], [], 0
    for i, layer in enumerate(probe.layers):
        if not hasattr(layer, "W"):  # a layer without weights: dropout, a normalisation
            below = probe.layers[i - 1].grad_output if i else None
            ops.append(OpTrace(
                kind=layer.kind, position=i + 1, after=k, x=np.array(layer.x),
                a=np.array(layer.a), g_out=_per_sample(layer.grad_output, share),
                g_in=None if below is None else _per_sample(below, share), training=training,
                params=_op_params(layer)))
            continue
        k += 1
        if layer.grad_output is not None:
            g = _per_sample(layer.grad_output, share)
        else:  # the output layer: dℓ/dy for display (the engine does not keep it)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                g = np.asarray(loss_fn.gradient(layer.a, Tv), dtype=layer.a.dtype)
        layers.append(LayerTrace(
            index=k, activation=layer.activation.name, activation_function=layer.activation,
            W=layer.W.copy(), b=layer.b.copy(),
            x=np.array(layer.x), z=np.array(layer.z), a=np.array(layer.a),
            delta=np.array(layer.delta), grad_W=layer.grad_W.copy(),
            grad_b=layer.grad_b.copy(), error=_per_sample(layer.delta, share),
            fprime=None if layer.fprime is None else np.array(layer.fprime), g=g))
    return Trace(layers=layers, X=np.array(Xv), T=np.array(Tv), J=float(J), losses=losses,
                 share=share, loss_function=loss_fn, reduction=net.reduction, l2=net.l2,
                 fused=loss_fn.fuses_with(act), dtype=str(net.dtype), sample_weight=w,
                 notation=notation, precision=precision, ops=ops, training=training)


def _op_params(layer):
    """Copies of what a layer without weights holds after the sweep."""
    if layer.kind == "dropout":
        return {"p": layer.p, "mask": None if layer.mask is None else np.array(layer.mask)}
    if layer.kind not in ("batch_norm", "layer_norm"):
        return {}  # a user's layer: its input, output and gradients only
    return {name: np.array(getattr(layer, name)) for name in
            ("mean", "var", "x_hat", "gamma", "beta", "grad_gamma", "grad_beta")} | {
        "eps": layer.eps}


def _per_sample(rows, share):
    """The engine's rows of ``∂J/∂·`` as per-sample ``∂ℓₙ/∂·``: each row divided by its
    sample's share of J; NaN for a sample of weight 0 (its rows are 0)."""
    out = np.full(rows.shape, np.nan, dtype=rows.dtype)
    scale = share[:, None].astype(rows.dtype)
    np.divide(rows, scale, out=out, where=scale != 0)
    return out
