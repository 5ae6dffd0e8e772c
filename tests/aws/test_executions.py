"""StepFunctionsExecutions, the API's executions on AWS, against moto's Step Functions API.

moto keeps executions RUNNING (or ABORTED once stopped) and answers a sample history, which is
enough to check what the adapter reads and how it translates Step Functions' errors.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import sqlalchemy as sa

from bakusoku.api.executions import ExecutionsUnsupportedError
from bakusoku.arns import ArnError
from bakusoku.aws.executions import StepFunctionsExecutions
from bakusoku.db.engine import create_db_engine
from bakusoku.ops.history import ExecutionQuery
from bakusoku.workflow.errors import ExecutionDoesNotExistError, ExecutionNotRedrivableError
from tests.schema import create_schema

pytest.importorskip("moto", reason="needs moto[server]: pip install -e '.[aws,test]'")
pytestmark = pytest.mark.integration

REGION = "ap-northeast-1"
ROLE = "arn:aws:iam::123456789012:role/photo-pipeline"
DEFINITION = {"StartAt": "Store", "States": {"Store": {"Type": "Pass", "End": True}}}


@pytest.fixture
def client(moto_endpoint: str) -> Any:
    return botocore.session.get_session().create_client(
        "stepfunctions", region_name=REGION, endpoint_url=moto_endpoint
    )


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'api.db'}")
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def machine(client: Any) -> str:
    created = client.create_state_machine(
        name=f"photo-pipeline-{uuid.uuid4().hex[:8]}",
        definition=json.dumps(DEFINITION),
        roleArn=ROLE,
    )
    return str(created["stateMachineArn"])


@pytest.fixture
def executions(machine: str, db: sa.Engine, client: Any) -> StepFunctionsExecutions:
    return StepFunctionsExecutions(machine, REGION, db, "uploads/", client=client)


def start(client: Any, machine: str, payload: dict[str, Any]) -> str:
    name = f"photo-{uuid.uuid4()}"
    client.start_execution(stateMachineArn=machine, name=name, input=json.dumps(payload))
    return name


def test_describes_an_execution_by_name_or_arn(
    executions: StepFunctionsExecutions, client: Any, machine: str
) -> None:
    name = start(client, machine, {"detail": {"object": {"key": "uploads/day/a.jpg"}}})
    described = executions.describe_execution(name)
    assert described.name == name
    assert described.status == "RUNNING"
    assert described.state_machine_arn == machine
    assert described.state_machine_name == machine.rsplit(":", 1)[-1]
    assert described.input == {"detail": {"object": {"key": "uploads/day/a.jpg"}}}
    assert described.execution_arn == executions.execution_arn(name)
    assert executions.describe_execution(described.execution_arn).name == name


def test_reads_the_history_with_each_event_s_state(
    executions: StepFunctionsExecutions, client: Any, machine: str
) -> None:
    name = start(client, machine, {})
    raw = client.get_execution_history(executionArn=executions.execution_arn(name))["events"]
    events = executions.get_execution_history(name)
    assert [e.type for e in events] == [r["type"] for r in raw]
    assert [e.id for e in events] == [r["id"] for r in raw]
    entered = next(r for r in raw if r["type"].endswith("StateEntered"))
    shown = next(e for e in events if e.id == entered["id"])
    assert shown.state_name == entered["stateEnteredEventDetails"]["name"]


def test_an_unknown_execution_is_the_engine_s_does_not_exist_error(
    executions: StepFunctionsExecutions,
) -> None:
    with pytest.raises(ExecutionDoesNotExistError, match="does not exist"):
        executions.describe_execution("no-such-execution")
    with pytest.raises(ExecutionDoesNotExistError, match="does not exist"):
        executions.get_execution_history("no-such-execution")


def test_re_drives_follow_the_engine_s_rules(
    executions: StepFunctionsExecutions, client: Any, machine: str
) -> None:
    name = start(client, machine, {})
    with pytest.raises(ExecutionNotRedrivableError, match="RUNNING"):
        executions.redrive(name)
    assert executions.reprocessed_as(name) == []


@pytest.mark.parametrize(
    ("operation", "names"),
    [
        (lambda e: e.search_executions(ExecutionQuery()), "list-executions"),
        (lambda e: e.execution_summary("any"), "/v1/photos/{photo_id}/execution"),
        (lambda e: e.status_report(), "CloudWatch"),
        (lambda e: e.start_execution(e.state_machine_arn, {}, name="x"), "start-execution"),
    ],
)
def test_what_step_functions_cannot_serve_yet_is_a_typed_error_naming_the_alternative(
    executions: StepFunctionsExecutions, operation: Any, names: str
) -> None:
    with pytest.raises(ExecutionsUnsupportedError) as raised:
        operation(executions)
    assert raised.value.code == "execution.unsupported"
    assert "AWS Step Functions" in raised.value.message
    assert names in raised.value.alternative


def test_refuses_an_arn_that_is_not_a_state_machine(db: sa.Engine, client: Any) -> None:
    with pytest.raises(ArnError, match="not a state machine ARN"):
        StepFunctionsExecutions("arn:aws:lambda:x:1:function:f", REGION, db, "uploads/", client)
