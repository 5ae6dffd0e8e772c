"""API reference, "ValidateStateMachineDefinition": every problem at once, each with its location."""

from __future__ import annotations

import pytest

from bakusoku.workflow import DefinitionError, diagnose, run_definition


def test_every_problem_is_reported_with_its_location() -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {
                "Type": "Pass",
                "InputPath": "$..[",
                "Parameters": {"x.$": "States.Nope(1)"},
                "Next": "Missing",
            },
            "B": {"Type": "Bogus"},
            "C": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f",
                "Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}],
            },
        },
    }
    with pytest.raises(DefinitionError) as raised:
        run_definition(definition, {})
    found = {(d.code, d.location) for d in raised.value.diagnostics}
    assert found >= {
        ("MISSING_TRANSITION_TARGET", "/States/A/Next"),
        ("SCHEMA_VALIDATION_FAILED", "/States/A/InputPath"),
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Parameters/x.$"),
        ("SCHEMA_VALIDATION_FAILED", "/States/B/Type"),
        ("MISSING_TRANSITION_TARGET", "/States/C/Next"),
        ("SCHEMA_VALIDATION_FAILED", "/States/C/Retry/0/ErrorEquals"),
        ("UNREACHABLE_STATE", "/States/B"),
        ("UNREACHABLE_STATE", "/States/C"),
    }
    assert all(d.to_aws()["severity"] == "ERROR" for d in raised.value.diagnostics)


def test_nested_states_are_located_inside_their_branch() -> None:
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "End": True,
                "Branches": [{"StartAt": "Q", "States": {"Q": {"Type": "Pass"}}}],
            },
        },
    }
    assert [d.location for d in diagnose(definition)] == ["/States/P/Branches/0/States/Q/Next"]


def test_a_valid_definition_has_no_diagnostics() -> None:
    assert diagnose({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}) == []
