"""``--canary 10%/5m``: how a deploy shifts traffic to the new release, and what rolls it back.

Every function is published as a version behind the alias ``live`` and the state machine as a
version behind its own ``live`` alias. A state machine's Tasks call the exact function versions
published with it, so an execution runs to its end on the definition and the code it started
with. Without a canary CloudFormation points the aliases at the new versions at once. With one,
Step Functions sends ``percent`` of new executions to the new state machine version (and so to
the new versions of the functions its Tasks call) for ``minutes``, CodeDeploy sends the same share
of the invocations of each function called by its alias (the API, the transform, the notifier,
a declared function's events) to its new version, and either rolls back if one of the stack's
error or throttle alarms (bakusoku.deploy.monitoring) fires meanwhile.

CodeDeploy has predefined Lambda canaries (10 % for 5, 10, 15 or 30 minutes); any other share or
time gets a deployment configuration of its own in the template.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bakusoku.deploy.errors import DeployError

ALIAS = "live"  # the alias every function and the state machine is published behind
DEPLOYMENT_CONFIG = "CanaryDeploymentConfig"  # the template's own config, when not predefined
_PREDEFINED_MINUTES = (5, 10, 15, 30)  # CodeDeploy's Canary10Percent{N}Minutes
_SYNTAX = re.compile(r"^\s*(\d{1,3})\s*%\s*/\s*(\d{1,4})\s*(m|min|h)\s*$")
_MAX_MINUTES = 2100  # the longest interval a state machine alias's deployment takes


class CanaryError(DeployError):
    """A ``--canary`` value that cannot be used."""


@dataclass(frozen=True)
class Canary:
    """Shift ``percent`` of the traffic first, and the rest ``minutes`` later without an alarm."""

    percent: int
    minutes: int

    def __str__(self) -> str:
        return f"{self.percent}%/{self.minutes}m"

    @property
    def predefined(self) -> str | None:
        """CodeDeploy's predefined configuration of this canary, if it has one."""
        if self.percent == 10 and self.minutes in _PREDEFINED_MINUTES:
            return f"Canary10Percent{self.minutes}Minutes"
        return None


def alias_id(logical_id: str) -> str:
    """The logical id SAM gives the ``live`` alias of a function or state machine."""
    return f"{logical_id}Alias{ALIAS}"


def version_ref(logical_id: str) -> str:
    """``!Ref`` of the version SAM publishes for a function with ``AutoPublishAlias``
    (``StorePhotoFunction.Version``): the transform replaces it with the ``AWS::Lambda::Version``
    it generates on this deploy, whose Ref is the version-qualified ARN."""
    return f"{logical_id}.Version"


def parse_canary(text: str) -> Canary:
    """``10%/5m`` (or ``25%/1h``) → Canary; CanaryError says what is wrong and what to write."""
    match = _SYNTAX.match(text)
    if match is None:
        raise CanaryError(
            f"--canary {text!r} is not PERCENT%/MINUTES: write e.g. 10%/5m (10 % of the "
            "traffic for 5 minutes, then the rest) or 25%/1h"
        )
    percent = int(match.group(1))
    minutes = int(match.group(2)) * (60 if match.group(3) == "h" else 1)
    if not 1 <= percent <= 99:
        raise CanaryError(
            f"--canary {text!r} shifts {percent} %: the first step must be 1 to 99 % "
            "(leave --canary out to shift everything at once)"
        )
    if not 1 <= minutes <= _MAX_MINUTES:
        raise CanaryError(
            f"--canary {text!r} waits {minutes} minutes: use 1 to {_MAX_MINUTES} minutes"
        )
    return Canary(percent, minutes)


def function_deployment_type(canary: Canary) -> Any:
    """DeploymentPreference ``Type`` of the functions: predefined, or the template's config."""
    return canary.predefined or {"Ref": DEPLOYMENT_CONFIG}


def deployment_config_resource(canary: Canary) -> dict[str, Any]:
    """A CodeDeploy configuration for a canary CodeDeploy does not predefine."""
    return {
        "Type": "AWS::CodeDeploy::DeploymentConfig",
        "Properties": {
            "ComputePlatform": "Lambda",
            "TrafficRoutingConfig": {
                "Type": "TimeBasedCanary",
                "TimeBasedCanary": {
                    "CanaryPercentage": canary.percent,
                    "CanaryInterval": canary.minutes,
                },
            },
        },
    }


def state_machine_deployment(canary: Canary | None, alarms: list[str]) -> dict[str, Any]:
    """The state machine alias's DeploymentPreference: all at once, or the same canary."""
    if canary is None:
        return {"Type": "ALL_AT_ONCE"}
    return {
        "Type": "CANARY",
        "Percentage": canary.percent,
        "Interval": canary.minutes,
        "Alarms": [{"Ref": alarm} for alarm in alarms],
    }
