"""FunctionRuntime: runs configured handlers in warm, reusable worker processes, as Lambda does."""

from __future__ import annotations

import atexit
import datetime
import os
import secrets
import sys
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bakusoku import arns
from bakusoku.runtime import logs, payload, worker
from bakusoku.runtime.config import FunctionConfig, check_environment
from bakusoku.runtime.environment import ExecutionEnvironment, Outcome
from bakusoku.runtime.errors import (
    FunctionConfigError,
    FunctionError,
    ResourceNotFoundError,
    RuntimeClosedError,
    TooManyRequestsError,
)
from bakusoku.runtime.metrics import Counters, RuntimeMetrics, total

# Lambda gives init 10 s; past that it retries init inside the invoke, under the function timeout.
INIT_TIMEOUT_SECONDS = 10.0
_RESERVED_LIMIT = "ReservedFunctionConcurrentInvocationLimitExceeded"
_ACCOUNT_LIMIT = "ConcurrentInvocationLimitExceeded"

_open_runtimes: weakref.WeakSet[FunctionRuntime] = weakref.WeakSet()


@dataclass
class _Pool:
    """One function's environments: idle ones (most recently used last) and a busy count."""

    config: FunctionConfig
    arn: str
    idle: list[ExecutionEnvironment] = field(default_factory=list)
    busy: int = 0
    counters: Counters = field(default_factory=Counters)


class FunctionRuntime:
    """Invoke Lambda-style handlers locally: warm reuse, cold starts, timeouts, concurrency limits.

    ``max_environments`` is the account's concurrency: functions with ``reserved_concurrency`` get
    their share carved out of it, the others share what is left. ``invoke`` may be called from
    many threads at once; each call holds one environment for its duration.
    """

    def __init__(
        self,
        functions: Iterable[FunctionConfig],
        *,
        max_environments: int,
        region: str = "us-east-1",
        account: str = "000000000000",
        idle_timeout_seconds: float = 600,
        environment: Mapping[str, str] | None = None,
        withhold: Iterable[str] = (),
        throttled: Callable[[str], bool] | None = None,
    ) -> None:
        """``withhold``: variables of this process's environment the workers must not inherit
        (secrets only this process uses); a function's own ``environment`` is given as set.
        ``throttled(function_name)``: whether to refuse an invoke as over the function's
        concurrency limit even though there is room (a chaos experiment's ``function.throttle``)."""
        if max_environments < 1:
            raise FunctionConfigError(
                f"max_environments={max_environments} must be 1 or more (it is the account's "
                "concurrency limit)"
            )
        if idle_timeout_seconds <= 0:
            raise FunctionConfigError(
                f"idle_timeout_seconds={idle_timeout_seconds} must be above 0"
            )
        self._environment = dict(environment or {})
        self._withhold = frozenset(withhold)
        self._throttled = throttled
        check_environment(self._environment, owner="FunctionRuntime", reserved=False)
        self.region = region
        self.account = account
        self.max_environments = max_environments
        self.idle_timeout_seconds = idle_timeout_seconds
        self._pools: dict[str, _Pool] = {}
        for config in functions:
            if config.name in self._pools:
                raise FunctionConfigError(
                    f"function {config.name!r} is configured twice; names must be unique"
                )
            self._pools[config.name] = _Pool(config, self.function_arn(config.name))
        reserved = sum(p.config.reserved_concurrency or 0 for p in self._pools.values())
        if reserved > max_environments:
            raise FunctionConfigError(
                f"reserved concurrency adds up to {reserved}, above max_environments="
                f"{max_environments}; lower the reservations or raise max_environments"
            )
        self._unreserved_limit = max_environments - reserved
        self._unreserved_busy = 0
        self._environments = 0  # every live environment: idle, busy or starting
        self._busy_envs: set[ExecutionEnvironment] = set()
        self._lock = threading.Lock()
        self._drained = threading.Condition(self._lock)  # notified when an invocation ends
        self._closed = False
        self._task_root = os.getcwd()
        self._stop_reaper = threading.Event()
        self._reaper = threading.Thread(
            target=self._reap_loop, name="bakusoku-runtime-reaper", daemon=True
        )
        self._reaper.start()
        _open_runtimes.add(self)

    # -- public API --------------------------------------------------------------------------

    def function_arn(self, name: str) -> str:
        return arns.function_arn(self.region, self.account, name)

    @property
    def function_names(self) -> list[str]:
        return list(self._pools)

    def function_config(self, name: str) -> FunctionConfig:
        """The configuration of one function; ResourceNotFoundError when there is none."""
        pool, _ = self._resolve(name, "")
        return pool.config

    @property
    def environment(self) -> Mapping[str, str]:
        """The variables every function of this runtime gets (its own settings override them)."""
        return dict(self._environment)

    def invoke(
        self,
        function_name_or_arn: str,
        payload_value: Any,
        *,
        trace_header: str | None = None,
        request_id: str | None = None,
    ) -> Any:
        """Run the function on ``payload_value`` (JSON-serialisable) and return its result.

        ``trace_header`` is an X-Ray ``Root=...;Parent=...;Sampled=...`` header to continue (the
        handler sees it as ``_X_AMZN_TRACE_ID``); a new, unsampled trace is started without one.
        ``request_id`` is kept across the retries of one asynchronous event, as Lambda does; a new
        one is made without it.

        Raises FunctionError when the handler fails (its exception name as ``error_type``), times
        out (``Sandbox.Timedout``) or crashes (``Runtime.ExitError``); TooManyRequestsError when
        throttled; ResourceNotFoundError, InvalidRequestContentError, RequestTooLargeError when
        Lambda would refuse the request.
        """
        request_id = request_id or str(uuid.uuid4())
        pool, invoked_arn = self._resolve(function_name_or_arn, request_id)
        body = payload.encode_request(payload_value, request_id=request_id)
        env, cold = self._acquire(pool, request_id)
        config = pool.config
        init_ms: float | None = None
        outcome: Outcome | None = None
        try:
            if cold:
                logs.init_start(config.name, request_id)
                failure = env.start(
                    request_id,
                    INIT_TIMEOUT_SECONDS + config.timeout_seconds,
                    timeout_label=config.timeout_seconds,
                )
                init_ms = env.init_duration_ms
                if failure is not None:
                    outcome = failure
            logs.start(config.name, request_id)
            if outcome is None:
                outcome = env.invoke(
                    request_id,
                    invoked_arn,
                    body,
                    config.timeout_seconds,
                    trace_header or new_trace_header(),
                )
        finally:
            self._release(pool, env, outcome, request_id=request_id, cold=cold, init_ms=init_ms)
        self._log_outcome(config, request_id, outcome, init_ms)
        if outcome.status == "ok":
            return payload.decode_response(outcome.body, outcome.content_type)
        if self._closed and outcome.status == "crash":
            raise RuntimeClosedError(
                f"the runtime was closed while {config.name} was running", request_id=request_id
            )
        assert outcome.error is not None
        raise FunctionError.from_payload(outcome.error, request_id=request_id)

    def worker_pids(self, function_name: str = "") -> list[int]:
        """The process ids of the live workers (busy and idle) of one function, or of all."""
        with self._lock:
            envs = [*self._busy_envs, *(e for p in self._pools.values() for e in p.idle)]
        return sorted(
            pid
            for env in envs
            if (not function_name or env.function_name == function_name)
            and (pid := env.pid) is not None
        )

    def metrics(self) -> RuntimeMetrics:
        """A consistent snapshot of every function's counters and current concurrency."""
        with self._lock:
            snapshots = {
                name: pool.counters.snapshot(
                    concurrent=pool.busy, environments=pool.busy + len(pool.idle)
                )
                for name, pool in self._pools.items()
            }
        return RuntimeMetrics(functions=snapshots, totals=total(snapshots))

    def close(self, timeout: float = 10.0) -> None:
        """Stop every environment and the reaper; safe to call twice.

        Running invocations end at once with RuntimeClosedError; close() waits up to ``timeout``
        seconds for their threads to clean up, so no worker process outlives it.
        """
        with self._lock:
            already_closed = self._closed
            self._closed = True
            busy = list(self._busy_envs)
            idle = [env for pool in self._pools.values() for env in pool.idle]
            for pool in self._pools.values():
                pool.idle.clear()
            self._environments -= len(idle)
        self._stop_reaper.set()
        for env in idle:
            env.kill()
        for env in busy:
            env.terminate()  # its invoking thread owns the environment and reaps it
        with self._lock:
            self._drained.wait_for(lambda: not self._busy_envs, timeout)
        if not already_closed and self._reaper is not threading.current_thread():
            self._reaper.join(timeout=5)
        _open_runtimes.discard(self)

    def __enter__(self) -> FunctionRuntime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- environments ------------------------------------------------------------------------

    def _resolve(self, name_or_arn: str, request_id: str) -> tuple[_Pool, str]:
        try:
            ref = arns.FunctionRef.parse(name_or_arn)
        except arns.ArnError:  # not a function reference at all: no such function
            ref = arns.FunctionRef(name_or_arn)
        # A function of another region or account is not one of ours, as on Lambda.
        ours = ref.region in (None, self.region) and ref.account in (None, self.account)
        pool = self._pools.get(ref.name) if ours else None
        qualifier = ref.qualifier or ""
        if pool is None or qualifier not in ("", "$LATEST"):
            shown = name_or_arn if arns.is_arn(name_or_arn) else self.function_arn(ref.name)
            raise ResourceNotFoundError(
                f"Function not found: {shown}; configured functions: "
                f"{', '.join(sorted(self._pools)) or 'none'}",
                request_id=request_id,
            )
        return pool, pool.arn + (f":{qualifier}" if qualifier else "")

    def _acquire(self, pool: _Pool, request_id: str) -> tuple[ExecutionEnvironment, bool]:
        """Take a warm environment, or reserve room for a new one; throttle when there is none."""
        # An idle worker can die (the OS's OOM killer, a stray signal); Lambda would never hand
        # out such a sandbox, so neither do we.
        dead: list[ExecutionEnvironment] = []
        with self._lock:
            while pool.idle and not pool.idle[-1].is_alive():
                dead.append(pool.idle.pop())
                self._environments -= 1
        for stale in dead:
            stale.kill()
        victim: ExecutionEnvironment | None = None
        reserved = pool.config.reserved_concurrency
        with self._lock:
            if self._closed:
                raise RuntimeClosedError(
                    "the runtime is closed; create a new FunctionRuntime", request_id=request_id
                )
            if self._throttled is not None and self._throttled(pool.config.name):
                pool.counters.throttles += 1
                raise TooManyRequestsError(_RESERVED_LIMIT, request_id=request_id)
            if pool.idle:
                env = pool.idle.pop()
                cold = False
            else:
                if reserved is not None and pool.busy >= reserved:
                    pool.counters.throttles += 1
                    raise TooManyRequestsError(_RESERVED_LIMIT, request_id=request_id)
                if reserved is None and self._unreserved_busy >= self._unreserved_limit:
                    pool.counters.throttles += 1
                    raise TooManyRequestsError(_ACCOUNT_LIMIT, request_id=request_id)
                if self._environments >= self.max_environments:
                    # The pool has room, so an environment is idle: retire the least recently used.
                    victim = self._take_oldest_idle()
                env = self._new_environment(pool)
                self._environments += 1
                cold = True
            pool.busy += 1
            if reserved is None:
                self._unreserved_busy += 1
            pool.counters.max_concurrent_executions = max(
                pool.counters.max_concurrent_executions, pool.busy
            )
            self._busy_envs.add(env)
        if victim is not None:
            victim.kill()
        return env, cold

    def _release(
        self,
        pool: _Pool,
        env: ExecutionEnvironment,
        outcome: Outcome | None,
        *,
        request_id: str,
        cold: bool,
        init_ms: float | None,
    ) -> None:
        keep = outcome is not None and outcome.reusable
        # Lambda stops a sandbox whose memory goes past its size; our watch samples, so a short
        # peak can slip by it. Such a worker still returns its result, then is replaced.
        outgrown = keep and outcome is not None and outcome.max_memory_mb > pool.config.memory_mb
        with self._lock:
            pool.busy -= 1
            if pool.config.reserved_concurrency is None:
                self._unreserved_busy -= 1
            self._busy_envs.discard(env)
            self._drained.notify_all()
            counters = pool.counters
            if outcome is not None:
                counters.record(outcome.duration_ms)
                if outcome.status != "ok":
                    counters.errors += 1
                if outcome.status == "timeout":
                    counters.timeouts += 1
                if outcome.status in ("crash", "oom"):
                    counters.crashes += 1
            if cold:
                counters.cold_starts += 1
                counters.init_duration_ms_total += init_ms or 0.0
            if keep and not outgrown and not self._closed:
                env.last_used = time.monotonic()
                pool.idle.append(env)
                return
            self._environments -= 1
        env.kill()
        if outgrown and outcome is not None:
            _log_recycled(pool.config, request_id, outcome.max_memory_mb)

    def _take_oldest_idle(self) -> ExecutionEnvironment | None:
        oldest: tuple[float, _Pool] | None = None
        for candidate in self._pools.values():
            # idle lists are ordered by last use, so the first is each pool's oldest.
            if candidate.idle and (oldest is None or candidate.idle[0].last_used < oldest[0]):
                oldest = (candidate.idle[0].last_used, candidate)
        if oldest is None:
            return None
        self._environments -= 1
        return oldest[1].idle.pop(0)

    def _new_environment(self, pool: _Pool) -> ExecutionEnvironment:
        config = pool.config
        stream = f"{datetime.datetime.now(datetime.UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        inherited = {k: v for k, v in os.environ.items() if k not in self._withhold}
        environ = {**inherited, **self._environment, **config.environment}
        environ.update(
            {
                "AWS_LAMBDA_FUNCTION_NAME": config.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{config.name}",
                "AWS_LAMBDA_LOG_STREAM_NAME": stream,
                "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                "AWS_REGION": self.region,
                "AWS_DEFAULT_REGION": self.region,
                "AWS_EXECUTION_ENV": "AWS_Lambda_python{}.{}".format(*sys.version_info[:2]),
                "_HANDLER": config.handler,
                "LAMBDA_TASK_ROOT": self._task_root,
                "TZ": ":UTC",
            }
        )
        spec = worker.WorkerSpec(
            handler=config.handler, sys_path=list(sys.path), task_root=self._task_root
        )
        return ExecutionEnvironment(
            spec,
            environ,
            function_name=config.name,
            memory_mb=config.memory_mb,
            log_stream_name=stream,
        )

    def _reap_loop(self) -> None:
        interval = max(0.05, min(self.idle_timeout_seconds / 4, 30.0))
        while not self._stop_reaper.wait(interval):
            self.reap_idle()

    def reap_idle(self) -> int:
        """Stop environments idle longer than ``idle_timeout_seconds``; returns how many."""
        cutoff = time.monotonic() - self.idle_timeout_seconds
        expired: list[ExecutionEnvironment] = []
        with self._lock:
            for pool in self._pools.values():
                keep = [env for env in pool.idle if env.last_used > cutoff]
                expired.extend(env for env in pool.idle if env.last_used <= cutoff)
                pool.idle[:] = keep
            self._environments -= len(expired)
        for env in expired:
            env.kill()
        return len(expired)

    def _log_outcome(
        self, config: FunctionConfig, request_id: str, outcome: Outcome, init_ms: float | None
    ) -> None:
        error_type = None
        status = None
        if outcome.error is not None:
            error_type = str(outcome.error.get("errorType"))
            logs.function_error(config.name, request_id, outcome.error)
            status = {"timeout": "timeout", "ok": None}.get(outcome.status, "error")
        logs.end(config.name, request_id)
        logs.report(
            config.name,
            request_id,
            duration_ms=outcome.duration_ms,
            memory_mb=config.memory_mb,
            max_memory_used_mb=outcome.max_memory_mb,
            init_duration_ms=init_ms,
            status=status,
            error_type=error_type if status == "error" else None,
        )


def _log_recycled(config: FunctionConfig, request_id: str, max_memory_mb: int) -> None:
    logs.logger.warning(
        "RECYCLE RequestId: %s Environment replaced: Max Memory Used %d MB went past "
        "Memory Size %d MB (Lambda would have stopped it); the result was returned",
        request_id,
        max_memory_mb,
        config.memory_mb,
        extra={"function_name": config.name, "aws_request_id": request_id},
    )


def new_trace_header() -> str:
    """A fresh X-Ray trace header in Lambda's format, not sampled (nothing is sent anywhere)."""
    return (
        f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};"
        f"Parent={secrets.token_hex(8)};Sampled=0"
    )


@atexit.register
def _close_open_runtimes() -> None:
    # A forgotten close() must not leave worker processes behind.
    for runtime in list(_open_runtimes):
        runtime.close()
