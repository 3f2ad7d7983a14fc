"""``deltaprop train``: train a network on a built-in data set or a CSV file and save it."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from .common import (
    CLIError,
    Moved,
    Parser,
    column_list,
    csv_options,
    data_argument,
    device_option,
    fraction,
    layer_items,
    non_negative,
    non_negative_int,
    positive,
    positive_int,
)
from .data import (
    OFFICIAL_SPLITS,
    check_applicable,
    check_target,
    infer_task,
    integral_labels,
    load_builtin,
    resolve,
    split_rows,
)
from .output import write_text
from .rundir import interrupted_message, prepare_output_dir, resume_args
from .tabular import fit_encoder, ignored_columns, load_training_table

EXAMPLES_TRAIN = """\
examples:
  deltaprop train                                  # digits, 64-128-10, a few seconds
  deltaprop train iris --hidden 16                  # until the validation loss stops improving
  deltaprop train moons --hidden 32 32 --activation tanh --plot-boundary
  deltaprop train mnist --data-dir ../shared/datasets/mnist --hidden 256,128 --epochs 10
  deltaprop train penguins.csv --target species    # text, missing values: encoded
  deltaprop train data.csv --target price --drop id --categorical zip --json
  deltaprop train digits --output-activation sigmoid --loss mse   # Nielsen's quadratic cost
  deltaprop train --resume runs/digits             # continue an interrupted run
"""

#: Without --epochs: early stopping's patience (in epochs, and in optimizer steps: a small
#: data set's few steps an epoch cross a plateau only with more epochs) and the most epochs.
PATIENCE, PATIENCE_STEPS, MAX_EPOCHS = 10, 1000, 1000
#: The default L2 term of a network trained on a CSV table (benchmarks/tabular.py measures
#: it: on small tables with outliers, msleep and Grunfeld, R² goes from below 0 to 0.7-0.97).
TABLE_L2 = 0.01


def add_parser(sub):
    """The command's options, added to the subparsers ``sub``."""
    fmt = argparse.RawDescriptionHelpFormatter
    from ..activations import ACTIVATIONS
    from ..losses import LOSSES
    from ..optimizers import FULL_BATCH_OPTIMIZERS, OPTIMIZERS

    hidden_activations = sorted(name for name, cls in ACTIVATIONS.items()
                                if cls.elementwise and not cls.output_only)
    t = sub.add_parser("train", help="train a network and save it", epilog=EXAMPLES_TRAIN,
                       formatter_class=fmt, allow_abbrev=False,
                       description="Train an MLP on a built-in data set or a CSV file, save the "
                                   "model, its history and a learning curve, print the metrics.")
    t.add_argument("data", nargs="?", default=None,
                   help="a built-in data set (digits, iris, wine, breast_cancer, moons, circles, "
                        "spirals, xor, blobs, mnist, fashion-mnist) or a CSV file (default: "
                        "digits). A built-in name always means the built-in set: write ./iris "
                        "for a file of that name")
    data_argument(t, "train", "deltaprop train DATA")
    t.add_argument("--data-dir", help="directory with the IDX files, for mnist and fashion-mnist")
    t.add_argument("--target", type=column_list, metavar="COL[,COL...]",
                   help="the target column of a CSV file; several (a,b) for multi-output "
                        "regression or multilabel 0/1 columns. Rows without a target value "
                        "are left out (and counted)")
    csv_options(t, "missing feature values of a CSV file (empty, NA, nan, null, ?): impute "
                   "(default: the median of a number, the most frequent value of a boolean, a "
                   "level of its own for a category, from the training rows, with an indicator "
                   "column), drop the rows, or error")
    t.add_argument("--categorical", type=column_list, metavar="COL[,COL...]",
                   help="numeric columns to one-hot encode as categories (text columns always "
                        "are)")
    t.add_argument("--drop", type=column_list, metavar="COL[,COL...]",
                   help="columns that are not features (an ID, a name, a leak)")
    t.add_argument("--features", type=column_list, metavar="COL[,COL...]",
                   help="the feature columns (default: every column but the target and --drop)")
    t.add_argument("--class-weight", choices=["balanced"], default=None,
                   help="balanced: weight each class by n_rows / (n_classes * its rows), as "
                        "scikit-learn's class_weight='balanced'")
    t.add_argument("--task", choices=["auto", "classification", "regression", "multilabel"],
                   default="auto",
                   help="auto (default) infers it from the target and says so: text labels, "
                        "and integers with at most 20 distinct values, are classes")
    t.add_argument("--hidden", type=layer_items, nargs="+", default=None, metavar="SIZES",
                   help="hidden layer sizes: 256,128 or 256 128; 'none' for no hidden layer "
                        "(default 128)")
    t.add_argument("--activation", default="relu", choices=hidden_activations,
                   help="hidden activation (default relu)")
    t.add_argument("--output-activation", default="auto", choices=["auto"] + sorted(ACTIVATIONS),
                   help="output activation (default: softmax for classes, identity for "
                        "regression)")
    t.add_argument("--output", action=Moved, message=(
        "train has no --output: the output activation is --output-activation, the output "
        "directory --out"))
    t.add_argument("--loss", default="auto", choices=["auto"] + sorted(LOSSES),
                   help="default: cross_entropy for classes, mse for regression; mse with a "
                        "sigmoid output is the quadratic cost of Nielsen's classifier")
    t.add_argument("--optimizer", default="adam",
                   choices=sorted({*OPTIMIZERS, *FULL_BATCH_OPTIMIZERS}),
                   help="lbfgs: full-batch L-BFGS (SciPy), one iteration an epoch")
    t.add_argument("--lr", type=positive, default=None, help="learning rate (optimizer's default)")
    t.add_argument("--epochs", type=positive_int, default=None,
                   help=f"train exactly this many epochs (default: until the validation loss "
                        f"has not improved for {PATIENCE} epochs or {PATIENCE_STEPS:,} steps, "
                        f"whichever is longer, at most {MAX_EPOCHS} epochs; the best epoch's "
                        f"weights are restored)")
    t.add_argument("--batch-size", type=positive_int, default=32)
    t.add_argument("--l2", type=non_negative, default=None,
                   help=f"λ of the L2 term (λ/2)Σ‖W‖² (default {TABLE_L2} for a CSV file, whose "
                        f"few rows and heavy tails an unregularised network overfits; 0 for "
                        f"the built-in sets)")
    t.add_argument("--dropout", type=fraction, default=0.0, metavar="P",
                   help="inverted dropout with probability P after every hidden layer "
                        "(default 0: none)")
    t.add_argument("--norm", choices=["none", "batch", "layer"], default="none",
                   help="batch or layer normalisation after every hidden layer's activation "
                        "(default none)")
    t.add_argument("--seed", type=non_negative_int, default=0,
                   help="seeds the weights, the shuffling, the splits and the generated data sets "
                        "(moons, circles, spirals, xor, blobs); default 0")
    t.add_argument("--val-split", type=fraction, default=0.1,
                   help="fraction of the training data held out for validation (default 0.1)")
    t.add_argument("--test-split", type=fraction, default=None,
                   help="fraction held out for the final test (default 0.25); not for mnist "
                        "and fashion-mnist, which have their own test set")
    t.add_argument("--early-stopping", type=positive_int, metavar="PATIENCE", default=None,
                   help="stop when the validation loss has not improved for PATIENCE epochs "
                        "(without --epochs: see --epochs; with --epochs: no early stopping "
                        "unless given)")
    t.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    t.add_argument("--device", type=device_option, default=None, metavar="DEVICE",
                   help="where to train: cpu (default), cuda or cuda:N, an NVIDIA GPU (needs "
                        "CuPy: pip install 'deltaprop[cuda]'); the model file is the same")
    t.add_argument("--no-standardize", action="store_true",
                   help="do not scale the numeric features to zero mean and unit variance "
                        "(one-hot and 0/1 columns never are)")
    t.add_argument("--no-standardize-target", action="store_true",
                   help="regression: do not scale the target to zero mean and unit variance "
                        "(by default it is, and predictions are scaled back)")
    t.add_argument("--out", default=None,
                   help="output directory for model.npz, history.json and the plots "
                        "(learning_curve.png, gradient_norms.png, confusion_matrix.png; "
                        "default runs/DATA)")
    t.add_argument("--overwrite", action="store_true",
                   help="start a new run in --out even when it holds an interrupted run "
                        "(whose checkpoint.npz is then discarded)")
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


def defaults():
    """``train``'s options when none is given."""
    parser = Parser(prog="deltaprop")
    add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["train"])


def cmd_train(args):
    import deltaprop as dp

    from ..distributed import begin_run, from_environment

    dist = from_environment()  # under mpiexec -n K (K > 1): data-parallel, process 0 writes
    checkpoint = None
    if args.resume:
        args, checkpoint = resume_args(args, defaults())
    device = dp.get_device(args.device or "cpu")  # no CuPy, no GPU: one line now, not later
    if dist is not None and not device.is_cpu:
        raise CLIError(f"--device {args.device}: data-parallel training (mpiexec) runs on the "
                       f"CPU; train on one GPU without mpiexec, or drop --device")
    if args.data is None:
        args.data = "digits"
    quiet = args.quiet or args.json or (dist is not None and not dist.is_root)
    key, path = resolve(args.data)
    check_applicable(args, key, "train")
    d = _training_data(args, key, path, quiet)
    task, classification = d.task, d.task == "classification"
    data, target_scaling = d.data, d.target_scaling
    X_train, y_train, X_test, y_test = d.X_train, d.y_train, d.X_test, d.y_test
    if args.plot_boundary and not (classification and X_train.shape[1] == 2):
        raise CLIError(f"--plot-boundary needs classification with 2 features; {data.source} "
                       f"has {X_train.shape[1]} features ({task})")
    epochs, patience = _stopping(args, len(X_train))
    opt_kw = {} if args.lr is None else {"lr": args.lr}
    optimizer = dp.optimizers.get_optimizer(args.optimizer, **opt_kw)
    if optimizer.full_batch and not device.is_cpu:
        raise CLIError(f"--optimizer {args.optimizer} runs on the CPU (SciPy's L-BFGS-B): drop "
                       f"--device {args.device}, or choose a mini-batch optimizer (adam, sgd...)")
    out = Path(args.out) if args.out else Path("runs") / (
        key or ("stdin" if args.data == "-" else Path(args.data).stem))
    root = dist is None or dist.is_root
    net = (dp.load(checkpoint, device=device) if checkpoint is not None else
           _network(args, d, path is not None, device))
    fit_y, test_y = _scaled(y_train, target_scaling), _scaled(y_test, target_scaling)
    grad_norms, diagnostics, stopper, callbacks = _callbacks(args, X_train, fit_y, patience)
    begin_run(dist, {**vars(args), "X": X_train, "y": y_train}, verbose=not quiet)  # MPI
    if root:  # refuses a new run over an interrupted one; writes run.json
        prepare_output_dir(out, args)
    if not quiet:
        net.summary()
        print(f"data: {data.source}: {len(X_train)} training and {len(X_test)} test samples, "
              f"{X_train.shape[1]} features")
        print(d.task_line)
        if not device.is_cpu:
            print(f"device: {device}")
    t0 = time.perf_counter()
    weights = _class_weights(args, y_train, classification)
    if weights is not None and dist is not None:
        raise CLIError("--class-weight is not supported with mpiexec yet: train on one process")
    shard = (X_train, fit_y) if dist is None else dist.shard(X_train, fit_y, seed=args.seed)
    history = net.fit(*shard, optimizer=optimizer, epochs=epochs,
                      batch_size=args.batch_size, validation_split=args.val_split,
                      callbacks=callbacks, verbose=0 if quiet else 1, seed=args.seed,
                      resume=checkpoint is not None, distributed=dist, sample_weight=weights)
    train_time = time.perf_counter() - t0
    if dist is not None and not dist.is_root:
        return 0

    _record_contract(net, d, args)
    if history.interrupted:
        ckpt = out / "checkpoint.npz"
        net.save(ckpt, include_optimizer=True)
        print(interrupted_message(out, net.train_state_["epoch"]), file=sys.stderr)
        return 130

    test = scores(net, X_test, test_y, target_scaling)
    model_path = out / "model.npz"
    net.save(model_path)
    for stale in ("checkpoint.npz",):
        if checkpoint is not None and (out / stale).exists():
            (out / stale).unlink()
    history_path = out / "history.json"
    write_text(history_path, json.dumps(history.to_dict(), indent=1))
    if diagnostics is not None:
        write_text(out / "diagnostics.json", json.dumps(diagnostics.to_dict(), indent=1))
        if not quiet:
            print(diagnostics.table(), end="")
    plots = _plots(args, out, net, history, grad_norms, diagnostics, X_test, y_test,
                   classification, data, quiet)

    _report(args, data, task, net, history, stopper, (epochs, patience), train_time, test,
            (model_path, history_path), plots)
    return 0


def _stopping(args, n_train):
    """``(epochs, patience)``: ``--epochs`` as given, or without it the most epochs and a
    patience of :data:`PATIENCE` epochs or :data:`PATIENCE_STEPS` steps, the longer."""
    epochs, patience = args.epochs, args.early_stopping
    if epochs is None:  # until the validation loss stops improving
        if args.val_split == 0:
            raise CLIError(f"--val-split 0: without a validation split, give --epochs (by "
                           f"default training stops when the validation loss has not "
                           f"improved for {PATIENCE} epochs)")
        steps = -(-round(n_train * (1 - args.val_split)) // args.batch_size)
        epochs = MAX_EPOCHS
        patience = patience or max(PATIENCE, -(-PATIENCE_STEPS // max(steps, 1)))
    return epochs, patience


def _callbacks(args, X_train, fit_y, patience):
    """``(gradient norms, diagnostics or None, early stopping or None, all of them)``."""
    import deltaprop as dp

    grad_norms = dp.GradientNorms()
    diagnostics = dp.Diagnostics(X_train, fit_y) if args.diagnostics else None
    stopper = None
    if patience is not None:
        if args.val_split == 0:
            raise CLIError("--early-stopping needs a validation split (--val-split > 0)")
        stopper = dp.EarlyStopping(monitor="val_loss", patience=patience)
    return grad_norms, diagnostics, stopper, [c for c in (grad_norms, diagnostics, stopper)
                                              if c is not None]


def _network(args, d, table, device):
    """The MLP for the training data ``d`` (``table``: it comes from a CSV file)."""
    import deltaprop as dp

    classification = d.task == "classification"
    hidden = [128] if args.hidden is None else [n for item in args.hidden for n in item]
    n_out = (len(np.unique(d.y_train)) if classification else
             1 if np.ndim(d.y_train) == 1 else d.y_train.shape[1])
    output, loss, n_out = dp.tasks.default_head(
        d.task, n_out,
        output=None if args.output_activation == "auto" else args.output_activation,
        loss=None if args.loss == "auto" else args.loss)
    return dp.MLP([d.X_train.shape[1], *hidden, n_out], activation=args.activation,
                  output=output, loss=loss, dtype=args.dtype, seed=args.seed,
                  l2=(TABLE_L2 if table else 0.0) if args.l2 is None else args.l2,
                  dropout=args.dropout, norm=None if args.norm == "none" else args.norm,
                  task=d.task, device=device)


def _record_contract(net, d, args):
    """What the model file keeps of the data: names, task, split, scaling and, for a CSV
    file, each column's encoding (the data contract)."""
    data = d.data
    net.preprocessing_ = None if d.scaler is None else {"standardize": d.scaler.get_state()}
    net.data_info_ = {
        "feature_names": data.feature_names, "target_name": data.target_name, "task": d.task,
        "source": data.source, "split": d.split, "target_scaling": d.target_scaling}
    if d.encoder is not None:
        net.data_info_.update({
            "feature_names": [str(n) for n in d.encoder.get_feature_names_out()],
            "targets": data.targets, "columns": d.encoder.get_state(),
            "ignored": d.ignored, "missing": args.missing or "impute"})


def _report(args, data, task, net, history, stopper, schedule, train_time, test, paths, plots):
    """The run's last lines (or its JSON object)."""
    (epochs, patience), (model_path, history_path) = schedule, paths
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
        return
    metrics = ", ".join(f"{k} {v:.4f}" for k, v in test.items())
    if stopper is not None and history.stopped_early and stopper.best_epoch is not None:
        print(f"stopped at epoch {len(history.epoch)}: no improvement of the validation "
              f"loss for {patience} epochs; restored epoch {stopper.best_epoch + 1}")
    elif args.epochs is None:
        print(f"stopped at the most epochs, {epochs}, still improving: --epochs N trains "
              f"longer")
    print(f"test: {metrics}  ({len(history.epoch)} epochs in {train_time:.1f}s)")
    print(f"saved {model_path}, {history_path}" + "".join(f", {p}" for p in plots.values()))


def _training_data(args, key, path, quiet):
    """The training and test rows, encoded, with the task and how the targets are scaled
    (a namespace: data, task, task_line, X_train, y_train, X_test, y_test, split, scaler,
    encoder, ignored, target_scaling)."""
    from ..datasets import Standardizer

    d = argparse.Namespace(scaler=None, encoder=None, ignored=None, split=None)
    if path is not None:  # rows left out are said on stderr, --json or not
        d.data = load_training_table(args, path, quiet and not args.json)
    else:
        d.data = load_builtin(args, key)
    data = d.data
    d.task, d.task_line = infer_task(data, args.task)
    data.y = integral_labels(data.y) if d.task == "classification" else data.y
    check_target(data, d.task)
    classification = d.task == "classification"
    test_fraction = 0.25 if args.test_split is None else args.test_split
    if key in OFFICIAL_SPLITS:
        test = load_builtin(args, key, split="test")
        d.X_train, d.y_train, d.X_test, d.y_test = data.X, data.y, test.X, test.y
    else:
        if test_fraction == 0:
            raise CLIError("--test-split must be > 0 for a data set without a test set of its own")
        try:
            train_idx, test_idx = split_rows(data, test_fraction, args.seed, classification)
        except ValueError as exc:
            raise CLIError(f"--test-split {test_fraction:g} of {len(data)} rows: {exc}")
        d.split = {"seed": int(args.seed), "test_fraction": float(test_fraction),
                   "val_fraction": float(args.val_split), "n_rows": len(data),
                   "fingerprint": data.fingerprint()}
        d.y_train, d.y_test = data.y[train_idx], data.y[test_idx]
        if data.table is not None:
            d.encoder = fit_encoder(args, data, train_idx, quiet)
            if args.no_standardize:
                for column in d.encoder.columns_:
                    if column.kind == "numeric":
                        column.mean, column.scale = 0.0, 1.0
            d.ignored = ignored_columns(args, data, d.encoder)
            d.X_train = d.encoder.transform(data.table.take(train_idx))
            d.X_test = d.encoder.transform(data.table.take(test_idx))
        else:
            d.X_train, d.X_test = data.X[train_idx], data.X[test_idx]
    if classification and len(np.unique(d.y_train)) < 2:
        raise CLIError(f"the training rows have a single class ({np.unique(d.y_train)[0]}): "
                       f"{len(data)} rows are too few to split (--test-split "
                       f"{test_fraction:g})")
    if not classification:
        d.y_train, d.y_test = (np.asarray(d.y_train, dtype=float),
                               np.asarray(d.y_test, dtype=float))
    if d.encoder is None and not args.no_standardize and key not in OFFICIAL_SPLITS:
        d.scaler = Standardizer().fit(d.X_train)
        d.X_train, d.X_test = d.scaler.transform(d.X_train), d.scaler.transform(d.X_test)
    d.target_scaling = None
    if d.task == "regression" and not args.no_standardize_target:
        mean = np.atleast_1d(np.mean(d.y_train, axis=0))
        scale = np.atleast_1d(np.std(d.y_train, axis=0))
        if not (scale > 0).all():
            raise CLIError(f"the target {data.target_name!r} is constant in the training rows")
        d.target_scaling = {"mean": mean.tolist(), "scale": scale.tolist()}
    return d


def _scaled(y, target_scaling):
    if target_scaling is None:
        return y
    mean, scale = np.asarray(target_scaling["mean"]), np.asarray(target_scaling["scale"])
    return (y - mean) / scale if np.ndim(y) == 2 else (y - mean[0]) / scale[0]


def _class_weights(args, y, classification):
    """``--class-weight balanced``: each row weighted by n / (k * its class's rows)."""
    if args.class_weight is None:
        return None
    if not classification:
        raise CLIError("--class-weight is for classification")
    classes, index, counts = np.unique(y, return_inverse=True, return_counts=True)
    return (len(y) / (len(classes) * counts))[index]


def scores(net, X, y, target_scaling):
    """``net.evaluate``, with a regression's mse in the target's own units (R² does not
    change with the scaling; the loss stays the training objective's)."""
    result = net.evaluate(X, y)
    if target_scaling is not None and "mse" in result:
        scale = np.asarray(target_scaling["scale"])
        error = (np.asarray(net.predict(X), dtype=np.float64).reshape(len(X), -1)
                 - np.asarray(y, dtype=np.float64).reshape(len(X), -1)) * scale
        result["mse"] = float(np.mean(error ** 2))
    return result


def _plots(args, out, net, history, grad_norms, diagnostics, X_test, y_test, classification,
           data, quiet):
    """Draw the run's figures into ``out``; ``{name: path}`` of those written. Figures
    drawn to a path need no backend, so the user's matplotlib setting is left alone."""
    try:
        from .. import plots as plotting
        from ..diagnostics import plot_diagnostics

        figures = {"learning_curve": lambda p: plotting.learning_curves(history, p),
                   "gradient_norms": lambda p: plotting.gradient_norms(grad_norms, p)}
        if classification:
            y_pred = net.predict(X_test)
            figures["confusion_matrix"] = lambda p: plotting.confusion_matrix(
                y_test, y_pred, p, labels=net.classes_, title="test confusion matrix")
        if diagnostics is not None:
            figures["diagnostics"] = lambda p: plot_diagnostics(diagnostics, p)
        if args.plot_boundary:
            figures["decision_boundary"] = lambda p: plotting.decision_boundary(
                net, X_test, y_test, p)
        paths = {name: out / f"{name}.png" for name in figures}
        _draw(figures, paths)
        return {name: str(path) for name, path in paths.items()}
    except ImportError:
        if not quiet:
            print("(matplotlib is not installed: no plots; pip install 'deltaprop[plots]')")
        return {}


def _draw(figures, paths):
    """Draw each figure (``name -> draw(path)``) into its path, one after the other.

    They were drawn in forked processes until a forked child hung: a process that has
    threads (OpenBLAS's, prediction's) can be forked while one of them holds a lock that the
    child then waits for forever; the parent waited 5 minutes for it. Drawing in order was
    measured no slower on a 2-core machine (``deltaprop train`` on tables: 1.64–1.71 s
    against 1.78 s)."""
    for name, draw in figures.items():
        draw(paths[name])
