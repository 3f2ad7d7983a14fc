"""``deltaprop evaluate``: loss and metrics of a saved model on data."""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from .common import CLIError, csv_options, data_argument, load_model
from .data import (
    OFFICIAL_SPLITS,
    check_applicable,
    columns_for,
    data_info,
    load_data,
    preprocess,
    recorded_split,
    resolve,
)
from .train import scores

EXAMPLES_EVALUATE = """\
examples:
  deltaprop evaluate runs/digits/model.npz digits            # the held-out test rows
  deltaprop evaluate runs/digits/model.npz digits --split all
  deltaprop evaluate model.npz new_rows.csv --target label
"""



def add_parser(sub):
    """The command's options, added to the subparsers ``sub``."""
    fmt = argparse.RawDescriptionHelpFormatter
    e = sub.add_parser("evaluate", help="loss and metrics of a saved model on data",
                       epilog=EXAMPLES_EVALUATE, formatter_class=fmt, allow_abbrev=False,
                       description="Score a saved model. On the data it was trained on, the "
                                   "default scores exactly the rows held out for the test.")
    e.add_argument("model")
    e.add_argument("data", help="a built-in data set name or a CSV file")
    data_argument(e, "evaluate", "deltaprop evaluate MODEL DATA")
    e.add_argument("--data-dir", help="directory with the IDX files, for mnist and fashion-mnist")
    e.add_argument("--target", help="the target column of a CSV file (default: the model's)")
    csv_options(e)
    e.add_argument("--split", choices=["auto", "test", "train", "all"], default="auto",
                   help="test: the rows held out when the model was trained (the official test "
                        "set for mnist); train: the rows it was trained on; all: every row; "
                        "auto (default): test on the training data, all on other data")
    e.add_argument("--json", action="store_true")


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
        data = load_data(args, key, None, split=which)
        rows = np.arange(len(data.X))
        where = f"the {which} set of {key}" + (" (seen in training)" if which == "train" else
                                               " (none seen in training)")
    else:
        data = load_data(args, key, path, target=args.target or info.get("target_name"))
        recorded = info.get("split")
        same = recorded is not None and recorded.get("fingerprint") == data.fingerprint()
        if split == "auto":
            split = "test" if same else "all"
        if split in ("test", "train") and not same:
            raise CLIError(
                f"--split {split}: {data.source} is not the data this model was trained on "
                f"(its fingerprint differs{'' if recorded else '; the model records no split'})"
                f", so its held-out rows are unknown: use --split all")
        if split == "all":
            rows = np.arange(len(data.X))
            seen = ""
            if same:
                n_train = len(data.X) - len(recorded_split(net, data)[1])
                seen = f" ({n_train} of them in the training split)"
            elif recorded is not None:
                seen = " (not the training data)"
            where = f"all rows of {data.source}{seen}"
        else:
            train_idx, test_idx = recorded_split(net, data)
            rows = test_idx if split == "test" else train_idx
            where = ("the test rows held out at training (none seen in training)"
                     if split == "test" else
                     "the training split (the rows trained on and those held out for "
                     "validation)")
    X = data.X[rows]
    if not data.builtin:
        X = columns_for(net, args, data, path)[rows]
    elif X.shape[1] != net.n_inputs:
        raise CLIError(f"{data.source} has {X.shape[1]} feature columns, but the model expects "
                       f"{net.n_inputs}")
    y = np.asarray(data.y)[rows]
    scaling = info.get("target_scaling")
    if net.task == "regression":
        y = np.asarray(y, dtype=float)
        if scaling is not None:
            y = (y - scaling["mean"][0]) / scaling["scale"][0]
    result = scores(net, preprocess(net, X), y, scaling)
    note = f"scored {len(rows)} rows: {where}"
    if args.json:
        print(json.dumps({"model": args.model, "data": data.source, "split": split,
                          "rows": int(len(rows)), **result}))
        print(note, file=sys.stderr)
    else:
        print(note)
        print(", ".join(f"{k} {v:.4f}" for k, v in result.items()))
    return 0
