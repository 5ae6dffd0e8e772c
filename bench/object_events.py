"""Objects stored under a declared function's prefix, to the function's invocation, on one machine.

An embedded stack (SQLite) with one declared function on ``imports/``: each object stored through
the stack's store goes to the outbox, the object-event router and the durable invocation queue,
and the function (in a worker) writes when it ran. Prints how many invocations the objects made
(exactly one each) and the store-to-invocation latency.

    python bench/object_events.py --objects 50
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bakusoku.config import load_settings
from bakusoku.local.stack import EmbeddedStack

HANDLER = """
import json, os, time


def record(event, context):
    with open(os.environ["OBJECTS_OUT"], "a") as out:
        key = event["detail"]["object"]["key"]
        out.write(json.dumps({"key": key, "at": time.time()}) + "\\n")
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bakusoku-object-events-"))
    (root / "objfns.py").write_text(HANDLER)
    sys.path.insert(0, str(root))  # the workers take the parent's sys.path
    out = root / "objects.jsonl"
    function = {
        "handler": "objfns.record",
        "events": [{"object": {"prefix": "imports/"}}],
        "environment": {"OBJECTS_OUT": str(out)},
    }
    (root / "bakusoku.yml").write_text(yaml.safe_dump({"functions": {"importer": function}}))
    overrides = {
        "data_dir": root / "data",
        "workers": args.workers,
        "port": _free_port(),
        "store_port": _free_port(),
        "sweep_schedule": "",
    }
    settings = load_settings(overrides, config_file=root / "bakusoku.yml", environ={})
    stack = EmbeddedStack(settings)
    stack.start()
    try:
        put = stack.store.put_object
        put(settings.bucket, "imports/warm-up.json", b"{}", content_type="application/json")
        while not _lines(out):  # the worker's cold start is not what is measured
            time.sleep(0.01)
        stored = {}
        for i in range(args.objects):
            key = f"imports/{i:05d}.json"
            stored[key] = time.time()
            put(settings.bucket, key, b'{"i": %d}' % i, content_type="application/json")
        deadline = time.monotonic() + 120
        while len(_lines(out)) < args.objects + 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1)  # room for a repeat, which must not come
        ran = [line for line in _lines(out) if line["key"] in stored]
        latency = sorted(float(str(r["at"])) - stored[str(r["key"])] for r in ran)
    finally:
        stack.stop()
    repeats = len(ran) - len({r["key"] for r in ran})
    print(f"{len(ran)} invocations for {args.objects} objects ({repeats} repeated)")
    if latency:
        p50 = latency[len(latency) // 2] * 1000
        p95 = latency[max(0, int(len(latency) * 0.95) - 1)] * 1000
        print(
            f"stored -> invoked: p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {latency[-1] * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
