"""The data argument of the commands: a built-in set's name or a CSV file, loaded as a
:class:`Data`, and the model's data contract applied to new rows."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import numpy as np

from .common import CLIError

OFFICIAL_SPLITS = ("mnist", "fashion-mnist")


class Data:
    """A loaded data set: ``X``, ``y`` and what the model file records about it."""

    def __init__(self, source, X, y, *, builtin, feature_names=None, target_name=None,
                 class_names=None):
        self.source, self.X, self.y, self.builtin = source, X, y, builtin
        self.feature_names, self.target_name = feature_names, target_name
        self.class_names = class_names

    def fingerprint(self):
        """SHA-256 of the rows as float64 and of the targets: the same data, read again
        from the same file or name, give the same fingerprint."""
        h = hashlib.sha256()
        X = np.ascontiguousarray(self.X, dtype=np.float64)
        h.update(repr(X.shape).encode())
        h.update(X.tobytes())
        h.update("\x1f".join(map(str, np.asarray(self.y).ravel().tolist())).encode())
        return h.hexdigest()


def builtin_key(name):
    """The built-in data set ``name`` means, or None for a file. A built-in name means the
    built-in set even when a file of that name exists (``./iris`` is the file)."""
    from ..datasets.registry import DATASETS

    if any(sep in name for sep in ("/", os.sep)) or Path(name).suffix:
        return None
    key = name.strip().lower()
    for candidate in (key, key.replace("_", "-"), key.replace("-", "_")):
        if candidate in DATASETS:
            return candidate
    return None


def resolve(name):
    """``(builtin key or None, path or None)`` for a data argument."""
    key = builtin_key(name)
    if key is not None:
        return key, None
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
    given = lambda opt: getattr(args, opt, None) is not None  # noqa: E731
    where = f"built-in data set {key!r}" if key else "a CSV file"
    if key is not None:
        for opt in ("target", "delimiter", "missing"):
            if given(opt):
                raise CLIError(f"--{opt} is for CSV files, not the {where}")
    if given("data_dir") and key not in OFFICIAL_SPLITS:
        raise CLIError(f"--data-dir is for mnist and fashion-mnist, not {where}")
    if command == "train" and key in OFFICIAL_SPLITS and given("test_split"):
        raise CLIError(f"--test-split does not apply to {key}, which has its own test set")


def load_data(args, key, path, split="train", target=None):
    """The :class:`Data` for a resolved data argument."""
    from ..datasets import GENERATED, dataset_info, load_csv, load_dataset
    from ..datasets.bundled import SMALL_SETS

    if path is not None:
        target = target or args.target
        if not target:
            raise CLIError(f"{path} is a CSV file: name its target column with --target")
        dropped = []
        X, y, names = load_csv(path, target, delimiter=args.delimiter,
                               missing=args.missing or "error", on_drop=dropped.extend)
        if dropped:
            lines = ", ".join(map(str, dropped[:8])) + (", ..." if len(dropped) > 8 else "")
            print(f"dropped {len(dropped)} rows with missing values (lines {lines})",
                  file=sys.stderr)
        return Data(path.name, X, y, builtin=False, feature_names=names, target_name=target)
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


def infer_task(data, declared):
    """The task, declared or inferred from the targets, and a sentence saying which."""
    from ..tasks import infer_task

    y = np.asarray(data.y)
    if declared != "auto":
        return declared, f"task: {declared} (--task)"
    if data.builtin:
        return "classification", f"task: classification ({data.source} has class labels)"
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
    distinct = np.unique(y)
    if len(distinct) < 2:
        raise CLIError(f"the target {data.target_name or data.source!r} is constant "
                       f"({distinct[0]!s} in all {len(y)} rows): nothing to learn")
    if task == "regression" and y.dtype.kind not in "biuf":
        raise CLIError(f"--task regression needs a numeric target, but "
                       f"{data.target_name!r} holds text such as {str(distinct[0])!r}")


def split_rows(data, test_fraction, seed, classification):
    from ..datasets import split_indices

    return split_indices(data.y, test_fraction, seed, classification)


def preprocess(net, X):
    pre = getattr(net, "preprocessing_", None)
    if pre and "standardize" in pre:
        from ..datasets import Standardizer

        return Standardizer.from_state(pre["standardize"]).transform(X)
    return X


def data_info(net):
    return getattr(net, "data_info_", None) or {}


def match_columns(net, path, header, width, target=None):
    """The column indices of the model's features in a CSV file: by name when the model
    knows its feature names and the file has a header, else by position. The target
    column (``target``, or the model's) is left out; a missing or unknown column is an
    error naming it."""
    info = data_info(net)
    names = info.get("feature_names")
    target = target or info.get("target_name")
    if header is None or not names:
        columns = list(range(width))
        if header is not None and target in header:
            columns.remove(header.index(target))
        if len(columns) != net.n_inputs:
            raise CLIError(f"{path} has {len(columns)} feature columns, but the model expects "
                           f"{net.n_inputs}")
        return columns
    missing = [n for n in names if n not in header]
    if missing:
        raise CLIError(f"{path} has no column {missing[0]!r}, which the model needs "
                       f"({len(missing)} missing: {', '.join(map(repr, missing[:5]))}"
                       f"{', ...' if len(missing) > 5 else ''})")
    unknown = [h for h in header if h not in names and h != target]
    if unknown:
        raise CLIError(f"{path} has a column {unknown[0]!r} that the model was not trained on "
                       f"(its features are {', '.join(map(repr, names[:5]))}"
                       f"{', ...' if len(names) > 5 else ''})")
    return [header.index(n) for n in names]


def read_features(path, n_features, net=None, args=None):
    """The model's input features from a CSV file, columns matched by :func:`match_columns`
    when ``net`` is given."""
    from ..datasets.csvfile import parse_columns, read_table

    delimiter = getattr(args, "delimiter", None)
    missing = getattr(args, "missing", None) or "error"
    dropped = []
    header, rows = read_table(path, delimiter=delimiter, missing=missing, on_drop=dropped.extend)
    if dropped:
        print(f"dropped {len(dropped)} rows with missing values", file=sys.stderr)
    width = len(rows[0][1])
    if net is None:
        columns = list(range(width))
        if width != n_features:
            raise CLIError(f"{path} has {width} feature columns, but the model expects "
                           f"{n_features}")
    else:
        columns = match_columns(net, path, header, width)
    return parse_columns(path, header, rows, columns, "float64")


def unscale(net, pred):
    scaling = data_info(net).get("target_scaling")
    if scaling is None:
        return pred
    return np.asarray(pred) * scaling["scale"][0] + scaling["mean"][0]


def recorded_split(net, data):
    recorded = data_info(net)["split"]
    return split_rows(data, recorded["test_fraction"], recorded["seed"],
                       net.task == "classification")


def columns_for(net, args, data, path):
    """A CSV file's feature columns in the model's order (by name when it can)."""
    from ..datasets.csvfile import parse_columns, read_table

    header, rows = read_table(path, delimiter=args.delimiter, missing=args.missing or "error")
    columns = match_columns(net, path, header, len(rows[0][1]), target=data.target_name)
    return parse_columns(path, header, rows, columns, "float64")
