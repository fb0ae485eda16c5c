"""Every script in benchmarks/ runs, on tiny sizes, against the package as it is now.

The scripts are investigations (``benchmarks/README.md``) that no other test imports, so they rot
silently when the package changes (one once imported a renamed function). Each ``*.py`` there,
found by a glob, must have its tiny command lines in ``TINY`` (a new script without one fails
``test_every_script_has_a_tiny_command``, which runs in the fast lane); each command runs as a
real process, as a user types it (``python benchmarks/SCRIPT ARGS``, from a temporary folder),
must exit 0 within seconds and print what the script reports: each pattern must match its
stdout. The numbers mean nothing at these sizes; only that they are numbers.

The processes get one BLAS thread and their own empty ``TMPDIR``, which must be empty again at
the end (``step_ab.py`` exports a git revision into a temporary folder: it must remove it).
``distributed_scaling.py`` launches ``mpiexec`` from the environment, like
``tests/test_distributed.py``: its test is marked ``mpi`` and fails, never skips, without it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
BENCHMARKS = REPOSITORY / "benchmarks"
SCRIPTS = sorted(path.name for path in BENCHMARKS.glob("*.py"))
MPIEXEC = Path(sys.executable).with_name("mpiexec")
#: In a command's arguments: the test's folder for files the command writes.
OUT = "{out}"
NUMBER = r"-?[\d,]+(?:\.\d+)?"


@dataclass(frozen=True)
class Tiny:
    """One command line of a script at tiny sizes, and patterns (regular expressions) its stdout must match."""

    args: tuple[str, ...]
    patterns: tuple[str, ...]


def core() -> str:
    """A core this process may run on: the scripts that pin themselves default to core 0."""
    return str(min(os.sched_getaffinity(0)))


#: script -> its tiny commands. A new script in benchmarks/ must add its own here.
TINY: dict[str, tuple[Tiny, ...]] = {
    "distributed_scaling.py": (
        # the report of the recorded runs (no MPI), then a whole measurement at one step per epoch
        Tiny(("--from-json", str(BENCHMARKS / "distributed.json")), (
            rf"\| mlp \| 2 ranks x 1 thread \| {NUMBER} \| {NUMBER}x \| {NUMBER}% \|",
            rf"## Projected: cnn, {NUMBER} us per sample \(1 thread\)",
        )),
        Tiny(("--quick", "--rounds", "1", "--json", f"{OUT}/runs.json"), (
            *(rf"\| {w} \| {c} \| {NUMBER} \| {NUMBER}x \|" for w in ("mlp", "cnn")
              for c in ("1 proc x 1 thread", "1 rank x 1 thread", "2 ranks x 1 thread", "1 proc x 2 threads")),
            rf"\| cnn \| 2 ranks x 1 thread \| {NUMBER} \| {NUMBER}x \| {NUMBER}% \|",
            rf"mlp: one Allreduce of its gradients alone, 2 ranks in lockstep: {NUMBER} ms",
            rf"## Projected: mlp, {NUMBER} us per sample",
            rf"\| 100 Gbit/s, 2 us \| 512 \| {NUMBER} \| {NUMBER} \| {NUMBER}% \|",
        )),
    ),
    "epoch_time.py": (
        Tiny(("cnn", "--rounds", "1", "--samples", "64"), (
            r"^cnn: 64 samples, batch 64, core \d+",
            rf"round 1: wall {NUMBER} s, user {NUMBER} s, system {NUMBER} s, page faults {NUMBER}",
        )),
    ),
    "gemm_orientations.py": (  # its products are fixed; one round of them takes half a second
        Tiny(("--rounds", "1"), (
            r"1 thread, pinned",
            rf"\(1000x784\)@\(784x256\): x @ W\.T +{NUMBER} \[",
            rf"\(10x100\)@\(100x10\): .* x @ W\.T, blocks of 250 +{NUMBER} \[",
        )),
    ),
    "profile_ours.py": (
        Tiny(("mlp", "--samples", "256", "--top", "3"), (
            rf"^mlp: 256 samples, batch 128: {NUMBER} s \(cProfile\)",
            r"ncalls +tottime +percall +cumtime",
        )),
    ),
    "sklearn_mlp.py": (
        # the smallest data set (diabetes, 353 samples), each solver for 3 epochs or iterations
        Tiny(("--only", "diabetes", "--rounds", "1", "--threads", "1", "--max-iter", "3"), (
            r"diabetes: hidden \(32,\), adam .*, 3 epochs",
            r"diabetes: hidden \(32,\), lbfgs .*, 3 iterations",
            rf"test R\^2 \(mean of 1\): ours {NUMBER} +MLPRegressor {NUMBER}",
            r"ours +per round \(wall/CPU/score/iterations\): [\d.]+s/[\d.]+s/-?[\d.]+/3",
        )),
        Tiny(("--only", "diabetes", "--profile", "2"), (
            r"2 epochs: NeuralNetRegressor",
            r"2 epochs: MLPRegressor",
            r"ncalls +tottime",
        )),
    ),
    "step_ab.py": (
        # HEAD against this tree: the same code, unless the tree has changes not yet committed
        Tiny(("--against", "HEAD", "--workloads", "mlp,sigmoid-mlp", "--rounds", "1", "--samples", "200",
              "--core", "{core}"), (
            r"^mlp: 1 rounds of one epoch, core \d+, .*against HEAD",
            rf"new / old: wall {NUMBER}, CPU {NUMBER}; new faster in [01] of 1 rounds",
            r"(?s)mlp: .*old and new end with the same weights: (True|False)"
            r".*sigmoid-mlp: .*old and new end with the same weights: (True|False)",
        )),
    ),
    "step_micro.py": (  # every part, once: about 4 s
        Tiny(("--rounds", "1", "--core", "{core}"), (
            rf"fused, batch 128, weight 256 x 784 = 200,704: ordinary {NUMBER} us, fused {NUMBER} us",
            rf"address of an array: a\.ctypes\.data {NUMBER} us, buffer protocol {NUMBER} us",
            rf"gather, batch 128: x\[index\], y\[index\] {NUMBER} us, np\.take {NUMBER} us",
            rf"loss at the step level, .*candidate / ours {NUMBER}, candidate faster in \d of 5",
        )),
    ),
    "step_pieces.py": (
        Tiny(("mlp", "--steps", "2"), (
            rf"^mlp, batch 128, 2 steps, load {NUMBER}: {NUMBER} ms per step",
            rf"{NUMBER} ms +{NUMBER}% +backward 0 Linear\(784 -> 256\) \(parameters only\)",
            r"SGD update \(what the backward did not fuse\)",
        )),
        Tiny(("cnn", "--steps", "2", "--unfused"), (
            rf"^cnn, batch 64, 2 steps, load {NUMBER}: {NUMBER} ms per step",
            r"backward 0 ConvReLUPool\(Conv2d\(1 -> 32.* \(parameters only\)",
            r"ms +[\d.]+% +SGD update$",
        )),
    ),
}


def test_every_script_has_a_tiny_command() -> None:
    assert SCRIPTS, f"no scripts found in {BENCHMARKS}"
    missing = [name for name in SCRIPTS if not TINY.get(name)]
    assert not missing, (
        f"benchmarks/{', '.join(missing)}: register a tiny-size command line in TINY in {Path(__file__).name}"
        " (add an option such as --quick or --samples to the script where it has no way to run small)"
    )
    stale = sorted(set(TINY) - set(SCRIPTS))
    assert not stale, f"TINY names scripts that benchmarks/ no longer has: {', '.join(stale)}"


def run_script(name: str, tiny: Tiny, folder: Path) -> subprocess.CompletedProcess[str]:
    out, temporary, cwd = folder / "out", folder / "tmp", folder / "cwd"
    for path in (out, temporary, cwd):
        path.mkdir(parents=True)
    args = [arg.replace(OUT, str(out)).replace("{core}", core()) for arg in tiny.args]
    env = os.environ | {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "TMPDIR": str(temporary)}
    result = subprocess.run([sys.executable, str(BENCHMARKS / name), *args], capture_output=True, text=True,
                            timeout=180, cwd=cwd, env=env)
    command = f"python benchmarks/{name} {' '.join(args)}"
    assert result.returncode == 0, f"{command} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    for pattern in tiny.patterns:
        assert re.search(pattern, result.stdout, re.MULTILINE), f"{command}: no {pattern!r} in:\n{result.stdout}"
    assert "Traceback" not in result.stderr, result.stderr
    assert not any(temporary.iterdir()), f"{command} left {sorted(p.name for p in temporary.iterdir())} in TMPDIR"
    assert not any(cwd.iterdir()), f"{command} wrote {sorted(p.name for p in cwd.iterdir())} in its folder"
    return result


def _param(name: str):
    if name == "distributed_scaling.py":
        return pytest.param(name, marks=pytest.mark.mpi, id=name)
    return pytest.param(name, id=name)


@pytest.mark.slow
@pytest.mark.parametrize("name", [_param(name) for name in SCRIPTS])
def test_script_runs_on_tiny_sizes(name: str, tmp_path: Path) -> None:
    if not TINY.get(name):
        pytest.fail(f"benchmarks/{name} has no tiny command in TINY", pytrace=False)
    if name == "distributed_scaling.py":
        assert MPIEXEC.exists(), f"no {MPIEXEC}: needs the mpi extra (pip install -e '.[mpi]')"
    for number, tiny in enumerate(TINY[name]):
        run_script(name, tiny, tmp_path / str(number))
    if name == "distributed_scaling.py":
        runs = json.loads((tmp_path / "1" / "out" / "runs.json").read_text())
        assert set(runs) == {"mlp", "cnn", "allreduce_alone"}
        for workload in ("mlp", "cnn"):
            for config, results in runs[workload].items():
                assert len(results) == 1 and results[0]["samples_per_second"] > 0, (workload, config)
        assert runs["mlp"]["2 ranks x 1 thread"][0]["world_size"] == 2
