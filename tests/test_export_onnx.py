"""ONNX export, checked in the runtime that serves it: every exported model passes
``onnx.checker`` (full check) and ONNX Runtime's outputs equal ``predict`` and
``predict_proba`` (probabilities within 1e-5, labels identical) for every activation × head
× layer kind × dtype, for models the command line trained (``deltaprop export`` against
``deltaprop predict``), and for scikit-learn pipelines converted by skl2onnx."""

import json
import sys

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.activations import ACTIVATIONS, Activation, Sigmoid
from deltaprop.cli import main
from conftest import read_csv, write_csv

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

#: Every built-in hidden activation (a new one is added here, and exports: see below).
HIDDEN = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "silu",
          "gelu", "gelu_tanh")
#: (output, loss, targets) of the three heads.
HEADS = {"softmax_ce": ("softmax", "cross_entropy"),
         "sigmoid_bce_multilabel": ("sigmoid", "binary_cross_entropy"),
         "identity_regression": ("identity", "mse")}
LAYER_KINDS = {"dropout": {"dropout": 0.3}, "batch_norm": {"norm": "batch"},
               "layer_norm": {"norm": "layer"}}


def session(model):
    onnx.checker.check_model(model, full_check=True)
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def run(model, X):
    s = session(model)
    names = [o.name for o in s.get_outputs()]
    return dict(zip(names, s.run(None, {s.get_inputs()[0].name: X})))


def data(head, rng, n=64):
    X = rng.normal(size=(n, 5)) * 2.0 + 0.5
    if head == "softmax_ce":
        y = np.array(["cat", "dog", "emu"])[rng.integers(0, 3, n)]
    elif head == "sigmoid_bce_multilabel":
        y = (rng.random((n, 3)) < 0.5).astype(np.int64)
    else:
        y = rng.normal(size=(n, 2)) * 10 + 3
    return X, y


def trained(hidden, head, kind, dtype, seed=0):
    rng = np.random.default_rng(seed)
    X, y = data(head, rng)
    output, loss = HEADS[head]
    n_out = 3 if head != "identity_regression" else 2
    net = dp.MLP([5, 8, 6, n_out], activation=hidden, output=output, loss=loss, dtype=dtype,
                 seed=seed, **LAYER_KINDS[kind])
    net.fit(X, y, epochs=3, batch_size=16, verbose=0, seed=seed)
    for layer in net.layers:  # biases away from zero: every term of the graph counts
        if isinstance(layer, dp.Dense):
            layer.b = layer.b + rng.normal(scale=0.3, size=layer.b.shape)
    return net, X.astype(dtype)


def assert_same_predictions(net, outputs, X, tol):
    if net.task == "regression":
        expected = net.predict(X).reshape(len(X), -1)
        np.testing.assert_allclose(outputs["variable"], expected, rtol=tol, atol=tol)
        assert outputs["variable"].dtype == net.dtype
        return
    np.testing.assert_array_equal(outputs["label"], net.predict(X))
    np.testing.assert_allclose(outputs["probabilities"], net.predict_proba(X), rtol=0, atol=tol)
    assert outputs["probabilities"].dtype == net.dtype


def test_every_builtin_hidden_activation_is_tested():
    builtin = {name for name, cls in ACTIVATIONS.items()
               if cls.__module__ == "deltaprop.activations" and cls.elementwise
               and not cls.output_only}
    assert builtin == set(HIDDEN)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", list(LAYER_KINDS))
@pytest.mark.parametrize("head", list(HEADS))
@pytest.mark.parametrize("hidden", HIDDEN)
def test_onnxruntime_equals_predict(hidden, head, kind, dtype):
    net, X = trained(hidden, head, kind, dtype)
    outputs = run(net.to_onnx(), X)
    expected_outputs = {"variable"} if head == "identity_regression" else {"label",
                                                                           "probabilities"}
    assert set(outputs) == expected_outputs
    # float64 graphs compute in float64, but erf (ONNX Runtime has it in float32 only) and
    # the normalisations' ε (a float32 attribute in ONNX: 1e-8 relative at worst)
    tol = 1e-5 if dtype == "float32" or hidden == "gelu" else 1e-8
    assert_same_predictions(net, outputs, X, tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_binary_classifier_with_one_sigmoid_unit_and_integer_labels(dtype, rng):
    X = rng.normal(size=(80, 4))
    y = np.where(X[:, 0] + X[:, 1] ** 2 > 0.5, 7, 3)
    net = dp.MLP([4, 6, 1], activation="tanh", output="sigmoid", loss="binary_cross_entropy",
                 dtype=dtype, seed=1, task="classification")
    net.fit(X, y, epochs=5, verbose=0)
    outputs = run(net.to_onnx(), X.astype(dtype))
    assert outputs["label"].dtype == np.int64 and set(outputs["label"]) <= {3, 7}
    assert outputs["probabilities"].shape == (80, 2)
    assert_same_predictions(net, outputs, X, 1e-5)


def test_float_class_labels_come_back_as_the_same_floats(rng):
    X = rng.normal(size=(40, 3))
    y = rng.integers(0, 3, 40).astype(float) / 2  # 0.0, 0.5, 1.0
    net = dp.MLP([3, 5, 3], output="softmax", loss="cross_entropy", seed=0)
    net.fit(X, y, epochs=2, verbose=0)
    outputs = run(net.to_onnx(), X.astype(np.float32))
    assert outputs["label"].dtype == np.float64
    assert_same_predictions(net, outputs, X, 1e-5)


def test_poisson_regression_with_the_exponential_output(rng):
    X = rng.normal(size=(50, 3))
    y = rng.poisson(np.exp(0.5 * X[:, 0]))
    net = dp.MLP([3, 6, 1], activation="softplus", output="exponential", loss="poisson",
                 dtype="float64", seed=0)
    net.fit(X, y, epochs=3, verbose=0)
    assert_same_predictions(net, run(net.to_onnx(), X), X, 1e-10)


def test_an_activation_layer_after_batch_norm(rng):
    layers = [dp.Dense(4, 6, "identity", dtype="float64", rng=0), dp.BatchNorm(6, dtype="float64"),
              dp.ActivationLayer("silu"), dp.Dense(6, 3, "softmax", dtype="float64", rng=1)]
    net = dp.Sequential(layers, loss="cross_entropy")
    X, y = rng.normal(size=(40, 4)), rng.integers(0, 3, 40)
    net.fit(X, y, epochs=3, batch_size=8, verbose=0)
    assert_same_predictions(net, run(net.to_onnx(), X), X, 1e-10)


def test_recorded_standardisation_and_target_scaling_are_in_the_graph(rng):
    """Raw features in, targets' units out: ``(x - mean) / scale`` before the layers and
    ``y * scale + mean`` after, as ``deltaprop predict`` applies them."""
    X = rng.normal(size=(30, 3)) * [1.0, 100.0, 0.01] + [5.0, -300.0, 0.0]
    net = dp.MLP([3, 4, 1], activation="tanh", dtype="float64", seed=0)
    mean, scale = X.mean(axis=0), X.std(axis=0)
    net.preprocessing_ = {"standardize": {"mean": mean.tolist(), "scale": scale.tolist()}}
    net.data_info_ = {"feature_names": ["a", "b", "c"], "target_name": "price",
                      "target_scaling": {"mean": [250.0], "scale": [40.0]}}
    outputs = run(net.to_onnx(), X)
    expected = net.predict((X - mean) / scale) * 40.0 + 250.0
    np.testing.assert_allclose(outputs["variable"][:, 0], expected, rtol=1e-12)


def test_another_input_stage_takes_named_columns(rng):
    """The extension point for a data contract: an input stage that declares a table's
    columns (a number, a text category) and makes the network's matrix from them (here a
    one-hot encoding that ignores unknown levels, through ai.onnx.ml's LabelEncoder)."""
    levels = ["red", "green"]

    def columns(graph, net):
        size = graph.input("size", graph.elem_type, [None, 1])
        colour = graph.input("colour", graph.TensorProto.STRING, [None, 1])
        onehot = [graph.node("LabelEncoder", [colour], domain="ai.onnx.ml", keys_strings=[level],
                             values_floats=[1.0], default_float=0.0) for level in levels]
        onehot = [graph.node("Cast", [c], to=graph.elem_type) for c in onehot]
        return graph.node("Concat", [size, *onehot], axis=1)

    net = dp.MLP([3, 4, 2], output="softmax", loss="cross_entropy", dtype="float64", seed=0)
    size = rng.normal(size=(6, 1))
    colour = np.array([["red"], ["green"], ["blue"], ["red"], ["green"], ["green"]], dtype=object)
    model = net.to_onnx(inputs=columns)
    assert [i.name for i in model.graph.input] == ["size", "colour"]
    s = session(model)
    label, proba = s.run(None, {"size": size, "colour": colour})
    matrix = np.hstack([size, colour == "red", colour == "green"]).astype(float)
    np.testing.assert_allclose(proba, net.predict_proba(matrix), rtol=1e-12)
    np.testing.assert_array_equal(label, net.predict(matrix))


def test_metadata_names_the_features_the_classes_and_the_version(rng):
    net = dp.MLP([2, 3, 3], output="softmax", loss="cross_entropy", seed=0)
    net.fit(rng.normal(size=(12, 2)), np.array(["a", "b", "c"] * 4), epochs=1, verbose=0)
    net.data_info_ = {"feature_names": ["x1", "x2"]}
    model = net.to_onnx()
    props = {p.key: p.value for p in model.metadata_props}
    assert json.loads(props["feature_names"]) == ["x1", "x2"]
    assert json.loads(props["classes"]) == ["a", "b", "c"]
    assert props["deltaprop_version"] == dp.__version__ and props["task"] == "classification"
    assert model.producer_name == "deltaprop"


def test_to_onnx_writes_the_file_atomically(tmp_path):
    net = dp.MLP([2, 3, 1], seed=0)
    path = tmp_path / "net.onnx"
    model = net.to_onnx(path)
    assert onnx.load(str(path)) == model
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.onnx"]


def test_a_preprocessing_step_without_an_onnx_form_is_an_error():
    net = dp.MLP([2, 3, 1], seed=0)
    net.preprocessing_ = {"log": {}}
    with pytest.raises(ValueError, match="preprocessing step 'log' has no ONNX form"):
        net.to_onnx()


def test_opsets(rng):
    net = dp.MLP([3, 4, 2], norm="layer", seed=0)
    with pytest.raises(ValueError, match="LayerNormalization, which needs opset 17"):
        net.to_onnx(opset=16)
    with pytest.raises(ValueError, match="opset must be between 13"):
        net.to_onnx(opset=12)
    X = rng.normal(size=(5, 3)).astype(np.float32)
    plain = dp.MLP([3, 4, 2], activation="gelu", dropout=0.1, seed=0)
    assert_same_predictions(plain, run(plain.to_onnx(opset=13), X), X, 1e-5)


class Bent(Activation):
    """A new activation, defined here only: ``z + (sqrt(z^2 + 1) - 1) / 2``."""

    name = "bent"

    def forward(self, z, out=None):
        return np.add(z, (np.sqrt(z * z + 1.0) - 1.0) / 2, out=out)

    def derivative(self, z, a):
        return 1.0 + z / (2 * np.sqrt(z * z + 1.0))


class BentExported(Bent):
    def onnx_nodes(self, graph, z):
        root = graph.node("Sqrt", [graph.node("Add", [graph.node("Mul", [z, z]),
                                                      graph.constant(1.0)])])
        half = graph.node("Div", [graph.node("Sub", [root, graph.constant(1.0)]),
                                  graph.constant(2.0)])
        return graph.node("Add", [z, half])


def test_a_new_activation_exports_through_its_own_nodes(rng):
    net = dp.Sequential([dp.Dense(3, 4, BentExported(), dtype="float64", rng=0),
                         dp.Dense(4, 2, "identity", dtype="float64", rng=1)])
    X = rng.normal(size=(10, 3)) * 3
    assert_same_predictions(net, run(net.to_onnx(), X), X, 1e-12)


def test_an_activation_without_nodes_says_so():
    net = dp.Sequential([dp.Dense(3, 4, Bent(), rng=0), dp.Dense(4, 2, rng=1)])
    with pytest.raises(NotImplementedError, match="activation 'bent' has no ONNX form"):
        net.to_onnx()

    class NewSigmoid(Sigmoid):  # new maths: the parent's nodes would be wrong
        def forward(self, z, out=None):
            return super().forward(2 * z, out=out)

    net = dp.Sequential([dp.Dense(3, 4, NewSigmoid(), rng=0), dp.Dense(4, 2, rng=1)])
    with pytest.raises(NotImplementedError, match="has no ONNX form"):
        net.to_onnx()


# -- the command line ---------------------------------------------------------------------------
def test_cli_iris_export_equals_predict(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "iris", "--epochs", "20", "--out", "run", "-q"]) == 0
    assert main(["export", "run/model.npz", "-o", "iris.onnx"]) == 0
    assert "wrote iris.onnx" in capsys.readouterr().err
    X, _ = dp.datasets.load_dataset("iris")
    names = dp.datasets.dataset_info("iris")["feature_names"]
    write_csv("rows.csv", names[::-1], X[:, ::-1].tolist())  # columns matched by name
    assert main(["predict", "run/model.npz", "rows.csv", "--proba", "-o", "pred.csv"]) == 0
    header, rows = read_csv("pred.csv")
    outputs = run(onnx.load("iris.onnx"), X.astype(np.float32))
    assert [str(v) for v in outputs["label"]] == [r[0] for r in rows]
    proba = np.array([r[1:] for r in rows], dtype=float)
    np.testing.assert_allclose(outputs["probabilities"], proba, atol=1e-5)
    props = {p.key: p.value for p in onnx.load("iris.onnx").metadata_props}
    assert json.loads(props["feature_names"]) == names
    assert header[1:] == [f"p_{c}" for c in json.loads(props["classes"])]


def test_cli_regression_export_returns_the_targets_units(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3)) * [1, 10, 100] + [0, 50, -20]
    price = 1000 + 300 * X[:, 0] - 2 * X[:, 1]
    write_csv("houses.csv", ["rooms", "age", "dist", "price"],
              np.column_stack([X, price]).tolist())
    assert main(["train", "houses.csv", "--target", "price", "--epochs", "10", "--out", "run",
                 "-q"]) == 0
    assert main(["export", "run/model.npz"]) == 0  # default: beside the model
    assert main(["predict", "run/model.npz", "houses.csv", "-o", "pred.csv"]) == 0
    _, rows = read_csv("pred.csv")
    predicted = np.array([float(r[0]) for r in rows])
    s = session(onnx.load("run/model.onnx"))  # a CSV model takes its columns by name
    assert [i.name for i in s.get_inputs()] == ["rooms", "age", "dist"]
    feed = {name: X[:, [j]].astype(np.float32) for j, name in enumerate(["rooms", "age", "dist"])}
    outputs = dict(zip(["variable"], s.run(None, feed)))
    assert np.abs(predicted).mean() > 100  # in dollars, not standardised units
    np.testing.assert_allclose(outputs["variable"][:, 0], predicted, rtol=1e-5)


def test_cli_export_never_overwrites_the_model(tmp_path, capsys):
    net = dp.MLP([2, 3, 1], seed=0)
    model = tmp_path / "m.npz"
    net.save(model)
    before = model.read_bytes()
    assert main(["export", str(model), "-o", str(model)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "would overwrite the model" in err[0]
    assert model.read_bytes() == before


def test_cli_export_help_and_errors(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["export", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "usage: deltaprop export" in out and "examples:" in out
    assert main(["export", str(tmp_path / "absent.npz")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    model = tmp_path / "ln.npz"
    dp.MLP([2, 3, 1], norm="layer", seed=0).save(model)
    assert main(["export", str(model), "--opset", "16"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needs opset 17" in err[0]
    assert not (tmp_path / "ln.onnx").exists()


def test_cli_export_without_onnx_names_the_extra(tmp_path, monkeypatch, capsys):
    model = tmp_path / "m.npz"
    dp.MLP([2, 3, 1], seed=0).save(model)
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now fails
    assert main(["export", str(model), "-o", str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [("deltaprop export: error: exporting to ONNX needs the onnx package: "
                    "pip install 'deltaprop[onnx]'")]
    assert not (tmp_path / "m.onnx").exists()


# -- scikit-learn pipelines through skl2onnx ----------------------------------------------------
@pytest.fixture
def skl2onnx():
    skl2onnx = pytest.importorskip("skl2onnx")
    pytest.importorskip("sklearn")
    from deltaprop.export import register_skl2onnx

    register_skl2onnx()
    return skl2onnx


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("labels", ["text", "binary", "multilabel"])
def test_skl2onnx_converts_a_pipeline_with_our_classifier(skl2onnx, labels, rng):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from deltaprop.sklearn import MLPClassifier

    X = rng.normal(size=(90, 4)) * [1, 10, 100, 1000]
    y = {"text": np.array(["no", "maybe", "yes"])[rng.integers(0, 3, 90)],
         "binary": rng.integers(0, 2, 90) * 5,
         "multilabel": (rng.random((90, 3)) < 0.5).astype(int)}[labels]
    pipe = make_pipeline(StandardScaler(), MLPClassifier((8, 6), activation="gelu_tanh",
                                                         max_iter=15, random_state=0))
    pipe.fit(X, y)
    model = skl2onnx.to_onnx(pipe, X[:1].astype(np.float32),
                             options={MLPClassifier: {"zipmap": False}})
    outputs = run(model, X.astype(np.float32))
    assert list(outputs) == ["label", "probabilities"]
    np.testing.assert_array_equal(outputs["label"], pipe.predict(X))
    np.testing.assert_allclose(outputs["probabilities"], pipe.predict_proba(X), atol=1e-5)
    if labels != "multilabel":  # the default: probabilities as one dict per row (ZipMap)
        outputs = run(skl2onnx.to_onnx(pipe, X[:1].astype(np.float32)), X.astype(np.float32))
        first = outputs["output_probability"][0]
        np.testing.assert_allclose([first[c] for c in pipe.classes_],
                                   pipe.predict_proba(X[:1])[0], atol=1e-5)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_skl2onnx_outputs_as_for_scikit_learns_mlp(skl2onnx, rng):
    from sklearn.neural_network import MLPClassifier as SkMLP
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from deltaprop.sklearn import MLPClassifier

    X, y = rng.normal(size=(60, 3)), np.array(["a", "b", "c"])[rng.integers(0, 3, 60)]
    kinds = []
    for est in (SkMLP((5,), max_iter=5, random_state=0), MLPClassifier((5,), max_iter=5,
                                                                      random_state=0)):
        model = skl2onnx.to_onnx(make_pipeline(StandardScaler(), est).fit(X, y),
                                 X[:1].astype(np.float32))
        kinds.append([(o.name, o.type.WhichOneof("value")) for o in model.graph.output])
    assert kinds[0] == kinds[1]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_skl2onnx_converts_a_pipeline_with_our_regressor(skl2onnx, dtype, rng):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from deltaprop.sklearn import MLPRegressor

    X = rng.normal(size=(70, 3))
    y = np.column_stack([500 + 80 * X[:, 0], -3 * X[:, 1] ** 2])
    pipe = make_pipeline(StandardScaler(), MLPRegressor((8,), activation="elu", max_iter=20,
                                                       random_state=0)).fit(X, y)
    outputs = run(skl2onnx.to_onnx(pipe, X[:1].astype(dtype)), X.astype(dtype))
    assert list(outputs) == ["variable"] and outputs["variable"].dtype == dtype
    np.testing.assert_allclose(outputs["variable"], pipe.predict(X), rtol=1e-5, atol=1e-4)


def test_a_network_on_a_device_exports_from_host_copies(rng):
    """The strict device's arrays refuse to meet host arrays, as a GPU's do."""
    net = dp.MLP([3, 5, 2], norm="batch", output="softmax", loss="cross_entropy",
                 device="strict", seed=0)
    X = rng.normal(size=(20, 3))
    net.fit(X, np.arange(20) % 2, epochs=2, verbose=0)
    assert_same_predictions(net, run(net.to_onnx(), X.astype(np.float32)), X, 1e-5)
