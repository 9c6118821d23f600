"""Plain HTTP on the hub's port: the dashboard's static files, `/health`, `/metrics`.

websockets parses every request on the port; `HttpRoutes.respond` answers the ones that are
not the websocket endpoint (`/ws`) before any handshake. The dashboard's files are read once
at start, so serving them never touches the disk, and only files that exist there are served
(no path is ever joined from the request).
"""

from __future__ import annotations

import email.utils
import http
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from websockets.datastructures import Headers
from websockets.http11 import Request, Response

log = logging.getLogger(__name__)

WEBSOCKET_PATH = "/ws"

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".png": "image/png",
    ".ico": "image/x-icon",
}

# The dashboard loads nothing from elsewhere (no CDN) and may only talk to its own hub.
_SECURITY_HEADERS = (
    (
        "Content-Security-Policy",
        (
            "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
            "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
        ),
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Cache-Control", "no-store"),
)


@dataclass(frozen=True, slots=True)
class StaticFile:
    body: bytes
    content_type: str


def load_static(root: Path) -> dict[str, StaticFile]:
    """URL path -> file, for every file under `root` with a known type; `/` is index.html."""
    files: dict[str, StaticFile] = {}
    if not root.is_dir():
        log.warning("dashboard folder %s not found: only the websocket is served", root)
        return files
    for path in sorted(root.rglob("*")):
        content_type = _TYPES.get(path.suffix)
        if path.is_file() and content_type is not None:
            url = "/" + path.relative_to(root).as_posix()
            files[url] = StaticFile(path.read_bytes(), content_type)
    if "/index.html" in files:
        files["/"] = files["/index.html"]
    return files


def response(status: http.HTTPStatus, body: bytes, content_type: str) -> Response:
    headers = Headers(
        [
            ("Date", email.utils.formatdate(usegmt=True)),
            ("Connection", "close"),
            ("Content-Length", str(len(body))),
            ("Content-Type", content_type),
            *_SECURITY_HEADERS,
        ]
    )
    return Response(status.value, status.phrase, headers, body)


def text_response(status: http.HTTPStatus, text: str) -> Response:
    return response(status, text.encode(), "text/plain; charset=utf-8")


@dataclass(frozen=True, slots=True)
class HttpRoutes:
    static: dict[str, StaticFile]
    health: Callable[[], tuple[bool, bytes]]  # (healthy, JSON body)
    metrics: Callable[[], str]

    def respond(self, request: Request) -> Response | None:
        """The response for a plain HTTP request; None lets the websocket handshake proceed."""
        path = request.path.split("?", 1)[0]
        if path == WEBSOCKET_PATH:
            return None
        if request.method != "GET":
            return text_response(http.HTTPStatus.METHOD_NOT_ALLOWED, "only GET is served\n")
        if path == "/health":
            healthy, body = self.health()
            status = http.HTTPStatus.OK if healthy else http.HTTPStatus.SERVICE_UNAVAILABLE
            return response(status, body, "application/json")
        if path == "/metrics":
            return response(
                http.HTTPStatus.OK, self.metrics().encode(), "text/plain; version=0.0.4"
            )
        found = self.static.get(path)
        if found is None:
            return text_response(http.HTTPStatus.NOT_FOUND, "not found\n")
        return response(http.HTTPStatus.OK, found.body, found.content_type)
