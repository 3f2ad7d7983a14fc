"""The ``deltaprop playground`` command: ``add_parser(subparsers)`` and ``run(args)``."""

from __future__ import annotations

import socket
import sys
import threading

__all__ = ["add_parser", "allowed_hosts", "run", "serve", "url_for"]


def add_parser(subparsers):
    """Register ``playground`` on the ``deltaprop`` command's subparsers."""
    p = subparsers.add_parser(
        "playground", help="a local web page: watch backpropagation train a small network",
        description="Start a local web server on the loopback address and open its page: "
                    "2-D data sets, a network of up to 6 hidden layers, live decision "
                    "boundary, per-neuron maps, loss curves, gradient flow and a "
                    "step-by-step trace of any point. The printed address carries a "
                    "random token; only requests with it are answered.")
    p.add_argument("--port", type=int, default=0,
                   help="port to listen on (default: a free one)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1, this machine only)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    return p


def allowed_hosts(host, port):
    """The ``Host`` headers the server accepts when listening on ``host:port``."""
    names = {host, "127.0.0.1", "localhost"} if host in ("127.0.0.1", "localhost") \
        else {host}
    if host in ("::1", "[::1]"):
        names = {"[::1]"}
    return sorted(f"{h}:{port}" for h in names)


def url_for(host, port, token):
    h = "[::1]" if host == "::1" else host
    return f"http://{h}:{port}/?token={token}"


def _bind(host, port):
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(16)
    return sock


def serve(host="127.0.0.1", port=0, open_browser=False, ready=None, print_fn=print):
    """Serve the playground until interrupted (or ``server.should_exit``).

    ``ready``, a callable, gets ``(server, url)`` once the socket listens (the tests use
    it to stop the server). Returns when the server stops.
    """
    try:
        import uvicorn

        from .server import WS_MAX_SIZE, create_app, new_token
    except ImportError as exc:
        raise ImportError(f"deltaprop playground needs Starlette and uvicorn ({exc.name} is "
                          f"missing): pip install \"deltaprop[playground]\"") from None
    sock = _bind(host, port)
    port = sock.getsockname()[1]
    token = new_token()
    app = create_app(token, allowed_hosts(host, port))
    # no per-message deflate: compressing ~60 KiB per update costs more than loopback saves
    config = uvicorn.Config(app, log_level="warning", ws_max_size=WS_MAX_SIZE,
                            ws_per_message_deflate=False,
                            ws="auto", lifespan="off")
    server = uvicorn.Server(config)
    url = url_for(host, port, token)
    print_fn(f"deltaprop playground: {url}")
    print_fn("(the address carries this session's token; press Ctrl-C to stop)")
    if ready is not None:
        ready(server, url)
    if open_browser:
        import webbrowser

        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    server.run(sockets=[sock])
    sock.close()


def run(args):
    """The command: serve until Ctrl-C; returns the exit status."""
    if not 0 <= args.port <= 65535:
        print(f"deltaprop playground: error: --port must be in 0..65535, got {args.port}",
              file=sys.stderr)
        return 2
    try:
        serve(args.host, args.port, open_browser=not args.no_browser,
              print_fn=lambda s: print(s, flush=True))
    except (ImportError, OSError) as exc:
        print(f"deltaprop playground: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0
