"""Kafka is locked down: who cannot log in, what each principal may not do, and the broker's config.

Every refusal is paired with the same action succeeding for the principal that is allowed to do
it, so a test cannot pass merely because the broker was unreachable. Runs against the session's
real broker (tests/conftest.py), which the e2e services also use under their own principals.
"""

import json
import stat
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    KafkaError,
    TopicAuthorizationFailedError,
)

from contracts import kafka_access
from contracts.kafka_access import ADMIN, DIRECTORY, PROJECTIONS, SERVICES, events_topic
from contracts.topics import (
    COORDINATION_EVENTS,
    DIRECTORY_EVENTS,
    EVENT_TOPICS,
    INTAKE_EVENTS,
    all_topics,
    dead_letters,
)
from libs import kafka
from libs.kafka import KafkaConnection
from tests.builders import case_received, collect, header, produce, wire
from tests.conftest import ROOT, Infra

pytestmark = pytest.mark.usefixtures("infra")


def as_user(infra: Infra, user: str) -> KafkaConnection:
    return infra.kafka.connection(user)


async def bootstraps(connection: KafkaConnection, **overrides: object) -> bool:
    """Whether a client gets as far as the broker's metadata with these settings."""
    client = AIOKafkaClient(**{**connection.client_settings(), "request_timeout_ms": 15000, **overrides})
    try:
        await client.bootstrap()
        return True
    except KafkaConnectionError:
        return False
    finally:
        await client.close()


async def visible_topics(connection: KafkaConnection) -> set[str]:
    """Topic names the broker's metadata reveals to this principal."""
    client = AIOKafkaClient(**connection.client_settings())
    try:
        await client.bootstrap()
        cluster = await client.fetch_all_metadata()
        return set(cluster.topics())
    finally:
        await client.close()


async def consumer_error(consumer: AIOKafkaConsumer, timeout: float = 30) -> KafkaError:
    """Start `consumer` and poll until the broker refuses something; return that refusal."""
    deadline = time.monotonic() + timeout
    try:
        await consumer.start()
        while time.monotonic() < deadline:
            await consumer.getmany(timeout_ms=200)
    except KafkaError as exc:
        return exc
    finally:
        await consumer.stop()
    raise AssertionError(f"the broker refused nothing within {timeout}s")


@asynccontextmanager
async def started(client: AIOKafkaConsumer | AIOKafkaProducer) -> AsyncIterator[None]:
    try:
        await client.start()
        yield
    finally:
        await client.stop()


# --- authentication ---------------------------------------------------------------------------


async def test_a_client_without_credentials_is_refused(infra):
    admin = as_user(infra, ADMIN)
    anonymous = KafkaConnection(admin.bootstrap_servers, ca_file=admin.ca_file)
    assert not await bootstraps(anonymous)
    assert await bootstraps(admin)


async def test_a_plaintext_client_is_refused(infra):
    """No listener speaks PLAINTEXT: a client that does not start TLS gets nothing."""
    admin = as_user(infra, ADMIN)
    assert not await bootstraps(admin, security_protocol="SASL_PLAINTEXT", ssl_context=None)
    assert not await bootstraps(
        KafkaConnection(admin.bootstrap_servers), security_protocol="PLAINTEXT", ssl_context=None
    )


@pytest.mark.parametrize("user", [ADMIN, "intake", PROJECTIONS])
async def test_a_wrong_password_is_refused(infra, user, caplog):
    right = as_user(infra, user)
    wrong = KafkaConnection(right.bootstrap_servers, user, f"{right.password}x", right.ca_file)
    assert not await bootstraps(wrong)
    assert "SaslAuthenticationFailed" in caplog.text
    assert await bootstraps(right)


async def test_an_unknown_user_is_refused(infra):
    admin = as_user(infra, ADMIN)
    stranger = KafkaConnection(admin.bootstrap_servers, "stranger", admin.password, admin.ca_file)
    assert not await bootstraps(stranger)


async def test_a_client_that_does_not_trust_the_local_ca_is_refused(infra, caplog):
    """The broker's certificate is checked: without this installation's CA, TLS fails."""
    admin = as_user(infra, ADMIN)
    assert not await bootstraps(KafkaConnection(admin.bootstrap_servers, ADMIN, admin.password))
    assert "CERTIFICATE_VERIFY_FAILED" in caplog.text


# --- authorisation: producing -----------------------------------------------------------------


async def test_a_service_may_publish_only_on_its_own_topic(infra):
    intake = as_user(infra, "intake")
    producer = kafka.producer(intake)
    async with started(producer):
        sent = await producer.send_and_wait(INTAKE_EVENTS, b"own topic", key=b"k")
        assert sent.topic == INTAKE_EVENTS
        for topic in (
            COORDINATION_EVENTS,
            events_topic("outreach"),
            dead_letters("coordination"),
            DIRECTORY_EVENTS,
        ):
            with pytest.raises(TopicAuthorizationFailedError):
                await producer.send_and_wait(topic, b"not intake's topic", key=b"k")


async def test_only_the_directory_publishes_directory_versions(infra):
    """A forged version (an organisation added, a role given) cannot come from a program's principal
    (above); the directory's principal writes its topic and nothing else."""
    producer = kafka.producer(as_user(infra, DIRECTORY))
    async with started(producer):
        sent = await producer.send_and_wait(DIRECTORY_EVENTS, b"a version", key=b"k")
        assert sent.topic == DIRECTORY_EVENTS
        for topic in (INTAKE_EVENTS, dead_letters("intake")):
            with pytest.raises(TopicAuthorizationFailedError):
                await producer.send_and_wait(topic, b"not the directory's topic", key=b"k")


async def test_a_consumer_may_dead_letter_what_it_consumes(infra):
    """The inbox parks unprocessable messages in its own dead-letter topic, so that write is granted,
    and nobody else's: no principal can put a message in another consumer's replay path (the
    forged dead letter: intake writing a `ReferredToCoordination` for coordination to replay)."""
    producer = kafka.producer(as_user(infra, "intake"))
    async with started(producer):
        sent = await producer.send_and_wait(dead_letters("intake"), b"parked", key=b"k")
        assert sent.topic == dead_letters("intake")
        for other in ("coordination", "outreach", "participation", "community"):
            with pytest.raises(TopicAuthorizationFailedError):
                await producer.send_and_wait(dead_letters(other), b"forged dead letter", key=b"k")


async def test_the_projections_principal_cannot_write_anywhere(infra):
    projections = as_user(infra, PROJECTIONS)
    # Idempotence needs a producer id, which the broker gives only to principals that may write
    # some topic (KIP-679): none is granted, so the cluster refuses.
    idempotent = kafka.producer(projections)
    with pytest.raises(ClusterAuthorizationFailedError):
        async with started(idempotent):
            await idempotent.send_and_wait(INTAKE_EVENTS, b"x", key=b"k")
    plain = kafka.producer(projections, enable_idempotence=False, acks=1)
    async with started(plain):
        for topic in all_topics():
            with pytest.raises(TopicAuthorizationFailedError):
                await plain.send_and_wait(topic, b"projections write nothing", key=b"k")


# --- authorisation: consuming -----------------------------------------------------------------


async def test_a_service_reads_what_it_consumes_but_not_its_own_topic(infra):
    """Services never read their own topic (their database is their state), so that is refused."""
    admin = as_user(infra, ADMIN)
    canary = case_received()
    await produce(admin, COORDINATION_EVENTS, [wire(canary)])
    intake = as_user(infra, "intake")
    records = await collect(
        intake,
        COORDINATION_EVENTS,
        lambda r: header(r, "message-id") == str(canary.event_id),
        lambda kept: len(kept) >= 1,
    )
    assert len(records) == 1

    own = kafka.consumer(intake, None, INTAKE_EVENTS)
    assert isinstance(await consumer_error(own), TopicAuthorizationFailedError)


async def test_a_service_may_use_only_its_own_consumer_group(infra):
    intake = as_user(infra, "intake")
    own_group = kafka.consumer(intake, "intake", COORDINATION_EVENTS, session_timeout_ms=6000)
    async with started(own_group):
        await own_group.getmany(timeout_ms=200)  # joins the group without error

    foreign_group = kafka.consumer(intake, "coordination", COORDINATION_EVENTS)
    assert isinstance(await consumer_error(foreign_group), GroupAuthorizationFailedError)


async def test_projections_read_every_event_topic_with_projection_groups_only(infra):
    admin = as_user(infra, ADMIN)
    canaries = {topic: case_received() for topic in EVENT_TOPICS}
    for topic, envelope in canaries.items():
        await produce(admin, topic, [wire(envelope)])
    ids = {str(e.event_id) for e in canaries.values()}

    projections = as_user(infra, PROJECTIONS)
    reader = kafka.consumer(projections, f"projection.test-{uuid.uuid4().hex[:8]}", *EVENT_TOPICS)
    seen: set[str] = set()
    deadline = time.monotonic() + 60
    async with started(reader):
        while not ids <= seen and time.monotonic() < deadline:
            batches = await reader.getmany(timeout_ms=200)
            seen |= {header(r, "message-id") for records in batches.values() for r in records}
    assert ids <= seen

    unprefixed = kafka.consumer(projections, "reporting", INTAKE_EVENTS)
    assert isinstance(await consumer_error(unprefixed), GroupAuthorizationFailedError)


# --- metadata -----------------------------------------------------------------------------------


def granted_topics(principal: str) -> set[str]:
    return {
        g.name
        for g in kafka_access.grants()
        if g.principal == principal and g.resource == "TOPIC" and g.pattern == "LITERAL"
    }


@pytest.mark.parametrize("principal", [*SERVICES, PROJECTIONS])
async def test_metadata_shows_a_principal_only_the_topics_it_was_granted(infra, principal):
    visible = await visible_topics(as_user(infra, principal))
    assert visible == granted_topics(principal) & set(all_topics())


async def test_the_admin_sees_every_topic(infra):
    assert set(all_topics()) <= await visible_topics(as_user(infra, ADMIN))


# --- configuration ------------------------------------------------------------------------------


def broker_settings(infra: Infra) -> dict[str, str]:
    lines = infra.kafka.props_file.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_the_broker_configuration_admits_no_anonymous_or_plaintext_access(infra):
    settings = broker_settings(infra)
    assert settings["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert settings["allow.everyone.if.no.acl.found"] == "false"
    assert settings["super.users"] == "User:admin"  # no service, no ANONYMOUS, no wildcard
    assert settings["auto.create.topics.enable"] == "false"
    protocols = dict(pair.split(":") for pair in settings["listener.security.protocol.map"].split(","))
    assert set(protocols.values()) == {"SASL_SSL"}
    listeners = [entry.split("://")[0] for entry in settings["listeners"].split(",")]
    assert set(listeners) <= set(protocols)
    assert "PLAINTEXT" not in listeners
    assert settings["listener.name.client.sasl.enabled.mechanisms"] == "SCRAM-SHA-512"


def test_every_grant_is_narrow():
    """PREFIXED patterns end at a dot and contain no `*` (which PREFIXED takes literally); no
    wildcard resources; no grant for the admin (it is the super user) or for ANONYMOUS."""
    for grant in kafka_access.grants():
        assert "*" not in grant.name
        assert grant.principal in kafka_access.principals()
        assert grant.principal != ADMIN
        if grant.pattern == "PREFIXED":
            assert grant.name.endswith(".")


def test_each_service_writes_exactly_its_own_event_topic():
    for service in SERVICES:
        writes = {g.name for g in kafka_access.grants() if g.principal == service and g.operation == "WRITE"}
        assert events_topic(service) in EVENT_TOPICS
        assert writes == {events_topic(service), dead_letters(service)}
        assert not {t for t in kafka_access.CONSUMES[service] if t == events_topic(service)}


def test_secrets_are_private_to_the_owner(infra):
    for path in (infra.kafka.credentials_file, infra.kafka.props_file, infra.kafka.keystore_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert set(json.loads(infra.kafka.credentials_file.read_text())) == set(kafka_access.principals())
    assert not list(infra.kafka.tls_dir.glob("*.key")), "the CA's key is discarded after signing"


def test_the_documented_acl_table_is_the_one_the_broker_gets():
    assert kafka_access.table() in (ROOT / "docs" / "security-kafka.md").read_text()


def test_passwords_stay_out_of_reprs(infra):
    connection = as_user(infra, "intake")
    assert connection.password is not None
    assert connection.password not in repr(connection)


def test_a_missing_password_is_reported_before_connecting():
    with pytest.raises(ValueError, match="KASANE_KAFKA_PASSWORD"):
        KafkaConnection("127.0.0.1:9", "intake").client_settings()
