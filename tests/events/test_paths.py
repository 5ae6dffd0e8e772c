"""JsonPath: the jq filter error messages give for where a value sits in an event."""

from __future__ import annotations

import pytest

from bakusoku.events.paths import ROOT, JsonPath


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (ROOT, "."),
        (ROOT.key("Records").index(0).keys("s3", "object", "key"), ".Records[0].s3.object.key"),
        (ROOT.key("detail-type"), '.["detail-type"]'),
        (
            ROOT.keys("detail", "responseElements", "x-amz-version-id"),
            '.detail.responseElements["x-amz-version-id"]',
        ),
        (ROOT.index(2), ".[2]"),
        (
            ROOT.key("Records").index(0).key("body").then("fromjson").key("Message"),
            ".Records[0].body | fromjson | .Message",
        ),
        (
            ROOT.keys("kinesis", "data").then("@base64d").then("fromjson").index(1),
            ".kinesis.data | @base64d | fromjson | .[1]",
        ),
        (ROOT.key("body").then("fromjson"), ".body | fromjson"),
        (ROOT.then("fromjson").key("x y"), '. | fromjson | .["x y"]'),
    ],
)
def test_paths_are_written_as_jq_filters(path: JsonPath, text: str) -> None:
    assert str(path) == text


def test_paths_are_values_that_steps_do_not_change() -> None:
    records = ROOT.key("Records")

    first, second = records.index(0), records.index(1)

    assert str(records) == ".Records"
    assert (str(first), str(second)) == (".Records[0]", ".Records[1]")
    assert first == ROOT.key("Records").index(0)


def test_only_the_event_itself_is_the_root() -> None:
    assert ROOT.is_root
    assert not ROOT.key("a").is_root
    assert not ROOT.then("fromjson").is_root
