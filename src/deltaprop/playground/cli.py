"""The ``deltaprop playground`` command: ``add_parser(subparsers)`` and ``run(args)``."""

from __future__ import annotations

import socket
import sys
import threading

__all__ = ["EVERY_INTERFACE", "add_parser", "allowed_hosts", "every_interface",
           "network_address", "run", "serve", "url_for"]


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
                   help="address to listen on (default 127.0.0.1, this machine only; "
                        "0.0.0.0 or :: make the page reachable from other machines)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    return p


#: The --host values that mean every interface: the page is reachable from other machines.
EVERY_INTERFACE = ("0.0.0.0", "", "::", "[::]")


def every_interface(host):
    """Whether ``host`` means every network interface (IPv4 ``0.0.0.0`` or ``""``, IPv6
    ``::``)."""
    return host.strip() in EVERY_INTERFACE


def allowed_hosts(host, port):
    """The ``Host`` headers the server accepts by name when listening on ``host:port``
    (listening on every interface, any IP address with this port is accepted too: see
    :class:`deltaprop.playground.server.Guard`)."""
    if every_interface(host):
        names = {"127.0.0.1", "localhost", "[::1]", socket.gethostname().lower()}
    elif host in ("127.0.0.1", "localhost"):
        names = {host, "127.0.0.1", "localhost"}
    elif host in ("::1", "[::1]"):
        names = {"[::1]"}
    else:
        names = {host}
    return sorted(f"{h}:{port}" for h in names)


def url_for(host, port, token):
    """The address to open on this machine: a wildcard ``host`` is reached through the
    loopback address (``http://0.0.0.0:PORT/`` is no address to give anyone)."""
    h = host.strip()
    if h in ("", "0.0.0.0"):
        h = "127.0.0.1"
    elif h in ("::", "[::]", "::1"):
        h = "[::1]"
    return f"http://{h}:{port}/?token={token}"


def network_address(ipv6=False):
    """This machine's address on its network (the one its default route leaves by), or
    None. A UDP socket is "connected" to a documentation address (RFC 5737 / 3849):
    that only chooses a route, nothing is sent."""
    family, probe = ((socket.AF_INET6, ("2001:db8::1", 9)) if ipv6
                     else (socket.AF_INET, ("192.0.2.1", 9)))
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.connect(probe)
            address = s.getsockname()[0]
    except OSError:
        return None
    if address.startswith("127.") or address in ("::1", "0.0.0.0", "::"):
        return None
    return f"[{address}]" if ":" in address else address


def _bind(host, port):
    h = host.strip().strip("[]")
    if h == "":
        h = "0.0.0.0"
    family = socket.AF_INET6 if ":" in h else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if h == "::":  # every interface: IPv4 too, where the system allows it
        try:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        except (OSError, AttributeError):
            pass
    try:
        sock.bind((h, port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(16)
    return sock


def _warn(line):
    print(line, file=sys.stderr, flush=True)


def serve(host="127.0.0.1", port=0, open_browser=False, ready=None, print_fn=print,
          warn_fn=_warn):
    """Serve the playground until interrupted (or ``server.should_exit``).

    ``ready``, a callable, gets ``(server, url)`` once the socket listens (the tests use
    it to stop the server). ``print_fn`` gets the address lines, ``warn_fn`` the warning
    when ``host`` is every interface (default: standard error). Returns when the server
    stops.
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
    wildcard = every_interface(host)
    app = create_app(token, allowed_hosts(host, port), any_ip_port=port if wildcard else None)
    # no per-message deflate: compressing ~60 KiB per update costs more than loopback saves
    config = uvicorn.Config(app, log_level="warning", ws_max_size=WS_MAX_SIZE,
                            ws_per_message_deflate=False,
                            ws="auto", lifespan="off")
    server = uvicorn.Server(config)
    url = url_for(host, port, token)
    if wildcard:
        warn_fn(f"deltaprop playground: warning: listening on every network interface "
                f"(--host {host or repr(host)}): the page is reachable from other machines, "
                f"by anyone who has its address with the token")
    print_fn(f"deltaprop playground: {url}")
    remote = None
    if wildcard:  # "::" listens on IPv4 too (IPV6_V6ONLY off) where the system allows it
        remote = network_address() or (network_address(ipv6=True) if ":" in host else None)
    if remote is not None:
        print_fn(f"from another machine: {url_for(remote, port, token)}")
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
