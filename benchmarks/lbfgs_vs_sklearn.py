"""deltaprop's solver="lbfgs" against scikit-learn's: test score, L-BFGS iterations and fit
time, mean over seeds. Run (one BLAS thread, for
steadier figures): OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/lbfgs_vs_sklearn.py

deltaprop's alpha is not divided by the batch size; L-BFGS uses the whole training set,
so scikit-learn's alpha=a is deltaprop's alpha=a/n (both rows are shown)."""

import time
import warnings

import numpy as np
import sklearn.neural_network as sk
from sklearn.datasets import load_digits, make_friedman1
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from deltaprop.sklearn import MLPClassifier, MLPRegressor

warnings.simplefilter("ignore")


def data(name):
    if name == "digits":
        X, y = load_digits(return_X_y=True)
    else:
        X, y = make_friedman1(n_samples=2000, noise=1.0, random_state=0)
    Xtr, Xte, ytr, yte = train_test_split(X, y, random_state=0)
    scaler = StandardScaler().fit(Xtr)
    return scaler.transform(Xtr), scaler.transform(Xte), ytr, yte


def run(name, seeds=3):
    Xtr, Xte, ytr, yte = data(name)
    clf = name == "digits"
    kw = dict(solver="lbfgs", hidden_layer_sizes=(100,), max_iter=200, alpha=1e-4)
    rows = [("scikit-learn", sk.MLPClassifier if clf else sk.MLPRegressor, kw),
            ("deltaprop", MLPClassifier if clf else MLPRegressor, kw),
            ("deltaprop alpha/n", MLPClassifier if clf else MLPRegressor,
             {**kw, "alpha": 1e-4 / len(Xtr)})]
    for label, cls, params in rows:
        out = []
        for seed in range(seeds):
            model = cls(random_state=seed, **params)
            t0, c0 = time.perf_counter(), time.process_time()
            model.fit(Xtr, ytr)
            out.append((model.score(Xte, yte), model.n_iter_, time.perf_counter() - t0,
                        time.process_time() - c0))
        score, iters, seconds, cpu = np.mean(out, axis=0)
        print(f"| {name} ({len(Xtr)} train) | {label} | {score:.4f} | {iters:.0f} | "
              f"{seconds:.2f} s | {cpu:.2f} s |", flush=True)


if __name__ == "__main__":
    print("| data | library | test accuracy / R² | iterations | wall time | CPU time |")
    print("|---|---|---|---|---|---|")
    for name in ("digits", "friedman1"):
        run(name)
