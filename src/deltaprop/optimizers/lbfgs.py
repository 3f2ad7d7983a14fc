"""L-BFGS: a full-batch method, through SciPy (``scipy.optimize.minimize``)."""

from __future__ import annotations

import numpy as np

from .._validation import check_non_negative
from .base import Optimizer, register

__all__ = ["LBFGS"]


@register
class LBFGS(Optimizer):
    r"""L-BFGS, through ``scipy.optimize.minimize(method="L-BFGS-B", jac=True)``.

    A full-batch quasi-Newton method (scikit-learn's ``solver="lbfgs"``): it minimises
    the objective ``J`` of :meth:`Sequential.backprop` over the whole training set, as a
    function of the flat parameter vector ``net.store.data``. It has no :meth:`step`:
    :func:`deltaprop.training.fit` sees ``full_batch = True`` and hands it the objective
    (one iteration per epoch, ``epochs`` being the largest number of iterations).

    Parameters
    ----------
    max_fun : int
        Largest number of evaluations of ``J`` and its gradient (scipy's ``maxfun``;
        scikit-learn's ``max_fun``), over one ``fit`` call.
    tol : float
        scipy's ``gtol``: stop when the largest component of the projected gradient is at
        most ``tol`` (scikit-learn maps its ``tol`` to it; ``ftol`` keeps scipy's default).
    lr : float
        Unused (L-BFGS chooses its steps by a line search); accepted so that a named
        optimizer can be built with a learning rate, as the CLI and the estimators do.

    Attributes
    ----------
    result : scipy.optimize.OptimizeResult or None
        The result of the last run (``nit``, ``nfev``, ``status``, ``message``).

    Raises
    ------
    ImportError
        From :meth:`minimize`, when SciPy is not installed.
    """

    name = "lbfgs"
    #: Trained on the whole training set at once by :meth:`minimize`, not step by step.
    full_batch = True

    def __init__(self, max_fun=15000, tol=1e-4, lr=1.0):
        super().__init__(lr)
        if isinstance(max_fun, bool) or not isinstance(max_fun, (int, np.integer)) or max_fun < 1:
            raise ValueError(f"max_fun must be a positive integer, got {max_fun!r}")
        self.max_fun = int(max_fun)
        self.tol = check_non_negative("tol", tol)
        self.result = None

    def _hyper(self):
        return {"max_fun": self.max_fun, "tol": self.tol}

    def get_config(self):
        """JSON-serialisable hyper-parameters, including ``"name"``."""
        return {"name": self.name, "lr": self.lr, **self._hyper()}

    def step(self, params):
        """Not available: L-BFGS needs the objective, not one gradient (see :meth:`minimize`)."""
        raise TypeError("LBFGS is a full-batch method without a step: train with "
                        "net.fit(X, y, optimizer='lbfgs'), or call LBFGS.minimize")

    def minimize(self, fun, theta0, max_iter, callback=None):
        """Run L-BFGS-B from ``theta0`` for at most ``max_iter`` iterations.

        Parameters
        ----------
        fun : callable
            ``fun(theta) -> (J, gradient)``, both float64.
        theta0 : ndarray
            The starting parameters (copied to float64).
        max_iter : int
            scipy's ``maxiter``.
        callback : callable or None
            ``callback(intermediate_result)`` after each iteration (``.x``, ``.fun``); it
            may raise ``StopIteration`` to end the run there.

        Returns
        -------
        scipy.optimize.OptimizeResult
            Also kept as :attr:`result`; ``t`` counts the iterations over all runs.
        """
        try:
            from scipy.optimize import minimize
        except ImportError:
            raise ImportError("the 'lbfgs' optimizer needs SciPy: pip install scipy "
                              "(or pip install 'deltaprop[sklearn]')") from None
        def each_iteration(intermediate_result):  # scipy recognises this parameter name
            callback(intermediate_result)

        self.result = minimize(fun, np.asarray(theta0, dtype=np.float64), method="L-BFGS-B",
                               jac=True, callback=None if callback is None else each_iteration,
                               options={"maxfun": self.max_fun, "maxiter": int(max_iter),
                                        "gtol": self.tol})
        self.t += int(self.result.nit)
        return self.result


