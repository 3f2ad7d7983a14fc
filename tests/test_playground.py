"""The playground: its engine, and its server's API through Starlette's test client."""

import base64
import json
import socket
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

from deltaprop.playground.cli import allowed_hosts, every_interface, url_for
from deltaprop.playground.engine import (
    ACTIVATIONS,
    DEFAULTS,
    FEATURES,
    GRID,
    LIMITS,
    NEURON_GRID,
    ConfigError,
    Engine,
    check_config,
)
from deltaprop.playground.server import (
    MAX_DEPTH,
    MAX_MESSAGE,
    Session,
    create_app,
    static_files,
)

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
              "norm": "batch", "seed": 7, "init_seed": 2, "steps_per_update": 3,
              "notation": "hagan"}


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
        state, config, data, frame = ask(ws, {"op": "reset"}, 4)
        assert (state["playing"], frame["step"]) == (False, 0)
        assert config["config"]["init_seed"] == 1  # a new draw of the weights ...
        assert frame["train_loss"] != first
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


# -- hostile messages: nesting, huge numbers, sizes in bytes (issue 26) -------------------

def test_a_deeply_nested_message_gets_the_error_reply(client):
    deep = '{"op": "hello", "x": ' + "[" * 3000 + "]" * 3000 + "}"
    assert len(deep.encode()) < MAX_MESSAGE
    with ws_connect(client) as ws:
        error = ask(ws, deep)[0]
        assert error["type"] == "error" and "nested 3001 deep" in error["message"], error
        hello(ws)  # the session goes on
        # brackets inside a string are text, not nesting
        assert ask(ws, '{"op": "step", "pad": "' + "[" * 3000 + '"}')[0]["type"] == "frame"
        at_limit = '{"op": "step", "x": ' + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "}"
        assert ask(ws, at_limit)[0]["type"] == "frame"


@pytest.mark.parametrize("text, words", [
    ('{"op": "config", "set": {"seed": 1' + "0" * 400 + "}}", "seed must be in [0, 2147483647]"),
    ('{"op": "config", "set": {"seed": -1' + "0" * 400 + "}}", "seed must be in [0, 2147483647]"),
    ('{"op": "config", "set": {"hidden": [1' + "0" * 400 + "]}}", "1 to 8 units"),
    ('{"op": "config", "set": {"lr": 1e400}}', "lr must be in"),
    ('{"op": "explain", "index": 1' + "0" * 400 + "}", "index must be"),
    ('{"op": "config", "set": {"seed": 1' + "0" * 5000 + "}}", "a number of 5001 digits"),
    ('{"op": "config", "set": {"' + "n" * 5000 + '": 1}}', "unknown setting"),
], ids=["seed", "negative-seed", "hidden", "lr", "index", "5001-digits", "long-name"])
def test_huge_numbers_and_names_get_a_short_message_naming_the_setting(client, text, words):
    with ws_connect(client) as ws:
        error = ask(ws, text)[0]
    message = error["message"]
    assert error["type"] == "error" and words in message, message
    assert "Overflow" not in message and "failed" not in message and len(message) < 300, message


def test_the_message_limit_counts_bytes_as_it_says():
    text = '{"op": "hello", "pad": "' + "€" * 6000 + '"}'  # 6,026 characters, 18,026 bytes
    assert len(text) < MAX_MESSAGE < len(text.encode())
    answers = Session().handle(text)
    assert answers == [{"type": "error", "message": f"message of {len(text.encode())} bytes "
                        f"refused (at most {MAX_MESSAGE} bytes of UTF-8)"}]
    fits = '{"op": "hello", "pad": "' + "x" * (MAX_MESSAGE - 26) + '"}'
    assert len(fits.encode()) == MAX_MESSAGE
    assert [a["type"] for a in Session().handle(fits)] == ["config", "data", "frame"]


@pytest.mark.parametrize("name", ["a" * 256 + ".js", "a" * 5000, "app.js%00", "APP.JS",
                                  "app.js.", "%2e%2e%2fserver.py", "index.html%2f..",
                                  "__init__.py", "style.css~"])
def test_any_other_static_name_is_404(client, name):
    assert client.get(f"/static/{name}?token={TOKEN}").status_code == 404
    assert client.get(f"/static/{name}").status_code == 403  # the token still comes first


def test_static_files_are_the_folders_own():
    assert static_files() == {"app.js", "index.html", "style.css"}


# -- listening on every interface ---------------------------------------------------------

@pytest.mark.parametrize("host", ["0.0.0.0", "", "::"])
def test_every_interface_warns_in_one_line_and_prints_an_address_that_works(host, capsys):
    import http.client
    import socket
    import threading
    import time
    import urllib.request

    pytest.importorskip("uvicorn")
    if host == "::":
        try:
            socket.socket(socket.AF_INET6, socket.SOCK_STREAM).close()
        except OSError:
            pytest.skip("no IPv6 on this machine")
    from deltaprop.playground.cli import serve

    box = {}
    thread = threading.Thread(target=serve, daemon=True, kwargs={
        "host": host, "port": 0, "ready": lambda srv, url: box.update(server=srv, url=url)})
    thread.start()
    deadline = time.monotonic() + 20
    while "url" not in box or not box["server"].started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.02)
    try:
        url = box["url"]
        port = int(url.split("]:" if "]" in url else ":")[-1].split("/")[0])
        assert "http://:" not in url and url.startswith(("http://127.0.0.1:", "http://[::1]:"))
        with urllib.request.urlopen(url, timeout=10) as r:  # the printed address works
            assert r.status == 200 and "deltaprop playground" in r.read().decode()
        query = url.split("/", 3)[3]

        def status(host_header):
            c = http.client.HTTPConnection("127.0.0.1" if host != "::" else "::1", port,
                                           timeout=10)
            c.request("GET", "/" + query, headers={"Host": host_header})
            return c.getresponse().status

        # another machine reaches it by this machine's address: any IP address on the port
        assert status(f"192.0.2.7:{port}") == 200
        assert status(f"[2001:db8::7]:{port}") == 200
        assert status(f"localhost:{port}") == 200
        # a DNS name of someone else's (rebinding), another port, a malformed address: no
        assert status(f"evil.example:{port}") == 400
        assert status(f"192.0.2.7:{port + 1}") == 400
        assert status(f"2001:db8::7:{port}") == 400
    finally:
        box["server"].should_exit = True
        thread.join(10)
    out, err = capsys.readouterr()
    warning = [line for line in err.splitlines() if "warning" in line]
    assert len(warning) == 1 and err.strip() == warning[0]
    assert warning[0].startswith("deltaprop playground: warning: listening on every network "
                                 "interface") and "reachable from other machines" in warning[0]
    assert f"deltaprop playground: {url}" in out.splitlines()


def test_the_loopback_address_does_not_warn_and_stays_strict():
    assert allowed_hosts("0.0.0.0", 80) == sorted(
        f"{h}:80" for h in {"127.0.0.1", "localhost", "[::1]", socket.gethostname().lower()})
    assert url_for("0.0.0.0", 80, "t") == url_for("", 80, "t") == "http://127.0.0.1:80/?token=t"
    assert url_for("::", 80, "t") == "http://[::1]:80/?token=t"
    assert every_interface("0.0.0.0") and every_interface("") and every_interface("::")
    assert not every_interface("127.0.0.1") and not every_interface("10.0.0.5")
    app = create_app(TOKEN, allowed_hosts("127.0.0.1", 8000))
    with TestClient(app) as c:  # listening on loopback: an IP address is not enough
        assert c.get(f"/?token={TOKEN}", headers={"host": "192.0.2.7:8000"}).status_code == 400


def test_every_interface_checks_origin_against_the_pages_own_address():
    app = create_app(TOKEN, allowed_hosts("0.0.0.0", 8000), any_ip_port=8000)
    with TestClient(app) as c:
        here = {"host": "192.0.2.7:8000"}
        with ws_connect(c, headers={**here, "origin": "http://192.0.2.7:8000"}) as ws:
            hello(ws)
        for headers in ({**here, "origin": "http://evil.example"},
                        {**here, "origin": "http://192.0.2.8:8000"},  # another machine's page
                        {"host": "evil.example:8000"},
                        {"host": "192.0.2.7:8001"}):
            with pytest.raises(WebSocketDisconnect) as exc, ws_connect(c, TOKEN, headers) as ws:
                ws.receive_json()
            assert exc.value.code == 1008, headers
        with pytest.raises(WebSocketDisconnect), ws_connect(c, "wrong", here) as ws:
            ws.receive_json()


# -- the default set-up trains, Reset draws new weights ----------------------------------

@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_the_default_setup_trains_with_every_activation(activation):
    """Circle, 4-2, seed 0, 300 steps: the loss falls well below log 2 = 0.693. With ReLU
    one of the two second-layer units used to be dead from the start (and the other died
    soon after: the loss stayed at 0.693)."""
    changes = {"activation": activation}
    e = Engine(changes)
    assert e.frame()["dead"] == [[False] * 4, [False] * 2]
    if activation == "identity":  # a linear network: a straight boundary, the page says so
        assert "straight line" in e.points()["hint"]
        changes["features"] = ["x1", "x2", "x1^2", "x2^2"]
        e = Engine(changes)
    assert e.points()["hint"] is None
    first = e.frame()["train_loss"]
    e.step(300)
    last = e.frame()["train_loss"]
    assert last < 0.15 and last < first / 4, (activation, first, last)


def test_dead_units_are_drawn_again_from_the_seed():
    e = Engine({"activation": "relu"})
    W = [layer.W.copy() for layer in e.dense_layers()]
    again = Engine({"activation": "relu"})  # the same set-up gives the same network
    for a, b in zip(W, (layer.W for layer in again.dense_layers())):
        np.testing.assert_array_equal(a, b)
    plain = dp.MLP([2, 4, 2, 1], activation="relu", output="sigmoid", dtype="float64",
                   seed=0)  # the draw as it was: unit 1 of layer 2 dead on every point
    np.testing.assert_array_equal(W[0], plain.layers[0].W)  # layer 1 had no dead unit
    assert not np.array_equal(W[1], plain.layers[1].W)
    tanh = Engine()  # nothing is ever dead with tanh: the weights are the seed's own
    ref = dp.MLP([2, 4, 2, 1], activation="tanh", output="sigmoid", dtype="float64", seed=0)
    for a, b in zip(tanh.dense_layers(), ref.layers):
        np.testing.assert_array_equal(a.W, b.W)


def test_relu_units_are_not_switched_off_by_a_confident_first_prediction():
    """With ReLU the output layer starts at zero (p = 0.5 on every point), so that the first
    steps do not drive the hidden units off: these six of the first 30 *Reset* draws of
    the default set-up ended with dead units or above a loss of 0.2 after 1,500 steps
    (Adam, η = 0.03) when the output weights were drawn at random."""
    for draw in (4, 7, 19, 22, 23, 29):
        e = Engine({"activation": "relu", "init_seed": draw})
        assert not e.dense_layers()[-1].W.any()
        assert e.frame()["train_loss"] == pytest.approx(np.log(2), abs=1e-12)
        e.step(1500)
        loss, _, dead = e.training_sweep()
        assert loss < 0.2, (draw, loss, dead)
    hidden = Engine({"activation": "relu"}).dense_layers()[:-1]  # the rest as drawn before
    again = Engine({"activation": "relu"}).dense_layers()[:-1]
    for a, b in zip(hidden, again):
        assert a.W.any() and np.array_equal(a.W, b.W)


def test_reset_draws_new_weights_and_keeps_the_data(client):
    with ws_connect(client) as ws:
        _, data, frame = hello(ws)
        ask(ws, {"op": "step"})
        seen = [frame["weights"]]
        for draw in (1, 2):
            _, config, again, frame = ask(ws, {"op": "reset"}, 4)
            assert config["config"]["init_seed"] == draw
            assert config["config"]["seed"] == DEFAULTS["seed"]
            assert again["train"] == data["train"] and again["test"] == data["test"]
            assert frame["step"] == 0 and all(frame["weights"] != w for w in seen)
            seen.append(frame["weights"])
    # the draw is in the set-up (and the page's address): the same draw again
    np.testing.assert_array_equal(Engine({"init_seed": 2}).dense_layers()[0].W,
                                  np.array(seen[-1][0]))
