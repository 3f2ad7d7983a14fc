"""What every command of ``deltaprop`` shares: the one-line error, the strict argument
types (each error names what it expected), the parser that reports in one line, and the
small file helpers."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from ..devices import device_name


class CLIError(Exception):
    """An error to report in one line."""


def integer(minimum):
    """An argparse type: an integer of at least ``minimum``."""
    what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return parse


positive_int = integer(1)


non_negative_int = integer(0)


def number(text, *, low=None, strict=False):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}")
    if not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    if low is not None and (value <= low if strict else value < low):
        raise argparse.ArgumentTypeError(
            f"expected a number {'>' if strict else '>='} {low:g}, got {text!r}")
    return value


def positive(text):
    return number(text, low=0.0, strict=True)


def non_negative(text):
    return number(text, low=0.0)


def fraction(text):
    value = number(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text}")
    return value


def layer_items(text):
    """One item of ``--hidden``: ``256,128`` or ``256`` (with ``--hidden 256 128``), or
    ``none`` for no hidden layer; an empty item is an error."""
    if text.strip().lower() == "none":
        return []
    items = text.split(",")
    if any(not item.strip() for item in items):
        raise argparse.ArgumentTypeError(
            f"empty layer size in {text!r}: write sizes as 256,128 or 256 128 (or 'none' for "
            f"no hidden layer)")
    sizes = []
    for item in items:
        try:
            n = int(item)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{item.strip()!r} is not a layer size (integers, e.g. 256,128; put the data "
                f"set before the options)")
        if n <= 0:
            raise argparse.ArgumentTypeError(f"layer sizes must be positive, got {n}")
        sizes.append(n)
    return sizes


def device_option(text):
    """A device name (``cpu``, ``cuda``, ``cuda:N``; ``strict``, the CPU test device). Only
    its spelling is checked here: whether the GPU is there is asked when the command runs."""
    try:
        return device_name(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected cpu, cuda or cuda:N (N a GPU's number), "
                                         f"got {text!r}") from None


def int_list(text):
    """``--hidden``'s old single-string form, kept for callers of this module."""
    return layer_items(text)


def float_list(text):
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}")
    if not values or not all(np.isfinite(values)):
        raise argparse.ArgumentTypeError(f"expected comma-separated finite numbers, got {text!r}")
    return values


class Parser(argparse.ArgumentParser):
    """argparse, with its errors in one line (the usage is one ``--help`` away)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class Moved(argparse.Action):
    """An option spelled another way in this command: an error that gives the spelling."""

    def __init__(self, option_strings, dest, message, nargs="?", **kw):
        super().__init__(option_strings, dest, nargs=nargs, help=argparse.SUPPRESS, **kw)
        self.message = message

    def __call__(self, parser, namespace, values, option_string=None):
        parser.error(self.message)


def data_argument(p, command, usage):
    p.add_argument("--data", action=Moved, message=(
        f"the data set is a positional argument in every command: {usage} "
        f"(not --data)"))


def column_list(text):
    """A comma-separated list of column names (``--drop id,name``)."""
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"empty column name in {text!r}: write names as "
                                         f"a,b,c")
    return names


def csv_options(p, missing_help):
    """The options of every command that reads a CSV file."""
    p.add_argument("--delimiter", default=None,
                   help="field separator of a CSV file (default: detected; a tab for .tsv)")
    p.add_argument("--no-header", action="store_true",
                   help="the CSV file has no header row: its columns are named 1, 2, ... "
                        "(by default the first row is the header, always)")
    p.add_argument("--missing", choices=["impute", "drop", "error"], default=None,
                   help=missing_help)


def unknown_option(p):
    """``--unknown``: what a category level that the training rows did not have does."""
    p.add_argument("--unknown", choices=["ignore", "error"], default=None,
                   help="a category level the training rows did not have: all zeros, counted "
                        "(default: ignore), or an error naming the line")


def same_file(a, b):
    try:
        return Path(a).resolve() == Path(b).resolve() or (
            Path(a).exists() and Path(b).exists() and os.path.samefile(a, b))
    except OSError:
        return False


def load_model(path):
    import deltaprop as dp

    return dp.load(path)


def one_line(exc):
    text = str(exc) if str(exc) else type(exc).__name__
    if isinstance(exc, MemoryError) and not str(exc):
        text = "out of memory"
    return " ".join(text.split())


def version():
    from .. import __version__

    return f"deltaprop {__version__}"
