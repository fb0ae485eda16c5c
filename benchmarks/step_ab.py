"""A/B of ``fit``'s training step in one process: a git revision's code against this tree's.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/step_ab.py \
        --against 15f2fef --workloads mlp,sigmoid-mlp --rounds 9 --core 0

Three variants: ``old`` (the revision's ``src/``, exported with ``git archive`` and imported
under the name ``backprop`` first, then moved aside in ``sys.modules``), ``new`` (this tree,
SGD's default: the fused update) and ``new-unfused`` (this tree, ``SGD(fused=False)``). The
process pins itself to ``--core`` and limits NumPy's BLAS to one thread, makes the benchmark's
data once (``bench.make_data``), warms every variant up, then runs the rounds: in each, every
variant trains one epoch of ``bp.fit`` exactly as ``backprop bench`` does (W1: batch 128, lr
0.1; W3: batch 10, lr 3.0; 60,000 samples), the order rotating round by round so a neighbour
slows them alike. Prints the medians of wall and CPU time (``time.process_time``: only the
time the process had the core), the ratios, how many rounds each pair won, and whether
``old`` ended with the same weights as the variant that runs its operations (it should: that
shows the old code really ran): ``new-unfused`` for a revision from before the fused update,
``new`` for one whose SGD fuses too (the fused update rounds differently). The revision is
exported into a temporary folder, removed at the end. ``--samples N`` trains on the first N
samples instead of 60,000 (``tests/test_benchmark_scripts.py`` runs ``--against HEAD
--workloads mlp,sigmoid-mlp --rounds 1 --samples 200``).
"""

from __future__ import annotations

import argparse
import inspect
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]


def import_old(revision: str, folder: Path) -> ModuleType:
    """The revision's ``backprop`` package, imported and then hidden from later imports."""
    archive = folder / "old.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "-C", str(ROOT), "archive", revision, "src"], stdout=out, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(folder, filter="data")
    for name in [name for name in sys.modules if name == "backprop" or name.startswith("backprop.")]:
        del sys.modules[name]
    sys.path.insert(0, str(folder / "src"))
    import backprop.bench.ours  # noqa: F401  (the old one: its modules all load now)

    old = sys.modules["backprop"]
    assert Path(old.__file__).is_relative_to(folder), f"imported {old.__file__}, not the revision's"
    for name in [name for name in sys.modules if name == "backprop" or name.startswith("backprop.")]:
        sys.modules[f"old_{name}"] = sys.modules.pop(name)
    sys.path.pop(0)
    return old


def epoch(
    bp: ModuleType, workload: str, x: np.ndarray, y: np.ndarray, **options: Any
) -> tuple[float, float, Any]:
    spec = bp.bench.spec_of(workload, bp.bench.FULL)
    model = bp.bench.ours.our_model(spec.model)
    optimizer = bp.SGD(model, spec.lr, **options)
    wall, cpu = time.perf_counter(), time.process_time()
    bp.fit(model, bp.SoftmaxCrossEntropy(), optimizer, x, y, epochs=1, batch_size=spec.batch_size,
           progress=False, seed=0)
    return time.perf_counter() - wall, time.process_time() - cpu, model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="HEAD", help="the git revision to compare with (default HEAD)")
    parser.add_argument("--workloads", default="mlp,sigmoid-mlp")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--core", type=int, default=0)
    parser.add_argument("--samples", type=int, help="samples per epoch (default: the benchmark's 60,000)")
    args = parser.parse_args()
    os.sched_setaffinity(0, {args.core})
    threadpool_limits(1, user_api="blas")
    with tempfile.TemporaryDirectory() as folder:
        old = import_old(args.against, Path(folder))
        import backprop as new
        import backprop.bench.ours

        assert new is not old and Path(new.__file__).is_relative_to(ROOT / "src"), new.__file__
        data = new.bench.make_data(args.samples or new.bench.FULL.data)
        x, y = data.x.reshape(len(data.x), -1), data.y
        variants = {"old": (old, {}), "new": (new, {}), "new-unfused": (new, {"fused": False})}
        # The fused update rounds differently: compare old with the variant that runs its operations.
        twin = "new" if "fused" in inspect.signature(old.SGD).parameters else "new-unfused"
        for workload in args.workloads.split(","):
            weights = {name: epoch(bp, workload, x, y, **opts)[2] for name, (bp, opts) in variants.items()}
            wall: dict[str, list[float]] = {name: [] for name in variants}
            cpu: dict[str, list[float]] = {name: [] for name in variants}
            names = list(variants)
            for round_ in range(args.rounds):
                for name in names[round_ % 3 :] + names[: round_ % 3]:
                    bp, options = variants[name]
                    seconds, processor, _ = epoch(bp, workload, x, y, **options)
                    wall[name].append(seconds)
                    cpu[name].append(processor)
            print(f"{workload}: {args.rounds} rounds of one epoch, core {args.core}, "
                  f"load {os.getloadavg()[0]:.1f}, against {args.against}")
            for name in variants:
                print(f"  {name:12s} wall median {statistics.median(wall[name]):.4f} s, "
                      f"CPU median {statistics.median(cpu[name]):.4f} s; wall rounds "
                      + " ".join(f"{v:.3f}" for v in wall[name]))
            for a, b in (("new", "old"), ("new", "new-unfused"), ("new-unfused", "old")):
                ratio = statistics.median(wall[a]) / statistics.median(wall[b])
                cpu_ratio = statistics.median(cpu[a]) / statistics.median(cpu[b])
                wins = sum(p < q for p, q in zip(wall[a], wall[b]))
                print(f"  {a} / {b}: wall {ratio:.3f}, CPU {cpu_ratio:.3f}; "
                      f"{a} faster in {wins} of {args.rounds} rounds")
            same = all(
                np.array_equal(weights["old"].params[k], weights[twin].params[k])
                for k in weights["old"].params
            )
            print(f"  old and {twin} end with the same weights: {same}")


if __name__ == "__main__":
    main()
