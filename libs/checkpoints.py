"""Exactly-once projections: the Kafka position is stored with the read model it produced.

A projector applies a batch of one partition and advances that partition's `next_offset`
in the same PostgreSQL transaction. On (re)assignment it seeks to the stored offsets, so
Kafka's own committed offsets never matter and a crash can neither skip nor double-apply.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from libs import kafka

log = logging.getLogger(__name__)

_LOAD = text(
    "SELECT next_offset FROM projection_checkpoint WHERE projection = :p AND topic = :t AND partition = :n"
)
_ADVANCE = text(
    "INSERT INTO projection_checkpoint (projection, topic, partition, next_offset) VALUES (:p, :t, :n, :o) "
    "ON CONFLICT (projection, topic, partition) DO UPDATE SET next_offset = excluded.next_offset "
    "WHERE projection_checkpoint.next_offset = :expected"
)


class StaleCheckpoint(Exception):
    """Another projector instance moved the checkpoint first; this batch must not be applied."""


async def load(conn: AsyncConnection, projection: str, topic: str, partition: int) -> int:
    """Next offset to read for one partition (0 if the projection never saw it)."""
    row = (await conn.execute(_LOAD, {"p": projection, "t": topic, "n": partition})).first()
    return row.next_offset if row else 0


async def advance(
    conn: AsyncConnection, projection: str, topic: str, partition: int, expected: int, next_offset: int
) -> None:
    """Move the checkpoint from `expected` to `next_offset` inside the read model's transaction.

    The compare-and-set makes two projector instances that both read a batch safe: only
    the one whose view of the checkpoint is current can commit its effects.
    """
    result = await conn.execute(
        _ADVANCE, {"p": projection, "t": topic, "n": partition, "o": next_offset, "expected": expected}
    )
    if result.rowcount != 1:
        raise StaleCheckpoint(f"{projection} {topic}[{partition}] is no longer at offset {expected}")


Apply = Callable[[AsyncConnection, Sequence[ConsumerRecord]], Awaitable[None]]


class _SeekToCheckpoints(ConsumerRebalanceListener):
    def __init__(self, projector: "Projector") -> None:
        self.projector = projector

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self.projector.seek_to_checkpoints(assigned)


class Projector:
    """Runs one projection over Kafka topics, checkpointing in its own database."""

    def __init__(
        self,
        engine: AsyncEngine,
        connection: kafka.KafkaConnection,
        name: str,
        topics: Sequence[str],
        apply: Apply,
    ) -> None:
        self.engine = engine
        self.connection = connection
        self.name = name
        self.topics = list(topics)
        self.apply = apply
        self.applied = 0
        self._consumer: AIOKafkaConsumer | None = None
        self._positions: dict[TopicPartition, int] = {}

    async def seek_to_checkpoints(self, assigned: Sequence[TopicPartition]) -> None:
        assert self._consumer is not None
        async with self.engine.connect() as conn:
            for tp in assigned:
                offset = await load(conn, self.name, tp.topic, tp.partition)
                self._positions[tp] = offset
                self._consumer.seek(tp, offset)

    async def run(self) -> None:
        """Project until cancelled; restarts from the stored checkpoints after any failure."""
        while True:
            try:
                await self._consume()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("projector %s failed; restarting from checkpoints", self.name)
                await asyncio.sleep(1.0)

    async def _consume(self) -> None:
        # Offsets live in PostgreSQL, so Kafka commits are disabled and never consulted.
        self._consumer = kafka.consumer(self.connection, f"projection.{self.name}")
        self._consumer.subscribe(self.topics, listener=_SeekToCheckpoints(self))
        await self._consumer.start()
        try:
            while True:
                batches = await self._consumer.getmany(timeout_ms=500, max_records=2000)
                for tp, records in batches.items():
                    await self._apply_batch(tp, records)
        finally:
            await self._consumer.stop()

    async def _apply_batch(self, tp: TopicPartition, records: Sequence[ConsumerRecord]) -> None:
        expected = self._positions.get(tp, records[0].offset)
        fresh = [r for r in records if r.offset >= expected]
        if not fresh:
            return
        next_offset = fresh[-1].offset + 1
        async with self.engine.begin() as conn:
            await self.apply(conn, fresh)
            await advance(conn, self.name, tp.topic, tp.partition, expected, next_offset)
        self._positions[tp] = next_offset
        self.applied += len(fresh)
