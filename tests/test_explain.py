"""deltaprop.explain: traces equal the engine, the worked examples reproduce hand derivations,
renderings carry the right symbols and numbers, LaTeX is valid (and compiles when
pdflatex is installed), the ``deltaprop explain`` command works."""

import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.explain import EXAMPLES, NOTATIONS, example, explain, explain_example, render

NOTATION_NAMES = list(NOTATIONS)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# -- the numbers are the engine's ---------------------------------------------------------

CONFIGS = [  # hidden activation, output, loss, reduction, l2
    ("relu", "identity", "mse", "mean", 0.0),
    ("sigmoid", "sigmoid", "half_squared_error", "sum", 0.0),
    ("tanh", "softmax", "cross_entropy", "mean", 0.05),
    ("gelu", "sigmoid", "binary_cross_entropy", "mean", 0.0),
    ("leaky_relu", "identity", "squared_error", "sum", 0.1),
]


def _data(net, N, rng):
    X = rng.normal(size=(N, net.n_inputs))
    if net.loss_function.name == "cross_entropy":
        return X, rng.integers(0, net.n_outputs, size=N)
    if net.loss_function.name == "binary_cross_entropy":
        return X, rng.integers(0, 2, size=(N, net.n_outputs)).astype(float)
    return X, rng.normal(size=(N, net.n_outputs))


@pytest.mark.parametrize("notation", NOTATION_NAMES)
@pytest.mark.parametrize("config", CONFIGS, ids=[c[0] + "-" + c[2] for c in CONFIGS])
@pytest.mark.parametrize("N", [1, 4])
def test_trace_gradients_are_the_engines(notation, config, N):
    act, out, loss, reduction, l2 = config
    rng = np.random.default_rng(N)
    for dtype in ("float64", "float32"):
        net = dp.MLP([3, 4, 3, 2 if out != "softmax" else 3], activation=act, output=out,
                     loss=loss, reduction=reduction, l2=l2, dtype=dtype, seed=1)
        X, T = _data(net, N, rng)
        trace = explain(net, X, T, notation=notation)
        J, grads = net.gradients(X, T)
        assert trace.J == J
        for layer, (gW, gb) in zip(trace.layers, grads):
            assert layer.grad_W.dtype == gW.dtype
            assert np.array_equal(layer.grad_W, gW), (layer.grad_W, gW)
            assert np.array_equal(layer.grad_b, gb)
        # every rendering is produced without error and is not empty
        for fmt in ("text", "markdown", "latex", "json"):
            assert len(render(trace, fmt)) > 200


def test_explain_does_not_change_the_weights():
    net, X, T = example("sigmoid-2-3-2")
    before = [layer.W.copy() for layer in net.layers]
    explain(net, X, T)
    assert all(np.array_equal(a, layer.W) for a, layer in zip(before, net.layers))


# -- the worked 2-2-1 network, derived by hand ---------------------------------------------

def test_worked_2_2_1_hand_derivation():
    # x = (1, 2), W1 = [[1, -1], [0.5, 1]], b1 = (0.5, -1), W2 = [2, 1], b2 = 0.5, t = 0.5
    # α1 = W1 x + b1 = (1 - 2 + 0.5, 0.5 + 2 - 1) = (-0.5, 1.5), h1 = ReLU = (0, 1.5)
    # α2 = 2*0 + 1*1.5 + 0.5 = 2 = y, J = ½(0.5 - 2)² = 1.125
    # ① g = y - t = 1.5   ② g = 1.5   ③ ∇b2 = 1.5   ④ ∇W2 = g h1ᵀ = (0, 2.25)
    # ⑤ g = W2ᵀ g = (3, 1.5)   ② g ⊙ step(α1) = (0, 1.5)   ③ ∇b1 = (0, 1.5)
    # ④ ∇W1 = g xᵀ = [[0, 0], [1.5, 3]]
    trace = explain_example("relu-2-2-1")
    l1, l2 = trace.layers
    assert trace.J == 1.125
    assert np.array_equal(l1.z[0], [-0.5, 1.5]) and np.array_equal(l1.a[0], [0.0, 1.5])
    assert np.array_equal(l2.z[0], [2.0])
    assert np.array_equal(l2.grad_b, [1.5]) and np.array_equal(l2.grad_W.T, [[0.0, 2.25]])
    assert np.array_equal(l2.g[0], [1.5])           # step ①
    assert np.array_equal(l1.g[0], [3.0, 1.5])      # step ⑤
    assert np.array_equal(l1.grad_b, [0.0, 1.5])
    assert np.array_equal(l1.grad_W.T, [[0.0, 0.0], [1.5, 3.0]])  # the book's layout: one row per unit
    assert sum(layer.grad_W.size + layer.grad_b.size for layer in trace.layers) == 9


def test_worked_2_2_1_text_shows_steps_one_to_five():
    text = explain_example("relu-2-2-1").to_text()
    lines = text.splitlines()
    assert "α⁽¹⁾ = b⁽¹⁾ + W⁽¹⁾ h⁽⁰⁾" in text
    assert any(line.startswith("①  g ← ∇_y J = y − t = 1.5") for line in lines)
    assert "②  g ← ∇_α⁽²⁾ J = g ⊙ f⁽²⁾'(α⁽²⁾) = g ⊙ 1 = g = 1.5" in text
    assert "③  ∇_b⁽²⁾ J = g = 1.5" in text
    assert "④  ∇_W⁽²⁾ J = g h⁽¹⁾ᵀ = 1.5 · [0  1.5] = [0  2.25]" in text
    assert "⑤  g ← ∇_h⁽¹⁾ J = W⁽²⁾ᵀ g" in text
    assert "step(α⁽¹⁾)" in text
    assert "J = L(t, y) = 1.125" in text
    # the ∇W1 matrix of step ④ for layer 1, rows (0 0) and (1.5 3)
    i = next(i for i, line in enumerate(lines) if "∇_W⁽¹⁾ J = g h⁽⁰⁾ᵀ" in line)
    block = "\n".join(lines[i - 1:i + 2])
    assert re.search(r"⎡\s*0\s+0⎤", block) and re.search(r"⎣1\.5\s+3⎦", block), block


# -- Nielsen's four equations, written as scalar loops -----------------------------

def _nielsen_by_hand(ws, bs, x, y):
    """BP1-BP4 with explicit indices j, k: w[l][j][k] connects k (layer l-1) to j (layer l)."""
    a, zs = [list(x)], []
    for w, b in zip(ws, bs):
        z = [sum(w[j][k] * a[-1][k] for k in range(len(a[-1]))) + b[j] for j in range(len(w))]
        zs.append(z)
        a.append([float(sigmoid(v)) for v in z])
    sp = [[float(sigmoid(v) * (1 - sigmoid(v))) for v in z] for z in zs]
    L = len(ws)
    delta = [None] * L
    delta[L - 1] = [(a[L][j] - y[j]) * sp[L - 1][j] for j in range(len(y))]          # BP1
    for l in range(L - 2, -1, -1):                                                     # BP2
        delta[l] = [sp[l][j] * sum(ws[l + 1][k][j] * delta[l + 1][k] for k in range(len(delta[l + 1])))
                    for j in range(len(zs[l]))]
    grad_b = delta                                                                      # BP3
    grad_w = [[[delta[l][j] * a[l][k] for k in range(len(a[l]))] for j in range(len(delta[l]))]
              for l in range(L)]                                                        # BP4
    return grad_w, grad_b, delta


def test_nielsen_reproduces_the_four_equations():
    net, X, T = example("sigmoid-2-3-2")
    ws = [layer.W.T.tolist() for layer in net.layers]
    bs = [layer.b.tolist() for layer in net.layers]
    grad_w, grad_b, delta = _nielsen_by_hand(ws, bs, X[0], T[0])
    trace = explain_example("sigmoid-2-3-2")
    assert trace.notation == "nielsen"
    for k, layer in enumerate(trace.layers):
        np.testing.assert_allclose(layer.grad_W.T, grad_w[k], rtol=1e-14, atol=1e-16)
        np.testing.assert_allclose(layer.grad_b, grad_b[k], rtol=1e-14, atol=1e-16)
        np.testing.assert_allclose(layer.error[0], delta[k], rtol=1e-14, atol=1e-16)
    text = trace.to_text()
    for label in ("(BP1)", "(BP2)", "(BP3)", "(BP4)"):
        assert label in text
    assert "z² = w² a¹ + b²" in text and "δ³ = ∇ₐC ⊙ σ'(z³)" in text
    d3 = f"{delta[1][0]:.6g}"
    assert d3 in text  # the number of δ³₁ appears in the rendering


# -- Hagan et al.: S = -2 A e, Ŝ = Â W S, total squared error -------------------------------------

def test_hagan_sensitivities_by_hand():
    net, X, T = example("sigmoid-4-layer")
    Ws = [layer.W for layer in net.layers]  # Hagan's layout: H x L, n = Wᵀ â + b
    bs = [layer.b for layer in net.layers]
    total_W = [np.zeros_like(W) for W in Ws]
    total_b = [np.zeros_like(b) for b in bs]
    tse = 0.0
    for x, t in zip(X, T):
        a, ns = [x], []
        for W, b in zip(Ws, bs):
            n = np.array([sum(W[l, c] * a[-1][l] for l in range(W.shape[0])) + b[c]
                          for c in range(W.shape[1])])
            ns.append(n)
            a.append(sigmoid(n))
        e = t - a[-1]
        tse += float(e @ e)
        A = [np.diag(sigmoid(n) * (1 - sigmoid(n))) for n in ns]
        S = [None] * 4
        S[3] = -2 * A[3] @ e
        for k in (2, 1, 0):
            S[k] = A[k] @ Ws[k + 1] @ S[k + 1]      # Ŝ = Â W S
        for k in range(4):
            total_W[k] += np.outer(a[k], S[k])      # ∂F/∂W = â Sᵀ
            total_b[k] += S[k]
    trace = explain_example("sigmoid-4-layer")
    assert trace.reduction == "sum" and len(trace.layers) == 4
    assert trace.J == pytest.approx(tse, rel=1e-14)
    for layer, gW, gb in zip(trace.layers, total_W, total_b):
        np.testing.assert_allclose(layer.grad_W, gW, rtol=1e-13, atol=1e-17)
        np.testing.assert_allclose(layer.grad_b, gb, rtol=1e-13, atol=1e-17)
    text = trace.to_text()
    assert "S₄ = −2 A₄ e" in text and "S₁ = A₁ W₂ S₂" in text and "n₁ = W₁ᵀ a₀ + b₁" in text
    assert "Σ = Σₙ ℱₙ" in text and "Sample 2 of 2" in text


# -- softmax + cross-entropy: the fused error vector ---------------------------------------------

def test_softmax_output_error_is_y_minus_t_and_equals_the_chain_rule():
    trace = explain_example("softmax")
    out = trace.layers[-1]
    y, t = out.a[0], trace.T[0]
    assert trace.fused
    assert np.array_equal(out.error[0], y - t)
    jac = np.diag(y) - np.outer(y, y)                    # softmax Jacobian (symmetric)
    np.testing.assert_allclose(jac @ (-t / y), y - t, atol=1e-15)
    text = trace.to_text()
    assert "∂ℓ/∂z⁽²⁾ = ŷ − y" in text
    assert "unfused: (diag(ŷ) − ŷ ŷᵀ) ∂ℓ/∂ŷ" in text
    assert "σ' disappears from the output error vector" in text


# -- batches: per-sample and averaged ---------------------------------------------------------------

def test_minibatch_per_sample_errors_and_averaged_gradients():
    net, X, T = example("minibatch")
    trace = explain(net, X, T, notation="rousseau")
    singles = [explain(net, X[n:n + 1], T[n:n + 1]) for n in range(len(X))]
    for k, layer in enumerate(trace.layers):
        for n, single in enumerate(singles):
            np.testing.assert_allclose(layer.error[n], single.layers[k].error[0], rtol=1e-14)
        mean_W = np.mean([s.layers[k].grad_W for s in singles], axis=0)
        np.testing.assert_allclose(layer.grad_W, mean_W, rtol=1e-13, atol=1e-16)
    text = trace.to_text()
    assert "Sample 3 of 3" in text and "The batch: averaged over the samples" in text
    assert "ℒ_B = (1/N) Σₙ ℓₙ" in text and "∂ℒ_B/∂W⁽¹⁾ = (1/N) Σₙ ∂ℓₙ/∂W⁽¹⁾" in text
    one = trace.to_text(sample=1)
    assert "Sample 2 of 3" in one and "Sample 1 of 3" not in one


# -- renderings: content in each notation --------------------------------------------------------

SYMBOLS = {  # notation: (text symbols, LaTeX symbols)
    "goodfellow": (["α⁽¹⁾", "h⁽⁰⁾", "∇_b⁽²⁾ J", "①", "⑤"],
                   [r"\alpha^{(1)}", r"\nabla_{b^{(2)}} J", r"\textcircled{\scriptsize 4}"]),
    "nielsen": (["z²", "a¹", "δ³", "(BP2)", "∂C/∂w²"],
                [r"\delta^{3}", r"\frac{\partial C}{\partial w^{2}}", r"\tag*{(BP4)}"]),
    "hagan": (["n₁", "S₂", "A₁ = diag(σ'(n₁))", "W₁ᵀ a₀ + b₁"],
              [r"S_{2}", r"{W_{1}}^{\top}", r"\operatorname{diag}"]),
    "rousseau": (["z⁽¹⁾", "x⁽⁰⁾", "W⁽¹⁾ᵀ x⁽⁰⁾ + b⁽¹⁾", "(4)"],
                 [r"{W^{(1)}}^{\top} \, x^{(0)}", r"\frac{\partial \ell}{\partial z^{(1)}}"]),
}


@pytest.mark.parametrize("notation", NOTATION_NAMES)
def test_renderings_use_the_notations_symbols_and_the_numbers(notation):
    trace = explain_example("relu-2-2-1", notation=notation)
    text, md, tex = trace.to_text(), trace.to_markdown(), trace.to_latex()
    text_syms, tex_syms = SYMBOLS[notation]
    for s in text_syms:
        assert s in text, (notation, s)
    for s in tex_syms:
        assert s in tex, (notation, s)
        if "tag" not in s and "textcircled" not in s:  # Markdown writes labels as text
            assert s in md, (notation, s)
    # ∂J/∂W of layer 1 in the notation's own layout: Goodfellow and Nielsen transpose
    grad = np.array([[0, 0], [1.5, 3]]) if NOTATIONS[notation].transposed else np.array([[0, 1.5], [0, 3]])
    rows = r" \\ ".join(" & ".join(f"{v:g}" for v in row) for row in grad)
    assert r"\begin{bmatrix} " + rows + r" \end{bmatrix}" in tex
    assert "1.125" in text and "1.125" in tex and "2.25" in md
    assert md.startswith("# Backpropagation step by step")
    assert md.count("$$") % 2 == 0


def test_precision_and_large_matrices():
    net = dp.MLP([12, 10, 2], activation="tanh", dtype="float64", seed=0)
    X = np.full((1, 12), 1 / 3)
    trace = explain(net, X, [[0.1, 0.2]], precision=3)
    text = trace.to_text()
    assert "0.333" in text and "0.3333" not in text
    assert "⋯" in text and "⋮" in text
    assert r"\cdots" in trace.to_latex()


# -- LaTeX: strict syntax check (always) and a real compile (when pdflatex exists) ---------------

KNOWN_MACROS = {
    "documentclass", "usepackage", "begin", "end", "allowdisplaybreaks", "setlength",
    "parindent", "section", "subsection", "subsubsection", "paragraph", "hline", "tag",
    "textcircled", "scriptsize", "text", "texttt", "frac", "tfrac", "partial", "nabla", "alpha",
    "delta", "sigma", "ell", "lambda", "mathcal", "hat", "top", "odot", "oslash", "cdot",
    "cdots", "vdots", "ddots", "left", "right", "lVert", "rVert", "sum", "log", "operatorname",
    "leftarrow", "to", "times", "le", "ge", "approx", "infty", "mathrm", "dots", "Sigma",
    "textbackslash", "textasciitilde", "textasciicircum", "textless", "textgreater",
    "textbar", "prime", "tanh", "|", ",", "_", "&", "%", "$", "#", "{", "}", "\\",
    "gamma", "beta", "mu", "epsilon", "sqrt", "textstyle",  # the normalisation steps
}
MATH_ENVS = {"align*", "bmatrix", "aligned"}
ENVS = MATH_ENVS | {"document", "tabular"}


def check_latex(src):
    """Raise AssertionError unless ``src`` is LaTeX we can vouch for."""
    assert all(ord(c) < 128 for c in src), "non-ASCII character in LaTeX output"
    for m in re.finditer(r"\\([A-Za-z]+|.)", src):
        assert m.group(1) in KNOWN_MACROS, f"unknown macro \\{m.group(1)} near {src[m.start() - 30:m.end() + 30]!r}"
    # braces balance (escaped braces excluded)
    depth = 0
    for i, c in enumerate(re.sub(r"\\[{}]", "", src)):
        depth += {"{": 1, "}": -1}.get(c, 0)
        assert depth >= 0, f"unbalanced }} at {i}"
    assert depth == 0, "unbalanced {"
    # environments nest and are known
    stack = []
    for m in re.finditer(r"\\(begin|end)\{([^}]*)\}", src):
        kind, env = m.groups()
        assert env in ENVS, f"unknown environment {env}"
        if kind == "begin":
            stack.append(env)
        else:
            assert stack and stack[-1] == env, f"\\end{{{env}}} does not close {stack[-1:]}"
            stack.pop()
    assert not stack, f"unclosed environments {stack}"
    # math mode: _ ^ only inside math; & only in alignments and tables; no bare % or #
    math, env_math = False, 0
    for m in re.finditer(r"\\begin\{([^}]*)\}|\\end\{([^}]*)\}|\\.|\$|[_^&%#]", src):
        tok = m.group(0)
        if m.group(1) in ("align*",):
            env_math += 1
        elif m.group(2) in ("align*",):
            env_math -= 1
        elif tok == "$":
            math = not math
        elif tok in ("_", "^"):
            assert math or env_math, f"{tok} outside math near {src[m.start() - 30:m.end() + 30]!r}"
        elif tok in ("%", "#"):
            raise AssertionError(f"unescaped {tok} near {src[m.start() - 30:m.end() + 30]!r}")
    assert not math, "unclosed $"


def _all_fragments():
    parts = []
    for name in EXAMPLES:
        for notation in NOTATION_NAMES:
            parts.append(explain_example(name, notation=notation).to_latex())
    return parts


def test_latex_passes_the_strict_check():
    for fragment in _all_fragments():
        check_latex(fragment)
    check_latex(explain_example("relu-2-2-1").to_latex(standalone=True))
    with pytest.raises(AssertionError):
        check_latex(r"\begin{align*} x_1 \end{aligned}")
    with pytest.raises(AssertionError):
        check_latex(r"a_1 and 50% \undefinedmacro")


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_latex_compiles_with_pdflatex(tmp_path):
    standalone = explain_example("relu-2-2-1").to_latex(standalone=True)
    head, tail = standalone.split("\\begin{document}\n")
    body = "\n\\clearpage\n".join(_all_fragments())
    (tmp_path / "all.tex").write_text(head + "\\begin{document}\n" + body + "\n\\end{document}\n")
    (tmp_path / "one.tex").write_text(standalone)
    for name in ("all.tex", "one.tex"):
        proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", name],
                              cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout[-3000:]
        assert (tmp_path / name.replace(".tex", ".pdf")).stat().st_size > 1000


# -- JSON -------------------------------------------------------------------------------------------

def test_json_round_trips_every_number():
    trace = explain_example("minibatch")
    data = json.loads(trace.to_json(notation="hagan"))
    assert data["notation"] == "hagan" and data["n_samples"] == 3 and data["J"] == trace.J
    for entry, layer in zip(data["layers"], trace.layers):
        for key, attr in (("grad_W", "grad_W"), ("grad_b", "grad_b"), ("input", "x"),
                          ("z", "z"), ("a", "a"), ("delta", "delta"), ("error", "error")):
            assert np.array_equal(np.array(entry[key]), getattr(layer, attr)), key
            assert entry[key + "_shape"] == list(getattr(layer, attr).shape)
        assert entry["symbols"]["error"] == f"S_{{{entry['k']}}}"
    assert data["layers"][0]["W_layout"].startswith("as deltaprop")


# -- errors ----------------------------------------------------------------------------------------

def test_unknown_notation_lists_the_valid_ones():
    net, X, T = example("relu-2-2-1")
    with pytest.raises(ValueError, match="goodfellow, nielsen, hagan, rousseau"):
        explain(net, X, T, notation="bishop")
    with pytest.raises(ValueError, match="valid names are: relu-2-2-1"):
        example("seed999")
    with pytest.raises(ValueError, match="valid formats"):
        render(explain(net, X, T), "html")


def test_shape_mismatch_names_the_shapes():
    net, X, T = example("relu-2-2-1")
    with pytest.raises(ValueError, match="3"):
        explain(net, np.ones((1, 3)), T)
    with pytest.raises(ValueError, match=r"\(1, 2\)|2"):
        explain(net, X, np.ones((1, 2)))
    with pytest.raises(ValueError, match="out of range for a batch of 1"):
        explain(net, X, T).to_text(sample=5)


# -- the command ------------------------------------------------------------------------------------

def run(*args, cwd, check=True):
    proc = subprocess.run([sys.executable, "-m", "deltaprop", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_cli_explain_example_text_and_latex(tmp_path):
    out = run("explain", "--example", "relu-2-2-1", cwd=tmp_path).stdout
    assert "①  g ← ∇_y J = y − t = 1.5" in out and "Goodfellow" in out
    run("explain", "--example", "sigmoid-4-layer", "--format", "latex", "-o", "t.tex", cwd=tmp_path)
    tex = (tmp_path / "t.tex").read_text()
    assert tex.startswith("\\documentclass") and "S_{4}" in tex
    check_latex(tex)
    listing = run("explain", "--list-examples", cwd=tmp_path).stdout
    assert all(name in listing for name in EXAMPLES)
    md = run("explain", "--example", "softmax", "--notation", "nielsen", "--format", "markdown",
             cwd=tmp_path).stdout
    assert md.startswith("# ") and "\\delta^{3}" in md
    help_text = run("explain", "--help", cwd=tmp_path).stdout
    assert "examples:" in help_text and "--example relu-2-2-1" in help_text


#: TeX in a plain-text trace: a command (\\frac, \\partial, \\mathbf, \\odot, \\top...), a
#: dollar sign, or a braced sub- or superscript (n_{k-1}).
TEX_IN_TEXT = re.compile(r"\\[A-Za-z]+|\$|[_^]\{")


def _tex_lines(text):
    return [line for line in text.splitlines() if TEX_IN_TEXT.search(line)]


@pytest.mark.parametrize("notation", list(NOTATIONS))
def test_the_terminal_trace_has_no_tex_in_any_notation(notation, capsys):
    """The text rendering is Unicode only (Rousseau's convention line once read
    ``n_{k−1} × n_k``); LaTeX keeps its maths."""
    from deltaprop import cli

    for name in EXAMPLES:
        for extra in ([], ["--sample", "0"]):
            assert cli.main(["explain", "--example", name, "--notation", notation, *extra]) == 0
            out = capsys.readouterr().out
            assert out and not _tex_lines(out), (name, extra, _tex_lines(out))
    rng = np.random.default_rng(5)
    cases = [(dp.MLP([3, 4, 4, 2], activation="tanh", output="softmax", loss="cross_entropy",
                     norm="batch", dropout=0.5, dtype="float64", seed=2), np.array([0, 1]))]
    for act in VARIANTS:
        cases.append((dp.Sequential([dp.Dense(3, 2, act if act.elementwise else "tanh",
                                              dtype="float64", rng=rng),
                                     dp.Dense(2, 2, act, dtype="float64", rng=rng)], loss="mse"),
                      rng.normal(size=(2, 2))))
    for net, T in cases:
        text = explain(net, rng.normal(size=(2, 3)), T).to_text(notation=notation)
        assert not _tex_lines(text), _tex_lines(text)
    latex = explain(*example("relu-2-2-1"), notation=notation).to_latex(notation=notation)
    assert re.search(r"\\(frac|nabla)", latex) and r"^{\top}" in latex  # the maths kept there
    if notation == "rousseau":
        assert r"n_{k-1}\times n_k" in latex


def test_cli_old_example_names_still_work_but_are_not_listed(tmp_path):
    old = run("explain", "--example", "seed000", cwd=tmp_path).stdout
    assert old == run("explain", "--example", "relu-2-2-1", cwd=tmp_path).stdout
    listing = run("explain", "--list-examples", cwd=tmp_path).stdout
    help_text = run("explain", "--help", cwd=tmp_path).stdout
    assert "seed" not in listing.lower() and "seed0" not in help_text.lower()


def test_cli_explain_a_saved_model(tmp_path):
    net = dp.MLP([2, 3, 3], activation="tanh", output="softmax", loss="cross_entropy",
                 dtype="float64", seed=0)
    net.save(tmp_path / "model.npz")
    (tmp_path / "x.csv").write_text("a,b\n0.5,-1\n1,2\n")
    proc = run("explain", "model.npz", "--input", "x.csv", "--target", "2", "--format", "json",
               cwd=tmp_path)
    data = json.loads(proc.stdout)
    X = np.array([[0.5, -1.0], [1.0, 2.0]])
    # The command's fresh process takes the NumPy path for so small a network; this one may
    # have imported the Numba kernels for an earlier test, whose tanh rounds otherwise.
    previous = dp.kernels.use("numpy")
    try:
        J, grads = net.gradients(X, [2, 2])
    finally:
        dp.kernels.use(previous)
    assert data["J"] == J and data["n_samples"] == 2
    assert np.array_equal(np.array(data["layers"][0]["grad_W"]), grads[0][0])
    (tmp_path / "t.csv").write_text("y\n0\n1\n")
    proc = run("explain", "model.npz", "--input", "x.csv", "--target", "t.csv", cwd=tmp_path)
    assert "Sample 2 of 2" in proc.stdout


def test_cli_explain_errors_are_one_line(tmp_path):
    for args, match in ((("explain",), "nothing to explain"),
                        (("explain", "m.npz", "--input", "x.csv"), "needs --input"),
                        (("explain", "--example", "relu-2-2-1", "--sample", "4"), "out of range")):
        proc = run(*args, cwd=tmp_path, check=False)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and match in lines[0] and "Traceback" not in proc.stderr


# -- the package: deltaprop.explain is the module, and callable as the function -----------------

def test_explain_is_the_module_and_callable():
    import importlib

    import deltaprop.explain as ex
    from deltaprop.explain import example as example_again
    from deltaprop.explain import explain as explain_again

    assert ex is importlib.import_module("deltaprop.explain") and ex is dp.explain
    assert ex.example is example_again is example and explain_again is explain
    net, X, T = ex.example("relu-2-2-1")
    trace = dp.explain(net, X, T, notation="nielsen")
    assert isinstance(trace, ex.Trace) and trace.J == 1.125 and trace.notation == "nielsen"
    assert ex.explain(net, X, T).J == trace.J


# -- each activation and loss writes its own formulas --------------------------------------------

from deltaprop.activations import ACTIVATIONS, Activation  # noqa: E402
from deltaprop.activations import register as register_activation  # noqa: E402
from deltaprop.losses import LOSSES, Loss  # noqa: E402
from deltaprop.losses import register as register_loss  # noqa: E402


def _python(formula):
    """A formula's plain text as a Python expression (⊙ → *, ‖v‖² → sum(v**2), ...)."""
    e = formula.replace("⊙", "*").replace("⊘", "/").replace("−", "-").replace("ⱼ", "")
    e = e.replace("√(2/π) ", "sqrt(2/pi)*").replace("½ ", "0.5*").replace("½", "0.5*")
    e = re.sub(r"‖([^‖]+)‖²", r"sum((\1)**2)", e)
    e = e.replace("³", "**3").replace("²", "**2").replace("dim y", "len(y)")
    e = e.replace("[", "(").replace("]", ")").replace("σ(", "sig(").replace("Φ(", "Phi(")
    e = e.replace("φ(", "phi(")
    e = re.sub(r"Σ (.*)$", r"sum(\1)", e)
    e = re.sub(r"log (\w)", r"log(\1)", e)
    e = re.sub(r"(\w|\)) log", r"\1*log", e)
    e = re.sub(r"(\d) ([sa(]|e\b)", r"\1*\2", e)
    e = re.sub(r"(\d)\(", r"\1*(", e)
    e = re.sub(r"\)(?=[a-z(])", ")*", e)
    return e


def _evaluate(formula, **values):
    import math

    names = dict(sig=sigmoid, tanh=np.tanh, sqrt=np.sqrt, pi=math.pi, log=np.log, sum=np.sum,
                 len=len, step=lambda s: float(s > 0),
                 Phi=lambda s: 0.5 * (1 + math.erf(s / math.sqrt(2))),
                 phi=lambda s: math.exp(-s * s / 2) / math.sqrt(2 * math.pi))
    return eval(_python(formula), names, values)


EXTRA_MACROS = {"Phi", "varphi", "sqrt", "pi"}  # the GELU formulas


def _check_latex_with(monkeypatch, src):
    monkeypatch.setattr(sys.modules[__name__], "KNOWN_MACROS", KNOWN_MACROS | EXTRA_MACROS)
    check_latex(src)
    assert not re.search(r"\^\{[^{}]*\}\^|_\{[^{}]*\}_", src), "double super/subscript"


VARIANTS = [dp.get_activation(name) for name in sorted(ACTIVATIONS)] + [
    ACTIVATIONS["leaky_relu"](slope=0.2), ACTIVATIONS["elu"](alpha=0.5)]


@pytest.mark.parametrize("act", [a for a in VARIANTS if a.elementwise], ids=repr)
def test_every_derivative_formula_is_the_derivative(act, monkeypatch):
    """Each activation's written f'(s), evaluated, equals its own derivative."""
    text, _ = act.derivative_formula(("s", "s"), ("a", "a"))
    for s in (-2.3, -0.7, 0.4, 1.9):
        a = float(act(np.array([s]))[0])
        want = float(act.derivative(np.array([s]), np.array([a]))[0])
        got = _evaluate(text, s=s, a=a)
        assert got == pytest.approx(want, rel=1e-12, abs=1e-15), (text, _python(text), s)
    _, latex = act.derivative_formula(("α⁽¹⁾", r"\alpha^{(1)}"), ("h⁽¹⁾", "h^{(1)}"))
    _check_latex_with(monkeypatch, "$" + latex + "$")


def test_softmax_writes_its_jacobian():
    act = dp.get_activation("softmax")
    text, _ = act.derivative_formula(("s", "s"), ("a", "a"))
    assert text == "(diag(a) − a aᵀ)"
    trace = explain(dp.MLP([2, 3], output="softmax", loss="mse", dtype="float64", seed=0),
                    [[0.3, -1.2]], [[0.0, 1.0, 0.0]], notation="hagan")
    a = trace.y[0]
    text = trace.to_text(max_rows=3, max_cols=3)
    assert "(diag(a₁) − a₁ a₁ᵀ)" in text
    for v in (np.diag(a) - np.outer(a, a)).ravel():  # the matrix shown in step ②
        assert f"{v:.6g}" in text, v


LOSS_TARGETS = {"cross_entropy": np.array([0.2, 0.5, 0.3]),
                "binary_cross_entropy": np.array([1.0, 0.0, 0.4])}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_every_loss_formula_is_the_loss(name):
    """Each loss's written ℓ(y, t), ∂ℓ/∂y, fused delta and residual form, evaluated,
    equal its own value and gradient."""
    loss = dp.get_loss(name)
    y = np.array([0.3, 0.6, 0.1])
    t = LOSS_TARGETS.get(name, np.array([0.5, -0.2, 1.5]))
    value, grad = loss.value(y[None], t[None])[0], loss.gradient(y[None], t[None])[0]
    f_text, f_latex = loss.formula(("y", "y"), ("t", "t"))
    g_text, g_latex = loss.gradient_formula(("y", "y"), ("t", "t"))
    assert _evaluate(f_text, y=y, t=t) == pytest.approx(value, rel=1e-13), _python(f_text)
    np.testing.assert_allclose(_evaluate(g_text, y=y, t=t), grad, rtol=1e-13, err_msg=g_text)
    fused = loss.fused_delta_formula(("y", "y"), ("t", "t"))[0]
    np.testing.assert_array_equal(_evaluate(fused, y=y, t=t), loss.fused_delta(y, t))
    residual = loss.residual_gradient_formula(("e", "e"))
    if residual is not None:
        np.testing.assert_allclose(_evaluate(residual[0], e=t - y), grad, rtol=1e-13)
    for latex in (f_latex, g_latex):
        check_latex("$" + latex + "$")


@pytest.mark.parametrize("act", VARIANTS, ids=repr)
def test_every_activation_is_explained_in_every_notation(act, monkeypatch):
    rng = np.random.default_rng(3)
    hidden = act if act.elementwise else "tanh"
    layers = [dp.Dense(2, 3, hidden, dtype="float64", rng=rng),
              dp.Dense(3, 2, act, dtype="float64", rng=rng)]
    net = dp.Sequential(layers, loss="mse")
    X, T = rng.normal(size=(2, 2)), rng.normal(size=(2, 2))
    trace = explain(net, X, T)
    J, grads = net.gradients(X, T)
    assert trace.J == J and all(np.array_equal(lt.grad_W, gW) for lt, (gW, _) in zip(trace.layers, grads))
    name_text, _ = act.symbol()
    for notation in NOTATION_NAMES:
        text = trace.to_text(notation=notation)
        assert name_text + "(" in text
        if act.elementwise:
            f_text = act.derivative_formula(NOTATIONS[notation].pre(2), NOTATIONS[notation].act(2))[0]
            assert f_text in text, (notation, f_text)
        _check_latex_with(monkeypatch, trace.to_latex(notation=notation))
        assert trace.to_markdown(notation=notation).count("$$") % 2 == 0
        json.loads(trace.to_json(notation=notation))


def test_leaky_relu_and_elu_are_explained_with_their_own_parameters():
    for act, word, default in ((ACTIVATIONS["leaky_relu"](slope=0.2), "else 0.2)", "else 0.01)"),
                               (ACTIVATIONS["elu"](alpha=0.5), "+ 0.5)", "+ 1)")):
        net = dp.Sequential([dp.Dense(2, 2, act, dtype="float64", rng=0),
                             dp.Dense(2, 1, dtype="float64", rng=1)], loss="mse")
        trace = explain(net, [[1.0, -2.0]], [[0.5]])
        text = trace.to_text()
        assert word in text and default not in text, text
        np.testing.assert_array_equal(trace.layers[0].fprime,
                                      act.derivative(trace.layers[0].z, trace.layers[0].a))


# -- a user's own activation and loss, defined here only ---------------------------------------

class Cubic(Activation):
    """f(z) = z³/3 + z, f'(z) = z² + 1."""

    name = "cubic"

    def forward(self, z, out=None):
        value = z * z * z / 3.0 + z
        if out is None:
            return value
        out[...] = value
        return out

    def derivative(self, z, a):
        return z * z + 1.0


class Quartic(Loss):
    """ℓ = Σⱼ (yⱼ − tⱼ)⁴ / 4, ∂ℓ/∂y = (y − t)³."""

    name = "quartic"

    def value(self, y, t):
        return np.sum((y - t) ** 4, axis=1) / 4.0

    def gradient(self, y, t):
        return (y - t) ** 3


@pytest.fixture
def user_functions():
    register_activation(Cubic)
    register_loss(Quartic)
    yield
    del ACTIVATIONS["cubic"], LOSSES["quartic"]


@pytest.mark.parametrize("N", [1, 3])
def test_a_new_activation_and_loss_are_explained_without_a_table(user_functions, monkeypatch, N):
    rng = np.random.default_rng(7)
    net = dp.MLP([3, 4, 2], activation="cubic", output="cubic", loss="quartic", dtype="float64",
                 seed=2)
    X, T = 0.5 * rng.normal(size=(N, 3)), rng.normal(size=(N, 2))
    trace = explain(net, X, T)
    J, grads = net.gradients(X, T)
    assert trace.J == J
    for layer, (gW, gb) in zip(trace.layers, grads):
        assert np.array_equal(layer.grad_W, gW) and np.array_equal(layer.grad_b, gb)
        np.testing.assert_array_equal(layer.fprime, layer.z ** 2 + 1.0)   # the user's f'
    out = trace.layers[-1]
    np.testing.assert_allclose(out.g, (out.a - trace.T) ** 3, rtol=1e-15)  # the user's ∂ℓ/∂y
    np.testing.assert_allclose(out.error, out.g * out.fprime, rtol=1e-13)
    hidden = trace.layers[0]
    np.testing.assert_allclose(hidden.g, out.error @ out.W.T, rtol=1e-13)
    for notation in NOTATION_NAMES:
        text = trace.to_text(notation=notation)
        assert "cubic(" in text and "cubic'(" in text and "quartic(" in text, notation
        for gb in grads[-1][1] if N == 1 else ():
            assert f"{gb:.6g}" in text
        data = json.loads(trace.to_json(notation=notation))
        for entry, (gW, gb) in zip(data["layers"], grads):
            assert np.array_equal(np.array(entry["grad_W"]), gW)
        tex = trace.to_latex(notation=notation)
        assert r"\operatorname{cubic}" in tex and r"\operatorname{quartic}" in tex
        _check_latex_with(monkeypatch, tex)
    assert "∇_y quartic(y, t)" in trace.to_text(notation="goodfellow")


# -- the record hook: the trace's numbers are what the layers saw -----------------------------------

def test_dense_records_what_backward_receives():
    rng = np.random.default_rng(0)
    layer = dp.Dense(3, 2, "tanh", dtype="float64", rng=rng)
    assert layer.record is False and layer.grad_output is None and layer.fprime is None
    x, g = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    layer.forward(x, keep=True)
    layer.backward(g.copy())
    assert layer.grad_output is None and layer.fprime is None   # nothing kept by default
    layer.record = True
    layer.forward(x, keep=True)
    received = g.copy()
    layer.backward(received)
    np.testing.assert_array_equal(layer.grad_output, g)          # before step ② overwrote it
    np.testing.assert_array_equal(layer.fprime, 1.0 - np.tanh(x @ layer.W + layer.b) ** 2)
    np.testing.assert_array_equal(layer.delta, g * layer.fprime)
    layer.backward(g.copy(), is_delta=True)
    assert layer.grad_output is None
    out = dp.Dense(3, 2, "softmax", dtype="float64", rng=rng)
    out.record = True
    out.forward(x, keep=True)
    out.backward(g.copy())
    assert out.fprime is None and out.grad_output is not None


def test_explain_leaves_the_network_unrecorded():
    net, X, T = example("sigmoid-2-3-2")
    explain(net, X, T)
    assert all(layer.record is False and layer.grad_output is None for layer in net.layers)


def test_zero_weight_samples_have_no_backward_step():
    net, X, T = example("minibatch")
    w = np.array([1.0, 0.0, 2.0])
    trace = explain(net, X, T, sample_weight=w)
    J, grads = net.gradients(X, T, sample_weight=w)
    assert trace.J == J
    for layer, (gW, gb) in zip(trace.layers, grads):
        assert np.array_equal(layer.grad_W, gW) and np.array_equal(layer.grad_b, gb)
        assert np.all(np.isnan(layer.error[1])) and np.all(np.isfinite(layer.error[[0, 2]]))
    single = explain(net, X[2:], T[2:])
    np.testing.assert_allclose(trace.layers[0].error[2], single.layers[0].error[0], rtol=1e-14)
    text = trace.to_text()
    assert "This sample has weight 0" in text and text.count("Backward step") == 2
    assert "ℒ_B = Σₙ wₙ ℓₙ / Σₙ wₙ" in text or "Σₙ wₙ" in text


def test_one_sample_as_a_vector():
    net = dp.MLP([2, 3, 3], activation="tanh", output="softmax", loss="cross_entropy",
                 dtype="float64", seed=0)
    x = np.array([0.5, -1.0])
    J = net.gradients(x[None], [2])[0]
    assert explain(net, x, 2).J == explain(net, x, [2]).J == explain(net, x, [0, 0, 1]).J == J
    reg = dp.MLP([2, 2], loss="mse", dtype="float64", seed=0)
    assert explain(reg, x, [0.5, 1.0]).J == reg.gradients(x[None], [[0.5, 1.0]])[0]


# -- layers without weights: dropout and the normalisations, as steps of their own -----------
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("norm", ["batch", "layer"])
def test_dropout_and_normalisation_steps_in_every_notation(norm, training):
    rng = np.random.default_rng(3)
    net = dp.MLP([3, 4, 4, 2], activation="tanh", output="softmax", loss="cross_entropy",
                 norm=norm, dropout=0.5, dtype="float64", seed=2)
    X, y = rng.normal(size=(5, 3)), np.array([0, 1, 1, 0, 1])
    before = net.snapshot()
    trace = explain(net, X, y, training=training)
    after = net.snapshot()  # explain works on a copy: running statistics and masks untouched
    np.testing.assert_array_equal(before["data"], after["data"])
    for b, a in zip(before["buffers"], after["buffers"]):
        for key in b:
            np.testing.assert_array_equal(b[key], a[key])
    # the numbers are the engine's: the same sweep on a copy gives the same gradients
    twin = net.copy()
    for layer in twin.layers:
        if layer.kind == "dropout":
            layer.rng = np.random.default_rng(layer.seed)
    J, grads = twin.gradients(X, y, training=training)
    assert trace.J == J
    for layer, (gW, gb) in zip(trace.layers, grads):
        np.testing.assert_array_equal(layer.grad_W, gW)
    by_label = twin.parameter_gradients()
    kind = {"batch": "batch_norm", "layer": "layer_norm"}[norm]
    for op in trace.ops:
        if op.kind == kind:
            np.testing.assert_array_equal(op.params["grad_gamma"], by_label[f"gamma{op.position}"])
        if op.kind == "dropout":
            assert (op.params["mask"] is not None) == training
            if training:  # the mask the engine drew, applied to the gradient it passed down
                np.testing.assert_allclose(op.g_in, op.params["mask"] * op.g_out, rtol=1e-15)
    assert [op.kind for op in trace.ops] == [kind, "dropout"] * 2
    tag = {"batch": "BN", "layer": "LN"}[norm]
    for notation in NOTATIONS:
        text = trace.to_text(notation=notation)
        assert f"[{tag}·drop]" in text and "γ⁽²⁾" in text
        assert ("m ⊙" in text) == training
        latex = trace.to_latex(notation=notation)
        check_latex(latex)
        assert r"\gamma^{(2)}" in latex
        trace.to_markdown(notation=notation)
    data = json.loads(trace.to_json())
    assert [op["kind"] for op in data["ops"]] == [kind, "dropout"] * 2 and data["training"] == training


def test_explain_needs_a_dense_output_layer():
    net = dp.Sequential([dp.Dense(2, 3, "tanh"), dp.Dropout(0.1)])
    with pytest.raises(ValueError, match="explain needs a Dense output layer"):
        explain(net, np.zeros((1, 2)), np.zeros((1, 3)))


def test_markdown_equations_have_no_alignment_outside_an_aligned_block():
    """MathJax and KaTeX (Jupyter, GitHub) refuse a bare & outside an aligned block."""
    for name in EXAMPLES:
        md = explain_example(name).to_markdown()
        for line in md.splitlines():
            if line.startswith("$$") and line.endswith("$$") and "aligned" not in line:
                assert "&=" not in line, line


def test_notebook_display_of_traces_and_networks():
    trace = explain_example("relu-2-2-1")
    assert trace._repr_markdown_() == trace.to_markdown()
    assert trace._repr_latex_().startswith("\\")
    net = example("relu-2-2-1")[0]
    assert "<pre>" in net._repr_html_() and "dense_1" in net._repr_html_()
    data = trace.to_dict("goodfellow")
    W = np.asarray(data["layers"][0]["W"])
    assert W.shape == tuple(data["layers"][0]["W_shape"]) == (trace.layers[0].n_in,
                                                              trace.layers[0].n_out)
    assert data["layers"][0]["W_layout"].startswith("deltaprop's layer.W (n_in x n_out)")


def test_a_trace_shows_as_markdown_and_no_html_shadows_it():
    """JupyterLab, VS Code and nbconvert prefer text/html over text/markdown: a trace has no
    _repr_html_, so frontends show its Markdown, whose equations they typeset."""
    trace = explain_example("relu-2-2-1")
    assert not hasattr(trace, "_repr_html_")
    md = trace._repr_markdown_()
    assert md.startswith("# Backpropagation step by step") and "$$" in md


def test_import_deltaprop_leaves_the_explainer_and_the_optional_packages_for_later():
    code = ("import sys, deltaprop as dp; "
            "heavy = [m for m in ('deltaprop.explain', 'deltaprop.plots', 'matplotlib', 'scipy', "
            "'sklearn') if m in sys.modules]; "
            "assert not heavy, heavy; "
            "net, X, T = dp.explain.example('relu-2-2-1'); assert dp.explain(net, X, T).J == 1.125")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
