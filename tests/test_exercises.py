"""check_backward: catches wrong backward functions, names the entries, passes correct ones."""

import numpy as np
import pytest

from deltaprop import check_backward


def sig(z):
    return 1 / (1 + np.exp(-z))


def test_wrong_sigmoid_derivative_is_caught_and_every_entry_named():
    result = check_backward(lambda z, g: g * sig(z), "sigmoid")  # σ instead of σ(1 − σ)
    assert not result.passed
    comp = result.arrays[0]
    z, g = result.inputs["z"], result.inputs["g"]
    expected = g * sig(z) * (1 - sig(z))
    wrong = np.abs(g * sig(z) - expected) > 1e-8 + 1e-6 * np.abs(expected)
    assert sorted(result.differing_entries()["dJ/dz"]) == sorted(map(tuple, np.argwhere(wrong)))
    idx, yours, ref, num, diff = comp.differ[0]
    assert diff == pytest.approx(np.abs(g * sig(z) - expected).max())
    assert ref == pytest.approx(expected[idx], rel=1e-12) and num == pytest.approx(ref, rel=1e-6)
    text = str(result)
    assert "FAIL" in text and f"{len(comp.differ)} of 12 entries differ" in text and str(idx) in text


def test_correct_backwards_pass():
    assert check_backward(lambda z, g: g * sig(z) * (1 - sig(z)), "sigmoid").passed
    assert check_backward(lambda z, a, g: g * (1 - a * a), "tanh").passed
    assert check_backward(lambda z, g: g * (z > 0), "relu").passed
    assert check_backward(lambda y, t: y - t, "half_squared_error").passed
    assert check_backward(lambda y, t: 2 * (y - t) / y.shape[1], "mse").passed
    assert check_backward(lambda y, t: -t / y, "cross_entropy").passed

    def softmax_backward(z, a, g):
        return a * (g - (g * a).sum(axis=1, keepdims=True))
    assert check_backward(softmax_backward, "softmax").passed
    assert "PASS" in str(check_backward(lambda z, g: g * np.cos(z), None, forward=np.sin))


def test_wrong_loss_gradient_missing_the_one_over_n():
    result = check_backward(lambda y, t: 2 * (y - t), "mse", shape=(2, 4))
    assert not result.passed and len(result.arrays[0].differ) == 8


def dense_backward(x, W, b, g):
    return x.T @ g, g.sum(axis=0), g @ W.T


def test_dense_layer_backward():
    assert check_backward(dense_backward, "dense").passed

    def relu_dense(x, W, b, g):
        d = g * (x @ W + b > 0)
        return dense_backward(x, W, b, d)
    assert check_backward(relu_dense, "dense", activation="relu").passed
    # forgetting step ② for a sigmoid layer fails on all three arrays
    assert len(check_backward(dense_backward, "dense", activation="sigmoid").differing_entries()) == 3

    def one_wrong(x, W, b, g):
        gW, gb, gx = dense_backward(x, W, b, g)
        gx = gx.copy()
        gx[1, 2] += 0.5
        return gW, gb, gx
    result = check_backward(one_wrong, "dense")
    assert result.differing_entries() == {"grad_x": [(1, 2)]}
    assert result.arrays[2].differ[0][4] == pytest.approx(0.5)
    # the transposed gradient (n_out x n_in, seed 000's layout) is a shape error
    with pytest.raises(ValueError, match=r"grad_W with shape \(4, 3\), expected \(3, 4\)"):
        check_backward(lambda x, W, b, g: ((x.T @ g).T, g.sum(0), g @ W.T), "dense")


def test_bad_use_is_explained():
    with pytest.raises(ValueError, match="dJ/dz with shape \\(4,\\), expected \\(4, 3\\)"):
        check_backward(lambda z, g: g.sum(axis=1), "sigmoid")
    with pytest.raises(ValueError, match="unknown reference 'sigmoidd'.*sigmoid"):
        check_backward(lambda z, g: g, "sigmoidd")
    with pytest.raises(ValueError, match="needs your forward"):
        check_backward(lambda z, g: g, None)
    with pytest.raises(ValueError, match=r"g has shape \(2, 2\) but z has shape \(4, 3\)"):
        check_backward(lambda z, g: g, "tanh", inputs={"z": np.ones((4, 3)), "g": np.ones((2, 2))})
