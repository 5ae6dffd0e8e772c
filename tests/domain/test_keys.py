"""The object key layout: upload keys and the photo they belong to."""

from bakusoku.domain.keys import photo_ref, upload_key


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
