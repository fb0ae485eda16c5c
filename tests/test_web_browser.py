"""The draw-a-digit page end to end, in a real headless Chromium driven by Selenium.

`backprop serve` runs as a user starts it, a subprocess on a free port of 127.0.0.1; the
test draws a 7 with real pointer actions and waits for the page to show a prediction, ten
bars and the hidden layers' maps. `.ci/run` installs Debian's `chromium` and
`chromium-driver`; where neither can be had the test skips and says why, except in CI
(``BACKPROP_CI=1``), where it fails.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from browser import (
    SEVEN,
    console_errors,
    draw,
    missing_browser,
    start_server,
    wait_for_answer,
)
from conftest import skip_or_fail_in_ci

pytestmark = pytest.mark.browser
pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[dev]')")
pytest.importorskip("flask", reason="flask is not installed (pip install -e '.[web]')")
if missing_browser():
    skip_or_fail_in_ci(missing_browser())


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`backprop serve` on a small digits model; yields the page's address."""
    run = tmp_path_factory.mktemp("serve") / "run"
    trained = subprocess.run(
        [sys.executable, "-m", "backprop", "train", "--epochs", "15", "--hidden", "64,32", "--no-plots",
         "--quiet", "--out", str(run)],
        capture_output=True, text=True, timeout=300,
    )
    assert trained.returncode == 0, trained.stderr
    process, address = start_server(run)
    try:
        yield address
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_drawing_a_seven_shows_a_prediction_ten_bars_and_the_layer_maps(server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server)
    WebDriverWait(browser, 20).until(lambda driver: "Linear" in driver.find_element(By.ID, "model").text)
    assert browser.find_element(By.ID, "label").text == ""
    draw(browser, browser.find_element(By.ID, "pad"), SEVEN)
    label = wait_for_answer(browser)

    assert re.fullmatch(r"[0-9]", label), label
    bars = browser.find_elements(By.CSS_SELECTOR, "#bars .bar")
    assert len(bars) == 10
    winners = browser.find_elements(By.CSS_SELECTOR, "#bars .bar.winner")
    assert len(winners) == 1 and winners[0].get_attribute("aria-label").startswith(f"{label}: ")
    percents = [float(node.text.rstrip("%")) for node in browser.find_elements(By.CSS_SELECTOR, "#bars .percent")]
    assert abs(sum(percents) - 100) < 1 and max(percents) == percents[int(label)]
    captions = [node.text for node in browser.find_elements(By.CSS_SELECTOR, "#layers figcaption")]
    assert captions == ["ReLU after Linear(64 -> 64): 64 (64 values)", "ReLU after Linear(64 -> 32): 32 (32 values)"]
    maps = browser.find_elements(By.CSS_SELECTOR, "#layers canvas")
    assert len(maps) == 2 and all(int(canvas.get_attribute("width")) > 0 for canvas in maps)
    # The preprocessed input is drawn: an 8x8 image whose brightest pixel is white.
    width, height, brightest = browser.execute_script(
        "const c = document.getElementById('input');"
        "const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        "let m = 0; for (let i = 0; i < d.length; i += 4) m = Math.max(m, d[i]); return [c.width, c.height, m];"
    )
    assert (width, height, brightest) == (8, 8, 255)
    screenshot = tmp_path / "serve.png"
    assert browser.save_screenshot(str(screenshot)) and screenshot.stat().st_size > 10_000
    assert label == "7", f"the drawn 7 was read as {label}"

    browser.find_element(By.ID, "clear").click()
    assert browser.find_element(By.ID, "label").text == ""
    assert browser.find_elements(By.CSS_SELECTOR, "#bars .bar") == []
    # Nothing went wrong on the way, a missing /favicon.ico included.
    assert console_errors(browser) == []


def test_a_drawing_without_ink_asks_for_a_digit_instead_of_an_error_or_a_guess(server, browser):
    """The server answers a canvas with no ink 422; the page says "draw a digit", not a failure."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server)
    draw(browser, browser.find_element(By.ID, "pad"), SEVEN)
    wait_for_answer(browser)
    console_errors(browser)  # clear the log
    # The pen only draws ink, so paint the canvas over as a page script would, and ask as the pen does.
    browser.execute_script("pen.fillStyle = '#000'; pen.fillRect(0, 0, pad.width, pad.height);"
                           " inked = true; schedule();")
    status = browser.find_element(By.ID, "status")
    WebDriverWait(browser, 20).until(lambda driver: status.text == "draw a digit")
    assert "error" not in status.get_attribute("class")
    assert browser.find_element(By.ID, "label").text == ""
    assert browser.find_elements(By.CSS_SELECTOR, "#bars .bar") == []
    assert browser.find_elements(By.CSS_SELECTOR, "#layers figure") == []
    # The browser itself logs the 422 of the fetch; the page adds nothing.
    errors = console_errors(browser)
    assert len(errors) == 1 and "api/predict" in errors[0] and "422" in errors[0], errors
