"""The report: the table of issue 5 (values, ratios, share of the GEMM peak, targets) and notes under it."""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict
from typing import Any

from ..tables import format_table
from .results import Results
from .workloads import FRAMEWORKS, NAMES, TIMED, flops_per_sample, spec_of

CORETYPE_WARNING = (
    "OPENBLAS_CORETYPE={value} is set: NumPy's GEMM is forced to that core type's kernels "
    "(Haswell: AVX2, about half the speed on AVX-512 machines); run with env -u OPENBLAS_CORETYPE"
)


_TARGETS = {
    "mlp": "PyTorch <= 0.5, JAX <= 1.0, peak >= 60%",
    "cnn": "<= 1.0 x faster of PyTorch, JAX",
    "sigmoid-mlp": "PyTorch <= 0.5, JAX <= 1.0",
    "infer": "PyTorch >= 1.2",
    "memory": "ours <= 50 MB",
}


def _value(results: Results, workload: str, framework: str) -> float | None:
    """The row's figure: seconds per epoch / per N samples (W3 scaled to a whole epoch), samples/s for W4."""
    seconds = results.median(workload, framework)
    if seconds is None:
        return None
    samples = spec_of(workload, results.sizes).samples
    if workload == "infer":
        return samples / seconds
    return seconds * results.sizes.data / samples if workload == "sigmoid-mlp" else seconds


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


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
        ratios = {f: _ratio(values["ours"], values[f]) for f in ("torch", "jax")}
        share = {}
        for f in FRAMEWORKS:
            seconds = results.median(workload, f)
            if seconds and peak:
                flops = flops_per_sample(workload, spec.train) * spec.samples
                share[f] = flops / seconds / 1e9 / peak
        checks: dict[str, bool | None] = {}
        if workload in ("mlp", "sigmoid-mlp"):
            checks["PyTorch"] = None if ratios["torch"] is None else ratios["torch"] <= 0.5
            checks["JAX"] = None if ratios["jax"] is None else ratios["jax"] <= 1.0
            if workload == "mlp":
                # Over 100% of the measured peak cannot be: the GEMM or the workload was timed
                # on a busy machine, so the target is neither met nor missed.
                checks["peak"] = None if "ours" not in share or share["ours"] > 1 else share["ours"] >= 0.6
        elif workload == "cnn":
            theirs = [v for f, v in values.items() if f != "ours" and v is not None]
            checks["faster of PyTorch, JAX"] = (
                None if not theirs or values["ours"] is None else values["ours"] <= min(theirs)
            )
        elif workload == "infer":
            checks["PyTorch"] = None if ratios["torch"] is None else ratios["torch"] >= 1.2
        if workload == "mlp":
            label, unit = f"W1 mlp, s / epoch of {spec.samples:,}", "s"
        elif workload == "cnn":
            label, unit = f"W2 cnn, s / {spec.samples:,} samples", "s"
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
                    "ratios": {f: _ratio(per_step["ours"], per_step[f]) for f in ("torch", "jax")},
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
                "ratios": {f: _ratio(values["ours"], values[f]) for f in ("torch", "jax")},
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
    if framework not in results.frameworks:
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
    header = ["workload", "ours", "PyTorch", "JAX", "ours/PyTorch", "ours/JAX", "% peak", "target", "met?"]
    table = []
    for row in rows:
        share = row["peak_share"].get("ours")
        cells = [row["label"]]
        cells += [_cell(results, f, row["workload"], row["values"][f], row["unit"]) for f in FRAMEWORKS]
        cells += [
            f"{r:.2f}" if r is not None else "-" for r in (row["ratios"]["torch"], row["ratios"]["jax"])
        ]
        cells += [_share(share) if share is not None else "-", row["target"], _met(row["checks"])]
        table.append(cells)
    if table:
        out += format_table(header, table, "l" + "r" * (len(header) - 3) + "ll")
        out.append(
            f"medians of {results.rounds} interleaved round(s); ratios are ours / theirs in the row's unit "
            "(lower is better, except W4 samples/s)"
        )
    peak = results.peak_gflops
    if peak is not None:
        sizes = "/".join(str(n) for n in results.sizes.gemm_sizes)
        per_round = ", ".join(f"{g['gflops']:.1f}" for g in results.gemm)
        out.append(
            f"GEMM peak: {peak:.1f} GFLOP/s (NumPy float32 a @ b, n = {sizes}, best of "
            f"{results.sizes.gemm_repeats} per round; rounds: {per_round})"
        )
        for row in rows:
            if row["peak_share"]:
                shares = ", ".join(f"{NAMES[f]} {_share(s)}" for f, s in row["peak_share"].items())
                out.append(f"  share of peak, {row['label'].split(',')[0]}: {shares}")
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
    how = "limited by --threads" if env.get("threads_requested") else "its own count"
    versions = ", ".join(f"{NAMES[f]} {env[f] or 'not installed'}" for f in ("torch", "jax"))
    out.append(
        f"threads: ours {threads} (NumPy's BLAS, {how}), PyTorch {threads} (torch.set_num_threads), "
        f"JAX XLA's own pool; {versions}; Python {env['python']}"
    )
    for name, by_framework in results.errors.items():
        for f, message in by_framework.items():
            out.append(f"error: {NAMES[f]} {name}: {message}")
    out.append(f"wall time {results.wall_seconds:.0f} s")
    return "\n".join(out)


def _share(share: float) -> str:
    """A share of the GEMM peak as a percentage; over 100% is a noisy measurement, said as such."""
    return f"{100 * share:.1f}%" if share <= 1 else "over 100%: noisy timing"


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
