"""What a POST form upload answers, apart from the server that streams it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from bakusoku.storage.base import ObjectInfo
from bakusoku.storage.form_upload import post_response_xml


def test_the_201_body_of_a_key_with_a_control_character_is_well_formed() -> None:
    info = ObjectInfo(
        bucket="photos",
        key="uploads/a\x1bb.jpg",
        size=3,
        etag='"900150983cd24fb0d6963f7d28e17f72"',
        content_type="image/jpeg",
        last_modified=datetime.now(UTC),
    )
    root = ET.fromstring(post_response_xml("http://127.0.0.1/photos/uploads/a%1Bb.jpg", info))
    assert root.findtext("Key") == "uploads/a%1Bb.jpg"
    assert root.findtext("ETag") == '"900150983cd24fb0d6963f7d28e17f72"'
