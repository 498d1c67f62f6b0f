"""The one write path: load a stream, decide, append, and put public events in the outbox.

Everything happens in the caller's transaction. Reads come first; the first write (a new
person's key, or the append) follows them, which keeps the relay's per-case order sound
(ADR 0002). Personal fields are sealed under the person's key before they are stored.
"""

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.envelope import Envelope, PublicEvent
from libs import eventstore, outbox
from libs.auth import Principal
from libs.authz import Decision, enforce
from libs.crypto import PersonalDataCipher
from libs.domain import Aggregate, DomainEvent
from libs.eventstore import ConcurrencyError, NewEvent

S = TypeVar("S")
T = TypeVar("T")


@dataclass(frozen=True)
class Context:
    """Who asks and in which flow: stored in event metadata and copied into envelopes."""

    organisation: str
    actor: str
    correlation_id: uuid.UUID = field(default_factory=uuid.uuid4)
    causation_id: uuid.UUID | None = None
    traceparent: str | None = None

    @classmethod
    def reacting_to(cls, envelope: Envelope, organisation: str, actor: str) -> "Context":
        """Context of a command caused by another service's event: same flow, causation linked."""
        return cls(
            organisation=organisation,
            actor=actor,
            correlation_id=envelope.correlation_id,
            causation_id=envelope.event_id,
            traceparent=envelope.traceparent,
        )

    def metadata(self) -> dict[str, Any]:
        return {
            "organisation": self.organisation,
            "actor": self.actor,
            "correlation_id": str(self.correlation_id),
            "causation_id": str(self.causation_id) if self.causation_id else None,
            "traceparent": self.traceparent,
        }


@dataclass(frozen=True)
class Loaded(Generic[S]):
    state: S
    version: int
    head_hash: bytes | None = None
    """The hash of the stream's last event, so the append need not read it again (None: empty)."""


@dataclass(frozen=True)
class Outcome(Generic[S]):
    """The state after the command, its stream version and what was recorded."""

    state: S
    version: int
    events: list[DomainEvent]


Decide = Callable[[S], Sequence[DomainEvent]]
Publish = Callable[[S, DomainEvent], Sequence[PublicEvent]]


@dataclass(frozen=True)
class Guard(Generic[S]):
    """Who may run a command, judged on the very state the command then decides on.

    Checked inside the command's transaction after its one load, so the policy never judges an
    older version than the decision does, and before any version check, so that a refused
    caller learns nothing (404) about a case it may not see, not even that it changed.
    """

    policy: Callable[[S], Decision]
    principal: Principal
    action: str
    resource: str
    hide: bool = True

    def check(self, state: S) -> Decision:
        return enforce(self.policy(state), self.principal, self.action, self.resource, hide=self.hide)


_cipher: PersonalDataCipher | None = None


def use_cipher(cipher: PersonalDataCipher | None) -> None:
    """Set the process's cipher for personal fields (one service per process; set at start-up)."""
    global _cipher
    _cipher = cipher


def cipher() -> PersonalDataCipher:
    """The process's cipher (for erasure); fails if none is configured."""
    return _required_cipher()


def _required_cipher() -> PersonalDataCipher:
    if _cipher is None:
        raise RuntimeError("personal data needs a cipher: configure the service's key-encryption key")
    return _cipher


def no_public(_: object, __: DomainEvent) -> list[PublicEvent]:
    """For streams whose events stay private (access logs, consent state, erasure records)."""
    return []


async def load(conn: AsyncConnection, aggregate: Aggregate[S], stream_id: str) -> Loaded[S]:
    """Rebuild one aggregate from its stream; sealed personal fields are opened (None if erased)."""
    recorded = await eventstore.read_stream(conn, stream_id)
    events = []
    for r in recorded:
        data = r.data
        if aggregate.event_class(r.event_type).personal_fields:
            data = await _required_cipher().open_fields(conn, data, erased=None)
        events.append(aggregate.decode(r.event_type, data, r.schema_version))
    state = aggregate.fold(events)
    return Loaded(state, recorded[-1].version if recorded else 0, recorded[-1].hash if recorded else None)


async def _stored_form(
    conn: AsyncConnection, aggregate: Aggregate[S], state: S, event: DomainEvent
) -> dict[str, Any]:
    """The event as stored: personal fields sealed under the person's key."""
    data = event.model_dump(mode="json")
    fields = [f for f in event.personal_fields if _present(data, f)]
    if not fields:
        return data
    subject = aggregate.subject_of(state)
    if subject is None:
        raise RuntimeError(f"{aggregate.stream_type} has personal data but no subject to seal it under")
    return await _required_cipher().seal_fields(conn, subject, data, fields)


def _present(data: dict[str, Any], path: str) -> bool:
    """Whether a dotted path holds a value (None and missing optional fields have nothing to seal)."""
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, dict) or value.get(part) is None:
            return False
        value = value[part]
    return True


def envelope_for(event: PublicEvent, ctx: Context, occurred_at: datetime) -> Envelope:
    now = datetime.now(UTC)
    return Envelope(
        event_id=uuid.uuid4(),
        event_type=event.event_type,
        schema_version=event.schema_version,
        case_key=event.case_key,
        occurred_at=occurred_at,
        recorded_at=now,
        organisation=ctx.organisation,
        actor=ctx.actor,
        correlation_id=ctx.correlation_id,
        causation_id=ctx.causation_id,
        traceparent=ctx.traceparent,
        payload=event.model_dump(mode="json"),
    )


async def execute(
    conn: AsyncConnection,
    aggregate: Aggregate[S],
    stream_id: str,
    decide: Decide[S],
    publish: Publish[S],
    ctx: Context,
    *,
    expected_version: int | None = None,
    guard: Guard[S] | None = None,
    loaded: Loaded[S] | None = None,
) -> Outcome[S]:
    """Run one command against one stream inside `conn`'s transaction.

    `expected_version` comes from the client (If-Match) when a person decided on what they
    saw; a mismatch is a ConcurrencyError (HTTP 409) rather than a silent overwrite. `loaded`:
    the stream as the caller already read it in this transaction (to authorise, or to read
    another stream it names), so it is not read twice.
    """
    if loaded is None:
        loaded = await load(conn, aggregate, stream_id)
    if guard is not None:
        guard.check(loaded.state)
    if expected_version is not None and expected_version != loaded.version:
        raise ConcurrencyError(stream_id, expected_version)
    new_events = list(decide(loaded.state))
    state = loaded.state
    messages: list[outbox.OutgoingMessage] = []
    stored: list[NewEvent] = []
    now = datetime.now(UTC)
    for event in new_events:
        state = aggregate.evolve(state, event)
        messages.extend(
            outbox.OutgoingMessage(p.topic, envelope_for(p, ctx, now)) for p in publish(state, event)
        )
        data = await _stored_form(conn, aggregate, state, event)
        stored.append(NewEvent(event.event_type(), data, event.schema_version, ctx.metadata()))
    version = await eventstore.append(
        conn, stream_id, aggregate.stream_type, loaded.version, stored, head_hash=loaded.head_hash
    )
    await outbox.write(conn, messages)
    return Outcome(state, version, new_events)


async def run(
    engine: AsyncEngine,
    aggregate: Aggregate[S],
    stream_id: str,
    decide: Decide[S],
    publish: Publish[S],
    ctx: Context,
    *,
    expected_version: int | None = None,
    guard: Guard[S] | None = None,
    attempts: int = 3,
) -> Outcome[S]:
    """`execute` in its own transaction; re-decides on a conflict unless the client pinned a version."""
    return await transact(
        engine,
        lambda conn: execute(
            conn, aggregate, stream_id, decide, publish, ctx, expected_version=expected_version, guard=guard
        ),
        retry=expected_version is None,
        attempts=attempts,
    )


async def transact(
    engine: AsyncEngine,
    body: Callable[[AsyncConnection], Awaitable[T]],
    *,
    retry: bool = True,
    attempts: int = 3,
) -> T:
    """`body` in its own transaction, run again from its first read when another writer got there first.

    For commands whose decision reads more than the stream they write (the case that authorises
    a consent change): every read, the policy and the append share one transaction.
    """
    for attempt in range(1, attempts + 1):
        try:
            async with outbox.transaction(engine) as conn:
                return await body(conn)
        except ConcurrencyError:
            if not retry or attempt == attempts:
                raise
    raise AssertionError("unreachable")
