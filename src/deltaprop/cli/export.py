"""``deltaprop export``: a saved model as an ONNX file, for ONNX Runtime and other runtimes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import CLIError, integer, load_model, same_file

EXAMPLES_EXPORT = """\
examples:
  deltaprop export runs/iris/model.npz -o iris.onnx
  deltaprop export runs/penguins/model.npz -o penguins.onnx   # a CSV model: its columns in
  python -c "import onnxruntime as ort; s = ort.InferenceSession('iris.onnx'); \\
print([o.name for o in s.get_outputs()])"
"""


def add_parser(sub):
    """The command's options, added to the subparsers ``sub``."""
    from ..export.onnx import DEFAULT_OPSET

    p = sub.add_parser(
        "export", help="write a saved model as an ONNX file", epilog=EXAMPLES_EXPORT,
        formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False,
        description="The ONNX graph takes the raw data and returns 'label' and "
                    "'probabilities' for a classifier, 'variable' (in the target's units) for "
                    "a regressor: what 'deltaprop predict' gives. A model trained on a CSV "
                    "file takes the table's columns by name, each [N, 1] (numbers as floats, "
                    "NaN where missing; text as strings, '' where missing), and encodes them "
                    "as the model file records (imputation, one-hot, scaling); any other "
                    "takes one float matrix X (the standardisation recorded at training is "
                    "in the graph). Needs the onnx extra (pip install 'deltaprop[onnx]').")
    p.add_argument("model")
    p.add_argument("-o", "--output", help="the ONNX file to write (default: the model's path "
                                          "with .onnx); never the model file")
    p.add_argument("--opset", type=integer(13), default=DEFAULT_OPSET,
                   help=f"ONNX opset of the graph (default: {DEFAULT_OPSET}; 17 or later with "
                        f"layer normalisation)")


def cmd_export(args):
    from ..export.onnx import require_onnx, to_onnx

    output = Path(args.output) if args.output else Path(args.model).with_suffix(".onnx")
    if same_file(output, args.model):
        raise CLIError(f"-o {output} would overwrite the model; choose another file")
    try:
        require_onnx()
    except ImportError as exc:
        raise CLIError(str(exc)) from None
    net = load_model(args.model)
    model = to_onnx(net, output, opset=args.opset)
    outputs = ", ".join(o.name for o in model.graph.output)
    print(f"wrote {output} (ONNX opset {args.opset}; {inputs_text(model, net)}; outputs "
          f"{outputs})", file=sys.stderr)
    return 0


def inputs_text(model, net):
    """``input X [N, 4] float32``, or for a model with a data contract ``inputs: 7 columns
    [N, 1] (4 float32, 3 string)``."""
    from ..export.onnx import require_onnx

    inputs = list(model.graph.input)
    if not (getattr(net, "data_info_", None) or {}).get("columns"):
        return ", ".join(f"input {i.name} [N, {net.n_inputs}] {net.dtype}" for i in inputs)
    string = require_onnx().TensorProto.STRING
    text = sum(i.type.tensor_type.elem_type == string for i in inputs)
    kinds = [f"{len(inputs) - text} {net.dtype}"] * (text < len(inputs)) + \
        [f"{text} string"] * (text > 0)
    return f"inputs: {len(inputs)} columns [N, 1] ({', '.join(kinds)})"
