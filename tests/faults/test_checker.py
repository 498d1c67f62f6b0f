"""The checker must fail on every broken promise it names, and only on that one.

Each must-be-0 row gets a test that plants exactly its anomaly in an otherwise clean world and
expects that row (and no other) to fail. The world is real: a service database written through
the event store and the outbox, a topic the real outbox relay published, a consumer group that read
it through the real inbox (dead-lettering a poison message) and committed, and read models in the
projections' schema. So the checker's SQL over `events` and `outbox`, its reads of topics and
dead-letter topics and of committed offsets are exercised, not only its arithmetic. The clean
world is built once; a test that breaks the database gets a copy of it (a PostgreSQL template),
one that must break Kafka builds a world of its own on fresh topics.
"""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

import pytest
from aiokafka import TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.envelope import Envelope
from contracts.events import CaseReceived
from contracts.glossary import AgeBand, Channel, IssueTag
from contracts.topics import PARTITIONS, Header, dead_letters
from faults.checker import Evidence, KafkaMessage, Report, Store, backlog, check, gather, read_topics
from faults.history import History, Op, Outcome
from libs import db, kafka, outbox
from libs.commands import Context, envelope_for
from libs.eventstore import NewEvent, PostgresEventStore, PostgresSession
from libs.inbox import InboxConsumer, PermanentError
from libs.outbox import OutboxRelay, OutgoingMessage, headers_for
from projections.schema import DDL as READ_MODEL_DDL
from projections.schema import SCHEMA
from tests.builders import create_topics
from tests.conftest import Infra
from tests.polling import eventually

SERVICE = "intake"
ORGANISATION = "city-soudan"
MAX_ATTEMPTS = 5

LOST = "acknowledged commands lost"
REFUSED = "refused commands that took effect"
TWICE = "commands applied twice"
REPEATED = "the same event stored twice under two event ids"
DOWNSTREAM = "upstream events applied twice downstream"
CHAIN = "stream version gaps, inversions, broken chains"
UNPUBLISHED = "outbox events never published"
PHANTOM = "published events in no outbox"
DISORDER = "events out of order for one case"
UNCONSUMED = "messages not consumed after the drain"
READ_MODELS = "read model rows differing from a rebuild"
POISON = "poison messages not dead-lettered (with reason, bounded attempts)"
VALID_DEAD = "valid events dead-lettered (effect missing until replayed)"
HARNESS = "faults the harness could not inject or heal"

MUST_BE_ZERO = {
    LOST,
    REFUSED,
    TWICE,
    REPEATED,
    DOWNSTREAM,
    CHAIN,
    UNPUBLISHED,
    PHANTOM,
    DISORDER,
    UNCONSUMED,
    READ_MODELS,
    POISON,
    VALID_DEAD,
    HARNESS,
}


def fails_only(report: Report, *rows: str) -> None:
    """The verdict is FAIL and exactly `rows` are above 0: a planted anomaly that also trips
    other rows would say the checker cannot tell one broken promise from another."""
    assert {r.name for r in report.violations} == set(rows), report.table()
    assert report.table().splitlines()[-1].startswith("RESULT: FAIL"), report.table()


# -- the clean world ---------------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    """One service's database and its own topic, in a state the checker must pass."""

    database: str
    url: str
    topic: str
    ops: tuple[Op, ...]  # receive_case, then refer: both acknowledged, both on `case_stream`
    case_stream: str
    reaction_stream: str  # two events a consumer appended in reaction to `upstream`
    upstream: str
    poison: tuple[tuple[str, int, int], ...]
    reader: str  # the consumer group that read the topic, dead-lettered the poison and committed
    behind: str  # a group that did the same but committed one message short of the end
    silent: str  # a group that committed the end without dead-lettering the poison

    def history(self, **outcomes: Outcome) -> History:
        """A fresh history of the world's operations, with some outcomes changed by command."""
        history = History()
        for op in self.ops:
            history.add(replace(op, outcome=outcomes.get(op.command, op.outcome)))
        return history

    def op(self, command: str) -> Op:
        return next(op for op in self.ops if op.command == command)


def public_event(case_key: uuid.UUID, correlation: uuid.UUID) -> OutgoingMessage:
    event = CaseReceived(
        case_key=case_key,
        subject_ref=f"subj_{uuid.uuid4().hex}",
        channel=Channel.PHONE,
        issue_tags=[IssueTag.HIKIKOMORI],
        age_band=AgeBand.MIDDLE,
        household_size=1,
        district="chuo-1",
        received_on=date(2026, 4, 1),  # payload only: nothing compares it with today
    )
    ctx = Context(organisation=ORGANISATION, actor="soudan-sato", correlation_id=correlation)
    return OutgoingMessage("", envelope_for(event, ctx, datetime.now(UTC)))


async def create_topic(infra: Infra) -> str:
    topic = f"checker-test-{uuid.uuid4().hex[:12]}"
    # Each consumer group parks in its own topic: those of the groups the tests name after the topic.
    groups = (f"{topic}-{role}" for role in ("reader", "behind", "silent", "never"))
    await create_topics(infra.kafka_admin, topic, *(dead_letters(g) for g in groups))
    return topic


async def relay(infra: Infra, url: str, topic: str) -> None:
    """The real relay, one pass: the outbox in commit order onto the topic its rows name."""
    engine = db.create_engine(url, pool_size=1)
    producer = kafka.producer(infra.kafka_admin)
    await producer.start()
    try:
        async with engine.connect() as conn:
            assert await OutboxRelay(engine, infra.kafka_admin, SERVICE).relay_once(conn, producer) > 0
    finally:
        await producer.stop()
        await engine.dispose()


async def send(infra: Infra, topic: str, value: bytes, key: bytes, headers=(), partition=None) -> tuple:
    producer = kafka.producer(infra.kafka_admin)
    await producer.start()
    try:
        meta = await (
            await producer.send(topic, value=value, key=key, headers=list(headers), partition=partition)
        )
        return (meta.topic, meta.partition, meta.offset)
    finally:
        await producer.stop()


async def consume(
    infra: Infra, url: str, topic: str, group: str, handlers: Mapping, *, short: int = 0, process: bool = True
) -> None:
    """Read the whole topic as `group` through the real inbox (which dead-letters what it cannot
    process), then commit its end, less `short` messages on the last partition holding any."""
    engine = db.create_engine(url, pool_size=1)
    inbox = InboxConsumer(PostgresEventStore(engine), infra.kafka_admin, group, handlers, retry_backoff=0)
    consumer = kafka.consumer(infra.kafka_admin, group)
    producer = kafka.producer(infra.kafka_admin)
    await consumer.start()
    await producer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.seek_to_beginning(*partitions)

        async def read_to_the_end() -> bool:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for record in records:
                    if process:
                        await inbox.process(record, producer)
            return all([await consumer.position(tp) >= end for tp, end in ends.items()])

        await eventually(read_to_the_end, timeout=60, what=f"{group} reading {topic} to its end")
        last = max((tp for tp, end in ends.items() if end), key=lambda tp: tp.partition)
        await consumer.commit({tp: end - (short if tp == last else 0) for tp, end in ends.items() if end})
    finally:
        await producer.stop()
        await consumer.stop()
        await engine.dispose()


Step = Callable[[Infra, str, str], Awaitable[None]]


async def build(
    infra: Infra,
    *,
    publish: Step | None = None,
    before_consuming: Step | None = None,
    handlers: Mapping | None = None,
) -> World:
    """Two acknowledged commands on one case and a consumer's reaction, stored the way the write
    path stores them (events and outbox rows in one transaction), published, consumed, committed."""
    database = f"t_{uuid.uuid4().hex[:12]}"
    url = await asyncio.to_thread(infra.postgres.create_database, database)
    topic = await create_topic(infra)
    receive = Op(SERVICE, "receive_case", "/cases", outcome=Outcome.OK, status=201)
    refer = Op(SERVICE, "refer", "/cases/x/referrals", outcome=Outcome.OK, status=201)
    case_key, upstream = uuid.uuid4(), str(uuid.uuid4())
    case_stream, reaction_stream = f"case-{case_key}", f"reaction-{uuid.uuid4()}"
    engine = db.create_engine(url, pool_size=1)
    try:
        await db.install(engine, db.SERVICE_SCHEMA)
        await db.install(engine, READ_MODEL_DDL)
        for version, op in enumerate((receive, refer)):
            ctx = Context(organisation=ORGANISATION, actor="soudan-sato", correlation_id=op.op_id)
            message = public_event(case_key, op.op_id)
            async with engine.begin() as conn:
                new = NewEvent(
                    op.command, {"case_key": str(case_key), "step": version}, metadata=ctx.metadata()
                )
                await PostgresSession(conn, None).append(case_stream, "IntakeCase", version, [new])
                await outbox.write(conn, [replace(message, topic=topic)])
                await conn.execute(
                    text(f"INSERT INTO {SCHEMA}.applied_events (event_id) VALUES (:e)"),
                    {"e": message.envelope.event_id},
                )
        reaction = Context(
            ORGANISATION, "system", correlation_id=uuid.uuid4(), causation_id=uuid.UUID(upstream)
        )
        async with engine.begin() as conn:
            events = [
                NewEvent(t, {"from": upstream}, metadata=reaction.metadata()) for t in ("Opened", "Noted")
            ]
            await PostgresSession(conn, None).append(reaction_stream, "IntakeCase", 0, events)
    finally:
        await engine.dispose()
    await (publish or relay)(infra, url, topic)
    poison = await send(infra, topic, b"\xff\xfe not even UTF-8", uuid.uuid4().bytes)
    if before_consuming:
        await before_consuming(infra, url, topic)
    world = World(
        database,
        url,
        topic,
        (receive, refer),
        case_stream,
        reaction_stream,
        upstream,
        (poison,),
        reader=f"{topic}-reader",
        behind=f"{topic}-behind",
        silent=f"{topic}-silent",
    )
    await consume(infra, url, topic, world.reader, handlers or {})
    return world


async def evidence(
    infra: Infra,
    world: World,
    url: str,
    *,
    history: History | None = None,
    groups: tuple[str, ...] = (),
    rebuilt: str | None = None,
) -> Evidence:
    """What `faults.checker.gather` finds in the world, with `groups` held to it besides the reader."""
    return await gather(
        history or world.history(),
        {SERVICE: url},
        [SERVICE],
        infra.kafka_admin,
        live_read_models=url,
        rebuilt_read_models=rebuilt or url,
        poison=list(world.poison),
        max_attempts=MAX_ATTEMPTS,
        consumer_groups={group: (world.topic,) for group in (world.reader, *groups)},
        topics=[world.topic],
    )


@pytest.fixture(scope="module")
async def world(infra: Infra) -> AsyncIterator[World]:
    world = await build(infra)
    await consume(infra, world.url, world.topic, world.behind, {}, short=1)
    await consume(infra, world.url, world.topic, world.silent, {}, process=False)
    yield world
    await asyncio.to_thread(infra.postgres.drop_database, world.database)


@pytest.fixture
async def copies(infra: Infra, world: World) -> AsyncIterator[Callable[[], Awaitable[str]]]:
    """Copies of the clean world's database (CREATE DATABASE … TEMPLATE), for one test to break."""
    names: list[str] = []
    server = db.create_engine(infra.postgres.url("postgres"), pool_size=1).execution_options(
        isolation_level="AUTOCOMMIT"
    )

    async def copy() -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"

        async def created() -> bool:
            async with server.connect() as conn:
                try:
                    await conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{world.database}"'))
                except Exception as exc:  # the template's last connection may still be closing
                    if "being accessed by other users" not in str(exc):
                        raise
                    return False
            return True

        await eventually(created, timeout=30, what=f"a copy of {world.database}")
        names.append(name)
        return infra.postgres.url(name)

    yield copy
    await server.dispose()
    for name in names:
        await asyncio.to_thread(infra.postgres.drop_database, name)


@contextlib.asynccontextmanager
async def transaction(url: str) -> AsyncIterator[AsyncConnection]:
    engine = db.create_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            yield conn
    finally:
        await engine.dispose()


async def test_the_clean_world_passes_and_holds_real_work(infra, world, copies):
    report = check(await evidence(infra, world, await copies()))
    assert report.ok, report.table()
    assert report.get("operations (ok)") == 2
    assert report.get("events in the stores") == 4
    assert report.get("messages on Kafka") == 3  # two public events and the poison
    # The poison, in the reader's own dead-letter topic (each group parks in its own; `behind`'s is
    # read only when the checker holds that group too).
    assert report.get("messages in dead-letter topics") == 1
    assert report.get("read model rows") == 2
    assert {r.name for r in report.rows if r.must_be_zero} == MUST_BE_ZERO


# -- rows fed by the events table ----------------------------------------------------------------


async def test_an_acknowledged_command_whose_events_are_gone_is_lost(infra, world, copies):
    url = await copies()
    async with transaction(url) as conn:
        refer = str(world.op("refer").op_id)
        await conn.execute(text("DELETE FROM events WHERE metadata->>'correlation_id' = :c"), {"c": refer})
    fails_only(check(await evidence(infra, world, url)), LOST)


async def test_a_refused_command_whose_events_are_stored_is_reported(infra, world, copies):
    history = world.history(refer=Outcome.FAILED)
    fails_only(check(await evidence(infra, world, await copies(), history=history)), REFUSED)


async def test_an_unknown_outcome_is_allowed_either_way(infra, world, copies):
    url = await copies()
    report = check(await evidence(infra, world, url, history=world.history(refer=Outcome.UNKNOWN)))
    assert report.ok, report.table()
    assert report.get("operations (unknown) that took effect") == 1
    async with transaction(url) as conn:
        refer = str(world.op("refer").op_id)
        await conn.execute(text("DELETE FROM events WHERE metadata->>'correlation_id' = :c"), {"c": refer})
    report = check(await evidence(infra, world, url, history=world.history(refer=Outcome.UNKNOWN)))
    assert report.ok, report.table()
    assert report.get("operations (unknown) without effect") == 1


async def test_one_command_writing_its_stream_in_a_second_transaction_is_applied_twice(infra, world, copies):
    url = await copies()
    refer = world.op("refer")
    ctx = Context(organisation=ORGANISATION, actor="soudan-sato", correlation_id=refer.op_id)
    async with transaction(url) as conn:  # decided again: new data, so not a verbatim copy
        again = NewEvent("refer", {"step": "again"}, metadata=ctx.metadata())
        await PostgresSession(conn, None).append(world.case_stream, "IntakeCase", 2, [again])
    fails_only(check(await evidence(infra, world, url)), TWICE)


async def test_the_same_event_stored_twice_in_one_transaction_is_reported(infra, world, copies):
    """Event ids are unique by constraint; the copy a buggy handler appends has a new one."""
    url = await copies()
    note = Op(SERVICE, "note", "/cases/x/notes", outcome=Outcome.OK, status=201)
    history = world.history()
    history.add(note)
    ctx = Context(organisation=ORGANISATION, actor="soudan-sato", correlation_id=note.op_id)
    async with transaction(url) as conn:
        copy = {"note": "電話で相談"}
        twice = [NewEvent("NoteAdded", copy, metadata=ctx.metadata()) for _ in range(2)]
        await PostgresSession(conn, None).append(world.case_stream, "IntakeCase", 2, twice)
    report = check(await evidence(infra, world, url, history=history))
    fails_only(report, REPEATED)
    assert f"{world.case_stream} NoteAdded stored as v3, v4" in report.table()


async def test_one_upstream_event_applied_in_a_second_transaction_is_a_duplicate_effect(infra, world, copies):
    url = await copies()
    async with transaction(url) as conn:
        stored = await PostgresSession(conn, None).read_stream(world.reaction_stream)
    async with transaction(url) as conn:  # the consumer ran the message again, into a new stream
        copy = NewEvent(stored[0].event_type, stored[0].data, metadata=stored[0].metadata)
        await PostgresSession(conn, None).append(f"{world.reaction_stream}-again", "IntakeCase", 0, [copy])
    fails_only(check(await evidence(infra, world, url)), DOWNSTREAM)


GAP = "DELETE FROM events WHERE stream_id = :s AND version = 1"
EDIT = """UPDATE events SET data = '{"edited": true}' WHERE stream_id = :s AND version = 1"""
# Version 1 stored again after version 2 (same row, a later position): commit order ≠ stream order.
INVERSION = (
    "CREATE TEMP TABLE moved ON COMMIT DROP AS SELECT * FROM events WHERE stream_id = :s AND version = 1",
    "DELETE FROM events WHERE stream_id = :s AND version = 1",
    "INSERT INTO events OVERRIDING SYSTEM VALUE SELECT (SELECT max(global_position) + 1 FROM events), "
    "stream_id, stream_type, version, event_id, event_type, schema_version, data, metadata, prev_hash, "
    "hash, transaction_id, recorded_at FROM moved",
)


@pytest.mark.parametrize(
    ("statements", "stream", "problem"),
    [
        ((GAP,), "reaction_stream", "version gap after v0"),
        ((EDIT,), "case_stream", "content does not match its hash"),
        (INVERSION, "case_stream", "v2 stored before its predecessor"),
    ],
    ids=["version gap", "edited event", "inversion"],
)
async def test_a_broken_stream_is_reported(infra, world, copies, statements, stream, problem):
    url = await copies()
    async with transaction(url) as conn:
        for statement in statements:
            await conn.execute(text(statement), {"s": getattr(world, stream)})
    report = check(await evidence(infra, world, url))
    fails_only(report, CHAIN)
    assert problem in report.table()


# -- rows fed by the outbox and the topics ------------------------------------------------------


async def test_an_outbox_row_never_published_is_reported(infra, world, copies):
    url = await copies()
    async with transaction(url) as conn:
        await outbox.write(conn, [replace(public_event(uuid.uuid4(), uuid.uuid4()), topic=world.topic)])
    fails_only(check(await evidence(infra, world, url)), UNPUBLISHED)


async def test_a_published_event_in_no_outbox_is_reported(infra, world, copies):
    """A message on the topic that no outbox holds: here its row is gone from a copy of the
    database, which is what the checker sees when anything but the relay publishes."""
    url = await copies()
    async with transaction(url) as conn:
        gone = (
            await conn.execute(text("DELETE FROM outbox WHERE position = 1 RETURNING message_id"))
        ).scalar()
    report = check(await evidence(infra, world, url))
    fails_only(report, PHANTOM)
    assert str(gone) in report.table()


async def test_events_of_one_case_published_out_of_order_are_reported(infra):
    async def publish_backwards(infra, url, topic):
        async with transaction(url) as conn:
            rows = (
                await conn.execute(text("SELECT key, envelope::text AS e FROM outbox ORDER BY position"))
            ).all()
        for row in reversed(rows):
            headers = headers_for(Envelope.model_validate_json(row.e))
            await send(infra, topic, row.e.encode(), row.key.encode(), headers)

    world = await build(infra, publish=publish_backwards)
    try:
        report = check(await evidence(infra, world, world.url))
        fails_only(report, DISORDER)
        assert "published in another order" in report.table()
    finally:
        await asyncio.to_thread(infra.postgres.drop_database, world.database)


async def test_one_case_on_two_partitions_is_reported(infra):
    async def copy_elsewhere(infra, url, topic):
        """The first public event sent again, as the relay would, but onto another partition."""
        async with transaction(url) as conn:
            row = (
                await conn.execute(text("SELECT key, envelope::text AS e FROM outbox ORDER BY position"))
            ).first()
        envelope = Envelope.model_validate_json(row.e)
        on_kafka = next(
            m for m in await read_topics(infra.kafka_admin, [topic]) if m.message_id == str(envelope.event_id)
        )
        other = (on_kafka.partition + 1) % PARTITIONS
        await send(infra, topic, row.e.encode(), row.key.encode(), headers_for(envelope), partition=other)

    world = await build(infra, before_consuming=copy_elsewhere)
    try:
        report = check(await evidence(infra, world, world.url))
        fails_only(report, DISORDER)
        assert report.get("re-sent copies on Kafka (at-least-once; consumers dedupe)") == 1
        assert "on partitions" in report.table()
    finally:
        await asyncio.to_thread(infra.postgres.drop_database, world.database)


# -- rows fed by committed offsets and the dead-letter topics ------------------------------------


async def test_a_group_that_never_committed_has_consumed_nothing(infra, world, copies):
    """Not "no lag": a group with no committed offset at all is held to every topic it may read."""
    never = f"{world.topic}-never"
    report = check(await evidence(infra, world, await copies(), groups=(never,)))
    # It never read the poison either, so it never dead-lettered it.
    fails_only(report, UNCONSUMED, POISON)
    assert report.get(UNCONSUMED) == 3
    assert f"{never}: {world.topic}" in report.table() and "never committed" in report.table()


async def test_a_group_committed_short_of_the_end_has_not_consumed_everything(infra, world, copies):
    report = check(await evidence(infra, world, await copies(), groups=(world.behind,)))
    fails_only(report, UNCONSUMED)
    assert report.get(UNCONSUMED) == 1


async def test_a_poison_message_a_group_passed_over_is_reported(infra, world, copies):
    report = check(await evidence(infra, world, await copies(), groups=(world.silent,)))
    fails_only(report, POISON)
    assert world.silent in report.table()


async def test_a_valid_event_in_a_dead_letter_topic_is_a_missing_effect(infra):
    async def refuse(session, delivery):
        raise PermanentError("テスト: 処理できません")

    world = await build(infra, handlers={"CaseReceived": refuse})
    try:
        report = check(await evidence(infra, world, world.url))
        fails_only(report, VALID_DEAD)
        assert report.get(VALID_DEAD) == 2
    finally:
        await asyncio.to_thread(infra.postgres.drop_database, world.database)


# -- read models ---------------------------------------------------------------------------------


async def test_read_models_that_differ_from_the_rebuild_are_reported(infra, world, copies):
    live, rebuilt = await copies(), await copies()
    async with transaction(live) as conn:  # the projector lost one update
        one = f"SELECT event_id FROM {SCHEMA}.applied_events LIMIT 1"
        await conn.execute(text(f"DELETE FROM {SCHEMA}.applied_events WHERE event_id IN ({one})"))
    report = check(await evidence(infra, world, live, rebuilt=rebuilt))
    fails_only(report, READ_MODELS)
    assert report.get(READ_MODELS) == 1


# -- rows on hand-made evidence: what real data cannot show cheaply ------------------------------


def evidence_by_hand() -> Evidence:
    """A clean run with nothing in it: a background for rows that need no database to show."""
    return Evidence(
        history=History(),
        stores={},
        published=[],
        dead_letters=[],
        live_read_models={},
        rebuilt_read_models={},
        poison=[],
        max_attempts=MAX_ATTEMPTS,
        consumer_groups={},
        committed={},
        ends={},
    )


def test_a_fault_the_harness_could_not_inject_or_heal_fails_the_run():
    e = evidence_by_hand()
    assert check(e).ok
    e.harness_errors.append("kafka restart: TimeoutError")
    fails_only(check(e), HARNESS)


def test_a_resent_copy_is_not_disorder():
    """The relay crashed after sending and sent the batch again: copies, but first copies in order."""
    e = evidence_by_hand()
    ids = [str(uuid.uuid4()) for _ in range(2)]
    topic = "kasane.intake.events.v1"
    rows = [
        SimpleRow(message_id=m, topic=topic, key="case-1", tx="100", position=i) for i, m in enumerate(ids)
    ]
    e.stores[SERVICE] = Store(SERVICE, events=[], outbox=rows, repeated=[], inversions=[], chain_problems=[])
    e.published = [
        KafkaMessage(topic, 0, offset, "case-1", m, {Header.MESSAGE_ID: m})
        for offset, m in enumerate(ids * 2)
    ]
    report = check(e)
    assert report.ok, report.table()
    assert report.get("re-sent copies on Kafka (at-least-once; consumers dedupe)") == 2


@pytest.mark.parametrize(
    "headers",
    [
        {Header.DLQ_ATTEMPTS: "1"},
        {Header.DLQ_ERROR: "bad", Header.DLQ_ATTEMPTS: "0"},
        {Header.DLQ_ERROR: "bad", Header.DLQ_ATTEMPTS: str(MAX_ATTEMPTS + 1)},
    ],
    ids=["no reason", "no attempt", "unbounded attempts"],
)
def test_a_poison_message_parked_without_reason_or_within_no_bound_is_not_dead_lettered(headers):
    topic = "kasane.intake.events.v1"
    e = evidence_by_hand()
    e.poison.append((topic, 0, 7))
    e.consumer_groups["coordination"] = (topic,)
    e.committed["coordination"] = {(topic, 0): 8}
    e.ends[(topic, 0)] = 8
    origin = {Header.DLQ_ORIGIN: f"{topic}:0:7", Header.DLQ_CONSUMER: "coordination"}
    parked = {**origin, Header.DLQ_ERROR: "bad", Header.DLQ_ATTEMPTS: "1"}
    e.dead_letters.append(KafkaMessage(dead_letters("intake"), 0, 0, None, None, parked))
    assert check(e).ok, check(e).table()
    e.dead_letters[0] = KafkaMessage(dead_letters("intake"), 0, 0, None, None, {**origin, **headers})
    fails_only(check(e), POISON)


def test_the_backlog_counts_partitions_without_a_commit_from_zero():
    topic = "kasane.intake.events.v1"
    ends = {(topic, 0): 4, (topic, 1): 2, (topic, 2): 0}
    assert backlog({"g": (topic,)}, {"g": {(topic, 0): 4}}, ends) == [("g", topic, 1, 2)]
    assert backlog({"g": (topic,)}, {"g": {}}, ends) == [("g", topic, 0, 4), ("g", topic, 1, 2)]
    assert backlog({"g": (topic,)}, {"g": {(topic, 0): 4, (topic, 1): 2}}, ends) == []


@dataclass(frozen=True)
class SimpleRow:
    message_id: str
    topic: str
    key: str
    tx: str
    position: int
