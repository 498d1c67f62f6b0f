"""The inbox consumer over real Kafka and PostgreSQL: duplicates, poison messages, failing handlers."""

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from contracts.topics import INTAKE_EVENTS, Header, dlq
from libs.inbox import InboxConsumer
from tests.builders import (
    EFFECTS_DDL,
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
    consumer = InboxConsumer(effects_engine, infra.kafka_admin, group(), {"CaseReceived": record_effect})
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
    consumer = InboxConsumer(effects_engine, infra.kafka_admin, group(), {"CaseReceived": record_effect})
    async with running(consumer):
        await eventually(lambda: _effect_of(effects_engine, good), what="the good message processed")
    parked = await collect(
        infra.kafka_admin,
        dlq(INTAKE_EVENTS),
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

    async def handler(conn, delivery):
        calls.append(delivery.envelope.event_id)
        if delivery.envelope.event_id == doomed.event_id:
            raise RuntimeError("the handler cannot cope")
        await record_effect(conn, delivery)

    origins = await produce(infra.kafka_admin, INTAKE_EVENTS, [wire(doomed), wire(fine)])
    consumer = InboxConsumer(
        effects_engine,
        infra.kafka_admin,
        group(),
        {"CaseReceived": handler},
        max_attempts=3,
        retry_backoff=0.01,
    )
    async with running(consumer):
        await eventually(lambda: _effect_of(effects_engine, fine), what="the later message processed")
    assert calls.count(doomed.event_id) == 3
    assert await effect_counts(effects_engine, {str(doomed.event_id)}) == (0, 0)
    parked = await collect(
        infra.kafka_admin,
        dlq(INTAKE_EVENTS),
        lambda r: header(r, Header.DLQ_ORIGIN) == origins[0],
        lambda kept: len(kept) >= 1,
    )
    assert header(parked[0], Header.DLQ_ATTEMPTS) == "3"
    assert header(parked[0], Header.DLQ_ERROR) == "RuntimeError: the handler cannot cope"
    assert header(parked[0], Header.MESSAGE_ID) == str(doomed.event_id)
