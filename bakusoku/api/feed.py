"""Live photo changes of one scope: streamed by one poller per scope, or read page by page.

A scope is what one kind of key sees: a service (all of them for the admin token), its albums,
and the album asked for. Only that scope's photos are read, so one tenant's burst never crowds
another's changes out of a page.

Streaming (where the host can hold a response open, as ``bakusoku up`` does): the poller reads
the scope's photos whose ``updated_at`` moved and hands each change once to the scope's clients.
A client that reconnects passes the last ``updated_at`` it saw and first gets what changed since
then.

Pages (where responses are buffered and short-lived, as behind API Gateway and Lambda):
``changes_page`` answers at once with the changes after a cursor that have settled, and the next
cursor. No state is kept between requests, so each change is delivered once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import sqlalchemy as sa

from bakusoku.auth.principal import Principal
from bakusoku.auth.scope import scope_filter
from bakusoku.db.schema import photos as photos_table

# Rows are stamped with the writer's clock before their transaction commits, so a change can land
# with an updated_at a little older than one already seen: every poll looks back this far.
LOOKBACK_SECONDS = 3.0
POLL_SECONDS = 0.25
KEEPALIVE_SECONDS = 15.0
# Streams end after this long and the client reconnects with ``since``: no stream outlives a
# shutdown by more than the server's grace period, and proxies never see an endless response.
STREAM_SECONDS = 50.0
MAX_ROWS_PER_POLL = 500
# How long a polling client waits before asking for the next page (when it got all there was).
POLL_AFTER_SECONDS = 2.0

Row = dict[str, Any]


@dataclass(frozen=True)
class FeedScope:
    """The photos one stream watches: a service's (None: every one), in its albums (None: every
    one), in ``album`` if given."""

    service: str | None
    albums: tuple[str, ...] | None
    album: str | None

    @classmethod
    def of(cls, principal: Principal, album: str | None) -> FeedScope:
        return cls(principal.service, principal.albums, album)


Fetch = Callable[[FeedScope, float], list[Row]]


def changed_photos(db: sa.Engine, upload_prefix: str) -> Fetch:
    """Reads the photo rows of a scope changed after a time, oldest change first."""

    def fetch(scope: FeedScope, since: float) -> list[Row]:
        where = scope_filter(scope.service, scope.albums, upload_prefix, scope.album)
        query = sa.select(photos_table).where(photos_table.c.updated_at > since, where)
        query = query.order_by(photos_table.c.updated_at).limit(MAX_ROWS_PER_POLL)
        with db.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    return fetch


@dataclass(frozen=True)
class ChangesPage:
    """Changed rows, oldest change first; ``cursor`` asks for what follows; ``more`` when a
    next page is already waiting."""

    rows: list[Row]
    cursor: float
    more: bool


def changes_page(
    fetch: Fetch,
    scope: FeedScope,
    cursor: float,
    now: float,
    lookback_seconds: float = LOOKBACK_SECONDS,
) -> ChangesPage:
    """The changes after ``cursor`` stamped at least ``lookback_seconds`` before ``now``.

    A row is stamped before its transaction commits, so a change younger than the lookback may
    still be joined by one stamped earlier: answering only settled changes lets the cursor be a
    time, with nothing missed and nothing sent twice, at the price of that much delay.
    """
    settled = now - lookback_seconds
    if cursor >= settled:
        return ChangesPage([], cursor, False)
    rows = [row for row in fetch(scope, cursor) if row["updated_at"] <= settled]
    if len(rows) < MAX_ROWS_PER_POLL:  # every settled change after the cursor is here
        return ChangesPage(rows, settled, False)
    last = rows[-1]["updated_at"]
    earlier = [row for row in rows if row["updated_at"] < last]
    if earlier:  # the rows tied with the page's last come whole with the next page
        return ChangesPage(earlier, earlier[-1]["updated_at"], True)
    return ChangesPage(rows, last, True)


class _Channel:
    """One scope's poller and the queues of the clients watching it."""

    def __init__(self) -> None:
        self.queues: set[asyncio.Queue[list[Row]]] = set()
        self.task: asyncio.Task[None] | None = None


class PhotoFeed:
    """Photo changes per scope, read by one poller per watched scope and fanned out to clients."""

    def __init__(
        self,
        fetch: Fetch,
        *,
        poll_seconds: float = POLL_SECONDS,
        lookback_seconds: float = LOOKBACK_SECONDS,
        keepalive_seconds: float = KEEPALIVE_SECONDS,
        stream_seconds: float = STREAM_SECONDS,
    ) -> None:
        self._fetch = fetch
        self._poll = poll_seconds
        self._lookback = lookback_seconds
        self._keepalive = keepalive_seconds
        self._stream = stream_seconds
        self._channels: dict[FeedScope, _Channel] = {}

    async def changed_since(self, scope: FeedScope, since: float) -> list[Row]:
        """The scope's rows changed after ``since`` (a stream's first batch); raises when the
        database cannot be read, before any stream has started."""
        return await anyio.to_thread.run_sync(self._fetch, scope, since)

    async def subscribe(
        self, scope: FeedScope, first: list[Row] | None = None
    ) -> AsyncIterator[list[Row]]:
        """Batches of changed rows (an empty batch is a keep-alive) until the stream's time is up.

        ``first`` (from :meth:`changed_since`) comes first; then every change from now on.
        """
        queue: asyncio.Queue[list[Row]] = asyncio.Queue()
        channel = self._channels.setdefault(scope, _Channel())
        channel.queues.add(queue)
        if channel.task is None or channel.task.done():
            channel.task = asyncio.create_task(self._run(scope, channel))
        try:
            if first:
                yield first
            deadline = time.monotonic() + self._stream
            while (left := deadline - time.monotonic()) > 0:
                try:
                    yield await asyncio.wait_for(queue.get(), min(self._keepalive, left))
                except TimeoutError:
                    if deadline - time.monotonic() > 0:
                        yield []
        finally:
            channel.queues.discard(queue)
            if not channel.queues and self._channels.get(scope) is channel:
                del self._channels[scope]
                if channel.task is not None:
                    channel.task.cancel()

    async def _run(self, scope: FeedScope, channel: _Channel) -> None:
        cursor = time.time()
        seen: dict[str, float] = {}
        while channel.queues:
            await asyncio.sleep(self._poll)
            fresh: list[Row] = []
            since = cursor - self._lookback
            try:
                for _ in range(20):  # a burst bigger than one page is read page by page
                    rows = await anyio.to_thread.run_sync(self._fetch, scope, since)
                    for row in rows:
                        if seen.get(row["photo_id"]) != row["updated_at"]:
                            fresh.append(row)
                        seen[row["photo_id"]] = row["updated_at"]
                        cursor = max(cursor, row["updated_at"])
                    if len(rows) < MAX_ROWS_PER_POLL:
                        break
                    since = rows[-1]["updated_at"]
            except Exception:  # the database may be briefly unavailable; try again next tick
                pass
            horizon = cursor - 2 * self._lookback
            for photo_id in [p for p, at in seen.items() if at < horizon]:
                del seen[photo_id]
            if fresh:
                for queue in list(channel.queues):
                    queue.put_nowait(fresh)
