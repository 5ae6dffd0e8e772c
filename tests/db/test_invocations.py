"""The durable queue of asynchronous invocations on SQLite, MariaDB and PostgreSQL."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from bakusoku.db.engine import create_db_engine
from bakusoku.db.invocations import FAILED, PENDING, SUCCEEDED, AsyncInvocations
from bakusoku.db.schema import async_invocations

EVENT = {"detail-type": "Object Created", "detail": {"object": {"key": "imports/a.json"}}}


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    engine = create_db_engine(db_url, pool_size=6)
    yield engine
    engine.dispose()


def _key() -> str:
    return f"importer:object:{uuid.uuid4().hex}"


def test_a_key_queued_twice_is_one_invocation(engine: sa.Engine) -> None:
    invocations = AsyncInvocations(engine)
    key = _key()
    assert invocations.add(key, "importer", "object", EVENT) is True
    assert invocations.add(key, "importer", "object", EVENT) is False
    stored = invocations.get(key)
    assert stored is not None
    assert (stored.function, stored.source, stored.status, stored.event) == (
        "importer",
        "object",
        PENDING,
        EVENT,
    )


def test_concurrent_repeats_queue_exactly_one(engine: sa.Engine) -> None:
    invocations = AsyncInvocations(engine)
    key = _key()
    with ThreadPoolExecutor(5) as pool:
        added = list(
            pool.map(lambda _: invocations.add(key, "importer", "object", EVENT), range(5))
        )
    assert sorted(added) == [False, False, False, False, True]


def test_pending_until_finished_then_failed_ones_are_the_dead_letters(engine: sa.Engine) -> None:
    invocations = AsyncInvocations(engine)
    function = f"fn-{uuid.uuid4().hex[:8]}"
    ok, bad, waiting = _key(), _key(), _key()
    for key in (ok, bad, waiting):
        invocations.add(key, function, "schedule", EVENT)
    invocations.tried(bad, 1)
    invocations.succeeded(ok, 1)
    invocations.failed(bad, 3, "ValueError", "no such import " + "x" * 10_000)
    assert {i.key for i in invocations.pending()} >= {waiting}
    assert not {ok, bad} & {i.key for i in invocations.pending()}
    (dead,) = invocations.failed_invocations(function)
    assert (dead.key, dead.status, dead.attempts, dead.error_type) == (bad, FAILED, 3, "ValueError")
    assert dead.error_message is not None and dead.error_message.startswith("no such import")
    assert len(dead.error_message) == 4096  # kept, cut to a readable size
    done = invocations.get(ok)
    assert done is not None and done.status == SUCCEEDED
    assert invocations.failed_invocations("another-function") == []


def test_old_successes_are_forgotten_and_dead_letters_kept(engine: sa.Engine) -> None:
    invocations = AsyncInvocations(engine)
    ok, bad = _key(), _key()
    for key in (ok, bad):
        invocations.add(key, "importer", "object", EVENT)
    invocations.succeeded(ok, 1)
    invocations.failed(bad, 3, "ValueError", "boom")
    assert invocations.prune_succeeded(older_than_days=1) == 0  # not old yet
    with engine.begin() as conn:  # a month later
        conn.execute(
            async_invocations.update()
            .where(async_invocations.c.invocation_key.in_([ok, bad]))
            .values(updated_at=time.time() - 30 * 86400)
        )
    assert invocations.prune_succeeded(older_than_days=1) >= 1
    assert invocations.get(ok) is None
    dead = invocations.get(bad)
    assert dead is not None and dead.status == FAILED


def test_redrive_makes_the_named_dead_letters_pending_with_their_tries_afresh(
    engine: sa.Engine,
) -> None:
    invocations = AsyncInvocations(engine)
    function, other = f"fn-{uuid.uuid4().hex[:8]}", f"fn-{uuid.uuid4().hex[:8]}"
    first, second, elsewhere, done = _key(), _key(), _key(), _key()
    for key, owner in ((first, function), (second, function), (elsewhere, other), (done, other)):
        invocations.add(key, owner, "object", EVENT)
    for key in (first, second, elsewhere):
        invocations.failed(key, 3, "ValueError", "cannot read")
    invocations.succeeded(done, 1)

    by_key = invocations.redrive([first, done])  # a success is no dead letter
    by_function = invocations.redrive(function=function)
    again = invocations.redrive([first])

    assert (by_key, by_function, again) == ([first], [second], [])
    retried = invocations.get(first)
    assert retried is not None
    assert (retried.status, retried.attempts, retried.error_type) == (PENDING, 0, None)
    assert [d.key for d in invocations.failed_invocations(other)] == [elsewhere]
    ended = invocations.get(done)
    assert ended is not None and ended.status == SUCCEEDED
