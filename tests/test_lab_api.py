"""The lab's JSON API with Flask's test client: every endpoint, every bad request, uploads, the store,
and the arithmetic panel's numbers checked against an independent replay of the step."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("flask", reason="flask is not installed (pip install -e '.[web]')")

import backprop as bp
from backprop.lab.server import MAX_BODY_BYTES, MAX_STEPS, STATIC, create_lab_app
from backprop.lab.session import MAX_LAYERS, MAX_POINTS, MAX_UNITS, LabConfig, LabSession
from backprop.lab.store import SessionStore
from backprop.lab.upload import MAX_UPLOAD_BYTES, read_upload

SMALL = {"n": 100, "hidden": [3, 2], "seed": 1}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store():
    return SessionStore()


@pytest.fixture
def client(store):
    return create_lab_app(store).test_client()


def create(client, config=None, **extra):
    response = client.post("/api/sessions", json={"config": {**SMALL, **(config or {})}, **extra})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


@pytest.fixture
def session_id(client):
    return create(client)["session"]


@pytest.fixture
def stepped(client):
    """A session after 3 steps."""
    key = create(client)["session"]
    assert client.post(f"/api/sessions/{key}/step", json={"steps": 3, "grid": 4}).status_code == 200
    return key


def error_of(response, status):
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert list(body) == ["error"] and isinstance(body["error"], str) and body["error"]
    return body["error"]


def strict_json(raw: bytes):
    """``json.loads`` that refuses NaN and Infinity, which JSON does not have."""

    def refuse(name):
        raise ValueError(f"not JSON: {name}")

    return json.loads(raw, parse_constant=refuse)


# ---------------------------------------------------------------------------------------------------
# The page and its files


@pytest.mark.skipif(
    not (STATIC / "index.html").exists(), reason="the lab's static/index.html is not written yet"
)
def test_the_page():
    response = create_lab_app().test_client().get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"


@pytest.mark.skipif(not (STATIC / "lab.js").exists(), reason="the lab's static/lab.js is not written yet")
def test_the_script():
    response = create_lab_app().test_client().get("/static/lab.js")
    assert response.status_code == 200 and "javascript" in response.mimetype


def test_a_missing_static_file_is_a_json_404(client):
    assert "Not Found" in error_of(client.get("/static/no-such-file.js"), 404)


# ---------------------------------------------------------------------------------------------------
# Happy paths


def test_options(client):
    response = client.get("/api/options")
    assert response.status_code == 200
    options = response.get_json()
    assert "circle" in options["problems"] and "plane" in options["regression"]
    assert options["features"][:2] == ["x1", "x2"]
    assert "tanh" in options["activations"] and options["optimizers"] == ["sgd", "momentum", "adam"]
    assert options["limits"] == {
        "points": MAX_POINTS,
        "layers": MAX_LAYERS,
        "units": MAX_UNITS,
        "steps": MAX_STEPS,
        "upload_bytes": MAX_UPLOAD_BYTES,
    }
    defaults = LabConfig()
    assert options["defaults"]["hidden"] == list(defaults.hidden)
    assert options["defaults"]["lr"] == defaults.lr and options["defaults"]["problem"] == defaults.problem


def test_create_fills_defaults_and_answers_the_state(client):
    response = client.post("/api/sessions", json={"config": {"n": 100, "hidden": [3]}})
    assert response.status_code == 201
    answer = response.get_json()
    assert list(answer) == ["session", "config", "data", "state"]
    defaults = LabConfig()
    config = answer["config"]
    assert config["n"] == 100 and config["hidden"] == [3]
    assert config["features"] == list(defaults.features) and config["activation"] == defaults.activation
    assert config["lr"] == defaults.lr and config["problem"] == defaults.problem
    data = answer["data"]
    assert len(data["train"]["points"]) + len(data["test"]["points"]) == 100
    assert len(data["train"]["points"]) == len(data["train"]["targets"]) == 50
    assert data["regression"] is False and data["classes"] == 2
    state = answer["state"]
    assert state["step"] == 0 and state["epoch"] == 0 and state["gradient_norms"] == []
    boundary = np.array(state["boundary"])
    assert state["grid"] == 64 and boundary.shape == (64, 64)
    assert set(state["neurons"]) == {"0:0", "0:1", "1:0", "1:1", "1:2", "2:0"}
    assert np.array(state["neurons"]["0:0"]).shape == (state["neuron_grid"],) * 2
    assert [np.array(w).shape for w in state["weights"]] == [(3, 2), (1, 3)]
    assert isinstance(state["loss"]["train"], float) and isinstance(state["loss"]["test"], float)


def test_an_empty_body_makes_a_default_session(client):
    response = client.post("/api/sessions")
    assert response.status_code == 201
    assert response.get_json()["config"]["n"] == LabConfig().n


def test_describe(client, session_id):
    response = client.get(f"/api/sessions/{session_id}")
    assert response.status_code == 200
    answer = response.get_json()
    assert list(answer) == ["config", "data", "state"]
    assert answer["config"]["hidden"] == [3, 2] and answer["state"]["step"] == 0


def test_step_honours_steps_and_grid(client, session_id):
    first = client.post(f"/api/sessions/{session_id}/step", json={"steps": 7, "grid": 5})
    assert first.status_code == 200
    state = first.get_json()
    assert state["step"] == 7 and state["grid"] == 5 and np.array(state["boundary"]).shape == (5, 5)
    assert len(state["gradient_norms"]) == 7 and all(len(row) == 3 for row in state["gradient_norms"])
    second = client.post(f"/api/sessions/{session_id}/step", json={"steps": 2, "grid": 2}).get_json()
    assert second["step"] == 9 and len(second["gradient_norms"]) == 2
    # 50 train points, 10 a batch: 5 steps an epoch
    assert second["epoch"] == 1
    default = client.post(f"/api/sessions/{session_id}/step").get_json()
    assert default["step"] == 10 and default["grid"] == 64 and len(default["gradient_norms"]) == 1
    assert client.get(f"/api/sessions/{session_id}").get_json()["state"]["step"] == 10


def test_reset_replays_from_the_seed(client):
    created = create(client)
    key = created["session"]
    stepped = client.post(f"/api/sessions/{key}/step", json={"steps": 20, "grid": 4}).get_json()
    assert stepped["loss"] != created["state"]["loss"]
    response = client.post(f"/api/sessions/{key}/reset")
    assert response.status_code == 200
    answer = response.get_json()
    assert list(answer) == ["data", "state"]
    assert answer["state"]["step"] == 0 and answer["state"]["loss"] == created["state"]["loss"]
    assert answer["data"] == created["data"] and answer["state"]["weights"] == created["state"]["weights"]
    again = client.post(f"/api/sessions/{key}/step", json={"steps": 20, "grid": 4}).get_json()
    assert again["loss"] == stepped["loss"]
    assert np.array(
        client.post(f"/api/sessions/{key}/reset", json={"grid": 3}).get_json()["state"]["boundary"]
    ).shape == (
        3,
        3,
    )


@pytest.mark.parametrize("query", ["unit=1:0&sample=2", "unit=3:0", "unit=0:1", "edge=2:1:0&sample=9"])
def test_explain(client, stepped, query):
    response = client.get(f"/api/sessions/{stepped}/explain?{query}")
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["step"] == 3 and answer["batch_size"] == 10
    assert answer["sample"] == (2 if "sample=2" in query else 9 if "sample=9" in query else 0)
    assert answer["html"].startswith('<p class="step">Step 3') and "<math" in answer["html"]
    assert all(isinstance(value, float) for pair in answer["values"].values() for value in pair.values())
    if query.startswith("edge"):
        assert answer["edge"] == "2:1:0" and {"w*a", "dL/dw0", "w0", "dL/db", "b"} <= set(answer["values"])
    elif "unit=0:" in query:
        assert answer["unit"] == "0:1" and "a" in answer["values"]
    else:
        assert {"z", "a", "delta", "dL/dw0", "w0", "dL/db", "b"} <= set(answer["values"])


def test_the_model_file_loads_and_predicts_as_the_session(client, store, stepped, tmp_path):
    response = client.get(f"/api/sessions/{stepped}/model")
    assert response.status_code == 200 and response.mimetype == "application/octet-stream"
    assert "lab-model.safetensors" in response.headers["Content-Disposition"]
    path = tmp_path / "lab.safetensors"
    path.write_bytes(response.data)
    loaded = bp.load(path)
    with store.use(stepped) as entry:
        session = entry.session
        x = session.train_features()
        expected = session.model(x)
    np.testing.assert_array_equal(loaded.eval()(x), expected)


def test_the_python_snippet_runs(client, tmp_path):
    key = create(client, {"n": 60, "hidden": [3]})["session"]
    client.post(f"/api/sessions/{key}/step", json={"steps": 3, "grid": 2})
    response = client.get(f"/api/sessions/{key}/python")
    assert response.status_code == 200 and response.mimetype == "text/x-python"
    code = response.get_data(as_text=True)
    compile(code, "lab.py", "exec")
    script = tmp_path / "lab.py"
    script.write_text(code)
    run = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 0, run.stderr
    assert "train loss" in run.stdout and (tmp_path / "lab-model.safetensors").exists()


def test_delete(client, session_id):
    response = client.delete(f"/api/sessions/{session_id}")
    assert response.status_code == 204 and response.data == b""
    assert session_id in error_of(client.get(f"/api/sessions/{session_id}"), 404)
    error_of(client.post(f"/api/sessions/{session_id}/step"), 404)
    error_of(client.delete(f"/api/sessions/{session_id}"), 404)


# ---------------------------------------------------------------------------------------------------
# Bad requests


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("{not json", "JSON object"),
        ("[1, 2]", "JSON object"),
        ("null", "JSON object"),
        ('"config"', "JSON object"),
        ("[" * 100_000, "JSON object"),
    ],
)
def test_a_body_that_is_not_a_json_object(client, session_id, body, words):
    for url in ("/api/sessions", f"/api/sessions/{session_id}/step", f"/api/sessions/{session_id}/reset"):
        message = error_of(client.post(url, data=body, content_type="application/json"), 400)
        assert words in message


def test_config_not_an_object(client):
    assert "config must be a JSON object" in error_of(client.post("/api/sessions", json={"config": [1]}), 400)


def test_unknown_setting(client):
    message = error_of(client.post("/api/sessions", json={"config": {"nn": 5}}), 400)
    assert "'nn'" in message and "unknown setting" in message


def test_unknown_top_level_field(client):
    message = error_of(client.post("/api/sessions", json={"config": {}, "steps": 5}), 400)
    assert "'steps'" in message


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("problem", "moon", "problem"),
        ("problem", 3, "problem"),
        ("n", 9, "n must be an integer from 10 to 2000"),
        ("n", 2001, "n must"),
        ("n", 100.0, "n must"),
        ("n", "100", "n must"),
        ("n", True, "n must"),
        ("noise", -0.1, "noise must be a number from 0 to 1"),
        ("noise", 1.5, "noise"),
        ("noise", "0.1", "noise"),
        ("train_fraction", 0.05, "train_fraction"),
        ("train_fraction", 0.95, "train_fraction"),
        ("seed", -1, "seed"),
        ("seed", 2**31, "seed"),
        ("seed", 1.5, "seed"),
        ("features", ["x3"], "features"),
        ("features", ["x1", "x1"], "features"),
        ("features", [], "features"),
        ("features", [1], "features"),
        ("features", "x1", "features must be a list"),
        ("hidden", [2] * (MAX_LAYERS + 1), "hidden has at most 6 layers"),
        ("hidden", [0], "hidden must be an integer from 1 to 16"),
        ("hidden", [17], "hidden"),
        ("hidden", [2.0], "hidden"),
        ("hidden", 4, "hidden must be a list"),
        ("activation", "softplus", "activation"),
        ("optimizer", "rmsprop", "optimizer"),
        ("lr", 0, "lr must be a number"),
        ("lr", 11, "lr"),
        ("lr", "0.1", "lr"),
        ("batch_size", 0, "batch_size"),
        ("batch_size", 2001, "batch_size"),
        ("l2", -0.1, "l2"),
        ("l2", 2, "l2"),
    ],
)
def test_each_setting_out_of_range_or_of_the_wrong_type(client, name, value, words):
    message = error_of(client.post("/api/sessions", json={"config": {**SMALL, name: value}}), 400)
    assert words in message and name in message


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_refused(client, value):
    body = '{"config": {"lr": ' + value + "}}"
    assert "lr" in error_of(client.post("/api/sessions", data=body, content_type="application/json"), 400)


@pytest.mark.parametrize(
    ("payload", "name"),
    [
        ({"steps": 0}, "steps"),
        ({"steps": MAX_STEPS + 1}, "steps"),
        ({"steps": "5"}, "steps"),
        ({"steps": True}, "steps"),
        ({"steps": 2.0}, "steps"),
        ({"grid": 1}, "grid"),
        ({"grid": 257}, "grid"),
        ({"grid": None}, "grid"),
        ({"stpes": 2}, "stpes"),
    ],
)
def test_bad_step_requests(client, session_id, payload, name):
    message = error_of(client.post(f"/api/sessions/{session_id}/step", json=payload), 400)
    assert name in message
    assert client.get(f"/api/sessions/{session_id}").get_json()["state"]["step"] == 0  # nothing ran


def test_bad_reset_grid(client, session_id):
    assert "grid" in error_of(client.post(f"/api/sessions/{session_id}/reset", json={"grid": 1}), 400)


def test_reset_refuses_an_unknown_field(client, session_id):
    assert "grdi" in error_of(client.post(f"/api/sessions/{session_id}/reset", json={"grdi": 8}), 400)


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", ""),
        ("post", "/step"),
        ("post", "/reset"),
        ("get", "/explain?unit=1:0"),
        ("get", "/model"),
        ("get", "/python"),
        ("delete", ""),
    ],
)
def test_an_unknown_session_is_404(client, method, suffix):
    message = error_of(getattr(client, method)(f"/api/sessions/nosuchsession{suffix}"), 404)
    assert "'nosuchsession'" in message and "expired" in message


def test_explain_before_any_step_is_409(client, session_id):
    assert "no step" in error_of(client.get(f"/api/sessions/{session_id}/explain?unit=1:0"), 409)
    assert "no step" in error_of(client.get(f"/api/sessions/{session_id}/explain?edge=1:0:0"), 409)


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("unit=1", "unit must be LAYER:INDEX"),
        ("unit=a:b", "unit must be LAYER:INDEX"),
        ("unit=1:-1", "unit must be LAYER:INDEX"),
        ("unit=", "unit must be LAYER:INDEX"),
        ("unit=9:0", "layer must be from 0 to 3"),
        ("unit=1:99", "layer 1 has units 0 to 2"),
        ("unit=3:1", "layer 3 has units 0 to 0"),
        ("edge=0:0:0", "layer must be from 1 to 3"),
        ("edge=1:0", "edge must be LAYER:INDEX:SOURCE"),
        ("edge=2:0:3", "got source 3"),
        ("edge=1:0:2", "got source 2"),
        ("unit=1:0&edge=1:0:0", "one of them"),
        ("", "one of them"),
        ("unit=1:0&sample=-1", "sample must be a whole number"),
        ("unit=1:0&sample=x", "sample must be a whole number"),
        ("unit=1:0&sample=", "sample must be a whole number"),
        ("unit=1:0&sample=10", "sample must be an index into the last batch, 0 to 9"),
        ("edge=1:0:0&sample=10", "0 to 9"),
    ],
)
def test_bad_explain_requests(client, stepped, query, words):
    message = error_of(client.get(f"/api/sessions/{stepped}/explain?{query}"), 400)
    assert words in message


def test_a_body_over_the_limit_is_413(client, session_id):
    big = b"{" + b" " * MAX_BODY_BYTES + b"}"
    assert str(MAX_BODY_BYTES) in error_of(client.post("/api/sessions", data=big), 413)
    assert str(MAX_BODY_BYTES) in error_of(client.post(f"/api/sessions/{session_id}/step", data=big), 413)


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/sessions"),
        ("post", "/api/options"),
        ("put", "/api/sessions/ID"),
        ("get", "/api/sessions/ID/step"),
        ("post", "/api/sessions/ID/explain"),
        ("delete", "/api/options"),
    ],
)
def test_a_wrong_method_is_405(client, session_id, method, url):
    message = error_of(getattr(client, method)(url.replace("ID", session_id)), 405)
    assert "Method Not Allowed" in message


@pytest.mark.parametrize(
    "url", ["/nope", "/api", "/api/session", "/api/sessions/ID/nope", "/api/sessions//step"]
)
def test_an_unknown_path_is_404(client, session_id, url):
    assert "Not Found" in error_of(client.get(url.replace("ID", session_id)), 404)


def test_problem_csv_needs_an_upload(client):
    message = error_of(client.post("/api/sessions", json={"config": {"problem": "csv"}}), 400)
    assert "csv" in message and "upload" in message


@pytest.mark.parametrize(
    "upload",
    [
        "points",
        {"text": 5},
        {"name": 3, "text": "1,2,a\n"},
        {"name": "a.csv"},
    ],
)
def test_a_malformed_upload_field(client, upload):
    assert "upload must be" in error_of(client.post("/api/sessions", json={"upload": upload}), 400)


# ---------------------------------------------------------------------------------------------------
# Uploads


def pets(rows: int = 40) -> tuple[str, np.ndarray, list[str]]:
    rng = np.random.default_rng(0)
    points = np.stack([rng.uniform(0, 10, rows), rng.uniform(100, 104, rows)], axis=1).round(3)
    labels = ["cat" if k % 2 else "dog" for k in range(rows)]
    text = "".join(f"{x1},{x2},{label}\n" for (x1, x2), label in zip(points, labels, strict=True))
    return text, points, labels


def all_points(data) -> np.ndarray:
    return np.array(data["train"]["points"] + data["test"]["points"])


def test_an_upload_with_a_header_and_class_names(client):
    text, points, labels = pets()
    response = client.post(
        "/api/sessions",
        json={"config": {"hidden": [2]}, "upload": {"name": "pets.csv", "text": "x1,x2,label\n" + text}},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    answer = response.get_json()
    assert answer["upload"]["name"] == "pets.csv" and answer["upload"]["classes"] == ["cat", "dog"]
    assert (
        answer["config"]["problem"] == "csv"
        and answer["config"]["n"] == 40
        and answer["config"]["noise"] == 0
    )
    data = answer["data"]
    assert data["regression"] is False and data["classes"] == 2
    shown = all_points(data)
    assert shown.shape == (40, 2) and np.abs(shown).max() <= 5.0 + 1e-4
    low, high = points.min(axis=0), points.max(axis=0)
    centre, scale = (low + high) / 2, 5.0 / ((high - low).max() / 2)
    np.testing.assert_allclose(answer["upload"]["centre"], centre, rtol=1e-9)
    np.testing.assert_allclose(answer["upload"]["scale"], scale, rtol=1e-9)
    expected = (points - centre) * scale
    assert np.abs(expected[:, 0]).max() == pytest.approx(5.0)  # the wider axis fills [-5, 5]
    order = lambda a: a[np.lexsort(a.T[::-1])]  # noqa: E731
    np.testing.assert_allclose(order(shown), order(expected), atol=1e-4)
    # the labels follow the points: class 0 is cat
    targets = data["train"]["targets"] + data["test"]["targets"]
    for point, target in zip(shown, targets, strict=True):
        nearest = int(np.argmin(np.abs(expected - point).sum(axis=1)))
        assert np.abs(expected[nearest] - point).max() < 1e-3
        assert ["cat", "dog"][int(target)] == labels[nearest]
    # the session trains and explains like any other
    key = answer["session"]
    assert client.post(f"/api/sessions/{key}/step", json={"steps": 2, "grid": 2}).status_code == 200
    assert client.get(f"/api/sessions/{key}/explain?unit=2:0").status_code == 200


def test_an_upload_without_a_header(client):
    text, _, _ = pets(30)
    answer = create(client, {}, upload={"name": "pets.csv", "text": text})
    assert answer["config"]["n"] == 30 and answer["upload"]["classes"] == ["cat", "dog"]
    assert all_points(answer["data"]).shape == (30, 2)


def test_an_upload_without_a_name_is_called_upload_csv(client):
    text, _, _ = pets(20)
    response = client.post("/api/sessions", json={"upload": {"text": text}})
    assert response.status_code == 201 and response.get_json()["upload"]["name"] == "upload.csv"


def test_an_upload_with_many_numeric_labels_is_a_regression(client):
    rows = "".join(f"{k},{k % 7},{k * 0.5 - 3}\n" for k in range(30))
    answer = create(client, {}, upload={"name": "surface.csv", "text": rows})
    assert answer["data"]["regression"] is True and answer["data"]["classes"] == 0
    assert answer["upload"]["classes"] == []
    targets = np.array(answer["data"]["train"]["targets"] + answer["data"]["test"]["targets"])
    assert np.abs(targets).max() == pytest.approx(1.0) and len(set(targets.tolist())) == 30
    key = answer["session"]
    assert client.post(f"/api/sessions/{key}/step", json={"steps": 2, "grid": 2}).status_code == 200
    assert "values" in client.get(f"/api/sessions/{key}/explain?unit=3:0").get_json()


def _rows(count: int, label=lambda k: f"c{k % 2}") -> str:
    return "".join(f"{k},{k % 5},{label(k)}\n" for k in range(count))


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("x1,x2,label\n" + _rows(20) + "1,abc,c0\n", ["pets.csv, line 22, column 1", "'abc'"]),
        ("x1,x2,label\n" + _rows(20) + "1,c0\n", ["pets.csv, line 22", "expected 3 fields, found 2"]),
        (_rows(20, lambda k: "cat"), ["pets.csv", "one value ('cat')"]),
        ("".join(f"{k},c{k % 2}\n" for k in range(20)), ["pets.csv", "expected 3 columns", "found 2"]),
        (_rows(27, lambda k: f"c{k % 9}"), ["pets.csv", "9 classes", "2 to 8"]),
        (_rows(9), ["pets.csv", "10 to 2000 points, found 9"]),
        (_rows(MAX_POINTS + 1), ["pets.csv", "found 2001"]),
        (_rows(20).replace("3,3,", "3,nan,"), ["pets.csv, line 4, column 1", "finite"]),
        ("", ["pets.csv", "empty"]),
    ],
)
def test_a_bad_csv_names_the_file_line_and_column(client, text, words):
    message = error_of(client.post("/api/sessions", json={"upload": {"name": "pets.csv", "text": text}}), 400)
    for word in words:
        assert word in message
    assert "/tmp" not in message and "backprop-lab-" not in message  # no server path leaks out


def run_upload_snippet(client, tmp_path, text: str) -> subprocess.CompletedProcess:
    """The upload's Python export, run beside the CSV; it prints how many points it read."""
    key = create(client, {"hidden": [2]}, upload={"name": "pets.csv", "text": text})["session"]
    client.post(f"/api/sessions/{key}/step", json={"steps": 2, "grid": 2})
    code = client.get(f"/api/sessions/{key}/python").get_data(as_text=True)
    marker = "x1, x2 = x[:, 0], x[:, 1]\n"
    assert marker in code
    (tmp_path / "pets.csv").write_text(text)
    (tmp_path / "lab.py").write_text(code.replace(marker, marker + 'print("points", len(x))\n'))
    run = subprocess.run(
        [sys.executable, "lab.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 0, run.stderr
    assert "train loss" in run.stdout
    return run


def test_the_python_snippet_of_an_upload_with_a_header_reads_every_point(client, tmp_path):
    text, _, _ = pets(30)
    assert "points 30\n" in run_upload_snippet(client, tmp_path, "x1,x2,label\n" + text).stdout


def test_the_python_snippet_of_an_upload_without_a_header_reads_every_point(client, tmp_path):
    text, _, _ = pets(30)
    assert "points 30\n" in run_upload_snippet(client, tmp_path, text).stdout


def test_the_python_snippet_of_a_semicolon_upload_reads_every_point(client, tmp_path):
    text, _, _ = pets(30)
    assert "points 30\n" in run_upload_snippet(client, tmp_path, text.replace(",", ";")).stdout


@pytest.mark.parametrize("separator", [";", "\t"])
def test_an_upload_separated_by_semicolons_or_tabs(client, separator):
    text, _, _ = pets(30)
    answer = create(client, {}, upload={"name": "pets.csv", "text": "x1,x2,label\n".replace(",", separator)
                                        + text.replace(",", separator)})
    assert answer["upload"]["classes"] == ["cat", "dog"] and all_points(answer["data"]).shape == (30, 2)


def test_numeric_labels_are_classes_by_value():
    # "1" and "1.0" are one class, "-0" and "0" another: named as first written
    labels = ["1", "1.0", "0", "-0"] * 5
    upload = read_upload("codes.csv", "".join(f"{k},{k % 3},{label}\n" for k, label in enumerate(labels)))
    assert upload.classes == ("0", "1") and upload.targets.tolist() == [1, 1, 0, 0] * 5


def test_points_at_the_ends_of_the_float_range_still_fill_the_plane():
    text = "".join(f"{(-1) ** k * 1e308},{k % 3},{k % 2}\n" for k in range(20))
    upload = read_upload("far.csv", text)
    assert np.isfinite(upload.points).all() and np.abs(upload.points[:, 0]).max() == pytest.approx(5.0)


def test_an_upload_over_its_size_limit_under_the_body_limit(client):
    line = "1.000000000000000,2.000000000000000,0\n"
    text = line * (MAX_UPLOAD_BYTES // len(line) + 1)
    body = json.dumps({"upload": {"name": "big.csv", "text": text}})
    assert len(body) <= MAX_BODY_BYTES
    message = error_of(client.post("/api/sessions", data=body, content_type="application/json"), 400)
    assert "big.csv" in message and "KiB" in message


def test_an_uploaded_name_is_made_safe(client):
    text, _, _ = pets(20)
    answer = create(client, {}, upload={"name": "../../etc/pass wd.csv", "text": text})
    assert answer["upload"]["name"] == "pass_wd.csv"


# ---------------------------------------------------------------------------------------------------
# The store


def test_the_app_uses_the_store_it_is_given():
    store = SessionStore()
    client = create_lab_app(store).test_client()
    key = create(client)["session"]
    assert len(store) == 1
    with store.use(key) as entry:
        assert entry.session.config.n == SMALL["n"]


def test_the_app_uses_a_non_empty_store_it_is_given():
    store = SessionStore()
    store.create(LabSession(LabConfig(n=100, hidden=(2,))))
    client = create_lab_app(store).test_client()
    create(client)
    assert len(store) == 2


def test_a_session_idle_past_ttl_is_gone():
    clock = FakeClock()
    store = SessionStore(ttl_s=60, clock=clock)
    client = create_lab_app(store).test_client()
    kept, idle = create(client)["session"], create(client)["session"]
    clock.now += 40
    assert client.get(f"/api/sessions/{kept}").status_code == 200  # used: its clock restarts
    clock.now += 40
    assert client.get(f"/api/sessions/{kept}").status_code == 200
    message = error_of(client.get(f"/api/sessions/{idle}"), 404)
    assert "after 60 s idle" in message
    assert len(store) == 1


def test_deleting_an_expired_session_is_404():
    clock = FakeClock()
    client = create_lab_app(SessionStore(ttl_s=60, clock=clock)).test_client()
    key = create(client)["session"]
    clock.now += 61
    error_of(client.delete(f"/api/sessions/{key}"), 404)


def test_the_least_recently_used_session_goes_when_the_store_is_full():
    clock = FakeClock()
    client = create_lab_app(SessionStore(max_sessions=3, clock=clock)).test_client()
    keys = []
    for _ in range(3):
        keys.append(create(client)["session"])
        clock.now += 1
    assert client.get(f"/api/sessions/{keys[0]}").status_code == 200  # keys[1] is now the oldest
    clock.now += 1
    fourth = create(client)["session"]
    error_of(client.get(f"/api/sessions/{keys[1]}"), 404)
    for key in (keys[0], keys[2], fourth):
        assert client.get(f"/api/sessions/{key}").status_code == 200


def test_session_ids_differ_and_are_long(client):
    keys = {create(client)["session"] for _ in range(5)}
    assert len(keys) == 5
    assert all(len(key) >= 22 and re.fullmatch(r"[A-Za-z0-9_-]+", key) for key in keys)


def test_the_store_refuses_bad_limits():
    with pytest.raises(ValueError, match="max_sessions"):
        SessionStore(max_sessions=0)
    with pytest.raises(ValueError, match="ttl_s"):
        SessionStore(ttl_s=0)


# ---------------------------------------------------------------------------------------------------
# The arithmetic, against an independent replay


def replay(config: LabConfig, steps: int, batch: np.ndarray):
    """The last of ``steps`` steps again, by hand: every layer's input and output and every gy."""
    session = LabSession(config)
    if steps > 1:
        session.step(steps - 1)
    layers = session.model.layers
    x = session.train_features()[batch]
    t = session.loss_targets(session.train_targets[batch])
    outputs = [x]
    for layer in layers:
        outputs.append(layer(outputs[-1]))
    session.loss(outputs[-1], t)
    gy = session.loss.backward()
    gys: list[np.ndarray] = [None] * len(layers)  # type: ignore[list-item]
    grads = {}
    for index in range(len(layers) - 1, -1, -1):
        gys[index] = gy
        gy = layers[index].backward(gy)
        if "weight" in layers[index].params:
            grads[index] = layers[index].grads["weight"].copy()
    return session, outputs, gys, grads


ARITHMETIC = LabConfig(
    problem="circle", n=100, hidden=(3, 2), seed=4, lr=0.05, batch_size=10, optimizer="momentum", l2=0.01
)


@pytest.fixture
def trained(store, client):
    config = {**dataclass_json(ARITHMETIC)}
    key = client.post("/api/sessions", json={"config": config}).get_json()["session"]
    assert client.post(f"/api/sessions/{key}/step", json={"steps": 7, "grid": 2}).status_code == 200
    with store.use(key) as entry:
        session = entry.session
    return key, session


def dataclass_json(config: LabConfig) -> dict:
    import dataclasses

    values = dataclasses.asdict(config)
    return {name: list(value) if isinstance(value, tuple) else value for name, value in values.items()}


@pytest.mark.parametrize(
    ("unit", "linear", "activation", "sample"), [("1:2", 0, 1, 3), ("2:1", 2, 3, 0), ("3:0", 4, None, 7)]
)
def test_the_unit_arithmetic_equals_an_independent_replay(client, trained, unit, linear, activation, sample):
    key, session = trained
    last = session.last_step
    answer = client.get(f"/api/sessions/{key}/explain?unit={unit}&sample={sample}").get_json()
    values = answer["values"]
    mine, outputs, gys, grads = replay(ARITHMETIC, 7, last.batch)
    for name, array in mine.model.params.items():
        np.testing.assert_array_equal(array, last.before[name])  # the replay starts where the step did
    index = int(unit.split(":")[1])
    z = outputs[linear + 1][:, index]
    a = outputs[activation + 1][:, index] if activation is not None else z
    delta = gys[linear][:, index]
    for name, column in (("z", z), ("a", a), ("delta", delta)):
        np.testing.assert_allclose(
            values[name]["sample"], column[sample], rtol=1e-6, atol=1e-12, err_msg=name
        )
        np.testing.assert_allclose(values[name]["batch"], column.mean(), rtol=1e-5, atol=1e-9, err_msg=name)
    if activation is not None:
        np.testing.assert_allclose(
            values["dL/da"]["sample"], gys[activation][sample, index], rtol=1e-6, atol=1e-12
        )
    width = grads[linear].shape[1]
    for j in range(width):
        np.testing.assert_allclose(
            values[f"dL/dw{j}"]["batch"], grads[linear][index, j], rtol=1e-6, atol=1e-12
        )
        term = float(delta[sample]) * float(outputs[linear][sample, j])
        np.testing.assert_allclose(values[f"dL/dw{j}"]["sample"], term, rtol=1e-6, atol=1e-12)
    bias_grad = mine.model.layers[linear].grads["bias"][index]
    np.testing.assert_allclose(values["dL/db"]["batch"], bias_grad, rtol=1e-6, atol=1e-12)
    # the update, as the replay's optimiser makes it from the same batch
    mine.step(1)
    np.testing.assert_array_equal(mine.last_step.batch, last.batch)
    weight = mine.model.layers[linear].params["weight"]
    for j in range(width):
        assert values[f"w{j}"]["before"] == float(last.before[f"{linear}.weight"][index, j])
        assert values[f"w{j}"]["after"] == float(weight[index, j])
    assert values["b"]["after"] == float(mine.model.layers[linear].params["bias"][index])


def test_the_edge_arithmetic_equals_an_independent_replay(client, trained):
    key, session = trained
    last = session.last_step
    values = client.get(f"/api/sessions/{key}/explain?edge=2:1:2&sample=5").get_json()["values"]
    mine, outputs, _, grads = replay(ARITHMETIC, 7, last.batch)
    weight = last.before["2.weight"][1, 2]
    np.testing.assert_allclose(values["w*a"]["sample"], float(weight) * float(outputs[2][5, 2]), rtol=1e-6)
    np.testing.assert_allclose(values["dL/dw2"]["batch"], grads[2][1, 2], rtol=1e-6, atol=1e-12)
    assert set(values) == {"w*a", "dL/dw2", "w2", "dL/db", "b"}
    mine.step(1)
    assert values["w2"]["after"] == float(mine.model.layers[2].params["weight"][1, 2])


def test_plain_sgd_updates_by_lr_times_the_gradient(client, store):
    config = {**SMALL, "optimizer": "sgd", "l2": 0.0, "lr": 0.3}
    key = create(client, config)["session"]
    client.post(f"/api/sessions/{key}/step", json={"steps": 4, "grid": 2})
    for unit in ("1:1", "2:0", "3:0"):
        values = client.get(f"/api/sessions/{key}/explain?unit={unit}&sample=1").get_json()["values"]
        j = 0
        while f"w{j}" in values:
            before, after = np.float32(values[f"w{j}"]["before"]), np.float32(values[f"w{j}"]["after"])
            gradient = np.float32(values[f"dL/dw{j}"]["batch"])
            expected = before - np.float32(0.3) * gradient
            assert abs(after - expected) <= 2 * np.spacing(np.abs(expected)) + 1e-12, (unit, j)
            j += 1
        assert j > 0
        b = values["b"]
        expected_b = np.float32(b["before"]) - np.float32(0.3) * np.float32(values["dL/db"]["batch"])
        assert abs(np.float32(b["after"]) - expected_b) <= 2 * np.spacing(np.abs(expected_b)) + 1e-12


NUMBER = re.compile(r'data-value="([^"]+)" data-quantity="([^"]+)" data-scope="([^"]+)"')


@pytest.mark.parametrize("unit", ["1:0", "2:1", "3:0"])
def test_the_html_data_values_are_the_values(client, trained, unit):
    key, _ = trained
    answer = client.get(f"/api/sessions/{key}/explain?unit={unit}&sample=2").get_json()
    found = NUMBER.findall(answer["html"])
    deltas = [(float(value), scope) for value, quantity, scope in found if quantity == "delta"]
    assert [scope for _, scope in deltas].count("sample") >= 1
    for value, scope in deltas:
        assert value == answer["values"]["delta"][scope]
    for value, quantity, scope in found:
        assert float(value) == answer["values"][html.unescape(quantity)][scope], quantity


def test_the_explanation_leaves_the_session_as_it_was(client, store, trained):
    key, session = trained
    params = {name: array.copy() for name, array in session.model.params.items()}
    client.get(f"/api/sessions/{key}/explain?unit=1:0")
    client.get(f"/api/sessions/{key}/explain?edge=3:0:1")
    for name, array in session.model.params.items():
        np.testing.assert_array_equal(array, params[name])
    assert session.steps == 7


# ---------------------------------------------------------------------------------------------------
# A diverging run


def test_a_diverging_run_answers_valid_json_with_null_losses(client):
    key = create(client, {"problem": "plane", "lr": 10, "optimizer": "momentum", "hidden": [4]})["session"]
    response = client.post(f"/api/sessions/{key}/step", json={"steps": 200, "grid": 4})
    assert response.status_code == 200
    state = strict_json(response.data)
    assert state["step"] == 200
    assert state["loss"] == {"train": None, "test": None}
    assert any(value is None for row in state["boundary"] for value in row)
    assert len(state["gradient_norms"]) == 200
    for url in (
        f"/api/sessions/{key}",
        f"/api/sessions/{key}/explain?unit=1:0",
        f"/api/sessions/{key}/explain?edge=2:0:1",
    ):
        response = client.get(url)
        assert response.status_code == 200
        strict_json(response.data)
    assert client.get(f"/api/sessions/{key}/python").status_code == 200


def test_tune_goes_on_with_a_new_learning_rate_and_the_panel_shows_each_step_s_own(client, session_id):
    client.post(f"/api/sessions/{session_id}/step", json={"steps": 3, "grid": 2})
    answer = client.post(f"/api/sessions/{session_id}/tune", json={"lr": 0.3, "batch_size": 7})
    assert answer.status_code == 200
    assert answer.get_json()["config"]["lr"] == 0.3 and answer.get_json()["config"]["batch_size"] == 7
    # the last step ran with the old eta: its panel says so until the next step
    html = client.get(f"/api/sessions/{session_id}/explain?unit=1:0").get_json()["html"]
    assert f"η = {LabConfig().lr:g}" in html
    state = client.post(f"/api/sessions/{session_id}/step", json={"steps": 1, "grid": 2}).get_json()
    assert state["step"] == 4  # the run went on
    explained = client.get(f"/api/sessions/{session_id}/explain?unit=1:0").get_json()
    assert "η = 0.3" in explained["html"] and explained["batch_size"] == 7


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"activation": "relu"}, "unknown field 'activation'; a tune takes lr, l2, batch_size"),
        ({"lr": 0}, "lr must be a number from 1e-06 to 10, got 0"),
        ({"batch_size": 0}, "batch_size must be an integer from 1 to 2000, got 0"),
        ({"l2": -1}, "l2 must be a number from 0 to 1, got -1"),
    ],
)
def test_tune_refuses_other_settings_and_bad_values(client, session_id, body, words):
    assert words in error_of(client.post(f"/api/sessions/{session_id}/tune", json=body), 400)
    assert error_of(client.post("/api/sessions/nothing/tune", json={"lr": 0.1}), 404)
