"""The package type-checks: mypy, configured by pyproject.toml's ``[tool.mypy]``, reports nothing.

The configuration (the files, how strict, which dependencies ship no types) lives in
pyproject.toml alone, so this test and ``mypy`` typed at the repository root check the same
thing. mypy is a dev dependency: where it is missing the test fails rather than skips.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_package_type_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        from mypy import api
    except ImportError:
        pytest.fail("mypy is missing: it is a dev dependency (pip install -e '.[dev]')", pytrace=False)
    monkeypatch.chdir(REPOSITORY)  # mypy finds pyproject.toml, and its files, from here
    report, errors, status = api.run([])
    assert status == 0, f"mypy exited with {status}:\n{report}{errors}"
