"""The definitions a state machine was registered with, kept for the executions started on them.

A new release may register a changed definition while executions of the old one are in flight
(``bakusoku up`` restarted on the same data). Step Functions pins each execution to the state
machine version it started on; the engine does the same: every registered definition is stored
once under its revision (the SHA-256 of its canonical JSON), each execution records the revision
it started with, and an execution resumed or redriven later runs on that definition. Definitions
are never deleted: an execution may be redriven long after its release was replaced.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from bakusoku.workflow.tables import state_machine_definitions

log = logging.getLogger("bakusoku.workflow.engine")


def revision_of(definition: Mapping[str, Any]) -> str:
    """The definition's revision: SHA-256 of its JSON with sorted keys (formatting-independent)."""
    text = json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


class DefinitionStore:
    """Stores each registered definition once; reads back those of older registrations."""

    def __init__(self, db: sa.Engine) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._known: dict[tuple[str, str], dict[str, Any]] = {}
        self._unsaved: set[tuple[str, str]] = set()

    def register(self, machine: str, revision: str, definition: dict[str, Any]) -> None:
        """Remember ``definition``, and store it now if the database answers (else on first use)."""
        with self._lock:
            self._known[(machine, revision)] = definition
            self._unsaved.add((machine, revision))
        try:
            self.ensure_saved(machine, revision)
        except sa.exc.SQLAlchemyError:
            # The engine may be built while the database is away; the first execution that
            # starts on this definition stores it (and fails, as it would anyway, until then).
            log.warning(
                "could not store the definition of %s yet; storing it on first use", machine
            )

    def ensure_saved(self, machine: str, revision: str) -> None:
        """Store the registered definition unless stored already (any engine may have)."""
        key = (machine, revision)
        with self._lock:
            if key not in self._unsaved:
                return
            definition = self._known[key]
        row = {
            "state_machine": machine,
            "revision": revision,
            "definition": json.dumps(definition, sort_keys=True, separators=(",", ":")),
            "registered_at": time.time(),
        }
        with self.db.begin() as conn:
            exists = conn.execute(
                sa.select(sa.literal(1)).where(
                    state_machine_definitions.c.state_machine == machine,
                    state_machine_definitions.c.revision == revision,
                )
            ).first()
            if exists is None:
                try:
                    with conn.begin_nested():
                        conn.execute(state_machine_definitions.insert().values(**row))
                except sa.exc.IntegrityError:
                    pass  # another engine stored the same definition meanwhile
        with self._lock:
            self._unsaved.discard(key)

    def definition(self, machine: str, revision: str) -> dict[str, Any] | None:
        """The definition ``machine`` had at ``revision`` (None: never stored here)."""
        key = (machine, revision)
        with self._lock:
            known = self._known.get(key)
        if known is not None:
            return known
        with self.db.connect() as conn:
            text = conn.execute(
                sa.select(state_machine_definitions.c.definition).where(
                    state_machine_definitions.c.state_machine == machine,
                    state_machine_definitions.c.revision == revision,
                )
            ).scalar()
        if text is None:
            return None
        found: dict[str, Any] = json.loads(text)
        with self._lock:
            self._known[key] = found
        return found
