"""ExecutionEnvironment: the parent's handle on one worker process: start, invoke, watch, kill."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bakusoku.runtime import logs, worker
from bakusoku.runtime.channel import Channel, ChannelClosed
from bakusoku.runtime.errors import EXIT_ERROR, OUT_OF_MEMORY, TIMEOUT

# How often a waiting invoke looks at the worker's memory; a result wakes it at once regardless.
MEMORY_CHECK_SECONDS = 0.05
# Lambda cuts a log event at 256 KiB; a longer line without a newline is passed on in pieces.
MAX_LINE_BYTES = 256 * 1024
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
# The directory holding the bakusoku package, so a worker can import it from any working directory.
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
_BOOTSTRAP = (
    "import sys; sys.path.insert(0, {root!r}); from bakusoku.runtime.worker import main; main({fd})"
)

# Lambda's runtime is written in Go and names signals the way Go prints them.
_SIGNAL_NAMES: dict[int, str] = {
    signal.SIGSEGV: "segmentation fault",
    signal.SIGKILL: "killed",
    signal.SIGABRT: "aborted",
    signal.SIGTERM: "terminated",
    signal.SIGBUS: "bus error",
    signal.SIGFPE: "floating point exception",
    signal.SIGILL: "illegal instruction",
    signal.SIGINT: "interrupt",
    signal.SIGHUP: "hangup",
    signal.SIGPIPE: "broken pipe",
    signal.SIGQUIT: "quit",
}


@dataclass(frozen=True)
class Outcome:
    """What one invoke (or init) ended with; ``reusable`` says whether the environment survives."""

    status: str  # "ready", "init_error", "ok", "error", "timeout", "crash" or "oom"
    duration_ms: float
    max_memory_mb: int = 0
    body: bytes = b""
    content_type: str = "application/json"
    error: dict[str, Any] | None = None

    @property
    def reusable(self) -> bool:
        return self.status in ("ok", "error")


class ExecutionEnvironment:
    """One worker process serving one function, one invoke at a time.

    The worker is a fresh interpreter (never a fork of this threaded process) started with the
    function's own process environment, talking over a socket pair. What it writes to stdout and
    stderr comes back through a pipe and is logged line by line by the thread that invoked it
    (``bakusoku.runtime.logs.function_output``), so worker output passes the same log handlers,
    filters and context as this process's own lines: nothing reaches the log unfiltered.
    """

    def __init__(
        self,
        spec: worker.WorkerSpec,
        environ: Mapping[str, str],
        *,
        function_name: str,
        memory_mb: int,
        log_stream_name: str,
    ) -> None:
        self.function_name = function_name
        self.memory_mb = memory_mb
        self.log_stream_name = log_stream_name
        self.last_used = time.monotonic()
        self.init_duration_ms = 0.0
        self._spec = spec
        self._environ = dict(environ)
        self._channel: Channel | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._pidfd: int | None = None
        self._output: int | None = None  # the read end of the worker's stdout and stderr
        self._partial = b""
        self._request_id = ""
        self._killed = False
        self._terminated = False
        # Guards starting against terminate() from another thread (FunctionRuntime.close).
        self._start_lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(
        self, request_id: str, init_timeout: float, *, timeout_label: float
    ) -> Outcome | None:
        """Start the process and run init; None when ready, else the failure as an Outcome.

        ``timeout_label`` is the seconds quoted in the timeout message (Lambda quotes the
        function's timeout even when init was what ran long).
        """
        started = time.perf_counter()
        channel, child = Channel.pair()
        self._channel = channel
        self._request_id = request_id
        with self._start_lock:
            if self._terminated:
                child.close()
                return Outcome("crash", 0.0, error=_lost_reply(request_id))
            try:
                self._process = subprocess.Popen(
                    [
                        sys.executable,
                        "-c",
                        _BOOTSTRAP.format(root=_PACKAGE_ROOT, fd=child.fileno()),
                    ],
                    env=self._environ,
                    cwd=self._spec.task_root,
                    stdin=subprocess.DEVNULL,
                    pass_fds=(child.fileno(),),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    # Its own session: Ctrl-C in a terminal reaches the parent, which stops workers.
                    start_new_session=True,
                )
            finally:
                child.close()  # the child has its copy; ours would hide the child's exit from us
            assert self._process.stdout is not None
            self._output = self._process.stdout.fileno()
            os.set_blocking(self._output, False)
        self._pidfd = _open_pidfd(self._process.pid)
        with contextlib.suppress(ChannelClosed):  # if the process already ended, _await says how
            channel.send(self._spec)
        outcome = self._await(request_id, started, init_timeout, timeout_label=timeout_label)
        self.init_duration_ms = _ms_since(started)
        if outcome.status == "ready":
            return None
        if outcome.status in ("ok", "error"):  # init answers READY or INIT_ERROR, nothing else
            self.kill()
            return Outcome("crash", self.init_duration_ms, error=_lost_reply(request_id))
        self.kill()
        return outcome

    def invoke(
        self,
        request_id: str,
        invoked_arn: str,
        body: bytes,
        timeout_seconds: float,
        trace_header: str,
    ) -> Outcome:
        """Send one event and wait for the answer, the timeout, a crash or a memory overrun."""
        assert self._channel is not None, "start() the environment before invoking it"
        started = time.perf_counter()
        self._request_id = request_id
        deadline_epoch_ms = int(time.time() * 1000 + timeout_seconds * 1000)
        try:
            self._channel.send((request_id, deadline_epoch_ms, invoked_arn, body, trace_header))
        except ChannelClosed:
            return self._crashed(request_id, started)
        outcome = self._await(request_id, started, timeout_seconds, timeout_label=timeout_seconds)
        if outcome.status in ("ready", "init_error"):  # a worker answers these only once, at init
            self.kill()
            return Outcome("crash", _ms_since(started), error=_lost_reply(request_id))
        if outcome.status == "oom":
            self.kill()  # the worker ends itself after a MemoryError; make sure of it
        return outcome

    def _await(
        self, request_id: str, started: float, limit: float, *, timeout_label: float
    ) -> Outcome:
        assert self._channel is not None and self._process is not None
        deadline = time.monotonic() + limit
        limit_bytes = self.memory_mb * 1024 * 1024
        poller = select.poll()
        poller.register(self._channel.fileno(), select.POLLIN)
        if self._pidfd is not None:
            poller.register(self._pidfd, select.POLLIN)
        if self._output is not None:
            poller.register(self._output, select.POLLIN)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                message = (
                    f"RequestId: {request_id} Error: "
                    f"Task timed out after {timeout_label:.2f} seconds"
                )
                return Outcome(
                    "timeout",
                    _ms_since(started),
                    self.memory_mb,
                    error=worker.make_error(message, TIMEOUT, [], request_id),
                )
            wait_ms = max(1, int(min(remaining, MEMORY_CHECK_SECONDS) * 1000))
            events = dict(poller.poll(wait_ms))
            output = self._output
            if output is not None and output in events and not self._relay_output():
                poller.unregister(output)  # the worker closed it: it is ending
            if self._channel.fileno() in events:
                try:
                    reply = self._channel.recv()
                except ChannelClosed:
                    return self._crashed(request_id, started)
                # The worker wrote its lines before its reply: they are in the pipe, log them now.
                self._relay_output()
                return _outcome_from_reply(reply, request_id, started)
            if self._pidfd is not None and self._pidfd in events:
                return self._crashed(request_id, started)
            if _resident_bytes(self._process.pid) > limit_bytes:
                self.kill()
                message = (
                    f"RequestId: {request_id} Error: Runtime exited with error: signal: killed"
                )
                return Outcome(
                    "oom",
                    _ms_since(started),
                    self.memory_mb,
                    error=worker.make_error(message, OUT_OF_MEMORY, [], request_id),
                )

    def _crashed(self, request_id: str, started: float) -> Outcome:
        assert self._process is not None
        try:
            code: int | None = self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        self.kill()
        if code is None:
            reason = "unknown"
        elif code < 0:
            reason = "signal: " + _SIGNAL_NAMES.get(-code, f"signal {-code}")
        else:
            reason = f"exit status {code}"
        message = f"RequestId: {request_id} Error: Runtime exited with error: {reason}"
        return Outcome(
            "crash",
            _ms_since(started),
            error=worker.make_error(message, EXIT_ERROR, [], request_id),
        )

    def terminate(self) -> None:
        """Signal the process to end, from any thread; the thread using it reaps it with kill()."""
        with self._start_lock:
            self._terminated = True
            if self._process is not None and self._process.poll() is None:
                self._process.kill()

    def kill(self) -> None:
        """End the process now (Lambda never waits for a sandbox it discards) and free its fds."""
        if self._killed:
            return
        self._killed = True
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait()
            self._relay_output(final=True)
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._output = None
        if self._channel is not None:
            self._channel.close()
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None

    def _relay_output(self, *, final: bool = False) -> bool:
        """Log every complete line the worker wrote so far; False once the pipe is closed."""
        if self._output is None:
            return False
        open_ = True
        while True:
            try:
                chunk = os.read(self._output, 65536)
            except BlockingIOError:
                break
            except OSError:
                open_ = False
                break
            if not chunk:
                open_ = False
                break
            self._partial += chunk
        *lines, self._partial = self._partial.split(b"\n")
        if len(self._partial) >= MAX_LINE_BYTES or (self._partial and (final or not open_)):
            lines.append(self._partial)
            self._partial = b""
        for line in lines:
            logs.function_output(
                self.function_name, self._request_id, line.decode("utf-8", "replace")
            )
        if not open_:
            self._output = None
        return open_

    def is_alive(self) -> bool:
        return not self._killed and self._process is not None and self._process.poll() is None


def _outcome_from_reply(reply: tuple[Any, ...], request_id: str, started: float) -> Outcome:
    kind = reply[0]
    if kind == worker.READY:
        return Outcome("ready", _ms_since(started))
    if kind == worker.INIT_ERROR:
        error = dict(reply[1])
        error["requestId"] = error.get("requestId") or request_id
        return Outcome("init_error", _ms_since(started), error=error)
    if kind == worker.OK:
        _, body, content_type, duration_ms, max_mb = reply
        return Outcome("ok", duration_ms, max_mb, body=body, content_type=content_type)
    _, error, duration_ms, max_mb = reply
    return Outcome("error" if kind == worker.ERROR else "oom", duration_ms, max_mb, error=error)


def _lost_reply(request_id: str) -> dict[str, Any]:
    message = f"RequestId: {request_id} Error: Runtime exited without providing a reason"
    return worker.make_error(message, EXIT_ERROR, [], request_id)


def _open_pidfd(pid: int) -> int | None:
    # A pidfd becomes readable when the process ends, even if something else holds its socket.
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return None
    try:
        fd: int = opener(pid)
    except OSError:
        return None
    return fd


def _resident_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return 0  # no procfs (macOS) or the process just ended: nothing to enforce


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
