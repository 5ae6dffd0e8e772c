"""CloudWatch alarm notifications for tests, in the layout an alarm's SNS action publishes, and the
SNS → Lambda envelope that carries one to the notifier."""

from __future__ import annotations

import json
from typing import Any

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


def sns_event(
    message: dict[str, Any],
    topic: str = "arn:aws:sns:ap-northeast-1:123456789012:enphoto-prod-alarms",
) -> dict[str, Any]:
    """``message`` as SNS delivers it to a subscribed function."""
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
                    "Subject": f'{message["NewStateValue"]}: "{message["AlarmName"]}" in Asia Pacific (Tokyo)',
                    "Message": json.dumps(message),
                    "Timestamp": "2026-12-07T01:02:03.500Z",
                    "SignatureVersion": "1",
                    "MessageAttributes": {},
                },
            }
        ]
    }
