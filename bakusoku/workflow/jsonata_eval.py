"""JSONata in ASL: ``{% expression %}`` strings, evaluated with ``$states`` and workflow variables."""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from typing import Any

import jsonata
from jsonata.utils import Utils

from bakusoku.workflow.errors import STATES_QUERY_EVALUATION_ERROR, StatesError, WorkflowError

_NULL = Utils.NULL_VALUE


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
        compiled = jsonata.Jsonata(body)
    except Exception as exc:  # the library raises its own exception types for syntax errors
        raise JsonataSyntaxError(f"JSONata expression {text!r} is not valid: {exc}") from None
    # null stays JSONata's null (turned into None by _plain); None is then only undefined.
    compiled.set_output_convert_nulls(False)
    return compiled


class QueryError(StatesError):
    """A ``{% %}`` expression failed or gave nothing: States.QueryEvaluationError.

    ``cause`` is the detail; the state adds where it happened (frames.state_failure).
    """

    def __init__(self, detail: str) -> None:
        super().__init__(STATES_QUERY_EVALUATION_ERROR, detail)


def evaluate_expression(text: str, bindings: Mapping[str, Any], field: str) -> Any:
    """Evaluate a ``{% %}`` string of ``field``; QueryError when it fails or gives nothing.

    An expression that evaluates to nothing (JSONata's undefined: a field or variable that does
    not exist) fails, as in Step Functions; one that gives ``null`` gives None.
    """
    try:
        # Evaluation keeps per-run state on the compiled object, so each run gets its own copy.
        expression = copy.copy(compile_expression(text))
        # The library reads a binding of None as undefined: a variable holding null is null.
        value = expression.evaluate(
            None, {key: _NULL if item is None else item for key, item in bindings.items()}
        )
    except JsonataSyntaxError as exc:
        raise QueryError(str(exc)) from None
    except Exception as exc:
        raise QueryError(
            f"The JSONata expression '{expression_body(text)}' specified for the field '{field}' "
            f"could not be evaluated: {exc}"
        ) from None
    if value is None:
        raise QueryError(
            f"The JSONata expression '{expression_body(text)}' specified for the field '{field}' "
            "returned nothing (undefined)."
        )
    if value is not _NULL and not isinstance(value, _JSON_TYPES):  # a function, say
        raise QueryError(
            f"The JSONata expression '{expression_body(text)}' specified for the field '{field}' "
            "returned an unsupported result type."
        )
    return _plain(value)


_JSON_TYPES = (str, int, float, bool, list, dict)


def expression_body(text: str) -> str:
    """The JSONata of a ``{% %}`` string, as Step Functions quotes it in a cause."""
    return text[2:-2].strip()


def json_type(value: Any) -> str:
    """The JSON type of a value, named as Step Functions names it in a cause."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _plain(value: Any) -> Any:
    """JSONata values as plain JSON: null as None, whole floats as integers, sequences as lists."""
    if value is _NULL:
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def evaluate_template(value: Any, bindings: Mapping[str, Any], field: str) -> Any:
    """Evaluate every ``{% %}`` string inside ``value`` (objects and arrays, however deep)."""
    if is_expression(value):
        return evaluate_expression(value, bindings, field)
    if isinstance(value, dict):
        return {
            key: evaluate_template(item, bindings, f"{field}/{key}") for key, item in value.items()
        }
    if isinstance(value, list):
        return [evaluate_template(item, bindings, f"{field}[{i}]") for i, item in enumerate(value)]
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
