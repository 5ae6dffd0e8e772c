"""The stack's edge as the template writes it: the distribution in front of the transform
function's URL with origin access control, its cache key, and who may call the function."""

from __future__ import annotations

import fnmatch
from typing import Any

import pytest

from bakusoku.deploy import checks
from bakusoku.deploy.canary import ALIAS, alias_id
from bakusoku.deploy.edge import (
    BUCKET_OAC,
    CACHE_POLICY,
    DISTRIBUTION,
    FUNCTION_OAC,
    INLINE_MAX_BYTES,
    INVOKE_PERMISSION,
    URL_PERMISSION,
)
from bakusoku.deploy.sam import build_template, function_environment, logical_id
from bakusoku.deploy.stages import API, load_stage
from bakusoku.pipeline.functions import TRANSFORM
from tests.deploy.conftest import REGION, example_settings

FUNCTION = logical_id(TRANSFORM)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return build_template(load_stage(example_settings(), "enphoto", "prod", {}))


def _props(template: dict[str, Any], logical: str) -> dict[str, Any]:
    properties: dict[str, Any] = template["Resources"][logical]["Properties"]
    return properties


def test_the_distribution_reaches_the_function_url_through_a_lambda_oac(
    template: dict[str, Any],
) -> None:
    config = _props(template, DISTRIBUTION)["DistributionConfig"]
    default = config["DefaultCacheBehavior"]
    [origin] = [o for o in config["Origins"] if o["Id"] == default["TargetOriginId"]]
    url = {"Fn::GetAtt": [f"{FUNCTION}Url", "FunctionUrl"]}
    assert origin["DomainName"] == {"Fn::Select": [2, {"Fn::Split": ["/", url]}]}
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": [FUNCTION_OAC, "Id"]}
    oac = _props(template, FUNCTION_OAC)["OriginAccessControlConfig"]
    assert oac["OriginAccessControlOriginType"] == "lambda"
    assert oac["SigningBehavior"] == "always"
    assert default["AllowedMethods"] == ["GET", "HEAD"]
    assert _props(template, FUNCTION)["FunctionUrlConfig"]["AuthType"] == "AWS_IAM"


def test_the_cache_key_is_the_path_and_accept_only(template: dict[str, Any]) -> None:
    config = _props(template, CACHE_POLICY)["CachePolicyConfig"]
    key = config["ParametersInCacheKeyAndForwardedToOrigin"]
    assert key["HeadersConfig"] == {"HeaderBehavior": "whitelist", "Headers": ["Accept"]}
    assert key["CookiesConfig"] == {"CookieBehavior": "none"}
    assert key["QueryStringsConfig"] == {"QueryStringBehavior": "none"}
    assert config["MaxTTL"] >= 365 * 24 * 3600  # honours the answers' year of max-age
    default = _props(template, DISTRIBUTION)["DistributionConfig"]["DefaultCacheBehavior"]
    assert default["CachePolicyId"] == {"Ref": CACHE_POLICY}
    assert "ForwardedValues" not in default and "OriginRequestPolicyId" not in default


def test_only_the_distribution_may_invoke_through_the_url(template: dict[str, Any]) -> None:
    source = {
        "Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/"
        f"${{{DISTRIBUTION}}}"
    }
    url, invoke = _props(template, URL_PERMISSION), _props(template, INVOKE_PERMISSION)
    for permission in (url, invoke):  # on the alias the URL invokes (the published version)
        assert permission["FunctionName"] == {"Ref": alias_id(FUNCTION)}
        assert permission["Principal"] == "cloudfront.amazonaws.com"
        assert permission["SourceArn"] == source
    assert (url["Action"], url["FunctionUrlAuthType"]) == ("lambda:InvokeFunctionUrl", "AWS_IAM")
    assert (invoke["Action"], invoke["InvokedViaFunctionUrl"]) == ("lambda:InvokeFunction", True)


def test_large_answers_are_served_from_the_bucket_under_the_edge_keys_only(
    template: dict[str, Any],
) -> None:
    config = _props(template, DISTRIBUTION)["DistributionConfig"]
    [behavior] = config["CacheBehaviors"]
    [origin] = [o for o in config["Origins"] if o["Id"] == behavior["TargetOriginId"]]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": [BUCKET_OAC, "Id"]}
    oac = _props(template, BUCKET_OAC)["OriginAccessControlConfig"]
    assert oac["OriginAccessControlOriginType"] == "s3"
    pattern = behavior["PathPattern"]
    assert fnmatch.fnmatch("/renditions/sports-day/0b6f/_edge/abc.jpg", pattern)
    assert not fnmatch.fnmatch("/renditions/sports-day/0b6f/preview.jpg", pattern)
    assert not fnmatch.fnmatch("/uploads/enphoto/sports-day/0b6f.jpg", pattern)


def test_the_functions_share_the_signing_key_and_the_api_signs_for_the_edge(
    template: dict[str, Any],
) -> None:
    stage = load_stage(example_settings(), "enphoto", "prod", {})
    api, transform = function_environment(API, stage), function_environment(TRANSFORM, stage)
    key = "BAKUSOKU_TRANSFORM_SIGNING_KEY_SECRET_ARN"
    assert api[key] == transform[key] == {"Ref": "TransformSigningKeySecretArn"}
    assert api["BAKUSOKU_TRANSFORM_URL"] == {"Fn::Sub": f"https://${{{DISTRIBUTION}.DomainName}}"}
    # Lambda's buffered response is 6 MB, the base64 of the body included.
    assert transform["BAKUSOKU_TRANSFORM_INLINE_MAX_BYTES"] == str(INLINE_MAX_BYTES)
    assert INLINE_MAX_BYTES * 4 / 3 < 6 * 1024 * 1024 - 64 * 1024


def test_sam_expands_the_url_the_distribution_reads(template: dict[str, Any]) -> None:
    pytest.importorskip(
        "samtranslator", reason="needs aws-sam-translator: pip install -e '.[test]'"
    )
    expanded = checks.expand_sam(template, REGION)
    url = expanded["Resources"][f"{FUNCTION}Url"]
    assert url["Type"] == "AWS::Lambda::Url"
    assert url["Properties"]["AuthType"] == "AWS_IAM"
    # On the live alias (the published version), which the permissions name too.
    assert url["Properties"]["TargetFunctionArn"] == {"Ref": alias_id(FUNCTION)}
    assert alias_id(FUNCTION).endswith(ALIAS)
