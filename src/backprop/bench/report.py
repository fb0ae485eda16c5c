"""The report: one table (values, ratios, share of the GEMM peak, issue 11's targets) and notes under it.

Every ratio is ours / theirs in TIME (W4 too, whose row shows samples/s): below 1 we are
faster. W2 has two PyTorch peers, channels-last (the target's) and NCHW. A share of the GEMM
peak above 100% cannot be a real figure (the peak was measured while a neighbour held the
core): it is reported as a measurement error, never printed as a share.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict
from typing import Any

from ..tables import format_table
from .results import Results
from .workloads import FRAMEWORKS, NAMES, TIMED, flops_per_sample, runs_on, spec_of

RATES = ("infer", "cnn-infer")  # rows in samples/s, higher is better

CORETYPE_WARNING = (
    "OPENBLAS_CORETYPE={value} is set: NumPy's GEMM is forced to that core type's kernels "
    "(Haswell: AVX2, about half the speed on AVX-512 machines); run with env -u OPENBLAS_CORETYPE"
)


_TARGETS = {
    "mlp": "PyTorch <= 0.75, JAX <= 0.95",
    "cnn": "PyTorch <= 1.1, JAX <= 1.0",
    "sigmoid-mlp": "PyTorch <= 0.35, JAX <= 0.9",
    "infer": "PyTorch <= 1.0",
    "lenet5": "PyTorch <= 1.3",
    "resnet": "PyTorch <= 1.3",
    "cnn-infer": "PyTorch <= 1.0",
    "cnn-latency": "PyTorch <= 1.0",
    "memory": "ours <= 50 MB",
}
# Issue 11's targets (W5 and W6: issue 21's), ratio of times ours / theirs: framework -> the most it may be.
_LIMITS = {
    "mlp": {"torch": 0.75, "jax": 0.95},
    "cnn": {"torch": 1.1, "jax": 1.0},
    "sigmoid-mlp": {"torch": 0.35, "jax": 0.9},
    "infer": {"torch": 1.0},
    "lenet5": {"torch": 1.3},
    "resnet": {"torch": 1.3},
    "cnn-infer": {"torch": 1.0},
    "cnn-latency": {"torch": 1.0},
}
PEERS = ("torch", "torch-nchw", "jax", "jax-reshape")


def peak_share_error(share: float | None) -> bool:
    """True for a share of the GEMM peak above 100%: a measurement error, not a figure."""
    return share is not None and share > 1.0


def peak_share_text(share: float | None) -> str:
    """A share of the GEMM peak as the table prints it: ``"41.2%"``, ``"error (>100%)"`` or ``"-"``."""
    if share is None:
        return "-"
    return "error (>100%)" if peak_share_error(share) else f"{100 * share:.1f}%"


def _value(results: Results, workload: str, framework: str) -> float | None:
    """The row's figure: seconds per epoch / per N samples (W3 scaled to a whole epoch), samples/s for
    W4 and W7, microseconds per image for W8."""
    seconds = results.median(workload, framework)
    if seconds is None:
        return None
    samples = spec_of(workload, results.sizes).samples
    if workload in RATES:
        return samples / seconds
    if workload == "cnn-latency":
        return seconds / samples * 1e6
    return seconds * results.sizes.data / samples if workload == "sigmoid-mlp" else seconds


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _time_ratios(workload: str, values: dict[str, float | None]) -> dict[str, float | None]:
    """Ours / theirs in time, for every peer: W4's and W7's values are rates, so theirs / ours."""
    if workload in RATES:
        return {f: _ratio(values[f], values["ours"]) for f in PEERS}
    return {f: _ratio(values["ours"], values[f]) for f in PEERS}


def summary(results: Results) -> list[dict[str, Any]]:
    """One dict per row of the table: values, ratios (ours / theirs), % of peak, target, met."""
    rows = []
    peak = results.peak_gflops
    sizes = results.sizes
    for workload in TIMED:
        if workload not in results.seconds:
            continue
        spec = spec_of(workload, sizes)
        values = {f: _value(results, workload, f) for f in FRAMEWORKS}
        ratios = _time_ratios(workload, values)
        cpu = {f: results.median(workload, f, cpu=True) for f in FRAMEWORKS}
        cpu_ratios = {f: _ratio(cpu["ours"], cpu[f]) for f in PEERS}
        share = {}
        for f in FRAMEWORKS:
            seconds = results.median(workload, f)
            if seconds and peak:
                flops = flops_per_sample(workload, spec.train) * spec.samples
                share[f] = flops / seconds / 1e9 / peak
        checks: dict[str, bool | None] = {
            NAMES[f]: None if (ratio := ratios[f]) is None else ratio <= limit
            for f, limit in _LIMITS[workload].items()
        }
        if workload == "mlp":
            label, unit = f"W1 mlp, s / epoch of {spec.samples:,}", "s"
        elif workload == "cnn":
            label, unit = f"W2 cnn, s / {spec.samples:,} samples", "s"
        elif workload == "lenet5":
            label, unit = f"W5 lenet5, s / {spec.samples:,} samples", "s"
        elif workload == "resnet":
            label, unit = f"W6 resnet, s / {spec.samples:,} samples", "s"
        elif workload == "cnn-infer":
            label = f"W7 cnn infer, samples/s ({spec.samples:,}, batch {spec.batch_size})"
            unit = "samples/s"
        elif workload == "cnn-latency":
            label, unit = f"W8 cnn one image, us / predict call ({spec.samples:,} calls)", "us"
        elif workload == "sigmoid-mlp":
            label = f"W3 sigmoid-mlp, s / epoch of {sizes.data:,}"
            if spec.samples != sizes.data:
                label += f" (x{sizes.data / spec.samples:g} of {spec.samples:,} timed)"
            unit = "s"
        else:
            label, unit = f"W4 infer, samples/s ({spec.samples:,}, batch {spec.batch_size:,})", "samples/s"
        rows.append(
            {
                "workload": workload,
                "label": label,
                "unit": unit,
                "values": values,
                "ratios": ratios,
                "cpu_ratios": cpu_ratios,
                "peak_share": share,
                "target": _TARGETS[workload],
                "checks": checks,
            }
        )
        if workload == "sigmoid-mlp":
            steps = math.ceil(spec.samples / spec.batch_size)
            medians = {f: results.median(workload, f) for f in FRAMEWORKS}
            per_step = {f: None if v is None else v / steps * 1e6 for f, v in medians.items()}
            rows.append(
                {
                    "workload": "sigmoid-mlp-step",
                    "label": f"W3 sigmoid-mlp, us / step (batch {spec.batch_size})",
                    "unit": "us",
                    "values": per_step,
                    "ratios": {f: _ratio(per_step["ours"], per_step[f]) for f in PEERS},
                    "peak_share": {},
                    "target": "(as W3)",
                    "checks": {},
                }
            )
    if results.memory:
        values = {f: results.memory.get(f, {}).get("over_data_mb") for f in FRAMEWORKS}
        rows.append(
            {
                "workload": "memory",
                "label": "W1 peak memory over data, MB",
                "unit": "MB",
                "values": values,
                "ratios": {f: _ratio(values["ours"], values[f]) for f in PEERS},
                "peak_share": {},
                "target": _TARGETS["memory"],
                "checks": {"ours": None if values["ours"] is None else values["ours"] <= 50},
            }
        )
    return rows


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    if unit == "samples/s":
        return f"{value:,.0f}"
    if unit in ("us", "MB"):
        return f"{value:,.1f}"
    return f"{value:.3g}" if value < 100 else f"{value:,.0f}"


def _met(checks: dict[str, bool | None]) -> str:
    known = {name: ok for name, ok in checks.items() if ok is not None}
    if not known:
        return "-" if not checks else "n/a"
    failed = [name for name, ok in known.items() if not ok]
    missing = [name for name, ok in checks.items() if ok is None]
    text = "yes" if not failed else "no (" + ", ".join(failed) + ")"
    return text + (f"; {', '.join(missing)} n/a" if missing else "")


def _cell(results: Results, framework: str, workload: str, value: float | None, unit: str) -> str:
    if framework not in results.frameworks or not runs_on(framework, workload.removesuffix("-step")):
        return "-"
    if results.status.get(framework) != "ok":
        return results.status.get(framework, "-")
    if value is None:
        return "error" if framework in results.errors.get(workload, {}) else "-"
    return _number(value, unit)


def format_report(results: Results) -> str:
    """The table of issue 5 and the lines under it: GEMM peak, shares of it, memory, threads, BLAS."""
    rows = summary(results)
    env = results.environment
    out: list[str] = []
    coretype = env.get("OPENBLAS_CORETYPE")
    if coretype:
        out += ["WARNING: " + CORETYPE_WARNING.format(value=coretype), ""]
    header = ["workload", "ours", "PyTorch", "PyTorch-NCHW", "JAX", "JAX-reshape"]
    header += ["ours/PyTorch", "ours/PyTorch-NCHW", "ours/JAX", "ours/JAX-reshape"]
    header += ["% peak", "target", "met?"]
    table = []
    for row in rows:
        cells = [row["label"]]
        cells += [_cell(results, f, row["workload"], row["values"][f], row["unit"]) for f in FRAMEWORKS]
        cells += [f"{row['ratios'][f]:.2f}" if row["ratios"][f] is not None else "-" for f in PEERS]
        cells += [peak_share_text(row["peak_share"].get("ours")), row["target"], _met(row["checks"])]
        table.append(cells)
    if table:
        out += format_table(header, table, "l" + "r" * (len(header) - 3) + "ll")
        out.append(
            f"medians of {results.rounds} interleaved round(s); ratios are ours / theirs in time, lower is "
            "better (W4 and W7 too: their rows show samples/s); on W2 and W5-W8 PyTorch is channels-last and "
            "PyTorch-NCHW its default layout, JAX pools with lax.reduce_window and JAX-reshape with a "
            "reshape and max"
        )
    cpu_lines = []
    for row in rows:
        known = {f: r for f, r in row.get("cpu_ratios", {}).items() if r is not None}
        if known:
            text = ", ".join(f"ours/{NAMES[f]} {r:.2f}" for f, r in known.items())
            cpu_lines.append(f"  {row['label'].split(',')[0]}: {text}")
    if cpu_lines:
        out.append(
            "the same ratios by CPU time (time.process_time of the process, all its threads: only the "
            "time each run had the core):"
        )
        out += cpu_lines
    peak = results.peak_gflops
    if peak is not None:
        per_round = ", ".join(f"{g['gflops']:.1f}" for g in results.gemm)
        best: dict[str, float] = {}
        for g in results.gemm:
            for key, rate in g["by_size"].items():
                best[key] = max(best.get(key, 0.0), rate)
        shapes = ", ".join(f"{key} {rate:.1f}" for key, rate in best.items())
        out.append(
            f"GEMM peak: {peak:.1f} GFLOP/s (NumPy float32 a @ b, best of {results.sizes.gemm_repeats} per "
            f"shape per round; rounds: {per_round}; by shape m x k x n, best round: {shapes})"
        )
        for row in rows:
            if row["peak_share"]:
                shares = ", ".join(f"{NAMES[f]} {peak_share_text(s)}" for f, s in row["peak_share"].items())
                out.append(f"  share of peak, {row['label'].split(',')[0]}: {shares}")
        if any(peak_share_error(s) for row in rows for s in row["peak_share"].values()):
            out.append(
                "  measurement error: a share above 100% cannot be real; the GEMM peak was measured low "
                "(a neighbour held the core during it); rerun on a quieter machine"
            )
    if results.bound:
        parts = []
        for workload, rounds in results.bound.items():
            bound = statistics.median(rounds)
            of_bound = [
                f"{NAMES[f]} {seconds / bound:.2f}x"
                for f in FRAMEWORKS
                if (seconds := results.median(workload, f)) is not None
            ]
            label = {"mlp": "W1", "sigmoid-mlp": "W3"}[workload]
            parts.append(f"{label} {bound:.3g} s (" + ", ".join(of_bound) + " of it)")
        out.append(
            "GEMM-only bound (the timed run's products alone, a flat loop of NumPy matmuls, medians): "
            + "; ".join(parts)
        )
    for name, by_framework in results.compile_seconds.items():
        if name.startswith("sweep:"):
            continue
        text = ", ".join(f"{NAMES[f]} {s:.2f} s" for f, s in by_framework.items())
        out.append(f"compile time (excluded from the timings), {name}: {text}")
    if results.sweep:
        out.append("sweep, W1 training samples/s by batch size (medians):")
        batches = list(results.sizes.sweep_batches)
        sweep_rows = [
            [NAMES[f]] + [_number(v, "samples/s") for v in values]
            for f, values in sweep_series(results).items()
        ]
        header = ["batch", *map(str, batches)]
        out += format_table(header, sweep_rows, "l" + "r" * len(batches), rule=False, indent="  ")
    if results.memory:
        data_mb = next((m["data_mb"] for m in results.memory.values() if "data_mb" in m), None)
        parts = []
        for f, m in results.memory.items():
            if "error" in m:
                parts.append(f"{NAMES[f]} error: {m['error']}")
            else:
                parts.append(
                    f"{NAMES[f]} peak {m['peak_mb']:.0f} MB = {m['over_data_mb']:.0f} over "
                    f"{m['rss_with_data_mb']:.0f} with data (import {m['import_mb']:.0f})"
                )
        head = (
            f"memory (RSS, one W1 epoch, a fresh process each; data set {data_mb:.1f} MB): "
            if data_mb
            else "memory: "
        )
        out.append(head + "; ".join(parts))
    blas = env.get("blas") or {}
    blas_text = (
        f"{blas.get('internal_api', '?')} {blas.get('version', '?')}, {blas.get('architecture', '?')}, "
        f"{blas.get('threading_layer', '?')}, {blas.get('num_threads', '?')} threads"
        if blas
        else "unknown (threadpoolctl not installed)"
    )
    out.append(
        f"machine: {env['cpu']}, {env['usable_cores']} usable cores of {env['cores']}; "
        f"load average {_load(env.get('load_average'))} at start, {_load(env.get('load_average_end'))} at end"
    )
    out.append(
        f"NumPy {env['numpy']} BLAS: {blas_text}; OPENBLAS_CORETYPE "
        + (f"set to {coretype}" if coretype else "unset")
    )
    threads = env.get("threads", env["blas_threads"])
    versions = ", ".join(f"{NAMES[f]} {env[f] or 'not installed'}" for f in ("torch", "jax"))
    pinning = results.pinning
    if pinning.get("pinned"):
        out.append(
            f"pinned: every framework on core {pinning['core']} (all {pinning['threads_moved']} threads of "
            "the process moved there before the run, child processes inherit it), one thread each: "
            f"ours 1 (NumPy's BLAS, threadpoolctl), PyTorch 1 (torch.set_num_threads), JAX XLA's own pool "
            f"confined to that core; {versions}; Python {env['python']}"
        )
    else:
        why = f" ({pinning['reason']})" if pinning.get("reason") else ""
        out.append(
            f"unpinned{why}: threads: ours {threads} (NumPy's BLAS, threadpoolctl), PyTorch {threads} "
            f"(torch.set_num_threads), JAX XLA's own pool; {versions}; Python {env['python']}"
        )
    if results.probes:
        seen = ", ".join(
            f"{p['cores_seen']:.2f}" + (" SHORT" if p["short"] else "") for p in results.probes
        )
        short = [str(i) for i, p in enumerate(results.probes, 1) if p["short"]]
        out.append(
            f"core probe per round ({results.probes[0]['asked']} spinning process(es) asked for "
            f"{results.probes[0]['asked']} core(s)): saw {seen}"
            + (f"; round(s) {', '.join(short)} had fewer cores than asked" if short else "")
        )
    for name, messages in results.errors.items():
        for f, message in messages.items():
            out.append(f"error: {NAMES[f]} {name}: {message}")
    out.append(f"wall time {results.wall_seconds:.0f} s")
    return "\n".join(out)


def _load(values: list[float] | None) -> str:
    return "/".join(f"{v:.1f}" for v in values) if values else "?"


def sweep_series(results: Results) -> dict[str, list[float]]:
    """Median training samples/s per sweep batch size, per framework (NaN where not measured)."""
    series = {}
    for framework, by_batch in results.sweep.items():
        values = []
        for b in results.sizes.sweep_batches:
            seconds = by_batch.get(str(b))
            values.append(
                results.sizes.sweep_samples(b) / statistics.median(seconds) if seconds else math.nan
            )
        series[framework] = values
    return series


def results_json(results: Results) -> dict[str, Any]:
    """A JSON-ready dict: every raw timing, the environment, and the summary rows."""
    content = asdict(results)
    content["sizes"]["sweep_samples"] = {
        str(b): results.sizes.sweep_samples(b) for b in results.sizes.sweep_batches
    }
    content["peak_gflops"] = results.peak_gflops
    content["summary"] = summary(results)
    return content
