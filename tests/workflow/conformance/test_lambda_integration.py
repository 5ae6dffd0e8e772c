"""Developer guide, "Invoke an AWS Lambda function with Step Functions" (service integrations) and
"Handling errors in Step Functions workflows" (Lambda errors): what ``lambda:invoke`` and a plain
function ARN give a state machine, as results and as failures."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.workflow.conformance.helpers import ARN, fails, single, succeeds

INVOKE = "arn:aws:states:::lambda:invoke"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _invoke(function_name: str = "f") -> dict[str, Any]:
    return single(
        {
            "Type": "Task",
            "Resource": INVOKE,
            "Parameters": {"FunctionName": function_name, "Payload.$": "$"},
        }
    )


@pytest.mark.parametrize("value", ["HelloWorld", 0, 0.0, True, None, [1, "a"], {"a": {"b": 1}}])
def test_payload_is_the_functions_result_as_a_json_value(value: Any) -> None:
    output = succeeds(_invoke(), {}, {"f": lambda _event: value})
    assert output["Payload"] == value
    assert type(output["Payload"]) is type(value)  # 0.0 stays a number with a fraction


def test_the_result_is_the_invoke_response_with_the_headers_lambda_sends() -> None:
    output = succeeds(_invoke(), {"x": 1}, {"f": lambda event: {"got": event}})
    assert list(output) == [
        "ExecutedVersion",
        "Payload",
        "SdkHttpMetadata",
        "SdkResponseMetadata",
        "StatusCode",
    ]
    assert (output["ExecutedVersion"], output["StatusCode"]) == ("$LATEST", 200)
    assert output["Payload"] == {"got": {"x": 1}}
    metadata = output["SdkHttpMetadata"]
    headers = metadata["HttpHeaders"]
    request_id = output["SdkResponseMetadata"]["RequestId"]
    assert UUID.match(request_id)
    assert list(metadata["AllHttpHeaders"]) == [
        "X-Amz-Executed-Version",
        "x-amzn-Remapped-Content-Length",
        "Connection",
        "x-amzn-RequestId",
        "Content-Length",
        "Date",
        "X-Amzn-Trace-Id",
        "Content-Type",
    ]
    assert list(headers) == sorted(headers, key=str.lower)
    assert metadata["AllHttpHeaders"] == {key: [value] for key, value in headers.items()}
    assert {k: headers[k] for k in ("Connection", "Content-Type", "X-Amz-Executed-Version")} == {
        "Connection": "keep-alive",
        "Content-Type": "application/json",
        "X-Amz-Executed-Version": "$LATEST",
    }
    # The Python runtime writes the result with the standard library's spacing.
    assert headers["Content-Length"] == str(len(b'{"got": {"x": 1}}'))
    assert headers["x-amzn-Remapped-Content-Length"] == "0"
    assert headers["x-amzn-RequestId"] == request_id
    assert re.match(r"^root=1-[0-9a-f]{8}-[0-9a-f]{24};sampled=0$", headers["X-Amzn-Trace-Id"])
    assert re.match(r"^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT$", headers["Date"])
    assert metadata["HttpStatusCode"] == 200


def test_a_version_qualifier_is_the_executed_version() -> None:
    output = succeeds(_invoke("f:7"), {}, {"f": lambda _event: 1})
    assert output["ExecutedVersion"] == "7"
    assert output["SdkHttpMetadata"]["HttpHeaders"]["X-Amz-Executed-Version"] == "7"


class CustomError(Exception):
    pass


def _raise(_event: Any) -> Any:
    raise CustomError("This is a custom error!")


def test_a_plain_function_arn_passes_on_the_error_document_as_the_runtime_wrote_it() -> None:
    result = fails(single({"Type": "Task", "Resource": ARN.format("f")}), {}, {"f": _raise})
    document = json.loads(result.cause or "")
    assert result.error == "CustomError"
    assert list(document) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert document["errorMessage"] == "This is a custom error!"
    assert document["errorType"] == "CustomError"
    assert UUID.match(document["requestId"])
    # The trace starts at the function, as Lambda's runtime starts it at the handler.
    assert "in _raise" in document["stackTrace"][0]
    assert result.cause == json.dumps(document)  # the Python runtime's spacing


def test_lambda_invoke_writes_the_error_document_again_without_spaces() -> None:
    # Recorded on AWS (LocalStack's snapshot test_task_service_lambda::test_raise_exception_catch,
    # a Python function raising Exception): the caught Cause is the runtime's document, keys in
    # the runtime's order, without spaces.
    result = fails(_invoke(), {}, {"f": _raise})
    document = json.loads(result.cause or "")
    assert result.error == "CustomError"
    assert list(document) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert result.cause == json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    assert result.events("TaskFailed")[0].details == {
        "resourceType": "lambda",
        "resource": "invoke",
        "error": "CustomError",
        "cause": result.cause,
    }


def test_raw_response_bytes_are_read_as_the_json_they_hold() -> None:
    # An invoker may hand over Lambda's response payload as it came over the wire.
    output = succeeds(_invoke(), {}, {"f": lambda _event: b'"HelloWorld"'})
    assert output["Payload"] == "HelloWorld"
    plain = single({"Type": "Task", "Resource": ARN.format("f")})
    zero = succeeds(plain, {}, {"f": lambda _event: b"0.0"})
    assert (zero, type(zero)) == (0.0, float)


def test_an_unknown_function_is_lambdas_resource_not_found_as_the_java_sdk_words_it() -> None:
    result = fails(_invoke("nope"), {}, {})
    assert result.error == "Lambda.ResourceNotFoundException"
    arn = "arn:aws:lambda:us-east-1:123456789012:function:nope"
    assert re.fullmatch(
        re.escape(
            f"Function not found: {arn} (Service: AWSLambda; Status Code: 404; "
            "Error Code: ResourceNotFoundException; Request ID: "
        )
        + r"[0-9a-f-]{36}; Proxy: null\)",
        result.cause or "",
    )
