"""Where our time goes in one benchmark workload: cProfile of one timed run, hottest functions first.

    env -u OPENBLAS_CORETYPE .venv/bin/python benchmarks/profile_ours.py mlp [--samples 12000] [--top 15]

The workload runs exactly as ``backprop bench`` times it (``backprop.bench.ours_trial``:
``bp.fit`` or ``bp.predict`` on the same synthetic data), after the same warm-up. cProfile adds
a cost per Python call, so small-batch workloads look more Python-bound here than they are.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import pstats

from backprop import bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=bench.TIMED)
    parser.add_argument("--samples", type=int, help="samples to run (default: the benchmark's)")
    parser.add_argument("--top", type=int, default=15, help="functions to list (default 15)")
    args = parser.parse_args()
    spec = bench.spec_of(args.workload, bench.FULL)
    if args.samples:
        spec = dataclasses.replace(spec, samples=args.samples)
    data = bench.make_data(spec.samples)
    trial = bench.ours_trial(spec, data, threads=1)  # ignored by ours: NumPy's BLAS keeps its own count
    trial.warmup()
    profile = cProfile.Profile()
    seconds = profile.runcall(trial.measure)
    print(f"{args.workload}: {spec.samples:,} samples, batch {spec.batch_size}: {seconds:.3f} s (cProfile)")
    # The profile also holds the untimed set-up (a fresh model, a garbage collection); keeping
    # only our code and NumPy's leaves the collector out of the top lines.
    pstats.Stats(profile).sort_stats("tottime").print_stats("backprop|numpy", args.top)


if __name__ == "__main__":
    main()
