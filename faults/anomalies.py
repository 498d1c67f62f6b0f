"""Anomalies planted on purpose after a clean run, so a test can show the checker sees them.

A checker that reports 0 on a broken system is worse than none; each plant below breaks exactly
one promise, straight in the databases, the way a bug in Kasane would.
"""

from __future__ import annotations

import json
import uuid

from sqlalchemy import text

from contracts.topics import INTAKE_EVENTS
from faults.history import History, Outcome
from libs import db
from libs.eventstore import NewEvent, PostgresSession
from projections.schema import SCHEMA

PLANTS = {
    "lose_an_acknowledged_command": "acknowledged commands lost",
    "apply_an_upstream_event_twice": "upstream events applied twice downstream",
    "leave_an_outbox_row_unpublished": "outbox events never published",
    "change_a_read_model_row": "read model rows differing from a rebuild",
}
"""Each plant and the row of the checker's table that must then be above 0."""


async def lose_an_acknowledged_command(database_urls: dict[str, str], history: History) -> str:
    """Delete every event of one acknowledged case reception, as if the commit had been lost."""
    op = next(o for o in history if o.outcome is Outcome.OK and o.command == "receive_case")
    engine = db.create_engine(database_urls[op.service], pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text("DELETE FROM events WHERE metadata->>'correlation_id' = :c"), {"c": str(op.op_id)}
            )
    finally:
        await engine.dispose()
    return f"{op.service} {op.command} {op.op_id}"


async def apply_an_upstream_event_twice(database_urls: dict[str, str], history: History) -> str:
    """Append a copy of one reaction to another stream: a consumer that ran a message twice."""
    engine = db.create_engine(database_urls["coordination"], pool_size=1)
    try:
        async with engine.begin() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT stream_id, stream_type, event_type, schema_version, data, metadata FROM events "
                        "WHERE metadata->>'causation_id' IS NOT NULL ORDER BY global_position LIMIT 1"
                    )
                )
            ).one()
        async with engine.begin() as conn:
            copy = NewEvent(row.event_type, row.data, row.schema_version, row.metadata)
            await PostgresSession(conn, None).append(
                f"{row.stream_id}-planted-{uuid.uuid4()}", row.stream_type, 0, [copy]
            )
    finally:
        await engine.dispose()
    return f"coordination: a copy of {row.event_type} caused by {row.metadata['causation_id']}"


async def leave_an_outbox_row_unpublished(database_urls: dict[str, str], history: History) -> str:
    """An outbox row that no relay will publish (the relays are stopped): a relay that skipped it."""
    engine = db.create_engine(database_urls["intake"], pool_size=1)
    message_id = uuid.uuid4()
    envelope = {"event_id": str(message_id), "planted": True}
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO outbox (message_id, topic, key, event_type, schema_version, envelope) "
                    "VALUES (:m, :t, :k, 'CaseReceived', 1, CAST(:e AS jsonb))"
                ),
                {"m": message_id, "t": INTAKE_EVENTS, "k": str(uuid.uuid4()), "e": json.dumps(envelope)},
            )
    finally:
        await engine.dispose()
    return f"intake outbox {message_id}"


async def change_a_read_model_row(database_urls: dict[str, str], history: History) -> str:
    """Delete one case from the live dashboard: a projector that lost an update."""
    engine = db.create_engine(database_urls["projections"], pool_size=1)
    try:
        async with engine.begin() as conn:
            one_case = (
                f"DELETE FROM {SCHEMA}.cases WHERE case_key = (SELECT case_key FROM {SCHEMA}.cases LIMIT 1)"  # noqa: S608
            )
            deleted = await conn.execute(text(one_case))  # SCHEMA is a constant of ours
    finally:
        await engine.dispose()
    return f"projections: {deleted.rowcount} case row deleted"


async def plant_all(database_urls: dict[str, str], history: History) -> list[str]:
    done = []
    for name in PLANTS:
        done.append(await globals()[name](database_urls, history))
    return done
