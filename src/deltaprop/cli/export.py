"""``deltaprop export``: a saved model as an ONNX file, for ONNX Runtime and other runtimes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import CLIError, integer, load_model, same_file

EXAMPLES_EXPORT = """\
examples:
  deltaprop export runs/iris/model.npz -o iris.onnx
  python -c "import onnxruntime as ort; s = ort.InferenceSession('iris.onnx'); \\
print([o.name for o in s.get_outputs()])"
"""


def add_parser(sub):
    """The command's options, added to the subparsers ``sub``."""
    from ..export.onnx import DEFAULT_OPSET

    p = sub.add_parser(
        "export", help="write a saved model as an ONNX file", epilog=EXAMPLES_EXPORT,
        formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False,
        description="The ONNX graph takes the raw features (the standardisation recorded at "
                    "training is in it) as one float matrix X, and returns 'label' and "
                    "'probabilities' for a classifier, 'variable' (in the target's units) for "
                    "a regressor: what 'deltaprop predict' gives. Needs the onnx extra "
                    "(pip install 'deltaprop[onnx]').")
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
    inputs = ", ".join(f"{i.name} [N, {net.n_inputs}] {net.dtype}" for i in model.graph.input)
    outputs = ", ".join(o.name for o in model.graph.output)
    print(f"wrote {output} (ONNX opset {args.opset}; input {inputs}; outputs {outputs})",
          file=sys.stderr)
    return 0
