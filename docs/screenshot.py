"""Make docs/serve.png, the README's picture of the draw-a-digit page, from a real run.

    python docs/screenshot.py RUN [OUT.png]

Starts `backprop serve RUN`, opens the page in headless Chromium (Debian's chromium and
chromium-driver), draws a 7 with real pointer actions, waits for the answer and saves a
screenshot of the whole page. The browser helpers are the end-to-end test's (tests/browser.py).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from browser import SEVEN, draw, missing_browser, start_chromium, start_server, wait_for_answer  # noqa: E402


def main(run: Path, out: Path) -> None:
    if missing_browser():
        sys.exit(missing_browser())
    process, address = start_server(run)
    try:
        with tempfile.TemporaryDirectory() as profile:
            driver = start_chromium(Path(profile), width=1280, height=900)
            try:
                driver.get(address)
                draw(driver, driver.find_element("id", "pad"), SEVEN)
                label = wait_for_answer(driver)
                # Grow the window until the whole page fits in it, so the picture shows every layer.
                for _ in range(5):
                    page, inner = driver.execute_script(
                        "return [document.documentElement.scrollHeight, window.innerHeight]"
                    )
                    if inner >= page:
                        break
                    driver.set_window_size(1280, driver.get_window_size()["height"] + page - inner)
                driver.save_screenshot(str(out))
            finally:
                driver.quit()
    finally:
        process.terminate()
        process.wait(timeout=10)
    print(f"{out}: the page with a drawn 7, read as {label}")


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2] if len(sys.argv) == 3 else ROOT / "docs" / "serve.png"))
