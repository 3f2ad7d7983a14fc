"""``deltaprop evaluate``: loss and metrics of a saved model on data."""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from .common import (
    CLIError,
    column_list,
    csv_options,
    data_argument,
    load_model,
    unknown_option,
)
from .data import (
    OFFICIAL_SPLITS,
    Data,
    check_applicable,
    data_info,
    display_name,
    integral_labels,
    load_builtin,
    model_inputs,
    model_targets,
    preprocess,
    read_table,
    recorded_split,
    require_targets,
    resolve,
    rows_with_missing,
    target_values,
    without_missing_targets,
)
from .train import scores

EXAMPLES_EVALUATE = """\
examples:
  deltaprop evaluate runs/digits/model.npz digits            # the held-out test rows
  deltaprop evaluate runs/digits/model.npz digits --split all
  deltaprop evaluate runs/penguins/model.npz penguins.csv    # the file it was trained on
  deltaprop evaluate model.npz new_rows.csv --target label
"""


def add_parser(sub):
    """The command's options, added to the subparsers ``sub``."""
    fmt = argparse.RawDescriptionHelpFormatter
    e = sub.add_parser("evaluate", help="loss and metrics of a saved model on data",
                       epilog=EXAMPLES_EVALUATE, formatter_class=fmt, allow_abbrev=False,
                       description="Score a saved model. On the data it was trained on (its "
                                   "columns in any order), the default scores exactly the "
                                   "rows held out for the test. A CSV file's columns are "
                                   "encoded as the model file records (categories, missing "
                                   "values, scaling).")
    e.add_argument("model")
    e.add_argument("data", help="a built-in data set name or a CSV file ('-': standard input)")
    data_argument(e, "evaluate", "deltaprop evaluate MODEL DATA")
    e.add_argument("--data-dir", help="directory with the IDX files, for mnist and fashion-mnist")
    e.add_argument("--target", type=column_list, metavar="COL[,COL...]",
                   help="the target column(s) of a CSV file (default: the model's)")
    csv_options(e, "missing feature values (default: the rule the model was trained with: "
                   "impute, drop or error); rows without a target value are left out and "
                   "counted")
    unknown_option(e)
    e.add_argument("--split", choices=["auto", "test", "train", "all"], default="auto",
                   help="test: the rows held out when the model was trained (the official test "
                        "set for mnist); train: the rows it was trained on; all: every row; "
                        "auto (default): test on the training data, all on other data")
    e.add_argument("--json", action="store_true")


def _csv_data(args, net, path):
    """The rows of a CSV file that can be scored: those with a target value, and under the
    rule ``drop`` those without a missing input."""
    info = data_info(net)
    targets = args.target or model_targets(net)
    if not targets:
        raise CLIError(f"{args.data}: the model records no target column: name it with "
                       f"--target")
    table = read_table(args, path)
    fingerprint = table.fingerprint()
    require_targets(table, targets)
    table = without_missing_targets(table, targets, quiet=args.json)
    rule = args.missing or info.get("missing") or "error"
    if rule == "drop" and info.get("columns"):
        inputs = [c["name"] for c in info["columns"]]
        complete = ~rows_with_missing(table, inputs)
        if not complete.all():
            print(f"left out {int((~complete).sum())} rows with a missing input (--missing "
                  f"drop)", file=sys.stderr)
            table = table.take(complete)
    y = target_values(table, targets)
    if net.task == "classification":
        y = integral_labels(y)
    return Data(display_name(path), None, y, builtin=False, target_name=targets[0], table=table,
                targets=list(targets), fingerprint=fingerprint)


def _rows(args, net, data, key):
    """``(row indices, what they are)`` under ``--split``."""
    split = args.split
    recorded = data_info(net).get("split")
    same = recorded is not None and recorded.get("fingerprint") == data.fingerprint()
    if split == "auto":
        split = "test" if same else "all"
    if split in ("test", "train") and not same:
        raise CLIError(
            f"--split {split}: {data.source} is not the data this model was trained on "
            f"(its fingerprint differs{'' if recorded else '; the model records no split'})"
            f", so its held-out rows are unknown: use --split all")
    if split == "all":
        seen = ""
        if same:
            seen = f" ({len(data) - len(recorded_split(net, data)[1])} of them in the training " \
                   f"split)"
        elif recorded is not None:
            seen = " (not the training data)"
        return np.arange(len(data)), split, f"all rows of {data.source}{seen}"
    train_idx, test_idx = recorded_split(net, data)
    if split == "test":
        return test_idx, split, "the test rows held out at training (none seen in training)"
    return train_idx, split, ("the training split (the rows trained on and those held out "
                              "for validation)")


def cmd_evaluate(args):
    net = load_model(args.model)
    info = data_info(net)
    key, path = resolve(args.data)
    check_applicable(args, key, "evaluate")
    split = args.split
    if key in OFFICIAL_SPLITS:
        which = "test" if split in ("auto", "test") else split
        if which == "all":
            raise CLIError(f"--split all: {key} is scored on its test or its training set")
        data = load_builtin(args, key, split=which)
        rows = np.arange(len(data.X))
        where = f"the {which} set of {key}" + (" (seen in training)" if which == "train" else
                                               " (none seen in training)")
    elif key is not None:
        data = load_builtin(args, key)
        rows, split, where = _rows(args, net, data, key)
    else:
        data = _csv_data(args, net, path)
        rows, split, where = _rows(args, net, data, key)
    if data.table is not None:
        X, ok = model_inputs(net, data.table.take(rows), missing=args.missing,
                             unknown=args.unknown or "ignore", ignore=data.targets, quiet=args.json)
        if not ok.all():  # the rule "drop" for a model without a data contract
            print(f"left out {int((~ok).sum())} rows with a missing value", file=sys.stderr)
            X, rows = X[ok], rows[ok]
    else:
        X = data.X[rows]
        if X.shape[1] != net.n_inputs:
            raise CLIError(f"{data.source} has {X.shape[1]} feature columns, but the model "
                           f"expects {net.n_inputs}")
        X = preprocess(net, X)
    y = np.asarray(data.y)[rows]
    scaling = info.get("target_scaling")
    if net.task == "regression":
        y = np.asarray(y, dtype=float)
        if scaling is not None:
            mean, scale = np.asarray(scaling["mean"]), np.asarray(scaling["scale"])
            y = (y - mean) / scale if y.ndim == 2 else (y - mean[0]) / scale[0]
    result = scores(net, X, y, scaling)
    note = f"scored {len(rows)} rows: {where}"
    if args.json:
        print(json.dumps({"model": args.model, "data": data.source, "split": split,
                          "rows": int(len(rows)), **result}))
        print(note, file=sys.stderr)
    else:
        print(note)
        print(", ".join(f"{k} {v:.4f}" for k, v in result.items()))
    return 0
