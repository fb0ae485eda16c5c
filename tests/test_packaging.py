"""What a fresh install gets: the wheel holds both pages' files, each file its page asks for.

`pip install -e '.[web]'` and a wheel both take the package data from pyproject.toml's
``[tool.setuptools.package-data]``; a page file missing there would pass every test run from the
source tree and fail on a user's machine with a 404.
"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]


def test_the_wheel_holds_every_file_the_pages_ask_for(tmp_path):
    built = subprocess.run(
        # with build isolation, as `pip install` builds: the venv's own setuptools may be older than
        # pyproject.toml's build requirement
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPOSITORY)],
        capture_output=True, text=True, timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("backprop-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for page in ("web", "lab"):
        folder = REPOSITORY / "src" / "backprop" / page / "static"
        html = (folder / "index.html").read_text(encoding="utf-8")
        asked = re.findall(r'(?:src|href)="/?static/([^"]+)"', html)
        assert asked, f"{page}/static/index.html asks for no file"
        for name in ["index.html", *asked]:
            assert f"backprop/{page}/static/{name}" in names, f"{name} of the {page} page is not in the wheel"
    assert "backprop/py.typed" in names
