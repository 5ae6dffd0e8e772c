"""Search maths: each face's best over queries, one face per photo, exclusions, confirmations."""

from __future__ import annotations

import numpy as np
import pytest

from bakusoku.faces.embedding import SAME_PERSON_DISTANCE, similarity
from bakusoku.faces.port import MATCH_THRESHOLD, FaceMatch
from bakusoku.faces.search import best_face_per_photo, merge_queries, rank


def m(face: str, photo: str, sim: float) -> FaceMatch:
    return FaceMatch(face, photo, sim)


def test_several_queries_keep_each_faces_best_score() -> None:
    merged = merge_queries(
        [[m("f1", "p1", 0.81), m("f2", "p2", 0.95)], [m("f1", "p1", 0.9), m("f3", "p3", 0.7)]]
    )
    assert {k: v.similarity for k, v in merged.items()} == {"f1": 0.9, "f2": 0.95, "f3": 0.7}


def test_two_faces_of_one_photo_count_once_through_the_better() -> None:
    ranked = best_face_per_photo(
        [m("a", "p1", 0.82), m("b", "p1", 0.93), m("c", "p2", 0.88), m("d", "p3", 0.99)]
    )
    assert [(x.photo_id, x.face_id) for x in ranked] == [("p3", "d"), ("p1", "b"), ("p2", "c")]


def test_ties_within_a_photo_are_decided_the_same_way_every_time() -> None:
    one = best_face_per_photo([m("b", "p1", 0.9), m("a", "p1", 0.9)])
    two = best_face_per_photo([m("a", "p1", 0.9), m("b", "p1", 0.9)])
    assert one == two == [m("a", "p1", 0.9)]


def test_rank_drops_weak_matches_rejected_faces_and_hidden_photos() -> None:
    merged = merge_queries(
        [
            [
                m("strong", "p1", 0.95),
                m("weak", "p2", MATCH_THRESHOLD - 0.01),
                m("edge", "p3", MATCH_THRESHOLD),
                m("rejected", "p4", 0.99),
                m("hidden", "p5", 0.97),
            ]
        ]
    )
    ranked = rank(merged, rejected=["rejected"], hidden_photos=["p5"])
    assert [x.face_id for x in ranked] == ["strong", "edge"]


def test_a_rejected_face_does_not_hide_another_face_of_its_photo() -> None:
    merged = merge_queries([[m("sibling", "p1", 0.97), m("child", "p1", 0.9)]])
    assert [x.face_id for x in rank(merged, rejected=["sibling"])] == ["child"]


def test_confirmed_faces_are_certain_and_rank_first() -> None:
    merged = merge_queries([[m("f1", "p1", 0.85), m("f2", "p2", 0.95)]])
    ranked = rank(merged, confirmed={"f1": "p1", "f9": "p9"})
    assert [(x.photo_id, x.similarity) for x in ranked] == [("p1", 1.0), ("p9", 1.0), ("p2", 0.95)]


def test_distance_maps_to_similarity_with_the_threshold_at_the_ports() -> None:
    d = np.array([0.0, 0.3, SAME_PERSON_DISTANCE, 0.9, 1.2, 2.0])
    s = similarity(d)
    assert s[0] == 1.0 and s[-1] == 0.0 and s[-2] == 0.0
    assert s[2] == pytest.approx(MATCH_THRESHOLD)
    assert list(s) == sorted(s, reverse=True)  # closer is always more similar
