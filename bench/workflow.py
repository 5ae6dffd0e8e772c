"""Workflow engine throughput: state transitions per second and per-execution overhead.

Measures in one run, for a 50-state Pass chain and a 5-Task chain of no-op Lambda handlers:
  * in process: ``run_definition`` (no database);
  * with persisted history: ``WorkflowEngine`` on a SQLite file (executions and every history
    event written), one execution at a time (overhead) and many at once (throughput);
  * the peer: moto's Step Functions interpreter (``execute_state_machine`` enabled) in server
    mode on loopback, driven through boto3 as a client drives Step Functions. moto runs Lambda
    tasks in Docker, so its 5-Task chain is the same chain with Pass states in place of the Tasks
    (moto's figure is the cheaper one: it does no invocation at all).
Every measurement is taken ``--rounds`` times, the three kinds taking turns so that a machine that
slows down meanwhile slows all alike. Prints medians and ratios (and each round's ratio); the last
line is one JSON object of the key figures.

    python bench/workflow.py [--rounds 3] [--runs 200] [--batch 100] [--peer-runs 20]
    python bench/workflow.py --engine-only 2000 [--rounds 3]   # the engine alone, for A/B runs
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bakusoku.db.engine import create_db_engine  # noqa: E402
from bakusoku.db.migrate import upgrade  # noqa: E402
from bakusoku.workflow import FunctionInvoker, WorkflowEngine, run_definition  # noqa: E402
from bakusoku.workflow.engine import ExecutionDescription  # noqa: E402

REGION, ACCOUNT = "us-east-1", "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/bench"
FUNCTION = "noop"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION}"


def noop(event: Any, context: Any) -> Any:
    """The task under test: returns its input, so only the engine's own cost is measured."""
    return event


def chain(kind: str, length: int) -> dict[str, Any]:
    """``length`` states of ``kind`` (Pass or Task), each passing its input on to the next."""
    states: dict[str, Any] = {}
    for index in range(length):
        state: dict[str, Any] = {"Type": kind}
        if kind == "Task":
            state["Resource"] = FUNCTION_ARN
        if index + 1 < length:
            state["Next"] = f"S{index + 1}"
        else:
            state["End"] = True
        states[f"S{index}"] = state
    return {"Comment": f"{length}-state {kind} chain", "StartAt": "S0", "States": states}


CASES: dict[str, tuple[dict[str, Any], dict[str, Any], int]] = {
    # name: (definition here, definition on the peer, state transitions per execution)
    "pass50": (chain("Pass", 50), chain("Pass", 50), 50),
    "task5": (chain("Task", 5), chain("Pass", 5), 5),
}
INPUT = {"photo": "uploads/2024/img_0001.jpg", "size": 1234567}


def _ms(values: list[float]) -> float:
    return statistics.median(values) * 1000.0


# ---- bakusoku ------------------------------------------------------------------------------------


def bench_in_process(definition: dict[str, Any], transitions: int, runs: int) -> dict[str, float]:
    functions = {FUNCTION: noop}
    for _ in range(min(20, runs)):  # warm up
        run_definition(definition, INPUT, functions=functions)
    times = []
    started = time.perf_counter()
    for _ in range(runs):
        t0 = time.perf_counter()
        result = run_definition(definition, INPUT, functions=functions)
        times.append(time.perf_counter() - t0)
        assert result.status == "SUCCEEDED", result
    total = time.perf_counter() - started
    return {
        "execution_ms": _ms(times),
        "transitions_per_s": transitions * runs / total,
    }


class _Ends:
    """Executions that ended, from the engine's listener; wakes the waiter once all it awaits did."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ended: dict[str, str] = {}
        self.awaited: set[str] = set()
        self.all_ended = threading.Event()

    def __call__(self, description: ExecutionDescription) -> None:
        with self.lock:
            self.ended[description.name] = description.status
            self.awaited.discard(description.name)
            if not self.awaited:
                self.all_ended.set()

    def wait(self, names: list[str], timeout: float = 120) -> None:
        with self.lock:
            self.awaited = {name for name in names if name not in self.ended}
            self.all_ended.clear()
            if not self.awaited:
                self.all_ended.set()
        if not self.all_ended.wait(timeout):
            raise TimeoutError(f"{len(self.awaited)} executions did not end in {timeout} s")
        bad = {n: self.ended[n] for n in names if self.ended[n] != "SUCCEEDED"}
        assert not bad, bad


def bench_persisted(
    definition: dict[str, Any], transitions: int, runs: int, batch: int, directory: Path
) -> dict[str, float]:
    db = create_db_engine(f"sqlite:///{directory / f'{uuid.uuid4().hex}.db'}")
    upgrade(db)  # the shipped migrations, as a deployment applies them
    engine = WorkflowEngine(
        db, FunctionInvoker({FUNCTION_ARN: noop}), region=REGION, account=ACCOUNT
    )
    ends = _Ends()
    engine.add_listener(ends)
    engine.start()
    try:
        arn = engine.register_state_machine("bench", definition)
        times = []
        for index in range(runs):
            name = f"seq-{index}"
            t0 = time.perf_counter()
            engine.start_execution(arn, INPUT, name=name)
            ends.wait([name])
            times.append(time.perf_counter() - t0)
        names = [f"batch-{index}" for index in range(batch)]
        t0 = time.perf_counter()
        for name in names:
            engine.start_execution(arn, INPUT, name=name)
        ends.wait(names)
        total = time.perf_counter() - t0
    finally:
        engine.stop()
        db.dispose()
    return {
        "execution_ms": _ms(times),
        "transitions_per_s": transitions * batch / total,
        "sequential_transitions_per_s": transitions / statistics.median(times),
    }


# ---- the peer: moto ------------------------------------------------------------------------------


class Moto:
    """moto in server mode on loopback, with its Step Functions interpreter enabled."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Any:
        import boto3
        from botocore.config import Config

        self.server.start()
        request = urllib.request.Request(
            f"{self.url}/moto-api/config",
            data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=10).read()
        return boto3.client(
            "stepfunctions",
            region_name=REGION,
            endpoint_url=self.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(max_pool_connections=64, retries={"max_attempts": 0}),
        )

    def __exit__(self, *_exc: object) -> None:
        self.server.stop()


def _await_moto(client: Any, machine: str, arns: list[str], timeout: float = 300) -> None:
    """Wait for ``arns`` to end: one call per poll (ListExecutions when several are pending).

    Polling each execution with DescribeExecution would load moto's server with as many requests
    as executions, and slow the peer being measured (by about a third for 20 at a 2 ms interval).
    """
    pending = set(arns)
    deadline = time.monotonic() + timeout
    while pending:
        if len(pending) == 1:
            (arn,) = pending
            if client.describe_execution(executionArn=arn)["status"] != "RUNNING":
                pending.clear()
        else:
            pending &= _moto_executions(client, machine, "RUNNING")
        if pending:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(pending)} moto executions still running")
            time.sleep(0.002)
    failed = set(arns) - _moto_executions(client, machine, "SUCCEEDED")
    assert not failed, f"moto executions did not succeed: {sorted(failed)}"


def _moto_executions(client: Any, machine: str, status: str) -> set[str]:
    found: set[str] = set()
    kwargs: dict[str, Any] = {"stateMachineArn": machine, "statusFilter": status}
    while True:
        page = client.list_executions(**kwargs)
        found.update(e["executionArn"] for e in page["executions"])
        if not page.get("nextToken"):
            return found
        kwargs["nextToken"] = page["nextToken"]


def bench_moto(
    client: Any, definition: dict[str, Any], transitions: int, runs: int, batch: int
) -> dict[str, float]:
    machine = client.create_state_machine(
        name=f"bench-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]

    def start(name: str) -> str:
        return str(
            client.start_execution(stateMachineArn=machine, name=name, input=json.dumps(INPUT))[
                "executionArn"
            ]
        )

    times = []
    for index in range(runs):
        t0 = time.perf_counter()
        _await_moto(client, machine, [start(f"seq-{index}")])
        times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    arns = [start(f"batch-{index}") for index in range(batch)]
    _await_moto(client, machine, arns)
    total = time.perf_counter() - t0
    return {
        "execution_ms": _ms(times),
        "transitions_per_s": transitions * batch / total,
        "sequential_transitions_per_s": transitions / statistics.median(times),
    }


# ---- report --------------------------------------------------------------------------------------


def _line(label: str, figures: dict[str, float]) -> None:
    print(
        f"  {label:<34} {figures['execution_ms']:9.3f} ms/execution   "
        f"{figures['transitions_per_s']:12.0f} transitions/s"
    )


def engine_only(executions: int, rounds: int) -> dict[str, Any]:
    """The persisted engine alone on the 5-Task chain: throughput, and what each execution costs
    the process (CPU time, voluntary context switches) by getrusage."""
    definition, _, transitions = CASES["task5"]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        bench_persisted(definition, transitions, 10, 200, Path(tmp))  # warm up
        for _ in range(rounds):
            before = resource.getrusage(resource.RUSAGE_SELF)
            figures = bench_persisted(definition, transitions, 1, executions, Path(tmp))
            after = resource.getrusage(resource.RUSAGE_SELF)
            result = {
                "transitions_per_s": figures["transitions_per_s"],
                "cpu_ms_per_execution": (
                    after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
                )
                * 1000
                / executions,
                "switches_per_execution": (after.ru_nvcsw - before.ru_nvcsw) / executions,
            }
            print(
                f"  {result['transitions_per_s']:7.0f} transitions/s   "
                f"{result['cpu_ms_per_execution']:.3f} ms CPU/execution   "
                f"{result['switches_per_execution']:.1f} context switches/execution"
            )
            results.append(result)
    summary = {key: round(value, 3) for key, value in _median_figures(results).items()}
    print(json.dumps({"engine_only": summary}))
    return summary


def _median_figures(rounds: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every measurement")
    parser.add_argument("--runs", type=int, default=200, help="sequential executions per round")
    parser.add_argument("--batch", type=int, default=100, help="concurrent executions per round")
    parser.add_argument("--peer-runs", type=int, default=20, help="sequential runs on moto")
    parser.add_argument("--peer-batch", type=int, default=20, help="concurrent runs on moto")
    parser.add_argument(
        "--engine-only",
        type=int,
        metavar="N",
        help="only the persisted engine: N concurrent 5-Task executions, with CPU time and "
        "context switches per execution (for comparing engine changes; no peer)",
    )
    args = parser.parse_args(argv)
    if args.engine_only:
        return engine_only(args.engine_only, args.rounds)

    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp, Moto() as client:
        for case, (definition, peer_definition, transitions) in CASES.items():
            print(f"{case}: {definition['Comment']}")
            # The measurements take turns, so a machine that slows down meanwhile slows all alike.
            rounds: dict[str, list[dict[str, float]]] = {"in": [], "persisted": [], "moto": []}
            for _ in range(args.rounds):
                rounds["in"].append(bench_in_process(definition, transitions, args.runs))
                rounds["persisted"].append(
                    bench_persisted(definition, transitions, args.runs, args.batch, Path(tmp))
                )
                rounds["moto"].append(
                    bench_moto(
                        client, peer_definition, transitions, args.peer_runs, args.peer_batch
                    )
                )
            in_process = _median_figures(rounds["in"])
            persisted = _median_figures(rounds["persisted"])
            peer = _median_figures(rounds["moto"])
            _line("bakusoku in process", in_process)
            _line("bakusoku persisted (SQLite)", persisted)
            _line("moto (Pass stand-ins)" if case == "task5" else "moto", peer)
            per_round = [
                p["transitions_per_s"] / m["transitions_per_s"]
                for p, m in zip(rounds["persisted"], rounds["moto"], strict=True)
            ]
            ratios = {
                "in_process_vs_moto": in_process["transitions_per_s"] / peer["transitions_per_s"],
                "persisted_vs_moto": persisted["transitions_per_s"] / peer["transitions_per_s"],
                "persisted_sequential_vs_moto": persisted["sequential_transitions_per_s"]
                / peer["sequential_transitions_per_s"],
                "overhead_moto_over_persisted": peer["execution_ms"] / persisted["execution_ms"],
            }
            print(
                f"  throughput vs moto (medians of {args.rounds} rounds): in process "
                f"{ratios['in_process_vs_moto']:.1f}x, persisted {ratios['persisted_vs_moto']:.1f}x "
                f"(rounds: {', '.join(f'{r:.1f}x' for r in per_round)}; one at a time "
                f"{ratios['persisted_sequential_vs_moto']:.1f}x); "
                f"moto's per-execution time is {ratios['overhead_moto_over_persisted']:.1f}x ours"
            )
            figures[case] = {
                "in_process": in_process,
                "persisted": persisted,
                "moto": peer,
                "ratios": ratios,
                "persisted_vs_moto_rounds": per_round,
            }
    summary = {
        case: {
            "in_process_tps": round(f["in_process"]["transitions_per_s"]),
            "persisted_tps": round(f["persisted"]["transitions_per_s"]),
            "moto_tps": round(f["moto"]["transitions_per_s"]),
            "in_process_ms": round(f["in_process"]["execution_ms"], 3),
            "persisted_ms": round(f["persisted"]["execution_ms"], 3),
            "moto_ms": round(f["moto"]["execution_ms"], 3),
            "persisted_vs_moto": round(f["ratios"]["persisted_vs_moto"], 1),
            "persisted_vs_moto_rounds": [round(r, 1) for r in f["persisted_vs_moto_rounds"]],
            "in_process_vs_moto": round(f["ratios"]["in_process_vs_moto"], 1),
        }
        for case, f in figures.items()
    }
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
