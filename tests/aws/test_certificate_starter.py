"""The certificate door's starter on AWS against moto's Step Functions: StartExecution with the
door's name and input, and a name already used starts nothing (ExecutionAlreadyExists)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from bakusoku.config import ConfigError, Settings
from bakusoku.pipeline.certificate_workflow import StepFunctionsStarter, process_starter
from bakusoku.races.certificate_door import execution_input, execution_name
from bakusoku.races.certificate_records import CertificateKey
from bakusoku.races.repository import RaceRef

pytest.importorskip("moto", reason="needs moto[server]: pip install -e '.[aws,test]'")
pytestmark = pytest.mark.integration

REGION = "ap-northeast-1"
ROLE = "arn:aws:iam::123456789012:role/certificate"
PASS = {"StartAt": "Made", "States": {"Made": {"Type": "Pass", "End": True}}}


@pytest.fixture(scope="module")
def client(running_step_functions: str) -> Any:
    return botocore.session.get_session().create_client(
        "stepfunctions", region_name=REGION, endpoint_url=running_step_functions
    )


def test_a_start_names_the_certificate_and_a_repeat_starts_nothing(client: Any) -> None:
    machine = client.create_state_machine(
        name=f"certificate-{uuid.uuid4().hex[:8]}", definition=json.dumps(PASS), roleArn=ROLE
    )["stateMachineArn"]
    starter = StepFunctionsStarter(machine, REGION, client=client)
    key = CertificateKey(RaceRef("runs", "shonan-2026"), "1024", 2, str(uuid.uuid4()))
    name = execution_name(key)

    first = starter.start(name, execution_input(key))
    client.stop_execution(executionArn=f"{machine.replace(':stateMachine:', ':execution:')}:{name}")
    again = starter.start(name, execution_input(key))

    assert (first, again) == (True, False)
    (listed,) = client.list_executions(stateMachineArn=machine)["executions"]
    assert listed["name"] == name
    described = client.describe_execution(executionArn=listed["executionArn"])
    assert json.loads(described["input"]) == execution_input(key)


def test_a_redrive_names_the_execution_of_the_machine_behind_the_alias() -> None:
    """moto has no RedriveExecution: botocore's Stubber checks the request against the service
    model and answers as Step Functions documents it."""
    client = botocore.session.get_session().create_client(
        "stepfunctions", region_name=REGION, aws_access_key_id="AKID", aws_secret_access_key="x"
    )
    alias = "arn:aws:states:ap-northeast-1:123456789012:stateMachine:runs-prod-certificate:live"
    name = "cert-1024-r2-0123456789abcdef01234567"
    execution = {
        "executionArn": "arn:aws:states:ap-northeast-1:123456789012:execution:"
        f"runs-prod-certificate:{name}"
    }
    starter = StepFunctionsStarter(alias, REGION, client=client)
    with Stubber(client) as stub:
        stub.add_response("redrive_execution", {"redriveDate": "2026-12-07T10:00:00Z"}, execution)
        for code in ("ExecutionNotRedrivable", "ExecutionDoesNotExist", "ThrottlingException"):
            stub.add_client_error("redrive_execution", code, expected_params=execution)

        outcomes = [starter.redrive(name), starter.redrive(name), starter.redrive(name)]
        with pytest.raises(ClientError, match="ThrottlingException"):
            starter.redrive(name)  # anything else is the catch-up's failure to count
        stub.assert_no_pending_responses()

    assert outcomes == [True, False, False]


def test_a_deployment_on_s3_without_the_machine_refuses_to_start(tmp_path: Any) -> None:
    settings = Settings(object_store="s3", data_dir=tmp_path)
    with pytest.raises(ConfigError, match="certificate_state_machine_arn"):
        process_starter(settings, None)  # type: ignore[arg-type]  # refused before any use
