"""serverless.yml of every service and stage: `osls package` (configValidationMode: error) with
serverless-step-functions, then cfn-lint on the CloudFormation it generates."""

from __future__ import annotations

from typing import Any

import pytest

from bakusoku.deploy import checks
from bakusoku.deploy.serverless import state_machine_id
from bakusoku.events.eventbridge import EXECUTION_STATUS_CHANGE
from bakusoku.ops.messages import ALERTED_STATUSES
from bakusoku.pipeline.functions import state_machines
from tests.deploy.conftest import CASES, REGION, Packages, osls_package

pytestmark = pytest.mark.integration  # runs osls (Node) in a child process

pytest.importorskip("cfnlint", reason="needs the aws extra: pip install -e '.[aws,test]'")


@pytest.mark.parametrize("case", CASES, ids=["-".join(c) for c in CASES])
def test_osls_packages_it_and_the_output_passes_cfn_lint(
    packages: Packages, osls: str, case: tuple[str, str]
) -> None:
    package = packages.serverless[case]
    template = osls_package(osls, package)
    assert checks.cfn_lint(template, REGION, ignore=["W3005"]) == []
    resources = template["Resources"]
    functions = {k: v for k, v in resources.items() if v["Type"] == "AWS::Lambda::Function"}
    # the function table, every one of them, with the functions the example declares
    assert len(functions) == len(package.stage.functions)
    rules = [v["Properties"] for v in resources.values() if v["Type"] == "AWS::Events::Rule"]
    assert {"ScheduleExpression": "rate(1 hour)"}.items() <= next(
        r for r in rules if "ScheduleExpression" in r
    ).items()  # the example's slow-query report, on its schedule
    schema = resources["DatabaseSchema"]
    assert schema["Type"] == "Custom::DatabaseSchema"
    target = schema["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
    assert resources[target]["Properties"]["Handler"] == "bakusoku.aws.migrate.handler"
    # The framework fills in an id of its own run, so every deploy runs the migrations.
    deploy_id = schema["Properties"]["DeployId"]
    assert isinstance(deploy_id, str) and deploy_id and "${" not in deploy_id
    stage = package.stage
    for props in (v["Properties"] for v in functions.values()):
        assert props["TracingConfig"] == {"Mode": "Active"}
        name = props["FunctionName"].removeprefix(f"{stage.service}-{stage.stage}-")
        assert (
            props.get("ReservedConcurrentExecutions") == stage.functions[name].reserved_concurrency
        )
        assert props["MemorySize"] == stage.functions[name].memory_mb
    machines = [v for v in resources.values() if v["Type"] == "AWS::StepFunctions::StateMachine"]
    assert len(machines) == len(state_machines(stage.settings))  # photo pipeline, certificates
    assert all(m["Properties"]["TracingConfiguration"] == {"Enabled": True} for m in machines)
    rules = [v["Properties"] for v in resources.values() if v["Type"] == "AWS::Events::Rule"]
    # The pipeline's and the notifier's event rules (the example's own schedule is a rule too).
    rules = [r for r in rules if "EventPattern" in r]
    assert any(r["EventPattern"].get("detail-type") == ["Object Created"] for r in rules)
    assert all(t.get("DeadLetterConfig") for r in rules for t in r["Targets"])


def test_serverless_definition_is_the_asl_file(packages: Packages) -> None:
    definition = packages.serverless[("enphoto", "dev")].template["stepFunctions"]["stateMachines"][
        "PhotoPipeline"
    ]["definition"]
    resources = {
        "storePhoto": "StorePhotoFunctionArn",
        "makeRenditions": "MakeRenditionsFunctionArn",
        "markReady": "MarkReadyFunctionArn",
        "indexFaces": "IndexFacesFunctionArn",
        "readBibs": "ReadBibsFunctionArn",
        "markFailed": "MarkFailedFunctionArn",
    }

    def back(value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
            return f"${{{resources[value['Fn::GetAtt'][0]]}}}"
        if isinstance(value, dict):
            return {k: back(v) for k, v in value.items()}
        if isinstance(value, list):
            return [back(v) for v in value]
        return value

    from bakusoku.deploy.sam import asl_definition

    assert back(definition) == asl_definition()


def test_alert_rule_takes_the_alerted_statuses(packages: Packages) -> None:
    package = packages.serverless[("enphoto", "dev")]
    (event,) = package.template["functions"]["notifier"]["events"]
    pattern = event["eventBridge"]["pattern"]
    assert pattern["detail-type"] == [EXECUTION_STATUS_CHANGE]
    assert pattern["detail"]["status"] == list(ALERTED_STATUSES)
    # The serverless stack names its state machine itself: the rule follows it.
    assert pattern["detail"]["stateMachineArn"] == [{"Ref": state_machine_id(package.stage)}]
