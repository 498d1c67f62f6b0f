"""The DLQ tool over real Kafka and PostgreSQL: a message parked because of a bug is processed once
after the fix, a second replay has no second effect, and what still fails is parked again."""

import asyncio
import contextlib
import uuid

from sqlalchemy import text

from contracts.topics import OUTREACH_EVENTS
from libs import dlq
from libs.eventstore import PostgresEventStore
from libs.inbox import InboxConsumer
from tests.builders import EFFECTS_DDL, effect_counts, produce, record_effect, wire
from tests.legacy import contact_attempted_v1
from tests.polling import eventually


@contextlib.asynccontextmanager
async def running(consumer: InboxConsumer):
    task = asyncio.create_task(consumer.run())
    try:
        yield consumer
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_message_parked_by_a_bug_is_replayed_once_after_the_fix(engine, infra):
    async with engine.begin() as conn:
        await conn.execute(text(EFFECTS_DDL))
    doomed, fine = contact_attempted_v1(), contact_attempted_v1()
    name = f"test-dlq-{uuid.uuid4().hex[:8]}"

    async def buggy(session, delivery):
        if delivery.envelope.event_id == doomed.event_id:
            raise RuntimeError("bug: family_only not handled")
        await record_effect(session, delivery)

    await produce(infra.kafka_admin, OUTREACH_EVENTS, [wire(doomed), (b"\xff not json", []), wire(fine)])
    old_release = InboxConsumer(
        PostgresEventStore(engine),
        infra.kafka_admin,
        name,
        {"ContactAttempted": buggy},
        max_attempts=2,
        retry_backoff=0.01,
    )
    async with running(old_release):
        await eventually(
            lambda: _parked_and_done(old_release, engine, fine), timeout=60, what="doomed parked, fine done"
        )

    # The operator runs the tool as the service: coordination's principal, which reads outreach events.
    service = infra.kafka.connection("coordination")
    parked = await dlq.summarise(engine, name, await dlq.read_parked(service, [OUTREACH_EVENTS], name))
    by_id = {e.parked.message_id: e for e in parked}
    entry = by_id[str(doomed.event_id)]
    assert (entry.processed, entry.times_parked) == (False, 1)
    assert entry.parked.reason == "RuntimeError: bug: family_only not handled"
    assert entry.parked.origin[0] == OUTREACH_EVENTS
    assert len(parked) == 2  # and the undecodable one, which has no message id

    fixed = InboxConsumer(PostgresEventStore(engine), service, name, {"ContactAttempted": record_effect})
    first = await dlq.replay(fixed, service, [str(doomed.event_id)])
    assert first.processed == [str(doomed.event_id)]
    assert await effect_counts(engine, {str(doomed.event_id)}) == (1, 1)

    again = await dlq.replay(fixed, service)  # everything, the replayed message included
    assert again.already_processed == [str(doomed.event_id)]
    assert len(again.parked_again) == 1  # the undecodable bytes: no fix makes them readable
    assert again.processed == []
    assert await effect_counts(engine, {str(doomed.event_id)}) == (1, 1)

    listed = await dlq.summarise(engine, name, await dlq.read_parked(service, [OUTREACH_EVENTS], name))
    assert {e.parked.message_id: e.processed for e in listed}[str(doomed.event_id)] is True
    assert sorted(e.times_parked for e in listed) == [1, 2]

    missing = await dlq.replay(fixed, service, [str(uuid.uuid4())])
    assert len(missing.not_found) == 1


async def _parked_and_done(consumer, engine, fine):
    return consumer.dead_lettered >= 2 and (await effect_counts(engine, {str(fine.event_id)}))[0] == 1
