"""Run under ``mpiexec -n P``: train the cases of ``CASES`` data-parallel and save each rank's weights.

``python distributed_fit.py OUT [CASE ...]`` writes ``OUT/<case>-rank<r>.safetensors`` (the
parameters and, as ``history/<key>``, the per-epoch metrics). ``test_distributed.py`` runs the
same cases in one process and compares. Not a test module itself (pytest collects ``test_*``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import safetensors.numpy

import backprop as bp
from backprop import architectures


def case_data(name: str) -> dict[str, Any]:
    """The model, data and training settings of case ``name`` (float64, seeded: every rank equal)."""
    rng = np.random.default_rng(7)
    if name.startswith("cnn"):
        # 13 samples in batches of 5: 5, 5, 3, each split 3+2 or 2+1 across two ranks.
        x = rng.normal(size=(13, 1, 6, 6))
        y = rng.integers(0, 3, size=13)
        model = architectures.build("cnn", (1, 6, 6), 3, (6,), None, np.float64, 3)
        settings = {"epochs": 2, "batch_size": 5}
    elif name == "batchnorm-first":
        # BatchNorm on the data itself, in batches of 8 (4 + 4 per rank; the last 4 is 2 + 2).
        x = rng.normal(loc=3.0, scale=2.0, size=(36, 5))
        y = rng.integers(0, 3, size=36)
        model = bp.Sequential(
            bp.BatchNorm1d(5, dtype=np.float64), bp.Linear(5, 8, dtype=np.float64, rng=3), bp.ReLU(),
            bp.Linear(8, 3, dtype=np.float64, rng=4),
        )
        settings = {"epochs": 3, "batch_size": 8}
    else:
        # 36 samples in batches of 7 (or 8): the last batch of 1 leaves rank 1 without a sample.
        x = rng.normal(size=(36, 5))
        y = rng.integers(0, 3, size=36)
        model = architectures.build("mlp", (5,), 3, (8, 6), None, np.float64, 3)
        settings = {"epochs": 3, "batch_size": 8 if name == "mlp-even" else 7}
    x_val, y_val = rng.normal(size=(9, *x.shape[1:])), rng.integers(0, 3, size=9)
    optimizer = bp.SGD(model, 0.05, momentum=0.9, weight_decay=1e-3)
    schedule = bp.CosineLR(optimizer, settings["epochs"])
    return {
        "model": model,
        "loss": bp.SoftmaxCrossEntropy(),
        "optimizer": optimizer,
        "x": x,
        "y": y,
        "validation_data": (x_val, y_val),
        "schedule": schedule,
        "seed": 11,
        "progress": False,
        **settings,
    }


#: case name -> the weighting of the shard gradients
CASES = {
    "mlp-even": "samples", "mlp-odd": "samples", "cnn-odd": "samples", "mlp-odd-ranks": "ranks",
    "batchnorm-first": "samples",
}


def train(name: str, distributed: Any = None) -> tuple[dict[str, np.ndarray], dict[str, list[float]]]:
    """Train case ``name``; the final parameters (and buffers, as ``buffer/<name>``) and the history lists."""
    setup = case_data(name)
    model = setup.pop("model")
    history = bp.fit(
        model,
        setup.pop("loss"),
        setup.pop("optimizer"),
        setup.pop("x"),
        setup.pop("y"),
        distributed=distributed,
        **setup,
    )
    buffers = {f"buffer/{key}": value.copy() for key, value in model.buffers.items()}
    return model.state_dict() | buffers, {key: values for key, values in history.items() if values}


def main(out: Path, names: list[str]) -> None:
    from mpi4py import MPI

    from backprop.distributed import DataParallel

    for name in names:
        parallel = DataParallel(MPI.COMM_WORLD, check_every=2, weighting=CASES[name])
        weights, history = train(name, parallel)
        tensors = dict(weights) | {f"history/{key}": np.asarray(v) for key, v in history.items()}
        safetensors.numpy.save_file(tensors, str(out / f"{name}-rank{parallel.rank}.safetensors"))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:] or list(CASES))
