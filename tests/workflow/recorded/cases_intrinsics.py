"""Intrinsic functions recorded on AWS (LocalStack's ``intrinsic_functions``): each template is a
Pass state whose Parameters call the function on ``$.FunctionInput``."""

from __future__ import annotations

from typing import Any

from tests.workflow.recorded.case import ACCOUNT, LS, REGION, Case

GENERIC = LS + "intrinsic_functions/test_generic.py::TestGeneric::"
MATH = LS + "intrinsic_functions/test_math_operations.py::TestMathOperations::"

_FORMAT_2 = "States.Format('Formatting arguments fst={} and snd={}.', $.FunctionInput.fst, $.FunctionInput.snd)"


def _function(expression: str, state: str = "State_0") -> dict[str, Any]:
    return {
        "StartAt": state,
        "States": {
            state: {"Type": "Pass", "Parameters": {"FunctionResult.$": expression}, "End": True}
        },
    }


def _result(
    test: str, expression: str, value: Any, result: Any, state: str = "State_0", **extra: Any
) -> Case:
    return Case(
        test,
        _function(expression, state),
        {"FunctionInput": value},
        output={"FunctionResult": result},
        **extra,
    )


_MACHINE = "statemachine_1a2b3c"

CASES = [
    _result(
        GENERIC + "test_format_1[exec_hist_resp_3]",
        "States.Format('Formatting argument {}.', $.FunctionInput)",
        None,
        "Formatting argument null.",
    ),
    _result(
        GENERIC + "test_format_1[exec_hist_resp_5]",
        "States.Format('Formatting argument {}.', $.FunctionInput)",
        1.1,
        "Formatting argument 1.1.",
    ),
    _result(
        GENERIC + "test_format_1[exec_hist_resp_6]",
        "States.Format('Formatting argument {}.', $.FunctionInput)",
        '{"Arg1": 1, "Arg2": []}',
        'Formatting argument {"Arg1": 1, "Arg2": []}.',
    ),
    _result(
        GENERIC + "test_format_2[exec_hist_resp_7]",
        _FORMAT_2,
        {"fst": {"Arg1": 1, "Arg2": []}, "snd": {"Arg1": 1, "Arg2": []}},
        "Formatting arguments fst={Arg1=1, Arg2=[]} and snd={Arg1=1, Arg2=[]}.",
    ),
    _result(
        GENERIC + "test_context_json_path",
        "States.Format('Formatting arguments fst={} and snd={}.', $$.Execution.Name, $$.StateMachine)",
        None,
        f"Formatting arguments fst=execution and snd={{Id=arn:aws:states:{REGION}:{ACCOUNT}:"
        f"stateMachine:{_MACHINE}, Name={_MACHINE}}}.",
    ),
    _result(
        GENERIC + "test_nested_calls_1",
        "States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), 0)",
        None,
        _MACHINE,
        state="State0",
    ),
    _result(
        GENERIC + "test_nested_calls_2",
        "States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), "
        "States.MathAdd(States.ArrayLength(States.StringSplit($$.StateMachine.Name, '-')), -1))",
        None,
        _MACHINE,
        state="State0",
    ),
    _result(
        GENERIC + "test_escape_sequence",
        "States.StringSplit('Hello\nWorld', '\n')",
        None,
        ["Hello", "World"],
        state="State0",
    ),
    *(
        _result(
            MATH + f"test_math_add[exec_hist_resp_{index}]",
            "States.MathAdd($.FunctionInput.fst, $.FunctionInput.snd)",
            {"fst": fst, "snd": snd},
            result,
        )
        for index, (fst, snd, result) in enumerate(
            [(-9, 3, -6), (1.49, 1.5, 3), (1.5, 1.51, 4), (-1.49, -1.5, -2)]
        )
    ),
]
