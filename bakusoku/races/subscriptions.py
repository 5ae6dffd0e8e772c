"""Runners' subscriptions: a bib, a channel and an address, made only with the second factor.

Anyone may know a bib (it is printed on the runner's chest); the surname on the entry list is the
second factor. A subscription exists only once both matched, or once the runner opened a signed
link of that bib. Subscribing again with the same address changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from bakusoku.db.schema import runner_subscriptions
from bakusoku.races.errors import SubscriptionError, TooManySubscriptionsError
from bakusoku.races.line import USER_ID
from bakusoku.races.repository import RaceRef, RaceRepository

LINE = "line"
EMAIL = "email"
WEBPUSH = "webpush"
CHANNELS = (LINE, EMAIL, WEBPUSH)
_EMAIL = re.compile(r"[^@\s<>\"']{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}")
_MAX_ADDRESS = 4096
# Active subscriptions of one bib on one channel: the runner and a few family members. Anyone
# with the bib and the surname may subscribe, so without a cap one session could make our mail
# server (or push or LINE sends) write to any number of addresses for each batch of photos.
MAX_SUBSCRIPTIONS = 5
# A push service is a public host named in DNS (fcm.googleapis.com, updates.push.services.mozilla
# .com, web.push.apple.com, *.notify.windows.com): labels, a dot, an alphabetic top-level label.
# That leaves out every IP literal (127.0.0.1, [::1], 2130706433) and single-label names.
_PUSH_HOST = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
# Names that only mean something inside a network (RFC 6761, RFC 8375, common private zones).
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".intranet", ".lan", ".home.arpa", ".corp")
_BAD_ENDPOINT = (
    "address: the push subscription's endpoint must be an https URL of a push service, as the"
    " browser gives it (e.g. https://fcm.googleapis.com/fcm/send/...)"
)


@dataclass(frozen=True)
class Subscription:
    id: int
    race: RaceRef
    bib: str
    channel: str
    address: str


def same_name(given: str, stored: str) -> bool:
    """Whether two spellings of a name match: width, case and spaces do not count (ヤマダ, ﾔﾏﾀﾞ)."""

    def norm(text: str) -> str:
        return "".join(unicodedata.normalize("NFKC", text).casefold().split())

    return bool(norm(given)) and norm(given) == norm(stored)


def second_factor_ok(races: RaceRepository, race: RaceRef, bib: str, surname: str) -> bool:
    """Whether ``surname`` is the surname (else the name) of ``bib`` on the race's entry list."""
    entry = races.entry(race, bib)
    if entry is None:
        return False
    return same_name(surname, entry.get("surname") or entry["name"])


def _printable(text: str) -> bool:
    """No control or invisible formatting character: an address is shown to staff and in logs
    and written into a message's headers, where one would change what is read or sent."""
    return not any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in text)


def check_address(channel: str, address: str) -> str:
    """The address in its stored form, or SubscriptionError saying what a good one looks like."""
    address = address.strip()
    if channel not in CHANNELS:
        raise SubscriptionError(f"channel: one of {', '.join(CHANNELS)}")
    if len(address) > _MAX_ADDRESS:
        raise SubscriptionError("the address is too long")
    if channel == EMAIL and not (_EMAIL.fullmatch(address) and _printable(address)):
        raise SubscriptionError("address: an e-mail address, e.g. runner@example.com")
    if channel == LINE and not USER_ID.fullmatch(address):
        raise SubscriptionError("address: a LINE user id (U and 32 hex digits)")
    if channel == WEBPUSH:
        return _push_subscription(address)
    return address


def _push_subscription(text: str) -> str:
    """A browser's PushSubscription JSON, reduced to what delivery needs."""
    try:
        document = json.loads(text)
        endpoint = document["endpoint"]
        keys = document["keys"]
        p256dh, auth = keys["p256dh"], keys["auth"]
    except (ValueError, KeyError, TypeError):
        raise SubscriptionError(
            "address: the browser's PushSubscription as JSON, with endpoint and keys (p256dh, auth)"
        ) from None
    if not (isinstance(endpoint, str) and _push_service(endpoint)):
        raise SubscriptionError(_BAD_ENDPOINT)
    if not all(isinstance(v, str) and 8 <= len(v) <= 200 for v in (p256dh, auth)):
        raise SubscriptionError("address: the push subscription's keys are malformed")
    return json.dumps({"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}})


def _push_service(endpoint: str) -> bool:
    """Whether ``endpoint`` may be a push service's: the server itself posts to it, so one on a
    host of our own networks (loopback, the instance metadata, the database) would let anyone
    who knows a bib and a surname make it send requests there. Names that resolve inside a
    network are refused again when a message is sent (``races.webpush``)."""
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        return False
    host = parts.hostname or ""
    return (
        parts.scheme == "https"
        and port in (None, 443)
        and "@" not in parts.netloc
        and bool(_PUSH_HOST.fullmatch(host))
        and not host.endswith(_LOCAL_SUFFIXES)
    )


def _check_room(conn: sa.Connection, of_bib: tuple[Any, ...], channel: str) -> None:
    active = conn.execute(
        sa.select(sa.func.count())
        .select_from(runner_subscriptions)
        .where(*of_bib, runner_subscriptions.c.ended_at.is_(None))
    ).scalar_one()
    if active >= MAX_SUBSCRIPTIONS:
        raise TooManySubscriptionsError(
            f"this bib already has {MAX_SUBSCRIPTIONS} {channel} subscriptions, as many as one"
            " bib may have"
        )


class Subscriptions:
    """The only writer of ``runner_subscriptions``."""

    def __init__(self, db: sa.Engine) -> None:
        self._db = db

    def subscribe(
        self, race: RaceRef, bib: str, channel: str, address: str, *, verified_by: str
    ) -> Subscription:
        """Subscribe (the second factor already checked by the caller); idempotent.
        TooManySubscriptionsError when the bib has :data:`MAX_SUBSCRIPTIONS` active ones on the
        channel already and this address is not one of them."""
        address = check_address(channel, address)
        digest = hashlib.sha256(address.encode()).hexdigest()
        of_bib = (
            runner_subscriptions.c.service == race.service,
            runner_subscriptions.c.album == race.album,
            runner_subscriptions.c.bib == bib,
            runner_subscriptions.c.channel == channel,
        )
        key = (*of_bib, runner_subscriptions.c.address_sha256 == digest)
        with self._db.begin() as conn:
            found = conn.execute(
                sa.select(runner_subscriptions.c.id, runner_subscriptions.c.ended_at).where(*key)
            ).first()
            if found is None or found.ended_at is not None:
                _check_room(conn, of_bib, channel)
            if found is None:
                try:
                    with conn.begin_nested():
                        conn.execute(
                            runner_subscriptions.insert().values(
                                service=race.service,
                                album=race.album,
                                bib=bib,
                                channel=channel,
                                address=address,
                                address_sha256=digest,
                                verified_by=verified_by,
                                created_at=time.time(),
                            )
                        )
                except sa.exc.IntegrityError:
                    pass  # the same subscription made at the same moment: it is there now
            else:
                conn.execute(runner_subscriptions.update().where(*key).values(ended_at=None))
            ident = conn.execute(sa.select(runner_subscriptions.c.id).where(*key)).scalar_one()
        return Subscription(int(ident), race, bib, channel, address)

    def active(self, race: RaceRef, bib: str) -> list[Subscription]:
        with self._db.connect() as conn:
            rows = conn.execute(
                sa.select(runner_subscriptions)
                .where(
                    runner_subscriptions.c.service == race.service,
                    runner_subscriptions.c.album == race.album,
                    runner_subscriptions.c.bib == bib,
                    runner_subscriptions.c.ended_at.is_(None),
                )
                .order_by(runner_subscriptions.c.id)
            ).all()
        return [_subscription(r) for r in rows]

    def get(self, ident: int) -> Subscription | None:
        with self._db.connect() as conn:
            row = conn.execute(
                sa.select(runner_subscriptions).where(
                    runner_subscriptions.c.id == ident, runner_subscriptions.c.ended_at.is_(None)
                )
            ).first()
        return None if row is None else _subscription(row)

    def end_address(self, channel: str, address: str) -> int:
        """End every subscription of an address (a LINE user unfollowed, a push endpoint is gone)."""
        digest = hashlib.sha256(address.encode()).hexdigest()
        with self._db.begin() as conn:
            return int(
                conn.execute(
                    runner_subscriptions.update()
                    .where(
                        runner_subscriptions.c.channel == channel,
                        runner_subscriptions.c.address_sha256 == digest,
                        runner_subscriptions.c.ended_at.is_(None),
                    )
                    .values(ended_at=time.time())
                ).rowcount
            )


def _subscription(row: sa.Row[tuple[object, ...]]) -> Subscription:
    m = row._mapping
    return Subscription(
        int(m["id"]), RaceRef(m["service"], m["album"]), m["bib"], m["channel"], m["address"]
    )
