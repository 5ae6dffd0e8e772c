"""Services and stages resolve from the configuration file, with actionable errors."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import yaml

from bakusoku.config import SECRET_VARIABLES, Settings, load_settings
from bakusoku.deploy.errors import DeployConfigError
from bakusoku.deploy.sam import API, function_environment
from bakusoku.deploy.stages import FUNCTION_NAMES, load_stage
from tests.deploy.conftest import example_settings


def _settings(tmp_path: Path, services: dict[str, object]) -> Settings:
    path = tmp_path / "bakusoku.yml"
    path.write_text(yaml.safe_dump({"services": services}))
    return load_settings(config_file=path, environ={})


def test_stage_overrides_defaults_and_the_function_table() -> None:
    prod = load_stage(example_settings(), "enphoto", "prod")
    assert prod.functions["make-renditions"].memory_mb == 3008
    assert prod.functions["make-renditions"].reserved_concurrency == 30
    assert prod.functions["mark-ready"].reserved_concurrency == 20  # the stage's default
    assert prod.functions["mark-ready"].memory_mb == 512  # the file's function table
    assert prod.log_retention_days == 90 and prod.vpc is not None
    dev = load_stage(example_settings(), "enphoto", "dev")
    assert dev.vpc is None and dev.cors_origins == ("http://localhost:8080",)


def test_env_variables_resolve_with_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    arn = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:from-env-AbCdEf"
    monkeypatch.setenv("ENPHOTO_DATABASE_SECRET_ARN", arn)
    assert load_stage(example_settings(), "enphoto", "dev").database_secret_arn == arn
    monkeypatch.delenv("ENPHOTO_DATABASE_SECRET_ARN")
    assert (
        "enphoto/database" in load_stage(example_settings(), "enphoto", "dev").database_secret_arn
    )


@pytest.mark.parametrize(
    ("stage", "message"),
    [
        ({"log_retention_days": 10}, "is not a CloudWatch Logs retention"),
        ({"reserved_concurrency": {"resize": 3}}, "names unknown functions ['resize']"),
        ({"colour": "red"}, "unknown keys ['colour']"),
        ({"database_secret_arn": "mysql://x"}, "must be the ARN of a Secrets Manager secret"),
        (
            {"functions": {"make-renditions": {"memory_mb": 64}}},
            "must be a whole number from 128 to 10240",
        ),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, stage: dict[str, object], message: str) -> None:
    base = {
        "database_secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf",
        "slack_webhook_secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:s-AbC",
    }
    settings = _settings(tmp_path, {"svc": {"defaults": base, "stages": {"dev": stage}}})
    with pytest.raises(DeployConfigError) as caught:
        load_stage(settings, "svc", "dev")
    assert message in str(caught.value)


def test_no_services_points_at_the_example(tmp_path: Path) -> None:
    path = tmp_path / "bakusoku.yml"
    path.write_text("region: us-east-1\n")
    with pytest.raises(DeployConfigError, match=r"bakusoku\.example\.yml"):
        load_stage(load_settings(config_file=path, environ={}), "enphoto", "dev")


def test_secrets_set_in_the_file_never_reach_a_function_environment() -> None:
    secrets = {
        "slack_webhook_url": "https://hooks.slack.com/services/T000/B000/SECRETSECRET",
        "alert_webhook_url": "https://alerts.example.com/hook",
        "alert_webhook_secret": "signing-secret-value",
        "admin_token": "bka_admin-token-value",
    }
    settings = dataclasses.replace(example_settings(), **secrets)
    stage = load_stage(settings, "enphoto", "prod")
    for name in (*FUNCTION_NAMES, API):
        rendered = json.dumps(function_environment(name, stage))
        assert not any(value in rendered for value in secrets.values()), name
        assert not SECRET_VARIABLES & set(function_environment(name, stage)), name
