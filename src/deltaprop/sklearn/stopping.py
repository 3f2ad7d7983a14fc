"""When the estimators stop training: scikit-learn's stopping rule as a deltaprop callback, the
loss curve of L-BFGS, and scikit-learn's ConvergenceWarning when L-BFGS did not converge."""

from __future__ import annotations

import warnings

from sklearn.exceptions import ConvergenceWarning

from ..improvement import Improvement
from ..schedules import InverseScaling
from ..training import Callback


class StoppingRule(Callback):
    """scikit-learn's stopping rule, as a deltaprop callback.

    After each epoch it appends the epoch's objective to ``loss_curve_`` and asks
    :class:`deltaprop.improvement.Improvement` whether the epoch improved, by scikit-learn's
    rule: without validation data when its loss is at most ``best_loss_ - tol``; with
    validation data (``early_stopping=True``) when the validation score (``score(X, y,
    sample_weight)`` of the ``validation`` triple) is at least ``best_validation_score_ +
    tol`` (``best_*`` being the best value seen). Training stops when more than
    ``n_iter_no_change`` epochs in a row did not improve. With validation data the weights
    of the best-scoring epoch are restored at the end.

    The public counters live on the estimator, so that they carry over ``warm_start`` and
    ``partial_fit`` calls, as in scikit-learn; the estimator hands the others in (``wait``,
    the epochs in a row without improvement, and ``best_weights``) and reads them back from
    the attributes of the same names.

    It also applies scikit-learn's ``learning_rate`` rule of ``solver="sgd"``:
    ``"invscaling"`` sets the rate to :class:`deltaprop.schedules.InverseScaling`'s at
    ``t_`` after each epoch (scikit-learn counts its steps in samples seen), and
    ``"adaptive"`` divides it by 5 instead of stopping, until it falls below 1e-6.
    """

    def __init__(self, estimator, n_train, validation=None, learning_rate="constant", *,
                 score=None, wait=0, best_weights=None):
        self.est, self.n_train, self.validation = estimator, n_train, validation
        self.score, self.wait, self.best_weights = score, wait, best_weights
        self.adaptive = learning_rate == "adaptive"
        self.schedule = (InverseScaling(estimator.learning_rate_init, estimator.power_t)
                         if learning_rate == "invscaling" else None)
        if validation is None:
            self.improvement = Improvement("min", estimator.tol, inclusive=True,
                                           best_of="all", best=estimator.best_loss_)
        else:
            self.improvement = Improvement("max", estimator.tol, inclusive=True,
                                           best_of="all", best=estimator.best_validation_score_)
        self.improvement.wait = wait

    def on_epoch_end(self, epoch, logs=None):
        est, rule = self.est, self.improvement
        loss = float(logs["loss"])
        est.loss_curve_.append(loss)
        est.t_ += self.n_train
        if est.verbose:
            print(f"Iteration {len(est.loss_curve_)}, loss = {loss:.8f}", flush=True)
        if self.validation is None:
            rule.update(loss)
            est.best_loss_ = rule.best
        else:
            score = self.score(*self.validation)
            est.validation_scores_.append(score)
            if est.verbose:
                print(f"Validation score: {score:f}", flush=True)
            rule.update(score)  # NaN: no improvement
            if rule.new_best:
                est.best_validation_score_ = float(score)
                self.best_weights = self.trainer.snapshot_weights()
        optimizer = self.trainer.net.train_state_["optimizer"]
        if self.schedule is not None:
            optimizer.lr = self.schedule(est.t_)
        if rule.wait > est.n_iter_no_change:
            if self.adaptive and optimizer.lr > 1e-6:
                optimizer.lr /= 5.0
                rule.wait = 0
                if est.verbose:
                    print(f"Setting learning rate to {optimizer.lr:f}", flush=True)
            else:
                self.trainer.stop_training = True
                self.trainer.history.stopped_early = True
                if est.verbose:
                    what = "Validation score" if self.validation is not None else "Training loss"
                    print(f"{what} did not improve more than tol={est.tol:f} for "
                          f"{est.n_iter_no_change} consecutive epochs. Stopping.", flush=True)
        self.wait = rule.wait

    def on_train_end(self, logs=None):
        if self.validation is not None and self.best_weights is not None:
            self.trainer.restore_weights(self.best_weights)


class LossCurve(Callback):
    """With ``solver="lbfgs"``: record ``J`` after each iteration in ``loss_curve_`` (no
    stopping rule: L-BFGS stops by ``tol``, ``max_iter`` and ``max_fun``)."""

    def __init__(self, estimator, n_train):
        self.est, self.n_train = estimator, n_train

    def on_epoch_end(self, epoch, logs=None):
        self.est.loss_curve_.append(float(logs["loss"]))
        self.est.t_ += self.n_train


def warn_lbfgs_result(result, n_iter, max_iter, stacklevel):
    """scikit-learn's ConvergenceWarning when L-BFGS stopped before converging
    (``sklearn.utils.optimize._check_optimize_result``, same words), after ``n_iter``
    iterations of at most ``max_iter``; ``stacklevel`` counts from the caller (1: the line
    that calls this function)."""
    if result is None or result.status == 0:
        return
    message = (f"lbfgs failed to converge after {n_iter} iteration(s) "
               f"(status={result.status}):\n{result.message}\n")
    if n_iter == max_iter:
        message += (f"\nIncrease the number of iterations to improve the convergence "
                    f"(max_iter={max_iter}).")
    message += ("\nYou might also want to scale the data as shown in:\n"
                "    https://scikit-learn.org/stable/modules/preprocessing.html")
    warnings.warn(message, ConvergenceWarning, stacklevel=stacklevel + 1)
