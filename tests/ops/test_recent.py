"""The last hour of answered requests: kept in order, older ones dropped, bounded in number."""

from __future__ import annotations

from bakusoku.ops.recent import KEPT_SECONDS, RecentRequests


def test_requests_of_the_last_hour_are_kept_and_older_ones_dropped() -> None:
    recent = RecentRequests()
    recent.record("/v1/photos", 200, 0.01, at=1000.0)
    recent.record("/v1/uploads", 201, 0.02, at=1000.0 + KEPT_SECONDS / 2)
    recent.record("/v1/photos", 500, 0.5, at=1000.0 + KEPT_SECONDS + 1)
    kept = recent.since(0)
    assert [(r.route, r.status) for r in kept] == [("/v1/uploads", 201), ("/v1/photos", 500)]
    assert [r.status for r in recent.since(1000.0 + KEPT_SECONDS)] == [500]


def test_at_most_capacity_requests_are_kept() -> None:
    recent = RecentRequests(capacity=3)
    for index in range(5):
        recent.record("/healthz", 200, 0.001, at=float(index))
    assert [r.at for r in recent.since(0)] == [2.0, 3.0, 4.0]
