"""``backprop bench``: time the issue-5 workloads, ours against PyTorch and JAX where installed.

Prints one table (ours, PyTorch channels-last and NCHW, JAX, ratios ours / theirs in time,
share of the GEMM peak, issue 11's target, met?) and the lines under it (GEMM peak by shape,
compile times, batch-size sweep, memory, machine, BLAS, pinning and threads, core probes).
By default the run is pinned to one core, one thread per framework; ``--threads N`` runs
unpinned, and ``--threads 1,2,4`` sweeps the counts and prints the scaling (``bench/threads.py``).
Progress goes to stderr. ``--json`` keeps every raw timing and the
environment; ``--plot`` draws the batch-size sweep. The workloads are described in
``backprop.bench``; ``docs/performance.md`` records a run.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

from .. import bench
from . import arguments
from .errors import UserError
from .outputs import write_json


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "bench",
        help="time training and inference against PyTorch and JAX (issue 5's workloads)",
        description="Time W1 mlp, W2 cnn, W3 sigmoid-mlp, W4 infer, W5 lenet5, W6 resnet, a batch-size "
        "sweep and peak memory "
        "on synthetic MNIST-shaped data, ours through bp.fit, alternating with PyTorch and JAX when "
        "they are installed, and print medians, ratios and the share of the GEMM peak. Report "
        "figures from a run with OPENBLAS_CORETYPE unset (env -u OPENBLAS_CORETYPE backprop bench).",
    )
    parser.add_argument(
        "--rounds", type=arguments.positive_int, help="interleaved timed rounds (default 3; 1 with --quick)"
    )
    parser.add_argument(
        "--workloads",
        type=_choices("workload", bench.WORKLOADS),
        help=f"comma-separated, from {','.join(bench.WORKLOADS)} (default all; with --quick all but memory)",
    )
    parser.add_argument(
        "--frameworks",
        type=_choices("framework", bench.FRAMEWORKS),
        default=bench.FRAMEWORKS,
        help=f"comma-separated, from {','.join(bench.FRAMEWORKS)} (default all; absent: 'not installed')",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes (2,000 samples) and 1 round, for smoke tests; the figures mean little",
    )
    parser.add_argument(
        "--threads",
        type=_thread_counts,
        help="run unpinned with N threads of NumPy's BLAS and of PyTorch (JAX keeps XLA's pool), and probe "
        "each round how many cores it really had; several counts (1,2,4) sweep them, round by round, and "
        "print how each framework scales. Default: every framework pinned to one core, one thread "
        "each (the only setting that gives steady ratios on a shared machine)",
    )
    parser.add_argument("--json", metavar="FILE", help="write every raw timing and the environment as JSON")
    parser.add_argument("--plot", metavar="FILE.png", help="draw the batch-size sweep (samples/s) as a PNG")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    workloads = args.workloads
    if workloads is None:
        # Memory starts one subprocess per framework: a smoke test asks for it by name.
        workloads = tuple(w for w in bench.WORKLOADS if not (args.quick and w == "memory"))
    json_path = _output(args.json, "--json", None)
    plot_path = _output(args.plot, "--plot", ".png")
    if plot_path is not None and "sweep" not in workloads:
        raise UserError("--plot draws the batch-size sweep; add sweep to --workloads")
    rounds = args.rounds or (1 if args.quick else 3)
    sizes = bench.QUICK if args.quick else bench.FULL
    if importlib.util.find_spec("threadpoolctl") is None:
        raise UserError("bench needs threadpoolctl to set NumPy's BLAS threads: pip install threadpoolctl")
    if args.threads is not None and len(args.threads) > 1:
        if plot_path is not None:
            raise UserError("--plot draws one run's batch-size sweep; give one --threads count with it")
        runs = bench.threads_sweep(workloads, args.frameworks, rounds, sizes, args.threads, log=_progress)
        print(bench.format_threads_sweep(runs))
        if json_path is not None:
            write_json(json_path, bench.threads_sweep_json(runs))
            print(f"raw timings -> {json_path}")
        return 0
    threads = None if args.threads is None else args.threads[0]
    results = bench.run(workloads, args.frameworks, rounds, sizes, log=_progress, threads=threads)
    print(bench.format_report(results))
    if json_path is not None:
        write_json(json_path, bench.results_json(results))
        print(f"raw timings -> {json_path}")
    if plot_path is not None and results.sweep:
        from ..plots import plot_throughput

        series = {bench.NAMES[f]: values for f, values in bench.sweep_series(results).items()}
        plot_throughput(list(sizes.sweep_batches), series, plot_path)
        print(f"sweep plot -> {plot_path}")
    return 0


def _progress(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)


def _output(value: str | None, option: str, suffix: str | None) -> Path | None:
    """Check an output path before minutes of timing rather than after."""
    if value is None:
        return None
    path = Path(value)
    if suffix is not None and path.suffix.lower() != suffix:
        raise UserError(f"{option} {value}: the file name must end in {suffix}")
    if not path.parent.is_dir():
        raise UserError(f"{option} {value}: no such directory {str(path.parent)!r}")
    if path.is_dir():
        raise UserError(f"{option} {value}: is a directory; give a file name")
    return path


def _thread_counts(text: str) -> tuple[int, ...]:
    """``4`` or ``1,2,4``: distinct positive thread counts."""
    counts = tuple(arguments.positive_int(part.strip()) for part in text.split(","))
    if len(set(counts)) != len(counts):
        raise argparse.ArgumentTypeError(f"thread counts must be distinct, got {text!r}")
    return counts


def _choices(kind: str, allowed: tuple[str, ...]) -> Callable[[str], tuple[str, ...]]:
    def parse(text: str) -> tuple[str, ...]:
        names = tuple(part.strip() for part in text.split(",") if part.strip())
        unknown = [name for name in names if name not in allowed]
        if unknown or not names:
            raise argparse.ArgumentTypeError(
                f"unknown {kind} {unknown[0] if unknown else text!r}; choose from {','.join(allowed)}"
            )
        return names

    return parse
