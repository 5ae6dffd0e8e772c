"""What error messages may repeat: values of the expected shape, never anything like a key."""

from __future__ import annotations

import uuid

from bakusoku.api.quoting import EXECUTION_NAME, PHOTO_ID, REDACTED, redact, repeatable
from bakusoku.auth.admin_token import ADMIN_TOKEN_PREFIX
from bakusoku.auth.keys import KEY_PREFIX

KEY = f"{KEY_PREFIX}0123456789ab_{'x' * 43}"
ADMIN = f"{ADMIN_TOKEN_PREFIX}{'y' * 43}"


def test_only_values_of_the_expected_shape_are_repeated() -> None:
    photo_id = str(uuid.uuid4())
    assert repeatable(photo_id, PHOTO_ID)
    assert repeatable("IMG_0001-jpg-3f2a9c", EXECUTION_NAME)
    for pasted in (KEY, ADMIN, KEY.upper(), "x" * 81, "a b", photo_id + "/"):
        assert not repeatable(pasted, EXECUTION_NAME), pasted
        assert not repeatable(pasted, PHOTO_ID), pasted


def test_keys_and_the_callers_token_are_redacted_anywhere_in_a_message() -> None:
    custom = "a-custom-admin-token-of-any-shape-0123"
    text = f"field {KEY}: bad; also {ADMIN} and {custom}"
    redacted = redact(text, custom)
    assert KEY not in redacted and ADMIN not in redacted and custom not in redacted
    assert redacted.count(REDACTED) == 3
    assert redact("nothing secret here", None) == "nothing secret here"
