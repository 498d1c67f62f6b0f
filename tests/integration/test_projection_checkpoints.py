"""Exactly-once projection: the Kafka position is committed with the read model, so restarts never double count."""

import asyncio
import contextlib
import uuid

from sqlalchemy import text

from contracts.events import CaseReceived
from contracts.kafka_access import PROJECTIONS
from contracts.topics import INTAKE_EVENTS
from libs import db
from libs.checkpoints import Projector
from libs.inbox import PermanentError, decode
from tests.builders import case_received, produce, wire
from tests.polling import eventually

READ_MODEL = "CREATE TABLE cases_by_district (district text PRIMARY KEY, received integer NOT NULL)"


async def count_cases(conn, records) -> None:
    """A toy read model with a non-idempotent effect (+1), so any replay would show."""
    for record in records:
        try:
            event = decode(record).event
        except PermanentError:
            continue  # other tests put poison on the topic; a projection skips what it cannot read
        if not isinstance(event, CaseReceived):
            continue
        await conn.execute(
            text(
                "INSERT INTO cases_by_district VALUES (:d, 1) "
                "ON CONFLICT (district) DO UPDATE SET received = cases_by_district.received + 1"
            ),
            {"d": event.district},
        )


async def _count(engine, district: str) -> int:
    async with engine.connect() as conn:
        value = (
            await conn.execute(
                text("SELECT received FROM cases_by_district WHERE district = :d"), {"d": district}
            )
        ).scalar()
    return value or 0


@contextlib.asynccontextmanager
async def running(projector: Projector):
    task = asyncio.create_task(projector.run())
    try:
        yield projector
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_restarted_projector_resumes_without_double_counting(database_url, infra):
    engine = db.create_engine(database_url)
    await db.install(engine, db.PROJECTION_SCHEMA)
    async with engine.begin() as conn:
        await conn.execute(text(READ_MODEL))
    district = f"d-{uuid.uuid4().hex[:8]}"
    envelopes = [case_received(district=district) for _ in range(5)]
    name = f"test-{uuid.uuid4().hex[:8]}"
    reader = infra.kafka.connection(PROJECTIONS)  # read-only, groups `projection.*`: enough for a projector

    first = await produce(infra.kafka_admin, INTAKE_EVENTS, [wire(e) for e in envelopes])
    async with running(Projector(engine, reader, name, [INTAKE_EVENTS], count_cases)):
        await eventually(lambda: _past(engine, name, first[-1]), what="checkpoint past the first five")
    assert await _count(engine, district) == 5

    # Three more arrive while no projector runs; a new one resumes from the stored positions.
    second = await produce(infra.kafka_admin, INTAKE_EVENTS, [wire(e) for e in envelopes[:3]])
    async with running(Projector(engine, reader, name, [INTAKE_EVENTS], count_cases)):
        await eventually(lambda: _past(engine, name, second[-1]), what="checkpoint past the next three")
    assert await _count(engine, district) == 8
    await engine.dispose()


async def _past(engine, name: str, origin: str) -> bool:
    """Has the projection's checkpoint moved beyond the record at "topic:partition:offset"?"""
    topic, partition, offset = origin.rsplit(":", 2)
    async with engine.connect() as conn:
        stored = (
            await conn.execute(
                text(
                    "SELECT next_offset FROM projection_checkpoint "
                    "WHERE projection = :p AND topic = :t AND partition = :n"
                ),
                {"p": name, "t": topic, "n": int(partition)},
            )
        ).scalar()
    return stored is not None and stored > int(offset)
