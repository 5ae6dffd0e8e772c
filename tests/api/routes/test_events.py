"""Live events attacked through a real server: the query's numbers are finite times, and every
other one is refused for its field, never a 500."""

from __future__ import annotations

import httpx
import pytest

from tests.api.routes.tenants import Tenants, assert_json_error, bearer

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("name", ["since", "cursor"])
@pytest.mark.parametrize("value", ["inf", "Infinity", "nan", "-inf", "1e400"])
def test_a_time_that_is_not_a_finite_number_is_refused_for_its_field(
    tenants: Tenants, name: str, value: str
) -> None:
    response = httpx.get(
        f"{tenants.api}/v1/events", params={name: value}, headers=bearer(tenants.a), timeout=10
    )
    error = assert_json_error(response, 400, "request.invalid")
    assert error["field"] == name
