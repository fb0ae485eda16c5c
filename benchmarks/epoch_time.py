"""One benchmark workload's training epoch, timed by wall clock, CPU time and page faults, round after round.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/epoch_time.py cnn --rounds 3

Trains a fresh model for one epoch of ``bp.fit`` per round, exactly as ``backprop bench`` does
for the workload (its model, learning rate, batch size and number of samples), pinned to one
core with one BLAS thread. Prints wall and CPU seconds (user, system) and minor page faults
per round. To compare two trees of the code, alternate runs with ``PYTHONPATH=TREE/src``:
the script imports whichever ``backprop`` comes first. ``--samples N`` trains on fewer samples
than the benchmark's (``tests/test_benchmark_scripts.py`` runs ``cnn --rounds 1 --samples 64``).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import time

from threadpoolctl import threadpool_limits

import backprop as bp
from backprop import bench
from backprop.bench.ours import our_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=("mlp", "cnn", "sigmoid-mlp"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--core", type=int, default=max(os.sched_getaffinity(0)))
    parser.add_argument("--samples", type=int, help="samples per epoch (default: the benchmark's)")
    args = parser.parse_args()
    os.sched_setaffinity(0, {args.core})
    threadpool_limits(1, user_api="blas")
    spec = bench.spec_of(args.workload, bench.FULL)
    if args.samples:
        spec = dataclasses.replace(spec, samples=args.samples)
    data = bench.make_data(spec.samples)
    x = data.x if spec.model == "cnn" else data.x.reshape(len(data.x), -1)
    print(f"{args.workload}: {spec.samples:,} samples, batch {spec.batch_size}, core {args.core},"
          f" backprop from {os.path.dirname(bp.__file__)}")
    for round_number in range(1, args.rounds + 1):
        model = our_model(spec.model)
        optimizer = bp.SGD(model, spec.lr)
        before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        bp.fit(model, bp.SoftmaxCrossEntropy(), optimizer, x, data.y, epochs=1,
               batch_size=spec.batch_size, progress=False)
        wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
        print(f"  round {round_number}: wall {wall:.3f} s, user {after.ru_utime - before.ru_utime:.3f} s,"
              f" system {after.ru_stime - before.ru_stime:.3f} s,"
              f" page faults {after.ru_minflt - before.ru_minflt:,}")


if __name__ == "__main__":
    main()
