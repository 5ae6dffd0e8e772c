"""Property-based run of the API against its own OpenAPI description (schemathesis).

The real app, built as ``bakusoku up`` builds it (SQLite and the local store in a temporary data
directory, the workflow engine running), is called with generated requests for every operation,
as the admin token, a service's admin key and an album viewer's key. Every answer must be below
500, have a status code the description lists, and a body that matches the declared schema.
The run is derandomized, so CI sees the same examples every time.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bakusoku.auth.keys import KeyStore
from bakusoku.config import load_settings
from bakusoku.domain.keys import upload_key
from bakusoku.local.stack import EmbeddedStack
from tests.conftest import free_port

pytestmark = pytest.mark.integration

MAX_EXAMPLES = 25
FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=list(HealthCheck),
)
# Valid requests: no 5xx, a documented status, a body and content type as declared.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# The live event stream never ends by itself; it has its own tests (tests/browser).
STREAMING = "/v1/events"
# The service the keys below belong to. The admin token uploads only into a named service, and
# a generated body names one only by chance (Hypothesis draws strings from the code under test,
# so that chance moves with every change): uploads are also tried with this one.
SERVICE = "school"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStack]:
    data_dir: Path = tmp_path_factory.mktemp("fuzz") / "data"
    overrides = {
        "data_dir": data_dir,
        "workers": 1,
        "port": free_port(),
        "store_port": free_port(),
        "sweep_schedule": "",
        "admin_token": "bka_fuzz-admin-token-0123456789abcdefghijklmnop",
        "log_format": "text",
        "fault_injection": False,  # a generated fault would cut the database under the run
    }
    built = EmbeddedStack(load_settings(overrides, environ={}))
    built.start()
    try:
        yield built
    finally:
        built.stop()


@pytest.fixture(scope="module")
def tokens(stack: EmbeddedStack) -> dict[str, str]:
    keys = KeyStore(stack.db)
    _, admin = keys.create(service=SERVICE, albums=None, role="admin", created_by="fuzz")
    _, viewer = keys.create(service=SERVICE, albums=["sports"], role="viewer", created_by="fuzz")
    return {"admin token": stack.settings.admin_token, "admin key": admin, "viewer key": viewer}


@pytest.fixture(scope="module")
def photo_id(stack: EmbeddedStack) -> str:
    """A photo of school/sports waiting for its upload, so photo routes also answer 200 and 409."""
    photo_id = str(uuid.uuid4())
    stack.photos.create_pending(
        photo_id=photo_id,
        album="sports",
        bucket=stack.settings.bucket,
        object_key=upload_key(
            stack.settings.upload_prefix, "sports", photo_id, "image/jpeg", service=SERVICE
        ),
        filename="IMG_0001.jpg",
        content_type="image/jpeg",
        declared_size=1234,
    )
    return photo_id


@pytest.mark.parametrize("caller", ["admin token", "admin key", "viewer key"])
def test_every_operation_answers_as_its_schema_says(
    stack: EmbeddedStack, tokens: dict[str, str], photo_id: str, caller: str
) -> None:
    app = stack.api_app()
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).exclude(path=STREAMING)
    headers = {"Authorization": f"Bearer {tokens[caller]}"}
    failures: list[str] = []
    seen: Counter[int] = Counter()
    operations = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the API's own description is invalid: {result}"
        operation = result.ok()
        operations += 1

        # Invalid requests (wrong types, missing fields, out of range) too: never a 5xx, and
        # answered as documented. Operations without inputs have nothing to get wrong.
        runs: list[tuple[GenerationMode, dict[str, str], dict[str, Any]]] = [
            (GenerationMode.POSITIVE, {}, {})
        ]
        if any(True for _ in operation.iter_parameters()) or operation.body:
            runs.append((GenerationMode.NEGATIVE, {}, {}))
        if "{photo_id}" in operation.path:  # and a photo that exists
            runs.append((GenerationMode.POSITIVE, {"photo_id": photo_id}, {}))
        if operation.label == "POST /v1/uploads":  # and into the keys' own service
            runs.append((GenerationMode.POSITIVE, {}, {"service": SERVICE}))
        for mode, path, body in runs:
            try:
                _fuzz(operation, mode, headers, path, body, seen)
            except (Exception, BaseExceptionGroup) as exc:  # every operation is tried, all reported
                shown = path or body or "generated"
                failures.append(f"{operation.label} ({mode.value}, {shown}): {exc}")
    assert operations >= 15
    assert not failures, "\n\n".join(failures)
    # The run reached real answers, not only refusals: found, missing, invalid, and the
    # caller's own limits (a viewer may not delete; a pending photo cannot be deleted yet).
    expected = {200, 400, 403, 404} if caller == "viewer key" else {200, 201, 400, 404, 409}
    assert expected <= seen.keys(), seen


def _fuzz(
    operation: Any,
    mode: GenerationMode,
    headers: dict[str, str],
    path: dict[str, str],
    body: dict[str, Any],
    seen: Counter[int],
) -> None:
    @FUZZ
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path or None))
    def answers_within_schema(case: Any) -> None:
        if body and isinstance(case.body, dict):
            case.body = {**case.body, **body}
        seen[case.call_and_validate(headers=headers, checks=CHECKS).status_code] += 1

    answers_within_schema()
