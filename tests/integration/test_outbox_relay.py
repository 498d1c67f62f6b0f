"""The outbox relay over real PostgreSQL and Kafka: no late commit skipped, no loss after a crash."""

import asyncio
import contextlib
import itertools
import uuid
from collections import Counter

from sqlalchemy import text

from contracts.topics import INTAKE_EVENTS, Header
from deploy.local.keys import kek_env
from libs import kafka, outbox
from libs.eventstore import PostgresEventStore
from libs.inbox import InboxConsumer
from libs.outbox import OutboxRelay, OutgoingMessage
from tests import crashing
from tests.builders import (
    EFFECTS_DDL,
    TEST_DEAD_LETTERS,
    case_received,
    collect,
    effect_counts,
    header,
    record_effect,
)
from tests.polling import eventually


async def test_overlapping_transactions_committing_out_of_order_are_both_published(engine, infra):
    early, late = case_received(), case_received()
    relay = OutboxRelay(engine, infra.kafka_admin, "test-relay")
    producer = kafka.producer(infra.kafka_admin)
    await producer.start()
    try:
        async with engine.connect() as first, engine.connect() as second, engine.connect() as relay_conn:
            await first.begin()
            await outbox.write(first, [OutgoingMessage(INTAKE_EVENTS, early)])  # position 1
            await second.begin()
            await outbox.write(second, [OutgoingMessage(INTAKE_EVENTS, late)])  # position 2
            await second.commit()  # position 2 is visible while position 1 is still in flight
            # A reader trusting positions would publish 2 now, checkpoint past 1 and lose it.
            assert await relay.relay_once(relay_conn, producer) == 0
            await first.commit()
            assert await relay.relay_once(relay_conn, producer) == 2
            assert await relay.relay_once(relay_conn, producer) == 0
    finally:
        await producer.stop()
    ids = {str(early.event_id), str(late.event_id)}
    records = await collect(
        infra.kafka_admin,
        INTAKE_EVENTS,
        lambda r: header(r, Header.MESSAGE_ID) in ids,
        lambda kept: len(kept) >= 2,
    )
    assert sorted(header(r, Header.MESSAGE_ID) for r in records) == sorted(ids)
    first_record = next(r for r in records if header(r, Header.MESSAGE_ID) == str(early.event_id))
    assert first_record.key == str(early.case_key).encode()
    assert header(first_record, Header.EVENT_TYPE) == "CaseReceived"
    assert header(first_record, Header.SCHEMA_VERSION) == "1"


KEYS, PER_KEY, BATCH = 3, 200, 100
KILL_AT_SEND = 2 * BATCH + BATCH // 2 + 1
"""The first relay dies halfway through its third batch: rows 1-200 checkpointed, 201-250 on Kafka
and acknowledged but not checkpointed, 251-300 never sent."""


async def test_relay_killed_mid_batch_publishes_every_event_exactly_once_downstream(
    engine, database_url, infra, infra_home, tmp_path
):
    # Few cases with many events each, interleaved in the outbox: per-case order is really at stake.
    keys = [uuid.uuid4() for _ in range(KEYS)]
    envelopes = [case_received(keys[i % KEYS]) for i in range(KEYS * PER_KEY)]
    sequence = {str(e.event_id): i for i, e in enumerate(envelopes)}
    total = len(envelopes)
    for i in range(0, total, BATCH):  # one transaction per 100 rows, committed in order
        async with engine.begin() as conn:
            await outbox.write(conn, [OutgoingMessage(INTAKE_EVENTS, e) for e in envelopes[i : i + BATCH]])
    tps = crashing.partitions(INTAKE_EVENTS)
    start = await crashing.end_offsets(infra.kafka_admin, tps)
    env = {
        "KASANE_INTAKE_DATABASE_URL": database_url,
        **kek_env(infra_home, "intake"),
        # The relay runs as intake's own principal, which may write intake's topic and nothing else.
        **infra.kafka.connection("intake").to_env(),
    }

    dying = crashing.worker(
        "relay", {**env, crashing.BATCH_SIZE: str(BATCH)}, tmp_path / "relay-1.log", KILL_AT_SEND, "intake"
    )
    try:
        await dying.killed_at_crash_point()
    finally:
        dying.kill()
    stopped_at = await _relayed(engine)
    on_kafka = await crashing.read_between(
        infra.kafka_admin, start, await crashing.end_offsets(infra.kafka_admin, tps)
    )
    # Sent and acknowledged, but after the checkpoint: what the restarted relay must send again.
    unmarked = {
        i for r in on_kafka if (i := header(r, Header.MESSAGE_ID)) in sequence and sequence[i] >= stopped_at
    }

    # The service's own relay takes over from the checkpoint the dead one left.
    relay = crashing.Worker(["-m", "services.intake", "relay"], env, tmp_path / "relay-2.log")
    try:
        await eventually(
            lambda: _finished(relay, engine, total), timeout=120, what="the restarted relay to mark every row"
        )
    finally:
        relay.kill()

    # Everything the relays sent: read until the reader's position reaches the ends fetched now.
    ends = await crashing.end_offsets(infra.kafka_admin, tps)
    # Other tests' services may still publish on the shared topic; only this test's events count.
    records = [
        r
        for r in await crashing.read_between(infra.kafka_admin, start, ends)
        if header(r, Header.MESSAGE_ID) in sequence
    ]
    ids = [header(r, Header.MESSAGE_ID) for r in records]
    lost = set(sequence) - set(ids)
    assert not lost, f"{len(lost)} events lost: the relay marked rows Kafka never received"

    by_key: dict[bytes, list[int]] = {}
    seen: set[str] = set()
    for record, message_id in zip(records, ids, strict=True):
        assert record.key == str(envelopes[sequence[message_id]].case_key).encode()
        if message_id not in seen:  # the first copy; a later one is a re-send
            seen.add(message_id)
            by_key.setdefault(record.key, []).append(sequence[message_id])
    assert sorted(map(len, by_key.values())) == [PER_KEY] * KEYS
    for key, order in by_key.items():
        out_of_order = [(a, b) for a, b in itertools.pairwise(order) if a >= b]
        assert not out_of_order, f"case {key!r}: events out of order on its partition: {out_of_order[:5]}"

    assert 0 < stopped_at < total, f"the kill must land part-way through the outbox (checkpoint {stopped_at})"
    assert unmarked, (
        "the crash did not hit the window: nothing was on Kafka beyond the checkpoint when the relay died"
    )
    resent = Counter(ids) - Counter(set(ids))
    assert set(resent) == unmarked and set(resent.values()) == {1}, (
        f"every message sent but not marked before the kill must be on the topic twice, no other: "
        f"{len(unmarked)} unmarked, {len(resent)} re-sent"
    )

    # Downstream, the real inbox consumer drops the re-sent copies: one effect per event.
    async with engine.begin() as conn:
        await conn.execute(text(EFFECTS_DDL))
    group = f"test-{uuid.uuid4().hex[:8]}"
    await crashing.place_group(infra.kafka_admin, group, start)
    consumer = InboxConsumer(
        PostgresEventStore(engine),
        infra.kafka_admin,
        group,
        {"CaseReceived": record_effect},
        dead_letter_topic=TEST_DEAD_LETTERS,
    )
    task = asyncio.create_task(consumer.run())
    try:
        await eventually(
            crashing.reached(infra.kafka_admin, group, ends), timeout=120, what="the inbox to reach the ends"
        )
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert await effect_counts(engine, set(sequence)) == (total, total), "(effects, events): one each"
    assert consumer.duplicates >= len(resent), "the re-sent copies must reach the inbox and be dropped there"


async def _relayed(engine) -> int:
    """Outbox rows marked relayed: every position up to the checkpoint's (a fresh database)."""
    async with engine.connect() as conn:
        row = (await conn.execute(text("SELECT position FROM relay_checkpoint"))).first()
    return row.position if row else 0


async def _finished(relay: crashing.Worker, engine, total: int) -> bool:
    await relay.alive()
    return await _relayed(engine) == total
