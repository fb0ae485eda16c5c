"""``python -m backprop.bench --memory FRAMEWORK``: one memory measurement (the memory subprocess)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from .memory import memory_peak
from .runner import blas_threads_limited
from .workloads import FRAMEWORKS, FULL


def _main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m backprop.bench",
        description="One memory measurement in a fresh process (backprop bench starts these); "
        "prints one JSON line. For the benchmark itself run: backprop bench",
    )
    parser.add_argument("--memory", choices=FRAMEWORKS, required=True, help="the framework to measure")
    parser.add_argument("--samples", type=int, default=FULL.data, help="samples in the data set (60000)")
    parser.add_argument("--threads", type=int, help="PyTorch threads (default: all cores)")
    parser.add_argument("--limit-blas", action="store_true", help="limit NumPy's BLAS to --threads too")
    args = parser.parse_args(argv)
    with blas_threads_limited(args.threads if args.limit_blas else None):
        print(json.dumps(memory_peak(args.memory, args.samples, args.threads)))
    return 0


if __name__ == "__main__":
    sys.exit(_main())
