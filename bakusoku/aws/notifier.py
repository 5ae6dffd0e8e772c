"""The alert path on AWS: an execution of the pipeline that ends in an alerted status is posted to
a Slack webhook, with the same message the embedded deployment sends (``bakusoku.ops.messages``).

Handler: ``bakusoku.aws.notifier.handler``, the target of an EventBridge rule on Step Functions'
"Execution Status Change" events whose statuses are ``ops.messages.ALERTED_STATUSES``. The event is
read through ``events.ExecutionStatusChange``; the state that failed comes from the execution's
history (GetExecutionHistory), and the alert still goes out, without it, if that cannot be read.
It is also subscribed to the stack's alarm topic (``deploy.monitoring``): an SNS event carries
CloudWatch alarm notifications, read through ``events.CloudWatchAlarm``, and each change of state
is posted to the same channel (``ops.messages.slack_alarm``).
Settings come from ``bakusoku.config``: ``slack_webhook_secret_arn`` names the Secrets Manager
secret holding the webhook URL (read once per execution environment), ``region`` where it is, and
``service_name``, ``stage``, ``upload_prefix`` and ``public_api_url`` shape the message.
"""

from __future__ import annotations

import functools
import json
import logging
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import botocore.session
from botocore.exceptions import BotoCoreError, ClientError

from bakusoku import arns
from bakusoku.aws.executions import execution_history
from bakusoku.config import ConfigError, Settings, load_settings
from bakusoku.errors import BakusokuError
from bakusoku.events import CloudWatchAlarm, ExecutionStatusChange, SNSEvent
from bakusoku.ops.alerts import webhook_url_from_secret
from bakusoku.ops.messages import (
    ALERTED_STATUSES,
    AlarmChange,
    alarm_link,
    execution_link,
    failed_execution,
    slack_alarm,
    slack_failure,
)
from bakusoku.ops.timeline import Timeline, build_timeline
from bakusoku.workflow.engine import ExecutionDescription
from bakusoku.workflow.errors import WorkflowError
from bakusoku.workflow.history import HistoryEvent

log = logging.getLogger("bakusoku.aws.notifier")

# Reads the history events of one execution, given its ARN.
HistoryReader = Callable[[str], Sequence[HistoryEvent]]


class NotifyError(BakusokuError):
    """The webhook refused the alert."""

    code = "alert.not_delivered"


def webhook_url(secret_arn: str, region: str) -> str:
    """The Slack webhook URL kept in the secret: the URL itself, or JSON ``{"url": ...}``."""
    if not secret_arn:
        raise ConfigError(
            "slack_webhook_secret_arn (BAKUSOKU_SLACK_WEBHOOK_SECRET_ARN) is not set; "
            "the template sets it"
        )
    return webhook_url_from_secret(secret_arn, region)


@functools.cache
def step_functions_history(region: str) -> HistoryReader:
    """Read execution histories from Step Functions in ``region`` (one client per environment)."""
    client: Any = botocore.session.get_session().create_client("stepfunctions", region_name=region)
    return functools.partial(execution_history, client)


def alert_message(
    change: ExecutionStatusChange, settings: Settings, history: HistoryReader | None
) -> dict[str, Any]:
    """The Slack message for one execution that ended in an alerted status."""
    link = execution_link(
        change.name,
        region=change.region,
        execution_arn=change.execution_arn,
        api_url=settings.public_api_url or None,
    )
    alert = failed_execution(
        _description(change),
        _timeline(change.execution_arn, history),
        service=settings.service_name,
        stage=settings.stage,
        upload_prefix=settings.upload_prefix,
        link=link,
    )
    return slack_failure(alert)


def alarm_messages(event: Mapping[str, Any], settings: Settings) -> list[dict[str, Any]]:
    """The Slack message of each CloudWatch alarm notification in an SNS event that the channel
    needs: an alarm that fires, and one that recovers from firing. A new alarm's first OK (out of
    INSUFFICIENT_DATA, right after a deploy) is not news and is left out."""
    messages = []
    for record in SNSEvent(event).records:
        embedded = record.sns.embedded_message()
        alarm = CloudWatchAlarm(embedded.document, where=record.where, path=embedded.path)
        if not _worth_telling(alarm):
            continue
        change = AlarmChange(
            service=settings.service_name,
            stage=settings.stage,
            name=alarm.name,
            state=alarm.new_state,
            reason=alarm.reason,
            description=alarm.description,
            metric=alarm.metric,
            link=alarm_link(alarm.name, region=alarm.region or settings.region),
            at=alarm.changed_at.timestamp(),
        )
        messages.append(slack_alarm(change))
    return messages


def _worth_telling(alarm: CloudWatchAlarm) -> bool:
    return alarm.new_state == "ALARM" or (alarm.new_state == "OK" and alarm.old_state == "ALARM")


def _description(change: ExecutionStatusChange) -> ExecutionDescription:
    """The event as DescribeExecution would describe the execution (without its output)."""
    return ExecutionDescription(
        name=change.name,
        execution_arn=change.execution_arn,
        state_machine_arn=change.state_machine_arn,
        state_machine_name=arns.name_of(change.state_machine_arn),
        status=change.status,
        input=change.input,
        output=None,
        error=change.error,
        cause=change.cause,
        start_date=change.start_date,
        stop_date=change.stop_date,
        redrive_count=change.redrive_count,
    )


def _timeline(execution_arn: str, history: HistoryReader | None) -> Timeline | None:
    if history is None:
        return None
    try:
        return build_timeline(list(history(execution_arn)))
    except (BotoCoreError, ClientError, WorkflowError) as exc:
        # The alert matters more than its failed state: send it without one.
        log.warning("cannot read the history of %s (%s); alerting without it", execution_arn, exc)
        return None


def post(url: str, message: Mapping[str, Any]) -> int:
    """POST the message as JSON; NotifyError (so Lambda retries the event) if it is refused."""
    body = json.dumps(message).encode("utf-8")
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except OSError as exc:
        raise NotifyError(f"the Slack webhook did not take the alert: {exc}") from exc


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Post the alert; raise (so Lambda retries the async event) if the webhook refuses it."""
    if SNSEvent.matches(event):  # the stack's alarm topic
        return _post_alarms(event)
    change = ExecutionStatusChange(event)
    status = change.status
    if status not in ALERTED_STATUSES:
        return {"posted": False, "status": status}
    settings = load_settings()
    message = alert_message(change, settings, step_functions_history(settings.region))
    code = post(webhook_url(settings.slack_webhook_secret_arn, settings.region), message)
    return {"posted": True, "status": status, "httpStatus": code}


def _post_alarms(event: dict[str, Any]) -> dict[str, Any]:
    settings = load_settings()
    messages = alarm_messages(event, settings)
    if not messages:
        return {"posted": False, "alarms": 0}
    url = webhook_url(settings.slack_webhook_secret_arn, settings.region)
    codes = [post(url, message) for message in messages]
    return {"posted": bool(codes), "alarms": len(codes), "httpStatus": codes}
