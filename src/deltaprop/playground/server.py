"""The playground's web server: a Starlette app with one WebSocket per page.

``create_app(token, allowed_hosts)`` builds it; :mod:`.cli` serves it with uvicorn on the
loopback address. Every request, page, static file and WebSocket, must carry the
session's token (``?token=...``, compared in constant time) and a ``Host`` header naming
this server (so that a web page cannot reach it through a DNS name of its own); a
WebSocket's ``Origin``, when the browser sends one, must be this server too.

The protocol: the page sends JSON objects ``{"op": ...}`` and the server answers with
JSON objects ``{"type": ...}``:

===========  ==============================================  ==========================
op           fields                                          answers
===========  ==============================================  ==========================
config       ``set``: settings (see ``engine.LIMITS``)        config, (data), frame
play/pause                                                   state
tick         (trains ``steps_per_update`` steps if playing)  frame
step         one mini-batch step                             frame
reset        new initial weights, same set-up                data, frame
explain      ``split``, ``index``, ``notation``              trace
export       ``what``: model, markdown or latex (+ sample)   file (base64 content)
===========  ==============================================  ==========================

A bad message gets ``{"type": "error", "message": ...}`` and the session goes on.
"""

from __future__ import annotations

import base64
import json
import secrets
from importlib import resources
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from .engine import DEFAULTS, FEATURE_LABELS, LIMITS, ConfigError, Engine
from .render import trace_html

__all__ = ["MAX_MESSAGE", "MAX_SESSIONS", "WS_MAX_SIZE", "create_app", "new_token"]

#: The largest message the server reads (bytes; a longer one, up to WS_MAX_SIZE, gets an
#: error reply; beyond that the WebSocket layer closes the connection), and the most pages
#: at once.
MAX_MESSAGE = 16 * 1024
WS_MAX_SIZE = 1024 * 1024
MAX_SESSIONS = 8

STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html",
                ".png": "image/png", ".svg": "image/svg+xml", ".txt": "text/plain"}


def new_token():
    """A random per-session token (as Jupyter's)."""
    return secrets.token_urlsafe(24)


def _static(name):
    return resources.files("deltaprop.playground").joinpath("static").joinpath(name)


class Guard:
    """ASGI middleware: the token and the Host header on every request and WebSocket."""

    def __init__(self, app, token, allowed_hosts):
        self.app, self.token = app, token
        self.allowed_hosts = {h.lower() for h in allowed_hosts}

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        host = headers.get("host", "").lower()
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given = query.get("token", [""])[0] or headers.get("x-deltaprop-token", "")
        problem = None
        if host not in self.allowed_hosts:
            problem = (400, ("this server answers only requests addressed to "
                             + ", ".join(sorted(self.allowed_hosts))))
        elif not secrets.compare_digest(given.encode(), self.token.encode()):
            problem = (403, ("a valid token is needed: open the address that "
                             "`deltaprop playground` printed"))
        elif scope["type"] == "websocket" and "origin" in headers and \
                headers["origin"].lower() not in {f"http://{h}" for h in self.allowed_hosts}:
            problem = (403, "WebSocket from a foreign origin refused")
        if problem is None:
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008, "reason": problem[1][:120]})
            return
        await PlainTextResponse(problem[1], status_code=problem[0])(scope, receive, send)


def _error(message):
    return {"type": "error", "message": str(message)}


class Session:
    """One page: its engine, and the answer to each message."""

    def __init__(self):
        self.engine = Engine()

    def handle(self, text):
        """The answers (a list of dicts) to one message ``text``."""
        if len(text) > MAX_MESSAGE:
            return [_error(f"message of {len(text)} bytes refused (at most {MAX_MESSAGE})")]
        try:
            msg = json.loads(text)
        except ValueError:
            return [_error("message is not valid JSON")]
        if not isinstance(msg, dict) or not isinstance(msg.get("op"), str):
            return [_error('a message is a JSON object with an "op" field')]
        op = msg["op"]
        handler = getattr(self, "op_" + op, None) if op.isidentifier() else None
        if handler is None:
            return [_error(f"unknown op {op[:40]!r}; valid ops: " + ", ".join(
                n[3:] for n in dir(self) if n.startswith("op_")))]
        try:
            return handler(msg)
        except (ConfigError, FloatingPointError) as exc:
            return [_error(exc)]
        except (ValueError, TypeError) as exc:  # from the core's own checks
            return [_error(f"{op}: {exc}")]
        except Exception as exc:  # noqa: BLE001 - a page must outlive one failed request
            return [_error(f"{op} failed: {type(exc).__name__}: {exc}")]

    def config_message(self):
        return {"type": "config", "config": self.engine.config, "defaults": DEFAULTS,
                "limits": {k: list(v[1:]) for k, v in LIMITS.items()},
                "feature_labels": FEATURE_LABELS}

    def op_hello(self, msg):
        return [self.config_message(), self.engine.points(), self.engine.frame()]

    def op_config(self, msg):
        changes = msg.get("set")
        restarted = self.engine.update(changes)
        out = [self.config_message()]
        if restarted:
            out.append(self.engine.points())
        out.append(self.engine.frame())
        return out

    def op_play(self, msg):
        self.engine.playing = True
        return [{"type": "state", "playing": True}]

    def op_pause(self, msg):
        self.engine.playing = False
        return [{"type": "state", "playing": False}]

    def op_tick(self, msg):
        if self.engine.playing:
            self.engine.step(self.engine.config["steps_per_update"])
        return [self.engine.frame()]

    def op_step(self, msg):
        self.engine.step(1)
        return [self.engine.frame()]

    def op_reset(self, msg):
        self.engine.playing = False
        self.engine.restart()
        return [{"type": "state", "playing": False}, self.engine.points(), self.engine.frame()]

    def _sample(self, msg):
        split, index = msg.get("split", "train"), msg.get("index")
        notation = msg.get("notation")
        trace = self.engine.trace(split, index, notation)
        return split, index, notation or self.engine.config["notation"], trace

    def op_explain(self, msg):
        split, index, notation, trace = self._sample(msg)
        _, _, point = self.engine.sample(split, index)
        return [{"type": "trace", "split": split, "index": index, "notation": notation,
                 "point": point.tolist(), "J": trace.J, "step": self.engine.steps,
                 "html": trace_html(trace, notation)}]

    def op_export(self, msg):
        what = msg.get("what")
        if what == "model":
            data, name, mime = self.engine.model_bytes(), "playground-model.npz", \
                "application/octet-stream"
        elif what in ("markdown", "latex"):
            split, index, notation, trace = self._sample(msg)
            if what == "markdown":
                text, name = trace.to_markdown(notation), f"trace-{split}-{index}.md"
            else:
                text, name = trace.to_latex(notation, standalone=True), \
                    f"trace-{split}-{index}.tex"
            data, mime = text.encode("utf-8"), "text/plain"
        else:
            return [_error(f"export: what must be model, markdown or latex; got {what!r}")]
        return [{"type": "file", "name": name, "mime": mime,
                 "b64": base64.b64encode(data).decode("ascii")}]


def create_app(token, allowed_hosts):
    """The playground's ASGI app; ``allowed_hosts`` are the ``Host`` headers accepted
    (``"127.0.0.1:8765"``, ``"localhost:8765"``)."""
    sessions = set()

    async def index(request):
        page = _static("index.html").read_text(encoding="utf-8")
        return HTMLResponse(page.replace("__TOKEN__", token),
                            headers={"Cache-Control": "no-store",
                                     "Referrer-Policy": "no-referrer",
                                     "X-Frame-Options": "DENY"})

    async def static(request):
        name = request.path_params["name"]
        suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ""
        if "/" in name or "\\" in name or name.startswith(".") or suffix not in STATIC_TYPES:
            return PlainTextResponse("not found", status_code=404)
        f = _static(name)
        if not f.is_file():
            return PlainTextResponse("not found", status_code=404)
        return Response(f.read_bytes(), media_type=STATIC_TYPES[suffix],
                        headers={"Cache-Control": "no-store"})

    async def socket(ws: WebSocket):
        await ws.accept()
        if len(sessions) >= MAX_SESSIONS:
            await ws.send_json(_error(f"at most {MAX_SESSIONS} pages at once; close one"))
            await ws.close(code=1013)
            return
        session = Session()
        sessions.add(session)
        try:
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is None:
                    answers = [_error("binary messages are not understood; send JSON text")]
                else:
                    answers = session.handle(text)
                for answer in answers:
                    try:
                        out = json.dumps(answer, allow_nan=False)
                    except ValueError:  # a NaN or an infinity: the weights diverged
                        out = json.dumps(_error("the numbers are no longer finite "
                                                "(lower the learning rate and reset)"))
                    await ws.send_text(out)
        except WebSocketDisconnect:
            pass
        finally:
            sessions.discard(session)

    app = Starlette(routes=[Route("/", index), Route("/static/{name}", static),
                            WebSocketRoute("/ws", socket)])
    guard = Guard(app, token, allowed_hosts)
    guard.sessions = sessions  # the live pages (for tests and the benchmark)
    return guard
