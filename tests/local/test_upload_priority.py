"""Uploads before processing: the gate's rules on a fake clock, then the store process's signals
reaching it over loopback while a real upload's body arrives."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bakusoku.config import Settings
from bakusoku.local.store_process import StoreServerProcess
from bakusoku.local.upload_priority import UploadPriority, UploadSignal
from bakusoku.runtime.wakeup import WakeupListener
from bakusoku.storage.presign import Presigner
from tests.local.store_settings import store_settings


class FakeClock:
    """A clock that only moves when the gate sleeps (or the test moves it); ``while_asleep``
    stands for what happens meanwhile."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []
        self.while_asleep: Callable[[], None] = lambda: None

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        self.while_asleep()


def _gate(clock: FakeClock, max_hold: float = 5.0) -> UploadPriority:
    return UploadPriority(max_hold, quiet_seconds=0.15, clock=clock, sleep=clock.sleep)


def test_with_no_upload_a_task_starts_at_once() -> None:
    clock = FakeClock()
    assert _gate(clock).wait_for_quiet() == 0.0
    assert clock.slept == []


def test_a_task_waits_until_uploads_paused_for_the_quiet_time() -> None:
    clock = FakeClock()
    gate = _gate(clock)
    gate.upload_seen()
    clock.now += 0.05
    assert gate.wait_for_quiet() == pytest.approx(0.10)


def test_an_upload_seen_while_waiting_extends_the_wait() -> None:
    clock = FakeClock()
    gate = _gate(clock)
    gate.upload_seen()
    # The next part of a body arrives during the first sleep only.
    clock.while_asleep = lambda: gate.upload_seen() if len(clock.slept) == 1 else None
    assert gate.wait_for_quiet() == pytest.approx(0.30)


def test_a_steady_stream_of_uploads_holds_a_task_at_most_the_max_hold() -> None:
    clock = FakeClock()
    gate = _gate(clock, max_hold=1.0)
    clock.while_asleep = gate.upload_seen  # uploads never pause
    gate.upload_seen()
    assert gate.wait_for_quiet() == pytest.approx(1.0)


def test_a_max_hold_of_zero_never_holds() -> None:
    clock = FakeClock()
    gate = _gate(clock, max_hold=0)
    gate.upload_seen()
    assert gate.wait_for_quiet() == 0.0


def test_the_store_signals_at_most_once_per_interval() -> None:
    clock = FakeClock()
    sent: list[float] = []
    signal = UploadSignal(lambda: sent.append(clock.now), interval_seconds=0.05, clock=clock)
    for _ in range(10):  # ten parts of a body within 0.09 s
        signal()
        clock.now += 0.01
    assert sent == [pytest.approx(100.0), pytest.approx(100.05)]


# ---- the store process's signals, over loopback ---------------------------------------------


@pytest.fixture
def signalling_store(tmp_path: Path) -> Iterator[tuple[Settings, UploadPriority]]:
    """A store process whose upload signals reach a gate with a long quiet time and hold."""
    settings = store_settings(tmp_path)
    gate = UploadPriority(30, quiet_seconds=1.0)
    listener = WakeupListener(gate.upload_seen, name="uploads")
    listener.start()
    process = StoreServerProcess(settings, wake_port=0, upload_port=listener.port)
    process.start()
    try:
        yield settings, gate
    finally:
        process.stop()
        listener.stop()


@pytest.mark.integration
def test_a_task_waits_while_an_upload_body_arrives_at_the_store(
    signalling_store: tuple[Settings, UploadPriority],
) -> None:
    settings, gate = signalling_store
    assert gate.wait_for_quiet() < 0.1  # nothing uploaded yet

    part, parts = 512 * 1024, 6  # 3 MiB, sent in six parts 0.2 s apart
    presigner = Presigner(
        settings.store_url, settings.region, settings.access_key_id, settings.secret_access_key
    )
    grant = presigner.presign_put(
        settings.bucket,
        f"{settings.upload_prefix}slow/{uuid.uuid4().hex}.jpg",
        content_type="image/jpeg",
        content_length=part * parts,
        expires_in=600,
    )
    host = f"Host: {settings.host}:{settings.effective_store_port}"  # signed
    head = [f"PUT {grant.url.removeprefix(settings.store_url)} HTTP/1.1", host]
    head += [f"{name}: {value}" for name, value in grant.headers.items()]
    answer: list[bytes] = []
    last_part_sent: list[float] = []

    def upload() -> None:
        with socket.create_connection((settings.host, settings.effective_store_port)) as sock:
            sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
            for _ in range(parts):
                sock.sendall(b"\xff" * part)
                time.sleep(0.2)
            last_part_sent.append(time.monotonic())
            sock.settimeout(30)
            answer.append(sock.recv(4096))

    uploading = threading.Thread(target=upload)
    uploading.start()
    time.sleep(0.7)  # the first MiB arrived and was signalled
    held = gate.wait_for_quiet()
    released = time.monotonic()
    uploading.join(30)

    assert answer and answer[0].startswith(b"HTTP/1.1 200 "), answer
    assert held > 1.0, "the task did not wait for the upload"
    assert released > last_part_sent[0], "the task started while the body was still arriving"
