"""Amazon Resource Names: the one place that takes them apart and puts them together.

An ARN is ``arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE``; the resource part may itself hold
colons (``function:resize:live``) or slashes (``rule/nightly``), so only the first five colons
separate fields. Lambda also accepts a function by name (``resize``), name and qualifier
(``resize:live``) or partial ARN (``123456789012:function:resize``); ``FunctionRef`` reads all
four. The local deployment names its resources with the same ARNs as AWS would, built here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bakusoku.errors import BakusokuError

PREFIX = "arn:"
# A well-formed Lambda function ARN, as Step Functions checks a Task's Resource.
_FUNCTION_ARN = re.compile(
    r"^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(:[\w$-]+)?$"
)


class ArnError(BakusokuError):
    """A text that should be an ARN (of a given kind) is not one; the message shows the shape."""

    code = "arn.invalid"


@dataclass(frozen=True)
class Arn:
    """``arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE``; region and account may be empty."""

    partition: str
    service: str
    region: str
    account: str
    resource: str

    @classmethod
    def parse(cls, text: str) -> Arn:
        """Split ``text`` into its fields; ArnError unless it has the six of an ARN."""
        parts = text.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn" or not parts[1] or not parts[2] or not parts[5]:
            raise ArnError(
                f"{text!r} is not an ARN (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE)"
            )
        return cls(*parts[1:])

    @property
    def resource_type(self) -> str:
        """The resource part before its first ``:`` or ``/``: ``function``, ``stateMachine``, ``rule``."""
        for index, char in enumerate(self.resource):
            if char in ":/":
                return self.resource[:index]
        return ""

    @property
    def name(self) -> str:
        """The last ``:`` field: a state machine's or an execution's name (``FunctionRef`` reads
        a function's name apart from its qualifier)."""
        return self.resource.rsplit(":", 1)[-1]

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"


def is_arn(text: str) -> bool:
    """Whether ``text`` is meant as an ARN (it starts ``arn:``), as AWS APIs decide it."""
    return text.startswith(PREFIX)


def is_function_arn(text: str) -> bool:
    """Whether ``text`` is a full, well-formed Lambda function ARN (12-digit account and all)."""
    return _FUNCTION_ARN.match(text) is not None


def name_of(name_or_arn: str) -> str:
    """A resource given by name or by ARN, as its name: the ARN's last ``:`` field.

    Never raises: a caller's malformed ARN then names nothing, and the lookup reports that.
    """
    return name_or_arn.rsplit(":", 1)[-1] if is_arn(name_or_arn) else name_or_arn


def arn(service: str, region: str, account: str, resource: str, *, partition: str = "aws") -> str:
    """The ARN text of a resource, e.g. ``arn("sns", "us-east-1", ACCOUNT, "topic")``."""
    return str(Arn(partition, service, region, account, resource))


def s3_bucket_arn(bucket: str) -> str:
    """``arn:aws:s3:::BUCKET``: S3 bucket ARNs have neither region nor account."""
    return arn("s3", "", "", bucket)


def iam_role_arn(account: str, role: str) -> str:
    """``arn:aws:iam::ACCOUNT:role/ROLE``: IAM is global, its ARNs have no region."""
    return arn("iam", "", account, f"role/{role}")


def state_machine_arn(region: str, account: str, name: str) -> str:
    return arn("states", region, account, f"stateMachine:{name}")


def execution_arn(region: str, account: str, state_machine: str, name: str) -> str:
    return arn("states", region, account, f"execution:{state_machine}:{name}")


def express_execution_arn(
    region: str, account: str, state_machine: str, name: str, run_id: str
) -> str:
    """An Express execution's ARN: ``express:MACHINE:NAME:RUN_ID`` (StartSyncExecution's)."""
    return arn("states", region, account, f"express:{state_machine}:{name}:{run_id}")


def parse_state_machine_arn(text: str) -> Arn:
    """``text`` as the ARN of a Step Functions state machine; ArnError if it is anything else."""
    try:
        machine = Arn.parse(text)
    except ArnError:
        machine = None
    if machine is None or machine.service != "states" or machine.resource_type != "stateMachine":
        raise ArnError(
            f"{text!r} is not a state machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME)"
        )
    return machine


def execution_arn_of(state_machine: str, name: str) -> str:
    """The ARN of execution ``name`` of the state machine whose ARN is ``state_machine``.

    An execution started through a version or an alias (``stateMachine:NAME:QUALIFIER``) belongs
    to the state machine itself: its ARN has the machine's name, never the qualifier.
    """
    machine = parse_state_machine_arn(state_machine)
    machine_name = machine.resource.split(":")[1]
    return arn(
        "states",
        machine.region,
        machine.account,
        f"execution:{machine_name}:{name}",
        partition=machine.partition,
    )


def function_arn(
    region: str, account: str, name: str, qualifier: str | None = None, *, partition: str = "aws"
) -> str:
    """``arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]``."""
    suffix = f":{qualifier}" if qualifier else ""
    return arn("lambda", region, account, f"function:{name}{suffix}", partition=partition)


@dataclass(frozen=True)
class FunctionRef:
    """A Lambda function as an API caller names it: ``region``/``account`` only from an ARN.

    ``FunctionRef.parse`` reads a full ARN, a partial ARN ``ACCOUNT:function:NAME[:QUALIFIER]``,
    ``NAME:QUALIFIER`` and ``NAME``, as Lambda's ``FunctionName`` parameter does.
    """

    name: str
    qualifier: str | None = None
    region: str | None = None
    account: str | None = None
    partition: str = "aws"

    @classmethod
    def parse(cls, text: str) -> FunctionRef:
        if is_arn(text):
            parsed = Arn.parse(text)
            if parsed.service != "lambda" or parsed.resource_type != "function":
                raise ArnError(
                    f"{text!r} is not a Lambda function ARN "
                    "(arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER])"
                )
            name, qualifier = _name_and_qualifier(parsed.resource.split(":", 1)[1], text)
            return cls(name, qualifier, parsed.region, parsed.account, parsed.partition)
        if ":function:" in text:  # ACCOUNT:function:NAME[:QUALIFIER]
            account, rest = text.split(":function:", 1)
            name, qualifier = _name_and_qualifier(rest, text)
            return cls(name, qualifier, account=account)
        name, qualifier = _name_and_qualifier(text, text)
        return cls(name, qualifier)

    def arn(self, region: str, account: str) -> str:
        """The full ARN; the ref's own region and account win over the defaults given."""
        return function_arn(
            self.region or region,
            self.account or account,
            self.name,
            self.qualifier,
            partition=self.partition,
        )


def _name_and_qualifier(text: str, whole: str) -> tuple[str, str | None]:
    name, _, qualifier = text.partition(":")
    if not name or ":" in qualifier:
        raise ArnError(
            f"{whole!r} does not name a Lambda function (NAME, NAME:QUALIFIER, "
            "ACCOUNT:function:NAME or arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER])"
        )
    return name, qualifier or None
