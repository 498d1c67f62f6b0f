"""The projector process: settings, database, the running projection, and `rebuild`.

Shaped like a service (libs/runtime.py) but without what only services have: no event store,
outbox, inbox or personal-data key, because the read side holds no personal data and writes
nothing to Kafka. One advisory lock keeps `rebuild` apart from running projectors: each projector
holds it shared for its lifetime, `rebuild` needs it exclusively, so a rebuild can never race a
live projector that would write into tables being dropped.
"""

import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass

from aiokafka import TopicPartition
from aiokafka.client import AIOKafkaClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.kafka_access import PROJECTIONS
from contracts.topics import DIRECTORY_EVENTS, PARTITIONS
from libs import db, directory_copy, kafka
from libs.auth import AuthSettings, TokenVerifier
from libs.checkpoints import Projector
from libs.directory import Directory
from libs.directory_copy import DirectoryCopy
from libs.kafka import KafkaConnection
from projections import projector
from projections.schema import DDL, SCHEMA

log = logging.getLogger(__name__)

NAME = "projections"
DEFAULT_PORT = 8000
DIRECTORY_PROJECTION = "directory"
"""The projector that keeps the directory copy (consumer group `projection.directory`)."""


@dataclass(frozen=True)
class Settings:
    """Environment: KASANE_PROJECTIONS_DATABASE_URL, KASANE_PROJECTIONS_PORT, and the Kafka variables
    of libs.kafka.KafkaConnection.from_env (user `projections`, the read-everything principal)."""

    database_url: str
    kafka: KafkaConnection
    port: int
    host: str = "127.0.0.1"
    projection: str = projector.PROJECTION

    @classmethod
    def from_env(cls) -> "Settings":
        return cls(
            database_url=os.environ.get(
                "KASANE_PROJECTIONS_DATABASE_URL", f"postgresql+asyncpg://postgres@127.0.0.1:5432/{NAME}"
            ),
            kafka=KafkaConnection.from_env(default_username=PROJECTIONS),
            port=int(os.environ.get("KASANE_PROJECTIONS_PORT", DEFAULT_PORT)),
        )


def _lock_key(projection: str) -> str:
    return f"kasane.projection.{projection}"


async def install(engine: AsyncEngine) -> None:
    """Checkpoint table and read models, idempotently."""
    await db.install(engine, db.PROJECTION_SCHEMA)
    await db.install(engine, DDL)


class ProjectionRuntime:
    """Engine, projector tasks, token verifier and directory copy of one projections process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine: AsyncEngine = db.create_engine(settings.database_url)
        self.projector = Projector(
            self.engine, settings.kafka, settings.projection, projector.TOPICS, projector.apply
        )
        # The municipality's directory (districts, populations, users) as the program services keep
        # it, from the same published versions, by a projector of its own.
        self.directories = DirectoryCopy(self.engine, Directory.load())
        self.directory_projector = Projector(
            self.engine, settings.kafka, DIRECTORY_PROJECTION, [DIRECTORY_EVENTS], directory_copy.project
        )
        self.verifier = TokenVerifier(AuthSettings.from_env(NAME))
        self._tasks: list[asyncio.Task[None]] = []
        self._task: asyncio.Task[None] | None = None
        self._lock: AsyncConnection | None = None
        self._kafka: AIOKafkaClient | None = None

    @property
    def directory(self) -> Directory:
        return self.directories.current

    async def start(self, project: bool = True) -> None:
        await install(self.engine)
        self._kafka = AIOKafkaClient(**self.settings.kafka.client_settings())
        with contextlib.suppress(Exception):  # /health reports the broker; startup need not wait
            await self._kafka.bootstrap()
        await self.directories.refresh()
        self._tasks.append(asyncio.create_task(self.directories.follow(), name="projections.directory"))
        if not project:
            return
        self._tasks.append(asyncio.create_task(self.directory_projector.run(), name="projection.directory"))
        self._lock = await self.engine.connect()
        # Waits while a rebuild runs; many projectors may hold it together.
        await self._lock.execute(
            text("SELECT pg_advisory_lock_shared(hashtext(:k))"), {"k": _lock_key(self.settings.projection)}
        )
        await self._lock.commit()
        self._task = asyncio.create_task(self.projector.run(), name=f"projection.{self.settings.projection}")

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._lock is not None:
            await self._lock.execute(
                text("SELECT pg_advisory_unlock_shared(hashtext(:k))"),
                {"k": _lock_key(self.settings.projection)},
            )
            await self._lock.close()
            self._lock = None
        if self._kafka is not None:
            await self._kafka.close()
            self._kafka = None
        await self.engine.dispose()

    async def health(self) -> dict[str, bool]:
        status = {
            "database": False,
            "broker": False,
            "projector": self._task is not None and not self._task.done(),
        }
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2):
                async with self.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
                status["database"] = True
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2):
                assert self._kafka is not None
                status["broker"] = bool(await self._kafka.force_metadata_update())
        return status


class RebuildRefused(Exception):
    """A projector is running on this database: stop it before rebuilding."""


async def end_offsets(connection: KafkaConnection) -> dict[TopicPartition, int]:
    """The end of every partition of every event topic now: what a rebuild must reach."""
    consumer = kafka.consumer(connection, None)
    await consumer.start()
    try:
        partitions = [TopicPartition(t, p) for t in projector.TOPICS for p in range(PARTITIONS)]
        return dict(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


async def caught_up(engine: AsyncEngine, projection: str, ends: dict[TopicPartition, int]) -> bool:
    """Whether the stored checkpoints reached `ends` on every partition that has messages."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT topic, partition, next_offset FROM projection_checkpoint WHERE projection = :p"),
            {"p": projection},
        )
        stored = {TopicPartition(r.topic, r.partition): r.next_offset for r in rows}
    return all(stored.get(tp, 0) >= end for tp, end in ends.items() if end > 0)


async def rebuild(settings: Settings, *, timeout: float = 600.0) -> dict[TopicPartition, int]:
    """Drop the read models and this projection's checkpoints, replay every topic from offset 0 up
    to the ends as they were when the rebuild began, and return those ends.

    Events published during the rebuild are applied too if they arrive before the end is reached;
    the rest wait for the next projector start, which resumes from the checkpoints left here.
    """
    engine = db.create_engine(settings.database_url)
    key = {"k": _lock_key(settings.projection)}
    lock = await engine.connect()
    try:
        got = (await lock.execute(text("SELECT pg_try_advisory_lock(hashtext(:k))"), key)).scalar()
        await lock.commit()
        if not got:
            raise RebuildRefused(
                f"projection {settings.projection!r} is running on this database: stop it, then rebuild"
            )
        try:
            await db.install(engine, db.PROJECTION_SCHEMA)
            async with engine.begin() as conn:
                await conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
                await conn.execute(
                    text("DELETE FROM projection_checkpoint WHERE projection = :p"),
                    {"p": settings.projection},
                )
            await db.install(engine, DDL)
            ends = await end_offsets(settings.kafka)
            replay = Projector(engine, settings.kafka, settings.projection, projector.TOPICS, projector.apply)
            task = asyncio.create_task(replay.run())
            try:
                async with asyncio.timeout(timeout):
                    while True:  # progress poll of a batch job, not test synchronisation
                        if await caught_up(engine, settings.projection, ends):
                            break
                        await asyncio.sleep(0.2)
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            log.info("rebuilt projection %s: %d events replayed", settings.projection, replay.applied)
            return ends
        finally:
            await lock.execute(text("SELECT pg_advisory_unlock(hashtext(:k))"), key)
            await lock.commit()
    finally:
        await lock.close()
        await engine.dispose()
