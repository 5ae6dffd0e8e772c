"""Typed readers over every recorded shape: S3, EventBridge, CloudTrail, SNS, SQS, test event."""

from __future__ import annotations

import datetime

import pytest

from bakusoku.events import (
    CloudTrailS3Event,
    EventBridgeEvent,
    ExecutionStatusChange,
    MalformedEventError,
    S3EventBridgeEvent,
    S3Notification,
    S3TestEvent,
    ScheduledEvent,
    SNSEvent,
    SQSEvent,
)
from tests.events.conftest import SAMPLES, load_sample, sample_names

UTC = datetime.UTC


def test_every_sample_is_documented_in_the_readme() -> None:
    readme = (SAMPLES / "README.md").read_text(encoding="utf-8")

    assert sample_names(), "no samples found"
    for name in sample_names():
        assert f"`{name}.json`" in readme


def test_s3_notification_record() -> None:
    event = load_sample("s3_put")
    assert S3Notification.matches(event)

    (record,) = S3Notification(event).records

    assert record.event_name == "ObjectCreated:Put"
    assert record.is_object_created
    assert record.event_source == "aws:s3"
    assert record.aws_region == "us-west-2"
    assert record.event_time == datetime.datetime(1970, 1, 1, tzinfo=UTC)
    assert record.bucket_name == "mybucket"
    assert record.object_key == record.raw_key == "HappyFace.jpg"
    assert record.size == 1024
    assert record.etag == "d41d8cd98f00b204e9800998ecf8427e"
    assert record.version_id == "096fKKXTRTtl3on89fVO.nfljtsv6qko"
    assert record.sequencer == "0055AED6DCD90281E5"
    assert record.request_id == "C3D13FE58DE4C810"
    assert record.source_ip_address == "127.0.0.1"


@pytest.mark.parametrize(
    ("sent", "key"),
    [
        ("red+flower.jpg", "red flower.jpg"),  # the example in S3's documentation
        ("photos/2026/sports+day/IMG_0001.JPG", "photos/2026/sports day/IMG_0001.JPG"),
        ("c%2B%2B/notes%281%29.txt", "c++/notes(1).txt"),
        ("%E9%81%8B%E5%8B%95%E4%BC%9A/%E5%86%99%E7%9C%9F.jpg", "運動会/写真.jpg"),
    ],
)
def test_s3_notification_keys_are_url_decoded(sent: str, key: str) -> None:
    event = load_sample("s3_put")
    event["Records"][0]["s3"]["object"]["key"] = sent

    (record,) = S3Notification(event).records

    assert record.raw_key == sent
    assert record.object_key == key


def test_s3_test_event() -> None:
    event = load_sample("s3_test_event")

    assert S3TestEvent.matches(event)
    test_event = S3TestEvent(event)
    assert test_event.bucket == "bucketname"
    assert test_event.request_id == "5582815E1AEA5ADF"
    assert test_event.time == datetime.datetime(2014, 10, 13, 15, 57, 2, 89000, tzinfo=UTC)


def test_eventbridge_object_created() -> None:
    event = load_sample("eventbridge_object_created")
    assert S3EventBridgeEvent.matches(event)
    assert not CloudTrailS3Event.matches(event)

    created = S3EventBridgeEvent(event)

    assert created.detail_type == "Object Created"
    assert created.is_object_created
    assert created.source == "aws.s3"
    assert created.account == "111122223333"
    assert created.region == "ca-central-1"
    assert created.time == datetime.datetime(2021, 11, 12, tzinfo=UTC)
    assert created.resources == ["arn:aws:s3:::DOC-EXAMPLE-BUCKET1"]
    assert created.bucket_name == "DOC-EXAMPLE-BUCKET1"
    assert created.object_key == "example-key"
    assert created.size == 5
    assert created.etag == "b1946ac92492d2347c6235b4d2611184"
    assert created.version_id == "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e"
    assert created.sequencer == "617f08299329d189"
    assert created.reason == "PutObject"
    assert created.request_id == "N4N7GDK58NMKJ12R"


def test_eventbridge_object_deleted_has_no_size() -> None:
    deleted = S3EventBridgeEvent(load_sample("eventbridge_object_deleted"))

    assert not deleted.is_object_created
    assert deleted.size is None
    assert deleted.reason == "DeleteObject"


def test_cloudtrail_put_object() -> None:
    event = load_sample("cloudtrail_put_object")
    assert CloudTrailS3Event.matches(event)
    assert not S3EventBridgeEvent.matches(event)

    call = CloudTrailS3Event(event)

    assert call.detail_type == "AWS API Call via CloudTrail"
    assert call.event_name == "PutObject"
    assert call.event_source == "s3.amazonaws.com"
    assert call.is_object_created
    assert call.error_code is None
    assert call.bucket_name == "BUCKETNAME"
    assert call.object_key == "OBJECTKEY"
    assert call.aws_region == "eu-west-1"
    assert call.event_time == datetime.datetime(2020, 5, 22, 8, 38, 5, tzinfo=UTC)
    assert call.request_id == "CF9748DFDC5FB0A4"
    assert call.size == 197  # bytes received
    assert call.version_id is None


def test_cloudtrail_keys_are_raw() -> None:
    event = load_sample("cloudtrail_put_object")
    event["detail"]["requestParameters"]["key"] = "photos/sports day/a+b.jpg"

    assert CloudTrailS3Event(event).object_key == "photos/sports day/a+b.jpg"


def test_sns_envelope() -> None:
    event = load_sample("sns_notification")
    assert SNSEvent.matches(event)

    (record,) = SNSEvent(event).records

    assert record.event_subscription_arn is not None
    message = record.sns
    assert message.message == "Hello from SNS!"
    assert message.subject == "TestInvoke"
    assert message.type == "Notification"
    assert message.topic_arn == "arn:aws:sns:us-east-2:123456789012:sns-lambda"
    assert message.message_id == "95df01b4-ee98-5cb9-9903-4c221d41eb5e"
    assert message.timestamp == datetime.datetime(2019, 1, 2, 12, 45, 7, tzinfo=UTC)
    with pytest.raises(MalformedEventError, match="Message is not JSON: 'Hello from SNS!'"):
        message.json_message()


def test_sns_message_carrying_an_s3_notification() -> None:
    (record,) = SNSEvent(load_sample("s3_sns")).records

    assert record.sns.subject == "Amazon S3 Notification"
    assert S3Notification.matches(record.sns.json_message())


def test_sqs_envelope() -> None:
    event = load_sample("sqs_messages")
    assert SQSEvent.matches(event)

    records = SQSEvent(event).records

    assert [r.message_id for r in records] == [
        "059f36b4-87a3-44ab-83d2-661975830a7d",
        "2e1424d4-f796-459a-8184-9c92662be6da",
    ]
    assert records[0].body == "test"
    assert records[0].event_source_arn == "arn:aws:sqs:us-east-2:123456789012:my-queue"
    assert records[0].aws_region == "us-east-2"
    assert records[0].approximate_receive_count == 1
    assert records[0].sns_notification() is None


def test_sqs_body_is_an_sns_notification_when_raw_delivery_is_off() -> None:
    (record,) = SQSEvent(load_sample("s3_sns_sqs")).records

    notification = record.sns_notification()

    assert notification is not None
    assert notification.subject == "Amazon S3 Notification"
    assert notification.topic_arn == "arn:aws:sns:us-west-2:123456789012:photo-uploads"
    assert S3Notification.matches(notification.json_message())


def test_sqs_body_is_the_message_itself_when_raw_delivery_is_on() -> None:
    (record,) = SQSEvent(load_sample("s3_sns_sqs_raw")).records

    assert record.sns_notification() is None
    assert S3Notification.matches(record.json_body())


def test_views_are_read_only_and_report_missing_fields() -> None:
    event = load_sample("s3_put")
    notification = S3Notification(event)

    with pytest.raises(TypeError):
        notification.raw["Records"] = []  # type: ignore[index]
    with pytest.raises(AttributeError):
        notification.records = []  # type: ignore[misc]

    del event["Records"][0]["s3"]["bucket"]["name"]
    with pytest.raises(
        MalformedEventError, match=r"^S3 notification: \.Records\[0\]\.s3\.bucket\.name is missing$"
    ):
        _ = S3Notification(event).records[0].bucket_name

    event["Records"][0]["s3"]["object"]["size"] = "1024"
    with pytest.raises(
        MalformedEventError, match=r"\.Records\[0\]\.s3\.object\.size is str, expected an integer$"
    ):
        _ = S3Notification(event).records[0].size


def test_step_functions_execution_status_change() -> None:
    event = load_sample("stepfunctions_execution_failed")
    assert ExecutionStatusChange.matches(event)
    assert not S3EventBridgeEvent.matches(event) and not ScheduledEvent.matches(event)

    change = ExecutionStatusChange(event)

    assert change.status == "FAILED"
    assert change.name == "execution-name"
    assert change.execution_arn == (
        "arn:aws:states:us-east-1:012345678912:execution:state-machine-name:execution-name"
    )
    assert change.state_machine_arn == (
        "arn:aws:states:us-east-1:012345678912:stateMachine:state-machine"
    )
    assert change.region == "us-east-1"
    # Milliseconds since the epoch, unlike the envelope's ISO time.
    assert change.start_date == datetime.datetime(2019, 2, 26, 23, 52, 26, 847000, tzinfo=UTC)
    assert change.stop_date == datetime.datetime(2019, 2, 26, 23, 52, 31, 881000, tzinfo=UTC)
    assert change.input == {}  # a JSON document carried as a string
    # The documented example has no error, cause or redrive count: none, and no redrive yet.
    assert (change.error, change.cause, change.redrive_count) == (None, None, 0)


def test_execution_status_change_of_a_failed_redriven_execution() -> None:
    event = load_sample("stepfunctions_execution_failed")
    event["detail"] |= {
        "input": '{"Records": [{"s3": {"object": {"key": "uploads/a/b.jpg"}}}]}',
        "error": "image.corrupt",
        "cause": "the JPEG stream ends early",
        "redriveCount": 2,
    }

    change = ExecutionStatusChange(event)

    assert change.input == {"Records": [{"s3": {"object": {"key": "uploads/a/b.jpg"}}}]}
    assert change.error == "image.corrupt"
    assert change.cause == "the JPEG stream ends early"
    assert change.redrive_count == 2


def test_execution_status_change_while_running_and_with_its_input_left_out() -> None:
    event = load_sample("stepfunctions_execution_failed")
    event["detail"] |= {"status": "RUNNING", "stopDate": None, "inputDetails": {"included": False}}

    change = ExecutionStatusChange(event)

    assert change.stop_date is None
    assert not change.input_included and change.input is None


@pytest.mark.parametrize(
    ("field", "value", "read", "message"),
    [
        (
            "startDate",
            "2019-02-26T19:42:21Z",
            "start_date",
            r"\.detail\.startDate is str, expected an integer$",
        ),
        ("input", "{not json", "input", r"\.detail\.input is not JSON"),
        ("executionArn", None, "execution_arn", r"\.detail\.executionArn is missing$"),
    ],
)
def test_execution_status_change_with_a_bad_field_says_which(
    field: str, value: object, read: str, message: str
) -> None:
    event = load_sample("stepfunctions_execution_failed")
    event["detail"][field] = value
    change = ExecutionStatusChange(event)

    with pytest.raises(MalformedEventError, match=message):
        getattr(change, read)


def test_execution_status_change_numbers_written_as_floats() -> None:
    event = load_sample("stepfunctions_execution_failed")
    exact = ExecutionStatusChange(load_sample("stepfunctions_execution_failed"))
    event["detail"] |= {
        "startDate": float(event["detail"]["startDate"]),
        "stopDate": float(event["detail"]["stopDate"]),
        "redriveCount": 2.0,
    }

    change = ExecutionStatusChange(event)

    assert (change.start_date, change.stop_date) == (exact.start_date, exact.stop_date)
    assert change.redrive_count == 2 and type(change.redrive_count) is int


@pytest.mark.parametrize("millis", [1551224926847.5, True])
def test_execution_status_change_date_that_is_no_whole_number_is_refused(millis: object) -> None:
    event = load_sample("stepfunctions_execution_failed")
    event["detail"]["startDate"] = millis

    with pytest.raises(
        MalformedEventError, match=r"\.detail\.startDate is .*, expected an integer$"
    ):
        _ = ExecutionStatusChange(event).start_date


def test_views_read_only_the_fields_asked_for() -> None:
    event = load_sample("s3_put")
    event["Records"][0] |= {"eventTime": 17, "awsRegion": ["x"], "unexpected": {"a": 1.5}}
    event["Records"][0]["s3"]["object"]["size"] = "big"

    (record,) = S3Notification(event).records

    assert (record.bucket_name, record.object_key) == ("mybucket", "HappyFace.jpg")
    with pytest.raises(MalformedEventError, match=r"\.Records\[0\]\.eventTime is int 17"):
        _ = record.event_time


def test_a_record_that_is_not_an_object_is_named() -> None:
    event = load_sample("s3_put")
    event["Records"].append("ObjectCreated:Put")

    with pytest.raises(MalformedEventError, match=r"\.Records\[1\] is str, expected an object"):
        _ = S3Notification(event).records


def test_sqs_receive_count_that_is_no_count_is_refused() -> None:
    event = load_sample("sqs_messages")
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "often"

    with pytest.raises(
        MalformedEventError, match=r"\.Records\[0\]\.attributes\.ApproximateReceiveCount is 'often'"
    ):
        _ = SQSEvent(event).records[0].approximate_receive_count


def test_other_eventbridge_events_are_not_execution_status_changes() -> None:
    for name in ("eventbridge_object_created", "eventbridge_scheduled", "cloudtrail_put_object"):
        event = load_sample(name)
        assert EventBridgeEvent.matches(event)
        assert not ExecutionStatusChange.matches(event)
