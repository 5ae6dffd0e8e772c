"""Loading, substituting and validating definitions: each error names the state and the field."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bakusoku.workflow.definition import load_definition, substitute
from bakusoku.workflow.errors import DefinitionError

VALID: dict[str, Any] = {
    "Comment": "valid",
    "StartAt": "Work",
    "States": {
        "Work": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:work",
            "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
            "Next": "Decide",
        },
        "Decide": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.ok", "BooleanEquals": True, "Next": "Done"}],
            "Default": "Failed",
        },
        "Done": {"Type": "Succeed"},
        "Failed": {"Type": "Fail", "Error": "Bad"},
    },
}


def broken(change: Any) -> dict[str, Any]:
    definition = copy.deepcopy(VALID)
    change(definition)
    return definition


def test_valid_json_and_yaml() -> None:
    assert load_definition(VALID) == VALID
    yaml_text = """
StartAt: Wait
States:
  Wait:
    Type: Wait
    Timestamp: 2016-03-14T01:59:00Z
    End: true
"""
    loaded = load_definition(yaml_text)
    assert loaded["States"]["Wait"]["Timestamp"] == "2016-03-14T01:59:00Z"  # kept a string


def test_substitutions_like_cloudformation() -> None:
    text = (
        '{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "${Fn}", '
        '"TimeoutSeconds": ${T}, "End": true}}}'
    )
    loaded = load_definition(text, {"Fn": "arn:aws:lambda:us-east-1:1:function:f", "T": "30"})
    assert loaded["States"]["T"]["Resource"] == "arn:aws:lambda:us-east-1:1:function:f"
    assert loaded["States"]["T"]["TimeoutSeconds"] == 30
    with pytest.raises(DefinitionError, match=r"\$\{Fn\}"):
        substitute("${Fn}", {})
    mapping = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "${V}", "End": True}}}
    assert load_definition(mapping, {"V": "v"})["States"]["P"]["Result"] == "v"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(StartAt="Nope"), "StartAt 'Nope'"),
        (lambda d: d.pop("States"), "States"),
        (lambda d: d["States"]["Work"].update(Next="Missing"), "state 'Work', field Next"),
        (lambda d: d["States"]["Work"].update(End=True), "state 'Work', field Next"),
        (lambda d: d["States"]["Work"].pop("Next"), "state 'Work', field Next"),
        (lambda d: d["States"]["Done"].update(Next="Work"), "state 'Done', field Next"),
        (lambda d: d["States"]["Work"].update(Type="Job"), "state 'Work', field Type"),
        (lambda d: d["States"]["Work"].update(Bogus=1), "state 'Work', field Bogus"),
        (lambda d: d["States"]["Work"].pop("Resource"), "state 'Work', field Resource"),
        (
            lambda d: d["States"]["Work"]["Retry"].insert(0, {"ErrorEquals": ["States.ALL"]}),
            "States.ALL must be in the last rule",
        ),
        (
            lambda d: d["States"]["Work"].update(Retry=[{"ErrorEquals": ["X", "States.ALL"]}]),
            "States.ALL must appear alone",
        ),
        (
            lambda d: d["States"]["Work"]["Retry"][0].update(IntervalSeconds=0),
            "Retry[0].IntervalSeconds",
        ),
        (lambda d: d["States"]["Work"]["Retry"][0].update(MaxAttempts=-1), "Retry[0].MaxAttempts"),
        (lambda d: d["States"]["Work"]["Retry"][0].update(BackoffRate=0.5), "Retry[0].BackoffRate"),
        (
            lambda d: d["States"]["Work"]["Retry"][0].update(JitterStrategy="HALF"),
            "Retry[0].JitterStrategy",
        ),
        (lambda d: d["States"]["Work"]["Catch"][0].update(Next="Gone"), "Catch[0].Next"),
        (lambda d: d["States"]["Work"]["Catch"][0].pop("ErrorEquals"), "Catch[0].ErrorEquals"),
        (
            lambda d: d["States"]["Work"]["Retry"][0].update(Next="Done"),
            "Retry[0].Next: is not a field of a retrier",
        ),
        (
            lambda d: d["States"]["Work"]["Catch"][0].update(MaxAttempts=1),
            "Catch[0].MaxAttempts: is not a field of a catcher",
        ),
        (lambda d: d["States"]["Work"].update(Catch={}), "must be an array of catchers"),
        (lambda d: d["States"]["Work"].update(Retry=["x"]), "Retry[0]: must be a JSON object"),
        (lambda d: d["States"]["Work"].update(TimeoutSeconds=0), "field TimeoutSeconds"),
        (
            lambda d: d["States"]["Work"].update(TimeoutSeconds=5, TimeoutSecondsPath="$.t"),
            "field TimeoutSeconds",
        ),
        (lambda d: d["States"]["Work"].update(ResultPath="$.a[*]"), "field ResultPath"),
        (lambda d: d["States"]["Work"].update(InputPath="nope"), "field InputPath"),
        (
            lambda d: d["States"]["Work"].update(Parameters={"a.$": "States.Nope()"}),
            "field Parameters.a.$",
        ),
        (lambda d: d["States"]["Decide"].update(Choices=[]), "state 'Decide', field Choices"),
        (
            lambda d: d["States"]["Decide"]["Choices"][0].update(StringEquals="x"),
            "exactly one comparison operator",
        ),
        (
            lambda d: d["States"]["Decide"]["Choices"][0].pop("Variable"),
            "Choices[0].Variable",
        ),
        (lambda d: d["States"]["Decide"].update(Default="Missing"), "field Default"),
        (
            lambda d: d["States"]["Failed"].update(ErrorPath="$.e"),
            "state 'Failed', field Error",
        ),
        (lambda d: d["States"].update(Orphan={"Type": "Succeed"}), "'Orphan'"),
        (lambda d: d["States"].update({"x" * 81: {"Type": "Succeed"}}), "1-80 characters"),
    ],
)
def test_invalid_definitions(change: Any, message: str) -> None:
    with pytest.raises(DefinitionError) as error:
        load_definition(broken(change))
    assert message in str(error.value)


def test_parallel_branches_are_validated_in_their_own_scope() -> None:
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "After"}}}],
                "Next": "After",
            },
            "After": {"Type": "Succeed"},
        },
    }
    with pytest.raises(DefinitionError, match="state 'A', field Next"):
        load_definition(definition)
    definition["States"]["P"]["Branches"] = []  # type: ignore[index]
    with pytest.raises(DefinitionError, match="field Branches"):
        load_definition(definition)


def test_map_needs_one_processor() -> None:
    definition = {"StartAt": "M", "States": {"M": {"Type": "Map", "End": True}}}
    with pytest.raises(DefinitionError, match="state 'M', field ItemProcessor"):
        load_definition(definition)


def test_wait_needs_exactly_one_duration() -> None:
    definition: dict[str, Any] = {"StartAt": "W", "States": {"W": {"Type": "Wait", "End": True}}}
    with pytest.raises(DefinitionError, match="state 'W'"):
        load_definition(definition)
    definition["States"]["W"].update(Seconds=1, SecondsPath="$.s")
    with pytest.raises(DefinitionError, match="exactly one"):
        load_definition(definition)


def test_not_json_or_yaml() -> None:
    with pytest.raises(DefinitionError, match="neither valid JSON nor YAML"):
        load_definition("{: nope")
    with pytest.raises(DefinitionError, match="JSON object"):
        load_definition("[1, 2]")


def test_query_language_field_rules() -> None:
    jsonata_with_paths = {
        "QueryLanguage": "JSONata",
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "InputPath": "$.a", "End": True}},
    }
    with pytest.raises(DefinitionError, match="JSONPath-only"):
        load_definition(jsonata_with_paths)
    jsonpath_with_output = {
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Output": 1, "End": True}},
    }
    with pytest.raises(DefinitionError, match="JSONata-only"):
        load_definition(jsonpath_with_output)


def test_json_text_is_read_as_json() -> None:
    # "\/" is a JSON escape that YAML 1.1 readers do not all accept.
    text = '{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "a\\/b", "End": true}}}'
    assert load_definition(text)["States"]["P"]["Result"] == "a/b"
