"""The ``deltaprop`` command: train, evaluate, predict, summary, explain, descent.

Every error a user can cause (a bad CSV, a missing column, a model file that does not
fit the data, an option that does not apply) ends in one line on stderr and exit status 2,
never a traceback; an interrupted ``train`` exits with 130 and keeps the previous model.

The data set is always the first argument after the command (``deltaprop train iris.csv``,
``deltaprop evaluate MODEL iris.csv``, ``deltaprop predict MODEL rows.csv``); the model
file records where its training rows came from (the data set's fingerprint and the split),
so that ``evaluate`` scores exactly the held-out rows and ``predict`` matches columns by
name.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import re
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from .devices import device_name

EXAMPLES_TRAIN = """\
examples:
  deltaprop train                                  # digits, 64-128-10, a few seconds
  deltaprop train iris --hidden 16 --epochs 100
  deltaprop train moons --hidden 32 32 --activation tanh --plot-boundary
  deltaprop train mnist --data-dir ../shared/datasets/mnist --hidden 256,128 --epochs 10
  deltaprop train data.csv --target price --hidden 64 --json
  deltaprop train digits --output-activation sigmoid --loss mse   # Nielsen's quadratic cost
  deltaprop train --resume runs/digits             # continue an interrupted run
"""

EXAMPLES_EVALUATE = """\
examples:
  deltaprop evaluate runs/digits/model.npz digits            # the held-out test rows
  deltaprop evaluate runs/digits/model.npz digits --split all
  deltaprop evaluate model.npz new_rows.csv --target label
"""

EXAMPLES_PREDICT = """\
examples:
  deltaprop predict runs/digits/model.npz input.csv -o predictions.csv
"""

#: The data sets with an official test set of their own (no --test-split).
OFFICIAL_SPLITS = ("mnist", "fashion-mnist")
#: The options of ``train`` that may be given with ``--resume`` (the others come from the
#: run's ``run.json``): a run may go on on another device.
RESUMABLE = ("epochs", "quiet", "json", "device")


class CLIError(Exception):
    """An error to report in one line."""


# -- argument types: strict, each error names what it expected --------------------------------


def _integer(minimum):
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


_positive_int = _integer(1)
_non_negative_int = _integer(0)


def _number(text, *, low=None, strict=False):
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


def _positive(text):
    return _number(text, low=0.0, strict=True)


def _non_negative(text):
    return _number(text, low=0.0)


def _fraction(text):
    value = _number(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text}")
    return value


def _layer_items(text):
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


def _device(text):
    """A device name (``cpu``, ``cuda``, ``cuda:N``; ``strict``, the CPU test device). Only
    its spelling is checked here: whether the GPU is there is asked when the command runs."""
    try:
        return device_name(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected cpu, cuda or cuda:N (N a GPU's number), "
                                         f"got {text!r}") from None


def _int_list(text):
    """``--hidden``'s old single-string form, kept for callers of this module."""
    return _layer_items(text)


def _float_list(text):
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}")
    if not values or not all(np.isfinite(values)):
        raise argparse.ArgumentTypeError(f"expected comma-separated finite numbers, got {text!r}")
    return values


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors in one line (the usage is one ``--help`` away)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _Moved(argparse.Action):
    """An option spelled another way in this command: an error that gives the spelling."""

    def __init__(self, option_strings, dest, message, nargs="?", **kw):
        super().__init__(option_strings, dest, nargs=nargs, help=argparse.SUPPRESS, **kw)
        self.message = message

    def __call__(self, parser, namespace, values, option_string=None):
        parser.error(self.message)


def _data_argument(p, command, usage):
    p.add_argument("--data", action=_Moved, message=(
        f"the data set is a positional argument in every command: {usage} "
        f"(not --data)"))


def _csv_options(p):
    p.add_argument("--delimiter", default=None,
                   help="field separator of a CSV file (default: detected; a tab for .tsv)")
    p.add_argument("--missing", choices=["error", "drop"], default=None,
                   help="a CSV file's missing values (empty, NA, nan, null, ?): an error naming "
                        "the line and column (default), or drop those rows")


def build_parser():
    from .activations import ACTIVATIONS
    from .losses import LOSSES
    from .optimizers import FULL_BATCH_OPTIMIZERS, OPTIMIZERS

    hidden_activations = sorted(name for name, cls in ACTIVATIONS.items()
                                if cls.elementwise and not cls.output_only)
    parser = _Parser(
        prog="deltaprop", allow_abbrev=False,
        description="Feed-forward neural networks with exact, explainable backpropagation.")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    fmt = argparse.RawDescriptionHelpFormatter
    t = sub.add_parser("train", help="train a network and save it", epilog=EXAMPLES_TRAIN,
                       formatter_class=fmt, allow_abbrev=False,
                       description="Train an MLP on a built-in data set or a CSV file, save the "
                                   "model, its history and a learning curve, print the metrics.")
    t.add_argument("data", nargs="?", default=None,
                   help="a built-in data set (digits, iris, wine, breast_cancer, moons, circles, "
                        "spirals, xor, blobs, mnist, fashion-mnist) or a CSV file (default: "
                        "digits). A built-in name always means the built-in set: write ./iris "
                        "for a file of that name")
    _data_argument(t, "train", "deltaprop train DATA")
    t.add_argument("--data-dir", help="directory with the IDX files, for mnist and fashion-mnist")
    t.add_argument("--target", help="name of the target column, for a CSV file")
    _csv_options(t)
    t.add_argument("--task", choices=["auto", "classification", "regression"], default="auto",
                   help="auto (default) infers it from the target and says so: text labels, "
                        "and integers with at most 20 distinct values, are classes")
    t.add_argument("--hidden", type=_layer_items, nargs="+", default=None, metavar="SIZES",
                   help="hidden layer sizes: 256,128 or 256 128; 'none' for no hidden layer "
                        "(default 128)")
    t.add_argument("--activation", default="relu", choices=hidden_activations,
                   help="hidden activation (default relu)")
    t.add_argument("--output-activation", default="auto", choices=["auto"] + sorted(ACTIVATIONS),
                   help="output activation (default: softmax for classes, identity for "
                        "regression)")
    t.add_argument("--output", action=_Moved, message=(
        "train has no --output: the output activation is --output-activation, the output "
        "directory --out"))
    t.add_argument("--loss", default="auto", choices=["auto"] + sorted(LOSSES),
                   help="default: cross_entropy for classes, mse for regression; mse with a "
                        "sigmoid output is the quadratic cost of Nielsen's classifier")
    t.add_argument("--optimizer", default="adam",
                   choices=sorted({*OPTIMIZERS, *FULL_BATCH_OPTIMIZERS}),
                   help="lbfgs: full-batch L-BFGS (SciPy), one iteration an epoch")
    t.add_argument("--lr", type=_positive, default=None, help="learning rate (optimizer's default)")
    t.add_argument("--epochs", type=_positive_int, default=None, help="default 30")
    t.add_argument("--batch-size", type=_positive_int, default=32)
    t.add_argument("--l2", type=_non_negative, default=0.0,
                   help="λ of the L2 term (λ/2)Σ‖W‖²")
    t.add_argument("--dropout", type=_fraction, default=0.0, metavar="P",
                   help="inverted dropout with probability P after every hidden layer "
                        "(default 0: none)")
    t.add_argument("--norm", choices=["none", "batch", "layer"], default="none",
                   help="batch or layer normalisation after every hidden layer's activation "
                        "(default none)")
    t.add_argument("--seed", type=_non_negative_int, default=0,
                   help="seeds the weights, the shuffling, the splits and the generated data sets "
                        "(moons, circles, spirals, xor, blobs); default 0")
    t.add_argument("--val-split", type=_fraction, default=0.1,
                   help="fraction of the training data held out for validation (default 0.1)")
    t.add_argument("--test-split", type=_fraction, default=None,
                   help="fraction held out for the final test (default 0.25); not for mnist "
                        "and fashion-mnist, which have their own test set")
    t.add_argument("--early-stopping", type=_positive_int, metavar="PATIENCE", default=None,
                   help="stop when the validation loss has not improved for PATIENCE epochs")
    t.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    t.add_argument("--device", type=_device, default=None, metavar="DEVICE",
                   help="where to train: cpu (default), cuda or cuda:N, an NVIDIA GPU (needs "
                        "CuPy: pip install 'deltaprop[cuda]'); the model file is the same")
    t.add_argument("--no-standardize", action="store_true",
                   help="do not scale the features to zero mean and unit variance")
    t.add_argument("--no-standardize-target", action="store_true",
                   help="regression: do not scale the target to zero mean and unit variance "
                        "(by default it is, and predictions are scaled back)")
    t.add_argument("--out", default=None,
                   help="output directory for model.npz, history.json and the plots "
                        "(learning_curve.png, gradient_norms.png, confusion_matrix.png; "
                        "default runs/DATA)")
    t.add_argument("--resume", metavar="DIR", default=None,
                   help="continue the interrupted run saved in DIR (its checkpoint.npz and "
                        "run.json); --epochs may raise the number of epochs")
    t.add_argument("--plot-boundary", action="store_true",
                   help="also draw the decision boundary (classification with 2 features)")
    t.add_argument("--diagnostics", action="store_true",
                   help="record per-layer diagnostics each epoch (error-vector and gradient "
                        "norms, update ratio, dead ReLUs, saturated units) into "
                        "diagnostics.json and diagnostics.png")
    t.add_argument("--json", action="store_true", help="print the final metrics as one JSON object")
    t.add_argument("-q", "--quiet", action="store_true", help="no progress output")

    e = sub.add_parser("evaluate", help="loss and metrics of a saved model on data",
                       epilog=EXAMPLES_EVALUATE, formatter_class=fmt, allow_abbrev=False,
                       description="Score a saved model. On the data it was trained on, the "
                                   "default scores exactly the rows held out for the test.")
    e.add_argument("model")
    e.add_argument("data", help="a built-in data set name or a CSV file")
    _data_argument(e, "evaluate", "deltaprop evaluate MODEL DATA")
    e.add_argument("--data-dir", help="directory with the IDX files, for mnist and fashion-mnist")
    e.add_argument("--target", help="the target column of a CSV file (default: the model's)")
    _csv_options(e)
    e.add_argument("--split", choices=["auto", "test", "train", "all"], default="auto",
                   help="test: the rows held out when the model was trained (the official test "
                        "set for mnist); train: the rows it was trained on; all: every row; "
                        "auto (default): test on the training data, all on other data")
    e.add_argument("--json", action="store_true")

    p = sub.add_parser("predict", help="predictions of a saved model for a CSV file",
                       epilog=EXAMPLES_PREDICT, formatter_class=fmt, allow_abbrev=False,
                       description="Columns are matched by name when the model knows its "
                                   "feature names and the file has a header (any order; the "
                                   "target column is ignored), else by position.")
    p.add_argument("model")
    p.add_argument("input", help="CSV file with the model's input features")
    _data_argument(p, "predict", "deltaprop predict MODEL INPUT.csv")
    _csv_options(p)
    p.add_argument("-o", "--output", help="CSV file to write (default: standard output); never "
                                          "the model or the input")
    p.add_argument("--proba", action="store_true", help="also write the class probabilities")

    s = sub.add_parser("summary", help="the layers of a saved model",
                       epilog="examples:\n  deltaprop summary runs/digits/model.npz\n",
                       formatter_class=fmt, allow_abbrev=False)
    s.add_argument("model")
    _add_explain_parsers(sub)
    from .playground import cli as playground_cli  # argparse only; the server loads in run
    playground_cli.add_parser(sub)
    for command in sub.choices.values():
        command.allow_abbrev = False  # --dat is not --data-dir
    return parser


def _version():
    from . import __version__

    return f"deltaprop {__version__}"


# -- data ---------------------------------------------------------------------------------


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


def _builtin_key(name):
    """The built-in data set ``name`` means, or None for a file. A built-in name means the
    built-in set even when a file of that name exists (``./iris`` is the file)."""
    from .datasets.registry import DATASETS

    if any(sep in name for sep in ("/", os.sep)) or Path(name).suffix:
        return None
    key = name.strip().lower()
    for candidate in (key, key.replace("_", "-"), key.replace("-", "_")):
        if candidate in DATASETS:
            return candidate
    return None


def _resolve(name):
    """``(builtin key or None, path or None)`` for a data argument."""
    key = _builtin_key(name)
    if key is not None:
        return key, None
    path = Path(name)
    if path.is_dir():
        raise CLIError(f"{name} is a directory, not a data set or a CSV file")
    if not path.exists():
        from .datasets.registry import DATASETS

        raise CLIError(f"{name}: no such file, and not a built-in data set "
                       f"({', '.join(DATASETS)})")
    return None, path


def _check_applicable(args, key, command):
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


def _load(args, key, path, split="train", target=None):
    """The :class:`Data` for a resolved data argument."""
    from .datasets import GENERATED, dataset_info, load_csv, load_dataset
    from .datasets.bundled import SMALL_SETS

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


def _infer_task(data, declared):
    """The task, declared or inferred from the targets, and a sentence saying which."""
    from .tasks import infer_task

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


def _check_target(data, task):
    y = np.asarray(data.y)
    distinct = np.unique(y)
    if len(distinct) < 2:
        raise CLIError(f"the target {data.target_name or data.source!r} is constant "
                       f"({distinct[0]!s} in all {len(y)} rows): nothing to learn")
    if task == "regression" and y.dtype.kind not in "biuf":
        raise CLIError(f"--task regression needs a numeric target, but "
                       f"{data.target_name!r} holds text such as {str(distinct[0])!r}")


def _check_writable(directory):
    """Make sure the run's files can be written in ``directory`` before any training time
    is spent (:func:`deltaprop.io.check_writable`), then create it."""
    from .io import ModelFileError, check_writable

    try:
        check_writable(directory / "model.npz")
        directory.mkdir(parents=True, exist_ok=True)
    except (ModelFileError, OSError) as exc:
        raise CLIError(f"cannot write to the output directory {directory}: "
                       f"{getattr(exc, 'strerror', None) or exc}")


def _same_file(a, b):
    try:
        return Path(a).resolve() == Path(b).resolve() or (
            Path(a).exists() and Path(b).exists() and os.path.samefile(a, b))
    except OSError:
        return False


def _split_rows(data, test_fraction, seed, classification):
    from .datasets import split_indices

    return split_indices(data.y, test_fraction, seed, classification)


# -- commands -----------------------------------------------------------------------------


def _run_record(args):
    return {k: v for k, v in vars(args).items() if k not in ("command", "resume")}


def _resume_args(args):
    """The interrupted run's options from ``DIR/run.json``, with ``--epochs`` and the
    output options of this call."""
    directory = Path(args.resume)
    record_path, checkpoint = directory / "run.json", directory / "checkpoint.npz"
    if not checkpoint.is_file() or not record_path.is_file():
        raise CLIError(f"--resume {directory}: no interrupted run there (expected "
                       f"checkpoint.npz and run.json)")
    defaults = build_parser().parse_args(["train"])
    extra = [k for k, v in vars(args).items()
             if k not in (*RESUMABLE, "command", "resume") and v != getattr(defaults, k)]
    if extra:
        raise CLIError(f"--resume takes the run's options from {record_path}; only "
                       f"{', '.join('--' + k for k in RESUMABLE)} may be given, not "
                       f"{', '.join('--' + k.replace('_', '-') for k in extra)}")
    try:
        record = json.loads(record_path.read_text())
    except (OSError, ValueError) as exc:
        raise CLIError(f"{record_path} cannot be read: {exc}")
    resumed = argparse.Namespace(**{**vars(defaults), **record})
    resumed.out = str(directory)
    for k in RESUMABLE:
        if getattr(args, k) != getattr(defaults, k):
            setattr(resumed, k, getattr(args, k))
    return resumed, checkpoint


def cmd_train(args):
    import deltaprop as dp
    from .datasets import Standardizer

    from .distributed import from_environment

    dist = from_environment()  # under mpiexec -n K (K > 1): data-parallel, process 0 writes
    checkpoint = None
    if args.resume:
        args, checkpoint = _resume_args(args)
    device = dp.get_device(args.device or "cpu")  # no CuPy, no GPU: one line now, not later
    if dist is not None and not device.is_cpu:
        raise CLIError(f"--device {args.device}: data-parallel training (mpiexec) runs on the "
                       f"CPU; train on one GPU without mpiexec, or drop --device")
    if args.data is None:
        args.data = "digits"
    if args.epochs is None:
        args.epochs = 30
    hidden = [128] if args.hidden is None else [n for item in args.hidden for n in item]
    quiet = args.quiet or args.json or (dist is not None and not dist.is_root)
    key, path = _resolve(args.data)
    _check_applicable(args, key, "train")
    data = _load(args, key, path)
    task, task_line = _infer_task(data, args.task)
    _check_target(data, task)
    classification = task == "classification"
    test_fraction = 0.25 if args.test_split is None else args.test_split
    split = None
    if key in OFFICIAL_SPLITS:
        test = _load(args, key, None, split="test")
        X_train, y_train, X_test, y_test = data.X, data.y, test.X, test.y
    else:
        if test_fraction == 0:
            raise CLIError("--test-split must be > 0 for a data set without a test set of its own")
        try:
            train_idx, test_idx = _split_rows(data, test_fraction, args.seed, classification)
        except ValueError as exc:
            raise CLIError(f"--test-split {test_fraction:g}: {exc}")
        X_train, y_train = data.X[train_idx], data.y[train_idx]
        X_test, y_test = data.X[test_idx], data.y[test_idx]
        split = {"seed": int(args.seed), "test_fraction": float(test_fraction),
                 "val_fraction": float(args.val_split), "n_rows": int(len(data.X)),
                 "fingerprint": data.fingerprint()}
    if args.plot_boundary and not (classification and X_train.shape[1] == 2):
        raise CLIError(f"--plot-boundary needs classification with 2 features; {data.source} "
                       f"has {X_train.shape[1]} features ({task})")
    if not classification:
        y_train = np.asarray(y_train, dtype=float)
        y_test = np.asarray(y_test, dtype=float)
    scaler = None
    if not args.no_standardize and key not in OFFICIAL_SPLITS:
        scaler = Standardizer().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    target_scaling = None
    if not classification and not args.no_standardize_target:
        mean, scale = float(np.mean(y_train)), float(np.std(y_train))
        if not scale > 0:
            raise CLIError(f"the target {data.target_name!r} is constant in the training rows")
        target_scaling = {"mean": [mean], "scale": [scale]}

    if classification:
        n_out = len(np.unique(y_train))
    else:
        n_out = 1
    output, loss, n_out = dp.tasks.default_head(
        task, n_out,
        output=None if args.output_activation == "auto" else args.output_activation,
        loss=None if args.loss == "auto" else args.loss)
    opt_kw = {} if args.lr is None else {"lr": args.lr}
    optimizer = dp.optimizers.get_optimizer(args.optimizer, **opt_kw)
    if optimizer.full_batch and not device.is_cpu:
        raise CLIError(f"--optimizer {args.optimizer} runs on the CPU (SciPy's L-BFGS-B): drop "
                       f"--device {args.device}, or choose a mini-batch optimizer (adam, sgd...)")
    out = Path(args.out) if args.out else Path("runs") / (key or Path(args.data).stem)
    root = dist is None or dist.is_root
    if root:
        _check_writable(out)
    if checkpoint is not None:
        net = dp.load(checkpoint, device=device)
    else:
        net = dp.MLP([X_train.shape[1], *hidden, n_out], activation=args.activation,
                     output=output, loss=loss, l2=args.l2, dtype=args.dtype, seed=args.seed,
                     dropout=args.dropout, norm=None if args.norm == "none" else args.norm,
                     task=task, device=device)
    fit_y = y_train if target_scaling is None else \
        (y_train - target_scaling["mean"][0]) / target_scaling["scale"][0]
    test_y = y_test if target_scaling is None else \
        (y_test - target_scaling["mean"][0]) / target_scaling["scale"][0]
    grad_norms = dp.GradientNorms()
    callbacks = [grad_norms]
    diagnostics = dp.Diagnostics(X_train, fit_y) if args.diagnostics else None
    if diagnostics is not None:
        callbacks.append(diagnostics)
    if args.early_stopping is not None:
        if args.val_split == 0:
            raise CLIError("--early-stopping needs a validation split (--val-split > 0)")
        callbacks.append(dp.EarlyStopping(monitor="val_loss", patience=args.early_stopping))

    if root:
        (out / "run.json").write_text(json.dumps(_run_record(args), indent=1))
    if not quiet:
        net.summary()
        print(f"data: {data.source}: {len(X_train)} training and {len(X_test)} test samples, "
              f"{X_train.shape[1]} features")
        print(task_line)
        if not device.is_cpu:
            print(f"device: {device}")
    t0 = time.perf_counter()
    shard = (X_train, fit_y) if dist is None else dist.shard(X_train, fit_y, seed=args.seed)
    history = net.fit(*shard, optimizer=optimizer, epochs=args.epochs,
                      batch_size=args.batch_size, validation_split=args.val_split,
                      callbacks=callbacks, verbose=0 if quiet else 1, seed=args.seed,
                      resume=checkpoint is not None, distributed=dist)
    train_time = time.perf_counter() - t0
    if dist is not None and not dist.is_root:
        return 0

    net.preprocessing_ = None if scaler is None else {"standardize": scaler.get_state()}
    net.data_info_ = {
        "feature_names": data.feature_names, "target_name": data.target_name, "task": task,
        "source": data.source, "split": split, "target_scaling": target_scaling}
    if history.interrupted:
        ckpt = out / "checkpoint.npz"
        net.save(ckpt, include_optimizer=True)
        print(f"deltaprop train: interrupted after epoch {net.train_state_['epoch']}: "
              f"{out / 'model.npz'} is unchanged; the run is saved in {ckpt}; continue it "
              f"with: deltaprop train --resume {out}", file=sys.stderr)
        return 130

    test = _scores(net, X_test, test_y, target_scaling)
    model_path = out / "model.npz"
    net.save(model_path)
    for stale in ("checkpoint.npz",):
        if checkpoint is not None and (out / stale).exists():
            (out / stale).unlink()
    history_path = out / "history.json"
    history_path.write_text(json.dumps(history.to_dict(), indent=1))
    if diagnostics is not None:
        (out / "diagnostics.json").write_text(json.dumps(diagnostics.to_dict(), indent=1))
        if not quiet:
            print(diagnostics.table(), end="")
    plots = _plots(args, out, net, history, grad_norms, diagnostics, X_test, y_test,
                   classification, data, quiet)

    result = {
        "data": data.source,
        "task": task,
        "layers": net.layer_sizes,
        "device": str(net.device),
        "epochs": len(history.epoch),
        "train_time_s": round(train_time, 3),
        "train_loss": history["loss"][-1] if history.epoch else None,
        **{f"test_{k}": v for k, v in test.items()},
        "model": str(model_path),
        "history": str(history_path),
        **plots,
    }
    if "val_loss" in history.history:
        result["val_loss"] = history["val_loss"][-1]
    if args.json:
        print(json.dumps(result))
    else:
        metrics = ", ".join(f"{k} {v:.4f}" for k, v in test.items())
        print(f"test: {metrics}  ({len(history.epoch)} epochs in {train_time:.1f}s)")
        print(f"saved {model_path}, {history_path}" + "".join(f", {p}" for p in plots.values()))
    return 0


def _scores(net, X, y, target_scaling):
    """``net.evaluate``, with a regression's mse in the target's own units (R² does not
    change with the scaling; the loss stays the training objective's)."""
    result = net.evaluate(X, y)
    if target_scaling is not None and "mse" in result:
        result["mse"] *= target_scaling["scale"][0] ** 2
    return result


def _plots(args, out, net, history, grad_norms, diagnostics, X_test, y_test, classification,
           data, quiet):
    """Draw the run's figures into ``out``; ``{name: path}`` of those written. Figures
    drawn to a path need no backend, so the user's matplotlib setting is left alone."""
    try:
        from . import plots as plotting
        from .diagnostics import plot_diagnostics

        # Only plain arrays cross into the drawing processes: the network's predictions
        # (which may run compiled, threaded kernels) are computed here, and the decision
        # boundary, which needs the network, is drawn here.
        figures = {"learning_curve": lambda p: plotting.learning_curves(history, p),
                   "gradient_norms": lambda p: plotting.gradient_norms(grad_norms, p)}
        if classification:
            y_pred = net.predict(X_test)
            figures["confusion_matrix"] = lambda p: plotting.confusion_matrix(
                y_test, y_pred, p, labels=net.classes_, title="test confusion matrix")
        if diagnostics is not None:
            figures["diagnostics"] = lambda p: plot_diagnostics(diagnostics, p)
        here = {}
        if args.plot_boundary:
            here["decision_boundary"] = lambda p: plotting.decision_boundary(
                net, X_test, y_test, p)
        paths = {name: out / f"{name}.png" for name in (*figures, *here)}
        _draw_in_parallel(figures, paths)
        for name, draw in here.items():
            draw(paths[name])
        return {name: str(path) for name, path in paths.items()}
    except ImportError:
        if not quiet:
            print("(matplotlib is not installed: no plots; pip install 'deltaprop[plots]')")
        return {}


def _draw_in_parallel(figures, paths):
    """Draw each figure (``name -> draw(path)``) into its path, in forked processes where
    the system has ``fork`` (the figures are independent, and drawing them is most of the
    command's time on a small data set); a figure that fails is drawn again here, so that
    its error is the one reported."""
    if not hasattr(os, "fork") or len(figures) < 2 or os.environ.get("DELTAPROP_SERIAL_PLOTS"):
        for name, draw in figures.items():
            draw(paths[name])
        return
    import multiprocessing

    import matplotlib.figure  # noqa: F401  imported once, before the children share it

    context = multiprocessing.get_context("fork")
    children = {}
    for name, draw in figures.items():
        child = context.Process(target=_draw_child, args=(draw, paths[name]), daemon=True)
        child.start()
        children[name] = child
    for name, child in children.items():
        child.join(timeout=300)
        if child.exitcode != 0:  # failed, or still drawing after 5 minutes
            child.kill()
            figures[name](paths[name])


def _draw_child(draw, path):
    import warnings

    warnings.simplefilter("ignore")
    draw(path)


def _load_model(path):
    import deltaprop as dp

    return dp.load(path)


def _preprocess(net, X):
    pre = getattr(net, "preprocessing_", None)
    if pre and "standardize" in pre:
        from .datasets import Standardizer

        return Standardizer.from_state(pre["standardize"]).transform(X)
    return X


def _data_info(net):
    return getattr(net, "data_info_", None) or {}


def _match_columns(net, path, header, width, target=None):
    """The column indices of the model's features in a CSV file: by name when the model
    knows its feature names and the file has a header, else by position. The target
    column (``target``, or the model's) is left out; a missing or unknown column is an
    error naming it."""
    info = _data_info(net)
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


def _read_features(path, n_features, net=None, args=None):
    """The model's input features from a CSV file, columns matched by :func:`_match_columns`
    when ``net`` is given."""
    from .datasets.csvfile import parse_columns, read_table

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
        columns = _match_columns(net, path, header, width)
    return parse_columns(path, header, rows, columns, "float64")


def _unscale(net, pred):
    scaling = _data_info(net).get("target_scaling")
    if scaling is None:
        return pred
    return np.asarray(pred) * scaling["scale"][0] + scaling["mean"][0]


def cmd_evaluate(args):
    net = _load_model(args.model)
    info = _data_info(net)
    key, path = _resolve(args.data)
    _check_applicable(args, key, "evaluate")
    split = args.split
    if key in OFFICIAL_SPLITS:
        which = "test" if split in ("auto", "test") else split
        if which == "all":
            raise CLIError(f"--split all: {key} is scored on its test or its training set")
        data = _load(args, key, None, split=which)
        rows = np.arange(len(data.X))
        where = f"the {which} set of {key}" + (" (seen in training)" if which == "train" else
                                               " (none seen in training)")
    else:
        data = _load(args, key, path, target=args.target or info.get("target_name"))
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
                n_train = len(data.X) - len(_recorded_split(net, data)[1])
                seen = f" ({n_train} of them in the training split)"
            elif recorded is not None:
                seen = " (not the training data)"
            where = f"all rows of {data.source}{seen}"
        else:
            train_idx, test_idx = _recorded_split(net, data)
            rows = test_idx if split == "test" else train_idx
            where = (f"the test rows held out at training (none seen in training)"
                     if split == "test" else
                     "the training split (the rows trained on and those held out for "
                     "validation)")
    X = data.X[rows]
    if not data.builtin:
        X = _columns_for(net, args, data, path)[rows]
    elif X.shape[1] != net.n_inputs:
        raise CLIError(f"{data.source} has {X.shape[1]} feature columns, but the model expects "
                       f"{net.n_inputs}")
    y = np.asarray(data.y)[rows]
    scaling = info.get("target_scaling")
    if net.task == "regression":
        y = np.asarray(y, dtype=float)
        if scaling is not None:
            y = (y - scaling["mean"][0]) / scaling["scale"][0]
    result = _scores(net, _preprocess(net, X), y, scaling)
    note = f"scored {len(rows)} rows: {where}"
    if args.json:
        print(json.dumps({"model": args.model, "data": data.source, "split": split,
                          "rows": int(len(rows)), **result}))
        print(note, file=sys.stderr)
    else:
        print(note)
        print(", ".join(f"{k} {v:.4f}" for k, v in result.items()))
    return 0


def _recorded_split(net, data):
    recorded = _data_info(net)["split"]
    return _split_rows(data, recorded["test_fraction"], recorded["seed"],
                       net.task == "classification")


def _columns_for(net, args, data, path):
    """A CSV file's feature columns in the model's order (by name when it can)."""
    from .datasets.csvfile import parse_columns, read_table

    header, rows = read_table(path, delimiter=args.delimiter, missing=args.missing or "error")
    columns = _match_columns(net, path, header, len(rows[0][1]), target=data.target_name)
    return parse_columns(path, header, rows, columns, "float64")


def cmd_predict(args):
    if args.output and (_same_file(args.output, args.model) or _same_file(args.output, args.input)):
        raise CLIError(f"-o {args.output} would overwrite the "
                       f"{'model' if _same_file(args.output, args.model) else 'input'}; "
                       f"choose another file")
    net = _load_model(args.model)
    X = _preprocess(net, _read_features(args.input, net.n_inputs, net, args))
    pred = net.predict(X)
    if net.task == "regression":
        pred = _unscale(net, pred)
    columns = ["prediction"] if np.ndim(pred) == 1 else [f"prediction_{j}" for j in range(pred.shape[1])]
    table = [np.asarray(pred).reshape(len(X), -1).astype(str)]
    if args.proba:
        if net.task == "regression":
            raise CLIError("--proba needs a classifier")
        proba = net.predict_proba(X)
        columns += [f"p_{c}" for c in net.classes]
        table.append(np.char.mod("%.6g", proba))
    rows = np.hstack(table)
    if args.output:
        _write_atomically(Path(args.output), columns, rows.tolist())
        print(f"wrote {len(rows)} predictions to {args.output}", file=sys.stderr)
    else:
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows.tolist())
    return 0


def _write_atomically(path, columns, rows):
    """A CSV file written beside ``path`` and renamed over it: an error midway leaves
    any earlier file whole."""
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".",
                               prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(columns)
            writer.writerows(rows)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cmd_summary(args):
    _load_model(args.model).summary()
    return 0


# -- explain and descent ----------------------------------------------------------------

EXAMPLES_EXPLAIN = """\
examples:
  deltaprop explain --list-examples
  deltaprop explain --example relu-2-2-1                  # the worked 2-2-1 network, steps 1-5
  deltaprop explain --example sigmoid-4-layer --notation hagan --format latex -o trace.tex
  deltaprop explain --example softmax --notation nielsen --format markdown
  deltaprop explain runs/iris/model.npz --input one_flower.csv --target 2
  deltaprop explain model.npz --input rows.csv --target targets.csv --format json
"""

EXAMPLES_DESCENT = """\
examples:
  deltaprop descent                               # eta = 0.1, 0.001, 0.665757 (Rousseau)
  deltaprop descent --eta 0.3,0.6,0.7 --start 2,1 --steps 20 --plot descent.png
"""




def _add_explain_parsers(sub):
    from .explain import EXAMPLES, FORMATS, NOTATIONS

    fmt = argparse.RawDescriptionHelpFormatter
    x = sub.add_parser(
        "explain", help="one forward and one backward step, every number, in a lecture's notation",
        epilog=EXAMPLES_EXPLAIN, formatter_class=fmt,
        description="Trace one forward and one backward sweep: for every layer the input, "
                    "pre-activation, activation, error vector, dJ/dW and dJ/db, in the "
                    "notation of a textbook or lecture note (goodfellow: Goodfellow et al., "
                    "Deep Learning; nielsen: Nielsen, Neural Networks and Deep Learning; "
                    "hagan: Hagan et al., Neural Network Design; rousseau: Rousseau's lecture "
                    "notes, Neural networks: an introduction).")
    x.add_argument("model", nargs="?", help="a saved model (.npz); or use --example")
    x.add_argument("--example", choices=EXAMPLES, help="a worked example (see --list-examples)")
    x.add_argument("--list-examples", action="store_true", help="list the worked examples")
    x.add_argument("--input", help="CSV file (header row) with the model's input features")
    x.add_argument("--target",
                   help="the targets: a CSV file (header row, one row per input row) or "
                        "comma-separated values used for every row, e.g. a class label '2' "
                        "or '0.5,1'")
    x.add_argument("--notation", choices=list(NOTATIONS), default=None,
                   help="default: the example's own, goodfellow for a model")
    x.add_argument("--format", choices=list(FORMATS), default="text")
    x.add_argument("--sample", type=int, default=None,
                   help="show only this sample (0-based) step by step")
    x.add_argument("--precision", type=int, default=6, help="significant digits (default 6)")
    x.add_argument("--fragment", action="store_true",
                   help="LaTeX: a fragment to \\input instead of a complete document")
    x.add_argument("-o", "--output", help="file to write (default: standard output)")

    d = sub.add_parser("descent", help="gradient descent on f(x, y) = 1.5x² + y² + 2 (Rousseau's lecture notes)",
                       epilog=EXAMPLES_DESCENT, formatter_class=fmt,
                       description="The table of iterates of gradient descent for several "
                                   "learning rates, the stability limit eta < 2/3, and a contour "
                                   "plot with the trajectories (plus momentum and Adam).")
    d.add_argument("--eta", type=_float_list, default=None,
                   help="learning rates (default 0.1,0.001,0.665757)")
    d.add_argument("--start", type=_float_list, default=None, help="x0,y0 (default -2.5,2)")
    d.add_argument("--steps", type=int, default=30)
    d.add_argument("--plot", default="descent.png",
                   help="PNG to write (default descent.png; 'none' for no figure)")


def _read_targets(spec, n_rows):
    """Rows of target cells (strings) from a CSV file or one comma-separated row."""
    path = Path(spec)
    if path.is_file():
        from .datasets.csvfile import read_csv_rows

        rows = [cells for _, cells in read_csv_rows(path)][1:]
        if len(rows) != n_rows:
            raise CLIError(f"{path} has {len(rows)} target rows but the input has {n_rows} rows")
        cells = rows
    else:
        cells = [spec.split(",")] * n_rows
    return cells


def cmd_explain(args):
    from . import explain as ex

    if args.list_examples:
        width = max(len(n) for n in ex.EXAMPLES)
        for name, e in ex.EXAMPLES.items():
            print(f"{name:<{width}}  {'[' + e.notation + ']':<12}  {e.title}")
        return 0
    if args.example and args.model:
        raise CLIError("give either a MODEL or --example, not both")
    if args.example:
        net, X, T = ex.example(args.example)
        notation = args.notation or ex.EXAMPLES[args.example].notation
    elif args.model:
        if not args.input or not args.target:
            raise CLIError("explaining a model needs --input FILE.csv and --target")
        net = _load_model(args.model)
        X = _preprocess(net, _read_features(args.input, net.n_inputs, net))
        cells = _read_targets(args.target, len(X))
        if net.task == "classification" and len(cells[0]) == 1:  # class labels
            classes = net.classes
            labels = np.array([row[0].strip() for row in cells])
            if classes.dtype.kind in "biuf":
                try:
                    labels = labels.astype(float).astype(classes.dtype)
                except ValueError:
                    raise CLIError(f"--target {args.target!r}: class labels must be numbers")
            T = net.encode_targets(labels, len(X))[0]
        else:
            try:
                T = np.array([[float(c) for c in row] for row in cells])
            except ValueError:
                raise CLIError(f"--target {args.target!r}: not a CSV file, and not "
                               "comma-separated numbers")
        notation = args.notation or "goodfellow"
    else:
        raise CLIError("nothing to explain: give a MODEL with --input and --target, or "
                       "--example NAME (see --list-examples)")
    trace = ex.explain(net, X, T, notation=notation, precision=args.precision)
    kw = {}
    if args.format != "json":
        kw["sample"] = args.sample
    if args.format == "latex":
        kw["standalone"] = not args.fragment
    text = ex.render(trace, args.format, **kw)
    if args.output:
        for other in (args.model, args.input):
            if other and _same_file(args.output, other):
                raise CLIError(f"-o {args.output} would overwrite {other}; choose another file")
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_descent(args):
    from . import descent

    etas = args.eta or list(descent.SEED_ETAS)
    start = tuple(args.start) if args.start else descent.START
    if len(start) != 2:
        raise CLIError(f"--start needs two numbers x0,y0, got {len(start)}")
    if args.steps < 1:
        raise CLIError(f"--steps must be positive, got {args.steps}")
    print(descent.iterate_table(etas, start, args.steps), end="")
    if args.plot.lower() != "none":
        try:
            descent.plot_descent(args.plot, etas, start, args.steps)
        except ImportError as exc:
            raise CLIError(str(exc))
        print(f"wrote {args.plot}")
    return 0


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "predict": cmd_predict,
            "summary": cmd_summary, "explain": cmd_explain, "descent": cmd_descent,
            "playground": lambda args: _playground(args)}


def _playground(args):
    from .playground import cli as playground_cli  # Starlette and uvicorn load here only

    return playground_cli.run(args)

_NEGATIVE_VALUE = re.compile(r"^-(\d|\.\d)")


def _attach_negative_values(argv):
    """``--start -2.5,2`` as ``--start=-2.5,2``: argparse would read a value that starts
    with a minus sign (and is not a plain number) as an option."""
    out = []
    for token in argv:
        if (out and out[-1].startswith("--") and "=" not in out[-1]
                and _NEGATIVE_VALUE.match(token)):
            out[-1] = f"{out[-1]}={token}"
        else:
            out.append(token)
    return out


def main(argv=None):
    from .datasets import DatasetError
    from .devices import DeviceError
    from .io import ModelFileError
    from .training import TrainingDiverged

    expected = (CLIError, DatasetError, DeviceError, ModelFileError, TrainingDiverged, ValueError,
                TypeError, OSError, MemoryError)
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(_attach_negative_values(argv))
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            # NumPy's warnings (overflow in a diverging run...) would print source lines
            # before the one-line error that the command gives for the same cause.
            warnings.simplefilter("ignore", RuntimeWarning)
            code = COMMANDS[args.command](args)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # `deltaprop summary M | head -3`: the reader left; end quietly (Python's advice:
        # point stdout at devnull so that the interpreter's final flush does not fail too).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except expected as exc:
        if os.environ.get("DELTAPROP_DEBUG"):  # show the traceback when debugging
            raise
        print(f"deltaprop {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        from .distributed import abort_world

        abort_world(2)  # one of several MPI processes: end them all, none waits forever
        return 2
    except KeyboardInterrupt:
        print(f"deltaprop {args.command}: interrupted", file=sys.stderr)
        return 130


def _one_line(exc):
    text = str(exc) if str(exc) else type(exc).__name__
    if isinstance(exc, MemoryError) and not str(exc):
        text = "out of memory"
    return " ".join(text.split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
