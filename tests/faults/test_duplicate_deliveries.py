"""Five concurrent deliveries of one S3 event: one photo row, one execution, one set of renditions."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from bakusoku.db.schema import photos
from tests.conftest import make_jpeg
from tests.faults.stack import (
    assert_one_set_of_renditions,
    executions_for,
    make_stack,
    stored_event,
    wait_all_final,
)

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("kind", ["sqlite", "mariadb", "postgresql"])
def test_five_concurrent_deliveries_make_one_of_everything(
    kind: str, migrated_database: Callable[[str], str], tmp_path: Path
) -> None:
    stack = make_stack(tmp_path / "data", migrated_database(kind))
    stack.start()
    try:
        photo_id, event = stored_event(stack, make_jpeg(1200, 900), album="dupes")
        with ThreadPoolExecutor(5) as pool:  # the event stored five times, as at-least-once does
            list(pool.map(lambda _: stack.outbox.append(event), range(5)))
        with ThreadPoolExecutor(5) as pool:  # and five dispatchers delivering at once
            list(pool.map(lambda _: stack.trigger.dispatch_pending(), range(5)))
        statuses = wait_all_final(stack.db, [photo_id], timeout=90)
        assert statuses == {photo_id: "ready"}
        with stack.db.connect() as conn:
            rows = conn.execute(
                sa.select(sa.func.count()).where(
                    photos.c.object_key == event["Records"][0]["s3"]["object"]["key"]
                )
            ).scalar()
        assert rows == 1
        assert [e.status for e in executions_for(stack.db, photo_id)] == ["SUCCEEDED"]
        assert_one_set_of_renditions(stack, "dupes", photo_id)
    finally:
        stack.stop()
