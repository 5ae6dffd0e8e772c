"""Function runtime overhead: warm and cold invocations of a no-op handler vs. a direct call.

Measures in one run, with real worker processes:
  * warm invocation latency, p50/p99, and its overhead over calling the handler in process;
  * cold start: the first invocation of a new environment (process start + init + invoke);
  * invocations per second at concurrency 1 and 2, and the direct call's rate for comparison.
Prints medians and ratios; the last line is one JSON object of the key figures.

    python bench/runtime.py [--invocations 2000] [--cold 10] [--seconds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
HANDLER = "bench.runtime.noop"  # this file, imported by the workers from the repository root


def noop(event: Any, context: Any) -> None:
    """The handler under test: does nothing, so only the runtime's own cost is measured."""
    return None


def _pct(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summary(label: str, values_ms: list[float]) -> dict[str, float]:
    p50, p99 = statistics.median(values_ms), _pct(values_ms, 0.99)
    print(f"{label:<48} p50 {p50:8.3f} ms   p99 {p99:8.3f} ms   (n={len(values_ms)})")
    return {"p50_ms": round(p50, 4), "p99_ms": round(p99, 4)}


def direct_times(count: int) -> list[float]:
    from bakusoku.runtime import LambdaContext

    times = []
    for _ in range(count):
        started = time.perf_counter()
        noop({"n": 1}, LambdaContext("id", "arn", int(time.time() * 1000) + 10_000))
        times.append((time.perf_counter() - started) * 1000)
    return times


def warm_times(count: int) -> list[float]:
    from bakusoku.runtime import FunctionConfig, FunctionRuntime

    with FunctionRuntime([FunctionConfig("noop", HANDLER)], max_environments=1) as runtime:
        runtime.invoke("noop", {"n": 0})  # the cold start, not measured here
        times = []
        for i in range(count):
            started = time.perf_counter()
            runtime.invoke("noop", {"n": i})
            times.append((time.perf_counter() - started) * 1000)
    return times


def cold_times(count: int) -> tuple[list[float], list[float]]:
    from bakusoku.runtime import FunctionConfig, FunctionRuntime

    totals, inits = [], []
    for i in range(count):
        with FunctionRuntime([FunctionConfig("noop", HANDLER)], max_environments=1) as runtime:
            started = time.perf_counter()
            runtime.invoke("noop", {"n": i})
            totals.append((time.perf_counter() - started) * 1000)
            inits.append(runtime.metrics().functions["noop"].init_duration_ms_total)
    return totals, inits


def throughput(concurrency: int, seconds: float) -> float:
    from bakusoku.runtime import FunctionConfig, FunctionRuntime

    config = FunctionConfig("noop", HANDLER)
    with FunctionRuntime([config], max_environments=concurrency) as runtime:
        # Warm one environment per client first, so the rate is of warm invocations only.
        barrier = threading.Barrier(concurrency)

        def prime() -> None:
            barrier.wait()
            runtime.invoke("noop", {"sleepless": True})

        primers = [threading.Thread(target=prime) for _ in range(concurrency)]
        for thread in primers:
            thread.start()
        for thread in primers:
            thread.join()
        counts = [0] * concurrency
        stop = time.perf_counter() + seconds

        def client(slot: int) -> None:
            while time.perf_counter() < stop:
                runtime.invoke("noop", {"slot": slot})
                counts[slot] += 1

        started = time.perf_counter()
        clients = [threading.Thread(target=client, args=(i,)) for i in range(concurrency)]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join()
        return sum(counts) / (time.perf_counter() - started)


def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invocations", type=int, default=2000)
    parser.add_argument("--cold", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()

    figures: dict[str, Any] = {}
    direct = direct_times(args.invocations)
    warm = warm_times(args.invocations)
    cold, inits = cold_times(args.cold)
    figures["direct"] = summary("direct in-process call", direct)
    figures["warm"] = summary("warm invocation (worker process)", warm)
    figures["cold"] = summary("cold start (new process + init + invoke)", cold)
    figures["init"] = summary("  of which init (interpreter start + import)", inits)
    figures["warm_overhead_p50_ms"] = round(
        figures["warm"]["p50_ms"] - figures["direct"]["p50_ms"], 4
    )
    figures["warm_overhead_p99_ms"] = round(
        figures["warm"]["p99_ms"] - figures["direct"]["p99_ms"], 4
    )
    rate_direct = 1000.0 / statistics.mean(direct)
    rate_1 = throughput(1, args.seconds)
    rate_2 = throughput(2, args.seconds)
    figures["direct_per_s"] = round(rate_direct)
    figures["invocations_per_s_c1"] = round(rate_1)
    figures["invocations_per_s_c2"] = round(rate_2)
    figures["cold_over_warm_p50"] = round(figures["cold"]["p50_ms"] / figures["warm"]["p50_ms"], 1)
    figures["warm_over_direct_p50"] = round(figures["warm"]["p50_ms"] / figures["direct"]["p50_ms"])
    figures["c2_over_c1"] = round(rate_2 / rate_1, 2)
    print(f"{'direct calls per second':<48} {rate_direct:12.0f}")
    print(f"{'invocations per second, concurrency 1':<48} {rate_1:12.0f}")
    print(f"{'invocations per second, concurrency 2':<48} {rate_2:12.0f}")
    print(f"warm overhead over a direct call, p50: {figures['warm_overhead_p50_ms']:.3f} ms")
    print(f"cold start / warm invocation, p50: {figures['cold_over_warm_p50']:.1f}x")
    print(f"concurrency 2 / concurrency 1 rate: {figures['c2_over_c1']:.2f}x")
    print(json.dumps(figures, sort_keys=True))
    return figures


if __name__ == "__main__":
    import os

    os.chdir(ROOT)  # workers import the handler from the repository root (their task root)
    main()
