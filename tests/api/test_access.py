"""Who is calling, on a real server: one Authorization header names one caller; a request with
two is refused whole, whichever of them a proxy in front would have read."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import Bounded

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("second", ["another key", "the same key", "no key"])
def test_a_request_with_two_authorization_headers_is_refused(bounded: Bounded, second: str) -> None:
    other = {
        "another key": bounded.sports_viewer,
        "the same key": bounded.key,
        "no key": "",
    }[second]
    response = httpx.get(
        f"{bounded.api}/v1/whoami",
        headers=[
            ("Authorization", f"Bearer {bounded.key}"),
            ("Authorization", f"Bearer {other}".strip()),
        ],
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == "request.malformed", error
    assert "Authorization" in error["message"] and "one" in error["message"], error
    assert bounded.key.split("_", 2)[2] not in response.text


def test_one_authorization_header_still_names_the_caller(bounded: Bounded) -> None:
    response = httpx.get(
        f"{bounded.api}/v1/whoami", headers={"Authorization": f"Bearer {bounded.sports_viewer}"}
    )
    assert response.status_code == 200 and response.json()["albums"] == ["sports"]
