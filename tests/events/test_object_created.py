"""object_created_records over every route an upload's event can take, and execution names."""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from bakusoku.events import (
    MalformedEventError,
    ObjectCreated,
    UnconfirmedSubscriptionError,
    UnknownEventError,
    execution_name,
    object_created_records,
)
from tests.events.conftest import load_sample
from tests.events.documents import in_sns, in_sns_then_sqs, in_sqs

HAPPY_FACE = ObjectCreated(
    bucket="mybucket",
    key="HappyFace.jpg",
    size=1024,
    etag="d41d8cd98f00b204e9800998ecf8427e",
    sequencer="0055AED6DCD90281E5",
    event_time=datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC),
    region="us-west-2",
    source_shape="s3",
    version_id="096fKKXTRTtl3on89fVO.nfljtsv6qko",
)


@pytest.mark.parametrize(
    ("sample", "route"),
    [
        ("s3_put", "s3"),
        ("s3_sns", "sns/s3"),
        ("s3_sqs", "sqs/s3"),
        ("s3_sns_sqs", "sqs/sns/s3"),
        ("s3_sns_sqs_raw", "sqs/s3"),  # raw delivery: SQS holds the S3 notification itself
    ],
)
def test_s3_notification_through_every_envelope(sample: str, route: str) -> None:
    records = object_created_records(load_sample(sample))

    assert records == [_with(HAPPY_FACE, source_shape=route)]


def test_eventbridge_object_created() -> None:
    (record,) = object_created_records(load_sample("eventbridge_object_created"))

    assert record == ObjectCreated(
        bucket="DOC-EXAMPLE-BUCKET1",
        key="example-key",
        size=5,
        etag="b1946ac92492d2347c6235b4d2611184",
        sequencer="617f08299329d189",
        event_time=datetime.datetime(2021, 11, 12, tzinfo=datetime.UTC),
        region="ca-central-1",
        source_shape="eventbridge",
        version_id="IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
    )


def test_eventbridge_through_sns_and_sqs() -> None:
    (direct,) = object_created_records(load_sample("eventbridge_object_created"))

    (nested,) = object_created_records(load_sample("s3_eventbridge_sns_sqs"))

    assert nested == _with(direct, source_shape="sqs/sns/eventbridge")


def test_cloudtrail_put_object() -> None:
    (record,) = object_created_records(load_sample("cloudtrail_put_object"))

    assert record == ObjectCreated(
        bucket="BUCKETNAME",
        key="OBJECTKEY",
        size=197,
        etag=None,
        sequencer=None,
        event_time=datetime.datetime(2020, 5, 22, 8, 38, 5, tzinfo=datetime.UTC),
        region="eu-west-1",
        source_shape="cloudtrail",
    )


def test_cloudtrail_size_written_as_a_float_is_read_as_an_integer() -> None:
    event = load_sample("cloudtrail_put_object")
    event["detail"]["additionalEventData"]["bytesTransferredIn"] = 5242880.0

    (record,) = object_created_records(event)

    assert record.size == 5242880 and type(record.size) is int


@pytest.mark.parametrize("size", [5242880.5, "5242880", True, -1.5, [1]])
def test_cloudtrail_size_that_is_no_integer_leaves_the_size_unknown(size: object) -> None:
    event = load_sample("cloudtrail_put_object")
    event["detail"]["additionalEventData"]["bytesTransferredIn"] = size

    (record,) = object_created_records(event)

    assert record.size is None
    assert (record.bucket, record.key) == ("BUCKETNAME", "OBJECTKEY")


def test_a_mistyped_error_code_refuses_the_cloudtrail_call() -> None:
    # Whether the call failed decides whether an object exists: that is not guessed.
    event = load_sample("cloudtrail_put_object")
    event["detail"]["errorCode"] = 403

    with pytest.raises(MalformedEventError, match=r"^event: \.detail\.errorCode is int 403"):
        object_created_records(event)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("sequencer", "not-hex", r"\.sequencer is str, expected hexadecimal text$"),
        ("key", "", r"\.key is str, expected non-empty text$"),
        ("eTag", 12345, r"\.eTag is int 12345, expected text$"),
    ],
)
def test_needed_object_fields_must_be_what_the_pipeline_uses(
    field: str, value: object, message: str
) -> None:
    event = load_sample("s3_sqs")
    notification = json.loads(event["Records"][0]["body"])
    notification["Records"][0]["s3"]["object"][field] = value
    event["Records"][0]["body"] = json.dumps(notification)

    with pytest.raises(
        MalformedEventError,
        match=r"^sqs: \.Records\[0\]\.body \| fromjson \| "
        r"\.Records\[0\]\.s3\.object" + message,
    ):
        object_created_records(event)


@pytest.mark.parametrize(
    ("sample", "holder", "message"),
    [
        ("s3_put", ("Records", 0, "s3"), r"^event: \.Records\[0\]\.s3 is missing$"),
        (
            "eventbridge_object_created",
            ("detail", "bucket"),
            r"^event: \.detail\.bucket is missing$",
        ),
        (
            "cloudtrail_put_object",
            ("detail", "requestParameters"),
            r"^event: \.detail\.requestParameters is missing$",
        ),
    ],
)
def test_an_object_holding_needed_fields_missing_is_named(
    sample: str, holder: tuple[str | int, ...], message: str
) -> None:
    event = load_sample(sample)
    parent: Any = event
    for step in holder[:-1]:
        parent = parent[step]
    del parent[holder[-1]]

    with pytest.raises(MalformedEventError, match=message):
        object_created_records(event)


@pytest.mark.parametrize(
    ("wrap", "where"),
    [
        (lambda event: event, "event: "),
        (in_sns, r"sns: \.Records\[0\]\.Sns\.Message \| fromjson \| "),
        (in_sqs, r"sqs: \.Records\[0\]\.body \| fromjson \| "),
        (in_sns_then_sqs, r"sqs/sns: .* \| \.Message \| fromjson \| "),
    ],
    ids=["alone", "sns", "sqs", "sns-sqs"],
)
def test_an_s3_eventbridge_event_without_its_detail_type_is_refused_naming_it(
    wrap: Callable[[dict[str, Any]], dict[str, Any]], where: str
) -> None:
    """Its source and detail say it is S3's, through EventBridge: the field it lacks is named."""
    for sample in ("eventbridge_object_created", "cloudtrail_put_object"):
        event = load_sample(sample)
        del event["detail-type"]

        with pytest.raises(MalformedEventError, match=rf'^{where}\.\["detail-type"\] is missing$'):
            object_created_records(wrap(event))


def test_an_event_of_s3_without_detail_type_or_detail_is_not_recognised() -> None:
    event = load_sample("eventbridge_object_created")
    del event["detail-type"], event["detail"]

    with pytest.raises(UnknownEventError, match=r"source='aws\.s3'"):
        object_created_records(event)


def test_a_holder_of_another_type_is_named_with_what_it_was() -> None:
    event = load_sample("s3_put")
    event["Records"][0]["s3"]["object"] = "HappyFace.jpg"

    with pytest.raises(
        MalformedEventError, match=r"^event: \.Records\[0\]\.s3\.object is str, expected an object$"
    ):
        object_created_records(event)


def test_a_removed_record_is_not_read_beyond_its_name() -> None:
    event = load_sample("s3_put")
    removed = json.loads(json.dumps(event["Records"][0]))
    removed["eventName"] = "ObjectRemoved:Delete"
    del removed["s3"]["object"]["key"]
    event["Records"].append(removed)

    assert object_created_records(event) == [HAPPY_FACE]


def test_keys_decoded_for_s3_and_raw_for_cloudtrail() -> None:
    s3 = load_sample("s3_sns_sqs")
    body = json.loads(s3["Records"][0]["body"])
    message = json.loads(body["Message"])
    message["Records"][0]["s3"]["object"]["key"] = "uploads/sports+day/a%2Bb.jpg"
    body["Message"] = json.dumps(message)
    s3["Records"][0]["body"] = json.dumps(body)
    cloudtrail = load_sample("cloudtrail_put_object")
    cloudtrail["detail"]["requestParameters"]["key"] = "uploads/sports day/a+b.jpg"

    (from_s3,) = object_created_records(s3)
    (from_cloudtrail,) = object_created_records(cloudtrail)

    assert from_s3.key == from_cloudtrail.key == "uploads/sports day/a+b.jpg"


@pytest.mark.parametrize(
    ("sample", "path"),
    [
        ("s3_put", ".Records[0].s3.object.key"),
        ("s3_sns", ".Records[0].Sns.Message | fromjson | .Records[0].s3.object.key"),
        ("eventbridge_object_created", ".detail.object.key"),
    ],
)
def test_a_key_whose_escapes_are_not_utf8_is_refused_not_read_as_another_key(
    sample: str, path: str
) -> None:
    """S3 keys are UTF-8 and S3 escapes their bytes: an escape of no UTF-8 character would be
    read as U+FFFD, a key that was never uploaded, and fail later as a missing object."""
    event = load_sample(sample)
    raw = "uploads/caf%C3+%281%29.jpg"  # the second byte of "é" is missing
    if sample == "s3_sns":
        message = json.loads(event["Records"][0]["Sns"]["Message"])
        message["Records"][0]["s3"]["object"]["key"] = raw
        event["Records"][0]["Sns"]["Message"] = json.dumps(message)
    elif sample == "s3_put":
        event["Records"][0]["s3"]["object"]["key"] = raw
    else:
        event["detail"]["object"]["key"] = raw

    with pytest.raises(MalformedEventError) as refused:
        object_created_records(event)

    assert f"{path} is not URL-encoded UTF-8: {raw!r}" in str(refused.value)


@pytest.mark.parametrize(
    "sample", ["s3_test_event", "s3_test_event_sqs", "eventbridge_object_deleted"]
)
def test_known_events_that_create_nothing(sample: str) -> None:
    assert object_created_records(load_sample(sample)) == []


def test_only_created_records_are_kept() -> None:
    event = load_sample("s3_put")
    removed = json.loads(json.dumps(event["Records"][0]))
    removed["eventName"] = "ObjectRemoved:Delete"
    event["Records"].insert(0, removed)

    assert object_created_records(event) == [HAPPY_FACE]


def test_failed_put_object_call_creates_nothing() -> None:
    event = load_sample("cloudtrail_put_object")
    event["detail"]["errorCode"] = "AccessDenied"

    assert object_created_records(event) == []


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"hello": "world"}, r"event: unrecognised event shape with keys \['hello'\]"),
        (
            {"source": "aws.ec2", "detail-type": "EC2 Instance State-change", "detail": {}},
            r"source='aws.ec2'",
        ),
        (
            {"Records": [{"eventSource": "aws:ses"}]},
            r"Records\[0\].eventSource='aws:ses'",
        ),
    ],
)
def test_unknown_shapes_name_what_was_seen(event: dict[str, object], message: str) -> None:
    with pytest.raises(UnknownEventError, match=message) as caught:
        object_created_records(event)

    assert caught.value.code == "events.unknown_shape"


def test_unknown_shape_inside_an_envelope_names_the_route() -> None:
    event = load_sample("sqs_messages")
    event["Records"][0]["body"] = json.dumps({"orderId": 7})

    with pytest.raises(
        UnknownEventError,
        match=r"^sqs at \.Records\[0\]\.body \| fromjson: unrecognised event shape",
    ):
        object_created_records(event)


def _confirmation(kind: str) -> dict[str, Any]:
    """SNS's confirmation message, as a queue subscribed from another account receives it."""
    topic = "arn:aws:sns:ap-northeast-1:123456789012:photos-uploads"
    return in_sqs(
        {
            "Type": kind,
            "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
            "Token": "2336412f37f" + "0" * 64,
            "TopicArn": topic,
            "Message": f"You have chosen to subscribe to the topic {topic}.",
            "SubscribeURL": "https://sns.ap-northeast-1.amazonaws.com/?Action=ConfirmSubscription",
            "Timestamp": "2026-12-07T10:00:00.000Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertURL": "https://sns.ap-northeast-1.amazonaws.com/SimpleNotificationService.pem",
        }
    )


def test_a_subscription_to_confirm_is_refused_saying_how_to_confirm_it() -> None:
    with pytest.raises(UnconfirmedSubscriptionError) as caught:
        object_created_records(_confirmation("SubscriptionConfirmation"))

    message = str(caught.value)
    assert message.startswith("sqs at .Records[0].body | fromjson: SNS asks to confirm")
    assert "confirm-subscription --topic-arn arn:aws:sns:ap-northeast-1:123456789012:" in message
    assert caught.value.code == "events.unconfirmed_subscription"


def test_an_unsubscribe_confirmation_creates_nothing() -> None:
    assert object_created_records(_confirmation("UnsubscribeConfirmation")) == []


def test_plain_text_message_is_reported() -> None:
    with pytest.raises(
        MalformedEventError,
        match=r"^event: \.Records\[0\]\.Sns\.Message is not JSON: 'Hello from SNS!'",
    ):
        object_created_records(load_sample("sns_notification"))


def test_not_an_object() -> None:
    with pytest.raises(UnknownEventError, match="expected a JSON object, got list"):
        object_created_records([1, 2])  # type: ignore[arg-type]


def test_execution_name_is_stable_valid_and_readable() -> None:
    name = execution_name("photos", "uploads/2026/sports day/IMG_0001.JPG", "abc123")

    assert name == execution_name("photos", "uploads/2026/sports day/IMG_0001.JPG", "abc123")
    assert name == execution_name("photos", "uploads/2026/sports day/IMG_0001.JPG", '"abc123"')
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,80}", name)
    assert name.startswith("IMG_0001-JPG-")


def test_duplicate_deliveries_share_one_name_across_routes() -> None:
    names = {
        execution_name(r.bucket, r.key, r.etag)
        for sample in ("s3_put", "s3_sns", "s3_sns_sqs", "s3_sns_sqs_raw")
        for r in object_created_records(load_sample(sample))
    }

    assert len(names) == 1


@pytest.mark.parametrize(
    ("other_bucket", "other_key", "other_etag"),
    [
        ("photos2", "a.jpg", "e1"),  # another bucket
        ("photos", "b.jpg", "e1"),  # another key
        ("photos", "a.jpg", "e2"),  # the same key uploaded again
        ("photos", "a.jpg", None),
    ],
)
def test_different_objects_get_different_names(
    other_bucket: str, other_key: str, other_etag: str | None
) -> None:
    assert execution_name("photos", "a.jpg", "e1") != execution_name(
        other_bucket, other_key, other_etag
    )


def test_separator_cannot_be_forged() -> None:
    assert execution_name("a", "b\0c", "") != execution_name("a\0b", "c", "")
    assert execution_name("ab", "c", "d") != execution_name("a", "bc", "d")


@pytest.mark.parametrize(
    "key",
    [
        "写真.jpg",
        "uploads/",
        "x" * 1024,
        "a b/c (1) [copy] {final}.jpeg",
        "---.jpg",
    ],
)
def test_any_key_gives_a_valid_name(key: str) -> None:
    name = execution_name("bucket", key, "etag")

    assert re.fullmatch(r"[A-Za-z0-9_-]{1,80}", name)
    assert not name.startswith("-")


def _with(record: ObjectCreated, **changes: object) -> ObjectCreated:
    values = {**record.__dict__, **changes}
    return ObjectCreated(**values)
