"""moto's Step Functions running the definitions it is given (``execute_state_machine``), for
tests of what the API reads from executions: histories the emulator produced, shaped as AWS's."""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest


@pytest.fixture(scope="module")
def running_step_functions(moto_endpoint: str) -> Iterator[str]:
    """moto's Step Functions running executions, its Lambda tasks failing as unreachable.

    Executions created meanwhile live in moto's running backend; the setting is restored after.
    moto invokes a Task's Lambda function at ``localhost:$MOTO_PORT``: a port bound here and never
    listened on refuses every call, so each Lambda task fails the same way on every machine.
    """
    config = f"{moto_endpoint}/moto-api/config"
    before = httpx.get(config).json().get("stepfunctions", {}).get("execute_state_machine", False)
    refusing = socket.socket()
    refusing.bind(("127.0.0.1", 0))
    saved_port = os.environ.get("MOTO_PORT")
    os.environ["MOTO_PORT"] = str(refusing.getsockname()[1])
    httpx.post(config, json={"stepfunctions": {"execute_state_machine": True}}).raise_for_status()
    try:
        yield moto_endpoint
    finally:
        httpx.post(config, json={"stepfunctions": {"execute_state_machine": before}})
        if saved_port is None:
            os.environ.pop("MOTO_PORT", None)
        else:
            os.environ["MOTO_PORT"] = saved_port
        refusing.close()


def wait_until_stopped(client: Any, execution_arn: str, timeout: float = 30.0) -> dict[str, Any]:
    """DescribeExecution once the execution is no longer RUNNING."""
    deadline = time.monotonic() + timeout
    while True:
        found: dict[str, Any] = client.describe_execution(executionArn=execution_arn)
        if found["status"] != "RUNNING" or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def start_and_wait(client: Any, machine: str, payload: Any, name: str | None = None) -> str:
    """Start an execution of ``machine`` and wait for it to end; returns its name."""
    name = name or f"photo-{uuid.uuid4()}"
    started = client.start_execution(stateMachineArn=machine, name=name, input=json.dumps(payload))
    wait_until_stopped(client, started["executionArn"])
    return name
