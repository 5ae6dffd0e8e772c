"""The SAM template of every service and stage: lint-clean before and after the SAM transform,
complete, least-privilege, and running the very definition the local engine runs."""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from bakusoku.db.migrate import head_revision
from bakusoku.deploy import checks
from bakusoku.deploy.canary import ALIAS
from bakusoku.deploy.stages import FUNCTION_NAMES
from bakusoku.events.eventbridge import EXECUTION_STATUS_CHANGE
from bakusoku.ops.messages import ALERTED_STATUSES
from bakusoku.pipeline.functions import BUILT_IN_MACHINES, FUNCTIONS, MIGRATE
from bakusoku.pipeline.machines import StateMachine
from bakusoku.workflow.definition import load_definition
from tests.deploy.conftest import CASES, REGION, Packages

pytest.importorskip("cfnlint", reason="needs the aws extra: pip install -e '.[aws,test]'")


def _template(packages: Packages, case: tuple[str, str]) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(packages.sam[case].template_path.read_text())
    return loaded


@pytest.fixture(scope="module")
def expanded(packages: Packages) -> dict[tuple[str, str], dict[str, Any]]:
    return {case: checks.expand_sam(_template(packages, case), REGION) for case in CASES}


@pytest.mark.parametrize("case", CASES, ids=["-".join(c) for c in CASES])
def test_sam_template_passes_cfn_lint(packages: Packages, case: tuple[str, str]) -> None:
    assert checks.cfn_lint(_template(packages, case), REGION) == []


@pytest.mark.parametrize("case", CASES, ids=["-".join(c) for c in CASES])
def test_expanded_template_passes_cfn_lint(
    expanded: dict[tuple[str, str], dict[str, Any]], case: tuple[str, str]
) -> None:
    assert checks.cfn_lint(expanded[case], REGION) == []


@pytest.mark.parametrize("case", CASES, ids=["-".join(c) for c in CASES])
def test_deployed_definition_equals_the_local_one(
    expanded: dict[tuple[str, str], dict[str, Any]], case: tuple[str, str]
) -> None:
    text, substitutions = checks.deployed_definition(expanded[case], "PhotoPipeline")
    # CloudFormation fills each ${Name} from DefinitionSubstitutions; each names the version of
    # its function published on this deploy (the one its live alias moves to).
    resources = expanded[case]["Resources"]
    logical = {}
    for name, value in substitutions.items():
        version = resources[value["Ref"]]
        assert version["Type"] == "AWS::Lambda::Version", name
        function = version["Properties"]["FunctionName"]["Ref"]
        alias = resources[f"{function}Alias{ALIAS}"]["Properties"]
        assert alias["FunctionVersion"] == {"Fn::GetAtt": [value["Ref"], "Version"]}, name
        logical[name] = function
    arns = {f.placeholder: checks.fake_function_arn(f.name, REGION) for f in FUNCTIONS}
    by_logical = {
        f"{''.join(p.capitalize() for p in f.name.split('-'))}Function": f.placeholder
        for f in FUNCTIONS
    }
    filled = {name: arns[by_logical[target]] for name, target in logical.items()}
    assert set(filled) == {f.placeholder for f in FUNCTIONS}
    assert load_definition(text, filled) == checks.local_definition(REGION)


@pytest.mark.parametrize("machine", BUILT_IN_MACHINES, ids=lambda m: m.name)
def test_asl_passes_both_validators(machine: StateMachine) -> None:
    definition = checks.local_definition(REGION, machine)
    assert checks.bakusoku_validate(definition) == []
    assert checks.statelint(definition) == []


@pytest.mark.parametrize("case", CASES, ids=["-".join(c) for c in CASES])
def test_template_has_every_resource(packages: Packages, case: tuple[str, str]) -> None:
    package = packages.sam[case]
    resources = package.template["Resources"]
    bucket = resources["PhotoBucket"]["Properties"]
    assert bucket["NotificationConfiguration"] == {
        "EventBridgeConfiguration": {"EventBridgeEnabled": True}
    }
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert bucket["CorsConfiguration"]["CorsRules"][0]["AllowedMethods"] == [
        "PUT",
        "POST",
        "GET",
        "HEAD",
    ]
    rule = bucket["LifecycleConfiguration"]["Rules"][0]
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    machine = resources["PhotoPipeline"]["Properties"]
    assert machine["Tracing"] == {"Enabled": True} and machine["Logging"]["Destinations"]
    trigger = machine["Events"]["ObjectCreated"]["Properties"]
    assert trigger["Pattern"]["detail-type"] == ["Object Created"]
    assert trigger["Pattern"]["detail"]["object"]["key"] == [{"prefix": "uploads/"}]
    assert trigger["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["TriggerDeadLetterQueue", "Arn"]}}
    alert = resources["NotifierFunction"]["Properties"]["Events"]["ExecutionFailed"]["Properties"]
    # The rule feeds the notifier exactly the statuses the embedded deployment alerts on.
    assert alert["Pattern"]["detail"]["status"] == list(ALERTED_STATUSES)
    assert alert["Pattern"]["detail-type"] == [EXECUTION_STATUS_CHANGE]
    notifier_env = resources["NotifierFunction"]["Properties"]["Environment"]["Variables"]
    assert notifier_env["BAKUSOKU_SERVICE_NAME"] == package.stage.service
    assert notifier_env["BAKUSOKU_STAGE"] == package.stage.stage
    assert set(package.template["Outputs"]) >= {"ApiUrl", "BucketName", "StateMachineArn"}
    stage = package.stage
    for name in FUNCTION_NAMES:
        props = resources[checks_logical(name)]["Properties"]
        tuning = stage.functions[name]
        assert props["Tracing"] == "Active"
        assert props["MemorySize"] == tuning.memory_mb
        assert props["Timeout"] == tuning.timeout_seconds
        assert props.get("ReservedConcurrentExecutions") == tuning.reserved_concurrency
        assert props["Environment"]["Variables"]
        assert ("VpcConfig" in props) == (stage.vpc is not None and name != "notifier")
    assert resources["ApiFunction"]["Properties"]["Events"]["Http"]["Type"] == "HttpApi"


def checks_logical(name: str) -> str:
    from bakusoku.deploy.sam import logical_id

    return logical_id(name)


@pytest.mark.parametrize("case", CASES, ids=["-".join(c) for c in CASES])
def test_no_wildcard_resource_where_a_narrower_one_exists(
    expanded: dict[tuple[str, str], dict[str, Any]], case: tuple[str, str]
) -> None:
    # Log delivery for Step Functions takes only "*" (AWS documents no narrower resource).
    allowed_star = {
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    }
    for logical, resource in expanded[case]["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = statement["Action"]
                actions = [actions] if isinstance(actions, str) else actions
                if statement["Resource"] == "*" or statement["Resource"] == ["*"]:
                    assert set(actions) <= allowed_star, (logical, statement)
                assert not any(a.endswith(":*") or a == "*" for a in actions), (logical, statement)


def test_each_function_touches_only_its_prefixes(packages: Packages) -> None:
    resources = packages.sam[("enphoto", "prod")].template["Resources"]

    def statements(logical: str) -> str:
        return json.dumps(resources[logical]["Properties"]["Policies"])

    assert "renditions/" not in statements("StorePhotoFunction")
    assert "s3:PutObject" not in statements("StorePhotoFunction")
    assert "s3:" not in statements("MarkReadyFunction")
    assert "uploads/" not in statements("MarkFailedFunction")
    assert "s3:" not in statements("NotifierFunction")
    assert "SlackWebhookSecretArn" in statements("NotifierFunction")
    assert "DatabaseSecretArn" not in statements("NotifierFunction")
    # The notifier reads an execution's history (for the failed state), and changes nothing.
    assert "states:GetExecutionHistory" in statements("NotifierFunction")
    assert "states:RedriveExecution" not in statements("NotifierFunction")
    assert "states:DescribeExecution" in statements("ApiFunction")
    # Operations list the state machine's executions and reprocess a caught failure as a new
    # execution: of this state machine only, and no other function may.
    api_statements = resources["ApiFunction"]["Properties"]["Policies"][0]["Statement"]
    on_machine = [s for s in api_statements if "states:StartExecution" in s["Action"]]
    assert [s["Action"] for s in on_machine] == [
        ["states:ListExecutions", "states:StartExecution"],
        ["states:StartExecution"],  # the certificate door (a result posted, a bib tagged)
    ]
    assert on_machine[0]["Resource"]["Fn::Sub"].endswith(
        ":stateMachine:enphoto-prod-photo-pipeline"
    )
    assert on_machine[1]["Resource"]["Fn::Sub"].endswith(":stateMachine:enphoto-prod-certificate")
    # read-bibs opens the door too: the certificate state machine only, through its alias.
    read_bibs = resources["ReadBibsFunction"]["Properties"]
    (starts,) = [
        s for s in read_bibs["Policies"][0]["Statement"] if "states:StartExecution" in s["Action"]
    ]
    assert starts["Resource"]["Fn::Sub"].endswith(":stateMachine:enphoto-prod-certificate")
    assert read_bibs["Environment"]["Variables"]["BAKUSOKU_CERTIFICATE_STATE_MACHINE_ARN"] == {
        "Ref": "CertificateAliaslive"
    }
    for other in (
        "NotifierFunction",
        "StorePhotoFunction",
        "MarkFailedFunction",
        "MakeCertificateFunction",
        "MarkCertificateFailedFunction",
    ):
        assert "states:StartExecution" not in statements(other)
    assert "AdminTokenSecretArn" in statements("ApiFunction")
    assert "AdminTokenSecretArn" not in statements("MakeRenditionsFunction")
    assert "s3:DeleteObject" not in statements("MakeRenditionsFunction")
    assert "s3:" not in statements("MigrateFunction")
    assert "DatabaseSecretArn" in statements("MigrateFunction")


@pytest.mark.parametrize("case", CASES, ids=["-".join(c) for c in CASES])
def test_the_schema_comes_from_the_migration_function(
    packages: Packages, case: tuple[str, str]
) -> None:
    from bakusoku.deploy.runner import sam_deploy_command
    from bakusoku.deploy.sam import DATABASE_SCHEMA, DEPLOY_ID, logical_id

    resources = packages.sam[case].template["Resources"]
    schema = resources[DATABASE_SCHEMA]["Properties"]
    # A new migration head (or another database) changes the resource, so the deploy runs it.
    assert schema["ServiceToken"] == {"Fn::GetAtt": [logical_id(MIGRATE), "Arn"]}
    assert schema["MigrationHead"] == head_revision()
    assert schema["DatabaseSecretArn"] == {"Ref": "DatabaseSecretArn"}
    # `bakusoku deploy` gives DeployId a new value each time, so every deploy runs it.
    assert schema["DeployId"] == {"Ref": DEPLOY_ID}
    assert DEPLOY_ID in packages.sam[case].template["Parameters"]
    command = sam_deploy_command(Path("template.yaml"), packages.sam[case].stage, "abc123")
    assert command[command.index("--parameter-overrides") + 1] == f"{DEPLOY_ID}=abc123"
    migrate = resources[logical_id(MIGRATE)]["Properties"]
    assert migrate["Handler"] == "bakusoku.aws.migrate.handler"
    # Every function that uses the database is updated only after the schema is.
    for name in (*(f.name for f in FUNCTIONS), "api"):
        assert resources[logical_id(name)]["DependsOn"] == [DATABASE_SCHEMA], name


def _api_origin(template: dict[str, Any], api_id: str, region: str) -> str:
    """The origin of the ``ApiUrl`` output, as a browser on the deployed web app sends it."""
    url = template["Outputs"]["ApiUrl"]["Value"]["Fn::Sub"]
    for name, value in {"PhotoApi": api_id, "AWS::Region": region}.items():
        url = url.replace("${" + name + "}", value)
    return url.replace("${AWS::URLSuffix}", "amazonaws.com").rstrip("/")


@pytest.mark.parametrize("case", CASES, ids=["-".join(c) for c in CASES])
def test_the_web_app_uploads_and_calls_from_the_api_s_own_origin(
    packages: Packages, case: tuple[str, str]
) -> None:
    package = packages.sam[case]
    resources = package.template["Resources"]
    rule = resources["PhotoBucket"]["Properties"]["CorsConfiguration"]["CorsRules"][0]
    own = _api_origin(package.template, "a1b2c3d4e5", REGION)
    patterns = [
        o["Fn::Sub"].replace("${AWS::Region}", REGION).replace("${AWS::URLSuffix}", "amazonaws.com")
        for o in rule["AllowedOrigins"]
        if isinstance(o, dict)
    ]
    assert any(fnmatch.fnmatchcase(own, p) for p in patterns), (own, patterns)
    assert not any(fnmatch.fnmatchcase(own.replace(REGION, "us-east-1"), p) for p in patterns)
    assert [o for o in rule["AllowedOrigins"] if isinstance(o, str)] == list(
        package.stage.cors_origins
    )
    api_cors = resources["PhotoApi"]["Properties"]["CorsConfiguration"]
    assert {"authorization", "content-type"} <= set(api_cors["AllowHeaders"])
    assert {"GET", "POST", "DELETE"} <= set(api_cors["AllowMethods"])
    assert api_cors["AllowOrigins"] == list(package.stage.cors_origins)
