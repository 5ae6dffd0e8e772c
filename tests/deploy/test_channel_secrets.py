"""The runner channels' secrets on AWS: the stage names one Secrets Manager secret per secret
setting; the template takes each as a parameter, hands its ARN (never its value) to the functions
that need it, and lets exactly those read it: the runner notifier the ones it sends with and the
links' key, the API the LINE webhook's secret and the Web Push key. No I/O."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from bakusoku.config import ConfigError, Settings, env_name, load_settings
from bakusoku.deploy.policies import CHANNEL_SECRET_PARAMETERS, TRANSFORM_SECRET
from bakusoku.deploy.sam import build_template, logical_id
from bakusoku.deploy.serverless import build_serverless
from bakusoku.deploy.stages import API, StageConfig, load_stage
from bakusoku.pipeline.functions import runtime_functions

NOTIFIER = "runner-notifier"


def _arn(name: str) -> str:
    return f"arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:runs/{name}-AbCdEf"


BASE = {
    "database_secret_arn": _arn("database"),
    "slack_webhook_secret_arn": _arn("slack"),
    "transform_signing_key_secret_arn": _arn("transform-key"),
}
CHANNELS = {
    "line_channel_access_token_secret_arn": _arn("line-token"),
    "line_channel_secret_secret_arn": _arn("line-secret"),
    "smtp_password_secret_arn": _arn("smtp"),
    "vapid_private_key_secret_arn": _arn("vapid"),
}
# A value of a secret setting in the file: it must reach no template.
LEAKED = "tok-NEVER-IN-A-TEMPLATE-0123456789"


def _settings(
    tmp_path: Path, stage: dict[str, Any], environ: dict[str, str] | None = None
) -> Settings:
    file = {
        "line_channel_access_token": LEAKED,
        "functions": {
            NOTIFIER: {
                "handler": "bakusoku.aws.runner_notifier.handler",
                "events": [{"schedule": "rate(1 minute)"}],
                "timeout_seconds": 60,
                "resources": {"database": "write", "runner_channels": True},
            }
        },
        "services": {"runs": {"defaults": BASE, "stages": {"prod": stage}}},
    }
    path = tmp_path / "bakusoku.yml"
    path.write_text(yaml.safe_dump(file))
    return load_settings(config_file=path, environ=environ or {})


def _stage(tmp_path: Path, stage: dict[str, Any]) -> StageConfig:
    return load_stage(_settings(tmp_path, stage), "runs", "prod", environ={})


def _readers(template: dict[str, Any], parameter: str) -> set[str]:
    """The functions whose role may read the secret ``parameter`` names."""
    found = set()
    for logical, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy.get("Statement", []):
                if "secretsmanager:GetSecretValue" in statement["Action"] and statement[
                    "Resource"
                ] == {"Ref": parameter}:
                    found.add(logical)
    return found


def _environment(template: dict[str, Any], function: str) -> dict[str, Any]:
    variables: dict[str, Any] = template["Resources"][logical_id(function)]["Properties"][
        "Environment"
    ]["Variables"]
    return variables


def test_each_channel_secret_is_a_parameter_read_only_by_who_needs_it(tmp_path: Path) -> None:
    template = build_template(_stage(tmp_path, CHANNELS))

    for name, parameter in CHANNEL_SECRET_PARAMETERS.items():
        declared = template["Parameters"][parameter]
        assert declared["Default"] == CHANNELS[f"{name}_secret_arn"]
        assert declared["AllowedPattern"].startswith("^arn:aws")
    notifier, api = logical_id(NOTIFIER), logical_id(API)
    assert _readers(template, "LineChannelAccessTokenSecretArn") == {notifier}
    assert _readers(template, "SmtpPasswordSecretArn") == {notifier}
    assert _readers(template, "LineChannelSecretSecretArn") == {api}
    assert _readers(template, "VapidPrivateKeySecretArn") == {notifier, api}
    assert notifier in _readers(template, TRANSFORM_SECRET)  # the links' key the API checks


def test_the_functions_get_the_arns_and_never_a_value(tmp_path: Path) -> None:
    template = build_template(_stage(tmp_path, CHANNELS))

    notifier, api = _environment(template, NOTIFIER), _environment(template, API)
    assert notifier[env_name("line_channel_access_token_secret_arn")] == {
        "Ref": "LineChannelAccessTokenSecretArn"
    }
    assert notifier[env_name("smtp_password_secret_arn")] == {"Ref": "SmtpPasswordSecretArn"}
    assert notifier[env_name("vapid_private_key_secret_arn")] == {"Ref": "VapidPrivateKeySecretArn"}
    assert notifier[env_name("transform_signing_key_secret_arn")] == {"Ref": TRANSFORM_SECRET}
    assert env_name("line_channel_secret_secret_arn") not in notifier
    assert api[env_name("line_channel_secret_secret_arn")] == {"Ref": "LineChannelSecretSecretArn"}
    assert api[env_name("vapid_private_key_secret_arn")] == {"Ref": "VapidPrivateKeySecretArn"}
    assert env_name("line_channel_access_token_secret_arn") not in api
    assert env_name("smtp_password_secret_arn") not in api
    read_bibs = _environment(template, "read-bibs")
    assert not [k for k in read_bibs if "LINE" in k or "SMTP_PASSWORD" in k or "VAPID" in k]
    assert LEAKED not in json.dumps(template)


def test_a_stage_without_channel_secrets_has_no_parameter_nor_grant(tmp_path: Path) -> None:
    template = build_template(_stage(tmp_path, {}))

    assert not set(CHANNEL_SECRET_PARAMETERS.values()) & set(template["Parameters"])
    assert all(not _readers(template, p) for p in CHANNEL_SECRET_PARAMETERS.values())
    # The notifier still signs its links with the API's key.
    assert logical_id(NOTIFIER) in _readers(template, TRANSFORM_SECRET)
    assert not [k for k in _environment(template, NOTIFIER) if "LINE" in k or "SMTP" in k]


def test_one_channel_secret_alone_is_all_the_stack_names(tmp_path: Path) -> None:
    template = build_template(
        _stage(tmp_path, {"smtp_password_secret_arn": CHANNELS["smtp_password_secret_arn"]})
    )

    named = set(CHANNEL_SECRET_PARAMETERS.values()) & set(template["Parameters"])
    assert named == {"SmtpPasswordSecretArn"}
    assert _readers(template, "SmtpPasswordSecretArn") == {logical_id(NOTIFIER)}


def test_a_bad_arn_is_refused_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"services\.runs\.smtp_password_secret_arn must be"):
        _stage(tmp_path, {"smtp_password_secret_arn": "my-smtp-password"})


def test_serverless_takes_the_same_secrets_as_stage_values(tmp_path: Path) -> None:
    stage = _stage(tmp_path, CHANNELS)

    output = build_serverless(stage, [stage])
    text = json.dumps(output)

    values = output["custom"]["stages"]["prod"]
    assert values["smtpPasswordSecretArn"] == CHANNELS["smtp_password_secret_arn"]
    assert values["lineChannelSecretSecretArn"] == CHANNELS["line_channel_secret_secret_arn"]
    assert not [p for p in CHANNEL_SECRET_PARAMETERS.values() if f'{{"Ref": "{p}"}}' in text]
    assert LEAKED not in text


def test_bakusoku_up_hands_the_secrets_to_that_function_only(tmp_path: Path) -> None:
    local = _settings(
        tmp_path, {}, environ={"BAKUSOKU_SERVICE_NAME": "runs", "BAKUSOKU_STAGE": "prod"}
    )

    workers = {f.name: f.environment for f in runtime_functions(local, {})}

    assert workers[NOTIFIER][env_name("line_channel_access_token")] == LEAKED
    assert env_name("line_channel_access_token") not in workers["read-bibs"]
