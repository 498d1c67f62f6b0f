"""Relay: the city's outbox rows published to Kafka by libs.outbox, against a raw producer.

Both publish the same rows (the five services' outboxes after the city's year) to a topic of
the bench's own, so no service or projector sees them twice, and both use libs.kafka's one
producer configuration (idempotent, acks=all). The relay is timed from its first batch to its
checkpoint at the last row; the raw producer sends everything and awaits every acknowledgement.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass

import asyncpg
from aiokafka.admin import NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from contracts.envelope import Envelope
from contracts.topics import PARTITIONS
from libs import db, kafka
from libs.kafka import KafkaConnection
from libs.outbox import OutboxRelay, headers_for

TOPIC = "kasane.bench.relay"


@dataclass(frozen=True)
class Row:
    key: str
    event_type: str
    schema_version: int
    envelope: str
    message_id: uuid.UUID


async def city_outbox(dsns: list[str]) -> list[Row]:
    """Every outbox row of the given service databases, in each one's commit order."""
    rows: list[Row] = []
    for dsn in dsns:
        conn = await asyncpg.connect(dsn)
        try:
            found = await conn.fetch(
                "SELECT key, event_type, schema_version, envelope::text AS envelope, message_id "
                "FROM outbox ORDER BY transaction_id, position"
            )
        finally:
            await conn.close()
        rows += [
            Row(r["key"], r["event_type"], r["schema_version"], r["envelope"], r["message_id"]) for r in found
        ]
    return rows


async def ensure_topic(connection: KafkaConnection) -> None:
    admin = kafka.admin_client(connection)
    await admin.start()
    try:
        if TOPIC not in await admin.list_topics():
            with contextlib.suppress(TopicAlreadyExistsError):  # another bench run made it meanwhile
                await admin.create_topics([NewTopic(TOPIC, num_partitions=PARTITIONS, replication_factor=1)])
    finally:
        await admin.close()


async def _fill(dsn: str, rows: list[Row]) -> None:
    """A fresh outbox holding `rows`, bound for the bench topic, committed in batches of 500."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("TRUNCATE outbox, relay_checkpoint")
        for start in range(0, len(rows), 500):
            chunk = rows[start : start + 500]
            await conn.execute(
                "INSERT INTO outbox (message_id, topic, key, event_type, schema_version, envelope) "
                "SELECT m, $2, k, t, v, e::jsonb FROM unnest($1::uuid[], $3::text[], $4::text[], "
                "$5::smallint[], $6::text[]) AS u(m, k, t, v, e)",
                [r.message_id for r in chunk],
                TOPIC,
                [r.key for r in chunk],
                [r.event_type for r in chunk],
                [r.schema_version for r in chunk],
                [r.envelope for r in chunk],
            )
    finally:
        await conn.close()


async def relay_run(database_url: str, connection: KafkaConnection, rows: list[Row]) -> float:
    """Seconds for libs.outbox.OutboxRelay to publish `rows` and checkpoint the last one."""
    await _fill(database_url.replace("postgresql+asyncpg://", "postgresql://"), rows)
    engine = db.create_engine(database_url)
    relay = OutboxRelay(engine, connection, f"bench-{uuid.uuid4().hex[:8]}")
    producer = kafka.producer(connection)
    await producer.start()
    try:
        async with engine.connect() as conn:
            began = time.perf_counter()
            while relay.published < len(rows):
                if not await relay.relay_once(conn, producer):
                    raise RuntimeError(f"relay stopped at {relay.published} of {len(rows)} rows")
            return time.perf_counter() - began
    finally:
        await producer.stop()
        await engine.dispose()


async def raw_run(connection: KafkaConnection, rows: list[Row]) -> float:
    """Seconds for a raw producer with the same settings to send `rows` and get every ack."""
    messages = [
        (row.envelope.encode(), row.key.encode(), headers_for(Envelope.model_validate_json(row.envelope)))
        for row in rows
    ]
    producer = kafka.producer(connection)
    await producer.start()
    try:
        began = time.perf_counter()
        deliveries = [
            await producer.send(TOPIC, value=value, key=key, headers=headers)
            for value, key, headers in messages
        ]
        await asyncio.gather(*deliveries)
        return time.perf_counter() - began
    finally:
        await producer.stop()
