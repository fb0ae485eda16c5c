"""``backprop lab``: the playground in the browser where every number of backpropagation can be clicked.

Flask is imported only when the command runs, as for ``serve`` (``pages`` holds what both
share); without it the command says which extra to install.
"""

from __future__ import annotations

import argparse

from .pages import add_address_options, listen, serve_until_stopped, web_server


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "lab",
        help="a local web page: train a small network on 2-D data, click any unit for its arithmetic",
        description="Serve the lab: TensorFlow Playground's problems (or your own CSV), a network of up to 6 "
        "hidden layers trained in this process by the library, and for any unit or weight the chain rule "
        "of the last step with its numbers.",
    )
    add_address_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    quiet = web_server("lab").QuietRequestHandler  # the check that Flask is there comes first
    from ..lab.server import create_lab_app

    server, address = listen(create_lab_app(), args, request_handler=quiet)
    print(f"the lab is at {address}  (Ctrl-C stops)", flush=True)
    return serve_until_stopped(server, args)
