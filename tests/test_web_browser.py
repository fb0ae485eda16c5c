"""The draw-a-digit page end to end, in a real headless Chromium driven by Selenium.

`backprop serve` runs as a user starts it, a subprocess on a free port of 127.0.0.1; the
test draws a 7 with real pointer actions (W3C actions: pointerdown, pointermove, pointerup)
and waits for the page to show a prediction, ten bars and the hidden layers' maps.
Debian's `chromium` and `chromium-driver` packages provide the browser (`.ci/run` installs
them); Selenium is pointed at both binaries, so Selenium Manager never downloads anything.
Set BACKPROP_SCREENSHOT=PATH to keep a copy of the screenshot (the README's was made so).
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WAIT_SECONDS = 20

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[dev]')")
pytest.importorskip("flask", reason="flask is not installed (pip install -e '.[web]')")
if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    pytest.skip(
        f"no browser: {CHROMIUM} or {CHROMEDRIVER} is missing (Debian: apt-get install chromium chromium-driver;"
        " .ci/run installs them where apt-get is available)",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`backprop serve` on a small digits model, on a port the system picks; yields the page's address."""
    folder = tmp_path_factory.mktemp("serve")
    run = folder / "run"
    trained = subprocess.run(
        [sys.executable, "-m", "backprop", "train", "--epochs", "15", "--hidden", "64,32", "--no-plots",
         "--quiet", "--out", str(run)],
        capture_output=True, text=True, timeout=300,
    )
    assert trained.returncode == 0, trained.stderr
    process = subprocess.Popen(
        [sys.executable, "-m", "backprop", "serve", str(run), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        first = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", first)
        assert match, first + process.stderr.read() if process.poll() is not None else first
        yield match.group(0)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_AVOID_STATS"] = "true"
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1200,1100"):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()


def draw_seven(driver, canvas) -> None:
    """A 7 with real pointer actions: the top bar left to right, then the stroke down to the left."""
    from selenium.webdriver.common.action_chains import ActionChains

    size = canvas.size
    # Offsets are from the canvas's centre; the canvas shows 280x280 pixels.
    scale = size["width"] / 280
    points = [(-70, -90), (-20, -90), (30, -90), (75, -90), (55, -40), (30, 10), (10, 55), (-5, 100)]
    chain = ActionChains(driver, duration=20)
    chain.move_to_element_with_offset(canvas, int(points[0][0] * scale), int(points[0][1] * scale)).click_and_hold()
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        chain.move_by_offset(int((x1 - x0) * scale), int((y1 - y0) * scale))
    chain.release().perform()


def test_drawing_a_seven_shows_a_prediction_ten_bars_and_the_layer_maps(server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server)
    wait = WebDriverWait(browser, WAIT_SECONDS)
    wait.until(lambda driver: "Linear" in driver.find_element(By.ID, "model").text)
    assert browser.find_element(By.ID, "label").text == ""
    draw_seven(browser, browser.find_element(By.ID, "pad"))
    wait.until(lambda driver: driver.find_element(By.ID, "label").text != "")

    label = browser.find_element(By.ID, "label").text
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
    # The preprocessed input is drawn: an 8x8 image with ink (some pixel brighter than black).
    ink = browser.execute_script(
        "const c = document.getElementById('input');"
        "const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        "let m = 0; for (let i = 0; i < d.length; i += 4) m = Math.max(m, d[i]); return [c.width, c.height, m];"
    )
    assert ink[:2] == [8, 8] and ink[2] == 255
    screenshot = tmp_path / "serve.png"
    assert browser.save_screenshot(str(screenshot)) and screenshot.stat().st_size > 10_000
    if os.environ.get("BACKPROP_SCREENSHOT"):
        shutil.copyfile(screenshot, os.environ["BACKPROP_SCREENSHOT"])
    assert label == "7", f"the drawn 7 was read as {label}"

    browser.find_element(By.ID, "clear").click()
    assert browser.find_element(By.ID, "label").text == ""
    assert browser.find_elements(By.CSS_SELECTOR, "#bars .bar") == []
