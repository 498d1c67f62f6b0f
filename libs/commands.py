"""The one write path: load a stream, authorise, decide, append, and put public events in the outbox.

Everything happens in the caller's session (one transaction). Reads come first; the first write (a new
person's key, or the append) follows them, which keeps the relay's per-case order sound
(ADR 0002). Personal fields are sealed under the person's key before they are stored.
"""

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Generic, TypeVar

from contracts.envelope import Envelope, PublicEvent
from libs import outbox
from libs.auth import Principal
from libs.authz import Decision, enforce
from libs.domain import Aggregate, Command, DomainEvent, InvalidCommand
from libs.eventstore import ConcurrencyError, EventStore, Loaded, NewEvent, Session
from libs.fields import DISTRICT, HAPPENED, ORGANISATION, marked

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
    # What a person's command is checked against (libs.fields markers): the business day it is
    # judged on and the municipality's districts. None for reactions to other programs' events,
    # which the program that published them checked.
    today: date | None = None
    districts: frozenset[str] | None = None
    organisations: frozenset[str] | None = None
    # False for a service's reaction to another program's event: no person acted (no 担当者).
    by_person: bool = True

    @classmethod
    def reacting_to(cls, envelope: Envelope, organisation: str, actor: str) -> "Context":
        """Context of a command caused by another service's event: same flow, causation linked."""
        return cls(
            organisation=organisation,
            actor=actor,
            correlation_id=envelope.correlation_id,
            causation_id=envelope.event_id,
            traceparent=envelope.traceparent,
            by_person=False,
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
class Outcome(Generic[S]):
    """The state after the command, its stream version and what was recorded."""

    state: S
    version: int
    events: list[DomainEvent]


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


def check_facts(command: Command, ctx: Context) -> None:
    """What only the running service can check about a person's command: no day a thing happened
    after today (Tokyo), no district or organisation the municipality's directory does not have
    (422 naming the field)."""
    for path, marker, value in marked(command):
        if marker is HAPPENED and ctx.today is not None and value > ctx.today:
            raise InvalidCommand(
                "date_in_future",
                # The day typed is not repeated: it may be personal data (a birth date).
                f"{path} の日付が今日（{ctx.today}）より後になっています。起きたことの日付は今日以前にしてください。",
            )
        if marker is DISTRICT and ctx.districts is not None and value not in ctx.districts:
            raise InvalidCommand(
                "unknown_district",
                f"{path} の地区コード「{value}」はこの自治体の地区にありません。地区の一覧から選んでください。",
            )
        if marker is ORGANISATION and ctx.organisations is not None and value not in ctx.organisations:
            raise InvalidCommand(
                "unknown_organisation",
                f"{path} の機関コード「{value}」は機関の名簿にありません。名簿から選ぶか、市町村担当課に登録を依頼してください。",
            )


def no_public(_: object, __: DomainEvent) -> list[PublicEvent]:
    """For streams whose events stay private (access logs, consent state, erasure records)."""
    return []


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
    session: Session,
    aggregate: Aggregate[S],
    stream_id: str,
    command: Command,
    publish: Publish[S],
    ctx: Context,
    *,
    expected_version: int | None = None,
    guard: Guard[S] | None = None,
    loaded: Loaded[S] | None = None,
    case_key: uuid.UUID | None = None,
) -> Outcome[S]:
    """Run one command against one stream inside `session`'s transaction.

    `expected_version` comes from the client (If-Match) when a person decided on what they
    saw; a mismatch is a ConcurrencyError (HTTP 409) rather than a silent overwrite. `loaded`:
    the stream as the caller already read it in this transaction (to read another stream it
    names), so it is not read twice. `case_key`: the case the stream is about when its state does
    not say (streams named after the case).
    """
    check_facts(command, ctx)
    if loaded is None:
        loaded = await session.load(aggregate, stream_id)
    if guard is not None:
        guard.check(loaded.state)
    if expected_version is not None and expected_version != loaded.version:
        raise ConcurrencyError(stream_id, expected_version)
    new_events = list(aggregate.decide(command, loaded.state))
    state = loaded.state
    messages: list[outbox.OutgoingMessage] = []
    stored: list[NewEvent] = []
    now = datetime.now(UTC)
    for event in new_events:
        state = aggregate.evolve(state, event)
        messages.extend(
            outbox.OutgoingMessage(p.topic, envelope_for(p, ctx, now)) for p in publish(state, event)
        )
        data = await session.stored_form(aggregate, state, event)
        stored.append(
            NewEvent(
                event.event_type(),
                data,
                event.schema_version,
                ctx.metadata(),
                case_key=case_key or aggregate.case_key_of(state),
            )
        )
    version = await session.append(
        stream_id, aggregate.stream_type, loaded.version, stored, head_hash=loaded.head_hash
    )
    await session.publish(messages)
    if new_events and aggregate.register is not None and (entry := aggregate.register(state)) is not None:
        # The person who opened the case is its 担当者 until handovers are recorded.
        worker = ctx.actor if loaded.version == 0 and ctx.by_person else None
        await session.save_register(stream_id, entry, version, worker)
    if new_events and aggregate.consent_expires_on is not None:
        # A consent stream does not hold a line: it tells every line of its case key its expiry.
        key = case_key or aggregate.case_key_of(state)
        if key is None:
            raise ValueError(f"{aggregate.stream_type} shows a consent expiry but names no case key")
        await session.save_consent_expiry(key, aggregate.consent_expires_on(state))
    return Outcome(state, version, new_events)


async def run(
    store: EventStore,
    aggregate: Aggregate[S],
    stream_id: str,
    command: Command,
    publish: Publish[S],
    ctx: Context,
    *,
    expected_version: int | None = None,
    guard: Guard[S] | None = None,
    case_key: uuid.UUID | None = None,
    attempts: int = 3,
) -> Outcome[S]:
    """`execute` in its own transaction; re-decides on a conflict unless the client pinned a version."""
    return await transact(
        store,
        lambda session: execute(
            session,
            aggregate,
            stream_id,
            command,
            publish,
            ctx,
            expected_version=expected_version,
            guard=guard,
            case_key=case_key,
        ),
        retry=expected_version is None,
        attempts=attempts,
    )


async def transact(
    store: EventStore,
    body: Callable[[Session], Awaitable[T]],
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
            async with store.transaction() as session:
                return await body(session)
        except ConcurrencyError:
            if not retry or attempt == attempts:
                raise
    raise AssertionError("unreachable")
