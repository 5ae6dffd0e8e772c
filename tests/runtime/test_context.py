"""The handler's context object, its environment variables and where its code is imported from."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from bakusoku.runtime import FunctionConfig, LambdaContext, ResourceNotFoundError
from bakusoku.workflow.invoker import TaskCall
from tests.runtime.conftest import RuntimeFactory, fn


def test_context_attributes_match_lambdas(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(
        fn("describe", memory_mb=1024, timeout_seconds=5), region="ap-northeast-1", account="123"
    )

    result = runtime.invoke("describe", {})
    context = result["context"]

    assert context["function_name"] == "describe"
    assert context["function_version"] == "$LATEST"
    assert context["invoked_function_arn"] == "arn:aws:lambda:ap-northeast-1:123:function:describe"
    assert context["memory_limit_in_mb"] == "1024"  # a string, as Lambda's Python runtime gives it
    assert context["log_group_name"] == "/aws/lambda/describe"
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", context["log_stream_name"])
    assert re.fullmatch(r"[0-9a-f-]{36}", context["aws_request_id"])
    assert 4000 < context["remaining_ms"] <= 5000


def test_standard_and_configured_environment_variables(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(
        fn("describe", environment={"STAGE": "dev"}),
        region="ap-northeast-1",
        environment={"SHARED": "yes", "STAGE": "overridden-by-function"},
    )

    result = runtime.invoke("describe", {})
    env = result["env"]

    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "describe"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "2048"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/describe"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"] == result["context"]["log_stream_name"]
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "ap-northeast-1"
    assert env["_HANDLER"] == "tests.runtime.handlers.sample.describe"
    assert env["LAMBDA_TASK_ROOT"] == result["cwd"]
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python{}.{}".format(*sys.version_info[:2])
    assert env["TZ"] == ":UTC"
    assert result["localtime_is_utc"]
    assert env["STAGE"] == "dev"
    assert env["SHARED"] == "yes"


def test_invoke_by_arn_and_by_qualified_name(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(fn("describe"))
    arn = runtime.function_arn("describe")

    by_arn = runtime.invoke(arn, {})["context"]["invoked_function_arn"]
    qualified = runtime.invoke(f"{arn}:$LATEST", {})["context"]["invoked_function_arn"]
    by_name = runtime.invoke("describe:$LATEST", {})["context"]["invoked_function_arn"]
    partial = runtime.invoke("000000000000:function:describe", {})["context"]

    assert arn == "arn:aws:lambda:us-east-1:000000000000:function:describe"
    assert by_arn == arn
    assert qualified == by_name == f"{arn}:$LATEST"
    assert partial["invoked_function_arn"] == arn  # a partial ARN, as Lambda accepts it


def test_a_function_of_another_region_or_account_is_not_found(
    make_runtime: RuntimeFactory,
) -> None:
    runtime = make_runtime(fn("describe"))
    for other in [
        "arn:aws:lambda:eu-west-1:000000000000:function:describe",
        "arn:aws:lambda:us-east-1:999999999999:function:describe",
        "999999999999:function:describe",
        "arn:aws:sqs:us-east-1:000000000000:describe",
    ]:
        with pytest.raises(ResourceNotFoundError, match="Function not found"):
            runtime.invoke(other, {})


def test_handler_code_found_through_pythonpath(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    (tmp_path / "photo_app").mkdir()
    (tmp_path / "photo_app" / "__init__.py").write_text("")
    (tmp_path / "photo_app" / "thumbnail.py").write_text(
        "import os\n"
        "CALLS = []\n"
        "def handler(event, context):\n"
        "    CALLS.append(event['key'])\n"
        "    return {'calls': CALLS, 'bucket': os.environ['BUCKET']}\n"
    )
    runtime = make_runtime(
        FunctionConfig(
            "thumbnail",
            "photo_app.thumbnail.handler",
            environment={"PYTHONPATH": str(tmp_path), "BUCKET": "photos"},
        )
    )

    runtime.invoke("thumbnail", {"key": "a.jpg"})
    result = runtime.invoke("thumbnail", {"key": "b.jpg"})

    assert result == {"calls": ["a.jpg", "b.jpg"], "bucket": "photos"}


def test_trace_header_reaches_the_handler(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(fn("describe"))
    header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"

    given = runtime.invoke("describe", {}, trace_header=header)["env"]["_X_AMZN_TRACE_ID"]
    fresh = runtime.invoke("describe", {})["env"]["_X_AMZN_TRACE_ID"]

    assert given == header
    assert re.fullmatch(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0", fresh)


def test_a_context_for_an_in_process_call_has_lambdas_attributes() -> None:
    arn = "arn:aws:lambda:us-east-1:123456789012:function:resize:live"
    context = LambdaContext.for_call(TaskCall("resize", arn, "e1", "Resize", 5))

    assert (context.function_name, context.invoked_function_arn) == ("resize", arn)
    assert (context.function_version, context.memory_limit_in_mb) == ("$LATEST", "128")
    assert context.log_group_name == "/aws/lambda/resize"
    assert re.fullmatch(r"[0-9a-f-]{36}", context.aws_request_id)
    assert 4000 < context.get_remaining_time_in_millis() <= 5000
    without_timeout = LambdaContext.for_call(TaskCall("resize", arn, "e1", "Resize", None))
    assert 899_000 < without_timeout.get_remaining_time_in_millis() <= 900_000


def test_a_context_past_its_deadline_has_no_time_left() -> None:
    assert LambdaContext("req", "arn", deadline_epoch_ms=0).get_remaining_time_in_millis() == 0
