"""Each activation: value, derivative, stability, dtype; the registry."""

import math

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.activations import erf
from deltaprop.activations.special import _erf_numpy

ELEMENTWISE = sorted(name for name, cls in dp.ACTIVATIONS.items() if cls.elementwise)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_derivative_matches_finite_differences(name, rng):
    act = dp.get_activation(name)
    z = rng.normal(scale=3.0, size=200)
    z = z[np.abs(z) > 1e-3]  # away from the kink of the ReLU family
    h = 1e-6
    numeric = (act.forward(z + h) - act.forward(z - h)) / (2 * h)
    np.testing.assert_allclose(act.derivative(z, act.forward(z)), numeric, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", sorted(dp.ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(name, dtype, rng):
    act = dp.get_activation(name)
    z = rng.normal(size=(4, 3)).astype(dtype)
    a = act.forward(z.copy())
    assert a.dtype == dtype
    assert act.backward(z, a, np.ones_like(z)).dtype == dtype
    out = np.empty_like(z)
    assert act.forward(z, out=out) is out if name != "identity" else True


@pytest.mark.parametrize("name", sorted(dp.ACTIVATIONS))
def test_finite_at_large_inputs(name):
    act = dp.get_activation(name)
    z = np.array([[-1000.0, -50.0, 0.0, 50.0, 1000.0]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # underflow is fine
        a = act.forward(z.copy())
        g = act.backward(z, a, np.ones_like(z))
    assert np.isfinite(a).all() and np.isfinite(g).all()


def test_reference_values():
    z = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    sig = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(dp.get_activation("sigmoid")(z), sig, rtol=1e-15)
    np.testing.assert_allclose(dp.get_activation("softplus")(z), np.log1p(np.exp(z)), rtol=1e-15)
    np.testing.assert_allclose(dp.get_activation("silu")(z), z * sig, rtol=1e-15)
    gelu = [v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in z]
    np.testing.assert_allclose(dp.get_activation("gelu")(z), gelu, rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(dp.get_activation("elu")(z), np.where(z > 0, z, np.expm1(z)))
    np.testing.assert_allclose(dp.get_activation("leaky_relu")(z), np.where(z > 0, z, 0.01 * z))
    # the tanh approximation stays within 1e-3 of the exact GELU
    np.testing.assert_allclose(dp.get_activation("gelu_tanh")(z), gelu, atol=1e-3)


def test_sigmoid_keeps_relative_precision_far_left():
    z = np.array([-700.0, -40.0])
    np.testing.assert_allclose(dp.get_activation("sigmoid")(z), np.exp(z) / (1 + np.exp(z)),
                               rtol=1e-14)


def test_relu_derivative_at_zero_is_zero():
    relu = dp.get_activation("relu")
    z = np.array([-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(relu.derivative(z, relu(z)), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(relu.backward(z, relu(z), np.ones(3)), [0.0, 0.0, 1.0])


def test_tanh_is_a_rescaled_sigmoid(rng):
    """Seed 001: tanh(x) = 2 σ(2x) − 1."""
    x = rng.normal(scale=4.0, size=1000)
    np.testing.assert_allclose(dp.get_activation("tanh")(x),
                               2 * dp.get_activation("sigmoid")(2 * x) - 1, atol=1e-15)


def test_softmax_shift_invariance(rng):
    """Seed 001: softmax(x + c1) = softmax(x), even for huge c."""
    sm = dp.get_activation("softmax")
    x = rng.normal(size=(5, 4))
    for c in (-1000.0, 3.0, 1000.0):
        np.testing.assert_allclose(sm(x + c), sm(x), rtol=1e-12)
    np.testing.assert_allclose(sm(x).sum(axis=1), 1.0, rtol=1e-15)


def test_softmax_backward_is_the_jacobian_vector_product(rng):
    sm = dp.get_activation("softmax")
    z, g = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    a = sm(z)
    for i in range(3):
        J = np.diag(a[i]) - np.outer(a[i], a[i])
        np.testing.assert_allclose(sm.backward(z, a, g.copy())[i], J.T @ g[i], rtol=1e-13)
    with pytest.raises(TypeError, match="Jacobian-vector"):
        sm.derivative(z, a)


def test_erf_to_double_precision():
    x = np.concatenate([np.linspace(-7, 7, 2001), [0.0, 1e-300, -1e-10, 2.4999, 2.5, 2.5001]])
    ref = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(erf(x), ref, rtol=4e-16, atol=1e-300)
    np.testing.assert_allclose(_erf_numpy(x), ref, rtol=1.5e-15, atol=1e-300)  # a few ulp
    assert _erf_numpy(np.float32(0.5) * np.ones(2, np.float32)).dtype == np.float32


def test_registry():
    assert isinstance(dp.get_activation("ReLU"), dp.ACTIVATIONS["relu"])
    with pytest.raises(ValueError, match="unknown activation 'rleu'.*gelu.*relu"):
        dp.get_activation("rleu")
    with pytest.raises(ValueError, match="unknown loss 'mae'.*cross_entropy"):
        dp.get_loss("mae")


def test_the_classes_keep_their_public_path():
    """Each class is ``deltaprop.activations.X`` though defined in a submodule: pickles (of
    networks, of deep copies) name that path, so older pickles load, and so do messages."""
    import pickle

    classes = [c for c in vars(dp.activations).values()
               if isinstance(c, type) and issubclass(c, dp.Activation)]
    assert {c.name for c in classes} >= {"activation", "identity", "relu", "gelu", "softmax"}
    for cls in classes:
        assert cls.__module__ == "deltaprop.activations", (cls, cls.__module__)
        if cls is not dp.Activation:
            data = pickle.dumps(cls(), protocol=0)  # a class is "c<module>\n<name>\n"
            assert b"cdeltaprop.activations\n" + cls.__qualname__.encode() + b"\n" in data, cls
            assert pickle.loads(data) == cls()


def test_import_does_not_load_scipy_special():
    """scipy.special is imported on the first erf (GELU), not by ``import deltaprop``."""
    import subprocess
    import sys

    code = ("import sys, deltaprop; assert 'scipy.special' not in sys.modules; "
            "deltaprop.activations.erf(0.5); assert 'scipy.special' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
