"""Version 1 of ContactAttempted, on Kafka and in an outbox, still reaches today's consumers as v2."""

import asyncio
import contextlib
import uuid

from sqlalchemy import text

from contracts.events import ContactAttempted
from contracts.glossary import ContactOutcome, ContactReach, ContactResponse
from contracts.topics import OUTREACH_EVENTS
from libs import kafka, outbox
from libs.eventstore import PostgresEventStore
from libs.inbox import Delivery, InboxConsumer
from libs.outbox import OutboxRelay, OutgoingMessage
from tests.builders import EFFECTS_DDL, TEST_DEAD_LETTERS, effect_counts, produce, record_effect, wire
from tests.legacy import contact_attempted_v1
from tests.polling import eventually


async def test_v1_messages_on_kafka_and_in_an_outbox_are_read_as_v2(engine, infra):
    async with engine.begin() as conn:
        await conn.execute(text(EFFECTS_DDL))
    on_kafka = contact_attempted_v1(ContactOutcome.REFUSED)
    in_outbox = contact_attempted_v1(ContactOutcome.NO_ANSWER)
    seen: dict[uuid.UUID, ContactAttempted] = {}

    async def handler(session, delivery: Delivery) -> None:
        assert isinstance(delivery.event, ContactAttempted)
        seen[delivery.envelope.event_id] = delivery.event
        await record_effect(session, delivery)

    # Published by the previous release straight onto Kafka ...
    await produce(infra.kafka_admin, OUTREACH_EVENTS, [wire(on_kafka)])
    # ... and one still waiting in a producer's outbox when the new release started its relay.
    async with engine.begin() as conn:
        await outbox.write(conn, [OutgoingMessage(OUTREACH_EVENTS, in_outbox)])
    relay = OutboxRelay(engine, infra.kafka_admin, f"test-relay-{uuid.uuid4().hex[:8]}")
    producer = kafka.producer(infra.kafka_admin)
    await producer.start()
    try:
        async with engine.connect() as conn:
            await relay.relay_once(conn, producer)
    finally:
        await producer.stop()

    consumer = InboxConsumer(
        PostgresEventStore(engine),
        infra.kafka_admin,
        f"test-v1-{uuid.uuid4().hex[:8]}",
        {"ContactAttempted": handler},
        dead_letter_topic=TEST_DEAD_LETTERS,
    )
    ids = {str(on_kafka.event_id), str(in_outbox.event_id)}
    task = asyncio.create_task(consumer.run())
    try:
        await eventually(lambda: _all_effects(engine, ids), timeout=60, what="both v1 messages handled")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    # Both handled, once each (the topic is shared with other tests, whose poison messages this
    # consumer dead-letters too, so its DLQ count says nothing about these two).
    assert await effect_counts(engine, ids) == (2, 2)
    refused, unanswered = seen[on_kafka.event_id], seen[in_outbox.event_id]
    assert (refused.reached, refused.response, refused.outcome) == (
        ContactReach.PERSON,
        ContactResponse.REFUSED,
        ContactOutcome.REFUSED,
    )
    assert (unanswered.reached, unanswered.response, unanswered.outcome) == (
        ContactReach.NOBODY,
        None,
        ContactOutcome.NO_ANSWER,
    )
    assert refused.case_key == on_kafka.case_key


async def _all_effects(engine, ids):
    return (await effect_counts(engine, ids))[0] == len(ids)
