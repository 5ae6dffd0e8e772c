"""One alert for every backend: which ends are alerted, what the message says, and that the embedded
deployment and the AWS notifier send the same message for the same failed execution."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from bakusoku.aws import notifier
from bakusoku.config import Settings
from bakusoku.domain.catalogue import CATALOGUE
from bakusoku.events import ExecutionStatusChange, MalformedEventError
from bakusoku.ops.messages import (
    ALERTED_STATUSES,
    MAX_CAUSE,
    AlarmChange,
    FailedExecution,
    alarm_link,
    execution_link,
    failed_execution,
    slack_alarm,
    slack_failure,
    webhook_failure,
)
from bakusoku.ops.service import Operations
from bakusoku.workflow.engine import (
    RUNNING,
    STATUSES,
    SUCCEEDED,
    ExecutionDescription,
    WorkflowEngine,
)
from tests.events.alarms import notification, sns_event
from tests.events.conftest import load_sample
from tests.ops.conftest import (
    ENDED,
    WebhookStandIn,
    photo_key,
    s3_event,
)

ARN = "arn:aws:states:us-east-1:000000000000:execution:photo-pipeline:exec-1"
STOPPED = datetime(2026, 11, 23, 20, 15, 0, tzinfo=UTC)


def described(status: str = "FAILED", **changes: Any) -> ExecutionDescription:
    """An ended execution of the pipeline, as DescribeExecution describes it."""
    values: dict[str, Any] = {
        "name": "exec-1",
        "execution_arn": ARN,
        "state_machine_arn": "arn:aws:states:us-east-1:000000000000:stateMachine:photo-pipeline",
        "state_machine_name": "photo-pipeline",
        "status": status,
        "input": s3_event(photo_key("sports-day", "2f1c0b1e-8d44-4c5e-9a43-2d1f0e6b7a10")),
        "output": None,
        "error": "image.corrupt",
        "cause": "the JPEG stream ends early",
        "start_date": STOPPED - timedelta(seconds=3),
        "stop_date": STOPPED,
    }
    return ExecutionDescription(**(values | changes))


def alert_of(description: ExecutionDescription, **options: Any) -> FailedExecution:
    return failed_execution(
        description,
        None,
        service="school-photos",
        stage="prod",
        upload_prefix="uploads/",
        link="https://photos.example.test/v1/executions/exec-1",
        **options,
    )


def texts(message: dict[str, Any]) -> str:
    """Every text of a Block Kit message, joined, to look for what a reader would see."""
    found: list[str] = [message["text"]]

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "text" and isinstance(item, str):
                    found.append(item)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(message["blocks"])
    return "\n".join(found)


def test_every_end_but_success_is_alerted() -> None:
    assert set(ALERTED_STATUSES) == set(STATUSES) - {RUNNING, SUCCEEDED}


def test_the_message_says_what_the_catalogue_says_about_the_code() -> None:
    message = slack_failure(alert_of(described()))

    entry = CATALOGUE["image.corrupt"]
    shown = texts(message)
    assert entry.meaning in shown and entry.action in shown
    assert message["blocks"][0]["text"]["text"] == "Photo failed: image.corrupt"
    assert message["text"] == (
        "[school-photos/prod] photo 2f1c0b1e-8d44-4c5e-9a43-2d1f0e6b7a10 failed: image.corrupt"
    )
    fields = {
        f["text"].split("\n")[0].strip("*"): f["text"].split("\n")[1]
        for f in message["blocks"][1]["fields"]
    }
    assert fields["Album"] == "sports-day"
    assert fields["Photo"] == "`2f1c0b1e-8d44-4c5e-9a43-2d1f0e6b7a10`"
    assert fields["Failed state"] == "-"  # no history given
    assert fields["Status"] == "FAILED"
    assert "exec-1" in shown and ARN in shown and "2026-11-23T20:15:00Z" in shown
    assert message["blocks"][-1]["elements"][0]["url"] == (
        "https://photos.example.test/v1/executions/exec-1"
    )


def test_an_error_outside_the_catalogue_reads_as_internal() -> None:
    message = slack_failure(alert_of(described(error="States.Runtime", cause="boom")))

    assert message["blocks"][0]["text"]["text"] == "Photo failed: internal"
    assert CATALOGUE["internal"].action in texts(message)


@pytest.mark.parametrize(
    ("status", "header"),
    [("TIMED_OUT", "Photo timed out: "), ("ABORTED", "Photo was aborted: ")],
)
def test_timed_out_and_aborted_executions_say_so(status: str, header: str) -> None:
    message = slack_failure(alert_of(described(status)))

    assert message["blocks"][0]["text"]["text"].startswith(header)
    assert header.removeprefix("Photo ").removesuffix(": ") in message["text"]


def test_an_aborted_execution_without_an_error_still_names_its_cause() -> None:
    alert = alert_of(described("ABORTED", error=None, cause=None))

    assert alert.error_code is None
    assert "*Cause*\n-" in texts(slack_failure(alert))


def test_the_cause_is_redacted_and_cut() -> None:
    cause = "token s3cr3t " + "x" * (2 * MAX_CAUSE)

    alert = alert_of(described(cause=cause), redact=lambda text: text.replace("s3cr3t", "***"))

    assert alert.cause.startswith("token *** ") and len(alert.cause) == MAX_CAUSE


def test_the_payload_reads_back_also_from_rows_queued_before_the_arn() -> None:
    alert = alert_of(described())
    payload = json.loads(json.dumps(alert.to_payload()))  # as the outbox keeps it

    assert FailedExecution.from_payload(payload) == alert
    del payload["execution_arn"]
    assert FailedExecution.from_payload(payload).execution_arn == ""


def test_the_generic_webhook_gets_the_payload_with_an_iso_time() -> None:
    alert = alert_of(described())

    body = webhook_failure(alert)

    assert body["type"] == "execution.failed"
    assert body["at"] == "2026-11-23T20:15:00Z"
    assert {k: v for k, v in body.items() if k not in ("type", "at")} == {
        k: v for k, v in alert.to_payload().items() if k != "at"
    }


def test_the_link_opens_the_api_or_else_the_console() -> None:
    by_api = execution_link(
        "exec-1", region="us-east-1", execution_arn=ARN, api_url="https://photos.example.test/"
    )
    by_console = execution_link("exec-1", region="ap-northeast-1", execution_arn=ARN, api_url=None)

    assert by_api == "https://photos.example.test/v1/executions/exec-1"
    assert by_console.startswith("https://ap-northeast-1.console.aws.amazon.com/states/")
    assert by_console.endswith(ARN.replace(":", "%3A"))


# ---- the same message on both backends ---------------------------------------------------------


@pytest.fixture
def ops(db: sa.Engine, slack: WebhookStandIn) -> Iterator[Operations]:
    settings = Settings(
        service_name="school-photos",
        stage="prod",
        public_api_url="https://photos.example.test",
        slack_webhook_url=slack.url,
    )
    operations = Operations(settings, db, configure_logs=False)
    yield operations
    operations.stop()


def status_change(description: ExecutionDescription, region: str) -> dict[str, Any]:
    """The EventBridge event Step Functions sends when this execution ends (the documented
    sample, its detail filled in from the execution)."""
    event = load_sample("stepfunctions_execution_failed")
    assert description.stop_date is not None
    event["region"] = region
    event["resources"] = [description.execution_arn]
    event["detail"] |= {
        "executionArn": description.execution_arn,
        "stateMachineArn": description.state_machine_arn,
        "name": description.name,
        "status": description.status,
        "startDate": int(description.start_date.timestamp() * 1000),
        "stopDate": int(description.stop_date.timestamp() * 1000),
        "input": json.dumps(description.input),
        "error": description.error,
        "cause": description.cause,
        "redriveCount": description.redrive_count,
    }
    return event


@pytest.mark.integration
def test_embedded_alerts_and_the_aws_notifier_send_the_same_message(
    engine: WorkflowEngine, ops: Operations, slack: WebhookStandIn
) -> None:
    name = f"exec-{uuid.uuid4()}"
    engine.start_execution(
        "photo-pipeline", s3_event(photo_key("corrupt-day", str(uuid.uuid4()))), name=name
    )
    ENDED[id(engine)].wait(name)
    assert ops.alerts.deliver_due() == 1
    (embedded,) = slack.bodies()

    # The notifier reads the same execution's end from its EventBridge event, and its history
    # from Step Functions: here the engine, which answers GetExecutionHistory alike.
    change = ExecutionStatusChange(status_change(engine.describe_execution(name), engine.region))
    from_aws = notifier.alert_message(change, ops.settings, engine.get_execution_history)

    assert from_aws == embedded
    assert "Trim (after 1 attempt)" in texts(embedded)  # the history was read on both sides


# ---- alarms ---------------------------------------------------------------------------------


def test_an_alarm_reaches_the_channel_with_what_to_do_and_a_link() -> None:
    settings = Settings(service_name="enphoto", stage="prod", region="us-east-1")
    event = sns_event(notification())
    (message,) = notifier.alarm_messages(event, settings)
    assert message == slack_alarm(
        AlarmChange(
            service="enphoto",
            stage="prod",
            name="enphoto-prod-photo-failed",
            state="ALARM",
            reason=notification()["NewStateReason"],
            description="Photos failed: read the failure alerts",
            metric="AWS/States/ExecutionsFailed",
            link=alarm_link("enphoto-prod-photo-failed", region="ap-northeast-1"),
            at=datetime(2026, 12, 7, 1, 2, 3, 456000, tzinfo=UTC).timestamp(),
        )
    )
    text = texts(message)
    assert message["text"].startswith("[enphoto/prod] alarm enphoto-prod-photo-failed firing")
    assert "Photos failed: read the failure alerts" in text and "Threshold Crossed" in text
    button = message["blocks"][-1]["elements"][0]["url"]
    assert button.startswith("https://ap-northeast-1.console.aws.amazon.com/cloudwatch/")


def test_a_resolved_alarm_says_so_and_an_old_one_links_to_the_notifiers_region() -> None:
    settings = Settings(service_name="enphoto", stage="prod", region="eu-west-1")
    event = sns_event(notification(NewStateValue="OK", OldStateValue="ALARM", AlarmArn=...))
    (message,) = notifier.alarm_messages(event, settings)
    assert "resolved" in message["text"]
    assert "region=eu-west-1" in message["blocks"][-1]["elements"][0]["url"]

    # A new alarm's first evaluation (no data, then OK) tells the channel nothing.
    for states in (("OK", "INSUFFICIENT_DATA"), ("INSUFFICIENT_DATA", "OK")):
        quiet = sns_event(notification(NewStateValue=states[0], OldStateValue=states[1]))
        assert notifier.alarm_messages(quiet, settings) == []


def test_the_notifier_reads_an_sns_event_as_alarms() -> None:
    # An alarm whose time cannot be read is refused by name, before any webhook is looked up.
    broken = sns_event(notification(StateChangeTime="yesterday"))
    with pytest.raises(MalformedEventError, match="StateChangeTime"):
        notifier.handler(broken, None)
