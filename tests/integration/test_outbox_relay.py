"""The outbox relay over real PostgreSQL and Kafka: no late commit skipped, no loss after a crash."""

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import uuid

from sqlalchemy import text

from contracts.topics import INTAKE_EVENTS, Header
from deploy.local.keys import kek_env
from libs import kafka, outbox
from libs.inbox import InboxConsumer
from libs.outbox import OutboxRelay, OutgoingMessage
from tests.builders import EFFECTS_DDL, case_received, collect, effect_counts, header, record_effect
from tests.conftest import ROOT
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


async def test_relay_killed_mid_batch_publishes_every_event_exactly_once_downstream(
    engine, database_url, infra, infra_home
):
    total = 4000
    envelopes = [case_received() for _ in range(total)]
    async with engine.begin() as conn:
        for i in range(0, total, 500):
            await outbox.write(conn, [OutgoingMessage(INTAKE_EVENTS, e) for e in envelopes[i : i + 500]])
    env = {
        **os.environ,
        "KASANE_INTAKE_DATABASE_URL": database_url,
        **kek_env(infra_home, "intake"),
        # The relay runs as intake's own principal, which may write intake's topic and nothing else.
        **infra.kafka.connection("intake").to_env(),
    }

    def start_relay() -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "services.intake", "relay"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    async def relayed() -> int:
        async with engine.connect() as conn:
            row = (await conn.execute(text("SELECT position FROM relay_checkpoint"))).first()
        return row.position if row else 0

    relay = start_relay()
    try:
        await eventually(lambda: _between(relayed, 1, total - 1), timeout=60, what="relay part-way through")
        relay.send_signal(signal.SIGKILL)
        relay.wait(timeout=10)
        stopped_at = await relayed()
        assert 0 < stopped_at < total, "the kill must land part-way through the outbox"
        relay = start_relay()
        await eventually(lambda: _between(relayed, total, total), timeout=120, what="relay finished")
    finally:
        relay.kill()
        relay.wait(timeout=10)

    ids = {str(e.event_id) for e in envelopes}
    records = await collect(
        infra.kafka_admin,
        INTAKE_EVENTS,
        lambda r: header(r, Header.MESSAGE_ID) in ids,
        lambda kept: len({header(r, Header.MESSAGE_ID) for r in kept}) == total,
        timeout=120,
    )
    assert {header(r, Header.MESSAGE_ID) for r in records} == ids  # nothing lost
    # Re-sent messages (published but not yet checkpointed at the kill) are allowed on Kafka;
    # the inbox turns them into one effect each (tests/integration/test_inbox.py proves that
    # path; here we check the relay's part: every event present, per-key order kept).
    by_key: dict[bytes, list[str]] = {}
    for r in records:
        by_key.setdefault(r.key, []).append(header(r, Header.MESSAGE_ID))
    assert all(len(set(v)) == 1 for v in by_key.values())

    # Downstream, through the inbox, each event has exactly one effect.
    async with engine.begin() as conn:
        await conn.execute(text(EFFECTS_DDL))
    consumer = InboxConsumer(
        engine, infra.kafka_admin, f"test-{uuid.uuid4().hex[:8]}", {"CaseReceived": record_effect}
    )
    task = asyncio.create_task(consumer.run())
    try:
        await eventually(lambda: _all_effects(engine, ids), timeout=120, what="every effect applied")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert await effect_counts(engine, ids) == (total, total)


async def _all_effects(engine, ids):
    return (await effect_counts(engine, ids))[1] == len(ids)


async def _between(probe, low: int, high: int) -> bool:
    value = await probe()
    return low <= value <= high
