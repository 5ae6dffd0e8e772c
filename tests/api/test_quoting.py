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


def test_parent_sessions_album_codes_and_runner_tokens_are_redacted_too() -> None:
    session = "bkp_800fda9d6eda9458ff_TIh4KEB5k2mpkba_062tNQXj3jYIcvKgCyakidMhMyQ"
    code = "DZ3S-F3T5-ZJJJ"
    runner = "eyJzIjoic2Nob29sLWEiLCJhIjoibTEiLCJiIjoiMSJ9.abcdefghijklmnopqrstuvwx"
    for pasted in (session, code, runner):
        assert redact(f"no photo {pasted!r} here") == f"no photo '{REDACTED}' here", pasted
        assert not repeatable(pasted, EXECUTION_NAME), pasted
    # names and ids that merely look alike stay as they are
    photo_id = "0b8e4c52-2d5f-8a3e-9c3b-2d5f8a1e7b90"  # a UUID's middle is code-shaped
    for kept in (photo_id, "race-team-west", "marathon-1a2b3c4d", "1432"):
        assert redact(f"album {kept}") == f"album {kept}", kept


# A secret as keys, admin tokens and sessions have them (base64url of 32 random bytes).
SECRET = "EG1yoUKxcKJo0MOBXyK1I6N1C0Depz9_iSQU11Luntw"


def test_a_secret_without_its_prefix_is_redacted_and_never_repeated() -> None:
    for pasted in (SECRET, f"0123456789ab_{SECRET}", f"800fda9d6eda9458ff_{SECRET}"):
        assert redact(f"execution {pasted!r} does not exist") == (
            f"execution '{REDACTED}' does not exist"
        ), pasted
        assert not repeatable(pasted, EXECUTION_NAME), pasted
    # names of another length, or of one case, as executions and albums have them, stay
    digest = "3f2a9c" * 6 + "0123"
    relay = "Sports-Day-2026-Class-B-Relay-Heats-Finals-A"
    for kept in (f"IMG_0001-jpg-{digest}", "a" * 43, "A" * 43, relay, relay[:42], digest):
        assert redact(f"execution {kept!r}") == f"execution {kept!r}", kept
        assert repeatable(kept, EXECUTION_NAME), kept


def test_any_part_of_a_credential_is_redacted_however_it_is_cut() -> None:
    header = f"Bearer {KEY_PREFIX}0123456789ab_{SECRET}"
    for pasted in (SECRET, SECRET[:8], SECRET[5:30], f"{SECRET[:12]}/{SECRET[20:]}"):
        redacted = redact(f"execution {pasted!r} does not exist", header)
        assert "'[redacted]" in redacted and SECRET[:8] not in redacted, redacted
        for i in range(len(SECRET) - 8):
            assert SECRET[i : i + 8] not in redacted, redacted
    # shorter runs are words by chance, and the scheme is no secret
    assert redact(f"album {SECRET[:7]!r}", header) == f"album {SECRET[:7]!r}"
    asked = "send 'Authorization: Bearer <key>'"
    assert redact(asked, header) == asked
