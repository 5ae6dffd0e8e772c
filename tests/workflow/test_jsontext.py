"""JSON text of execution data: orjson's speed without its differences from the standard library."""

import datetime
import json

import pytest

from bakusoku.workflow import jsontext


def test_text_is_compact_utf8_json() -> None:
    value = {"name": "写真", "n": [1, 2.5, None, True], "nested": {"a": ""}}
    text = jsontext.dumps(value)
    assert text == json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def test_integers_beyond_64_bits_survive_a_copy_exactly() -> None:
    big = {"id": 2**70 + 1, "keys": {1: "one"}}
    copied, text = jsontext.copy(big)
    assert copied == {"id": 2**70 + 1, "keys": {"1": "one"}}
    assert isinstance(copied["id"], int)
    assert json.loads(text) == copied


def test_a_copy_is_deep() -> None:
    original = {"items": [{"a": 1}]}
    copied, _ = jsontext.copy(original)
    copied["items"][0]["a"] = 2
    assert original == {"items": [{"a": 1}]}


@pytest.mark.parametrize("value", [datetime.datetime(2026, 1, 1), {1, 2}, object()])
def test_what_is_not_json_is_refused(value: object) -> None:
    with pytest.raises(TypeError):
        jsontext.dumps(value)
    with pytest.raises(TypeError):
        jsontext.copy({"v": value})
