"""Driving the pages in a real browser: the end-to-end tests, docs/screenshot.py and docs/lab_screenshot.py share this.

Debian's `chromium` and `chromium-driver` packages provide the browser and its driver; Selenium
is pointed at both binaries, so Selenium Manager never looks for (or downloads) anything.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
from pathlib import Path

from conftest import start_cli

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")
#: A 7 as a user draws it, in canvas pixels from the canvas's centre (the canvas is 280x280):
#: the bar left to right, then the stroke down to the left.
SEVEN = [(-70, -90), (-20, -90), (30, -90), (75, -90), (55, -40), (30, 10), (10, 55), (-5, 100)]


def missing_browser() -> str | None:
    """Why no browser can run here, or None."""
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return None
    return (f"no browser: {CHROMIUM} or {CHROMEDRIVER} is missing (Debian: apt-get install chromium"
            " chromium-driver; .ci/run installs them where apt-get is available)")


def start_chromium(profile: Path, width: int = 1200, height: int = 1100):
    """Headless Chromium with a fresh profile in ``profile``, driven by Selenium."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_AVOID_STATS"] = "true"
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--window-size={width},{height}", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # console messages, for console_errors
    return webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))


def start_page(command: str, *args) -> tuple[subprocess.Popen, str]:
    """`backprop COMMAND ARGS --port 0` as a user starts it; returns the process and the page's address."""
    process = start_cli(command, *args, "--port", "0")
    first = process.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:\d+/", first)
    if not match:
        process.kill()
        raise RuntimeError(f"backprop {command} did not start: {first}{process.stderr.read()}")
    return process, match.group(0)


def start_server(run: Path) -> tuple[subprocess.Popen, str]:
    """`backprop serve RUN --port 0`: the draw-a-digit page of ``run``."""
    return start_page("serve", run)


def draw(driver, canvas, points) -> None:
    """One stroke through ``points`` with real pointer actions (pointerdown, pointermove..., pointerup)."""
    from selenium.webdriver.common.action_chains import ActionChains

    scale = canvas.size["width"] / 280
    chain = ActionChains(driver, duration=20)
    chain.move_to_element_with_offset(canvas, round(points[0][0] * scale), round(points[0][1] * scale))
    chain.click_and_hold()
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        chain.move_by_offset(round((x1 - x0) * scale), round((y1 - y0) * scale))
    chain.release().perform()


def wait_for_answer(driver, seconds: float = 20) -> str:
    """Wait until the page shows a prediction; returns it."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, seconds).until(lambda d: d.find_element(By.ID, "label").text != "")
    return driver.find_element(By.ID, "label").text


def console_errors(driver) -> list[str]:
    """The page's console errors since the last call (a failed resource load is one), as text."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


# --- the lab (`backprop lab`) ----------------------------------------------------------------

#: The issue's speed case: a 2-8-8-1 tanh network on 500 circle points at batch 10, one step an update.
LAB_SPEED_URL = "?problem=circle&n=500&hidden=8,8&activation=tanh&batch_size=10&optimizer=adam&lr=0.03&speed=1"


def start_lab() -> tuple[subprocess.Popen, str]:
    """`backprop lab --port 0`: the lab."""
    return start_page("lab")


def lab_text(driver, element_id: str) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id).text


def wait_for_lab(driver, step: int | None = None, seconds: float = 20) -> None:
    """Wait until the lab has a session drawn (and, with ``step``, shows that step count)."""
    from selenium.webdriver.support.ui import WebDriverWait

    def ready(d) -> bool:
        drawn = d.execute_script("return window.lab && window.lab.state !== null && !window.lab.busy")
        return bool(drawn) and (step is None or lab_text(d, "step-count") == str(step))

    WebDriverWait(driver, seconds).until(ready)


def step_lab(driver, times: int) -> None:
    """Press Step ``times`` times, each after the page has drawn the step before."""
    from selenium.webdriver.common.by import By

    start = driver.execute_script("return window.lab.state.step")
    for _ in range(times):
        driver.find_element(By.ID, "step").click()
        wait_for_lab(driver)
    wait_for_lab(driver, start + times)


def play_lab(driver, seconds: float) -> float:
    """Press Play, wait ``seconds``, press Pause; returns the updates a second the page made."""
    import time

    from selenium.webdriver.common.by import By

    before = driver.execute_script("return window.lab.state.step")
    driver.find_element(By.ID, "play").click()
    started = time.perf_counter()
    time.sleep(seconds)
    driver.find_element(By.ID, "play").click()
    wait_for_lab(driver)
    elapsed = time.perf_counter() - started
    steps = driver.execute_script("return window.lab.state.step") - before
    speed = int(driver.find_element(By.ID, "steps-per-update").get_attribute("value"))
    return steps / speed / elapsed


def boundary_pixels(driver) -> str:
    """The output heat map's pixels, as a data URL: equal strings, equal pictures."""
    return driver.execute_script("return document.getElementById('boundary').toDataURL()")
