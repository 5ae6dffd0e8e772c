"""``bakusoku deploy``: ``sam deploy`` of a packaged stack, when the SAM CLI and credentials exist."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import botocore.session

from bakusoku.deploy.errors import DeployError
from bakusoku.deploy.sam import DEPLOY_ID
from bakusoku.deploy.stages import StageConfig

CAPABILITIES = ("CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND")


def sam_deploy_command(template: Path, stage: StageConfig, deploy_id: str) -> list[str]:
    """``sam deploy`` of ``template``; ``deploy_id`` is new per deploy, so the migrations run."""
    return [
        "sam",
        "deploy",
        "--template-file",
        str(template),
        "--stack-name",
        stage.stack_name,
        "--region",
        stage.settings.region,
        "--capabilities",
        *CAPABILITIES,
        "--resolve-s3",
        "--no-fail-on-empty-changeset",
        "--parameter-overrides",
        f"{DEPLOY_ID}={deploy_id}",
        "--tags",
        f"service={stage.service}",
        f"stage={stage.stage}",
        "app=bakusoku",
    ]


def by_hand(template: Path, stage: StageConfig) -> str:
    return (
        "to deploy the package by hand: install the SAM CLI (pip install aws-sam-cli), "
        "configure AWS credentials (aws configure, or AWS_PROFILE), then run\n  "
        + " ".join(sam_deploy_command(template, stage, "$(date +%s)"))
    )


def has_credentials() -> bool:
    """Whether botocore finds AWS credentials (environment, ~/.aws, or an instance role)."""
    return botocore.session.get_session().get_credentials() is not None


def missing_prerequisites(stage: StageConfig) -> list[str]:
    """What stops a deploy from here: the SAM CLI, AWS credentials."""
    missing = []
    if shutil.which("sam") is None:
        missing.append("the AWS SAM CLI (`sam`) is not on PATH")
    if not has_credentials():
        missing.append("no AWS credentials were found (environment, ~/.aws, or an instance role)")
    return missing


def deploy(template: Path, stage: StageConfig) -> None:
    """Run ``sam deploy``; DeployError says what is missing or that the stack failed."""
    missing = missing_prerequisites(stage)
    if missing:
        raise DeployError(
            f"cannot deploy {stage.stack_name}: {'; '.join(missing)}.\n{by_hand(template, stage)}"
        )
    command = sam_deploy_command(template, stage, uuid.uuid4().hex)
    result = subprocess.run(command, check=False)
    if result.returncode != 0:
        raise DeployError(
            f"sam deploy of {stage.stack_name} failed (exit {result.returncode}); see its output "
            "above. CloudFormation rolled the stack back to its last good state; to remove a "
            f"stack that never deployed run `sam delete --stack-name {stage.stack_name}`"
        )
