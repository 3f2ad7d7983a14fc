"""``deltaprop train``: train a network on a built-in data set or a CSV file and save it."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from .common import (
    CLIError,
    Moved,
    Parser,
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
    load_data,
    resolve,
    split_rows,
)
from .rundir import interrupted_message, prepare_output_dir, resume_args

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
    t.add_argument("--target", help="name of the target column, for a CSV file")
    csv_options(t)
    t.add_argument("--task", choices=["auto", "classification", "regression"], default="auto",
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
    t.add_argument("--epochs", type=positive_int, default=None, help="default 30")
    t.add_argument("--batch-size", type=positive_int, default=32)
    t.add_argument("--l2", type=non_negative, default=0.0,
                   help="λ of the L2 term (λ/2)Σ‖W‖²")
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
                   help="stop when the validation loss has not improved for PATIENCE epochs")
    t.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    t.add_argument("--device", type=device_option, default=None, metavar="DEVICE",
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

    from ..datasets import Standardizer
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
    if args.epochs is None:
        args.epochs = 30
    hidden = [128] if args.hidden is None else [n for item in args.hidden for n in item]
    quiet = args.quiet or args.json or (dist is not None and not dist.is_root)
    key, path = resolve(args.data)
    check_applicable(args, key, "train")
    data = load_data(args, key, path)
    task, task_line = infer_task(data, args.task)
    check_target(data, task)
    classification = task == "classification"
    test_fraction = 0.25 if args.test_split is None else args.test_split
    split = None
    if key in OFFICIAL_SPLITS:
        test = load_data(args, key, None, split="test")
        X_train, y_train, X_test, y_test = data.X, data.y, test.X, test.y
    else:
        if test_fraction == 0:
            raise CLIError("--test-split must be > 0 for a data set without a test set of its own")
        try:
            train_idx, test_idx = split_rows(data, test_fraction, args.seed, classification)
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

    begin_run(dist, {**vars(args), "X": X_train, "y": y_train}, verbose=not quiet)  # MPI
    if root:  # refuses a new run over an interrupted one; writes run.json
        prepare_output_dir(out, args)
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
        print(interrupted_message(out, net.train_state_["epoch"]), file=sys.stderr)
        return 130

    test = scores(net, X_test, test_y, target_scaling)
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


def scores(net, X, y, target_scaling):
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
        from .. import plots as plotting
        from ..diagnostics import plot_diagnostics

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
