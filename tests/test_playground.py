"""The playground: its engine, and its server's API through Starlette's test client."""

import base64
import json
import warnings

import numpy as np
import pytest

import deltaprop as dp

pytest.importorskip("starlette", reason="the playground extra is not installed")
pytest.importorskip("httpx", reason="Starlette's test client needs httpx")

with warnings.catch_warnings():  # Starlette 1.x would prefer httpx2, not yet everywhere
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from deltaprop.playground.cli import allowed_hosts, url_for
from deltaprop.playground.engine import (
    DEFAULTS,
    FEATURES,
    GRID,
    LIMITS,
    NEURON_GRID,
    ConfigError,
    Engine,
    check_config,
)
from deltaprop.playground.server import MAX_MESSAGE, create_app

TOKEN = "test-token-123"


@pytest.fixture
def client():
    app = create_app(TOKEN, ["testserver"])
    with TestClient(app) as c:
        c.app_guard = app
        yield c


def ws_connect(client, token=TOKEN, headers=None):
    return client.websocket_connect(f"/ws?token={token}", headers=dict(headers or {}))


def ask(ws, msg, n=1):
    ws.send_text(json.dumps(msg) if not isinstance(msg, str) else msg)
    return [ws.receive_json() for _ in range(n)]


def hello(ws):
    config, data, frame = ask(ws, {"op": "hello"}, 3)
    assert (config["type"], data["type"], frame["type"]) == ("config", "data", "frame")
    return config, data, frame


# -- security: token, Host, Origin --------------------------------------------------------

def test_page_needs_the_token_and_this_host(client):
    r = client.get(f"/?token={TOKEN}")
    assert r.status_code == 200 and f"static/app.js?token={TOKEN}" in r.text
    assert "__TOKEN__" not in r.text
    assert client.get("/").status_code == 403
    assert client.get("/?token=wrong").status_code == 403
    assert client.get(f"/?token={TOKEN}x").status_code == 403
    r = client.get(f"/?token={TOKEN}", headers={"host": "evil.example:80"})
    assert r.status_code == 400 and "answers only" in r.text
    js = client.get(f"/static/app.js?token={TOKEN}")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert client.get("/static/app.js").status_code == 403
    for bad in ("../server.py", "..%2Fserver.py", ".hidden.js", "server.py", "nothere.js"):
        assert client.get(f"/static/{bad}?token={TOKEN}").status_code == 404, bad


def test_websocket_needs_the_token_this_host_and_origin(client):
    for token, headers in (("wrong", None), ("", None),
                           (TOKEN, {"host": "evil.example"}),
                           (TOKEN, {"origin": "http://evil.example"})):
        with pytest.raises(WebSocketDisconnect) as exc, ws_connect(client, token, headers) as ws:
            ws.receive_json()
        assert exc.value.code == 1008
    with ws_connect(client, headers={"origin": "http://testserver"}) as ws:
        hello(ws)


def test_allowed_hosts_and_url():
    assert allowed_hosts("127.0.0.1", 8123) == ["127.0.0.1:8123", "localhost:8123"]
    assert allowed_hosts("10.0.0.5", 80) == ["10.0.0.5:80"]
    assert url_for("127.0.0.1", 8123, "abc") == "http://127.0.0.1:8123/?token=abc"


# -- the controls --------------------------------------------------------------------------

def test_hello_sends_the_setup_the_data_and_a_frame(client):
    with ws_connect(client) as ws:
        config, data, frame = hello(ws)
    assert config["config"] == DEFAULTS
    sizes = [len(DEFAULTS["features"]), *DEFAULTS["hidden"], 1]
    assert data["sizes"] == sizes
    n_train = len(data["train"]["P"])
    assert n_train == DEFAULTS["n_points"] * DEFAULTS["train_ratio"] // 100
    assert len(data["test"]["P"]) == DEFAULTS["n_points"] - n_train
    assert len(base64.b64decode(frame["boundary"])) == GRID * GRID
    assert [len(layer) for layer in frame["neurons"]] == sizes
    assert all(len(base64.b64decode(b)) == NEURON_GRID ** 2 for layer in frame["neurons"]
               for b in layer)
    assert [np.shape(W) for W in frame["weights"]] == list(zip(sizes, sizes[1:]))
    assert len(frame["grad_norm"]) == len(sizes) - 1


# a valid value, different from the default, for every setting
NEW_VALUES = {"dataset": "xor", "noise": 20, "train_ratio": 70, "n_points": 300,
              "batch_size": 30, "features": ["x1", "x2", "x1x2"], "hidden": [8, 8, 8, 8, 8, 8],
              "activation": "relu", "lr": 0.1, "regularization": "l2", "reg_rate": 0.01,
              "optimizer": "momentum", "schedule": "step_decay", "dropout": 0.2,
              "norm": "batch", "seed": 7, "steps_per_update": 3, "notation": "hagan"}


def test_every_setting_is_applied(client):
    assert set(NEW_VALUES) == set(LIMITS)
    with ws_connect(client) as ws:
        hello(ws)
        for name, value in NEW_VALUES.items():
            ws.send_text(json.dumps({"op": "config", "set": {name: value}}))
            config = ws.receive_json()
            assert config["type"] == "config" and config["config"][name] == value, name
            answer = ws.receive_json()
            if answer["type"] == "data":  # a new data set or network: the run restarts
                answer = ws.receive_json()
            assert answer["type"] == "frame", (name, answer)
        engine = next(iter(client.app_guard.sessions)).engine
        assert engine.net.layer_sizes == [3, 8, 8, 8, 8, 8, 8, 1]
        assert engine.net.l2 == 0.01 and engine.optimizer.name == "momentum"
        assert any(layer.kind == "dropout" for layer in engine.net.layers)
        assert any(layer.kind == "batch_norm" for layer in engine.net.layers)
        ask(ws, {"op": "play"})
        frame = ask(ws, {"op": "tick"})[0]
        assert frame["step"] == 3  # steps_per_update


@pytest.mark.parametrize("changes, words", [
    ({"hidden": [8] * 7}, "at most 6"),
    ({"hidden": [9]}, "1 to 8 units"),
    ({"hidden": [0]}, "1 to 8 units"),
    ({"hidden": "8,8"}, "list"),
    ({"features": []}, "non-empty"),
    ({"features": ["x3"]}, "unknown feature"),
    ({"n_points": 100000}, "n_points must be in"),
    ({"steps_per_update": 1000}, "steps_per_update must be in"),
    ({"batch_size": 0}, "batch_size must be in"),
    ({"lr": "fast"}, "lr must be a number"),
    ({"lr": float("nan")}, "lr must be in"),
    ({"lr": True}, "lr must be a number"),
    ({"noise": 2.5}, "integer"),
    ({"dataset": "mnist"}, "dataset must be one of"),
    ({"eval": "os.system('x')"}, "unknown setting"),
])
def test_limits_are_refused_and_the_session_goes_on(client, changes, words):
    with ws_connect(client) as ws:
        hello(ws)
        text = json.dumps({"op": "config", "set": changes})  # NaN goes out as NaN
        error = ask(ws, text)[0]
        assert error["type"] == "error" and words in error["message"], error
        config, _, frame = hello(ws)
        assert config["config"] == DEFAULTS and frame["type"] == "frame"


@pytest.mark.parametrize("message, words", [
    ("not json", "not valid JSON"),
    ("[1, 2]", "JSON object"),
    ('{"op": 3}', "JSON object"),
    ('{"nop": "hello"}', "JSON object"),
    ('{"op": "__class__"}', "unknown op"),
    ('{"op": "hello.__init__"}', "unknown op"),
    ('{"op": "config", "set": [1]}', "object of settings"),
    ('{"op": "explain", "index": 100000}', "index must be"),
    ('{"op": "explain", "index": "0"}', "index must be"),
    ('{"op": "explain", "index": 0, "split": "all"}', "split must be"),
    ('{"op": "explain", "index": 0, "notation": "mine"}', "notation must be"),
    ('{"op": "export", "what": "/etc/passwd"}', "what must be"),
    ("{" + '"op": "hello", "pad": "' + "x" * MAX_MESSAGE + '"}', "refused"),
])
def test_bad_and_hostile_messages_get_an_error(client, message, words):
    with ws_connect(client) as ws:
        error = ask(ws, message)[0]
        assert error["type"] == "error" and words in error["message"], error
        hello(ws)


def test_a_failing_request_does_not_end_the_session(client, monkeypatch):
    with ws_connect(client) as ws:
        hello(ws)
        engine = next(iter(client.app_guard.sessions)).engine
        monkeypatch.setattr(engine, "frame", lambda: 1 / 0)
        error = ask(ws, {"op": "step"})[0]
        assert error["type"] == "error" and "ZeroDivisionError" in error["message"]
        monkeypatch.undo()
        assert ask(ws, {"op": "step"})[0]["step"] == 2


def test_binary_messages_get_an_error(client):
    with ws_connect(client) as ws:
        ws.send_bytes(b"\x00\x01")
        assert "binary" in ws.receive_json()["message"]
        hello(ws)


def test_play_pause_step_reset(client):
    with ws_connect(client) as ws:
        _, _, frame = hello(ws)
        first = frame["train_loss"]
        assert ask(ws, {"op": "tick"})[0]["step"] == 0  # paused: a tick trains nothing
        assert ask(ws, {"op": "step"})[0]["step"] == 1
        assert ask(ws, {"op": "play"})[0] == {"type": "state", "playing": True}
        for _ in range(30):
            frame = ask(ws, {"op": "tick"})[0]
        assert frame["step"] == 1 + 30 * DEFAULTS["steps_per_update"]
        assert frame["train_loss"] < first
        assert ask(ws, {"op": "pause"})[0]["playing"] is False
        assert ask(ws, {"op": "tick"})[0]["step"] == frame["step"]
        state, data, frame = ask(ws, {"op": "reset"}, 3)
        assert (state["playing"], frame["step"], frame["train_loss"]) == (False, 0, first)
        assert data["history"]["step"] == [0]


def test_explain_gives_the_engines_trace_with_tagged_numbers(client):
    with ws_connect(client) as ws:
        hello(ws)
        ask(ws, {"op": "play"})
        for _ in range(5):
            ask(ws, {"op": "tick"})
        ask(ws, {"op": "pause"})
        trace = ask(ws, {"op": "explain", "split": "test", "index": 4,
                         "notation": "nielsen"})[0]
        engine = next(iter(client.app_guard.sessions)).engine
        ref = dp.explain(engine.net, engine.X_test[4:5], engine.T_test[4:5])
        assert trace["J"] == ref.J and trace["notation"] == "nielsen"
        assert trace["point"] == engine.P_test[4].tolist()
        html = trace["html"]
        W1 = ref.layers[0].W  # (n_in, n_out): the cell of input i, unit j is data-w="1:i:j"
        assert f'data-w="1:1:3" data-v="{float(W1[1, 3])!r}"' in html
        gW2 = ref.layers[1].grad_W
        assert f'data-w="2:3:1" data-v="{float(gW2[3, 1])!r}"' in html
        z1 = ref.layers[0].z[0]
        assert f'data-u="1:2" data-v="{float(z1[2])!r}"' in html
        assert "<script" not in html


def test_export_model_and_trace(client, tmp_path):
    with ws_connect(client) as ws:
        hello(ws)
        ask(ws, {"op": "config", "set": {"dataset": "plane", "hidden": [3]}}, 3)
        ask(ws, {"op": "play"})
        ask(ws, {"op": "tick"})
        f = ask(ws, {"op": "export", "what": "model"})[0]
        assert f["type"] == "file" and f["name"].endswith(".npz")
        path = tmp_path / f["name"]
        path.write_bytes(base64.b64decode(f["b64"]))
        net = dp.load(path)
        engine = next(iter(client.app_guard.sessions)).engine
        np.testing.assert_array_equal(net.predict(engine.X_test), engine.net.predict(engine.X_test))
        assert net.data_info_["feature_names"] == ["x1", "x2"]
        assert net.data_info_["source"].startswith("playground:")
        md = ask(ws, {"op": "export", "what": "markdown", "split": "train", "index": 0})[0]
        assert "Backward step" in base64.b64decode(md["b64"]).decode()
        tex = ask(ws, {"op": "export", "what": "latex", "split": "train", "index": 0})[0]
        assert base64.b64decode(tex["b64"]).decode().startswith("\\documentclass")
    assert list(tmp_path.iterdir()) == [path]  # the server wrote nothing here


# -- the engine ----------------------------------------------------------------------------

def test_check_config_names_the_setting():
    with pytest.raises(ConfigError, match="reg_rate must be in"):
        check_config({"reg_rate": -1})
    assert check_config({"features": ["x2", "x1", "x2"]})["features"] == ["x1", "x2"]


@pytest.mark.parametrize("dataset", ["circle", "xor", "gauss", "spiral", "plane", "reg_gauss"])
def test_every_data_set_trains(dataset):
    e = Engine({"dataset": dataset, "hidden": [6, 6], "features": list(FEATURES)[:5]})
    before = e.frame()["train_loss"]
    e.step(150)
    assert e.frame()["train_loss"] < before
    assert np.abs(e.P_train).max() <= 6.0


def test_l1_term_matches_finite_differences():
    """The core has the L2 term; the playground adds L1: λ₁ sign(W) in the gradient."""
    e = Engine({"regularization": "l1", "reg_rate": 0.05, "hidden": [3]})
    e.step(5)
    e.training_sweep()  # the gradient of the whole training objective, L1 included
    grad = e.net.store.grad.copy()
    data = e.net.store.data
    eps, numeric = 1e-6, np.empty_like(grad)
    for i in range(len(data)):
        old = data[i]
        data[i] = old + eps
        up = e.objective(e.X_train, e.T_train)
        data[i] = old - eps
        down = e.objective(e.X_train, e.T_train)
        data[i] = old
        numeric[i] = (up - down) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)
    assert e.l1 == 0.05 and e.net.l2 == 0.0


def test_gradient_flow_shows_vanishing_gradients_and_dead_units():
    e = Engine({"hidden": [8] * 6, "activation": "sigmoid", "optimizer": "sgd"})
    g = e.frame()["grad_norm"]
    assert g[0] < g[-1] / 100  # a deep sigmoid network: the first layer learns slowly
    e = Engine({"hidden": [4, 4], "activation": "relu"})
    e.dense_layers()[1].b[:2] = -1e3  # two units of layer 2 never active
    dead = e.frame()["dead"]
    assert dead == [[False] * 4, [True, True, False, False]]


def test_a_diverging_run_stops_with_a_message():
    e = Engine({"dataset": "plane", "optimizer": "sgd", "lr": 10.0, "activation": "identity",
                "hidden": [8, 8, 8, 8, 8, 8], "features": list(FEATURES)})
    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        e.step(100)
    assert e.playing is False


def test_cli_registers_playground(capsys):
    from deltaprop.cli import main
    assert main(["playground", "--port", "70000", "--no-browser"]) == 2
    assert "--port must be in 0..65535" in capsys.readouterr().err
