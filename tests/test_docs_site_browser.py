"""The documentation site's maths in a real headless Chromium: MathJax, served by the site itself
(docs/hooks.py), typesets the derivations and a tutorial's Markdown cells without an error, and
no page asks for anything the site does not hold. The site is built as ``make docs`` builds it
and served by ``python -m http.server`` on a free port of 127.0.0.1.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.request

import pytest
from browser import console_errors, missing_browser
from conftest import REPOSITORY, skip_or_fail_in_ci
from test_docs_site import build_site

pytestmark = [pytest.mark.browser, pytest.mark.slow]
pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[dev]')")
if missing_browser():
    skip_or_fail_in_ci(missing_browser())


@pytest.fixture(scope="module")
def address(tmp_path_factory):
    site = build_site(tmp_path_factory.mktemp("docs"))
    server = subprocess.Popen(
        [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", str(site)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        match = re.search(r"port (\d+)", server.stdout.readline())
        assert match, "http.server did not start"
        url = f"http://127.0.0.1:{match.group(1)}/"
        urllib.request.urlopen(url, timeout=10).close()
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def typeset(browser, url: str) -> int:
    """Load ``url``, wait for MathJax to finish; the number of formulas it typeset."""
    browser.get(url)
    deadline = time.monotonic() + 30
    while not browser.execute_script(
        "return !!(window.MathJax && MathJax.startup && MathJax.startup.promise"
        " && document.querySelector('mjx-container'))"
    ):
        assert time.monotonic() < deadline, f"MathJax typeset nothing on {url}"
        time.sleep(0.2)
    browser.execute_async_script("MathJax.startup.promise.then(() => arguments[0]())")
    errors = browser.execute_script("return [...document.querySelectorAll('mjx-merror')].map(e => e.textContent)")
    assert not errors, f"MathJax could not read formulas on {url}: {errors}"
    return browser.execute_script("return document.querySelectorAll('mjx-container').length")


def test_mathjax_typesets_the_derivations(address, browser):
    displays = (REPOSITORY / "docs" / "derivations.md").read_text(encoding="utf-8").count("\n$$\n") // 2
    assert displays and typeset(browser, address + "derivations/") >= displays
    assert not console_errors(browser)


def test_mathjax_typesets_the_tutorials(address, browser):
    notebooks = sorted((REPOSITORY / "notebooks").glob("*.ipynb"))
    with_maths = [path for path in notebooks if "$" in path.read_text(encoding="utf-8")]
    assert with_maths
    for notebook in with_maths:
        assert typeset(browser, f"{address}tutorials/{notebook.stem}/") > 0, notebook.name
        assert not console_errors(browser), notebook.name
