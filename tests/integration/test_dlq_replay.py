"""The DLQ tool over real Kafka and PostgreSQL: a message parked because of a bug is processed once
after the fix, a second replay has no second effect, and what still fails is parked again; a
message that did not truly arrive (forged, from a topic the consumer does not read, parked by
another consumer) is refused and has no effect."""

import asyncio
import contextlib
import uuid

from sqlalchemy import text

from contracts.topics import OUTREACH_EVENTS, Header
from libs import dlq
from libs.eventstore import PostgresEventStore
from libs.inbox import InboxConsumer
from tests.builders import EFFECTS_DDL, TEST_DEAD_LETTERS, effect_counts, produce, record_effect, wire
from tests.legacy import contact_attempted_v1
from tests.polling import eventually

GRANTED = (OUTREACH_EVENTS,)
"""What the test's consumer reads, as the ACL table says for a service."""


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
        dead_letter_topic=TEST_DEAD_LETTERS,
    )
    async with running(old_release):
        await eventually(
            lambda: _parked_and_done(old_release, engine, fine), timeout=60, what="doomed parked, fine done"
        )

    # The operator runs the tool with the service's connection (here the broker's admin: the test's
    # consumer is no service with a principal of its own), granted what the consumer reads.
    service = infra.kafka_admin
    parked = await dlq.summarise(engine, name, await dlq.read_parked(service, old_release))
    by_id = {e.parked.message_id: e for e in parked}
    entry = by_id[str(doomed.event_id)]
    assert (entry.processed, entry.times_parked) == (False, 1)
    assert entry.parked.reason == "RuntimeError: bug: family_only not handled"
    assert entry.parked.origin[0] == OUTREACH_EVENTS
    assert len(parked) == 2  # and the undecodable one, which has no message id

    fixed = InboxConsumer(
        PostgresEventStore(engine),
        service,
        name,
        {"ContactAttempted": record_effect},
        dead_letter_topic=TEST_DEAD_LETTERS,
    )
    first = await dlq.replay(fixed, service, [str(doomed.event_id)], granted=GRANTED)
    assert first.processed == [str(doomed.event_id)]
    assert await effect_counts(engine, {str(doomed.event_id)}) == (1, 1)

    again = await dlq.replay(fixed, service, granted=GRANTED)  # everything, the replayed one included
    assert again.already_processed == [str(doomed.event_id)]
    assert len(again.parked_again) == 1  # the undecodable bytes: no fix makes them readable
    assert again.processed == []
    assert await effect_counts(engine, {str(doomed.event_id)}) == (1, 1)

    listed = await dlq.summarise(engine, name, await dlq.read_parked(service, fixed))
    assert {e.parked.message_id: e.processed for e in listed}[str(doomed.event_id)] is True
    assert sorted(e.times_parked for e in listed) == [1, 2]

    missing = await dlq.replay(fixed, service, [str(uuid.uuid4())], granted=GRANTED)
    assert len(missing.not_found) == 1


async def _parked_and_done(consumer, engine, fine):
    return consumer.dead_lettered >= 2 and (await effect_counts(engine, {str(fine.event_id)}))[0] == 1


async def test_a_dead_letter_that_did_not_truly_arrive_is_refused_and_has_no_effect(engine, infra):
    """The forged dead letter: someone able to write the dead-letter topic (a leaked credential, a
    bug) puts an event there with this consumer's name on it. Replay checks each one against its
    origin and the ACL table and refuses all three forms; the genuine one still replays."""
    async with engine.begin() as conn:
        await conn.execute(text(EFFECTS_DDL))
    genuine, forged, stray, other = (contact_attempted_v1() for _ in range(4))
    name = f"test-dlq-{uuid.uuid4().hex[:8]}"
    key = uuid.uuid4().bytes
    [origin] = await produce(infra.kafka_admin, OUTREACH_EVENTS, [wire(genuine)], key)
    # A record on a topic no service reads (so it disturbs no other test).
    [elsewhere] = await produce(infra.kafka_admin, TEST_DEAD_LETTERS, [wire(contact_attempted_v1())], key)

    def parked(envelope, at: str, consumer: str) -> tuple[bytes, list[tuple[str, bytes]]]:
        value, headers = wire(envelope)
        return value, [
            *headers,
            (Header.DLQ_ERROR, b"RuntimeError: bug"),
            (Header.DLQ_CONSUMER, consumer.encode()),
            (Header.DLQ_ORIGIN, at.encode()),
            (Header.DLQ_ATTEMPTS, b"1"),
        ]

    await produce(
        infra.kafka_admin,
        TEST_DEAD_LETTERS,
        [
            parked(genuine, origin, name),
            parked(forged, origin, name),  # another event, claiming the genuine one's place
            parked(stray, elsewhere, name),  # from a topic this consumer does not read
            parked(other, origin, "another-consumer"),  # parked by someone else
        ],
        key,
    )
    consumer = InboxConsumer(
        PostgresEventStore(engine),
        infra.kafka_admin,
        name,
        {"ContactAttempted": record_effect},
        dead_letter_topic=TEST_DEAD_LETTERS,
    )
    report = await dlq.replay(consumer, infra.kafka_admin, granted=GRANTED)
    assert report.processed == [str(genuine.event_id)]
    reasons = sorted(r.split(": ", 1)[1] for r in report.refused)
    assert len(reasons) == 2, report  # the third is not listed: parked by another consumer
    assert reasons[0].startswith("differs from the record at its origin"), reasons
    assert reasons[1].startswith(f"origin {TEST_DEAD_LETTERS} is not a topic"), reasons
    assert await effect_counts(engine, {str(e.event_id) for e in (forged, stray, other)}) == (0, 0)
