"""The run: warm-ups, then interleaved rounds (ours, PyTorch, JAX per workload), then memory.

The rounds alternate so that a noisy neighbour slows every framework alike rather than one
of them; the report quotes medians. By default the whole run is pinned to one core with one
thread per framework (``pinning.py``); ``threads=N`` runs unpinned with N threads. Either
way each round starts with a core probe (``probe.py``) that records how many cores the
round really had.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from .bound import BOUND_WORKLOADS, gemm_bound
from .machine import environment, framework_version, gemm_peak
from .memory import memory_in_subprocess
from .pinning import pinned_to_one_core
from .probe import core_probe
from .results import Results
from .trials import TRIALS
from .workloads import (
    FRAMEWORKS,
    FULL,
    NAMES,
    SWEEP_FRAMEWORKS,
    TIMED,
    WORKLOADS,
    Sizes,
    Spec,
    Trial,
    make_data,
    runs_on,
    spec_of,
)


def blas_threads_limited(threads: int | None) -> contextlib.AbstractContextManager[Any]:
    """NumPy's BLAS limited to ``threads`` inside the block (threadpoolctl's runtime call); None: as is.

    Only for an explicit request (``--threads``): the library itself never changes BLAS threads.
    """
    if threads is None:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError as error:
        raise ValueError(
            "bench: limiting the BLAS threads needs threadpoolctl: pip install threadpoolctl"
        ) from error
    return threadpool_limits(limits=threads, user_api="blas")


def run(
    workloads: Sequence[str] = WORKLOADS,
    frameworks: Sequence[str] = FRAMEWORKS,
    rounds: int = 3,
    sizes: Sizes = FULL,
    log: Callable[[str], None] = lambda text: None,
    threads: int | None = None,
) -> Results:
    """Run the benchmark: warm-ups, then ``rounds`` interleaved rounds, then memory subprocesses.

    ``threads=None`` (the default): every thread of this process is pinned to one core for
    the run (the affinity is given back afterwards) and NumPy's BLAS and PyTorch use one
    thread; XLA sizes its pool from the affinity, one thread. ``threads=N``: unpinned, NumPy's
    BLAS and PyTorch use N threads, XLA its own pool. Each round records a core probe of as
    many cores as threads. ``log`` receives one line per measurement (the command line sends
    them to stderr).
    """
    unknown = [w for w in workloads if w not in WORKLOADS] + [f for f in frameworks if f not in FRAMEWORKS]
    if unknown:
        raise ValueError(f"bench.run: unknown workload or framework {unknown[0]!r}")
    if rounds < 1:
        raise ValueError(f"bench.run: rounds must be at least 1, got {rounds}")
    if threads is not None and threads < 1:
        raise ValueError(f"bench.run: threads must be at least 1, got {threads}")
    env = environment()  # before torch or jax are imported: threadpoolctl then sees NumPy's BLAS alone
    pinning: contextlib.AbstractContextManager[dict[str, Any]] = (
        pinned_to_one_core() if threads is None else contextlib.nullcontext({"pinned": False})
    )
    with pinning as pinned, blas_threads_limited(1 if threads is None else threads):
        results = _run(workloads, frameworks, rounds, sizes, log, env, threads)
        results.pinning = pinned
    return results


def _run(
    workloads: Sequence[str],
    frameworks: Sequence[str],
    rounds: int,
    sizes: Sizes,
    log: Callable[[str], None],
    env: dict[str, Any],
    requested: int | None,
) -> Results:
    started = time.perf_counter()
    results = Results(sizes, rounds, list(workloads), list(frameworks), env)
    threads = requested or 1
    env["threads"] = threads
    env["threads_requested"] = requested
    for framework in frameworks:
        results.status[framework] = "ok" if framework_version(framework) else "not installed"
    live = [f for f in frameworks if results.status[f] == "ok"]
    data = make_data(sizes.data)
    log(
        f"data: {sizes.data:,} x 1 x 28 x 28 float32 ({data.megabytes:.1f} MB); frameworks: {', '.join(live)}"
    )

    trials: dict[tuple[str, str], Trial] = {}
    jobs = [(w, spec_of(w, sizes)) for w in TIMED if w in workloads]
    if "sweep" in workloads:
        jobs += [(f"sweep:{b}", Spec("mlp", sizes.sweep_samples(b), b)) for b in sizes.sweep_batches]
    for name, spec in jobs:
        for framework in live:
            if name.startswith("sweep:") and framework not in SWEEP_FRAMEWORKS:
                continue
            if not runs_on(framework, name.split(":")[0]):
                continue
            try:
                trial = TRIALS[framework](spec, data, threads)
                trial.warmup()
            except Exception as error:  # a comparison that breaks must not sink the whole run
                if framework == "ours":
                    raise
                results.errors.setdefault(name, {})[framework] = f"{type(error).__name__}: {error}"
                log(f"warning: {NAMES[framework]} {name}: {type(error).__name__}: {error}")
                continue
            trials[name, framework] = trial
            if trial.compile_seconds is not None:
                results.compile_seconds.setdefault(name, {})[framework] = trial.compile_seconds
        log(f"warmed up: {name}")

    for r in range(1, rounds + 1):
        results.probes.append(core_probe(threads))
        results.probes[-1]["load_average"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
        results.gemm.append(gemm_peak(sizes.gemm_sizes, sizes.gemm_repeats, sizes.gemm_shapes))
        for workload in (w for w in BOUND_WORKLOADS if w in workloads):
            results.bound.setdefault(workload, []).append(gemm_bound(workload, sizes))
        probe = results.probes[-1]
        log(
            f"round {r}/{rounds}: probe saw {probe['cores_seen']:.2f} of {threads} core(s)"
            f"{' (short of cores)' if probe['short'] else ''}; GEMM {results.gemm[-1]['gflops']:.1f} GFLOP/s"
        )
        for name, _ in jobs:
            for framework in live:
                ready = trials.get((name, framework))
                if ready is None:
                    continue
                seconds = ready.measure()
                if name.startswith("sweep:"):
                    results.sweep.setdefault(framework, {}).setdefault(name[6:], []).append(float(seconds))
                else:
                    results.seconds.setdefault(name, {}).setdefault(framework, []).append(float(seconds))
                    cpu = getattr(seconds, "cpu", None)
                    if cpu is not None:
                        results.cpu_seconds.setdefault(name, {}).setdefault(framework, []).append(cpu)
                log(f"round {r}/{rounds}: {name} {NAMES[framework]} {seconds:.4g} s")

    if "memory" in workloads:
        for framework in (f for f in live if runs_on(f, "memory")):
            log(f"memory: {NAMES[framework]} (a fresh process)")
            results.memory[framework] = memory_in_subprocess(framework, sizes.data, threads, threads)
    results.environment["load_average_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    results.wall_seconds = time.perf_counter() - started
    return results
