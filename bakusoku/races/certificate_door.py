"""The one door to a finisher certificate: start its workflow when both inputs exist.

A certificate needs a bib's finish result and a confident photo of that bib; they arrive in any
order (timing results are posted, photos are read or tagged by staff). Whichever arrives last
opens the door: the results API calls :meth:`CertificateDoor.after_results`, the bib reader and
staff tagging call :meth:`CertificateDoor.after_bibs`. Both end in :meth:`CertificateDoor.consider`.

The execution's name is derived from race, bib, result revision and photo, so a repeat (the same
results posted again, a photo read again) starts nothing, and a correction (a new revision) or a
better photo starts a new certificate. Starting is behind :class:`ExecutionStarter`: the embedded
engine's ``start_execution`` locally, Step Functions' ``StartExecution`` on AWS.

The door never fails its caller: the results are saved and the bibs recorded before it is
called, so a start that cannot be made (the engine or Step Functions unreachable, the database
gone) is logged and counted (``CertificateStartFailed``, a CloudWatch metric on AWS through the
function's log), and :meth:`CertificateDoor.catch_up`, run on a schedule, starts it later.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bakusoku.races.certificate_records import MAKING, CertificateKey, Certificates
from bakusoku.races.records import FINISH
from bakusoku.races.repository import PhotoBibs, RaceRef, RaceRepository
from bakusoku.runtime import emf

log = logging.getLogger("bakusoku.races.certificates")

NAME_PREFIX = "cert"
START_FAILED_METRIC = "CertificateStartFailed"
# A certificate begun this long ago and still being made is started again by the catch-up
# (idempotent by name); younger ones are left to the start in flight.
SETTLE_SECONDS = 60.0


class ExecutionStarter(Protocol):
    """Starts an execution of the certificate state machine; a repeated name starts nothing."""

    def start(self, name: str, input: Mapping[str, Any]) -> bool:
        """Start ``name``; False when an execution of that name already exists."""
        ...

    def redrive(self, name: str) -> bool:
        """Restart ``name`` from the state where it stopped, if it ended FAILED, TIMED_OUT or
        ABORTED (RedriveExecution); False when it runs, succeeded or does not exist."""
        ...


@dataclass(frozen=True)
class Opened:
    """A certificate the door started (or found being made)."""

    key: CertificateKey
    execution_name: str
    started: bool
    redriven: bool = False


def finish_revision(results: Sequence[Mapping[str, Any]]) -> int | None:
    """The revision of the bib's finish result with a time; None before the runner finished."""
    for result in results:
        if result["checkpoint"] == FINISH and (
            result.get("net_ms") is not None or result.get("gun_ms") is not None
        ):
            return int(result["revision"])
    return None


def key_for(
    race: RaceRef, bib: str, results: Sequence[Mapping[str, Any]], photos: Sequence[str]
) -> CertificateKey | None:
    """What the certificate is made from, or None while an input is missing. ``photos`` are the
    bib's confident photos, best first: the best one is the certificate's."""
    revision = finish_revision(results)
    if revision is None or not photos:
        return None
    return CertificateKey(race, bib, revision, photos[0])


def execution_name(key: CertificateKey) -> str:
    """A readable name, unique for (race, bib, revision, photo): ``cert-1024-r2-<digest>``.

    Step Functions names are at most 80 characters of letters, digits, ``-`` and ``_``; bibs
    are at most 16 of those, and the digest covers what the readable part leaves out.
    """
    ident = "\0".join((key.race.service, key.race.album, key.bib, str(key.revision), key.photo_id))
    digest = hashlib.sha256(ident.encode()).hexdigest()[:24]
    return f"{NAME_PREFIX}-{key.bib}-r{key.revision}-{digest}"


def execution_input(key: CertificateKey) -> dict[str, Any]:
    """What the certificate workflow starts with: ids only (the handler reads the rest)."""
    return {
        "service": key.race.service,
        "album": key.race.album,
        "bib": key.bib,
        "revision": key.revision,
        "photoId": key.photo_id,
    }


def key_of(event: Mapping[str, Any]) -> CertificateKey:
    """The certificate an execution's input names (the inverse of :func:`execution_input`)."""
    race = RaceRef(str(event["service"]), str(event["album"]))
    return CertificateKey(race, str(event["bib"]), int(event["revision"]), str(event["photoId"]))


@dataclass(frozen=True)
class CaughtUp:
    """What one catch-up did: bibs considered, certificates started, executions redriven (their
    failure could not be recorded), starts that failed."""

    considered: int
    started: int
    failed: int
    redriven: int = 0


class CertificateDoor:
    """Starts the certificate workflow of each bib whose finish result and photo both exist."""

    def __init__(
        self,
        races: RaceRepository,
        bibs: PhotoBibs,
        records: Certificates,
        starter: ExecutionStarter,
        min_confidence: float,
        stage: str = "local",
    ) -> None:
        self._races = races
        self._bibs = bibs
        self._records = records
        self._starter = starter
        self._min_confidence = min_confidence
        self._stage = stage

    def after_results(self, race: RaceRef, bibs: Iterable[str]) -> list[Opened]:
        """Results were written or corrected for ``bibs``."""
        return self._each(race, bibs)

    def after_bibs(self, race: RaceRef, bibs: Iterable[str]) -> list[Opened]:
        """A photo's bibs were recorded (read, or tagged by staff)."""
        return self._each(race, bibs)

    def consider(self, race: RaceRef, bib: str, *, revive: bool = False) -> Opened | None:
        """Start the bib's certificate when both inputs exist and it was not started before.

        ``revive`` (the catch-up's, for rows long ``making``): an execution of that name that
        already ended is redriven. It failed without recording it (its MarkCertificateFailed
        failed too, e.g. the database was gone for longer than its retries, or it was stopped),
        so running it on from there records the certificate ready or failed with its reason.
        """
        key = key_for(
            race,
            bib,
            self._races.results_of(race, bib),
            self._bibs.photos_of(race, bib, self._min_confidence),
        )
        if key is None:
            return None
        name = execution_name(key)
        if not self._records.begin(key, name):
            existing = self._records.find(key)
            if existing is not None and existing["status"] != MAKING:
                return None  # made (or failed) already: a repeat starts nothing
        # A row being made is started again: StartExecution is idempotent by name, and this
        # covers a start lost between the row and the call.
        started = self._starter.start(name, execution_input(key))
        if started or not revive:
            return Opened(key, name, started)
        redriven = self._starter.redrive(name)
        if redriven:
            log.warning(
                "the certificate of bib %s in %s/%s ended without being recorded (execution %s):"
                " redriven from the state where it stopped",
                bib,
                race.service,
                race.album,
                name,
            )
        return Opened(key, name, False, redriven)

    def catch_up(self, now: float | None = None) -> CaughtUp:
        """Start every certificate a failed start left out: each bib with a finish result and a
        confident photo but no certificate of that revision, or one still being made since
        before :data:`SETTLE_SECONDS` (its start may have been lost). What the schedule runs."""
        settled = (time.time() if now is None else now) - SETTLE_SECONDS
        waiting = self._records.waiting(self._min_confidence, settled)
        started = failed = redriven = 0
        for race, bib in waiting:
            opened, ok = self._try(race, bib, revive=True)
            started += opened is not None and opened.started
            redriven += opened is not None and opened.redriven
            failed += not ok
        return CaughtUp(len(waiting), started, failed, redriven)

    def _each(self, race: RaceRef, bibs: Iterable[str]) -> list[Opened]:
        opened = (self._try(race, bib)[0] for bib in sorted(set(bibs)))
        return [o for o in opened if o is not None]

    def _try(self, race: RaceRef, bib: str, revive: bool = False) -> tuple[Opened | None, bool]:
        """:meth:`consider`, never raising: a failure is logged and counted; False with it."""
        try:
            return self.consider(race, bib, revive=revive), True
        except Exception as exc:
            log.warning(
                "the certificate of bib %s in %s/%s could not be started (%s: %s): the result "
                "and the photo are kept; the certificate catch-up starts it on its next run",
                bib,
                race.service,
                race.album,
                type(exc).__name__,
                str(exc)[:200],
            )
            emf.count(START_FAILED_METRIC, {"Service": race.service, "Stage": self._stage})
            return None, False
