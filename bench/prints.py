"""Print files without generation loss: the lossless cut against the re-encode, per 12 MP photo.

In one run, on a generated camera-like 12 MP JPEG (q93, 4:2:0) stored with EXIF orientation 1 and 6
(a phone held upright), one core:

- ``cut``: the print trim (89:127, centred) cut from the original's blocks by libjpeg-turbo's
  lossless transform (``bakusoku.imaging.lossless``): no decode, no encode.
- ``reencode``: today's fallback for the same trim: full decode (orientation applied), crop, JPEG
  q90 baseline with the sRGB profile (``render_photo`` with only the print, lossless cuts off).
- ``job_cut`` / ``job_reencode``: the whole MakeRenditions job (print and the default browsing
  renditions, placeholder) with lossless cuts on and off: what a photo costs the pipeline.

Fidelity, against the upright original decoded over the same area: PSNR in dB and the share of
pixels that decode identically. A lossless cut keeps the original's DCT coefficients, so its
differences are only the decoder's rounding where blocks were mirrored (orientation 6) and the
chroma upsampling at the cut's outer edge; the re-encode adds a second quantisation.

Times are CPU milliseconds of this process (one core; other load on the machine does not count),
medians of ``--runs`` runs, the variants taking turns. The last line is one JSON object.

    python bench/prints.py [--runs 7]
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

import numpy as np
from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bakusoku.imaging import BROWSING_SPECS, PRINT, render_photo
from bakusoku.imaging.lossless import jpeg_layout, lossless_available, lossless_print
from bakusoku.imaging.trim import print_crop_box

SIZE = (4000, 3000)


def camera_jpeg(orientation: int) -> bytes:
    """Smooth colour fields, mid-scale texture and sensor grain, as a camera would store them."""
    width, height = SIZE
    coarse = Image.merge(
        "RGB", [Image.effect_noise((width // 64, height // 64), 90) for _ in range(3)]
    ).resize(SIZE, Image.Resampling.BICUBIC)
    mid = Image.merge(
        "RGB", [Image.effect_noise((width // 6, height // 6), 60) for _ in range(3)]
    ).resize(SIZE, Image.Resampling.BICUBIC)
    grain = Image.effect_noise(SIZE, 10).convert("RGB")
    picture = Image.blend(Image.blend(coarse, mid, 0.4), grain, 0.15)
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=93, exif=exif.tobytes())
    return out.getvalue()


def cut(data: bytes, orientation: int) -> bytes:
    layout = jpeg_layout(data, orientation)
    box = print_crop_box(layout.width, layout.height)
    return lossless_print(data, layout, box).data


def reencode(data: bytes) -> bytes:
    return (
        render_photo(data, [PRINT], lossless_prints=False, with_placeholder=False).get("print").data
    )


def job(data: bytes, lossless: bool) -> None:
    render_photo(data, [PRINT, *BROWSING_SPECS], lossless_prints=lossless)


def fidelity(data: bytes, printed: bytes, box: tuple[int, int, int, int]) -> dict[str, float]:
    upright = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB").crop(box)
    got = Image.open(io.BytesIO(printed)).convert("RGB")
    a = np.asarray(got).astype(np.float64)
    b = np.asarray(upright).astype(np.float64)
    mse = float(np.mean((a - b) ** 2))
    psnr = float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)
    identical = float(np.all(a == b, axis=2).mean())
    return {"psnr_db": round(psnr, 2), "identical_pixels": round(identical, 4)}


def medians(jobs: dict[str, Callable[[], object]], runs: int) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in jobs}
    for run in jobs.values():
        run()  # warm: codecs, buffers
    for _ in range(runs):
        for name, run in jobs.items():
            start = time.process_time()
            run()
            times[name].append((time.process_time() - start) * 1000)
    return {name: round(statistics.median(values), 1) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    missing = lossless_available()
    if missing is not None:
        raise SystemExit(missing)
    summary: dict[str, object] = {"runs": args.runs, "megapixels": SIZE[0] * SIZE[1] / 1e6}
    print(f"{'orientation':>11} {'path':>14} {'ms':>8} {'PSNR dB':>8} {'identical':>9}")
    for orientation in (1, 6):
        data = camera_jpeg(orientation)
        times = medians(
            {
                "cut": lambda d=data, o=orientation: cut(d, o),
                "reencode": lambda d=data: reencode(d),
                "job_cut": lambda d=data: job(d, True),
                "job_reencode": lambda d=data: job(d, False),
            },
            args.runs,
        )
        layout = jpeg_layout(data, orientation)
        lossless = lossless_print(data, layout, print_crop_box(layout.width, layout.height))
        lossless_box = tuple(int(v) for v in lossless.box)
        reencoded = render_photo(data, [PRINT], lossless_prints=False, with_placeholder=False)
        reencoded_box = tuple(int(v) for v in reencoded.crop_box)
        quality = {
            "cut": fidelity(data, lossless.data, lossless_box),  # type: ignore[arg-type]
            "reencode": fidelity(data, reencoded.get("print").data, reencoded_box),  # type: ignore[arg-type]
        }
        for path in ("cut", "reencode"):
            q = quality[path]
            print(
                f"{orientation:>11} {path:>14} {times[path]:>8.1f} {q['psnr_db']:>8} "
                f"{q['identical_pixels']:>9}"
            )
        for path in ("job_cut", "job_reencode"):
            print(f"{orientation:>11} {path:>14} {times[path]:>8.1f}")
        summary[f"orientation_{orientation}"] = {
            "ms": times,
            "print_speedup": round(times["reencode"] / times["cut"], 2),
            "job_saving_ms": round(times["job_reencode"] - times["job_cut"], 1),
            "fidelity": quality,
        }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
