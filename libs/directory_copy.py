"""A program service's copy of the municipality's directory, kept current from its published versions.

The directory service publishes the whole directory after every change (`DirectoryChanged`). A
service's inbox stores the newest version it has seen in its own database, so it keeps checking
codes, routing cases and authorising when the directory service is down, and a restart starts
from what it last saw. Every process of the service (the API, the consumer, several of either)
re-reads that row when its version moves: a change made by the administrator reaches every
request within about a second (`REFRESH_SECONDS`), with no call to the directory service on the
request path. Until the first version arrives, the seed file (`KASANE_DIRECTORY`) stands in: the
directory service starts from the same file.
"""

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiokafka import ConsumerRecord
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.events import DirectoryChanged
from libs.directory import Directory
from libs.eventstore import Session
from libs.inbox import Delivery, Handler, PermanentError, decode

log = logging.getLogger(__name__)

REFRESH_SECONDS = 1.0

_STORE = text(
    """
    INSERT INTO directory_copy (only_row, version, document) VALUES (true, :v, CAST(:d AS jsonb))
    ON CONFLICT (only_row) DO UPDATE SET version = excluded.version, document = excluded.document
    WHERE directory_copy.version < excluded.version
    """
)
_VERSION = text("SELECT version FROM directory_copy")
_READ = text("SELECT version, document FROM directory_copy")


async def store(conn: AsyncConnection, changed: DirectoryChanged) -> None:
    """Keep `changed` as the copy unless one as new is kept already (redelivery, reordering)."""
    document = changed.model_dump(mode="json", exclude={"case_key", "version", "change"})
    try:
        Directory.from_document(document)
    except (ValueError, KeyError) as exc:  # a version no service could use: park it, keep the last
        raise PermanentError(f"directory version {changed.version} is inconsistent: {exc}") from exc
    await conn.execute(_STORE, {"v": changed.version, "d": json.dumps(document)})


class DirectoryCopy:
    """The directory one process works with: `current`, replaced whole when a newer version is stored."""

    def __init__(self, engine: AsyncEngine, seed: Directory) -> None:
        self.engine = engine
        self.current = seed
        self.version = 0

    async def refresh(self) -> None:
        """Take the stored version if it is newer than the one in hand (one indexed read when not)."""
        async with self.engine.connect() as conn:
            stored = (await conn.execute(_VERSION)).scalar()
            if stored is None or stored <= self.version:
                return
            version, document = (await conn.execute(_READ)).one()
        self.current = Directory.from_document(document)
        self.version = version
        log.info("directory version %d in use", version)

    async def follow(self) -> None:
        """Refresh until cancelled; a database outage only delays the next version."""
        while True:
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("could not read the directory copy; keeping version %d", self.version)
            await asyncio.sleep(REFRESH_SECONDS)

    async def on_changed(self, session: Session, delivery: Delivery) -> None:
        """Store a published version unless one as new is stored already (redelivery, reordering)."""
        changed = delivery.event
        assert isinstance(changed, DirectoryChanged)
        await store(session.conn, changed)

    def bind(self, consumer: "WithDirectory") -> Handler:
        """The consumer's handler, given at each delivery the directory then in use."""

        async def bound(session: Session, delivery: Delivery) -> None:
            await consumer.handler(session, delivery, directory=self.current)

        return bound


async def project(conn: AsyncConnection, records: Sequence[ConsumerRecord]) -> None:
    """The `Apply` of a projector over the directory's topic (libs.checkpoints): for a process with
    no inbox (the projections), which keeps its copy the same way. What it cannot use it skips:
    it may not write a dead-letter topic, and the previous version stays in force."""
    for record in records:
        try:
            delivery = decode(record)
            if isinstance(delivery.event, DirectoryChanged):
                await store(conn, delivery.event)
        except PermanentError as exc:
            log.warning(
                "skipping directory message %s[%d]@%d: %s", record.topic, record.partition, record.offset, exc
            )


@dataclass(frozen=True)
class WithDirectory:
    """A consumer that routes or checks by the directory (`directory=` keyword): the service's
    runtime binds it to its copy (`DirectoryCopy.bind`)."""

    handler: Callable[..., Awaitable[None]]
