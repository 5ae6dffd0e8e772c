"""Face search on real photographs available offline: accuracy, recall, and what it costs.

Photographs (no network needed):

- ``tests/faces/images``: Barack Obama (3 photos) and Joe Biden (1), from the test images of the
  ``face_recognition`` 1.3.0 sdist on PyPI (MIT; official portraits, US government works);
- ``--astronaut PATH``: scikit-image's ``skimage/data/astronaut.png`` (Eileen Collins, NASA, public
  domain), e.g. unzipped from the scikit-image wheel; used when given or when skimage is installed.

Each photo also gives variants a camera or a phone makes of one scene (mirror, 60 % size, darker,
brighter, JPEG q40, tilted 8 degrees, shifted crop); every variant goes through the pipeline's
own path (``render_photo`` with MTCNN and ``crop_faces``, then the dlib embedder).

Reported:

- pair accuracy at the threshold (distance 0.6 = similarity 0.8), over every pair of photo
  variants, and separately over pairs of distinct photographs only (variants of one photograph
  are easy same-person pairs);
- search: an album of every variant of every photo but the reference's own; for each distinct
  photograph as the reference, recall@10 (of that person's photos in the album) and the precision
  of what the search answers (at or above the threshold);
- cost per photo: the pipeline's render with detection but no face cuts (the baseline, measured
  in the same run) against the same call with ``crop_faces`` (one decode, one detection), and the
  embedding per face; a reference photo's search end to end;
- search p50/p99 at 5,000 faces in SQLite (the album's change check + numpy on its kept vectors),
  against the numpy arithmetic alone on the same vectors.

Wall-clock and CPU times are both printed: on a shared machine the CPU time of the timed thread
is what one core would take; the load average at the end says how shared it was.

    python bench/faces.py [--runs 200] [--astronaut PATH]

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bakusoku.config import Settings  # noqa: E402
from bakusoku.db.engine import create_db_engine  # noqa: E402
from bakusoku.db.faces import FaceRow  # noqa: E402
from bakusoku.faces.embedding import (  # noqa: E402
    SAME_PERSON_DISTANCE,
    distances,
    load_embedder,
    similarity,
    to_bytes,
)
from bakusoku.faces.port import MATCH_THRESHOLD, AlbumRef  # noqa: E402
from bakusoku.faces.search import QUERY_LIMIT  # noqa: E402
from bakusoku.faces.service import FaceService  # noqa: E402
from bakusoku.imaging import load_face_detector, render_photo  # noqa: E402
from bakusoku.imaging.renditions import DEFAULT_SPECS  # noqa: E402
from tests.schema import create_schema  # noqa: E402

IMAGES = ROOT / "tests" / "faces" / "images"
PEOPLE = {"obama": "obama", "obama2": "obama", "obama3": "obama", "biden": "biden"}


def variants(image: Image.Image) -> dict[str, Image.Image]:
    w, h = image.size
    return {
        "original": image,
        "mirror": image.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
        "small": image.resize((round(w * 0.6), round(h * 0.6)), Image.Resampling.LANCZOS),
        "dark": ImageEnhance.Brightness(image).enhance(0.6),
        "bright": ImageEnhance.Brightness(image).enhance(1.35),
        "q40": Image.open(io.BytesIO(jpeg(image, 40))),
        "tilted": image.rotate(8, resample=Image.Resampling.BICUBIC, expand=False),
        "shifted": image.crop((round(w * 0.08), round(h * 0.05), w, h)),
    }


def jpeg(image: Image.Image, quality: int = 92) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def photos(astronaut: Path | None) -> dict[str, tuple[str, bytes]]:
    found = {name: (PEOPLE[name], (IMAGES / f"{name}.jpg").read_bytes()) for name in PEOPLE}
    if astronaut is None:
        try:
            import skimage  # type: ignore[import-not-found]

            astronaut = Path(skimage.__file__).parent / "data" / "astronaut.png"
        except ImportError:
            pass
    if astronaut is not None and astronaut.exists():
        found["astronaut"] = ("collins", jpeg(Image.open(astronaut)))
    return found


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200, help="searches timed at 5,000 faces")
    parser.add_argument("--astronaut", type=Path, default=None)
    args = parser.parse_args()
    detector, embedder = load_face_detector(), load_embedder()
    if detector is None or embedder is None:
        raise SystemExit("install the 'faces' extra: pip install -e '.[faces]'")

    # ---- every variant through the pipeline's path: detect, cut, embed ----------------------
    originals = photos(args.astronaut)
    people: list[str] = []
    sources: list[str] = []
    vectors: list[np.ndarray] = []
    render_plain, render_cut, embed_times, embed_cpu = [], [], [], []
    render_plain_cpu, render_cut_cpu = [], []
    missed = 0
    for name, (person, data) in originals.items():
        base = Image.open(io.BytesIO(data))
        for variant, image in variants(base).items():
            encoded = jpeg(image)
            t, c = time.perf_counter(), time.process_time()
            render_photo(encoded, DEFAULT_SPECS, detector=detector)
            render_plain.append(time.perf_counter() - t)
            render_plain_cpu.append(time.process_time() - c)
            t, c = time.perf_counter(), time.process_time()
            result = render_photo(encoded, DEFAULT_SPECS, detector=detector, crop_faces=True)
            render_cut.append(time.perf_counter() - t)
            render_cut_cpu.append(time.process_time() - c)
            cuts = [c for c in result.face_crops if c[1] is not None]
            if not cuts:
                missed += 1
                continue
            _box, cut = max(cuts, key=lambda c: (c[0][2] - c[0][0]) * (c[0][3] - c[0][1]))
            t, c = time.perf_counter(), time.thread_time()
            vectors.append(embedder.embed(cut or b""))
            embed_times.append(time.perf_counter() - t)
            embed_cpu.append(time.thread_time() - c)
            people.append(person)
            sources.append(f"{name}:{variant}")

    # ---- pair accuracy at the threshold --------------------------------------------------------
    def pairs(distinct_only: bool) -> dict[str, float]:
        right = same = diff = same_ok = diff_ok = 0
        worst_same, best_diff = 0.0, 9.0
        for i, j in itertools.combinations(range(len(vectors)), 2):
            a, b = sources[i].split(":"), sources[j].split(":")
            if distinct_only and (a[0] == b[0] or a[1] != "original" or b[1] != "original"):
                continue
            if not distinct_only and a[0] == b[0] and a[1] == b[1]:
                continue
            d = float(np.linalg.norm(vectors[i] - vectors[j]))
            is_same = people[i] == people[j]
            ok = (d < SAME_PERSON_DISTANCE) == is_same
            right += ok
            if is_same:
                same += 1
                same_ok += ok
                worst_same = max(worst_same, d)
            else:
                diff += 1
                diff_ok += ok
                best_diff = min(best_diff, d)
        total = same + diff
        return {
            "pairs": total,
            "same_pairs": same,
            "different_pairs": diff,
            "accuracy": round(right / total, 4) if total else float("nan"),
            "largest_same_distance": round(worst_same, 3),
            "smallest_different_distance": round(best_diff, 3),
        }

    all_pairs, distinct_pairs = pairs(False), pairs(True)

    # ---- search within an album: recall@10 and precision --------------------------------------
    matrix = np.stack(vectors)
    recalls, precisions = [], []
    for q, source in enumerate(sources):
        name, variant = source.split(":")
        if variant != "original":
            continue
        album = [i for i, s in enumerate(sources) if s.split(":")[0] != name]
        sims = similarity(distances(matrix[album], matrix[q]))
        order = np.argsort(-sims)
        relevant = {i for i in album if people[i] == people[q]}
        if not relevant:
            continue
        top = [album[k] for k in order[:10]]
        recalls.append(len(relevant & set(top)) / min(10, len(relevant)))
        answered = [album[k] for k in order if sims[k] >= MATCH_THRESHOLD]
        precisions.append(len(relevant & set(answered)) / len(answered) if answered else 1.0)

    # ---- search at 5,000 faces through the repository -----------------------------------------
    with tempfile.TemporaryDirectory() as folder:
        engine = create_db_engine(f"sqlite:///{folder}/faces.db")
        create_schema(engine)
        service = FaceService(Settings(face_index="embedded"), engine)
        album = AlbumRef("bench", "album")
        rng = np.random.default_rng(7)
        # Real vectors, each repeated with noise of a same-person spread: 5,000 faces in all.
        fake = matrix[rng.integers(0, len(matrix), 5000)] + rng.normal(0, 0.03, (5000, 128))
        rows_by_photo: dict[str, list[FaceRow]] = {}
        for n, v in enumerate(fake.astype(np.float32)):
            photo_id = f"p{n // 2:05d}"  # two faces a photo: 2,500 photos
            rows_by_photo.setdefault(photo_id, []).append(
                FaceRow(f"f{n:05d}", photo_id, (0, 0, 100, 100), True, to_bytes(v))
            )
        for photo_id, rows in rows_by_photo.items():
            service.faces.replace_photo_faces(album.service, album.album, photo_id, rows)
        index = service.require_index()
        search_times, search_cpu, numpy_times = [], [], []
        index.search_by_faces(
            album, ["f00000"], limit=QUERY_LIMIT
        )  # the album's vectors are read once
        for _ in range(args.runs):
            t, c = time.perf_counter(), time.thread_time()
            index.search_by_faces(album, ["f00000"], limit=QUERY_LIMIT)
            search_times.append(time.perf_counter() - t)
            search_cpu.append(time.thread_time() - c)
            t = time.perf_counter()
            similarity(distances(fake.astype(np.float32), fake[0].astype(np.float32)))
            numpy_times.append(time.perf_counter() - t)
        reference = originals["obama3"][1]
        whole = []
        for _ in range(5):
            t = time.perf_counter()
            service.find_child(album, [reference])
            whole.append(time.perf_counter() - t)
        engine.dispose()

    def p99(samples: list[float]) -> float:
        return round(float(np.percentile(samples, 99)) * 1000, 2)

    figures = {
        "photos": len(originals),
        "people": len(set(p for p, _ in originals.values())),
        "variants_embedded": len(vectors),
        "variants_without_a_matchable_face": missed,
        "threshold_distance": SAME_PERSON_DISTANCE,
        "pairs_all_variants": all_pairs,
        "pairs_distinct_photographs": distinct_pairs,
        "recall_at_10": round(statistics.mean(recalls), 4) if recalls else None,
        "precision": round(statistics.mean(precisions), 4) if precisions else None,
        "render_without_face_cuts_ms": median_ms(render_plain),
        "render_with_face_cuts_ms": median_ms(render_cut),
        "face_cuts_ratio": round(
            statistics.median(render_cut) / statistics.median(render_plain), 3
        ),
        "render_cpu_without_face_cuts_ms": median_ms(render_plain_cpu),
        "render_cpu_with_face_cuts_ms": median_ms(render_cut_cpu),
        "embed_per_face_ms": median_ms(embed_times),
        "embed_per_face_cpu_ms": median_ms(embed_cpu),
        "search_5000_faces_p50_ms": median_ms(search_times),
        "search_5000_faces_p99_ms": p99(search_times),
        "search_5000_faces_cpu_p50_ms": median_ms(search_cpu),
        "search_5000_faces_cpu_p99_ms": p99(search_cpu),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "numpy_5000_faces_p50_ms": median_ms(numpy_times),
        "search_ratio_to_numpy": round(
            statistics.median(search_times) / statistics.median(numpy_times), 1
        ),
        "find_child_one_reference_5000_faces_ms": median_ms(whole),
    }
    print(
        f"photos {figures['photos']} of {figures['people']} people, {len(vectors)} variants embedded"
    )
    for label in ("pairs_all_variants", "pairs_distinct_photographs"):
        print(f"{label}: {figures[label]}")
    print(f"search recall@10 {figures['recall_at_10']}, precision {figures['precision']}")
    print(
        f"render {figures['render_without_face_cuts_ms']} ms -> with face cuts "
        f"{figures['render_with_face_cuts_ms']} ms ({figures['face_cuts_ratio']}x); "
        f"embed {figures['embed_per_face_ms']} ms a face (CPU {figures['embed_per_face_cpu_ms']} ms)"
    )
    print(
        f"search at 5,000 faces p50 {figures['search_5000_faces_p50_ms']} ms, p99 "
        f"{figures['search_5000_faces_p99_ms']} ms (numpy alone {figures['numpy_5000_faces_p50_ms']} ms,"
        f" {figures['search_ratio_to_numpy']}x; CPU p99 {figures['search_5000_faces_cpu_p99_ms']} ms);"
        f" find-child with one reference "
        f"{figures['find_child_one_reference_5000_faces_ms']} ms"
    )
    print(
        f"load average (1 min) at the end: {figures['load_average_1m']} on {os.cpu_count()} cores"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
