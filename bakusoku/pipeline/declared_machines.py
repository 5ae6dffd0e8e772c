"""State machines the configuration file declares: an ASL file whose Tasks call declared functions.

An entry of the file's ``state_machines`` table names a workflow of the deployment's own::

    state_machines:
      nightly-export:
        definition: workflows/export.asl.yaml   # relative to the configuration file; JSON or YAML
        description: Exports yesterday's orders.
        events: [{schedule: "cron(0 3 * * ? *)"}, {object: {prefix: "imports/"}}]

A Task names a declared function by the placeholder ``${ExportFunctionArn}`` (function ``export``;
the same form as the photo pipeline's ``${StorePhotoFunctionArn}``). The file is checked when the
configuration is read, by the engine's own validator, so a mistake stops ``bakusoku up``,
``package`` and ``graph`` alike with a ConfigError naming the key.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from bakusoku.arns import function_arn
from bakusoku.config import ConfigError, Settings
from bakusoku.pipeline.declared import ObjectEvent, ScheduleEvent, parse_events
from bakusoku.pipeline.machines import StateMachine, camel_case, placeholder_of
from bakusoku.workflow.definition import DefinitionError, load_definition

MACHINE_KEYS = ("definition", "description", "events")
MACHINE_EVENTS = ("schedule", "object")
# The stack names a state machine `{service}-{stage}-{name}` (Step Functions allows 80 characters;
# a service and a stage take at most 31 each) and its rules `{...}-{name}-schedule-{n}` (64).
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,23}$")
_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
_NO_ACCOUNT = "000000000000"


def declared_machines(
    settings: Settings, functions: Collection[str], taken: Collection[str]
) -> tuple[StateMachine, ...]:
    """Every state machine the file declares, checked: ``functions`` are the declared functions
    its Tasks may call, ``taken`` the names of built-in machines and of every function."""
    table = settings.extra.get("state_machines") or {}
    if not isinstance(table, Mapping):
        raise ConfigError(f"state_machines must be a mapping of state machine names, not {table!r}")
    return tuple(
        parse_machine(str(name), block, settings, functions, taken) for name, block in table.items()
    )


def parse_machine(
    name: str,
    block: Any,
    settings: Settings,
    functions: Collection[str],
    taken: Collection[str],
) -> StateMachine:
    where = f"state_machines.{name}"
    if not _NAME.match(name):
        raise ConfigError(
            f"{where}: the name {name!r} must be 1-24 lowercase letters, digits and '-', "
            "starting with a letter (it names the state machine, its rules and its log group)"
        )
    if name in taken:
        raise ConfigError(
            f"{where}: {name!r} is already the name of a built-in state machine or of a "
            "function (their rules and log groups would clash); choose another name"
        )
    if not isinstance(block, Mapping):
        raise ConfigError(f"{where} must be a mapping with 'definition', not {block!r}")
    unknown = sorted(set(block) - set(MACHINE_KEYS))
    if unknown:
        raise ConfigError(f"{where} has unknown keys {unknown}; known keys are {MACHINE_KEYS}")
    source = _definition_file(block.get("definition"), where)
    tasks = _tasks(source, where, functions)
    _validate(source, tasks, where, settings.region)
    events = parse_events(block.get("events"), where, settings, MACHINE_EVENTS)
    description = block.get("description", "")
    if not isinstance(description, str) or len(description) > 256:
        raise ConfigError(f"{where}.description must be a text of at most 256 characters")
    return StateMachine(
        name,
        source,
        tasks,
        description=description,
        events=tuple(e for e in events if isinstance(e, ScheduleEvent | ObjectEvent)),
        # Its own suffix, so that no name makes the id of another resource of the stack.
        logical=f"{camel_case(name)}StateMachine",
    )


def _definition_file(value: Any, where: str) -> Path:
    if not isinstance(value, str) or not value:
        raise ConfigError(
            f"{where}.definition must be the path of an ASL file (JSON or YAML, relative to the "
            f"configuration file), not {value!r}"
        )
    path = Path(value)
    if not path.is_file():
        raise ConfigError(f"{where}.definition: there is no file {value!r}")
    return path


def _tasks(source: Path, where: str, functions: Collection[str]) -> tuple[tuple[str, str], ...]:
    """Each placeholder of the file and the declared function it names, in order of appearance."""
    by_placeholder = {placeholder_of(f): f for f in functions}
    tasks = []
    for placeholder in dict.fromkeys(_PLACEHOLDER.findall(source.read_text())):
        if placeholder not in by_placeholder:
            known = ", ".join(f"${{{p}}}" for p in by_placeholder) or "none: declare one first"
            raise ConfigError(
                f"{where}.definition names ${{{placeholder}}}, which is no function the "
                f"configuration declares; a Task names function 'export' as "
                f"${{ExportFunctionArn}} (declared here: {known})"
            )
        tasks.append((placeholder, by_placeholder[placeholder]))
    return tuple(tasks)


def _validate(source: Path, tasks: tuple[tuple[str, str], ...], where: str, region: str) -> None:
    """The engine's own validator, as ``bakusoku up`` registers the machine."""
    arns = {p: function_arn(region, _NO_ACCOUNT, f) for p, f in tasks}
    try:
        load_definition(source.read_text(), arns)
    except DefinitionError as exc:
        raise ConfigError(f"{where}.definition ({source}): {exc}") from None


def unused_functions(functions: Collection[str], machines: Collection[StateMachine]) -> list[str]:
    """The declared ``functions`` without events that no state machine calls."""
    called = {f for machine in machines for f in machine.function_names}
    return [f for f in functions if f not in called]
