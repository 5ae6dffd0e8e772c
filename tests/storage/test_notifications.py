"""Object-created events match the Amazon S3 documented event message, key for key."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from bakusoku.storage.notifications import (
    EVENT_POST,
    RequestContext,
    Sequencer,
    encode_event_key,
    object_created_event,
)

# From the Amazon S3 user guide, "Event message structure": the example message S3 sends to
# publish an s3:ObjectCreated:Put event.
DOCUMENTED_PUT_EVENT = json.loads(
    """
{
   "Records":[
      {
         "eventVersion":"2.1",
         "eventSource":"aws:s3",
         "awsRegion":"us-west-2",
         "eventTime":"1970-01-01T00:00:00.000Z",
         "eventName":"ObjectCreated:Put",
         "userIdentity":{
            "principalId":"AIDAJDPLRKLG7UEXAMPLE"
         },
         "requestParameters":{
            "sourceIPAddress":"127.0.0.1"
         },
         "responseElements":{
            "x-amz-request-id":"C3D13FE58DE4C810",
            "x-amz-id-2":"FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"
         },
         "s3":{
            "s3SchemaVersion":"1.0",
            "configurationId":"testConfigRule",
            "bucket":{
               "name":"mybucket",
               "ownerIdentity":{
                  "principalId":"A3NL1KOZZKExample"
               },
               "arn":"arn:aws:s3:::mybucket"
            },
            "object":{
               "key":"HappyFace.jpg",
               "size":1024,
               "eTag":"d41d8cd98f00b204e9800998ecf8427e",
               "versionId":"096fKKXTRTtl3on89fVO.nfljtsv6qko",
               "sequencer":"0055AED6DCD90281E5"
            }
         }
      }
   ]
}
"""
)


def _shape(value: Any) -> Any:
    """The nested key structure and leaf types of a JSON value."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    return type(value).__name__


def _documented_example_event(version_id: str | None) -> dict[str, Any]:
    return object_created_event(
        bucket="mybucket",
        key="HappyFace.jpg",
        size=1024,
        etag='"d41d8cd98f00b204e9800998ecf8427e"',
        sequencer="0055AED6DCD90281E5",
        region="us-west-2",
        event_time=datetime(1970, 1, 1, tzinfo=UTC),
        context=RequestContext(
            principal_id="AIDAJDPLRKLG7UEXAMPLE",
            source_ip="127.0.0.1",
            request_id="C3D13FE58DE4C810",
            host_id="FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD",
        ),
        configuration_id="testConfigRule",
        owner_id="A3NL1KOZZKExample",
        version_id=version_id,
    )


def test_builder_reproduces_the_documented_event_exactly() -> None:
    assert _documented_example_event("096fKKXTRTtl3on89fVO.nfljtsv6qko") == DOCUMENTED_PUT_EVENT


def test_unversioned_event_has_the_documented_shape_without_version_id() -> None:
    expected = _shape(DOCUMENTED_PUT_EVENT)
    del expected["Records"][0]["s3"]["object"]["versionId"]
    assert _shape(_documented_example_event(None)) == expected


def test_keys_are_url_encoded_as_s3_does() -> None:
    assert encode_event_key("albums/red flower.jpg") == "albums/red+flower.jpg"
    assert encode_event_key("a+b/ü 1.jpg") == "a%2Bb/%C3%BC+1.jpg"
    for key in ["albums/red flower.jpg", "a+b/ü 1.jpg", "x&y=z%.jpg"]:
        assert unquote_plus(encode_event_key(key)) == key


def test_event_time_has_milliseconds_and_z() -> None:
    moment = datetime(2026, 11, 23, 19, 5, 7, 123456, tzinfo=UTC)
    event = object_created_event(
        bucket="photos",
        key="k.jpg",
        size=1,
        etag="abc",
        sequencer="01",
        region="us-east-1",
        event_time=moment,
    )
    assert event["Records"][0]["eventTime"] == "2026-11-23T19:05:07.123Z"


def test_post_events_are_named_object_created_post() -> None:
    event = object_created_event(
        bucket="photos",
        key="k.jpg",
        size=1,
        etag="abc",
        sequencer="01",
        region="us-east-1",
        event_time=datetime.now(UTC),
        context=RequestContext(event_name=EVENT_POST),
    )
    record = event["Records"][0]
    assert record["eventName"] == "ObjectCreated:Post"
    assert re.fullmatch(r"[0-9A-F]{16}", record["responseElements"]["x-amz-request-id"])


def test_sequencer_is_hex_and_strictly_increasing() -> None:
    sequencer = Sequencer()
    values = [sequencer.next() for _ in range(1000)]
    assert all(re.fullmatch(r"[0-9A-F]{18}", v) for v in values)
    assert values == sorted(values)
    assert len(set(values)) == len(values)
