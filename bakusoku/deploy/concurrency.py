"""Lambda concurrency of a stack: what it reserves, whether the account can give it, and what bounds
its database connections.

An account keeps at least ``MIN_UNRESERVED`` (100) concurrent executions unreserved: Lambda refuses
a ``ReservedConcurrentExecutions`` that would leave less, and a fresh account's quota is often 10 or
50, so any reservation fails there. ``check_account`` reads the account's quota
(``GetAccountSettings``) and this stack's current reservations (``GetFunctionConcurrency``, which a
redeploy gives back) and refuses a plan that would leave less than the minimum, before CloudFormation
half-creates the stack. ``connection_bound`` says what bounds the stack's database connections: on
Lambda every execution environment holds its own, so reserved concurrency (times the connections
one environment opens) or an RDS Proxy is the only ceiling.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import botocore.session
from botocore.exceptions import BotoCoreError, ClientError

from bakusoku.deploy.errors import DeployError
from bakusoku.deploy.stages import API, NOTIFIER, StageConfig

MIN_UNRESERVED = 100  # Lambda's minimum unreserved concurrency per account and region
# Database connections one execution environment opens: it runs one invocation at a time; the API
# function's pool holds two (a request and the readiness check).
CONNECTIONS_PER_ENVIRONMENT = {API: 2}
_NO_DATABASE = {NOTIFIER}


class ConcurrencyError(DeployError):
    """The account's concurrency quota cannot give the stack what it reserves."""

    code = "deploy.concurrency"


@dataclass(frozen=True)
class AccountConcurrency:
    limit: int  # ConcurrentExecutions of the account in the region
    unreserved: int  # UnreservedConcurrentExecutions now
    reserved_by_stack: Mapping[str, int]  # this stack's functions' reservations now


def planned_reservations(stage: StageConfig) -> dict[str, int]:
    """Reserved concurrency per function of the stack (functions that reserve nothing left out)."""
    return {
        name: f.reserved_concurrency
        for name, f in stage.functions.items()
        if f.reserved_concurrency is not None
    }


def read_account(stage: StageConfig, client: Any = None) -> AccountConcurrency:
    """The account's quota and the stack's current reservations, read from Lambda."""
    lam = client or botocore.session.get_session().create_client(
        "lambda", region_name=stage.settings.region
    )
    try:
        limit = lam.get_account_settings()["AccountLimit"]
        current = {}
        for name in stage.functions:
            try:
                found = lam.get_function_concurrency(FunctionName=stage.resource_name(name))
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                    continue  # not deployed yet
                raise
            if found.get("ReservedConcurrentExecutions") is not None:
                current[name] = int(found["ReservedConcurrentExecutions"])
    except (ClientError, BotoCoreError) as exc:
        raise ConcurrencyError(
            f"cannot read the account's Lambda concurrency in {stage.settings.region}: {exc}; "
            "the credentials need lambda:GetAccountSettings and lambda:GetFunctionConcurrency"
        ) from exc
    return AccountConcurrency(
        int(limit["ConcurrentExecutions"]), int(limit["UnreservedConcurrentExecutions"]), current
    )


def check_account(stage: StageConfig, account: AccountConcurrency) -> str:
    """A line saying the plan fits the account; ConcurrencyError says why not and what to do."""
    planned = planned_reservations(stage)
    added = sum(planned.values()) - sum(account.reserved_by_stack.values())
    left = account.unreserved - added
    # Lambda refuses only a reservation that takes the unreserved pool below the minimum; a plan
    # that reserves nothing new fits any account, even one whose whole quota is under 100.
    if added > 0 and left < MIN_UNRESERVED:
        detail = ", ".join(f"{name} {n}" for name, n in planned.items())
        raise ConcurrencyError(
            f"{stage.stack_name} reserves {sum(planned.values())} concurrent executions ({detail})"
            f", which would leave {left} unreserved of the account's {account.limit} in "
            f"{stage.settings.region}; Lambda keeps at least {MIN_UNRESERVED} unreserved and would "
            "refuse the stack. Lower services."
            f"{stage.service}.stages.{stage.stage}.reserved_concurrency (a dev stage needs none), "
            "or ask AWS Support to raise the account's concurrent executions quota"
        )
    return (
        f"concurrency: the stack reserves {sum(planned.values())} of the account's "
        f"{account.limit}; {left} stay unreserved (Lambda keeps at least {MIN_UNRESERVED} "
        "unreserved when a function reserves)"
    )


def connection_bound(stage: StageConfig) -> str:
    """What bounds the stack's database connections, in words and numbers."""
    if stage.rds_proxy is not None:
        return "database connections: bounded by the stack's RDS Proxy (its connection pool)"
    bound = 0
    unbounded = []
    for name, function in stage.functions.items():
        if name in _NO_DATABASE or (
            function.declaration and not function.declaration.resources.database
        ):
            continue
        if function.reserved_concurrency is None:
            unbounded.append(name)
            continue
        bound += function.reserved_concurrency * CONNECTIONS_PER_ENVIRONMENT.get(name, 1)
    if unbounded:
        return (
            f"database connections: unbounded ({', '.join(unbounded)} reserve no concurrency, "
            "so each may open one connection per concurrent execution up to the account's "
            "unreserved concurrency); reserve concurrency or add rds_proxy to the stage"
        )
    return (
        f"database connections: at most {bound} (reserved concurrency x connections per "
        "execution environment); keep it under the database's max_connections"
    )
