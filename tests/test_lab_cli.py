"""`backprop lab` as a user types it: the address it prints, the page and the API over real HTTP,
a quiet log, and the mistakes a user makes (a bad or busy port, no Flask)."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest
from conftest import cli_user_error, start_cli

pytest.importorskip("flask", reason="flask is not installed (pip install -e '.[web]')")


def post(address: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(address + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


@pytest.mark.slow
def test_backprop_lab_serves_the_page_and_the_api_and_logs_only_failures():
    process = start_cli("lab", "--port", "0")
    try:
        line = process.stdout.readline()
        match = re.fullmatch(r"the lab is at (http://127\.0\.0\.1:(\d+)/)  \(Ctrl-C stops\)\n", line)
        assert match, line
        address, port = match.group(1), match.group(2)
        with urllib.request.urlopen(address, timeout=30) as page:
            html = page.read().decode()
        assert 'id="boundary"' in html and 'id="explain"' in html
        for name in re.findall(r'(?:src|href)="(static/[^"]+)"', html):
            with urllib.request.urlopen(address + name, timeout=30) as response:
                assert response.status == 200 and response.read()
        created = post(address, "api/sessions", {"config": {"problem": "xor", "hidden": [4]}})
        state = post(address, f"api/sessions/{created['session']}/step", {"steps": 20})
        assert state["step"] == 20 and len(state["gradient_norms"]) == 20
        with pytest.raises(urllib.error.HTTPError) as refused:
            post(address, "api/sessions", {"config": {"hidden": [99]}})
        assert refused.value.code == 400
        assert json.load(refused.value) == {"error": "lab: hidden must be an integer from 1 to 16, got 99"}
        assert f"cannot listen on 127.0.0.1:{port}" in cli_user_error("lab", "--port", port, timeout=120)
    finally:
        process.terminate()
        process.wait(timeout=10)
    log = process.stderr.read()
    # twenty requests a second while playing: only the failed one is logged
    assert "POST /api/sessions HTTP/1.1\" 400" in log and " 200 " not in log and " 201 " not in log, log


@pytest.mark.slow
def test_lab_refuses_a_bad_port_and_names_the_extra_without_flask():
    assert "expected a port number from 0 to 65535, got '70000'" in cli_user_error("lab", "--port", "70000")
    code = "import sys; sys.modules['flask'] = None; from backprop.cli import main; sys.exit(main(['lab']))"
    message = cli_user_error(code=code, timeout=60)
    assert "backprop lab needs Flask" in message and "pip install 'backprop[web]'" in message
