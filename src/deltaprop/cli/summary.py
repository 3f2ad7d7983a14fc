"""``deltaprop summary``: the layers of a saved model."""

from __future__ import annotations

import argparse

from .common import load_model


def add_parser(sub):
    """The command's options, added to the subparsers ``sub``."""
    s = sub.add_parser("summary", help="the layers of a saved model",
                       epilog="examples:\n  deltaprop summary runs/digits/model.npz\n",
                       formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    s.add_argument("model")


def cmd_summary(args):
    load_model(args.model).summary()
    return 0
