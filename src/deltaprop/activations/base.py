"""The base class :class:`Activation`, the registry and the look-ups.

:class:`Activation` is the protocol every activation follows: its value and derivative, the
fused-kernel glue (:meth:`~Activation.forward_biased`, :meth:`~Activation.backward_bias_grad`:
a dense layer's bias step and activation in one pass of :mod:`deltaprop.kernels`), its
initialisation, what "saturated" and "inactive" mean, its formulas for
:mod:`deltaprop.explain` and its exported forms (ONNX nodes, ``torch.nn`` twin). A new
activation is one subclass with ``@register``; :func:`get_activation` finds it by name.
"""

from __future__ import annotations

import math

import numpy as np

from .. import kernels

ACTIVATIONS: dict[str, type[Activation]] = {}


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


def operator_name(name):
    r"""``(text, latex)`` of a function written by its name: ``("gelu_tanh",
    r"\operatorname{gelu\_tanh}")``."""
    return name, r"\operatorname{" + name.replace("_", r"\_") + "}"



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
