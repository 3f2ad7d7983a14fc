r"""scikit-learn estimators on deltaprop: :class:`MLPClassifier` and :class:`MLPRegressor`.

Thin wrappers: each ``fit`` builds (or reuses) a :class:`deltaprop.MLP`, kept as ``net_``,
and trains it with :meth:`deltaprop.MLP.fit`, the library's one training loop. The wrappers
add what scikit-learn expects around it: input validation, label encoding, the stopping rule
of scikit-learn's MLP, ``partial_fit``, ``warm_start`` and the fitted attributes.

The objective minimised by both estimators, for the ``N`` samples of a mini-batch, is

.. math::

    J = \frac{\sum_n w_n\, \ell(y_n, t_n)}{\sum_n w_n}
        + \frac{\alpha}{2} \sum_k \lVert W_k \rVert_F^2

(``w_n = 1`` without ``sample_weight``). ``alpha`` is **not** divided by the batch size or
by the sum of the weights, unlike scikit-learn's ``alpha``, and ``loss_curve_`` records
this ``J``: the quantity whose gradient the optimizer follows. ``docs/sklearn.md`` lists
every difference from scikit-learn.

This package needs scikit-learn (``pip install "deltaprop[sklearn]"``); ``import deltaprop``
does not import it.
"""

from __future__ import annotations

try:  # scikit-learn >= 1.6: validate_data and __sklearn_tags__
    from sklearn.base import BaseEstimator  # noqa: F401
    from sklearn.utils.validation import validate_data  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        'deltaprop.sklearn needs scikit-learn >= 1.6 (validate_data, __sklearn_tags__); '
        'install it with: pip install "deltaprop[sklearn]"'
    ) from exc

from .classifier import MLPClassifier
from .regressor import MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]

# The estimators are deltaprop.sklearn's, whichever module defines them: pickles name them
# there (as before the package was split), and doctest and the docs find them here.
for _estimator in (MLPClassifier, MLPRegressor):
    _estimator.__module__ = __name__
del _estimator
