"""Stand-ins on loopback for the services runners are reached through: LINE, SMTP, Web Push."""

from __future__ import annotations

import base64
import email.message
import json
import re
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.conftest import free_port

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


class SmtpSink:
    """A real SMTP server on loopback (aiosmtpd) that keeps every message it is given."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.handlers import Message

        sink = self
        self.messages: list[email.message.Message] = []
        self.refuse_next = 0

        class Keep(Message):
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                if sink.refuse_next:
                    sink.refuse_next -= 1
                    return "451 Requested action aborted: try again later"
                return str(await super().handle_DATA(server, session, envelope))

            def handle_message(self, message: email.message.Message) -> None:
                sink.messages.append(message)

        self.controller = Controller(Keep(), hostname="127.0.0.1", port=free_port())
        self.controller.start()

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def close(self) -> None:
        self.controller.stop()


class PushServiceStandIn:
    """A push service (RFC 8030) on loopback that accepts a message only as a browser's push
    service would: a VAPID ``Authorization`` (RFC 8292) whose ES256 JWT verifies with the key it
    carries, names this origin as ``aud`` and expires within 24 hours, and an ``aes128gcm`` body
    (RFC 8291) that decrypts with the subscription's keys (by ``http_ece``, not our code)."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        self.browser_key = ec.generate_private_key(ec.SECP256R1())
        self.auth = secrets.token_bytes(16)
        raw = self.browser_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self.p256dh = raw
        self.received: list[dict[str, Any]] = []
        self.refused: list[tuple[int, str]] = []
        self.vapid_keys: list[str] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status, text = stand_in._handle(self.path, dict(self.headers.items()), raw)
                if status >= 300:
                    stand_in.refused.append((status, text))
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(text.encode())

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def subscription(self) -> str:
        """The browser's PushSubscription, as ``JSON.stringify`` gives it."""
        return json.dumps(
            {
                "endpoint": f"{self.origin}/push/{secrets.token_urlsafe(16)}",
                "expirationTime": None,
                "keys": {"p256dh": _b64(self.p256dh), "auth": _b64(self.auth)},
            }
        )

    def _handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, str]:
        import http_ece
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

        lower = {k.lower(): v for k, v in headers.items()}
        if not path.startswith("/push/"):
            return 404, "no such subscription"
        match = re.fullmatch(
            r"vapid t=([\w-]+)\.([\w-]+)\.([\w-]+), ?k=([\w-]+)", lower.get("authorization", "")
        )
        if not match:
            return 401, "Authorization: vapid t=..., k=..."
        header, claims, signature, key = match.groups()
        try:
            public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64(key))
            sig = _unb64(signature)
            public.verify(
                encode_dss_signature(int.from_bytes(sig[:32]), int.from_bytes(sig[32:])),
                f"{header}.{claims}".encode(),
                ec.ECDSA(hashes.SHA256()),
            )
        except (InvalidSignature, ValueError):
            return 403, "the VAPID signature does not verify"
        if json.loads(_unb64(header)) != {"typ": "JWT", "alg": "ES256"}:
            return 403, "the JWT header must be ES256"
        body = json.loads(_unb64(claims))
        if body.get("aud") != self.origin:
            return 403, "aud must be the push service's origin"
        if not time.time() < body.get("exp", 0) <= time.time() + 24 * 3600:
            return 403, "exp must be within 24 hours"
        if not str(body.get("sub", "")).startswith(("mailto:", "https:")):
            return 403, "sub must be a mailto: or https: contact"
        if lower.get("content-encoding") != "aes128gcm" or "ttl" not in lower:
            return 400, "Content-Encoding: aes128gcm and TTL are required"
        try:
            plain = http_ece.decrypt(
                raw, private_key=self.browser_key, auth_secret=self.auth, version="aes128gcm"
            )
        except Exception as exc:
            return 400, f"the body does not decrypt: {type(exc).__name__}"
        self.vapid_keys.append(key)
        self.received.append({"path": path, "headers": lower, "message": json.loads(plain)})
        return 201, ""

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def line_text_event(user: str, text: str) -> bytes:
    """A webhook body as LINE posts it when ``user`` sends ``text`` to the account."""
    return json.dumps(
        {
            "destination": "U" + "f" * 32,
            "events": [
                {
                    "type": "message",
                    "replyToken": secrets.token_hex(16),
                    "source": {"type": "user", "userId": user},
                    "message": {"type": "text", "id": "1", "text": text},
                }
            ],
        }
    ).encode()
