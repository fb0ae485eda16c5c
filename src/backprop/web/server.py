"""The page's server on Flask: ``GET /``, ``GET /static/...``, ``GET /api/model``, ``POST /api/predict``.

Every bad request gets a 4xx answer with a JSON body ``{"error": "..."}``: a body that is not
JSON or not as ``drawing.read_drawing`` expects is a 400, a drawing with no ink a 422 (the
page then asks for a digit), a body over ``MAX_BODY_BYTES`` a 413 (Flask's own request-size
limit), a body that stops arriving for ``REQUEST_TIMEOUT_S`` a 408, an unknown path (a path
out of the static folder included: ``safe_join`` refuses it) a 404, a wrong method a 405. What
the HTTP server refuses before Flask sees a request (a request line over 64 KiB: 414, a
malformed one: 400, too many or too long headers: 431) is answered in the same JSON form
(``JsonErrorsRequestHandler``).
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from flask import Flask, jsonify, request, send_from_directory
from werkzeug.exceptions import ClientDisconnected, HTTPException
from werkzeug.serving import WSGIRequestHandler, make_server

from ..images import NoInkError
from ..runs import Run
from .drawing import Drawing, NonFiniteOutputError, read_drawing

__all__ = [
    "MAX_BODY_BYTES",
    "REQUEST_TIMEOUT_S",
    "STATIC",
    "JsonErrorsRequestHandler",
    "QuietRequestHandler",
    "create_app",
    "json_error",
    "make_http_server",
    "page_app",
]

STATIC = Path(__file__).with_name("static")
#: 1 MiB: a 280x280 drawing with two decimals per grey level is under 0.4 MiB.
MAX_BODY_BYTES = 1 << 20
#: Seconds a connection may stay silent (no byte of the request line, headers or body) before
#: the server gives up on it: a client promising a longer body than it sends would otherwise
#: hold a server thread as long as it keeps the connection open. A slow upload that keeps
#: sending is not cut: the limit applies to each read, not to the whole request.
REQUEST_TIMEOUT_S = 5


def page_app(import_name: str, static: Path, max_body_bytes: int, body_limit: str) -> Flask:
    """A Flask app with a page: ``static/index.html`` at ``/``, the folder at ``/static/...``, and
    every HTTP error as ``{"error": ...}`` (a body over ``max_body_bytes``, said as ``body_limit``: 413).

    What both pages share; each adds its API routes.
    """
    app = Flask(import_name, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = max_body_bytes
    # "/static//etc/passwd" must reach safe_join (and its 404) as it is, not be redirected.
    app.url_map.merge_slashes = False
    # keep the answers' keys in their documented order; app.json is typed as the JSONProvider
    # base, and is Flask's DefaultJSONProvider, which has sort_keys
    app.json.sort_keys = False  # type: ignore[attr-defined]

    @app.get("/")
    def page() -> Any:
        return send_from_directory(static, "index.html")

    @app.get("/static/<path:name>")
    def static_file(name: str) -> Any:
        return send_from_directory(static, name)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        code = error.code or 500
        if code == 413:
            return json_error(413, f"the body is over {max_body_bytes} bytes ({body_limit})")
        return json_error(code, f"{error.name}: {error.description}")

    return app


def create_app(run: Run) -> Flask:
    """The Flask application serving the page for ``run``'s model (ValueError if it cannot draw)."""
    drawing = Drawing(run)
    app = page_app(__name__, STATIC, MAX_BODY_BYTES, "1 MiB")

    @app.get("/api/model")
    def model() -> Any:
        return jsonify(drawing.describe())

    @app.post("/api/predict")
    def predict() -> Any:
        try:
            request.get_data(cache=True)
        except ClientDisconnected:  # Werkzeug's word for a read that timed out or found the end
            return json_error(
                408,
                f"the body ended, or sent nothing for {REQUEST_TIMEOUT_S} s, before the"
                f" {request.content_length} bytes its Content-Length promised",
            )
        # force: the page's fetch sends application/json, but curl users often forget to.
        try:
            payload = request.get_json(force=True, silent=True)
        except RecursionError:  # "[[[[...": nested deeper than Python's parser goes
            payload = None
        if payload is None:
            return json_error(400, 'the body must be JSON: {"image": [[...], ...]}')
        try:
            image = read_drawing(payload)
        except ValueError as error:
            return json_error(400, str(error))
        try:
            return jsonify(drawing.answer(image))
        except NoInkError as error:  # a well-formed request without a digit: 422, not a guess
            return json_error(422, str(error))
        except NonFiniteOutputError as error:  # the model's fault, not the request's
            return json_error(500, str(error))

    return app


class JsonErrorsRequestHandler(WSGIRequestHandler):
    """Werkzeug's request handler, with its own errors in JSON and a time limit on silence.

    Python's ``http.server`` answers what it refuses before the application sees a request (a
    request line over 65,536 bytes: 414; a malformed request line: 400; too many or too long
    headers: 431) with an HTML page; the API's documented answer is JSON ``{"error": "..."}``.
    ``timeout`` sets every read and write of the connection to give up after
    ``REQUEST_TIMEOUT_S`` seconds of silence.
    """

    timeout = REQUEST_TIMEOUT_S

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        short, long = self.responses.get(code, ("Error", ""))
        body = json.dumps({"error": f"{message or short}: {explain or long}"}, separators=(",", ":")).encode()
        self.log_error("code %d, message %s", code, message or short)
        self.send_response(code, message)
        self.send_header("Connection", "close")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class QuietRequestHandler(JsonErrorsRequestHandler):
    """``JsonErrorsRequestHandler`` that logs only the requests that failed: the lab's page asks
    twenty times a second, and a line for each would bury what matters."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if str(getattr(code, "value", code)).isdigit() and int(getattr(code, "value", code)) >= 400:
            super().log_request(code, size)


def make_http_server(
    app: Flask, host: str, port: int, request_handler: type[WSGIRequestHandler] = JsonErrorsRequestHandler
) -> Any:
    """Werkzeug's threaded server for ``app`` bound to ``host:port`` (0 picks a free port).

    The socket is bound here, so that a busy port raises OSError (Werkzeug would print its
    own message and exit). Requests go through ``request_handler``.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.create_server((host, port), family=family) as listening:
        # Werkzeug duplicates the descriptor; this one closes when the block ends.
        return make_server(
            host,
            listening.getsockname()[1],
            app,
            threaded=True,
            request_handler=request_handler,
            fd=listening.fileno(),
        )


def json_error(code: int, message: str) -> Any:
    """A ``code`` response with the JSON body ``{"error": message}``: every server's 4xx form."""
    response = jsonify(error=message)
    response.status_code = code
    return response
