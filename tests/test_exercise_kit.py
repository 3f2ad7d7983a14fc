"""The teaching kit: networks written by hand (explain --network), exercises with keys, hand
calculations marked step by step (deltaprop exercise new|check|key, dp.exercises)."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.cli import main
from deltaprop.exercises.draw import numbers_of_trace, problems

ROOT = Path(__file__).resolve().parents[1]

# The lecture notes' 2-2-1 network (Gradient computation), in deltaprop's n_in x n_out layout.
LECTURE = {"layers": [{"W": [[1, 0.5], [-1, 1]], "b": [0.5, -1], "activation": "relu"},
                      {"W": [[2], [1]], "b": [0.5], "activation": "identity"}],
           "loss": "half_squared_error", "x": [1, 2], "t": 0.5}


def cli(*args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


# -- explain --network ----------------------------------------------------------------------------

@pytest.mark.parametrize("orientation", ["library", "lecture"])
def test_the_lecture_network_written_by_hand_gives_J_and_the_nine_derivatives(
        tmp_path, capsys, orientation):
    spec = json.loads(json.dumps(LECTURE))
    if orientation == "lecture":  # as the lectures write W: one row per unit, W h + b
        spec["orientation"] = "lecture"
        for layer in spec["layers"]:
            layer["W"] = np.array(layer["W"]).T.tolist()
    (tmp_path / "net.json").write_text(json.dumps(spec))
    code, out, _ = cli("explain", "--network", tmp_path / "net.json", "--format", "json",
                       capsys=capsys)
    data = json.loads(out)
    assert code == 0 and data["J"] == 1.125
    l1, l2 = data["layers"]
    # the README's nine derivatives: ∇b² = 1.5, ∇W² = (0, 2.25), ∇b¹ = (0, 1.5),
    # ∇W¹ = [[0, 0], [1.5, 3]] (one row per unit; deltaprop's layout is its transpose)
    assert l2["grad_b"] == [1.5] and l2["grad_W"] == [[0.0], [2.25]]
    assert l1["grad_b"] == [0.0, 1.5] and l1["grad_W"] == [[0.0, 1.5], [0.0, 3.0]]
    code, text, _ = cli("explain", "--network", tmp_path / "net.json", capsys=capsys)
    assert "J = L(t, y) = 1.125" in text and "①  g ← ∇_y J = y − t = 1.5" in text
    net, X, T = dp.explain.example("relu-2-2-1")
    spec_net = dp.explain.load_spec(tmp_path / "net.json").network()
    assert all(np.array_equal(a.W, b.W) and np.array_equal(a.b, b.b)
               for a, b in zip(net.layers, spec_net.layers))


def test_a_network_file_round_trips_and_takes_a_batch_and_class_labels(tmp_path):
    from deltaprop.explain import load_spec, spec_of

    net, X, T = dp.explain.example("minibatch")
    spec = spec_of(net, X, T, notation="rousseau")
    again = load_spec(json.loads(json.dumps(spec.to_dict("lecture"))))
    assert again.to_dict() == spec.to_dict() and again.notation == "rousseau"
    assert dp.explain(net, X, T).J == again.explain().J
    labels = {"layers": [{"W": [[1, 0, -1], [0, 1, 1]], "b": [0, 0, 0],
                          "activation": "softmax"}],
              "loss": "cross_entropy", "X": [[1, 2], [0, 1]], "T": [2, 0]}
    assert np.array_equal(load_spec(labels).T, [[0, 0, 1], [1, 0, 0]])


@pytest.mark.parametrize("change, message", [
    (lambda s: s.update(activaton="relu"), "unknown key 'activaton'"),
    (lambda s: s["layers"][1].update(W=[[2, 1]]), "layers[1].W is 1 × 2: it takes 1 inputs, "
                                                  "but layers[0] has 2 units"),
    (lambda s: s["layers"][0].update(b=[0.5]), "layers[0].b has 1 entries"),
    (lambda s: s.pop("loss"), "no \"loss\""),
    (lambda s: s.update(loss="hinge"), "unknown loss 'hinge'"),
    (lambda s: s["layers"][0].update(activation="step"), "layers[0].activation"),
    (lambda s: s.update(x=[1, 2, 3]), "x has 3 entries per sample, but layers[0] takes 2"),
    (lambda s: s.update(X=[[1, 2]]), "one sample as \"x\" and \"t\", or a batch"),
    (lambda s: s["layers"][0].update(W=[[1, 0.5], [-1]]), "layers[0].W must be a matrix"),
    (lambda s: s.update(orientation="columns"), "\"orientation\" must be"),
    (lambda s: s.update(t=[0.5, 1]), "t has 2 entries per sample, but the last layer has 1"),
    (lambda s: s["layers"][1].update(W=[[2, 0], [1, 0]], b=[0.5, 0]),
     "t gives one number per sample, but the last layer has 2 units"),
])
def test_a_bad_network_file_is_one_line_naming_the_entry(tmp_path, capsys, change, message):
    spec = json.loads(json.dumps(LECTURE))
    change(spec)
    (tmp_path / "net.json").write_text(json.dumps(spec))
    code, out, err = cli("explain", "--network", tmp_path / "net.json", capsys=capsys)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "net.json" in err and message in err, err


def test_network_file_json_errors_name_the_line(tmp_path, capsys):
    (tmp_path / "net.json").write_text('{"layers": [\n  {"W": [[1]], "b": [NaN], '
                                       '"activation": "relu"}]}')
    code, _, err = cli("explain", "--network", tmp_path / "net.json", capsys=capsys)
    assert code == 2 and "NaN is not a finite number" in err
    (tmp_path / "net.json").write_text('{"layers": [\n  {"W": [[1]],, }]}')
    code, _, err = cli("explain", "--network", tmp_path / "net.json", capsys=capsys)
    assert code == 2 and "not valid JSON" in err and "line 2" in err
    code, _, err = cli("explain", "--network", tmp_path / "nowhere.json", capsys=capsys)
    assert code == 2 and "no such file" in err
    code, _, err = cli("explain", "--network", tmp_path / "net.json", "--example", "softmax",
                       capsys=capsys)
    assert code == 2 and "not --example and --network" in err


@pytest.mark.parametrize("value", ["-1", "0", "1.5", "two"])
def test_explain_precision_must_be_a_positive_integer(capsys, value):
    with pytest.raises(SystemExit) as stop:
        main(["explain", "--example", "relu-2-2-1", "--precision", value])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "--precision: expected a positive integer" in err
    assert "Format specifier" not in err
    with pytest.raises(ValueError, match="precision must be an integer >= 1"):
        dp.explain(*dp.explain.example("relu-2-2-1"), precision=0)


def test_explain_precision_1_works(capsys):
    code, out, _ = cli("explain", "--example", "relu-2-2-1", "--precision", "1", capsys=capsys)
    assert code == 0 and "J = L(t, y) = 1" in out


# -- every seed: non-degenerate, and the key is dp.explain's, bit for bit -------------------------

SETTINGS = [
    dict(),                                                          # the lecture's kind
    dict(batch=2, notation="rousseau"),
    dict(network="2-3-2-1", notation="hagan", allow_inactive=True),
    dict(activation="sigmoid", notation="nielsen"),
    dict(activation="tanh", output="sigmoid", batch=2, notation="hagan"),
    dict(network="2-3-3", output="softmax", notation="rousseau"),
]


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: ",".join(map(str, s.values())) or
                         "default")
def test_every_seed_from_0_to_999_is_non_degenerate_and_its_key_is_explains(setting):
    ids = set()
    for seed in range(1000):
        ex = dp.exercises.new(seed=seed, **setting)
        found = {what for what, mask in problems(numbers_of_trace(ex.trace), ex.setting).items()
                 if mask[0]}
        assert not found, f"seed {seed}: {found}"
        ids.add(ex.id)
        fresh = dp.explain(ex.spec.network(), ex.spec.X, ex.spec.T)
        assert fresh.J == ex.trace.J
        for q in ex.quantities:
            assert np.array_equal(q.value, _from_trace(fresh, q)), (seed, q.key)
    assert len(ids) == 1000  # every seed a different problem


def _from_trace(trace, q):
    """The key of ``q`` read from a trace, independently of the exercise's own code."""
    layer = None if q.k is None else trace.layers[q.k - 1]
    single = trace.n_samples == 1
    n = q.n
    return {
        "pre": lambda: layer.z[n], "act": lambda: layer.a[n],
        "loss": lambda: trace.losses[n], "J": lambda: trace.J,
        "grad_y": lambda: layer.g[n], "err": lambda: layer.error[n],
        "grad_out": lambda: layer.g[n],
        "grad_b": lambda: layer.grad_b if (single or n is None) else layer.error[n],
        "grad_W": lambda: layer.grad_W if (single or n is None)
        else np.outer(layer.x[n], layer.error[n]),
    }[q.kind]()


def test_numbers_are_made_for_hand_work():
    ex = dp.exercises.new(seed=5)
    assert ex.exact and ex.tolerance.rtol == 0
    for q in ex.quantities:  # integers and halves in, multiples of 1/16 out
        assert np.all(np.mod(q.value * 16, 1) == 0), q.key
    for W in ex.spec.Ws + ex.spec.bs:
        assert np.all(np.mod(W * 2, 1) == 0)
    approx = dp.exercises.new(activation="sigmoid", seed=5)
    assert not approx.exact and approx.tolerance.rtol == 0.01
    assert all(np.all(np.mod(np.round(W * 10, 9), 1) == 0) for W in approx.spec.Ws)
    assert "1%" in approx.sheet() and "0.001" in ex.sheet()


def test_a_bad_setting_is_one_clear_error():
    for kw, match in ((dict(network="2-x-1"), "write the layer sizes"),
                      (dict(network="2-9-1"), "at most"),
                      (dict(output="tanh"), "output 'tanh'"),
                      (dict(output="softmax"), "at least 2 units"),
                      (dict(loss="cross_entropy"), "does not go with"),
                      (dict(activation="softmax"), "not a hidden activation"),
                      (dict(batch=0), "batch must be"), (dict(notation="bishop"), "notation"),
                      (dict(seed=-1), "seed must be")):
        with pytest.raises(ValueError, match=match):
            dp.exercises.new(**kw)


# -- marking: slips named at their step and layer, errors carried forward -------------------------

def _answers(ex, **changes):
    answers = ex.key_answers()
    for key, value in changes.items():
        answers["answers"][key] = np.asarray(value).tolist()
    return answers


def _sheet(ex, key, lib_value):
    """A value in deltaprop's layout, written as the sheet writes ``key``."""
    q = next(q for q in ex.quantities if q.key == key)
    return q.sheet_value(np.asarray(lib_value, dtype=float))


def _assert_slip(ex, key, value, slip, where):
    marking = dp.exercises.check(ex, _answers(ex, **{key: value}))
    first = marking.first_wrong
    assert not marking.passed and first is not None, str(marking)
    assert (first.key, first.slip, first.where) == (key, slip, where), str(marking)
    assert dp.exercises.SLIPS[slip] in str(marking)
    return marking


def _sigmoid_net(seed=0, **kw):
    ex = dp.exercises.new("2-2-1", activation="sigmoid", seed=seed, **kw)
    return ex, ex.trace.layers


@pytest.mark.parametrize("seed", range(5))
def test_sigma_written_for_sigma_prime_is_named_in_step_2(seed):
    ex, (l1, l2) = _sigmoid_net(seed)
    _assert_slip(ex, "grad_alpha1", l1.g[0] * sigmoid(l1.z[0]), "sigma_as_derivative",
                 "② of layer 1")
    out = dp.exercises.new("2-2-1", activation="sigmoid", output="sigmoid", seed=seed)
    l2 = out.trace.layers[1]
    _assert_slip(out, "grad_alpha2", l2.g[0] * l2.a[0], "sigma_as_derivative", "② of layer 2")


@pytest.mark.parametrize("seed", range(5))
def test_f_prime_at_the_activation_is_named(seed):
    ex, (l1, _) = _sigmoid_net(seed, notation="nielsen")
    a = l1.a[0]
    _assert_slip(ex, "delta2", l1.g[0] * sigmoid(a) * (1 - sigmoid(a)), "fprime_at_activation",
                 "② of layer 2")   # Nielsen's layer l = 2 is deltaprop's first


@pytest.mark.parametrize("seed", range(5))
def test_a_missing_transpose_in_step_4_is_named(seed):
    ex, (l1, l2) = _sigmoid_net(seed)  # ∇W² is 1 × 2 on the sheet, ∇W¹ 2 × 2
    for key, layer, k in (("grad_W2", l2, 2), ("grad_W1", l1, 1)):
        wrong = _sheet(ex, key, layer.grad_W).T
        _assert_slip(ex, key, wrong, "missing_transpose_4", f"④ of layer {k}")
    hagan = dp.exercises.new("2-3-1", activation="tanh", notation="hagan", seed=seed)
    l1 = hagan.trace.layers[0]
    _assert_slip(hagan, "dF_dW1", l1.grad_W.T, "missing_transpose_4", "④ of layer 1")


def test_a_missing_transpose_in_step_5_is_named():
    tried = 0
    for seed in range(40):
        ex = dp.exercises.new("2-2-2-1", seed=seed)  # W² is square: W g has the shape of Wᵀ g
        l2 = ex.trace.layers[1]
        wrong = l2.W.T @ l2.error[0]
        if ex.tolerance.close(wrong, l2.W @ l2.error[0]):
            continue  # a symmetric W² (or an error vector that hides it): no slip to see
        _assert_slip(ex, "grad_h1", wrong, "missing_transpose_5", "⑤ of layer 2")
        tried += 1
    assert tried >= 10


@pytest.mark.parametrize("seed", range(5))
def test_t_minus_y_is_named_at_the_output(seed):
    ex, (_, l2) = _sigmoid_net(seed)
    _assert_slip(ex, "grad_y", -l2.g[0], "t_minus_y", "① of layer 2")
    soft = dp.exercises.new("2-3-3", output="softmax", notation="rousseau", seed=seed)
    out = soft.trace.layers[1]   # fused: ② is y - t directly
    _assert_slip(soft, "dl_dz2", soft.trace.T[0] - out.a[0], "t_minus_y", "② of layer 2")


@pytest.mark.parametrize("seed", range(5))
def test_the_loss_factor_dropped_or_doubled_is_named(seed):
    ex, (_, l2) = _sigmoid_net(seed)
    for c, slip in ((2.0, "half_dropped"), (0.5, "half_doubled")):
        _assert_slip(ex, "J", c * ex.trace.J, slip, "the loss")
        _assert_slip(ex, "grad_y", c * l2.g[0], slip, "① of layer 2")
    mse = dp.exercises.new("2-2-2", loss="mse", seed=seed)   # 1/n with n = 2 outputs
    g = mse.trace.layers[1].g[0]
    for c, slip in ((2.0, "mean_dropped"), (0.5, "mean_doubled")):
        _assert_slip(mse, "J", c * mse.trace.J, slip, "the loss")
        _assert_slip(mse, "grad_y", c * g, slip, "① of layer 2")
    sq = dp.exercises.new(loss="squared_error", seed=seed)
    _assert_slip(sq, "grad_y", 0.5 * sq.trace.layers[1].g[0], "two_dropped", "① of layer 2")


@pytest.mark.parametrize("seed", range(5))
def test_the_batch_mean_dropped_or_doubled_and_an_unsummed_bias_gradient_are_named(seed):
    ex = dp.exercises.new(batch=2, seed=seed)
    N, (l1, _) = 2, ex.trace.layers
    for c, slip in ((N, "batch_mean_dropped"), (1 / N, "batch_mean_doubled")):
        _assert_slip(ex, "J", c * ex.trace.J, slip, "J of the batch")
        _assert_slip(ex, "grad_W1", _sheet(ex, "grad_W1", c * l1.grad_W), slip,
                     "the batch gradient of layer 1")
    rows = l1.error * ex.trace.share[:, None]   # the rows of δ, each with its 1/N, not summed
    _assert_slip(ex, "grad_b1", rows, "bias_not_summed", "the batch gradient of layer 1")
    _assert_slip(ex, "grad_b1", l1.error, "bias_not_summed", "the batch gradient of layer 1")


def test_a_single_wrong_number_is_carried_forward():
    """α⁽¹⁾ off by one in one entry, every later number computed right from it: one mistake."""
    ex = dp.exercises.new(seed=0)          # 2-2-1, ReLU, identity, ½(t − y)², Goodfellow
    W1, W2 = ex.spec.Ws
    b1, b2 = ex.spec.bs
    x, t = ex.spec.X[0], ex.spec.T[0]
    alpha1 = x @ W1 + b1 + np.array([1.0, 0.0])
    h1 = np.maximum(alpha1, 0)
    y = h1 @ W2 + b2
    g = y - t
    g_h1 = W2 @ g
    d1 = g_h1 * (alpha1 > 0)
    mine = {"alpha1": alpha1, "h1": h1, "alpha2": y, "h2": y, "J": 0.5 * float(g @ g),
            "grad_y": g, "grad_alpha2": g, "grad_b2": g, "grad_W2": np.outer(h1, g).T,
            "grad_h1": g_h1, "grad_alpha1": d1, "grad_b1": d1, "grad_W1": np.outer(x, d1).T}
    marking = dp.exercises.check(ex, _answers(ex, **mine))
    verdicts = {v.key: v.verdict for v in marking.verdicts}
    assert verdicts["alpha1"] == "wrong" and marking.first_wrong.key == "alpha1"
    assert list(verdicts.values()).count("wrong") == 1, str(marking)
    assert list(verdicts.values()).count("carried forward") >= 8, str(marking)
    assert not marking.passed and "carried forward: right from your own earlier" in str(marking)
    # the same number carried forward wrongly is marked wrong where it goes wrong
    mine["grad_b1"] = d1 + 1
    marking = dp.exercises.check(ex, _answers(ex, **mine))
    assert [v.key for v in marking.verdicts if v.verdict == "wrong"] == ["alpha1", "grad_b1"]


def test_a_slip_is_carried_forward_to_later_steps():
    ex, (l1, l2) = _sigmoid_net(2)
    d1 = l1.g[0] * sigmoid(l1.z[0])                 # σ' written as σ in ②
    marking = dp.exercises.check(ex, _answers(
        ex, grad_alpha1=d1, grad_b1=d1, grad_W1=np.outer(l1.x[0], d1).T))
    verdicts = {v.key: (v.verdict, v.slip) for v in marking.verdicts}
    assert verdicts["grad_alpha1"] == ("wrong", "sigma_as_derivative")
    assert verdicts["grad_b1"][0] == verdicts["grad_W1"][0] == "carried forward"


def test_answers_are_parsed_as_a_teacher_reads_them(tmp_path):
    ex = dp.exercises.new(seed=0)
    key = ex.key_answers()["answers"]
    answers = ex.key_answers()
    a = answers["answers"]
    a["alpha1"] = [[v] for v in key["alpha1"]]               # a column: the same vector
    a["J"] = str(__import__("fractions").Fraction(key["J"]))  # "9/2"
    a["alpha2"] = key["alpha2"][0]                           # a number for a 1-vector
    a["h1"] = [key["h1"][0], None]                           # incomplete
    a["grad_b1"] = ["three", 1]                              # not a number
    del a["grad_W1"]
    a["grad_zz"] = 1
    marking = dp.exercises.check(ex, answers)
    verdicts = {v.key: v for v in marking.verdicts}
    assert {verdicts[k].verdict for k in ("alpha1", "J", "alpha2")} == {"right"}
    assert verdicts["h1"].verdict == "missing" and "incomplete" in verdicts["h1"].message
    assert verdicts["grad_b1"].verdict == "wrong" and "'three' is not a number" in \
        verdicts["grad_b1"].message
    assert verdicts["grad_W1"].verdict == "missing" and marking.unknown == ["grad_zz"]
    other = dp.exercises.new(seed=1).key_answers()
    with pytest.raises(ValueError, match="written for exercise"):
        dp.exercises.check(ex, other)


def test_the_key_marks_itself_right_in_every_notation_and_setting():
    for setting in SETTINGS + [dict(network="2-2-2", loss="mse", batch=3),
                               dict(output="sigmoid", loss="binary_cross_entropy")]:
        ex = dp.exercises.new(seed=11, **setting)
        marking = dp.exercises.check(ex, ex.key_answers())
        assert marking.passed and marking.first_wrong is None, str(marking)
        assert "everything is right" in str(marking)


# -- the command line ------------------------------------------------------------------------

def test_cli_new_check_key(tmp_path, capsys):
    out = tmp_path / "hw1"
    code, text, _ = cli("exercise", "new", "--network", "2-2-1", "--activation", "sigmoid",
                        "--notation", "nielsen", "--seed", "4", "-o", out, capsys=capsys)
    assert code == 0 and "seed 4" in text
    assert sorted(p.name for p in out.iterdir()) == sorted(dp.exercises.exercise.FILES)
    ex = dp.exercises.load(out)
    assert ex.notation == "nielsen" and ex.seed == 4
    assert ex.id == dp.exercises.new(activation="sigmoid", notation="nielsen", seed=4).id
    blank = json.loads((out / "answers.json").read_text())
    assert blank["exercise"] == ex.id and set(blank["answers"]) == {q.key for q in ex.quantities}
    code, text, _ = cli("exercise", "check", out, out / "answers.json", capsys=capsys)
    assert code == 1 and "missing" in text
    code, _, err = cli("exercise", "key", out, "-o", tmp_path / "filled.json", capsys=capsys)
    assert code == 0 and "wrote" in err
    code, text, _ = cli("exercise", "check", out, tmp_path / "filled.json", capsys=capsys)
    assert code == 0 and "everything is right" in text
    filled = json.loads((tmp_path / "filled.json").read_text())
    filled["answers"]["delta2"] = [-v for v in filled["answers"]["delta2"]]
    (tmp_path / "slip.json").write_text(json.dumps(filled))
    code, text, _ = cli("exercise", "check", out / "exercise.json", tmp_path / "slip.json",
                        "--json", capsys=capsys)
    report = json.loads(text)
    assert code == 1 and report["wrong"] == 1 and report["first_wrong"]["key"] == "delta2"
    code, text, _ = cli("explain", "--network", out / "exercise.json", capsys=capsys)
    assert code == 0 and "Nielsen" in text


def test_cli_never_overwrites_what_is_there(tmp_path, capsys):
    out = tmp_path / "hw"
    cli("exercise", "new", "-o", out, capsys=capsys)
    (out / "answers.json").write_text('{"answers": {"J": 4.5}}')      # a student's work
    code, _, err = cli("exercise", "new", "--seed", "1", "-o", out, capsys=capsys)
    assert code == 2 and "exists" in err and "--force" in err
    assert json.loads((out / "answers.json").read_text()) == {"answers": {"J": 4.5}}
    for target in (out / "exercise.json", out / "answers.json"):
        code, _, err = cli("exercise", "key", out, "-o", target, capsys=capsys)
        assert code == 2 and len(err.strip().splitlines()) == 1
    assert json.loads((out / "answers.json").read_text()) == {"answers": {"J": 4.5}}
    code, _, _ = cli("exercise", "new", "--seed", "1", "-o", out, "--force", capsys=capsys)
    assert code == 0 and dp.exercises.load(out).seed == 1


def test_cli_errors_are_one_line(tmp_path, capsys):
    cli("exercise", "new", "-o", tmp_path / "hw", capsys=capsys)
    (tmp_path / "bad.json").write_text("{answers")
    for args, match in (
            (("exercise", "new", "--network", "2-1", "--output", "softmax", "-o", tmp_path / "x"),
             "at least 2 units"),
            (("exercise", "check", tmp_path / "nowhere", tmp_path / "bad.json"), "no such file"),
            (("exercise", "check", tmp_path / "hw", tmp_path / "bad.json"), "not valid JSON"),
            (("exercise", "key", tmp_path / "hw" / "sheet.md"), "not valid JSON")):
        code, _, err = cli(*args, capsys=capsys)
        assert code == 2 and len(err.strip().splitlines()) == 1 and match in err, err


def test_cli_a_class_of_students(tmp_path, capsys):
    code, text, _ = cli("exercise", "new", "--students", "3", "--seed", "10", "--batch", "2",
                        "-o", tmp_path / "class", capsys=capsys)
    assert code == 0 and "3 exercises" in text
    dirs = sorted(p.name for p in (tmp_path / "class").iterdir() if p.is_dir())
    assert dirs == ["student01", "student02", "student03"]
    seeds = [dp.exercises.load(tmp_path / "class" / d).seed for d in dirs]
    assert seeds == [10, 11, 12]
    class_key = (tmp_path / "class" / "class_key.md").read_text()
    assert all(f"student {i:02d}, seed {10 + i - 1}" in class_key for i in (1, 2, 3))
    code, _, err = cli("exercise", "check", tmp_path / "class" / "student01",
                       tmp_path / "class" / "student02" / "answers.json", capsys=capsys)
    assert code == 2 and "written for exercise" in err


# -- the sheets: LaTeX compiles, Markdown as the docs show it ---------------------------------

def _compile(tmp_path, name, text):
    (tmp_path / name).write_text(text, encoding="utf-8")
    proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", name],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert (tmp_path / name.replace(".tex", ".pdf")).stat().st_size > 1000


def test_the_latex_sheet_and_key_compile(tmp_path):
    if shutil.which("pdflatex") is None:
        if os.environ.get("CI"):
            pytest.fail("pdflatex is not installed in CI (.ci/run installs texlive-latex-base)")
        pytest.skip("pdflatex is not installed (Debian: texlive-latex-base)")
    for i, setting in enumerate(SETTINGS + [dict(network="3-4-4-2", activation="tanh",
                                                 batch=4)]):
        ex = dp.exercises.new(seed=i, **setting)
        for what in ("sheet", "key"):
            text = getattr(ex, what)("latex")
            assert all(ord(c) < 128 for c in text), what
            _compile(tmp_path, f"{what}{i}.tex", text)
    group = dp.exercises.exercise.new_class(2, seed=3)
    _compile(tmp_path, "class.tex",
             dp.exercises.sheet.render_class_key(group, "latex"))


def test_the_docs_show_a_sheet_as_the_tool_writes_it():
    page = (ROOT / "docs" / "exercises.md").read_text(encoding="utf-8")
    sheet = dp.exercises.new(seed=0).sheet("markdown")
    body = sheet.split("\n", 1)[1].replace("\n## ", "\n### ")   # under the page's own heading
    assert body.strip() in page


def test_import_deltaprop_still_leaves_the_explainer_for_later():
    import sys

    code = ("import sys, deltaprop as dp; assert 'deltaprop.explain' not in sys.modules; "
            "from deltaprop.exercises import check_backward; "
            "assert dp.check_backward is check_backward; ex = dp.exercises.new(); "
            "assert dp.exercises.check(ex, ex.key_answers()).passed")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert proc.returncode == 0, proc.stderr


def test_the_docstring_examples_run():
    import doctest

    import deltaprop.exercises.backward
    import deltaprop.exercises.marking

    for module in (dp.exercises, deltaprop.exercises.marking, deltaprop.exercises.backward):
        result = doctest.testmod(module)
        assert result.attempted and not result.failed, module.__name__


def test_exercise_help_has_examples(capsys):
    for args in (["exercise", "--help"], ["exercise", "new", "--help"]):
        with pytest.raises(SystemExit) as stop:
            main(args)
        out = capsys.readouterr().out
        assert stop.value.code == 0 and "examples:" in out and "deltaprop exercise new" in out


def test_a_setting_too_large_for_hand_work_says_why(tmp_path, capsys):
    code, _, err = cli("exercise", "new", "--network", "6-6-6-6-6", "--batch", "8", "-o",
                       tmp_path / "unused", capsys=capsys)
    assert code == 2 and "most often: a number too large to work by hand" in err
    assert "smaller network" in err and not (tmp_path / "unused").exists()
