"""``backprop example``: run one of the seeds' worked problems, or explain one step of it.

``backprop example`` (or ``--list``) lists them; ``backprop example NAME`` runs one and
prints its numbers; ``--explain`` prints every number of one training step of its model on a
small batch instead (``--format markdown`` for a handout, ``--format html`` for a page with the
formulas typeset). ``--out FILE`` writes what would be
printed to ``FILE``, atomically. The regression example also draws its plot, by default to
``runs/example-regression.png``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import backprop as bp

from ..examples import EXAMPLES
from ..examples.regression import DEFAULT_PLOT
from ..files import atomic_write
from . import arguments
from .errors import UserError


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "example",
        help="run one of the seeds' worked examples, or explain one training step of it",
        description="Run one of the seeds' worked examples and print its numbers, or, with --explain, "
        "print every number of one training step of its model on a small batch. "
        "Without NAME: list the examples.",
    )
    parser.add_argument("name", nargs="?", metavar="NAME", help=f"one of: {', '.join(EXAMPLES)}")
    parser.add_argument("--list", action="store_true", help="list the examples and exit")
    parser.add_argument(
        "--explain",
        action="store_true",
        help="show the forward pass, loss, backward pass, finite-difference check and update of one step",
    )
    parser.add_argument(
        "--format",
        choices=("text", "markdown", "html"),
        help="with --explain: text (default), markdown, or html (a page with the formulas typeset)",
    )
    parser.add_argument(
        "--max-elements",
        type=arguments.positive_int,
        default=64,
        metavar="N",
        help="with --explain: summarise arrays with more than N entries (default 64)",
    )
    parser.add_argument("--out", metavar="FILE", help="write the output to FILE instead of printing it")
    parser.add_argument(
        "--seed", type=arguments.seed, default=0, help="seeds data, weights and shuffling (default 0)"
    )
    parser.add_argument(
        "--plot", metavar="FILE", help=f"regression: where to draw the figure (default {DEFAULT_PLOT})"
    )
    parser.add_argument("--no-plot", action="store_true", help="regression: draw no figure")
    parser.set_defaults(run=run)


def listing() -> str:
    """One line per example: its name and what it shows."""
    width = max(map(len, EXAMPLES))
    lines = ["examples (run one with: backprop example NAME [--explain]):"]
    lines += [f"  {name:<{width}}  {entry.description}" for name, entry in EXAMPLES.items()]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    if args.list or args.name is None:
        print(listing(), end="")
        return 0
    entry = EXAMPLES.get(args.name)
    if entry is None:
        raise UserError(f"unknown example {args.name!r}; choose one of {', '.join(EXAMPLES)}")
    if args.format is not None and not args.explain:
        raise UserError("--format applies to --explain; add --explain")
    plotting = args.plot is not None or args.no_plot
    if plotting and (not entry.plots or args.explain):
        raise UserError("--plot and --no-plot apply to running the regression example only")
    if args.plot is not None and not args.plot.lower().endswith(".png"):
        raise UserError(f"--plot {args.plot}: the figure is a PNG file; give a name ending in .png")

    if args.explain:
        setup = entry.explain_setup(args.seed)
        text: str = bp.explain(
            setup.model, setup.loss, setup.x, setup.t, lr=setup.lr, format=args.format or "text",
            max_elements=args.max_elements, precision=setup.precision,
        )
    else:
        options = {}
        if entry.plots and not args.no_plot:
            options["plot"] = Path(args.plot) if args.plot is not None else DEFAULT_PLOT
        try:
            result = entry.run(seed=args.seed, **options)
        except OSError as error:
            figure = options.get("plot")
            raise UserError(f"--plot {figure}: cannot write the figure ({error.strerror})") from error
        text = entry.report(result)

    if args.out is None:
        print(text, end="")
    else:
        _write(Path(args.out), text)
        print(f"wrote {args.out}")
    return 0


def _write(path: Path, text: str) -> None:
    """Write the handout atomically, creating missing folders."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path, "w") as file:
            file.write(text)
    except OSError as error:
        raise UserError(f"--out {path}: cannot write it ({error.strerror or error})") from error
