"""The event store: an object each service's runtime owns, and the one place SQL on `events` lives.

A command runs in a `Session` (one transaction): it loads streams, appends with optimistic
concurrency, and stores its public events in the outbox, all committed together. The session's
mapper turns domain events into stored rows and back: personal fields sealed under the person's
key, older schema versions lifted by the event class's upcasters.

Each row carries the hash of the previous row *of its stream* and its own hash. A global
chain would need every writer to know the previous global row, which serialises all
writers (docs/adr/0001); per-stream chains ride on the optimistic-concurrency
guarantee that a stream already has exactly one writer per version.

Rows about a case carry its case key in an indexed column (`case_key`), so "every record of this
case" is an index lookup, never a scan of event data. Two implementations pass one contract
(`libs/testing/eventstore_contract.py`): PostgreSQL for services, memory for fast service-layer
tests.
"""

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar
from uuid import UUID, uuid4

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from libs import outbox
from libs.domain import Aggregate, DomainEvent, RegisterEntry

if TYPE_CHECKING:
    from libs.crypto import PersonalDataCipher

S = TypeVar("S")

GENESIS_HASH = bytes(32)


class ConcurrencyError(Exception):
    """The stream moved on since the caller read it: reload and decide again, or tell the user."""

    def __init__(self, stream_id: str, expected_version: int) -> None:
        super().__init__(f"stream {stream_id} is no longer at version {expected_version}")
        self.stream_id = stream_id
        self.expected_version = expected_version


class DuplicateEventError(Exception):
    """An event id that is already stored: a bug or a replay, never a concurrent writer."""


@dataclass(frozen=True)
class NewEvent:
    """An event about to be appended (`case_key`: the case it is about, for lookups by case)."""

    event_type: str
    data: dict[str, Any]
    schema_version: int = 1
    metadata: dict[str, Any] = field(default_factory=dict)
    event_id: UUID = field(default_factory=uuid4)
    case_key: UUID | None = None


@dataclass(frozen=True)
class RecordedEvent:
    """An event as stored, with its place in the stream and in the log."""

    global_position: int
    stream_id: str
    stream_type: str
    version: int
    event_id: UUID
    event_type: str
    schema_version: int
    data: dict[str, Any]
    metadata: dict[str, Any]
    prev_hash: bytes
    hash: bytes
    recorded_at: datetime
    case_key: UUID | None = None


@dataclass(frozen=True)
class Loaded(Generic[S]):
    """A stream folded into state, with its version and head hash (None: empty stream)."""

    state: S
    version: int
    head_hash: bytes | None = None


@dataclass(frozen=True)
class LogQuery:
    """A page of the log filtered by metadata (audit), oldest first; every filter optional."""

    after: int = 0
    limit: int = 1000
    case_key: UUID | None = None
    stream_type: str | None = None
    organisation: str | None = None
    actor: str | None = None
    start: datetime | None = None
    end: datetime | None = None


class RegisterSort(StrEnum):
    OPENED = "opened_on"
    LAST_ACTIVITY = "last_activity_on"
    DUE = "due_on"
    CONSENT_EXPIRY = "consent_expires_on"


@dataclass(frozen=True)
class RegisterQuery:
    """What a worker asks the register for; `organisation` is always the caller's own."""

    organisation: str
    status: tuple[str, ...] = ()
    worker: str | None = None
    district: str | None = None
    issue_tag: str | None = None
    opened_from: date | None = None
    opened_to: date | None = None
    overdue_on: date | None = None  # only cases due before this day
    due_by: date | None = None  # only cases due on or before this day
    quiet_since: date | None = None  # only cases whose last activity is on or before this day
    # Only cases whose consent in force expires on or after / on or before these days.
    consent_expires_from: date | None = None
    consent_expires_by: date | None = None
    tokens: tuple[bytes, ...] = ()  # blind tokens, any of which must match
    sort: RegisterSort = RegisterSort.OPENED
    descending: bool = True
    after: tuple[date, UUID] | None = None  # the cursor: (sort date, case id) of the last row
    limit: int = 50


class RegisterWrite(NamedTuple):
    """The arguments of one `Session.save_register` call, for `Session.save_registers`."""

    stream_id: str
    entry: RegisterEntry
    version: int
    worker: str | None


@dataclass(frozen=True)
class RegisterRow:
    """A register line as stored."""

    stream_id: str
    case_id: UUID
    case_key: UUID | None
    organisation: str
    worker: str | None
    status: str
    district: str | None
    issue_tags: tuple[str, ...]
    opened_on: date | None
    last_activity_on: date | None
    due_on: date | None
    version: int
    # From the case's consent stream, not its own (libs.domain.Aggregate.consent_expires_on).
    consent_expires_on: date | None = None


# Where a case with no such date sorts: after every dated one, whichever the order.
EARLIEST, LATEST = date(1, 1, 1), date(9999, 12, 31)


def sort_value(row: RegisterRow, query: RegisterQuery) -> date:
    """The row's place in the query's order (its date, or the far end for none)."""
    value = getattr(row, query.sort.value)
    return value if value is not None else (EARLIEST if query.descending else LATEST)


def canonical_json(value: Any) -> str:
    """One text per value, so that a hash computed before storage recomputes after it."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: bytes, stream_id: str, version: int, event: NewEvent | RecordedEvent) -> bytes:
    """SHA-256 over the previous hash and everything that states what happened."""
    body = canonical_json(
        [
            stream_id,
            version,
            str(event.event_id),
            event.event_type,
            event.schema_version,
            event.data,
            event.metadata,
        ]
    )
    return hashlib.sha256(prev_hash + body.encode()).digest()


@dataclass(frozen=True)
class Row:
    """One event ready to insert: chained, canonical."""

    stream_id: str
    stream_type: str
    version: int
    event: NewEvent
    prev_hash: bytes
    hash: bytes


def chained(
    stream_id: str, stream_type: str, after: int, prev_hash: bytes, events: Sequence[NewEvent]
) -> list[Row]:
    rows = []
    version = after
    for given in events:
        version += 1
        # Round-trip through canonical JSON so what we hash is exactly what the store gives back.
        event = NewEvent(
            event_type=given.event_type,
            data=json.loads(canonical_json(given.data)),
            schema_version=given.schema_version,
            metadata=json.loads(canonical_json(given.metadata)),
            event_id=given.event_id,
            case_key=given.case_key,
        )
        digest = chain_hash(prev_hash, stream_id, version, event)
        rows.append(Row(stream_id, stream_type, version, event, prev_hash, digest))
        prev_hash = digest
    return rows


@dataclass
class ChainReport:
    """What the verifier found: counts, and one line per broken row."""

    streams: int = 0
    events: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class Session(ABC):
    """One transaction on an event store: what a command, a consumer's handling or a read runs in.

    The mapper's work (sealing, opening, upcasting) happens here, so stored rows never hold a
    personal field in clear and domain code never sees a sealed token.
    """

    def __init__(self, cipher: "PersonalDataCipher | None") -> None:
        self._cipher = cipher

    # --- storage: each implementation --------------------------------------------------------

    @abstractmethod
    async def read_stream(self, stream_id: str) -> list[RecordedEvent]:
        """Every event of one stream, in version order."""

    @abstractmethod
    async def _insert(self, rows: list[Row]) -> None:
        """Insert chained rows; ConcurrencyError if a version is taken, nothing stored on failure."""

    @abstractmethod
    async def _lock_head(self, stream_id: str) -> tuple[int, bytes] | None:
        """The stream's head, with writers of the stream queued behind this transaction until it ends."""

    async def read_all(self, after: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        """A page of the whole log in global order, after position `after`.

        For audit and verification of what is committed; followers that must never miss a
        late-committing transaction read the outbox through the relay's horizon instead.
        """
        return await self.log(LogQuery(after=after, limit=limit))

    @abstractmethod
    async def log(self, query: LogQuery) -> list[RecordedEvent]:
        """Events matching `query`, in global order."""

    @abstractmethod
    async def stream_ids(self, stream_type: str | None = None, case_key: UUID | None = None) -> list[str]:
        """Streams of a type and/or about a case, in the order they were opened."""

    @abstractmethod
    async def _stream_pages(self, after: tuple[str, int], page: int) -> list[RecordedEvent]:
        """Rows in (stream_id, version) order after `after`, for the chain verifier."""

    @abstractmethod
    async def publish(self, messages: Sequence[outbox.OutgoingMessage]) -> None:
        """Store public events in the outbox, committed if and only if the session commits."""

    @property
    def cipher(self) -> "PersonalDataCipher":
        if self._cipher is None:
            raise RuntimeError("personal data needs a cipher: configure the service's key-encryption key")
        return self._cipher

    @abstractmethod
    async def seal_fields(self, subject_ref: str, data: dict[str, Any], fields: list[str]) -> dict[str, Any]:
        """`data` with the named fields sealed under the subject's key."""

    @abstractmethod
    async def open_fields(self, data: Any) -> Any:
        """`data` with every sealed field opened (None where the person was erased)."""

    @abstractmethod
    async def erase_subject(self, subject_ref: str) -> bool:
        """Destroy the person's key (and their search tokens) in this transaction; True if this
        call destroyed the key."""

    @abstractmethod
    def blind(self, term: str) -> bytes:
        """The register's search token of a term (keyed: libs.crypto.PersonalDataCipher.blind)."""

    @abstractmethod
    async def save_register(
        self, stream_id: str, entry: RegisterEntry, version: int, worker: str | None
    ) -> None:
        """Write a case's register line and its search tokens; the first writer stays its worker
        until the case is handed over (`entry.handed_to`)."""

    async def save_registers(self, lines: Sequence[RegisterWrite]) -> None:
        """`save_register` for each line, in order: the same rows, in fewer round trips where the
        store can (a bulk load, such as the bench's ten years of a city's register)."""
        for line in lines:
            await self.save_register(*line)

    @abstractmethod
    async def save_consent_expiry(self, case_key: UUID, expires_on: date | None) -> None:
        """Write the consent expiry every register line of `case_key` shows, whichever lines exist
        now or are opened later (kept apart from the lines, joined to them when read)."""

    @abstractmethod
    async def register(self, query: RegisterQuery) -> list[RegisterRow]:
        """Register lines matching `query`, in its order, after its cursor."""

    @abstractmethod
    async def register_count(self, query: RegisterQuery) -> int:
        """How many lines match `query` (its order, cursor and limit aside)."""

    @abstractmethod
    async def clear_register(self) -> None:
        """Remove every register line, token and consent expiry (before a rebuild)."""

    async def log_all(self, query: LogQuery, page: int = 5000) -> list[RecordedEvent]:
        """Every event matching `query` (its `after` and `limit` aside), however many pages."""
        found: list[RecordedEvent] = []
        while batch := await self.log(
            replace(query, after=found[-1].global_position if found else 0, limit=page)
        ):
            found.extend(batch)
            if len(batch) < page:
                break
        return found

    # --- the write path's shared logic -------------------------------------------------------

    async def append(
        self,
        stream_id: str,
        stream_type: str,
        expected_version: int,
        events: Sequence[NewEvent],
        *,
        head_hash: bytes | None = None,
    ) -> int:
        """Append `events` after `expected_version` (0 = new stream); returns the new version.

        Raises ConcurrencyError when another writer got there first; the store's uniqueness of
        (stream_id, version) is the arbiter, so this holds across processes. `head_hash`, the
        hash of event `expected_version` as the caller just read it, saves a round trip; a stored
        event never changes, and a stale version still fails on the uniqueness.
        """
        if not events:
            return expected_version
        prev_hash = GENESIS_HASH
        if expected_version > 0:
            if head_hash is None:
                stream = await self.read_stream(stream_id)
                if len(stream) != expected_version:
                    raise ConcurrencyError(stream_id, expected_version)
                head_hash = stream[-1].hash
            prev_hash = head_hash
        rows = chained(stream_id, stream_type, expected_version, prev_hash, events)
        await self._insert(rows)
        return rows[-1].version

    async def append_at_end(self, stream_id: str, stream_type: str, events: Sequence[NewEvent]) -> int:
        """Append `events` after whatever the stream holds; returns the new version.

        For records of facts that no decision depends on (who read a case): two of them can never
        contradict each other, so a concurrent writer is no reason to fail a read. Writers of one
        stream queue instead of racing on the version.
        """
        head = await self._lock_head(stream_id)
        if head is None:
            return await self.append(stream_id, stream_type, 0, events)
        return await self.append(stream_id, stream_type, head[0], events, head_hash=head[1])

    async def load(self, aggregate: Aggregate[S], stream_id: str) -> Loaded[S]:
        """One aggregate rebuilt from its stream: personal fields opened (None if erased), each
        event read as the version it was stored with and lifted to the current one."""
        recorded = await self.read_stream(stream_id)
        events = []
        for r in recorded:
            data = r.data
            cls = aggregate.event_class(r.event_type)
            if cls.personal_fields or cls.people_fields:
                data = await self.open_fields(data)
            events.append(aggregate.decode(r.event_type, data, r.schema_version))
        state = aggregate.fold(events)
        return Loaded(state, recorded[-1].version if recorded else 0, recorded[-1].hash if recorded else None)

    async def stored_form(self, aggregate: Aggregate[S], state: S, event: DomainEvent) -> dict[str, Any]:
        """The event as stored: personal fields sealed under the person's key."""
        data = event.model_dump(mode="json")
        for name in event.people_fields:
            if data.get(name) is not None:
                data[name] = [await self._seal_identity(item) for item in data[name]]
        fields = [f for f in event.personal_fields if _present(data, f)]
        if not fields:
            return data
        subject = aggregate.subject_of(state)
        if subject is None:
            raise RuntimeError(f"{aggregate.stream_type} has personal data but no subject to seal it under")
        return await self.seal_fields(subject, data, fields)

    async def _seal_identity(self, person: dict[str, Any]) -> dict[str, Any]:
        """One person of a list (`people_fields`): their identity sealed under their own key."""
        if person.get("identity") is None:
            return person
        return await self.seal_fields(person["subject_ref"], person, ["identity"])

    async def verify_chain(self, page: int = 5000) -> ChainReport:
        """Recompute every stream's chain; report edited rows, missing versions and broken links."""
        report = ChainReport()
        heads: dict[str, tuple[int, bytes]] = {}
        after = ("", 0)
        while rows := await self._stream_pages(after, page):
            for ev in rows:
                report.events += 1
                last_version, last_hash = heads.get(ev.stream_id, (0, GENESIS_HASH))
                if ev.stream_id not in heads:
                    report.streams += 1
                where = f"{ev.stream_id} v{ev.version} (position {ev.global_position})"
                if ev.version != last_version + 1:
                    report.problems.append(f"{where}: version gap after v{last_version}")
                if ev.prev_hash != last_hash:
                    report.problems.append(f"{where}: previous-hash link broken")
                if chain_hash(ev.prev_hash, ev.stream_id, ev.version, ev) != ev.hash:
                    report.problems.append(f"{where}: content does not match its hash")
                heads[ev.stream_id] = (ev.version, ev.hash)
            after = (rows[-1].stream_id, rows[-1].version)
        return report


def _present(data: dict[str, Any], path: str) -> bool:
    """Whether a dotted path holds a value (None and missing optional fields have nothing to seal)."""
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, dict) or value.get(part) is None:
            return False
        value = value[part]
    return True


class EventStore(ABC):
    """Sessions on one service's events: `transaction()` for writes, `reading()` for reads."""

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Session]:
        """A session committed when the block ends without an exception, else rolled back."""

    @abstractmethod
    def reading(self) -> AbstractAsyncContextManager[Session]:
        """A session for reads only."""


# --- PostgreSQL ------------------------------------------------------------------------------

_COLUMNS = (
    "global_position, stream_id, stream_type, version, event_id, event_type, schema_version, "
    "data, metadata, prev_hash, hash, recorded_at, case_key"
)

_INSERT = text(
    "INSERT INTO events (stream_id, stream_type, version, event_id, event_type, schema_version, "
    "data, metadata, prev_hash, hash, case_key) "
    "VALUES (:stream_id, :stream_type, :version, :event_id, :event_type, :schema_version, "
    "CAST(:data AS jsonb), CAST(:metadata AS jsonb), :prev_hash, :hash, :case_key)"
)


def _row_to_event(row: Any) -> RecordedEvent:
    return RecordedEvent(
        global_position=row.global_position,
        stream_id=row.stream_id,
        stream_type=row.stream_type,
        version=row.version,
        event_id=row.event_id,
        event_type=row.event_type,
        schema_version=row.schema_version,
        data=row.data,
        metadata=row.metadata,
        prev_hash=bytes(row.prev_hash),
        hash=bytes(row.hash),
        recorded_at=row.recorded_at,
        case_key=row.case_key,
    )


_REGISTER_COLUMNS = (
    "stream_id, case_id, case_key, organisation, worker, status, district, issue_tags, opened_on, "
    "last_activity_on, due_on, version, consent_expires_on"
)
# A line and its case's consent expiry, which the consent's own stream writes (a coordination
# case may open after the consent is noted, and several cases may share one key).
_REGISTER_FROM = "case_register LEFT JOIN case_register_consent USING (case_key)"

# One round trip: the line (its first worker kept until a handover), tokens no longer true removed,
# new ones added.
_SAVE_REGISTER = text(
    """
    WITH line AS (
        INSERT INTO case_register (stream_id, case_id, case_key, organisation, worker, status, district,
            issue_tags, opened_on, last_activity_on, due_on, subject_ref, version)
        VALUES (:s, :case_id, :case_key, :org,
            CASE WHEN CAST(:handed AS boolean) THEN CAST(:handed_to AS text) ELSE CAST(:worker AS text) END,
            :status, :district, CAST(:tags AS text[]), :opened, :active, :due, :subject, :version)
        ON CONFLICT (stream_id) DO UPDATE SET case_key = EXCLUDED.case_key,
            worker = CASE WHEN CAST(:handed AS boolean) THEN EXCLUDED.worker ELSE case_register.worker END,
            organisation = EXCLUDED.organisation, status = EXCLUDED.status, district = EXCLUDED.district,
            issue_tags = EXCLUDED.issue_tags, opened_on = EXCLUDED.opened_on,
            last_activity_on = EXCLUDED.last_activity_on, due_on = EXCLUDED.due_on,
            subject_ref = EXCLUDED.subject_ref, version = EXCLUDED.version
    ), stale AS (
        DELETE FROM case_search WHERE stream_id = :s AND NOT (token = ANY(CAST(:tokens AS bytea[])))
    )
    INSERT INTO case_search (token, stream_id, subject_ref)
    SELECT t, :s, :subject FROM unnest(CAST(:tokens AS bytea[])) AS t
    ON CONFLICT DO NOTHING
    """
)


def _register_where(query: RegisterQuery) -> tuple[list[str], dict[str, Any]]:
    """The register query's filters as SQL conditions and their parameters."""
    where = ["organisation = :org"]
    params: dict[str, Any] = {"org": query.organisation}
    for clause, name, value in (
        ("status = ANY(:status)", "status", list(query.status) or None),
        ("worker = :worker", "worker", query.worker),
        ("district = :district", "district", query.district),
        (":tag = ANY(issue_tags)", "tag", query.issue_tag),
        ("opened_on >= :opened_from", "opened_from", query.opened_from),
        ("opened_on <= :opened_to", "opened_to", query.opened_to),
        ("due_on < :overdue_on", "overdue_on", query.overdue_on),
        ("due_on <= :due_by", "due_by", query.due_by),
        ("last_activity_on <= :quiet_since", "quiet_since", query.quiet_since),
        ("consent_expires_on >= :consent_from", "consent_from", query.consent_expires_from),
        ("consent_expires_on <= :consent_by", "consent_by", query.consent_expires_by),
        (
            "stream_id IN (SELECT stream_id FROM case_search WHERE token = ANY(:tokens))",
            "tokens",
            list(query.tokens) or None,
        ),
    ):
        if value is not None:
            where.append(clause)
            params[name] = value
    return where, params


class PostgresSession(Session):
    """A session on one PostgreSQL transaction; `conn` is there for the service's other tables."""

    def __init__(self, conn: AsyncConnection, cipher: "PersonalDataCipher | None") -> None:
        super().__init__(cipher)
        self.conn = conn

    async def _select(
        self, where: str, params: dict[str, Any], order: str = "global_position"
    ) -> list[RecordedEvent]:
        result = await self.conn.execute(
            text(f"SELECT {_COLUMNS} FROM events WHERE {where} ORDER BY {order}"),  # noqa: S608
            params,
        )
        return [_row_to_event(r) for r in result]

    async def read_stream(self, stream_id: str) -> list[RecordedEvent]:
        return await self._select("stream_id = :s", {"s": stream_id}, order="version")

    async def _insert(self, rows: list[Row]) -> None:
        try:
            await self.conn.execute(
                _INSERT,
                [
                    {
                        "stream_id": r.stream_id,
                        "stream_type": r.stream_type,
                        "version": r.version,
                        "event_id": r.event.event_id,
                        "event_type": r.event.event_type,
                        "schema_version": r.event.schema_version,
                        "data": canonical_json(r.event.data),
                        "metadata": canonical_json(r.event.metadata),
                        "prev_hash": r.prev_hash,
                        "hash": r.hash,
                        "case_key": r.event.case_key,
                    }
                    for r in rows
                ],
            )
        except IntegrityError as exc:
            if "events_stream_id_version_key" in str(exc.orig):
                raise ConcurrencyError(rows[0].stream_id, rows[0].version - 1) from exc
            if "events_event_id_key" in str(exc.orig):
                raise DuplicateEventError(str(exc.orig)) from exc
            raise

    async def _lock_head(self, stream_id: str) -> tuple[int, bytes] | None:
        await self.conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:s, 0))"), {"s": stream_id}
        )
        head = (
            await self.conn.execute(
                text("SELECT version, hash FROM events WHERE stream_id = :s ORDER BY version DESC LIMIT 1"),
                {"s": stream_id},
            )
        ).first()
        return None if head is None else (head.version, bytes(head.hash))

    async def log(self, query: LogQuery) -> list[RecordedEvent]:
        where = ["global_position > :after"]
        params: dict[str, Any] = {"after": query.after, "limit": query.limit}
        for column, value in (
            ("case_key", query.case_key),
            ("stream_type", query.stream_type),
            ("metadata->>'organisation'", query.organisation),
            ("metadata->>'actor'", query.actor),
        ):
            if value is not None:
                name = f"p{len(params)}"
                where.append(f"{column} = :{name}")
                params[name] = value
        if query.start is not None:
            where.append("recorded_at >= :start")
            params["start"] = query.start
        if query.end is not None:
            where.append("recorded_at < :end")
            params["end"] = query.end
        return await self._select(" AND ".join(where), params, order="global_position LIMIT :limit")

    async def stream_ids(self, stream_type: str | None = None, case_key: UUID | None = None) -> list[str]:
        where, params = ["version = 1"], {}
        if stream_type is not None:
            where.append("stream_type = :t")
            params["t"] = stream_type
        if case_key is not None:
            # Every stream about a case has its key on its first event (the store sets it on all).
            where.append("case_key = :k")
            params["k"] = case_key
        result = await self.conn.execute(
            text(f"SELECT stream_id FROM events WHERE {' AND '.join(where)} ORDER BY global_position"),  # noqa: S608
            params,
        )
        return list(result.scalars())

    async def _stream_pages(self, after: tuple[str, int], page: int) -> list[RecordedEvent]:
        return await self._select(
            "(stream_id, version) > (:s, :v)",
            {"s": after[0], "v": after[1], "limit": page},
            order="stream_id, version LIMIT :limit",
        )

    async def publish(self, messages: Sequence[outbox.OutgoingMessage]) -> None:
        await outbox.write(self.conn, messages)

    async def seal_fields(self, subject_ref: str, data: dict[str, Any], fields: list[str]) -> dict[str, Any]:
        return await self.cipher.seal_fields(self.conn, subject_ref, data, fields)

    async def open_fields(self, data: Any) -> Any:
        if self._cipher is None:
            return data
        return await self._cipher.open_fields(self.conn, data, erased=None)

    async def erase_subject(self, subject_ref: str) -> bool:
        await self.conn.execute(text("DELETE FROM case_search WHERE subject_ref = :s"), {"s": subject_ref})
        return await self.cipher.erase(self.conn, subject_ref)

    def blind(self, term: str) -> bytes:
        return self.cipher.blind(term)

    async def save_register(
        self, stream_id: str, entry: RegisterEntry, version: int, worker: str | None
    ) -> None:
        await self.conn.execute(_SAVE_REGISTER, self._register_params(stream_id, entry, version, worker))

    async def save_registers(self, lines: Sequence[RegisterWrite]) -> None:
        # The one statement of `save_register`, sent for every line as one pipelined executemany.
        if lines:
            await self.conn.execute(_SAVE_REGISTER, [self._register_params(*line) for line in lines])

    def _register_params(
        self, stream_id: str, entry: RegisterEntry, version: int, worker: str | None
    ) -> dict[str, Any]:
        return {
            "s": stream_id,
            "case_id": entry.case_id,
            "case_key": entry.case_key,
            "org": entry.organisation,
            "worker": worker,
            "handed": entry.handed_to is not None,
            "handed_to": entry.handed_to[0] if entry.handed_to else None,
            "status": entry.status,
            "district": entry.district,
            "tags": list(entry.issue_tags),
            "opened": entry.opened_on,
            "active": entry.last_activity_on,
            "due": entry.due_on,
            "subject": entry.subject_ref,
            "version": version,
            "tokens": [self.blind(t) for t in entry.search],
        }

    async def save_consent_expiry(self, case_key: UUID, expires_on: date | None) -> None:
        await self.conn.execute(
            text(
                "INSERT INTO case_register_consent (case_key, consent_expires_on) VALUES (:k, :on) "
                "ON CONFLICT (case_key) DO UPDATE SET consent_expires_on = EXCLUDED.consent_expires_on"
            ),
            {"k": case_key, "on": expires_on},
        )

    async def register(self, query: RegisterQuery) -> list[RegisterRow]:
        where, params = _register_where(query)
        params["limit"] = query.limit
        far = "'0001-01-01'" if query.descending else "'9999-12-31'"
        key = f"coalesce({query.sort.value}, DATE {far})"
        direction = "DESC" if query.descending else "ASC"
        if query.after is not None:
            where.append(f"({key}, case_id) {'<' if query.descending else '>'} (:after_value, :after_id)")
            params["after_value"], params["after_id"] = query.after
        result = await self.conn.execute(
            text(
                f"SELECT {_REGISTER_COLUMNS} FROM {_REGISTER_FROM} WHERE {' AND '.join(where)} "  # noqa: S608
                f"ORDER BY {key} {direction}, case_id {direction} LIMIT :limit"
            ),
            params,
        )
        return [
            RegisterRow(
                r.stream_id,
                r.case_id,
                r.case_key,
                r.organisation,
                r.worker,
                r.status,
                r.district,
                tuple(r.issue_tags),
                r.opened_on,
                r.last_activity_on,
                r.due_on,
                r.version,
                r.consent_expires_on,
            )
            for r in result
        ]

    async def register_count(self, query: RegisterQuery) -> int:
        where, params = _register_where(query)
        result = await self.conn.execute(
            text(f"SELECT count(*) FROM {_REGISTER_FROM} WHERE {' AND '.join(where)}"),  # noqa: S608
            params,
        )
        return int(result.scalar_one())

    async def clear_register(self) -> None:
        await self.conn.execute(text("DELETE FROM case_search"))
        await self.conn.execute(text("DELETE FROM case_register"))
        await self.conn.execute(text("DELETE FROM case_register_consent"))


class PostgresEventStore(EventStore):
    """The service's events in its PostgreSQL database (schema in libs/db.py)."""

    def __init__(self, engine: AsyncEngine, cipher: "PersonalDataCipher | None" = None) -> None:
        self.engine = engine
        self.cipher = cipher

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresSession]:
        """The write path's transaction: the relay is woken once it commits outbox rows."""
        async with outbox.transaction(self.engine) as conn:
            yield PostgresSession(conn, self.cipher)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[PostgresSession]:
        async with self.engine.connect() as conn:
            yield PostgresSession(conn, self.cipher)

    def session(self, conn: AsyncConnection) -> PostgresSession:
        """A session on a transaction someone else opened (the inbox, tests)."""
        return PostgresSession(conn, self.cipher)
