import json

from bakusoku.domain.catalogue import describe_failure
from bakusoku.domain.keys import photo_ref, upload_key


def test_lambda_error_cause_gives_code_and_message() -> None:
    cause = json.dumps(
        {"errorMessage": "the JPEG data ends early", "errorType": "CorruptImageError"}
    )
    assert describe_failure("CorruptImageError", cause) == (
        "image.corrupt",
        "the JPEG data ends early",
    )


def test_throttling_after_retries_explains_what_to_do() -> None:
    code, message = describe_failure("Lambda.TooManyRequestsException", None)
    assert code == "task.throttled"
    assert "re-drive" in message


def test_unknown_error_is_internal_and_names_the_error() -> None:
    code, message = describe_failure("KeyError", "not json")
    assert code == "internal"
    assert message == "not json"


def test_upload_keys_round_trip_to_their_photo() -> None:
    photo_id = "0b7e6f4c-1f7a-4c55-9d51-0a4b6f0e2d11"
    key = upload_key("uploads/", "sports-day", photo_id, "image/jpeg")
    assert key == f"uploads/sports-day/{photo_id}.jpg"
    ref = photo_ref("bakusoku", key, "uploads/")
    assert (ref.photo_id, ref.album) == (photo_id, "sports-day")


def test_foreign_keys_get_a_stable_derived_photo_id() -> None:
    first = photo_ref("bakusoku", "uploads/race/IMG 0001.JPG", "uploads/")
    second = photo_ref("bakusoku", "uploads/race/IMG 0001.JPG", "uploads/")
    assert first == second and first.album == "race"
