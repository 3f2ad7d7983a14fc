"""``deltaprop predict``: a saved model's predictions for the rows of a CSV file, one output
row per input row, in the input's order, always."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

from .common import (
    CLIError,
    column_list,
    csv_options,
    data_argument,
    load_model,
    same_file,
    unknown_option,
)
from .data import model_inputs, read_table, unscale
from .output import write_csv

EXAMPLES_PREDICT = """\
examples:
  deltaprop predict runs/digits/model.npz input.csv -o predictions.csv
  deltaprop predict runs/penguins/model.npz new.csv --id row_id --proba
  cat new.csv | deltaprop predict runs/penguins/model.npz - > predictions.csv
"""


def add_parser(sub):
    """The command's options, added to the subparsers ``sub``."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser("predict", help="predictions of a saved model for a CSV file",
                       epilog=EXAMPLES_PREDICT, formatter_class=fmt, allow_abbrev=False,
                       description="One output row per input row, in the input's order. "
                                   "Columns are matched by name (any order; the target and "
                                   "the columns the model does not use are ignored) and "
                                   "encoded as the model file records: categories, missing "
                                   "values, scaling.")
    p.add_argument("model")
    p.add_argument("input", help="CSV file with the model's input columns ('-': standard "
                                 "input; a pipe or FIFO works too)")
    data_argument(p, "predict", "deltaprop predict MODEL INPUT.csv")
    csv_options(p, "missing input values (default: the rule the model was trained with): "
                   "impute them, drop (the row's prediction is left empty), or error (naming "
                   "the line)")
    unknown_option(p)
    p.add_argument("--id", type=column_list, action="extend", default=None,
                   metavar="COL[,COL...]",
                   help="copy these columns into the output, first, to join the predictions "
                        "back (repeatable)")
    p.add_argument("-o", "--output", help="CSV file to write (default: standard output); never "
                                          "the model or the input")
    p.add_argument("--proba", action="store_true", help="also write the class probabilities")


def cmd_predict(args):
    if args.output and (same_file(args.output, args.model) or
                        (args.input != "-" and same_file(args.output, args.input))):
        raise CLIError(f"-o {args.output} would overwrite the "
                       f"{'model' if same_file(args.output, args.model) else 'input'}; "
                       f"choose another file")
    net = load_model(args.model)
    if args.proba and net.task == "regression":
        raise CLIError("--proba needs a classifier")
    if args.input != "-" and Path(args.input).is_dir():
        raise CLIError(f"{args.input} is a directory, not a CSV file")
    table = read_table(args, args.input)
    ids = args.id or []
    for name in ids:
        if name not in table:
            raise CLIError(f"--id {name}: {table.source} has no such column; its columns: "
                           f"{', '.join(table.names)}")
    X, ok = model_inputs(net, table, missing=args.missing, unknown=args.unknown or "ignore",
                         ignore=ids)
    columns, table_out = _prediction_columns(net, X[ok], args.proba, len(table), ok)
    columns = ids + columns
    id_cells = [table.text(name).tolist() for name in ids]
    rows = [[cells[i] or "" for cells in id_cells] + row for i, row in enumerate(table_out)]
    skipped = int((~ok).sum())
    if skipped:
        print(f"{skipped} rows had a missing value and no prediction (--missing drop; their "
              f"cells are empty)", file=sys.stderr)
    if args.output:
        write_csv(Path(args.output), columns, rows)
        print(f"wrote {len(rows)} rows ({len(rows) - skipped} predictions) to {args.output}",
              file=sys.stderr)
    else:
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    return 0


def _prediction_columns(net, X, proba, n_rows, ok):
    """The header and the cells (strings) of the prediction columns for every input row:
    empty where ``ok`` is False."""
    pred = net.predict(X) if len(X) else np.empty((0,) + net.predict(
        np.zeros((1, net.n_inputs))).shape[1:])
    if net.task == "regression":
        pred = unscale(net, pred)
    pred = np.asarray(pred)
    names = (["prediction"] if pred.ndim == 1 else
             [f"prediction_{j}" for j in range(pred.shape[1])])
    parts = [pred.reshape(len(X), -1).astype(str)]
    if proba:
        names += [f"p_{c}" for c in net.classes]
        parts.append(np.char.mod("%.6g", net.predict_proba(X)))
    cells = np.full((n_rows, len(names)), "", dtype=object)
    cells[ok] = np.hstack(parts).astype(object)
    return names, cells.tolist()
