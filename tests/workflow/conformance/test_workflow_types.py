"""Developer guide, "Choosing workflow type in Step Functions": an Express workflow run
synchronously (StartSyncExecution), as executions recorded on AWS show it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bakusoku.runtime import LambdaContext
from bakusoku.workflow import run_definition
from tests.workflow.conformance.helpers import ARN, single


def _express(definition: dict[str, Any], state_input: Any, **functions: Any) -> Any:
    return run_definition(
        definition,
        state_input,
        functions=functions,
        context=LambdaContext.for_call,
        skip_waits=True,
        name="run-1",
        state_machine_name="machine",
        machine_type="EXPRESS",
    )


def test_an_express_executions_context_object() -> None:
    # Recorded on AWS (LocalStack's snapshot test_express_sync::test_query_runtime_memory): the
    # execution's ARN is express:MACHINE:NAME:RUN_ID, Execution has no RedriveCount and lists
    # Id, Input, Name, RoleArn, StartTime in this order; a Pass state's State has no RetryCount.
    result = _express(single({"Type": "Pass", "InputPath": "$$"}), {"message": "TestMessage"})
    assert result.status == "SUCCEEDED"
    context = result.output
    assert list(context) == ["Execution", "StateMachine", "State"]
    execution = context["Execution"]
    assert list(execution) == ["Id", "Input", "Name", "RoleArn", "StartTime"]
    assert re.fullmatch(
        r"arn:aws:states:us-east-1:123456789012:express:machine:run-1:[0-9a-f-]{36}",
        execution["Id"],
    )
    assert (execution["Name"], execution["Input"]) == ("run-1", {"message": "TestMessage"})
    assert context["StateMachine"] == {
        "Id": "arn:aws:states:us-east-1:123456789012:stateMachine:machine",
        "Name": "machine",
    }
    assert list(context["State"]) == ["Name", "EnteredTime"]


def _raise(_event: Any) -> Any:
    raise Exception("Some exception was raised.")


def test_an_express_catch_sees_lambda_invokes_compact_error_document() -> None:
    # Recorded on AWS (test_express_sync::test_catch): the caught Cause of a failed
    # lambda:invoke is the runtime's document, keys in its order, without spaces.
    definition = {
        "StartAt": "Start",
        "States": {
            "Start": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": ARN.format("f"), "Payload.$": "$"},
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    result = _express(definition, {}, f=_raise)
    assert result.status == "SUCCEEDED"
    assert result.output["Error"] == "Exception"
    assert result.output["Cause"].startswith(
        '{"errorMessage":"Some exception was raised.","errorType":"Exception","requestId":"'
    )


def test_an_unknown_workflow_type_is_refused() -> None:
    with pytest.raises(ValueError, match="STANDARD or EXPRESS"):
        run_definition(single({"Type": "Pass"}), {}, machine_type="FAST")
