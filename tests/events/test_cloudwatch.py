"""CloudWatch alarm notifications, as an alarm's SNS action publishes them."""

from __future__ import annotations

import datetime

import pytest

from bakusoku.events import CloudWatchAlarm, MalformedEventError, SNSEvent
from tests.events.alarms import notification, sns_event


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
