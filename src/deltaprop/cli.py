"""The ``deltaprop`` command: train, evaluate, predict, summary.

Every error a user can cause (a bad CSV, a missing column, a model file that does not
fit the data) ends in one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

EXAMPLES_TRAIN = """\
examples:
  deltaprop train                                  # digits, 64-128-10, a few seconds
  deltaprop train iris --hidden 16 --epochs 100
  deltaprop train moons --hidden 32,32 --activation tanh --plot-boundary
  deltaprop train mnist --data-dir ../shared/datasets/mnist --hidden 256,128 --epochs 10
  deltaprop train data.csv --target price --hidden 64 --loss mse --json
  deltaprop train fashion-mnist --data-dir ../shared/datasets/fashion-mnist --norm batch --dropout 0.2
"""

EXAMPLES_EVALUATE = """\
examples:
  deltaprop evaluate runs/digits/model.npz --data digits
  deltaprop evaluate model.npz --data test.csv --target label
"""

EXAMPLES_PREDICT = """\
examples:
  deltaprop predict runs/digits/model.npz input.csv -o predictions.csv
"""


class CLIError(Exception):
    """An error to report in one line."""


def _int_list(text):
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    if any(n <= 0 for n in sizes):
        raise argparse.ArgumentTypeError(f"layer sizes must be positive, got {text!r}")
    return sizes


def _fraction(text):
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text}")
    return value


def build_parser():
    from .activations import ACTIVATIONS
    from .losses import LOSSES
    from .optimizers import FULL_BATCH_OPTIMIZERS, OPTIMIZERS

    parser = argparse.ArgumentParser(
        prog="deltaprop",
        description="Feed-forward neural networks with exact, explainable backpropagation.")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    fmt = argparse.RawDescriptionHelpFormatter
    t = sub.add_parser("train", help="train a network and save it", epilog=EXAMPLES_TRAIN,
                       formatter_class=fmt,
                       description="Train an MLP on a built-in data set or a CSV file, save the "
                                   "model, its history and a learning curve, print the metrics.")
    t.add_argument("data", nargs="?", default="digits",
                   help="a built-in data set (digits, iris, wine, breast_cancer, moons, circles, "
                        "spirals, xor, blobs, mnist, fashion-mnist) or a CSV file (default: digits)")
    t.add_argument("--data-dir", help="directory with the IDX files, for mnist and fashion-mnist")
    t.add_argument("--target", help="name of the target column, for a CSV file")
    t.add_argument("--task", choices=["auto", "classification", "regression"], default="auto",
                   help="for a CSV file: auto treats text labels, and integers with at most 20 "
                        "distinct values, as classes")
    t.add_argument("--hidden", type=_int_list, default=[128],
                   help="hidden layer sizes, e.g. 256,128 (default 128)")
    t.add_argument("--activation", default="relu", choices=sorted(ACTIVATIONS),
                   help="hidden activation (default relu)")
    t.add_argument("--output", default="auto",
                   help="output activation (default: softmax for classes, identity for regression)")
    t.add_argument("--loss", default="auto", choices=["auto"] + sorted(LOSSES),
                   help="default: cross_entropy for classes, mse for regression")
    t.add_argument("--optimizer", default="adam",
                   choices=sorted({*OPTIMIZERS, *FULL_BATCH_OPTIMIZERS}),
                   help="lbfgs: full-batch L-BFGS (SciPy), one iteration an epoch")
    t.add_argument("--lr", type=float, default=None, help="learning rate (optimizer's default)")
    t.add_argument("--epochs", type=int, default=30)
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--l2", type=float, default=0.0, help="λ of the L2 term (λ/2)Σ‖W‖²")
    t.add_argument("--dropout", type=_fraction, default=0.0, metavar="P",
                   help="inverted dropout with probability P after every hidden layer "
                        "(default 0: none)")
    t.add_argument("--norm", choices=["none", "batch", "layer"], default="none",
                   help="batch or layer normalisation after every hidden layer's activation "
                        "(default none)")
    t.add_argument("--seed", type=int, default=0,
                   help="seeds the weights, the shuffling, the splits and the generated data sets "
                        "(moons, circles, spirals, xor, blobs); default 0")
    t.add_argument("--val-split", type=_fraction, default=0.1,
                   help="fraction of the training data held out for validation (default 0.1)")
    t.add_argument("--test-split", type=_fraction, default=0.25,
                   help="fraction held out for the final test when the data set has no test "
                        "split (default 0.25)")
    t.add_argument("--early-stopping", type=int, metavar="PATIENCE", default=None,
                   help="stop when the validation loss has not improved for PATIENCE epochs")
    t.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    t.add_argument("--no-standardize", action="store_true",
                   help="do not scale the features to zero mean and unit variance")
    t.add_argument("--out", default=None,
                   help="output directory for model.npz, history.json and the plots "
                        "(learning_curve.png, gradient_norms.png, confusion_matrix.png; "
                        "default runs/DATA)")
    t.add_argument("--plot-boundary", action="store_true",
                   help="also draw the decision boundary (2-D data sets)")
    t.add_argument("--diagnostics", action="store_true",
                   help="record per-layer diagnostics each epoch (error-vector and gradient "
                        "norms, update ratio, dead ReLUs, saturated units) into "
                        "diagnostics.json and diagnostics.png")
    t.add_argument("--json", action="store_true", help="print the final metrics as one JSON object")
    t.add_argument("-q", "--quiet", action="store_true", help="no progress output")

    e = sub.add_parser("evaluate", help="loss and metrics of a saved model on data",
                       epilog=EXAMPLES_EVALUATE, formatter_class=fmt)
    e.add_argument("model")
    e.add_argument("--data", required=True, help="a built-in data set name or a CSV file")
    e.add_argument("--data-dir")
    e.add_argument("--target")
    e.add_argument("--split", choices=["train", "test"], default="test",
                   help="for mnist and fashion-mnist (default test)")
    e.add_argument("--json", action="store_true")

    p = sub.add_parser("predict", help="predictions of a saved model for a CSV file",
                       epilog=EXAMPLES_PREDICT, formatter_class=fmt)
    p.add_argument("model")
    p.add_argument("input", help="CSV file with a header row and the model's input features")
    p.add_argument("-o", "--output", help="CSV file to write (default: standard output)")
    p.add_argument("--proba", action="store_true", help="also write the class probabilities")

    s = sub.add_parser("summary", help="the layers of a saved model",
                       epilog="examples:\n  deltaprop summary runs/digits/model.npz\n",
                       formatter_class=fmt)
    s.add_argument("model")
    _add_explain_parsers(sub)
    return parser


def _version():
    from . import __version__

    return f"deltaprop {__version__}"


# -- data ---------------------------------------------------------------------------------


def _is_csv(name):
    return name.lower().endswith((".csv", ".txt", ".tsv")) or Path(name).is_file()


def _load(name, data_dir=None, target=None, split="train", seed=0):
    """(X, y, is_classification) for a built-in name or a CSV file; the generated data
    sets are drawn with ``seed``, so that a run is reproducible."""
    from .datasets import GENERATED, load_csv, load_dataset

    if _is_csv(name):
        if not target:
            raise CLIError(f"{name} is a CSV file: name its target column with --target")
        X, y, _ = load_csv(name, target)
        return X, y, None
    kw = {"split": split} if name in ("mnist", "fashion-mnist") else {}
    if name in GENERATED:
        kw["seed"] = seed
    X, y = load_dataset(name, data_dir=data_dir, **kw)
    return X, y, True


def _is_classification(y, task):
    from .tasks import infer_task

    return (infer_task(y) if task == "auto" else task) == "classification"


def _split(X, y, fraction, seed, stratify):
    from .datasets import train_test_split

    return train_test_split(X, y, test_size=fraction, seed=seed, stratify=stratify)


# -- commands -----------------------------------------------------------------------------


def cmd_train(args):
    import deltaprop as dp
    from .datasets import Standardizer

    quiet = args.quiet or args.json
    X, y, classification = _load(args.data, args.data_dir, args.target, seed=args.seed)
    classification = _is_classification(y, args.task) if classification is None else classification
    if args.data in ("mnist", "fashion-mnist"):
        X_test, y_test, _ = _load(args.data, args.data_dir, split="test")
        X_train, y_train = X, y
    else:
        X_train, X_test, y_train, y_test = _split(X, y, args.test_split, args.seed, classification)
    if not classification:
        y_train = np.asarray(y_train, dtype=float)
        y_test = np.asarray(y_test, dtype=float)
    scaler = None
    if not args.no_standardize and args.data not in ("mnist", "fashion-mnist"):
        scaler = Standardizer().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

    if classification:
        n_out = len(np.unique(y_train)) if np.asarray(y_train).ndim == 1 else y_train.shape[1]
    else:
        n_out = 1 if np.ndim(y_train) == 1 else np.shape(y_train)[1]
    output, loss, n_out = dp.tasks.default_head(
        "classification" if classification else "regression", n_out,
        output=None if args.output == "auto" else args.output,
        loss=None if args.loss == "auto" else args.loss)
    net = dp.MLP([X_train.shape[1], *args.hidden, n_out], activation=args.activation,
                 output=output, loss=loss, l2=args.l2, dtype=args.dtype, seed=args.seed,
                 dropout=args.dropout, norm=None if args.norm == "none" else args.norm)
    opt_kw = {} if args.lr is None else {"lr": args.lr}
    optimizer = dp.optimizers.get_optimizer(args.optimizer, **opt_kw)
    grad_norms = dp.GradientNorms()
    callbacks = [grad_norms]
    diagnostics = dp.Diagnostics(X_train, y_train) if args.diagnostics else None
    if diagnostics is not None:
        callbacks.append(diagnostics)
    if args.early_stopping is not None:
        if args.val_split == 0:
            raise CLIError("--early-stopping needs a validation split (--val-split > 0)")
        callbacks.append(dp.EarlyStopping(monitor="val_loss", patience=args.early_stopping))

    out = Path(args.out) if args.out else Path("runs") / Path(args.data).stem
    out.mkdir(parents=True, exist_ok=True)
    if not quiet:
        net.summary()
        print(f"data: {args.data}: {len(X_train)} training and {len(X_test)} test samples, "
              f"{X_train.shape[1]} features")
    t0 = time.perf_counter()
    history = net.fit(X_train, y_train, optimizer=optimizer, epochs=args.epochs,
                      batch_size=args.batch_size, validation_split=args.val_split,
                      callbacks=callbacks, verbose=0 if quiet else 1, seed=args.seed)
    train_time = time.perf_counter() - t0
    test = net.evaluate(X_test, y_test)

    if scaler is not None:
        net.preprocessing_ = {"standardize": scaler.get_state()}
    model_path = out / "model.npz"
    net.save(model_path)
    history_path = out / "history.json"
    history_path.write_text(json.dumps(history.to_dict(), indent=1))
    if diagnostics is not None:
        (out / "diagnostics.json").write_text(json.dumps(diagnostics.to_dict(), indent=1))
        if not quiet:
            print(diagnostics.table(), end="")
    plots = {}
    try:
        from . import plots as _plots

        plots["learning_curve"] = str(_plots.learning_curves(history, out / "learning_curve.png"))
        plots["gradient_norms"] = str(_plots.gradient_norms(grad_norms, out / "gradient_norms.png"))
        if classification:
            plots["confusion_matrix"] = str(_plots.confusion_matrix(
                y_test, net.predict(X_test), out / "confusion_matrix.png",
                labels=net.classes_, title="test confusion matrix"))
        if diagnostics is not None:
            from .diagnostics import plot_diagnostics

            plots["diagnostics"] = str(plot_diagnostics(diagnostics, out / "diagnostics.png"))
        if args.plot_boundary and X_train.shape[1] == 2 and classification:
            plots["decision_boundary"] = str(
                _plots.decision_boundary(net, X_test, y_test, out / "decision_boundary.png"))
    except ImportError:
        if not quiet:
            print("(matplotlib is not installed: no plots; pip install 'deltaprop[plots]')")

    result = {
        "data": args.data,
        "task": "classification" if classification else "regression",
        "layers": net.layer_sizes,
        "epochs": len(history.epoch),
        "train_time_s": round(train_time, 3),
        "train_loss": history["loss"][-1],
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


def _load_model(path):
    import deltaprop as dp

    return dp.load(path)


def _preprocess(net, X):
    pre = getattr(net, "preprocessing_", None)
    if pre and "standardize" in pre:
        from .datasets import Standardizer

        return Standardizer.from_state(pre["standardize"]).transform(X)
    return X


def _check_features(net, X, source):
    if X.shape[1] != net.n_inputs:
        raise CLIError(f"{source} has {X.shape[1]} feature columns, but the model expects "
                       f"{net.n_inputs}")


def cmd_evaluate(args):
    net = _load_model(args.model)
    X, y, _ = _load(args.data, args.data_dir, args.target, split=args.split)
    _check_features(net, X, args.data)
    if net.task == "regression":
        y = np.asarray(y, dtype=float)
    result = net.evaluate(_preprocess(net, X), y)
    if args.json:
        print(json.dumps({"model": args.model, "data": args.data, **result}))
    else:
        print(", ".join(f"{k} {v:.4f}" for k, v in result.items()))
    return 0


def _read_features(path, n_features):
    from .datasets import load_features_csv

    X = load_features_csv(path, dtype="float64")
    if X.shape[1] != n_features:
        raise CLIError(f"{path} has {X.shape[1]} feature columns, but the model expects "
                       f"{n_features}")
    return X


def cmd_predict(args):
    net = _load_model(args.model)
    X = _preprocess(net, _read_features(args.input, net.n_inputs))
    pred = net.predict(X)
    columns = ["prediction"] if np.ndim(pred) == 1 else [f"prediction_{j}" for j in range(pred.shape[1])]
    table = [np.asarray(pred).reshape(len(X), -1).astype(str)]
    if args.proba:
        if net.task == "regression":
            raise CLIError("--proba needs a classifier")
        proba = net.predict_proba(X)
        columns += [f"p_{c}" for c in net.classes_]
        table.append(np.char.mod("%.6g", proba))
    rows = np.hstack(table)
    out = open(args.output, "w", newline="") if args.output else sys.stdout
    try:
        writer = csv.writer(out)
        writer.writerow(columns)
        writer.writerows(rows.tolist())
    finally:
        if args.output:
            out.close()
    if args.output:
        print(f"wrote {len(rows)} predictions to {args.output}", file=sys.stderr)
    return 0


def cmd_summary(args):
    _load_model(args.model).summary()
    return 0


# -- explain and descent (issue 5) ------------------------------------------------------

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


def _float_list(text):
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}")


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
        X = _preprocess(net, _read_features(args.input, net.n_inputs))
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
            path = descent.plot_descent(args.plot, etas, start, args.steps)
        except ImportError as exc:
            raise CLIError(str(exc))
        print(f"wrote {path}")
    return 0


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "predict": cmd_predict,
            "summary": cmd_summary, "explain": cmd_explain, "descent": cmd_descent}


def main(argv=None):
    from .datasets import DatasetError
    from .io import ModelFileError
    from .training import TrainingDiverged

    expected = (CLIError, DatasetError, ModelFileError, TrainingDiverged, ValueError, TypeError,
                OSError)
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except expected as exc:
        if os.environ.get("DELTAPROP_DEBUG"):  # show the traceback when debugging
            raise
        print(f"deltaprop {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
