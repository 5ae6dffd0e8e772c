"""Reference photos held in memory: at most three a session, gone when it ends or expires."""

from __future__ import annotations

from bakusoku.api.references import MAX_REFERENCES, ReferencePhotos


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_holds_at_most_three_until_it_is_dropped() -> None:
    held = ReferencePhotos()
    counts = [held.add("s1", bytes([i]), expires_at=2e9) for i in range(MAX_REFERENCES + 1)]
    assert counts == [1, 2, 3, None]
    assert held.get("s1") == [b"\x00", b"\x01", b"\x02"] and held.get("s2") == []
    held.drop("s1")
    assert held.get("s1") == [] and held.sessions() == 0


def test_photos_go_when_their_session_expires() -> None:
    clock = Clock()
    held = ReferencePhotos(clock=clock)
    held.add("short", b"a", expires_at=1010.0)
    held.add("long", b"b", expires_at=2000.0)
    clock.now = 1010.0
    assert held.get("short") == [] and held.get("long") == [b"b"]
    assert held.sessions() == 1


def test_the_least_recently_used_sessions_go_first_when_the_bytes_held_reach_the_cap() -> None:
    # Each session may hold three photos, but sessions are cheap to open: the process holds at
    # most max_bytes of them all, and a session whose photos went sends them again.
    held = ReferencePhotos(max_bytes=10)
    assert held.add("old", b"1234", expires_at=2e9) == 1
    assert held.add("used", b"1234", expires_at=2e9) == 1
    assert held.get("old") == [b"1234"]  # used again: "used" is now the least recent
    assert held.add("new", b"1234", expires_at=2e9) == 1
    assert held.get("used") == [] and held.get("old") == [b"1234"]
    assert held.get("new") == [b"1234"] and held.held_bytes() == 8


def test_a_session_keeps_its_own_photos_whatever_the_cap() -> None:
    held = ReferencePhotos(max_bytes=4)
    held.add("other", b"12", expires_at=2e9)
    assert [held.add("s", b"1234", expires_at=2e9) for _ in range(2)] == [1, 2]
    assert held.get("other") == [] and len(held.get("s")) == 2
    held.drop("s")
    assert held.held_bytes() == 0
