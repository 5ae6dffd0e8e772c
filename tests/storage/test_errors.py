"""S3's XML error bodies: every one well-formed XML, whatever the request put in it."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from bakusoku.storage.errors import InvalidKeyError


def test_a_key_with_characters_xml_cannot_hold_still_gives_a_well_formed_body() -> None:
    key = "uploads/a\x00b\x1b[31m\ufffe.jpg"
    error = InvalidKeyError(
        "The object key contains a NUL character; remove it.", extra={"Key": key}
    )

    body = error.to_xml(resource=f"/photos/{key}", request_id="R1")

    root = ET.fromstring(body)
    assert root.findtext("Code") == "InvalidArgument"
    # Each character XML 1.0 cannot hold is written as the URL writes it, so the client can see
    # which one it was; the rest of the key stays as sent.
    assert root.findtext("Key") == "uploads/a%00b%1B[31m%EF%BF%BE.jpg"
    assert root.findtext("Resource") == "/photos/uploads/a%00b%1B[31m%EF%BF%BE.jpg"
    assert root.findtext("RequestId") == "R1"


def test_text_xml_can_hold_is_kept_as_sent() -> None:
    error = InvalidKeyError("bad <key> & 'quotes' in\ttabs and 日本語")
    root = ET.fromstring(error.to_xml(request_id="R2"))
    assert root.findtext("Message") == "bad <key> & 'quotes' in\ttabs and 日本語"
