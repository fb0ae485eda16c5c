"""The page's server on Flask: ``GET /``, ``GET /static/...``, ``GET /api/model``, ``POST /api/predict``.

Every bad request gets a 4xx answer with a JSON body ``{"error": "..."}``: a body that is not
JSON or not as ``drawing.read_drawing`` expects is a 400, a body over ``MAX_BODY_BYTES`` a
413 (Flask's own request-size limit), an unknown path (a path out of the static folder
included: ``safe_join`` refuses it) a 404, a wrong method a 405.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from flask import Flask, jsonify, request, send_from_directory
from werkzeug.exceptions import HTTPException
from werkzeug.serving import make_server

from ..runs import Run
from .drawing import Drawing, read_drawing

__all__ = ["MAX_BODY_BYTES", "STATIC", "create_app", "make_http_server"]

STATIC = Path(__file__).with_name("static")
#: 1 MiB: a 280x280 drawing with two decimals per grey level is under 0.4 MiB.
MAX_BODY_BYTES = 1 << 20


def create_app(run: Run) -> Flask:
    """The Flask application serving the page for ``run``'s model (ValueError if it cannot draw)."""
    drawing = Drawing(run)
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    # "/static//etc/passwd" must reach safe_join (and its 404) as it is, not be redirected.
    app.url_map.merge_slashes = False
    app.json.sort_keys = False  # keep label, probabilities, input, layers in the documented order

    @app.get("/")
    def page() -> Any:
        return send_from_directory(STATIC, "index.html")

    @app.get("/static/<path:name>")
    def static_file(name: str) -> Any:
        return send_from_directory(STATIC, name)

    @app.get("/api/model")
    def model() -> Any:
        return jsonify(drawing.describe())

    @app.post("/api/predict")
    def predict() -> Any:
        # force: the page's fetch sends application/json, but curl users often forget to.
        try:
            payload = request.get_json(force=True, silent=True)
        except RecursionError:  # "[[[[...": nested deeper than Python's parser goes
            payload = None
        if payload is None:
            return _error(400, 'the body must be JSON: {"image": [[...], ...]}')
        try:
            image = read_drawing(payload)
        except ValueError as error:
            return _error(400, str(error))
        return jsonify(drawing.answer(image))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        code = error.code or 500
        if code == 413:
            return _error(413, f"the body is over {MAX_BODY_BYTES} bytes (1 MiB)")
        return _error(code, f"{error.name}: {error.description}")

    return app


def make_http_server(app: Flask, host: str, port: int) -> Any:
    """Werkzeug's threaded server for ``app`` bound to ``host:port`` (0 picks a free port).

    The socket is bound here, so that a busy port raises OSError (Werkzeug would print its
    own message and exit).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.create_server((host, port), family=family) as listening:
        # Werkzeug duplicates the descriptor; this one closes when the block ends.
        return make_server(host, listening.getsockname()[1], app, threaded=True, fd=listening.fileno())


def _error(code: int, message: str) -> Any:
    response = jsonify(error=message)
    response.status_code = code
    return response
