"""What the whole suite shares.

- Guards: tests write only under their temporary directories, and in CI a test never skips for
  want of a component the project installs (MPI, the browser).
- The ``backprop`` command run as a user runs it, a real process each time: ``run_cli``,
  ``start_cli`` (in the background), ``cli_ok`` and ``cli_user_error``. Test files import them
  (``from conftest import cli_ok``; pytest puts this folder on ``sys.path``).
- Data that several files build: the diabetes CSV, small MNIST files made from the 8x8 digits, a
  model of the 8x8 digits written by ``bp.save``, a small run of ``backprop train``, and the path
  to the real MNIST files in ``../shared/data/mnist``.
- The lanes: every test under ``tests/cli/`` is marked ``slow`` (each runs the command);
  ``make test-fast`` leaves out ``slow``, ``mpi`` and ``browser`` tests (see pyproject.toml).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import backprop as bp

REPOSITORY = Path(__file__).resolve().parents[1]
#: Set by ``.ci/run``: there every component the project's own files install must be present.
IN_CI = os.environ.get("BACKPROP_CI") == "1"
#: The real MNIST files, beside the repository where a machine has them.
SHARED_MNIST = REPOSITORY.parent / "shared" / "data" / "mnist"
needs_shared_mnist = pytest.mark.skipif(
    not (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").is_file(), reason=f"no MNIST files in {SHARED_MNIST}"
)
CLI_TESTS = Path(__file__).resolve().parent / "cli"


def skip_or_fail_in_ci(reason: str) -> None:
    """Skip a module that needs a missing component on a user's machine; fail it in CI.

    CI installs MPI (the dev extra's wheels) and Chromium (``.ci/run``); a test that skipped
    there would hide that the install broke.
    """
    if IN_CI:
        pytest.fail(f"CI must have this: {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


@pytest.fixture(scope="session", autouse=True)
def _no_run_folders_in_the_repository():
    """Fail the session if a test left a run folder in the repository's own runs/."""
    runs = REPOSITORY / "runs"
    before = set(runs.iterdir()) if runs.is_dir() else set()
    yield
    after = set(runs.iterdir()) if runs.is_dir() else set()
    left = sorted(str(path.relative_to(REPOSITORY)) for path in after - before)
    assert not left, f"tests left run folders in the repository: {', '.join(left)}"


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by mark
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything in tests/cli/ starts ``python -m backprop`` at least once (a second or more
    each): slow, so that the fast lane leaves the folder out without a mark in every file."""
    for item in items:
        if CLI_TESTS in item.path.parents:
            item.add_marker(pytest.mark.slow)


# --- the command, as a user types it ---------------------------------------------------------


def cli_command(*args, code: str | None = None) -> list[str]:
    """``python -m backprop ARGS``, or ``python -c CODE ARGS`` for a command run under a patch."""
    start = [sys.executable, "-m", "backprop"] if code is None else [sys.executable, "-c", code]
    return [*start, *map(str, args)]


def run_cli(*args, cwd=None, timeout: float = 600, code: str | None = None,
            **popen_kwargs) -> subprocess.CompletedProcess[str]:
    """Run ``backprop ARGS`` to the end in a real process; its stdout and stderr are kept as text.

    ``code`` runs ``python -c CODE ARGS`` instead (CODE calls ``backprop.cli.main`` after
    patching something, as a machine without torch); ``popen_kwargs`` go to ``subprocess.run``
    (``env=``, ``preexec_fn=``).
    """
    return subprocess.run(cli_command(*args, code=code), capture_output=True, text=True, timeout=timeout,
                          cwd=cwd, **popen_kwargs)


def start_cli(*args, cwd=None, **popen_kwargs) -> subprocess.Popen[str]:
    """Start ``backprop ARGS`` in the background; the caller signals it, reads it and waits for it.

    stdout and stderr are piped, as text, unless ``popen_kwargs`` say otherwise (``stderr=STDOUT``).
    """
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    return subprocess.Popen(cli_command(*args), cwd=cwd, **(pipes | popen_kwargs))


def cli_ok(*args, **kwargs) -> subprocess.CompletedProcess[str]:
    """``run_cli`` that must exit 0; a failure shows the command's stdout and stderr."""
    result = run_cli(*args, **kwargs)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def cli_user_error(*args, **kwargs) -> str:
    """``run_cli`` of a user's mistake: exit status 2 and one line on stderr, ``backprop: error:
    ...``, and nothing else (no traceback, no warning before it); returns that line, newline included.

    The strictest of the rules the copies this replaced had (one allowed ``backprop: warning:``
    lines beside the error, but none of its tests' mistakes gives one).
    """
    result = run_cli(*args, **kwargs)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines(keepends=True)
    assert len(lines) == 1 and lines[0].startswith("backprop: error: ") and lines[0].endswith("\n"), result.stderr
    return lines[0]


# --- data several files build ------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Chromium (``tests/browser.py``) for one test module, quit at its end."""
    from browser import start_chromium

    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="session")
def diabetes_csv(tmp_path_factory) -> tuple[Path, np.ndarray]:
    """scikit-learn's diabetes table as a user would have it: a CSV file (10 features and the
    column ``progression``, 25 to 346), and that target."""
    from sklearn.datasets import load_diabetes

    folder = tmp_path_factory.mktemp("diabetes")
    table = load_diabetes()
    header = ",".join([*table.feature_names, "progression"])
    np.savetxt(folder / "diabetes.csv", np.column_stack([table.data, table.target]), delimiter=",",
               header=header, comments="", fmt="%.8g")
    return folder / "diabetes.csv", table.target


@pytest.fixture(scope="session")
def small_mnist_files(tmp_path_factory) -> Path:
    """A folder laid out as MNIST's test set (``t10k-images-idx3-ubyte.gz``, ``t10k-labels-...``),
    made from the 1,797 8x8 digits: each scaled 2x into the middle of a 28x28 image, as 0..255."""
    folder = tmp_path_factory.mktemp("small-mnist")
    images, labels = bp.datasets.load_digits()
    pixels = np.zeros((len(images), 28, 28), np.uint8)
    pixels[:, 6:22, 6:22] = np.kron(images[:, 0], np.ones((2, 2))) * 255
    bp.datasets.save_idx(folder / "t10k-images-idx3-ubyte.gz", pixels)
    bp.datasets.save_idx(folder / "t10k-labels-idx1-ubyte.gz", labels.astype(np.uint8))
    return folder


@pytest.fixture(scope="session")
def saved_digits_model(tmp_path_factory) -> Path:
    """A model of the 8x8 digits trained and written with the library alone (``bp.fit``,
    ``bp.save``; no run folder), as the README's example does: Flatten-64-ReLU-10, 10 epochs."""
    folder = tmp_path_factory.mktemp("saved")
    x, labels = bp.datasets.load_digits()
    model = bp.Sequential(bp.Flatten(), bp.Linear(64, 64, rng=0), bp.ReLU(), bp.Linear(64, 10, rng=1))
    bp.fit(model, bp.SoftmaxCrossEntropy(), bp.SGD(model, 0.1, momentum=0.9), x, labels, epochs=10, seed=0,
           progress=False)
    bp.save(model, folder / "digits.safetensors")
    return folder / "digits.safetensors"


@pytest.fixture(scope="session")
def small_digits_run(tmp_path_factory) -> Path:
    """A run folder of ``backprop train --epochs 10 --hidden 64,32 --no-plots`` on the 8x8 digits."""
    out = tmp_path_factory.mktemp("small-digits") / "run"
    cli_ok("train", "--epochs", "10", "--hidden", "64,32", "--no-plots", "--quiet", "--out", out, timeout=120)
    return out
