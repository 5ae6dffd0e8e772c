"""Bib numbers read from race photos: right, wrong and unread, and what a photo costs.

Photos are drawn by ``bench/bib_photos.py`` (12 MP, one to three runners each, bibs turned up to
±15°, tilted, out of focus up to a 2.5 px blur, a third of them partly covered by an arm; a
finish banner with the year and a race clock in every photo), from a fixed seed. Each photo goes
through what ReadBibs does: its 1600 px preview (made here as MakeRenditions makes it, from the
decode) is decoded, the engine finds and reads its lines (``bakusoku.imaging.text``), and the
rules of ``bakusoku.races.bibs`` keep what is on the entry list, with a confidence.

For each threshold, over every bib the photos truly show:

- ``right``: the bib was recorded at that confidence or more (also given over the bibs whose
  every digit is in view: an arm that hides a digit leaves a number no one can be sure of);
- ``unread``: it was not (the photo goes to staff, "bib unknown", if none of its bibs was);
- ``wrong``: a bib recorded at that confidence that the photo does not show, as a share of all
  bibs recorded at that confidence (each one sends a photo to a stranger).

Read right is also given by how much of its worst-covered digit an arm hides (the share of the
digit's ink, from the drawn card's pixels): none, under half, half or more, wholly (90 % or more:
no reader can honestly read such a bib).

Cost: CPU milliseconds per photo on one core (onnxruntime on one thread), median over the photos:
the preview's decode, detection, recognition and the rules. The baseline, measured in the same
run on the first ``--baseline`` photos: the stock RapidOCR pipeline (detection at its default
size, angle classifier, every line read) on the same preview.

    python bench/bibs.py [--photos 120] [--seed 1] [--edge 640] [--baseline 5]

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bib_photos import BibPhoto, entry_list, photo_set

from bakusoku.imaging.text import TextReader, load_text_reader
from bakusoku.races.bibs import DEFAULT_MIN_CONFIDENCE, MAX_ASPECT, Entrants, sightings
from bakusoku.races.repository import BibSighting

PREVIEW_EDGE = 1600
THRESHOLDS = (0.5, 0.7, 0.8, 0.9, 0.95)


def preview_of(photo: BibPhoto) -> bytes:
    """The preview rendition as MakeRenditions makes it: long edge 1600 px, JPEG q85."""
    with Image.open(io.BytesIO(photo.jpeg)) as image:
        image.draft("RGB", (PREVIEW_EDGE * 2, PREVIEW_EDGE * 2))
        image.thumbnail((PREVIEW_EDGE, PREVIEW_EDGE), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        image.convert("RGB").save(out, "JPEG", quality=85)
    return out.getvalue()


def read(reader: TextReader, preview: bytes, entrants: Entrants) -> tuple[list[BibSighting], float]:
    started = time.process_time()
    with Image.open(io.BytesIO(preview)) as image:
        lines = reader.lines(image.convert("RGB"), max_aspect=MAX_ASPECT)
    found = sightings(lines, entrants)
    return found, (time.process_time() - started) * 1000


def stock(preview: bytes) -> float:
    """CPU ms of the stock RapidOCR pipeline on the preview."""
    import numpy as np
    from rapidocr_onnxruntime import RapidOCR

    engine = _stock_engine(RapidOCR)
    with Image.open(io.BytesIO(preview)) as image:
        pixels = np.asarray(image.convert("RGB"))[:, :, ::-1]
    started = time.process_time()
    engine(pixels)
    return (time.process_time() - started) * 1000


_ENGINES: dict[str, object] = {}


def _stock_engine(factory: type) -> object:
    if "stock" not in _ENGINES:
        _ENGINES["stock"] = factory(intra_op_num_threads=1, inter_op_num_threads=1)
    return _ENGINES["stock"]


def scores(
    photos: list[BibPhoto], found: list[list[BibSighting]], threshold: float
) -> dict[str, float]:
    truth = sum(len(p.bibs) for p in photos)
    readable = truth - sum(len(p.hidden) for p in photos)
    right = wrong = recorded = unknown = readable_right = 0
    for photo, seen in zip(photos, found, strict=True):
        kept = {s.bib for s in seen if s.confidence >= threshold}
        recorded += len(kept)
        right += len(kept & set(photo.bibs))
        readable_right += len(kept & (set(photo.bibs) - set(photo.hidden)))
        wrong += len(kept - set(photo.bibs))
        unknown += not kept
    return {
        "threshold": threshold,
        "right": round(right / truth, 4),
        "unread": round((truth - right) / truth, 4),
        "right_readable": round(readable_right / max(readable, 1), 4),
        "wrong": round(wrong / max(recorded, 1), 4),
        "wrong_count": wrong,
        "bib_unknown_photos": round(unknown / len(photos), 4),
    }


def by_condition(
    photos: list[BibPhoto], found: list[list[BibSighting]], threshold: float
) -> dict[str, float]:
    """Share read right among bibs with a digit hidden, covered ones whose digits all show,
    bibs in blurred photos (>= 1.5 px) and the rest."""
    groups: dict[str, list[bool]] = {"hidden": [], "covered": [], "blurred": [], "clear": []}
    for photo, seen in zip(photos, found, strict=True):
        kept = {s.bib for s in seen if s.confidence >= threshold}
        for bib in photo.bibs:
            group = (
                "hidden"
                if bib in photo.hidden
                else "covered"
                if bib in photo.covered
                else "blurred"
                if photo.blur >= 1.5
                else "clear"
            )
            groups[group].append(bib in kept)
    return {g: round(sum(v) / len(v), 4) if v else 0.0 for g, v in groups.items()}


# A digit with this share of its ink or more under an arm is wholly hidden.
WHOLLY = 0.9
INK_GROUPS = ("none", "under half", "half or more", "wholly")


def ink_group(hidden: float) -> str:
    """The group of a bib whose worst-covered digit has ``hidden`` of its ink under an arm."""
    if hidden <= 0.0:
        return "none"
    if hidden < 0.5:
        return "under half"
    return "half or more" if hidden < WHOLLY else "wholly"


def by_digit_hidden(
    photos: list[BibPhoto], found: list[list[BibSighting]], threshold: float
) -> dict[str, dict[str, float]]:
    """Bibs grouped by the largest share of one digit's ink an arm hides (measured on the drawn
    card's pixels): how many, and the share read right. A digit ``wholly`` hidden is one no
    reader can honestly read."""
    groups: dict[str, list[bool]] = {name: [] for name in INK_GROUPS}
    for photo, seen in zip(photos, found, strict=True):
        kept = {s.bib for s in seen if s.confidence >= threshold}
        for bib in photo.bibs:
            groups[ink_group(photo.digit_hidden.get(bib, 0.0))].append(bib in kept)
    return {
        name: {"bibs": len(v), "right": round(sum(v) / len(v), 4) if v else 0.0}
        for name, v in groups.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=120)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--edge", type=int, default=0, help="detection edge (default: the module's)"
    )
    parser.add_argument("--baseline", type=int, default=5)
    args = parser.parse_args()
    reader = load_text_reader()
    if reader is None:
        sys.exit("the bibs extra is not installed: pip install -e '.[bibs]'")
    if args.edge:
        reader = reader.with_detection_edge(args.edge)
    entrants = Entrants(entry_list())
    photos = photo_set(args.photos, seed=args.seed)
    previews = [preview_of(p) for p in photos]
    read(reader, previews[0], entrants)  # load and warm the sessions
    found, costs = [], []
    for preview in previews:
        seen, cost = read(reader, preview, entrants)
        found.append(seen)
        costs.append(cost)
    baseline = [stock(p) for p in previews[: args.baseline]]
    ours = statistics.median(costs)
    ours_same = statistics.median(costs[: args.baseline]) if baseline else ours
    rows = [scores(photos, found, t) for t in THRESHOLDS]
    for row in rows:
        print(
            f"confidence >= {row['threshold']:.2f}: right {row['right']:.1%} "
            f"(of bibs with every digit in view {row['right_readable']:.1%})  unread "
            f"{row['unread']:.1%}  wrong {row['wrong']:.2%} ({row['wrong_count']})  "
            f"bib-unknown photos {row['bib_unknown_photos']:.1%}"
        )
    for photo, seen in zip(photos, found, strict=True):
        for s in seen:
            if s.confidence >= DEFAULT_MIN_CONFIDENCE and s.bib not in photo.bibs:
                print(
                    f"wrong at the default: read {s.bib} ({s.confidence:.3f}) in a photo of "
                    f"{photo.bibs}, covered {photo.covered}, hidden digit {photo.hidden}"
                )
    conditions = by_condition(photos, found, DEFAULT_MIN_CONFIDENCE)
    print(f"read right at the default, by condition: {conditions}")
    ink = by_digit_hidden(photos, found, DEFAULT_MIN_CONFIDENCE)
    print(f"by the share of a digit's ink an arm hides: {ink}")
    print(
        f"cost per photo: median {ours:.0f} ms, p90 {sorted(costs)[int(len(costs) * 0.9)]:.0f} ms"
    )
    if baseline:
        print(
            f"stock RapidOCR on the same previews: median {statistics.median(baseline):.0f} ms "
            f"({statistics.median(baseline) / ours_same:.1f}x ours on those photos)"
        )
    default = next(r for r in rows if r["threshold"] == DEFAULT_MIN_CONFIDENCE)
    print(
        json.dumps(
            {
                "photos": len(photos),
                "bibs": sum(len(p.bibs) for p in photos),
                "default_confidence": DEFAULT_MIN_CONFIDENCE,
                "right": default["right"],
                "right_readable": default["right_readable"],
                "wrong": default["wrong"],
                "unread": default["unread"],
                "by_condition": conditions,
                "by_digit_hidden": ink,
                "thresholds": rows,
                "ms_per_photo": round(ours, 1),
                "stock_ms_per_photo": round(statistics.median(baseline), 1) if baseline else None,
                "stock_ratio": round(statistics.median(baseline) / ours_same, 2)
                if baseline
                else None,
            }
        )
    )


if __name__ == "__main__":
    main()
