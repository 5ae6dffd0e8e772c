"""On-the-fly transforms: bakusoku's /img URLs against a plain Pillow transform server.

Starts ``bakusoku up`` on free loopback ports, uploads 12 MP camera-sized JPEGs, lets the pipeline
make their renditions, then measures in one run, for a 400 px WebP of each photo:
  * cold latency (nothing cached: every URL asked for the first time; the quality varies so each
    request is new), p50/p99, one client;
  * cached latency (the same URLs again, from the disk cache), p50/p99, one client;
  * throughput with 16 concurrent clients, cold and cached;
  * the same cold request against the baseline: a FastAPI server written the obvious way with
    Pillow (open the original, ``exif_transpose``, Lanczos ``resize``, save WebP), 1 and 16
    clients;
  * how far each server's peak memory rose while serving 16 cold clients;
  * in-process, the pixel work alone when the transform must read the 12 MP original (no
    rendition large enough), to show the DCT-scaled decode separately from the rendition source.
Prints medians and ratios; the last line is one JSON object of the key figures. The machine's
cores may be shared: the numbers are noisy, compare ratios from one run.

    python bench/transform.py [--photos 4] [--cold-per-photo 10]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bakusoku.imaging.transform import Transform, render_transform
from tests.auth.conftest import bearer, settled, upload
from tests.conftest import free_port
from tests.e2e.server import RunningServer
from tests.imaging.photos import encode, noisy_picture

ACCEPT = {"Accept": "image/webp,*/*"}
WIDTH = 400
TARGET_COLD_MS = 60.0
TARGET_CACHED_MS = 2.0
TARGET_SPEEDUP = 3.0


# ---- the baseline, written the obvious way --------------------------------------------------------


def baseline_app(originals: Path) -> Any:
    from fastapi import FastAPI
    from fastapi.responses import Response

    app = FastAPI()

    @app.get("/img/{name}")
    def transformed(name: str, w: int, q: int = 80) -> Response:
        image: Image.Image = Image.open(originals / name)
        image = ImageOps.exif_transpose(image)
        height = round(image.height * w / image.width)
        image = image.convert("RGB").resize((w, height), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        image.save(out, "WEBP", quality=q)
        return Response(out.getvalue(), media_type="image/webp")

    return app


def serve_baseline(originals: Path, port: int) -> None:
    import uvicorn

    uvicorn.run(baseline_app(originals), host="127.0.0.1", port=port, log_level="warning")


def start_baseline(originals: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve-baseline", str(originals), "--port", str(port)]
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/docs", timeout=1)
            return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the baseline server did not start")


# ---- measuring ------------------------------------------------------------------------------------


class PeakMemory:
    """How far a process's peak RSS rose above its RSS at the start of a ``with`` block (Linux:
    writing 5 to clear_refs resets the peak, VmHWM)."""

    def __init__(self, pid: int) -> None:
        self.status = Path(f"/proc/{pid}/status")
        self.clear = Path(f"/proc/{pid}/clear_refs")
        self.extra_mib = 0.0

    def _kib(self, field: str) -> int:
        for line in self.status.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise RuntimeError(f"no {field} in {self.status}")

    def __enter__(self) -> PeakMemory:
        self.clear.write_text("5")
        self.before = self._kib("VmRSS")
        return self

    def __exit__(self, *exc: object) -> None:
        self.extra_mib = round((self._kib("VmHWM") - self.before) / 1024, 1)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def summary(name: str, seconds: list[float]) -> dict[str, float]:
    p50, p99 = percentile(seconds, 50) * 1000, percentile(seconds, 99) * 1000
    print(f"{name:<52} n={len(seconds):<4} p50={p50:8.2f} ms  p99={p99:8.2f} ms")
    return {"p50_ms": round(p50, 2), "p99_ms": round(p99, 2)}


# What the server said making each picture took (Server-Timing), next to the client's time.
SERVER_MS: list[float] = []


def timed_get(client: httpx.Client, url: str, headers: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    response = client.get(url, headers=headers)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "image/webp"
    timing = response.headers.get("server-timing", "")
    if "dur=" in timing:  # read;dur=…, pixels;dur=…: the picture's whole making
        SERVER_MS.append(sum(float(part.split("dur=")[1]) for part in timing.split(",")))
    return elapsed


def throughput(client: httpx.Client, urls: list[str], clients: int) -> tuple[float, list[float]]:
    """Requests per second for ``urls`` fetched by ``clients`` at once, and each latency."""
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        latencies = list(pool.map(lambda url: timed_get(client, url, ACCEPT), urls))
    return len(urls) / (time.perf_counter() - started), latencies


def signed_urls(
    client: httpx.Client, api: str, key: str, photo_ids: list[str], qualities: list[int]
) -> list[str]:
    urls = []
    for quality in qualities:
        for photo_id in photo_ids:
            response = client.get(
                f"{api}/v1/photos/{photo_id}/transform",
                params={"options": f"w={WIDTH},f=webp,q={quality}"},
                headers=bearer(key),
            )
            response.raise_for_status()
            urls.append(str(response.json()["url"]))
    return urls


def original_pixel_work(data: bytes, runs: int) -> list[float]:
    """The transform made from the 12 MP original in-process: decode (DCT-scaled), resample,
    encode, with no HTTP and no rendition to read instead."""
    times = []
    for quality in range(40, 40 + runs):
        started = time.perf_counter()
        render_transform(data, Transform(WIDTH, None, format="WEBP", quality=quality))
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=4)
    parser.add_argument("--cold-per-photo", type=int, default=10)
    parser.add_argument("--serve-baseline", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_baseline:
        serve_baseline(args.serve_baseline, args.port)
        return

    photos = [encode(noisy_picture(4000, 3000), "JPEG", quality=85) for _ in range(args.photos)]
    mib = statistics.mean(len(p) for p in photos) / 2**20
    print(f"photos: {len(photos)} x 4000x3000 JPEG, {mib:.2f} MiB each on average")
    with tempfile.TemporaryDirectory() as tmp:
        originals = Path(tmp) / "originals"
        originals.mkdir()
        for index, data in enumerate(photos):
            (originals / f"{index}.jpg").write_bytes(data)
        server = RunningServer(
            Path(tmp) / "data", workers=1, extra_env={"BAKUSOKU_MARK_DUPLICATES": "0"}
        ).start()
        baseline, baseline_url = start_baseline(originals)
        try:
            figures = run(server, baseline_url, baseline.pid, photos, args)
        finally:
            baseline.terminate()
            baseline.wait()
            server.stop()
    print(json.dumps(figures))


def run(
    server: RunningServer,
    baseline_url: str,
    baseline_pid: int,
    photos: list[bytes],
    args: argparse.Namespace,
) -> dict[str, Any]:
    api = server.api
    key = server.create_key("bench", role="admin")
    photo_ids = [upload(api, key, data, album="bench") for data in photos]
    for photo_id in photo_ids:
        assert settled(api, key, photo_id, timeout=600)["status"] == "ready"
    per_photo = args.cold_per_photo
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    with httpx.Client(timeout=600, limits=limits) as client:
        # Warm the connection, the server's code paths and its database pool (not measured).
        warm = signed_urls(client, api, key, photo_ids[:1], [31])
        timed_get(client, warm[0], ACCEPT)
        timed_get(client, f"{baseline_url}/img/0.jpg?w={WIDTH}&q=31")

        qualities = list(range(50, 50 + per_photo))
        cold_urls = signed_urls(client, api, key, photo_ids, qualities)
        SERVER_MS.clear()
        cold = [timed_get(client, url, ACCEPT) for url in cold_urls]
        making = [ms / 1000 for ms in SERVER_MS]
        cached = [timed_get(client, url, ACCEPT) for url in cold_urls for _ in range(3)]
        assert server.process is not None
        cold_16_urls = signed_urls(client, api, key, photo_ids, list(range(70, 78)))
        with PeakMemory(server.process.pid) as ours:
            cold_rps, cold_16 = throughput(client, cold_16_urls, 16)
        cached_rps, cached_16 = throughput(client, cold_urls * 4, 16)

        base_urls = [
            f"{baseline_url}/img/{index}.jpg?w={WIDTH}&q={quality}"
            for quality in qualities[: max(2, per_photo // 2)]
            for index in range(len(photos))
        ]
        base = [timed_get(client, url) for url in base_urls]
        with PeakMemory(baseline_pid) as theirs:
            base_rps, base_16 = throughput(client, base_urls, 16)
    pixels = original_pixel_work(photos[0], 10)

    print()
    figures: dict[str, Any] = {"photos": len(photos), "width": WIDTH}
    figures["cold_1"] = summary("bakusoku cold, 1 client", cold)
    figures["cold_1_making"] = summary("  of which making the picture (Server-Timing)", making)
    figures["cached_1"] = summary("bakusoku cached (disk cache), 1 client", cached)
    figures["baseline_1"] = summary("baseline (plain Pillow), 1 client", base)
    figures["cold_16"] = summary("bakusoku cold, 16 clients", cold_16)
    figures["cached_16"] = summary("bakusoku cached, 16 clients", cached_16)
    figures["baseline_16"] = summary("baseline, 16 clients", base_16)
    figures["from_original_in_process"] = summary(
        "pixel work from the 12 MP original, in-process", pixels
    )
    figures["throughput_rps"] = {
        "cold_16": round(cold_rps, 1),
        "cached_16": round(cached_rps, 1),
        "baseline_16": round(base_rps, 1),
    }
    figures["peak_extra_mib_16"] = {"bakusoku": ours.extra_mib, "baseline": theirs.extra_mib}
    print(
        f"memory, 16 cold clients: the server's peak RSS grew {ours.extra_mib:.0f} MiB"
        f" (baseline {theirs.extra_mib:.0f} MiB): ~{ours.extra_mib / 16:.1f} MiB per request"
        f" (baseline ~{theirs.extra_mib / 16:.1f})"
    )
    speedup = figures["baseline_1"]["p50_ms"] / figures["cold_1"]["p50_ms"]
    figures["speedup_cold_p50"] = round(speedup, 1)
    figures["speedup_throughput_16"] = round(cold_rps / base_rps, 1)
    print(
        f"throughput, 16 clients: cold {cold_rps:.1f}/s, cached {cached_rps:.1f}/s,"
        f" baseline {base_rps:.1f}/s"
    )
    print(f"cold p50 speed-up over the baseline: {speedup:.1f}x (target >= {TARGET_SPEEDUP:g}x)")
    figures["targets_met"] = {
        "cold_p50": figures["cold_1"]["p50_ms"] <= TARGET_COLD_MS,
        "cached_p50": figures["cached_1"]["p50_ms"] <= TARGET_CACHED_MS,
        "speedup": speedup >= TARGET_SPEEDUP,
    }
    print("the machine's cores are shared: the numbers are noisy, compare ratios from one run")
    return figures


if __name__ == "__main__":
    main()
