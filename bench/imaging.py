"""Rendition job cost on one generated 12 MP JPEG: a naive Pillow recipe vs. ours.

The naive recipe is what a first implementation does: decode at full size, ``exif_transpose``, then
for each output crop/resize the full image with Lanczos and save with ``optimize=True`` (WebP at its
default method 4). Ours is ``render_photo``: one decode (DCT-scaled when only small outputs are
asked for), a resize cascade from large to small with an integer box pre-reduction, and encoder
settings chosen per output. Prints medians of N runs; the last line is one JSON object.

    python bench/imaging.py [--runs 7]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bakusoku.imaging.decode import probe
from bakusoku.imaging.renditions import (
    DEFAULT_SPECS,
    PREVIEW,
    THUMB,
    WEBP_SPECS,
    RenditionSpec,
    render_photo,
)
from bakusoku.imaging.trim import print_crop_box


def photo_like(width: int, height: int) -> Image.Image:
    """Smooth colour fields, mid-scale texture and sensor-like grain: camera-like entropy."""
    coarse = Image.merge(
        "RGB", [Image.effect_noise((width // 64, height // 64), 90) for _ in range(3)]
    ).resize((width, height), Image.Resampling.BICUBIC)
    mid = Image.merge(
        "RGB", [Image.effect_noise((width // 6, height // 6), 60) for _ in range(3)]
    ).resize((width, height), Image.Resampling.BICUBIC)
    grain = Image.effect_noise((width, height), 10).convert("RGB")
    return Image.blend(Image.blend(coarse, mid, 0.4), grain, 0.15)


def camera_jpeg(orientation: int = 1) -> bytes:
    im = photo_like(4000, 3000)
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    im.save(out, "JPEG", quality=93, exif=exif.tobytes())
    return out.getvalue()


def naive(data: bytes, specs: tuple[RenditionSpec, ...]) -> list[bytes]:
    im = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    outputs = []
    for spec in specs:
        out = im.crop(print_crop_box(*im.size)) if spec.crop_to_print else im
        if spec.long_edge is not None and max(out.size) > spec.long_edge:
            scale = spec.long_edge / max(out.size)
            size = (round(out.width * scale), round(out.height * scale))
            out = out.resize(size, Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        if spec.format == "JPEG":
            out.save(buffer, "JPEG", quality=spec.quality, optimize=True)
        else:
            out.save(buffer, "WEBP", quality=spec.quality)
        outputs.append(buffer.getvalue())
    return outputs


def median_ms(job: Callable[[], object], runs: int) -> float:
    job()  # warm caches (ICC profile, codecs, page cache)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        job()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    runs: int = args.runs

    data = camera_jpeg()
    rotated = camera_jpeg(orientation=6)
    all_specs = DEFAULT_SPECS + WEBP_SPECS

    def decode_full() -> None:
        Image.open(io.BytesIO(data)).load()

    def decode_eighth() -> None:
        im = Image.open(io.BytesIO(data))
        im.draft("RGB", (500, 375))
        im.load()

    figures: dict[str, float | int | str] = {
        "image": "4000x3000 JPEG q93",
        "input_bytes": len(data),
        "runs": runs,
        "decode_full_ms": median_ms(decode_full, runs),
        "decode_draft_1_8_ms": median_ms(decode_eighth, runs),
        "probe_header_ms": median_ms(lambda: probe(data), runs),
        "probe_verify_ms": median_ms(lambda: probe(data, verify=True), runs),
        "naive_default_ms": median_ms(lambda: naive(data, DEFAULT_SPECS), runs),
        "ours_default_ms": median_ms(lambda: render_photo(data), runs),
        "ours_default_orientation6_ms": median_ms(lambda: render_photo(rotated), runs),
        "naive_with_webp_ms": median_ms(lambda: naive(data, all_specs), runs),
        "ours_with_webp_ms": median_ms(lambda: render_photo(data, all_specs), runs),
        "ours_preview_thumb_only_ms": median_ms(lambda: render_photo(data, [PREVIEW, THUMB]), runs),
    }
    figures["speedup_default"] = round(
        float(figures["naive_default_ms"]) / float(figures["ours_default_ms"]), 2
    )
    figures["speedup_with_webp"] = round(
        float(figures["naive_with_webp_ms"]) / float(figures["ours_with_webp_ms"]), 2
    )
    result = render_photo(data, all_specs)
    naive_sizes = [len(b) for b in naive(data, all_specs)]
    for rendition, naive_size in zip(result.renditions, naive_sizes, strict=True):
        figures[f"bytes_{rendition.name}"] = rendition.byte_size
        figures[f"naive_bytes_{rendition.name}"] = naive_size

    width = max(len(key) for key in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
