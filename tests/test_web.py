"""`backprop serve`'s API with Flask's test client: every answer, valid and invalid; the command itself."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
from conftest import cli_user_error, start_cli

import backprop as bp
from backprop.runs import load_run

pytest.importorskip("flask", reason="flask is not installed (pip install -e '.[web]')")

from backprop.web.server import (
    MAX_BODY_BYTES,
    REQUEST_TIMEOUT_S,
    JsonErrorsRequestHandler,
    create_app,
    make_http_server,
)


@pytest.fixture(scope="module")
def digits_run(small_digits_run):
    """conftest's run of ``backprop train --epochs 10 --hidden 64,32``: the page shows its two hidden layers."""
    return small_digits_run


@pytest.fixture(scope="module")
def client(digits_run):
    return create_app(load_run(digits_run)).test_client()


def a_drawn_digit(label: int, scale: int = 10) -> list[list[float]]:
    """An 8x8 training digit blown up ``scale`` times, as a canvas of grey levels in [0, 1]."""
    x, labels = bp.datasets.load_digits(dtype=np.float64)
    image = x[int(np.flatnonzero(labels == label)[0]), 0]
    return np.kron(image, np.ones((scale, scale))).round(2).tolist()


def test_the_page_and_its_static_files(client):
    page = client.get("/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert 'id="pad"' in html and 'src="static/app.js"' in html
    assert '<link rel="icon" href="data:,">' in html  # else every browser asks for /favicon.ico: a 404
    script = client.get("/static/app.js")
    assert script.status_code == 200 and "javascript" in script.mimetype and b"api/predict" in script.data
    assert client.get("/static/style.css").mimetype == "text/css"


def test_the_model_description(client):
    info = client.get("/api/model").get_json()
    assert info["input_size"] == [8, 8] and info["dataset"] == "digits"
    assert info["model"].startswith("Sequential(Flatten(), Linear(64 -> 64)")


@pytest.mark.parametrize("label", [0, 3, 7])
def test_predict_answers_label_probabilities_input_and_layers(client, label):
    response = client.post("/api/predict", json={"image": a_drawn_digit(label)})
    assert response.status_code == 200 and response.mimetype == "application/json"
    answer = response.get_json()
    assert list(answer) == ["label", "probabilities", "input", "layers"]
    assert answer["label"] == label
    probabilities = np.array(answer["probabilities"])
    assert probabilities.shape == (10,) and abs(probabilities.sum() - 1) < 1e-5 and probabilities.min() >= 0
    assert int(np.argmax(probabilities)) == label
    image = np.array(answer["input"])
    assert image.shape == (8, 8) and image.max() == 1.0 and image.min() >= 0
    assert [(layer["name"], layer["shape"]) for layer in answer["layers"]] == [
        ("ReLU after Linear(64 -> 64)", [64]), ("ReLU after Linear(64 -> 32)", [32])]
    assert all(min(layer["activations"]) >= 0 for layer in answer["layers"])  # ReLU outputs


def test_the_answer_is_what_the_model_computes(digits_run, client):
    answer = client.post("/api/predict", json={"image": a_drawn_digit(4, scale=3)}).get_json()
    model = bp.load(digits_run / "model.safetensors")
    x = np.array(answer["input"], dtype=np.float32).reshape(1, 1, 8, 8)
    np.testing.assert_allclose(answer["probabilities"], bp.predict(model, x)[0], atol=1e-5)
    hidden = np.maximum(model.layers[1](x.reshape(1, 64)), 0)
    np.testing.assert_allclose(answer["layers"][0]["activations"], hidden[0], atol=1e-3)


@pytest.mark.parametrize("size", [(8, 8), (280, 280), (20, 100), (280, 8)])
def test_any_size_from_8x8_to_280x280_is_taken(client, size):
    image = np.zeros(size)
    image[size[0] // 4 : size[0] * 3 // 4, size[1] // 3 : size[1] // 2] = 1.0
    # A body without the JSON content type is read too (curl users forget the header).
    response = client.post("/api/predict", data=json.dumps({"image": image.tolist()}))
    assert response.status_code == 200, response.get_json()
    assert 0 <= response.get_json()["label"] <= 9


@pytest.mark.parametrize("level", [0.0, 0.3, 1.0])
def test_a_canvas_with_no_ink_is_422_not_a_guess(client, level):
    """A blank (or one-grey) canvas has no digit: a clear 422, which the page shows as "draw a digit"."""
    response = client.post("/api/predict", json={"image": np.full((28, 28), level).tolist()})
    assert response.status_code == 422 and response.mimetype == "application/json"
    assert response.get_json() == {
        "error": '"image": the image has no ink (it is one shade throughout); draw or photograph a digit'}


def test_a_faint_drawing_under_the_ink_threshold_is_422_and_one_over_it_is_answered(client):
    image = np.zeros((80, 80))
    image[20:60, 35:45] = 0.05  # a faint bar, 0.05 above its background: under MIN_CONTRAST (0.08)
    response = client.post("/api/predict", json={"image": image.tolist()})
    assert response.status_code == 422 and "the most is 0.050" in response.get_json()["error"]
    image[20:60, 35:45] = 0.1
    assert client.post("/api/predict", json={"image": image.tolist()}).status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", r"the body must be JSON"),
        (b"", r"the body must be JSON"),
        (b"[[0.5]]", r"expected a JSON object .* got a JSON 2-D array"),
        (b'{"picture": []}', r'has no "image" key \(its keys: \'picture\'\)'),
        (b'{"image": "abc"}', r'"image" must be a 2-D list .* got a JSON string'),
        (b'{"image": [0.1, 0.2]}', r'"image" must be a 2-D list .* got a JSON array'),
        (b'{"image": []}', r'"image" must be a 2-D list'),
        (b'{"image": null}', r'"image" must be a 2-D list .* got a JSON null'),
        (json.dumps({"image": [[0.0] * 10] * 9 + [[0.0] * 11]}).encode(), r"ragged rows: row 0 has 10 values, row 9 has 11"),
        (json.dumps({"image": [[0.0] * 10] * 9 + [["x"] * 10]}).encode(), r"row 9 holds a JSON string"),
        (json.dumps({"image": [[True] * 10] * 10}).encode(), r"row 0 holds a JSON boolean"),
        (json.dumps({"image": [[None] * 10] * 10}).encode(), r"row 0 holds a JSON null"),
        (json.dumps({"image": [[[0.0]] * 10] * 10}).encode(), r"row 0 holds a JSON array"),
        (b'{"image": [' + b",".join([b"[NaN" + b",0" * 9 + b"]"] * 10) + b"]}", r"NaN or infinite"),
        (b'{"image": [' + b",".join([b"[Infinity" + b",0" * 9 + b"]"] * 10) + b"]}", r"NaN or infinite"),
        (b'{"image": [' + b",".join([b"[1e999" + b",0" * 9 + b"]"] * 10) + b"]}", r"NaN or infinite"),
        (json.dumps({"image": [[-0.5] * 10] * 10}).encode(),
         r"values from -0.5 to -0.5 \(-0.5 at row 0, column 0\); expected numbers in \[0, 1\]"),
        (json.dumps({"image": [[255] * 10] * 10}).encode(),
         r"values from 255 to 255 \(255 at row 0, column 0\); expected numbers in \[0, 1\]"),
        # every digit of the value that broke the rule: "from 0 to 1" would not say what was wrong
        (json.dumps({"image": [[0.0] * 10] * 9 + [[0.0] * 9 + [1.0000001]]}).encode(),
         r'^"image" holds values from 0 to 1.0000001 \(1.0000001 at row 9, column 9\); expected numbers in \[0, 1\]$'),
        (json.dumps({"image": [[0.0] * 10] * 9 + [[0.0] * 9 + [-1e-300]]}).encode(),
         r"values from -1e-300 to 0 \(-1e-300 at row 9, column 9\)"),
        # an integer beyond float64: JSON allows it; it must be a 400, not a server error
        (b'{"image": [' + b",".join([b"[1" + b"0" * 400 + b",0" * 9 + b"]"] * 10) + b"]}",
         r"NaN or infinite numbers \(the first at row 0, column 0\)"),
        (b'{"image": [' + b",".join([b"[0,-1" + b"0" * 400 + b",0" * 8 + b"]"] * 10) + b"]}",
         r"NaN or infinite numbers \(the first at row 0, column 1\)"),
        (json.dumps({"image": [[0.0] * 7] * 10}).encode(), r'"image" is 7x10 \(columns x rows\); expected 8x8 to 280x280'),
        (json.dumps({"image": [[0.0] * 10] * 7}).encode(), r"is 10x7 .* and it has 7 rows"),
        (json.dumps({"image": [[0.0]]}).encode(), r"is 1x1"),
        (json.dumps({"image": [[0] * 281] * 10}).encode(), r"is 281x10 .* and it has 281 columns"),
        (json.dumps({"image": [[0] * 10] * 281}).encode(), r"is 10x281"),
        (b"[" * 100_000 + b"]" * 100_000, r"the body must be JSON"),
    ],
)
def test_bad_requests_get_400_with_a_json_error(client, body, message):
    response = client.post("/api/predict", data=body, content_type="application/json")
    assert response.status_code == 400 and response.mimetype == "application/json"
    assert re.search(message, response.get_json()["error"]), response.get_json()


def test_a_body_over_1_mib_is_413(client):
    body = b'{"image": [[' + b"0," * (MAX_BODY_BYTES // 2) + b"0]]}"
    response = client.post("/api/predict", data=body, content_type="application/json")
    assert response.status_code == 413 and "over 1048576 bytes (1 MiB)" in response.get_json()["error"]


@pytest.mark.parametrize(
    "path",
    ["/../../etc/passwd", "/static/../../etc/passwd", "/static/..%2F..%2Fetc%2Fpasswd",
     "/static/%2e%2e/%2e%2e/etc/passwd", "/static/%2Fetc%2Fpasswd", "/static//etc/passwd",
     "/static/..%5c..%5cserver.py", "/static/../server.py", "/static/nothing.js", "/nothing"],
)
def test_paths_outside_the_static_folder_are_404(client, path):
    response = client.get(path)
    assert response.status_code == 404 and "error" in response.get_json()
    assert b"root:" not in response.data and b"def create_app" not in response.data


def test_wrong_methods_are_405_in_json(client):
    response = client.get("/api/predict")
    assert response.status_code == 405 and "error" in response.get_json()
    assert client.delete("/").status_code == 405


def test_a_cnn_saved_with_bp_save_shows_its_feature_maps(tmp_path):
    model = bp.Sequential(bp.Conv2d(1, 4, 3, padding=1, rng=0), bp.ReLU(), bp.MaxPool2d(2),
                          bp.Conv2d(4, 6, 3, padding=1, rng=1), bp.ReLU(), bp.MaxPool2d(2), bp.Flatten(),
                          bp.Linear(6 * 7 * 7, 16, rng=2), bp.ReLU(), bp.Linear(16, 10, rng=3))
    model.output_transform = "softmax"
    bp.save(model, tmp_path / "cnn.safetensors")
    run = load_run(tmp_path / "cnn.safetensors")
    assert "samples of shape (1, 28, 28)" in run.assumed
    answer = create_app(run).test_client().post("/api/predict", json={"image": a_drawn_digit(2)}).get_json()
    assert np.array(answer["input"]).shape == (28, 28)
    assert [layer["shape"] for layer in answer["layers"]] == [[4, 28, 28], [6, 14, 14], [16]]
    assert answer["layers"][0]["name"].startswith("ReLU after Conv2d(1 -> 4, kernel 3x3")
    assert np.array(answer["layers"][0]["activations"]).shape == (4, 28, 28)


def test_a_flat_input_model_without_hidden_layers_takes_drawings_as_28x28(tmp_path):
    model = bp.Sequential(bp.Linear(784, 10, rng=0))
    model.output_transform = "softmax"
    bp.save(model, tmp_path / "softmax.safetensors")
    answer = create_app(load_run(tmp_path / "softmax.safetensors")).test_client().post(
        "/api/predict", json={"image": a_drawn_digit(1)}).get_json()
    assert np.array(answer["input"]).shape == (28, 28) and answer["layers"] == []
    x = np.array(answer["input"], dtype=np.float32).reshape(1, 784)
    np.testing.assert_allclose(answer["probabilities"], bp.predict(model, x)[0], atol=1e-5)


@pytest.mark.slow
def test_the_page_needs_a_classifier_of_images(tmp_path):
    bp.save(bp.Sequential(bp.Linear(5, 1, rng=0)), tmp_path / "regressor.safetensors")
    with pytest.raises(ValueError, match="the page needs a classifier; this model is a regression model"):
        create_app(load_run(tmp_path / "regressor.safetensors"))
    assert "the page needs a classifier" in cli_user_error("serve", tmp_path / "regressor.safetensors", timeout=120)


@pytest.mark.slow
def test_importing_backprop_does_not_import_flask():
    code = "import sys, backprop, backprop.cli; print('flask' in sys.modules, 'backprop.web.server' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout == "False False\n"


@pytest.mark.slow
def test_serve_without_flask_names_the_extra(digits_run):
    code = ("import sys; sys.modules['flask'] = None; from backprop.cli import main; "
            f"sys.exit(main(['serve', {str(digits_run)!r}]))")
    message = cli_user_error(code=code, timeout=60)
    assert "backprop serve needs Flask" in message and "pip install 'backprop[web]'" in message


@pytest.mark.slow
def test_serve_refuses_a_bad_port_and_a_missing_model(digits_run, tmp_path):
    assert "expected a port number from 0 to 65535, got '70000'" in cli_user_error(
        "serve", digits_run, "--port", "70000", timeout=120
    )
    message = cli_user_error("serve", tmp_path / "nothing", timeout=120)
    assert "nothing: no such" in message and "(give a run folder or a .safetensors file)" in message


@pytest.mark.slow
def test_backprop_serve_answers_over_http(digits_run):
    """The command a user types: it prints its address, serves the page and the API, and a busy port is an error."""
    process = start_cli("serve", digits_run, "--port", "0")
    try:
        line = process.stdout.readline()
        match = re.fullmatch(rf"serving {re.escape(str(digits_run / 'model.safetensors'))} at "
                             r"(http://127\.0\.0\.1:(\d+)/)  \(Ctrl-C stops\)\n", line)
        assert match, line
        address, port = match.group(1), match.group(2)
        with urllib.request.urlopen(address, timeout=30) as page:
            assert b'id="pad"' in page.read()
        request = urllib.request.Request(address + "api/predict", data=json.dumps({"image": a_drawn_digit(7)}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert json.load(response)["label"] == 7
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(address + "api/predict", data=b"{}"), timeout=30)
        assert refused.value.code == 400 and "error" in json.load(refused.value)
        # A request line over http.server's 65,536 bytes: refused before Flask, in JSON all the same.
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(address + "a" * 70_000, timeout=30)
        assert refused.value.code == 414 and refused.value.headers["Content-Type"] == "application/json"
        assert json.load(refused.value) == {"error": "Request-URI Too Long: URI is too long"}
        assert f"cannot listen on 127.0.0.1:{port}" in cli_user_error("serve", digits_run, "--port", port, timeout=120)
    finally:
        process.terminate()
        process.wait(timeout=10)


# The real HTTP server (make_http_server, as `backprop serve` makes it) in a thread, spoken to over
# raw sockets: what reaches it before Flask does, and clients that stop talking.


@pytest.fixture
def live_server(digits_run, monkeypatch):
    """The server on a free port of 127.0.0.1, its silence limit cut to 1 s to keep the tests short."""
    monkeypatch.setattr(JsonErrorsRequestHandler, "timeout", 1)
    server = make_http_server(create_app(load_run(digits_run)), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.socket.getsockname()[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def exchange(port: int, data: bytes, limit: float = 20) -> tuple[float, int | None, dict, bytes]:
    """Send ``data``, read until the server closes: (seconds it took, status, headers, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=limit) as connection:
        start = time.monotonic()
        connection.sendall(data)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
        elapsed = time.monotonic() - start
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    if not head:
        return elapsed, None, {}, b""
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return elapsed, int(lines[0].split()[1]), {key.lower(): value for key, value in headers.items()}, body


def test_errors_of_the_http_server_itself_are_json(live_server):
    _, status, headers, body = exchange(live_server, b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 414 and headers["content-type"] == "application/json"
    assert json.loads(body) == {"error": "Request-URI Too Long: URI is too long"}
    _, status, headers, body = exchange(live_server, b"GET / HTTP/1.1\r\n" + b"X-Many: 1\r\n" * 120 + b"\r\n")
    assert status == 431 and headers["content-type"] == "application/json"
    assert json.loads(body) == {"error": "Too many headers: got more than 100 headers"}
    _, status, headers, body = exchange(live_server, b"GET / HTTP/1.1\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n")
    assert status == 431 and "Line too long" in json.loads(body)["error"]


@pytest.mark.slow
def test_a_body_shorter_than_its_content_length_is_408_after_the_silence_limit(live_server):
    """It used to hold a server thread for as long as the client kept the connection open."""
    request = (b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: 1000\r\n\r\n" + b'{"image": [[0.5')
    elapsed, status, headers, body = exchange(live_server, request)
    assert 0.9 < elapsed < 5, elapsed
    assert status == 408 and headers["content-type"] == "application/json"
    assert json.loads(body)["error"] == (
        f"the body ended, or sent nothing for {REQUEST_TIMEOUT_S} s, before the 1000 bytes its Content-Length promised")
    _, status, _, _ = exchange(live_server, b"GET /api/model HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 200  # the server goes on


@pytest.mark.slow
def test_a_connection_that_says_nothing_is_closed(live_server):
    elapsed, status, _, _ = exchange(live_server, b"")
    assert status is None and 0.9 < elapsed < 5, elapsed
    elapsed, status, _, _ = exchange(live_server, b"GET /api/mod")  # half a request line, then silence
    assert status is None and 0.9 < elapsed < 5, elapsed


def test_the_silence_limit_is_a_few_seconds():
    assert JsonErrorsRequestHandler.timeout == REQUEST_TIMEOUT_S and 2 <= REQUEST_TIMEOUT_S <= 10


def test_the_page_refuses_a_model_of_csv_features(tmp_path):
    """64 features make an 8x8 square, but standardised features are no drawing."""
    model = bp.Sequential(bp.Linear(64, 10, rng=0))
    model.output_transform = "softmax"
    bp.save(model, tmp_path / "features.safetensors")
    run = load_run(tmp_path / "features.safetensors")
    assert run.takes_pixels
    run.record["preprocessing"] = {"mean": [0.0] * 64, "std": [1.0] * 64}
    assert not run.takes_pixels
    with pytest.raises(ValueError, match=r"this one takes samples of shape \(64,\) \(features, not pixels\)$"):
        create_app(run)
