"""The data argument of the commands: a built-in set's name or a CSV file (``-`` for
standard input), and the model's data contract applied to new rows.

A CSV file is read once into a :class:`~deltaprop.datasets.table.Table`; a model trained
on one records its columns' encoding (:class:`~deltaprop.datasets.encoding.TableEncoder`'s
state), so that ``evaluate``, ``predict`` and ``explain`` encode new rows the same way
without being told again.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import numpy as np

from .common import CLIError

OFFICIAL_SPLITS = ("mnist", "fashion-mnist")
#: The options that only a CSV file takes.
CSV_OPTIONS = ("target", "delimiter", "missing", "categorical", "drop", "features", "id",
               "unknown", "no_header")


class Data:
    """A loaded data set: ``X`` (None for a CSV file until its columns are encoded), ``y``,
    the raw ``table`` of a CSV file, and what the model file records about it."""

    def __init__(self, source, X, y, *, builtin, feature_names=None, target_name=None,
                 class_names=None, table=None, targets=None, fingerprint=None):
        self.source, self.X, self.y, self.builtin = source, X, y, builtin
        self.feature_names, self.target_name = feature_names, target_name
        self.class_names, self.table, self.targets = class_names, table, targets
        self._fingerprint = fingerprint

    def fingerprint(self):
        """SHA-256 of the data: for a CSV file, of its columns taken in name order (the
        same file with its columns reordered has the same one); for a built-in set, of
        the rows and the targets."""
        if self._fingerprint is not None:
            return self._fingerprint
        h = hashlib.sha256()
        X = np.ascontiguousarray(self.X, dtype=np.float64)
        h.update(repr(X.shape).encode())
        h.update(X.tobytes())
        h.update("\x1f".join(map(str, np.asarray(self.y).ravel().tolist())).encode())
        return h.hexdigest()

    def __len__(self):
        return len(self.y)


def builtin_key(name):
    """The built-in data set ``name`` means, or None for a file. A built-in name means the
    built-in set even when a file of that name exists (``./iris`` is the file)."""
    from ..datasets.registry import DATASETS

    if any(sep in name for sep in ("/", os.sep)) or Path(name).suffix or name == "-":
        return None
    key = name.strip().lower()
    for candidate in (key, key.replace("_", "-"), key.replace("-", "_")):
        if candidate in DATASETS:
            return candidate
    return None


def resolve(name):
    """``(builtin key or None, path or None)`` for a data argument (``-``: standard
    input)."""
    key = builtin_key(name)
    if key is not None:
        return key, None
    if name == "-":
        return None, "-"
    path = Path(name)
    if path.is_dir():
        raise CLIError(f"{name} is a directory, not a data set or a CSV file")
    if not path.exists():
        from ..datasets.registry import DATASETS

        raise CLIError(f"{name}: no such file, and not a built-in data set "
                       f"({', '.join(DATASETS)})")
    return None, path


def check_applicable(args, key, command):
    """Options that do not apply to the chosen data are errors, not silently ignored."""
    def given(opt):
        value = getattr(args, opt, None)
        return value not in (None, False, [], ())

    where = f"built-in data set {key!r}" if key else "a CSV file"
    if key is not None:
        for opt in CSV_OPTIONS:
            if given(opt):
                raise CLIError(f"--{opt.replace('_', '-')} is for CSV files, not the {where}")
    if given("data_dir") and key not in OFFICIAL_SPLITS:
        raise CLIError(f"--data-dir is for mnist and fashion-mnist, not {where}")
    if command == "train" and key in OFFICIAL_SPLITS and given("test_split"):
        raise CLIError(f"--test-split does not apply to {key}, which has its own test set")


def display_name(path):
    """A CSV input's name in the model file and the summaries: the file's name."""
    return "standard input" if str(path) == "-" else Path(path).name


def read_table(args, path):
    """The CSV file ``path`` (``-``: standard input) as a Table, read once."""
    from ..datasets import load_csv

    return load_csv(path, delimiter=getattr(args, "delimiter", None),
                    header=not getattr(args, "no_header", False))


def load_builtin(args, key, split="train"):
    """The :class:`Data` of a built-in data set."""
    from ..datasets import GENERATED, dataset_info, load_dataset
    from ..datasets.bundled import SMALL_SETS

    kw = {"split": split} if key in OFFICIAL_SPLITS else {}
    if key in GENERATED:
        kw["seed"] = args.seed
    X, y = load_dataset(key, data_dir=getattr(args, "data_dir", None), **kw)
    names = classes = None
    if key in SMALL_SETS:
        info = dataset_info(key)
        names = info["feature_names"]
        if info["target_names"] != [str(i) for i in range(len(info["target_names"]))]:
            classes = info["target_names"]
            y = np.asarray(classes)[y]  # iris: setosa, versicolor, virginica
    return Data(key, X, y, builtin=True, feature_names=names, class_names=classes)


def lines_text(table, rows, most=8):
    """``"lines 4, 9, 12, ..."``: where ``rows`` (indices) are in the file."""
    shown = ", ".join(str(table.lines[i]) for i in rows[:most])
    return f"line{'s' if len(rows) > 1 else ''} {shown}{', ...' if len(rows) > most else ''}"


def require_targets(table, targets):
    """An error naming the first target column that ``table`` lacks."""
    for name in targets:
        if name not in table:
            raise CLIError(f"{table.source} has no column {name!r} (the target); its "
                           f"columns: {', '.join(table.names)}")


def target_values(table, targets):
    """``y`` from the target columns: a vector for one target (text labels, or numbers),
    a ``(rows, targets)`` matrix of numbers for several."""
    require_targets(table, targets)
    if len(targets) == 1:
        name = targets[0]
        if table.is_numeric(name):
            return table[name].copy()
        return np.array(table.text(name).tolist(), dtype=str)
    try:
        return table.numbers(targets)
    except ValueError as exc:
        raise CLIError(f"several targets must all be numbers (regression) or 0/1 "
                       f"(multilabel): {exc}")


def integral_labels(y):
    """Class labels read as numbers: whole numbers as ``int64`` (the labels ``0`` and ``1``,
    not ``0.0`` and ``1.0``)."""
    y = np.asarray(y)
    if y.dtype.kind == "f" and y.ndim == 1 and np.all(np.mod(y, 1) == 0):
        return y.astype(np.int64)
    return y


def without_missing_targets(table, targets, quiet=False):
    """The rows of ``table`` that have a value in every target column; says how many
    were left out."""
    missing = np.zeros(len(table), dtype=bool)
    for name in targets:
        if name in table:
            missing |= table.missing(name)
    if missing.any():
        rows = np.flatnonzero(missing)
        if not quiet:
            print(f"left out {len(rows)} rows with no target value ({lines_text(table, rows)})",
                  file=sys.stderr)
        table = table.take(~missing)
    if len(table) == 0:
        raise CLIError(f"{table.source}: no row has a value in the target "
                       f"{', '.join(map(repr, targets))}")
    return table


def rows_with_missing(table, columns):
    """A mask of the rows with a missing value in any of ``columns``."""
    mask = np.zeros(len(table), dtype=bool)
    for name in columns:
        if name in table:
            mask |= table.missing(name)
    return mask


def infer_task(data, declared):
    """The task, declared or inferred from the targets, and a sentence saying which."""
    from ..tasks import infer_task

    y = np.asarray(data.y)
    if declared != "auto":
        return declared, f"task: {declared} (--task)"
    if data.builtin:
        return "classification", f"task: classification ({data.source} has class labels)"
    if y.ndim == 2:
        binary = np.isin(y, (0.0, 1.0)).all()
        task = "multilabel" if binary else "regression"
        why = "every target is 0 or 1" if binary else "numbers"
        return task, (f"task: {task} (inferred from the {y.shape[1]} targets: {why}; --task "
                      f"to override)")
    task = infer_task(y)
    distinct = len(np.unique(y))
    if y.dtype.kind not in "biuf":
        why = f"{distinct} text labels"
    elif task == "classification":
        why = f"{distinct} distinct integer values"
    else:
        why = "numbers that are not a few integers"
    return task, (f"task: {task} (inferred from the target {data.target_name!r}: {why}; "
                  f"--task to override)")


def check_target(data, task):
    y = np.asarray(data.y)
    name = data.target_name or data.source
    if y.ndim == 2:
        if task == "multilabel" and not np.isin(y, (0.0, 1.0)).all():
            raise CLIError("--task multilabel needs every target to be 0 or 1")
        return
    distinct, counts = np.unique(y, return_counts=True)
    if len(distinct) < 2:
        raise CLIError(f"the target {name!r} is constant ({distinct[0]!s} in all {len(y)} "
                       f"rows): nothing to learn")
    if task == "regression" and y.dtype.kind not in "biuf":
        raise CLIError(f"--task regression needs a numeric target, but {name!r} holds text "
                       f"such as {str(distinct[0])!r}")
    if task == "classification" and len(distinct) > max(20, len(y) // 2):
        raise CLIError(f"the target {name!r} has {len(distinct)} distinct values in {len(y)} "
                       f"rows: too many to be classes (each seen about once); --task "
                       f"regression if it is a quantity")


def split_rows(data, test_fraction, seed, classification):
    from ..datasets import split_indices

    y = np.asarray(data.y)
    return split_indices(y if y.ndim == 1 else np.arange(len(y)), test_fraction, seed,
                         classification and y.ndim == 1)


def preprocess(net, X):
    pre = getattr(net, "preprocessing_", None)
    if pre and "standardize" in pre:
        from ..datasets import Standardizer

        return Standardizer.from_state(pre["standardize"]).transform(X)
    return X


def data_info(net):
    return getattr(net, "data_info_", None) or {}


def model_targets(net):
    """The target columns the model was trained on (none for a built-in set)."""
    info = data_info(net)
    return list(info.get("targets") or ([info["target_name"]] if info.get("target_name")
                                        else []))


def encoder_of(net, missing="impute", unknown="ignore"):
    """The model's :class:`~deltaprop.datasets.encoding.TableEncoder`, or None for a model
    whose inputs are plain numbers."""
    from ..datasets.encoding import TableEncoder

    columns = data_info(net).get("columns")
    if not columns:
        return None
    return TableEncoder.from_state(columns, missing="error" if missing == "error" else "impute",
                                   unknown=unknown)


def model_inputs(net, table, *, missing=None, unknown="ignore", ignore=(), quiet=False):
    """The model's input matrix for the rows of ``table``, and a mask of the rows it could
    encode (a row with a missing value under the rule ``drop`` cannot be).

    ``missing`` (impute, drop, error) defaults to the rule the model was trained with.
    Columns the model does not use are ignored (and named once on stderr) unless they are
    its targets, its recorded ignored columns or ``ignore``.
    """
    info = data_info(net)
    rule = missing or info.get("missing") or "error"
    encoder = encoder_of(net, rule, unknown)
    if encoder is None:
        return _plain_inputs(net, table, rule, ignore)
    inputs = [c.name for c in encoder.columns_]
    require_columns(table, inputs)
    known = {*inputs, *model_targets(net), *(info.get("ignored") or ()), *ignore}
    extra = [n for n in table.names if n not in known and n != table.row_names]
    if extra and not quiet:
        print(f"ignored column{'s' if len(extra) > 1 else ''} "
              f"{', '.join(map(repr, extra[:5]))}{', ...' if len(extra) > 5 else ''}: not an "
              f"input of the model (--id copies a column into predict's output)",
              file=sys.stderr)
    ok = np.ones(len(table), dtype=bool)
    if rule == "drop":
        ok = ~rows_with_missing(table, [n for n in inputs if n in table])
    X = np.full((len(table), net.n_inputs), np.nan)
    if ok.any():
        X[ok] = encoder.transform(table.take(ok))
    if not quiet:
        _report(encoder.report_ if ok.any() else {}, rule)
    return X, ok


def require_columns(table, names, hint=""):
    """An error naming the first of ``names`` that ``table`` lacks (and how many)."""
    absent = [n for n in names if n not in table]
    if absent:
        raise CLIError(f"{table.source} has no column {absent[0]!r}, which the model needs "
                       f"({len(absent)} missing: {', '.join(map(repr, absent[:5]))}"
                       f"{', ...' if len(absent) > 5 else ''}{hint})")


def _report(report, rule):
    """Say how many rows had unseen levels and imputed values."""
    for what, words in (("unknown", "a level not seen in training (encoded as all zeros; "
                                    "--unknown error refuses it)"),
                        ("missing", "a missing value, imputed")):
        counts = (report or {}).get(what) or {}
        if counts and (what == "unknown" or rule == "impute"):
            detail = ", ".join(f"{name} {n}" for name, n in counts.items())
            print(f"rows with {words}: {detail}", file=sys.stderr)


def _plain_inputs(net, table, rule, ignore):
    """The inputs of a model without a data contract (numbers only): columns by name when
    the model knows its feature names and the file has them, else by position (less the
    target column)."""
    info = data_info(net)
    names = info.get("feature_names") or []
    target = info.get("target_name")
    candidates = [n for n in table.names if n not in ignore and n != target]
    if names and table.has_header:
        require_columns(table, names, "; --no-header for a file whose columns are the "
                                      "features in order")
        unknown = [n for n in candidates if n not in names]
        if unknown:
            raise CLIError(f"{table.source} has a column {unknown[0]!r} that the model was not "
                           f"trained on (its features are {', '.join(map(repr, names[:5]))}"
                           f"{', ...' if len(names) > 5 else ''}; --id {unknown[0]} copies "
                           f"it into predict's output)")
        columns = list(names)
    else:
        columns = candidates  # no header, or a model without names: by position
        if len(columns) != net.n_inputs:
            raise CLIError(f"{table.source} has {len(columns)} feature columns, but the model "
                           f"expects {net.n_inputs}")
    X = table.numbers(columns, allow_missing=True)
    missing = np.isnan(X).any(axis=1)
    if missing.any() and rule != "drop":
        i = int(np.flatnonzero(missing)[0])
        j = int(np.flatnonzero(np.isnan(X[i]))[0])
        raise CLIError(f"{table.where(i)}, column {columns[j]!r}: missing value (this model "
                       f"was trained on complete rows: --missing drop leaves such rows without "
                       f"a prediction)")
    ok = ~missing
    X[ok] = preprocess(net, X[ok])
    return X, ok


def unscale(net, pred):
    scaling = data_info(net).get("target_scaling")
    if scaling is None:
        return pred
    pred = np.asarray(pred)
    mean, scale = np.asarray(scaling["mean"]), np.asarray(scaling["scale"])
    return pred * (scale if pred.ndim == 2 else scale[0]) + (mean if pred.ndim == 2 else mean[0])


def recorded_split(net, data):
    recorded = data_info(net)["split"]
    return split_rows(data, recorded["test_fraction"], recorded["seed"],
                      net.task == "classification")
