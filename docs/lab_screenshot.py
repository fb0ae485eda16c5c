"""Make docs/lab.png, the README's picture of the lab, from a real run.

    python docs/lab_screenshot.py [OUT.png]

Starts `backprop lab`, opens the spiral problem with a 6-8-8 network in headless Chromium
(Debian's chromium and chromium-driver), plays it for a few seconds, clicks a hidden unit and
saves a screenshot of the whole page: the network with its pictures, the boundary, the curves
and the arithmetic panel. The browser helpers are the end-to-end test's (tests/browser.py).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from browser import missing_browser, play_lab, start_chromium, start_lab, wait_for_lab  # noqa: E402

SETTINGS = ("?problem=spiral&noise=0.1&features=x1,x2,x1^2,x2^2,x1*x2,sin(x1),sin(x2)&hidden=8,8"
            "&activation=tanh&optimizer=adam&lr=0.03&batch_size=10&speed=5")


def main(out: Path) -> None:
    if missing_browser():
        sys.exit(missing_browser())
    process, address = start_lab()
    try:
        with tempfile.TemporaryDirectory() as profile:
            driver = start_chromium(Path(profile), width=1400, height=1000)
            try:
                driver.get(address + SETTINGS)
                wait_for_lab(driver)
                rate = play_lab(driver, 8)
                driver.find_element("css selector", '.neuron[data-unit="2:3"]').click()
                wait_for_lab(driver)
                driver.implicitly_wait(0)
                page = driver.execute_script("return document.documentElement.scrollHeight")
                driver.set_window_size(1400, page + 140)
                driver.execute_script("window.scrollTo(0, 0)")
                driver.save_screenshot(str(out))
                step = driver.find_element("id", "step-count").text
            finally:
                driver.quit()
    finally:
        process.terminate()
        process.wait(timeout=10)
    print(f"{out}: the lab at step {step} ({rate:.1f} updates a second while playing)")


if __name__ == "__main__":
    if len(sys.argv) > 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1] if len(sys.argv) == 2 else ROOT / "docs" / "lab.png"))
