"""The stack's AWS FIS experiment templates (stage ``chaos: true``): the same faults as ``bakusoku
chaos`` on the pipeline's functions and the database, stopped by the stack's alarms, run by a role
that reaches only the stack's own resources. The templates pass cfn-lint with the rest
(tests/deploy/test_sam_template.py, for every service and stage of the example)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from bakusoku.config import ConfigError, RdsProxySettings, load_settings
from bakusoku.deploy.chaos import FIS_CONFIG_BUCKET, FIS_ROLE, TARGET_FUNCTIONS
from bakusoku.deploy.sam import build_template, logical_id
from bakusoku.deploy.stages import load_stage
from tests.deploy.conftest import CASES, EXAMPLE, example_settings

EXPERIMENT = "AWS::FIS::ExperimentTemplate"


def template(service: str, stage: str) -> dict[str, Any]:
    built: dict[str, Any] = build_template(
        load_stage(example_settings(), service, stage, environ={})
    )
    return built


def experiments(resources: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resources.items() if v["Type"] == EXPERIMENT}


def actions(resources: dict[str, Any]) -> set[str]:
    return {
        action["ActionId"]
        for experiment in experiments(resources).values()
        for action in experiment["Properties"]["Actions"].values()
    }


def test_a_chaos_stage_offers_the_lambda_and_database_experiments() -> None:
    resources = template("enphoto", "staging")["Resources"]
    assert actions(resources) == {
        "aws:lambda:invocation-add-delay",
        "aws:lambda:invocation-error",
        "aws:rds:reboot-db-instances",
    }
    alarms = {k for k, v in resources.items() if v["Type"] == "AWS::CloudWatch::Alarm"}
    for name, experiment in experiments(resources).items():
        props = experiment["Properties"]
        assert props["RoleArn"] == {"Fn::GetAtt": [FIS_ROLE, "Arn"]}
        stops = props["StopConditions"]
        assert stops, name
        for stop in stops:  # each an alarm of this very stack
            assert stop["Source"] == "aws:cloudwatch:alarm"
            assert stop["Value"]["Fn::GetAtt"][0] in alarms
        for target in props["Targets"].values():
            assert target["SelectionMode"] == "ALL" and target["ResourceArns"]
        for action in props["Actions"].values():
            assert set(action["Targets"].values()) <= set(props["Targets"])


def test_the_experiments_stop_on_failed_photos_not_on_the_errors_they_cause() -> None:
    resources = template("enphoto", "staging")["Resources"]
    for experiment in experiments(resources).values():
        stopped_by = {
            s["Value"]["Fn::GetAtt"][0] for s in experiment["Properties"]["StopConditions"]
        }
        assert any("Failed" in a for a in stopped_by)
        assert not any(a.endswith("ErrorsAlarm") for a in stopped_by)


def test_the_role_is_assumed_by_fis_and_reaches_only_the_stacks_resources() -> None:
    resources = template("enphoto", "staging")["Resources"]
    role = resources[FIS_ROLE]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "fis.amazonaws.com"}
    (policy,) = role["Policies"]
    granted = {}
    for statement in policy["PolicyDocument"]["Statement"]:
        assert statement["Resource"] != "*"
        for action in (
            [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        ):
            granted[action] = statement["Resource"]
    assert granted["lambda:GetFunction"] == [
        {"Fn::GetAtt": [logical_id(name), "Arn"]} for name in TARGET_FUNCTIONS
    ]
    assert "enphoto-staging" in granted["rds:RebootDBInstance"]["Fn::Sub"]
    assert FIS_CONFIG_BUCKET in granted["s3:PutObject"]["Fn::Sub"]


def test_only_the_pipelines_functions_carry_the_fis_extension() -> None:
    resources = template("enphoto", "staging")["Resources"]
    functions = {k: v for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function"}
    targets = {logical_id(n) for n in TARGET_FUNCTIONS}
    for name, function in functions.items():
        props = function["Properties"]
        variables = props["Environment"]["Variables"]
        if name in targets:
            assert variables["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/aws-fis/bootstrap"
            assert props["Layers"]
        else:
            assert "Layers" not in props and "AWS_LAMBDA_EXEC_WRAPPER" not in variables


@pytest.mark.parametrize("case", [c for c in CASES if c != ("enphoto", "staging")], ids="-".join)
def test_a_stage_without_chaos_has_no_experiment_and_no_extension(case: tuple[str, str]) -> None:
    built = template(*case)
    assert not experiments(built["Resources"])
    assert FIS_CONFIG_BUCKET not in built["Resources"] and FIS_ROLE not in built["Resources"]
    assert "FisExtensionLayerArn" not in built["Parameters"]


def test_a_cluster_behind_the_proxy_gets_a_failover_experiment() -> None:
    stage = load_stage(example_settings(), "enphoto", "prod", environ={})
    stage = replace(
        stage,
        settings=replace(stage.settings, database_engine="aurora-postgresql"),
        chaos=True,
        db_instance_identifier=None,
        rds_proxy=RdsProxySettings(db_cluster_identifier="enphoto-aurora"),
    )
    resources = build_template(stage)["Resources"]
    assert "aws:rds:failover-db-cluster" in actions(resources)
    (failover,) = [
        e for e in experiments(resources).values() if "Clusters" in e["Properties"]["Targets"]
    ]
    (arn,) = failover["Properties"]["Targets"]["Clusters"]["ResourceArns"]
    assert arn["Fn::Sub"].endswith(":cluster:enphoto-aurora")


def test_chaos_must_be_true_or_false() -> None:
    settings = load_settings(config_file=EXAMPLE, environ={})
    services = dict(settings.extra["services"])
    services["enphoto"] = {
        **services["enphoto"],
        "stages": {**services["enphoto"]["stages"], "dev": {"chaos": "yes"}},
    }
    broken = replace(settings, extra={**settings.extra, "services": services})
    with pytest.raises(ConfigError, match="chaos"):
        load_stage(broken, "enphoto", "dev", environ={})
