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
reset        new initial weights (next ``init_seed``),       state, config, data,
             same data, history cleared                      frame
explain      ``split``, ``index``, ``notation``              trace
export       ``what``: model, markdown or latex (+ sample)   file (base64 content)
===========  ==============================================  ==========================

A bad message gets ``{"type": "error", "message": ...}`` and the session goes on.
"""

from __future__ import annotations

import base64
import ipaddress
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

__all__ = ["MAX_DEPTH", "MAX_DIGITS", "MAX_MESSAGE", "MAX_SESSIONS", "WS_MAX_SIZE",
           "MessageError", "create_app", "new_token", "parse_message", "static_files"]

#: The largest message the server reads, in bytes of UTF-8 as it travels (a longer one, up
#: to WS_MAX_SIZE bytes, gets an error reply; beyond that the WebSocket layer closes the
#: connection), the deepest nesting of arrays and objects in one, the most digits of a
#: number in one, and the most pages at once.
MAX_MESSAGE = 16 * 1024
WS_MAX_SIZE = 1024 * 1024
MAX_DEPTH = 32
MAX_DIGITS = 1000
MAX_SESSIONS = 8

STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html",
                ".png": "image/png", ".svg": "image/svg+xml", ".txt": "text/plain"}


def new_token():
    """A random per-session token (as Jupyter's)."""
    return secrets.token_urlsafe(24)


def _static(name):
    return resources.files("deltaprop.playground").joinpath("static").joinpath(name)


def static_files():
    """The names of the files the server serves: the static folder's own files of the
    types it knows, listed once (a request names one of them or gets 404, whatever its
    length or its characters)."""
    folder = resources.files("deltaprop.playground").joinpath("static")
    return frozenset(f.name for f in folder.iterdir()
                     if f.is_file() and not f.name.startswith(".")
                     and "." + f.name.rsplit(".", 1)[-1] in STATIC_TYPES)


def _is_ip_host(host, port):
    """Whether the ``Host`` header ``host`` is an IP address (IPv6 in brackets) and
    ``port``: a name that no DNS server can point elsewhere."""
    name, sep, given_port = host.rpartition(":")
    if not sep or given_port != str(port):
        return False
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    elif ":" in name:
        return False
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class Guard:
    """ASGI middleware: the token and the Host header on every request and WebSocket.

    ``any_ip_port``: the server listens on every interface (``--host 0.0.0.0``), so a
    ``Host`` that is any IP address with this port is accepted too (a page reached from
    another machine by this machine's address; an IP address cannot be rebound as a DNS
    name can), and a WebSocket's ``Origin`` may be the page's own ``Host``.
    """

    def __init__(self, app, token, allowed_hosts, any_ip_port=None):
        self.app, self.token = app, token
        self.allowed_hosts = {h.lower() for h in allowed_hosts}
        self.any_ip_port = any_ip_port

    def host_allowed(self, host):
        return host in self.allowed_hosts or (
            self.any_ip_port is not None and _is_ip_host(host, self.any_ip_port))

    def origin_allowed(self, origin, host):
        origins = {f"http://{h}" for h in self.allowed_hosts}
        if self.any_ip_port is not None:
            origins.add(f"http://{host}")
        return origin in origins

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        host = headers.get("host", "").lower()
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given = query.get("token", [""])[0] or headers.get("x-deltaprop-token", "")
        problem = None
        if not self.host_allowed(host):
            problem = (400, ("this server answers only requests addressed to "
                             + ", ".join(sorted(self.allowed_hosts))
                             + (" or an IP address of this machine"
                                if self.any_ip_port is not None else "")))
        elif not secrets.compare_digest(given.encode(), self.token.encode()):
            problem = (403, ("a valid token is needed: open the address that "
                             "`deltaprop playground` printed"))
        elif scope["type"] == "websocket" and "origin" in headers and \
                not self.origin_allowed(headers["origin"].lower(), host):
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


class MessageError(ValueError):
    """A message refused before it is read (the text says why)."""


def _depth(text):
    """The deepest nesting of ``[`` and ``{`` in the JSON ``text``, outside strings
    (counted before parsing: Python's parser recurses once a level)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _parse_int(digits):
    if len(digits.lstrip("-")) > MAX_DIGITS:
        raise MessageError(f"message refused: it holds a number of {len(digits)} digits "
                           f"(at most {MAX_DIGITS})")
    return int(digits)


def parse_message(text):
    """The JSON object of one message, its size, nesting and numbers bounded first.

    Raises :class:`MessageError` naming what is wrong."""
    size = len(text.encode("utf-8", "surrogatepass"))  # as the WebSocket layer counts
    if size > MAX_MESSAGE:
        raise MessageError(f"message of {size} bytes refused (at most {MAX_MESSAGE} bytes "
                           f"of UTF-8)")
    depth = _depth(text)
    if depth > MAX_DEPTH:
        raise MessageError(f"message refused: arrays and objects nested {depth} deep "
                           f"(at most {MAX_DEPTH})")
    try:
        msg = json.loads(text, parse_int=_parse_int)
    except MessageError:
        raise
    except ValueError:
        raise MessageError("message is not valid JSON") from None
    if not isinstance(msg, dict) or not isinstance(msg.get("op"), str):
        raise MessageError('a message is a JSON object with an "op" field')
    return msg


class Session:
    """One page: its engine, and the answer to each message."""

    def __init__(self):
        self.engine = Engine()

    def handle(self, text):
        """The answers (a list of dicts) to one message ``text``."""
        try:
            msg = parse_message(text)
        except MessageError as exc:
            return [_error(exc)]
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
        """New initial weights (the next ``init_seed``), the same data, history cleared."""
        self.engine.playing = False
        draw = (self.engine.config["init_seed"] + 1) % (LIMITS["init_seed"][2] + 1)
        self.engine.update({"init_seed": draw})  # a RESTART setting: the run starts again
        return [{"type": "state", "playing": False}, self.config_message(),
                self.engine.points(), self.engine.frame()]

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


def create_app(token, allowed_hosts, any_ip_port=None):
    """The playground's ASGI app; ``allowed_hosts`` are the ``Host`` headers accepted
    (``"127.0.0.1:8765"``, ``"localhost:8765"``); with ``any_ip_port``, any IP address
    with that port too (the server listens on every interface; see :class:`Guard`)."""
    sessions = set()

    async def index(request):
        page = _static("index.html").read_text(encoding="utf-8")
        return HTMLResponse(page.replace("__TOKEN__", token),
                            headers={"Cache-Control": "no-store",
                                     "Referrer-Policy": "no-referrer",
                                     "X-Frame-Options": "DENY"})

    files = static_files()

    async def static(request):
        name = request.path_params["name"]
        if name not in files:  # nothing else is looked up on the disk
            return PlainTextResponse("not found", status_code=404)
        return Response(_static(name).read_bytes(),
                        media_type=STATIC_TYPES["." + name.rsplit(".", 1)[-1]],
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
    guard = Guard(app, token, allowed_hosts, any_ip_port)
    guard.sessions = sessions  # the live pages (for tests and the benchmark)
    return guard
