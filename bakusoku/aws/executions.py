"""Step Functions executions behind the API's execution views (describe, history, redrive).

On AWS the workflow runs in Step Functions, so the API reads executions from there with the same
method names and result types as the local workflow engine.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import botocore.session
import sqlalchemy as sa
from botocore.exceptions import ClientError

from bakusoku import arns
from bakusoku.workflow.engine import ExecutionDescription
from bakusoku.workflow.errors import ExecutionDoesNotExistError, ExecutionNotRedrivableError
from bakusoku.workflow.history import HistoryEvent, details_key


class StepFunctionsExecutions:
    """The executions of one state machine, named as the photo rows record them."""

    def __init__(
        self, state_machine_arn: str, region: str, db: sa.Engine, client: Any = None
    ) -> None:
        arns.parse_state_machine_arn(state_machine_arn)  # refuse anything else at start-up
        self.state_machine_arn = state_machine_arn
        # The database the API shares with the handlers; routes that read the local engine's
        # execution tables find them there (empty on AWS, where Step Functions keeps history).
        self.db = db
        self._client = client or botocore.session.get_session().create_client(
            "stepfunctions", region_name=region
        )

    def execution_arn(self, name: str) -> str:
        if arns.is_arn(name):
            return name
        return arns.execution_arn_of(self.state_machine_arn, name)

    def describe_execution(self, name: str) -> ExecutionDescription:
        arn = self.execution_arn(name)
        try:
            found = self._client.describe_execution(executionArn=arn)
        except ClientError as exc:
            raise _translate(exc, arn) from exc
        return ExecutionDescription(
            name=found["name"],
            execution_arn=found["executionArn"],
            state_machine_arn=found["stateMachineArn"],
            state_machine_name=arns.name_of(found["stateMachineArn"]),
            status=found["status"],
            input=_json(found.get("input")),
            output=_json(found.get("output")),
            error=found.get("error"),
            cause=found.get("cause"),
            start_date=found["startDate"],
            stop_date=found.get("stopDate"),
            redrive_count=int(found.get("redriveCount", 0)),
        )

    def get_execution_history(self, name: str) -> list[HistoryEvent]:
        return execution_history(self._client, self.execution_arn(name))

    def redrive_execution(self, name: str) -> None:
        arn = self.execution_arn(name)
        try:
            self._client.redrive_execution(executionArn=arn)
        except ClientError as exc:
            raise _translate(exc, arn) from exc


def execution_history(client: Any, execution_arn: str) -> list[HistoryEvent]:
    """Every history event of one execution, read with a Step Functions ``client``."""
    events: list[HistoryEvent] = []
    try:
        pages = client.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
        for page in pages:
            events.extend(_history_event(raw) for raw in page["events"])
    except ClientError as exc:
        raise _translate(exc, execution_arn) from exc
    return events


def _history_event(raw: dict[str, Any]) -> HistoryEvent:
    key = details_key(raw["type"])
    details = raw.get(key) if key else None
    timestamp: datetime = raw["timestamp"]
    state = details.get("name") if isinstance(details, dict) else None
    return HistoryEvent(
        id=int(raw["id"]),
        previous_event_id=int(raw.get("previousEventId", 0)),
        type=raw["type"],
        timestamp=timestamp,
        details=details,
        state_name=state,
    )


def _json(text: Any) -> Any:
    if not isinstance(text, str):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _translate(exc: ClientError, arn: str) -> Exception:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    message = str(exc.response.get("Error", {}).get("Message", exc))
    if code == "ExecutionDoesNotExist":
        return ExecutionDoesNotExistError(f"execution {arn} does not exist")
    if code == "ExecutionNotRedrivable":
        return ExecutionNotRedrivableError(f"execution {arn} cannot be redriven: {message}")
    return exc
