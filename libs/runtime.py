"""Running a service: settings from the environment, its database, relay and consumer.

`python -m services.<name>` runs the HTTP API, the outbox relay and the inbox consumer in
one process (the default); `... relay` or `... consumer` runs one worker alone, which is
how a deployment scales them apart and how fault tests kill one without the others.
"""

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import uvicorn
from aiokafka.client import AIOKafkaClient
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from libs import access, audit, clock, db, register
from libs.auth import AuthSettings, TokenVerifier
from libs.crypto import PersonalDataCipher
from libs.directory import Directory
from libs.directory_copy import DirectoryCopy, WithDirectory
from libs.domain import Aggregate
from libs.eventstore import PostgresEventStore
from libs.http import ERROR_RESPONSES, CallerDependency, install_error_handlers
from libs.inbox import Handler, InboxConsumer
from libs.kafka import KafkaConnection
from libs.outbox import OutboxRelay

log = logging.getLogger(__name__)

WORKERS = ("relay", "consumer")


@dataclass(frozen=True)
class Settings:
    """Where a service finds its database and the broker, and who runs it.

    Environment: KASANE_<NAME>_DATABASE_URL, KASANE_KAFKA_BOOTSTRAP, KASANE_KAFKA_USERNAME
    (default: the service's name, its Kafka principal), KASANE_KAFKA_PASSWORD, KASANE_KAFKA_CA_FILE,
    KASANE_<NAME>_ORGANISATION, KASANE_<NAME>_PORT, KASANE_WORKERS (comma list or "none").
    """

    name: str
    database_url: str
    kafka: KafkaConnection
    organisation: str
    port: int
    host: str = "127.0.0.1"
    workers: tuple[str, ...] = field(default=WORKERS)

    @classmethod
    def from_env(cls, name: str, default_port: int, default_organisation: str) -> "Settings":
        prefix = f"KASANE_{name.upper()}_"
        workers = os.environ.get("KASANE_WORKERS", ",".join(WORKERS))
        return cls(
            name=name,
            database_url=os.environ.get(
                prefix + "DATABASE_URL", f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
            ),
            kafka=KafkaConnection.from_env(default_username=name),
            organisation=os.environ.get(prefix + "ORGANISATION", default_organisation),
            port=int(os.environ.get(prefix + "PORT", default_port)),
            workers=tuple(w for w in workers.split(",") if w and w != "none"),
        )


class Runtime:
    """The infrastructure of one service process; built once in bootstrap, closed on shutdown."""

    def __init__(
        self,
        settings: Settings,
        handlers: Mapping[str, Handler | WithDirectory],
        registers: Sequence[Aggregate[Any]] = (),
        *,
        directory_source: Callable[["Runtime"], DirectoryCopy] | None = None,
        on_start: Callable[["Runtime"], Awaitable[None]] | None = None,
    ) -> None:
        """`directory_source`: where the directory in use comes from when not from the published
        versions (the directory service reads its own records). `on_start`: run once the database
        is installed, before the workers start."""
        self.settings = settings
        # The aggregates whose lines (and consent expiries) make up the case register.
        self.registers = tuple(registers)
        self.engine: AsyncEngine = db.create_engine(settings.database_url)
        # Fails at start-up, with the variable to set, when the service has no key-encryption key.
        self.store = PostgresEventStore(
            self.engine, PersonalDataCipher.from_env(f"KASANE_{settings.name.upper()}")
        )
        self.relay = OutboxRelay(self.engine, settings.kafka, settings.name)
        self.directories = (
            directory_source(self) if directory_source else DirectoryCopy(self.engine, Directory.load())
        )
        self.on_start = on_start
        bound = {
            event_type: self.directories.bind(h) if isinstance(h, WithDirectory) else h
            for event_type, h in handlers.items()
        }
        if directory_source is None:
            bound["DirectoryChanged"] = self.directories.on_changed
        self.consumer = InboxConsumer(self.store, settings.kafka, settings.name, bound)
        self.verifier = TokenVerifier(AuthSettings.from_env(settings.name))
        self.clock = clock.BusinessClock.from_env()
        self._tasks: list[asyncio.Task[None]] = []
        self._kafka: AIOKafkaClient | None = None

    @property
    def directory(self) -> Directory:
        """The municipality's directory as this process last saw it (libs/directory_copy.py)."""
        return self.directories.current

    async def start(self, workers: tuple[str, ...] | None = None) -> None:
        await db.install(self.engine, db.SERVICE_SCHEMA, db.SERVICE_MIGRATIONS)
        async with self.store.transaction() as session:
            # Cases stored before the register (v1) or its consent expiries (v2) existed get them
            # once (a fresh database: none). A new shape of the register takes the next name.
            if await db.claim_migration(session.conn, "register-v2"):
                await register.rebuild_in(session, self.registers)
        if self.on_start is not None:
            await self.on_start(self)
        await self.directories.refresh()
        self._tasks.append(
            asyncio.create_task(self.directories.follow(), name=f"{self.settings.name}.directory")
        )
        self._kafka = AIOKafkaClient(**self.settings.kafka.client_settings())
        with contextlib.suppress(Exception):  # /health reports the broker; startup need not wait
            await self._kafka.bootstrap()
        for worker in self.settings.workers if workers is None else workers:
            if worker == "consumer" and not self.consumer.handlers:
                continue  # a service that reacts to no other's events (the directory)
            job = {"relay": self.relay.run, "consumer": self.consumer.run}[worker]
            self._tasks.append(asyncio.create_task(job(), name=f"{self.settings.name}.{worker}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._kafka is not None:
            await self._kafka.close()
        await self.engine.dispose()

    async def run_alone(self, worker: str) -> None:
        """Run one worker in the foreground until cancelled."""
        await self.start(workers=(worker,))
        try:
            await asyncio.gather(*self._tasks)
        finally:
            await self.stop()

    async def health(self) -> dict[str, bool]:
        status = {"database": False, "broker": False}
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


async def current_runtime(request: Request) -> Runtime:
    """The service's runtime, for routes declared at module level (`RuntimeDep`)."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(current_runtime)]


def create_app(runtime: Runtime, title: str, description: str, routers: list[APIRouter]) -> FastAPI:
    """A FastAPI app with the shared error handlers, /health and the runtime's lifecycle."""

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title=title, description=description, version="1", lifespan=lifespan, responses=ERROR_RESPONSES
    )
    app.state.runtime = runtime
    app.state.caller = CallerDependency(runtime.verifier, runtime.clock, lambda: runtime.directory)
    install_error_handlers(app)

    @app.get(
        "/health",
        tags=["operations"],
        summary="稼働確認（データベースとブローカーへの接続）",
        responses={503: {"description": "データベースまたはブローカーに接続できません"}},
    )
    async def health() -> JSONResponse:
        status = await runtime.health()
        return JSONResponse(
            {"status": "ok" if all(status.values()) else "degraded", **status},
            status_code=200 if all(status.values()) else 503,
        )

    for router in (*routers, access.router, audit.router):
        app.include_router(router)
    return app


async def verify(engine: AsyncEngine) -> bool:
    """Check the service's hash-chained event log and print what was found."""
    try:
        async with PostgresEventStore(engine).reading() as session:
            report = await session.verify_chain()
    finally:
        await engine.dispose()
    print(
        f"{report.events} events in {report.streams} streams: " + ("chain intact" if report.ok else "BROKEN")
    )
    for problem in report.problems:
        print(f"  {problem}")
    return report.ok


async def rebuild_register(runtime: Runtime) -> None:
    """Rewrite every line of the case register from the event store, in one transaction."""
    try:
        await db.install(runtime.engine, db.SERVICE_SCHEMA, db.SERVICE_MIGRATIONS)
        print(f"{await register.rebuild(runtime.store, runtime.registers)} register lines rebuilt")
    finally:
        await runtime.engine.dispose()


def main(build: Callable[[Settings], tuple[Runtime, FastAPI]], settings: Settings) -> None:
    """Command line of every service: serve (default), or run one worker alone."""
    parser = argparse.ArgumentParser(prog=f"python -m services.{settings.name}")
    parser.add_argument(
        "role", nargs="?", default="serve", choices=("serve", "verify", "rebuild-register", *WORKERS)
    )
    role = parser.parse_args().role
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    runtime, app = build(settings)
    if role == "serve":
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
        return
    if role == "verify":
        sys.exit(0 if asyncio.run(verify(runtime.engine)) else 1)
    if role == "rebuild-register":
        asyncio.run(rebuild_register(runtime))
        return

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(runtime.run_alone(role))
