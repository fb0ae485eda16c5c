"""``backprop serve RUN_OR_MODEL``: the draw-a-digit page of a trained model, on this machine.

Flask is imported only here, when the command runs, so ``import backprop`` stays free of it;
without it the command says which extra to install.
"""

from __future__ import annotations

import argparse
import sys

from .errors import UserError
from .runs import note_assumptions, open_model

WEB_LIBRARIES = ("flask", "werkzeug")


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "serve",
        help="a local web page: draw a digit and watch every layer of the model answer",
        description="Serve the draw-a-digit page of a digit classifier: the input as the network sees it, "
        "each hidden layer's activations and the ten probabilities, live as you draw.",
    )
    parser.add_argument("model", metavar="RUN_OR_MODEL", help="a run folder or a .safetensors file")
    parser.add_argument(
        "--port", type=port_number, default=8000, help="TCP port (default 8000; 0 picks a free one)"
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        from ..web.server import create_app, make_http_server
    except ImportError as error:
        if error.name not in WEB_LIBRARIES:
            raise
        raise UserError(
            f"backprop serve needs Flask, which is not installed ({error}); install it with: "
            "pip install 'backprop[web]'"
        ) from error
    model_run = open_model(args.model)
    try:
        app = create_app(model_run)
    except ValueError as error:
        raise UserError(str(error)) from error
    try:
        server = make_http_server(app, args.host, args.port)
    except OSError as error:
        raise UserError(f"cannot listen on {args.host}:{args.port} ({error.strerror or error})") from error
    note_assumptions(model_run, "serve")
    host = f"[{args.host}]" if ":" in args.host else args.host
    port = server.socket.getsockname()[1]
    print(f"serving {model_run.path} at http://{host}:{port}/  (Ctrl-C stops)", flush=True)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"backprop serve: note: bound to {args.host}, so other machines can reach the page",
            file=sys.stderr,
        )
    try:
        server.serve_forever()
    except KeyboardInterrupt:  # Ctrl-C is how a user stops the server: not an error
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
