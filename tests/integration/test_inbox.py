"""The inbox consumer over real Kafka and PostgreSQL: duplicates, poison messages, failing handlers."""

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from contracts.topics import INTAKE_EVENTS, Header
from libs.domain import DomainError
from libs.eventstore import PostgresEventStore
from libs.inbox import InboxConsumer
from tests import crashing
from tests.builders import (
    EFFECTS_DDL,
    TEST_DEAD_LETTERS,
    case_received,
    collect,
    effect_counts,
    header,
    produce,
    record_effect,
    wire,
)
from tests.polling import eventually


@contextlib.asynccontextmanager
async def running(consumer: InboxConsumer) -> AsyncIterator[InboxConsumer]:
    task = asyncio.create_task(consumer.run())
    try:
        yield consumer
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture
async def effects_engine(engine):
    async with engine.begin() as conn:
        await conn.execute(text(EFFECTS_DDL))
    return engine


def group() -> str:
    return f"test-inbox-{uuid.uuid4().hex[:8]}"


async def test_a_duplicate_delivery_has_one_effect(effects_engine, infra):
    envelope = case_received()
    await produce(infra.kafka_admin, INTAKE_EVENTS, [wire(envelope), wire(envelope)])
    consumer = InboxConsumer(
        PostgresEventStore(effects_engine),
        infra.kafka_admin,
        group(),
        {"CaseReceived": record_effect},
        dead_letter_topic=TEST_DEAD_LETTERS,
    )
    ids = {str(envelope.event_id)}
    async with running(consumer):
        await eventually(lambda: _seen_duplicate(consumer, effects_engine, ids), what="duplicate dropped")
    assert await effect_counts(effects_engine, ids) == (1, 1)
    async with effects_engine.connect() as conn:
        inbox = (
            await conn.execute(
                text("SELECT count(*) FROM inbox WHERE message_id = :m"), {"m": envelope.event_id}
            )
        ).scalar()
    assert inbox == 1


async def _seen_duplicate(consumer, engine, ids):
    return consumer.duplicates >= 1 and (await effect_counts(engine, ids))[0] >= 1


async def test_poison_messages_go_to_the_dlq_and_later_messages_are_processed(effects_engine, infra):
    good = case_received()
    unknown_type = case_received().model_copy(update={"event_type": "NoSuchEvent"})
    future_version = case_received().model_copy(update={"schema_version": 9})
    bad_payload = json.loads(case_received().model_dump_json())
    bad_payload["payload"]["name"] = "山田太郎"  # a field the contract forbids
    poison = [
        (b"\xff not json", []),
        wire(unknown_type),
        wire(future_version),
        (json.dumps(bad_payload).encode(), []),
    ]
    origins = await produce(infra.kafka_admin, INTAKE_EVENTS, [*poison, wire(good)])
    consumer = InboxConsumer(
        PostgresEventStore(effects_engine),
        infra.kafka_admin,
        group(),
        {"CaseReceived": record_effect},
        dead_letter_topic=TEST_DEAD_LETTERS,
    )
    async with running(consumer):
        await eventually(lambda: _effect_of(effects_engine, good), what="the good message processed")
    parked = await collect(
        infra.kafka_admin,
        TEST_DEAD_LETTERS,
        lambda r: header(r, Header.DLQ_ORIGIN) in origins and header(r, Header.DLQ_CONSUMER) == consumer.name,
        lambda kept: len(kept) >= len(poison),
    )
    assert sorted(header(r, Header.DLQ_ORIGIN) for r in parked) == sorted(origins[:-1])
    reasons = {header(r, Header.DLQ_ORIGIN): header(r, Header.DLQ_ERROR) for r in parked}
    assert "json_invalid" in reasons[origins[0]]
    assert "unknown event type" in reasons[origins[1]]
    assert "unsupported schema version 9" in reasons[origins[2]]
    assert "extra_forbidden" in reasons[origins[3]]
    assert all("山田" not in reason for reason in reasons.values())  # reasons never echo values
    assert parked[0].value == b"\xff not json"  # the original bytes are kept for replay


async def _effect_of(engine, envelope):
    return (await effect_counts(engine, {str(envelope.event_id)}))[0] == 1


async def test_a_handler_that_keeps_failing_is_dead_lettered_after_bounded_attempts(effects_engine, infra):
    doomed, fine = case_received(), case_received()
    calls: list[uuid.UUID] = []

    async def handler(session, delivery):
        calls.append(delivery.envelope.event_id)
        if delivery.envelope.event_id == doomed.event_id:
            raise RuntimeError("the handler cannot cope")
        await record_effect(session, delivery)

    origins = await produce(infra.kafka_admin, INTAKE_EVENTS, [wire(doomed), wire(fine)])
    consumer = InboxConsumer(
        PostgresEventStore(effects_engine),
        infra.kafka_admin,
        group(),
        {"CaseReceived": handler},
        max_attempts=3,
        retry_backoff=0.01,
        dead_letter_topic=TEST_DEAD_LETTERS,
    )
    async with running(consumer):
        await eventually(lambda: _effect_of(effects_engine, fine), what="the later message processed")
    assert calls.count(doomed.event_id) == 3
    assert await effect_counts(effects_engine, {str(doomed.event_id)}) == (0, 0)
    parked = await collect(
        infra.kafka_admin,
        TEST_DEAD_LETTERS,
        lambda r: header(r, Header.DLQ_ORIGIN) == origins[0],
        lambda kept: len(kept) >= 1,
    )
    assert header(parked[0], Header.DLQ_ATTEMPTS) == "3"
    assert header(parked[0], Header.DLQ_ERROR) == "RuntimeError: the handler cannot cope"
    assert header(parked[0], Header.MESSAGE_ID) == str(doomed.event_id)


async def test_a_consumer_killed_between_its_database_commit_and_its_offset_commit_has_no_second_effect(
    effects_engine, database_url, infra, tmp_path
):
    tps = crashing.partitions(INTAKE_EVENTS)
    start = await crashing.end_offsets(infra.kafka_admin, tps)
    name = group()
    await crashing.place_group(infra.kafka_admin, name, start)  # the group reads only what follows
    envelopes = [case_received() for _ in range(40)]
    ids = {str(e.event_id) for e in envelopes}
    await produce(infra.kafka_admin, INTAKE_EVENTS, [wire(e) for e in envelopes])
    ends = await crashing.end_offsets(infra.kafka_admin, tps)
    env = {crashing.DATABASE_URL: database_url, crashing.NAME: name, **infra.kafka_admin.to_env()}

    # Dies at its first offset commit: its batch's transactions (effect + inbox mark) committed.
    dying = crashing.worker("inbox", env, tmp_path / "inbox-1.log", crash_at=1)
    try:
        await dying.killed_at_crash_point()
    finally:
        dying.kill()
    applied, distinct = await effect_counts(effects_engine, ids)
    assert applied == distinct > 0, f"the kill must land after the database commit ({applied} effects)"
    assert await _marked(effects_engine, name, ids) == applied
    assert await crashing.committed(infra.kafka_admin, name, tps) == start, (
        "the kill must land before the offset commit: Kafka still has to redeliver what was applied"
    )

    # The restarted consumer is handed those messages again; the inbox turns them into nothing.
    restarted = crashing.worker("inbox", env, tmp_path / "inbox-2.log")
    try:
        await eventually(
            lambda: _alive_and(restarted, crashing.reached(infra.kafka_admin, name, ends)),
            timeout=60,
            what="the restarted consumer to commit up to the end",
        )
    finally:
        restarted.kill()
    assert await effect_counts(effects_engine, ids) == (len(ids), len(ids)), "(effects, events): one each"
    assert await _marked(effects_engine, name, ids) == len(ids)


async def _alive_and(worker: crashing.Worker, probe):
    await worker.alive()
    return await probe()


async def _marked(engine, consumer: str, ids: set[str]) -> int:
    """Inbox marks of `consumer` among `ids`."""
    async with engine.connect() as conn:
        marks = await conn.execute(
            text("SELECT message_id::text FROM inbox WHERE consumer = :c"), {"c": consumer}
        )
        return len(set(marks.scalars()) & ids)


async def test_a_handler_that_fails_after_writing_part_of_its_effect_leaves_nothing_behind(
    effects_engine, infra
):
    doomed, refused, flaky, fine = case_received(), case_received(), case_received(), case_received()
    calls: list[uuid.UUID] = []

    async def handler(session, delivery):
        message_id = delivery.envelope.event_id
        calls.append(message_id)
        await record_effect(session, delivery)  # part of the effect is written
        if message_id == doomed.event_id:
            raise RuntimeError("the handler cannot cope")
        if message_id == refused.event_id:
            raise DomainError("refused", "この事例は受け付けられません")
        if message_id == flaky.event_id and calls.count(message_id) == 1:
            raise RuntimeError("a passing failure")
        await record_effect(session, delivery)  # the rest of it: an applied message leaves two rows

    messages = [doomed, refused, flaky, fine]
    origins = await produce(infra.kafka_admin, INTAKE_EVENTS, [wire(e) for e in messages])
    consumer = InboxConsumer(
        PostgresEventStore(effects_engine),
        infra.kafka_admin,
        group(),
        {"CaseReceived": handler},
        max_attempts=3,
        retry_backoff=0.01,
        dead_letter_topic=TEST_DEAD_LETTERS,
    )
    async with running(consumer):
        await eventually(lambda: _rows_of(effects_engine, fine, 2), what="the last message applied")
    assert [calls.count(e.event_id) for e in messages] == [3, 1, 2, 1]
    # Dead-lettered after bounded retries, refused by the domain: no row of either stays.
    for what, gone in (("dead-lettered", doomed), ("refused", refused)):
        assert await effect_counts(effects_engine, {str(gone.event_id)}) == (0, 0), (
            f"{what}: rows written by failed attempts were kept"
        )
        assert await _marked(effects_engine, consumer.name, {str(gone.event_id)}) == 0
    # Failed once, then applied: only the successful attempt's two rows.
    assert await effect_counts(effects_engine, {str(flaky.event_id)}) == (2, 1), (
        "retried: rows written by the failed attempt were kept"
    )
    assert await _marked(effects_engine, consumer.name, {str(flaky.event_id)}) == 1
    parked = await collect(
        infra.kafka_admin,
        TEST_DEAD_LETTERS,
        lambda r: header(r, Header.DLQ_ORIGIN) in origins[:2],
        lambda kept: len(kept) >= 2,
    )
    assert sorted(header(r, Header.MESSAGE_ID) for r in parked) == sorted(
        str(e.event_id) for e in (doomed, refused)
    )


async def _rows_of(engine, envelope, n: int) -> bool:
    return (await effect_counts(engine, {str(envelope.event_id)}))[0] == n
