"""The write path: authorisation judged inside the command's transaction, on the state the
command decides on, before the version check, with one load of the stream; the relay woken by
the commit itself."""

import asyncio
from dataclasses import dataclass
from typing import ClassVar

import pytest
from sqlalchemy import event, text

from contracts.glossary import LegalBasis, Role
from contracts.topics import INTAKE_EVENTS
from libs import commands, eventstore, outbox
from libs.auth import Principal
from libs.authz import Decision
from libs.commands import Context, Guard
from libs.domain import Aggregate, Command, DomainEvent, NotFound
from libs.eventstore import PostgresEventStore, PostgresSession
from libs.outbox import OutboxRelay, OutgoingMessage
from tests.builders import case_received


class Noted(DomainEvent):
    holder: str
    text: str


@dataclass(frozen=True)
class Thing:
    holder: str | None = None
    notes: int = 0


def _evolve(thing: Thing, event_: DomainEvent) -> Thing:
    assert isinstance(event_, Noted)
    return Thing(holder=event_.holder, notes=thing.notes + 1)


class Note(Command):
    text: str


def _decide(command: Note, thing: Thing) -> list[DomainEvent]:
    return [Noted(holder=thing.holder or "org-a", text=command.text)]


THING = Aggregate[Thing](stream_type="Thing", initial=Thing, evolve=_evolve, events=(Noted,), decide=_decide)
HOLDER = Principal("a-user", "org-a", frozenset({Role.INTAKE_WORKER}))
OTHER = Principal("b-user", "org-b", frozenset({Role.INTAKE_WORKER}))
CTX = Context(organisation="org-a", actor="a-user")


def holder_only(principal: Principal, seen: list[Thing]):
    def policy(thing: Thing) -> Decision:
        seen.append(thing)
        if thing.holder == principal.organisation:
            return Decision.allow(LegalBasis.HOLDER, "holder")
        return Decision.deny("not the holder")

    return policy


async def test_the_guard_judges_the_state_decided_on_with_one_read_of_the_stream(engine):
    await commands.run(
        PostgresEventStore(engine), THING, "thing-1", Note(text="first"), commands.no_public, CTX
    )
    seen: list[Thing] = []
    reads: list[str] = []

    def count_reads(conn, cursor, statement, *args) -> None:
        if statement.lstrip().startswith("SELECT") and "FROM events WHERE stream_id" in statement:
            reads.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count_reads)
    try:
        outcome = await commands.run(
            PostgresEventStore(engine),
            THING,
            "thing-1",
            Note(text="second"),
            commands.no_public,
            CTX,
            guard=Guard(holder_only(HOLDER, seen), HOLDER, "note", "thing:1"),
        )
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count_reads)
    assert outcome.version == 2
    assert seen == [Thing(holder="org-a", notes=1)]  # the state the decision started from
    assert len(reads) == 1, reads


async def test_a_refused_caller_gets_404_before_any_version_check_and_nothing_is_written(engine):
    await commands.run(
        PostgresEventStore(engine), THING, "thing-2", Note(text="first"), commands.no_public, CTX
    )
    for expected_version in (None, 1, 7):  # a stale If-Match must not reveal that the case moved
        with pytest.raises(NotFound):
            await commands.run(
                PostgresEventStore(engine),
                THING,
                "thing-2",
                Note(text="intruder"),
                commands.no_public,
                CTX,
                expected_version=expected_version,
                guard=Guard(holder_only(OTHER, []), OTHER, "note", "thing:2"),
            )
    async with engine.connect() as conn:
        assert [e.data["text"] for e in await PostgresSession(conn, None).read_stream("thing-2")] == ["first"]


async def test_a_commit_that_wrote_outbox_rows_wakes_the_relay_and_nothing_else_does(engine, infra):
    """The write path wakes the relay itself (no route has to remember), only after a commit."""
    relay = OutboxRelay(engine, infra.kafka_admin, "wake-test")  # never run: only its wake is watched
    message = OutgoingMessage(INTAKE_EVENTS, case_received())

    async with outbox.transaction(engine) as conn:
        await PostgresSession(conn, None).append("quiet", "Thing", 0, [eventstore.NewEvent("Noted", {})])
    assert not relay._wake.is_set()  # a private event only: nothing to relay

    with pytest.raises(RuntimeError):
        async with outbox.transaction(engine) as conn:
            await outbox.write(conn, [message])
            raise RuntimeError("the command failed after writing its outbox rows")
    assert not relay._wake.is_set()  # rolled back: nothing was committed
    async with outbox.transaction(engine) as conn:  # the failed one's mark does not linger
        await conn.execute(text("SELECT 1"))
    assert not relay._wake.is_set()

    async with outbox.transaction(engine) as conn:
        await outbox.write(conn, [message])
    assert relay._wake.is_set()


class Renamed(DomainEvent):
    """v2 of a private event: v1 called the field `text` and had no `kind`."""

    schema_version = 2
    upcasters: ClassVar[dict] = {1: lambda data: {"body": data["text"], "kind": "note"}}
    body: str
    kind: str


async def test_a_private_event_stored_in_an_old_version_still_loads_after_a_field_change(engine):
    aggregate = Aggregate[list[Renamed]](
        stream_type="Renamed",
        initial=list,
        evolve=lambda state, e: [*state, e],  # type: ignore[list-item]
        events=(Renamed,),
        decide=lambda command, _: [Renamed(body=command.text, kind="visit")],
    )
    old = eventstore.NewEvent("Renamed", {"text": "written by the old code"}, schema_version=1)
    async with engine.begin() as conn:
        await PostgresSession(conn, None).append("renamed-1", "Renamed", 0, [old])
    await commands.run(
        PostgresEventStore(engine),
        aggregate,
        "renamed-1",
        Note(text="written by the new code"),
        commands.no_public,
        CTX,
    )
    async with engine.connect() as conn:
        loaded = await PostgresSession(conn, None).load(aggregate, "renamed-1")
        stored = await PostgresSession(conn, None).read_stream("renamed-1")
    assert loaded.state == [
        Renamed(body="written by the old code", kind="note"),
        Renamed(body="written by the new code", kind="visit"),
    ]
    assert [e.schema_version for e in stored] == [1, 2]  # the old one is never rewritten

    newer = eventstore.NewEvent("Renamed", {"body": "x", "kind": "y", "extra": 1}, schema_version=3)
    async with engine.begin() as conn:
        await PostgresSession(conn, None).append("renamed-1", "Renamed", 2, [newer])
    with pytest.raises(RuntimeError, match="stored by newer code"):
        async with engine.connect() as conn:
            await PostgresSession(conn, None).load(aggregate, "renamed-1")


async def test_a_transaction_broken_mid_query_unwinds_with_its_own_error(engine):
    """A cancelled consumer must stop: the unwinding never replaces the cancellation with an error
    about the broken connection (which the consumer would retry forever)."""
    with pytest.raises(asyncio.CancelledError):
        async with outbox.transaction(engine) as conn:
            await conn.execute(text("SELECT 1"))
            await conn.invalidate()  # what a query cut off by a cancellation leaves behind
            raise asyncio.CancelledError
