"""StepFunctionsExecutions, the API's executions on AWS, against moto's Step Functions running
the executions (their histories are the emulator's, shaped as AWS's: the events of a Lambda try
carry no state name). moto has no RedriveExecution: an in-place re-drive is checked only up to
the call it makes."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import sqlalchemy as sa
from botocore.exceptions import ClientError

from bakusoku.api.executions import ExecutionsUnsupportedError
from bakusoku.arns import ArnError
from bakusoku.aws import listing
from bakusoku.aws.executions import StepFunctionsExecutions, StepFunctionsUnavailableError
from bakusoku.db.engine import create_db_engine
from bakusoku.db.schema import photos
from bakusoku.domain.keys import photo_ref
from bakusoku.ops.history import ExecutionQuery
from bakusoku.ops.redrive import REPROCESSED, failure_was_handled
from bakusoku.ops.timeline import build_timeline
from bakusoku.workflow.errors import ExecutionDoesNotExistError, ExecutionNotRedrivableError
from tests.aws.executing import start_and_wait, wait_until_stopped

pytest.importorskip("moto", reason="needs moto[server]: pip install -e '.[aws,test]'")
pytestmark = pytest.mark.integration

REGION = "ap-northeast-1"
ROLE = "arn:aws:iam::123456789012:role/photo-pipeline"
BUCKET = "enphoto-dev-photos"
FUNCTION = "arn:aws:lambda:ap-northeast-1:123456789012:function:store-photo"
RETRY = [
    {"ErrorEquals": ["States.ALL"], "MaxAttempts": 1, "IntervalSeconds": 1, "BackoffRate": 2.0}
]
# The pipeline's shape: a Lambda task retried once, its failure caught and ended in a Fail state
# with the failure's code; photos that need no processing go straight to the end.
CAUGHT = {
    "StartAt": "Route",
    "States": {
        "Route": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.skip", "IsPresent": True, "Next": "Done"},
                {"Variable": "$.refuse", "IsPresent": True, "Next": "Failed"},
            ],
            "Default": "StorePhoto",
        },
        "StorePhoto": {
            "Type": "Task",
            "Resource": FUNCTION,
            "Retry": RETRY,
            "Catch": [
                {"ErrorEquals": ["States.ALL"], "Next": "MarkFailed", "ResultPath": "$.error"}
            ],
            "Next": "Done",
        },
        "MarkFailed": {"Type": "Pass", "Next": "Failed"},
        "Failed": {"Type": "Fail", "Error": "image.corrupt", "Cause": "not an image"},
        "Done": {"Type": "Succeed"},
    },
}
# A Lambda task without a Catch: its failure ends the execution (RedriveExecution's case).
UNCAUGHT = {
    "StartAt": "StorePhoto",
    "States": {"StorePhoto": {"Type": "Task", "Resource": FUNCTION, "End": True}},
}


def object_created(key: str) -> dict[str, Any]:
    """The execution input S3's EventBridge event gives the pipeline."""
    return {
        "detail-type": "Object Created",
        "source": "aws.s3",
        "detail": {"bucket": {"name": BUCKET}, "object": {"key": key, "size": 5}},
    }


@pytest.fixture(scope="module")
def client(running_step_functions: str) -> Any:
    return botocore.session.get_session().create_client(
        "stepfunctions", region_name=REGION, endpoint_url=running_step_functions
    )


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sa.Engine]:
    from tests.schema import create_schema

    engine = create_db_engine(f"sqlite:///{tmp_path / 'api.db'}")
    create_schema(engine)
    yield engine
    engine.dispose()


def create_machine(client: Any, definition: dict[str, Any]) -> str:
    created = client.create_state_machine(
        name=f"photo-pipeline-{uuid.uuid4().hex[:8]}",
        definition=json.dumps(definition),
        roleArn=ROLE,
    )
    return str(created["stateMachineArn"])


@pytest.fixture
def machine(client: Any) -> str:
    return create_machine(client, CAUGHT)


@pytest.fixture
def executions(machine: str, db: sa.Engine, client: Any) -> StepFunctionsExecutions:
    return StepFunctionsExecutions(machine, REGION, db, "uploads/", client=client)


def add_photo(db: sa.Engine, key: str, execution_name: str, status: str = "failed") -> str:
    """The photo row the pipeline's handlers keep for ``key``, naming its execution."""
    ref = photo_ref(BUCKET, key, "uploads/")
    now = time.time()
    with db.begin() as conn:
        conn.execute(
            photos.insert().values(
                photo_id=ref.photo_id,
                album=ref.album,
                bucket=BUCKET,
                object_key=key,
                status=status,
                error_code="image.corrupt" if status == "failed" else None,
                execution_name=execution_name,
                created_at=now,
                updated_at=now,
            )
        )
    return ref.photo_id


def test_describes_an_execution_by_name_or_arn(
    executions: StepFunctionsExecutions, client: Any, machine: str
) -> None:
    payload = object_created("uploads/day/a.jpg")
    name = start_and_wait(client, machine, payload)
    described = executions.describe_execution(name)
    assert described.name == name
    assert described.status == "FAILED" and described.error == "image.corrupt"
    assert described.state_machine_arn == machine
    assert described.state_machine_name == machine.rsplit(":", 1)[-1]
    assert described.input == payload
    assert described.execution_arn == executions.execution_arn(name)
    assert executions.describe_execution(described.execution_arn).name == name


def test_every_event_of_a_lambda_try_is_named_after_its_state(
    executions: StepFunctionsExecutions, client: Any, machine: str
) -> None:
    name = start_and_wait(client, machine, object_created("uploads/day/a.jpg"))
    raw = client.get_execution_history(executionArn=executions.execution_arn(name))["events"]
    events = executions.get_execution_history(name)
    assert [e.type for e in events] == [r["type"] for r in raw]
    tries = [e for e in events if e.type.startswith("LambdaFunction")]
    assert {e.type for e in tries} >= {"LambdaFunctionScheduled", "LambdaFunctionFailed"}
    unnamed = [r for r in raw if r["type"] == "LambdaFunctionFailed"]
    assert unnamed and all(
        "name" not in json.dumps(r.get("lambdaFunctionFailedEventDetails")) for r in unnamed
    )
    assert {e.state_name for e in tries} == {"StorePhoto"}
    assert all(e.state_name is None for e in events if e.type.startswith("Execution"))
    # So the caught failure reads as one: a re-drive must reprocess, not re-run the Fail state.
    assert failure_was_handled(events)
    timeline = build_timeline(events)
    failed = timeline.failed_state
    assert failed is not None and failed.name == "StorePhoto" and len(failed.attempts) == 2


def test_an_uncaught_failure_is_re_driven_in_place(client: Any, db: sa.Engine) -> None:
    machine = create_machine(client, UNCAUGHT)
    executions = StepFunctionsExecutions(machine, REGION, db, "uploads/", client=client)
    name = start_and_wait(client, machine, object_created("uploads/day/b.jpg"))
    events = executions.get_execution_history(name)
    assert not failure_was_handled(events)
    assert build_timeline(events).failed_state.name == "StorePhoto"  # type: ignore[union-attr]
    # moto has no RedriveExecution: the re-drive reaches the call and fails there.
    with pytest.raises(ClientError, match="RedriveExecution"):
        executions.redrive(name)


def test_a_caught_failure_is_reprocessed_as_a_new_execution(
    executions: StepFunctionsExecutions, client: Any, machine: str, db: sa.Engine
) -> None:
    key = "uploads/day/c.jpg"
    name = start_and_wait(client, machine, object_created(key))
    photo_id = add_photo(db, key, name)
    outcome = executions.redrive(name)
    assert outcome.action == REPROCESSED and outcome.started
    assert outcome.execution.name == f"{name}-redrive-1"
    assert outcome.photo_id == photo_id
    with db.connect() as conn:
        row = conn.execute(sa.select(photos).where(photos.c.photo_id == photo_id)).mappings().one()
    assert row["status"] == "processing" and row["execution_name"] == f"{name}-redrive-1"
    again = wait_until_stopped(client, executions.execution_arn(f"{name}-redrive-1"))
    assert json.loads(again["input"]) == object_created(key)
    assert executions.reprocessed_as(name) == [f"{name}-redrive-1"]


def test_a_running_or_succeeded_execution_is_not_re_driven(
    executions: StepFunctionsExecutions, client: Any, machine: str
) -> None:
    name = start_and_wait(client, machine, {"skip": True, **object_created("uploads/day/d.jpg")})
    with pytest.raises(ExecutionNotRedrivableError, match="SUCCEEDED"):
        executions.redrive(name)


def test_searches_by_status_time_error_and_photo(
    executions: StepFunctionsExecutions, client: Any, machine: str, db: sa.Engine
) -> None:
    failed = [
        start_and_wait(client, machine, object_created(f"uploads/day/f{i}.jpg")) for i in range(2)
    ]
    ok = start_and_wait(client, machine, {"skip": True, **object_created("uploads/night/s.jpg")})
    photo_id = add_photo(db, "uploads/day/f0.jpg", failed[0])

    every = executions.search_executions(ExecutionQuery())
    assert [r["name"] for r in every] == [ok, failed[1], failed[0]]  # newest first
    only_failed = executions.search_executions(ExecutionQuery(statuses=("FAILED",)))
    assert [r["name"] for r in only_failed] == [failed[1], failed[0]]
    first = only_failed[1]
    assert first["error"] == "image.corrupt" and first["error_code"] == "image.corrupt"
    assert first["cause"] == "not an image"
    assert first["photo_id"] == photo_id and first["album"] == "day"
    assert (
        first["duration_seconds"] is not None
        and first["state_machine"] == machine.rsplit(":", 1)[-1]
    )
    assert [
        r["name"] for r in executions.search_executions(ExecutionQuery(error_code="image.corrupt"))
    ] == [failed[1], failed[0]]
    assert executions.search_executions(ExecutionQuery(since=time.time() + 60)) == []
    assert [r["name"] for r in executions.search_executions(ExecutionQuery(limit=1))] == [ok]
    before = every[0]["started_at"]
    assert [r["name"] for r in executions.search_executions(ExecutionQuery(before=before))] == [
        failed[1],
        failed[0],
    ]

    by_photo = executions.search_executions(ExecutionQuery(photo_id=photo_id))
    assert [r["name"] for r in by_photo] == [failed[0]]
    executions.redrive(failed[0])
    wait_until_stopped(client, executions.execution_arn(f"{failed[0]}-redrive-1"))
    by_photo = executions.search_executions(ExecutionQuery(photo_id=photo_id))
    assert [r["name"] for r in by_photo] == [f"{failed[0]}-redrive-1", failed[0]]
    assert executions.search_executions(ExecutionQuery(photo_id=str(uuid.uuid4()))) == []


def test_a_search_describes_a_bounded_number_of_failures(
    executions: StepFunctionsExecutions, client: Any, machine: str, db: sa.Engine
) -> None:
    """Past MAX_DESCRIBED failed rows a search stops calling DescribeExecution (its rate quota
    and the request's time): such a row's error code is its failed photo's."""
    count = listing.MAX_DESCRIBED + 1
    names = [f"photo-{uuid.uuid4()}" for _ in range(count)]
    oldest = names[0]
    client.start_execution(
        stateMachineArn=machine,
        name=oldest,
        input=json.dumps({"refuse": True, **object_created("uploads/day/old.jpg")}),
    )
    time.sleep(0.05)  # so the oldest starts strictly first
    for name in names[1:]:
        payload = {"refuse": True, **object_created(f"uploads/day/{name}.jpg")}
        client.start_execution(stateMachineArn=machine, name=name, input=json.dumps(payload))
    for name in names:
        wait_until_stopped(client, executions.execution_arn(name))
    photo_id = add_photo(db, "uploads/day/old.jpg", oldest)
    rows = executions.search_executions(ExecutionQuery(statuses=("FAILED",), limit=1000))
    assert len(rows) == count and rows[-1]["name"] == oldest
    assert all(r["error"] == "image.corrupt" for r in rows[:-1])
    assert rows[-1]["error"] is None
    assert (rows[-1]["error_code"], rows[-1]["photo_id"]) == ("image.corrupt", photo_id)


@pytest.mark.parametrize(
    ("query", "names"),
    [
        (ExecutionQuery(album="day"), "GET /v1/photos?album="),
        (ExecutionQuery(state="StorePhoto"), "GET /v1/executions/{name}"),
        (ExecutionQuery(failed_state="StorePhoto"), "status=FAILED"),
    ],
)
def test_filters_list_executions_cannot_serve_answer_naming_the_alternative(
    executions: StepFunctionsExecutions, query: ExecutionQuery, names: str
) -> None:
    with pytest.raises(ExecutionsUnsupportedError) as raised:
        executions.search_executions(query)
    assert raised.value.code == "execution.unsupported"
    assert "AWS Step Functions" in raised.value.message
    assert names in raised.value.alternative


def test_summarises_one_execution_with_its_photo_and_failed_state(
    executions: StepFunctionsExecutions, client: Any, machine: str
) -> None:
    key = "uploads/day/g.jpg"
    name = start_and_wait(client, machine, object_created(key))
    summary = executions.execution_summary(name)
    ref = photo_ref(BUCKET, key, "uploads/")
    assert summary["name"] == name and summary["status"] == "FAILED"
    assert (summary["photo_id"], summary["album"]) == (ref.photo_id, ref.album)
    assert summary["failed_state"] == "StorePhoto"
    assert summary["error_code"] == "image.corrupt"
    with pytest.raises(ExecutionDoesNotExistError, match="does not exist"):
        executions.execution_summary("no-such-execution")


def test_status_report_counts_the_executions_step_functions_lists(
    executions: StepFunctionsExecutions, client: Any, machine: str, db: sa.Engine
) -> None:
    name = start_and_wait(client, machine, object_created("uploads/day/h.jpg"))
    start_and_wait(client, machine, {"skip": True, **object_created("uploads/day/i.jpg")})
    add_photo(db, "uploads/day/h.jpg", name)
    report = executions.status_report()
    hour = report["executions"]["last_hour"]
    assert hour["ended"] == {"FAILED": 1, "SUCCEEDED": 1} and hour["failure_rate"] == 0.5
    assert report["executions"]["running"] == 0
    assert report["photos"]["last_hour"] == {"failed": 1}
    slowest = report["slowest_state_last_hour"]
    assert slowest is not None and slowest["state"] == "StorePhoto"


def test_an_unknown_execution_is_the_engine_s_does_not_exist_error(
    executions: StepFunctionsExecutions,
) -> None:
    with pytest.raises(ExecutionDoesNotExistError, match="does not exist"):
        executions.describe_execution("no-such-execution")
    with pytest.raises(ExecutionDoesNotExistError, match="does not exist"):
        executions.get_execution_history("no-such-execution")


def test_ready_when_step_functions_answers_for_the_state_machine(
    executions: StepFunctionsExecutions, db: sa.Engine, client: Any, machine: str
) -> None:
    executions.check_ready()
    gone = StepFunctionsExecutions(machine + "-gone", REGION, db, "uploads/", client=client)
    with pytest.raises(StepFunctionsUnavailableError, match="StateMachineDoesNotExist"):
        gone.check_ready()


def test_refuses_an_arn_that_is_not_a_state_machine(db: sa.Engine, client: Any) -> None:
    with pytest.raises(ArnError, match="not a state machine ARN"):
        StepFunctionsExecutions("arn:aws:lambda:x:1:function:f", REGION, db, "uploads/", client)
