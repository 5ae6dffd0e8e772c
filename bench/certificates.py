"""Finisher certificates under a finish-line burst: time from a runner's last input to ready.

Starts ``bakusoku up`` (SQLite, the embedded bib reader) on free loopback ports, or uses a running
one (``--api`` with an admin key of ``--service`` in ``--key``), sets up a race with an entry list
and replays a finish-line burst: ``--runners`` runners cross the line evenly over ``--seconds``;
for each one, a photo showing the bib (``bench/bib_photos.py``: one runner, bib in view) is
uploaded through the real store (presign, PUT) and the finish result is posted to the API, in an
order drawn per runner (photo first or result first, the other up to ``--gap`` seconds later), so
inputs of different runners interleave. A runner's last input is the later acknowledgement of the
two (the store's answer to the PUT, or the API's to the results post); its certificate is ready
at the ``updated_at`` of the ready row ``GET /v1/races/{album}/runners/{bib}/certificate``
answers. Runners whose bib the reader did not read at the race's confidence get no certificate
(they would be tagged by staff): they are counted, not timed.

    python bench/certificates.py [--runners 60] [--seconds 60] [--gap 5] [--workers 2]
                                 [--size 4000x3000] [--seed 3] [--warm 2] [--api URL --key KEY]

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bib_photos import Conditions, draw_photo

from tests.e2e.server import RunningServer

SERVICE = "runs"
# A finish-line shot: the runner square to the camera, the bib in view (bench/bibs.py measures
# the hard cases; here the reader's misses would only shrink the sample).
FINISH_LINE = Conditions(
    rotation=5.0, perspective=0.04, blur=0.8, occlusion=0.0, occluded_share=0.0
)


@dataclass
class Runner:
    bib: str
    photo: bytes
    at: float  # seconds after the burst's start that the runner crosses
    photo_first: bool
    gap: float
    inputs: dict[str, float] = field(default_factory=dict)  # input → acknowledged (epoch)
    errors: list[str] = field(default_factory=list)
    ready_at: float | None = None
    status: str = "waiting"

    @property
    def last_input(self) -> float | None:
        return max(self.inputs.values()) if len(self.inputs) == 2 else None


def runners(
    count: int,
    seconds: float,
    gap: float,
    seed: int,
    size: tuple[int, int],
    bib_range: tuple[int, int] = (100, 10_000),
) -> list[Runner]:
    rng = random.Random(seed)
    bibs = [str(b) for b in rng.sample(range(*bib_range), count)]
    made = []
    for index, bib in enumerate(bibs):
        photo = draw_photo(rng, [bib], FINISH_LINE, size).jpeg
        made.append(
            Runner(bib, photo, index * seconds / count, rng.random() < 0.5, rng.uniform(0, gap))
        )
    return made


def set_up(client: httpx.Client, api: str, album: str, bibs: list[str]) -> None:
    answer = client.put(
        f"{api}/v1/races/{album}", json={"name": "第10回 湘南マラソン", "date": "2026-12-06"}
    )
    answer.raise_for_status()
    rows = "bib,name,surname\n" + "".join(f"{b},ランナー {b},R{b}\n" for b in bibs)
    answer = client.post(
        f"{api}/v1/races/{album}/entries",
        content=rows.encode(),
        headers={"Content-Type": "text/csv"},
    )
    answer.raise_for_status()


def upload(client: httpx.Client, api: str, album: str, runner: Runner) -> None:
    grant = client.post(
        f"{api}/v1/uploads",
        json={
            "filename": f"finish-{runner.bib}.jpg",
            "content_type": "image/jpeg",
            "size": len(runner.photo),
            "album": album,
            "service": SERVICE,
        },
    )
    if grant.status_code != 201:
        runner.errors.append(f"presign {grant.status_code}: {grant.text[:200]}")
        return
    spec = grant.json()["upload"]
    headers = {k: v for k, v in spec["headers"].items() if k.lower() != "content-length"}
    stored = httpx.request(
        spec["method"], spec["url"], content=runner.photo, headers=headers, timeout=60
    )
    if stored.status_code not in (200, 201, 204):
        runner.errors.append(f"store {stored.status_code}: {stored.text[:200]}")
        return
    runner.inputs["photo"] = time.time()


def post_result(client: httpx.Client, api: str, album: str, runner: Runner, net_s: int) -> None:
    answer = client.post(
        f"{api}/v1/races/{album}/results",
        json={"results": [{"bib": runner.bib, "net_time": net_s}]},
    )
    if answer.status_code != 200:
        runner.errors.append(f"results {answer.status_code}: {answer.text[:200]}")
        return
    runner.inputs["result"] = time.time()


def replay(client: httpx.Client, api: str, album: str, field_: list[Runner]) -> None:
    """Each runner's two inputs on their own thread, at their times; waits for all of them."""
    start = time.monotonic()

    def run(runner: Runner, place: int) -> None:
        time.sleep(max(0.0, start + runner.at - time.monotonic()))
        first, second = (upload, post_result) if runner.photo_first else (post_result, upload)
        for step, delay in ((first, 0.0), (second, runner.gap)):
            time.sleep(delay)
            if step is upload:
                upload(client, api, album, runner)
            else:
                post_result(client, api, album, runner, 3 * 3600 + place * 7)

    threads = [threading.Thread(target=run, args=(r, i)) for i, r in enumerate(field_)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def wait_certificates(
    client: httpx.Client,
    api: str,
    album: str,
    field_: list[Runner],
    timeout: float,
    give_up: float = 60.0,
) -> None:
    """Until every runner's certificate is final; a runner with none started ``give_up``
    seconds after their last input is one whose bib was not read (staff would tag it)."""
    deadline = time.monotonic() + timeout
    pending = [r for r in field_ if r.last_input is not None]
    while pending and time.monotonic() < deadline:
        for runner in list(pending):
            answer = client.get(f"{api}/v1/races/{album}/runners/{runner.bib}/certificate")
            answer.raise_for_status()
            body = answer.json()
            runner.status = body["status"]
            if body["status"] in ("ready", "failed"):
                runner.ready_at = float(body["updated_at"])
                pending.remove(runner)
            elif runner.status == "waiting" and time.time() - (runner.last_input or 0) > give_up:
                pending.remove(runner)  # asked, and still nothing started
        time.sleep(0.5)


def unread(client: httpx.Client, api: str, album: str) -> int:
    answer = client.get(f"{api}/v1/races/{album}/bibs/unknown", params={"limit": 200})
    answer.raise_for_status()
    return len(answer.json()["items"])


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def report(field_: list[Runner], unknown: int, args: argparse.Namespace) -> dict[str, Any]:
    times = [
        r.ready_at - r.last_input
        for r in field_
        if r.status == "ready" and r.ready_at is not None and r.last_input is not None
    ]
    return {
        "runners": len(field_),
        "seconds": args.seconds,
        "workers": args.workers,
        "ready": sum(r.status == "ready" for r in field_),
        "failed": sum(r.status == "failed" for r in field_),
        "no_certificate": sum(r.status in ("waiting", "making") for r in field_),
        "photos_bib_unknown": unknown,
        "without_certificate": sorted(r.bib for r in field_ if r.status != "ready"),
        "input_errors": [e for r in field_ for e in r.errors][:10],
        "last_input_to_ready_s": {
            "p50": _round(statistics.median(times) if times else None),
            "p95": _round(percentile(times, 0.95)),
            "max": _round(max(times) if times else None),
            "min": _round(min(times) if times else None),
        },
        "target_p50_s": 10,
        "met": bool(times) and statistics.median(times) <= 10,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runners", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument(
        "--gap", type=float, default=5.0, help="most seconds between a runner's two inputs"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--size", default="4000x3000", help="photo size, WIDTHxHEIGHT")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument(
        "--warm", type=int, default=2, help="runners through before the burst (not timed)"
    )
    parser.add_argument("--api", help="a running bakusoku up (default: start one)")
    parser.add_argument("--key", help="an admin key of the service, with --api")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    print(f"drawing {args.runners} finish-line photos at {width}x{height} …", file=sys.stderr)
    field_ = runners(args.runners, args.seconds, args.gap, args.seed, (width, height))
    album = f"finish-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="bench-certificates-") as root:
        server = None
        if args.api:
            api, key = args.api.rstrip("/"), args.key
        else:
            server = RunningServer(Path(root) / "data", workers=args.workers).start()
            api = server.api
            key = server.create_key(SERVICE, role="admin")
        try:
            client = httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=60)
            warm = runners(args.warm, 0.0, 0.0, args.seed, (width, height), (10_000, 11_000))
            set_up(client, api, album, [r.bib for r in field_ + warm])
            if warm:  # as `race prepare`'s lead warms the functions before the first finisher
                print(f"warming with {args.warm} runners …", file=sys.stderr)
                replay(client, api, album, warm)
                wait_certificates(client, api, album, warm, args.timeout)
            print(f"replaying {args.runners} runners over {args.seconds:.0f} s …", file=sys.stderr)
            replay(client, api, album, field_)
            wait_certificates(client, api, album, field_, args.timeout)
            result = report(field_, unread(client, api, album), args)
        finally:
            if server is not None:
                server.stop()
    times = result["last_input_to_ready_s"]
    print(
        f"{result['ready']} of {result['runners']} certificates ready; last input → ready "
        f"p50 {times['p50']} s, p95 {times['p95']} s, max {times['max']} s "
        f"({result['photos_bib_unknown']} photos' bib unread, {result['failed']} failed)"
    )
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
