"""`backprop serve`'s API with Flask's test client: every answer, valid and invalid; the command itself."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.error
import urllib.request

import numpy as np
import pytest

import backprop as bp
from backprop.runs import load_run

pytest.importorskip("flask", reason="flask is not installed (pip install -e '.[web]')")

from backprop.web.server import MAX_BODY_BYTES, create_app


def backprop(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "backprop", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("web") / "run"
    result = backprop("train", "--epochs", "10", "--hidden", "64,32", "--no-plots", "--quiet", "--out", out)
    assert result.returncode == 0, result.stderr
    return out


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


def test_a_blank_canvas_is_answered_with_a_black_input(client):
    answer = client.post("/api/predict", json={"image": np.zeros((28, 28)).tolist()}).get_json()
    assert np.array(answer["input"]).max() == 0


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
        (json.dumps({"image": [[-0.5] * 10] * 10}).encode(), r"values from -0.5 to -0.5; expected numbers in \[0, 1\]"),
        (json.dumps({"image": [[255] * 10] * 10}).encode(), r"values from 255 to 255; expected numbers in \[0, 1\]"),
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


def test_the_page_needs_a_classifier_of_images(tmp_path):
    bp.save(bp.Sequential(bp.Linear(5, 1, rng=0)), tmp_path / "regressor.safetensors")
    with pytest.raises(ValueError, match="the page needs a classifier; this model is a regression model"):
        create_app(load_run(tmp_path / "regressor.safetensors"))
    result = backprop("serve", tmp_path / "regressor.safetensors")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "the page needs a classifier" in result.stderr


def test_importing_backprop_does_not_import_flask():
    code = "import sys, backprop, backprop.cli; print('flask' in sys.modules, 'backprop.web.server' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout == "False False\n"


def test_serve_without_flask_names_the_extra(digits_run):
    code = ("import sys; sys.modules['flask'] = None; from backprop.cli import main; "
            f"sys.exit(main(['serve', {str(digits_run)!r}]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "backprop serve needs Flask" in result.stderr and "pip install 'backprop[web]'" in result.stderr


def test_serve_refuses_a_bad_port_and_a_missing_model(digits_run, tmp_path):
    result = backprop("serve", digits_run, "--port", "70000")
    assert result.returncode == 2 and "expected a port number from 0 to 65535, got '70000'" in result.stderr
    result = backprop("serve", tmp_path / "nothing")
    assert result.returncode == 2 and "no such model file" in result.stderr


def test_backprop_serve_answers_over_http(digits_run):
    """The command a user types: it prints its address, serves the page and the API, and a busy port is an error."""
    process = subprocess.Popen([sys.executable, "-m", "backprop", "serve", str(digits_run), "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
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
        busy = backprop("serve", digits_run, "--port", port)
        assert busy.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in busy.stderr
    finally:
        process.terminate()
        process.wait(timeout=10)
