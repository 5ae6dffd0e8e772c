"""Step Functions executions behind the API: the ``ExecutionsPort`` of the AWS deployment.

On AWS the workflow runs in Step Functions, so the API describes executions, reads their
histories (``bakusoku.aws.history``), searches and counts them (``bakusoku.aws.listing``) and
re-drives them there, with the same result types and rules as the embedded engine
(``ops.redrive``): a caught failure is reprocessed by a new execution ``{name}-redrive-{n}``
(StartExecution), any other failure re-driven in place (RedriveExecution). Searches by album or
by the states an execution went through need what ListExecutions cannot filter by; they raise
ExecutionsUnsupportedError, answered with a 501 that names what to use instead.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

import botocore.session
import sqlalchemy as sa
from botocore.exceptions import ClientError

from bakusoku import arns
from bakusoku.api.executions import ExecutionsUnsupportedError
from bakusoku.aws import listing
from bakusoku.aws.history import history_events
from bakusoku.domain.catalogue import failure_code
from bakusoku.ops.history import ExecutionQuery, photo_of
from bakusoku.ops.redrive import RedriveOutcome, Redriver
from bakusoku.ops.status import WINDOWS, ended_counts, photo_counts, slowest_state, upload_to_ready
from bakusoku.ops.timeline import build_timeline
from bakusoku.workflow.engine import ExecutionDescription, ExecutionRef
from bakusoku.workflow.errors import (
    ExecutionAlreadyExistsError,
    ExecutionDoesNotExistError,
    ExecutionNotRedrivableError,
    WorkflowError,
)
from bakusoku.workflow.history import HistoryEvent

BACKEND = "AWS Step Functions"
ENDED = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
# The status report reads the histories of at most this many executions of the last hour for
# the slowest state: one GetExecutionHistory each, within the request's time.
SLOWEST_STATE_SAMPLE = 20


class StepFunctionsUnavailableError(WorkflowError):
    """Step Functions did not answer for the state machine (``/readyz`` names it)."""

    code = "workflow.unavailable"


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
        self.db = db
        self.upload_prefix = upload_prefix
        # Re-drives move the photo rows of the database the API shares with the handlers.
        self.redriver = Redriver(self, db, upload_prefix)

    def execution_arn(self, name: str) -> str:
        if arns.is_arn(name):
            return name
        return arns.execution_arn_of(self.state_machine_arn, name)

    # ---- what re-drives call (``ops.redrive.RedriveTarget``) -----------------------------------

    def describe_execution(self, name: str) -> ExecutionDescription:
        return description(self._describe(name))

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
        """StartExecution: a re-drive reprocesses a caught failure as a new, named execution."""
        kwargs: dict[str, Any] = {
            "stateMachineArn": state_machine_arn,
            "input": json.dumps(input if input is not None else {}),
        }
        if name is not None:
            kwargs["name"] = name
        try:
            started = self.client.start_execution(**kwargs)
        except ClientError as exc:
            raise _translate(exc, name or state_machine_arn) from exc
        arn = str(started["executionArn"])
        return ExecutionRef(arns.name_of(arn), arn, started["startDate"])

    # ---- the API's views ----------------------------------------------------------------------

    def search_executions(self, query: ExecutionQuery) -> list[dict[str, Any]]:
        """ListExecutions, newest first; photo and album from the photo rows."""
        _refuse_unlistable(query)
        if query.photo_id:
            return self._photo_executions(query)
        try:
            return listing.search_rows(self.client, self.db, self.state_machine_arn, query)
        except ClientError as exc:
            raise _translate(exc, self.state_machine_arn) from exc

    def execution_summary(self, name: str) -> dict[str, Any]:
        """DescribeExecution and the history's failed state, as a search row."""
        found = self._describe(name)
        events = self.get_execution_history(found["executionArn"])
        return self._summary(found, events)

    def reprocessed_as(self, name: str) -> list[str]:
        return self.redriver.reprocessed_as(name)

    def redrive(self, name: str) -> RedriveOutcome:
        return self.redriver.redrive(name)

    def status_report(self) -> dict[str, Any]:
        """The embedded report's numbers: photos from the database, executions from ListExecutions."""
        now = time.time()
        machine = self.state_machine_arn
        try:
            report_executions: dict[str, Any] = {
                label: ended_counts(listing.count_ended(self.client, machine, ENDED, now - span))
                for label, span in WINDOWS.items()
            }
            running = list(listing.listed_executions(self.client, machine, "RUNNING", None))
            report_executions["running"] = len(running)
            recent = [
                item
                for item in listing.newest_first(self.client, machine, ENDED, now - 2 * 3600)
                if item.get("stopDate") and _epoch(item["stopDate"]) >= now - WINDOWS["last_hour"]
            ][:SLOWEST_STATE_SAMPLE]
            histories = [execution_history(self.client, i["executionArn"]) for i in recent]
        except ClientError as exc:
            raise _translate(exc, machine) from exc
        return {
            "generated_at": now,
            "photos": photo_counts(self.db, now),
            "executions": report_executions,
            "upload_to_ready_seconds": upload_to_ready(self.db, now),
            "slowest_state_last_hour": slowest_state(histories),
        }

    def check_ready(self) -> None:
        """Step Functions answers for the state machine (ListExecutions, one item)."""
        try:
            self.client.list_executions(stateMachineArn=self.state_machine_arn, maxResults=1)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "error")
            raise StepFunctionsUnavailableError(
                f"Step Functions refused ListExecutions on the state machine: {code}"
            ) from exc

    # ---- helpers --------------------------------------------------------------------------------

    def _describe(self, name: str) -> dict[str, Any]:
        arn = self.execution_arn(name)
        try:
            found: dict[str, Any] = self.client.describe_execution(executionArn=arn)
        except ClientError as exc:
            raise _translate(exc, arn) from exc
        return found

    def _summary(self, found: dict[str, Any], events: list[HistoryEvent]) -> dict[str, Any]:
        item = {k: found[k] for k in ("name", "stateMachineArn", "status", "startDate")}
        item["stopDate"] = found.get("stopDate")
        item["redriveCount"] = found.get("redriveCount", 0)
        row = listing.summary_row(item, found)
        ref = photo_of(_json(found.get("input")), self.upload_prefix)
        if ref is not None:
            row["photo_id"], row["album"] = ref.photo_id, ref.album
        failed = build_timeline(events).failed_state if found["status"] != "SUCCEEDED" else None
        row["failed_state"] = failed.name[:80] if failed else None
        row["error_code"] = failure_code(found.get("error"))
        return row

    def _photo_executions(self, query: ExecutionQuery) -> list[dict[str, Any]]:
        """The executions of one photo: the first one its row names and its re-drives."""
        first = listing.first_execution_of(self.db, query.photo_id or "")
        if first is None:
            return []
        rows = []
        for name in [first, *self.reprocessed_as(first)]:
            try:
                found = self._describe(name)
            except ExecutionDoesNotExistError:
                continue
            row = self._summary(found, [])
            row["photo_id"] = query.photo_id
            if _matches(row, query):
                rows.append(row)
        rows.sort(key=lambda r: float(r["started_at"]), reverse=True)
        return rows[: query.limit]


def _refuse_unlistable(query: ExecutionQuery) -> None:
    if query.album:
        raise ExecutionsUnsupportedError(
            "searching executions by album",
            BACKEND,
            "ListExecutions cannot filter by input; list the album's photos"
            " (GET /v1/photos?album=...) and search by photo (GET /v1/executions?photo=...)",
        )
    if query.state or query.failed_state:
        raise ExecutionsUnsupportedError(
            "searching executions by the states they went through",
            BACKEND,
            "ListExecutions cannot filter by state; search by status (status=FAILED) and read"
            " each execution's timeline at GET /v1/executions/{name}",
        )


def _matches(row: dict[str, Any], query: ExecutionQuery) -> bool:
    started = float(row["started_at"])
    return (
        (not query.statuses or row["status"] in query.statuses)
        and (query.since is None or started >= query.since)
        and (query.until is None or started < query.until)
        and (query.before is None or started < query.before)
        and (not query.error_code or query.error_code in (row["error_code"], row["error"]))
    )


def description(found: dict[str, Any]) -> ExecutionDescription:
    """DescribeExecution's answer as the engine's ``ExecutionDescription``."""
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


def execution_history(client: Any, execution_arn: str) -> list[HistoryEvent]:
    """Every history event of one execution, read with a Step Functions ``client``."""
    raw: list[dict[str, Any]] = []
    try:
        pages = client.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
        for page in pages:
            raw.extend(page["events"])
    except ClientError as exc:
        raise _translate(exc, execution_arn) from exc
    return history_events(raw)


def _epoch(value: datetime) -> float:
    return value.timestamp()


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
    if code == "ExecutionAlreadyExists":
        return ExecutionAlreadyExistsError(f"execution {arn} already exists: {message}")
    return exc
