"""The event store: append with optimistic concurrency, read a stream, read the log.

Each row carries the hash of the previous row *of its stream* and its own hash. A global
chain would need every writer to know the previous global row, which serialises all
writers (docs/adr/0001); per-stream chains ride on the optimistic-concurrency
guarantee that a stream already has exactly one writer per version.
"""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

GENESIS_HASH = bytes(32)


class ConcurrencyError(Exception):
    """The stream moved on since the caller read it: reload and decide again, or tell the user."""

    def __init__(self, stream_id: str, expected_version: int) -> None:
        super().__init__(f"stream {stream_id} is no longer at version {expected_version}")
        self.stream_id = stream_id
        self.expected_version = expected_version


@dataclass(frozen=True)
class NewEvent:
    """An event about to be appended."""

    event_type: str
    data: dict[str, Any]
    schema_version: int = 1
    metadata: dict[str, Any] = field(default_factory=dict)
    event_id: UUID = field(default_factory=uuid4)


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


_COLUMNS = (
    "global_position, stream_id, stream_type, version, event_id, event_type, schema_version, "
    "data, metadata, prev_hash, hash, recorded_at"
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
    )


_INSERT = text(
    "INSERT INTO events (stream_id, stream_type, version, event_id, event_type, schema_version, "
    "data, metadata, prev_hash, hash) "
    "VALUES (:stream_id, :stream_type, :version, :event_id, :event_type, :schema_version, "
    "CAST(:data AS jsonb), CAST(:metadata AS jsonb), :prev_hash, :hash)"
)


async def append(
    conn: AsyncConnection,
    stream_id: str,
    stream_type: str,
    expected_version: int,
    events: Sequence[NewEvent],
    *,
    head_hash: bytes | None = None,
) -> int:
    """Append `events` after `expected_version` (0 = new stream); returns the new version.

    Runs inside the caller's transaction so that outbox rows and inbox marks commit with
    the events. Raises ConcurrencyError when another writer got there first; the unique
    (stream_id, version) constraint is the arbiter, so this holds across processes.
    `head_hash`, the hash of event `expected_version` as the caller just read it, saves a round
    trip; a stored event never changes, and a stale version still fails on the constraint.
    """
    if not events:
        return expected_version
    prev_hash = GENESIS_HASH
    if expected_version > 0 and head_hash is not None:
        prev_hash = head_hash
    elif expected_version > 0:
        head = (
            await conn.execute(
                text("SELECT hash FROM events WHERE stream_id = :s AND version = :v"),
                {"s": stream_id, "v": expected_version},
            )
        ).first()
        if head is None:
            raise ConcurrencyError(stream_id, expected_version)
        prev_hash = bytes(head.hash)
    rows = []
    version = expected_version
    for given in events:
        version += 1
        # Round-trip through canonical JSON so what we hash is exactly what jsonb gives back.
        event = NewEvent(
            event_type=given.event_type,
            data=json.loads(canonical_json(given.data)),
            schema_version=given.schema_version,
            metadata=json.loads(canonical_json(given.metadata)),
            event_id=given.event_id,
        )
        digest = chain_hash(prev_hash, stream_id, version, event)
        rows.append(
            {
                "stream_id": stream_id,
                "stream_type": stream_type,
                "version": version,
                "event_id": event.event_id,
                "event_type": event.event_type,
                "schema_version": event.schema_version,
                "data": canonical_json(event.data),
                "metadata": canonical_json(event.metadata),
                "prev_hash": prev_hash,
                "hash": digest,
            }
        )
        prev_hash = digest
    try:
        await conn.execute(_INSERT, rows)
    except IntegrityError as exc:
        if "events_stream_id_version_key" in str(exc.orig):
            raise ConcurrencyError(stream_id, expected_version) from exc
        raise
    return version


async def append_at_end(
    conn: AsyncConnection, stream_id: str, stream_type: str, events: Sequence[NewEvent]
) -> int:
    """Append `events` after whatever the stream holds; returns the new version.

    For records of facts that no decision depends on (who read a case): two of them can never
    contradict each other, so a concurrent writer is no reason to fail a read. Writers of one
    stream queue on a lock held until their commit instead of racing on the version, and the
    head is found through the (stream_id, version) index, so a long stream costs no more to
    extend than a short one.
    """
    await conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:s, 0))"), {"s": stream_id})
    head = (
        await conn.execute(
            text("SELECT version, hash FROM events WHERE stream_id = :s ORDER BY version DESC LIMIT 1"),
            {"s": stream_id},
        )
    ).first()
    if head is None:
        return await append(conn, stream_id, stream_type, 0, events)
    return await append(conn, stream_id, stream_type, head.version, events, head_hash=bytes(head.hash))


async def read_stream(conn: AsyncConnection, stream_id: str) -> list[RecordedEvent]:
    """Every event of one stream, in version order."""
    result = await conn.execute(
        text(f"SELECT {_COLUMNS} FROM events WHERE stream_id = :s ORDER BY version"),  # noqa: S608
        {"s": stream_id},
    )
    return [_row_to_event(r) for r in result]


async def read_all(conn: AsyncConnection, after: int = 0, limit: int = 1000) -> list[RecordedEvent]:
    """A page of the whole log in global order, after position `after`.

    For audit and verification of what is committed; followers that must never miss a
    late-committing transaction read the outbox through the relay's horizon instead.
    """
    result = await conn.execute(
        text(
            f"SELECT {_COLUMNS} FROM events WHERE global_position > :after "  # noqa: S608
            "ORDER BY global_position LIMIT :limit"
        ),
        {"after": after, "limit": limit},
    )
    return [_row_to_event(r) for r in result]


@dataclass
class ChainReport:
    """What the verifier found: counts, and one line per broken row."""

    streams: int = 0
    events: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


async def verify_chain(conn: AsyncConnection, page: int = 5000) -> ChainReport:
    """Recompute every stream's chain; report edited rows, missing versions and broken links."""
    report = ChainReport()
    heads: dict[str, tuple[int, bytes]] = {}
    after = ""
    # Walk streams in (stream_id, version) order so each link is checked against its predecessor.
    while True:
        result = await conn.execute(
            text(
                f"SELECT {_COLUMNS} FROM events WHERE (stream_id, version) > (:s, :v) "  # noqa: S608
                "ORDER BY stream_id, version LIMIT :limit"
            ),
            {"s": after, "v": heads.get(after, (0, b""))[0], "limit": page},
        )
        rows = [_row_to_event(r) for r in result]
        if not rows:
            break
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
        after = rows[-1].stream_id
    return report
