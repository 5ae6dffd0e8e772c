"""Payload and result marshalling: JSON only, Lambda's size limits and error names."""

from __future__ import annotations

import decimal

import pytest

from bakusoku.runtime import (
    FunctionError,
    InvalidRequestContentError,
    RequestTooLargeError,
    ResourceNotFoundError,
)
from tests.runtime.conftest import RuntimeFactory, fn


def test_event_arrives_as_parsed_json(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(fn("echo"))

    result = runtime.invoke(
        "echo", {"key": "a b.jpg", "sizes": (1, 2), "price": decimal.Decimal("5")}
    )

    assert result == {"key": "a b.jpg", "sizes": [1, 2], "price": 5}  # a JSON round trip
    assert runtime.invoke("echo", b'{"raw": true}') == {"raw": True}  # bytes: JSON as sent
    assert runtime.invoke("echo", None) is None


@pytest.mark.parametrize("payload", [{"when": object()}, {"nan": float("nan")}, b"{not json"])
def test_payload_that_is_not_json_is_refused(make_runtime: RuntimeFactory, payload: object) -> None:
    runtime = make_runtime(fn("echo"))

    with pytest.raises(InvalidRequestContentError) as caught:
        runtime.invoke("echo", payload)

    assert caught.value.error_type == "Lambda.InvalidRequestContentException"
    assert caught.value.error_message.startswith("Could not parse request body into json: ")
    assert runtime.metrics().functions["echo"].cold_starts == 0  # refused before any environment


def test_payload_over_six_megabytes_is_refused(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(fn("echo"))

    with pytest.raises(RequestTooLargeError) as caught:
        runtime.invoke("echo", {"data": "x" * 6_291_456})

    assert caught.value.error_type == "Lambda.RequestTooLargeException"
    assert "Request must be smaller than 6291456 bytes for the InvokeFunction operation" in (
        caught.value.error_message
    )
    assert runtime.invoke("echo", {"data": "x" * 6_000_000})["data"] == "x" * 6_000_000


def test_result_that_is_not_json_is_a_marshal_error(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(fn("unserialisable"))

    with pytest.raises(FunctionError) as caught:
        runtime.invoke("unserialisable", {})

    assert caught.value.error_type == "Runtime.MarshalError"
    assert caught.value.error_message == (
        "Unable to marshal response: Object of type object is not JSON serializable"
    )


def test_result_over_the_response_limit(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(fn("huge"))

    with pytest.raises(FunctionError) as caught:
        runtime.invoke("huge", {})

    assert caught.value.error_type == "Function.ResponseSizeTooLarge"
    assert "(6291556 bytes)" in caught.value.error_message


def test_bytes_result_is_returned_raw(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(fn("raw_bytes"))

    assert runtime.invoke("raw_bytes", {}) == b"\x00not json"


@pytest.mark.parametrize(
    "target",
    [
        "missing",
        "echo:7",
        "arn:aws:lambda:eu-west-1:000000000000:function:echo",
        "arn:aws:lambda:us-east-1:999999999999:function:echo",
    ],
)
def test_unknown_function_is_resource_not_found(make_runtime: RuntimeFactory, target: str) -> None:
    runtime = make_runtime(fn("echo"))

    with pytest.raises(ResourceNotFoundError) as caught:
        runtime.invoke(target, {})

    assert caught.value.error_type == "Lambda.ResourceNotFoundException"
    assert caught.value.error_message.startswith("Function not found: arn:aws:lambda:")
    assert "configured functions: echo" in caught.value.error_message
