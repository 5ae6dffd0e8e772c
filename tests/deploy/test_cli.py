"""`bakusoku package` and `bakusoku deploy` as people run them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from bakusoku.cli.main import cli
from bakusoku.config import load_settings
from bakusoku.pipeline.functions import sized_functions
from tests.deploy.conftest import EXAMPLE


def test_package_writes_template_and_bundle(tmp_path: Path) -> None:
    out = tmp_path / "pkg"
    result = CliRunner().invoke(
        cli,
        [
            "package",
            "--service",
            "kurapuri",
            "--stage",
            "staging",
            "--out",
            str(out),
            "--config",
            str(EXAMPLE),
            "--no-dependencies",
        ],
    )
    assert result.exit_code == 0, result.output
    template = yaml.safe_load((out / "template.yaml").read_text())
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    assert (out / "code" / "bakusoku" / "pipeline" / "photo_pipeline.asl.yaml").is_file()
    assert "AWS::Serverless::StateMachine (2): PhotoPipeline, Certificate" in result.output


def test_unknown_stage_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "package",
            "--service",
            "enphoto",
            "--stage",
            "qa",
            "--config",
            str(EXAMPLE),
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code != 0
    assert "service 'enphoto' has no stage 'qa'" in str(result.exception)


def test_deploy_dry_run_prints_the_plan() -> None:
    pytest.importorskip("samtranslator", reason="needs the aws extra")
    result = CliRunner().invoke(
        cli,
        [
            "deploy",
            "--service",
            "enphoto",
            "--stage",
            "prod",
            "--dry-run",
            "--config",
            str(EXAMPLE),
        ],
        # No account to ask (other tests' fake credentials may be in this process's environment):
        # the plan alone, without the quota check that needs credentials.
        env={
            "AWS_DEFAULT_REGION": "ap-northeast-1",
            "AWS_ACCESS_KEY_ID": None,
            "AWS_SECRET_ACCESS_KEY": None,
            "AWS_SESSION_TOKEN": None,
            "AWS_PROFILE": None,
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
            "AWS_CONFIG_FILE": "/nonexistent",
            "AWS_EC2_METADATA_DISABLED": "true",
        },
    )
    assert result.exit_code == 0, result.output
    assert "plan for stack enphoto-prod" in result.output
    # bakusoku's functions and those the example declares
    functions = sized_functions(load_settings(config_file=EXAMPLE))
    assert f"AWS::Lambda::Function ({len(functions)})" in result.output
    assert "AWS::StepFunctions::StateMachine (2)" in result.output
    assert "sam deploy --template-file" in result.output


def test_deploy_without_sam_cli_says_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no `sam` here
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    from bakusoku.deploy.runner import deploy
    from bakusoku.deploy.stages import load_stage
    from tests.deploy.conftest import example_settings

    stage = load_stage(example_settings(), "enphoto", "dev")
    with pytest.raises(Exception) as caught:
        deploy(tmp_path / "template.yaml", stage)
    message = str(caught.value)
    assert "the AWS SAM CLI (`sam`) is not on PATH" in message
    assert "no AWS credentials were found" in message
    assert "sam deploy --template-file" in message


def test_deploy_command_stops_before_packaging_when_sam_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    out = tmp_path / "pkg"
    result = CliRunner().invoke(
        cli,
        [
            "deploy",
            "--service",
            "enphoto",
            "--stage",
            "dev",
            "--config",
            str(EXAMPLE),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 1
    assert "the AWS SAM CLI (`sam`) is not on PATH" in result.output
    assert "bakusoku package --service enphoto --stage dev" in result.output
    assert not out.exists()
