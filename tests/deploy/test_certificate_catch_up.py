"""The certificate catch-up declared on AWS: ``resources: {certificates: true}`` gives the function
the certificate state machine's alias ARN and StartExecution on that machine alone; a function
without it gets neither; anything but true or false is refused. No I/O."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bakusoku.config import ConfigError, env_name, load_settings
from bakusoku.deploy.sam import build_template, logical_id
from bakusoku.deploy.stages import StageConfig, load_stage

CATCH_UP = "certificate-catch-up"
OTHER = "nightly-report"
SECRETS = {
    f"{name}_secret_arn": f"arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:runs/{name}-Ab"
    for name in ("database", "slack_webhook", "transform_signing_key")
}


def _stage(tmp_path: Path, certificates: Any = True) -> StageConfig:
    file = {
        "functions": {
            CATCH_UP: {
                "handler": "bakusoku.aws.certificate_catch_up.handler",
                "events": [{"schedule": "rate(1 minute)"}],
                "resources": {"database": "write", "certificates": certificates},
            },
            OTHER: {
                "handler": "bakusoku.ops.slow_queries.handler",
                "events": [{"schedule": "rate(1 hour)"}],
                "resources": {"database": "read"},
            },
        },
        "services": {"runs": {"defaults": SECRETS, "stages": {"prod": {}}}},
    }
    path = tmp_path / "bakusoku.yml"
    path.write_text(yaml.safe_dump(file))
    return load_stage(load_settings(config_file=path, environ={}), "runs", "prod", environ={})


def _function(template: dict[str, Any], name: str) -> dict[str, Any]:
    properties: dict[str, Any] = template["Resources"][logical_id(name)]["Properties"]
    return properties


def _starts(function: dict[str, Any]) -> list[Any]:
    return [
        statement["Resource"]
        for policy in function.get("Policies", [])
        for statement in policy.get("Statement", [])
        if "states:StartExecution" in statement["Action"]
    ]


def test_the_catch_up_may_start_certificates_and_nothing_else_may(tmp_path: Path) -> None:
    template = build_template(_stage(tmp_path))
    catch_up, other = _function(template, CATCH_UP), _function(template, OTHER)
    read_bibs = _function(template, "read-bibs")
    arn_name = env_name("certificate_state_machine_arn")

    assert (
        catch_up["Environment"]["Variables"][arn_name]
        == (read_bibs["Environment"]["Variables"][arn_name])
    )
    assert _starts(catch_up) == _starts(read_bibs) and len(_starts(catch_up)) == 1
    assert "stateMachine:runs-prod-certificate" in str(_starts(catch_up)[0])
    assert arn_name not in other["Environment"]["Variables"]
    assert _starts(other) == []


def test_certificates_must_be_true_or_false(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"resources\.certificates must be true or false"):
        _stage(tmp_path, certificates="yes")


def _actions(function: dict[str, Any], action: str) -> list[Any]:
    return [
        statement["Resource"]
        for policy in function.get("Policies", [])
        for statement in policy.get("Statement", [])
        if action in statement["Action"]
    ]


def test_only_the_catch_up_may_redrive_certificate_executions(tmp_path: Path) -> None:
    template = build_template(_stage(tmp_path))
    catch_up = _function(template, CATCH_UP)

    (resource,) = _actions(catch_up, "states:RedriveExecution")
    assert resource["Fn::Sub"].endswith(":execution:runs-prod-certificate:*")
    for name in ("read-bibs", OTHER):
        assert _actions(_function(template, name), "states:RedriveExecution") == []
