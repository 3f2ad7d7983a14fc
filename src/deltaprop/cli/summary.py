"""``deltaprop summary``: the layers of a saved model and its data contract (each input
column with its type, encoding, scaling and imputation; the target, the task, the
classes)."""

from __future__ import annotations

import argparse

from .common import load_model
from .data import data_info, encoder_of, model_targets


def add_parser(sub):
    """The command's options, added to the subparsers ``sub``."""
    s = sub.add_parser("summary", help="the layers of a saved model and its data contract",
                       epilog="examples:\n  deltaprop summary runs/digits/model.npz\n",
                       formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    s.add_argument("model")


def contract_lines(net) -> list[str]:
    """The data contract of ``net``, one line an item."""
    info = data_info(net)
    if not info:
        return ["data: not recorded (a network built in Python): inputs are "
                f"{net.n_inputs} numbers"]
    lines = [f"data: {info.get('source')}, task {info.get('task')}"]
    targets = model_targets(net)
    if targets:
        scaling = info.get("target_scaling")
        scaled = (f", standardised for training (mean {scaling['mean'][0]:.4g}, sd "
                  f"{scaling['scale'][0]:.4g}), predicted in its own units" if scaling else "")
        lines.append(f"target: {', '.join(targets)}{scaled}")
    classes = getattr(net, "classes_", None)
    if classes is not None and info.get("task") != "regression":
        lines.append(f"classes: {', '.join(map(str, list(classes)))}")
    encoder = encoder_of(net)
    if encoder is not None:
        lines.append(f"input columns ({len(encoder.columns_)}, encoded as {net.n_inputs} "
                     f"features; missing values: {info.get('missing', 'impute')}):")
        lines += [f"  {line}" for line in encoder.describe()]
        if info.get("ignored"):
            lines.append(f"ignored columns: {', '.join(info['ignored'])}")
        return lines
    names = info.get("feature_names")
    pre = (getattr(net, "preprocessing_", None) or {}).get("standardize")
    lines.append(f"inputs: {net.n_inputs} numbers"
                 + (f" ({', '.join(names[:8])}{', ...' if len(names) > 8 else ''})"
                    if names else "")
                 + (", standardised with the training rows' mean and sd" if pre else ""))
    return lines


def cmd_summary(args):
    net = load_model(args.model)
    net.summary()
    print("\n".join(contract_lines(net)))
    return 0
