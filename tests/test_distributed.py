"""Data-parallel training over MPI (``bp.distributed``, ``backprop train --distributed``).

Each test launches ``mpiexec -n 2`` from the environment's own MPI (the ``mpich`` wheel puts it
next to the interpreter) as a subprocess, on small float64 problems, and compares with the
same training in this process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import distributed_fit
import numpy as np
import pytest
import safetensors.numpy

from backprop.distributed import shard_bounds

HERE = Path(__file__).parent
MPIEXEC = Path(sys.executable).with_name("mpiexec")
BACKPROP = Path(sys.executable).with_name("backprop")
pytestmark = pytest.mark.skipif(not MPIEXEC.exists(), reason="needs the mpi extra: pip install -e '.[mpi]'")


def mpiexec(*command: str, timeout: float = 60, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = os.environ | {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [str(MPIEXEC), "-n", "2", *command],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=cwd,
    )


@pytest.fixture(scope="module")
def distributed_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every case of ``distributed_fit.CASES`` trained by two ranks (one launch for all)."""
    out = tmp_path_factory.mktemp("distributed")
    done = mpiexec(sys.executable, str(HERE / "distributed_fit.py"), str(out))
    assert done.returncode == 0, done.stderr
    return out


def _rank(out: Path, case: str, rank: int) -> dict[str, np.ndarray]:
    return safetensors.numpy.load_file(str(out / f"{case}-rank{rank}.safetensors"))


def _max_relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


@pytest.mark.parametrize("case", ["mlp-even", "mlp-odd", "cnn-odd"])
def test_two_ranks_match_one_process(distributed_runs: Path, case: str) -> None:
    weights, history = distributed_fit.train(case)
    saved = _rank(distributed_runs, case, 0)
    for name, value in weights.items():
        assert _max_relative(saved[name], value) < 1e-6, name
        # and the weights really moved: the comparison is not of two initialisations
        assert not np.allclose(value, distributed_fit.case_data(case)["model"].params[name])
    for key, values in history.items():
        np.testing.assert_allclose(saved[f"history/{key}"], values, rtol=1e-6)


def test_unweighted_average_of_shards_is_measurably_wrong(distributed_runs: Path) -> None:
    """The negative control: 1/P per shard instead of n_r/B, on batches 2 does not divide."""
    weights, _ = distributed_fit.train("mlp-odd")
    saved = _rank(distributed_runs, "mlp-odd-ranks", 0)
    worst = max(_max_relative(saved[name], value) for name, value in weights.items())
    assert worst > 1e-3


@pytest.mark.parametrize("case", list(distributed_fit.CASES))
def test_parameters_are_identical_across_ranks(distributed_runs: Path, case: str) -> None:
    rank0, rank1 = _rank(distributed_runs, case, 0), _rank(distributed_runs, case, 1)
    assert rank0.keys() == rank1.keys()
    for name in rank0:
        assert np.array_equal(rank0[name], rank1[name]), name


def test_shards_are_contiguous_and_differ_by_at_most_one() -> None:
    for size in (1, 2, 3, 8):
        for batch in range(0, 20):
            bounds = [shard_bounds(100, 100 + batch, rank, size) for rank in range(size)]
            assert bounds[0][0] == 100 and bounds[-1][1] == 100 + batch
            assert all(bounds[r][1] == bounds[r + 1][0] for r in range(size - 1))
            sizes = [hi - lo for lo, hi in bounds]
            assert max(sizes) - min(sizes) <= 1


def test_import_backprop_does_not_import_mpi4py() -> None:
    code = "import sys, backprop; assert 'mpi4py' not in sys.modules; backprop.distributed; print('mpi4py' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
