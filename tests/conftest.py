"""Guards for the whole suite: tests write only under their temporary directories, and in CI a
test never skips for want of a component the project installs (MPI, the browser)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
#: Set by ``.ci/run``: there every component the project's own files install must be present.
IN_CI = os.environ.get("BACKPROP_CI") == "1"


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
