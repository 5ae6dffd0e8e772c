"""Upload requests on a real server: sizes are JSON integers, never strings or booleans."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import Bounded

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("field", "value"),
    [("size", "100"), ("size", True), ("size", 100.5), ("expires_in", "600"), ("album", 7)],
)
def test_a_value_of_the_wrong_json_type_is_refused(
    bounded: Bounded, field: str, value: Any
) -> None:
    body = {"filename": "a.jpg", "content_type": "image/jpeg", "size": 100, "album": "sports"}
    response = httpx.post(
        f"{bounded.api}/v1/uploads",
        json={**body, field: value},
        headers={"Authorization": f"Bearer {bounded.key}"},
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("request.invalid", field)
