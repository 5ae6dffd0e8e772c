"""JSONata Output and Choice, recorded on AWS (LocalStack's ``outputdecl``)."""

from __future__ import annotations

from typing import Any

from tests.workflow.recorded.case import LS, Case
from tests.workflow.recorded.cases_variables import ROLE_ARN

OUTPUT = LS + "outputdecl/test_output.py::TestArgumentsBase::"

_INPUT = {"input_value": "string literal", "input_values": [1, 2, 3]}
_CONSTANT_LIST: list[Any] = [
    None,
    0,
    0.1,
    True,
    [],
    {"constant": 0},
    " {% states.input %} ",
    "$states.input",
    "$no.such.var.path",
]
_LITERALS: dict[str, Any] = {
    "constant_null": None,
    "constant_int": 0,
    "constant_float": 0.1,
    "constant_bool": True,
    "constant_str": "constant string",
    "constant_not_jsonata": " {% states.input %} ",
    "constant_varpath_states": "$states.input",
    "constant_varpath": "$no.such.var.path",
    "constant_jp_input": "$",
    "constant_jp_input.$": "$",
    "constant_jp_input_path": "$.input_value",
    "constant_jp_context": "$$",
    "constant_if": "States.Format('Format:{}', 101)",
    "constant_lst_empty": [],
    "constant_lst": _CONSTANT_LIST,
    "constant_obj_empty": {},
    "constant_obj": {
        "in_obj_constant_null": None,
        "in_obj_constant_int": 0,
        "in_obj_constant_float": 0.1,
        "in_obj_constant_bool": True,
        "in_obj_constant_str": "constant string",
        "in_obj_constant_not_jsonata": " {% states.input %} ",
        "in_obj_constant_lst_empty": [],
        "in_obj_constant_lst": _CONSTANT_LIST,
        "in_obj_constant_obj_empty": {},
        "in_obj_constant_obj": {"constant": 0},
    },
}


def _output(output: Any) -> dict[str, Any]:
    return {
        "StartAt": "State0",
        "States": {
            "State0": {"QueryLanguage": "JSONata", "Type": "Pass", "Output": output, "End": True}
        },
    }


def _after_init(assign: dict[str, Any], output: Any) -> dict[str, Any]:
    machine = _output(output)
    machine["StartAt"] = "Init"
    machine["States"] = {
        "Init": {"Type": "Pass", "Assign": assign, "Next": "State0"},
        **machine["States"],
    }
    return machine


_MACHINE = "statemachine_1a2b3c"
_CHOICE = {
    "QueryLanguage": "JSONata",
    "StartAt": "ChoiceState",
    "States": {
        "ChoiceState": {
            "Type": "Choice",
            "Choices": [
                {
                    "Condition": "{% $states.input.condition %}",
                    "Next": "ConditionTrue",
                    "Output": "Condition Output block",
                }
            ],
            "Default": "DefaultState",
            "Output": "Default Output block",
        },
        "ConditionTrue": {"Type": "Pass", "End": True},
        "DefaultState": {"Type": "Fail", "Cause": "Condition is false"},
    },
}

# (test id, the state's Output, the execution's recorded output)
_NON_DICT_OUTPUTS: list[tuple[str, Any, Any]] = [
    ("NULL", None, None),
    ("INT", 0, 0),
    ("FLOAT", 0.1, 0.1),
    ("BOOL", True, True),
    ("STR_LIT", "string literal", "string literal"),
    ("JSONATA_EXPR", "{% $states.input %}", {"input_value": "stringliteral"}),
    ("LIST_EMPY", [], []),
    (
        "LIST_RICH",
        [
            None,
            0,
            0.1,
            True,
            "string",
            [],
            "$nosuchvar",
            "$.no.such.path",
            "{% $states.input %}",
            {"key": "{% true %}"},
        ],
        [
            None,
            0,
            0.1,
            True,
            "string",
            [],
            "$nosuchvar",
            "$.no.such.path",
            {"input_value": "stringliteral"},
            {"key": True},
        ],
    ),
]

CASES = [
    Case(OUTPUT + "test_base_cases[BASE_EMPTY]", _output({}), _INPUT, output={}),
    Case(OUTPUT + "test_base_cases[BASE_LITERALS]", _output(_LITERALS), _INPUT, output=_LITERALS),
    Case(
        OUTPUT + "test_base_cases[BASE_EXPR]",
        _after_init(
            {"var_input_value.$": "$.input_value", "var_constant_1": 1},
            {
                "ja_states_context": "{% $states.context %}",
                "ja_states_input": "{% $states.input %}",
                "ja_var_access": "{% $var_input_value %}",
                "ja_expr": "{% $sum($states.input.input_values) + $var_constant_1 %}",
            },
        ),
        _INPUT,
        output={
            "ja_states_context": {
                "Execution": {
                    "Id": f"arn:aws:states:us-east-1:111111111111:execution:{_MACHINE}:execution",
                    "Input": _INPUT,
                    "StartTime": "<time>",
                    "Name": "execution",
                    "RoleArn": ROLE_ARN,
                    "RedriveCount": 0,
                },
                "StateMachine": {
                    "Id": f"arn:aws:states:us-east-1:111111111111:stateMachine:{_MACHINE}",
                    "Name": _MACHINE,
                },
                "State": {"Name": "State0", "EnteredTime": "<time>"},
            },
            "ja_states_input": _INPUT,
            "ja_var_access": "string literal",
            "ja_expr": 7,
        },
    ),
    *(
        Case(
            OUTPUT + f"test_base_output_any_non_dict[{name}]",
            _output(output),
            {"input_value": "stringliteral"},
            output=result,
        )
        for name, output, result in _NON_DICT_OUTPUTS
    ),
    Case(
        OUTPUT + "test_output_in_choice[CONDITION_TRUE]",
        _CHOICE,
        {"condition": True},
        output="Condition Output block",
    ),
    Case(
        OUTPUT + "test_output_in_choice[CONDITION_FALSE]",
        _CHOICE,
        {"condition": False},
        status="FAILED",
        cause="Condition is false",
        events=(
            "ExecutionStarted",
            "ChoiceStateEntered",
            "ChoiceStateExited",
            "FailStateEntered",
            "ExecutionFailed",
        ),
    ),
]
