"""Helpers for the stub HTTP servers some tests start on 127.0.0.1."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler


def send_json(handler: BaseHTTPRequestHandler, status: int, obj: dict) -> None:
    """Answer the request `handler` serves with `status` and `obj` as a JSON body."""
    data = json.dumps(obj).encode()
    handler.send_response(status)
    handler.send_header("content-type", "application/json")
    handler.send_header("content-length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
