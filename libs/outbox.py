"""Transactional outbox: public events are stored with the domain events, then relayed.

The relay reads rows in (transaction_id, position) order and only below the commit horizon
`pg_snapshot_xmin(pg_current_snapshot())`: every transaction with a smaller id has finished,
so no row can later appear behind the checkpoint (docs/adr/0002). Writers take no lock.
"""

import asyncio
import contextlib
import contextvars
import logging
import weakref
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.envelope import Envelope
from contracts.topics import Header
from libs import kafka

log = logging.getLogger(__name__)

_INSERT = text(
    "INSERT INTO outbox (message_id, topic, key, event_type, schema_version, envelope) "
    "VALUES (:message_id, :topic, :key, :event_type, :schema_version, CAST(:envelope AS jsonb))"
)


@dataclass(frozen=True)
class OutgoingMessage:
    """A public event bound for one topic."""

    topic: str
    envelope: Envelope


# The outbox writes of the transaction the current task is in. Kept in the task's context, not
# on the connection: a connection broken mid-query (a cancelled task, a database restart) must
# not turn the original error into another one while the transaction unwinds.
_WRITES: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("outbox_writes", default=None)
_RELAYS: weakref.WeakKeyDictionary[AsyncEngine, "OutboxRelay"] = weakref.WeakKeyDictionary()


@contextlib.asynccontextmanager
async def transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A transaction of the write path: once it commits having written outbox rows, the relay of
    this engine (if this process runs one) is woken at once instead of at its next poll. Every
    command and every consumer's handling goes through here, so no caller has to remember to."""
    writes: list[int] = []
    token = _WRITES.set(writes)
    try:
        async with engine.begin() as conn:
            yield conn
    finally:
        _WRITES.reset(token)
    if writes and (relay := _RELAYS.get(engine)) is not None:
        relay.wake()


async def write(conn: AsyncConnection, messages: Sequence[OutgoingMessage]) -> None:
    """Store public events in the caller's transaction, so they exist if and only if it commits."""
    if not messages:
        return
    if (writes := _WRITES.get()) is not None:
        writes.append(len(messages))
    await conn.execute(
        _INSERT,
        [
            {
                "message_id": m.envelope.event_id,
                "topic": m.topic,
                "key": str(m.envelope.case_key),
                "event_type": m.envelope.event_type,
                "schema_version": m.envelope.schema_version,
                "envelope": m.envelope.model_dump_json(),
            }
            for m in messages
        ],
    )


def headers_for(envelope: Envelope) -> list[tuple[str, bytes]]:
    """Kafka headers: enough to route, deduplicate and trace without decoding the value."""
    pairs = [
        (Header.MESSAGE_ID, str(envelope.event_id)),
        (Header.EVENT_TYPE, envelope.event_type),
        (Header.SCHEMA_VERSION, str(envelope.schema_version)),
        (Header.CORRELATION_ID, str(envelope.correlation_id)),
        (Header.ORGANISATION, envelope.organisation),
    ]
    if envelope.causation_id:
        pairs.append((Header.CAUSATION_ID, str(envelope.causation_id)))
    if envelope.traceparent:
        pairs.append((Header.TRACEPARENT, envelope.traceparent))
    return [(k, v.encode()) for k, v in pairs]


_BATCH = text(
    "SELECT transaction_id AS tx, position, topic, key, envelope::text AS envelope FROM outbox "
    "WHERE (transaction_id, position) > (CAST(:tx AS xid8), :pos) "
    "AND transaction_id < pg_snapshot_xmin(pg_current_snapshot()) "
    "ORDER BY transaction_id, position LIMIT :limit"
)
_LOAD_CHECKPOINT = text("SELECT transaction_id AS tx, position FROM relay_checkpoint WHERE name = :name")
_SAVE_CHECKPOINT = text(
    "INSERT INTO relay_checkpoint (name, transaction_id, position) VALUES (:name, CAST(:tx AS xid8), :pos) "
    "ON CONFLICT (name) DO UPDATE SET transaction_id = excluded.transaction_id, position = excluded.position"
)
_LAG = text(
    "SELECT count(*) FROM outbox WHERE (transaction_id, position) > "
    "(COALESCE((SELECT transaction_id FROM relay_checkpoint WHERE name = :name), '0'::xid8), "
    "COALESCE((SELECT position FROM relay_checkpoint WHERE name = :name), 0))"
)


class OutboxRelay:
    """Publishes outbox rows to Kafka in commit-safe order, from a checkpoint.

    One relay per service is active at a time (a PostgreSQL advisory lock elects it), so
    events of one case reach their partition in the order they were committed. Delivery is
    at-least-once: a crash after sending but before saving the checkpoint re-sends the
    batch, and consumers drop the duplicates by message id.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        connection: kafka.KafkaConnection,
        name: str,
        *,
        batch_size: int = 500,
        idle_wait: float = 0.05,
    ) -> None:
        self.engine = engine
        self.connection = connection
        self.name = name
        self.batch_size = batch_size
        self.idle_wait = idle_wait
        self.published = 0
        self._wake = asyncio.Event()
        _RELAYS[engine] = self

    def wake(self) -> None:
        """Hint that rows were just committed (`transaction` calls it after each commit that wrote some)."""
        self._wake.set()

    async def run(self) -> None:
        """Relay forever; survives broker and database outages by retrying from the checkpoint."""
        while True:
            try:
                async with self.engine.connect() as leader:
                    await self._become_leader(leader)
                    await self._relay_as_leader()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay %s failed; restarting from checkpoint", self.name)
                await asyncio.sleep(1.0)

    async def _become_leader(self, leader: AsyncConnection) -> None:
        lock = text("SELECT pg_try_advisory_lock(hashtext(:name))")
        while not (await leader.execute(lock, {"name": f"relay:{self.name}"})).scalar():
            await leader.commit()
            await asyncio.sleep(1.0)
        await leader.commit()
        log.info("outbox relay %s is the leader", self.name)

    async def _relay_as_leader(self) -> None:
        producer = kafka.producer(self.connection)
        await producer.start()
        try:
            async with self.engine.connect() as conn:
                while True:
                    if await self.relay_once(conn, producer) < self.batch_size:
                        await self._idle()
        finally:
            await producer.stop()

    async def relay_once(self, conn: AsyncConnection, producer: AIOKafkaProducer) -> int:
        """Publish one batch after the checkpoint and below the horizon; return how many."""
        row = (await conn.execute(_LOAD_CHECKPOINT, {"name": self.name})).first()
        tx, position = (row.tx, row.position) if row else (0, 0)
        rows = (await conn.execute(_BATCH, {"tx": tx, "pos": position, "limit": self.batch_size})).all()
        await conn.commit()
        if not rows:
            return 0
        deliveries = []
        for row in rows:
            envelope = Envelope.model_validate_json(row.envelope)
            deliveries.append(
                await producer.send(
                    row.topic,
                    value=row.envelope.encode(),
                    key=row.key.encode(),
                    headers=headers_for(envelope),
                )
            )
        await asyncio.gather(*deliveries)
        last = rows[-1]
        await conn.execute(_SAVE_CHECKPOINT, {"name": self.name, "tx": last.tx, "pos": last.position})
        await conn.commit()
        self.published += len(rows)
        return len(rows)

    async def _idle(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=self.idle_wait)
        self._wake.clear()

    async def lag(self) -> int:
        """Rows not yet relayed: the number to alert on."""
        async with self.engine.connect() as conn:
            return int((await conn.execute(_LAG, {"name": self.name})).scalar_one())
