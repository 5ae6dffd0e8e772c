"""LINE Messaging API: the push request of one message, and the webhook's signature and events.

Push: ``POST {api}/v2/bot/message/push`` with ``Authorization: Bearer {channel access token}``,
a JSON body ``{"to": userId, "messages": [{"type": "text", "text": ...}]}`` and
``X-Line-Retry-Key``, a UUID kept with the outbox row: a retry after a timeout is executed at most
once by LINE, which answers 409 to a retry of an accepted request (it was delivered).
Webhook: ``x-line-signature`` is base64(HMAC-SHA256(channel secret, raw body)); a body whose
signature does not match is refused before it is parsed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Any

import httpx

from bakusoku.races.errors import NotificationDeliveryError
from bakusoku.races.message import RunnerMessage

LINE_API_URL = "https://api.line.me"
PUSH_PATH = "/v2/bot/message/push"
USER_ID = re.compile(r"U[0-9a-f]{32}")
MAX_TEXT = 5000  # characters of one text message


class LinePush:
    """Sends one text message to one LINE user."""

    name = "line"

    def __init__(
        self, client: httpx.Client, access_token: str, api_url: str = LINE_API_URL
    ) -> None:
        self._client = client
        self._token = access_token
        self._url = api_url.rstrip("/") + PUSH_PATH

    def send(self, address: str, message: RunnerMessage, retry_key: str) -> None:
        body = {"to": address, "messages": [{"type": "text", "text": message.text[:MAX_TEXT]}]}
        try:
            response = self._client.post(
                self._url,
                content=json.dumps(body, ensure_ascii=False).encode(),
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {self._token}",
                    "X-Line-Retry-Key": retry_key,
                },
            )
        except httpx.HTTPError as exc:
            raise NotificationDeliveryError(f"{type(exc).__name__} reaching LINE") from None
        if response.status_code == 409:
            return  # the retry key's first request was accepted: the message went out then
        if response.status_code >= 300:
            raise NotificationDeliveryError(f"LINE answered HTTP {response.status_code}")


def signature(channel_secret: str, body: bytes) -> str:
    """The ``x-line-signature`` LINE sends with ``body``."""
    mac = hmac.new(channel_secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def signature_ok(channel_secret: str, body: bytes, header: str | None) -> bool:
    if not channel_secret or not header:
        return False
    return hmac.compare_digest(signature(channel_secret, body).encode(), header.encode())


@dataclass(frozen=True)
class LineEvent:
    """A webhook event we act on: a user followed the account, or wrote to it."""

    kind: str  # follow | message | unfollow
    user_id: str
    text: str = ""
    reply_token: str = ""


def events(body: bytes) -> list[LineEvent]:
    """The follow, unfollow and text-message events of a (verified) webhook body."""
    try:
        document: Any = json.loads(body)
    except ValueError:
        return []
    found = []
    for event in document.get("events", []) if isinstance(document, dict) else []:
        if not isinstance(event, dict):
            continue
        source = event.get("source") or {}
        user = source.get("userId", "") if isinstance(source, dict) else ""
        if not isinstance(user, str) or not USER_ID.fullmatch(user):
            continue
        kind = event.get("type")
        message = event.get("message") or {}
        if kind == "message" and isinstance(message, dict) and message.get("type") == "text":
            found.append(
                LineEvent("message", user, str(message.get("text", ""))[:200], _reply(event))
            )
        elif kind in ("follow", "unfollow"):
            found.append(LineEvent(str(kind), user, "", _reply(event)))
    return found


def _reply(event: dict[str, Any]) -> str:
    token = event.get("replyToken", "")
    return token if isinstance(token, str) else ""
