"""Developer guide, "Processing input and output in Step Functions" (JSONPath): InputPath,
Parameters, ResultSelector, ResultPath, OutputPath, with the guide's examples."""

from __future__ import annotations

from typing import Any

import pytest

from tests.workflow.conformance.helpers import (
    ARN,
    fails,
    failure,
    run,
    single,
    state_error,
    succeeds,
)

GUIDE_INPUT = {
    "comment": "Example for InputPath.",
    "dataset1": {"val1": 1, "val2": 2, "val3": 3},
    "dataset2": {"val1": "a", "val2": "b", "val3": "c"},
}


def test_inputpath_selects_part_of_the_input() -> None:
    definition = single({"Type": "Pass", "InputPath": "$.dataset2"})
    assert succeeds(definition, GUIDE_INPUT) == {"val1": "a", "val2": "b", "val3": "c"}


def test_parameters_example() -> None:
    # "Manipulate parameters with paths": static values and .$ paths, nested.
    state_input = {
        "comment": "Example for Parameters.",
        "product": {
            "details": {"color": "blue", "size": "small", "material": "cotton"},
            "availability": "in stock",
            "sku": "2317",
            "cost": "$23",
        },
    }
    definition = single(
        {
            "Type": "Pass",
            "Parameters": {
                "comment": "Selecting what I care about.",
                "MyDetails": {
                    "size.$": "$.product.details.size",
                    "exists.$": "$.product.availability",
                    "StaticValue": "foo",
                },
            },
        }
    )
    assert succeeds(definition, state_input) == {
        "comment": "Selecting what I care about.",
        "MyDetails": {"size": "small", "exists": "in stock", "StaticValue": "foo"},
    }


def _hello(event: dict[str, Any]) -> str:
    return f"Hello, {event['who']}!"


LAMBDA_INPUT = {
    "comment": "An input comment.",
    "data": {"val1": 23, "val2": 17},
    "extra": "foo",
    "lambda": {"who": "AWS Step Functions"},
}


def _task(**fields: Any) -> dict[str, Any]:
    return single(
        {"Type": "Task", "Resource": ARN.format("HelloFunction"), "InputPath": "$.lambda", **fields}
    )


RESULT_PATH_INPUT = {
    "comment": "This is a test of the input and output of a Task state.",
    "details": "Default example",
    "who": "AWS Step Functions",
}


@pytest.mark.parametrize(
    ("result_path", "expected"),
    [
        ("$", "Hello, AWS Step Functions!"),
        (None, RESULT_PATH_INPUT),
        ("$.taskresult", {**RESULT_PATH_INPUT, "taskresult": "Hello, AWS Step Functions!"}),
        ("$.details", {**RESULT_PATH_INPUT, "details": "Hello, AWS Step Functions!"}),
        (
            "$.strings.lambdaresult",
            {**RESULT_PATH_INPUT, "strings": {"lambdaresult": "Hello, AWS Step Functions!"}},
        ),
    ],
)
def test_resultpath_examples(result_path: str | None, expected: Any) -> None:
    # "Specifying state output using ResultPath": the default ($) replaces the input, null
    # discards the result, and a path places it in the input, replacing what was there.
    definition = single(
        {"Type": "Task", "Resource": ARN.format("HelloFunction"), "ResultPath": result_path}
    )
    assert succeeds(definition, RESULT_PATH_INPUT, {"HelloFunction": _hello}) == expected


def test_resultpath_includes_the_result_with_the_input() -> None:
    output = succeeds(
        _task(ResultPath="$.data.lambdaresult"), LAMBDA_INPUT, {"HelloFunction": _hello}
    )
    assert output == {
        "comment": "An input comment.",
        "data": {"val1": 23, "val2": 17, "lambdaresult": "Hello, AWS Step Functions!"},
        "extra": "foo",
        "lambda": {"who": "AWS Step Functions"},
    }


def test_outputpath_filters_the_output() -> None:
    output = succeeds(
        _task(ResultPath="$.data.lambdaresult", OutputPath="$.data"),
        LAMBDA_INPUT,
        {"HelloFunction": _hello},
    )
    assert output == {"val1": 23, "val2": 17, "lambdaresult": "Hello, AWS Step Functions!"}


def test_resultselector_picks_from_the_task_result() -> None:
    # "ResultSelector": keep part of a service integration's result.
    result = {
        "resourceType": "elasticmapreduce",
        "resource": "createCluster.sync",
        "output": {
            "SdkHttpMetadata": {"HttpHeaders": {"Content-Length": "1112"}, "HttpStatusCode": 200},
            "SdkResponseMetadata": {"RequestId": "1234-5678-9012"},
            "ClusterId": "AKIAIOSFODNN7EXAMPLE",
        },
    }
    definition = single(
        {
            "Type": "Task",
            "Resource": ARN.format("cluster"),
            "ResultSelector": {
                "ClusterId.$": "$.output.ClusterId",
                "ResourceType.$": "$.resourceType",
            },
            "ResultPath": "$.EMROutput",
        }
    )
    assert succeeds(definition, {"input": 1}, {"cluster": lambda _event: result}) == {
        "input": 1,
        "EMROutput": {"ClusterId": "AKIAIOSFODNN7EXAMPLE", "ResourceType": "elasticmapreduce"},
    }


def test_a_missing_parameter_path_is_a_runtime_error_naming_the_field_and_input() -> None:
    # Step Functions reports a Parameters path that finds nothing as States.Runtime (not the
    # States.ParameterPathFailure the language specification lists), naming field and input.
    result = fails(single({"Type": "Pass", "Parameters": {"x.$": "$.missing"}}), {"a": 1})
    assert (result.error, result.cause) == (
        "States.Runtime",
        "An error occurred while executing the state 'S' (entered at the event id #2). "
        "The JSONPath '$.missing' specified for the field 'x.$' could not be found in the "
        """input '{"a":1}'""",
    )


def test_a_resultpath_that_cannot_be_applied_is_a_result_path_match_failure() -> None:
    # The input is a string: a result cannot be placed inside it.
    result = fails(single({"Type": "Pass", "Result": 1, "ResultPath": "$.a.b"}), "text")
    assert (result.error, result.cause) == (
        "States.ResultPathMatchFailure",
        'Unable to apply ReferencePath $.a.b to input "text"',
    )


def test_a_missing_inputpath_is_a_runtime_error_that_catch_does_not_see() -> None:
    # States.Runtime is not retriable, and States.ALL in a Catch does not match it.
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": ARN.format("echo"),
                "InputPath": "$.missing",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Succeed"},
        },
    }
    result = fails(definition, {"a": 1}, {"echo": lambda event: event})
    assert result.error == "States.Runtime"


# ---- Runtime errors of paths, worded as Step Functions words them ---------------------------------
# "Handling errors in Step Functions workflows" (States.Runtime) and the page of each field.


def test_a_missing_inputpath_names_the_state_its_entered_event_and_jayways_path() -> None:
    # "Filtering state output using InputPath, Parameters and ResultSelector".
    result = run(single({"Type": "Pass", "InputPath": "$.x"}), {"a": 1})
    assert failure(result) == (
        "States.Runtime",
        "An error occurred while executing the state 'S' (entered at the event id #2). "
        "Invalid path '$.x' : No results for path: $['x']",
    )
    assert result.events("ExecutionFailed")[0].details == {
        "error": "States.Runtime",
        "cause": result.cause,
    }


def test_a_missing_step_before_the_last_is_a_missing_property() -> None:
    result = run(single({"Type": "Pass", "OutputPath": "$.a.b.c"}), {"a": {"x": 1}})
    assert failure(result) == (
        "States.Runtime",
        state_error("S", 2, "Invalid path '$.a.b.c' : Missing property in path $['a']['b']"),
    )


def test_an_index_beyond_the_array_finds_no_results() -> None:
    result = run(single({"Type": "Pass", "InputPath": "$.list[3]"}), {"list": [1]})
    assert failure(result) == (
        "States.Runtime",
        state_error("S", 2, "Invalid path '$.list[3]' : No results for path: $['list'][3]"),
    )


def test_the_entered_event_id_counts_every_history_event_before_it() -> None:
    # ExecutionStarted #1, TaskStateEntered #2, LambdaFunctionScheduled, Started, Succeeded,
    # TaskStateExited #6, PassStateEntered #7.
    definition = {
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": ARN.format("echo"), "Next": "Check"},
            "Check": {"Type": "Pass", "OutputPath": "$.missing", "End": True},
        },
    }
    result = run(definition, {"a": 1}, {"echo": lambda event: event})
    assert failure(result) == (
        "States.Runtime",
        state_error("Check", 7, "Invalid path '$.missing' : No results for path: $['missing']"),
    )
    assert [e.type for e in result.history][6] == "PassStateEntered"


def test_a_resultselector_path_that_finds_nothing_names_its_field_and_the_result() -> None:
    definition = single(
        {
            "Type": "Task",
            "Resource": ARN.format("f"),
            "ResultSelector": {"id.$": "$.Cluster.Id"},
        }
    )
    result = run(definition, {}, {"f": lambda _event: {"Cluster": {}}})
    assert failure(result) == (
        "States.Runtime",
        state_error(
            "S",
            2,
            "The JSONPath '$.Cluster.Id' specified for the field 'id.$' could not be found in "
            """the input '{"Cluster":{}}'""",
        ),
    )


# ---- "Using JSONPath paths": bracket notation ------------------------------------------------------


def test_bracket_notation_with_escaped_quotes_and_special_characters() -> None:
    # Names with quotes, dots or spaces are written in brackets; a quote inside is escaped.
    definition = single(
        {
            "Type": "Pass",
            "Parameters": {
                "quoted.$": "$['Test\\\"Name']",
                "double.$": '$["it\'s"]',
                "dotted.$": "$['a.b']['c d']",
            },
            "ResultPath": "$['out put']",
        }
    )
    state_input = {'Test"Name': 1, "it's": 2, "a.b": {"c d": 3}}
    assert succeeds(definition, state_input) == {
        **state_input,
        "out put": {"quoted": 1, "double": 2, "dotted": 3},
    }


# ---- The context object ("Accessing execution data from the Context object") --------------------


def test_a_pass_states_context_object_has_no_retry_count_and_awss_key_order() -> None:
    # Recorded on AWS (LocalStack's snapshot test_context_object::test_input_path[$$]): a Pass
    # state's InputPath "$$" gives Execution, StateMachine, State in this order, and State has
    # no RetryCount (only the states with Retry count retries).
    output = succeeds(single({"Type": "Pass", "InputPath": "$$"}), {"input-value": 0})
    assert list(output) == ["Execution", "StateMachine", "State"]
    assert list(output["Execution"]) == [
        "Id",
        "Input",
        "StartTime",
        "Name",
        "RoleArn",
        "RedriveCount",
    ]
    assert output["Execution"]["Input"] == {"input-value": 0}
    assert output["Execution"]["RedriveCount"] == 0
    assert list(output["StateMachine"]) == ["Id", "Name"]
    assert list(output["State"]) == ["Name", "EnteredTime"]
    assert output["State"]["Name"] == "S"


def test_a_task_states_context_object_counts_its_retries() -> None:
    definition = single(
        {
            "Type": "Task",
            "Resource": ARN.format("f"),
            "Parameters": {"state.$": "$$.State"},
        }
    )
    output = succeeds(definition, {}, {"f": lambda event: event["state"]})
    assert list(output) == ["Name", "EnteredTime", "RetryCount"]
    assert output["RetryCount"] == 0
