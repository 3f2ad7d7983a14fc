"""``train`` on a CSV file: the table read once, the target columns, the rows left out,
and the feature columns encoded by :class:`~deltaprop.datasets.encoding.TableEncoder`
(fitted on the training rows only). The command line chooses and reports; the encoder
encodes."""

from __future__ import annotations

import sys

import numpy as np

from .common import CLIError
from .data import (
    Data,
    display_name,
    lines_text,
    read_table,
    require_targets,
    rows_with_missing,
    target_values,
    without_missing_targets,
)


def load_training_table(args, path, quiet=False):
    """The :class:`Data` of a CSV file for ``train`` (or ``evaluate``): the rows without a
    target value left out, and with ``--missing drop`` those with a missing feature."""
    table = read_table(args, path)
    targets = args.target
    if not targets:
        raise CLIError(f"{table.source} is a CSV file: name its target column with --target "
                       f"(its columns: {', '.join(table.names)})")
    fingerprint = table.fingerprint()
    require_targets(table, targets)
    table = without_missing_targets(table, targets, quiet)
    if args.missing == "drop":
        missing = rows_with_missing(table, candidate_features(args, table))
        if missing.any():
            if not quiet:
                print(f"left out {int(missing.sum())} rows with a missing feature value "
                      f"(--missing drop; {lines_text(table, np.flatnonzero(missing))})",
                      file=sys.stderr)
            if missing.all():
                raise CLIError(f"{table.source}: every row has a missing value (--missing "
                               f"impute fills them in)")
            table = table.take(~missing)
    y = target_values(table, targets)
    return Data(display_name(path), None, y, builtin=False, target_name=targets[0],
                table=table, targets=list(targets), fingerprint=fingerprint)


def candidate_features(args, table):
    """The columns that may be features: ``--features``, or every column but the targets,
    ``--drop`` and the file's row names."""
    skip = {*args.target, *(args.drop or ()), table.row_names}
    names = args.features or table.names
    return [n for n in names if n not in skip]


def fit_encoder(args, data, train_rows, quiet=False):
    """The :class:`TableEncoder` fitted on the training rows; one line per non-numeric
    column and per column left out."""
    from ..datasets.encoding import TableEncoder, check_numbers

    table = data.table
    for option in ("features", "drop", "categorical"):
        for name in getattr(args, option) or ():
            if name not in table:
                raise CLIError(f"--{option} {name}: {table.source} has no such column; its "
                               f"columns: {', '.join(table.names)}")
            if name in data.targets and option != "drop":
                raise CLIError(f"--{option} {name}: {name!r} is the target")
    features = candidate_features(args, table)
    for name in features:  # on every row, before the split: a typo is named wherever it is
        if name not in (args.categorical or ()):
            check_numbers(table, name)
    encoder = TableEncoder(
        categorical=tuple(args.categorical or ()),
        features=features,
        missing="error" if args.missing == "error" else "impute")
    encoder.fit(table.take(train_rows))
    if not quiet:
        for column in encoder.columns_:
            if column.kind != "numeric":
                levels = len(column.levels) + len(getattr(column, "other", ()))
                print(f"{column.name}: {column.kind}, {levels} values"
                      + (" (and missing values)" if column.indicator else ""))
        for name, why in encoder.excluded_.items():
            if name != table.row_names:
                print(f"{name}: left out: {why} (--drop {name} to say so; predict --id {name} "
                      f"copies it into the output)")
    return encoder


def ignored_columns(args, data, encoder):
    """The columns of the training file that are not inputs (targets apart): recorded so
    that ``predict`` and ``evaluate`` take the same file without a word."""
    inputs = {c.name for c in encoder.columns_}
    return [n for n in data.table.names if n not in inputs and n not in data.targets]
