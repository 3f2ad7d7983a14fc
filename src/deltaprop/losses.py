"""Losses: per-sample value and gradient with respect to the network output ``y``.

A loss ``l(y, t)`` is one small object. ``value`` gives one number per sample (row),
``gradient`` gives ``dl/dy`` per sample: Goodfellow et al.'s step ① ``g <- grad_y L(t, y)``.
Reducing over the batch (``"mean"`` or ``"sum"``) and the L2 term belong to the
network's objective (:class:`deltaprop.network.Sequential`), not to the loss.

Three pairs have a fused path, used on purpose because the maths cancels:

* softmax + ``cross_entropy``: ``dl/dz = y - t`` (the softmax Jacobian times ``-t/y``);
* sigmoid + ``binary_cross_entropy``: ``dl/dz = y - t`` (``sigma'`` cancels ``1/(y(1-y))``);
* exponential + ``poisson``: ``dl/dz = y - t`` (``f' = y`` cancels ``1 - t/y``).

The fused value is computed from the pre-activation ``z`` (log-sum-exp, softplus) so
that saturated outputs give finite losses and gradients: no ``log 0``, no inf, no nan.

Each loss also writes its own formulas for :mod:`deltaprop.explain`, as ``(text, latex)``
pairs in the output and target symbols of a notation: :meth:`Loss.formula`,
:meth:`Loss.gradient_formula`, :meth:`Loss.fused_delta_formula` and
:meth:`Loss.residual_gradient_formula`. The base class gives a generic form, so a new
loss is explained without further work.
"""

from __future__ import annotations

import numpy as np

from . import kernels
from .activations import Activation, Exponential, Sigmoid, Softmax, operator_name

__all__ = ["Loss", "LOSSES", "get_loss"]

LOSSES: dict[str, type[Loss]] = {}


def register(cls):
    """Class decorator: make a loss available by its ``name``."""
    LOSSES[cls.name] = cls
    return cls


def get_loss(spec) -> Loss:
    """Return a loss instance from a name (``"mse"``) or an instance."""
    if isinstance(spec, Loss):
        return spec
    if isinstance(spec, str) and spec.lower() in LOSSES:
        return LOSSES[spec.lower()]()
    raise ValueError(f"unknown loss {spec!r}; valid names are: {', '.join(sorted(LOSSES))}")


class Loss:
    """Base class for losses.

    Attributes
    ----------
    name : str
        Registry name.
    outputs : tuple of str or None
        Output activations this loss fits; ``None`` means any.
    fused_activation : type or None
        The output activation class with which the gradient with respect to the
        pre-activation simplifies to ``y - t`` (the loss decides; see :meth:`fuses_with`).
    default_output : str
        The output activation to pair this loss with when none is given.
    task : {"classification", "regression"}
        What the loss is for when the network declares no task: ``"classification"``
        losses take class labels as targets.
    tasks : tuple of str
        Every task the loss can serve when a network declares one (``MLP(task=...)``):
        the squared errors serve all three (one-hot or 0/1 targets for classes, as in
        Nielsen's sigmoid network with the quadratic cost).
    """

    name = "loss"
    #: Name of this loss's output delta in :mod:`deltaprop.kernels` (one pass for the
    #: per-sample value and δ), or None for NumPy only; :meth:`_delta_kernel_args` says
    #: with which output activation it applies. A subclass that redefines the maths loses
    #: the inherited kernel unless it names one itself.
    fused_kernel: str | None = None
    outputs: tuple[str, ...] | None = None
    fused_activation: type[Activation] | None = None
    default_output = "identity"
    task = "regression"
    tasks: tuple[str, ...] = ("regression", "classification", "multilabel")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        own = vars(cls)
        if "fused_kernel" not in own and any(m in own for m in (
                "value", "gradient", "fused_value", "fused_delta", "output_delta",
                "per_sample")):
            cls.fused_kernel = None

    def _delta_kernel_args(self, activation, n_outputs):
        """``(grad_scale, value_scale)`` of the fused output delta with ``activation``, or
        None when the kernel does not apply to that pairing."""
        if self.fuses_with(activation):
            return 1.0, 1.0
        return None

    @property
    def fused_output(self):
        """Registry name of :attr:`fused_activation` (None when the loss fuses with none)."""
        return None if self.fused_activation is None else self.fused_activation.name

    def task_for(self, n_outputs):
        """The task for a network with ``n_outputs`` output units: ``"classification"``,
        ``"multilabel"`` (independent yes/no outputs) or ``"regression"``."""
        return self.task

    def value(self, y, t):
        """Per-sample loss, shape ``(N,)``."""
        raise NotImplementedError

    def gradient(self, y, t):
        """Per-sample ``dl/dy``, shape ``(N, K)``."""
        raise NotImplementedError

    def fused_value(self, z, t):
        """Per-sample loss computed from the output pre-activation ``z`` (fused pairs)."""
        raise NotImplementedError

    def fused_delta(self, y, t, out=None):
        """``dl/dz`` for the fused pair: ``y - t`` (see the module docstring)."""
        return np.subtract(y, t, out=out)

    def fuses_with(self, activation) -> bool:
        """Whether the chain rule through ``activation`` cancels to ``y - t`` (its class,
        or a subclass of it, is :attr:`fused_activation`)."""
        return self.fused_activation is not None and isinstance(activation, self.fused_activation)

    def per_sample(self, z, y, t, activation):
        """Per-sample loss from the output pre-activation ``z`` and output ``y = f(z)``:
        computed from ``z`` for a fused pair (finite where ``y`` saturates)."""
        if self.fuses_with(activation):
            return self.fused_value(z, t)
        return self.value(y, t)

    def output_delta(self, z, y, t, activation, out=None):
        """Steps ① and ② at the output layer: ``(per-sample loss, dl/dz)``.

        For a fused pair ``dl/dz = y - t`` (σ' or the softmax Jacobian cancelled
        analytically, see the module docstring); otherwise the chain rule
        ``g = dl/dy`` (step ①) times ``f'(z)`` (step ②). ``out`` receives ``dl/dz``
        when given.
        """
        if self.fused_kernel is not None and out is not None:
            kernel = kernels.get("output_delta", z.size, like=z)
            scales = None if kernel is None else self._delta_kernel_args(activation, z.shape[-1])
            if scales is not None and _suits_kernel(z, y, t, out):
                per_sample = np.empty_like(z, shape=(len(z),))  # on z's device
                dt = z.dtype.type
                kernel(z, y, t, out, per_sample, kernels.LOSS_CODES[self.fused_kernel],
                       dt(scales[0]), dt(scales[1]))
                return per_sample, out
        if self.fuses_with(activation):
            return self.fused_value(z, t), self.fused_delta(y, t, out=out)
        return self.value(y, t), activation.backward(z, y, self.gradient(y, t), out=out)

    def check_output(self, activation):
        """Raise ``ValueError`` if the output activation does not fit this loss."""
        if self.outputs is not None and activation.name not in self.outputs:
            raise ValueError(
                f"loss {self.name!r} does not fit output activation {activation.name!r}: "
                f"use output={self.outputs[0]!r}"
            )

    def prepare_targets(self, t, n_outputs, dtype):
        """Targets as an array ``(N, n_outputs)``; subclasses check their domain.

        A 1-D target vector is accepted for a single output unit.
        """
        if t.ndim == 1 and n_outputs == 1:
            return t.reshape(-1, 1)
        return t

    def __repr__(self):
        return f"{type(self).__name__}()"

    # -- how explain writes it: (text, latex) pairs --------------------------------------
    # ``y`` and ``t`` are the (text, latex) symbols of the output and of the target in a
    # lecture's notation (y and t, aᴸ and y, ŷ and y, ...); vector operations are
    # elementwise (⊙, ⊘).
    def symbol(self):
        """The loss's name as ``(text, latex)``; by default its registry name."""
        return operator_name(self.name)

    def formula(self, y, t):
        """The per-sample loss ``ℓ(y, t)``; by default the loss's symbol applied to them."""
        (yt, yl), (tt, tl), (nt, nl) = y, t, self.symbol()
        return f"{nt}({yt}, {tt})", nl + r"\left(" + yl + ", " + tl + r"\right)"

    def gradient_formula(self, y, t):
        """``∂ℓ/∂y`` (step ①); by default the gradient of the symbol applied to them."""
        (yt, yl), (tt, tl), (nt, nl) = y, t, self.symbol()
        return (f"∇_{yt} {nt}({yt}, {tt})",
                r"\nabla_{" + yl + "} " + nl + r"\left(" + yl + ", " + tl + r"\right)")

    def fused_delta_formula(self, y, t):
        """``∂ℓ/∂z`` of the fused pair (see :meth:`fused_delta`): ``y − t``."""
        (yt, yl), (tt, tl) = y, t
        return f"{yt} − {tt}", yl + " - " + tl

    def residual_gradient_formula(self, e):
        """``∂ℓ/∂y`` as a constant times the residual ``e = t − y`` (Hagan et al.'s
        ``−2e``), or None when the gradient is not of that form. A linear map applied to
        ``e`` commutes with the constant, so ``e`` may be a product such as ``A e``."""
        return None


@register
class HalfSquaredError(Loss):
    r"""Goodfellow et al.; Nielsen: :math:`\ell = \tfrac12\,\lVert t - y\rVert^2`, :math:`\partial\ell/\partial y = y - t`."""

    name = "half_squared_error"
    fused_kernel = "squared"

    def value(self, y, t):
        e = t - y
        return 0.5 * np.einsum("ij,ij->i", e, e)

    def gradient(self, y, t):
        return y - t

    def _delta_kernel_args(self, activation, n_outputs):
        return (1.0, 0.5) if _identity_output(activation) else None

    def formula(self, y, t):
        (yt, yl), (tt, tl) = y, t
        return f"½‖{tt} − {yt}‖²", r"\tfrac12\lVert " + tl + " - " + yl + r"\rVert^2"

    def gradient_formula(self, y, t):
        (yt, yl), (tt, tl) = y, t
        return f"{yt} − {tt}", yl + " - " + tl

    def residual_gradient_formula(self, e):
        (et, el) = e
        return f"−{et}", "-" + el


@register
class SquaredError(Loss):
    r"""Hagan et al.'s summand: :math:`\ell = \lVert t - y\rVert^2`, :math:`\partial\ell/\partial y = -2e`, :math:`e = t - y`."""

    name = "squared_error"
    fused_kernel = "squared"

    def value(self, y, t):
        e = t - y
        return np.einsum("ij,ij->i", e, e)

    def gradient(self, y, t):
        return 2.0 * (y - t)

    def _delta_kernel_args(self, activation, n_outputs):
        return (2.0, 1.0) if _identity_output(activation) else None

    def formula(self, y, t):
        (yt, yl), (tt, tl) = y, t
        return f"‖{tt} − {yt}‖²", r"\lVert " + tl + " - " + yl + r"\rVert^2"

    def gradient_formula(self, y, t):
        (yt, yl), (tt, tl) = y, t
        return f"−2({tt} − {yt})", r"-2\left(" + tl + " - " + yl + r"\right)"

    def residual_gradient_formula(self, e):
        (et, el) = e
        return f"−2 {et}", r"-2\," + el


@register
class MSE(Loss):
    r"""Rousseau's lecture notes: :math:`\ell = \frac{1}{n_K}\lVert y - t\rVert^2`, :math:`\partial\ell/\partial y = \frac{2}{n_K}(y - t)`."""

    name = "mse"
    fused_kernel = "squared"

    def value(self, y, t):
        e = y - t
        return np.einsum("ij,ij->i", e, e) / y.shape[1]

    def gradient(self, y, t):
        return (2.0 / y.shape[1]) * (y - t)

    def _delta_kernel_args(self, activation, n_outputs):
        return (2.0 / n_outputs, 1.0 / n_outputs) if _identity_output(activation) else None

    # dim y: the number of outputs (Rousseau's n_K)
    def formula(self, y, t):
        (yt, yl), (tt, tl) = y, t
        return (f"(1/dim {yt})‖{yt} − {tt}‖²",
                r"\tfrac{1}{\operatorname{dim} " + yl + r"}\lVert " + yl + " - " + tl + r"\rVert^2")

    def gradient_formula(self, y, t):
        (yt, yl), (tt, tl) = y, t
        return (f"(2/dim {yt})({yt} − {tt})",
                r"\tfrac{2}{\operatorname{dim} " + yl + r"}\left(" + yl + " - " + tl + r"\right)")


def _suits_kernel(*arrays):
    """2-D, C-contiguous, of one dtype, with at least one column: what the fused output
    delta takes."""
    dtype = arrays[0].dtype
    return all(a.ndim == 2 and a.dtype == dtype and a.flags.c_contiguous and a.shape[1]
               for a in arrays) and arrays[0].shape == arrays[2].shape


def _identity_output(activation):
    return getattr(activation, "fused_kernel", None) == "identity"


def _check_unit_interval(t, name):
    if t.min() < 0 or t.max() > 1:
        r, c = np.argwhere((t < 0) | (t > 1))[0]
        raise ValueError(
            f"{name} targets must lie in [0, 1]: T[{r}, {c}] = {float(t[r, c]):g}"
        )


@register
class CrossEntropy(Loss):
    r"""Cross-entropy on probability outputs (Rousseau; Sayrol; Hagan et al.).

    .. math:: \ell = -\sum_j t_j \log y_j, \qquad
              \frac{\partial \ell}{\partial z} = y - t \ \text{(fused with softmax)}

    Targets are one-hot or probability rows (non-negative, summing to 1), or integer
    class labels (converted to one-hot). The fused gradient needs rows that sum to 1.
    """

    name = "cross_entropy"
    tasks = ("classification",)
    fused_kernel = "softmax_cross_entropy"
    outputs = ("softmax",)
    fused_activation = Softmax
    default_output = "softmax"
    task = "classification"

    def value(self, y, t):
        with np.errstate(divide="ignore"):
            logy = np.log(y)
        return -np.einsum("ij,ij->i", t, np.where(t > 0, logy, 0.0))

    def gradient(self, y, t):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(t > 0, -t / y, 0.0).astype(y.dtype, copy=False)

    def formula(self, y, t):
        (yt, yl), (tt, tl) = y, t
        return f"−Σⱼ {tt}ⱼ log {yt}ⱼ", r"-\sum_j {" + tl + r"}_j \log {" + yl + "}_j"

    def gradient_formula(self, y, t):
        (yt, yl), (tt, tl) = y, t
        return f"−{tt} ⊘ {yt}", "-" + tl + r" \oslash " + yl

    def fused_value(self, z, t):
        # -sum_j t_j log softmax(z)_j = sum_j t_j (logsumexp(z) - z_j)
        m = z.max(axis=1, keepdims=True)
        lse = m + np.log(np.exp(z - m).sum(axis=1, keepdims=True))
        return np.einsum("ij,ij->i", t, lse - z)

    def prepare_targets(self, t, n_outputs, dtype):
        if t.ndim == 1:  # integer class labels
            if t.dtype.kind == "f" and not np.all(np.mod(t, 1) == 0):
                raise ValueError("cross_entropy: 1-D targets must be integer class labels")
            labels = t.astype(np.int64)
            bad = (labels < 0) | (labels >= n_outputs)
            if bad.any():
                i = int(np.argmax(bad))
                raise ValueError(
                    f"class label T[{i}] = {labels[i]} is out of range for {n_outputs} "
                    f"outputs (valid labels are 0..{n_outputs - 1})"
                )
            onehot = np.zeros((len(labels), n_outputs), dtype=dtype)
            onehot[np.arange(len(labels)), labels] = 1.0
            return onehot
        if t.ndim != 2:
            return t  # the caller reports the shape error
        if t.min() < 0:
            r, c = np.argwhere(t < 0)[0]
            raise ValueError(
                f"cross_entropy targets must be non-negative: T[{r}, {c}] = {float(t[r, c]):g}"
            )
        sums = t.sum(axis=1)
        bad = np.abs(sums - 1.0) > 1e-3
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(
                f"cross_entropy targets must be probability rows summing to 1 "
                f"(or integer labels): row {i} sums to {sums[i]:.6g}"
            )
        return t


@register
class BinaryCrossEntropy(Loss):
    r"""Binary cross-entropy per output unit, summed over units.

    .. math:: \ell = -\sum_j \bigl[t_j \log y_j + (1 - t_j)\log(1 - y_j)\bigr], \qquad
              \frac{\partial \ell}{\partial z} = y - t \ \text{(fused with sigmoid)}

    The fused value is :math:`\sum_j \mathrm{softplus}(z_j) - t_j z_j`, finite for any ``z``.
    """

    name = "binary_cross_entropy"
    fused_kernel = "sigmoid_binary_cross_entropy"
    outputs = ("sigmoid",)
    fused_activation = Sigmoid
    default_output = "sigmoid"
    task = "classification"

    def task_for(self, n_outputs):
        # One sigmoid unit is a yes/no classifier; several are independent labels.
        return "classification" if n_outputs == 1 else "multilabel"

    def value(self, y, t):
        with np.errstate(divide="ignore", invalid="ignore"):
            a = np.where(t > 0, t * np.log(y), 0.0)
            b = np.where(t < 1, (1.0 - t) * np.log1p(-y), 0.0)
        return -(a + b).sum(axis=1)

    def gradient(self, y, t):
        with np.errstate(divide="ignore", invalid="ignore"):
            return (y - t) / (y * (1.0 - y))

    def formula(self, y, t):
        (yt, yl), (tt, tl) = y, t
        return (f"−Σⱼ [{tt}ⱼ log {yt}ⱼ + (1 − {tt}ⱼ) log(1 − {yt}ⱼ)]",
                r"-\sum_j \left[{" + tl + r"}_j \log {" + yl + r"}_j + (1 - {" + tl
                + r"}_j)\log(1 - {" + yl + r"}_j)\right]")

    def gradient_formula(self, y, t):
        (yt, yl), (tt, tl) = y, t
        return (f"({yt} − {tt}) ⊘ ({yt} ⊙ (1 − {yt}))",
                r"\left(" + yl + " - " + tl + r"\right) \oslash \left(" + yl + r" \odot (1 - "
                + yl + r")\right)")

    def fused_value(self, z, t):
        softplus = np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))
        return (softplus - t * z).sum(axis=1)

    def prepare_targets(self, t, n_outputs, dtype):
        t = super().prepare_targets(t, n_outputs, dtype)
        _check_unit_interval(t.reshape(len(t), -1), "binary_cross_entropy")
        return t


@register
class Poisson(Loss):
    r"""Poisson negative log-likelihood of counts, for a positive output ``y`` (the rate).

    .. math:: \ell = \sum_j \bigl(y_j - t_j \log y_j\bigr), \qquad
              \frac{\partial \ell}{\partial y} = 1 - t \oslash y, \qquad
              \frac{\partial \ell}{\partial z} = y - t \ \text{(fused with the exponential)}

    The constant :math:`\log t_j!` is left out, as in ``torch.nn.PoissonNLLLoss(full=False)``;
    scikit-learn's half Poisson deviance differs from ``ℓ`` by the constant
    :math:`\sum_j t_j \log t_j - t_j`. The fused value :math:`\sum_j e^{z_j} - t_j z_j` is
    computed from ``z``. Unfused, the output must be positive (softplus, or an identity
    output that stays positive). Targets must be non-negative.
    """

    name = "poisson"
    tasks = ("regression",)
    outputs = ("exponential", "softplus", "identity")
    fused_activation = Exponential
    default_output = "exponential"
    task = "regression"

    def value(self, y, t):
        with np.errstate(divide="ignore", invalid="ignore"):
            tlogy = np.where(t != 0, t * np.log(y), 0.0)
        return (y - tlogy).sum(axis=1)

    def gradient(self, y, t):
        with np.errstate(divide="ignore", invalid="ignore"):
            return (1.0 - np.where(t != 0, t / y, 0.0)).astype(y.dtype, copy=False)

    def fused_value(self, z, t):
        return (np.exp(z) - t * z).sum(axis=1)

    def formula(self, y, t):
        (yt, yl), (tt, tl) = y, t
        return (f"Σⱼ ({yt}ⱼ − {tt}ⱼ log {yt}ⱼ)",
                r"\sum_j \left({" + yl + r"}_j - {" + tl + r"}_j \log {" + yl + r"}_j\right)")

    def gradient_formula(self, y, t):
        (yt, yl), (tt, tl) = y, t
        return f"1 − {tt} ⊘ {yt}", "1 - " + tl + r" \oslash " + yl

    def prepare_targets(self, t, n_outputs, dtype):
        t = super().prepare_targets(t, n_outputs, dtype)
        if t.ndim == 2 and t.size and t.min() < 0:
            r, c = np.argwhere(t < 0)[0]
            raise ValueError(
                f"poisson targets must be non-negative counts: T[{r}, {c}] = {float(t[r, c]):g}"
            )
        return t
