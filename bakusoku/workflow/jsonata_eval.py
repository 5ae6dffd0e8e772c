"""JSONata in ASL: ``{% expression %}`` strings, evaluated with ``$states`` and workflow variables."""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from typing import Any

import jsonata

from bakusoku.workflow.errors import STATES_QUERY_EVALUATION_ERROR, StatesError, WorkflowError


class JsonataSyntaxError(WorkflowError):
    """A ``{% %}`` expression is not valid JSONata."""

    code = "workflow.jsonata_syntax"


def is_expression(value: Any) -> bool:
    """True for a string written wholly as ``{% ... %}``."""
    return (
        isinstance(value, str)
        and value.startswith("{%")
        and value.endswith("%}")
        and len(value) >= 4
    )


@functools.lru_cache(maxsize=2048)
def compile_expression(text: str) -> jsonata.Jsonata:
    """Compile the body of a ``{% %}`` string; raises JsonataSyntaxError when it is not JSONata."""
    body = text[2:-2].strip()
    if not body:
        raise JsonataSyntaxError(f"JSONata expression {text!r} is empty")
    try:
        return jsonata.Jsonata(body)
    except Exception as exc:  # the library raises its own exception types for syntax errors
        raise JsonataSyntaxError(f"JSONata expression {text!r} is not valid: {exc}") from None


def evaluate_expression(text: str, bindings: Mapping[str, Any], where: str) -> Any:
    """Evaluate a ``{% %}`` string; failures are States.QueryEvaluationError naming ``where``."""
    try:
        # Evaluation keeps per-run state on the compiled object, so each run gets its own copy.
        expression = copy.copy(compile_expression(text))
        value = expression.evaluate(None, dict(bindings))
    except JsonataSyntaxError as exc:
        raise StatesError(STATES_QUERY_EVALUATION_ERROR, f"{where}: {exc}") from None
    except Exception as exc:
        raise StatesError(
            STATES_QUERY_EVALUATION_ERROR,
            f"An error occurred while evaluating the JSONata expression {text!r} in {where}: {exc}",
        ) from None
    return _plain(value)


def _plain(value: Any) -> Any:
    """JSONata sequences and numbers as plain JSON values (whole floats become integers)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def evaluate_template(value: Any, bindings: Mapping[str, Any], where: str) -> Any:
    """Evaluate every ``{% %}`` string inside ``value`` (objects and arrays, however deep)."""
    if is_expression(value):
        return evaluate_expression(value, bindings, where)
    if isinstance(value, dict):
        return {
            key: evaluate_template(item, bindings, f"{where}.{key}") for key, item in value.items()
        }
    if isinstance(value, list):
        return [evaluate_template(item, bindings, f"{where}[{i}]") for i, item in enumerate(value)]
    return value


def check_template(value: Any) -> str | None:
    """The first syntax error among the ``{% %}`` strings in ``value``, or None."""
    if is_expression(value):
        try:
            compile_expression(value)
        except JsonataSyntaxError as exc:
            return str(exc)
        return None
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    for item in items:
        problem = check_template(item)
        if problem:
            return problem
    return None
