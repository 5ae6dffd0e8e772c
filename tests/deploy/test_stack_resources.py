"""What the template adds for AWS itself: runtime and architecture, the notifier's on-failure
queue and the queues' alarms, the VPC endpoints, and the RDS Proxy option (built from the example
configuration; the proxy's stages are that configuration with ``rds_proxy`` added)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from bakusoku.config import ConfigError, load_settings
from bakusoku.deploy import checks
from bakusoku.deploy.sam import NOTIFIER_DLQ, build_template, logical_id
from bakusoku.deploy.stages import NOTIFIER, load_stage
from bakusoku.deploy.vpc import INTERFACE_ENDPOINTS, PROXY, S3_ENDPOINT
from tests.deploy.conftest import EXAMPLE, REGION, example_settings


def _template(service: str, stage: str, **settings: Any) -> dict[str, Any]:
    base = dataclasses.replace(example_settings(), **settings)
    return build_template(load_stage(base, service, stage, environ={}))


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        k: v["Properties"]
        for k, v in template["Resources"].items()
        if v["Type"] == "AWS::Serverless::Function"
    }


def test_functions_run_python_3_12_on_arm64_unless_the_setting_says_x86_64() -> None:
    for props in _functions(_template("enphoto", "dev")).values():
        assert props["Runtime"] == "python3.12" and props["Architectures"] == ["arm64"]
    x86 = _template("enphoto", "dev", lambda_architecture="x86_64")
    assert {p["Architectures"][0] for p in _functions(x86).values()} == {"x86_64"}
    with pytest.raises(ConfigError, match="lambda_architecture"):
        _template("enphoto", "dev", lambda_architecture="arm")


def test_no_function_opens_a_connection_gate_in_its_own_tmp() -> None:
    for name, props in _functions(_template("enphoto", "prod")).items():
        if name != logical_id(NOTIFIER):
            assert props["Environment"]["Variables"]["BAKUSOKU_DB_MAX_CONNECTIONS"] == "0"


def test_a_failed_alert_goes_to_a_queue_with_an_alarm() -> None:
    template = _template("enphoto", "dev")
    config = _functions(template)[logical_id(NOTIFIER)]["EventInvokeConfig"]
    assert config["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS",
        "Destination": {"Fn::GetAtt": [NOTIFIER_DLQ, "Arn"]},
    }
    resources = template["Resources"]
    queues = [k for k, v in resources.items() if v["Type"] == "AWS::SQS::Queue"]
    alarmed = [
        v["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for v in resources.values()
        if v["Type"] == "AWS::CloudWatch::Alarm" and v["Properties"]["Namespace"] == "AWS/SQS"
    ]
    assert NOTIFIER_DLQ in queues and sorted(alarmed) == sorted(queues)
    # SAM gives the function the right to send to its destination
    expanded = checks.expand_sam(template, REGION)
    role = expanded["Resources"][f"{logical_id(NOTIFIER)}Role"]["Properties"]
    sends = [
        s
        for policy in role["Policies"]
        for s in policy["PolicyDocument"]["Statement"]
        if "sqs:SendMessage" in str(s["Action"])
    ]
    assert sends and "NotifierFailureQueue" in str(sends)


def test_a_stage_in_a_vpc_creates_the_endpoints_its_functions_call() -> None:
    resources = build_template(load_stage(example_settings(), "enphoto", "prod", environ={}))[
        "Resources"
    ]
    services = {
        v["Properties"]["ServiceName"]["Fn::Sub"].rsplit(".", 1)[1]: v["Properties"]
        for v in resources.values()
        if v["Type"] == "AWS::EC2::VPCEndpoint"
    }
    assert set(services) == {*INTERFACE_ENDPOINTS.values(), "s3"}
    assert services["s3"]["VpcEndpointType"] == "Gateway"
    assert all(services[s]["PrivateDnsEnabled"] for s in INTERFACE_ENDPOINTS.values())
    assert set(resources["DatabaseSchema"]["DependsOn"]) == {*INTERFACE_ENDPOINTS, S3_ENDPOINT}
    assert not any(
        v["Type"] == "AWS::EC2::VPCEndpoint"
        for v in _template("enphoto", "dev")["Resources"].values()
    )


def _with_proxy(tmp_path: Any, proxy: str) -> dict[str, Any]:
    text = EXAMPLE.read_text().replace(
        "        vpc:\n          subnet_ids: [subnet-0a1b2c3d4e5f60001",
        f"        rds_proxy: {proxy}\n        vpc:\n          subnet_ids: [subnet-0a1b2c3d4e5f60001",
        1,
    )
    path = tmp_path / "bakusoku.yml"
    path.write_text(text + "database_engine: postgres\n")
    settings = load_settings(config_file=path, environ={})
    return build_template(load_stage(settings, "enphoto", "prod", environ={}))


def test_an_rds_proxy_stage_connects_every_database_function_through_the_proxy(
    tmp_path: Any,
) -> None:
    template = _with_proxy(tmp_path, "{db_instance_identifier: enphoto-prod, iam_auth: true}")
    proxy = template["Resources"][PROXY]["Properties"]
    assert proxy["EngineFamily"] == "POSTGRESQL" and proxy["RequireTLS"] is True
    assert proxy["Auth"][0]["IAMAuth"] == "REQUIRED"
    for name, props in _functions(template).items():
        variables = props["Environment"]["Variables"]
        statements = str(props["Policies"])
        if name == logical_id(NOTIFIER):
            assert "BAKUSOKU_DATABASE_HOST" not in variables and "rds-db" not in statements
            continue
        assert variables["BAKUSOKU_DATABASE_HOST"] == {"Fn::GetAtt": [PROXY, "Endpoint"]}
        assert variables["BAKUSOKU_DATABASE_IAM_AUTH"] == "1" and "rds-db:connect" in statements
    assert checks.cfn_lint(template, REGION) == []


def test_an_rds_proxy_needs_a_vpc_and_one_target(tmp_path: Any) -> None:
    with pytest.raises(ConfigError, match="rds_proxy must name one of"):
        _with_proxy(tmp_path, "{db_instance_identifier: a, db_cluster_identifier: b}")


def test_the_serverless_notifier_has_the_same_destination_and_may_send_to_it() -> None:
    from bakusoku.deploy.serverless import build_serverless, function_key

    stage = load_stage(example_settings(), "enphoto", "dev", environ={})
    document = build_serverless(stage, [stage])
    notifier = document["functions"][function_key(NOTIFIER)]
    assert notifier["destinations"]["onFailure"]["arn"] == {"Fn::GetAtt": [NOTIFIER_DLQ, "Arn"]}
    role = document["resources"]["Resources"]["NotifierRole"]["Properties"]
    statements = role["Policies"][0]["PolicyDocument"]["Statement"]
    assert {"Fn::GetAtt": [NOTIFIER_DLQ, "Arn"]} in [s["Resource"] for s in statements]
    assert document["provider"]["architecture"] == "arm64"
    assert document["provider"]["runtime"] == "python3.12"
