"""The alert path: every failed, timed-out or aborted execution is posted to a Slack webhook.

Handler: ``bakusoku.aws.notifier.handler``, the target of an EventBridge rule on
"Step Functions Execution Status Change". The webhook URL is read from the Secrets Manager secret
named by ``BAKUSOKU_SLACK_WEBHOOK_SECRET_ARN`` (once per execution environment). The message names
the status, the execution ARN and a console link, because the console lists only recent executions.
"""

from __future__ import annotations

import functools
import json
import os
import urllib.request
from typing import Any
from urllib.parse import quote

from bakusoku.config import ConfigError
from bakusoku.errors import BakusokuError
from bakusoku.secrets import secret_string

WEBHOOK_SECRET_ARN = "BAKUSOKU_SLACK_WEBHOOK_SECRET_ARN"
ALERT_STATUSES = ("FAILED", "TIMED_OUT", "ABORTED")


class NotifyError(BakusokuError):
    """The webhook refused the alert."""

    code = "alert.not_delivered"


@functools.cache
def _webhook_url() -> str:
    arn = os.environ.get(WEBHOOK_SECRET_ARN, "")
    if not arn:
        raise ConfigError(f"{WEBHOOK_SECRET_ARN} is not set; the template sets it")
    region = os.environ.get("AWS_REGION") or os.environ.get("BAKUSOKU_REGION") or "us-east-1"
    text = secret_string(arn, region).strip()
    if text.startswith("{"):
        text = str(json.loads(text).get("url", ""))
    if not text.startswith("https://"):
        raise ConfigError(f"the secret {arn} must hold the webhook's https:// URL")
    return text


def alert_message(event: dict[str, Any]) -> dict[str, Any]:
    """The Slack message for one execution status change event."""
    detail = event.get("detail") or {}
    status = str(detail.get("status", "UNKNOWN"))
    arn = str(detail.get("executionArn", "?"))
    region = str(event.get("region", ""))
    console = (
        f"https://{region}.console.aws.amazon.com/states/home?region={region}"
        f"#/v2/executions/details/{quote(arn, safe='')}"
    )
    lines = [f":rotating_light: photo pipeline execution {status}", f"execution: `{arn}`"]
    if detail.get("error") or detail.get("cause"):
        lines.append(f"error: {detail.get('error')}: {str(detail.get('cause') or '')[:500]}")
    lines.append(f"<{console}|open in the Step Functions console>")
    return {"text": "\n".join(lines)}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Post the alert; raise (so Lambda retries the async event) if the webhook refuses it."""
    status = str((event.get("detail") or {}).get("status", ""))
    if status not in ALERT_STATUSES:
        return {"posted": False, "status": status}
    body = json.dumps(alert_message(event)).encode("utf-8")
    request = urllib.request.Request(
        _webhook_url(), data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            code = response.status
    except OSError as exc:
        raise NotifyError(f"the Slack webhook did not take the alert: {exc}") from exc
    return {"posted": True, "status": status, "httpStatus": code}
