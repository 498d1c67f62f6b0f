"""An event store in memory, for service-layer tests without PostgreSQL, Kafka or keys.

FOR TESTS ONLY. It passes the same contract as the PostgreSQL store
(`libs/testing/eventstore_contract.py`), so a service test on it exercises the real write path:
optimistic concurrency, per-stream hash chains, transactional outbox, lookups by case key. It has
no cipher: personal fields are kept in clear (in this process's memory, nowhere else), and erasing
a person only records the subject in `erased`, so tests can see that it was asked for.

Isolation is PostgreSQL's read committed as the services use it: a transaction's appends are
visible to its own reads at once and to every other session only once it commits; a failed
transaction leaves nothing. Where PostgreSQL would block a second writer on a unique key until the
first commits, this store lets both proceed and fails the loser when it commits.
"""

import asyncio
import copy
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from libs import outbox
from libs.domain import RegisterEntry
from libs.eventstore import (
    ConcurrencyError,
    DuplicateEventError,
    EventStore,
    LogQuery,
    RecordedEvent,
    RegisterQuery,
    RegisterRow,
    Row,
    Session,
    sort_value,
)


class InMemoryEventStore(EventStore):
    """Committed events, outbox messages and erased subjects, as plain attributes tests can inspect.

    `events` is the log in commit order (a test may tamper with it to exercise the chain verifier).
    """

    def __init__(self) -> None:
        self.events: list[RecordedEvent] = []
        self.outbox: list[outbox.OutgoingMessage] = []
        self.erased: set[str] = set()
        # The case register: stream id -> (line, whose search tokens, the tokens).
        self.register_lines: dict[str, tuple[RegisterRow, str | None, frozenset[bytes]]] = {}
        # Case key -> the consent expiry its lines show (joined when read, as in PostgreSQL).
        self.register_consents: dict[UUID, date | None] = {}
        self._position = 0  # last global position given; never reused, even if a test deletes a row
        self._commit_lock = asyncio.Lock()
        self._stream_locks: dict[str, asyncio.Lock] = {}

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator["InMemorySession"]:
        session = InMemorySession(self, writable=True)
        try:
            yield session
            # Checked again here: another transaction may have committed the same version meanwhile.
            async with self._commit_lock:
                session._commit()
        finally:
            session._release()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator["InMemorySession"]:
        yield InMemorySession(self, writable=False)


class InMemorySession(Session):
    """One transaction: its appends, messages and erasures stay pending until it commits."""

    def __init__(self, store: InMemoryEventStore, *, writable: bool) -> None:
        super().__init__(cipher=None)
        self._store = store
        self._writable = writable
        self._pending: list[RecordedEvent] = []
        self._messages: list[outbox.OutgoingMessage] = []
        self._erased: set[str] = set()
        self._locks: dict[str, asyncio.Lock] = {}
        self._register_lines: dict[str, tuple[RegisterRow, str | None, frozenset[bytes]]] = {}
        self._register_consents: dict[UUID, date | None] = {}
        self._register_cleared = False

    # --- what this session sees --------------------------------------------------------------

    def _visible(self) -> list[RecordedEvent]:
        """Committed events, then this transaction's own (their positions provisional until commit)."""
        base = self._store._position
        own = [replace(e, global_position=base + i) for i, e in enumerate(self._pending, 1)]
        return self._store.events + own

    @staticmethod
    def _copies(events: Iterable[RecordedEvent]) -> list[RecordedEvent]:
        """Fresh data on every read, as from a database: a caller mutating it changes nothing stored."""
        return [replace(e, data=copy.deepcopy(e.data), metadata=copy.deepcopy(e.metadata)) for e in events]

    async def read_stream(self, stream_id: str) -> list[RecordedEvent]:
        return self._copies(sorted((e for e in self._visible() if e.stream_id == stream_id), key=_version))

    async def log(self, query: LogQuery) -> list[RecordedEvent]:
        def matches(e: RecordedEvent) -> bool:
            return (
                e.global_position > query.after
                and query.case_key in (None, e.case_key)
                and query.stream_type in (None, e.stream_type)
                and query.organisation in (None, e.metadata.get("organisation"))
                and query.actor in (None, e.metadata.get("actor"))
                and (query.start is None or e.recorded_at >= query.start)
                and (query.end is None or e.recorded_at < query.end)
            )

        return self._copies([e for e in self._visible() if matches(e)][: query.limit])

    async def stream_ids(self, stream_type: str | None = None, case_key: UUID | None = None) -> list[str]:
        # A stream's type and case are those of its first event, as in PostgreSQL's index.
        return [
            e.stream_id
            for e in self._visible()
            if e.version == 1 and stream_type in (None, e.stream_type) and case_key in (None, e.case_key)
        ]

    async def _stream_pages(self, after: tuple[str, int], page: int) -> list[RecordedEvent]:
        rows = sorted((e for e in self._visible() if (e.stream_id, e.version) > after), key=_stream_order)
        return self._copies(rows[:page])

    # --- writes: pending until commit --------------------------------------------------------

    def _check_writable(self) -> None:
        if not self._writable:
            raise RuntimeError("a reading() session cannot write: use store.transaction()")

    async def _lock_head(self, stream_id: str) -> tuple[int, bytes] | None:
        self._check_writable()
        if stream_id not in self._locks:  # held until the transaction ends, like an advisory xact lock
            lock = self._store._stream_locks.setdefault(stream_id, asyncio.Lock())
            await lock.acquire()
            self._locks[stream_id] = lock
        stream = await self.read_stream(stream_id)
        return (stream[-1].version, stream[-1].hash) if stream else None

    async def _insert(self, rows: list[Row]) -> None:
        self._check_writable()
        now = datetime.now(UTC)
        new = [
            RecordedEvent(
                global_position=0,
                stream_id=r.stream_id,
                stream_type=r.stream_type,
                version=r.version,
                event_id=r.event.event_id,
                event_type=r.event.event_type,
                schema_version=r.event.schema_version,
                data=r.event.data,
                metadata=r.event.metadata,
                prev_hash=r.prev_hash,
                hash=r.hash,
                recorded_at=now,
                case_key=r.event.case_key,
            )
            for r in rows
        ]
        _check_unique(self._visible(), new)  # nothing is added unless every row fits
        self._pending.extend(new)

    async def publish(self, messages: Sequence[outbox.OutgoingMessage]) -> None:
        self._check_writable()
        self._messages.extend(messages)

    # --- no cipher: personal fields stay in clear ----------------------------------------------

    async def seal_fields(self, subject_ref: str, data: dict[str, Any], fields: list[str]) -> dict[str, Any]:
        return data

    async def open_fields(self, data: Any) -> Any:
        return data

    async def erase_subject(self, subject_ref: str) -> bool:
        self._check_writable()
        if subject_ref in self._store.erased or subject_ref in self._erased:
            return False
        self._erased.add(subject_ref)
        return True

    # --- the case register ---------------------------------------------------------------------

    def blind(self, term: str) -> bytes:
        return term.encode()  # no key in a test store: the token is the term

    def _lines(self) -> dict[str, tuple[RegisterRow, str | None, frozenset[bytes]]]:
        lines = {} if self._register_cleared else dict(self._store.register_lines)
        lines.update(self._register_lines)
        consents = {} if self._register_cleared else dict(self._store.register_consents)
        consents.update(self._register_consents)
        erased = self._store.erased | self._erased
        return {
            s: (
                replace(row, consent_expires_on=consents.get(row.case_key) if row.case_key else None),
                who,
                frozenset() if who in erased else tokens,
            )
            for s, (row, who, tokens) in lines.items()
        }

    async def save_register(
        self, stream_id: str, entry: RegisterEntry, version: int, worker: str | None
    ) -> None:
        self._check_writable()
        before = self._lines().get(stream_id)
        row = RegisterRow(
            stream_id,
            entry.case_id,
            entry.case_key,
            entry.organisation,
            entry.handed_to[0] if entry.handed_to else before[0].worker if before else worker,
            entry.status,
            entry.district,
            tuple(entry.issue_tags),
            entry.opened_on,
            entry.last_activity_on,
            entry.due_on,
            version,
        )
        tokens = frozenset(self.blind(t) for t in entry.search)
        self._register_lines[stream_id] = (row, entry.subject_ref, tokens)

    async def save_consent_expiry(self, case_key: UUID, expires_on: date | None) -> None:
        self._check_writable()
        self._register_consents[case_key] = expires_on

    async def register(self, query: RegisterQuery) -> list[RegisterRow]:
        def matches(row: RegisterRow, tokens: frozenset[bytes]) -> bool:
            return (
                row.organisation == query.organisation
                and (not query.status or row.status in query.status)
                and query.worker in (None, row.worker)
                and query.district in (None, row.district)
                and (query.issue_tag is None or query.issue_tag in row.issue_tags)
                and (
                    query.opened_from is None
                    or (row.opened_on is not None and row.opened_on >= query.opened_from)
                )
                and (
                    query.opened_to is None
                    or (row.opened_on is not None and row.opened_on <= query.opened_to)
                )
                and (query.overdue_on is None or (row.due_on is not None and row.due_on < query.overdue_on))
                and (query.due_by is None or (row.due_on is not None and row.due_on <= query.due_by))
                and (
                    query.quiet_since is None
                    or (row.last_activity_on is not None and row.last_activity_on <= query.quiet_since)
                )
                and (
                    query.consent_expires_from is None
                    or (
                        row.consent_expires_on is not None
                        and row.consent_expires_on >= query.consent_expires_from
                    )
                )
                and (
                    query.consent_expires_by is None
                    or (
                        row.consent_expires_on is not None
                        and row.consent_expires_on <= query.consent_expires_by
                    )
                )
                and (not query.tokens or bool(tokens & set(query.tokens)))
            )

        def key(row: RegisterRow) -> tuple[date, UUID]:
            return (sort_value(row, query), row.case_id)

        found = sorted(
            (row for row, _, tokens in self._lines().values() if matches(row, tokens)),
            key=key,
            reverse=query.descending,
        )
        if query.after is not None:
            found = [r for r in found if (key(r) < query.after if query.descending else key(r) > query.after)]
        return found[: query.limit]

    async def register_count(self, query: RegisterQuery) -> int:
        return len(await self.register(replace(query, after=None, limit=len(self._lines()))))

    async def clear_register(self) -> None:
        self._check_writable()
        self._register_cleared = True
        self._register_lines.clear()
        self._register_consents.clear()

    # --- the end of the transaction ----------------------------------------------------------

    def _commit(self) -> None:
        """Apply everything at once, or raise and apply nothing (the caller holds the commit lock)."""
        _check_unique(self._store.events, self._pending)
        for event in self._pending:
            self._store._position += 1
            self._store.events.append(replace(event, global_position=self._store._position))
        self._store.outbox.extend(self._messages)
        self._store.erased |= self._erased
        if self._register_cleared:
            self._store.register_lines.clear()
            self._store.register_consents.clear()
        self._store.register_lines.update(self._register_lines)
        self._store.register_consents.update(self._register_consents)

    def _release(self) -> None:
        for lock in self._locks.values():
            lock.release()
        self._locks.clear()


def _check_unique(stored: list[RecordedEvent], new: list[RecordedEvent]) -> None:
    """PostgreSQL's UNIQUE (stream_id, version) and UNIQUE (event_id), as the store's errors."""
    versions = {(e.stream_id, e.version) for e in stored}
    event_ids = {e.event_id for e in stored}
    for e in new:
        if (e.stream_id, e.version) in versions:
            first = min(n.version for n in new if n.stream_id == e.stream_id)
            raise ConcurrencyError(e.stream_id, first - 1)
        if e.event_id in event_ids:
            raise DuplicateEventError(f"event {e.event_id} is already stored")
        versions.add((e.stream_id, e.version))
        event_ids.add(e.event_id)


def _version(e: RecordedEvent) -> int:
    return e.version


def _stream_order(e: RecordedEvent) -> tuple[str, int]:
    return (e.stream_id, e.version)
