"""Deploying a network elsewhere: ONNX (:mod:`deltaprop.export.onnx`) and PyTorch
(:mod:`deltaprop.export.torch`).

Each thing exports itself: an activation writes the ONNX nodes it becomes and names its
``torch.nn`` twin (:meth:`deltaprop.activations.Activation.onnx_nodes`,
:meth:`~deltaprop.activations.Activation.to_torch`), a layer writes its own
(:meth:`deltaprop.layers.Layer.onnx_nodes`, :meth:`~deltaprop.layers.Layer.to_torch`,
:meth:`~deltaprop.layers.Layer.from_torch`); the exporters only walk the layers. Nothing
here is imported by ``import deltaprop``: onnx, skl2onnx and torch load when asked for.

* :meth:`deltaprop.Sequential.to_onnx` / ``deltaprop export MODEL -o model.onnx``;
* :func:`register_skl2onnx`: converters for :class:`deltaprop.sklearn.MLPClassifier` and
  :class:`~deltaprop.sklearn.MLPRegressor`, so that ``skl2onnx.to_onnx(pipeline, X)``
  converts a pipeline that holds them;
* :meth:`deltaprop.Sequential.to_torch` and :func:`deltaprop.from_torch`.
"""

__all__ = ["register_skl2onnx"]


def register_skl2onnx():
    """Register deltaprop's estimators with skl2onnx (see
    :func:`deltaprop.export.sklearn_onnx.register_skl2onnx`)."""
    from .sklearn_onnx import register_skl2onnx as register

    register()
