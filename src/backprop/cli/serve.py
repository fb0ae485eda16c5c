"""``backprop serve RUN_OR_MODEL``: the draw-a-digit page of a trained model, on this machine.

Flask is imported only here, when the command runs, so ``import backprop`` stays free of it;
without it the command says which extra to install. ``backprop lab`` serves its page through
the same helpers (``add_address_options``, ``web_server``, ``listen``, ``serve_until_stopped``).
"""

from __future__ import annotations

import argparse
import sys
from types import ModuleType
from typing import Any

from .errors import UserError
from .runs import note_assumptions, open_model

WEB_LIBRARIES = ("flask", "werkzeug")
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "serve",
        help="a local web page: draw a digit and watch every layer of the model answer",
        description="Serve the draw-a-digit page of a digit classifier: the input as the network sees it, "
        "each hidden layer's activations and the ten probabilities, live as you draw.",
    )
    parser.add_argument("model", metavar="RUN_OR_MODEL", help="a run folder or a .safetensors file")
    add_address_options(parser)
    parser.set_defaults(run=run)


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


def run(args: argparse.Namespace) -> int:
    create_app = web_server("serve").create_app
    model_run = open_model(args.model)
    try:
        app = create_app(model_run)
    except ValueError as error:
        raise UserError(str(error)) from error
    server, address = listen(app, args)
    note_assumptions(model_run, "serve")
    print(f"serving {model_run.path} at {address}  (Ctrl-C stops)", flush=True)
    return serve_until_stopped(server, args)


def port_number(text: str) -> int:
    """A TCP port from the command line: 0 to 65535 (0 picks a free one)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535, got {text!r}")
    return value
