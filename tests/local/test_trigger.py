"""Which targets an object-created event goes to, and the keys that make a repeat a no-op."""

from __future__ import annotations

from typing import Any

from bakusoku.events import ObjectCreated
from bakusoku.local.functions import object_key, schedule_key
from bakusoku.local.trigger import ObjectTarget, targets_for

BUCKET = "photos"


def _record(key: str, bucket: str = BUCKET, etag: str | None = "a" * 32) -> ObjectCreated:
    return ObjectCreated(
        bucket=bucket,
        key=key,
        size=1,
        etag=etag,
        sequencer="0A",
        event_time=None,
        region="ap-northeast-1",
        source_shape="s3",
    )


def _never(record: ObjectCreated, notification: dict[str, Any]) -> bool:
    raise AssertionError("routing must not start a target")


PIPELINE = ObjectTarget("photo-pipeline", "uploads/", _never)
IMPORTS = ObjectTarget("imports-objects-1", "imports/", _never)
CSV_IMPORTS = ObjectTarget("csv-objects-1", "imports/csv/", _never)
TARGETS = [PIPELINE, IMPORTS, CSV_IMPORTS]


def _names(key: str, bucket: str = BUCKET) -> list[str]:
    """The targets of an object of ``bucket`` for the router of the stack's bucket."""
    return [t.name for t in targets_for(TARGETS, BUCKET, _record(key, bucket))]


def test_an_object_goes_to_the_target_of_its_prefix_only() -> None:
    assert _names("uploads/album/photo.jpg") == ["photo-pipeline"]
    assert _names("imports/list.json") == ["imports-objects-1"]


def test_an_object_under_overlapping_prefixes_goes_to_each_as_both_rules_fire() -> None:
    assert _names("imports/csv/list.csv") == ["imports-objects-1", "csv-objects-1"]


def test_objects_under_no_prefix_or_in_another_bucket_go_nowhere() -> None:
    assert _names("renditions/album/photo/preview.jpg") == []
    assert _names("importsX/list.json") == []  # a prefix is matched as written, '/' included
    assert _names("imports/list.json", bucket="other") == []


def test_the_object_key_is_the_same_for_a_repeat_and_differs_per_function_and_content() -> None:
    record = _record("imports/list.json")
    assert object_key("importer", record) == object_key("importer", _record("imports/list.json"))
    assert object_key("importer", record) != object_key("auditor", record)
    assert object_key("importer", record) != object_key(
        "importer", _record("imports/list.json", etag="b" * 32)
    )
    assert object_key("importer", record) != object_key("importer", _record("imports/other.json"))
    assert len(object_key("x" * 24, _record("imports/" + "n" * 900))) <= 160  # the column


def test_each_firing_of_a_schedule_is_its_own_invocation() -> None:
    first = schedule_key("report", {"id": "1f0c"})
    assert first == schedule_key("report", {"id": "1f0c"})
    assert first != schedule_key("report", {"id": "2e9d"})
