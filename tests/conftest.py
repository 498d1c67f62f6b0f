"""Session-wide real infrastructure: one PostgreSQL and one Kafka broker per test session.

Both run on free ports under `.kasane/test-<pid>/`, so a running `make run` is untouched.
Each test that needs a database gets a fresh one; Kafka topics are shared and tests tell
their messages apart by ids, never by "the next message on the topic".

The whole run, and every process it starts, judges dates on one business day (`libs.clock`):
today's Tokyo date when the run starts, or `KASANE_BUSINESS_DAY` when given, so that
`KASANE_BUSINESS_DAY=2031-04-01 make test` shows the suite holds on any later day. Dates a service
compares with today (consent validity) are written relative to `BUSINESS_DAY`.
"""

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.kafka_access import ADMIN
from deploy.local.issuer import LocalIssuer
from deploy.local.kafka import LocalKafka
from deploy.local.ports import free_port
from deploy.local.postgres import LocalPostgres
from libs import clock, db, kafka
from libs.directory import Directory
from libs.kafka import KafkaConnection
from tests.builders import TEST_DEAD_LETTERS, create_topics

ROOT = Path(__file__).resolve().parents[1]
BUSINESS_DAY = date.fromisoformat(
    os.environ.setdefault(clock.BUSINESS_DAY_ENV, clock.BusinessClock().today().isoformat())
)


def business_day(offset: int = 0) -> str:
    """The ISO date `offset` days after (before, if negative) the run's business day."""
    return (BUSINESS_DAY + timedelta(days=offset)).isoformat()


@dataclass(frozen=True)
class Infra:
    postgres: LocalPostgres
    kafka: LocalKafka

    @property
    def bootstrap(self) -> str:
        return self.kafka.bootstrap_servers

    @property
    def kafka_admin(self) -> KafkaConnection:
        """The admin principal (a super user): tests produce and consume anything with it."""
        return self.kafka.connection(ADMIN)


@pytest.fixture(scope="session")
def infra_home() -> Iterator[Path]:
    home = ROOT / ".kasane" / f"test-{os.getpid()}"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    yield home
    if os.environ.get("KASANE_KEEP_TEST_DATA") != "1":
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def infra(infra_home: Path) -> Iterator[Infra]:
    postgres = LocalPostgres(infra_home / "postgres", port=free_port())
    broker = LocalKafka(infra_home / "kafka", port=free_port(), controller_port=free_port())
    postgres.start()
    try:
        broker.start()
        try:
            asyncio.run(kafka.ensure_topics(broker.connection(ADMIN)))
            asyncio.run(create_topics(broker.connection(ADMIN), TEST_DEAD_LETTERS))
            yield Infra(postgres, broker)
        finally:
            broker.stop()
    finally:
        postgres.stop()


@pytest.fixture(scope="session")
def issuer(infra_home: Path) -> LocalIssuer:
    """The local token issuer; services started by tests trust its JWKS."""
    return LocalIssuer(infra_home / "issuer")


@pytest.fixture(scope="session")
def tokens(issuer: LocalIssuer) -> dict[str, str]:
    """A bearer token for every demo user of the directory, by user id."""
    directory = Directory.load()
    return {user: issuer.token_for(user, directory) for user in directory.users}


@pytest.fixture
def database_url(infra: Infra) -> Iterator[str]:
    """A fresh, empty database for one test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = infra.postgres.create_database(name)
    yield url
    infra.postgres.drop_database(name)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a fresh database that has the service tables."""
    engine = db.create_engine(database_url)
    await db.install(engine, db.SERVICE_SCHEMA)
    yield engine
    await engine.dispose()
