"""ARNs: split on the first five colons only, Lambda's four ways to name a function, clear errors."""

from __future__ import annotations

import pytest

from bakusoku import arns
from bakusoku.arns import Arn, ArnError, FunctionRef

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:resize"


def test_parse_keeps_colons_and_slashes_of_the_resource() -> None:
    parsed = Arn.parse("arn:aws:states:eu-west-1:123456789012:execution:photos:run-1")
    assert parsed == Arn("aws", "states", "eu-west-1", "123456789012", "execution:photos:run-1")
    assert (parsed.resource_type, parsed.name) == ("execution", "run-1")
    rule = Arn.parse("arn:aws:events:us-east-1:123456789012:rule/nightly")
    assert (rule.resource_type, rule.resource) == ("rule", "rule/nightly")


def test_parse_and_str_round_trip_with_empty_region_and_account() -> None:
    for text in [
        "arn:aws:s3:::photos",
        "arn:aws:iam::123456789012:role/x",
        "arn:aws:states:::lambda:invoke",
    ]:
        assert str(Arn.parse(text)) == text
    assert Arn.parse("arn:aws:s3:::photos").region == ""


@pytest.mark.parametrize(
    "text", ["resize", "arn:aws:lambda", "arn:aws:s3:::", "urn:aws:s3:::b:k:x"]
)
def test_parse_refuses_what_is_not_an_arn_and_shows_the_shape(text: str) -> None:
    with pytest.raises(ArnError, match="ACCOUNT:RESOURCE") as raised:
        Arn.parse(text)
    assert raised.value.code == "arn.invalid"


def test_builders_write_the_arns_aws_writes() -> None:
    assert arns.s3_bucket_arn("photos") == "arn:aws:s3:::photos"
    assert arns.iam_role_arn("123456789012", "r") == "arn:aws:iam::123456789012:role/r"
    assert arns.function_arn("us-east-1", "123456789012", "resize") == FUNCTION
    assert arns.function_arn("us-east-1", "123456789012", "resize", "live") == FUNCTION + ":live"
    assert (
        arns.state_machine_arn("us-east-1", "123456789012", "photos")
        == "arn:aws:states:us-east-1:123456789012:stateMachine:photos"
    )
    assert (
        arns.execution_arn("us-east-1", "123456789012", "photos", "e1")
        == "arn:aws:states:us-east-1:123456789012:execution:photos:e1"
    )


def test_execution_arn_of_a_state_machine_keeps_its_partition_region_and_account() -> None:
    machine = "arn:aws-cn:states:cn-north-1:123456789012:stateMachine:photos"
    assert (
        arns.execution_arn_of(machine, "e1")
        == "arn:aws-cn:states:cn-north-1:123456789012:execution:photos:e1"
    )


@pytest.mark.parametrize("qualifier", ["live", "3"])
def test_an_execution_through_an_alias_or_a_version_is_the_state_machines(qualifier: str) -> None:
    machine = f"arn:aws:states:ap-northeast-1:123456789012:stateMachine:runs-prod-cert:{qualifier}"
    assert (
        arns.execution_arn_of(machine, "cert-1024-r2")
        == "arn:aws:states:ap-northeast-1:123456789012:execution:runs-prod-cert:cert-1024-r2"
    )


@pytest.mark.parametrize("text", [FUNCTION, "photos", "arn:aws:states:us-east-1:1:execution:p:e"])
def test_only_a_state_machine_arn_is_a_state_machine_arn(text: str) -> None:
    with pytest.raises(ArnError, match="not a state machine ARN"):
        arns.parse_state_machine_arn(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("resize", FunctionRef("resize")),
        ("resize:live", FunctionRef("resize", "live")),
        ("123456789012:function:resize", FunctionRef("resize", account="123456789012")),
        (FUNCTION + ":$LATEST", FunctionRef("resize", "$LATEST", "us-east-1", "123456789012")),
    ],
)
def test_function_ref_reads_lambdas_four_ways_of_naming_a_function(
    text: str, expected: FunctionRef
) -> None:
    ref = FunctionRef.parse(text)
    assert ref == expected
    assert FunctionRef.parse(ref.arn("us-east-1", "123456789012")) == FunctionRef(
        "resize", expected.qualifier, "us-east-1", "123456789012"
    )


def test_function_ref_arn_fills_in_only_what_the_ref_lacks() -> None:
    ref = FunctionRef.parse("999999999999:function:resize")
    assert (
        ref.arn("eu-west-1", "123456789012")
        == "arn:aws:lambda:eu-west-1:999999999999:function:resize"
    )


@pytest.mark.parametrize(
    "text", ["arn:aws:sqs:us-east-1:123456789012:queue", FUNCTION + ":a:b", ":live", "a:b:c"]
)
def test_function_ref_refuses_other_resources(text: str) -> None:
    with pytest.raises(ArnError, match="function"):
        FunctionRef.parse(text)


def test_is_function_arn_wants_a_full_well_formed_arn() -> None:
    assert arns.is_function_arn(FUNCTION) and arns.is_function_arn(FUNCTION + ":live")
    assert not arns.is_function_arn("arn:aws:lambda:us-east-1:123:function:resize")
    assert not arns.is_function_arn("arn:aws:states:::lambda:invoke")


def test_name_of_takes_a_name_or_an_arn() -> None:
    assert arns.name_of("photos") == "photos"
    assert arns.name_of("arn:aws:states:us-east-1:123456789012:stateMachine:photos") == "photos"
