"""Fixtures for the AWS packaging tests: packages of every service and stage, `osls package` of a
serverless.yml, and moto's S3 API."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bakusoku.config import Settings, load_settings, service_names, stage_names
from bakusoku.deploy.package import Package, package
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "bakusoku.example.yml"
REGION = "ap-northeast-1"
# Fake credentials for moto and osls; no request of these tests leaves the machine.
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


TOOLS = ROOT / "deploy-tools" / "node_modules"
OSLS = TOOLS / ".bin" / "osls"


@pytest.fixture(scope="session")
def osls() -> str:
    """The Serverless Framework (osls) of deploy-tools/, with the step-functions plugin."""
    if not OSLS.exists():
        message = "deploy-tools is not installed: run `npm ci --prefix deploy-tools`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return str(OSLS)


def osls_package(osls: str, package: Package) -> dict[str, Any]:
    """`osls package` of a serverless.yml package (configValidationMode: error): the
    CloudFormation template the framework and its plugin generate."""
    directory = package.directory
    link = directory / "node_modules"
    if not link.exists():
        link.symlink_to(TOOLS, target_is_directory=True)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(directory),
        "SLS_TELEMETRY_DISABLED": "1",
        "SLS_NOTIFICATIONS_MODE": "off",
        **FAKE_AWS,
    }
    result = subprocess.run(
        [osls, "package", "--stage", package.stage.stage],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    generated = directory / ".serverless" / "cloudformation-template-update-stack.json"
    template: dict[str, Any] = json.loads(generated.read_text())
    return template


def example_settings() -> Settings:
    return load_settings(config_file=EXAMPLE, environ={})


CASES = [
    (service, stage)
    for service in service_names(example_settings())
    for stage in stage_names(example_settings(), service)
]


@dataclass(frozen=True)
class Packages:
    sam: dict[tuple[str, str], Package]
    serverless: dict[tuple[str, str], Package]


@pytest.fixture(scope="session")
def packages(tmp_path_factory: pytest.TempPathFactory) -> Packages:
    """Both formats for every service and stage of the example, once per session (no deps)."""
    root = tmp_path_factory.mktemp("packages")
    settings = example_settings()
    sam = {}
    serverless = {}
    for service, stage in CASES:
        sam[(service, stage)] = package(
            settings,
            service,
            stage,
            out_dir=root / f"{service}-{stage}-sam",
            install_dependencies=False,
        )
        serverless[(service, stage)] = package(
            settings,
            service,
            stage,
            fmt="serverless",
            out_dir=root / f"{service}-{stage}-serverless",
            install_dependencies=False,
        )
    return Packages(sam, serverless)


@pytest.fixture(scope="session")
def fake_aws() -> Iterator[dict[str, str]]:
    """Fake credentials in this process's environment for the session (restored after)."""
    saved = {k: os.environ.get(k) for k in FAKE_AWS}
    os.environ.update(FAKE_AWS)
    try:
        yield dict(FAKE_AWS)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def moto_endpoint(fake_aws: dict[str, str]) -> Iterator[str]:
    """moto's server mode on loopback: a real S3 (and Secrets Manager) HTTP API."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
