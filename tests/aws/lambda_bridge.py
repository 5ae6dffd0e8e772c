"""Lambda's Invoke API on loopback, answered by the real handlers in our Lambda-style runtime.

moto's Lambda runs functions only in Docker, which CI does not have; its Step Functions calls
Lambda's Invoke at ``http://localhost:$MOTO_PORT``. Pointing ``MOTO_PORT`` at this bridge makes
the emulator's Step Functions run each Task state on the deployed function (its handler, its
environment as CloudFormation set it) in a ``bakusoku.runtime`` execution environment: one process
per function, reused while warm, as Lambda does. Each invocation is recorded as a call of the
state machine's role (``lambda:InvokeFunction`` on the function's ARN). A handler's exception
answers as Lambda does: ``X-Amz-Function-Error: Unhandled`` and its error document.

The deployed state machine calls the function versions its deploy published, the other callers
each function's ``live`` alias; the runtime holds one code per function, the bundle every version
of the stack was published from, so a version or alias that exists in the emulator's Lambda is
invoked as its function (``invoke``); one that does not is refused.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from bakusoku import arns
from bakusoku.runtime import FunctionRuntime
from bakusoku.runtime.errors import FunctionError, ResourceNotFoundError

INVOKE_PATH = "/2015-03-31/functions/"


@dataclass
class LambdaBridge:
    port: int
    invocations: list[dict[str, Any]] = field(default_factory=list)


def invoke(runtime: FunctionRuntime, function: str, payload: Any) -> Any:
    """Invoke ``function`` (a name or ARN, qualified by a version, an alias or not) as Lambda
    would."""
    ref = arns.FunctionRef.parse(function)
    if ref.qualifier in (None, "$LATEST"):
        return runtime.invoke(function, payload)
    from moto.awslambda.models import lambda_backends

    assert ref.region and ref.account, f"{function}: a qualifier is invoked by its ARN here"
    backend = lambda_backends[ref.account][ref.region]
    try:
        if ref.qualifier.isdigit():  # a published version
            found = backend.get_function(ref.name, ref.qualifier)
            assert str(found.version) == ref.qualifier, (function, found.version)
        else:
            backend.get_alias(ref.qualifier, ref.name)
    except Exception:  # moto's UnknownAliasException or UnknownFunctionException
        raise ResourceNotFoundError(f"Function not found: {function}", request_id="") from None
    return runtime.invoke(
        arns.FunctionRef(ref.name, None, ref.region, ref.account).arn("", ""), payload
    )


@contextmanager
def lambda_bridge(runtime: FunctionRuntime, caller: str) -> Iterator[LambdaBridge]:
    """Serve Invoke for ``runtime``'s functions; ``caller`` names who invokes (the state machine)."""
    invocations: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if not (self.path.startswith(INVOKE_PATH) and self.path.endswith("/invocations")):
                self._answer(404, {"message": f"the bridge serves only Invoke, not {self.path}"})
                return
            function = unquote(self.path[len(INVOKE_PATH) : -len("/invocations")])
            invocations.append(
                {
                    "function": caller,
                    "service": "lambda",
                    "operation": "Invoke",
                    "params": {"FunctionName": function},
                    "presigned": False,
                }
            )
            try:
                result = invoke(runtime, function, json.loads(body or b"null"))
            except FunctionError as exc:
                self._answer(200, exc.to_payload(), {"X-Amz-Function-Error": "Unhandled"})
                return
            self._answer(200, result)

        def _answer(
            self, status: int, document: Any, headers: dict[str, str] | None = None
        ) -> None:
            data = json.dumps(document).encode()
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LambdaBridge(server.server_address[1], invocations)
    finally:
        server.shutdown()
        server.server_close()
