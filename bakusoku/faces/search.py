"""Find my child: the album's photos in which the child of 1-3 reference photos appears, best first.

Session-agnostic and plain: staff routes and parent sessions call :func:`find_child` with the album
they may see, the reference photos' bytes (never stored), and the faces the person already confirmed
or rejected. The answer is ranked candidates for a person to confirm, never automatic tagging.

The maths, each a pure function tested on its own:

- every query (a reference photo, or the confirmed faces) scores every face of the album; a face's
  score is its best over the queries (:func:`merge_queries`): a child is recognised by whichever
  reference resembles that photo most;
- rejected faces are dropped; confirmed faces count as certain;
- two faces of one photo are never the same child: a photo counts only through its best-matching
  face (:func:`best_face_per_photo`), and that face's box is what the answer shows;
- photos with a face staff marked "do not publish" are never answered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bakusoku.db.faces import FaceRepository
from bakusoku.faces.port import MATCH_THRESHOLD, AlbumRef, Box, FaceIndex, FaceMatch
from bakusoku.imaging.decode import probe
from bakusoku.imaging.errors import ImageTooLargeError

MAX_REFERENCES = 3
# Every search decodes each reference photo, and a few kilobytes of PNG can declare 100 MP: a
# photo of a child's face needs far less (pages send 1600 px, a phone's photo is 12 MP).
REFERENCE_MAX_PIXELS = 25_000_000
# How many faces one query may answer: more than an album of 3,000 photos has faces of one child
# (Rekognition's SearchFaces answers at most 4,096).
QUERY_LIMIT = 1000


@dataclass(frozen=True)
class PhotoHit:
    """A photo in which the child appears: through ``face_id`` at ``box``, with ``confidence``."""

    photo_id: str
    face_id: str
    confidence: float
    box: Box


def merge_queries(results: Iterable[Sequence[FaceMatch]]) -> dict[str, FaceMatch]:
    """Each face's best match over several queries, by face id."""
    best: dict[str, FaceMatch] = {}
    for matches in results:
        for match in matches:
            known = best.get(match.face_id)
            if known is None or match.similarity > known.similarity:
                best[match.face_id] = match
    return best


def best_face_per_photo(matches: Iterable[FaceMatch]) -> list[FaceMatch]:
    """One match per photo, its best face (ties: the smaller face id), best photo first."""
    best: dict[str, FaceMatch] = {}
    for match in matches:
        known = best.get(match.photo_id)
        if known is None or (match.similarity, known.face_id) > (known.similarity, match.face_id):
            best[match.photo_id] = match
    return sorted(best.values(), key=lambda m: (-m.similarity, m.photo_id))


def rank(
    merged: Mapping[str, FaceMatch],
    *,
    confirmed: Mapping[str, str] | None = None,
    rejected: Iterable[str] = (),
    hidden_photos: Iterable[str] = (),
    threshold: float = MATCH_THRESHOLD,
) -> list[FaceMatch]:
    """The photos to answer: matches at or above ``threshold`` and the ``confirmed`` faces (face id
    → photo id, certain), less ``rejected`` faces and ``hidden_photos``, one face per photo."""
    no = set(rejected)
    hidden = set(hidden_photos)
    kept = [m for m in merged.values() if m.similarity >= threshold and m.face_id not in no]
    kept += [FaceMatch(f, p, 1.0) for f, p in (confirmed or {}).items() if f not in no]
    return [m for m in best_face_per_photo(kept) if m.photo_id not in hidden]


def check_reference(image: bytes) -> None:
    """Refuse a reference photo from its header alone, before any search decodes it: one that
    declares more than :data:`REFERENCE_MAX_PIXELS` (ImageTooLargeError), or that is no photo
    we can read (its ImageError)."""
    try:
        probe(image, max_pixels=REFERENCE_MAX_PIXELS)
    except ImageTooLargeError:
        raise ImageTooLargeError(
            f"this photo has more than {REFERENCE_MAX_PIXELS // 1_000_000} megapixels: send a"
            " smaller copy (1600 pixels on the long edge is plenty to find a face)"
        ) from None


def find_child(
    index: FaceIndex,
    faces: FaceRepository,
    album: AlbumRef,
    references: Sequence[bytes],
    *,
    confirmed: Sequence[str] = (),
    rejected: Sequence[str] = (),
    threshold: float = MATCH_THRESHOLD,
    limit: int | None = None,
) -> list[PhotoHit]:
    """The album's publishable photos showing the child, best first (see the module's rules).

    ``references``: 1-3 photos' bytes (NoFaceError if one shows no usable face); may be empty
    when ``confirmed`` is not. Face ids of another album are ignored, never matched.
    """
    if len(references) > MAX_REFERENCES:
        raise ValueError(f"give at most {MAX_REFERENCES} reference photos")
    for image in references:
        check_reference(image)
    hidden = faces.unpublishable_photo_ids(album.service, album.album)
    known = {f.face_id: f for f in faces.find(album.service, album.album, [*confirmed])}
    if not references and not known:
        raise ValueError("give at least one reference photo or one confirmed face of this album")
    results = [index.search_by_image(album, image, limit=QUERY_LIMIT) for image in references]
    if known:
        results.append(index.search_by_faces(album, list(known), limit=QUERY_LIMIT))
    ranked = rank(
        merge_queries(results),
        confirmed={f.face_id: f.photo_id for f in known.values()},
        rejected=rejected,
        hidden_photos=hidden,
        threshold=threshold,
    )[:limit]
    boxes = {
        f.face_id: f.box
        for f in faces.find(album.service, album.album, [m.face_id for m in ranked])
    }
    return [
        PhotoHit(m.photo_id, m.face_id, round(m.similarity, 4), boxes[m.face_id])
        for m in ranked
        if m.face_id in boxes  # a face erased meanwhile is not answered
    ]
