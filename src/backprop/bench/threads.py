"""The threads sweep: the same workloads at several thread counts, and how each framework scales.

``backprop bench --threads 1,2,4`` runs every round at each count in turn (round 1 at 1, 2 and
4 threads, then round 2, ...), so drift on a shared machine falls on every count alike; each
run is ``runner.run`` with one round, unpinned, with its own warm-up and core probe. The
report gives, per workload and framework, the median seconds at each count, the speedup over
the smallest count, and ours / PyTorch at each count: the scaling a user with more cores
would see.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from typing import Any

from ..tables import format_table
from .report import results_json
from .results import Results
from .runner import run
from .workloads import FRAMEWORKS, NAMES, TIMED, Sizes


def sweep(
    workloads: Sequence[str],
    frameworks: Sequence[str],
    rounds: int,
    sizes: Sizes,
    counts: Sequence[int],
    log: Callable[[str], None] = lambda text: None,
) -> dict[int, list[Results]]:
    """Per thread count, one ``Results`` per round, the counts interleaved round by round."""
    if len(set(counts)) != len(counts) or not counts:
        raise ValueError(f"bench threads sweep: give distinct thread counts, got {list(counts)}")
    runs: dict[int, list[Results]] = {count: [] for count in counts}
    for r in range(1, rounds + 1):
        for count in counts:
            log(f"threads sweep: round {r}/{rounds} at {count} thread(s)")
            runs[count].append(run(workloads, frameworks, 1, sizes, log, threads=count))
    return runs


def _median(runs: list[Results], workload: str, framework: str) -> float | None:
    values = [s for s in (r.median(workload, framework) for r in runs) if s is not None]
    return statistics.median(values) if values else None


def format_sweep(runs: dict[int, list[Results]]) -> str:
    """The scaling table and the core probes of every run."""
    counts = list(runs)
    first = runs[counts[0]][0]
    header = ["workload", "framework"] + [f"{c} thr, s" for c in counts]
    header += [f"x at {c}" for c in counts[1:]] + [f"ours/PyTorch at {c}" for c in counts]
    rows = []
    for workload in (w for w in TIMED if w in first.workloads):
        for framework in FRAMEWORKS:
            seconds = [_median(runs[c], workload, framework) for c in counts]
            if seconds[0] is None:
                continue
            speedups = [f"{seconds[0] / s:.2f}" if s else "-" for s in seconds[1:]]
            ratios = ["-"] * len(counts)
            if framework == "ours":
                torch = [_median(runs[c], workload, "torch") for c in counts]
                ratios = [f"{s / t:.2f}" if s and t else "-" for s, t in zip(seconds, torch)]
            rows.append(
                [workload, NAMES[framework], *(f"{s:.3g}" if s else "-" for s in seconds), *speedups, *ratios]
            )
    out = [f"threads sweep, unpinned, medians of {len(runs[counts[0]])} round(s), the counts interleaved:"]
    out += format_table(header, rows, "ll" + "r" * (len(header) - 2))
    out.append(
        "seconds per timed run (W4 and W7 too); x at N: the smallest count's time over N's; "
        "ours/PyTorch: times, lower is better"
    )
    for count, results in runs.items():
        seen = ", ".join(f"{p['cores_seen']:.2f}" for r in results for p in r.probes)
        out.append(f"core probe at {count} thread(s) ({count} spinning process(es)): saw {seen}")
    env = first.environment
    blas = env.get("blas") or {}
    out.append(
        f"machine: {env['cpu']}, {env['usable_cores']} usable cores of {env['cores']}; NumPy BLAS "
        f"{blas.get('internal_api', '?')} {blas.get('architecture', '?')}; OPENBLAS_CORETYPE "
        + (f"set to {env['OPENBLAS_CORETYPE']}" if env.get("OPENBLAS_CORETYPE") else "unset")
    )
    return "\n".join(out)


def sweep_json(runs: dict[int, list[Results]]) -> dict[str, Any]:
    """Every run of the sweep as ``results_json`` gives it, by thread count."""
    return {"threads": {str(count): [results_json(r) for r in results] for count, results in runs.items()}}
