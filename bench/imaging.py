"""Rendition job cost per photo on generated 12 MP and 24 MP camera-like JPEGs, one core each.

For each size, in one run:

- ``bakusoku``: ``render_photo`` with the default set (print 89:127 at full resolution, JPEG q90
  baseline; preview 1600 px JPEG q85 progressive + WebP q80; thumb 400 px JPEG q80 progressive +
  WebP q75; WebP method 0 for the preview, 4 for the thumb) and the ThumbHash placeholder: one
  full decode, a resize cascade (whole-factor box reduction, then bicubic for the last 1.25-1.9x;
  PSNR against the one-pass Lanczos reference is printed), pixel buffers kept between photos.
- ``bakusoku_pipeline``: what the pipeline's MakeRenditions task renders, in its one call: the
  print and browsing specs of the default settings, the placeholder and, when the ``faces`` extra
  is installed, face detection (on the preview) for the trim. Its ratio to the floor includes
  that detection; ``faces`` is the detector alone on the full decode.
- ``baseline``: a straightforward Pillow implementation of the same outputs at the same quality
  settings: open, ``exif_transpose``, crop, resize each rendition from full size (Lanczos), save
  (Pillow's defaults otherwise: WebP method 4, no progressive JPEG).
- ``floor``: one full decode plus each output's encode timed alone (pixels made beforehand).
- ``decode``: the full decode alone.

Times are medians of ``--runs`` jobs, the jobs taking turns so that other load on the machine
slows them alike; peak RSS is measured for each job alone in a fresh process (the floor's includes
its pre-made pixels); throughput with 1 and 2 worker processes runs the same job in each. Output
quality is checked against a reference (a single Lanczos pass from the full decode): PSNR in dB.
Prints a table; the last line is one JSON object.

    python bench/imaging.py [--runs 5] [--sizes 12,24] [--renditions-saving]

``--renditions-saving`` times only the pipeline's job, with today's default renditions (print and
one 1600 px JPEG preview) against the previous set (also a WebP preview and 400 px JPEG and WebP
thumbnails), in turns, and prints the saving per photo.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import json
import math
import multiprocessing
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageChops, ImageOps, ImageStat

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bakusoku.config import Settings
from bakusoku.imaging.faces import load_face_detector
from bakusoku.imaging.renditions import (
    DEFAULT_SPECS,
    PREVIEW_WEBP,
    RenditionSpec,
    _encode,
    render_photo,
)
from bakusoku.imaging.trim import print_crop_box
from bakusoku.pipeline.handlers.imaging_settings import imaging_options

SIZES = {12: (4000, 3000), 24: (6000, 4000)}
JOBS = ("decode", "floor", "baseline", "bakusoku", "bakusoku_pipeline")


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


def camera_jpeg(width: int, height: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 1
    exif[0x010F] = "Canon"
    out = io.BytesIO()
    photo_like(width, height).save(out, "JPEG", quality=93, exif=exif.tobytes())
    return out.getvalue()


def _target(spec: RenditionSpec, size: tuple[int, int]) -> tuple[int, int]:
    long = max(size)
    if spec.long_edge is None or spec.long_edge >= long:
        return size
    scale = spec.long_edge / long
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def baseline_images(data: bytes) -> dict[str, Image.Image]:
    """The straightforward recipe's pixels: everything from the full-size decode."""
    im = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    made = {}
    for spec in DEFAULT_SPECS:
        out = im.crop(print_crop_box(*im.size)) if spec.crop_to_print else im
        size = _target(spec, out.size)
        made[spec.name] = out if size == out.size else out.resize(size, Image.Resampling.LANCZOS)
    return made


def baseline(data: bytes) -> list[bytes]:
    outputs = []
    images = baseline_images(data)
    for spec in DEFAULT_SPECS:
        buffer = io.BytesIO()
        images[spec.name].save(buffer, spec.format, quality=spec.quality)
        outputs.append(buffer.getvalue())
    return outputs


def decode(data: bytes) -> None:
    Image.open(io.BytesIO(data)).load()


def floor_job(data: bytes) -> Callable[[], float]:
    """One full decode plus each output's encode, timed alone: returns the summed milliseconds."""
    images = baseline_images(data)

    def job() -> float:
        started = time.perf_counter()
        decode(data)
        total = time.perf_counter() - started
        for spec in DEFAULT_SPECS:
            pixels = images[spec.name].copy()
            started = time.perf_counter()
            _encode(spec, pixels)
            total += time.perf_counter() - started
        return total * 1000

    return job


def pipeline(data: bytes) -> None:
    pipeline_with(Settings(), data)


# The pipeline's browsing set before pages asked /img for their sizes (docs/transforms.md).
PREVIOUS_BROWSING = {
    "browsing_renditions": "preview=1600,thumb=400",
    "browsing_formats": "jpeg,webp",
}


def pipeline_with(settings: Settings, data: bytes) -> None:
    options = imaging_options(settings)
    render_photo(
        data,
        (*options.print_specs, *options.browsing_specs),
        detector=options.face_detector(),
        square=options.square,
        with_placeholder=True,
    )


def renditions_saving(sizes: list[int], runs: int) -> None:
    """The pipeline's job with today's default renditions against the previous set, in turns."""
    before, now = Settings(**PREVIOUS_BROWSING), Settings()  # type: ignore[arg-type]
    figures: dict[str, object] = {"runs": runs, "previous": PREVIOUS_BROWSING}
    for mp in sizes:
        data = camera_jpeg(*SIZES[mp])
        jobs = {
            "previous": functools.partial(pipeline_with, before, data),
            "now": functools.partial(pipeline_with, now, data),
        }
        for job in jobs.values():
            job()
        times: dict[str, list[float]] = {name: [] for name in jobs}
        for _ in range(runs):
            for name, job in jobs.items():
                times[name].append(timed_ms(job))
        medians = {name: statistics.median(values) for name, values in times.items()}
        saved = medians["previous"] - medians["now"]
        print(
            f"{mp:>2} MP  pipeline job: previous renditions {medians['previous']:.1f} ms, "
            f"now {medians['now']:.1f} ms, saved {saved:.1f} ms per photo "
            f"({saved / medians['previous']:.0%}), now/previous {medians['now'] / medians['previous']:.2f}"
        )
        figures[f"{mp}mp"] = {
            "previous_ms": round(medians["previous"], 1),
            "now_ms": round(medians["now"], 1),
            "saved_ms": round(saved, 1),
            "ratio_now_to_previous": round(medians["now"] / medians["previous"], 3),
        }
    print(json.dumps(figures))


def make_job(name: str, data: bytes) -> Callable[[], object]:
    """Only the asked-for job is prepared, so a child's peak RSS is that job's own."""
    if name == "floor":
        return floor_job(data)
    jobs: dict[str, Callable[[], object]] = {
        "decode": lambda: decode(data),
        "baseline": lambda: baseline(data),
        "bakusoku": lambda: render_photo(data),
        "bakusoku_pipeline": lambda: pipeline(data),
    }
    return jobs[name]


def timed_ms(job: Callable[[], object]) -> float:
    started = time.perf_counter()
    result = job()
    elapsed = (time.perf_counter() - started) * 1000
    # The floor job reports its own sum of the timed parts.
    return float(result) if isinstance(result, float) else elapsed


def _reset_peak_rss() -> None:
    """Forget the peak RSS inherited from the parent (Linux keeps it across fork and exec)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _peak_rss_mb() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def child(name: str, path: str, runs: int) -> None:
    """Run one job in this fresh process and print its peak RSS."""
    _reset_peak_rss()
    job = make_job(name, Path(path).read_bytes())
    for _ in range(max(1, runs)):
        job()
    print(json.dumps({"peak_rss_mb": _peak_rss_mb()}))


def interleaved_ms(data: bytes, runs: int) -> dict[str, float]:
    """Median ms of every job, the jobs taking turns so that a busy machine slows all alike."""
    jobs = {name: make_job(name, data) for name in JOBS}
    for job in jobs.values():
        job()  # warm caches (ICC profile, codecs, page cache)
    times: dict[str, list[float]] = {name: [] for name in JOBS}
    for _ in range(runs):
        for name, job in jobs.items():
            times[name].append(timed_ms(job))
    return {name: statistics.median(values) for name, values in times.items()}


def _worker(name: str, path: str, runs: int, start: object, done: object) -> None:
    job = make_job(name, Path(path).read_bytes())
    job()
    start.wait()  # type: ignore[attr-defined]
    for _ in range(runs):
        job()
    done.put(time.perf_counter())  # type: ignore[attr-defined]


def parallel_rate(name: str, path: str, runs: int, processes: int) -> float:
    """Photos per second with ``processes`` worker processes each doing ``runs`` jobs."""
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(processes + 1)
    done = ctx.Queue()
    workers = [
        ctx.Process(target=_worker, args=(name, path, runs, start, done)) for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    start.wait()
    began = time.perf_counter()
    finished = max(done.get() for _ in workers)
    for worker in workers:
        worker.join()
    return processes * runs / (finished - began)


def peak_rss(name: str, path: Path) -> int:
    out = subprocess.run(
        [sys.executable, __file__, "--child", name, str(path), "--runs", "2"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(json.loads(out.stdout.splitlines()[-1])["peak_rss_mb"])


def psnr(a: Image.Image, b: Image.Image) -> float:
    if a.size != b.size:
        b = b.resize(a.size, Image.Resampling.LANCZOS)
    rms = ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).rms
    mse = sum(r * r for r in rms) / len(rms)
    return 99.0 if mse == 0 else round(10 * math.log10(255 * 255 / mse), 1)


def quality(data: bytes) -> dict[str, float]:
    """Lowest PSNR over the outputs against a one-pass Lanczos reference, ours and baseline."""
    reference = baseline_images(data)
    ours = render_photo(data)
    theirs = dict(zip([s.name for s in DEFAULT_SPECS], baseline(data), strict=True))
    mine = [psnr(reference[r.name], Image.open(io.BytesIO(r.data))) for r in ours.renditions]
    base = [psnr(reference[n], Image.open(io.BytesIO(b))) for n, b in theirs.items()]
    sizes_ours = sum(r.byte_size for r in ours.renditions)
    return {
        "psnr_min_db": min(mine),
        "baseline_psnr_min_db": min(base),
        "bytes": sizes_ours,
        "baseline_bytes": sum(len(b) for b in theirs.values()),
    }


def webp_methods(data: bytes) -> list[dict[str, float]]:
    """The 1600 px preview encoded at every WebP method: ms, bytes and PSNR, to choose by."""
    preview = baseline_images(data)[PREVIEW_WEBP.name]
    rows = []
    for method in range(7):
        times, encoded = [], b""
        for _ in range(3):
            buffer = io.BytesIO()
            started = time.perf_counter()
            preview.save(buffer, "WEBP", quality=PREVIEW_WEBP.quality, method=method)
            times.append((time.perf_counter() - started) * 1000)
            encoded = buffer.getvalue()
        rows.append(
            {
                "method": method,
                "ms": round(statistics.median(times), 1),
                "bytes": len(encoded),
                "psnr_db": psnr(preview, Image.open(io.BytesIO(encoded))),
            }
        )
    return rows


def face_ms(data: bytes) -> float | None:
    detector = load_face_detector()
    if detector is None:
        return None
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    detector.detect(image)
    times = []
    for _ in range(3):
        started = time.perf_counter()
        detector.detect(image)
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="12,24", help="megapixels: 12, 24 or both")
    parser.add_argument(
        "--renditions-saving",
        action="store_true",
        help="only the pipeline's job, today's default renditions against the previous set",
    )
    parser.add_argument("--child", nargs=2, metavar=("JOB", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.runs)
        return
    if args.renditions_saving:
        renditions_saving([int(s) for s in args.sizes.split(",")], args.runs)
        return

    runs: int = args.runs
    figures: dict[str, object] = {"runs": runs, "settings": "see module docstring"}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for mp in (int(s) for s in args.sizes.split(",")):
            width, height = SIZES[mp]
            path = Path(tmp) / f"{mp}mp.jpg"
            data = camera_jpeg(width, height)
            path.write_bytes(data)
            entry: dict[str, object] = {"image": f"{width}x{height} JPEG q93", "bytes": len(data)}
            medians = interleaved_ms(data, runs)
            for name in JOBS:
                entry[name] = {
                    "ms": round(medians[name], 1),
                    "photos_per_s": round(1000 / medians[name], 2),
                    "peak_rss_mb": peak_rss(name, path),
                }
            for name in ("baseline", "bakusoku"):
                one = parallel_rate(name, str(path), runs, 1)
                two = parallel_rate(name, str(path), runs, 2)
                job = entry[name]
                assert isinstance(job, dict)
                job["photos_per_s_1_proc"] = round(one, 2)
                job["photos_per_s_2_proc"] = round(two, 2)
                job["scaling_2_vs_1"] = round(two / one, 2)
            ms = {name: entry[name]["ms"] for name in JOBS}  # type: ignore[index]
            entry["speedup_vs_baseline"] = round(ms["baseline"] / ms["bakusoku"], 2)
            entry["ratio_to_floor"] = round(ms["bakusoku"] / ms["floor"], 2)
            entry["pipeline_ratio_to_floor"] = round(ms["bakusoku_pipeline"] / ms["floor"], 2)
            entry["quality"] = quality(data)
            entry["face_detection_ms"] = face_ms(data)
            if mp == 12:
                figures["webp_methods_1600px"] = webp_methods(data)
            figures[f"{mp}mp"] = entry
            rows.append((mp, entry))

    print(
        f"{'photo':<6} {'job':<18} {'ms':>8} {'photos/s':>9} {'peak RSS':>9} {'1 proc':>7} "
        f"{'2 proc':>7}"
    )
    for mp, entry in rows:
        for name in JOBS:
            job = entry[name]
            assert isinstance(job, dict)
            print(
                f"{mp:>2} MP  {name:<18} {job['ms']:>8.1f} {job['photos_per_s']:>9.2f} "
                f"{job['peak_rss_mb']:>6} MB {job.get('photos_per_s_1_proc', ''):>7} "
                f"{job.get('photos_per_s_2_proc', ''):>7}"
            )
        print(
            f"{mp:>2} MP  speed-up vs baseline {entry['speedup_vs_baseline']}x, "
            f"vs floor {entry['ratio_to_floor']}x (pipeline {entry['pipeline_ratio_to_floor']}x), "
            f"quality {entry['quality']}, faces {entry['face_detection_ms']} ms"
        )
    print("WebP method (1600 px):", figures.get("webp_methods_1600px"))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
