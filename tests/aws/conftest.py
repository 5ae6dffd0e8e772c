"""Fixtures for the Lambda-side code: moto's server on loopback, as the packaging tests use it,
and the stack of one service and stage, created on moto's server and run end to end.

Needs moto[server] and aws-sam-translator (the test extra) and real PostgreSQL and MariaDB
servers; with BAKUSOKU_TEST_REQUIRE_SERVERS=1 (CI) a missing one fails the run instead of
skipping it.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bakusoku.config import load_settings
from bakusoku.deploy.package import Package, package
from bakusoku.deploy.policies import (
    ADMIN_SECRET,
    DATABASE_SECRET,
    STATE_MACHINE,
    TRANSFORM_SECRET,
    WEBHOOK_SECRET,
)
from bakusoku.deploy.sam import logical_id
from bakusoku.runtime import FunctionConfig, FunctionRuntime
from tests.aws import versions
from tests.aws.call_recorder import LOG_DIR_VARIABLE, PLUGIN_VALUE, PLUGIN_VARIABLE
from tests.aws.executing import running_step_functions
from tests.aws.lambda_bridge import LambdaBridge, lambda_bridge
from tests.aws.rekognition_endpoint import RekognitionEndpoint, rekognition_endpoint
from tests.aws.stack import (
    EventDelivery,
    Stack,
    answer_custom_resources,
    create,
    enable_bucket_eventbridge,
    executable_state_machine,
    execute_state_machines,
    reset,
    tap_s3_events,
    wait_until_created,
)
from tests.aws.webhook import Webhook, https_webhook
from tests.conftest import free_port
from tests.db.servers import REQUIRE, ServerDatabase, create_database
from tests.deploy.conftest import EXAMPLE, FAKE_AWS, REGION, fake_aws, moto_endpoint

SERVICE, STAGE = "enphoto", "dev"
ACCOUNT = "123456789012"  # moto's default account
ADMIN_TOKEN = "test-admin-token-0123456789abcdef"
TRANSFORM_KEY = "test-transform-key-0123456789abcdef0123"
# What a Lambda execution environment has besides the function's own variables: the role's
# session credentials (a session token, as on Lambda), and the harness's additions, each needed
# because the emulator is not AWS: where AWS is (Rekognition's own endpoint, as moto has no
# collections), the call recorder, trust in the test webhook.
_ROLE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "ASIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN",
}
_INHERITED = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR"}

__all__ = ["fake_aws", "moto_endpoint", "running_step_functions"]


def _require(module: str, why: str) -> None:
    if importlib.util.find_spec(module) is None:
        message = f"needs {why}: pip install -e '.[test]'"
        if REQUIRE:
            pytest.fail(message)
        pytest.skip(message)


@dataclass
class Deployed:
    """The created stack and everything the test drives it with."""

    endpoint: str
    package: Package
    stack: Stack
    bucket: str
    definition: dict[str, Any]
    runtime: FunctionRuntime
    bridge: LambdaBridge
    delivery: EventDelivery
    webhook: Webhook
    calls_dir: Path
    database: ServerDatabase
    functions: dict[str, FunctionConfig]  # as the runtime runs them, by function name
    parameters: dict[str, str]  # the stack's parameter values
    rekognition: RekognitionEndpoint  # the face index (moto has no Rekognition collections)

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION)

    def function_name(self, name: str) -> str:
        return self.stack.physical[logical_id(name)]


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    """moto's server on loopback (each stack resets it first)."""
    _require("moto.server", "moto[server]")
    _require("samtranslator", "aws-sam-translator")
    from moto.server import ThreadedMotoServer

    saved = {k: os.environ.get(k) for k in (*FAKE_AWS, "MOTO_PORT")}
    os.environ.update(FAKE_AWS)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    versions.register()  # the versions and aliases SAM publishes (see versions.py)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        yield endpoint
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _managed_secret(database: ServerDatabase) -> str:
    """The secret as RDS manages it for an instance: the credentials only."""
    url = sa.make_url(database.url)
    return json.dumps({"username": url.username, "password": url.password or ""})


def _connection_settings(database: ServerDatabase) -> dict[str, Any]:
    """Where the database is, as the stage's settings say it (the managed secret does not)."""
    url = sa.make_url(database.url)
    return {
        "database_engine": "postgres" if database.kind == "postgresql" else "mariadb",
        "database_host": url.host,
        "database_port": url.port or (5432 if database.kind == "postgresql" else 3306),
        "database_name": database.name,
        # The loopback servers have no TLS (RDS has; there the default verify-full applies).
        "database_tls": "off",
        # The face index of a stack on AWS: Amazon Rekognition, answered by rekognition_endpoint;
        # as in the Lambda bundle, no face detector of ours (Rekognition finds the faces).
        "face_index": "rekognition",
        "face_detection": False,
    }


@pytest.fixture(scope="module", params=["postgresql", "mariadb"])
def deployed(
    request: pytest.FixtureRequest, emulator: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployed]:
    import boto3

    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=emulator, region_name=REGION)

    reset(emulator)
    tap = tap_s3_events(client)
    database = create_database(request.param)
    root = tmp_path_factory.mktemp(f"aws-{request.param}")
    calls_dir = root / "calls"
    calls_dir.mkdir()
    settings = load_settings(_connection_settings(database), config_file=EXAMPLE, environ={})
    built = package(settings, SERVICE, STAGE, out_dir=root / "package", install_dependencies=False)
    runtime: FunctionRuntime | None = None
    try:
        with https_webhook(root) as webhook, rekognition_endpoint(REGION, ACCOUNT) as faces:
            secrets = client("secretsmanager")
            suffix = request.param
            arns = {
                DATABASE_SECRET: secrets.create_secret(
                    Name=f"{SERVICE}/database-{suffix}", SecretString=_managed_secret(database)
                )["ARN"],
                WEBHOOK_SECRET: secrets.create_secret(
                    Name=f"{SERVICE}/slack-webhook-{suffix}",
                    SecretString=json.dumps({"url": webhook.url}),
                )["ARN"],
                ADMIN_SECRET: secrets.create_secret(
                    Name=f"{SERVICE}/admin-token-{suffix}", SecretString=ADMIN_TOKEN
                )["ARN"],
                TRANSFORM_SECRET: secrets.create_secret(
                    Name=f"{SERVICE}/transform-key-{suffix}", SecretString=TRANSFORM_KEY
                )["ARN"],
            }
            stack = create(client, built, arns, REGION)
            functions = _functions(client, stack)
            runtime = _runtime(functions, emulator, calls_dir, webhook, faces)
            answer_custom_resources(client, stack, runtime.invoke, emulator, REGION)
            stack = wait_until_created(client, stack)
            bucket = enable_bucket_eventbridge(client, stack)
            definition = executable_state_machine(client, stack, emulator)
            delivery = EventDelivery(client, stack, tap)
            with lambda_bridge(runtime, caller=stack.physical[f"{STATE_MACHINE}Role"]) as bridge:
                saved_port = os.environ.get("MOTO_PORT")
                # moto's Step Functions invokes Lambda at localhost:$MOTO_PORT: the bridge.
                os.environ["MOTO_PORT"] = str(bridge.port)
                try:
                    yield Deployed(
                        emulator,
                        built,
                        stack,
                        bucket,
                        definition,
                        runtime,
                        bridge,
                        delivery,
                        webhook,
                        calls_dir,
                        database,
                        functions,
                        arns,
                        faces,
                    )
                finally:
                    if saved_port is None:
                        os.environ.pop("MOTO_PORT", None)
                    else:
                        os.environ["MOTO_PORT"] = saved_port
    finally:
        execute_state_machines(emulator, False)
        if runtime is not None:
            runtime.close()
        database.drop()


def _functions(client: Any, stack: Stack) -> dict[str, FunctionConfig]:
    """Each deployed function as CloudFormation configured it: handler, sizes, environment."""
    functions = client("lambda")
    configs = {}
    for logical in stack.resources_of_type("AWS::Lambda::Function"):
        found = functions.get_function_configuration(FunctionName=stack.physical[logical])
        configs[found["FunctionName"]] = FunctionConfig(
            name=found["FunctionName"],
            handler=found["Handler"],
            timeout_seconds=found["Timeout"],
            memory_mb=found["MemorySize"],
            environment=found.get("Environment", {}).get("Variables", {}),
        )
    return configs


def _runtime(
    functions: dict[str, FunctionConfig],
    endpoint: str,
    calls_dir: Path,
    webhook: Webhook,
    faces: RekognitionEndpoint,
) -> FunctionRuntime:
    """One execution environment per deployed function, with the environment Lambda gives it."""
    harness = {
        **_ROLE_CREDENTIALS,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ENDPOINT_URL_REKOGNITION": faces.url,
        PLUGIN_VARIABLE: PLUGIN_VALUE,
        LOG_DIR_VARIABLE: str(calls_dir),
        "SSL_CERT_FILE": str(webhook.ca_file),
    }
    return FunctionRuntime(
        functions.values(),
        max_environments=len(functions) + 2,
        region=REGION,
        account=ACCOUNT,
        environment=harness,
        withhold=[name for name in os.environ if name not in _INHERITED],
    )
