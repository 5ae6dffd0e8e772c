"""FunctionInvoker: the one in-process invoker finds a function however a Task names it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bakusoku.workflow.errors import TaskFailedError
from bakusoku.workflow.invoker import FunctionInvoker, TaskCall, TaskRequest

ARN = "arn:aws:lambda:eu-west-1:111122223333:function:{}"


def _call(invoker: FunctionInvoker, resource: str, payload: Any = None) -> Any:
    return invoker.invoke(TaskRequest(resource, payload, "e1", "Resize", timeout_seconds=30))


@pytest.mark.parametrize(
    "resource",
    [
        "resize",
        "local:resize",
        ARN.format("resize"),
        "111122223333:function:resize",
        ARN.format("resize") + ":live",
    ],
)
def test_a_function_keyed_by_name_is_found_by_every_way_of_naming_it(resource: str) -> None:
    invoker = FunctionInvoker({"resize": lambda event: event["n"] + 1})
    assert _call(invoker, resource, {"n": 1}) == 2


def test_an_exact_key_and_a_qualified_key_win_over_the_name() -> None:
    invoker = FunctionInvoker(
        {
            "resize": lambda _e: "plain",
            "resize:live": lambda _e: "alias",
            ARN.format("resize"): lambda _e: "by arn",
        },
        region="eu-west-1",
        account="111122223333",
    )
    assert _call(invoker, ARN.format("resize")) == "by arn"
    assert _call(invoker, "resize") == "plain"
    assert _call(invoker, ARN.format("resize") + ":live") == "alias"


def test_a_name_finds_the_function_keyed_by_its_full_arn() -> None:
    invoker = FunctionInvoker(
        {ARN.format("resize"): lambda _e: "by arn"}, region="eu-west-1", account="111122223333"
    )
    assert _call(invoker, "resize") == "by arn"


def test_a_missing_function_fails_as_lambda_reports_it() -> None:
    invoker = FunctionInvoker({}, region="eu-west-1", account="111122223333")
    with pytest.raises(TaskFailedError) as raised:
        _call(invoker, "thumbnail")
    assert raised.value.error == "Lambda.ResourceNotFoundException"
    assert ARN.format("thumbnail") in raised.value.cause


def test_another_services_arn_is_found_only_by_exact_key() -> None:
    queue = "arn:aws:sqs:eu-west-1:111122223333:jobs"
    assert _call(FunctionInvoker({queue: lambda _e: "sent"}), queue) == "sent"
    with pytest.raises(TaskFailedError, match="ResourceNotFound"):
        _call(FunctionInvoker({"jobs": lambda _e: "sent"}), queue)


def test_an_exception_becomes_lambdas_error_payload() -> None:
    def broken(_event: Any) -> Any:
        raise KeyError("width")

    with pytest.raises(TaskFailedError) as raised:
        _call(FunctionInvoker({"resize": broken}), "resize")
    assert raised.value.error == "KeyError"
    cause = json.loads(raised.value.cause or "")
    assert (cause["errorType"], cause["errorMessage"]) == ("KeyError", "'width'")
    assert cause["stackTrace"]


def test_two_argument_functions_get_the_call_or_what_the_factory_makes_of_it() -> None:
    seen: list[Any] = []
    functions = {"resize": lambda _event, context: seen.append(context)}
    _call(FunctionInvoker(functions, region="eu-west-1", account="111122223333"), "resize")
    _call(FunctionInvoker(functions, context=lambda call: call.state_name), "resize")
    assert seen == [TaskCall("resize", ARN.format("resize"), "e1", "Resize", 30), "Resize"]


def test_bound_methods_count_their_arguments_without_self() -> None:
    class Handlers:
        def resize(self, event: Any) -> Any:
            return event

    assert _call(FunctionInvoker({"resize": Handlers().resize}), "resize", 7) == 7
