r"""The numbers of one forward and one backward sweep: :class:`LayerTrace`, :class:`Trace`
and :func:`explain`, which takes them from the engine.

A :class:`Trace` renders itself through :mod:`.notations` (a document in a lecture's
symbols) and :mod:`.renderers` (text, Markdown, LaTeX).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from .notations import build_document, get_notation
from .renderers import LatexRenderer, MarkdownRenderer, TextRenderer

__all__ = ["LayerTrace", "Trace", "explain"]


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
