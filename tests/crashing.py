"""Workers that die by SIGKILL at one chosen instant, and what crash tests need to watch them.

`python -m tests.crashing relay <service> | inbox | projector` runs the production worker
(`OutboxRelay`, `InboxConsumer`, `Projector`) in a process of its own. With `KASANE_CRASH_AT=n`
the process sends itself SIGKILL the n-th time it reaches the instant a crash test is about:

- relay: at the n-th message it is about to send, once Kafka acknowledged every earlier one
  (so the batch under way is partly on the topic and its outbox rows are not yet checkpointed);
- inbox: at the n-th Kafka offset commit, after the database transactions of the batch committed;
- projector: right after its n-th read model + checkpoint transaction committed.

SIGKILL cannot be caught: no `finally`, no producer flush, no offset commit runs, exactly as if
the machine lost the process at that instant. The hooks wrap what the worker is handed (its
producer, its Kafka consumer, its engine), so no production module has a branch for tests.
Without `KASANE_CRASH_AT` the worker runs until it is stopped.
"""

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer, ConsumerRecord, TopicPartition
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.topics import INTAKE_EVENTS, PARTITIONS
from libs import db, kafka
from libs.checkpoints import Projector
from libs.eventstore import PostgresEventStore
from libs.inbox import InboxConsumer
from libs.kafka import KafkaConnection
from libs.outbox import OutboxRelay
from libs.runtime import Settings
from tests.builders import TEST_DEAD_LETTERS, record_effect
from tests.polling import eventually

ROOT = Path(__file__).resolve().parents[1]

CRASH_AT = "KASANE_CRASH_AT"
DATABASE_URL = "KASANE_CRASH_DATABASE_URL"
NAME = "KASANE_CRASH_NAME"
BATCH_SIZE = "KASANE_CRASH_BATCH_SIZE"


def _die() -> None:
    logging.getLogger(__name__).warning("crash point reached: SIGKILL")
    logging.shutdown()
    os.kill(os.getpid(), signal.SIGKILL)


class _Countdown:
    """True on the n-th call only; never when n is None (the worker then runs normally)."""

    def __init__(self, n: int | None) -> None:
        self.n = n
        self.calls = 0

    def __call__(self) -> bool:
        self.calls += 1
        return self.n is not None and self.calls == self.n


def _crash_at() -> int | None:
    value = os.environ.get(CRASH_AT)
    return int(value) if value else None


# --- relay -------------------------------------------------------------------------------------


class _ProducerDyingAtSend:
    """The relay's producer; at the chosen send it waits for Kafka's acknowledgement of every
    earlier send, then dies, so what is on the topic is exactly what was sent before."""

    def __init__(self, producer: AIOKafkaProducer, due: _Countdown) -> None:
        self._producer = producer
        self._due = due
        self._sent: list[asyncio.Future[Any]] = []

    async def send(self, *args: Any, **kwargs: Any) -> asyncio.Future[Any]:
        if self._due():
            await asyncio.gather(*self._sent)
            _die()
        delivery = await self._producer.send(*args, **kwargs)
        self._sent.append(delivery)
        return delivery

    def __getattr__(self, name: str) -> Any:
        return getattr(self._producer, name)


class _RelayDyingAtSend(OutboxRelay):
    def __init__(self, *args: Any, due: _Countdown, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._due = due

    async def relay_once(self, conn: AsyncConnection, producer: AIOKafkaProducer) -> int:
        return await super().relay_once(conn, _ProducerDyingAtSend(producer, self._due))  # type: ignore[arg-type]


async def _relay(service: str) -> None:
    # The service's own settings, as `python -m services.<service> relay` reads them.
    settings = Settings.from_env(service, 0, "")
    engine = db.create_engine(settings.database_url)
    await db.install(engine, db.SERVICE_SCHEMA)
    batch = int(os.environ.get(BATCH_SIZE, "500"))
    relay = _RelayDyingAtSend(
        engine, settings.kafka, settings.name, batch_size=batch, due=_Countdown(_crash_at())
    )
    await relay.run()


# --- inbox -------------------------------------------------------------------------------------


async def _inbox() -> None:
    due = _Countdown(_crash_at())
    make_consumer = kafka.consumer

    def consumer_dying_at_commit(*args: Any, **kwargs: Any) -> Any:
        consumer = make_consumer(*args, **kwargs)
        commit = consumer.commit

        async def commit_or_die(offsets: Any = None) -> None:
            if due():
                _die()
            await commit(offsets)

        consumer.commit = commit_or_die  # type: ignore[method-assign]
        return consumer

    # libs.inbox builds its consumer through libs.kafka.consumer; this process runs nothing else.
    kafka.consumer = consumer_dying_at_commit  # type: ignore[assignment]
    engine = db.create_engine(os.environ[DATABASE_URL])
    connection = KafkaConnection.from_env(default_username="admin")
    await InboxConsumer(
        PostgresEventStore(engine),
        connection,
        os.environ[NAME],
        {"CaseReceived": record_effect},
        dead_letter_topic=TEST_DEAD_LETTERS,
    ).run()


# --- projector ---------------------------------------------------------------------------------


class _EngineDyingAfterCommit:
    """The projector's engine: every `begin()` is the real one, and the chosen one is followed,
    once its transaction committed, by death before the projector takes another step."""

    def __init__(self, engine: AsyncEngine, due: _Countdown) -> None:
        self._engine = engine
        self._due = due

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        async with self._engine.begin() as conn:
            yield conn
        if self._due():
            _die()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


async def _projector() -> None:
    from projections import projector, runtime  # the read side's modules, only for this role

    engine = db.create_engine(os.environ[DATABASE_URL])
    await runtime.install(engine)
    connection = KafkaConnection.from_env(default_username="projections")
    dying = _EngineDyingAfterCommit(engine, _Countdown(_crash_at()))
    await Projector(dying, connection, os.environ[NAME], projector.TOPICS, projector.apply).run()  # type: ignore[arg-type]


def _short_sessions() -> None:
    """A restarted member of a consumer group waits until the broker expels the dead one; the
    shortest session the broker allows keeps that wait short. Nothing else differs from production."""
    make_consumer = kafka.consumer

    def consumer(*args: Any, **kwargs: Any) -> Any:
        return make_consumer(*args, **{**kwargs, "session_timeout_ms": 6_000})

    kafka.consumer = consumer  # type: ignore[assignment]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.crashing")
    parser.add_argument("role", choices=("relay", "inbox", "projector"))
    parser.add_argument("service", nargs="?", default="intake", help="whose relay (relay only)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    _short_sessions()
    job = {"relay": lambda: _relay(args.service), "inbox": _inbox, "projector": _projector}[args.role]
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(job())


# --- the test side -----------------------------------------------------------------------------


class Worker:
    """A worker process started by a test, its output kept in a file to show when it misbehaves."""

    def __init__(self, args: Sequence[str], env: Mapping[str, str], log: Path) -> None:
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, *args],
                cwd=ROOT,
                env={**os.environ, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    async def killed_at_crash_point(self, timeout: float = 60) -> None:
        """Until the process is gone; fail unless SIGKILL ended it (its own crash point)."""

        async def exited() -> bool:
            return self.process.poll() is not None

        await eventually(exited, timeout, "the worker to reach its crash point")
        assert self.process.returncode == -signal.SIGKILL, (
            f"the worker ended with {self.process.returncode}, not by SIGKILL at its crash point:\n"
            f"{self.tail()}"
        )

    async def alive(self) -> None:
        """Fail at once, with its output, if the worker died on its own."""
        assert self.process.poll() is None, (
            f"the worker exited with {self.process.returncode}:\n{self.tail()}"
        )

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)


def worker(role: str, env: Mapping[str, str], log: Path, crash_at: int | None = None, *extra: str) -> Worker:
    """`python -m tests.crashing <role>` with `env`, dying at its `crash_at`-th crash point."""
    return Worker(
        ["-m", "tests.crashing", role, *extra],
        {**env, **({CRASH_AT: str(crash_at)} if crash_at is not None else {})},
        log,
    )


def partitions(topic: str = INTAKE_EVENTS) -> list[TopicPartition]:
    return [TopicPartition(topic, p) for p in range(PARTITIONS)]


async def end_offsets(
    connection: KafkaConnection, tps: Sequence[TopicPartition]
) -> dict[TopicPartition, int]:
    """Where each partition ends now: the mark a reader must reach to have seen everything sent."""
    consumer = kafka.consumer(connection, None)
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(list(tps)))
    finally:
        await consumer.stop()


async def read_between(
    connection: KafkaConnection,
    start: Mapping[TopicPartition, int],
    ends: Mapping[TopicPartition, int],
    timeout: float = 60,
) -> list[ConsumerRecord]:
    """Every record from `start` until the reader's position reaches `ends` on every partition,
    in (partition, offset) order; fails if it cannot get there before the deadline."""
    consumer = kafka.consumer(connection, None)
    await consumer.start()
    records: list[ConsumerRecord] = []
    try:
        consumer.assign(list(ends))
        for tp in ends:
            consumer.seek(tp, start.get(tp, 0))

        async def reached() -> bool:
            batches = await consumer.getmany(timeout_ms=200)
            records.extend(r for rs in batches.values() for r in rs)
            return all([await consumer.position(tp) >= end for tp, end in ends.items()])

        await eventually(reached, timeout, f"reading up to the end offsets {dict(ends)}")
    finally:
        await consumer.stop()
    return sorted((r for r in records if r.offset < ends[TopicPartition(r.topic, r.partition)]), key=_at)


def _at(record: ConsumerRecord) -> tuple[int, int]:
    return record.partition, record.offset


async def place_group(connection: KafkaConnection, group: str, offsets: Mapping[TopicPartition, int]) -> None:
    """Commit `offsets` for a group that has not started, so it reads only what comes after them."""
    consumer = kafka.consumer(connection, group)
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit(dict(offsets))
    finally:
        await consumer.stop()


async def committed(
    connection: KafkaConnection, group: str, tps: Sequence[TopicPartition]
) -> dict[TopicPartition, int]:
    """The group's committed offsets (-1 where it never committed)."""
    admin = kafka.admin_client(connection)
    await admin.start()
    try:
        found = await admin.list_consumer_group_offsets(group, partitions=list(tps))
    finally:
        await admin.close()
    return {tp: (found[tp].offset if tp in found else -1) for tp in tps}


def reached(connection: KafkaConnection, group: str, ends: Mapping[TopicPartition, int]) -> Callable[[], Any]:
    """A probe for `eventually`: the group committed up to `ends` on every partition."""

    async def probe() -> bool:
        done = await committed(connection, group, list(ends))
        return all(done[tp] >= end for tp, end in ends.items())

    return probe


if __name__ == "__main__":
    main()
