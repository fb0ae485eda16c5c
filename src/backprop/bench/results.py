"""``Results``: everything one benchmark run measured, raw, with the medians the report reads."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from .workloads import Sizes


@dataclass
class Results:
    """Everything one run measured, raw (per round) and as written to ``--json``."""

    sizes: Sizes
    rounds: int
    workloads: list[str]
    frameworks: list[str]
    environment: dict[str, Any]
    status: dict[str, str] = field(default_factory=dict)  # framework -> "ok", "not installed", error
    gemm: list[dict[str, Any]] = field(default_factory=list)  # one per round
    probes: list[dict[str, Any]] = field(default_factory=list)  # one core probe per round
    pinning: dict[str, Any] = field(default_factory=dict)  # pinned_to_one_core's record, or pinned False
    seconds: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # workload -> fw -> rounds
    cpu_seconds: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # the same, CPU time
    errors: dict[str, dict[str, str]] = field(default_factory=dict)  # workload -> fw -> message
    compile_seconds: dict[str, dict[str, float]] = field(default_factory=dict)
    sweep: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # fw -> batch -> rounds
    memory: dict[str, dict[str, Any]] = field(default_factory=dict)
    bound: dict[str, list[float]] = field(default_factory=dict)  # workload -> GEMM-only seconds per round
    wall_seconds: float = 0.0

    @property
    def peak_gflops(self) -> float | None:
        return max((g["gflops"] for g in self.gemm), default=None)

    def median(self, workload: str, framework: str, cpu: bool = False) -> float | None:
        """The median over rounds of wall seconds (``cpu=True``: CPU seconds), None if not measured."""
        values = (self.cpu_seconds if cpu else self.seconds).get(workload, {}).get(framework)
        return statistics.median(values) if values else None
