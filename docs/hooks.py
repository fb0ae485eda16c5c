"""MkDocs hooks for the documentation site (mkdocs.yml's ``hooks:``).

- The tutorials: every ``notebooks/*.ipynb`` is added to the site as ``tutorials/NAME.ipynb``
  (mkdocs-jupyter renders it, without running it) and listed under "Tutorials" in the
  navigation, so a new notebook needs no edit here or in mkdocs.yml.
- Links to a notebook (the README's ``notebooks/NAME.ipynb``, which the home page includes, and
  one notebook's ``NAME.ipynb`` to the next) are pointed at its tutorial page, and a notebook's
  links to ``../docs/PAGE.md`` at that page; a notebook's relative link to a .md or .ipynb file
  that is neither is a warning (which fails the strict build), as a page's is in MkDocs.
- MathJax: served from the site itself, copied at build time from the MathJax 3 that the
  ``django-static-mathjax`` wheel ships (it depends on nothing, Django included), so the build
  and the pages need no network.
"""

from __future__ import annotations

import importlib.util
import logging
import posixpath
import re
import shutil
import tempfile
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page
from mkdocs.utils import get_relative_url

log = logging.getLogger("mkdocs.hooks.backprop")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
TUTORIALS = "tutorials"
MATHJAX_DEST = "assets/mathjax"
# What tex-chtml.js loads: the CommonHTML fonts, TeX extensions on demand (\require, autoload),
# the context menu and the accessibility parts the menu can switch on.
MATHJAX_PARTS = ("tex-chtml.js", "output/chtml", "input/tex/extensions", "ui", "a11y", "sre")


def notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


# mkdocs-jupyter wraps each notebook's File and reads the page from the wrapper's own
# src_dir/src_uri (a File.generated, which has no src_dir, reads as None), so each build copies
# the notebooks into a temporary folder laid out as the site is: tutorials/NAME.ipynb.
_copies: tempfile.TemporaryDirectory[str] | None = None


def copy_notebooks() -> tuple[str, list[str]]:
    global _copies
    if _copies is not None:
        _copies.cleanup()
    _copies = tempfile.TemporaryDirectory(prefix="backprop-docs-")
    (Path(_copies.name) / TUTORIALS).mkdir()
    uris = []
    for path in notebooks():
        uri = f"{TUTORIALS}/{path.name}"
        shutil.copyfile(path, Path(_copies.name) / uri)
        uris.append(uri)
    return _copies.name, uris


def on_shutdown() -> None:
    if _copies is not None:
        _copies.cleanup()


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    found = notebooks()
    if found and config.nav is not None:
        config.nav.append({"Tutorials": [f"{TUTORIALS}/{path.name}" for path in found]})
    return config


def mathjax_root() -> Path:
    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise PluginError(
            "MathJax not found: install the docs extra (pip install -e '.[docs]'), which brings"
            " django-static-mathjax"
        )
    root = Path(next(iter(spec.submodule_search_locations))) / "static" / "mathjax" / "es5"
    if not (root / "tex-chtml.js").is_file():
        raise PluginError(f"MathJax not found: no tex-chtml.js in {root}")
    return root


# Before mkdocs-jupyter's on_files (priority 0), which takes the .ipynb files it finds as pages.
@event_priority(50)
def on_files(files: Files, config: MkDocsConfig) -> Files:
    src_dir, uris = copy_notebooks()
    for uri in uris:
        files.append(File(uri, src_dir, config.site_dir, config.use_directory_urls))
    root = mathjax_root()
    for part in MATHJAX_PARTS:
        source = root / part
        for path in [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file()):
            uri = f"{MATHJAX_DEST}/{path.relative_to(root).as_posix()}"
            files.append(File.generated(config, uri, abs_src_path=str(path)))
    return files


# A Markdown link or image whose target is a relative path to a .ipynb file.
NOTEBOOK_LINK = re.compile(r"(\]\()(?P<target>[^)\s:]+\.ipynb)(?P<anchor>#[^)\s]*)?(?=[)\s])")


# After include-markdown (priority 0) has put the README into the home page and made its links
# relative to docs/index.md: ../notebooks/NAME.ipynb there is tutorials/NAME.ipynb on the site.
@event_priority(-50)
def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    page_dir = posixpath.dirname(page.file.src_uri)
    docs_dir = Path(config.docs_dir)

    def to_tutorial(match: re.Match[str]) -> str:
        target = (docs_dir / page_dir / match["target"]).resolve()
        if target.parent != NOTEBOOKS.resolve() or not target.is_file():
            return match.group(0)
        link = posixpath.relpath(f"{TUTORIALS}/{target.name}", page_dir or ".")
        return f"{match.group(1)}{link}{match['anchor'] or ''}"

    return NOTEBOOK_LINK.sub(to_tutorial, markdown)


# A link in a notebook's rendered HTML to a relative path of a .md or .ipynb file.
NOTEBOOK_HREF = re.compile(r'href="(?P<target>[^":#?]+\.(?:md|ipynb))(?P<anchor>#[^"]*)?"')


def on_page_content(html: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """A tutorial's links, written for the notebooks' folder, pointed at the site's pages."""
    src_uri = page.file.src_uri
    if not (src_uri.startswith(f"{TUTORIALS}/") and src_uri.endswith(".ipynb")):
        return html
    docs_dir = Path(config.docs_dir).resolve()

    def to_page(match: re.Match[str]) -> str:
        target = (NOTEBOOKS / match["target"]).resolve()
        if target.suffix == ".ipynb" and target.parent == NOTEBOOKS.resolve():
            uri = f"{TUTORIALS}/{target.name}"
        elif target.suffix == ".md" and target.is_relative_to(docs_dir):
            uri = target.relative_to(docs_dir).as_posix()
        else:
            uri = None
        file = files.get_file_from_path(uri) if uri else None
        if file is None:
            log.warning("Tutorial '%s' links to '%s', not a page of the site", src_uri, match["target"])
            return match.group(0)
        return f'href="{get_relative_url(file.url, page.file.url)}{match["anchor"] or ""}"'

    return NOTEBOOK_HREF.sub(to_page, html)
