"""Test data and Kafka helpers shared by the integration and end-to-end tests."""

import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime

from aiokafka import ConsumerRecord
from aiokafka.admin import NewTopic
from sqlalchemy import text

from contracts.envelope import Envelope
from contracts.events import CaseReceived
from contracts.glossary import AgeBand, Channel, IssueTag
from contracts.topics import PARTITIONS
from libs import kafka
from libs.commands import Context, envelope_for
from libs.kafka import KafkaConnection
from libs.outbox import headers_for

TEST_DEAD_LETTERS = "kasane.tests.dlq.v1"
"""Where the ad hoc consumers of the tests park messages (a service parks in its own topic); the
session's broker has it (tests/conftest.py), and readers tell consumers apart by their header."""


async def create_topics(connection: KafkaConnection, *names: str) -> None:
    """Topics only tests use, with the partitions of Kasane's own."""
    admin = kafka.admin_client(connection)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(n, num_partitions=PARTITIONS, replication_factor=1) for n in names]
        )
    finally:
        await admin.close()


def case_received(case_key: uuid.UUID | None = None, district: str = "chuo-1") -> Envelope:
    event = CaseReceived(
        case_key=case_key or uuid.uuid4(),
        subject_ref=f"subj_{uuid.uuid4().hex}",
        channel=Channel.PHONE,
        issue_tags=[IssueTag.EIGHTY_FIFTY, IssueTag.HIKIKOMORI],
        age_band=AgeBand.MIDDLE,
        household_size=2,
        district=district,
        received_on=date(2026, 4, 1),
    )
    return envelope_for(event, Context(organisation="test-org", actor="tester"), datetime.now(UTC))


async def produce(
    connection: KafkaConnection,
    topic: str,
    messages: list[tuple[bytes, list[tuple[str, bytes]]]],
    key: bytes | None = None,
) -> list[str]:
    """Send raw (value, headers) pairs in order on one key (a new one unless given); return each
    one's "topic:partition:offset"."""
    producer = kafka.producer(connection)
    await producer.start()
    key = key or uuid.uuid4().bytes
    try:
        sent = []
        for value, headers in messages:
            meta = await (await producer.send(topic, value=value, key=key, headers=headers))
            sent.append(f"{meta.topic}:{meta.partition}:{meta.offset}")
        return sent
    finally:
        await producer.stop()


def wire(envelope: Envelope) -> tuple[bytes, list[tuple[str, bytes]]]:
    return envelope.model_dump_json().encode(), headers_for(envelope)


async def collect(
    connection: KafkaConnection,
    topic: str,
    keep: Callable[[ConsumerRecord], bool],
    until: Callable[[list], bool],
    timeout: float = 60,
) -> list[ConsumerRecord]:
    """Read `topic` from the beginning (no group) and return records `keep` accepts, once `until` holds."""
    consumer = kafka.consumer(connection, None, topic)
    await consumer.start()
    kept: list[ConsumerRecord] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            kept.extend(r for records in batches.values() for r in records if keep(r))
            if until(kept):
                return kept
        raise AssertionError(f"timed out reading {topic}: kept {len(kept)} records")
    finally:
        await consumer.stop()


def header(record: ConsumerRecord, name: str) -> str | None:
    return next((v.decode() for k, v in record.headers or () if k == name), None)


EFFECTS_DDL = "CREATE TABLE IF NOT EXISTS effects (id bigserial PRIMARY KEY, message_id uuid NOT NULL)"


async def record_effect(session, delivery) -> None:
    """A handler whose effect is a plain row: duplicates would show as repeated message ids."""
    await session.conn.execute(
        text("INSERT INTO effects (message_id) VALUES (:m)"), {"m": delivery.envelope.event_id}
    )


async def effect_counts(engine, ids: set[str]) -> tuple[int, int]:
    """(rows, distinct message ids) among `ids` in the effects table."""
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT message_id::text FROM effects"))).scalars().all()
    ours = [r for r in rows if r in ids]
    return len(ours), len(set(ours))
