"""skl2onnx converters for :class:`deltaprop.sklearn.MLPClassifier` and
:class:`~deltaprop.sklearn.MLPRegressor`.

After :func:`register_skl2onnx`, ``skl2onnx.to_onnx(pipeline, X)`` converts a pipeline that
holds them (``StandardScaler`` then ``MLPClassifier``...) as it converts scikit-learn's own
MLP: the same outputs (``label`` and ``probabilities``, with skl2onnx's ``zipmap`` option,
or ``variable``), the graph of :func:`deltaprop.export.onnx.network_graph` inside, so that
every activation and layer kind exports (scikit-learn's converter maps five activation
names). skl2onnx's own documented way: ``update_registered_converter`` with a shape
calculator and a converter per class.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper
from skl2onnx import update_registered_converter
from skl2onnx.common.data_types import (DoubleTensorType, FloatTensorType, Int64TensorType,
                                        StringTensorType)
from skl2onnx.common.utils import check_input_and_output_numbers
from skl2onnx.common.utils_classifier import get_label_classes

from ..sklearn import MLPClassifier, MLPRegressor
from .onnx import GraphBuilder, network_graph

__all__ = ["register_skl2onnx", "classifier_shapes", "regressor_shapes", "convert_classifier",
           "convert_regressor"]


def register_skl2onnx():
    """Register the converters of :class:`~deltaprop.sklearn.MLPClassifier` (with the
    ``zipmap`` and ``nocl`` options of skl2onnx's classifiers) and
    :class:`~deltaprop.sklearn.MLPRegressor`; calling it again changes nothing."""
    update_registered_converter(MLPClassifier, "DeltapropMLPClassifier", classifier_shapes,
                                convert_classifier,
                                options={"zipmap": [True, False, "columns"],
                                         "nocl": [True, False]})
    update_registered_converter(MLPRegressor, "DeltapropMLPRegressor", regressor_shapes,
                                convert_regressor)


def float_type(variable):
    """The float tensor type of a skl2onnx input (float for anything but double)."""
    return DoubleTensorType if isinstance(variable.type, DoubleTensorType) else FloatTensorType


def classifier_shapes(operator):
    """``label`` (strings or int64; ``(N,)``, or ``(N, L)`` for multilabel targets) and
    ``probabilities`` ``(N, n_classes)`` in the input's float type."""
    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=2)
    estimator = operator.raw_operator
    n = operator.inputs[0].get_first_dimension()
    classes = np.asarray(get_label_classes(operator.scope_inst, estimator))
    multilabel = estimator.net_.task == "multilabel"
    text = classes.dtype.kind in "USO" and not multilabel
    label_type = StringTensorType if text else Int64TensorType
    operator.outputs[0].type = label_type([n, len(classes)] if multilabel else [n])
    operator.outputs[1].type = float_type(operator.inputs[0])([n, len(classes)])


def regressor_shapes(operator):
    """``variable`` ``(N, n_targets)`` in the input's float type."""
    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=1)
    n = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = float_type(operator.inputs[0])(
        [n, operator.raw_operator.net_.n_outputs])


def estimator_graph(scope, operator, container, **head):
    """The estimator's network inside skl2onnx's graph: the input cast to the network's
    dtype, the layers and the head (:func:`~deltaprop.export.onnx.network_graph`), each
    output copied (or cast) to the operator's output."""
    net = operator.raw_operator.net_
    graph = GraphBuilder(net.dtype, container.target_opset,
                         unique_name=scope.get_unique_variable_name,
                         unique_node_name=scope.get_unique_operator_name)
    x = graph.node("Cast", [operator.inputs[0].full_name], to=graph.elem_type)
    _, _, outputs = network_graph(net, x, graph, **head)
    for variable, (tensor, elem_type, _) in zip(operator.outputs, outputs.values()):
        wanted = variable.type.to_onnx_type().tensor_type.elem_type
        if wanted == elem_type:
            graph.node("Identity", [tensor], output=variable.full_name)
        else:
            graph.node("Cast", [tensor], output=variable.full_name, to=wanted)
    for tensor in graph.initializers:
        content = list(tensor.string_data) if tensor.data_type == TensorProto.STRING else tensor
        container.add_initializer(tensor.name, tensor.data_type, list(tensor.dims), content)
    for node in graph.nodes:
        attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        container.add_node(node.op_type, list(node.input), list(node.output),
                           op_domain=node.domain, name=node.name, **attributes)


def convert_classifier(scope, operator, container):
    """An :class:`~deltaprop.sklearn.MLPClassifier`: ``label``, ``probabilities``."""
    estimator = operator.raw_operator
    if len(estimator.classes_) < 2:
        raise ValueError("an MLPClassifier fitted on one class has no network to export")
    classes = np.asarray(get_label_classes(scope, estimator))
    if classes.dtype.kind not in "USO":
        classes = classes.astype(np.int64)  # skl2onnx's labels: strings or int64
    estimator_graph(scope, operator, container, classes=classes)


def convert_regressor(scope, operator, container):
    """An :class:`~deltaprop.sklearn.MLPRegressor`: ``variable``, in the targets' units
    (``standardize_target`` undone)."""
    estimator = operator.raw_operator
    scale = getattr(estimator, "target_scale_", None)
    scaling = None if scale is None else (estimator.target_mean_, scale)
    estimator_graph(scope, operator, container, target_scaling=scaling)
