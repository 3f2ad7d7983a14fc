"""The scikit-learn estimators: sklearn's own checks, then hand computations and oracles."""

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits, load_iris  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.model_selection import (GridSearchCV, cross_val_score,  # noqa: E402
                                     train_test_split)
from sklearn.neural_network import MLPClassifier as SkMLPClassifier  # noqa: E402
from sklearn.neural_network import MLPRegressor as SkMLPRegressor  # noqa: E402
from sklearn.pipeline import Pipeline, make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from deltaprop.optimizers import RMSProp  # noqa: E402
from deltaprop.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# -- scikit-learn's own estimator checks ------------------------------------------------------
# max_iter=100 as scikit-learn passes to its own MLP in these checks; the defaults otherwise.
# The further instances cover another output (softmax for two classes), a deeper net, a
# deltaprop activation and loss, the sgd solver with its adaptive rate and a named optimizer,
# dropout with layer and batch normalisation, and the lbfgs solver.

@parametrize_with_checks([
    MLPClassifier(max_iter=100),
    MLPRegressor(max_iter=100),
    MLPClassifier(hidden_layer_sizes=(8, 8), activation="gelu", loss="cross_entropy",
                  solver="sgd", learning_rate="adaptive", max_iter=50),
    MLPRegressor(hidden_layer_sizes=(), optimizer="rmsprop", loss="mse", batch_size=None,
                 learning_rate_init=0.01, max_iter=200),
    MLPClassifier(hidden_layer_sizes=(16,), norm="layer", max_iter=100),
    MLPRegressor(hidden_layer_sizes=(16,), dropout=0.1, norm="batch", max_iter=100),
    MLPClassifier(solver="lbfgs", max_iter=100),
    MLPRegressor(solver="lbfgs", max_iter=100),
], expected_failed_checks=lambda est: (
    dict.fromkeys(("check_sample_weight_equivalence_on_dense_data",
                   "check_sample_weight_equivalence_on_sparse_data"),
                  "a weight of 2 is not a duplicated row for dropout (one mask per row), nor "
                  "in the running variance of batch normalisation (corrected with the "
                  "effective number of samples, so that scaling the weights changes nothing)")
    if est.dropout or est.norm == "batch" else
    dict.fromkeys(("check_sample_weight_equivalence_on_dense_data",
                   "check_sample_weight_equivalence_on_sparse_data"),
                  "L-BFGS stops after max_iter=100 iterations, not at an optimum: the "
                  "duplicated rows are summed in another order than the weighted ones (in the "
                  "products), and 100 iterations may carry that rounding to a relative 1e-5 "
                  "in a prediction (the check asks 1e-7)")
    if est.solver == "lbfgs" else {}))
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# -- helpers ---------------------------------------------------------------------------------


def blobs(rng, n=90, d=4, labels=("ant", "bee", "cat")):
    centers = rng.normal(scale=3.0, size=(len(labels), d))
    idx = np.arange(n) % len(labels)
    return centers[idx] + rng.normal(size=(n, d)), np.asarray(labels)[idx]


def forward(X, coefs, intercepts, hidden):
    """An independent forward pass: hidden activations, then the output pre-activation."""
    f = {"relu": lambda z: np.maximum(z, 0.0), "tanh": np.tanh, "identity": lambda z: z}[hidden]
    a = X
    for W, b in zip(coefs[:-1], intercepts[:-1]):
        a = f(a @ W + b)
    return a @ coefs[-1] + intercepts[-1]


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def copies(est):
    return [W.copy() for W in est.coefs_], [b.copy() for b in est.intercepts_]


def assert_same_params(a, b, **tol):
    for x, y in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_allclose(x, y, **tol)


# -- import -------------------------------------------------------------------------------------


def test_deltaprop_imports_without_sklearn_and_the_wrapper_names_the_extra():
    code = (
        "import sys; sys.modules['sklearn'] = None\n"
        "import deltaprop\n"
        "assert deltaprop.MLP is not None\n"
        "try:\n"
        "    import deltaprop.sklearn\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
        "else:\n"
        "    raise SystemExit('no ImportError')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert 'pip install "deltaprop[sklearn]"' in out.stdout


def test_import_deltaprop_does_not_import_sklearn():
    code = "import sys, deltaprop; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


# -- fitted attributes are the engine's network -------------------------------------------------


@pytest.mark.parametrize("n_classes", [2, 3])
def test_predict_proba_is_the_forward_pass_of_coefs(rng, n_classes):
    X, y = blobs(rng, labels=("no", "yes", "maybe")[:n_classes])
    clf = MLPClassifier(hidden_layer_sizes=(7, 5), max_iter=20, random_state=0).fit(X, y)
    for W, b, layer in zip(clf.coefs_, clf.intercepts_, clf.net_.layers):
        assert W is layer.W and b is layer.b  # no copies: coefs_ are the engine's weights
    assert [W.shape for W in clf.coefs_] == [(4, 7), (7, 5), (5, 1 if n_classes == 2 else 3)]
    z = forward(X, clf.coefs_, clf.intercepts_, "relu")
    if n_classes == 2:
        p = sigmoid(z[:, 0])
        expected = np.column_stack([1 - p, p])
        assert clf.out_activation_ == "logistic"
    else:
        expected = softmax(z)
        assert clf.out_activation_ == "softmax"
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[expected.argmax(axis=1)])
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(expected), rtol=1e-9)
    assert list(clf.classes_) == sorted(set(y))
    assert clf.n_features_in_ == 4 and clf.n_layers_ == 4
    assert clf.n_iter_ == len(clf.loss_curve_) == 20 and clf.loss_ == clf.loss_curve_[-1]


def test_regressor_predict_is_the_forward_pass(rng):
    X = rng.normal(size=(50, 3))
    y = 10 + 3 * X @ [1.0, -2.0, 0.5]
    reg = MLPRegressor(hidden_layer_sizes=(6,), activation="tanh", max_iter=5,
                       random_state=0, standardize_target=True).fit(X, y)
    # the targets were standardised: predict scales the forward pass back
    assert reg.target_mean_ == pytest.approx([y.mean()])
    assert reg.target_scale_ == pytest.approx([y.std()])
    out = forward(X, reg.coefs_, reg.intercepts_, "tanh")[:, 0]
    np.testing.assert_allclose(reg.predict(X), out * y.std() + y.mean(), rtol=1e-12)
    raw = MLPRegressor(hidden_layer_sizes=(6,), activation="tanh", max_iter=5,
                       random_state=0).fit(X, y)  # the default: y as scikit-learn trains it
    assert raw.target_scale_ is None
    np.testing.assert_allclose(raw.predict(X), forward(X, raw.coefs_, raw.intercepts_,
                                                       "tanh")[:, 0], rtol=1e-12)
    assert reg.predict(X).shape == (50,)
    reg2 = MLPRegressor(hidden_layer_sizes=(6,), max_iter=5).fit(X, np.column_stack([X[:, 0],
                                                                                   X[:, 1]]))
    assert reg2.predict(X).shape == (50, 2) and reg2.n_outputs_ == 2


def test_multilabel_targets_get_one_sigmoid_per_label(rng):
    X = rng.normal(size=(200, 3))
    Y = (X + 0.1 * rng.normal(size=X.shape) > 0).astype(int)
    clf = MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=200,
                        random_state=0).fit(X, Y)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba, sigmoid(forward(X, clf.coefs_, clf.intercepts_, "relu")),
                               rtol=1e-10)
    np.testing.assert_array_equal(clf.predict(X), (proba > 0.5).astype(int))
    assert clf.score(X, Y) > 0.85  # subset accuracy: all three labels right
    with pytest.raises(ValueError, match="log_loss"):
        MLPClassifier(loss="cross_entropy", max_iter=2).fit(X, Y)


def test_cross_entropy_loss_gives_softmax_for_two_classes(rng):
    X, y = blobs(rng, labels=("a", "b"))
    clf = MLPClassifier(hidden_layer_sizes=(5,), loss="cross_entropy", max_iter=10,
                        random_state=0).fit(X, y)
    assert clf.out_activation_ == "softmax" and clf.coefs_[-1].shape == (5, 2)
    np.testing.assert_allclose(clf.predict_proba(X),
                               softmax(forward(X, clf.coefs_, clf.intercepts_, "relu")),
                               rtol=1e-10)


# -- the objective: alpha and the multi-output squared error --------------------------------


def test_alpha_is_not_divided_by_the_batch_size(rng):
    """One epoch of mini-batch SGD against a hand loop on
    J_B = (1/B) Σ ½‖XW + b − t‖² + (α/2)‖W‖², whose gradient is Xᵀe/B + αW."""
    N, B, eta, alpha = 50, 10, 0.05, 0.5
    X, T = rng.normal(size=(N, 4)), rng.normal(size=(N, 2))
    reg = MLPRegressor(hidden_layer_sizes=(), solver="sgd", momentum=0.0, alpha=alpha,
                       learning_rate_init=eta, batch_size=B, shuffle=False, max_iter=1,
                       warm_start=True, random_state=0, standardize_target=False)
    reg.fit(X, T)  # the starting point of the epoch checked below
    (W0,), (b0,) = copies(reg)
    reg.fit(X, T)

    def epoch(reg_coef):
        W, b, total = W0.copy(), b0.copy(), 0.0
        for lo in range(0, N, B):
            Xb, Tb = X[lo:lo + B], T[lo:lo + B]
            e = Xb @ W + b - Tb
            total += B * (0.5 * np.sum(e ** 2) / B + 0.5 * reg_coef * np.sum(W ** 2))
            grad_W, grad_b = Xb.T @ e / B + reg_coef * W, e.sum(axis=0) / B
            W, b = W - eta * grad_W, b - eta * grad_b
        return W, b, total / N

    W, b, loss = epoch(alpha)
    np.testing.assert_allclose(reg.coefs_[0], W, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(reg.intercepts_[0], b, rtol=1e-12, atol=1e-14)
    assert reg.loss_curve_[-1] == pytest.approx(loss, rel=1e-12)
    W_sk, _, _ = epoch(alpha / B)  # scikit-learn's convention: the penalty divided by B
    assert not np.allclose(reg.coefs_[0], W_sk, rtol=1e-6)


def test_our_alpha_times_batch_size_is_sklearns_alpha(rng):
    """scikit-learn's oracle: from the same weights, one epoch of its SGD with alpha = α·B
    gives our weights with α. Its loss differs: the data term is divided by the number of
    outputs (issue 8349), so ours is J_data + (α/2)‖W‖², its J_data/K + (α/2)‖W‖²."""
    N, B, K, alpha = 60, 20, 3, 0.05
    X, T = rng.normal(size=(N, 5)), rng.normal(size=(N, K))
    common = dict(hidden_layer_sizes=(8,), activation="tanh", solver="sgd", momentum=0.0,
                  learning_rate_init=0.1, batch_size=B, shuffle=False, max_iter=1,
                  warm_start=True, random_state=0)
    ours = MLPRegressor(alpha=alpha, standardize_target=False, **common).fit(X, T)
    theirs = SkMLPRegressor(alpha=alpha * B, **common).fit(X, T)
    theirs.coefs_, theirs.intercepts_ = copies(ours)
    ours.fit(X, T)
    theirs.fit(X, T)
    assert_same_params(ours, theirs, rtol=1e-10, atol=1e-12)
    # With one batch (B = N) the losses compare exactly, the penalty taken at the start:
    full = dict(common, batch_size=N)
    ours = MLPRegressor(alpha=alpha, standardize_target=False, **full).fit(X, T)
    theirs = SkMLPRegressor(alpha=alpha * N, **full).fit(X, T)
    theirs.coefs_, theirs.intercepts_ = copies(ours)
    penalty = 0.5 * alpha * sum(np.sum(W ** 2) for W in ours.coefs_)
    ours.fit(X, T)
    theirs.fit(X, T)
    assert_same_params(ours, theirs, rtol=1e-10, atol=1e-12)
    data = ours.loss_curve_[-1] - penalty
    assert theirs.loss_curve_[-1] == pytest.approx(data / K + penalty, rel=1e-10)


def test_multi_output_loss_curve_is_the_function_whose_gradient_we_follow(rng):
    """Full-batch SGD steps by η∇J, so (W_before − W_after)/η must equal the finite
    differences of the J that loss_curve_ reports (scikit-learn's reported loss fails this
    for several outputs: issue 8349)."""
    N, K, eta, alpha = 40, 3, 0.1, 0.01
    X, T = rng.normal(size=(N, 4)), rng.normal(size=(N, K))
    reg = MLPRegressor(hidden_layer_sizes=(6,), activation="tanh", solver="sgd", momentum=0.0,
                       alpha=alpha, learning_rate_init=eta, batch_size=None, max_iter=1,
                       warm_start=True, random_state=0, standardize_target=False)
    reg.fit(X, T)
    before = copies(reg)
    reg.fit(X, T)
    after = copies(reg)

    def J(params, per_output=False):
        coefs, intercepts = params
        e = forward(X, coefs, intercepts, "tanh") - T
        data = 0.5 * np.sum(e ** 2) / N
        return (data / K if per_output else data) + 0.5 * alpha * sum(np.sum(W ** 2)
                                                                      for W in coefs)

    def fd_gradient(per_output):
        grads = []
        for group in before:
            for arr in group:
                g = np.empty_like(arr)
                for i in np.ndindex(arr.shape):
                    keep, h = arr[i], 1e-6
                    arr[i] = keep + h
                    up = J(before, per_output)
                    arr[i] = keep - h
                    down = J(before, per_output)
                    arr[i] = keep
                    g[i] = (up - down) / (2 * h)
                grads.append(g)
        return grads

    assert reg.loss_curve_[-1] == pytest.approx(J(before), rel=1e-12)
    step = [(b - a) / eta for b, a in zip(before[0] + before[1], after[0] + after[1])]
    for fd, used in zip(fd_gradient(False), step):
        np.testing.assert_allclose(used, fd, rtol=1e-6, atol=1e-8)
    mismatch = [np.allclose(used, fd, rtol=1e-3) for fd, used in zip(fd_gradient(True), step)]
    assert not all(mismatch)  # the per-output-mean loss is not what the step descends


# -- sample_weight ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_integer_sample_weights_equal_repeated_rows(rng, kind):
    X, y = blobs(rng, n=60)
    if kind == "regressor":
        y = np.column_stack([X.sum(axis=1), X[:, 0] * X[:, 1]])
        est = MLPRegressor
    else:
        est = MLPClassifier
    sw = rng.integers(0, 4, size=len(X))
    sw[:3] = 1  # every class keeps a sample (blobs cycle through the labels)
    perm = rng.permutation(int(sw.sum()))
    params = dict(hidden_layer_sizes=(8,), alpha=0.05, batch_size=None, max_iter=30,
                  random_state=0)
    weighted = est(**params).fit(X, y, sample_weight=sw)
    repeated = est(**params).fit(np.repeat(X, sw, axis=0)[perm], np.repeat(y, sw, axis=0)[perm])
    assert_same_params(weighted, repeated, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-10)
    unweighted = est(**params).fit(X, y)
    assert not np.allclose(unweighted.coefs_[0], weighted.coefs_[0])


def test_zero_weights_remove_their_samples_from_the_mini_batches(rng):
    X, y = blobs(rng, n=40)
    sw = np.r_[np.zeros(20), np.ones(20)]  # without removal the first two batches weigh 0
    params = dict(hidden_layer_sizes=(5,), batch_size=10, shuffle=False, max_iter=5,
                  random_state=0)
    a = MLPClassifier(**params).fit(X, y, sample_weight=sw)
    b = MLPClassifier(**params).fit(X[20:], y[20:])
    assert np.isfinite(a.loss_curve_).all()
    assert_same_params(a, b, rtol=0, atol=0)


# -- partial_fit and warm_start ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_partial_fit_k_times_equals_fit_for_k_epochs(rng, kind):
    """Shuffled mini-batches and Adam: partial_fit continues the optimizer and the order of
    the samples exactly where fit would go on."""
    X, y = blobs(rng, n=70)
    params = dict(hidden_layer_sizes=(8,), batch_size=16, random_state=3)
    if kind == "regressor":
        y, est, extra = X @ [1.0, 2.0, -1.0, 0.5], MLPRegressor, {}
    else:
        est, extra = MLPClassifier, {"classes": ["ant", "bee", "cat"]}
    full = est(max_iter=6, tol=0.0, **params).fit(X, y)
    inc = est(**params)
    for _ in range(6):
        inc.partial_fit(X, y, **extra)
        assert inc.n_iter_ == 1
    assert_same_params(full, inc, rtol=0, atol=0)
    assert inc.loss_curve_ == full.loss_curve_ and inc.t_ == full.t_ == 6 * len(X)


def test_partial_fit_classes(rng):
    X, y = blobs(rng)
    clf = MLPClassifier(hidden_layer_sizes=(5,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    some = y != "cat"
    clf.partial_fit(X[some], y[some], classes=["cat", "bee", "ant"])  # a batch without "cat"
    assert list(clf.classes_) == ["ant", "bee", "cat"]
    assert clf.predict_proba(X).shape == (len(X), 3)
    clf.partial_fit(X, y)  # later calls need not repeat classes
    with pytest.raises(ValueError, match="not the same as on the first call"):
        clf.partial_fit(X, y, classes=["ant", "bee"])
    with pytest.raises(ValueError, match="not in classes_"):
        clf.partial_fit(X, np.where(some, y, "dog"))
    with pytest.raises(ValueError, match="early_stopping"):
        MLPClassifier(early_stopping=True).partial_fit(X, y, classes=["ant", "bee", "cat"])


def test_warm_start_continues_training(rng):
    """Plain full-batch SGD has no optimizer state: 3 + 2 warm epochs equal 5 epochs."""
    X, y = blobs(rng)
    params = dict(hidden_layer_sizes=(6,), solver="sgd", momentum=0.0, batch_size=None,
                  learning_rate_init=0.05, random_state=0)
    five = MLPClassifier(max_iter=5, **params).fit(X, y)
    warm = MLPClassifier(max_iter=3, warm_start=True, **params).fit(X, y)
    warm.set_params(max_iter=2).fit(X, y)
    assert_same_params(five, warm, rtol=1e-13, atol=1e-15)
    assert warm.n_iter_ == 2 and len(warm.loss_curve_) == 5
    np.testing.assert_allclose(warm.loss_curve_, five.loss_curve_, rtol=1e-13)
    cold = warm.set_params(warm_start=False).fit(X, y)
    assert len(cold.loss_curve_) == 2  # a new network
    with pytest.raises(ValueError, match="warm_start"):
        MLPClassifier(max_iter=1, warm_start=True, **params).fit(X, y).set_params(
            hidden_layer_sizes=(3,)).fit(X, y)


# -- the stopping rule and the learning-rate rules, against scikit-learn ------------------------


def test_tol_and_n_iter_no_change_follow_sklearns_rule(rng):
    X, y = blobs(rng)
    clf = MLPClassifier(hidden_layer_sizes=(6,), tol=1e9, n_iter_no_change=3, max_iter=50,
                        random_state=0).fit(X, y)
    assert clf.n_iter_ == 5  # epoch 1 improves on inf, epochs 2..5 do not: 4 > 3 stops
    assert clf.best_loss_ == min(clf.loss_curve_)
    sk = SkMLPClassifier(hidden_layer_sizes=(6,), tol=1e9, n_iter_no_change=3, max_iter=50,
                         random_state=0).fit(X, y)
    assert sk.n_iter_ == clf.n_iter_


def test_sgd_learning_rate_rules_match_sklearn(rng):
    X, y = blobs(rng)
    sgd = dict(hidden_layer_sizes=(6,), solver="sgd", learning_rate_init=0.01, random_state=0)
    adaptive = dict(sgd, learning_rate="adaptive", tol=1e9, n_iter_no_change=1, max_iter=100)
    ours = MLPClassifier(**adaptive).fit(X, y)
    theirs = SkMLPClassifier(**adaptive).fit(X, y)
    # epoch 1 improves; then every 2 epochs the rate is divided by 5, six times, and the
    # next 2 epochs stop training with a rate below 1e-6
    assert ours.n_iter_ == theirs.n_iter_ == 15
    assert ours.net_.train_state_["optimizer"].lr == pytest.approx(0.01 / 5 ** 6)
    inv = MLPClassifier(**sgd, learning_rate="invscaling", power_t=0.25, max_iter=4).fit(X, y)
    assert inv.net_.train_state_["optimizer"].lr == pytest.approx(0.01 / (4 * len(X) + 1) ** 0.25)


def test_early_stopping_keeps_the_best_validation_epoch(rng):
    X, y = blobs(rng, n=150)
    clf = MLPClassifier(hidden_layer_sizes=(6,), early_stopping=True, n_iter_no_change=3,
                        learning_rate_init=0.02, max_iter=300, random_state=0).fit(X, y)
    assert clf.best_loss_ is None and len(clf.validation_scores_) == clf.n_iter_ < 300
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    # The held-out split is scikit-learn's stratified train_test_split, drawn from
    # random_state after the draws of the initial weights (scikit-learn's, in its order:
    # weights and biases of each layer) and of the network's seed.
    rs = np.random.RandomState(0)
    for fan_in, fan_out in ((X.shape[1], 6), (6, 3)):
        rs.uniform(size=(fan_in, fan_out))
        rs.uniform(size=fan_out)
    rs.randint(np.iinfo(np.int32).max)
    _, X_val, _, y_val = train_test_split(X, y, test_size=0.1, random_state=rs, stratify=y)
    assert clf.score(X_val, y_val) == clf.best_validation_score_


# -- scikit-learn's tools ---------------------------------------------------------------------


def test_pipeline_and_cross_val_score_on_iris():
    X, y = load_iris(return_X_y=True)
    pipe = Pipeline([("scale", StandardScaler()),
                     ("mlp", MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01,
                                           max_iter=300, random_state=0))])
    scores = cross_val_score(pipe, X, y, cv=5)
    assert scores.mean() > 0.9, scores
    assert pipe.fit(X, y).score(X, y) > 0.95


def test_grid_search_rejects_an_overwhelming_alpha():
    """α = 10 with our convention pulls the weights to 0 (scikit-learn's would be 10/B)."""
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), MLPClassifier(learning_rate_init=0.01, max_iter=200,
                                                         random_state=0))
    grid = GridSearchCV(pipe, {"mlpclassifier__alpha": [1e-4, 10.0],
                               "mlpclassifier__hidden_layer_sizes": [(4,), (16,)]}, cv=3)
    grid.fit(X, y)
    assert grid.best_params_["mlpclassifier__alpha"] == 1e-4
    assert grid.best_score_ > 0.9
    by_alpha = {a: s for a, s in zip(grid.cv_results_["param_mlpclassifier__alpha"],
                                     grid.cv_results_["mean_test_score"])}
    assert by_alpha[10.0] < 0.9


@pytest.mark.parametrize("loader, params", [
    (load_digits, dict(hidden_layer_sizes=(64,), max_iter=100)),
    (load_iris, dict(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=300)),
])
def test_accuracy_comparable_to_sklearns_mlp(loader, params):
    X, y = loader(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    ours = make_pipeline(StandardScaler(), MLPClassifier(random_state=0, **params))
    theirs = make_pipeline(StandardScaler(), SkMLPClassifier(random_state=0, **params))
    a, b = ours.fit(Xtr, ytr).score(Xte, yte), theirs.fit(Xtr, ytr).score(Xte, yte)
    print(f"test accuracy: deltaprop {a:.4f} vs scikit-learn {b:.4f}")
    assert a >= b - 0.02 and a > 0.95


def test_regression_comparable_to_sklearns_mlp():
    rng = np.random.default_rng(0)  # the data of docs/sklearn.md
    X = rng.uniform(-1, 1, size=(400, 3))
    y = np.column_stack([np.sin(2 * X[:, 0]) + X[:, 1] ** 2, X[:, 2] * X[:, 0]])
    Xtr, Xte, ytr, yte = X[:300], X[300:], y[:300], y[300:]
    params = dict(hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=300,
                  random_state=0)
    a = MLPRegressor(**params).fit(Xtr, ytr).score(Xte, yte)
    b = SkMLPRegressor(**params).fit(Xtr, ytr).score(Xte, yte)
    print(f"test R²: deltaprop {a:.4f} vs scikit-learn {b:.4f}")
    assert a >= b - 0.05 and a > 0.8


# -- parameters, clone, pickle ------------------------------------------------------------------


def test_get_params_set_params_clone_round_trip(rng):
    clf = MLPClassifier(hidden_layer_sizes=(7, 3), activation="elu", alpha=0.3,
                        optimizer="rmsprop", dtype="float32", random_state=5)
    params = clf.get_params()
    assert params["hidden_layer_sizes"] == (7, 3) and params["optimizer"] == "rmsprop"
    twin = clone(clf)
    assert twin is not clf and twin.get_params() == params
    assert clf.set_params(alpha=0.5, activation="logistic") is clf
    assert clf.get_params()["alpha"] == 0.5 and twin.get_params()["alpha"] == 0.3
    with pytest.raises(ValueError, match="nope"):
        clf.set_params(nope=1)
    with_instance = MLPRegressor(optimizer=RMSProp(lr=0.01, alpha=0.9))
    copied = clone(with_instance).get_params()["optimizer"]
    assert copied is not with_instance.optimizer
    assert copied.get_config() == with_instance.optimizer.get_config()
    X, y = blobs(rng)
    fitted = clf.set_params(max_iter=3).fit(X, y)
    assert fitted.predict_proba(X).dtype == np.float32
    with pytest.raises(NotFittedError):
        clone(fitted).predict(X)


def test_pickle_round_trip_keeps_predictions_and_optimizer_state(rng):
    X, y = blobs(rng)
    clf = MLPClassifier(hidden_layer_sizes=(6,), batch_size=16, max_iter=5,
                        random_state=0).fit(X, y)
    back = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    assert back.get_params() == clf.get_params() and back.loss_curve_ == clf.loss_curve_
    clf.partial_fit(X, y)
    back.partial_fit(X, y)  # Adam's moments and the sample order travelled in the pickle
    assert_same_params(clf, back, rtol=0, atol=0)


@pytest.mark.parametrize("est, name, value, valid", [
    (MLPClassifier, "hidden_layer_sizes", (10, 0), None),
    (MLPClassifier, "hidden_layer_sizes", "ten", None),
    (MLPClassifier, "activation", "softmax", "relu"),
    (MLPClassifier, "activation", "swish", "logistic"),
    (MLPClassifier, "solver", "newton", "'adam', 'sgd' and 'lbfgs'"),
    (MLPClassifier, "alpha", -1.0, None),
    (MLPClassifier, "batch_size", 0, "'auto' or None"),
    (MLPClassifier, "batch_size", "big", "'auto' or None"),
    (MLPClassifier, "learning_rate_init", 0.0, None),
    (MLPClassifier, "max_iter", 0, None),
    (MLPClassifier, "tol", -1.0, None),
    (MLPClassifier, "validation_fraction", 1.0, None),
    (MLPClassifier, "n_iter_no_change", 0, "numpy.inf"),
    (MLPClassifier, "beta_1", 1.0, None),
    (MLPClassifier, "epsilon", 0.0, None),
    (MLPClassifier, "loss", "hinge", "log_loss, cross_entropy"),
    (MLPClassifier, "optimizer", "bfgs", "lbfgs"),
    (MLPClassifier, "dtype", "float16", "'float32' or 'float64'"),
    (MLPClassifier, "shuffle", "yes", "True or False"),
    (MLPRegressor, "loss", "huber", "squared_error, half_squared_error, mse, poisson"),
    (MLPRegressor, "momentum", 1.5, None),
    (MLPRegressor, "learning_rate", "optimal", "constant, invscaling, adaptive"),
    (MLPRegressor, "power_t", -1.0, None),
])
def test_bad_parameters_are_named_in_the_error(rng, est, name, value, valid):
    X = rng.normal(size=(20, 3))
    y = np.arange(20) % 2
    sgd = {"solver": "sgd"} if name in ("momentum", "learning_rate", "power_t") else {}
    with pytest.raises(ValueError, match=name) as info:
        est(**{name: value}, **sgd).fit(X, y)
    if valid is not None:
        assert valid in str(info.value)


def test_convergence_warning_when_max_iter_is_reached(rng):
    X, y = blobs(rng)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        with pytest.raises(ConvergenceWarning, match="Maximum iterations"):
            MLPClassifier(hidden_layer_sizes=(4,), max_iter=2).fit(X, y)


def test_docs_examples_run(tmp_path, monkeypatch):
    """Every ```python block of docs/sklearn.md runs, in order, in one namespace."""
    import re
    from pathlib import Path

    doc = Path(__file__).resolve().parents[1] / "docs" / "sklearn.md"
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 3
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "docs_sklearn"}
    for i, block in enumerate(blocks):
        exec(compile(block, f"docs/sklearn.md python block {i + 1}", "exec"), namespace)
    assert namespace["grid"].best_params_ and namespace["online"].t_ == 300


def test_docstring_examples_run():
    import doctest

    import deltaprop.sklearn

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = doctest.testmod(deltaprop.sklearn)
    assert result.attempted >= 6 and result.failed == 0


# -- the parameter table and the shared docstrings ------------------------------------------


@pytest.mark.parametrize("est", [MLPClassifier, MLPRegressor])
def test_parameter_table_covers_every_parameter(est):
    import inspect

    params = set(inspect.signature(est.__init__).parameters) - {"self"}
    # random_state is scikit-learn's check_random_state's to check
    assert set(est._constraints) == params - {"random_state"}


@pytest.mark.parametrize("est", [MLPClassifier, MLPRegressor])
def test_rendered_docstring_lists_every_parameter_once(est):
    import inspect
    import re

    doc = est.__doc__
    section = doc.split("Parameters\n    ----------\n")[1].split("\n    Attributes\n")[0]
    documented = re.findall(r"^    (\w+) : ", section, re.M)
    params = [p for p in inspect.signature(est.__init__).parameters if p != "self"]
    assert documented == params
    for name, p in inspect.signature(est.__init__).parameters.items():
        if name != "self":
            assert f"    {name} : " in doc and f"default={p.default!r}" in doc, name
    assert "$" not in doc and "Examples\n    --------\n" in doc


def test_docstrings_differ_where_the_estimators_do():
    assert "validation accuracy" in MLPClassifier.__doc__
    assert "validation R²" in MLPRegressor.__doc__
    assert "accuracy" not in MLPRegressor.__doc__.split("Attributes")[0]
    assert "classes_ : " in MLPClassifier.__doc__ and "classes_ : " not in MLPRegressor.__doc__


@pytest.mark.parametrize("est, params, message", [
    (MLPClassifier, {"alpha": -1.0}, "MLPClassifier: alpha must be a finite number >= 0; got -1.0"),
    (MLPClassifier, {"max_iter": True},
     "MLPClassifier: max_iter must be an integer >= 1; got True"),
    (MLPRegressor, {"n_iter_no_change": 2.0},
     "MLPRegressor: n_iter_no_change must be an integer >= 1 or numpy.inf; got 2.0"),
    (MLPRegressor, {"validation_fraction": 0.0},
     "MLPRegressor: validation_fraction must be a finite number in (0, 1); got 0.0"),
    (MLPRegressor, {"hidden_layer_sizes": (4, 0)},
     "MLPRegressor: hidden_layer_sizes must be an integer >= 1 or a sequence whose items "
     "are each an integer >= 1; got (4, 0)"),
    (MLPClassifier, {"verbose": "loud"},
     "MLPClassifier: verbose must be an integer, True or False; got 'loud'"),
])
def test_one_wording_for_every_parameter_error(rng, est, params, message):
    X, y = rng.normal(size=(20, 3)), np.arange(20) % 2
    with pytest.raises(ValueError) as info:
        est(**params).fit(X, y)
    assert str(info.value) == message


def test_parameters_of_another_solver_are_not_checked(rng):
    """As the docstring says: the solver's own parameters only, none with optimizer=."""
    X, y = rng.normal(size=(20, 3)), np.arange(20) % 2
    MLPClassifier(solver="adam", momentum=5.0, learning_rate="optimal", power_t=-1.0,
                  max_iter=1).fit(X, y)
    MLPClassifier(solver="sgd", beta_1=2.0, epsilon=-1.0, max_iter=1).fit(X, y)
    MLPClassifier(optimizer="rmsprop", solver="lbfgs", momentum=5.0, beta_2=2.0,
                  max_iter=1).fit(X, y)
    with pytest.raises(ValueError, match="momentum"):
        MLPClassifier(solver="sgd", momentum=5.0, max_iter=1).fit(X, y)
    with pytest.raises(ValueError, match="beta_2"):
        MLPClassifier(solver="adam", beta_2=2.0, max_iter=1).fit(X, y)


def test_names_are_case_insensitive_and_numpy_scalars_are_numbers(rng):
    X, y = rng.normal(size=(20, 3)), np.arange(20) % 2
    clf = MLPClassifier(activation="Logistic", optimizer="RMSProp", alpha=np.float32(0.1),
                        max_iter=np.int64(2), batch_size=np.int32(8), shuffle=np.bool_(True),
                        dtype=np.float32).fit(X, y)
    assert clf.net_.layers[0].activation.name == "sigmoid" and clf.n_iter_ == 2


def test_invscaling_is_the_inverse_scaling_schedule_exactly(rng):
    from deltaprop.schedules import InverseScaling

    X, y = blobs(rng)
    clf = MLPClassifier(hidden_layer_sizes=(6,), solver="sgd", learning_rate="invscaling",
                        learning_rate_init=0.01, power_t=0.25, max_iter=3,
                        random_state=0).fit(X, y)
    lr = clf.net_.train_state_["optimizer"].lr
    assert lr == InverseScaling(0.01, power_t=0.25)(clf.t_) == 0.01 / (clf.t_ + 1) ** 0.25


@pytest.mark.parametrize("norm", [None, "batch", "layer"])
def test_dropout_and_norm_in_the_estimators(norm):
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    clf = MLPClassifier((16, 16), dropout=0.1, norm=norm, max_iter=150, random_state=0,
                        batch_size=30).fit(X, y)
    kinds = [layer.kind for layer in clf.net_.layers]
    assert kinds.count("dropout") == 2 and kinds.count({"batch": "batch_norm",
                                                        "layer": "layer_norm"}.get(norm)) == (2 if norm else 0)
    assert clf.score(X, y) > 0.9
    assert [W.shape for W in clf.coefs_] == [(4, 16), (16, 16), (16, 3)]
    np.testing.assert_array_equal(clf.predict_proba(X), clf.predict_proba(X))  # eval mode
    reg = MLPRegressor((8,), norm=norm, max_iter=100, batch_size=16, learning_rate_init=0.01,
                       random_state=0).fit(X[:, :3], X[:, 3])
    assert reg.score(X[:, :3], X[:, 3]) > 0.5
    with pytest.raises(ValueError, match="dropout must be a finite number in \\[0, 1\\); got 1.0"):
        MLPClassifier(dropout=1.0).fit(X, y)
    with pytest.raises(ValueError, match="norm must be"):
        MLPClassifier(norm="group").fit(X, y)
    again = MLPClassifier((16, 16), dropout=0.1, norm=norm, warm_start=True, max_iter=5,
                          random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="dropout, norm"):
        again.set_params(dropout=0.3).fit(X, y)


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
def test_initial_weights_are_scikit_learns(activation):
    """Same random_state, same initial weights as scikit-learn's MLP (a learning rate of
    1e-300 leaves them as they were drawn)."""
    X, y = load_iris(return_X_y=True)
    kw = dict(hidden_layer_sizes=(7, 5), activation=activation, random_state=3, max_iter=1,
              learning_rate_init=1e-300, batch_size=150)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = MLPClassifier(**kw).fit(X, y)
        theirs = SkMLPClassifier(**kw).fit(X, y)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-300)


def test_partial_fit_classes_that_miss_the_labels_and_warm_start_wording():
    with pytest.raises(ValueError, match=r"y has labels \[0, 1\] that are not in classes=\[2\]"):
        MLPClassifier(solver="sgd").partial_fit([[3, 2], [1, 6]], [1, 0], classes=[2])
    clf = MLPClassifier(hidden_layer_sizes=(3,), warm_start=True, max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit([[0, 0], [1, 1], [2, 2]], [0, 1, 2])
        with pytest.raises(ValueError, match=r"warm_start can only be used where `y` has the "
                                             r"same classes as in the previous call to fit"):
            clf.fit([[0, 0], [1, 1]], [0, 1])
