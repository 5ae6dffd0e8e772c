"""The account's Lambda concurrency against a stack's reservations, and the connection bound.

moto does not implement Lambda's GetAccountSettings, so the command-line test runs against a
loopback server that answers it and GetFunctionConcurrency with the JSON Lambda documents.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from click.testing import CliRunner

from bakusoku.cli.main import cli
from bakusoku.deploy.concurrency import (
    MIN_UNRESERVED,
    AccountConcurrency,
    ConcurrencyError,
    check_account,
    connection_bound,
    planned_reservations,
)
from bakusoku.deploy.stages import load_stage
from tests.deploy.conftest import EXAMPLE, FAKE_AWS, example_settings


def _stage(stage: str) -> Any:
    return load_stage(example_settings(), "enphoto", stage, environ={})


def test_dev_stages_reserve_nothing_and_fit_a_fresh_account() -> None:
    dev = _stage("dev")
    assert planned_reservations(dev) == {}
    assert "reserves 0 of the account's 10" in check_account(dev, AccountConcurrency(10, 10, {}))


def test_a_plan_leaving_less_than_the_minimum_unreserved_is_refused() -> None:
    prod = _stage("prod")
    reserved = sum(planned_reservations(prod).values())
    with pytest.raises(ConcurrencyError) as refused:
        check_account(prod, AccountConcurrency(50, 50, {}))
    assert f"reserves {reserved}" in refused.value.message
    assert f"leave {50 - reserved} unreserved of the account's 50" in refused.value.message
    assert "services.enphoto.stages.prod.reserved_concurrency" in refused.value.message
    check_account(prod, AccountConcurrency(1000, MIN_UNRESERVED + reserved, {}))  # just fits


def test_what_the_stack_reserves_already_is_counted_back() -> None:
    prod = _stage("prod")
    reserved = sum(planned_reservations(prod).values())
    current = planned_reservations(prod)  # a redeploy of the same plan
    check_account(prod, AccountConcurrency(1000, MIN_UNRESERVED, current))
    with pytest.raises(ConcurrencyError):
        check_account(prod, AccountConcurrency(1000, MIN_UNRESERVED + reserved - 1, {}))


def test_the_connection_bound_is_reserved_concurrency_times_connections() -> None:
    prod = _stage("prod")
    # store-photo 30, make-renditions 30, mark-ready 20, index-faces 20, read-bibs 20,
    # mark-failed 20, make-certificate 20, mark-certificate-failed 20, migrate 20, api 50 x 2,
    # transform 20, and the example's own slow-queries 1 (it declares database access)
    assert "at most 321" in connection_bound(prod)
    assert "unbounded" in connection_bound(_stage("dev"))


class _Lambda(BaseHTTPRequestHandler):
    """GetAccountSettings and GetFunctionConcurrency as Lambda's REST API answers them."""

    account: dict[str, int] = {}
    reserved: dict[str, int] = {}

    def do_GET(self) -> None:
        if self.path.startswith("/2016-08-19/account-settings"):
            self._answer(
                200,
                {
                    "AccountLimit": {
                        "TotalCodeSize": 80530636800,
                        "CodeSizeUnzipped": 262144000,
                        "CodeSizeZipped": 52428800,
                        **self.account,
                    },
                    "AccountUsage": {"TotalCodeSize": 0, "FunctionCount": 0},
                },
            )
        elif self.path.startswith("/2019-09-30/functions/"):
            name = self.path.split("/")[3]
            if name in self.reserved:
                self._answer(200, {"ReservedConcurrentExecutions": self.reserved[name]})
            else:
                self._answer(
                    404,
                    {"Type": "User", "message": f"Function not found: {name}"},
                    {"x-amzn-ErrorType": "ResourceNotFoundException"},
                )
        else:
            self._answer(404, {"message": "unknown"})

    def _answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def lambda_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Lambda)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _dry_run(endpoint: str, stage: str) -> Any:
    pytest.importorskip("samtranslator", reason="needs the aws extra")
    return CliRunner().invoke(
        cli,
        ["deploy", "--service", "enphoto", "--stage", stage, "--dry-run", "--config", str(EXAMPLE)],
        env={**FAKE_AWS, "AWS_ENDPOINT_URL": endpoint},
    )


@pytest.mark.integration
def test_dry_run_refuses_a_plan_a_small_account_cannot_hold(lambda_api: str) -> None:
    _Lambda.account = {"ConcurrentExecutions": 50, "UnreservedConcurrentExecutions": 50}
    _Lambda.reserved = {}
    refused = _dry_run(lambda_api, "prod")
    assert refused.exit_code != 0
    assert "would leave" in refused.output and "Lambda keeps at least 100" in refused.output
    accepted = _dry_run(lambda_api, "dev")
    assert accepted.exit_code == 0, accepted.output
    assert "concurrency: the stack reserves 0 of the account's 50" in accepted.output


@pytest.mark.integration
def test_dry_run_counts_back_the_stacks_current_reservations(lambda_api: str) -> None:
    reserved = planned_reservations(_stage("prod"))
    _Lambda.account = {"ConcurrentExecutions": 1000, "UnreservedConcurrentExecutions": 100}
    _Lambda.reserved = {f"enphoto-prod-{name}": n for name, n in reserved.items()}
    result = _dry_run(lambda_api, "prod")
    assert result.exit_code == 0, result.output
    assert f"reserves {sum(reserved.values())} of the account's 1000; 100 stay" in result.output
