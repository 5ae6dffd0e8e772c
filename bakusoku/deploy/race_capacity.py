"""A stage's race plans in its template: warm functions before the gun, cold again after.

Application Auto Scaling scales one thing of a Lambda function on a schedule: the provisioned
concurrency of a version or alias (``lambda:function:ProvisionedConcurrency``; its resource id is
``function:NAME:QUALIFIER``, a version number or an alias name, as the ``Qualifier`` of Lambda's
PutProvisionedConcurrencyConfig). Each function a race plan warms gets one scalable target on
what its callers invoke: for a function only state machine Tasks call (a pinned one,
``deploy.sam.pinned_functions``), the version this deploy publishes, which the Tasks name; for
any other, its ``live`` alias. Never both: Lambda refuses provisioned concurrency on an alias and
on the version it points to at once. Per plan the target has two scheduled actions: at the plan's ``raise_at`` (its lead before the first photos) the
target's minimum and maximum become the plan's provisioned concurrency, at ``lower_at`` (the end
of the window) zero. Times are written in UTC, as ``at(...)`` reads them by default. Application
Auto Scaling registers the target with its service-linked role
(AWSServiceRoleForApplicationAutoScaling_LambdaConcurrency), so the template names no role.

Reserved concurrency is no scalable dimension: the stage's reservations are raised to the plans'
in the function table (``deploy.stages``) for as long as a plan has not ended, so a deploy before
the race raises them and the first deploy after it lowers them back.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bakusoku.deploy.canary import ALIAS, alias_id, version_ref
from bakusoku.races.plans import PlanWindow

NAMESPACE = "lambda"
DIMENSION = "lambda:function:ProvisionedConcurrency"


def target_id(function_logical_id: str) -> str:
    return f"{function_logical_id}ProvisionedConcurrency"


def schedule_at(moment: datetime) -> str:
    """``at(2026-12-06T02:15:00)``: a one-time schedule, in UTC."""
    return f"at({moment.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S')})"


def scheduled_actions(function: str, windows: tuple[PlanWindow, ...]) -> list[dict[str, Any]]:
    actions: list[dict[str, Any]] = []
    for window in windows:
        warm = window.provisioned.get(function, 0)
        if not warm:
            continue
        actions += [
            {
                "ScheduledActionName": f"{window.race}-raise",
                "Schedule": schedule_at(window.raise_at),
                "ScalableTargetAction": {"MinCapacity": warm, "MaxCapacity": warm},
            },
            {
                "ScheduledActionName": f"{window.race}-lower",
                "Schedule": schedule_at(window.lower_at),
                "ScalableTargetAction": {"MinCapacity": 0, "MaxCapacity": 0},
            },
        ]
    return actions


def qualified_resource(function: str, logical: str, pinned: bool) -> tuple[Any, list[str]]:
    """The scalable target's ResourceId (``function:NAME:QUALIFIER``) and what it depends on.

    A pinned function's qualifier is the number of the version SAM publishes on this deploy
    (``!GetAtt StorePhotoFunction.Version.Version``): the target moves to each new version, as the
    Tasks do. Otherwise the ``live`` alias, which must exist (SAM publishes it) before its
    concurrency can be registered."""
    if pinned:
        version = {"Fn::GetAtt": [version_ref(logical), "Version"]}
        return {"Fn::Join": [":", ["function", function, version]]}, []
    return f"function:{function}:{ALIAS}", [alias_id(logical)]


def race_capacity_resources(
    windows: tuple[PlanWindow, ...],
    function_ids: dict[str, str],
    resource_names: dict[str, str],
    pinned: frozenset[str],
) -> dict[str, Any]:
    """One scalable target per function a plan warms, keyed by logical id.

    ``function_ids``: function → its logical id; ``resource_names``: function → its physical name;
    ``pinned``: the functions whose target is the published version rather than the alias.
    """
    resources: dict[str, Any] = {}
    for function, logical in function_ids.items():
        actions = scheduled_actions(function, windows)
        if not actions:
            continue
        most = max(w.provisioned.get(function, 0) for w in windows)
        resource_id, needs = qualified_resource(
            resource_names[function], logical, function in pinned
        )
        target: dict[str, Any] = {"Type": "AWS::ApplicationAutoScaling::ScalableTarget"}
        if needs:
            target["DependsOn"] = needs
        resources[target_id(logical)] = target | {
            "Properties": {
                "ServiceNamespace": NAMESPACE,
                "ScalableDimension": DIMENSION,
                "ResourceId": resource_id,
                "MinCapacity": 0,
                "MaxCapacity": most,
                "ScheduledActions": actions,
            },
        }
    return resources


def race_lines(windows: tuple[PlanWindow, ...]) -> list[str]:
    """What the stage's race plans do, a line each, for the deploy's output."""
    lines = []
    for window in windows:
        warm = ", ".join(f"{name} {n}" for name, n in window.provisioned.items() if n)
        lines.append(
            f"race {window.race}: provisioned concurrency (on the published versions the "
            "state machines call, on the live aliases of the rest) from "
            f"{window.raise_at.isoformat()} to {window.lower_at.isoformat()} ({warm}); reserved "
            "concurrency raised while the plan stands: deploy again after "
            f"{window.lower_at.isoformat()} to lower it"
        )
    return lines
