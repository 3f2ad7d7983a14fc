"""Activation functions: each one small object with its value and its derivative.

An activation ``f`` is applied to the pre-activation ``z`` of a layer (Goodfellow et al.'s
``alpha``, Nielsen's ``z``, Hagan et al.'s ``n``) and gives the activation ``a = f(z)``.
In the backward step ② it turns the gradient with respect to ``a`` into the gradient
with respect to ``z``: ``g <- g * f'(z)`` for elementwise functions, and a
Jacobian-vector product for softmax.

Every method works in the dtype of its input (float32 stays float32) and accepts
``out=`` so that the layers can reuse their buffers.  New activations are one class
with ``@register``; :func:`get_activation` finds them by name.

Each activation also writes its own formulas, for :mod:`deltaprop.explain`:
:meth:`Activation.symbol` (its name) and :meth:`Activation.derivative_formula`
(``f'`` in the symbols of a notation), each a ``(text, latex)`` pair. The base class
gives a generic form, so a new activation is explained without further work.

An activation also exports itself: :meth:`Activation.onnx_nodes` writes the ONNX nodes it
becomes (:mod:`deltaprop.export.onnx` only walks the layers), :meth:`Activation.to_torch`
gives its ``torch.nn`` module and :meth:`Activation.from_torch` recognises one
(:mod:`deltaprop.export.torch`); one that is a single ONNX operator or ``torch.nn`` module
names it (``onnx_op = "Relu"``, ``torch_module = "ReLU"``).
"""

from __future__ import annotations

import math

import numpy as np

from . import kernels
from .devices import is_cupy

__all__ = ["Activation", "ACTIVATIONS", "get_activation", "activation_from_config", "register",
           "erf", "operator_name", "activation_from_torch"]

ACTIVATIONS: dict[str, type[Activation]] = {}

_SQRT_2 = math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_INV_SQRT_PI = 1.0 / math.sqrt(math.pi)


def register(cls):
    """Class decorator: make an activation available by its ``name``."""
    ACTIVATIONS[cls.name] = cls
    return cls


def get_activation(spec) -> Activation:
    """Return an activation instance from a name (``"relu"``) or an instance."""
    if isinstance(spec, Activation):
        return spec
    if isinstance(spec, str) and spec.lower() in ACTIVATIONS:
        return ACTIVATIONS[spec.lower()]()
    raise ValueError(
        f"unknown activation {spec!r}; valid names are: {', '.join(sorted(ACTIVATIONS))}"
    )


def activation_from_config(config) -> Activation:
    """Rebuild an activation from :meth:`Activation.get_config`'s dict."""
    config = dict(config)
    name = config.pop("name", None)
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; valid names are: "
                         f"{', '.join(sorted(ACTIVATIONS))}")
    return ACTIVATIONS[name](**config)


def activation_from_torch(module) -> Activation | None:
    """The activation that the ``torch.nn`` module ``module`` computes (each activation
    recognises its own twin, :meth:`Activation.from_torch`), or None."""
    for cls in ACTIVATIONS.values():
        found = cls.from_torch(module)
        if found is not None:
            return found
    return None


def _erf_numpy(x):
    """erf with NumPy only, used when SciPy is absent (within 6 ulp of ``math.erf``).

    For ``|x| < 2.5`` the positive-term series
    ``erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_n (2x^2)^n x / (2n+1)!!`` (no cancellation);
    above, the continued fraction
    ``erfc(x) = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...))))``.
    """
    if not isinstance(x, np.ndarray):
        x = np.asarray(x)
    ax = np.abs(x).astype(np.float64)
    result = np.empty_like(ax)
    small = ax < 2.5
    xs = ax[small]
    term = xs.copy()
    total = xs.copy()
    two_x2 = 2.0 * xs * xs
    for n in range(1, 80):
        term *= two_x2 / (2 * n + 1)
        total += term
    result[small] = _TWO_OVER_SQRT_PI * np.exp(-xs * xs) * total
    xl = ax[~small]
    frac = xl.copy()
    for n in range(60, 0, -1):
        frac = xl + (0.5 * n) / frac
    result[~small] = 1.0 - _INV_SQRT_PI * np.exp(-xl * xl) / frac
    return np.copysign(result, x).astype(x.dtype, copy=False)


_ERF: list = []  # SciPy's erf (faster; both are exact to double precision), or None, once looked up


def _scipy_erf():
    """SciPy's erf, imported on first use: importing scipy.special takes longer than the
    rest of ``import deltaprop``."""
    if not _ERF:
        try:
            from scipy.special import erf as scipy_erf
        except ImportError:  # pragma: no cover - depends on the environment
            scipy_erf = None
        _ERF.append(scipy_erf)
    return _ERF[0]


def erf(x, out=None):
    """The error function, elementwise, in the dtype of ``x`` (on ``x``'s device)."""
    if is_cupy(x):
        from cupyx.scipy.special import erf as cupy_erf
        return cupy_erf(x, out=out) if out is not None else cupy_erf(x)
    if not isinstance(x, np.ndarray):
        x = np.asarray(x)
    fast = _scipy_erf()
    if fast is not None:
        return fast(x, out=out) if out is not None else fast(x)
    r = _erf_numpy(x)
    if out is None:
        return r
    out[...] = r
    return out


def operator_name(name):
    r"""``(text, latex)`` of a function written by its name: ``("gelu_tanh",
    r"\operatorname{gelu\_tanh}")``."""
    return name, r"\operatorname{" + name.replace("_", r"\_") + "}"


def _into(out, value):
    """Return ``value``, copied into ``out`` when a buffer is given."""
    if out is None:
        return value
    np.copyto(out, value)
    return out


class Activation:
    """Base class: ``forward`` gives ``a = f(z)``, ``backward`` gives ``g * f'(z)``.

    Subclasses define ``forward`` and ``derivative``; an activation whose Jacobian is
    not diagonal (softmax) overrides ``backward`` instead.

    Attributes
    ----------
    name : str
        Registry name.
    init : {"glorot", "he"}
        Weight initialisation suited to a layer with this activation.
    elementwise : bool
        Whether ``f'(z)`` is a diagonal Jacobian.
    smooth : bool
        False for functions defined piecewise at ``z = 0`` (ReLU family).
    output_only : bool
        True for an output link that is no hidden activation (the exponential: stacked,
        it overflows); the estimators do not offer it for hidden layers.
    """

    name = "activation"
    init = "glorot"
    elementwise = True
    smooth = True  # False: piecewise at z = 0 (finite differences must not straddle it)
    output_only = False

    #: The ONNX operator that is this activation (``"Relu"``), or None: the activation then
    #: writes its nodes in :meth:`onnx_nodes`.
    onnx_op: str | None = None
    #: The ``torch.nn`` module that is this activation (``"ReLU"``), made with
    #: :meth:`torch_settings`; or None (then :meth:`to_torch` says how).
    torch_module: str | None = None

    #: Name of the activation in :mod:`deltaprop.kernels`' fused forward (``z + b``, then
    #: ``f``) and backward (``g ⊙ f'``, then ``Σ g``), or None for NumPy only. A subclass
    #: that redefines the maths (``forward``, ``derivative``, ``backward``) loses the
    #: inherited kernel unless it names one itself.
    fused_kernel: str | None = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        own = vars(cls)
        if any(m in own for m in ("forward", "derivative", "backward")):
            # New maths: the inherited kernel and exported forms would compute the parent's
            # function, so the subclass has none unless it names its own.
            if "fused_kernel" not in own:
                cls.fused_kernel = None
            for name in ("onnx_op", "torch_module", "onnx_nodes", "torch_settings", "to_torch",
                         "from_torch"):
                if name not in own:
                    setattr(cls, name, vars(Activation)[name])

    def kernel_parameter(self):
        """The one number the fused kernel takes (the leaky slope); 0 by default."""
        return 0.0

    def forward(self, z, out=None):
        raise NotImplementedError

    def derivative(self, z, a):
        """``f'(z)`` elementwise; ``a = f(z)`` is passed because many derivatives reuse it."""
        raise NotImplementedError

    def backward(self, z, a, g, out=None):
        """Step ②: the gradient with respect to ``z`` given ``g``, the gradient w.r.t. ``a``."""
        return np.multiply(g, self.derivative(z, a), out=out)

    def _kernel_for(self, name, *arrays):
        """The fused kernel ``name`` when this activation has one and the arrays suit it
        (2-D, C-contiguous, one dtype), else None."""
        if self.fused_kernel is None:
            return None
        kernel = kernels.get(name, arrays[0].size, like=arrays[0])
        if kernel is None:
            return None
        dtype = arrays[0].dtype
        for x in arrays:
            if x.ndim > 2 or x.dtype != dtype or not x.flags.c_contiguous:
                return None
        return kernel

    def forward_biased(self, z, b, out):
        """``z += b``, then ``a = f(z)`` into ``out``: a dense layer's forward step after
        its product, in one pass when a fused kernel is available (else the two NumPy
        steps). Returns ``a``."""
        kernel = self._kernel_for("bias_activation", z, b, out)
        if kernel is None or z.ndim != 2:
            z += b
            return self.forward(z, out=out)
        kernel(z, b, out, kernels.ACTIVATION_CODES[self.fused_kernel],
               z.dtype.type(self.kernel_parameter()))
        return out

    def backward_bias_grad(self, z, a, g, grad_b):
        """Steps ② and ③: ``g <- g ⊙ f'(z)`` in place (the error vector δ) and
        ``grad_b <- Σ_rows δ``; one pass when a fused kernel is available, otherwise
        :meth:`backward` and ``np.sum``. Returns δ (``g``)."""
        kernel = None
        if self.elementwise:
            kernel = self._kernel_for("delta_and_bias_grad", z, a, g, grad_b)
        if kernel is None or g.ndim != 2 or len(g) == 0:
            delta = self.backward(z, a, g, out=g)
            np.sum(delta, axis=0, out=grad_b)
            return delta
        kernel(z, a, g, grad_b, kernels.ACTIVATION_CODES[self.fused_kernel],
               g.dtype.type(self.kernel_parameter()))
        return g

    def __call__(self, z):
        return self.forward(np.asarray(z))

    def __repr__(self):
        return f"{type(self).__name__}()"

    def __eq__(self, other):
        return type(self) is type(other) and vars(self) == vars(other)

    def __hash__(self):
        return hash(self.name)

    def get_config(self):
        return {"name": self.name, **vars(self)}

    # -- what the rest of the library asks of an activation -----------------------------
    def initial_weights(self, n_in, n_out, rng, dtype):
        """Initial weights ``(n_in, n_out)`` for a layer with this activation.

        ``init = "glorot"``: Glorot-uniform, limit :math:`\\sqrt{6/(n_{in}+n_{out})}`
        (Glorot and Bengio, 2010), for the saturating and linear functions;
        ``init = "he"``: He-normal, standard deviation :math:`\\sqrt{2/n_{in}}`
        (He et al., 2015), for the ReLU family and GELU.
        """
        if self.init == "he":
            W = rng.normal(0.0, math.sqrt(2.0 / n_in), size=(n_in, n_out))
        else:
            limit = math.sqrt(6.0 / (n_in + n_out))
            W = rng.uniform(-limit, limit, size=(n_in, n_out))
        return W.astype(dtype)

    def saturated(self, z, a):
        """Boolean mask of the entries in a flat part of the curve, where ``f'`` has
        fallen below a few per cent of its maximum ("killing gradients"), or None when
        the notion does not apply to this activation."""
        return None

    def inactive(self, z, a):
        """Boolean mask of the entries where ``f'(z) = 0`` exactly, so that no gradient
        passes (a unit inactive for every sample is a *dead* unit), or None when the
        derivative never vanishes."""
        return None

    # -- how explain writes it: (text, latex) pairs --------------------------------------
    # ``s`` and ``a`` are the (text, latex) symbols of the pre-activation and of the
    # activation in a lecture's notation (α and h, z and a, n and a, ...). Products of
    # vectors are elementwise (⊙); a formula is a factor, bracketed where it needs it.
    def symbol(self):
        r"""The function's name as ``(text, latex)``, e.g. ``("σ", r"\sigma")``; by
        default its registry name."""
        return operator_name(self.name)

    def derivative_formula(self, s, a):
        r"""``f'(s)`` as ``(text, latex)`` in terms of ``s`` and ``a = f(s)``.

        For an activation that is not elementwise, the matrix that step ② multiplies
        the gradient by (the transposed Jacobian :math:`(\partial a/\partial s)^\top`).
        By default the function's symbol, primed, applied to ``s``; or that transposed
        Jacobian.
        """
        (st, sl), (at, al) = s, a
        if not self.elementwise:
            return (f"(∂{at}/∂{st})ᵀ",
                    r"\left(\frac{\partial " + al + r"}{\partial " + sl + r"}\right)^{\top}")
        ft, fl = self.symbol()
        return f"{ft}'({st})", fl + r"'\left(" + sl + r"\right)"

    # -- how it is exported: ONNX nodes and a PyTorch module -------------------------------
    def onnx_nodes(self, graph, z):
        """Add the ONNX nodes of ``f`` applied to the tensor named ``z`` to ``graph`` (a
        :class:`deltaprop.export.onnx.GraphBuilder`: ``graph.node(op, inputs, **attrs)``,
        ``graph.constant(value)``); return the name of the output tensor. By default the
        one operator :attr:`onnx_op`; an activation without either cannot be exported, and
        says so."""
        if self.onnx_op is None:
            raise NotImplementedError(f"activation {self.name!r} has no ONNX form: give its "
                                      f"class an onnx_op or an onnx_nodes(graph, z) method")
        return graph.node(self.onnx_op, [z])

    def torch_settings(self):
        """The keyword arguments of :attr:`torch_module` (e.g. a leaky ReLU's slope)."""
        return {}

    def to_torch(self):
        """The ``torch.nn`` module that computes this activation (its twin)."""
        if self.torch_module is None:
            raise NotImplementedError(f"activation {self.name!r} has no PyTorch twin: give its "
                                      f"class a torch_module or a to_torch() method")
        from torch import nn

        return getattr(nn, self.torch_module)(**self.torch_settings())

    @classmethod
    def from_torch(cls, module):
        """This activation, if the ``torch.nn`` module ``module`` computes it, else None.

        By default: ``module`` is of the type of a default instance's twin, with the same
        settings (``extra_repr``). Activations with parameters read them from the module.
        """
        try:
            twin = cls().to_torch()
        except (TypeError, NotImplementedError):
            return None
        if type(twin) is type(module) and twin.extra_repr() == module.extra_repr():
            return cls()
        return None


@register
class Identity(Activation):
    r"""``f(z) = z``, ``f'(z) = 1`` (the linear output of the worked 2-2-1 example)."""

    name = "identity"
    torch_module = "Identity"
    fused_kernel = "identity"

    def symbol(self):
        return "id", r"\operatorname{id}"

    def derivative_formula(self, s, a):
        return "1", "1"

    def forward(self, z, out=None):
        if out is None or out is z:
            return z
        np.copyto(out, z)
        return out

    def derivative(self, z, a):
        return np.ones_like(z)

    def backward(self, z, a, g, out=None):
        if out is None or out is g:
            return g
        np.copyto(out, g)
        return out

    def onnx_nodes(self, graph, z):
        return z


@register
class Sigmoid(Activation):
    r"""Logistic sigmoid.

    .. math:: \sigma(z) = \frac{1}{1 + e^{-z}}, \qquad \sigma'(z) = \sigma(z)\,(1 - \sigma(z))

    Evaluated as ``e/(1+e)`` with ``e = exp(-|z|)`` folded by sign, so it never overflows.
    """

    name = "sigmoid"
    onnx_op = "Sigmoid"
    torch_module = "Sigmoid"
    fused_kernel = "sigmoid"

    def forward(self, z, out=None):
        e = np.exp(-np.abs(z))  # in (0, 1]: never overflows
        out = np.divide(1.0, 1.0 + e, out=out)  # sigma(|z|)
        if type(z) is np.ndarray:
            np.multiply(out, e, out=out, where=z < 0)  # sigma(-|z|) = e / (1 + e)
        else:  # CuPy's ufuncs take no where= (its copyto does): the same values
            np.copyto(out, out * e, where=z < 0)
        return out

    def derivative(self, z, a):
        return a * (1.0 - a)

    def saturated(self, z, a):
        return (a < 0.01) | (a > 0.99)  # sigma' < 0.0099, 4 % of its maximum 1/4

    def symbol(self):
        return "σ", r"\sigma"

    def derivative_formula(self, s, a):
        (at, al) = a
        return f"{at} ⊙ (1 − {at})", al + r" \odot \left(1 - " + al + r"\right)"


@register
class Tanh(Activation):
    r"""Hyperbolic tangent, ``tanh'(z) = 1 - tanh^2(z)``."""

    name = "tanh"
    onnx_op = "Tanh"
    torch_module = "Tanh"
    fused_kernel = "tanh"

    def forward(self, z, out=None):
        return np.tanh(z, out=out)

    def derivative(self, z, a):
        return 1.0 - a * a

    def saturated(self, z, a):
        return np.abs(a) > 0.98  # tanh' < 0.0396, 4 % of its maximum 1

    def symbol(self):
        return "tanh", r"\tanh"

    def derivative_formula(self, s, a):
        (at, al) = a
        return f"(1 − {at} ⊙ {at})", r"\left(1 - " + al + r" \odot " + al + r"\right)"


@register
class ReLU(Activation):
    r"""Rectified linear unit ``max(z, 0)``.

    Its derivative is the step function; at ``z = 0`` exactly we take 0 (the
    convention of PyTorch and scikit-learn).
    """

    name = "relu"
    onnx_op = "Relu"
    torch_module = "ReLU"
    fused_kernel = "relu"
    init = "he"
    smooth = False

    def forward(self, z, out=None):
        if out is None or out is z:
            return np.maximum(z, 0.0, out=out)
        out.fill(0.0)  # max(z, zeros) is about twice as fast as max(z, 0.0) in NumPy
        return np.maximum(z, out, out=out)

    def derivative(self, z, a):
        return (z > 0).astype(z.dtype)

    def backward(self, z, a, g, out=None):
        return np.multiply(g, z > 0, out=out)

    def inactive(self, z, a):
        return z <= 0

    def symbol(self):
        return "ReLU", r"\operatorname{ReLU}"

    def derivative_formula(self, s, a):
        (st, sl) = s
        # step(s) = 1 where s > 0, 0 elsewhere (0 at s = 0, as in the derivative above)
        return f"step({st})", r"\operatorname{step}\left(" + sl + r"\right)"


@register
class LeakyReLU(Activation):
    r"""``z`` for ``z > 0``, ``slope * z`` otherwise; derivative ``slope`` at 0."""

    name = "leaky_relu"
    torch_module = "LeakyReLU"
    fused_kernel = "leaky_relu"
    init = "he"
    smooth = False

    def __init__(self, slope=0.01):
        self.slope = float(slope)

    def kernel_parameter(self):
        return self.slope

    def forward(self, z, out=None):
        return _into(out, np.where(z > 0, z, self.slope * z))

    def derivative(self, z, a):
        return np.where(z > 0, 1.0, self.slope).astype(z.dtype)

    def symbol(self):
        return "LeakyReLU", r"\operatorname{LeakyReLU}"

    def derivative_formula(self, s, a):
        (st, sl), c = s, f"{self.slope:g}"
        return (f"(1 if {st} > 0 else {c})",
                r"\left([" + sl + r" > 0] + " + c + r"\,[" + sl + r" \le 0]\right)")

    def onnx_nodes(self, graph, z):
        # forward's formula: ONNX's LeakyRelu takes its slope as a float32 attribute
        return graph.node("Where", [graph.node("Greater", [z, graph.constant(0.0)]), z,
                                    graph.node("Mul", [graph.constant(self.slope), z])])

    def torch_settings(self):
        return {"negative_slope": self.slope}

    @classmethod
    def from_torch(cls, module):
        from torch import nn

        return cls(module.negative_slope) if type(module) is nn.LeakyReLU else None


@register
class ELU(Activation):
    r"""``z`` for ``z > 0``, ``alpha (e^z - 1)`` otherwise; ``f' = f + alpha`` for ``z <= 0``."""

    name = "elu"
    torch_module = "ELU"
    init = "he"
    smooth = False

    def __init__(self, alpha=1.0):
        self.alpha = float(alpha)

    def forward(self, z, out=None):
        return _into(out, np.where(z > 0, z, self.alpha * np.expm1(np.minimum(z, 0.0))))

    def derivative(self, z, a):
        return np.where(z > 0, 1.0, a + self.alpha).astype(z.dtype)

    def symbol(self):
        return "ELU", r"\operatorname{ELU}"

    def derivative_formula(self, s, a):
        (st, sl), (at, al), c = s, a, f"{self.alpha:g}"
        return (f"(1 if {st} > 0 else {at} + {c})",
                r"\left([" + sl + r" > 0] + (" + al + " + " + c + r")\,[" + sl + r" \le 0]\right)")

    def onnx_nodes(self, graph, z):
        # forward's formula, not ONNX's Elu, which ONNX Runtime has in float32 only
        neg = graph.node("Sub", [graph.node("Exp", [graph.node("Min", [z, graph.constant(0.0)])]),
                                 graph.constant(1.0)])
        return graph.node("Where", [graph.node("Greater", [z, graph.constant(0.0)]), z,
                                    graph.node("Mul", [graph.constant(self.alpha), neg])])

    def torch_settings(self):
        return {"alpha": self.alpha}

    @classmethod
    def from_torch(cls, module):
        from torch import nn

        return cls(module.alpha) if type(module) is nn.ELU else None


@register
class Softplus(Activation):
    r"""``log(1 + e^z)``, computed as ``max(z, 0) + log1p(e^{-|z|})``; derivative ``sigma(z)``."""

    name = "softplus"
    torch_module = "Softplus"

    def forward(self, z, out=None):
        return np.add(np.maximum(z, 0.0), np.log1p(np.exp(-np.abs(z))), out=out)

    def derivative(self, z, a):
        return Sigmoid().forward(z)

    def derivative_formula(self, s, a):
        (st, sl) = s
        return f"σ({st})", r"\sigma\left(" + sl + r"\right)"

    def onnx_nodes(self, graph, z):
        # forward's formula, not ONNX's Softplus, which ONNX Runtime has in float32 only
        e = graph.node("Exp", [graph.node("Neg", [graph.node("Abs", [z])])])
        return graph.node("Add", [graph.node("Relu", [z]),
                                  graph.node("Log", [graph.node("Add", [graph.constant(1.0), e])])])

    def torch_settings(self):
        # torch returns z itself above the threshold: above 40, log(1 + e^z) is z to
        # float64's precision (its default, 20, is exact to float32's only)
        return {"beta": 1.0, "threshold": 40.0}

    @classmethod
    def from_torch(cls, module):
        from torch import nn

        if type(module) is nn.Softplus and module.beta == 1.0 and module.threshold >= 20.0:
            return cls()
        return None


@register
class Exponential(Activation):
    r"""``f(z) = e^z``, ``f'(z) = e^z``: the log link of Poisson regression.

    Capped at the largest finite number of the dtype (``z`` above ``log(max)`` gives
    ``max``), so that it never overflows to inf.
    """

    name = "exponential"
    output_only = True  # e^(e^(e^z)) overflows: a link for the output layer

    def forward(self, z, out=None):
        cap = np.nextafter(np.log(np.finfo(z.dtype).max), 0).astype(z.dtype)
        return np.exp(np.minimum(z, cap), out=out)

    def derivative(self, z, a):
        return a.copy()

    def symbol(self):
        return operator_name("exp")

    def derivative_formula(self, s, a):
        (at, al) = a
        return at, al

    def onnx_nodes(self, graph, z):
        cap = np.nextafter(np.log(np.finfo(graph.dtype).max), 0).astype(graph.dtype)
        return graph.node("Exp", [graph.node("Min", [z, graph.constant(cap)])])

    def to_torch(self):
        from .export.torch_modules import CappedExp

        return CappedExp()


@register
class SiLU(Activation):
    r"""SiLU / swish ``z sigma(z)``; derivative ``sigma(z) (1 + z (1 - sigma(z)))``."""

    name = "silu"
    torch_module = "SiLU"
    init = "he"

    def forward(self, z, out=None):
        return np.multiply(z, Sigmoid().forward(z), out=out)

    def derivative(self, z, a):
        s = Sigmoid().forward(z)
        return s * (1.0 + z * (1.0 - s))

    def symbol(self):
        return "SiLU", r"\operatorname{SiLU}"

    def derivative_formula(self, s, a):
        (st, sl) = s
        sig = r"\sigma\left(" + sl + r"\right)"
        return (f"σ({st}) ⊙ (1 + {st} ⊙ (1 − σ({st})))",
                sig + r" \odot \left(1 + " + sl + r" \odot \left(1 - " + sig + r"\right)\right)")

    def onnx_nodes(self, graph, z):
        return graph.node("Mul", [z, graph.node("Sigmoid", [z])])


@register
class GELU(Activation):
    r"""Exact GELU (Rousseau's lecture notes; Hendrycks and Gimpel).

    .. math:: \mathrm{GELU}(z) = z\,\Phi(z), \qquad
              \mathrm{GELU}'(z) = \Phi(z) + z\,\varphi(z),

    with :math:`\Phi(z) = \tfrac12\,(1 + \mathrm{erf}(z/\sqrt2))` and
    :math:`\varphi` the standard normal density.
    """

    name = "gelu"
    torch_module = "GELU"
    init = "he"

    @staticmethod
    def _cdf(z):
        return 0.5 * (1.0 + erf(z / _SQRT_2))

    def forward(self, z, out=None):
        return np.multiply(z, self._cdf(z), out=out)

    def derivative(self, z, a):
        return self._cdf(z) + z * (_INV_SQRT_2PI * np.exp(-0.5 * z * z))

    def symbol(self):
        return "GELU", r"\operatorname{GELU}"

    def derivative_formula(self, s, a):
        (st, sl) = s  # Φ and φ: the standard normal distribution function and density
        return (f"(Φ({st}) + {st} ⊙ φ({st}))",
                r"\left(\Phi\left(" + sl + r"\right) + " + sl + r" \odot \varphi\left("
                + sl + r"\right)\right)")

    def onnx_nodes(self, graph, z):
        # z Φ(z), Φ(z) = ½ (1 + erf(z / √2)), in the order of forward; ONNX Runtime has
        # Erf in float32 only, so a float64 graph takes erf to float32's precision
        erf_ = graph.node_float32("Erf", [graph.node("Div", [z, graph.constant(_SQRT_2)])])
        cdf = graph.node("Mul", [graph.constant(0.5),
                                 graph.node("Add", [graph.constant(1.0), erf_])])
        return graph.node("Mul", [z, cdf])


@register
class GELUTanh(Activation):
    r"""GELU with the tanh approximation.

    .. math:: f(z) = \tfrac12 z\,(1 + \tanh u), \quad u = \sqrt{2/\pi}\,(z + 0.044715 z^3),
    .. math:: f'(z) = \tfrac12 (1 + \tanh u) + \tfrac12 z\,(1 - \tanh^2 u)\,
              \sqrt{2/\pi}\,(1 + 3 \cdot 0.044715 z^2).
    """

    name = "gelu_tanh"
    torch_module = "GELU"
    init = "he"

    def forward(self, z, out=None):
        t = np.tanh(_SQRT_2_OVER_PI * (z + 0.044715 * z * z * z))
        return np.multiply(0.5 * z, 1.0 + t, out=out)

    def derivative(self, z, a):
        t = np.tanh(_SQRT_2_OVER_PI * (z + 0.044715 * z * z * z))
        du = _SQRT_2_OVER_PI * (1.0 + 3 * 0.044715 * z * z)
        return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * du

    def symbol(self):
        return "GELUₜₐₙₕ", r"\operatorname{GELU}_{\tanh}"

    def derivative_formula(self, s, a):
        (st, sl) = s
        u = f"√(2/π) ({st} + 0.044715 {st}³)"
        ul = r"\sqrt{2/\pi}\left(" + sl + r" + 0.044715\,{" + sl + r"}^{3}\right)"
        t, tl = f"tanh({u})", r"\tanh\left(" + ul + r"\right)"
        return (f"(½ (1 + {t}) + ½ {st} ⊙ (1 − {t}²) ⊙ √(2/π) (1 + 0.134145 {st}²))",
                r"\left(\tfrac12\left(1 + " + tl + r"\right) + \tfrac12\, " + sl
                + r" \odot \left(1 - {" + tl + r"}^{2}\right) \odot \sqrt{2/\pi}\left(1 + 0.134145\,{"
                + sl + r"}^{2}\right)\right)")

    def onnx_nodes(self, graph, z):
        # ½ z (1 + tanh(√(2/π) (z + 0.044715 z³))), in the order of forward
        z3 = graph.node("Mul", [graph.node("Mul", [z, z]), z])
        u = graph.node("Add", [z, graph.node("Mul", [graph.constant(0.044715), z3])])
        t = graph.node("Tanh", [graph.node("Mul", [graph.constant(_SQRT_2_OVER_PI), u])])
        half_z = graph.node("Mul", [graph.constant(0.5), z])
        return graph.node("Mul", [half_z, graph.node("Add", [graph.constant(1.0), t])])

    def torch_settings(self):
        return {"approximate": "tanh"}


@register
class Softmax(Activation):
    r"""Softmax over each row (Rousseau's lecture notes; Sayrol's ``o(a)``).

    .. math:: a_i = \frac{e^{z_i - m}}{\sum_c e^{z_c - m}}, \quad m = \max_c z_c

    Subtracting the row maximum changes nothing (shift invariance) and prevents overflow.
    The Jacobian ``diag(a) - a a^T`` is never formed; ``backward`` is its product with g:

    .. math:: (\nabla_z)_i = a_i \,\bigl(g_i - \textstyle\sum_c g_c a_c\bigr)
    """

    name = "softmax"
    torch_module = "Softmax"
    fused_kernel = "softmax"  # the forward; its backward is not elementwise
    elementwise = False

    def forward(self, z, out=None):
        out = np.subtract(z, z.max(axis=1, keepdims=True), out=out)
        np.exp(out, out=out)
        out /= out.sum(axis=1, keepdims=True)
        return out

    def derivative(self, z, a):
        raise TypeError("softmax has no elementwise derivative; use backward (a Jacobian-vector product)")

    def derivative_formula(self, s, a):
        (at, al) = a  # the Jacobian diag(a) − a aᵀ, symmetric: it is its own transpose
        return (f"(diag({at}) − {at} {at}ᵀ)",
                r"\left(\operatorname{diag}(" + al + ") - " + al + r"\,{" + al + r"}^{\top}\right)")

    def backward(self, z, a, g, out=None):
        s = np.einsum("ij,ij->i", g, a)[:, None]
        out = np.subtract(g, s, out=out)
        out *= a
        return out

    def onnx_nodes(self, graph, z):
        return graph.node("Softmax", [z], axis=1)

    def torch_settings(self):
        return {"dim": 1}

    @classmethod
    def from_torch(cls, module):
        from torch import nn

        return cls() if type(module) is nn.Softmax and module.dim in (1, -1) else None
