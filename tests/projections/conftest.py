"""The projector over the session's real Kafka and a fresh PostgreSQL database per test."""

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import text

from contracts.envelope import Envelope
from contracts.events import EVENT_TYPES
from contracts.kafka_access import ADMIN, PROJECTIONS
from deploy.local.kafka import LocalKafka
from deploy.local.ports import free_port
from libs import db, kafka
from projections.runtime import ProjectionRuntime, Settings, caught_up, end_offsets
from projections.schema import SCHEMA, TABLES
from tests.builders import produce, wire
from tests.conftest import Infra
from tests.polling import eventually


@pytest.fixture(scope="package")
def infra(infra, infra_home) -> Iterator[Infra]:
    """A Kafka broker of their own, beside the session's PostgreSQL.

    The projector reads every event topic; on the session's broker it would also count what the
    other tests published, so its figures could not be compared with the scenario's.
    """
    broker = LocalKafka(infra_home / "kafka-projections", port=free_port(), controller_port=free_port())
    broker.start()
    try:
        asyncio.run(kafka.ensure_topics(broker.connection(ADMIN)))
        yield Infra(infra.postgres, broker)
    finally:
        broker.stop()


@pytest.fixture
def settings(infra, database_url) -> Settings:
    """A projection of its own (name, consumer group, database) read as the `projections` principal."""
    return Settings(
        database_url=database_url,
        kafka=infra.kafka.connection(PROJECTIONS),
        port=free_port(),
        projection=f"test-{uuid.uuid4().hex[:8]}",
    )


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[ProjectionRuntime]:
    runtime = ProjectionRuntime(settings)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


async def publish(infra, envelopes: list[Envelope]) -> None:
    """Each envelope on its program's topic, as the owning service's relay would put it."""
    by_topic: dict[str, list[Envelope]] = defaultdict(list)
    for envelope in envelopes:
        by_topic[EVENT_TYPES[envelope.event_type].topic].append(envelope)
    await asyncio.gather(
        *(produce(infra.kafka_admin, t, [wire(e) for e in es]) for t, es in by_topic.items())
    )


async def wait_caught_up(settings: Settings, timeout: float = 60) -> None:
    """Until the projection's checkpoints reach the current end of every event topic."""
    ends = await end_offsets(settings.kafka)
    engine = db.create_engine(settings.database_url)
    try:
        await eventually(
            lambda: caught_up(engine, settings.projection, ends), timeout, "projection caught up"
        )
    finally:
        await engine.dispose()


async def dump(database_url: str) -> dict[str, list[tuple]]:
    """Every read model table, rows sorted, for equality checks."""
    engine = db.create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return {
                table: sorted(
                    tuple(map(str, row))
                    for row in await conn.execute(text(f"SELECT * FROM {SCHEMA}.{table}"))
                )
                for table in TABLES
            }
    finally:
        await engine.dispose()
