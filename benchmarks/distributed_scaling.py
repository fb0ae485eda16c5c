"""Data-parallel scaling of the MLP and CNN workloads: measured at P = 1, 2 and projected to 8-512 ranks.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/distributed_scaling.py \
        [--rounds 3] [--json benchmarks/distributed.json]

The driver launches, per round and workload, four configurations as subprocesses:

* ``1 proc x 1 thread``: plain ``bp.fit`` (no MPI), ``OPENBLAS_NUM_THREADS=1``;
* ``1 rank x 1 thread``: ``mpiexec -n 1``, ``bp.fit(..., distributed=DataParallel)``;
* ``2 ranks x 1 thread``: ``mpiexec -n 2``, the same, global batch split 64 + 64 (MLP);
* ``1 proc x 2 threads``: plain ``bp.fit``, ``OPENBLAS_NUM_THREADS=2``.

BLAS threads are set in the launched processes' environment only (the library never sets them).
Each run trains one epoch of the benchmark's synthetic data after a short warm-up and reports
samples/s and, under MPI, rank 0's seconds inside the step's ``Allreduce`` (which include
waiting for the slower rank). Medians over the rounds are printed, then the projection of
``docs/distributed.md``: compute time per sample from the 1-thread run, and a ring all-reduce
``2 (P-1)/P x bytes / bandwidth + 2 (P-1) x latency``.

``--quick`` is a smoke run whose numbers mean nothing: every launch as above, but 128 MLP
and 64 CNN samples per timed epoch (one step each) and 5 all-reduces alone
(``tests/test_benchmark_scripts.py`` runs ``--quick --rounds 1 --json FILE``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

#: workload -> (samples per timed epoch, global batch size)
WORKLOADS = {"mlp": (12_000, 128), "cnn": (1_280, 64)}
#: ``--quick``: the same batches, one step per epoch
QUICK_WORKLOADS = {"mlp": (128, 128), "cnn": (64, 64)}
CONFIGS = {
    "1 proc x 1 thread": (None, 1),
    "1 rank x 1 thread": (1, 1),
    "2 ranks x 1 thread": (2, 1),
    "1 proc x 2 threads": (None, 2),
}
#: (name, bandwidth in bit/s, latency per message in s): Ethernet with TCP, and an RDMA fabric
NETWORKS = (("10 Gbit/s, 20 us", 10e9, 20e-6), ("100 Gbit/s, 2 us", 100e9, 2e-6))
RANKS = (8, 64, 512)


def worker(workload: str, distributed: bool, quick: bool = False) -> None:
    """One timed epoch of ``workload`` (under mpiexec with ``distributed``); rank 0 prints JSON."""
    import backprop as bp
    from backprop.bench import make_data
    from backprop.bench.ours import our_model

    samples, batch = (QUICK_WORKLOADS if quick else WORKLOADS)[workload]
    data = make_data(samples)
    x = data.x if workload == "cnn" else data.x.reshape(samples, -1)
    parallel = None
    if distributed:
        from mpi4py import MPI

        from backprop.distributed import DataParallel

        parallel = DataParallel(MPI.COMM_WORLD)

    def epoch(n: int) -> tuple[float, Any]:
        model = our_model(workload)
        strategy = None if parallel is None else DataParallel(parallel.comm)
        if parallel is not None:
            parallel.comm.Barrier()
        started = time.perf_counter()
        bp.fit(
            model,
            bp.SoftmaxCrossEntropy(),
            bp.SGD(model, 0.05),
            x[:n],
            data.y[:n],
            epochs=1,
            batch_size=batch,
            progress=False,
            distributed=strategy,
        )
        return time.perf_counter() - started, (model, strategy)

    epoch(4 * batch)  # warm-up: first-call costs (page faults, BLAS threads) stay out of the timing
    seconds, (model, strategy) = epoch(samples)
    if parallel is None or parallel.is_root:
        steps = -(-samples // batch)
        params = sum(p.size for p in model.params.values())
        print(
            json.dumps(
                {
                    "seconds": seconds,
                    "samples_per_second": samples / seconds,
                    "steps": steps,
                    "allreduce_seconds": None if strategy is None else strategy.allreduce_seconds,
                    "gradient_bytes": params * np.dtype(np.float32).itemsize,
                    "world_size": 1 if parallel is None else parallel.size,
                    "load_average": os.getloadavg()[0],
                }
            )
        )


def allreduce_alone(repeats: int = 200) -> None:
    """Median seconds of one ``Allreduce`` of each workload's gradient buffer, ranks in lockstep."""
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    medians = {}
    for workload in WORKLOADS:
        buffer = np.zeros(sum(params for params, _ in layers(workload)) + 3, dtype=np.float32)
        times = []
        for _ in range(repeats):
            comm.Barrier()
            started = MPI.Wtime()
            comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
            times.append(MPI.Wtime() - started)
        medians[workload] = statistics.median(times)
    if comm.Get_rank() == 0:
        print(json.dumps(medians))


def launch(workload: str, ranks: int | None, threads: int, quick: bool = False) -> dict[str, Any]:
    env = os.environ | {"OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)}
    script = [sys.executable, __file__, "--worker", workload]
    if workload == "allreduce":
        script = [sys.executable, __file__, "--allreduce"]
    if quick:
        script.append("--quick")
    if ranks is None:
        command = script
    else:
        command = [str(Path(sys.executable).with_name("mpiexec")), "-n", str(ranks), *script, "--mpi"]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:  # the launched process's own error, not only its exit status
        raise SystemExit(f"distributed_scaling: {' '.join(command)} exited {done.returncode}:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(rounds: int, quick: bool = False) -> dict[str, Any]:
    results: dict[str, Any] = {w: {c: [] for c in CONFIGS} for w in WORKLOADS}
    results["allreduce_alone"] = []
    for round_ in range(rounds):
        results["allreduce_alone"].append(launch("allreduce", 2, 1, quick))
        for workload in WORKLOADS:
            for config, (ranks, threads) in CONFIGS.items():  # interleaved: drift hits all alike
                run = launch(workload, ranks, threads, quick)
                results[workload][config].append(run)
                rate = run["samples_per_second"]
                print(f"round {round_ + 1} {workload} {config}: {rate:,.0f} samples/s", file=sys.stderr)
    return results


def ring_allreduce_seconds(ranks: int, size_bytes: float, bandwidth_bits: float, latency: float) -> float:
    """Ring all-reduce: a reduce-scatter and an all-gather, each ``P - 1`` steps of ``bytes / P``."""
    return 2 * (ranks - 1) / ranks * size_bytes * 8 / bandwidth_bits + 2 * (ranks - 1) * latency


def layers(workload: str) -> list[tuple[int, int]]:
    """``(parameters, multiply-adds per sample)`` of each layer with parameters, input first."""
    from backprop.bench.workloads import CLASSES, CNN_CHANNELS, CNN_HIDDEN, IMAGE, MLP, conv2d_macs

    if workload == "mlp":
        return [(a * b + b, a * b) for a, b in itertools.pairwise(MLP)]
    c0, c1, c2 = CNN_CHANNELS
    flat = c2 * (IMAGE // 4) ** 2
    return [
        (c1 * c0 * 9 + c1, conv2d_macs(c0, c1, (3, 3), (IMAGE, IMAGE))),
        (c2 * c1 * 9 + c2, conv2d_macs(c1, c2, (3, 3), (IMAGE // 2, IMAGE // 2))),
        (flat * CNN_HIDDEN + CNN_HIDDEN, flat * CNN_HIDDEN),
        (CNN_HIDDEN * CLASSES + CLASSES, CNN_HIDDEN * CLASSES),
    ]


def step_seconds(
    workload: str, compute: float, ranks: int, bandwidth: float, latency: float, overlap: bool
) -> float:
    """One step's time: compute, then one all-reduce; or with ``overlap``, one per layer during backward.

    Compute splits over the layers by FLOPs: forward = MACs, backward = 2 MACs (1 for the first
    layer, whose input gradient is skipped). With overlap, layer l's all-reduce starts once its
    gradient is ready and the network is free (the all-reduces queue on it, last layer first).
    """
    spec = layers(workload)
    forward = [macs for _, macs in spec]
    backward = [2 * macs for _, macs in spec]
    backward[0] = forward[0]
    unit = compute / (sum(forward) + sum(backward))
    if not overlap:
        total = sum(4 * params for params, _ in spec)
        return compute + ring_allreduce_seconds(ranks, total, bandwidth, latency)
    clock, network = unit * sum(forward), 0.0
    for (params, _), cost in zip(reversed(spec), reversed(backward)):
        clock += unit * cost
        network = max(network, clock) + ring_allreduce_seconds(ranks, 4 * params, bandwidth, latency)
    return max(clock, network)


def report(results: dict[str, Any], workloads: dict[str, tuple[int, int]] = WORKLOADS) -> None:
    alone = results.pop("allreduce_alone", [])
    print("## Measured (medians)\n")
    print("The ratio is the median over rounds of samples/s over the same round's 1 proc x 1 thread.\n")
    print("| workload | configuration | samples/s | vs 1 proc x 1 thread | all-reduce share of the step |")
    print("|---|---|---:|---:|---:|")
    for workload, configs in results.items():
        base = [r["samples_per_second"] for r in configs["1 proc x 1 thread"]]
        for config, runs in configs.items():
            rate = statistics.median(r["samples_per_second"] for r in runs)
            ratio = statistics.median(r["samples_per_second"] / b for r, b in zip(runs, base))
            shares = [r["allreduce_seconds"] / r["seconds"] for r in runs if r["allreduce_seconds"]]
            share = f"{100 * statistics.median(shares):.1f}%" if shares else "-"
            print(f"| {workload} | {config} | {rate:,.0f} | {ratio:.2f}x | {share} |")
    loads = [r["load_average"] for configs in results.values() for runs in configs.values() for r in runs]
    print(f"\nLoad average (1 min) during the runs: {min(loads):.1f} to {max(loads):.1f}")
    for workload in WORKLOADS:
        if alone:
            seconds = statistics.median(run[workload] for run in alone)
            what = "one Allreduce of its gradients alone, 2 ranks in lockstep"
            print(f"\n{workload}: {what}: {1e3 * seconds:.3f} ms")
    for workload, configs in results.items():
        samples, batch = workloads[workload]
        single = configs["1 proc x 1 thread"]
        per_sample = statistics.median(r["seconds"] / samples for r in single)
        size = single[0]["gradient_bytes"]
        per_rank = batch // 2  # the per-rank batch of the measured 2-rank run, kept at every P
        print(
            f"\n## Projected: {workload}, {1e6 * per_sample:.1f} us per sample (1 thread), "
            f"{size / 1e6:.2f} MB of gradients, {per_rank} samples per rank\n"
        )
        print("| network | P | compute (ms) | all-reduce (ms) | efficiency | with overlap | batch for 80% |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for network, bandwidth, latency in NETWORKS:
            for ranks in RANKS:
                compute = per_sample * per_rank
                comm = ring_allreduce_seconds(ranks, size, bandwidth, latency)
                plain = step_seconds(workload, compute, ranks, bandwidth, latency, overlap=False)
                hidden = step_seconds(workload, compute, ranks, bandwidth, latency, overlap=True)
                # compute >= 4 x all-reduce gives efficiency >= 80% (compute per step = t B / P)
                needed = max(ranks, math.ceil(4 * comm * ranks / per_sample))
                print(
                    f"| {network} | {ranks} | {1e3 * compute:.2f} | {1e3 * comm:.2f} | "
                    f"{compute / plain:.0%} | {compute / hidden:.0%} | "
                    f"{needed:,} ({needed / ranks:,.0f} per rank) |"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the raw runs here")
    parser.add_argument("--from-json", type=Path, help="report earlier raw runs instead of measuring")
    parser.add_argument(
        "--quick", action="store_true",
        help="a smoke run: 128 MLP and 64 CNN samples per epoch, 5 all-reduces alone (numbers mean nothing)",
    )
    parser.add_argument("--worker", choices=tuple(WORKLOADS), help=argparse.SUPPRESS)
    parser.add_argument("--mpi", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--allreduce", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick and args.from_json:
        parser.error("--quick measures: it does not apply to --from-json")
    if args.worker:
        worker(args.worker, args.mpi, args.quick)
        return
    if args.allreduce:
        allreduce_alone(5 if args.quick else 200)
        return
    results = json.loads(args.from_json.read_text()) if args.from_json else measure(args.rounds, args.quick)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    report(results, QUICK_WORKLOADS if args.quick else WORKLOADS)


if __name__ == "__main__":
    main()
