"""parse_object_created over Kinesis, DynamoDB Streams, API Gateway, schedules and multipart calls."""

from __future__ import annotations

import base64
import datetime
import json
from decimal import Decimal
from typing import Any

import pytest

from bakusoku import events
from bakusoku.events import (
    APIGatewayHttpEvent,
    APIGatewayRestEvent,
    DynamoDBStreamEvent,
    KinesisEvent,
    MalformedEventError,
    ScheduledEvent,
    UnknownEventError,
    deserialize,
    parse_object_created,
)
from tests.events.conftest import load_sample

UTC = datetime.UTC


def _b64(document: Any) -> str:
    return base64.b64encode(json.dumps(document).encode()).decode()


def test_parse_object_created_is_the_one_entry_point() -> None:
    assert events.object_created_records is parse_object_created
    assert "parse_object_created" in events.__all__


# -- Kinesis ---------------------------------------------------------------------------------


def test_kinesis_record_data_is_base64_decoded() -> None:
    event = load_sample("kinesis_records")
    assert KinesisEvent.matches(event)

    first, second = KinesisEvent(event).records

    assert first.data == b"Hello, this is a test."
    assert second.data == b"This is only a test."
    assert first.partition_key == "1"
    assert first.sequence_number == "49590338271490256608559692538361571095921575989136588898"
    assert first.aws_region == "us-east-2"
    assert first.approximate_arrival == datetime.datetime(2018, 12, 17, 22, 10, 50, 987000, UTC)


def test_kinesis_text_that_is_not_an_event_is_a_clear_error() -> None:
    with pytest.raises(
        MalformedEventError,
        match=r"^event: \.Records\[0\]\.kinesis\.data \| @base64d is not JSON: 'Hello, this",
    ):
        parse_object_created(load_sample("kinesis_records"))


def test_kinesis_carrying_an_eventbridge_object_created_event() -> None:
    event = load_sample("kinesis_records")
    del event["Records"][1]
    event["Records"][0]["kinesis"]["data"] = _b64(load_sample("eventbridge_object_created"))

    (record,) = parse_object_created(event)

    assert record.source_shape == "kinesis/eventbridge"
    assert (record.bucket, record.key, record.size) == ("DOC-EXAMPLE-BUCKET1", "example-key", 5)


def test_kinesis_data_that_is_not_base64() -> None:
    event = load_sample("kinesis_records")
    event["Records"][0]["kinesis"]["data"] = "not base64!"

    with pytest.raises(
        MalformedEventError, match=r"^event: \.Records\[0\]\.kinesis\.data is not base64"
    ):
        parse_object_created(event)


# -- DynamoDB Streams ------------------------------------------------------------------------


def test_dynamodb_images_are_decoded_from_typed_attribute_values() -> None:
    event = load_sample("dynamodb_stream")
    assert DynamoDBStreamEvent.matches(event)

    insert, modify = DynamoDBStreamEvent(event).records

    assert insert.event_name == "INSERT"
    assert insert.keys == {"Id": Decimal(101)}
    assert insert.new_image == {"Message": "New item!", "Id": Decimal(101)}
    assert insert.old_image is None
    assert insert.sequence_number == "111"
    assert insert.stream_view_type == "NEW_AND_OLD_IMAGES"
    assert modify.old_image == {"Message": "New item!", "Id": Decimal(101)}
    assert modify.new_image == {"Message": "This item has changed", "Id": Decimal(101)}


@pytest.mark.parametrize(
    ("value", "expected"),
    [  # the examples of the DynamoDB API Reference, "AttributeValue"
        ({"S": "Hello"}, "Hello"),
        ({"N": "123.45"}, Decimal("123.45")),
        ({"B": "dGhpcyB0ZXh0IGlzIGJhc2U2NC1lbmNvZGVk"}, b"this text is base64-encoded"),
        ({"BOOL": True}, True),
        ({"NULL": True}, None),
        ({"SS": ["Giraffe", "Hippo", "Zebra"]}, {"Giraffe", "Hippo", "Zebra"}),
        (
            {"NS": ["42.2", "-19", "7.5", "3.14"]},
            {Decimal("42.2"), Decimal(-19), Decimal("7.5"), Decimal("3.14")},
        ),
        ({"BS": ["U3Vubnk=", "UmFpbnk=", "U25vd3k="]}, {b"Sunny", b"Rainy", b"Snowy"}),
        (
            {"L": [{"S": "Cookies"}, {"S": "Coffee"}, {"N": "3.14159"}]},
            ["Cookies", "Coffee", Decimal("3.14159")],
        ),
        ({"M": {"Name": {"S": "Joe"}, "Age": {"N": "35"}}}, {"Name": "Joe", "Age": Decimal(35)}),
    ],
)
def test_every_attribute_value_type(value: dict[str, Any], expected: Any) -> None:
    assert deserialize(value) == expected


@pytest.mark.parametrize("value", [{"X": "1"}, {"N": "one"}, {"S": "a", "N": "1"}, {"NULL": False}])
def test_bad_attribute_values_say_what_is_allowed(value: dict[str, Any]) -> None:
    with pytest.raises(MalformedEventError, match="AttributeValue"):
        deserialize(value)


def test_dynamodb_item_that_is_not_an_object_record_is_a_clear_error() -> None:
    with pytest.raises(MalformedEventError, match="needs string attributes 'bucket' and 'key'"):
        parse_object_created(load_sample("dynamodb_stream"))


def test_dynamodb_item_recording_an_object() -> None:
    event = load_sample("dynamodb_stream")
    del event["Records"][1]
    event["Records"][0]["dynamodb"]["NewImage"] = {
        "bucket": {"S": "mybucket"},
        "key": {"S": "uploads/day/IMG 1.jpg"},
        "size": {"N": "1024"},
        "etag": {"S": "d41d8cd98f00b204e9800998ecf8427e"},
        "eventTime": {"S": "2026-10-10T09:30:00Z"},
    }

    (record,) = parse_object_created(event)

    assert record.source_shape == "dynamodb"
    assert (record.bucket, record.key, record.size) == ("mybucket", "uploads/day/IMG 1.jpg", 1024)
    assert record.etag == "d41d8cd98f00b204e9800998ecf8427e"
    assert record.event_time == datetime.datetime(2026, 10, 10, 9, 30, tzinfo=UTC)
    assert record.region == "us-west-2"


def _dynamodb_object_event(**attributes: dict[str, Any]) -> dict[str, Any]:
    event = load_sample("dynamodb_stream")
    del event["Records"][1]
    event["Records"][0]["dynamodb"]["NewImage"] = {
        "bucket": {"S": "mybucket"},
        "key": {"S": "uploads/day/IMG 1.jpg"},
        **attributes,
    }
    return event


def test_dynamodb_attributes_nobody_reads_are_not_decoded() -> None:
    event = _dynamodb_object_event(
        Id={"N": "101"},
        weird={"X": "no such type"},  # not an AttributeValue: left alone
        size={"N": "1024.5"},  # not a whole number: the size is unknown
        eventTime={"S": "yesterday"},  # not a time: the time is unknown
    )
    event["Records"][0]["dynamodb"]["ApproximateCreationDateTime"] = 1428537600.0

    (record,) = parse_object_created(event)

    assert (record.bucket, record.key) == ("mybucket", "uploads/day/IMG 1.jpg")
    assert (record.size, record.event_time) == (None, None)


def test_dynamodb_time_falls_back_to_the_stream_and_sizes_may_be_written_as_floats() -> None:
    event = _dynamodb_object_event(size={"N": "1024.0"})
    event["Records"][0]["dynamodb"]["ApproximateCreationDateTime"] = 1428537600.0

    (record,) = parse_object_created(event)

    assert record.size == 1024 and type(record.size) is int
    assert record.event_time == datetime.datetime(2015, 4, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("attribute", "value", "message"),
    [
        ("etag", {"N": "5"}, r"\.NewImage\.etag is Decimal 5, expected text$"),
        ("sequencer", {"S": "later"}, r"\.NewImage\.sequencer is str, expected hexadecimal text$"),
        (
            "bucket",
            {"Q": "x"},
            r"\.NewImage\.bucket: 'Q' value 'x' is not a valid DynamoDB AttributeValue",
        ),
    ],
)
def test_dynamodb_attributes_the_pipeline_uses_are_checked(
    attribute: str, value: dict[str, Any], message: str
) -> None:
    event = _dynamodb_object_event(**{attribute: value})

    with pytest.raises(MalformedEventError, match=r"^event: \.Records\[0\]\.dynamodb" + message):
        parse_object_created(event)


def test_dynamodb_remove_creates_nothing() -> None:
    event = load_sample("dynamodb_stream")
    del event["Records"][0]
    event["Records"][0]["eventName"] = "REMOVE"

    assert parse_object_created(event) == []


# -- API Gateway -----------------------------------------------------------------------------


def test_rest_api_proxy_event() -> None:
    event = load_sample("apigateway_rest_v1")
    assert APIGatewayRestEvent.matches(event)
    assert not APIGatewayHttpEvent.matches(event)

    request = APIGatewayRestEvent(event)

    assert (request.http_method, request.resource, request.path) == (
        "POST",
        "/{proxy+}",
        "/hello/world",
    )
    assert request.stage == "testStage"
    assert request.query_string_parameters["name"] == "me"
    assert request.multi_value_headers["Accept"] == ["*/*"]
    assert request.path_parameters == {"proxy": "hello/world"}
    assert request.json_body() == {"a": 1}


def test_rest_api_body_that_is_not_an_event_names_the_route() -> None:
    with pytest.raises(
        UnknownEventError, match=r"^apigateway-rest at \.body \| fromjson: unrecognised event shape"
    ):
        parse_object_created(load_sample("apigateway_rest_v1"))


def test_rest_api_body_carrying_an_s3_notification() -> None:
    event = load_sample("apigateway_rest_v1")
    event["body"] = json.dumps(load_sample("s3_put"))

    (record,) = parse_object_created(event)

    assert record.source_shape == "apigateway-rest/s3"
    assert record.key == "HappyFace.jpg"


def test_http_api_payload_v2() -> None:
    event = load_sample("apigateway_http_v2")
    assert APIGatewayHttpEvent.matches(event)
    assert not APIGatewayRestEvent.matches(event)

    request = APIGatewayHttpEvent(event)

    assert (request.http_method, request.route_key, request.raw_path) == (
        "POST",
        "$default",
        "/my/path",
    )
    assert request.cookies == ["cookie1", "cookie2"]
    assert request.headers["Header2"] == "value1,value2"
    assert request.body == b"Hello from Lambda"
    with pytest.raises(MalformedEventError, match="body is not JSON: 'Hello from Lambda'"):
        parse_object_created(event)


def test_http_api_base64_body_carrying_an_eventbridge_event() -> None:
    event = load_sample("apigateway_http_v2")
    event["isBase64Encoded"] = True
    event["body"] = _b64(load_sample("eventbridge_object_created"))

    (record,) = parse_object_created(event)

    assert record.source_shape == "apigateway-http/eventbridge"
    assert record.etag == "b1946ac92492d2347c6235b4d2611184"


def test_http_api_without_a_body() -> None:
    event = load_sample("apigateway_http_v2")
    del event["body"]

    with pytest.raises(MalformedEventError, match="the request has no body"):
        parse_object_created(event)


def test_base64_flag_that_is_not_a_boolean_is_refused() -> None:
    # Whether to decode the body decides what the body says: "false" is not false.
    event = load_sample("apigateway_http_v2")
    event["isBase64Encoded"] = "false"
    event["body"] = json.dumps(load_sample("s3_put"))

    with pytest.raises(
        MalformedEventError, match=r"^event: \.isBase64Encoded is str, expected true"
    ):
        parse_object_created(event)


def test_request_fields_nobody_reads_may_be_anything() -> None:
    event = load_sample("apigateway_rest_v1")
    event["body"] = json.dumps(load_sample("s3_put"))
    event |= {"headers": ["not", "a", "map"], "requestContext": 7, "stageVariables": {"x": 1.5}}

    (record,) = parse_object_created(event)

    assert record.key == "HappyFace.jpg"


def test_kinesis_record_fields_nobody_reads_may_be_anything() -> None:
    event = load_sample("kinesis_records")
    del event["Records"][1]
    event["Records"][0]["kinesis"] |= {
        "data": _b64(load_sample("cloudtrail_put_object")),
        "approximateArrivalTimestamp": "soon",
        "partitionKey": 1.0,
        "extra": {"nested": [1]},
    }
    del event["Records"][0]["eventID"]

    (record,) = parse_object_created(event)

    assert record.source_shape == "kinesis/cloudtrail"
    assert (record.bucket, record.key, record.size) == ("BUCKETNAME", "OBJECTKEY", 197)


def test_a_bad_field_inside_kinesis_data_is_named_through_the_decoding() -> None:
    event = load_sample("kinesis_records")
    del event["Records"][1]
    payload = load_sample("eventbridge_object_created")
    payload["detail"]["object"]["key"] = 42
    event["Records"][0]["kinesis"]["data"] = _b64(payload)

    with pytest.raises(
        MalformedEventError,
        match=r"^kinesis: \.Records\[0\]\.kinesis\.data \| @base64d \| fromjson \| "
        r"\.detail\.object\.key is int 42, expected non-empty text$",
    ):
        parse_object_created(event)


# -- schedules, multipart uploads, unknown shapes -------------------------------------------


def test_scheduled_event_creates_nothing() -> None:
    event = load_sample("eventbridge_scheduled")
    assert ScheduledEvent.matches(event)

    scheduled = ScheduledEvent(event)

    assert scheduled.rule_arn == "arn:aws:events:us-east-1:123456789012:rule/my-scheduled-rule"
    assert scheduled.time == datetime.datetime(2015, 10, 8, 16, 53, 6, tzinfo=UTC)
    assert parse_object_created(event) == []


def test_cloudtrail_complete_multipart_upload() -> None:
    (record,) = parse_object_created(load_sample("cloudtrail_complete_multipart_upload"))

    assert record.source_shape == "cloudtrail"
    assert (record.bucket, record.key, record.size) == ("BUCKETNAME", "OBJECTKEY", 197)
    assert record.etag is None
    assert record.event_time == datetime.datetime(2020, 5, 22, 8, 38, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"Records": [{"eventSource": "aws:ses"}]},
        {"detail-type": "x", "source": "y", "detail": {}},
    ],
)
def test_unknown_events_list_what_was_expected(event: dict[str, Any]) -> None:
    with pytest.raises(UnknownEventError, match="expected an S3 notification") as caught:
        parse_object_created(event)

    assert "Kinesis" in str(caught.value)
    assert "API Gateway" in str(caught.value)


def test_known_shape_with_a_field_missing_is_malformed_not_unknown() -> None:
    with pytest.raises(MalformedEventError, match=r"^event: \.Records\[0\]\.kinesis is missing"):
        parse_object_created({"Records": [{"eventSource": "aws:kinesis"}]})


def test_a_list_is_not_an_event() -> None:
    with pytest.raises(UnknownEventError, match="expected a JSON object, got list"):
        parse_object_created([1, 2])  # type: ignore[arg-type]
