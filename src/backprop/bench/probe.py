"""How many cores a run really had: ``core_probe`` spins N processes at once and adds up their CPU time.

Each child busy-waits from a common start time for ``seconds`` of wall time and reports the
CPU time it got; the sum over the window is the number of cores the N children saw together
(N on an idle machine, less when other work takes turns on the same cores). The benchmark
records one probe per round, and marks rounds whose probe saw fewer cores than it asked for.
"""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

# Fewer than this share of the asked cores marks a round as short of cores.
SHORT_OF_CORES = 0.9

_SPIN = """
import sys, time
start, seconds = float(sys.argv[1]), float(sys.argv[2])
while time.time() < start:
    time.sleep(0.001)
cpu, end = time.process_time(), time.perf_counter() + seconds
while time.perf_counter() < end:
    pass
print(time.process_time() - cpu)
"""


def core_probe(cores: int, seconds: float = 0.25) -> dict[str, Any]:
    """``{"asked": cores, "cores_seen": float, "short": bool}``: the cores ``cores`` spinning processes got.

    Children inherit this process's affinity, so under a pinned run the probe measures the
    share of the pinned core the benchmark had.
    """
    if cores < 1:
        raise ValueError(f"core_probe: cores must be at least 1, got {cores}")
    start = time.time() + 0.3  # after every child has started Python
    children = [
        subprocess.Popen(
            [sys.executable, "-S", "-c", _SPIN, repr(start), repr(seconds)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(cores)
    ]
    total = 0.0
    for child in children:
        out, _ = child.communicate(timeout=60)
        total += float(out.strip() or 0.0)
    seen = total / seconds
    return {"asked": cores, "cores_seen": round(seen, 2), "short": seen < SHORT_OF_CORES * cores}
