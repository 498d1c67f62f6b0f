"""Every Kafka client setting Kasane relies on, in one place.

We use aiokafka directly rather than FastStream (docs/adr/0003). Each default we would
otherwise inherit is overridden here on purpose:

* aiokafka's producer defaults to acks=1 and is not idempotent → `enable_idempotence=True`
  (which implies acks=all): broker retries can neither lose nor duplicate a batch, and
  per-partition order holds.
* aiokafka's consumer auto-commits offsets on a timer → `enable_auto_commit=False`; the
  inbox commits an offset only after the database transaction of that message committed.
* A new consumer group starts at the end of a topic by default → `auto_offset_reset=earliest`,
  so a service deployed after events were published still sees them all.
* A rebalance re-delivers everything after the last committed offset → every consumer is
  idempotent through the inbox table; duplicates are expected, not exceptional.
* Kafka transactions are not used: they cannot cover PostgreSQL, and exactly-once effects
  come from the database (outbox + inbox) instead.
"""

import asyncio
import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from contracts.topics import PARTITIONS, all_topics

log = logging.getLogger(__name__)

PRODUCER_SETTINGS: dict[str, Any] = {
    "enable_idempotence": True,
    "acks": "all",
    "linger_ms": 5,
    "request_timeout_ms": 30_000,
    "max_batch_size": 256 * 1024,
}

CONSUMER_SETTINGS: dict[str, Any] = {
    "enable_auto_commit": False,
    "auto_offset_reset": "earliest",
    # Only read what committed producers wrote; harmless without transactions, right if we add them.
    "isolation_level": "read_committed",
    "max_poll_records": 500,
    "session_timeout_ms": 10_000,
    "heartbeat_interval_ms": 2_000,
    "max_poll_interval_ms": 300_000,
}


def producer(bootstrap_servers: str, **overrides: Any) -> AIOKafkaProducer:
    """The one producer configuration: idempotent, acks=all."""
    return AIOKafkaProducer(bootstrap_servers=bootstrap_servers, **{**PRODUCER_SETTINGS, **overrides})


def consumer(
    bootstrap_servers: str, group_id: str | None, *topics: str, **overrides: Any
) -> AIOKafkaConsumer:
    """The one consumer configuration: manual commits after the database commit."""
    return AIOKafkaConsumer(
        *topics, bootstrap_servers=bootstrap_servers, group_id=group_id, **{**CONSUMER_SETTINGS, **overrides}
    )


async def ensure_topics(bootstrap_servers: str, timeout: float = 60.0) -> None:
    """Create every Kasane topic with explicit settings; existing topics are left alone."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
        try:
            await admin.start()
            break
        except KafkaConnectionError:
            await admin.close()
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(name, num_partitions=PARTITIONS, replication_factor=1, topic_configs=config)
            for name, config in all_topics().items()
            if name not in existing
        ]
        if wanted:
            try:
                await admin.create_topics(wanted)
            except TopicAlreadyExistsError:
                log.info("topics created concurrently by another process")
            log.info("created topics: %s", ", ".join(t.name for t in wanted))
    finally:
        await admin.close()
