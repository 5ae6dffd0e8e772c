"""Gap: moto's CloudFormation has no AWS::Lambda::Alias, AWS::StepFunctions::StateMachineVersion or
AWS::StepFunctions::StateMachineAlias (its AWS::Lambda::Version has no ``Version`` attribute and
its state machine no ``StateMachineRevisionId``), which SAM makes of every ``AutoPublishAlias``. The models here create them in the emulator with
its own APIs (PublishVersion, CreateAlias), so the packaged template is created unchanged and the
deployed stack holds the versions and aliases its callers name: the state machine's Tasks the
versions (a ``LambdaVersion``'s Ref is the version-qualified ARN), the other callers the aliases.

moto's server runs in the test's process, so a model registered here is one its CloudFormation
uses. What stays unproven on the emulator: traffic shifting itself (CodeDeploy, moto has none;
the canary template is checked by cfn-lint and the SAM transform in tests/deploy), and Step
Functions pinning an execution to a version (moto starts executions on machines only;
``stack.EventDelivery`` resolves the alias's routing as Step Functions would).
"""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar, Self

from moto.awslambda.models import lambda_backends
from moto.cloudformation import parsing
from moto.core.common_models import CloudFormationModel
from moto.stepfunctions.models import StateMachine as MotoStateMachine


class StateMachine(MotoStateMachine, CloudFormationModel):
    """moto's AWS::StepFunctions::StateMachine, with the ``StateMachineRevisionId`` attribute
    (the definition's hash: it changes when the definition does) that a version publishes."""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "StateMachineRevisionId" or super().has_cfn_attr(attr)

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "StateMachineRevisionId":
            return hashlib.sha256(self.definition.encode()).hexdigest()
        return super().get_cfn_attribute(attribute_name)

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[override]
        cls,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> StateMachine:
        machine = super().create_from_cloudformation_json(
            resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        machine.__class__ = cls  # the same object the emulator stores, with the attribute
        return machine  # type: ignore[return-value]


class _RefIsArn:
    """A resource moto's CloudFormation lacks, whose Ref is its ARN (and so is its ``Arn``
    attribute, where ``ATTRIBUTES`` has one).

    Mixed in ahead of CloudFormationModel rather than subclassing it: moto's CloudFormation knows
    only that class's direct subclasses as models.
    """

    TYPE: ClassVar[str]
    ATTRIBUTES: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, arn: str) -> None:
        self.arn = arn

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.TYPE

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.arn

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    @classmethod
    def create(cls, props: dict[str, Any], account_id: str, region_name: str) -> Self:
        """The resource of the template's ``props``, created in the emulator."""
        raise NotImplementedError

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Self:
        return cls.create(cloudformation_json["Properties"], account_id, region_name)


class LambdaVersion(_RefIsArn, CloudFormationModel):
    """AWS::Lambda::Version: PublishVersion of the function; Ref is the version's ARN."""

    TYPE = "AWS::Lambda::Version"
    ATTRIBUTES = frozenset({"Version"})

    def __init__(self, arn: str, version: str) -> None:
        super().__init__(arn)
        self.version = version

    def get_cfn_attribute(self, attribute_name: str) -> str:
        assert attribute_name == "Version", attribute_name
        return self.version

    @classmethod
    def create(cls, props: dict[str, Any], account_id: str, region_name: str) -> Self:
        function = props["FunctionName"]
        published = lambda_backends[account_id][region_name].publish_version(function)
        assert published is not None, f"could not publish a version of {function}"
        return cls(published.function_arn, str(published.version))


class LambdaAlias(_RefIsArn, CloudFormationModel):
    """AWS::Lambda::Alias: CreateAlias at the version; Ref is the alias's ARN."""

    TYPE = "AWS::Lambda::Alias"

    @classmethod
    def create(cls, props: dict[str, Any], account_id: str, region_name: str) -> Self:
        alias = lambda_backends[account_id][region_name].create_alias(
            props["Name"], props["FunctionName"], str(props["FunctionVersion"]), "", ""
        )
        return cls(alias.arn)


class StateMachineVersion(_RefIsArn, CloudFormationModel):
    """AWS::StepFunctions::StateMachineVersion: the machine's version 1; Ref is its ARN.

    The test creates the machine again where executions run (``executable_state_machine``) and
    publishes the version there; this is the ARN that version gets.
    """

    TYPE = "AWS::StepFunctions::StateMachineVersion"
    ATTRIBUTES = frozenset({"Arn"})

    @classmethod
    def create(cls, props: dict[str, Any], account_id: str, region_name: str) -> Self:
        return cls(f"{props['StateMachineArn']}:1")


class StateMachineAlias(_RefIsArn, CloudFormationModel):
    """AWS::StepFunctions::StateMachineAlias: Ref is the alias's ARN (the machine's ARN:NAME);
    the test creates the alias where executions run, at the version the template names."""

    TYPE = "AWS::StepFunctions::StateMachineAlias"
    ATTRIBUTES = frozenset({"Arn"})

    def __init__(self, arn: str, version_arn: str) -> None:
        super().__init__(arn)
        self.version_arn = version_arn

    @classmethod
    def create(cls, props: dict[str, Any], account_id: str, region_name: str) -> Self:
        version_arn = props["DeploymentPreference"]["StateMachineVersionArn"]
        machine_arn = version_arn.rsplit(":", 1)[0]
        return cls(f"{machine_arn}:{props['Name']}", version_arn)


def register() -> None:
    """Make moto's CloudFormation use these models (its model map is cached: clear it)."""
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()
    ours = {m.cloudformation_type() for m in (LambdaVersion, LambdaAlias, StateMachine)}
    models = [m for m in CloudFormationModel.__subclasses__() if m.__module__ == __name__]
    # moto's own AWS::Lambda::Version (without the Version attribute) gives way to ours.
    mapped = parsing.get_model_map()
    for kind in ours:
        assert mapped[kind] in models, f"{kind} is not this module's model"
