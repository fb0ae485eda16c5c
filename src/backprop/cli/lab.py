"""``backprop lab``: the playground in the browser where every number of backpropagation can be clicked.

Flask is imported only when the command runs, as for ``serve``; without it the command says
which extra to install.
"""

from __future__ import annotations

import argparse
import sys

from .errors import UserError
from .serve import WEB_LIBRARIES, port_number


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "lab",
        help="a local web page: train a small network on 2-D data, click any unit for its arithmetic",
        description="Serve the lab: TensorFlow Playground's problems (or your own CSV), a network of up to 6 "
        "hidden layers trained in this process by the library, and for any unit or weight the chain rule "
        "of the last step with its numbers.",
    )
    parser.add_argument(
        "--port", type=port_number, default=8000, help="TCP port (default 8000; 0 picks a free one)"
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        from ..lab.server import create_lab_app
        from ..web.server import QuietRequestHandler, make_http_server
    except ImportError as error:
        if error.name not in WEB_LIBRARIES:
            raise
        raise UserError(
            f"backprop lab needs Flask, which is not installed ({error}); install it with: "
            "pip install 'backprop[web]'"
        ) from error
    app = create_lab_app()
    try:
        server = make_http_server(app, args.host, args.port, QuietRequestHandler)
    except OSError as error:
        raise UserError(f"cannot listen on {args.host}:{args.port} ({error.strerror or error})") from error
    host = f"[{args.host}]" if ":" in args.host else args.host
    port = server.socket.getsockname()[1]
    print(f"the lab is at http://{host}:{port}/  (Ctrl-C stops)", flush=True)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"backprop lab: note: bound to {args.host}, so other machines can reach the page", file=sys.stderr
        )
    try:
        server.serve_forever()
    except KeyboardInterrupt:  # Ctrl-C is how a user stops the server: not an error
        print("stopped")
    finally:
        server.server_close()
    return 0
