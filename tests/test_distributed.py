"""Data-parallel training over MPI (``bp.distributed``, ``backprop train --distributed``).

Each test launches ``mpiexec -n 2`` from the environment's own MPI (the ``mpich`` wheel puts it
next to the interpreter) as a subprocess, on small float64 problems, and compares with the
same training in this process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import distributed_fit
import numpy as np
import pytest
import safetensors.numpy
from conftest import skip_or_fail_in_ci

import backprop as bp
from backprop.cli import main
from backprop.distributed import shard_bounds

pytestmark = pytest.mark.mpi
HERE = Path(__file__).parent
MPIEXEC = Path(sys.executable).with_name("mpiexec")
BACKPROP = Path(sys.executable).with_name("backprop")
if not MPIEXEC.exists():
    skip_or_fail_in_ci(f"no {MPIEXEC}: needs the mpi extra (pip install -e '.[mpi]')")


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


def test_batchnorm_running_statistics_are_averaged_and_its_training_statistics_are_the_shards(
    distributed_runs: Path,
) -> None:
    """What data-parallel BatchNorm does (docs/distributed.md): each rank normalises its shard by
    the shard's own statistics, as PyTorch's DistributedDataParallel without SyncBatchNorm, and the
    running statistics leave each step's all-reduce as the shard-size-weighted average. On the
    data itself the running mean is then the one-process run's to rounding (the mean of the shard
    means is the batch's mean); the running variance is the average of the shards' unbiased
    variances (without the spread between the shard means, each corrected by its own size n/(n-1)),
    measurably not the batch's; and the weights differ measurably from one process's."""
    weights, _ = distributed_fit.train("batchnorm-first")
    rank0, rank1 = _rank(distributed_runs, "batchnorm-first", 0), _rank(distributed_runs, "batchnorm-first", 1)
    for name in rank0:
        assert np.array_equal(rank0[name], rank1[name]), name  # one model, every buffer included
    np.testing.assert_allclose(rank0["buffer/0.running_mean"], weights["buffer/0.running_mean"], rtol=1e-12)
    assert _max_relative(rank0["buffer/0.running_var"], weights["buffer/0.running_var"]) > 1e-3
    assert _max_relative(rank0["1.weight"], weights["1.weight"]) > 1e-4


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


_DIVERGE_ON_RANK_1 = """
import sys
from pathlib import Path
import numpy as np
from mpi4py import MPI
import backprop as bp
from backprop.cli import main
from backprop.distributed import DataParallel
x = np.random.default_rng(0).normal(size=(8, 3))
x[-1] = 1e300  # in rank 1's shard of the one full batch: its squared error alone overflows
model = bp.Sequential(bp.Linear(3, 4, dtype=np.float64, rng=0), bp.ReLU(), bp.Linear(4, 2, dtype=np.float64, rng=1))
before = model.state_dict()
rank = MPI.COMM_WORLD.Get_rank()
try:
    bp.fit(model, bp.MSELoss(), bp.SGD(model, 0.1), x, np.zeros((8, 2)), batch_size=None,
           progress=False, distributed=DataParallel(MPI.COMM_WORLD))
except bp.DivergenceError as error:
    same = all(np.array_equal(before[k], v) for k, v in model.state_dict().items())
    Path(sys.argv[1], f"rank{rank}.txt").write_text(f"rank {rank} unchanged={same}: {error}")
"""


def test_a_divergence_on_one_rank_stops_every_rank_at_the_same_step(tmp_path: Path) -> None:
    # Each rank writes its own file: mpiexec forwards the ranks' output in chunks that can
    # interleave within a line, which made a check of printed lines fail now and then.
    done = mpiexec(sys.executable, "-c", _DIVERGE_ON_RANK_1, str(tmp_path), timeout=30)
    assert done.returncode == 0, done.stderr
    lines = [(tmp_path / f"rank{rank}.txt").read_text() for rank in (0, 1)]
    assert lines[0].startswith("rank 0 unchanged=True: fit: the loss became")
    assert lines[1].startswith("rank 1 unchanged=True: ")
    assert lines[0].split(": ", 1)[1] == lines[1].split(": ", 1)[1]  # the same message, same step
    assert "at epoch 1, step 1" in lines[0]


# ---------------------------------------------------------------- the command line, under mpiexec

TRAIN = ["train", "--epochs", "2", "--hidden", "16", "--batch-size", "25", "--dtype", "float64", "--no-plots"]


def _weights(run: Path) -> dict[str, np.ndarray]:
    return bp.load(run / "model.safetensors").state_dict()


def test_train_distributed_matches_one_process_and_only_rank_0_writes(tmp_path: Path) -> None:
    assert main([*TRAIN, "--quiet", "--out", str(tmp_path / "one")]) == 0
    # No --out: rank 0 picks the timestamped folder and tells the others, so there is one folder.
    done = mpiexec(str(BACKPROP), *TRAIN, "--distributed", "--check-replicas", "10", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1
    assert done.stdout.count("test accuracy") == 1 and done.stdout.count("epoch 1/2") == 1
    metrics = json.loads((runs[0] / "metrics.json").read_text())
    assert metrics["world_size"] == 2
    assert json.loads((tmp_path / "one" / "metrics.json").read_text())["world_size"] == 1
    one = _weights(tmp_path / "one")
    for name, value in _weights(runs[0]).items():
        assert _max_relative(value, one[name]) < 1e-6, name
    reference = json.loads((tmp_path / "one" / "metrics.json").read_text())
    assert metrics["test_loss"] == pytest.approx(reference["test_loss"], rel=1e-6)
    assert metrics["history"]["val_loss"] == pytest.approx(reference["history"]["val_loss"], rel=1e-6)


# `backprop train` whose ranks, once the first epoch and its checkpoint are done, wait for Ctrl-C
# before their next step. Without the wait the test raced the signal against 5 epochs of a few
# milliseconds each, and lost where the machine was slow to deliver it; now the run cannot end
# before the signal arrives, and stops at a step known in advance.
_WAIT_FOR_CTRL_C = """
import sys, time
import backprop.training as training
from backprop.cli import main
step = training.train_step
def waiting(state, *args):
    deadline = time.monotonic() + 60
    while state.epoch >= 1 and not state.distributed.interrupt_requested.is_set() and time.monotonic() < deadline:
        time.sleep(0.01)  # fit's Ctrl-C handler runs here and sets the flag
    return step(state, *args)
training.train_step = waiting
sys.exit(main(sys.argv[1:]))
"""


def test_interrupted_distributed_run_resumes_under_mpiexec(tmp_path: Path) -> None:
    long = ["train", "--epochs", "6", "--hidden", "8", "--batch-size", "128", "--dtype", "float64", "--no-plots"]
    assert main([*long, "--quiet", "--out", str(tmp_path / "one")]) == 0
    run = tmp_path / "stopped"
    env = os.environ | {"OPENBLAS_NUM_THREADS": "1"}
    command = [str(MPIEXEC), "-n", "2", sys.executable, "-c", _WAIT_FOR_CTRL_C, *long, "--distributed", "--quiet",
               "--out", str(run)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 60
    while not (run / "checkpoint.safetensors").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)  # mpiexec passes Ctrl-C on to every rank
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "--distributed" in stderr and not (run / "metrics.json").exists()
    stopped = bp.read_checkpoint(run / "checkpoint.safetensors")
    # Stopped early, after the one step the ranks took once the signal came: epoch 2's first.
    assert not stopped.finished and (stopped.state["epoch"], stopped.state["batch"]) == (1, 1)
    resumed = mpiexec(str(BACKPROP), "train", "--resume", str(run), "--distributed", "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((run / "metrics.json").read_text())["world_size"] == 2
    reference = _weights(tmp_path / "one")
    for name, value in _weights(run).items():
        assert _max_relative(value, reference[name]) < 1e-6, name


# ---------------------------------------------------------------- a failing rank ends the job

_FAIL_ON_RANK_1 = """
import os, signal, sys
import backprop.training as training
from mpi4py import MPI
from backprop.cli import main
step = training.train_step
def failing(state, *args):
    if state.step == 3:
        if sys.argv[1] == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        raise RuntimeError("rank 1 broke on purpose")
    return step(state, *args)
if MPI.COMM_WORLD.Get_rank() == 1:
    training.train_step = failing
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize("how", ["raise", "kill"])
def test_a_failing_rank_ends_the_whole_job_quickly(tmp_path: Path, how: str) -> None:
    """Rank 1 raises (or is SIGKILLed) at its fourth step while rank 0 waits in the all-reduce."""
    started = time.monotonic()
    done = mpiexec(
        sys.executable,
        "-c",
        _FAIL_ON_RANK_1,
        how,
        *TRAIN,
        "--distributed",
        "--out",
        str(tmp_path / "run"),
        timeout=30,
    )
    seconds = time.monotonic() - started
    assert done.returncode != 0
    assert seconds < 10, f"mpiexec took {seconds:.1f}s to end the job"
    if how == "raise":
        assert "RuntimeError: rank 1 broke on purpose (rank 1 of 2; aborting the MPI job)" in done.stderr
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_a_rank_with_a_user_error_ends_the_job_with_its_message(tmp_path: Path) -> None:
    """Only rank 1 is given a missing MPIST folder (mpiexec's MPMD form); rank 0 must not wait."""
    common = ["--distributed", "--out", str(tmp_path / "run")]
    command = [
        str(MPIEXEC), "-n", "1", str(BACKPROP), *TRAIN, *common, ":",
        "-n", "1", str(BACKPROP), *TRAIN, *common, "--dataset", "mnist", "--data-dir", str(tmp_path / "none"),
    ]  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert done.returncode != 0 and time.monotonic() - started < 10
    assert "backprop: error:" in done.stderr and "(rank 1 of 2; aborting the MPI job)" in done.stderr


def test_an_uncaught_exception_in_a_script_aborts_through_the_excepthook() -> None:
    code = (
        "from mpi4py import MPI\nfrom backprop.cli.distributed import install_excepthook\n"
        "install_excepthook(MPI.COMM_WORLD)\n"
        "if MPI.COMM_WORLD.Get_rank() == 1:\n    raise ValueError('bad rank')\nMPI.COMM_WORLD.Barrier()\n"
    )
    started = time.monotonic()
    done = mpiexec(sys.executable, "-c", code, timeout=30)
    assert done.returncode != 0 and time.monotonic() - started < 10
    assert "ValueError: bad rank" in done.stderr and "(rank 1 of 2; aborting the MPI job)" in done.stderr


def test_the_moved_job_control_still_works_through_dataparallel_with_a_warning() -> None:
    from mpi4py import MPI

    from backprop.distributed import DataParallel

    parallel = DataParallel(MPI.COMM_WORLD)
    with pytest.warns(DeprecationWarning, match=r"DataParallel.broadcast_text is deprecated.*cli.distributed"):
        assert parallel.broadcast_text("runs/x") == "runs/x"


def test_distributed_options_are_checked() -> None:
    done = subprocess.run(
        [str(BACKPROP), "train", "--check-replicas", "5"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "backprop: error: --check-replicas needs --distributed"


# ---------------------------------------------------------------- in this process, one rank


def test_one_rank_strategy_is_bit_identical_to_plain_fit() -> None:
    from mpi4py import MPI

    from backprop.distributed import DataParallel

    plain, plain_history = distributed_fit.train("mlp-odd")
    parallel = DataParallel(MPI.COMM_SELF, check_every=1)
    weights, history = distributed_fit.train("mlp-odd", parallel)
    for name, value in weights.items():
        assert np.array_equal(value, plain[name]), name
    assert history == plain_history
    assert parallel.allreduce_seconds > 0


def test_data_parallel_refuses_bad_arguments() -> None:
    from mpi4py import MPI

    from backprop.distributed import DataParallel

    with pytest.raises(TypeError, match="DataParallel: comm must be an mpi4py communicator, got int"):
        DataParallel(3)
    with pytest.raises(ValueError, match="check_every must be a positive integer or None, got 0"):
        DataParallel(MPI.COMM_SELF, check_every=0)
    with pytest.raises(ValueError, match=r"weighting must be one of \('samples', 'ranks'\), got 'mean'"):
        DataParallel(MPI.COMM_SELF, weighting="mean")


def test_forward_backward_is_deprecated_and_gives_reduce_s_numbers() -> None:
    from mpi4py import MPI

    from backprop.distributed import DataParallel

    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((8, 3)), rng.integers(0, 2, 8)
    model = bp.Sequential(bp.Linear(3, 2, dtype=np.float64, rng=0))
    loss = bp.SoftmaxCrossEntropy()
    with pytest.warns(DeprecationWarning, match=r"DataParallel.forward_backward is deprecated"):
        value, correct = DataParallel(MPI.COMM_WORLD).forward_backward(model, loss, x, y, 8)
    expected = loss(model(x), y)
    model.backward(loss.backward())
    assert value == pytest.approx(expected, rel=1e-15) and 0 <= correct <= 8
