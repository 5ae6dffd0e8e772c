"""Step Functions executions behind the API: the ``ExecutionsPort`` of the AWS deployment.

On AWS the workflow runs in Step Functions, so the API describes executions, reads their
histories and re-drives them there, with the same result types as the embedded engine. A re-drive
follows the same rules as on the embedded engine (``ops.redrive``). What needs the engine's
history tables (searching executions, the status report) or a right the API function's role does
not have (starting a new execution, which reprocessing a handled failure does) raises
ExecutionsUnsupportedError, answered with a 501 that names what to use instead.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import botocore.session
import sqlalchemy as sa
from botocore.exceptions import ClientError

from bakusoku import arns
from bakusoku.api.executions import ExecutionsUnsupportedError
from bakusoku.ops.history import ExecutionQuery
from bakusoku.ops.redrive import RedriveOutcome, Redriver
from bakusoku.workflow.engine import ExecutionDescription, ExecutionRef
from bakusoku.workflow.errors import ExecutionDoesNotExistError, ExecutionNotRedrivableError
from bakusoku.workflow.history import HistoryEvent, details_key

BACKEND = "AWS Step Functions"


class StepFunctionsExecutions:
    """The executions of one state machine, named as the photo rows record them."""

    def __init__(
        self,
        state_machine_arn: str,
        region: str,
        db: sa.Engine,
        upload_prefix: str,
        client: Any = None,
    ) -> None:
        arns.parse_state_machine_arn(state_machine_arn)  # refuse anything else at start-up
        self.state_machine_arn = state_machine_arn
        self.client = client or botocore.session.get_session().create_client(
            "stepfunctions", region_name=region
        )
        # Re-drives move the photo rows of the database the API shares with the handlers.
        self.redriver = Redriver(self, db, upload_prefix)

    def execution_arn(self, name: str) -> str:
        if arns.is_arn(name):
            return name
        return arns.execution_arn_of(self.state_machine_arn, name)

    def describe_execution(self, name: str) -> ExecutionDescription:
        arn = self.execution_arn(name)
        try:
            found = self.client.describe_execution(executionArn=arn)
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
        return execution_history(self.client, self.execution_arn(name))

    def redrive_execution(self, name: str) -> None:
        arn = self.execution_arn(name)
        try:
            self.client.redrive_execution(executionArn=arn)
        except ClientError as exc:
            raise _translate(exc, arn) from exc

    def start_execution(
        self, state_machine_arn: str, input: Any = None, name: str | None = None
    ) -> ExecutionRef:
        """Not allowed to the API function's role: only the upload's event starts executions."""
        raise ExecutionsUnsupportedError(
            "reprocessing a failure the pipeline handled (a new execution of the photo)",
            BACKEND,
            "upload the photo again, or start an execution with the failed one's input "
            "(`aws stepfunctions start-execution`)",
        )

    # ---- the API's views ----------------------------------------------------------------------

    def search_executions(self, query: ExecutionQuery) -> list[dict[str, Any]]:
        raise ExecutionsUnsupportedError(
            "searching executions",
            BACKEND,
            "list them in the Step Functions console or with `aws stepfunctions list-executions`;"
            " a photo's execution is GET /v1/photos/{photo_id}/execution",
        )

    def execution_summary(self, name: str) -> dict[str, Any]:
        raise ExecutionsUnsupportedError(
            "the execution summary and timeline",
            BACKEND,
            "GET /v1/photos/{photo_id}/execution shows the execution and its history events",
        )

    def reprocessed_as(self, name: str) -> list[str]:
        return self.redriver.reprocessed_as(name)

    def redrive(self, name: str) -> RedriveOutcome:
        return self.redriver.redrive(name)

    def status_report(self) -> dict[str, Any]:
        raise ExecutionsUnsupportedError(
            "the status report",
            BACKEND,
            "the state machine's CloudWatch metrics (ExecutionsFailed, ExecutionTime) and the"
            " alerts the notifier sends",
        )

    def check_ready(self) -> None:
        """Step Functions runs the state machine itself: nothing in this function must start."""


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
