"""Stand-ins on loopback for the services runners are reached through: LINE's push API."""

from __future__ import annotations

import json
import re
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_USER = re.compile(r"U[0-9a-f]{32}")


class LineStandIn:
    """LINE's ``POST /v2/bot/message/push`` as its reference describes it: a Bearer channel
    access token, a JSON body ``{"to", "messages": [{"type": "text", "text"}]}`` (1-5 messages,
    text up to 5000 characters), and ``X-Line-Retry-Key``, a UUID: a key whose request was
    accepted answers 409 when sent again. Anything else answers 400 or 401, as LINE would.

    ``accept_then_fail`` accepts the next N requests but answers 500 (the message went out, the
    answer was lost): what a retry key is for.
    """

    def __init__(self) -> None:
        self.token = secrets.token_urlsafe(24)
        self.delivered: list[dict[str, Any]] = []  # the messages a user would see
        self.refused: list[tuple[int, str]] = []
        self.accepted_keys: set[str] = set()
        self.failures_left = 0
        self.accept_then_fail = 0
        self._lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status, text = stand_in._handle(self.path, dict(self.headers.items()), raw)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps({"message": text}).encode())

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, str]:
        with self._lock:
            status, text = self._check(path, headers, raw)
            if status >= 400:
                self.refused.append((status, text))
            return status, text

    def _check(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, str]:
        lower = {k.lower(): v for k, v in headers.items()}
        if path != "/v2/bot/message/push":
            return 404, "Not found"
        if lower.get("authorization") != f"Bearer {self.token}":
            return 401, "Authentication failed"
        if not lower.get("content-type", "").startswith("application/json"):
            return 400, "Content-Type must be application/json"
        key = lower.get("x-line-retry-key", "")
        if not _UUID.fullmatch(key):
            return 400, "The retry key must be a UUID"
        try:
            body = json.loads(raw)
        except ValueError:
            return 400, "The request body has 1 error(s)"
        messages = body.get("messages")
        if not isinstance(body.get("to"), str) or not _USER.fullmatch(body["to"]):
            return 400, "to: a user id"
        if not isinstance(messages, list) or not 1 <= len(messages) <= 5:
            return 400, "messages: 1 to 5"
        for message in messages:
            if message.get("type") != "text" or not 1 <= len(message.get("text", "")) <= 5000:
                return 400, "messages: text messages of 1-5000 characters"
        if key in self.accepted_keys:
            return 409, "The retry key is already accepted"
        if self.failures_left:
            self.failures_left -= 1
            return 500, "Internal server error"
        self.accepted_keys.add(key)
        self.delivered.append(body)
        if self.accept_then_fail:
            self.accept_then_fail -= 1
            return 500, "Internal server error"
        return 200, "ok"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
