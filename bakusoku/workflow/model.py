"""The engine's public values and rules: statuses, state machines, execution descriptions, names.

What StartExecution, DescribeExecution and ListExecutions return, the execution statuses, the
ListExecutions page sizes, and Step Functions' naming rules, as the engine and its callers share
them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bakusoku.workflow.errors import InvalidNameError, WorkflowError

RUNNING = "RUNNING"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
TIMED_OUT = "TIMED_OUT"
ABORTED = "ABORTED"
STATUSES = (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED)
DEFAULT_PAGE_SIZE = 100  # ListExecutions' maxResults: the default and the largest page
MAX_PAGE_SIZE = 1000

# Step Functions' naming rules: 1-80 characters, none of whitespace, brackets, wildcards,
# the listed punctuation, or control characters.
_BAD_NAME = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")


class WaitTimeoutError(WorkflowError, TimeoutError):
    """The execution did not end within the time given to ``wait_for``."""

    code = "workflow.wait_timeout"


@dataclass(frozen=True)
class StateMachine:
    """A registered state machine: its name, ARN, validated definition and its revision."""

    name: str
    arn: str
    definition: dict[str, Any]
    revision: str = ""  # revisions.revision_of(definition): what its executions record


@dataclass(frozen=True)
class ExecutionRef:
    """What StartExecution returns."""

    name: str
    arn: str
    start_date: datetime


@dataclass(frozen=True)
class ExecutionDescription:
    """What DescribeExecution returns."""

    name: str
    execution_arn: str
    state_machine_arn: str
    state_machine_name: str
    status: str
    input: Any
    output: Any
    error: str | None
    cause: str | None
    start_date: datetime
    stop_date: datetime | None
    redrive_count: int = 0


@dataclass(frozen=True)
class ExecutionPage:
    """What ListExecutions returns: one page, and the token of the next when there is one."""

    executions: list[ExecutionDescription]
    next_token: str | None = None


def validate_name(name: str, what: str = "execution") -> None:
    """Raise InvalidNameError unless ``name`` follows the Step Functions naming rules."""
    if not isinstance(name, str) or not 1 <= len(name) <= 80:
        raise InvalidNameError(f"{what} name {name!r} must be 1-80 characters long")
    bad = _BAD_NAME.search(name)
    if bad:
        raise InvalidNameError(
            f"{what} name {name!r} has the character {bad.group(0)!r}; "
            "use letters, digits, '-' and '_'"
        )
