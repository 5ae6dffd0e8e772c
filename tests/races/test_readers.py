"""The bib readers configuration names; Rekognition DetectText's request and answer checked
against botocore's model of the service (Stubber validates both; nothing is sent)."""

from __future__ import annotations

import io
import sys
from typing import Any

import botocore.session
import pytest
from botocore.stub import Stubber
from PIL import Image

from bakusoku.config import ConfigError, Settings
from bakusoku.races.bibs import Entrants, sightings
from bakusoku.races.readers import (
    EmbeddedReader,
    RekognitionReader,
    bib_reader,
    missing_packages,
)


def _jpeg(size: tuple[int, int] = (1600, 1200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (90, 120, 80)).save(out, "JPEG")
    return out.getvalue()


def _client() -> Any:
    return botocore.session.get_session().create_client(
        "rekognition",
        region_name="ap-northeast-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
    )


def _word(
    text: str, confidence: float, left: float, top: float, kind: str = "WORD"
) -> dict[str, Any]:
    return {
        "DetectedText": text,
        "Type": kind,
        "Id": 1,
        "Confidence": confidence,
        "Geometry": {
            "BoundingBox": {"Width": 0.1, "Height": 0.05, "Left": left, "Top": top},
            "Polygon": [{"X": left, "Y": top}],
        },
    }


def test_detect_text_words_become_lines_in_the_pictures_pixels() -> None:
    client = _client()
    jpeg = _jpeg()
    answer = {
        "TextDetections": [
            _word("SHONAN 2026 1432", 99.0, 0.1, 0.1, kind="LINE"),  # a line joins the bib
            _word("1432", 98.5, 0.5, 0.5),
            _word("SHONAN", 97.0, 0.1, 0.1),
            {
                **_word("MARATHON", 99.0, 0.0, 0.0),
                "Geometry": {
                    "BoundingBox": {"Width": 0.6, "Height": 0.05, "Left": 0.0, "Top": 0.0}
                },
            },
        ],
        "TextModelVersion": "3.0",
    }
    with Stubber(client) as stub:
        stub.add_response(
            "detect_text",
            answer,
            {"Image": {"Bytes": jpeg}, "Filters": {"WordFilter": {"MinConfidence": 50.0}}},
        )
        lines, size = RekognitionReader(client).read(jpeg)
        stub.assert_no_pending_responses()

    assert size == (1600, 1200)
    # no pixels are looked at: the card is never seen going on beyond a word
    assert [(line.text, line.goes_on) for line in lines] == [
        ("1432", (False, False)),
        ("SHONAN", (False, False)),
    ]
    assert lines[0].confidence == pytest.approx(0.985)
    assert lines[0].box == (800, 600, 960, 660)
    (found,) = sightings(lines, Entrants({"1432", "988"}))
    assert (found.bib, found.source) == ("1432", "ocr")


def test_the_configuration_names_the_reader() -> None:
    assert bib_reader(Settings(bib_reader="off")) is None
    assert isinstance(bib_reader(Settings(bib_reader="embedded")), EmbeddedReader)
    assert isinstance(bib_reader(Settings(bib_reader="rekognition"), _client()), RekognitionReader)
    with pytest.raises(ConfigError, match="embedded, rekognition, off"):
        bib_reader(Settings(bib_reader="tesseract"))


def test_missing_packages_says_the_embedded_reader_needs_the_bibs_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    embedded, off = Settings(bib_reader="embedded"), Settings(bib_reader="off")
    assert missing_packages(embedded) is None  # the test extra installs the bibs extra
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # find_spec: None for a blocked module

    assert missing_packages(off) is None
    assert missing_packages(embedded) == (
        "bib_reader is 'embedded' but the text engine is not installed: install the 'bibs' extra"
        " (pip install 'bakusoku[bibs]'), or set bib_reader to rekognition or off"
    )
