"""CloudWatch alarm notifications, as an alarm's SNS action publishes them."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest

from bakusoku.events import CloudWatchAlarm, MalformedEventError, SNSEvent

ALARM_ARN = "arn:aws:cloudwatch:ap-northeast-1:123456789012:alarm:enphoto-prod-photo-failed"


def notification(**changes: Any) -> dict[str, Any]:
    """An alarm's notification in CloudWatch's layout (times with a colon-less offset)."""
    document: dict[str, Any] = {
        "AlarmName": "enphoto-prod-photo-failed",
        "AlarmDescription": "Photos failed: read the failure alerts",
        "AWSAccountId": "123456789012",
        "NewStateValue": "ALARM",
        "NewStateReason": "Threshold Crossed: 1 out of the last 1 datapoints [7.0] was greater "
        "than or equal to the threshold (5.0).",
        "StateChangeTime": "2026-12-07T01:02:03.456+0000",
        "Region": "Asia Pacific (Tokyo)",
        "AlarmArn": ALARM_ARN,
        "OldStateValue": "OK",
        "Trigger": {
            "MetricName": "ExecutionsFailed",
            "Namespace": "AWS/States",
            "Statistic": "SUM",
            "Unit": None,
            "Dimensions": [{"value": "arn:aws:states:...", "name": "StateMachineArn"}],
            "Period": 300,
            "EvaluationPeriods": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "Threshold": 5.0,
        },
    }
    return {k: v for k, v in (document | changes).items() if v is not ...}


def sns_event(message: dict[str, Any]) -> dict[str, Any]:
    topic = "arn:aws:sns:ap-northeast-1:123456789012:enphoto-prod-alarms"
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic}:0b6941c4-f150-4bc5-8b8d-3f1f9c5e6b1a",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": "4b9f1d6e-7f3c-5a52-9e2e-0c7d9a1b2c3d",
                    "TopicArn": topic,
                    "Subject": 'ALARM: "enphoto-prod-photo-failed" in Asia Pacific (Tokyo)',
                    "Message": json.dumps(message),
                    "Timestamp": "2026-12-07T01:02:03.500Z",
                    "SignatureVersion": "1",
                    "MessageAttributes": {},
                },
            }
        ]
    }


def test_an_alarm_read_through_its_sns_envelope() -> None:
    event = sns_event(notification())
    assert SNSEvent.matches(event)
    embedded = SNSEvent(event).records[0].sns.embedded_message()
    alarm = CloudWatchAlarm(embedded.document, path=embedded.path)
    assert CloudWatchAlarm.matches(embedded.document)
    assert (alarm.name, alarm.new_state, alarm.old_state) == (
        "enphoto-prod-photo-failed",
        "ALARM",
        "OK",
    )
    assert alarm.region == "ap-northeast-1"  # from the ARN, not the long name
    assert alarm.changed_at == datetime.datetime(2026, 12, 7, 1, 2, 3, 456000, tzinfo=datetime.UTC)
    assert alarm.metric == "AWS/States/ExecutionsFailed"
    assert alarm.reason.startswith("Threshold Crossed")


def test_missing_description_arn_and_trigger_are_none() -> None:
    alarm = CloudWatchAlarm(notification(AlarmDescription=None, AlarmArn=..., Trigger=...))
    assert (alarm.description, alarm.arn, alarm.region, alarm.metric) == (None, None, None, None)


def test_a_refusal_names_the_field_inside_the_message() -> None:
    event = sns_event(notification(StateChangeTime="yesterday"))
    embedded = SNSEvent(event).records[0].sns.embedded_message()
    alarm = CloudWatchAlarm(embedded.document, path=embedded.path)
    with pytest.raises(MalformedEventError, match=r"\.Message \| fromjson \| \.StateChangeTime"):
        _ = alarm.changed_at
    with pytest.raises(MalformedEventError, match="AlarmArn"):
        _ = CloudWatchAlarm(notification(AlarmArn="arn:aws:sns:x")).region


def test_other_documents_are_not_alarms() -> None:
    assert not CloudWatchAlarm.matches({"AlarmName": "x"})
    assert not CloudWatchAlarm.matches({"detail-type": "Scheduled Event"})
