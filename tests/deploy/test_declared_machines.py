"""A state machine the configuration declares, in the SAM and Serverless outputs and on the map:
its own resource, alias, log group and outputs, its events as rules on its alias, a role that
invokes exactly its own functions, and the definition the local engine runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bakusoku.config import load_settings
from bakusoku.deploy import checks
from bakusoku.deploy.canary import ALIAS, parse_canary
from bakusoku.deploy.graph import stack_graph
from bakusoku.deploy.package import package
from bakusoku.deploy.sam import build_template, pinned_functions
from bakusoku.deploy.serverless import build_serverless, state_machine_id
from bakusoku.deploy.stages import StageConfig, load_stage
from bakusoku.pipeline.functions import state_machines
from bakusoku.workflow.definition import load_definition
from tests.deploy.conftest import EXAMPLE, REGION, osls_package

pytest.importorskip("cfnlint", reason="needs the aws extra: pip install -e '.[aws,test]'")

ASL = """\
StartAt: Export
States:
  Export: {Type: Task, Resource: "${ExportFunctionArn}", Next: Publish}
  Publish: {Type: Task, Resource: "${PublishFunctionArn}", End: true}
"""
MACHINE = "NightlyExportStateMachine"
QUEUE = f"{MACHINE}DeadLetterQueue"


def _stage(tmp_path: Path, canary: str | None = None) -> StageConfig:
    document = yaml.safe_load(EXAMPLE.read_text())
    document["functions"] |= {
        "export": {"handler": "reports.export.handler", "resources": {"database": "read"}},
        "publish": {"handler": "reports.publish.handler"},
    }
    document["state_machines"] = {
        "nightly-export": {
            "definition": "workflows/export.asl.yaml",
            "description": "Exports yesterday's orders",
            "events": [{"schedule": "cron(0 3 * * ? *)"}, {"object": {"prefix": "imports/"}}],
        }
    }
    (tmp_path / "workflows").mkdir()
    (tmp_path / "workflows" / "export.asl.yaml").write_text(ASL)
    path = tmp_path / "bakusoku.yml"
    path.write_text(yaml.safe_dump(document))
    settings = load_settings(config_file=path, environ={})
    parsed = parse_canary(canary) if canary else None
    return load_stage(settings, "enphoto", "prod", canary=parsed)


def test_the_template_creates_the_machine_with_its_events_and_its_role(tmp_path: Path) -> None:
    template = build_template(_stage(tmp_path))
    resources = template["Resources"]
    props: dict[str, Any] = resources[MACHINE]["Properties"]
    assert props["Name"] == "enphoto-prod-nightly-export"
    assert props["AutoPublishAlias"] == ALIAS and props["UseAliasAsEventTarget"] is True
    assert props["DefinitionSubstitutions"] == {
        "ExportFunctionArn": {"Ref": "ExportFunction.Version"},
        "PublishFunctionArn": {"Ref": "PublishFunction.Version"},
    }
    assert props["Definition"]["States"]["Export"]["Resource"] == "${ExportFunctionArn}"
    # Its role invokes its own two functions and nothing else (no pipeline function).
    invoked = [p["LambdaInvokePolicy"] for p in props["Policies"] if "LambdaInvokePolicy" in p]
    assert invoked == [
        {"FunctionName": {"Ref": "ExportFunction"}},
        {"FunctionName": {"Ref": "PublishFunction"}},
    ]
    # A start EventBridge could not make (throttled, refused) is retried, then kept in the
    # machine's own queue.
    dead_letter = {"Arn": {"Fn::GetAtt": [QUEUE, "Arn"]}}
    retry = {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
    assert props["Events"] == {
        "Schedule1": {
            "Type": "Schedule",
            "Properties": {
                "Schedule": "cron(0 3 * * ? *)",
                "Name": "enphoto-prod-nightly-export-schedule-1",
                "DeadLetterConfig": dead_letter,
                "RetryPolicy": retry,
            },
        },
        "Objects1": {
            "Type": "EventBridgeRule",
            "Properties": {
                "RuleName": "enphoto-prod-nightly-export-objects-1",
                "Pattern": {
                    "source": ["aws.s3"],
                    "detail-type": ["Object Created"],
                    "detail": {
                        "bucket": {"name": [{"Ref": "PhotoBucket"}]},
                        "object": {"key": [{"prefix": "imports/"}]},
                    },
                },
                "DeadLetterConfig": dead_letter,
                "RetryPolicy": retry,
            },
        },
    }
    assert resources[QUEUE]["Properties"]["QueueName"] == "enphoto-prod-nightly-export-dlq"
    statement = resources[f"{QUEUE}Policy"]["Properties"]["PolicyDocument"]["Statement"][0]
    rules = [
        arn["Fn::Sub"].rpartition("/")[2]
        for arn in statement["Condition"]["ArnEquals"]["aws:SourceArn"]
    ]
    assert rules == [
        "enphoto-prod-nightly-export-schedule-1",
        "enphoto-prod-nightly-export-objects-1",
    ]
    assert resources[f"{QUEUE}Alarm"]["Type"] == "AWS::CloudWatch::Alarm"
    group = resources[f"{MACHINE}LogGroup"]["Properties"]["LogGroupName"]
    assert group == "/aws/vendedlogs/states/enphoto-prod-nightly-export"
    outputs = template["Outputs"]
    assert outputs[f"{MACHINE}AliasArn"]["Value"] == {"Ref": f"{MACHINE}Alias{ALIAS}"}
    assert outputs["StateMachineArn"]["Value"] == {"Ref": "PhotoPipeline"}  # the pipeline's, kept
    # The functions a Task calls have no events of their own.
    assert resources["ExportFunction"]["Properties"]["Events"] == {}
    for alarm in ("FailedAlarm", "TimedOutAlarm"):
        assert resources[f"{MACHINE}{alarm}"]["Type"] == "AWS::CloudWatch::Alarm"


@pytest.mark.parametrize("canary", [None, "10%/5m"])
def test_the_template_with_the_machine_passes_cfn_lint_after_the_transform(
    tmp_path: Path, canary: str | None
) -> None:
    stage = _stage(tmp_path, canary)
    template = build_template(stage)
    expanded = checks.expand_sam(template, REGION)
    assert checks.cfn_lint(template, REGION) == []
    assert checks.cfn_lint(expanded, REGION) == []
    # The deployed definition, its placeholders filled from the versions this deploy publishes,
    # is the local one.
    text, substitutions = checks.deployed_definition(expanded, MACHINE)
    filled = {}
    for placeholder, value in substitutions.items():
        version = expanded["Resources"][value["Ref"]]
        assert version["Type"] == "AWS::Lambda::Version", placeholder
        function = {"ExportFunction": "export", "PublishFunction": "publish"}
        filled[placeholder] = checks.fake_function_arn(
            function[version["Properties"]["FunctionName"]["Ref"]], REGION
        )
    # Its functions are pinned: no function canary (nothing calls their aliases); the machine
    # alias's canary shifts them, rolled back on their alarms and the machine's.
    resources = template["Resources"]
    assert {"export", "publish"} <= pinned_functions(stage)
    for function in ("ExportFunction", "PublishFunction"):
        assert "DeploymentPreference" not in resources[function]["Properties"]
    [alias] = [
        r["Properties"]
        for k, r in expanded["Resources"].items()
        if r["Type"] == "AWS::StepFunctions::StateMachineAlias" and k.startswith(MACHINE)
    ]
    if canary is None:
        assert alias["DeploymentPreference"]["Type"] == "ALL_AT_ONCE"
    else:
        watched = {a["Ref"] for a in alias["DeploymentPreference"]["Alarms"]}
        assert alias["DeploymentPreference"]["Type"] == "CANARY"
        assert {"ExportFunctionErrorsAlarm", f"{MACHINE}FailedAlarm"} <= watched
    (machine,) = [m for m in state_machines(stage.settings) if m.logical_id == MACHINE]
    assert load_definition(text, filled) == checks.local_definition(REGION, machine)
    assert checks.statelint(checks.local_definition(REGION, machine)) == []
    # The rules start the alias, never the unversioned machine.
    rules = [
        r["Properties"]
        for r in expanded["Resources"].values()
        if r["Type"] == "AWS::Events::Rule" and "nightly-export" in str(r["Properties"].get("Name"))
    ]
    assert len(rules) == 2
    assert all(r["Targets"][0]["Arn"] == {"Ref": f"{MACHINE}Alias{ALIAS}"} for r in rules)


def test_the_serverless_output_has_the_machine_and_its_events(tmp_path: Path) -> None:
    stage = _stage(tmp_path)
    document = build_serverless(stage, [stage])
    machines = document["stepFunctions"]["stateMachines"]
    spec = machines[MACHINE]
    assert spec["name"] == "enphoto-prod-nightly-export"
    assert spec["definition"]["States"]["Export"]["Resource"] == {"Fn::GetAtt": ["export", "Arn"]}
    retry = {"maximumRetryAttempts": 185, "maximumEventAgeInSeconds": 86400}
    assert spec["events"][0] == {"schedule": {"rate": "cron(0 3 * * ? *)", "retryPolicy": retry}}
    on_objects = spec["events"][1]["eventBridge"]
    assert on_objects["event"]["detail"]["object"] == {"key": [{"prefix": "imports/"}]}
    assert on_objects["deadLetterConfig"] == {"Fn::GetAtt": [QUEUE, "Arn"]}
    assert on_objects["retryPolicy"] == retry
    resources = document["resources"]["Resources"]
    assert resources[QUEUE]["Properties"]["QueueName"] == "enphoto-prod-nightly-export-dlq"
    policy = resources["DeadLetterQueuePolicy"]["Properties"]
    assert {"Ref": QUEUE} in policy["Queues"]
    assert state_machine_id(stage) != state_machine_id(stage, state_machines(stage.settings)[1])


def test_the_map_draws_the_machine_with_its_states_functions_and_sources(tmp_path: Path) -> None:
    stage = _stage(tmp_path)
    graph = stack_graph(stage.settings, "enphoto", "prod")
    nodes = {n.id: n for n in graph.nodes}
    assert nodes[MACHINE].kind == "state_machine"
    states = {n.label for n in graph.nodes if n.kind == "state" and n.group == MACHINE}
    assert states == {"Export", "Publish"}
    calls = {(e.source, e.target) for e in graph.edges if e.target.endswith("Function")}
    assert any(t == "ExportFunction" for _, t in calls)
    into = [e for e in graph.edges if e.target == MACHINE and e.kind == "triggers"]
    assert len(into) == 2  # the schedule and the rule on imports/


@pytest.mark.integration  # runs osls (Node) in a child process
def test_the_serverless_output_with_the_machine_packages_and_passes_cfn_lint(
    tmp_path: Path, osls: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage = _stage(tmp_path)
    (tmp_path / "reports").mkdir()  # the project's handlers, which the bundle takes
    for module in ("__init__", "export", "publish"):
        (tmp_path / "reports" / f"{module}.py").write_text("def handler(event, context): ...\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    built = package(
        stage.settings,
        "enphoto",
        "prod",
        fmt="serverless",
        out_dir=tmp_path / "serverless",
        install_dependencies=False,
    )

    template = osls_package(osls, built)

    assert checks.cfn_lint(template, REGION, ignore=["W3005"]) == []
    (machine,) = [m for m in state_machines(stage.settings) if m.name == "nightly-export"]
    target = {"Ref": state_machine_id(stage, machine)}
    rules = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Events::Rule" and r["Properties"]["Targets"][0]["Arn"] == target
    ]
    (scheduled,) = [r for r in rules if "ScheduleExpression" in r]
    (on_objects,) = [r for r in rules if "EventPattern" in r]
    assert scheduled["Targets"][0]["RetryPolicy"]["MaximumRetryAttempts"] == 185
    assert on_objects["Targets"][0]["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [QUEUE, "Arn"]}}
