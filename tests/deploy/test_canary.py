"""Releases without downtime on AWS: versions behind aliases everywhere, and ``--canary``.

Traffic shifting itself happens in CodeDeploy and Step Functions, which no emulator here runs;
these tests hold the template to what they need (after the SAM transform, through cfn-lint).
"""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from bakusoku.cli.main import cli
from bakusoku.deploy import checks
from bakusoku.deploy.canary import (
    ALIAS,
    DEPLOYMENT_CONFIG,
    Canary,
    CanaryError,
    alias_id,
    parse_canary,
    version_ref,
)
from bakusoku.deploy.errors import PackageError
from bakusoku.deploy.monitoring import function_alarms
from bakusoku.deploy.package import package
from bakusoku.deploy.policies import STATE_MACHINE
from bakusoku.deploy.sam import build_template, logical_id, pinned_functions
from bakusoku.deploy.stages import API, NOTIFIER, StageConfig, load_stage
from bakusoku.pipeline.functions import FUNCTIONS, MIGRATE, TRANSFORM, state_machines
from tests.deploy.conftest import EXAMPLE, REGION, example_settings

NO_ACCOUNT = {  # the dry run asks no account (see test_cli.py)
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCESS_KEY_ID": None,
    "AWS_SECRET_ACCESS_KEY": None,
    "AWS_SESSION_TOKEN": None,
    "AWS_PROFILE": None,
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    "AWS_CONFIG_FILE": "/nonexistent",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _stage(canary: str | None = None) -> StageConfig:
    parsed = parse_canary(canary) if canary else None
    return load_stage(example_settings(), "enphoto", "prod", canary=parsed)


def _template(canary: str | None) -> dict[str, Any]:
    return build_template(_stage(canary))


STACK_FUNCTIONS = list(_stage().functions)  # the function table and the declared functions
PINNED = pinned_functions(_stage())  # only the state machine's Tasks call them
MACHINES = state_machines(_stage().settings)
CANARIED = [n for n in STACK_FUNCTIONS if n != MIGRATE and n not in PINNED]


def _of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: v for k, v in resources.items() if v["Type"] == kind}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10%/5m", Canary(10, 5)),
        (" 25 % / 7 min ", Canary(25, 7)),
        ("5%/1h", Canary(5, 60)),
        ("99%/2100m", Canary(99, 2100)),
    ],
)
def test_canaries_parse(text: str, expected: Canary) -> None:
    assert parse_canary(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("10", "is not PERCENT%/MINUTES"),
        ("10%", "is not PERCENT%/MINUTES"),
        ("10%/5s", "is not PERCENT%/MINUTES"),
        ("ten%/5m", "is not PERCENT%/MINUTES"),
        ("0%/5m", "must be 1 to 99 %"),
        ("100%/5m", "must be 1 to 99 %"),
        ("10%/0m", "use 1 to 2100 minutes"),
        ("10%/36h", "use 1 to 2100 minutes"),
    ],
)
def test_bad_canaries_say_what_to_write(text: str, says: str) -> None:
    with pytest.raises(CanaryError) as caught:
        parse_canary(text)
    assert says in caught.value.message and repr(text) in caught.value.message


def test_codedeploy_predefines_only_ten_percent_for_5_10_15_or_30_minutes() -> None:
    assert Canary(10, 5).predefined == "Canary10Percent5Minutes"
    assert Canary(10, 30).predefined == "Canary10Percent30Minutes"
    assert Canary(10, 7).predefined is None
    assert Canary(20, 5).predefined is None


def test_every_function_and_the_state_machine_are_published_behind_the_alias() -> None:
    resources = _template(None)["Resources"]
    functions = _of_type(resources, "AWS::Serverless::Function")
    assert set(functions) == {logical_id(name) for name in STACK_FUNCTIONS}
    for name, function in functions.items():
        assert function["Properties"]["AutoPublishAlias"] == ALIAS, name
        assert "DeploymentPreference" not in function["Properties"], name  # all at once
    machine = resources[STATE_MACHINE]["Properties"]
    assert machine["AutoPublishAlias"] == ALIAS and machine["UseAliasAsEventTarget"] is True
    assert "DeploymentPreference" not in machine
    assert machine["DefinitionSubstitutions"] == {
        f.placeholder: {"Ref": version_ref(logical_id(f.name))} for f in FUNCTIONS
    }


def test_the_pipeline_functions_are_pinned_and_the_directly_called_ones_are_not() -> None:
    tasks = {f for machine in state_machines(_stage().settings) for f in machine.function_names}
    assert {f.name for f in FUNCTIONS} <= PINNED  # the photo pipeline's, and the certificate's
    assert tasks == PINNED
    assert not PINNED & {API, TRANSFORM, NOTIFIER, MIGRATE}


def test_after_the_transform_each_task_names_the_version_its_deploy_published() -> None:
    expanded = checks.expand_sam(_template(None), REGION)["Resources"]
    aliases = _of_type(expanded, "AWS::Lambda::Alias")
    published = {}
    for name, alias in aliases.items():
        version = alias["Properties"]["FunctionVersion"]["Fn::GetAtt"][0]
        assert expanded[version]["Type"] == "AWS::Lambda::Version", name
        published[alias["Properties"]["FunctionName"]["Ref"]] = version
    _, substitutions = checks.deployed_definition({"Resources": expanded}, STATE_MACHINE)
    for f in FUNCTIONS:
        # The version SAM publishes, and moves the alias to, on this deploy: its Ref is the
        # version-qualified ARN. Kept when a later deploy publishes the next one, so that an
        # execution of this state machine version still finds it.
        version = substitutions[f.placeholder]["Ref"]
        assert version == published[logical_id(f.name)], f.name
        assert expanded[version]["DeletionPolicy"] == "Retain", f.name
        assert expanded[version]["Properties"]["FunctionName"] == {"Ref": logical_id(f.name)}


def test_after_the_transform_every_other_caller_names_an_alias() -> None:
    expanded = checks.expand_sam(_template(None), REGION)["Resources"]
    aliases = _of_type(expanded, "AWS::Lambda::Alias")
    assert set(aliases) == {alias_id(logical_id(name)) for name in STACK_FUNCTIONS}
    machine_aliases = _of_type(expanded, "AWS::StepFunctions::StateMachineAlias").values()
    assert len(machine_aliases) == len(MACHINES)  # the photo pipeline's and the certificate's
    for machine_alias in machine_aliases:
        assert machine_alias["Properties"]["DeploymentPreference"]["Type"] == "ALL_AT_ONCE"
    [upload_rule] = [
        rule
        for rule in _of_type(expanded, "AWS::Events::Rule").values()
        if rule["Properties"].get("EventPattern", {}).get("source") == ["aws.s3"]
    ]
    [target] = upload_rule["Properties"]["Targets"]
    assert target["Arn"] == {"Ref": alias_id(STATE_MACHINE)}
    # The API's HTTP integration, the alert rule and the alarm topic invoke aliases too: every
    # permission to invoke a function is on one of its aliases.
    for permission in _of_type(expanded, "AWS::Lambda::Permission").values():
        assert permission["Properties"]["FunctionName"]["Ref"] in aliases, permission


@pytest.mark.parametrize("canary", ["10%/5m", "25%/7m"])
def test_a_canary_shifts_functions_and_state_machine_and_rolls_back_on_the_alarms(
    canary: str,
) -> None:
    parsed = parse_canary(canary)
    template = _template(canary)
    resources = template["Resources"]
    for name in STACK_FUNCTIONS:
        props = resources[logical_id(name)]["Properties"]
        if name not in CANARIED:
            # The migration function: CloudFormation calls it once per deploy, nothing to shift.
            # A pinned one: nothing calls its alias; the state machine alias's canary shifts it.
            assert "DeploymentPreference" not in props, name
            continue
        preference = props["DeploymentPreference"]
        if parsed.predefined:
            assert preference["Type"] == parsed.predefined
        else:
            assert preference["Type"] == {"Ref": DEPLOYMENT_CONFIG}
        alarms = function_alarms(logical_id(name))
        assert preference["Alarms"] == [{"Ref": a} for a in alarms]
        for alarm in alarms:  # the rollback triggers are the stack's own alarms of the function
            watched = resources[alarm]["Properties"]
            assert watched["Namespace"] == "AWS/Lambda"
            assert watched["Dimensions"] == [
                {"Name": "FunctionName", "Value": {"Ref": logical_id(name)}}
            ]
    preferences = {}
    for state_machine in MACHINES:
        machine = resources[state_machine.logical_id]["Properties"]["DeploymentPreference"]
        preferences[state_machine.logical_id] = machine
        assert (machine["Type"], machine["Percentage"], machine["Interval"]) == (
            "CANARY",
            parsed.percent,
            parsed.minutes,
        )
        assert all(
            resources[a["Ref"]]["Type"] == "AWS::CloudWatch::Alarm" for a in machine["Alarms"]
        )
        # Rolled back on the machine's failures and on the errors and throttles of every
        # function its new version calls: a pinned function's rollback triggers are its machine
        # alias's.
        watched = {a["Ref"] for a in machine["Alarms"]}
        for name in state_machine.function_names:
            assert set(function_alarms(logical_id(name))) <= watched, name
    if parsed.predefined:
        assert DEPLOYMENT_CONFIG not in resources
    else:
        config = resources[DEPLOYMENT_CONFIG]["Properties"]
        assert config["TrafficRoutingConfig"] == {
            "Type": "TimeBasedCanary",
            "TimeBasedCanary": {"CanaryPercentage": 25, "CanaryInterval": 7},
        }
    expanded = checks.expand_sam(template, REGION)
    groups = _of_type(expanded["Resources"], "AWS::CodeDeploy::DeploymentGroup")
    assert len(groups) == len(CANARIED)
    machine_aliases = _of_type(expanded["Resources"], "AWS::StepFunctions::StateMachineAlias")
    assert len(machine_aliases) == len(MACHINES)
    for machine_alias in machine_aliases.values():
        preference = machine_alias["Properties"]["DeploymentPreference"]
        assert preference["Type"] == "CANARY"
        assert preference["Alarms"] in [p["Alarms"] for p in preferences.values()]
    for group in groups.values():
        assert group["Properties"]["AlarmConfiguration"]["Enabled"] is True
        assert (
            "DEPLOYMENT_STOP_ON_ALARM" in group["Properties"]["AutoRollbackConfiguration"]["Events"]
        )
    assert checks.cfn_lint(template, REGION) == []
    assert checks.cfn_lint(expanded, REGION) == []


def test_deploy_threads_the_canary_through_to_the_plan() -> None:
    pytest.importorskip("samtranslator", reason="needs the aws extra")
    args = ["deploy", "--service", "enphoto", "--stage", "prod", "--dry-run"]
    result = CliRunner().invoke(
        cli, [*args, "--canary", "25%/7m", "--config", str(EXAMPLE)], env=NO_ACCOUNT
    )
    assert result.exit_code == 0, result.output
    assert "rollout: canary 25%/7m" in result.output
    assert "AWS::CodeDeploy::DeploymentConfig (1)" in result.output
    assert f"AWS::CodeDeploy::DeploymentGroup ({len(CANARIED)})" in result.output
    assert f"AWS::StepFunctions::StateMachineAlias ({len(MACHINES)})" in result.output
    plain = CliRunner().invoke(cli, [*args, "--config", str(EXAMPLE)], env=NO_ACCOUNT)
    assert plain.exit_code == 0, plain.output
    assert "rollout: all at once" in plain.output
    assert "CodeDeploy" not in plain.output
    assert f"AWS::Lambda::Alias ({len(STACK_FUNCTIONS)})" in plain.output


def test_a_bad_canary_stops_the_deploy_before_anything_is_built(tmp_path: Any) -> None:
    result = CliRunner().invoke(
        cli,
        ["deploy", "--service", "enphoto", "--stage", "prod", "--canary", "10 percent"],
        env=NO_ACCOUNT,
    )
    assert result.exit_code == 2
    assert "Invalid value for '--canary'" in result.output
    assert "write e.g. 10%/5m" in result.output


def test_serverless_output_refuses_a_canary(tmp_path: Any) -> None:
    with pytest.raises(PackageError) as caught:
        package(
            example_settings(),
            "enphoto",
            "prod",
            fmt="serverless",
            out_dir=tmp_path,
            install_dependencies=False,
            canary=Canary(10, 5),
        )
    assert "needs the SAM format" in caught.value.message
    assert not any(tmp_path.iterdir())  # refused before anything was written
