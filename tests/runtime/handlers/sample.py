"""Handlers the runtime tests invoke in real worker processes."""

from __future__ import annotations

import ctypes
import os
import threading
import time
from pathlib import Path
from typing import Any

INVOCATIONS = 0
SEEN: list[str] = []
LOADED_AT = time.time()


class PhotoNotFoundError(Exception):
    """A handler-defined error: Lambda reports its bare class name as errorType."""


def counter(event: Any, context: Any) -> dict[str, Any]:
    global INVOCATIONS
    INVOCATIONS += 1
    SEEN.append(context.aws_request_id)
    if isinstance(event, dict) and event.get("sleep"):
        time.sleep(float(event["sleep"]))
    return {"count": INVOCATIONS, "seen": len(SEEN), "pid": os.getpid(), "loaded_at": LOADED_AT}


def echo(event: Any, context: Any) -> Any:
    return event


def describe(event: Any, context: Any) -> dict[str, Any]:
    names = [
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "_HANDLER",
        "LAMBDA_TASK_ROOT",
        "AWS_EXECUTION_ENV",
        "TZ",
        "STAGE",
        "SHARED",
        "_X_AMZN_TRACE_ID",
    ]
    return {
        "context": {
            "aws_request_id": context.aws_request_id,
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining_ms": context.get_remaining_time_in_millis(),
        },
        "env": {name: os.environ.get(name) for name in names},
        "cwd": os.getcwd(),
        "localtime_is_utc": time.localtime().tm_gmtoff == 0,
    }


def fail(event: Any, context: Any) -> None:
    raise ValueError(f"cannot trim photo {event.get('key')}")


def not_found(event: Any, context: Any) -> None:
    raise PhotoNotFoundError("photo 42 is gone")


def sleep(event: Any, context: Any) -> dict[str, Any]:
    time.sleep(float(event["seconds"]))
    return {"slept": event["seconds"], "pid": os.getpid()}


def exit_process(event: Any, context: Any) -> None:
    os._exit(int(event.get("status", 3)))


def segfault(event: Any, context: Any) -> None:
    ctypes.string_at(0)


def out_of_memory(event: Any, context: Any) -> None:
    raise MemoryError()


def allocate(event: Any, context: Any) -> int:
    block = bytearray(int(event["mb"]) * 1024 * 1024)
    for i in range(0, len(block), 4096):  # touch every page so it is resident
        block[i] = 1
    time.sleep(float(event.get("hold", 0.5)))
    return len(block)


def unserialisable(event: Any, context: Any) -> object:
    return {"when": object()}


def huge(event: Any, context: Any) -> str:
    return "x" * (7 * 1024 * 1024)


def raw_bytes(event: Any, context: Any) -> bytes:
    return b"\x00not json"


def flaky(event: Any, context: Any) -> dict[str, Any]:
    """Fails until the same request was seen ``fail_times`` times; notes each attempt in a file."""
    # As a destination, it receives the invocation record: the original event is its payload.
    path = event["log"] if "log" in event else event["requestPayload"]["log"]
    with open(path, "a", encoding="utf-8") as log:
        log.write(f"{context.aws_request_id} {time.monotonic()}\n")
    with open(path, encoding="utf-8") as log:
        seen = sum(1 for line in log if line.startswith(context.aws_request_id))
    if seen <= int(event.get("fail_times", 0)):
        raise ConnectionError(f"attempt {seen} of {context.aws_request_id} failed")
    return {"attempt": seen}


def grow_while_idle(event: Any, context: Any) -> dict[str, Any]:
    """Returns at once; with ``grow_mb``, a thread then waits for the ``go`` file, grows by that
    many MB while no invocation runs (so nothing watches), frees them and writes ``done``."""
    if "grow_mb" in event:
        threading.Thread(target=_grow_on_signal, args=(event,), daemon=True).start()
    return {"pid": os.getpid(), "request": event.get("request")}


def _grow_on_signal(event: dict[str, Any]) -> None:
    go, done = Path(event["go"]), Path(event["done"])
    while not go.exists():
        time.sleep(0.01)
    block = bytearray(int(event["grow_mb"]) * 1024 * 1024)
    for i in range(0, len(block), 4096):  # touch every page so it is resident
        block[i] = 1
    del block
    done.write_text("grown")
