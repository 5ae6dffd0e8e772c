"""Every trigger route re-shapes the store's notification into an event the pipeline can read."""

from __future__ import annotations

import datetime

import pytest

from bakusoku.events import S3EventBridgeEvent, parse_object_created
from bakusoku.local.routes import ROUTES, RouteError, route_event
from bakusoku.storage.notifications import object_created_event

NOTIFICATION = object_created_event(
    bucket="bakusoku",
    key="uploads/sports day/IMG 0001.jpg",
    size=5242880,
    etag='"d41d8cd98f00b204e9800998ecf8427e"',
    sequencer="0055AED6DCD90281E5",
    region="ap-northeast-1",
    event_time=datetime.datetime(2026, 10, 10, 9, 30, 0, 123000, tzinfo=datetime.UTC),
)


@pytest.mark.parametrize(
    ("route", "shape"),
    [
        ("eventbridge", "eventbridge"),
        ("s3", "s3"),
        ("s3-sqs", "sqs/s3"),
        ("s3-sns", "sns/s3"),
        ("s3-sns-sqs", "sqs/sns/s3"),
        ("s3-sns-sqs-raw", "sqs/s3"),
        ("eventbridge-sns-sqs", "sqs/sns/eventbridge"),
    ],
)
def test_every_route_reads_back_as_the_same_object(route: str, shape: str) -> None:
    (record,) = parse_object_created(route_event(route, NOTIFICATION))

    assert record.source_shape == shape
    assert record.bucket == "bakusoku"
    assert record.key == "uploads/sports day/IMG 0001.jpg"
    assert (record.size, record.etag) == (5242880, "d41d8cd98f00b204e9800998ecf8427e")
    assert record.sequencer == "0055AED6DCD90281E5"
    assert record.region == "ap-northeast-1"


def test_default_route_is_s3s_eventbridge_object_created_event() -> None:
    event = route_event("eventbridge", NOTIFICATION)

    assert S3EventBridgeEvent.matches(event)
    assert event["detail-type"] == "Object Created"
    assert event["time"] == "2026-10-10T09:30:00Z"
    assert event["detail"]["reason"] == "PutObject"
    assert event["resources"] == ["arn:aws:s3:::bakusoku"]
    assert set(ROUTES) >= {"eventbridge", "s3", "s3-sns-sqs"}


def test_unknown_route_lists_the_known_ones() -> None:
    with pytest.raises(RouteError, match="'kafka' is unknown; set trigger_route to one of"):
        route_event("kafka", NOTIFICATION)
