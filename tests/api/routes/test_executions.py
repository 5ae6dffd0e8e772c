"""The execution search attacked through a real server: its cursor is a finite time, and another
one is refused for its field rather than read as an empty page."""

from __future__ import annotations

import httpx
import pytest

from tests.api.routes.tenants import Tenants, assert_json_error

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e400"])
def test_a_cursor_that_is_not_a_finite_number_is_refused(tenants: Tenants, value: str) -> None:
    response = httpx.get(
        f"{tenants.api}/v1/executions",
        params={"before": value},
        headers=tenants.server.headers,
    )
    error = assert_json_error(response, 400, "request.invalid")
    assert error["field"] == "before"
