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
* Every client authenticates (SASL/SCRAM-SHA-512) over TLS as its own principal, through one
  `KafkaConnection`; the broker grants each principal only what contracts/kafka_access.py lists
  (docs/security-kafka.md).
"""

import asyncio
import logging
import os
import ssl
from dataclasses import dataclass, field
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


SASL_MECHANISM = "SCRAM-SHA-512"


def _tls(ca_file: str | None) -> ssl.SSLContext:
    """Certificate and host name checked against `ca_file`, or the system's CAs when it is None.

    Built per client, not cached: a local installation may replace its CA under the same path.
    """
    return ssl.create_default_context(cafile=ca_file)


@dataclass(frozen=True)
class KafkaConnection:
    """Where the broker is and who this client is to it: every Kafka client is built from one.

    The connection is always TLS. `username` None means no SASL at all, which the broker refuses;
    it exists so tests can prove that. `ca_file` is the CA that signed the broker's certificate
    (the local broker makes its own); None trusts the system's CAs, as a production cluster would.
    """

    bootstrap_servers: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None

    @classmethod
    def from_env(cls, default_username: str) -> "KafkaConnection":
        """KASANE_KAFKA_BOOTSTRAP, KASANE_KAFKA_USERNAME (default: the service's name),
        KASANE_KAFKA_PASSWORD and KASANE_KAFKA_CA_FILE."""
        return cls(
            bootstrap_servers=os.environ.get("KASANE_KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
            username=os.environ.get("KASANE_KAFKA_USERNAME") or default_username,
            password=os.environ.get("KASANE_KAFKA_PASSWORD"),
            ca_file=os.environ.get("KASANE_KAFKA_CA_FILE") or None,
        )

    def to_env(self) -> dict[str, str]:
        """The environment a child process needs to connect like this (the inverse of from_env)."""
        env = {"KASANE_KAFKA_BOOTSTRAP": self.bootstrap_servers}
        if self.username is not None:
            env["KASANE_KAFKA_USERNAME"] = self.username
        if self.password is not None:
            env["KASANE_KAFKA_PASSWORD"] = self.password
        if self.ca_file is not None:
            env["KASANE_KAFKA_CA_FILE"] = self.ca_file
        return env

    def client_settings(self) -> dict[str, Any]:
        """Keyword arguments every aiokafka client (producer, consumer, admin, client) accepts."""
        settings: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": "SSL",
            "ssl_context": _tls(self.ca_file),
        }
        if self.username is None:
            return settings
        if self.password is None:
            # Fail where the cause is visible rather than as an authentication error from the broker.
            raise ValueError(f"no Kafka password for user {self.username!r}: set KASANE_KAFKA_PASSWORD")
        return settings | {
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": SASL_MECHANISM,
            "sasl_plain_username": self.username,
            "sasl_plain_password": self.password,
        }


def producer(connection: KafkaConnection, **overrides: Any) -> AIOKafkaProducer:
    """The one producer configuration: idempotent, acks=all."""
    return AIOKafkaProducer(**connection.client_settings(), **{**PRODUCER_SETTINGS, **overrides})


def consumer(
    connection: KafkaConnection, group_id: str | None, *topics: str, **overrides: Any
) -> AIOKafkaConsumer:
    """The one consumer configuration: manual commits after the database commit."""
    return AIOKafkaConsumer(
        *topics, **connection.client_settings(), group_id=group_id, **{**CONSUMER_SETTINGS, **overrides}
    )


def admin_client(connection: KafkaConnection, **overrides: Any) -> AIOKafkaAdminClient:
    """An admin client; only the admin principal may create topics or see every topic."""
    return AIOKafkaAdminClient(**connection.client_settings(), **overrides)


async def ensure_topics(connection: KafkaConnection, timeout: float = 60.0) -> None:
    """Create every Kasane topic with explicit settings; existing topics are left alone."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        admin = admin_client(connection)
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
