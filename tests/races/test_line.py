"""The LINE webhook's signature and events (unit: no I/O)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from bakusoku.races.line import events, signature, signature_ok

SECRET = "0123456789abcdef0123456789abcdef"
USER = "U" + "4af4980629" * 3 + "ab"


def _body() -> bytes:
    return json.dumps(
        {
            "destination": "Uxxxxxxxx",
            "events": [
                {"type": "follow", "replyToken": "r1", "source": {"type": "user", "userId": USER}},
                {
                    "type": "message",
                    "replyToken": "r2",
                    "source": {"type": "user", "userId": USER},
                    "message": {"type": "text", "id": "1", "text": "1234 山田"},
                },
                {"type": "message", "source": {"userId": USER}, "message": {"type": "sticker"}},
            ],
        }
    ).encode()


def test_the_signature_is_base64_hmac_sha256_of_the_body_with_the_channel_secret() -> None:
    body = _body()
    expected = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest())

    assert signature(SECRET, body) == expected.decode()
    assert signature_ok(SECRET, body, expected.decode())


def test_a_tampered_body_or_another_secret_is_refused() -> None:
    body = _body()
    good = signature(SECRET, body)

    assert not signature_ok(SECRET, body.replace(b"1234", b"9999"), good)
    assert not signature_ok("another-secret", body, good)
    assert not signature_ok(SECRET, body, None)
    assert not signature_ok("", body, signature("", body))  # no secret configured: nothing passes


def test_follow_and_text_events_are_read_and_others_skipped() -> None:
    found = events(_body())

    assert [(e.kind, e.user_id, e.text) for e in found] == [
        ("follow", USER, ""),
        ("message", USER, "1234 山田"),
    ]
    assert events(b"not json") == []
