"""The store alone against its peers: the same bytes PUT to bakusoku's store, moto and a floor.

Each target runs in its own process(es), with no photo processing anywhere:
  * ``store``: bakusoku's object store endpoint as ``bakusoku up`` runs it (SigV4 check, atomic
    durable write, the upload's event in the SQLite outbox), started alone;
  * ``moto``: moto's S3 server (ThreadedMotoServer), the Python S3 emulator, in a child process;
  * ``floor``: ``bench/upload_floor.py``, the bytes over loopback into a file with the same digest
    and the same fsync, no HTTP.
Rounds interleave the targets, so a neighbour's load hits each about equally. Besides latency,
each target's server CPU time per upload (user + system, all its threads and processes, from
/proc) is reported: on a shared machine it is steadier than latency.
"""

from __future__ import annotations

import http.client
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from bakusoku.config import ensure_credentials, load_settings
from bakusoku.db.engine import create_db_engine
from bakusoku.db.migrate import upgrade
from bakusoku.local.store_process import StoreServerProcess
from bakusoku.storage.presign import Presigner

HERE = Path(__file__).resolve().parent
LENGTH_PREFIX_BYTES = 8
TARGETS = ("floor", "store", "moto")

Upload = Callable[[], float]  # one upload; returns seconds until it was acknowledged


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited early")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{process.args} did not listen on {port} within {timeout} s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and its descendants that are still running."""
    ticks = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / ticks
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += times.get(current, 0.0)
        todo.extend(children.get(current, []))
    return total


@dataclass
class Target:
    """How to make one client of a target (each client keeps its connection) and its server."""

    make_client: Callable[[], Upload]
    server_pid: int


@contextmanager
def child(command: list[str], port: int) -> Iterator[int]:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, process)
        yield process.pid
    finally:
        process.terminate()
        process.wait(10)


# ---- targets -------------------------------------------------------------------------------------


@contextmanager
def floor_target(data: bytes, workdir: Path) -> Iterator[Target]:
    """Each client thread keeps one connection, as the HTTP clients keep theirs alive."""
    port = free_port()
    command = [sys.executable, str(HERE / "upload_floor.py"), str(port), str(workdir / "floor")]
    with child([*command, "--durable"], port) as pid:
        prefix = len(data).to_bytes(LENGTH_PREFIX_BYTES, "big")

        def client() -> Upload:
            sock = socket.create_connection(("127.0.0.1", port))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def upload() -> float:
                started = time.perf_counter()
                sock.sendall(prefix)
                sock.sendall(data)
                digest = sock.recv(32, socket.MSG_WAITALL)
                elapsed = time.perf_counter() - started
                assert len(digest) == 32, digest
                return elapsed

            return upload

        yield Target(client, pid)


@contextmanager
def store_target(
    data: bytes, workdir: Path, client: httpx.Client, store_processes: int | None
) -> Iterator[Target]:
    """bakusoku's store process, alone: nothing consumes the events it records."""
    port, store_port = free_port(), free_port()
    settings = ensure_credentials(
        load_settings(
            {
                "data_dir": workdir / "store",
                "port": port,
                "store_port": store_port,
                "store_processes": store_processes,
                "log_format": "text",
            },
            environ={},
        )
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_db_engine(settings.effective_database_url)
    upgrade(engine)
    engine.dispose()
    presigner = Presigner(
        settings.store_url, settings.region, settings.access_key_id, settings.secret_access_key
    )
    process = StoreServerProcess(settings, wake_port=0)
    process.start()
    try:
        assert process.pid is not None
        yield Target(
            lambda: _presigned_upload(
                settings.store_url, presigner, settings.bucket, data, "uploads/"
            ),
            process.pid,
        )
    finally:
        process.stop()


@contextmanager
def moto_target(data: bytes, client: httpx.Client) -> Iterator[Target]:
    port = free_port()
    serve = (
        "import sys, time; from moto.server import ThreadedMotoServer;"
        "ThreadedMotoServer('127.0.0.1', int(sys.argv[1]), verbose=False).start();"
        "time.sleep(10**9)"
    )
    with child([sys.executable, "-c", serve, str(port)], port) as pid:
        endpoint = f"http://127.0.0.1:{port}"
        presigner = Presigner(endpoint, "us-east-1", "bench", "bench-secret")
        bucket = "bench"
        client.put(f"{endpoint}/{bucket}").raise_for_status()
        yield Target(lambda: _presigned_upload(endpoint, presigner, bucket, data, ""), pid)


def _presigned_upload(
    endpoint: str, presigner: Presigner, bucket: str, data: bytes, prefix: str
) -> Upload:
    """One client with its own connection, as lean as the floor's: ``http.client`` sends the
    body with one ``sendall`` of the caller's bytes. (httpcore's ``send`` loop slices off what
    was sent, copying the rest of a 5 MB body each time under the GIL: the client's CPU, which
    the servers then share the cores with.)"""
    host, port = urlsplit(endpoint).hostname, urlsplit(endpoint).port
    connection = http.client.HTTPConnection(host or "127.0.0.1", port, timeout=600)

    def upload() -> float:
        grant = presigner.presign_put(
            bucket,
            f"{prefix}bench/{uuid.uuid4().hex}.jpg",
            content_type="image/jpeg",
            content_length=len(data),
            expires_in=600,
        )
        target = grant.url.removeprefix(endpoint)
        started = time.perf_counter()
        connection.request("PUT", target, body=data, headers=grant.headers)
        response = connection.getresponse()
        answer = response.read()
        elapsed = time.perf_counter() - started
        assert response.status == 200, answer
        return elapsed

    return upload


# ---- measuring -----------------------------------------------------------------------------------


@dataclass
class Scenario:
    """Upload latencies of one target at one concurrency, one list per round, and server CPU."""

    rounds: list[list[float]]
    cpu_seconds: float = 0.0

    @property
    def cpu_ms_per_upload(self) -> float:
        return self.cpu_seconds * 1000 / sum(len(r) for r in self.rounds)

    @property
    def p50_ms(self) -> float:
        """The median over rounds of each round's p50."""
        return statistics.median(statistics.median(r) for r in self.rounds) * 1000

    @property
    def round_p50s_ms(self) -> list[float]:
        return [round(statistics.median(r) * 1000, 1) for r in self.rounds]


def measure(target: Target, clients: int, uploads: int, scenario: Scenario | None = None) -> None:
    """``uploads`` uploads by ``clients`` concurrent clients, added to ``scenario`` as a round."""
    pool_clients = [target.make_client() for _ in range(clients)]
    cpu_before = cpu_seconds(target.server_pid)
    with ThreadPoolExecutor(clients) as pool:
        per_client = uploads // clients
        batches = list(pool.map(lambda c: [c() for _ in range(per_client)], pool_clients))
    if scenario is not None:
        scenario.cpu_seconds += cpu_seconds(target.server_pid) - cpu_before
        scenario.rounds.append([seconds for batch in batches for seconds in batch])


def run_peers(
    data: bytes, workdir: Path, *, rounds: int, uploads: int, store_processes: int | None
) -> dict[str, Any]:
    """Median p50 per target at 1 and 16 clients, and the store's ratios to its peers."""
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    results: dict[tuple[str, int], Scenario] = {}
    with (
        httpx.Client(timeout=600, limits=limits) as client,
        floor_target(data, workdir) as floor,
        store_target(data, workdir, client, store_processes) as store,
        moto_target(data, client) as moto,
    ):
        targets = {"floor": floor, "store": store, "moto": moto}
        for name in TARGETS:  # warm up: connections, first files, imports
            measure(targets[name], 16, 16)
        for _ in range(rounds):
            for name in TARGETS:
                for clients, count in ((1, uploads), (16, uploads * 2)):
                    scenario = results.setdefault((name, clients), Scenario([]))
                    measure(targets[name], clients, count, scenario)
    return report(results)


def report(results: dict[tuple[str, int], Scenario]) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    print(f"\nstore alone vs peers (pid {os.getpid()}): p50 per round, median of rounds")
    for (name, clients), scenario in sorted(results.items(), key=lambda item: item[0][::-1]):
        print(
            f"  {name:<6} {clients:>2} client(s): p50 {scenario.p50_ms:8.1f} ms"
            f"   server CPU {scenario.cpu_ms_per_upload:6.1f} ms/upload"
            f"   rounds {scenario.round_p50s_ms}"
        )
        figures[f"{name}_{clients}_p50_ms"] = round(scenario.p50_ms, 1)
        figures[f"{name}_{clients}_cpu_ms"] = round(scenario.cpu_ms_per_upload, 1)
    for clients in (1, 16):
        store = results[("store", clients)].p50_ms
        floor = results[("floor", clients)].p50_ms
        moto = results[("moto", clients)].p50_ms
        figures[f"store_over_floor_{clients}"] = round(store / floor, 2)
        figures[f"moto_over_store_{clients}"] = round(moto / store, 2)
        # What moto/store can reach at best: the store acknowledging as fast as the floor.
        figures[f"moto_over_floor_{clients}"] = round(moto / floor, 2)
        print(
            f"  {clients:>2} client(s): store/floor {store / floor:5.2f}x (target <= 1.5 at 16),"
            f" moto/store {moto / store:5.2f}x (target >= 2 at 16;"
            f" moto/floor, its ceiling, {moto / floor:5.2f}x)"
        )
        cpu = {name: results[(name, clients)].cpu_ms_per_upload for name in TARGETS}
        figures[f"cpu_store_over_floor_{clients}"] = round(cpu["store"] / cpu["floor"], 2)
        figures[f"cpu_moto_over_store_{clients}"] = round(cpu["moto"] / cpu["store"], 2)
        print(  # steadier than latency when other jobs share the machine
            f"  {clients:>2} client(s), server CPU per upload: store/floor"
            f" {cpu['store'] / cpu['floor']:5.2f}x, moto/store {cpu['moto'] / cpu['store']:5.2f}x"
        )
    return figures
