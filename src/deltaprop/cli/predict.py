"""``deltaprop predict``: a saved model's predictions for the rows of a CSV file."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

from .common import CLIError, csv_options, data_argument, load_model, same_file
from .data import preprocess, read_features, unscale
from .output import write_atomically

EXAMPLES_PREDICT = """\
examples:
  deltaprop predict runs/digits/model.npz input.csv -o predictions.csv
"""



def add_parser(sub):
    """The command's options, added to the subparsers ``sub``."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser("predict", help="predictions of a saved model for a CSV file",
                       epilog=EXAMPLES_PREDICT, formatter_class=fmt, allow_abbrev=False,
                       description="Columns are matched by name when the model knows its "
                                   "feature names and the file has a header (any order; the "
                                   "target column is ignored), else by position.")
    p.add_argument("model")
    p.add_argument("input", help="CSV file with the model's input features")
    data_argument(p, "predict", "deltaprop predict MODEL INPUT.csv")
    csv_options(p)
    p.add_argument("-o", "--output", help="CSV file to write (default: standard output); never "
                                          "the model or the input")
    p.add_argument("--proba", action="store_true", help="also write the class probabilities")


def cmd_predict(args):
    if args.output and (same_file(args.output, args.model) or same_file(args.output, args.input)):
        raise CLIError(f"-o {args.output} would overwrite the "
                       f"{'model' if same_file(args.output, args.model) else 'input'}; "
                       f"choose another file")
    net = load_model(args.model)
    X = preprocess(net, read_features(args.input, net.n_inputs, net, args))
    pred = net.predict(X)
    if net.task == "regression":
        pred = unscale(net, pred)
    columns = (["prediction"] if np.ndim(pred) == 1
               else [f"prediction_{j}" for j in range(pred.shape[1])])
    table = [np.asarray(pred).reshape(len(X), -1).astype(str)]
    if args.proba:
        if net.task == "regression":
            raise CLIError("--proba needs a classifier")
        proba = net.predict_proba(X)
        columns += [f"p_{c}" for c in net.classes]
        table.append(np.char.mod("%.6g", proba))
    rows = np.hstack(table)
    if args.output:
        write_atomically(Path(args.output), columns, rows.tolist())
        print(f"wrote {len(rows)} predictions to {args.output}", file=sys.stderr)
    else:
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows.tolist())
    return 0
