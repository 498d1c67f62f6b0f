"""A database written before events had a case_key column finds its cases by index after start-up."""

import uuid

from sqlalchemy import text

from libs import db
from libs.eventstore import LogQuery, NewEvent, PostgresEventStore


async def test_rows_stored_before_the_case_key_column_are_keyed_once_at_start(engine) -> None:
    key, coordination_case = uuid.uuid4(), uuid.uuid4()
    store = PostgresEventStore(engine)
    async with store.transaction() as s:
        # As the old code stored them: no case key on any row.
        await s.append(f"intake-case-{key}", "IntakeCase", 0, [NewEvent("Received", {"n": 1})])
        await s.append(f"intake-consent-{key}", "Consents", 0, [NewEvent("Granted", {})])
        opened = NewEvent("CaseOpened", {"case_key": str(key)})
        await s.append(f"coordination-case-{coordination_case}", "CoordinationCase", 0, [opened])
        await s.append(
            f"coordination-case-{coordination_case}", "CoordinationCase", 1, [NewEvent("Noted", {})]
        )
        await s.append(f"access-case:{coordination_case}", "AccessLog", 0, [NewEvent("Viewed", {})])
        await s.append("elsewhere", "Thing", 0, [NewEvent("Other", {"case_key": "not-a-key"})])
    async with engine.begin() as conn:  # the old code's rows, as a database from before holds them
        assert (
            await conn.execute(text("SELECT count(*) FROM events WHERE case_key IS NOT NULL"))
        ).scalar() == 0
        await conn.execute(text("DROP TABLE IF EXISTS schema_migrations"))

    await db.install(engine, db.SERVICE_SCHEMA, db.SERVICE_MIGRATIONS)
    await db.install(engine, db.SERVICE_SCHEMA, db.SERVICE_MIGRATIONS)  # a second start changes nothing

    async with store.reading() as s:
        keyed = {e.stream_id for e in await s.log_all(LogQuery(case_key=key))}
        assert keyed == {
            f"intake-case-{key}",
            f"intake-consent-{key}",
            f"coordination-case-{coordination_case}",
            f"access-case:{coordination_case}",
        }
        assert len(await s.log_all(LogQuery(case_key=key))) == 5
        assert await s.stream_ids(stream_type="CoordinationCase", case_key=key) == [
            f"coordination-case-{coordination_case}"
        ]
    async with engine.connect() as conn:
        applied = (await conn.execute(text("SELECT name FROM schema_migrations"))).scalars().all()
    assert applied == ["0001-events-case-key"]


async def test_a_python_migration_is_claimed_by_exactly_one_caller(engine) -> None:
    async def claim() -> bool:
        async with engine.begin() as conn:
            return await db.claim_migration(conn, "register-v1")

    assert await claim() is True
    assert await claim() is False  # done: a restart does not redo it
