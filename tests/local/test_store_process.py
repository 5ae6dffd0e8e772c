"""The store's own process(es), as ``bakusoku up`` runs them, with the SQLite outbox.

With ``store_processes`` 2, two processes accept on the store's port; each groups its uploads'
events into its own outbox transactions. Every acknowledged upload must have its event in the
outbox exactly once, whichever process took it.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from bakusoku.config import Settings
from bakusoku.db.engine import create_db_engine
from bakusoku.db.schema import object_events
from bakusoku.local.store_process import StoreServerProcess
from bakusoku.storage.presign import Presigner
from tests.local.store_settings import store_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def two_processes(tmp_path: Path) -> Iterator[tuple[Settings, StoreServerProcess]]:
    settings = store_settings(tmp_path, store_processes=2)
    process = StoreServerProcess(settings, wake_port=0)
    process.start()
    try:
        yield settings, process
    finally:
        process.stop()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _server_side_inode(client: socket.socket) -> int | None:
    """The inode of the server's end of ``client``'s connection (from /proc/net/tcp)."""
    local_port = client.getsockname()[1]
    server_port = client.getpeername()[1]
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], int(fields[9])
        if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) == (
            local_port
        ):
            return inode
    return None


def _owner(client: socket.socket, workers: list[int], timeout: float = 10) -> int:
    """Which worker process accepted ``client``'s connection."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        inode = _server_side_inode(client)
        for pid in workers:
            with_fds = Path(f"/proc/{pid}/fd")
            try:
                links = [os.readlink(fd) for fd in with_fds.iterdir()]
            except OSError:
                continue
            if inode is not None and f"socket:[{inode}]" in links:
                return pid
        time.sleep(0.02)
    raise AssertionError("no store process accepted the connection")


def _put(
    sock: socket.socket, presigner: Presigner, settings: Settings, key: str, *, tamper: bool = False
) -> bytes:
    """One presigned PUT on ``sock``; the head of the answer (its body is read too)."""
    data = os.urandom(300 * 1024)  # read with the store's direct body path
    grant = presigner.presign_put(
        settings.bucket, key, content_type="image/jpeg", content_length=len(data), expires_in=600
    )
    target = grant.url.removeprefix(settings.store_url)
    if tamper:
        target = target.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    lines = [f"PUT {target} HTTP/1.1", f"Host: {settings.host}:{settings.effective_store_port}"]
    lines += [f"{name}: {value}" for name, value in grant.headers.items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + data)
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(65536)
        assert chunk, answer
        answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    length = int(head.lower().partition(b"content-length: ")[2].split(b"\r\n")[0] or 0)
    while len(body) < length:
        body += sock.recv(65536)
    if not tamper:
        assert head.startswith(b"HTTP/1.1 200 "), head
        assert hashlib.md5(data).hexdigest().encode() in head
    return head + b"\r\n\r\n" + body


def test_two_store_processes_verify_signatures_and_record_each_upload_exactly_once(
    two_processes: tuple[Settings, StoreServerProcess],
) -> None:
    settings, process = two_processes
    assert process.pid is not None
    deadline = time.monotonic() + 30
    while len(workers := _children(process.pid)) < 2:
        assert time.monotonic() < deadline, "the store's second process did not start"
        time.sleep(0.05)

    # Open connections until each process has accepted one of them.
    by_worker: dict[int, socket.socket] = {}
    spare = []
    for _ in range(64):
        sock = socket.create_connection((settings.host, settings.effective_store_port))
        sock.settimeout(30)
        owner = _owner(sock, workers)
        if owner in by_worker:
            spare.append(sock)
        else:
            by_worker[owner] = sock
        if len(by_worker) == 2:
            break
    for sock in spare:
        sock.close()
    assert len(by_worker) == 2, "every connection went to the same process"

    presigner = Presigner(
        settings.store_url, settings.region, settings.access_key_id, settings.secret_access_key
    )
    keys = {
        pid: [f"{settings.upload_prefix}two/{uuid.uuid4().hex}.jpg" for _ in range(3)]
        for pid in by_worker
    }

    def upload(pid: int) -> None:
        for key in keys[pid]:  # one after another on the connection that process accepted
            _put(by_worker[pid], presigner, settings, key)
        # Each process checks signatures with the same keys: a tampered one is refused.
        refused = _put(by_worker[pid], presigner, settings, keys[pid][0] + "x", tamper=True)
        assert refused.startswith(b"HTTP/1.1 403 "), refused
        assert b"<Code>SignatureDoesNotMatch</Code>" in refused

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(upload, by_worker))
    for sock in by_worker.values():
        sock.close()

    engine = create_db_engine(settings.effective_database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(object_events.c.object_key)).scalars().all()
    finally:
        engine.dispose()
    expected = sorted(key for pid_keys in keys.values() for key in pid_keys)
    assert sorted(rows) == expected  # each once: none lost, none twice
