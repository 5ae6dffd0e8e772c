"""Loading ASL definitions (JSON or YAML), DefinitionSubstitutions, and validation."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

import yaml

from bakusoku.workflow.choice import COMPARISON_OPERATORS
from bakusoku.workflow.errors import STATES_ALL, DefinitionError, Diagnostic
from bakusoku.workflow.intrinsics import IntrinsicSyntaxError, is_intrinsic, parse_intrinsic
from bakusoku.workflow.jsonata_eval import check_template
from bakusoku.workflow.paths import PathSyntaxError, parse_path

JSONPATH = "JSONPath"
JSONATA = "JSONata"

# Placeholder names are identifiers, so prose such as "${...}" in a comment is left alone.
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
_MAX_STATE_NAME = 80
_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,79}$")
_NESTED = {"Branches", "ItemProcessor", "Iterator"}
_MAX_SECONDS = 99999999

_COMMON = {"Type", "Comment", "QueryLanguage"}
_FLOW = {"Next", "End"}
_IO_PATHS = {"InputPath", "OutputPath"}
_ALLOWED: dict[str, set[str]] = {
    "Pass": _COMMON
    | _FLOW
    | _IO_PATHS
    | {"ResultPath", "Parameters", "Result", "Assign", "Output"},
    "Task": _COMMON
    | _FLOW
    | _IO_PATHS
    | {
        "Resource",
        "ResultPath",
        "Parameters",
        "ResultSelector",
        "Retry",
        "Catch",
        "TimeoutSeconds",
        "TimeoutSecondsPath",
        "HeartbeatSeconds",
        "HeartbeatSecondsPath",
        "Credentials",
        "Arguments",
        "Output",
        "Assign",
    },
    "Choice": _COMMON | _IO_PATHS | {"Choices", "Default", "Assign", "Output"},
    "Wait": _COMMON
    | _FLOW
    | _IO_PATHS
    | {"Seconds", "Timestamp", "SecondsPath", "TimestampPath", "Assign", "Output"},
    "Succeed": _COMMON | _IO_PATHS | {"Output"},
    "Fail": _COMMON | {"Error", "ErrorPath", "Cause", "CausePath"},
    "Parallel": _COMMON
    | _FLOW
    | _IO_PATHS
    | {
        "Branches",
        "ResultPath",
        "Parameters",
        "ResultSelector",
        "Retry",
        "Catch",
        "Arguments",
        "Output",
        "Assign",
    },
    "Map": _COMMON
    | _FLOW
    | _IO_PATHS
    | {
        "ItemProcessor",
        "Iterator",
        "ItemsPath",
        "Items",
        "ItemSelector",
        "Parameters",
        "MaxConcurrency",
        "MaxConcurrencyPath",
        "ItemReader",
        "ItemBatcher",
        "ResultWriter",
        "ToleratedFailurePercentage",
        "ToleratedFailurePercentagePath",
        "ToleratedFailureCount",
        "ToleratedFailureCountPath",
        "Label",
        "ResultPath",
        "ResultSelector",
        "Retry",
        "Catch",
        "Output",
        "Assign",
    },
}
_JSONPATH_ONLY = {
    "InputPath",
    "OutputPath",
    "ResultPath",
    "Parameters",
    "ResultSelector",
    "ItemsPath",
    "ErrorPath",
    "CausePath",
    "SecondsPath",
    "TimestampPath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "MaxConcurrencyPath",
    "ToleratedFailurePercentagePath",
    "ToleratedFailureCountPath",
    "Result",
}
_JSONATA_ONLY = {"Arguments", "Output", "Items"}


class _AslLoader(yaml.SafeLoader):
    """YAML loader that keeps timestamps as strings, as ASL (a JSON format) sees them."""


_AslLoader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def substitute(text: str, substitutions: Mapping[str, str]) -> str:
    """Replace each ``${Name}`` with ``substitutions[Name]``, as CloudFormation does.

    Raises DefinitionError naming a placeholder that has no value, so a typo fails at load time.
    """

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in substitutions:
            known = ", ".join(sorted(substitutions)) or "none"
            raise DefinitionError(
                f"definition placeholder ${{{key}}} has no value in DefinitionSubstitutions "
                f"(given: {known}); add it or remove the placeholder"
            )
        value = substitutions[key]
        if isinstance(value, bool):  # CloudFormation writes booleans as JSON does
            return "true" if value else "false"
        return str(value)

    return _PLACEHOLDER.sub(replace, text)


def _substitute_values(value: Any, substitutions: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return substitute(value, substitutions)
    if isinstance(value, list):
        return [_substitute_values(v, substitutions) for v in value]
    if isinstance(value, dict):
        return {k: _substitute_values(v, substitutions) for k, v in value.items()}
    return value


def load_definition(
    source: str | Mapping[str, Any], substitutions: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Parse JSON or YAML text (or take a mapping), fill placeholders, validate; return the dict."""
    subs = substitutions or {}
    if isinstance(source, str):
        text = substitute(source, subs)
        try:
            # JSON first: it is what Step Functions stores, and YAML 1.1 reads some JSON oddly.
            parsed = json.loads(text)
        except json.JSONDecodeError:
            try:
                parsed = yaml.load(text, Loader=_AslLoader)
            except yaml.YAMLError as exc:
                raise DefinitionError(f"definition is neither valid JSON nor YAML: {exc}") from None
    elif isinstance(source, Mapping):
        parsed = _substitute_values(copy.deepcopy(dict(source)), subs)
    else:
        raise DefinitionError(f"definition must be text or a mapping, not {type(source).__name__}")
    if not isinstance(parsed, dict):
        raise DefinitionError("definition must be a JSON object with StartAt and States")
    # Round-trip through JSON: the definition must be plain JSON data, as Step Functions stores it.
    try:
        definition: dict[str, Any] = json.loads(json.dumps(parsed))
    except (TypeError, ValueError) as exc:
        raise DefinitionError(f"definition holds a value that is not JSON: {exc}") from None
    validate_definition(definition)
    return definition


class _Invalid(Exception):
    """Internal: the check at hand found a problem (already recorded) and stops there."""


@dataclass
class _Collector:
    """The diagnostics of one validation, and the JSON pointer of the state being checked."""

    problems: list[Diagnostic] = dataclass_field(default_factory=list)
    pointer: str = ""


_COLLECTOR: ContextVar[_Collector | None] = ContextVar("asl_validation", default=None)


def _record(code: str, message: str, location: str) -> _Invalid:
    collector = _COLLECTOR.get()
    diagnostic = Diagnostic(code, message, location)
    if collector is None:  # a helper used outside validate_definition: fail at once
        raise DefinitionError(message, diagnostics=[diagnostic])
    collector.problems.append(diagnostic)
    return _Invalid(message)


def _guard() -> AbstractContextManager[None]:
    """Run one independent check: a problem it finds is recorded and checking goes on."""
    return suppress(_Invalid)


def _here() -> str:
    """The JSON pointer of the state being checked."""
    collector = _COLLECTOR.get()
    return collector.pointer if collector is not None else ""


def _pointer(field_name: str) -> str:
    """``Retry[0].ErrorEquals`` -> ``/Retry/0/ErrorEquals`` (``.$`` stays on its key)."""
    parts: list[str] = []
    for part in re.sub(r"\[(\d+)\]", r".\1", field_name).split("."):
        if part == "$" and parts:
            parts[-1] += ".$"
        elif part:
            parts.append(part.replace("~", "~0").replace("/", "~1"))
    return "".join(f"/{part}" for part in parts)


def diagnose(definition: Mapping[str, Any]) -> list[Diagnostic]:
    """Every problem of ``definition``, each with the location of the offending field.

    An empty list means the definition is valid (ValidateStateMachineDefinition's ``OK``).
    """
    collector = _Collector()
    token = _COLLECTOR.set(collector)
    try:
        _diagnose(definition)
    finally:
        _COLLECTOR.reset(token)
    return collector.problems


def validate_definition(definition: Mapping[str, Any]) -> None:
    """Raise DefinitionError listing every problem found, each naming the state and the field."""
    problems = diagnose(definition)
    if problems:
        raise DefinitionError.from_diagnostics(problems)


def _diagnose(definition: Mapping[str, Any]) -> None:
    language = definition.get("QueryLanguage", JSONPATH)
    if language not in (JSONPATH, JSONATA):
        _record(
            "SCHEMA_VALIDATION_FAILED",
            f"QueryLanguage must be {JSONPATH} or {JSONATA}, not {language!r}",
            "/QueryLanguage",
        )
        language = JSONPATH
    timeout = definition.get("TimeoutSeconds")
    if timeout is not None and not _is_positive_int(timeout):
        _record(
            "SCHEMA_VALIDATION_FAILED",
            "top-level TimeoutSeconds must be a positive integer",
            "/TimeoutSeconds",
        )
    for key in definition:
        if key not in _TOP_LEVEL:
            _record(
                "SCHEMA_VALIDATION_FAILED",
                f"{key!r} is not a top-level field of a state machine",
                _pointer(key),
            )
    _validate_machine(definition, "the state machine", language, "")


_TOP_LEVEL = {"Comment", "StartAt", "States", "TimeoutSeconds", "Version", "QueryLanguage"}


def _validate_machine(machine: Mapping[str, Any], where: str, language: str, pointer: str) -> None:
    states = machine.get("States")
    if not isinstance(states, dict) or not states:
        _record(
            "SCHEMA_VALIDATION_FAILED",
            f"{where} must have a non-empty States object",
            f"{pointer}/States",
        )
        return
    start = machine.get("StartAt")
    if not isinstance(start, str):
        _record(
            "SCHEMA_VALIDATION_FAILED",
            f"{where} must have StartAt naming its first state",
            f"{pointer}/StartAt",
        )
    elif start not in states:
        _record(
            "MISSING_TRANSITION_TARGET",
            f"StartAt {start!r} of {where} is not one of its States",
            f"{pointer}/StartAt",
        )
    collector = _COLLECTOR.get()
    assert collector is not None
    for name, state in states.items():
        state_pointer = f"{pointer}/States/{name.replace('~', '~0').replace('/', '~1')}"
        if len(name) > _MAX_STATE_NAME or not name:
            _record(
                "INVALID_STATE_NAME",
                f"state name {name!r} must be 1-{_MAX_STATE_NAME} characters",
                state_pointer,
            )
        if not isinstance(state, dict):
            _record(
                "SCHEMA_VALIDATION_FAILED", f"state {name!r} must be a JSON object", state_pointer
            )
            continue
        outer, collector.pointer = collector.pointer, state_pointer
        try:
            with _guard():
                _validate_state(name, state, states, language)
        finally:
            collector.pointer = outer
    if isinstance(start, str) and start in states:
        _check_reachable(start, states, where, pointer)


def _transitions(state: Mapping[str, Any]) -> Iterator[str]:
    if isinstance(state.get("Next"), str):
        yield state["Next"]
    if isinstance(state.get("Default"), str):
        yield state["Default"]
    for rule in state.get("Choices") or []:
        if isinstance(rule, dict) and isinstance(rule.get("Next"), str):
            yield rule["Next"]
    for catcher in state.get("Catch") or []:
        if isinstance(catcher, dict) and isinstance(catcher.get("Next"), str):
            yield catcher["Next"]


def _check_reachable(start: str, states: Mapping[str, Any], where: str, pointer: str) -> None:
    seen = {start}
    todo = [start]
    while todo:
        current = states[todo.pop()]
        if not isinstance(current, dict):
            continue
        for target in _transitions(current):
            if target in states and target not in seen:
                seen.add(target)
                todo.append(target)
    for name in states:
        if name not in seen:
            _record(
                "UNREACHABLE_STATE",
                f"state {name!r} in {where} is not reachable from StartAt; "
                "remove it or add a transition to it",
                f"{pointer}/States/{name.replace('~', '~0').replace('/', '~1')}",
            )


def _fail(name: str, field: str, what: str, code: str = "SCHEMA_VALIDATION_FAILED") -> _Invalid:
    """Record a problem of ``field`` of state ``name``; raise the result to stop that check."""
    collector = _COLLECTOR.get()
    location = (collector.pointer if collector is not None else "") + _pointer(field)
    return _record(code, f"state {name!r}, field {field}: {what}", location)


def _is_positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= _MAX_SECONDS


def _is_non_negative_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _validate_state(
    name: str, state: Mapping[str, Any], states: Mapping[str, Any], outer: str
) -> None:
    kind = state.get("Type")
    if kind not in _ALLOWED:
        raise _fail(name, "Type", f"{kind!r} is not a state type; use one of {', '.join(_ALLOWED)}")
    language = state.get("QueryLanguage", outer)
    if language not in (JSONPATH, JSONATA):
        raise _fail(name, "QueryLanguage", f"must be {JSONPATH} or {JSONATA}")
    if outer == JSONATA and language == JSONPATH:
        raise _fail(name, "QueryLanguage", "a JSONata state machine cannot have JSONPath states")
    for key in state:
        if key not in _ALLOWED[kind]:
            _fail(name, key, f"is not a field of a {kind} state")
        elif language == JSONATA and key in _JSONPATH_ONLY:
            _fail(name, key, "is JSONPath-only; in JSONata states use Arguments and Output")
        elif language == JSONPATH and key in _JSONATA_ONLY:
            _fail(name, key, "is JSONata-only; set QueryLanguage to JSONata to use it")

    with _guard():
        _check_flow(name, kind, state, states)
    if language == JSONPATH:
        _validate_jsonpath_io(name, state)
    else:
        for key, value in state.items():
            problem = None if key in _NESTED else check_template(value)
            if problem:
                _fail(name, key, problem)
    with _guard():
        _check_assign(name, "Assign", state, language)
    for index, rule in enumerate(state.get("Choices") or []):
        if isinstance(rule, dict):
            with _guard():
                _check_assign(name, f"Choices[{index}].Assign", rule, language)
    for index, catcher in enumerate(state.get("Catch") or []):
        if isinstance(catcher, dict):
            with _guard():
                _check_assign(name, f"Catch[{index}].Assign", catcher, language)

    validator = _VALIDATORS.get(kind)
    if validator is not None:
        with _guard():
            validator(name, state, states, language)


def _check_flow(name: str, kind: str, state: Mapping[str, Any], states: Mapping[str, Any]) -> None:
    if kind in ("Choice", "Succeed", "Fail"):
        for key in ("Next", "End"):
            if key in state:
                _fail(name, key, f"a {kind} state is terminal or branches by rules; remove it")
        return
    has_next, has_end = "Next" in state, state.get("End") is True
    if "End" in state and state["End"] is not True:
        raise _fail(name, "End", "must be true when present")
    if has_next == has_end:
        raise _fail(
            name,
            "Next",
            "exactly one of Next or End: true is required",
            "MISSING_TRANSITION_TARGET" if not has_next else "SCHEMA_VALIDATION_FAILED",
        )
    if has_next:
        _check_target(name, "Next", state["Next"], states)


def _check_assign(name: str, field: str, holder: Mapping[str, Any], language: str) -> None:
    if "Assign" not in holder:
        return
    assign = holder["Assign"]
    if not isinstance(assign, dict):
        raise _fail(name, field, "must be a JSON object of variable names to values")
    for key in assign:
        variable = key[:-2] if language == JSONPATH and key.endswith(".$") else key
        if not _VARIABLE_NAME.match(variable) or variable == "states":
            _fail(
                name,
                f"{field}.{key}",
                "variable names start with a letter or '_', then letters, digits or '_' "
                "(at most 80), and 'states' is reserved",
            )
    if language == JSONPATH:
        _check_template(name, field, assign)


def _check_target(name: str, field: str, target: Any, states: Mapping[str, Any]) -> None:
    if not isinstance(target, str) or target not in states:
        raise _fail(
            name,
            field,
            f"target {target!r} is not a state in this scope",
            "MISSING_TRANSITION_TARGET",
        )


def _check_path(
    name: str, field: str, value: Any, *, reference: bool = False, read_reference: bool = False
) -> None:
    """A JSONPath field; ``reference``: one a result is written at (``$`` and names/indices);
    ``read_reference``: names and indices from the input, the context object or a variable."""
    if value is None and field in ("InputPath", "OutputPath", "ResultPath"):
        return
    if not isinstance(value, str):
        raise _fail(name, field, "must be a JSONPath string")
    try:
        parsed = parse_path(value)
    except PathSyntaxError as exc:
        raise _fail(name, field, str(exc)) from None
    if reference and not parsed.is_reference:
        raise _fail(name, field, f"{value!r} must be a reference path (names and indices only)")
    if read_reference and not parsed.names_and_indices:
        raise _fail(name, field, f"{value!r} must be a reference path (names and indices only)")


def _check_path_or_intrinsic(name: str, field: str, value: Any) -> None:
    if is_intrinsic(value):
        try:
            parse_intrinsic(value)
        except IntrinsicSyntaxError as exc:
            raise _fail(name, field, str(exc)) from None
        return
    _check_path(name, field, value)


def _check_template(name: str, field: str, template: Any) -> None:
    """Payload templates: keys ending in ``.$`` hold a path or an intrinsic function."""
    if isinstance(template, dict):
        for key, value in template.items():
            with _guard():
                if key.endswith(".$"):
                    _check_path_or_intrinsic(name, f"{field}.{key}", value)
                else:
                    _check_template(name, f"{field}.{key}", value)
    elif isinstance(template, list):
        for index, item in enumerate(template):
            _check_template(name, f"{field}[{index}]", item)


def _validate_jsonpath_io(name: str, state: Mapping[str, Any]) -> None:
    for key in ("InputPath", "OutputPath"):
        if key in state:
            with _guard():
                _check_path(name, key, state[key])
    if "ResultPath" in state:
        with _guard():
            _check_path(name, "ResultPath", state["ResultPath"], reference=True)
    for key in ("Parameters", "ResultSelector", "ItemSelector"):
        if key in state:
            if not isinstance(state[key], dict):
                _fail(name, key, "must be a JSON object (a payload template)")
            else:
                _check_template(name, key, state[key])
    if "ItemsPath" in state:
        with _guard():
            _check_path(name, "ItemsPath", state["ItemsPath"], reference=False)


def _validate_task(
    name: str, state: Mapping[str, Any], _states: Mapping[str, Any], lang: str
) -> None:
    resource = state.get("Resource")
    if not isinstance(resource, str) or not resource:
        _fail(name, "Resource", "a Task needs a Resource ARN", "INVALID_RESOURCE")
        resource = ""
    if resource == "arn:aws:states:::lambda:invoke" or resource.startswith(
        "arn:aws:states:::lambda:invoke."
    ):
        params = state.get("Parameters" if lang == JSONPATH else "Arguments")
        if isinstance(params, dict) and not (
            "FunctionName" in params or "FunctionName.$" in params
        ):
            _fail(
                name,
                "Parameters" if lang == JSONPATH else "Arguments",
                "lambda:invoke needs FunctionName",
            )
    for value_field, path_field in (
        ("TimeoutSeconds", "TimeoutSecondsPath"),
        ("HeartbeatSeconds", "HeartbeatSecondsPath"),
    ):
        if value_field in state and path_field in state:
            _fail(name, value_field, f"use {value_field} or {path_field}, not both")
        value = state.get(value_field)
        if value is not None and not _is_positive_int(value) and not _is_jsonata(value):
            _fail(name, value_field, f"must be a positive integer up to {_MAX_SECONDS}")
        if path_field in state:
            with _guard():
                _check_path(name, path_field, state[path_field], read_reference=True)
    timeout, heartbeat = state.get("TimeoutSeconds"), state.get("HeartbeatSeconds")
    if isinstance(timeout, int) and isinstance(heartbeat, int) and heartbeat >= timeout:
        _fail(name, "HeartbeatSeconds", "must be smaller than TimeoutSeconds")
    with _guard():
        _validate_retry_catch(name, state, _states)


_RETRIER_FIELDS = frozenset(
    {
        "ErrorEquals",
        "IntervalSeconds",
        "MaxAttempts",
        "BackoffRate",
        "MaxDelaySeconds",
        "JitterStrategy",
        "Comment",
    }
)
_CATCHER_FIELDS = frozenset({"ErrorEquals", "Next", "ResultPath", "Comment", "Assign", "Output"})


def _validate_retry_catch(name: str, state: Mapping[str, Any], states: Mapping[str, Any]) -> None:
    for field, retrier in _rules(name, state, "Retry", "retrier", _RETRIER_FIELDS):
        interval = retrier.get("IntervalSeconds", 1)
        if not _is_positive_int(interval):
            _fail(name, f"{field}.IntervalSeconds", "must be a positive integer")
        attempts = retrier.get("MaxAttempts", 3)
        if not _is_non_negative_int(attempts) or attempts > _MAX_SECONDS:
            _fail(name, f"{field}.MaxAttempts", "must be a non-negative integer")
        rate = retrier.get("BackoffRate", 2.0)
        if isinstance(rate, bool) or not isinstance(rate, int | float) or rate < 1.0:
            _fail(name, f"{field}.BackoffRate", "must be a number of at least 1.0")
        if "MaxDelaySeconds" in retrier and not _is_positive_int(retrier["MaxDelaySeconds"]):
            _fail(name, f"{field}.MaxDelaySeconds", "must be a positive integer")
        if retrier.get("JitterStrategy", "NONE") not in ("FULL", "NONE"):
            _fail(name, f"{field}.JitterStrategy", "must be FULL or NONE")
    for field, catcher in _rules(name, state, "Catch", "catcher", _CATCHER_FIELDS):
        with _guard():
            _check_target(name, f"{field}.Next", catcher.get("Next"), states)
        if "ResultPath" in catcher:
            with _guard():
                _check_path(name, f"{field}.ResultPath", catcher["ResultPath"], reference=True)


def _rules(
    name: str, state: Mapping[str, Any], field: str, noun: str, allowed: frozenset[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The rules of ``Retry`` or ``Catch`` that are objects, each with its field name.

    What every rule needs (an object, known fields, a valid ``ErrorEquals``) is checked here,
    rule by rule, so the problems are reported in the order the rules are written.
    """
    rules = state.get(field, [])
    if not isinstance(rules, list):
        _fail(name, field, f"must be an array of {noun}s")
        rules = []
    for index, rule in enumerate(rules):
        at = f"{field}[{index}]"
        if not isinstance(rule, dict):
            _fail(name, at, "must be a JSON object")
            continue
        for key in rule:
            if key not in allowed:
                _fail(name, f"{at}.{key}", f"is not a field of a {noun}")
        with _guard():
            _check_error_equals(name, at, rule, last=index == len(rules) - 1)
        yield at, rule


def _check_error_equals(name: str, field: str, rule: Mapping[str, Any], *, last: bool) -> None:
    errors = rule.get("ErrorEquals")
    if not isinstance(errors, list) or not errors or not all(isinstance(e, str) for e in errors):
        raise _fail(name, f"{field}.ErrorEquals", "must be a non-empty array of error names")
    if STATES_ALL in errors:
        if len(errors) != 1:
            raise _fail(name, f"{field}.ErrorEquals", "States.ALL must appear alone")
        if not last:
            raise _fail(name, f"{field}.ErrorEquals", "States.ALL must be in the last rule")


def _validate_choice(
    name: str, state: Mapping[str, Any], states: Mapping[str, Any], lang: str
) -> None:
    choices = state.get("Choices")
    if not isinstance(choices, list) or not choices:
        raise _fail(name, "Choices", "a Choice state needs a non-empty Choices array")
    for index, rule in enumerate(choices):
        field = f"Choices[{index}]"
        if not isinstance(rule, dict):
            _fail(name, field, "must be a JSON object")
            continue
        with _guard():
            _check_target(name, f"{field}.Next", rule.get("Next"), states)
        with _guard():
            if lang == JSONATA:
                if "Condition" not in rule:
                    raise _fail(name, field, "a JSONata Choice rule needs a Condition")
                _only(name, field, rule, {"Condition", "Next", "Comment", "Assign", "Output"})
                continue
            _check_rule(name, field, rule, top=True)
    if "Default" in state:
        with _guard():
            _check_target(name, "Default", state["Default"], states)


def _check_rule(name: str, field: str, rule: Any, *, top: bool) -> None:
    if not isinstance(rule, dict):
        raise _fail(name, field, "must be a JSON object")
    if top:
        allowed = {"Next", "Comment", "Assign", "Output"}
    else:
        allowed = {"Comment"}
        if "Next" in rule:
            raise _fail(name, f"{field}.Next", "only top-level Choice rules may have Next")
    for combinator in ("And", "Or"):
        if combinator in rule:
            subs = rule[combinator]
            if not isinstance(subs, list) or not subs:
                raise _fail(name, f"{field}.{combinator}", "must be a non-empty array of rules")
            for i, sub in enumerate(subs):
                _check_rule(name, f"{field}.{combinator}[{i}]", sub, top=False)
            _only(name, field, rule, allowed | {combinator})
            return
    if "Not" in rule:
        _check_rule(name, f"{field}.Not", rule["Not"], top=False)
        _only(name, field, rule, allowed | {"Not"})
        return
    operators = [key for key in rule if key in COMPARISON_OPERATORS]
    if len(operators) != 1:
        raise _fail(name, field, "a rule needs exactly one comparison operator (or And, Or, Not)")
    if "Variable" not in rule:
        raise _fail(name, f"{field}.Variable", "a comparison needs a Variable path")
    _check_path(name, f"{field}.Variable", rule["Variable"])
    operator = operators[0]
    value = rule[operator]
    if operator.endswith("Path"):
        _check_path(name, f"{field}.{operator}", value)
    elif operator.startswith(("Is", "Boolean")):
        if not isinstance(value, bool):
            raise _fail(name, f"{field}.{operator}", "must be true or false")
    elif operator.startswith("Numeric"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _fail(name, f"{field}.{operator}", "must be a number")
    elif not isinstance(value, str):
        raise _fail(name, f"{field}.{operator}", "must be a string")
    _only(name, field, rule, allowed | {"Variable", operator})


def _only(name: str, field: str, rule: Mapping[str, Any], allowed: set[str]) -> None:
    for key in rule:
        if key not in allowed:
            raise _fail(name, f"{field}.{key}", "is not allowed in this Choice rule")


def _validate_wait(
    name: str, state: Mapping[str, Any], _states: Mapping[str, Any], _lang: str
) -> None:
    given = [f for f in ("Seconds", "Timestamp", "SecondsPath", "TimestampPath") if f in state]
    if len(given) != 1:
        raise _fail(
            name,
            "Seconds",
            "a Wait needs exactly one of Seconds, Timestamp, SecondsPath, TimestampPath",
        )
    field = given[0]
    value = state[field]
    if field == "Seconds" and not _is_jsonata(value) and not _is_non_negative_int(value):
        raise _fail(name, field, "must be a non-negative integer")
    if field == "Timestamp" and not _is_jsonata(value):
        from bakusoku.workflow.choice import parse_timestamp

        if parse_timestamp(value) is None:
            raise _fail(name, field, "must be an RFC 3339 timestamp such as 2026-03-14T01:59:00Z")
    if field.endswith("Path"):
        _check_path(name, field, value, read_reference=True)


def _validate_fail(
    name: str, state: Mapping[str, Any], _states: Mapping[str, Any], _lang: str
) -> None:
    for value_field, path_field in (("Error", "ErrorPath"), ("Cause", "CausePath")):
        if value_field in state and path_field in state:
            _fail(name, value_field, f"use {value_field} or {path_field}, not both")
        if value_field in state and not isinstance(state[value_field], str):
            _fail(name, value_field, "must be a string")
        if path_field in state:
            with _guard():
                _check_path_or_intrinsic(name, path_field, state[path_field])


def _validate_parallel(
    name: str, state: Mapping[str, Any], states: Mapping[str, Any], lang: str
) -> None:
    branches = state.get("Branches")
    if not isinstance(branches, list) or not branches:
        _fail(name, "Branches", "a Parallel state needs a non-empty Branches array")
        branches = []
    for index, branch in enumerate(branches):
        if not isinstance(branch, dict):
            _fail(name, f"Branches[{index}]", "must be a JSON object with StartAt and States")
            continue
        _validate_machine(
            branch,
            f"branch {index} of state {name!r}",
            branch.get("QueryLanguage", lang),
            f"{_here()}/Branches/{index}",
        )
    with _guard():
        _validate_retry_catch(name, state, states)


def _validate_map(
    name: str, state: Mapping[str, Any], states: Mapping[str, Any], lang: str
) -> None:
    if "ItemSelector" in state and "Parameters" in state:
        _fail(name, "ItemSelector", "use ItemSelector or Parameters, not both")
    with _guard():
        _validate_processor(name, state, lang)
    concurrency = state.get("MaxConcurrency")
    if (
        concurrency is not None
        and not _is_non_negative_int(concurrency)
        and not _is_jsonata(concurrency)
    ):
        _fail(name, "MaxConcurrency", "must be a non-negative integer (0 means no limit)")
    percentage = state.get("ToleratedFailurePercentage")
    bad_percentage = isinstance(percentage, bool) or not isinstance(percentage, int | float)
    if (
        percentage is not None
        and not _is_jsonata(percentage)
        and (bad_percentage or not 0 <= percentage <= 100)
    ):
        _fail(name, "ToleratedFailurePercentage", "must be a number from 0 to 100")
    count = state.get("ToleratedFailureCount")
    if count is not None and not _is_non_negative_int(count) and not _is_jsonata(count):
        _fail(name, "ToleratedFailureCount", "must be a non-negative integer")
    batcher = state.get("ItemBatcher")
    if batcher is not None and not isinstance(batcher, dict):
        _fail(name, "ItemBatcher", "must be a JSON object")
    if "ItemReader" in state:
        _fail(
            name, "ItemReader", "reading items from S3 (distributed Map) is not supported locally"
        )
    with _guard():
        _validate_retry_catch(name, state, states)


def _validate_processor(name: str, state: Mapping[str, Any], lang: str) -> None:
    if ("ItemProcessor" in state) == ("Iterator" in state):
        raise _fail(
            name, "ItemProcessor", "a Map state needs exactly one of ItemProcessor or Iterator"
        )
    processor = state.get("ItemProcessor") or state.get("Iterator")
    field = "ItemProcessor" if "ItemProcessor" in state else "Iterator"
    if not isinstance(processor, dict):
        raise _fail(name, field, "must be a JSON object with StartAt and States")
    config = processor.get("ProcessorConfig", {})
    if not isinstance(config, dict) or config.get("Mode", "INLINE") not in (
        "INLINE",
        "DISTRIBUTED",
    ):
        _fail(name, f"{field}.ProcessorConfig.Mode", "must be INLINE or DISTRIBUTED")
    inner = {k: v for k, v in processor.items() if k != "ProcessorConfig"}
    _validate_machine(
        inner,
        f"the {field} of state {name!r}",
        processor.get("QueryLanguage", lang),
        f"{_here()}/{field}",
    )


def _validate_pass(
    name: str, state: Mapping[str, Any], _states: Mapping[str, Any], _lang: str
) -> None:
    return None


def _is_jsonata(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("{%") and value.endswith("%}")


_VALIDATORS = {
    "Task": _validate_task,
    "Choice": _validate_choice,
    "Wait": _validate_wait,
    "Fail": _validate_fail,
    "Parallel": _validate_parallel,
    "Map": _validate_map,
    "Pass": _validate_pass,
}
