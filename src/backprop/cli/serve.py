"""``backprop serve RUN_OR_MODEL``: the draw-a-digit page of a trained model, on this machine.

Flask is imported only when the command runs (``pages.web_server``), so ``import backprop``
stays free of it; without it the command says which extra to install.
"""

from __future__ import annotations

import argparse

from .errors import UserError
from .pages import add_address_options, listen, serve_until_stopped, web_server
from .runs import note_assumptions, open_model


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
