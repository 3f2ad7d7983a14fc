"""scikit-learn's own MLP tests, run against deltaprop's estimators.

The test file is read from the installed scikit-learn at test time (it is not copied into
this repository), with one change: it imports ``MLPClassifier`` and ``MLPRegressor`` from
``deltaprop.sklearn``. Its tests then run here as if they were ours. Only the tests that
drive scikit-learn's private internals are skipped, each with the reason.
"""

import importlib.util
import sys
import types
from pathlib import Path

import pytest

sklearn = pytest.importorskip("sklearn")

UPSTREAM = Path(sklearn.__file__).parent / "neural_network" / "tests" / "test_mlp.py"
IMPORT = "from sklearn.neural_network import MLPClassifier, MLPRegressor"

#: The tests of scikit-learn's private internals, and why they cannot apply.
PRIVATE = {
    "test_fit": "sets scikit-learn's private work arrays (_coef_grads, _coef_velocity, ...) "
                "by hand before partial_fit",
    "test_gradient": "calls scikit-learn's private _loss_grad_lbfgs with its private work arrays",
    "test_learning_rate_warmstart": "reads the private _optimizer.learning_rate of "
                                    "scikit-learn's own SGD optimizer object",
    "test_adaptive_learning_rate": "reads the private _optimizer.learning_rate of "
                                   "scikit-learn's own SGD optimizer object",
}


def _load():
    if not UPSTREAM.is_file():
        return None
    source = UPSTREAM.read_text()
    if IMPORT not in source:
        raise AssertionError(f"{UPSTREAM} no longer has the line {IMPORT!r}: update this file")
    source = source.replace(IMPORT, "from deltaprop.sklearn import MLPClassifier, MLPRegressor")
    module = types.ModuleType("sklearn_test_mlp_on_deltaprop")
    module.__file__ = str(UPSTREAM)
    sys.modules[module.__name__] = module
    exec(compile(source, str(UPSTREAM), "exec"), module.__dict__)
    return module


_upstream = _load()
if _upstream is None:  # pragma: no cover - depends on how scikit-learn was installed
    pytest.skip(f"scikit-learn's tests are not installed ({UPSTREAM})", allow_module_level=True)

for _name, _obj in vars(_upstream).items():
    if _name.startswith("test_") and callable(_obj):
        if _name in PRIVATE:
            _obj = pytest.mark.skip(reason="scikit-learn private internals: " + PRIVATE[_name])(_obj)
        globals()[_name] = _obj


@pytest.fixture
def global_random_seed():
    """scikit-learn's fixture (its default seed, 42), which its conftest would provide."""
    return 42


def test_the_upstream_tests_were_found():
    found = [n for n in globals() if n.startswith("test_") and n != "test_the_upstream_tests_were_found"]
    assert len(found) >= 40, found
    assert set(PRIVATE) <= set(found), "a skipped test no longer exists upstream"
