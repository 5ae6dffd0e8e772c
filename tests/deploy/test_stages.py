"""Services and stages resolve from the configuration file, with errors that quote key and value;
one override of the function table sizes the embedded runtime and both AWS templates alike."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from bakusoku.config import SECRET_VARIABLES, ConfigError, Settings, load_settings
from bakusoku.deploy.policies import function_statements
from bakusoku.deploy.sam import API, build_template, function_environment, logical_id
from bakusoku.deploy.serverless import build_serverless, function_key
from bakusoku.deploy.stages import FUNCTION_NAMES, load_stage
from bakusoku.pipeline.functions import FUNCTIONS, runtime_functions, sized_functions
from tests.deploy.conftest import example_settings

_SECRETS = {
    "database_secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf",
    "slack_webhook_secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:s-AbC",
    "transform_signing_key_secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:t-AbC",
}


def _settings(
    tmp_path: Path, file: dict[str, Any], environ: dict[str, str] | None = None
) -> Settings:
    path = tmp_path / "bakusoku.yml"
    path.write_text(yaml.safe_dump(file))
    return load_settings(config_file=path, environ=environ or {})


def _one_stage(tmp_path: Path, stage: dict[str, Any], **top: Any) -> Settings:
    return _settings(
        tmp_path, {**top, "services": {"svc": {"defaults": _SECRETS, "stages": {"dev": stage}}}}
    )


def test_stage_overrides_defaults_and_the_function_table() -> None:
    prod = load_stage(example_settings(), "enphoto", "prod")
    assert prod.functions["make-renditions"].memory_mb == 3008
    assert prod.functions["make-renditions"].reserved_concurrency == 30
    assert prod.functions["mark-ready"].reserved_concurrency == 20  # the stage's default
    assert prod.functions["mark-ready"].memory_mb == 512  # the file's function table
    assert prod.log_retention_days == 90 and prod.vpc is not None
    dev = load_stage(example_settings(), "enphoto", "dev")
    assert dev.vpc is None and dev.cors_origins == ("http://localhost:8080",)


def test_env_references_resolve_with_defaults() -> None:
    arn = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:from-env-AbCdEf"
    environ = {"ENPHOTO_DATABASE_SECRET_ARN": arn}
    assert load_stage(example_settings(), "enphoto", "dev", environ).database_secret_arn == arn
    fallback = load_stage(example_settings(), "enphoto", "dev", {}).database_secret_arn
    assert "enphoto/database" in fallback


def test_an_unset_env_reference_without_default_names_key_and_variable(tmp_path: Path) -> None:
    stage = {"database_secret_arn": "${env:CI_DATABASE_ARN}"}
    settings = _settings(
        tmp_path, {"services": {"svc": {"defaults": {**_SECRETS, **stage}, "stages": {"dev": {}}}}}
    )
    with pytest.raises(ConfigError) as caught:
        load_stage(settings, "svc", "dev", {})
    message = str(caught.value)
    assert "services.svc.database_secret_arn" in message and "CI_DATABASE_ARN" in message
    arn = _SECRETS["database_secret_arn"]
    assert load_stage(settings, "svc", "dev", {"CI_DATABASE_ARN": arn}).database_secret_arn == arn


@pytest.mark.parametrize(
    ("stage", "message"),
    [
        ({"log_retention_days": 10}, "log_retention_days has the bad value 10"),
        (
            {"reserved_concurrency": {"resize": 3}},
            "stages.dev.reserved_concurrency names an unknown function 'resize'",
        ),
        ({"colour": "red"}, "services.svc.stages.dev has unknown keys ['colour']"),
        (
            {"database_secret_arn": "mysql://x"},
            "database_secret_arn must be the ARN of a Secrets Manager secret (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME), not 'mysql://x'",
        ),
        (
            {"functions": {"make-renditions": {"memory_mb": 64}}},
            "stages.dev.functions.make-renditions.memory_mb must be a whole number from 128 to 10240, not 64",
        ),
        (
            {"functions": {"make-renditions": {"timeout_seconds": "ten"}}},
            "make-renditions.timeout_seconds must be a whole number from 1 to 900, not 'ten'",
        ),
        (
            {"db_instance_identifier": "arn:aws:rds:x"},
            "services.svc.db_instance_identifier must be an RDS DB instance identifier",
        ),
    ],
)
def test_bad_values_name_the_key_and_the_value(
    tmp_path: Path, stage: dict[str, Any], message: str
) -> None:
    settings = _one_stage(tmp_path, stage)
    with pytest.raises(ConfigError) as caught:
        load_stage(settings, "svc", "dev")
    assert message in str(caught.value)


def test_no_services_points_at_the_example(tmp_path: Path) -> None:
    path = tmp_path / "bakusoku.yml"
    path.write_text("region: us-east-1\n")
    with pytest.raises(ConfigError, match=r"bakusoku\.example\.yml"):
        load_stage(load_settings(config_file=path, environ={}), "enphoto", "dev")


def test_one_stage_override_sizes_the_embedded_runtime_and_both_templates(tmp_path: Path) -> None:
    override = {"make-renditions": {"memory_mb": 1536, "timeout_seconds": 7}}
    stage = {"functions": override, "reserved_concurrency": {"make-renditions": 3}}
    _one_stage(tmp_path, stage)
    path = tmp_path / "bakusoku.yml"
    # `bakusoku up` as service svc in stage dev (BAKUSOKU_SERVICE_NAME, BAKUSOKU_STAGE).
    local = load_settings(
        config_file=path, environ={"BAKUSOKU_SERVICE_NAME": "svc", "BAKUSOKU_STAGE": "dev"}
    )
    embedded = {f.name: f for f in runtime_functions(local, {})}
    assert (embedded["make-renditions"].timeout_seconds, embedded["make-renditions"].memory_mb) == (
        7,
        1536,
    )
    assert embedded["make-renditions"].reserved_concurrency == 3
    stack = load_stage(load_settings(config_file=path, environ={}), "svc", "dev")
    sam = build_template(stack)["Resources"][logical_id("make-renditions")]["Properties"]
    assert (sam["Timeout"], sam["MemorySize"], sam["ReservedConcurrentExecutions"]) == (7, 1536, 3)
    values = build_serverless(stack, [stack])["custom"]["stages"]["dev"]
    key = function_key("make-renditions")
    assert (values["timeout"][key], values["memorySize"][key]) == (7, 1536)
    assert values["reservedConcurrency"][key] == 3
    # The other functions keep the function table's sizes on both.
    table = {f.name: f for f in FUNCTIONS}
    assert embedded["store-photo"].timeout_seconds == table["store-photo"].timeout_seconds
    assert stack.functions["store-photo"].timeout_seconds == table["store-photo"].timeout_seconds


def test_the_top_level_function_table_applies_without_a_stage(tmp_path: Path) -> None:
    settings = _settings(tmp_path, {"functions": {"mark-ready": {"timeout_seconds": 12}}})
    embedded = {f.name: f for f in runtime_functions(settings, {})}
    assert embedded["mark-ready"].timeout_seconds == 12
    assert embedded["mark-ready"].reserved_concurrency is None
    assert sized_functions(settings)["mark-ready"].timeout_seconds == 12


def test_an_unknown_function_in_the_table_is_named(tmp_path: Path) -> None:
    settings = _settings(tmp_path, {"functions": {"resize": {"timeout_seconds": 12}}})
    with pytest.raises(ConfigError, match="functions names an unknown function 'resize'"):
        runtime_functions(settings, {})


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


def test_the_embedded_face_index_is_off_on_aws_and_another_choice_is_kept() -> None:
    stage = load_stage(example_settings(), "enphoto", "prod")
    for name in ("index-faces", "make-renditions", API):
        assert function_environment(name, stage)["BAKUSOKU_FACE_INDEX"] == "off", name
    off = load_stage(dataclasses.replace(example_settings(), face_index="off"), "enphoto", "prod")
    assert function_environment("index-faces", off)["BAKUSOKU_FACE_INDEX"] == "off"


def test_the_functions_that_queue_runner_notifications_know_their_stage() -> None:
    """A failure to queue is counted with the stage as a dimension (races.notifications)."""
    stage = load_stage(example_settings(), "enphoto", "prod")
    for name in ("read-bibs", API):
        assert function_environment(name, stage)["BAKUSOKU_STAGE"] == "prod", name


def test_the_embedded_bib_reader_is_off_on_aws_and_rekognition_may_detect_text() -> None:
    stage = load_stage(example_settings(), "enphoto", "prod")
    for name in ("read-bibs", API):
        assert function_environment(name, stage)["BAKUSOKU_BIB_READER"] == "off", name
    assert "rekognition:DetectText" not in json.dumps(function_statements("read-bibs", stage))
    chosen = dataclasses.replace(example_settings(), bib_reader="rekognition")
    deployed = load_stage(chosen, "enphoto", "prod")
    assert function_environment("read-bibs", deployed)["BAKUSOKU_BIB_READER"] == "rekognition"
    granted = [
        s
        for s in function_statements("read-bibs", deployed)
        if "rekognition:DetectText" in s["Action"]
    ]
    assert granted == [{"Effect": "Allow", "Action": ["rekognition:DetectText"], "Resource": "*"}]
    others = [n for n in FUNCTION_NAMES if n != "read-bibs"]
    assert not any("rekognition" in json.dumps(function_statements(n, deployed)) for n in others)
