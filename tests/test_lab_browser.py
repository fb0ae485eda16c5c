"""The lab end to end, in a real headless Chromium driven by Selenium.

`backprop lab` runs as a user starts it, a subprocess on a free port of 127.0.0.1. The tests
open URLs with settings in them, press the page's buttons, click its units and upload a file,
and compare what the page shows with the library run in this process from the same settings
(the same seed replays the same run, step for step). `.ci/run` installs Debian's `chromium` and
`chromium-driver`; where neither can be had the tests skip and say why, except in CI
(``BACKPROP_CI=1``), where they fail.
"""

from __future__ import annotations

import dataclasses
from urllib.request import Request, urlopen

import numpy as np
import pytest
from browser import (
    LAB_SPEED_URL,
    boundary_pixels,
    console_errors,
    lab_text,
    missing_browser,
    play_lab,
    start_lab,
    step_lab,
    wait_for_lab,
)
from conftest import skip_or_fail_in_ci

pytestmark = pytest.mark.browser
pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[dev]')")
pytest.importorskip("flask", reason="flask is not installed (pip install -e '.[web]')")
if missing_browser():
    skip_or_fail_in_ci(missing_browser())

from backprop.explain import trace_step  # noqa: E402
from backprop.lab import LabConfig, LabSession  # noqa: E402

#: The issue asks for 20 updates a second on the development machine; CI's shared 2-core machine
#: runs the whole suite beside the browser, so the test holds it to half that and reports the rate.
MIN_UPDATES_PER_SECOND = 10


@pytest.fixture(scope="module")
def lab():
    process, address = start_lab()
    try:
        yield address
    finally:
        process.terminate()
        process.wait(timeout=10)


def by_id(driver, element_id):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id)


def test_settings_in_the_url_show_in_the_controls_and_hide_hides(lab, browser):
    from selenium.webdriver.common.by import By

    browser.get(
        lab + "?problem=xor&n=300&noise=0.2&seed=5&features=x1,x2,x1*x2&hidden=8,3&activation=relu"
        "&optimizer=momentum&lr=0.01&batch_size=20&l2=0.001&train_fraction=0.7&hide=seed,noise"
    )
    wait_for_lab(browser, 0)
    assert by_id(browser, "problem").get_attribute("value") == "xor"
    assert by_id(browser, "n").get_attribute("value") == "300"
    assert by_id(browser, "seed").get_attribute("value") == "5"
    assert float(by_id(browser, "noise").get_attribute("value")) == 0.2
    assert float(by_id(browser, "train-fraction").get_attribute("value")) == 0.7
    assert by_id(browser, "activation").get_attribute("value") == "relu"
    assert by_id(browser, "optimizer").get_attribute("value") == "momentum"
    assert float(by_id(browser, "lr").get_attribute("value")) == 0.01
    assert float(by_id(browser, "l2").get_attribute("value")) == 0.001
    assert by_id(browser, "batch-size").get_attribute("value") == "20"
    checked = [box.get_attribute("value") for box in browser.find_elements(By.CSS_SELECTOR, "#features input")
               if box.is_selected()]
    assert checked == ["x1", "x2", "x1*x2"]
    units = [n.get_attribute("data-unit") for n in browser.find_elements(By.CSS_SELECTOR, ".neuron")]
    assert units == ["0:0", "0:1", "0:2", *(f"1:{i}" for i in range(8)), "2:0", "2:1", "2:2", "3:0"]
    # hide= takes the controls a teacher names off the page, and only those
    assert not browser.find_element(By.CSS_SELECTOR, '[data-control="seed"]').is_displayed()
    assert not browser.find_element(By.CSS_SELECTOR, '[data-control="noise"]').is_displayed()
    assert browser.find_element(By.CSS_SELECTOR, '[data-control="lr"]').is_displayed()
    # the server runs what the controls show: the same settings give the same first loss in this process
    config = LabConfig(problem="xor", n=300, noise=0.2, seed=5, features=("x1", "x2", "x1*x2"), hidden=(8, 3),
                       activation="relu", optimizer="momentum", lr=0.01, batch_size=20, l2=0.001,
                       train_fraction=0.7)
    assert lab_text(browser, "train-loss") == f"{LabSession(config).losses()['train']:.4f}"
    # a change of a control is a new run, and the URL follows it, so that copying it reproduces the lab
    from selenium.webdriver.support.ui import Select

    Select(by_id(browser, "activation")).select_by_value("tanh")
    wait_for_lab(browser, 0)
    url = browser.current_url
    assert "activation=tanh" in url and "hide=seed%2Cnoise" in url and "seed=5" in url
    browser.get(url)
    wait_for_lab(browser, 0)
    tanh = LabSession(dataclasses.replace(config, activation="tanh"))
    assert lab_text(browser, "train-loss") == f"{tanh.losses()['train']:.4f}"
    assert console_errors(browser) == []


def test_play_lowers_the_loss_moves_the_boundary_and_reset_replays(lab, browser, record_property):
    browser.get(lab + LAB_SPEED_URL)
    wait_for_lab(browser, 0)
    first_loss, first_boundary = lab_text(browser, "train-loss"), boundary_pixels(browser)
    assert len(browser.find_elements("css selector", ".neuron")) == 2 + 8 + 8 + 1
    rate = play_lab(browser, 6)
    record_property("updates_per_second", round(rate, 1))
    print(f"\nlab: {rate:.1f} updates a second (2-8-8-1 tanh, 500 points, batch 10, 64x64 grid)")
    steps = int(lab_text(browser, "step-count"))
    assert rate >= MIN_UPDATES_PER_SECOND, f"{rate:.1f} updates a second"
    assert float(lab_text(browser, "train-loss")) < 0.8 * float(first_loss), (first_loss, steps)
    assert boundary_pixels(browser) != first_boundary
    assert int(lab_text(browser, "epoch-count")) == steps // 25  # 250 train points, 25 batches an epoch
    by_id(browser, "reset").click()
    wait_for_lab(browser, 0)
    assert lab_text(browser, "train-loss") == first_loss
    assert boundary_pixels(browser) == first_boundary
    # the same steps again give the same numbers: the run replays
    step_lab(browser, 3)
    replay = LabSession(LabConfig(problem="circle", n=500, hidden=(8, 8), activation="tanh", batch_size=10,
                                  optimizer="adam", lr=0.03))
    replay.step(3)
    assert lab_text(browser, "train-loss") == f"{replay.losses()['train']:.4f}"
    assert console_errors(browser) == []


def panel_values(driver) -> dict[str, float]:
    """The panel's named numbers: data-quantity (and scope) -> the full value in data-value."""
    found = driver.execute_script(
        "return [...document.querySelectorAll('#explain-body [data-quantity]')]"
        ".map(e => [e.dataset.quantity + '/' + e.dataset.scope, e.dataset.value])"
    )
    return {key: float(value) for key, value in found}


def test_a_clicked_unit_shows_the_library_s_numbers_for_the_last_step(lab, browser):
    from selenium.webdriver.support.ui import WebDriverWait

    settings = dict(problem="gaussian", hidden=(4, 3), activation="sigmoid", batch_size=8, lr=0.1, seed=2)
    browser.get(lab + "?problem=gaussian&hidden=4,3&activation=sigmoid&batch_size=8&lr=0.1&seed=2")
    wait_for_lab(browser, 0)
    step_lab(browser, 4)
    assert not by_id(browser, "explain").is_displayed()
    browser.find_element("css selector", '.neuron[data-unit="1:2"]').click()
    WebDriverWait(browser, 10).until(lambda d: d.find_element("id", "explain-body").get_attribute("data-step") == "4")
    assert by_id(browser, "explain").is_displayed()
    shown = panel_values(browser)

    # The library's own step 4, replayed here: explain's trace of that batch from the weights it started from.
    replay = LabSession(LabConfig(**settings))
    replay.step(4)
    last = replay.last_step
    for name, array in replay.model.params.items():
        np.copyto(array, last.before[name])
    x = replay.train_features()[last.batch]
    t = replay.loss_targets(replay.train_targets[last.batch])
    trace = trace_step(replay.model, replay.loss, x, t, lr=0.1, apply=False, fd_elements=0, directions=0)
    linear, activation = trace.records[0], trace.records[1]  # z_1 and a_1 = sigmoid(z_1)
    assert shown["z/sample"] == pytest.approx(float(linear.y[0, 2]), rel=1e-6)
    assert shown["a/sample"] == pytest.approx(float(activation.y[0, 2]), rel=1e-6)
    assert shown["delta/sample"] == pytest.approx(float(linear.gy[0, 2]), rel=1e-6)
    assert shown["dL/da/sample"] == pytest.approx(float(activation.gy[0, 2]), rel=1e-6)
    assert shown["delta/batch"] == pytest.approx(float(linear.gy[:, 2].mean()), rel=1e-5)
    for j in range(2):
        assert shown[f"dL/dw{j}/batch"] == pytest.approx(float(trace.gradients["W_1"][2, j]), rel=1e-6)
        # the update the page shows is plain SGD's w - eta dL/dw, as the library made it
        assert shown[f"w{j}/after"] == pytest.approx(float(trace.after["W_1"][2, j]), rel=1e-6)
    assert shown["dL/db/batch"] == pytest.approx(float(trace.gradients["b_1"][2]), rel=1e-6)

    # another sample of the batch: its own numbers
    sample = by_id(browser, "sample")
    sample.clear()
    sample.send_keys("5\n")
    WebDriverWait(browser, 10).until(lambda d: panel_values(d).get("z/sample") != shown["z/sample"])
    assert panel_values(browser)["z/sample"] == pytest.approx(float(linear.y[5, 2]), rel=1e-6)

    # an edge: its weight's gradient and update
    browser.execute_script(
        "document.querySelector('#edges line[data-edge=\"2:1:3\"]').dispatchEvent(new MouseEvent('click', {bubbles: true}))"
    )
    WebDriverWait(browser, 10).until(lambda d: "weight 2:1:3" in d.find_element("id", "explain-title").text)
    WebDriverWait(browser, 10).until(lambda d: "dL/dw3/batch" in panel_values(d))
    assert panel_values(browser)["dL/dw3/batch"] == pytest.approx(float(trace.gradients["W_2"][1, 3]), rel=1e-6)
    by_id(browser, "explain-close").click()
    assert not by_id(browser, "explain").is_displayed()
    assert console_errors(browser) == []


def test_uploading_a_csv_trains_on_it_and_a_bad_file_says_what_is_wrong(lab, browser, tmp_path):
    from selenium.webdriver.support.ui import WebDriverWait

    rng = np.random.default_rng(0)
    good = tmp_path / "moons.csv"
    angles = rng.uniform(0, np.pi, 120)
    lines = ["x,y,kind"]
    for k, angle in enumerate(angles):
        upper = k % 2 == 0
        x, y = (np.cos(angle), np.sin(angle)) if upper else (1 - np.cos(angle), 0.5 - np.sin(angle))
        lines.append(f"{x * 30 + 100:.4f},{y * 30 - 7:.4f},{'cat' if upper else 'dog'}")
    good.write_text("\n".join(lines) + "\n")
    browser.get(lab)
    wait_for_lab(browser, 0)
    by_id(browser, "csv").send_keys(str(good))
    WebDriverWait(browser, 10).until(lambda d: "moons.csv" in d.find_element("id", "data-note").text)
    wait_for_lab(browser, 0)
    assert "cat, dog" in lab_text(browser, "data-note")
    assert by_id(browser, "problem").get_attribute("value") == "csv"
    points = browser.execute_script("return window.lab.data.train.points.concat(window.lab.data.test.points)")
    assert len(points) == 120 and np.abs(points).max() == pytest.approx(5.0, abs=1e-3)
    rate = play_lab(browser, 2)
    assert rate > 0 and int(lab_text(browser, "step-count")) > 0

    bad = tmp_path / "broken.csv"
    bad.write_text("x,y,kind\n1,2,cat\n3,oops,dog\n")
    by_id(browser, "csv").send_keys(str(bad))
    WebDriverWait(browser, 10).until(lambda d: d.find_element("id", "error").is_displayed())
    assert lab_text(browser, "error") == "broken.csv, line 3, column 1 ('y'): expected a number, found 'oops'"
    # the lab keeps running what it ran: the good file's session
    assert "moons.csv" in lab_text(browser, "data-note")


def test_the_exports_are_the_running_session_s(lab, browser):
    browser.get(lab + "?problem=plane&hidden=3&activation=linear")
    wait_for_lab(browser, 0)
    model_link = by_id(browser, "export-model").get_attribute("href")
    python_link = by_id(browser, "export-python").get_attribute("href")
    with urlopen(model_link, timeout=10) as response:
        content = response.read()
    header = int.from_bytes(content[:8], "little")
    assert b'"0.weight"' in content[8 : 8 + header]
    with urlopen(python_link, timeout=10) as response:
        code = response.read().decode()
    assert "bp.datasets.playground('plane'" in code and "bp.Linear(2, 3, rng=rng)" in code
    assert "bp.MSELoss()" in code


def test_settings_the_server_refuses_leave_the_defaults_running_and_say_why(lab, browser):
    browser.get(lab + "?hidden=8,99&problem=xor")
    wait_for_lab(browser, 0)
    assert lab_text(browser, "error") == "lab: hidden must be an integer from 1 to 16, got 99"
    assert by_id(browser, "problem").get_attribute("value") == LabConfig().problem
    assert len(browser.find_elements("css selector", ".neuron")) == 2 + 4 + 2 + 1  # the default 2-4-2-1
    by_id(browser, "step").click()
    wait_for_lab(browser, 1)


def test_a_dropped_session_starts_again_and_says_so_and_units_answer_the_keyboard(lab, browser):
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(lab + "?problem=circle&hidden=3")
    wait_for_lab(browser, 0)
    by_id(browser, "step").click()
    wait_for_lab(browser, 1)
    dropped = browser.execute_script("return window.lab.session")
    with urlopen(Request(f"{lab}api/sessions/{dropped}", method="DELETE"), timeout=10) as response:
        assert response.status == 204
    by_id(browser, "step").click()  # the server answers 404: the page makes a new run and says why
    WebDriverWait(browser, 10).until(lambda d: d.find_element("id", "error").is_displayed())
    assert "starts again from step 0" in lab_text(browser, "error")
    wait_for_lab(browser, 0)
    assert browser.execute_script("return window.lab.session") != dropped
    by_id(browser, "step").click()
    wait_for_lab(browser, 1)
    assert not by_id(browser, "error").is_displayed()  # a good step clears the message
    unit = browser.find_element("css selector", '.neuron[data-unit="1:1"]')
    unit.send_keys(Keys.ENTER)
    WebDriverWait(browser, 10).until(lambda d: d.find_element("id", "explain-body").get_attribute("data-step") == "1")
    assert lab_text(browser, "explain-title") == "unit 1:1"


def test_a_new_learning_rate_goes_on_with_the_run(lab, browser):
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser.get(lab + "?problem=circle&hidden=4&lr=0.03")
    wait_for_lab(browser, 0)
    step_lab(browser, 3)
    Select(by_id(browser, "lr")).select_by_visible_text("0.3")
    WebDriverWait(browser, 10).until(lambda d: "lr=0.3" in d.current_url)
    assert lab_text(browser, "step-count") == "3"  # the run goes on
    by_id(browser, "step").click()
    wait_for_lab(browser, 4)
    browser.find_element("css selector", '.neuron[data-unit="1:0"]').click()
    WebDriverWait(browser, 10).until(lambda d: d.find_element("id", "explain-body").get_attribute("data-step") == "4")
    assert "η = 0.3" in lab_text(browser, "explain-body")
