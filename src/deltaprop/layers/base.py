"""The layer protocol: what every layer of a :class:`~deltaprop.Sequential` provides.

A layer maps a batch whose rows are samples to another batch. It

* declares its parameters by name (:attr:`Layer.parameter_names`, e.g. ``("W", "b")``)
  and hands them out with their gradients as ``(value, grad)`` pairs
  (:meth:`Layer.parameters`, micrograd's composition: the network's list is the
  concatenation of its layers' lists). The values live at ``layer.<name>`` and the
  gradients at ``layer.grad_<name>``; the network moves both into its one flat
  :class:`~deltaprop.parameters.ParameterStore` through :meth:`Layer.bind`;
* names the parameters that weight decay and the L2 term apply to
  (:attr:`Layer.decayed`: weight matrices, never biases or the scales of a
  normalisation);
* may hold non-trainable state that a model file keeps (:meth:`Layer.buffers`: the
  running statistics of batch normalisation) and state that makes a run reproducible
  (:meth:`Layer.get_state`: a random generator);
* is told the batch's sample weights before a training forward step
  (:meth:`Layer.weigh_batch`; batch normalisation weights its statistics);
* computes ``forward(x, training, keep)`` and ``backward(g)``: ``g`` is the gradient of
  the objective with respect to the layer's output; ``backward`` fills the parameter
  gradients and returns the gradient with respect to its input, the ``g`` of the layer
  below (step ⑤ of Goodfellow et al.'s algorithm 6.4);
* describes itself: :meth:`Layer.get_config` (a JSON-able dict that rebuilds it, for
  model files) and :meth:`Layer.summary_row` (for ``summary()``);
* exports itself: :meth:`Layer.onnx_nodes` writes the ONNX nodes of its evaluation mode,
  :meth:`Layer.to_torch` gives its ``torch.nn`` modules and :meth:`Layer.from_torch`
  recognises them (:mod:`deltaprop.export` only walks the layers).

``training`` selects the behaviour of training (dropout masks, batch statistics) or of
evaluation; ``keep`` asks the layer to remember what its backward step needs, at least its
input ``x`` and its output ``a`` (and ``z`` for a layer with an activation), in work
buffers it may reuse from batch to batch (results handed to the user never alias them).
"""

from __future__ import annotations

import numpy as np

from .._validation import check_dtype
from ..devices import device_of, to_host

__all__ = ["Layer", "LAYERS", "register_layer", "layer_from_config", "parameter",
           "MAX_BUFFER_SIZES", "to_torch_tensor", "from_torch_tensor"]

LAYERS: dict[str, type] = {}

#: Batch sizes whose work arrays a layer keeps (full batch, last batch, evaluation).
MAX_BUFFER_SIZES = 3


def register_layer(cls):
    """Class decorator: make a layer type available by its ``kind`` (for model files)."""
    LAYERS[cls.kind] = cls
    return cls


def layer_from_config(config, dtype):
    """Rebuild a layer from ``{"kind": ..., **get_config()}``."""
    config = dict(config)
    kind = config.pop("kind", None)
    if kind not in LAYERS:
        raise ValueError(f"unknown layer kind {kind!r}; known kinds: {', '.join(sorted(LAYERS))}")
    return LAYERS[kind].from_config(config, dtype)


def to_torch_tensor(array, parameter=True):
    """A host copy of ``array`` as a ``torch.nn.Parameter`` (or a plain tensor, for a
    buffer), same dtype, same values."""
    import torch

    tensor = torch.from_numpy(np.array(to_host(array), copy=True))
    return torch.nn.Parameter(tensor) if parameter else tensor


def from_torch_tensor(tensor):
    """A NumPy copy of a torch tensor (detached, on the host)."""
    return tensor.detach().cpu().numpy().copy()


def parameter(name, doc=""):
    """A property for the parameter ``name``: reading gives the array (a view into the
    network's flat store); assigning copies a finite array of the same shape into it,
    in place, so that optimizers and views keep pointing at the weights."""

    attr = "_" + name

    def get(self):
        return getattr(self, attr)

    def set(self, value):
        target = getattr(self, attr)
        arr = np.asarray(to_host(value))
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
        if arr.shape != target.shape:
            raise ValueError(f"{name} must have shape {target.shape}, got {arr.shape}")
        with np.errstate(over="ignore", invalid="ignore"):  # checked on the next line
            cast = arr.astype(target.dtype)
        if not np.isfinite(cast).all():
            what = "contains NaN or inf" if not np.isfinite(arr).all() else \
                f"has values too large for {target.dtype}"
            raise ValueError(f"{name} {what}")
        target[...] = device_of(target).asarray(cast)  # cast itself on the CPU

    return property(get, set, doc=doc or f"The parameter ``{name}``.")


class Layer:
    """Base class of the layers (see the module docstring for the protocol).

    Attributes
    ----------
    kind : str
        Registry name, stored in model files.
    parameter_names : tuple of str
        The trainable parameters, in the order of :meth:`parameters`.
    decayed : tuple of str
        The parameters that weight decay and the network's ``l2`` apply to.
    buffer_names : tuple of str
        Non-trainable arrays kept in model files (see :meth:`buffers`).
    activation : Activation or None
        The activation applied at the end of the layer, if it has one (the loss may fuse
        with the output layer's).
    min_training_batch : int
        The smallest batch the layer can train on (2 for batch statistics).
    record : bool
        When True, :meth:`backward` keeps a copy of the gradient it receives as
        ``grad_output`` (for :func:`deltaprop.explain`).
    hold_noise : bool
        When True, a layer that draws random numbers in training (dropout) reuses its last
        draw, so that finite differences see one fixed function.
    accepts_sparse : bool
        Whether the layer takes a SciPy sparse batch as input (Dense does); a network given
        sparse ``X`` needs a first layer that does.
    concurrent_infer : bool
        Whether prediction may run copies of the layer in several threads at once.
    """

    kind = "layer"
    parameter_names: tuple[str, ...] = ()
    decayed: tuple[str, ...] = ()
    buffer_names: tuple[str, ...] = ()
    activation = None
    min_training_batch = 1
    record = False
    hold_noise = False
    accepts_sparse = False
    #: Whether :meth:`infer` may run on copies of the layer (``copy.copy``: the same
    #: parameters, work arrays of their own) in several threads at once, each on other
    #: rows: prediction then uses every core (:meth:`Sequential.outputs
    #: <deltaprop.Sequential.outputs>`). True where evaluation reads the parameters and
    #: writes the layer's own work arrays only.
    concurrent_infer = False
    dtype = None

    # -- sizes: None where the layer adapts to its input (dropout) -----------------------
    n_in = None
    n_out = None

    # -- parameters -------------------------------------------------------------------------
    def parameters(self):
        """``[(value, grad), ...]`` in the order of :attr:`parameter_names`."""
        return [(getattr(self, "_" + n), getattr(self, "grad_" + n)) for n in self.parameter_names]

    def bind(self, name, value, grad):
        """Adopt ``value`` and ``grad`` (views into the network's store) for ``name``."""
        setattr(self, "_" + name, value)
        setattr(self, "grad_" + name, grad)

    def n_params(self):
        return sum(value.size for value, _ in self.parameters())

    def buffers(self):
        """``{name: array}`` of the non-trainable arrays (kept in model files)."""
        return {name: getattr(self, name) for name in self.buffer_names}

    def set_buffer(self, name, value):
        target = getattr(self, name)
        value = np.asarray(to_host(value))
        if value.shape != target.shape:
            raise ValueError(f"{name} must have shape {target.shape}, got {value.shape}")
        target[...] = device_of(target).asarray(value)

    def to_device(self, device):
        """Move the buffers to ``device`` (a :class:`~deltaprop.devices.Device`) and drop
        the work arrays; the parameters move with the network's store."""
        for name in self.buffer_names:  # (no copy when a buffer is there already)
            setattr(self, name, device.asarray(getattr(self, name)))
        self.forget()

    def get_state(self):
        """JSON-able state other than arrays that a resumed run needs (e.g. a random
        generator's state), or None."""
        return None

    def set_state(self, state):
        pass

    def weigh_batch(self, sample_weight):
        """The sample weights (None: all equal) of the batch that the next training forward
        step sees. A layer whose training statistics are taken over the batch (BatchNorm)
        weights them, so that a weight of 2 is a duplicated row; the others ignore them."""

    def cast(self, dtype):
        """Convert every array of the layer to ``dtype`` (the network repacks afterwards)."""
        dtype = check_dtype(dtype)
        for name, (value, grad) in zip(self.parameter_names, self.parameters()):
            self.bind(name, value.astype(dtype), grad.astype(dtype))
        for name in self.buffer_names:
            setattr(self, name, getattr(self, name).astype(dtype))
        if self.dtype is not None:
            self.dtype = dtype
        self.forget()

    # -- the algorithm ------------------------------------------------------------------------
    def forward(self, x, training=False, keep=False):
        raise NotImplementedError

    def infer(self, x, out=None):
        """Evaluation-mode forward for prediction, block by block: the result may live in
        the layer's work arrays (valid until its next call), or in ``out`` when given (the
        network's output array). The default is :meth:`forward` (a new array)."""
        a = self.forward(x)
        if out is None:
            return a
        out[...] = a
        return out

    def forward_pair(self, x, training=False):
        """``(z, a)``: the pre-activation and the output, in new arrays (``z is a`` for
        a layer without an activation)."""
        a = self.forward(x, training)
        return a, a

    def backward(self, g, need_input_grad=True):
        raise NotImplementedError

    def forget(self):
        """Drop what the last forward/backward remembered, and the work buffers."""
        self.x = self.a = self.grad_output = None
        self._buffers = {}

    def work_arrays(self, n, make):
        """The work arrays for batch size ``n``, made by ``make(n)`` the first time; at most
        :data:`MAX_BUFFER_SIZES` batch sizes are kept."""
        bufs = self._buffers.get(n)
        if bufs is None:
            if len(self._buffers) >= MAX_BUFFER_SIZES:
                self._buffers.pop(next(iter(self._buffers)))
            bufs = self._buffers[n] = make(n)
        return bufs

    # -- description --------------------------------------------------------------------------
    def get_config(self):
        """A JSON-able dict from which :meth:`from_config` rebuilds the layer."""
        raise NotImplementedError

    @classmethod
    def from_config(cls, config, dtype):
        return cls(**config)

    # -- export -------------------------------------------------------------------------------
    def onnx_nodes(self, graph, x):
        """Add the ONNX nodes of the layer in evaluation mode, applied to the tensor named
        ``x``, to ``graph`` (a :class:`deltaprop.export.onnx.GraphBuilder`); return the name
        of the output tensor."""
        raise NotImplementedError(f"layer kind {self.kind!r} has no ONNX form: give its class "
                                  f"an onnx_nodes(graph, x) method")

    def to_torch(self):
        """The ``torch.nn`` modules that compute the layer, as a list (same parameters and
        buffers)."""
        raise NotImplementedError(f"layer kind {self.kind!r} has no PyTorch twin: give its "
                                  f"class a to_torch() method")

    @classmethod
    def from_torch(cls, modules, i):
        """``(layer, n)`` when ``modules[i:i + n]`` (``torch.nn`` modules) are this kind of
        layer, its parameters and buffers copied; None when ``modules[i]`` is not."""
        return None

    def summary_row(self):
        """``(activation or "", n_params)`` for the network's summary table."""
        return ("" if self.activation is None else self.activation.name), self.n_params()

    def __getstate__(self):
        # The work buffers are scratch space: a pickle or deep copy starts without them.
        return {**self.__dict__, "_buffers": {}}
