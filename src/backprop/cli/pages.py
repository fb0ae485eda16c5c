"""What the commands that serve a page share: --port and --host, Flask's import, starting and stopping.

``backprop serve`` and ``backprop lab`` use these; Flask is imported only when one of them runs
(``web_server``), so ``import backprop`` stays free of it, and without it the command says which
extra to install.
"""

from __future__ import annotations

import argparse
import sys
from types import ModuleType
from typing import Any

from .errors import UserError

WEB_LIBRARIES = ("flask", "werkzeug")
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def add_address_options(parser: argparse.ArgumentParser) -> None:
    """``--port`` and ``--host``, the same for every command that serves a page."""
    parser.add_argument(
        "--port", type=port_number, default=8000, help="TCP port (default 8000; 0 picks a free one)"
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )


def web_server(command: str) -> ModuleType:
    """``backprop.web.server``, or a UserError saying which extra ``backprop COMMAND`` needs."""
    try:
        from ..web import server
    except ImportError as error:
        if error.name not in WEB_LIBRARIES:
            raise
        raise UserError(
            f"backprop {command} needs Flask, which is not installed ({error}); install it with: "
            "pip install 'backprop[web]'"
        ) from error
    return server


def listen(app: Any, args: argparse.Namespace, **options: Any) -> tuple[Any, str]:
    """The HTTP server of ``app`` bound to ``--host``/``--port``, and the page's address."""
    try:
        server = web_server(args.command).make_http_server(app, args.host, args.port, **options)
    except OSError as error:
        raise UserError(f"cannot listen on {args.host}:{args.port} ({error.strerror or error})") from error
    host = f"[{args.host}]" if ":" in args.host else args.host
    return server, f"http://{host}:{server.socket.getsockname()[1]}/"


def serve_until_stopped(server: Any, args: argparse.Namespace) -> int:
    """Serve until Ctrl-C, the way a user stops a server (not an error); 0."""
    if args.host not in LOCAL_HOSTS:
        print(
            f"backprop {args.command}: note: bound to {args.host}, so other machines can reach the page",
            file=sys.stderr,
        )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped")
    finally:
        server.server_close()
    return 0


def port_number(text: str) -> int:
    """A TCP port from the command line: 0 to 65535 (0 picks a free one)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535, got {text!r}")
    return value
