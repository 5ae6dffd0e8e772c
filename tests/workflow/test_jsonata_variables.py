"""JSONata states (Arguments, Output, Assign, $states) and workflow variables in both languages."""

from __future__ import annotations

from typing import Any

import pytest

from bakusoku.workflow.definition import load_definition
from bakusoku.workflow.errors import DefinitionError, StatesError

from .conftest import MemorySink, fn_arn, run_definition


def jsonata(states: dict[str, Any], start: str) -> dict[str, Any]:
    return {"QueryLanguage": "JSONata", "StartAt": start, "States": states}


def test_pass_output_expression() -> None:
    definition = jsonata(
        {
            "P": {
                "Type": "Pass",
                "Output": {"total": "{% $states.input.a + $states.input.b %}"},
                "End": True,
            }
        },
        "P",
    )
    assert run_definition(definition, {"a": 2, "b": 3}) == {"total": 5}


def test_task_arguments_result_output_and_variables() -> None:
    seen: list[Any] = []

    def lookup(event: Any) -> dict[str, Any]:
        seen.append(event)
        return {"price": 10, "currency": "EUR"}

    definition = jsonata(
        {
            "Lookup": {
                "Type": "Task",
                "Resource": fn_arn("lookup"),
                "Arguments": {"sku": "{% $states.input.sku %}", "fixed": 1},
                "Assign": {"price": "{% $states.result.price %}"},
                "Output": "{% $states.result.currency %}",
                "Next": "Total",
            },
            "Total": {
                "Type": "Pass",
                "Output": {
                    "total": "{% $price * 3 %}",
                    "currency": "{% $states.input %}",
                    "execution": "{% $states.context.Execution.Name %}",
                },
                "End": True,
            },
        },
        "Lookup",
    )
    output = run_definition(definition, {"sku": "A1"}, {fn_arn("lookup"): lookup})
    assert seen == [{"sku": "A1", "fixed": 1}]
    assert output == {"total": 30, "currency": "EUR", "execution": "exec-1"}


def test_assign_and_output_see_the_variables_as_the_state_was_entered() -> None:
    definition = jsonata(
        {
            "First": {"Type": "Pass", "Assign": {"x": 1}, "Next": "Second"},
            "Second": {
                "Type": "Pass",
                "Assign": {"x": "{% $x + 1 %}", "y": "{% $x %}"},
                "Output": {"x": "{% $x %}"},
                "Next": "Third",
            },
            "Third": {"Type": "Pass", "Output": {"x": "{% $x %}", "y": "{% $y %}"}, "End": True},
        },
        "First",
    )
    assert run_definition(definition, {}) == {"x": 2, "y": 1}


def test_choice_condition_and_rule_assign() -> None:
    definition = jsonata(
        {
            "Route": {
                "Type": "Choice",
                "Choices": [
                    {
                        "Condition": "{% $states.input.size > 100 %}",
                        "Assign": {"big": True},
                        "Next": "Big",
                    }
                ],
                "Default": "Small",
                "Output": {"default": True},
            },
            "Big": {"Type": "Pass", "Output": "{% $big %}", "End": True},
            "Small": {"Type": "Pass", "End": True},
        },
        "Route",
    )
    assert run_definition(definition, {"size": 500}) is True
    assert run_definition(definition, {"size": 5}) == {"default": True}


def test_choice_condition_must_be_boolean() -> None:
    definition = jsonata(
        {
            "Route": {
                "Type": "Choice",
                "Choices": [{"Condition": "{% $states.input.size %}", "Next": "Done"}],
            },
            "Done": {"Type": "Succeed"},
        },
        "Route",
    )
    with pytest.raises(StatesError) as failure:
        run_definition(definition, {"size": 5})
    assert failure.value.error == "States.QueryEvaluationError"


def test_map_items_and_item_selector() -> None:
    definition = jsonata(
        {
            "Each": {
                "Type": "Map",
                "Items": "{% $states.input.numbers %}",
                "ItemSelector": {
                    "value": "{% $states.context.Map.Item.Value %}",
                    "index": "{% $states.context.Map.Item.Index %}",
                },
                "ItemProcessor": {
                    "StartAt": "Square",
                    "States": {
                        "Square": {
                            "Type": "Pass",
                            "Output": "{% $states.input.value * $states.input.value + $states.input.index %}",
                            "End": True,
                        }
                    },
                },
                "Output": {"squares": "{% $states.result %}"},
                "End": True,
            }
        },
        "Each",
    )
    assert run_definition(definition, {"numbers": [1, 2, 3]}) == {"squares": [1, 5, 11]}


def test_catch_error_output() -> None:
    def fail(event: Any) -> None:
        raise PermissionError("no access")

    definition = jsonata(
        {
            "Work": {
                "Type": "Task",
                "Resource": fn_arn("fail"),
                "Catch": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "Assign": {"failedWith": "{% $states.errorOutput.Error %}"},
                        "Output": {
                            "input": "{% $states.input %}",
                            "error": "{% $states.errorOutput.Error %}",
                        },
                        "Next": "Report",
                    }
                ],
                "End": True,
            },
            "Report": {
                "Type": "Pass",
                "Output": {"seen": "{% $states.input %}", "var": "{% $failedWith %}"},
                "End": True,
            },
        },
        "Work",
    )
    output = run_definition(definition, {"k": 1}, {fn_arn("fail"): fail})
    assert output == {
        "seen": {"input": {"k": 1}, "error": "PermissionError"},
        "var": "PermissionError",
    }


def test_wait_and_fail_with_expressions() -> None:
    definition = jsonata(
        {
            "Pause": {"Type": "Wait", "Seconds": "{% $states.input.delay %}", "Next": "Stop"},
            "Stop": {
                "Type": "Fail",
                "Error": "{% 'Err.' & $states.input.kind %}",
                "Cause": "{% $string($states.input.delay) %}",
            },
        },
        "Pause",
    )
    with pytest.raises(StatesError) as failure:
        run_definition(definition, {"delay": 2, "kind": "Slow"})
    assert (failure.value.error, failure.value.cause) == ("Err.Slow", "2")


def test_runtime_expression_error_is_catchable() -> None:
    definition = jsonata(
        {
            "Work": {
                "Type": "Task",
                "Resource": fn_arn("ok"),
                "Arguments": "{% $notAFunction() %}",
                "Catch": [{"ErrorEquals": ["States.QueryEvaluationError"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "Output": "{% $states.input.Error %}", "End": True},
        },
        "Work",
    )
    assert (
        run_definition(definition, {}, {fn_arn("ok"): lambda e: e}) == "States.QueryEvaluationError"
    )


def _fan_out_then(after: dict[str, Any]) -> dict[str, Any]:
    """Assign ``outer``; a branch reads it and assigns ``inner``; then state ``After``."""
    return jsonata(
        {
            "Set": {"Type": "Pass", "Assign": {"outer": 5}, "Next": "Fan"},
            "Fan": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "B",
                        "States": {
                            "B": {
                                "Type": "Pass",
                                "Assign": {"inner": 1},
                                "Output": "{% $outer * 2 %}",
                                "End": True,
                            }
                        },
                    }
                ],
                "Next": "After",
            },
            "After": {"Type": "Pass", **after, "End": True},
        },
        "Set",
    )


def test_parallel_branches_read_outer_variables_but_do_not_leak() -> None:
    read_output = _fan_out_then({"Output": {"result": "{% $states.input %}"}})
    assert run_definition(read_output, {}) == {"result": [10]}
    # The branch's variable is not assigned out here: reading it fails the state.
    read_inner = _fan_out_then({"Output": {"inner": "{% $inner %}"}})
    with pytest.raises(StatesError) as failure:
        run_definition(read_inner, {})
    assert failure.value.error == "States.QueryEvaluationError"
    assert "'$inner'" in failure.value.cause and "returned nothing" in failure.value.cause


def test_jsonpath_assign_and_variable_paths() -> None:
    definition = {
        "StartAt": "Fetch",
        "States": {
            "Fetch": {
                "Type": "Task",
                "Resource": fn_arn("fetch"),
                "Assign": {"user.$": "$.user", "label": "fixed", "when.$": "$$.Execution.Name"},
                "ResultSelector": {"id.$": "$.user.id"},
                "Next": "Use",
            },
            "Use": {
                "Type": "Pass",
                "Parameters": {
                    "name.$": "$user.name",
                    "label.$": "$label",
                    "when.$": "$when",
                    "greeting.$": "States.Format('hi {}', $user.name)",
                    "selected.$": "$",
                },
                "End": True,
            },
        },
    }
    output = run_definition(
        definition, {}, {fn_arn("fetch"): lambda e: {"user": {"id": 7, "name": "Kai"}}}
    )
    assert output == {
        "name": "Kai",
        "label": "fixed",
        "when": "exec-1",
        "greeting": "hi Kai",
        "selected": {"id": 7},
    }


def test_jsonata_state_in_a_jsonpath_machine() -> None:
    definition = {
        "StartAt": "Path",
        "States": {
            "Path": {"Type": "Pass", "Parameters": {"n.$": "$.n"}, "Next": "Ata"},
            "Ata": {
                "Type": "Pass",
                "QueryLanguage": "JSONata",
                "Output": "{% $states.input.n * 10 %}",
                "End": True,
            },
        },
    }
    assert run_definition(definition, {"n": 4}) == 40


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ({"Type": "Pass", "Output": "{% 1 + %}", "End": True}, "field Output"),
        ({"Type": "Pass", "Assign": {"bad-name": 1}, "End": True}, "field Assign.bad-name"),
        ({"Type": "Pass", "Assign": {"states": 1}, "End": True}, "reserved"),
        ({"Type": "Pass", "Parameters": {}, "End": True}, "JSONPath-only"),
    ],
)
def test_jsonata_definition_errors(state: dict[str, Any], message: str) -> None:
    with pytest.raises(DefinitionError, match=message):
        load_definition(jsonata({"S": state}, "S"))


def test_exited_events_record_the_variables_a_state_assigned() -> None:
    # Recorded on AWS: StateExited carries assignedVariables (each value as JSON text) when the
    # state assigned any; a state assigning nothing has neither field.
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Assign": {"n": 42, "s.$": "$.s"}, "Next": "B"},
            "B": {"Type": "Pass", "Next": "C"},
            "C": {
                "Type": "Pass",
                "QueryLanguage": "JSONata",
                "Assign": {"old": "{% $n %}", "o": {"k": [1]}},
                "End": True,
            },
        },
    }
    sink = MemorySink()
    run_definition(definition, {"s": "text"}, sink=sink)
    exited = [event.details for event in sink.events if event.type == "PassStateExited"]
    assert exited[0]["assignedVariables"] == {"n": "42", "s": '"text"'}
    assert exited[0]["assignedVariablesDetails"] == {"truncated": False}
    assert "assignedVariables" not in exited[1]
    assert exited[2]["assignedVariables"] == {"old": "42", "o": '{"k":[1]}'}
