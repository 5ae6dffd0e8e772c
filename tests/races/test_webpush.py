"""Web Push to a push service on loopback that checks VAPID and decrypts the aes128gcm body."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bakusoku.config import ConfigError, Settings
from bakusoku.races.errors import NotificationDeliveryError
from bakusoku.races.message import CERTIFICATE, RunnerMessage
from bakusoku.races.webpush import WebPush, public_key_b64, vapid_key
from tests.races.stand_ins import PushServiceStandIn

pytestmark = pytest.mark.integration

LINK = "https://photos.example.com/runner#abc.def"


@pytest.fixture
def push() -> Iterator[PushServiceStandIn]:
    service = PushServiceStandIn()
    yield service
    service.close()


def test_the_push_service_verifies_vapid_and_the_browser_decrypts_the_message(
    push: PushServiceStandIn, tmp_path: Path
) -> None:
    key = vapid_key(Settings(data_dir=tmp_path))
    message = RunnerMessage(CERTIFICATE, "湘南マラソン", "1234", LINK)
    with httpx.Client(timeout=5) as client:
        # the stand-in push service listens on loopback: a network of our own
        WebPush(client, key, "mailto:photos@example.com", private_networks=True).send(
            push.subscription(), message, "0b7c9a4e-1f0e-4c53-9d5e-4c3f8f1b2a10"
        )

    assert push.refused == []
    (got,) = push.received
    assert got["message"] == {"title": message.title, "body": message.text, "url": LINK}
    assert push.vapid_keys == [public_key_b64(key)]
    assert got["headers"]["topic"] == "0b7c9a4e1f0e4c539d5e4c3f8f1b2a10"


def test_a_push_service_refusal_is_a_delivery_error(
    push: PushServiceStandIn, tmp_path: Path
) -> None:
    key = vapid_key(Settings(data_dir=tmp_path))
    gone = json.loads(push.subscription())
    gone["endpoint"] = f"{push.origin}/nowhere"
    with httpx.Client(timeout=5) as client, pytest.raises(NotificationDeliveryError, match="404"):
        WebPush(client, key, "mailto:photos@example.com", private_networks=True).send(
            json.dumps(gone), RunnerMessage(CERTIFICATE, "R", "1", LINK), "k"
        )


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_an_endpoint_that_resolves_inside_our_networks_is_never_posted_to(
    push: PushServiceStandIn, tmp_path: Path, host: str
) -> None:
    # A subscription stored before its endpoint was checked, or a name that resolves to a
    # loopback, private or link-local address: the server never sends a request there.
    key = vapid_key(Settings(data_dir=tmp_path))
    inside = json.loads(push.subscription())
    inside["endpoint"] = inside["endpoint"].replace("127.0.0.1", host)
    with (
        httpx.Client(timeout=5) as client,
        pytest.raises(NotificationDeliveryError, match="network"),
    ):
        WebPush(client, key, "mailto:photos@example.com").send(
            json.dumps(inside), RunnerMessage(CERTIFICATE, "R", "1", LINK), "k"
        )
    assert push.received == [] and push.refused == []


def test_the_vapid_key_is_kept_in_the_data_directory_or_taken_from_the_setting(
    tmp_path: Path,
) -> None:
    first = vapid_key(Settings(data_dir=tmp_path))
    again = vapid_key(Settings(data_dir=tmp_path))
    given = vapid_key(Settings(data_dir=tmp_path / "x", vapid_private_key=_raw(first)))

    assert public_key_b64(first) == public_key_b64(again) == public_key_b64(given)
    assert (tmp_path / "vapid-key").stat().st_mode & 0o077 == 0
    with pytest.raises(ConfigError, match="vapid_private_key"):
        vapid_key(Settings(data_dir=tmp_path, vapid_private_key="not a key"))


def _raw(key: object) -> str:
    import base64

    value = key.private_numbers().private_value  # type: ignore[attr-defined]
    return base64.urlsafe_b64encode(value.to_bytes(32, "big")).decode().rstrip("=")
