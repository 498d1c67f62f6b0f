"""Database engines and the tables every service database holds.

The DDL is plain SQL because the pieces that matter (xid8 columns, identity, defaults) are
PostgreSQL-specific and must read exactly as they behave.
"""

import asyncpg
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

DIRECTORY_COPY_SCHEMA = """
-- The newest version of the municipality's directory this database's service has received
-- (libs/directory_copy.py): the program services and the projections each keep one.
CREATE TABLE IF NOT EXISTS directory_copy (
    only_row    boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    version     integer NOT NULL,
    document    jsonb   NOT NULL
);
"""

SERVICE_SCHEMA = (
    DIRECTORY_COPY_SCHEMA
    + """
CREATE TABLE IF NOT EXISTS events (
    global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream_id       text        NOT NULL,
    stream_type     text        NOT NULL,
    version         bigint      NOT NULL CHECK (version >= 1),
    event_id        uuid        NOT NULL UNIQUE,
    event_type      text        NOT NULL,
    schema_version  smallint    NOT NULL,
    data            jsonb       NOT NULL,
    metadata        jsonb       NOT NULL,
    prev_hash       bytea       NOT NULL,
    hash            bytea       NOT NULL,
    transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
    recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (stream_id, version)
);
CREATE INDEX IF NOT EXISTS events_tx_position ON events (transaction_id, global_position);
-- The case a row is about (NULL: none), so "every record of a case" is an index lookup.
ALTER TABLE events ADD COLUMN IF NOT EXISTS case_key uuid;
CREATE INDEX IF NOT EXISTS events_case_key ON events (case_key, global_position) WHERE case_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_stream_type_opened ON events (stream_type, global_position) WHERE version = 1;

CREATE TABLE IF NOT EXISTS outbox (
    position        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
    message_id      uuid        NOT NULL UNIQUE,
    topic           text        NOT NULL,
    key             text        NOT NULL,
    event_type      text        NOT NULL,
    schema_version  smallint    NOT NULL,
    envelope        jsonb       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS outbox_tx_position ON outbox (transaction_id, position);

CREATE TABLE IF NOT EXISTS relay_checkpoint (
    name            text   PRIMARY KEY,
    transaction_id  xid8   NOT NULL,
    position        bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS inbox (
    consumer        text        NOT NULL,
    message_id      uuid        NOT NULL,
    topic           text        NOT NULL,
    partition       integer     NOT NULL,
    "offset"        bigint      NOT NULL,
    processed_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (consumer, message_id)
);

-- The case register (libs/register.py): one line per case, written with the command, and
-- blind search tokens (never the names, dates or numbers themselves).
CREATE TABLE IF NOT EXISTS case_register (
    stream_id        text    PRIMARY KEY,
    case_id          uuid    NOT NULL,
    case_key         uuid,
    organisation     text    NOT NULL,
    worker           text,
    status           text    NOT NULL,
    district         text,
    issue_tags       text[]  NOT NULL,
    opened_on        date,
    last_activity_on date,
    due_on           date,
    subject_ref      text,
    version          bigint  NOT NULL
);
CREATE INDEX IF NOT EXISTS case_register_opened ON case_register (organisation, (coalesce(opened_on, DATE '0001-01-01')), case_id);
CREATE INDEX IF NOT EXISTS case_register_due ON case_register (organisation, due_on);
CREATE INDEX IF NOT EXISTS case_register_active ON case_register (organisation, last_activity_on);
-- Open cases and every worklist (a few percent of ten years of lines) found without reading the
-- rest, and the list by latest activity in its own order (docs/bench.md, the register figures).
CREATE INDEX IF NOT EXISTS case_register_status ON case_register (organisation, status, last_activity_on);
CREATE INDEX IF NOT EXISTS case_register_by_activity ON case_register (organisation, (coalesce(last_activity_on, DATE '0001-01-01')), case_id);
-- The consent expiry the lines of a case key show, written by the consent's own stream and joined
-- when read: it holds before the case is opened, and for every case under one key.
CREATE TABLE IF NOT EXISTS case_register_consent (
    case_key           uuid PRIMARY KEY,
    consent_expires_on date
);
CREATE INDEX IF NOT EXISTS case_register_consent_expires ON case_register_consent (consent_expires_on);
CREATE INDEX IF NOT EXISTS case_register_case_key ON case_register (case_key);
CREATE TABLE IF NOT EXISTS case_search (
    token       bytea NOT NULL,
    stream_id   text  NOT NULL,
    subject_ref text,
    PRIMARY KEY (token, stream_id)
);
CREATE INDEX IF NOT EXISTS case_search_stream ON case_search (stream_id);
CREATE INDEX IF NOT EXISTS case_search_subject ON case_search (subject_ref);
-- A register read is one page: starting parallel workers costs more than reading it (a search
-- for a common surname took 53 ms in parallel, 15 ms without, over a million-person city).
ALTER TABLE case_register SET (parallel_workers = 0);
ALTER TABLE case_search SET (parallel_workers = 0);

-- One data key per person, stored only wrapped by the KEK (libs/crypto.py). Erasure keeps the
-- row as a tombstone (erased_at set, key columns NULL).
CREATE TABLE IF NOT EXISTS subject_keys (
    subject_ref     text        PRIMARY KEY,
    kek_id          text,
    wrapped_dek     bytea,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    erased_at       timestamptz,
    CONSTRAINT subject_keys_live_or_erased CHECK (
        (erased_at IS NULL AND kek_id IS NOT NULL AND wrapped_dek IS NOT NULL)
        OR (erased_at IS NOT NULL AND kek_id IS NULL AND wrapped_dek IS NULL)
    )
);
"""
)

# Changes to data already stored, each applied once per database (in this order) by `install`.
SERVICE_MIGRATIONS = {
    # Rows stored before events had a case_key column: intake's cases (their id is the case key,
    # ADR 0005), streams whose events name a key in their data, then streams named after a case
    # key, then streams named after a case's own id (access records of another program's case).
    "0001-events-case-key": """
        UPDATE events SET case_key = right(stream_id, 36)::uuid
        WHERE case_key IS NULL AND stream_type = 'IntakeCase'
          AND right(stream_id, 36) ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
        UPDATE events e SET case_key = k.key FROM (
            SELECT stream_id, min(data->>'case_key')::uuid AS key FROM events
            WHERE data->>'case_key' ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' GROUP BY stream_id
        ) k WHERE e.stream_id = k.stream_id AND e.case_key IS NULL;
        UPDATE events SET case_key = right(stream_id, 36)::uuid
        WHERE case_key IS NULL AND right(stream_id, 36) ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
          AND right(stream_id, 36)::uuid IN (SELECT case_key FROM events WHERE case_key IS NOT NULL);
        UPDATE events a SET case_key = o.case_key FROM (
            SELECT DISTINCT right(stream_id, 36) AS id, case_key FROM events WHERE case_key IS NOT NULL
        ) o WHERE a.case_key IS NULL AND right(a.stream_id, 36) = o.id
    """,
}


async def claim_migration(conn: AsyncConnection, name: str) -> bool:
    """For a change of stored data made in Python (not SQL): True exactly once per database, to
    the caller that then makes it in this transaction; others wait for it to commit.

    Under the schema's lock, as `install`: a migration reading tables while another process's
    `install` alters them would otherwise deadlock (each holding a lock the other needs)."""
    await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('kasane.schema'))"))
    done = await conn.execute(
        text("INSERT INTO schema_migrations (name) VALUES (:n) ON CONFLICT DO NOTHING RETURNING name"),
        {"n": name},
    )
    return done.first() is not None


PROJECTION_SCHEMA = (
    DIRECTORY_COPY_SCHEMA
    + """
CREATE TABLE IF NOT EXISTS projection_checkpoint (
    projection  text    NOT NULL,
    topic       text    NOT NULL,
    partition   integer NOT NULL,
    next_offset bigint  NOT NULL,
    PRIMARY KEY (projection, topic, partition)
);
"""
)


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An asyncpg engine; `pool_pre_ping` so a PostgreSQL restart costs one retry, not a crash."""
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


async def install(engine: AsyncEngine, ddl: str, migrations: dict[str, str] | None = None) -> None:
    """Create tables if missing and apply `migrations` not applied yet; safe to run at every start
    and from several processes."""
    async with engine.begin() as conn:
        # Serialise concurrent installers (a service and its relay starting together).
        await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('kasane.schema'))"))
        for statement in filter(str.strip, ddl.split(";")):
            await conn.execute(text(statement))
        await conn.execute(
            text(
                "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, "
                "applied_at timestamptz NOT NULL DEFAULT clock_timestamp())"
            )
        )
        if not migrations:
            return
        done = set((await conn.execute(text("SELECT name FROM schema_migrations"))).scalars())
        for name, sql in migrations.items():
            if name in done:
                continue
            for statement in filter(str.strip, sql.split(";")):
                await conn.execute(text(statement))
            await conn.execute(text("INSERT INTO schema_migrations (name) VALUES (:n)"), {"n": name})


UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53", "57")
"""Connection exception, insufficient resources, operator intervention: among them 57P03 "the
database system is starting up", which PostgreSQL answers for seconds during crash recovery."""


def unavailable(exc: BaseException) -> bool:
    """True when the error says "the database cannot serve now", not "this request or message is bad".

    Callers retry (consumers) or answer 503 (HTTP) instead of failing the work for good: a
    consumer that dead-lettered valid events during a restart would lose their effects. Every
    pooled connection busy for the pool's whole timeout (a burst beyond capacity) is the same
    answer: not now.
    """
    if isinstance(exc, PoolTimeout):
        return True
    if isinstance(exc, OperationalError | InterfaceError | OSError | asyncpg.PostgresConnectionError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        sqlstate = getattr(cause, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(UNAVAILABLE_SQLSTATE_CLASSES):
            return True
        cause = getattr(cause, "orig", None) or cause.__cause__
    return False
