"""E-mail to runners through a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bakusoku.races.errors import NotificationDeliveryError
from bakusoku.races.mail import SmtpMail
from bakusoku.races.message import PHOTOS, RunnerMessage
from tests.races.stand_ins import SmtpSink

pytestmark = pytest.mark.integration

LINK = "https://photos.example.com/runner#abc.def"


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink()
    yield server
    server.close()


def _mail(sink: SmtpSink) -> SmtpMail:
    return SmtpMail("127.0.0.1", sink.port, "Shonan Photos <photos@example.com>", timeout=5)


def test_one_message_with_the_link_and_the_retry_key_as_its_message_id(sink: SmtpSink) -> None:
    message = RunnerMessage(PHOTOS, "湘南マラソン", "1234", LINK, photo_count=10)

    _mail(sink).send("yamada@example.com", message, "0b7c9a4e-1f0e-4c53-9d5e-4c3f8f1b2a10")

    (got,) = sink.messages
    assert got["To"] == "yamada@example.com"
    assert got["From"] == "Shonan Photos <photos@example.com>"
    assert "湘南マラソン" in str(got["Subject"]) or "=?utf-8?" in str(got["Subject"]).lower()
    assert got["Message-ID"] == "<0b7c9a4e-1f0e-4c53-9d5e-4c3f8f1b2a10@example.com>"
    body = got.get_payload(decode=True).decode()
    assert "10 photos of bib 1234" in body and LINK in body


def test_a_refusal_or_no_server_is_a_delivery_error_that_names_no_address(
    sink: SmtpSink,
) -> None:
    message = RunnerMessage(PHOTOS, "Race", "1234", LINK)
    sink.refuse_next = 1

    with pytest.raises(NotificationDeliveryError, match="answered 451") as refused:
        _mail(sink).send("yamada@example.com", message, "k1")
    closed = SmtpMail("127.0.0.1", 1, "photos@example.com", timeout=2)
    with pytest.raises(NotificationDeliveryError, match="sending through the SMTP server"):
        closed.send("yamada@example.com", message, "k1")

    assert "yamada" not in str(refused.value)
    assert sink.messages == []
