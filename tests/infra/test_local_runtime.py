"""Self-check of deploy.local: real PostgreSQL and Kafka start, serve, restart, crash and stop cleanly."""

import asyncio
import subprocess
import uuid
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAuthorizationFailedError

from contracts import kafka_access
from contracts.kafka_access import Grant
from deploy.local import LocalKafka, LocalPostgres, free_port
from deploy.local.kafka import process_running

TOPIC = "infra-check"


def alive(pid: int) -> bool:
    return process_running(pid, "")


def postgres_pids(pg: LocalPostgres) -> list[int]:
    """The postmaster and its worker processes."""
    assert pg.pid is not None
    children = subprocess.run(["pgrep", "-P", str(pg.pid)], capture_output=True, text=True).stdout.split()
    return [pg.pid, *map(int, children)]


def leftovers(tmp_path: Path) -> str:
    """Any process whose command line names the test folder (broker and postmaster both do)."""
    return subprocess.run(["pgrep", "-af", str(tmp_path)], capture_output=True, text=True).stdout


async def select_one(url: str) -> int:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return await conn.fetchval("select 1")
    finally:
        await conn.close()


async def create_topic(kafka: LocalKafka) -> None:
    admin = AIOKafkaAdminClient(**kafka.connection().client_settings())
    await admin.start()
    try:
        await admin.create_topics([NewTopic(TOPIC, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()


async def topics(kafka: LocalKafka) -> list[str]:
    admin = AIOKafkaAdminClient(**kafka.connection().client_settings())
    await admin.start()
    try:
        return await admin.list_topics()
    finally:
        await admin.close()


async def first_message(kafka: LocalKafka) -> bytes:
    consumer = AIOKafkaConsumer(
        TOPIC,
        **kafka.connection().client_settings(),
        group_id=f"check-{uuid.uuid4()}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        message = await asyncio.wait_for(consumer.getone(), timeout=30)
        return message.value
    finally:
        await consumer.stop()


async def test_round_trip_then_processes_are_gone(tmp_path: Path) -> None:
    pg = LocalPostgres(tmp_path / "postgres", port=free_port())
    kafka = LocalKafka(tmp_path / "kafka", port=free_port(), controller_port=free_port())
    with pg, kafka:
        url = pg.create_database("infra_check")
        assert pg.create_database("infra_check") == url
        assert await select_one(url) == 1

        await create_topic(kafka)
        producer = AIOKafkaProducer(**kafka.connection().client_settings(), acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(TOPIC, b"hello")
        finally:
            await producer.stop()
        assert await first_message(kafka) == b"hello"

        pids = [*postgres_pids(pg), kafka.pid]
        pg.drop_database("infra_check")
    assert pg.pid is None
    assert kafka.pid is None
    assert not [pid for pid in pids if pid is not None and alive(pid)]
    assert leftovers(tmp_path) == ""


async def intake_may_write(kafka: LocalKafka) -> bool:
    producer = AIOKafkaProducer(**kafka.connection("intake").client_settings(), acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(TOPIC, b"from intake")
        return True
    except TopicAuthorizationFailedError:
        return False
    finally:
        await producer.stop()


def access_syncs(kafka: LocalKafka) -> int:
    """How often the access tool ran against this broker (it prints one line per run)."""
    return kafka.access_log.read_text().count("kasane-access:")


async def test_restart_and_crash_recovery_keep_data(tmp_path: Path, monkeypatch) -> None:
    """Also: the ACLs follow contracts/kafka_access.py across restarts, grants and revocations
    alike, and a start with an unchanged table leaves them to the broker's metadata log."""
    pg = LocalPostgres(tmp_path / "postgres", port=free_port())
    kafka = LocalKafka(tmp_path / "kafka", port=free_port(), controller_port=free_port())
    table = kafka_access.grants()
    monkeypatch.setattr(
        kafka_access, "grants", lambda: [*table, Grant("intake", "TOPIC", "LITERAL", TOPIC, "WRITE")]
    )
    pg.start()
    kafka.start()
    try:
        url = pg.create_database("infra_check")
        await create_topic(kafka)
        assert await intake_may_write(kafka)
        first_pids = [*postgres_pids(pg), kafka.pid]
        passwords, ca = kafka.credentials(), kafka.ca_file.read_bytes()

        monkeypatch.setattr(kafka_access, "grants", lambda: table)
        pg.start()  # starting again while running is a clean restart
        kafka.start()
        assert not [pid for pid in first_pids if pid is not None and alive(pid)]
        assert not await intake_may_write(kafka)  # the grant left the table: revoked
        assert access_syncs(kafka) == 2

        crashed_pids = [*postgres_pids(pg), kafka.pid]
        pg.kill()
        kafka.kill()
        assert pg.pid is None
        assert kafka.pid is None
        assert not [pid for pid in crashed_pids if pid is not None and alive(pid)]

        pg.start()  # recovers after the crash
        kafka.start()
        assert await select_one(url) == 1
        assert TOPIC in await topics(kafka)
        # Same passwords and CA after restarts: clients configured earlier keep working.
        assert (kafka.credentials(), kafka.ca_file.read_bytes()) == (passwords, ca)
        assert not await intake_may_write(kafka)
        assert access_syncs(kafka) == 2  # nothing changed: the tool did not run again
    finally:
        kafka.stop()
        pg.stop()
    assert leftovers(tmp_path) == ""
