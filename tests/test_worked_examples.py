"""The worked examples of the textbooks and lecture notes, with numbers derived by hand."""

import numpy as np
import pytest

import deltaprop as dp


def test_the_worked_2_2_1_example_nine_derivatives():
    """The worked 2-2-1 example: ReLU hidden layer, linear output, J = ½ (t − y)².

    Hand computation (Goodfellow et al.'s notation, alpha = W h + b, W rows are units):
      x = (1, 2), W1 = [[1, -1], [0.5, 1]], b1 = (0.5, -1)
      alpha1 = (1 - 2 + 0.5, 0.5 + 2 - 1) = (-0.5, 1.5);  h1 = ReLU = (0, 1.5)
      W2 = [[2, 1]], b2 = 0.5:  alpha2 = 0 + 1.5 + 0.5 = 2 = y;  t = 0.5
      J = ½ (0.5 - 2)² = 1.125
    Backward:
      ① g = y - t = 1.5            ② g ⊙ 1 = 1.5 (linear output)
      ③ dJ/db2 = 1.5               ④ dJ/dW2 = g h1ᵀ = [0, 2.25]
      ⑤ g = W2ᵀ g = (3, 1.5)       ② g ⊙ step(alpha1) = (0, 1.5)
      ③ dJ/db1 = (0, 1.5)          ④ dJ/dW1 = g xᵀ = [[0, 0], [1.5, 3]]
    The README's first example and ``explain --example relu-2-2-1`` are this network.
    """
    net = dp.MLP([2, 2, 1], activation="relu", output="identity",
                 loss="half_squared_error", dtype="float64")
    W1_book = np.array([[1.0, -1.0], [0.5, 1.0]])
    W2_book = np.array([[2.0, 1.0]])
    net.layers[0].W, net.layers[0].b = W1_book.T, [0.5, -1.0]  # our W is their Wᵀ
    net.layers[1].W, net.layers[1].b = W2_book.T, [0.5]
    x, t = np.array([[1.0, 2.0]]), np.array([[0.5]])

    J, [(gW1, gb1), (gW2, gb2)] = net.gradients(x, t)

    assert J == 1.125
    np.testing.assert_array_equal(net.layers[0].z, [[-0.5, 1.5]])
    np.testing.assert_array_equal(net.layers[0].a, [[0.0, 1.5]])
    np.testing.assert_array_equal(net.layers[1].z, [[2.0]])
    # The nine derivatives, in the book's layout (transpose ours back).
    np.testing.assert_array_equal(gb2, [1.5])
    np.testing.assert_array_equal(gW2.T, [[0.0, 2.25]])
    np.testing.assert_array_equal(gb1, [0.0, 1.5])
    np.testing.assert_array_equal(gW1.T, [[0.0, 0.0], [1.5, 3.0]])
    # The error vectors g = dJ/dalpha at each layer.
    np.testing.assert_array_equal(net.layers[1].delta, [[1.5]])
    np.testing.assert_array_equal(net.layers[0].delta, [[0.0, 1.5]])
    # No negative zero anywhere a student would see it printed as "-0.".
    for layer in net.layers:
        for v in (layer.z, layer.a, layer.delta, layer.grad_W, layer.grad_b):
            assert not np.any(np.signbit(v) & (v == 0)), v


def test_the_worked_example_is_the_same_network_everywhere():
    """README, the explain registry and this file use one network with one set of numbers."""
    import re
    from pathlib import Path

    from deltaprop.explain import example

    net, X, T = example("relu-2-2-1")
    np.testing.assert_array_equal(net.layers[0].W, [[1.0, 0.5], [-1.0, 1.0]])
    np.testing.assert_array_equal(net.layers[0].b, [0.5, -1.0])
    np.testing.assert_array_equal(net.layers[1].W, [[2.0], [1.0]])
    np.testing.assert_array_equal(net.layers[1].b, [0.5])
    np.testing.assert_array_equal(X, [[1.0, 2.0]])
    np.testing.assert_array_equal(T, [[0.5]])
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert "net.layers[0].W, net.layers[0].b = [[1.0, 0.5], [-1.0, 1.0]], [0.5, -1.0]" in readme
    assert "net.layers[1].W, net.layers[1].b = [[2.0], [1.0]], [0.5]" in readme
    assert re.search(r"print\(J\)\s+# 1\.125", readme)
    with pytest.warns(DeprecationWarning, match="relu-2-2-1"):
        old = example("seed000")
    np.testing.assert_array_equal(old[0].layers[0].W, net.layers[0].W)


def test_hagan_S_vector_recursion_four_layers(rng):
    """Hagan et al. (Neural Network Design, ch. 11): total squared error, S4 = -2 A4 e4 and Ŝ = Â W S down the layers.

    The recursion is written here with explicit diagonal matrices and column vectors,
    one training pair at a time, exactly as on the slides; deltaprop's batch error
    vectors and gradients must equal it (summed over the pairs, reduction="sum").
    """
    sizes = [3, 4, 5, 3, 2]
    net = dp.MLP(sizes, activation="tanh", output="sigmoid", loss="squared_error",
                 reduction="sum", dtype="float64", seed=7)
    for layer in net.layers:
        layer.b = rng.normal(size=layer.b.shape)
    X, Tt = rng.normal(size=(4, 3)), rng.random((4, 2))
    J, grads = net.gradients(X, Tt)

    tanh_prime = lambda n: 1.0 - np.tanh(n) ** 2
    sig = lambda n: 1.0 / (1.0 + np.exp(-n))
    sig_prime = lambda n: sig(n) * (1.0 - sig(n))
    Ws = [layer.W for layer in net.layers]  # Hagan et al. use n = Wᵀ â + b: same W as ours
    bs = [layer.b for layer in net.layers]
    total = 0.0
    grads_ref = [(np.zeros_like(W), np.zeros_like(b)) for W, b in zip(Ws, bs)]
    S_rows = [[] for _ in Ws]
    for x, t in zip(X, Tt):
        a_hat, ns, a_hats = x[:, None], [], []
        for k, (W, b) in enumerate(zip(Ws, bs)):
            a_hats.append(a_hat)
            n = W.T @ a_hat + b[:, None]
            ns.append(n)
            a_hat = sig(n) if k == 3 else np.tanh(n)
        y = a_hat
        e = t[:, None] - y
        total += float((e ** 2).sum())
        S = -2.0 * np.diag(sig_prime(ns[3]).ravel()) @ e  # S4 = -2 A4 e4
        for k in range(3, -1, -1):
            S_rows[k].append(S.ravel())
            grads_ref[k][0][...] += a_hats[k] @ S.T  # dF/dW = â Sᵀ
            grads_ref[k][1][...] += S.ravel()  # dF/db = S
            if k > 0:
                A_hat = np.diag(tanh_prime(ns[k - 1]).ravel())
                S = A_hat @ Ws[k] @ S  # Ŝ = Â W S

    assert J == pytest.approx(total, rel=1e-13)
    for k, layer in enumerate(net.layers):
        np.testing.assert_allclose(layer.delta, np.array(S_rows[k]), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(grads[k][0], grads_ref[k][0], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(grads[k][1], grads_ref[k][1], rtol=1e-12, atol=1e-15)


def test_nielsen_four_equations_sigmoid_quadratic_cost(rng):
    """Nielsen's four equations (Neural Networks and Deep Learning, ch. 2) for C = ½‖y − a^L‖², sigmoid everywhere, one sample:
    δ^L = (a^L − y) σ'(z^L);  δ^l = σ'(z^l) ⊙ (w^{l+1})ᵀ δ^{l+1};  ∂C/∂b = δ;  ∂C/∂w = δ aᵀ.
    """
    net = dp.MLP([2, 3, 2], activation="sigmoid", output="sigmoid",
                 loss="half_squared_error", dtype="float64", seed=1)
    x, y = rng.normal(size=(1, 2)), rng.random((1, 2))
    net.gradients(x, y)
    sig = lambda z: 1 / (1 + np.exp(-z))
    w2, w3 = net.layers[0].W.T, net.layers[1].W.T  # Nielsen: z = w a + b
    z2 = w2 @ x.T + net.layers[0].b[:, None]
    a2 = sig(z2)
    z3 = w3 @ a2 + net.layers[1].b[:, None]
    a3 = sig(z3)
    d3 = (a3 - y.T) * sig(z3) * (1 - sig(z3))
    d2 = sig(z2) * (1 - sig(z2)) * (w3.T @ d3)
    np.testing.assert_allclose(net.layers[1].delta, d3.T, rtol=1e-13)
    np.testing.assert_allclose(net.layers[0].delta, d2.T, rtol=1e-13)
    np.testing.assert_allclose(net.layers[1].grad_W.T, d3 @ a2.T, rtol=1e-13)
    np.testing.assert_allclose(net.layers[0].grad_W.T, d2 @ x, rtol=1e-13)


def test_mse_convention_of_rousseau():
    """mse is (1/n_K)‖y − t‖² per sample, averaged over the batch (L_B of Rousseau's lecture notes)."""
    net = dp.MLP([1, 2], output="identity", loss="mse", dtype="float64")
    net.layers[0].W, net.layers[0].b = [[1.0, 2.0]], [0.0, 0.0]
    X, T = np.array([[1.0], [2.0]]), np.array([[0.0, 0.0], [1.0, 1.0]])
    # sample 1: y=(1,2): (1+4)/2 = 2.5; sample 2: y=(2,4): (1+9)/2 = 5; mean 3.75
    assert net.loss(X, T) == 3.75
    net_sum = dp.MLP([1, 2], output="identity", loss="squared_error", reduction="sum",
                     dtype="float64")
    net_sum.layers[0].W, net_sum.layers[0].b = [[1.0, 2.0]], [0.0, 0.0]
    assert net_sum.loss(X, T) == 15.0  # Σ_TSE = 5 + 10


def test_l2_term_is_lambda_over_two_sum_of_squares_no_batch_rescaling():
    net = dp.MLP([1, 1], output="identity", loss="half_squared_error", l2=0.5,
                 dtype="float64")
    net.layers[0].W, net.layers[0].b = [[2.0]], [3.0]  # the bias is not penalised
    X = np.zeros((4, 1))
    T = np.full((4, 1), 3.0)  # zero data loss
    J, [(gW, gb)] = net.gradients(X, T)
    assert J == 0.5 / 2 * 4.0  # (λ/2)‖W‖², the same for any batch size
    assert gW[0, 0] == 0.5 * 2.0 and gb[0] == 0.0
