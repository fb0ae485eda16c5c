"""The lab's server on Flask: the page, and a JSON API a teacher can script (README, "The lab").

``GET /`` the page, ``GET /static/...`` its files; the API, all JSON:

- ``GET /api/options``: the problems, features, activations, optimisers, limits and defaults.
- ``POST /api/sessions`` ``{"config": {...}, "upload": {"name": ..., "text": ...}}``: a new
  session (201); ``config`` holds ``LabConfig``'s fields (any left out take their defaults),
  ``upload`` a CSV of the learner's points. Answers ``{"session", "config", "data", "state"}``.
- ``GET /api/sessions/ID``: ``{"config", "data", "state"}`` now.
- ``POST /api/sessions/ID/step`` ``{"steps": k, "grid": g}``: k training steps (1 to
  ``MAX_STEPS``), then the state with a g x g boundary (``DEFAULT_GRID``; 2 to 256).
- ``POST /api/sessions/ID/tune`` ``{"lr": 0.1, "l2": 0, "batch_size": 20}`` (any of them): the
  run goes on with them, its weights and step count kept; ``{"config"}``.
- ``POST /api/sessions/ID/reset``: back to step 0 from the seed; ``{"data", "state"}``.
- ``GET /api/sessions/ID/explain?unit=LAYER:INDEX&sample=n`` (or ``edge=LAYER:INDEX:SOURCE``):
  the last step's arithmetic for a unit or an edge (``arithmetic.py``).
- ``GET /api/sessions/ID/model``: the network as ``bp.save``'s safetensors file.
- ``GET /api/sessions/ID/python``: a script that trains the same network with the library.
- ``DELETE /api/sessions/ID``: drop the session (204).

A bad request gets a 4xx with ``{"error": "..."}``: 400 for a body or setting that is wrong
(the message names the setting, the range and the value given), 404 for an unknown or expired
session, 409 for an explanation asked before any step, 413 for a body over ``MAX_BODY_BYTES``.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from flask import Flask, Response, jsonify, request

from ..io import save
from ..web.server import json_error, page_app
from .arithmetic import NoStepYetError, edge_arithmetic, unit_arithmetic
from .session import (
    ACTIVATIONS,
    FEATURES,
    MAX_LAYERS,
    MAX_POINTS,
    MAX_UNITS,
    OPTIMIZERS,
    TUNABLE,
    UPLOADED,
    LabConfig,
    LabSession,
)
from .snippet import python_snippet
from .store import SessionStore, UnknownSessionError
from .upload import MAX_UPLOAD_BYTES, read_upload

__all__ = [
    "DEFAULT_GRID",
    "MAX_BODY_BYTES",
    "MAX_STEPS",
    "STATIC",
    "config_from_json",
    "create_lab_app",
    "state",
]

STATIC = Path(__file__).with_name("static")
MAX_BODY_BYTES = MAX_UPLOAD_BYTES + 16 * 1024
MAX_STEPS = 1_000  # steps a request may ask for: a 2,000-point, 6x16 network does them in about a second
DEFAULT_GRID, NEURON_GRID = 64, 20
_TUPLES = ("features", "hidden")


def config_from_json(settings: object, base: LabConfig | None = None) -> LabConfig:
    """``LabConfig`` from a JSON object; unknown names and wrong values raise a clear ValueError."""
    if not isinstance(settings, dict):
        raise ValueError(f"lab: config must be a JSON object of settings, got {type(settings).__name__}")
    fields = {f.name for f in dataclasses.fields(LabConfig)}
    unknown = sorted(set(settings) - fields)
    if unknown:
        raise ValueError(f"lab: unknown setting {unknown[0]!r}; the settings are {', '.join(sorted(fields))}")
    values = dict(settings)
    for name in _TUPLES:
        if name in values:
            if not isinstance(values[name], list):
                raise ValueError(f"lab: {name} must be a list, got {values[name]!r}")
            values[name] = tuple(values[name])
    return dataclasses.replace(base or LabConfig(), **values)


def _rounded(values: np.ndarray, digits: int = 4) -> list[Any]:
    """Nested lists of rounded numbers; a diverged run's NaN or infinity becomes null (JSON has neither)."""
    rounded = np.round(values.astype(np.float64), digits)
    if np.isfinite(rounded).all():
        return rounded.tolist()
    nullable = rounded.astype(object)
    nullable[~np.isfinite(rounded)] = None
    return nullable.tolist()


def _number(value: float) -> float | None:
    return value if np.isfinite(value) else None


def _finite(tree: Any) -> Any:
    """``tree`` with each NaN or infinite float replaced by null, so that the answer is valid JSON."""
    if isinstance(tree, float):
        return _number(tree)
    if isinstance(tree, dict):
        return {key: _finite(value) for key, value in tree.items()}
    if isinstance(tree, list):
        return [_finite(value) for value in tree]
    return tree


def data(session: LabSession) -> dict[str, Any]:
    """The points as the page draws them: train and test, each point's label or target."""

    def split(points: np.ndarray, targets: np.ndarray) -> dict[str, Any]:
        return {"points": _rounded(points), "targets": _rounded(targets.reshape(-1))}

    return {
        "train": split(session.train_points, session.train_targets),
        "test": split(session.test_points, session.test_targets),
        "regression": session.regression,
        "classes": 0
        if session.regression
        else int(max(session.train_targets.max(), session.test_targets.max())) + 1,
    }


def state(session: LabSession, grid: int = DEFAULT_GRID, steps_done: int = 0) -> dict[str, Any]:
    """What the page draws after a request: counters, losses, the boundary, every unit, the weights."""
    linears = [layer for layer in session.model.layers if "weight" in layer.params]
    with np.errstate(all="ignore"):  # a diverged run draws as null, not as warnings
        losses = session.losses()
        boundary = session.boundary(grid)
        neurons = session.neuron_grids(NEURON_GRID)
    return {
        "step": session.steps,
        "epoch": session.epochs,
        "loss": {"train": _number(losses["train"]), "test": _number(losses["test"])},
        "grid": grid,
        "boundary": _rounded(boundary),
        "neuron_grid": NEURON_GRID,
        "neurons": {unit: _rounded(values, 2) for unit, values in neurons.items()},
        "weights": [_rounded(layer.params["weight"]) for layer in linears],
        "biases": [_rounded(layer.params["bias"]) for layer in linears],
        "gradient_norms": _finite(session.gradient_norms[-steps_done:]) if steps_done else [],
    }


def options() -> dict[str, Any]:
    from ..datasets.playground import PLAYGROUND, REGRESSION

    return {
        "problems": list(PLAYGROUND),
        "regression": list(REGRESSION),
        "features": list(FEATURES),
        "activations": list(ACTIVATIONS),
        "optimizers": list(OPTIMIZERS),
        "limits": {
            "points": MAX_POINTS,
            "layers": MAX_LAYERS,
            "units": MAX_UNITS,
            "steps": MAX_STEPS,
            "upload_bytes": MAX_UPLOAD_BYTES,
        },
        "defaults": _config_json(LabConfig()),
    }


def _config_json(config: LabConfig) -> dict[str, Any]:
    values = dataclasses.asdict(config)
    for name in _TUPLES:
        values[name] = list(values[name])
    return values


def _body(allowed: tuple[str, ...], what: str) -> dict[str, Any]:
    """The request's JSON object (empty if there is no body), holding only the fields ``allowed``."""
    if not request.get_data(cache=True):
        return {}
    try:
        payload = request.get_json(force=True, silent=True)
    except RecursionError:  # "[[[[...": nested deeper than Python's parser goes
        payload = None
    if not isinstance(payload, dict):
        raise ValueError("lab: the body must be a JSON object")
    unknown = sorted(set(payload) - set(allowed))
    if unknown:
        raise ValueError(f"lab: unknown field {unknown[0]!r}; {what} takes {', '.join(allowed)}")
    return payload


def _integer(payload: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = payload.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"lab: {name} must be an integer from {low} to {high}, got {value!r}")
    return value


def create_lab_app(store: SessionStore | None = None) -> Flask:
    """The Flask application of the lab; ``store`` holds its sessions (a fresh one by default)."""
    sessions = store if store is not None else SessionStore()
    app = page_app(__name__, STATIC, MAX_BODY_BYTES, f"{MAX_BODY_BYTES // 1024} KiB: a CSV of up to 256 KiB")

    @app.get("/api/options")
    def get_options() -> Any:
        return jsonify(options())

    @app.post("/api/sessions")
    def create() -> Any:
        payload = _body(("config", "upload"), "a new session")
        config = config_from_json(payload.get("config", {}))
        upload = None
        if "upload" in payload:
            given = payload["upload"]
            if not (
                isinstance(given, dict)
                and isinstance(given.get("name", ""), str)
                and isinstance(given.get("text"), str)
            ):
                raise ValueError('lab: upload must be {"name": "points.csv", "text": "x1,x2,label\\n..."}')
            upload = read_upload(given.get("name", "upload.csv"), given["text"])
            config = dataclasses.replace(config, problem=UPLOADED, n=len(upload.points), noise=0.0)
        elif config.problem == UPLOADED:
            raise ValueError("lab: problem 'csv' needs an upload of the points")
        session = LabSession(config, (upload.points, upload.targets) if upload else None)
        key = sessions.create(session, upload)
        answer = {
            "session": key,
            "config": _config_json(config),
            "data": data(session),
            "state": state(session),
        }
        if upload is not None:
            answer["upload"] = {
                "name": upload.name,
                "classes": list(upload.classes),
                "centre": list(upload.centre),
                "scale": upload.scale,
            }
        return jsonify(answer), 201

    @app.get("/api/sessions/<key>")
    def describe(key: str) -> Any:
        with sessions.use(key) as entry:
            session = entry.session
            return jsonify(
                {"config": _config_json(session.config), "data": data(session), "state": state(session)}
            )

    @app.post("/api/sessions/<key>/step")
    def step(key: str) -> Any:
        payload = _body(("steps", "grid"), "a step")
        steps = _integer(payload, "steps", 1, 1, MAX_STEPS)
        grid = _integer(payload, "grid", DEFAULT_GRID, 2, 256)
        with sessions.use(key) as entry, np.errstate(all="ignore"):  # a diverged run is shown, not warned of
            entry.session.step(steps)
            return jsonify(state(entry.session, grid, steps))

    @app.post("/api/sessions/<key>/tune")
    def tune(key: str) -> Any:
        payload = _body(TUNABLE, "a tune")
        with sessions.use(key) as entry:
            entry.session.tune(**payload)
            return jsonify({"config": _config_json(entry.session.config)})

    @app.post("/api/sessions/<key>/reset")
    def reset(key: str) -> Any:
        payload = _body(("grid",), "a reset")
        grid = _integer(payload, "grid", DEFAULT_GRID, 2, 256)
        with sessions.use(key) as entry:
            entry.session.reset()
            return jsonify({"data": data(entry.session), "state": state(entry.session, grid)})

    @app.get("/api/sessions/<key>/explain")
    def explain(key: str) -> Any:
        unit, edge = request.args.get("unit"), request.args.get("edge")
        if (unit is None) == (edge is None):
            raise ValueError("lab: give unit=LAYER:INDEX or edge=LAYER:INDEX:SOURCE (one of them)")
        sample_text = request.args.get("sample", "0")
        if not sample_text.isdigit():
            raise ValueError(f"lab: sample must be a whole number, got {sample_text!r}")
        with sessions.use(key) as entry, np.errstate(all="ignore"):
            if unit is not None:
                return jsonify(_finite(unit_arithmetic(entry.session, unit, int(sample_text))))
            return jsonify(_finite(edge_arithmetic(entry.session, edge or "", int(sample_text))))

    @app.get("/api/sessions/<key>/model")
    def model(key: str) -> Any:
        with sessions.use(key) as entry, tempfile.TemporaryDirectory(prefix="backprop-lab-") as folder:
            path = Path(folder) / "lab-model.safetensors"
            session = entry.session
            save(session.model, path, metadata={"lab": _config_json(session.config), "step": session.steps})
            content = path.read_bytes()
        return Response(
            content,
            mimetype="application/octet-stream",
            headers={"Content-Disposition": 'attachment; filename="lab-model.safetensors"'},
        )

    @app.get("/api/sessions/<key>/python")
    def python(key: str) -> Any:
        with sessions.use(key) as entry:
            code = python_snippet(entry.session, entry.upload)
        return Response(
            code, mimetype="text/x-python", headers={"Content-Disposition": 'inline; filename="lab.py"'}
        )

    @app.delete("/api/sessions/<key>")
    def drop(key: str) -> Any:
        if not sessions.drop(key):
            raise UnknownSessionError(key)
        return "", 204

    @app.errorhandler(ValueError)
    def bad_value(error: ValueError) -> Any:
        return json_error(400, str(error))

    @app.errorhandler(UnknownSessionError)
    def unknown_session(error: UnknownSessionError) -> Any:
        return json_error(
            404,
            f"lab: no session {error.args[0]!r}: it expired (after {sessions.ttl_s:g} s idle)"
            " or never was; reload the page for a new one",
        )

    @app.errorhandler(NoStepYetError)
    def nothing_yet(error: NoStepYetError) -> Any:
        return json_error(409, str(error))

    return app
