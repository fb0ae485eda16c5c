"""Guards for the whole suite: tests write only under their temporary directories."""

from __future__ import annotations

from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def _no_run_folders_in_the_repository():
    """Fail the session if a test left a run folder in the repository's own runs/."""
    runs = REPOSITORY / "runs"
    before = set(runs.iterdir()) if runs.is_dir() else set()
    yield
    after = set(runs.iterdir()) if runs.is_dir() else set()
    left = sorted(str(path.relative_to(REPOSITORY)) for path in after - before)
    assert not left, f"tests left run folders in the repository: {', '.join(left)}"
