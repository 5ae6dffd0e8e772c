"""The migration function answers CloudFormation's custom resource requests: Create and Update
bring the database to the shipped head (again and again, harmlessly), Delete keeps it, and a
failure is answered as FAILED with its reason instead of leaving the stack waiting."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bakusoku.aws import migrate
from bakusoku.db.engine import create_db_engine
from bakusoku.db.migrate import current_revision, head_revision, schema_differences

pytestmark = pytest.mark.integration


class _CloudFormation(BaseHTTPRequestHandler):
    """CloudFormation's presigned response URL: records each PUT."""

    answers: list[tuple[str | None, dict[str, Any]]] = []

    def do_PUT(self) -> None:
        length = int(self.headers["Content-Length"])
        body = json.loads(self.rfile.read(length))
        _CloudFormation.answers.append((self.headers.get("Content-Type"), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def response_url() -> Iterator[str]:
    _CloudFormation.answers.clear()
    server = HTTPServer(("127.0.0.1", 0), _CloudFormation)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/cloudformation-response?X-Amz-Signature=x"
    finally:
        server.shutdown()
        server.server_close()


def _request(kind: str, url: str, physical_id: str | None = None) -> dict[str, Any]:
    event = {
        "RequestType": kind,
        "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:ap-northeast-1:123456789012:stack/enphoto-dev/abc",
        "RequestId": f"request-{kind}",
        "LogicalResourceId": "DatabaseSchema",
        "ResourceType": "Custom::DatabaseSchema",
        "ResourceProperties": {"MigrationHead": head_revision()},
    }
    if physical_id:
        event["PhysicalResourceId"] = physical_id
    return event


def test_create_and_update_migrate_to_head_and_answer(
    tmp_path: Path, response_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'stack.db'}"
    monkeypatch.setenv("BAKUSOKU_DATABASE_URL", url)
    created = migrate.handler(_request("Create", response_url), None)
    assert created["Status"] == "SUCCESS", created["Reason"]
    physical = created["PhysicalResourceId"]
    updated = migrate.handler(_request("Update", response_url, physical), None)
    assert updated["Status"] == "SUCCESS" and updated["PhysicalResourceId"] == physical
    assert updated["Data"] == {"Revision": head_revision()}
    engine = create_db_engine(url)
    try:
        assert current_revision(engine) == head_revision()
        assert schema_differences(engine) == []
    finally:
        engine.dispose()
    # What CloudFormation received: both answers, sent without a content type (the URL's
    # signature covers none).
    assert [body["Status"] for _, body in _CloudFormation.answers] == ["SUCCESS", "SUCCESS"]
    content_type, body = _CloudFormation.answers[0]
    assert not content_type
    assert (body["RequestId"], body["LogicalResourceId"]) == ("request-Create", "DatabaseSchema")


def test_delete_keeps_the_database(
    tmp_path: Path, response_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'stack.db'}"
    monkeypatch.setenv("BAKUSOKU_DATABASE_URL", url)
    physical = migrate.handler(_request("Create", response_url), None)["PhysicalResourceId"]
    deleted = migrate.handler(_request("Delete", response_url, physical), None)
    assert deleted["Status"] == "SUCCESS"
    engine = create_db_engine(url)
    try:
        assert "photos" in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_a_failure_is_answered_as_failed_with_its_reason(
    response_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BAKUSOKU_DATABASE_URL", "oracle://scott@db.internal/orcl")
    answered = migrate.handler(_request("Create", response_url), None)
    assert answered["Status"] == "FAILED"
    assert "UnsupportedDatabaseError" in answered["Reason"] and "oracle" in answered["Reason"]
    assert _CloudFormation.answers[-1][1]["Status"] == "FAILED"
