"""The documentation site (mkdocs.yml, issue 23): it builds with ``mkdocs build --strict``, and
its API reference documents every public name.

The build test is slow (a few seconds: every page, the API reference from the docstrings and the
tutorials); the check of docs/api.md against ``bp.__all__`` is fast. mkdocs comes with the dev
extra, so a missing mkdocs fails here rather than skipping.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import backprop as bp

REPOSITORY = Path(__file__).resolve().parents[1]
DOCS = REPOSITORY / "docs"
MKDOCS = Path(sys.executable).with_name("mkdocs")


def api_reference_names() -> list[str]:
    """The names that docs/api.md documents, one ``::: backprop.NAME`` line each."""
    return re.findall(r"^::: backprop\.(\w+)\s*$", (DOCS / "api.md").read_text(encoding="utf-8"), re.MULTILINE)


def test_the_api_reference_documents_every_public_name_once():
    names = api_reference_names()
    missing = sorted(set(bp.__all__) - set(names))
    assert not missing, f"docs/api.md lacks '::: backprop.NAME' for {missing}"
    stale = sorted(set(names) - set(bp.__all__))
    assert not stale, f"docs/api.md documents names that are not in backprop.__all__: {stale}"
    twice = sorted({name for name in names if names.count(name) > 1})
    assert not twice, f"docs/api.md documents these names more than once: {twice}"


def nav_pages(nav: list) -> list[str]:
    pages = []
    for entry in nav:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        pages += nav_pages(value) if isinstance(value, list) else [value]
    return pages


def test_every_page_in_docs_is_in_the_navigation():
    config = yaml.safe_load((REPOSITORY / "mkdocs.yml").read_text(encoding="utf-8"))
    pages = nav_pages(config["nav"])
    orphans = sorted(path.name for path in DOCS.glob("*.md") if path.name not in pages)
    assert not orphans, f"docs pages missing from mkdocs.yml's nav: {orphans}"


def build_site(out: Path) -> Path:
    """Build the site as ``make docs`` does (strict) into ``out/site``; return that folder."""
    assert MKDOCS.is_file(), f"no {MKDOCS}: install the dev extra (pip install -e '.[dev]')"
    # docs/hooks.py copies the notebooks into a temporary folder: keep that under the test's own.
    temporary = out / "tmp"
    temporary.mkdir()
    env = os.environ | {"TMPDIR": str(temporary), "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [str(MKDOCS), "build", "--strict", "--site-dir", str(out / "site")],
        cwd=REPOSITORY, env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out / "site"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    return build_site(tmp_path_factory.mktemp("docs"))


@pytest.mark.slow
def test_the_api_reference_has_a_heading_for_every_public_name(site):
    page = (site / "api" / "index.html").read_text(encoding="utf-8")
    missing = [name for name in bp.__all__ if not re.search(rf'<h\d id="backprop\.{name}"', page)]
    assert not missing, f"the API reference has no heading for {missing}"


@pytest.mark.slow
def test_the_derivations_are_typeset_by_a_mathjax_the_site_serves(site):
    page = (site / "derivations" / "index.html").read_text(encoding="utf-8")
    assert 'class="arithmatex"' in page
    assert (site / "assets" / "mathjax" / "tex-chtml.js").is_file()
    assert 'src="../assets/mathjax/tex-chtml.js"' in page
    assert 'src="../javascripts/mathjax.js"' in page


@pytest.mark.slow
def test_the_home_page_is_the_readme(site):
    page = (site / "index.html").read_text(encoding="utf-8")
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", readme, re.MULTILINE)
    assert headings
    for heading in headings:
        plain = re.sub(r"[`*]", "", heading).replace("&", "&amp;")
        assert plain in re.sub(r"<[^>]+>", "", page), heading


@pytest.mark.slow
def test_every_notebook_is_a_tutorial_page(site):
    notebooks = sorted((REPOSITORY / "notebooks").glob("*.ipynb"))
    assert notebooks
    for notebook in notebooks:
        page = site / "tutorials" / notebook.stem / "index.html"
        assert page.is_file(), f"no tutorial page for {notebook.name}"
        assert "jupyter-wrapper" in page.read_text(encoding="utf-8")


@pytest.mark.slow
def test_no_page_loads_a_script_from_elsewhere(site):
    """The site is whole as built: MathJax and every other script come from the site itself."""
    for page in site.rglob("*.html"):
        scripts = re.findall(r'<script[^>]*\bsrc="([^"]*)"', page.read_text(encoding="utf-8"))
        remote = [src for src in scripts if re.match(r"(https?:)?//", src)]
        assert not remote, f"{page.relative_to(site)} loads {remote}"
