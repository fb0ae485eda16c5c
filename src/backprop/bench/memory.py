"""Peak memory of one W1 epoch, each framework in a fresh process (``python -m backprop.bench --memory``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from .trials import TRIALS
from .workloads import Sizes, make_data, spec_of


def _rss_mb() -> float:
    """The resident set size now, MB (Linux), else the peak so far."""
    try:
        with open("/proc/self/statm", encoding="ascii") as file:
            return int(file.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError):
        return _peak_rss_mb()


def _peak_rss_mb() -> float:
    """The peak resident set size of this process, MB.

    Linux's ``ru_maxrss`` would carry the parent's peak over ``fork`` and ``exec`` (the kernel
    keeps the old address space's high-water mark), so read this address space's own
    ``VmHWM`` where there is one.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as file:
            for line in file:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / 1e6
    except (OSError, ValueError, IndexError):
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e6 if sys.platform == "darwin" else peak * 1024 / 1e6  # bytes on macOS, KiB elsewhere


def memory_peak(framework: str, samples: int = 60_000, threads: int | None = None) -> dict[str, float]:
    """In THIS process: RSS after import, after the data, and the peak over one W1 epoch, MB.

    Meant for a fresh process (``python -m backprop.bench --memory FRAMEWORK``): the peak is
    the process's own, since it started.
    """
    start = _rss_mb()
    if framework != "ours":
        __import__(framework)
    imported = _rss_mb()
    data = make_data(samples)
    with_data = _rss_mb()
    trial = TRIALS[framework](spec_of("mlp", Sizes(data=samples)), data, threads or os.cpu_count() or 1)
    seconds = trial.measure()
    peak = _peak_rss_mb()
    return {
        "start_mb": start,
        "import_mb": imported - start,
        "data_mb": data.megabytes,
        "rss_with_data_mb": with_data,
        "peak_mb": peak,
        "over_data_mb": peak - with_data,
        "epoch_seconds": seconds,
    }


def memory_in_subprocess(
    framework: str, samples: int, threads: int, limit_blas: int | None
) -> dict[str, Any]:
    """``memory_peak`` of ``framework`` in a fresh Python process; ``{"error": message}`` if it fails."""
    command = [sys.executable, "-m", "backprop.bench", "--memory", framework, "--samples", str(samples)]
    command += ["--threads", str(threads)] + ([] if limit_blas is None else ["--limit-blas"])
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    except subprocess.TimeoutExpired:
        return {"error": "timed out after 30 minutes"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        return {"error": last}
    return json.loads(lines[-1])
