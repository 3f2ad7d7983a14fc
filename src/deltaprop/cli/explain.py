"""``deltaprop explain`` (every number of one forward and backward step) and ``deltaprop
descent`` (gradient descent on a function of two variables)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from .common import CLIError, float_list, load_model, positive_int, same_file
from .data import model_inputs, read_table
from .output import write_text

EXAMPLES_EXPLAIN = """\
examples:
  deltaprop explain --list-examples
  deltaprop explain --example relu-2-2-1                  # the worked 2-2-1 network, steps 1-5
  deltaprop explain --network net.json                    # a network written by hand (JSON)
  deltaprop explain --example sigmoid-4-layer --notation hagan --format latex -o trace.tex
  deltaprop explain --example softmax --notation nielsen --format markdown
  deltaprop explain runs/iris/model.npz --input one_flower.csv --target 2
  deltaprop explain model.npz --input rows.csv --target targets.csv --format json
"""


EXAMPLES_DESCENT = """\
examples:
  deltaprop descent                               # eta = 0.1, 0.001, 0.665757 (Rousseau)
  deltaprop descent --eta 0.3,0.6,0.7 --start 2,1 --steps 20 --plot descent.png
"""


def add_parser(sub):
    from ..explain import EXAMPLES, FORMATS, NOTATIONS

    fmt = argparse.RawDescriptionHelpFormatter
    x = sub.add_parser(
        "explain", help="one forward and one backward step, every number, in a lecture's notation",
        epilog=EXAMPLES_EXPLAIN, formatter_class=fmt,
        description="Trace one forward and one backward sweep: for every layer the input, "
                    "pre-activation, activation, error vector, dJ/dW and dJ/db, in the "
                    "notation of a textbook or lecture note (goodfellow: Goodfellow et al., "
                    "Deep Learning; nielsen: Nielsen, Neural Networks and Deep Learning; "
                    "hagan: Hagan et al., Neural Network Design; rousseau: Rousseau's lecture "
                    "notes, Neural networks: an introduction).")
    x.add_argument("model", nargs="?", help="a saved model (.npz); or use --example or --network")
    x.add_argument("--example", choices=EXAMPLES, help="a worked example (see --list-examples)")
    x.add_argument("--network", metavar="SPEC",
                   help="a network written by hand: a JSON file with the layers' W, b and "
                        "activation, the loss, and x, t (or X, T); W is n_in x n_out unless "
                        "the file says \"orientation\": \"lecture\" (docs/exercises.md)")
    x.add_argument("--list-examples", action="store_true", help="list the worked examples")
    x.add_argument("--input", help="CSV file (header row) with the model's input features")
    x.add_argument("--target",
                   help="the targets: a CSV file (header row, one row per input row) or "
                        "comma-separated values used for every row, e.g. a class label '2' "
                        "or '0.5,1'")
    x.add_argument("--notation", choices=list(NOTATIONS), default=None,
                   help="default: the example's own, goodfellow for a model")
    x.add_argument("--format", choices=list(FORMATS), default="text")
    x.add_argument("--sample", type=int, default=None,
                   help="show only this sample (0-based) step by step")
    x.add_argument("--precision", type=positive_int, default=6,
                   help="significant digits, an integer >= 1 (default 6)")
    x.add_argument("--fragment", action="store_true",
                   help="LaTeX: a fragment to \\input instead of a complete document")
    x.add_argument("-o", "--output", help="file to write (default: standard output)")

    d = sub.add_parser("descent", help="gradient descent on f(x, y) = 1.5x² + y² + 2 "
                                       "(Rousseau's lecture notes)",
                       epilog=EXAMPLES_DESCENT, formatter_class=fmt,
                       description="The table of iterates of gradient descent for several "
                                   "learning rates, the stability limit eta < 2/3, and a contour "
                                   "plot with the trajectories (plus momentum and Adam).")
    d.add_argument("--eta", type=float_list, default=None,
                   help="learning rates (default 0.1,0.001,0.665757)")
    d.add_argument("--start", type=float_list, default=None, help="x0,y0 (default -2.5,2)")
    d.add_argument("--steps", type=int, default=30)
    d.add_argument("--plot", default="descent.png",
                   help="PNG to write (default descent.png; 'none' for no figure)")


def _read_targets(spec, n_rows):
    """Rows of target cells (strings) from a CSV file or one comma-separated row."""
    path = Path(spec)
    if path.is_file():
        from ..datasets.csvfile import read_csv_rows

        rows = [cells for _, cells in read_csv_rows(path)][1:]
        if len(rows) != n_rows:
            raise CLIError(f"{path} has {len(rows)} target rows but the input has {n_rows} rows")
        cells = rows
    else:
        cells = [spec.split(",")] * n_rows
    return cells


def cmd_explain(args):
    from .. import explain as ex

    if args.list_examples:
        width = max(len(n) for n in ex.EXAMPLES)
        for name, e in ex.EXAMPLES.items():
            print(f"{name:<{width}}  {'[' + e.notation + ']':<12}  {e.title}")
        return 0
    given = [name for name, value in (("a MODEL", args.model), ("--example", args.example),
                                      ("--network", args.network)) if value]
    if len(given) > 1:
        raise CLIError(f"give one of a MODEL, --example or --network, not {' and '.join(given)}")
    if args.network and (args.input or args.target):
        raise CLIError("--input and --target are for a MODEL; a --network file holds its own "
                       "x and t")
    if args.example:
        net, X, T = ex.example(args.example)
        notation = args.notation or ex.EXAMPLES[args.example].notation
    elif args.network:
        spec = ex.load_spec(args.network)
        net, X, T = spec.network(), spec.X, spec.T
        notation = args.notation or spec.notation or "goodfellow"
    elif args.model:
        if not args.input or not args.target:
            raise CLIError("explaining a model needs --input FILE.csv and --target")
        net = load_model(args.model)
        X, _ = model_inputs(net, read_table(args, args.input), missing="error")
        cells = _read_targets(args.target, len(X))
        if net.task == "classification" and len(cells[0]) == 1:  # class labels
            classes = net.classes
            labels = np.array([row[0].strip() for row in cells])
            if classes.dtype.kind in "biuf":
                try:
                    labels = labels.astype(float).astype(classes.dtype)
                except ValueError:
                    raise CLIError(f"--target {args.target!r}: class labels must be numbers")
            T = net.encode_targets(labels, len(X))[0]
        else:
            try:
                T = np.array([[float(c) for c in row] for row in cells])
            except ValueError:
                raise CLIError(f"--target {args.target!r}: not a CSV file, and not "
                               "comma-separated numbers")
        notation = args.notation or "goodfellow"
    else:
        raise CLIError("nothing to explain: give a MODEL with --input and --target, "
                       "--example NAME (see --list-examples) or --network FILE.json")
    trace = ex.explain(net, X, T, notation=notation, precision=args.precision)
    kw = {}
    if args.format != "json":
        kw["sample"] = args.sample
    if args.format == "latex":
        kw["standalone"] = not args.fragment
    text = ex.render(trace, args.format, **kw)
    if args.output:
        for other in (args.model, args.input, args.network):
            if other and same_file(args.output, other):
                raise CLIError(f"-o {args.output} would overwrite {other}; choose another file")
        write_text(args.output, text)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_descent(args):
    from .. import descent

    etas = args.eta or list(descent.SEED_ETAS)
    start = tuple(args.start) if args.start else descent.START
    if len(start) != 2:
        raise CLIError(f"--start needs two numbers x0,y0, got {len(start)}")
    if args.steps < 1:
        raise CLIError(f"--steps must be positive, got {args.steps}")
    print(descent.iterate_table(etas, start, args.steps), end="")
    if args.plot.lower() != "none":
        try:
            descent.plot_descent(args.plot, etas, start, args.steps)
        except ImportError as exc:
            raise CLIError(str(exc))
        print(f"wrote {args.plot}")
    return 0
