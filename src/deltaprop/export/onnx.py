"""A network as an ONNX graph, for ONNX Runtime or any other ONNX runtime.

Each thing exports itself: an activation writes the nodes it becomes
(:meth:`Activation.onnx_nodes <deltaprop.activations.Activation.onnx_nodes>`), a layer
writes its own in evaluation mode (:meth:`Layer.onnx_nodes
<deltaprop.layers.Layer.onnx_nodes>`: ``Gemm`` then the activation's nodes for ``Dense``,
nothing for ``Dropout``, ``BatchNormalization`` with the running statistics,
``LayerNormalization``). This module only builds the graph around them, in three stages:

1. **Inputs** (:func:`feature_inputs`): declare the graph's inputs and return the name of
   the float matrix ``(N, n_inputs)`` the first layer takes. A model trained on a table
   (its data contract, ``net.data_info_["columns"]``) takes the table's columns by name and
   encodes them as the file records: each column writes its own nodes
   (:meth:`TableEncoder.onnx_inputs <deltaprop.datasets.encoding.TableEncoder.onnx_inputs>`:
   imputation, indicators, one-hot, booleans, scaling). Any other takes one input ``X`` in
   the network's dtype, then the standardisation ``deltaprop train`` recorded
   (``net.preprocessing_``: ``Sub``, ``Div``). Another stage, a function
   ``inputs(graph, net) -> name`` that declares inputs (``graph.input``) and writes the
   nodes that make the matrix from them (nodes of the ``ai.onnx.ml`` domain are at hand:
   ``graph.node(op, inputs, domain="ai.onnx.ml", ...)``), is passed as
   ``to_onnx(net, inputs=...)``; the layers and the head do not change.
2. **Layers** (:func:`layer_nodes`): each layer's own nodes, in order.
3. **Head** (:data:`HEADS`, by the network's task): the outputs skl2onnx gives the same
   model: ``label`` (the class labels as trained, strings or numbers, by ``ArgMax`` or the
   0.5 threshold and a ``Gather`` from the labels) and ``probabilities`` for a classifier,
   ``label`` (0/1 per label) and ``probabilities`` for multilabel targets, ``variable`` (in
   the targets' units: the recorded target scaling undone by ``Mul``, ``Add``) for a
   regressor.

:func:`network_graph` gives stages 2 and 3 as nodes and initializers for another graph (the
skl2onnx converters of :mod:`deltaprop.export.sklearn_onnx` use it). The model carries the
feature names, the class labels, the task and deltaprop's version in its
``metadata_props``, and for a table its input columns (name, kind, type) and the rule for
missing values it was trained with. Needs the ``onnx`` extra (``pip install 'deltaprop[onnx]'``).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np

from ..devices import to_host

__all__ = ["DEFAULT_OPSET", "EXTRA", "GraphBuilder", "HEADS", "feature_inputs",
           "standardize_nodes", "layer_nodes", "network_graph", "label_values", "metadata",
           "to_onnx", "write_model", "require_onnx"]

#: The opset of the default domain: 17, the first with LayerNormalization; ONNX Runtime
#: runs it from version 1.11.
DEFAULT_OPSET = 17
#: What to install for the exporters.
EXTRA = "pip install 'deltaprop[onnx]'"


def require_onnx():
    """The ``onnx`` module, or an ImportError that names the extra to install."""
    try:
        import onnx
    except ImportError:
        raise ImportError(f"exporting to ONNX needs the onnx package: {EXTRA}") from None
    return onnx


class GraphBuilder:
    """Collects the nodes, initializers, inputs and outputs of an ONNX graph.

    What an activation's or a layer's ``onnx_nodes`` uses: :meth:`node` (one node, returns
    its output's name), :meth:`constant` (an initializer in the graph's dtype) and the
    attributes :attr:`dtype` and :attr:`opset`.

    Parameters
    ----------
    dtype : {"float32", "float64"}
        The dtype of the network's tensors (and of float constants).
    opset : int
        The opset of the default domain.
    unique_name, unique_node_name : callable, optional
        ``hint -> name`` giving tensor and node names unused elsewhere in the graph (a
        converter inside skl2onnx passes its scope's); by default ``hint_1, hint_2...``.

    Attributes
    ----------
    nodes, initializers, inputs, outputs : list
        ``NodeProto``, ``TensorProto`` and ``ValueInfoProto`` lists, in order.
    elem_type : int
        The ``TensorProto`` element type of :attr:`dtype`.
    """

    #: The opset of each other domain a node may use (``graph.node(..., domain=...)``); the
    #: model imports those its nodes use.
    DOMAIN_OPSETS = {"ai.onnx.ml": 3}

    def __init__(self, dtype, opset=DEFAULT_OPSET, *, unique_name=None, unique_node_name=None):
        onnx = require_onnx()
        self.helper, self.numpy_helper, self.TensorProto = (onnx.helper, onnx.numpy_helper,
                                                            onnx.TensorProto)
        self.dtype = np.dtype(dtype)
        self.elem_type = onnx.helper.np_dtype_to_tensor_dtype(self.dtype)
        self.opset = int(opset)
        self.nodes: list = []
        self.initializers: list = []
        self.inputs: list = []
        self.outputs: list = []
        self.counts: dict[str, int] = {}
        self.taken: set[str] = set()
        self.domains: set[str] = set()
        #: ``metadata_props`` that a stage adds (the input stage of a data contract: its
        #: columns), beside those of :func:`metadata`.
        self.metadata: dict[str, str] = {}
        self.unique_name = unique_name or self.count_name
        self.unique_node_name = unique_node_name or (lambda hint: self.count_name(f"{hint}_op"))

    def count_name(self, hint):
        """``hint_n``, the ``n``-th name asked for with this hint (skipping a name already
        given, such as an input's)."""
        while True:
            n = self.counts[hint] = self.counts.get(hint, 0) + 1
            name = f"{hint}_{n}"
            if name not in self.taken:
                self.taken.add(name)
                return name

    def node(self, op_type, inputs, *, output=None, domain="", **attributes):
        """Add one node ``op_type(inputs)`` with its attributes; returns the name of its
        output (``output`` when given, else a new one)."""
        output = output or self.unique_name(op_type.lower())
        if domain:
            if domain not in self.DOMAIN_OPSETS:
                raise ValueError(f"unknown ONNX domain {domain!r}; known: "
                                 f"{', '.join(self.DOMAIN_OPSETS)}")
            self.domains.add(domain)
        self.nodes.append(self.helper.make_node(op_type, list(inputs), [output],
                                                name=self.unique_node_name(op_type),
                                                domain=domain, **attributes))
        return output

    def node_float32(self, op_type, inputs, **attributes):
        """:meth:`node` for an operator that ONNX Runtime implements in float32 only (Erf):
        in a float64 graph, its inputs are cast to float32 and its output back, so that
        the model runs (to float32's precision in that operator)."""
        if self.dtype == np.float32:
            return self.node(op_type, inputs, **attributes)
        float32 = self.TensorProto.FLOAT
        y = self.node(op_type, [self.node("Cast", [x], to=float32) for x in inputs],
                      **attributes)
        return self.node("Cast", [y], to=self.elem_type)

    def constant(self, value, hint="c", dtype=None):
        """Add ``value`` as an initializer; returns its name. Floating-point values take
        the graph's dtype unless ``dtype`` says otherwise; text becomes strings."""
        array = np.asarray(to_host(value))
        if dtype is not None:
            array = array.astype(dtype)
        elif array.dtype.kind == "f":
            array = array.astype(self.dtype)
        if array.dtype.kind in "US":
            array = array.astype(str).astype(object)
        name = self.unique_name(hint)
        self.initializers.append(self.numpy_helper.from_array(np.ascontiguousarray(array)
                                                              if array.dtype != object
                                                              else array, name))
        return name

    def tensor_type(self, dtype):
        """The ``TensorProto`` element type of a NumPy dtype (text: STRING)."""
        dtype = np.dtype(dtype)
        if dtype.kind in "USO":
            return self.TensorProto.STRING
        return self.helper.np_dtype_to_tensor_dtype(dtype)

    def input(self, name, elem_type, shape):
        """Declare a graph input (``None`` in ``shape`` for the number of rows); returns
        ``name``. Declare the inputs before the nodes: a node's generated name never takes
        an input's."""
        if name in self.taken:
            raise ValueError(f"the graph already has a tensor named {name!r}")
        self.taken.add(name)
        self.inputs.append(self.helper.make_tensor_value_info(name, elem_type, shape))
        return name

    def output(self, name, tensor, elem_type, shape):
        """Declare the graph output ``name``, the value of ``tensor`` (through an Identity
        node when the names differ)."""
        if any(i.name == name for i in self.inputs):
            raise ValueError(f"the input {name!r} has the name of the graph's output {name!r}: "
                             f"an ONNX graph cannot have both (rename the column)")
        if tensor != name:
            self.node("Identity", [tensor], output=name)
        self.outputs.append(self.helper.make_tensor_value_info(name, elem_type, shape))

    def model(self, metadata=None, doc_string=""):
        """The ``ModelProto`` of the graph, with ``metadata`` in its ``metadata_props``."""
        from .. import __version__

        helper = self.helper
        graph = helper.make_graph(self.nodes, "deltaprop", self.inputs, self.outputs,
                                  self.initializers, doc_string=doc_string)
        opsets = [helper.make_opsetid("", self.opset)] + [
            helper.make_opsetid(d, self.DOMAIN_OPSETS[d]) for d in sorted(self.domains)]
        model = helper.make_model(graph, opset_imports=opsets, producer_name="deltaprop",
                                  producer_version=__version__, doc_string=doc_string)
        # the oldest IR that holds the opset: the widest choice of runtimes
        model.ir_version = helper.find_min_ir_version_for(opsets)
        props = {**self.metadata, **(metadata or {})}
        if props:
            helper.set_model_props(model, props)
        return model


# -- stage 1: inputs -----------------------------------------------------------------------------
def standardize_nodes(graph, net, x):
    """``(x - mean) / scale`` with the standardisation recorded in ``net.preprocessing_``
    (``deltaprop train``), or ``x`` itself when there is none. A preprocessing step with no
    ONNX form is an error, never left out."""
    steps = dict(getattr(net, "preprocessing_", None) or {})
    state = steps.pop("standardize", None)
    if steps:
        raise ValueError(f"the model's preprocessing step {next(iter(steps))!r} has no ONNX "
                         f"form")
    if state is None:
        return x
    centred = graph.node("Sub", [x, graph.constant(np.asarray(state["mean"]), "mean")])
    return graph.node("Div", [centred, graph.constant(np.asarray(state["scale"]), "scale")])


def feature_inputs(graph, net):
    """The default input stage; returns the name of the matrix the first layer takes.

    A model trained on a table (``net.data_info_["columns"]``, the data contract of
    ``deltaprop train FILE.csv``) takes the table's columns by name, each ``[N, 1]``, and
    encodes them as the file records (:meth:`TableEncoder.onnx_inputs
    <deltaprop.datasets.encoding.TableEncoder.onnx_inputs>`: each column writes its own
    nodes). Any other takes one input ``X``, ``(N, n_inputs)`` in the network's dtype,
    standardised as recorded (:func:`standardize_nodes`).

    Another input stage is a function with this signature, passed to :func:`to_onnx` as
    ``inputs``.
    """
    columns = (getattr(net, "data_info_", None) or {}).get("columns")
    if columns:
        from ..datasets.encoding import TableEncoder

        return TableEncoder.from_state(columns).onnx_inputs(graph)
    x = graph.input("X", graph.elem_type, [None, net.n_inputs])
    return standardize_nodes(graph, net, x)


# -- stage 2: layers ------------------------------------------------------------------------------
def layer_nodes(graph, net, x):
    """Every layer's own nodes (evaluation mode), in order, from the matrix ``x``; returns
    the name of the network's output ``(N, n_outputs)``."""
    for layer in net.layers:
        x = layer.onnx_nodes(graph, x)
    return x


# -- stage 3: heads -------------------------------------------------------------------------------
def label_values(classes, integers=False):
    """The class labels as an array for a ``Gather``: text as strings, integers and
    booleans as int64, other numbers as float64 (``integers``: as int64, skl2onnx's
    convention for float labels)."""
    classes = np.asarray(to_host(classes))
    if classes.dtype.kind in "USO":
        return classes.astype(str)
    if classes.dtype.kind in "biu" or integers:
        return classes.astype(np.int64)
    return classes.astype(np.float64)


def classification_head(graph, net, y, *, classes, **_):
    """``label`` and ``probabilities``: the argmax of several outputs, or one output's 0.5
    threshold with ``[1 - p, p]`` as the probabilities (as ``predict`` and
    ``predict_proba``)."""
    if net.n_outputs == 1:
        proba = graph.node("Concat", [graph.node("Sub", [graph.constant(1.0), y]), y], axis=1)
        above = graph.node("Cast", [graph.node("Greater", [y, graph.constant(0.5)])],
                           to=graph.TensorProto.INT64)
        index = graph.node("Reshape", [above, graph.constant(np.array([-1], np.int64))])
    else:
        proba = y
        index = graph.node("ArgMax", [y], axis=1, keepdims=0)
    labels = label_values(classes)
    label = graph.node("Gather", [graph.constant(labels, "classes", dtype=labels.dtype), index],
                       axis=0)
    n_classes = max(net.n_outputs, 2)
    return {"label": (label, graph.tensor_type(labels.dtype), [None]),
            "probabilities": (proba, graph.elem_type, [None, n_classes])}


def multilabel_head(graph, net, y, **_):
    """``label``, 1 where a label's probability is above 0.5 (int64), and
    ``probabilities``."""
    label = graph.node("Cast", [graph.node("Greater", [y, graph.constant(0.5)])],
                       to=graph.TensorProto.INT64)
    return {"label": (label, graph.TensorProto.INT64, [None, net.n_outputs]),
            "probabilities": (y, graph.elem_type, [None, net.n_outputs])}


def regression_head(graph, net, y, *, target_scaling=None, **_):
    """``variable``: the outputs in the targets' units (``y * scale + mean`` when the
    targets were standardised for training)."""
    if target_scaling is not None:
        mean, scale = target_scaling
        y = graph.node("Mul", [y, graph.constant(np.asarray(scale, dtype=np.float64), "t_scale")])
        y = graph.node("Add", [y, graph.constant(np.asarray(mean, dtype=np.float64), "t_mean")])
    return {"variable": (y, graph.elem_type, [None, net.n_outputs])}


#: The head of each task: ``head(graph, net, y, classes=..., target_scaling=...)`` returns
#: ``{output name: (tensor, element type, shape)}``.
HEADS: dict[str, Callable[..., dict]] = {
    "classification": classification_head, "multilabel": multilabel_head,
    "regression": regression_head}


def recorded_target_scaling(net):
    """``(mean, scale)`` of the targets as ``deltaprop train`` recorded them, or None."""
    scaling = (getattr(net, "data_info_", None) or {}).get("target_scaling")
    return None if not scaling else (scaling["mean"], scaling["scale"])


def network_graph(net, input_name, graph=None, *, classes=None, target_scaling=None):
    """The layers and the head of ``net``, reading the float matrix ``input_name``.

    Parameters
    ----------
    net : Sequential
    input_name : str
        The tensor ``(N, n_inputs)``, in the network's dtype, that the first layer takes.
    graph : GraphBuilder, optional
        The builder to add to (a new one in the network's dtype by default).
    classes : array_like, optional
        The labels ``label`` gives (default: ``net.classes``).
    target_scaling : (mean, scale), optional
        A regressor's target standardisation, undone in ``variable`` (default: the one
        ``deltaprop train`` recorded, if any).

    Returns
    -------
    nodes : list of onnx.NodeProto
    initializers : list of onnx.TensorProto
    outputs : dict
        ``{"label": (tensor, element type, shape), "probabilities": ...}`` for a
        classifier, ``{"variable": ...}`` for a regressor.
    """
    graph = graph or GraphBuilder(net.dtype)
    y = layer_nodes(graph, net, input_name)
    outputs = HEADS[net.task](
        graph, net, y, classes=net.classes if classes is None else classes,
        target_scaling=(recorded_target_scaling(net) if target_scaling is None
                        else target_scaling))
    return graph.nodes, graph.initializers, outputs


def metadata(net, classes=None):
    """The model's ``metadata_props``: deltaprop's version, the task, the dtype, the feature
    and target names when known, the rule for missing values of a table, the class labels
    of a classifier (JSON lists). The input stage adds its own (a table's ``columns``)."""
    from .. import __version__

    info = getattr(net, "data_info_", None) or {}
    props = {"deltaprop_version": __version__, "task": net.task, "dtype": str(net.dtype)}
    if info.get("feature_names"):
        props["feature_names"] = json.dumps(list(info["feature_names"]))
    if info.get("target_name"):
        props["target_name"] = str(info["target_name"])
    if info.get("targets"):
        props["targets"] = json.dumps(list(info["targets"]))
    if info.get("missing"):
        props["missing"] = str(info["missing"])
    if net.task != "regression":
        props["classes"] = json.dumps(np.asarray(net.classes if classes is None
                                                 else classes).tolist())
    return props


def write_model(model, path):
    """Write ``model`` to ``path`` atomically, as the model files are
    (:func:`deltaprop.io.write_atomically`): an error midway leaves any earlier file whole,
    a new file gets the umask's mode, an existing one keeps its own."""
    from ..io import write_atomically

    data = model.SerializeToString()
    write_atomically(path, lambda f: f.write(data))


def to_onnx(net, path=None, *, opset=DEFAULT_OPSET, inputs=feature_inputs):
    """``net`` as an ONNX model, written to ``path`` when given.

    Parameters
    ----------
    net : Sequential
    path : str or Path, optional
        Where to write the model (atomically).
    opset : int
        The opset of the default domain (13 or later; 17 or later with ``LayerNorm``).
    inputs : callable
        The input stage, ``inputs(graph, net) -> name`` of the float matrix the first layer
        takes (:func:`feature_inputs` by default; a data contract brings its own).

    Returns
    -------
    onnx.ModelProto
        Checked with ``onnx.checker`` (``full_check``: types and shapes too). Outputs
        ``label`` and ``probabilities`` (classifiers) or ``variable`` (regressors), as
        skl2onnx names them.
    """
    onnx = require_onnx()
    opset = int(opset)
    newest = onnx.defs.onnx_opset_version()
    if not 13 <= opset <= newest:
        raise ValueError(f"opset must be between 13 and {newest} (this onnx's newest), "
                         f"got {opset}")
    graph = GraphBuilder(net.dtype, opset)
    x = inputs(graph, net)
    _, _, outputs = network_graph(net, x, graph)
    for name, (tensor, elem_type, shape) in outputs.items():
        graph.output(name, tensor, elem_type, shape)
    model = graph.model(metadata(net), doc_string=f"deltaprop {type(net).__name__}: "
                                                  f"{net.task}, {net.n_inputs} inputs")
    onnx.checker.check_model(model, full_check=True)
    if path is not None:
        write_model(model, path)
    return model
