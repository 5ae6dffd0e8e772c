"""The event sources of the configuration's own state machines on one machine, as AWS starts them.

A schedule is an EventBridge rule whose target is the state machine (its ``live`` alias on AWS):
each firing starts one execution, its input the "Scheduled Event", its name a fresh UUID as
EventBridge gives it. The rule is named ``{machine}-schedule-{n}``, as in the stack. An object
prefix is a rule on S3's "Object Created" events: objects under it reach the state machine
through the object-event router (``local.trigger``), as the pipeline's uploads do, each starting
one execution with the event as its input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bakusoku.local.schedules import Scheduler
from bakusoku.local.trigger import ObjectTarget, state_machine_target
from bakusoku.pipeline.machines import StateMachine
from bakusoku.workflow.engine import WorkflowEngine


def add_machine_schedules(
    scheduler: Scheduler,
    workflow: WorkflowEngine,
    machines: Sequence[StateMachine],
    arns: Mapping[str, str],
) -> None:
    """One rule per schedule of each of ``machines`` (``arns``: each machine's, by name)."""
    for machine in machines:
        for n, schedule in enumerate(machine.schedules, start=1):
            scheduler.add(
                f"{machine.name}-schedule-{n}",
                schedule.expression,
                execution_starter(workflow, arns[machine.name]),
            )


def execution_starter(
    workflow: WorkflowEngine, state_machine_arn: str
) -> Callable[[dict[str, Any]], object]:
    """What a rule targeting ``state_machine_arn`` does with an event: start one execution."""
    return lambda event: workflow.start_execution(state_machine_arn, event)


def machine_object_targets(
    workflow: WorkflowEngine, machines: Sequence[StateMachine], arns: Mapping[str, str]
) -> list[ObjectTarget]:
    """One router target per object prefix of each of ``machines``, named as its rule is
    (``{machine}-objects-{n}``)."""
    return [
        state_machine_target(
            f"{machine.name}-objects-{n}", objects.prefix, workflow, arns[machine.name]
        )
        for machine in machines
        for n, objects in enumerate(machine.object_prefixes, start=1)
    ]
