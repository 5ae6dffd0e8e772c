"""Upload latency: the store against its peers, and presigned uploads vs. the design they replaced.

For 5 MB JPEGs, measures in one run:
  * the store alone (no photo processing), moto's S3 server and a floor (the same bytes over
    loopback into a file, same digest and fsync, no HTTP): p50 with 1 and 16 concurrent clients,
    the median over ``--rounds`` interleaved rounds (``bench/upload_peers.py``);
then starts ``bakusoku up`` on free loopback ports and measures, with photo processing running:
  * presign latency (POST /v1/uploads), p50/p99;
  * upload acknowledgement through the presigned URL, p50/p99, with 1 and 16 concurrent clients;
  * time from upload acknowledgement to ``ready``;
  * the baseline: the same bytes sent through the API server, which stores them and runs the
    pipeline before answering (the pre-presigned design), with 1 and 16 concurrent clients.
Prints medians and ratios; the last line is one JSON object of the key figures.

    python bench/upload.py [--uploads 32] [--baseline-uploads 8] [--rounds 3]
                           [--store-processes N] [--peers-only]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.upload_peers import run_peers
from tests.e2e.server import RunningServer, auth

# ``bakusoku up`` plus the baseline design's route (bench/baseline_server.py).
BASELINE_SERVER = [sys.executable, str(Path(__file__).with_name("baseline_server.py"))]


def five_mb_jpeg() -> bytes:
    """A 12 MP JPEG of about 5 MB: noisy enough that the codec cannot shrink it much."""
    rng = random.Random(7)
    tile = Image.frombytes("RGB", (256, 256), rng.randbytes(256 * 256 * 3))
    image = Image.new("RGB", (4000, 3000), (90, 140, 200))
    for x in range(0, 4000, 512):
        for y in range(0, 3000, 512):
            image.paste(tile, (x, y))
    for quality in range(98, 40, -3):
        out = io.BytesIO()
        image.save(out, "JPEG", quality=quality)
        if out.tell() <= 5.5 * 2**20:
            break
    return out.getvalue()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def presign(client: httpx.Client, api: str, size: int, album: str) -> tuple[dict[str, Any], float]:
    body = {
        "filename": "race.jpg",
        "content_type": "image/jpeg",
        "size": size,
        "album": album,
        "service": "bench",
    }
    started = time.perf_counter()
    response = client.post(f"{api}/v1/uploads", json=body, headers=auth(api))
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return response.json(), elapsed


def presigned_upload(client: httpx.Client, api: str, data: bytes) -> tuple[str, float, float]:
    """Returns (photo id, seconds until the store acknowledged, the acknowledgement time)."""
    grant, _ = presign(client, api, len(data), "bench")
    upload = grant["upload"]
    started = time.perf_counter()
    response = client.request(
        upload["method"], upload["url"], content=data, headers=upload["headers"]
    )
    acked = time.perf_counter()
    response.raise_for_status()
    return grant["photo_id"], acked - started, acked


def direct_upload(client: httpx.Client, api: str, data: bytes) -> float:
    started = time.perf_counter()
    response = client.post(
        f"{api}/v1/bench/direct-upload",
        params={"album": "baseline", "filename": "race.jpg"},
        content=data,
        headers={"content-type": "image/jpeg", **auth(api)},
    )
    response.raise_for_status()
    assert response.json()["status"] == "ready", response.text
    return time.perf_counter() - started


def concurrently(count: int, clients: int, job: Any) -> list[Any]:
    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(lambda _: job(), range(count)))


def wait_ready(
    client: httpx.Client, api: str, photo_ids: list[str], timeout: float = 900
) -> dict[str, float]:
    """When each photo was first seen ready (perf_counter time)."""
    ready: dict[str, float] = {}
    deadline = time.perf_counter() + timeout
    while len(ready) < len(photo_ids) and time.perf_counter() < deadline:
        for photo_id in photo_ids:
            if photo_id not in ready:
                photo = client.get(f"{api}/v1/photos/{photo_id}", headers=auth(api)).json()
                status = photo["status"]
                if status in ("ready", "failed"):
                    ready[photo_id] = time.perf_counter()
        time.sleep(0.05)
    return ready


def summary(name: str, seconds: list[float]) -> dict[str, float]:
    p50, p99 = percentile(seconds, 50) * 1000, percentile(seconds, 99) * 1000
    print(f"{name:<44} n={len(seconds):<4} p50={p50:9.1f} ms  p99={p99:9.1f} ms")
    return {"p50_ms": round(p50, 2), "p99_ms": round(p99, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=32, help="presigned uploads per scenario")
    parser.add_argument(
        "--baseline-uploads", type=int, default=8, help="baseline uploads per scenario"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the peer comparison")
    parser.add_argument(
        "--store-processes", type=int, default=None, help="default: the store_processes setting"
    )
    parser.add_argument("--peers-only", action="store_true", help="skip the bakusoku up burst")
    args = parser.parse_args()

    data = five_mb_jpeg()
    print(f"photo: 4000x3000 JPEG, {len(data) / 2**20:.2f} MiB")
    with tempfile.TemporaryDirectory() as tmp:
        figures: dict[str, Any] = {"photo_mib": round(len(data) / 2**20, 2)}
        figures["load_before"] = machine_load()
        figures["peers"] = run_peers(
            data,
            Path(tmp),
            rounds=args.rounds,
            uploads=args.uploads,
            store_processes=args.store_processes,
        )
        if args.peers_only:
            print(json.dumps(finish(figures)))
            return
        extra_env = {
            # the benchmark measures presign latency itself: no per-key rate limit
            "BAKUSOKU_PRESIGN_RATE_PER_MINUTE": "0",
            "BAKUSOKU_MARK_DUPLICATES": "0",  # the same 5 MB photo, on purpose
        }
        if args.store_processes is not None:
            extra_env["BAKUSOKU_STORE_PROCESSES"] = str(args.store_processes)
        server = RunningServer(
            Path(tmp) / "data",
            workers=args.workers,
            command=BASELINE_SERVER,
            extra_env=extra_env,
        ).start()
        try:
            figures.update(run(server.api, data, args))
        finally:
            server.stop()
    print(json.dumps(finish(figures)))


def machine_load() -> float:
    """The 1-minute load average: above the core count, other jobs share the CPU."""
    return round(os.getloadavg()[0], 1)


def finish(figures: dict[str, Any]) -> dict[str, Any]:
    """Says how busy the machine was, so noisy latencies are read as such."""
    figures["load_after"] = machine_load()
    cores = os.cpu_count() or 1
    busiest = max(figures["load_before"], figures["load_after"])
    print(
        f"machine load average {figures['load_before']} → {figures['load_after']} on {cores}"
        " cores" + (": other jobs shared the CPU, latencies are noisy" if busiest > cores else "")
    )
    return figures


def run(api: str, data: bytes, args: argparse.Namespace) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    with httpx.Client(timeout=600, limits=limits) as client:
        for _ in range(3):  # warm up connections and the workers
            presigned_upload(client, api, data)
        presign_times = [presign(client, api, len(data), "bench")[1] for _ in range(200)]

        # Time to ready on an idle system: one photo at a time.
        to_ready = []
        for _ in range(5):
            photo_id, _, acked = presigned_upload(client, api, data)
            to_ready.append(wait_ready(client, api, [photo_id])[photo_id] - acked)

        one = [presigned_upload(client, api, data) for _ in range(args.uploads)]
        many = concurrently(args.uploads * 2, 16, lambda: presigned_upload(client, api, data))
        backlog = [photo_id for photo_id, _, _ in one + many]
        drained_at = wait_ready(client, api, backlog)
        burst_done = max(drained_at.values()) - min(acked for _, _, acked in one + many)

        base_one = [direct_upload(client, api, data) for _ in range(args.baseline_uploads)]
        base_many = concurrently(
            args.baseline_uploads * 2, 16, lambda: direct_upload(client, api, data)
        )

    print()
    figures: dict[str, Any] = {}
    figures["presign"] = summary("presign (POST /v1/uploads)", presign_times)
    figures["presigned_1"] = summary("presigned PUT ack, 1 client", [s for _, s, _ in one])
    figures["presigned_16"] = summary("presigned PUT ack, 16 clients", [s for _, s, _ in many])
    figures["baseline_1"] = summary("through-the-API upload (baseline), 1 client", base_one)
    figures["baseline_16"] = summary("through-the-API upload (baseline), 16 clients", base_many)
    figures["upload_to_ready"] = summary("upload ack → ready (idle system)", to_ready)
    figures["burst_photos"] = len(backlog)
    figures["burst_drain_s"] = round(burst_done, 2)
    for clients in ("1", "16"):
        fast, slow = figures[f"presigned_{clients}"], figures[f"baseline_{clients}"]
        for q in ("p50_ms", "p99_ms"):
            ratio = slow[q] / fast[q]
            figures[f"speedup_{clients}_{q[:3]}"] = round(ratio, 1)
            print(f"speed-up, {clients:>2} client(s), {q[:3]}: {ratio:6.1f}x")
    print(f"burst of {len(backlog)} photos processed in {burst_done:.1f} s after the first ack")
    return figures


if __name__ == "__main__":
    main()
