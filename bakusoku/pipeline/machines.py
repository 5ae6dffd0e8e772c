"""The state machine table's entry: one state machine, its ASL file and the functions it calls.

Every backend takes its state machines from ``pipeline.functions.state_machines``: the embedded
engine registers each, the SAM and Serverless outputs create each with its ``live`` alias and a
role that invokes its own functions only, the checks validate each and the system map draws each.
A Task names its function by a placeholder, ``${StorePhotoFunctionArn}``, filled with the
function's ARN (embedded) or its alias (AWS): the definition itself never changes between them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from typing import Any

import yaml

from bakusoku.pipeline.declared import ObjectEvent, ScheduleEvent


def camel_case(name: str) -> str:
    """``store-photo`` → ``StorePhoto``."""
    return "".join(part.capitalize() for part in name.split("-"))


def placeholder_of(function: str) -> str:
    """The placeholder naming ``function`` in an ASL file: ``export`` → ``ExportFunctionArn``."""
    return f"{camel_case(function)}FunctionArn"


@dataclass(frozen=True)
class TaskState:
    """A Task state of a definition: the function it calls and its time limit."""

    state: str
    function: str
    timeout_seconds: int | None


@dataclass(frozen=True)
class StateMachine:
    """One state machine: its name, its ASL file (JSON or YAML) and the functions it calls.

    ``tasks`` maps each placeholder of the file (``StorePhotoFunctionArn``, without ``${}``) to the
    function of the table it names. ``started_by_uploads``: every upload under the upload prefix
    starts an execution (the photo pipeline); ``events``: the schedules and object prefixes that
    start it besides. ``logical``: its resource id in the AWS templates, when not its name's.
    """

    name: str
    source: Traversable
    tasks: tuple[tuple[str, str], ...]
    started_by_uploads: bool = False
    description: str = ""
    events: tuple[ScheduleEvent | ObjectEvent, ...] = ()
    logical: str = ""

    @property
    def logical_id(self) -> str:
        """``photo-pipeline`` → ``PhotoPipeline``: its resource in the AWS templates."""
        return self.logical or camel_case(self.name)

    @property
    def schedules(self) -> tuple[ScheduleEvent, ...]:
        return tuple(e for e in self.events if isinstance(e, ScheduleEvent))

    @property
    def object_prefixes(self) -> tuple[ObjectEvent, ...]:
        return tuple(e for e in self.events if isinstance(e, ObjectEvent))

    @property
    def function_names(self) -> tuple[str, ...]:
        """The functions its Tasks call, each once, in the order of ``tasks``."""
        return tuple(dict.fromkeys(function for _, function in self.tasks))

    def definition_text(self) -> str:
        """The ASL file, exactly as written."""
        return self.source.read_text()

    def substitutions(self, function_arn: Mapping[str, str]) -> dict[str, str]:
        """Each placeholder → the ARN ``function_arn`` gives its function."""
        return {placeholder: function_arn[function] for placeholder, function in self.tasks}

    def kept_placeholders(self) -> dict[str, str]:
        """Each placeholder → itself (``${...}``): the definition as the templates carry it."""
        return {placeholder: f"${{{placeholder}}}" for placeholder, _ in self.tasks}

    def task_states(self) -> tuple[TaskState, ...]:
        """Its Task states, those in Parallel branches and Map iterations too."""
        by_placeholder = {f"${{{p}}}": function for p, function in self.tasks}
        found: list[TaskState] = []

        def walk(states: Mapping[str, Any]) -> None:
            for name, spec in states.items():
                if spec.get("Type") == "Task" and spec.get("Resource") in by_placeholder:
                    found.append(
                        TaskState(
                            name, by_placeholder[spec["Resource"]], spec.get("TimeoutSeconds")
                        )
                    )
                for branch in spec.get("Branches", []):
                    walk(branch["States"])
                for key in ("ItemProcessor", "Iterator"):
                    if key in spec:
                        walk(spec[key]["States"])

        walk(yaml.safe_load(self.definition_text())["States"])
        return tuple(found)
