"""The request id a client sends: taken when short and plain, never when it holds a credential."""

from __future__ import annotations

import re

from bakusoku.api.quoting import holds_secret
from bakusoku.ops.middleware import request_id

SECRET = "EG1yoUKxcKJo0MOBXyK1I6N1C0Depz9_iSQU11Luntw"
KEY = f"bks_0123456789ab_{SECRET}"
AUTHORIZATION = f"Bearer {KEY}"
NEW = re.compile(r"[0-9a-f]{32}")


def test_a_short_plain_request_id_is_taken() -> None:
    for given in ("req-sports", "1-5759e988-bd862e3fe1be46a994272793", "a.b_c-d", "x" * 64):
        assert request_id(given, AUTHORIZATION, holds_secret) == given


def test_a_request_id_holding_a_credential_is_replaced_by_a_new_one() -> None:
    another = "bks_ba9876543210_" + SECRET[::-1]
    for given in (
        KEY,  # the caller's key
        SECRET,  # its secret alone
        f"req-{SECRET[:12]}",  # a part of it
        another,  # another key
        another.split("_", 2)[2],  # another key's secret
        "bka_" + "t" * 40,  # an admin token
        "DZ3S-F3T5-ZJJJ",  # an album code
    ):
        taken = request_id(given, AUTHORIZATION, holds_secret)
        assert NEW.fullmatch(taken), (given, taken)


def test_a_request_id_that_is_not_plain_is_replaced_by_a_new_one() -> None:
    for given in ("", "x" * 65, "a b", "a/b", "é", "id\r\nX-Injected: 1"):
        assert NEW.fullmatch(request_id(given, "", holds_secret)), given
    first, second = (request_id("", "", holds_secret) for _ in range(2))
    assert first != second
