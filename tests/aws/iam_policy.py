"""IAM policy evaluation for identity policies: explicit deny, then allow, else implicit deny.

Follows AWS's documented logic for the elements identity policies use: ``Action``/``NotAction``
(case-insensitive wildcards), ``Resource``/``NotResource`` (case-sensitive ``*`` and ``?``) and
``Condition`` with the string, ARN, Bool and Null operators, their ``IfExists`` forms and the
``ForAnyValue:``/``ForAllValues:`` set qualifiers, and for resource policies ``Principal`` (``*``,
``Service`` or ``AWS``). Condition keys ignore case, as AWS's do. An operator it does not know raises instead of
being guessed at. moto's ``IAMPolicy`` is asked too and must agree on action and resource; it is
not enough alone because it evaluates only ``StringEquals`` and treats every other condition
operator (``StringLike`` on ``s3:prefix``, ``ArnEquals``…) as satisfied.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Decision(Enum):
    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicitly denied"
    IMPLICIT_DENY = "not allowed by any statement"


@dataclass(frozen=True)
class Request:
    """One authorization request: ``s3:GetObject`` on an ARN, with its condition keys."""

    action: str
    resource: str
    context: Mapping[str, str | Sequence[str]] = field(default_factory=dict)
    # Who asks, for resource policies: {"Service": "events.amazonaws.com"} or {"AWS": role ARN}.
    principal: Mapping[str, str] | None = None

    def __str__(self) -> str:
        keys = f" with {dict(self.context)}" if self.context else ""
        by = f" by {dict(self.principal)}" if self.principal else ""
        return f"{self.action} on {self.resource}{by}{keys}"


class UnsupportedPolicyError(Exception):
    """The policy uses an element or operator this evaluator does not implement."""


def evaluate(policies: Iterable[Mapping[str, Any]], request: Request) -> Decision:
    """The decision for ``request`` under all of one principal's identity ``policies``."""
    allowed = False
    for policy in policies:
        for statement in _statements(policy):
            if not _applies(statement, request):
                continue
            if statement["Effect"] == "Deny":
                return Decision.EXPLICIT_DENY
            allowed = True
    return Decision.ALLOWED if allowed else Decision.IMPLICIT_DENY


def moto_permits(policies: Iterable[Mapping[str, Any]], request: Request) -> bool:
    """moto's own evaluation of action and resource (its condition support is partial)."""
    from moto.iam.access_control import IAMPolicy, PermissionResult

    results = [
        IAMPolicy(json.dumps(policy)).is_action_permitted(request.action, request.resource)
        for policy in policies
    ]
    return PermissionResult.PERMITTED in results and PermissionResult.DENIED not in results


def _statements(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = policy.get("Statement", [])
    return [statements] if isinstance(statements, Mapping) else list(statements)


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _applies(statement: Mapping[str, Any], request: Request) -> bool:
    if "NotPrincipal" in statement:
        raise UnsupportedPolicyError("NotPrincipal is not implemented")
    if "Principal" in statement and not _principal_matches(statement["Principal"], request):
        return False
    if "Action" in statement:
        action_ok = any(_wildcard(p, request.action, True) for p in _listed(statement["Action"]))
    else:
        action_ok = not any(
            _wildcard(p, request.action, True) for p in _listed(statement["NotAction"])
        )
    if "Resource" in statement:
        resource_ok = any(_wildcard(p, request.resource) for p in _listed(statement["Resource"]))
    else:
        resource_ok = not any(
            _wildcard(p, request.resource) for p in _listed(statement["NotResource"])
        )
    return action_ok and resource_ok and _conditions_hold(statement.get("Condition", {}), request)


def _principal_matches(principal: Any, request: Request) -> bool:
    """A resource policy's ``Principal``: ``"*"`` or ``{"Service"|"AWS": value(s)}``."""
    if request.principal is None:
        raise UnsupportedPolicyError("a statement with a Principal needs the request's principal")
    if principal == "*":
        return True
    return any(
        kind in request.principal and (value == "*" or value == request.principal[kind])
        for kind, values in principal.items()
        for value in _listed(values)
    )


def _wildcard(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """IAM's ``*`` (any run of characters) and ``?`` (one character); nothing else is special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return (
        re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)
        is not None
    )


def _string_equals(expected: str, actual: str) -> bool:
    return expected == actual


def _string_equals_ignore_case(expected: str, actual: str) -> bool:
    return expected.lower() == actual.lower()


def _bool(expected: str, actual: str) -> bool:
    return expected.lower() == actual.lower()


# operator → (value test, negated)
_OPERATORS = {
    "StringEquals": (_string_equals, False),
    "StringNotEquals": (_string_equals, True),
    "StringEqualsIgnoreCase": (_string_equals_ignore_case, False),
    "StringNotEqualsIgnoreCase": (_string_equals_ignore_case, True),
    "StringLike": (_wildcard, False),
    "StringNotLike": (_wildcard, True),
    "ArnEquals": (_string_equals, False),
    "ArnNotEquals": (_string_equals, True),
    "ArnLike": (_wildcard, False),
    "ArnNotLike": (_wildcard, True),
    "Bool": (_bool, False),
}


def _conditions_hold(conditions: Mapping[str, Mapping[str, Any]], request: Request) -> bool:
    """Every operator block holds; within one, every key holds (AND); values are ORed."""
    context = {key.lower(): value for key, value in request.context.items()}  # keys ignore case
    return all(
        _key_holds(operator, key, _listed(expected), context.get(key.lower()))
        for operator, block in conditions.items()
        for key, expected in block.items()
    )


def _key_holds(operator: str, key: str, expected: list[str], actual: Any) -> bool:
    qualifier, _, name = operator.rpartition(":")
    if name == "Null":  # "true": the key must be absent; "false": present
        return (actual is None) == (expected[0].lower() == "true")
    if_exists = name.endswith("IfExists")
    name = name.removesuffix("IfExists")
    if name not in _OPERATORS or qualifier not in ("", "ForAnyValue", "ForAllValues"):
        raise UnsupportedPolicyError(f"condition operator {operator!r} is not implemented")
    test, negated = _OPERATORS[name]
    if actual is None:
        # A missing key matches nothing: positive operators fail and negated ones hold, unless
        # IfExists makes the whole test hold; ForAllValues holds on an empty set.
        return if_exists or negated or qualifier == "ForAllValues"
    values = _listed(actual)

    def matches(value: str) -> bool:
        hit = any(test(pattern, value) for pattern in expected)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(matches(v) for v in values)
    return any(matches(v) for v in values)
