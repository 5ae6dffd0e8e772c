"""The environment's own process: init (import the handler once), then serve invokes one by one."""

from __future__ import annotations

import importlib
import json
import logging
import os
import resource
import socket
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any, NamedTuple

from bakusoku import utc
from bakusoku.runtime.channel import Channel, ChannelClosed
from bakusoku.runtime.context import LambdaContext
from bakusoku.runtime.errors import OUT_OF_MEMORY, RESPONSE_TOO_LARGE
from bakusoku.runtime.payload import MAX_RESPONSE_BYTES, dumps

Handler = Callable[[Any, LambdaContext], Any]

# Messages on the channel (pickled tuples; small and fast):
#   parent → worker: WorkerSpec first, then per invoke
#                    (request_id, deadline_epoch_ms, invoked_arn, payload, trace_header),
#                    or None to stop
#   worker → parent: ("ready",) | ("init_error", error) | ("ok", body, content_type, ms, max_mb)
#                    | ("error", error, ms, max_mb) | ("fatal", error, ms, max_mb)
READY = "ready"
INIT_ERROR = "init_error"
OK = "ok"
ERROR = "error"
FATAL = "fatal"

_LOG_FORMAT = "[%(levelname)s]\t%(asctime)s\t%(aws_request_id)s\t%(message)s"
_current_request_id = ""


class WorkerSpec(NamedTuple):
    """What a new environment needs beyond its process environment; plain values, pickled."""

    handler: str
    sys_path: list[str]
    task_root: str


class _Fault(Exception):
    """A failure the runtime reports under its own errorType (Runtime.ImportModuleError...)."""

    def __init__(self, error_type: str, message: str, trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace or []


def main(fd: int) -> None:
    """Process entry point: receive the spec, set up like Lambda's sandbox, init, then serve."""
    conn = Channel(socket.socket(fileno=fd))
    try:
        spec: WorkerSpec = conn.recv()
    except ChannelClosed:
        return
    _prepare_process(spec)
    try:
        handler = load_handler(spec.handler)
    except _Fault as fault:
        _send_quietly(
            conn, (INIT_ERROR, make_error(fault.message, fault.error_type, fault.trace, ""))
        )
        return
    except Exception as exc:
        _send_quietly(conn, (INIT_ERROR, _error_from_exception(exc, "")))
        return
    if _send_quietly(conn, (READY,)):
        _serve(conn, handler)


def _send_quietly(conn: Channel, message: tuple[Any, ...]) -> bool:
    """Send; False when the parent has gone (then there is nobody left to tell)."""
    try:
        conn.send(message)
    except ChannelClosed:
        return False
    return True


def _prepare_process(spec: WorkerSpec) -> None:
    # The parent's sys.path (it may have been extended at run time) after PYTHONPATH and the task
    # root, so handlers import exactly what they would in the parent.
    extra = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    path: list[str] = []
    for entry in [*extra, spec.task_root, *spec.sys_path]:
        if entry not in path:
            path.append(entry)
    sys.path[:] = path
    # Lambda's runtime writes stdout unbuffered so every print reaches the log at once.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(line_buffering=True)
    _setup_logging()


def _setup_logging() -> None:
    class _RequestIdFilter(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            record.aws_request_id = _current_request_id
            return True

    class _OneLineFormatter(logging.Formatter):
        # As Lambda's runtime does: a record with newlines (a traceback) stays one log event.
        def format(self, record: logging.LogRecord) -> str:
            return super().format(record).replace("\n", "\r")

        def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
            return utc.iso_millis(record.created)

    formatter = _OneLineFormatter(_LOG_FORMAT)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]


def load_handler(spec: str) -> Handler:
    """Import ``module.function`` the way Lambda's Python runtime does, with its fault names."""
    try:
        modname, fname = spec.rsplit(".", 1)
    except ValueError as exc:
        raise _Fault("Runtime.MalformedHandlerName", f"Bad handler '{spec}': {exc}") from None
    if modname.split(".")[0] in sys.builtin_module_names:
        raise _Fault(
            "Runtime.BuiltInModuleConflict",
            f"Cannot use built-in module {modname} as a handler module",
        )
    try:
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as exc:
        raise _Fault(
            "Runtime.ImportModuleError", f"Unable to import module '{modname}': {exc}"
        ) from None
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise _Fault(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{modname}': {exc}", trace
        ) from None
    try:
        handler: Handler = getattr(module, fname)
    except AttributeError:
        raise _Fault(
            "Runtime.HandlerNotFound", f"Handler '{fname}' missing on module '{modname}'"
        ) from None
    return handler


def make_error(message: str, error_type: str, trace: list[str], request_id: str) -> dict[str, Any]:
    return {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": trace,
    }


def _error_from_exception(exc: BaseException | None, request_id: str) -> dict[str, Any]:
    assert exc is not None
    frames = traceback.extract_tb(exc.__traceback__)
    # Like Lambda, start the trace at the user's code, not at the runtime's or importlib's frames.
    while frames and _is_machinery(frames[0].filename):
        frames.pop(0)
    return make_error(str(exc), type(exc).__name__, traceback.format_list(frames), request_id)


def _is_machinery(filename: str) -> bool:
    return filename == __file__ or filename.startswith("<frozen ") or filename == importlib.__file__


def _max_memory_mb() -> int:
    """This process's peak resident memory: Lambda's "Max Memory Used"."""
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent through fork and exec, so
    # a worker started by a large process would report the parent's peak as its own.
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    return int(peak / (1024 * 1024)) if sys.platform == "darwin" else int(peak / 1024)


def _serve(conn: Channel, handler: Handler) -> None:
    global _current_request_id
    while True:
        try:
            message = conn.recv()
        except ChannelClosed:
            return  # the parent went away: nothing left to serve
        if message is None:
            return
        request_id, deadline_ms, invoked_arn, body, trace_header = message
        _current_request_id = request_id
        # As Lambda's runtime does, so X-Ray SDKs in the handler join the caller's trace.
        os.environ["_X_AMZN_TRACE_ID"] = trace_header
        reply = _invoke(handler, request_id, deadline_ms, invoked_arn, body)
        _current_request_id = ""
        if not _send_quietly(conn, reply) or reply[0] == FATAL:
            return


def _invoke(
    handler: Handler, request_id: str, deadline_ms: int, invoked_arn: str, body: bytes
) -> tuple[Any, ...]:
    started = time.perf_counter()
    try:
        event = json.loads(body)
        context = LambdaContext(request_id, invoked_arn, deadline_ms)
        result = handler(event, context)
        out, content_type = _marshal(result)
        if len(out) > MAX_RESPONSE_BYTES:
            raise _Fault(
                RESPONSE_TOO_LARGE,
                "Response payload size exceeded maximum allowed payload size "
                f"({MAX_RESPONSE_BYTES} bytes).",
            )
    except _Fault as fault:
        error = make_error(fault.message, fault.error_type, fault.trace, request_id)
        return (ERROR, error, _elapsed_ms(started), _max_memory_mb())
    except MemoryError:
        # The function went past its memory: Lambda kills such an environment; so do we.
        error = make_error(
            f"RequestId: {request_id} Error: Runtime exited with error: signal: killed",
            OUT_OF_MEMORY,
            [],
            request_id,
        )
        return (FATAL, error, _elapsed_ms(started), _max_memory_mb())
    except Exception as exc:
        error = _error_from_exception(exc, request_id)
        return (ERROR, error, _elapsed_ms(started), _max_memory_mb())
    return (OK, out, content_type, _elapsed_ms(started), _max_memory_mb())


def _marshal(result: Any) -> tuple[bytes, str]:
    if isinstance(result, bytes):
        return result, "application/unknown"
    try:
        return dumps(result), "application/json"
    except (TypeError, ValueError) as exc:
        raise _Fault("Runtime.MarshalError", f"Unable to marshal response: {exc}") from None


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
