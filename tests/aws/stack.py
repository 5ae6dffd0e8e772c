"""One packaged stack created on moto's server, with the emulator's gaps bridged visibly.

``create`` does what an engineer does with ``sam package`` and ``sam deploy``: the template is
expanded offline (aws-sam-translator), the code bundle is uploaded to a packaging bucket, and the
expanded template is created by the emulator's CloudFormation. The gaps of moto that the test
bridges, and only those, are named by the functions that bridge them:

- ``enable_bucket_eventbridge``: moto's CloudFormation drops the bucket's
  ``NotificationConfiguration.EventBridgeConfiguration``; the test sets it as the template says.
- ``executable_state_machine``: moto's CloudFormation ignores ``DefinitionSubstitutions`` and
  creates the state machine in the store of the Step Functions that does not execute; the test
  fills the template's substitutions (the ARNs of the function versions it published, read back
  from the emulator, each the version its function's ``live`` alias points at) and
  creates the machine CloudFormation made (same name, role and type) where executions run, with
  its version and ``live`` alias as the template publishes them.
- versions and aliases: moto's CloudFormation creates none; ``versions`` registers the models
  that create them with the emulator's own APIs. Its Step Functions cannot start an execution on
  an alias: ``EventDelivery`` reads the alias's routing and starts the version it routes to on
  the machine, after checking the version's definition is the machine's.
- ``tap_s3_events`` and ``EventDelivery``: moto's S3 sends its events to EventBridge, but moto's
  EventBridge cannot deliver to Step Functions or (without Docker) Lambda, and raises at such a
  target. A rule created before the stack keeps S3's events in a queue; the deployed rules'
  patterns are matched against them by the emulator's rule matcher, and a match is delivered
  as EventBridge would: StartExecution with the target's role, or the notifier invoked.
- ``status_change_event``: moto's Step Functions publishes no status-change events; the test
  builds the documented one from DescribeExecution.
- ``answer_custom_resources``: moto's CloudFormation invokes a custom resource's function only in
  Docker; the test sends CloudFormation's Create request to it and the function answers moto.
- ``stand_in_edge``: moto's CloudFormation creates no CloudFront resource and no function URL, and
  fails a stack whose created resources read an attribute of one: the distribution's domain name
  (in the API function's environment and the outputs) is replaced by a stand-in before the
  template is sent. The transform function is invoked through its entry point with the event
  its Function URL sends, and its resource policy is evaluated as the template writes it.
- Lambda itself: see ``lambda_bridge``. moto's CloudFormation also creates no HTTP API, Lambda
  permission, bucket policy or queue policy: the API function is invoked through its Lambda entry
  point with API Gateway's HTTP API (2.0) event, as the HTTP API would, and the resource policies
  are evaluated as the template writes them (``resource_policies``).

Quirks read around rather than bridged: moto's server answers TestEventPattern with nothing (its
rule matcher is called instead), and its CloudFormation stores a role's inline policies as Python
text (``authorization.role_policies`` reads that back).
"""

from __future__ import annotations

import io
import json
import time
import urllib.request
import uuid
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bakusoku.deploy import checks
from bakusoku.deploy.canary import ALIAS
from bakusoku.deploy.package import Package
from bakusoku.deploy.policies import BUCKET, STATE_MACHINE

PACKAGE_BUCKET = "package-bucket"  # the bucket expand_sam's S3 URIs name, as `sam package` would


@dataclass
class Stack:
    """What the emulator created: physical ids by logical id, and the expanded template."""

    name: str
    expanded: dict[str, Any]
    physical: dict[str, str]
    outputs: dict[str, str]
    stack_id: str

    def resources_of_type(self, kind: str) -> dict[str, str]:
        types = {k: v["Type"] for k, v in self.expanded["Resources"].items()}
        return {k: v for k, v in self.physical.items() if types.get(k) == kind}


def create(
    client: Callable[[str], Any], package: Package, parameters: Mapping[str, str], region: str
) -> Stack:
    """Upload the bundle and create the expanded template; the stack may still be in progress
    (waiting for its custom resources: see ``answer_custom_resources``)."""
    expanded = checks.expand_sam(package.template, region)
    s3 = client("s3")
    s3.create_bucket(
        Bucket=PACKAGE_BUCKET, CreateBucketConfiguration={"LocationConstraint": region}
    )
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(package.bundle.path.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(package.bundle.path).as_posix())
    for resource in expanded["Resources"].values():
        if resource["Type"] == "AWS::Lambda::Function":
            location = resource["Properties"]["Code"]
            s3.put_object(Bucket=location["S3Bucket"], Key=location["S3Key"], Body=code.getvalue())
    name = package.stage.stack_name
    client("cloudformation").create_stack(
        StackName=name,
        TemplateBody=json.dumps(stand_in_edge(expanded)),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    return described(client, name, expanded)


# What CloudFront would name the distribution; its id is what ``Ref`` would give.
STAND_IN_DOMAIN = "d111111abcdef8.cloudfront.net"
STAND_IN_DISTRIBUTION_ID = "E2STANDIN0EDGE"


def stand_in_edge(expanded: dict[str, Any]) -> dict[str, Any]:
    """The template with each CloudFront distribution's ``DomainName`` read as the stand-in."""
    text = json.dumps(expanded)
    for logical, resource in expanded["Resources"].items():
        if resource["Type"] == "AWS::CloudFront::Distribution":
            text = text.replace(f"${{{logical}.DomainName}}", STAND_IN_DOMAIN)
    sent: dict[str, Any] = json.loads(text)
    return sent


def described(client: Callable[[str], Any], name: str, expanded: dict[str, Any]) -> Stack:
    """The stack as the emulator describes it now."""
    cloudformation = client("cloudformation")
    physical = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cloudformation.describe_stack_resources(StackName=name)["StackResources"]
        if r.get("LogicalResourceId") and r.get("PhysicalResourceId")
    }
    found = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs", [])}
    return Stack(name, expanded, physical, outputs, str(found["StackId"]))


def answer_custom_resources(
    client: Callable[[str], Any],
    stack: Stack,
    invoke: Callable[[str, Any], Any],
    endpoint: str,
    region: str,
) -> int:
    """Gap: moto's CloudFormation can invoke a custom resource's function only in Docker. Send
    the Create request CloudFormation sends to each custom resource's service token, through
    ``invoke``; the function answers at the ResponseURL, moto's own. Returns how many."""
    functions = client("lambda")
    answered = 0
    for logical, resource in stack.expanded["Resources"].items():
        kind = resource["Type"]
        if not (kind.startswith("Custom::") or kind == "AWS::CloudFormation::CustomResource"):
            continue
        token = resource["Properties"]["ServiceToken"]
        target, attribute = token["Fn::GetAtt"]
        assert attribute == "Arn", token
        arn = functions.get_function(FunctionName=stack.physical[target])["Configuration"][
            "FunctionArn"
        ]
        invoke(
            arn,
            {
                "RequestType": "Create",
                "ServiceToken": arn,
                "ResponseURL": f"{endpoint}/cloudformation_{region}/cfnresponse?stack="
                f"{stack.stack_id}",
                "StackId": stack.stack_id,
                "RequestId": str(uuid.uuid4()),
                "LogicalResourceId": logical,
                "ResourceType": kind,
                "ResourceProperties": {"ServiceToken": arn},
            },
        )
        answered += 1
    return answered


def wait_until_created(client: Callable[[str], Any], stack: Stack, timeout: float = 60) -> Stack:
    cloudformation = client("cloudformation")
    deadline = time.monotonic() + timeout
    while True:
        found = cloudformation.describe_stacks(StackName=stack.name)["Stacks"][0]
        status = str(found["StackStatus"])
        if not status.endswith("IN_PROGRESS"):
            break
        assert time.monotonic() < deadline, f"the stack {stack.name} is still {status}"
        time.sleep(0.2)
    assert status == "CREATE_COMPLETE", f"the stack {stack.name} ended {status}"
    return described(client, stack.name, stack.expanded)


def enable_bucket_eventbridge(client: Callable[[str], Any], stack: Stack) -> str:
    """Gap: set the bucket's EventBridge delivery the template asks for; the bucket's name."""
    properties = stack.expanded["Resources"][BUCKET]["Properties"]
    wanted = properties["NotificationConfiguration"]["EventBridgeConfiguration"]
    assert wanted == {"EventBridgeEnabled": True}, wanted
    bucket = stack.physical[BUCKET]
    client("s3").put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    return bucket


def deployed_definition(
    client: Callable[[str], Any], stack: Stack, machine: str = STATE_MACHINE
) -> str:
    """Gap: ``machine``'s definition with DefinitionSubstitutions filled: each the version-qualified
    ARN of the function version the deploy published (read back), the one its alias points at."""
    text, substitutions = checks.deployed_definition(stack.expanded, machine)
    functions = client("lambda")
    for placeholder, value in substitutions.items():
        version = stack.expanded["Resources"][value["Ref"]]
        assert version["Type"] == "AWS::Lambda::Version", value
        function = stack.physical[version["Properties"]["FunctionName"]["Ref"]]
        arn = stack.physical[value["Ref"]]
        number = arn.rsplit(":", 1)[1]
        found = functions.get_function(FunctionName=function, Qualifier=number)
        assert found["Configuration"]["FunctionArn"] == arn, found["Configuration"]
        live = functions.get_alias(FunctionName=function, Name=ALIAS)
        assert live["FunctionVersion"] == number, (live, arn)
        text = text.replace(f"${{{placeholder}}}", arn)
    assert "${" not in text, text
    return text


def executable_state_machine(
    client: Callable[[str], Any], stack: Stack, endpoint: str
) -> dict[str, Any]:
    """Gaps: moto's CloudFormation ignores DefinitionSubstitutions and creates the state machine
    where the executing Step Functions (``execute_state_machine``) does not look. The machine
    CloudFormation created is read back (name, role, type) and created again, definition
    substituted, once execution is switched on. Returns the definition that will run."""
    states = client("stepfunctions")
    machines = stack.resources_of_type("AWS::StepFunctions::StateMachine")
    created = {
        logical: states.describe_state_machine(stateMachineArn=stack.physical[logical])
        for logical in machines
    }
    assert "${" in created[STATE_MACHINE]["definition"], (
        "moto now applies DefinitionSubstitutions: drop this"
    )
    definitions = {logical: deployed_definition(client, stack, logical) for logical in machines}
    execute_state_machines(endpoint, True)
    for logical, made in created.items():  # the photo pipeline and the certificate workflow
        states.create_state_machine(
            name=made["name"],
            definition=definitions[logical],
            roleArn=made["roleArn"],
            type=made["type"],
            publish=True,  # version 1, as the template's AWS::StepFunctions::StateMachineVersion
        )
    for logical in stack.resources_of_type("AWS::StepFunctions::StateMachineAlias"):
        alias = stack.expanded["Resources"][logical]["Properties"]
        version = stack.physical[alias["DeploymentPreference"]["StateMachineVersionArn"]["Ref"]]
        made = states.create_state_machine_alias(
            name=alias["Name"],
            routingConfiguration=[{"stateMachineVersionArn": version, "weight": 100}],
        )
        assert made["stateMachineAliasArn"] == stack.physical[logical], made
    stored = states.describe_state_machine(
        stateMachineArn=created[STATE_MACHINE]["stateMachineArn"]
    )
    result: dict[str, Any] = json.loads(stored["definition"])
    return result


def execute_state_machines(endpoint: str, enabled: bool) -> None:
    """Switch moto's executing Step Functions on or off (other tests expect it off)."""
    body = json.dumps({"stepfunctions": {"execute_state_machine": enabled}}).encode()
    request = urllib.request.Request(f"{endpoint}/moto-api/config", data=body, method="POST")
    urllib.request.urlopen(request, timeout=10).close()


def reset(endpoint: str) -> None:
    """Forget every resource, and create state machines where CloudFormation creates them."""
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", data=b"", method="POST")
    urllib.request.urlopen(request, timeout=10).close()
    execute_state_machines(endpoint, False)


TAP = "test-tap-s3-events"


def tap_s3_events(client: Callable[[str], Any]) -> str:
    """Gap: a rule and queue that keep every event S3 sends, created before the stack.

    moto's EventBridge raises on a Step Functions or Lambda target and so stops at the first
    deployed rule that matches; a rule created earlier is evaluated before it.
    """
    events, sqs = client("events"), client("sqs")
    queue_url = sqs.create_queue(QueueName=TAP)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    events.put_rule(Name=TAP, EventPattern=json.dumps({"source": ["aws.s3"]}))
    events.put_targets(
        Rule=TAP, Targets=[{"Id": "tap", "Arn": attributes["Attributes"]["QueueArn"]}]
    )
    return str(queue_url)


@dataclass
class EventDelivery:
    """What the deployed rules match (moto's TestEventPattern on their patterns), delivered to
    their own targets as EventBridge would."""

    client: Callable[[str], Any]
    stack: Stack
    tap_url: str
    calls: list[dict[str, Any]] = field(default_factory=list)

    def s3_events(self, until_key: str, wait_seconds: float = 10) -> list[dict[str, Any]]:
        """The events S3 sent since the last look, read until one names ``until_key``."""
        sqs = self.client("sqs")
        deadline = time.monotonic() + wait_seconds
        events: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not any(
            e["detail"]["object"]["key"] == until_key for e in events
        ):
            answer = sqs.receive_message(
                QueueUrl=self.tap_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            )
            for message in answer.get("Messages", []):
                events.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.tap_url, ReceiptHandle=message["ReceiptHandle"])
        return events

    def matches(self, rule: str, event: Mapping[str, Any]) -> bool:
        """Whether the deployed rule's pattern matches ``event``, by the emulator's own matcher
        (moto's server answers TestEventPattern with nothing; its rules use ``EventPattern``)."""
        from moto.events.models import EventPattern

        events = self.client("events")
        pattern = events.describe_rule(Name=self.stack.physical[rule])["EventPattern"]
        return bool(EventPattern.load(pattern).matches_event(dict(event)))

    def targets(self, rule: str) -> list[dict[str, Any]]:
        found = self.client("events").list_targets_by_rule(Rule=self.stack.physical[rule])
        return list(found["Targets"])

    def start_executions(self, rule: str, event: Mapping[str, Any]) -> list[str]:
        """The rule's Step Functions target: StartExecution with the target's role (on an
        alias: the version its routing names; see the module's gaps)."""
        arns = []
        states = self.client("stepfunctions")
        for target in self.targets(rule):
            if ":states:" not in target["Arn"]:
                continue
            self.calls.append(
                {
                    "function": target["RoleArn"],
                    "service": "stepfunctions",
                    "operation": "StartExecution",
                    "params": {"stateMachineArn": target["Arn"]},
                    "presigned": False,
                }
            )
            started = states.start_execution(
                stateMachineArn=self._machine_of(target["Arn"]),
                name=str(uuid.uuid4()),  # EventBridge names the executions it starts
                input=json.dumps(event),
            )
            arns.append(str(started["executionArn"]))
        return arns

    def _machine_of(self, arn: str) -> str:
        """The machine to start for ``arn``: itself, or for an alias the machine whose version
        the alias routes all traffic to (checked to hold the machine's definition)."""
        states = self.client("stepfunctions")
        if arn.count(":") == 6:  # arn:aws:states:REGION:ACCOUNT:stateMachine:NAME
            return arn
        routing = states.describe_state_machine_alias(stateMachineAliasArn=arn)
        [route] = routing["routingConfiguration"]
        assert route["weight"] == 100, routing
        machine = arn.rsplit(":", 1)[0]
        version = states.describe_state_machine(stateMachineArn=route["stateMachineVersionArn"])
        current = states.describe_state_machine(stateMachineArn=machine)
        assert version["definition"] == current["definition"], "the alias routes to another"
        return machine

    def lambda_targets(self, rule: str) -> list[str]:
        return [t["Arn"] for t in self.targets(rule) if ":lambda:" in t["Arn"]]


def status_change_event(client: Callable[[str], Any], execution_arn: str) -> dict[str, Any]:
    """Gap: what Step Functions sends to EventBridge when an execution ends (moto sends none)."""
    described = client("stepfunctions").describe_execution(executionArn=execution_arn)
    region, account = execution_arn.split(":")[3:5]
    detail = {
        "executionArn": execution_arn,
        "stateMachineArn": described["stateMachineArn"],
        "name": described["name"],
        "status": described["status"],
        "startDate": int(described["startDate"].timestamp() * 1000),
        "stopDate": int(described["stopDate"].timestamp() * 1000),
        "input": described.get("input"),
        "inputDetails": {"included": True},
        "output": described.get("output"),
        "outputDetails": {"included": True} if described.get("output") else None,
        "error": described.get("error"),
        "cause": described.get("cause"),
        "redriveCount": described.get("redriveCount", 0),
    }
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": account,
        "time": described["stopDate"].strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [execution_arn],
        "detail": detail,
    }
