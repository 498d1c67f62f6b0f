"""Idempotent consumption of other services' public events (the inbox).

For each Kafka message, in one PostgreSQL transaction: skip it if its message id is already
in `inbox`; otherwise run the handler (which appends events and outbox rows) and record the
id. The Kafka offset is committed only after that transaction commits, so a crash anywhere
replays the message and the inbox drops the replay. A message that keeps failing goes to
its own dead-letter topic (`kasane.<service>.dlq.v1`) with the reason and the consumer moves on; an outage of PostgreSQL is not the
message's fault, so it blocks and retries instead of dead-lettering.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from contracts.envelope import Envelope, PublicEvent
from contracts.events import EVENT_TYPES
from contracts.topics import Header, dead_letters
from contracts.upcasting import UnsupportedVersion, read_event
from libs import db, kafka
from libs.domain import DomainError
from libs.eventstore import PostgresEventStore, PostgresSession

log = logging.getLogger(__name__)


class PermanentError(Exception):
    """The message can never be processed as it is (undecodable, unknown type or version):
    retrying is pointless, so it goes straight to the DLQ. A DomainError raised by a handler
    (the domain refused it) is treated the same way."""


@dataclass(frozen=True)
class Delivery:
    """A decoded public event and where it came from."""

    envelope: Envelope
    event: PublicEvent
    topic: str
    partition: int
    offset: int


Handler = Callable[[PostgresSession, Delivery], Awaitable[None]]


def describe_error(exc: BaseException) -> str:
    """A reason for the DLQ and the log that never echoes input values (they may be personal)."""
    if isinstance(exc, ValidationError):
        fields = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['type']}" for e in exc.errors()[:10])
        return f"ValidationError: {fields}"
    if isinstance(exc, PermanentError) and exc.__cause__ is not None:
        return f"{exc}: {describe_error(exc.__cause__)}"
    if isinstance(exc, DBAPIError):
        return f"{type(exc).__name__}: {type(exc.orig).__name__}"
    return f"{type(exc).__name__}: {str(exc)[:500]}"


def decode(record: ConsumerRecord) -> Delivery:
    """Bytes from Kafka → a validated public event, or PermanentError."""
    headers = {k: v.decode(errors="replace") for k, v in (record.headers or ())}
    if not record.value:
        raise PermanentError("message has no value")
    try:
        envelope = Envelope.model_validate_json(record.value)
        if envelope.event_type not in EVENT_TYPES:
            raise PermanentError(f"unknown event type {envelope.event_type!r}")
        if headers.get(Header.MESSAGE_ID) not in (None, str(envelope.event_id)):
            raise PermanentError("message-id header does not match the envelope")
        # Older versions are lifted to the current one (contracts/upcasting.py, docs/adr/0006).
        event = read_event(envelope.event_type, envelope.schema_version, envelope.payload)
        if event.case_key != envelope.case_key:
            raise PermanentError("payload case_key does not match the envelope")
    except UnsupportedVersion as exc:
        raise PermanentError(str(exc)) from None
    except ValidationError as exc:
        raise PermanentError("message does not match its contract") from exc
    except ValueError as exc:  # bad UTF-8, not JSON
        raise PermanentError("message is not valid JSON") from exc
    return Delivery(envelope, event, record.topic, record.partition, record.offset)


_SEEN = text("SELECT 1 FROM inbox WHERE consumer = :c AND message_id = :m")
_MARK = text(
    'INSERT INTO inbox (consumer, message_id, topic, partition, "offset") VALUES (:c, :m, :t, :p, :o)'
)


class InboxConsumer:
    """One consumer group of one service: decode, deduplicate, handle, commit, dead-letter."""

    def __init__(
        self,
        store: PostgresEventStore,
        connection: kafka.KafkaConnection,
        name: str,
        handlers: Mapping[str, Handler],
        *,
        max_attempts: int = 5,
        retry_backoff: float = 0.1,
        dead_letter_topic: str | None = None,
    ) -> None:
        """`dead_letter_topic`: where it parks what it cannot process; the service's own topic
        (`dead_letters(name)`) unless given (tests running ad hoc consumers share one)."""
        self.store = store
        self.connection = connection
        self.name = name
        self.dead_letter_topic = dead_letter_topic or dead_letters(name)
        self.handlers = dict(handlers)
        self.topics = sorted({EVENT_TYPES[t].topic for t in self.handlers})
        self.max_attempts = max_attempts
        self.retry_backoff = retry_backoff
        self.processed = 0
        self.duplicates = 0
        self.dead_lettered = 0

    async def run(self) -> None:
        """Consume until cancelled; reconnects after broker outages."""
        while True:
            try:
                await self._consume()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("consumer %s failed; reconnecting", self.name)
                await asyncio.sleep(1.0)

    async def _consume(self) -> None:
        consumer = kafka.consumer(self.connection, self.name, *self.topics)
        producer = kafka.producer(self.connection)
        await producer.start()
        try:
            await consumer.start()
            while True:
                batches = await consumer.getmany(timeout_ms=500)
                offsets: dict[TopicPartition, int] = {}
                for tp, records in batches.items():
                    for record in records:
                        await self.process(record, producer)
                    offsets[tp] = records[-1].offset + 1
                if offsets:
                    try:
                        await consumer.commit(offsets)
                    except CommitFailedError:
                        # A rebalance took the partition; its new owner re-reads and the inbox dedupes.
                        log.warning("consumer %s lost a partition before committing", self.name)
        finally:
            await consumer.stop()
            await producer.stop()

    async def process(self, record: ConsumerRecord, producer: AIOKafkaProducer) -> None:
        """Handle one record exactly once in effect, or park it in the DLQ."""
        try:
            delivery = decode(record)
        except PermanentError as exc:
            await self._dead_letter(record, exc, 1, producer)
            return
        handler = self.handlers.get(delivery.envelope.event_type)
        if handler is None:
            return
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._handle_once(handler, delivery)
                return
            except (PermanentError, DomainError) as exc:
                await self._dead_letter(record, exc, attempt, producer)
                return
            except Exception as exc:
                if db.unavailable(exc):
                    log.warning(
                        "consumer %s: database unavailable, retrying (%s)", self.name, describe_error(exc)
                    )
                    attempt = 0
                elif attempt >= self.max_attempts:
                    await self._dead_letter(record, exc, attempt, producer)
                    return
                else:
                    log.warning(
                        "consumer %s: attempt %d failed for %s: %s",
                        self.name,
                        attempt,
                        delivery.envelope.event_id,
                        describe_error(exc),
                    )
                await asyncio.sleep(min(self.retry_backoff * 2 ** max(attempt - 1, 0), 5.0))

    async def _handle_once(self, handler: Handler, delivery: Delivery) -> None:
        message_id = delivery.envelope.event_id
        try:
            async with self.store.transaction() as session:
                conn = session.conn
                if (await conn.execute(_SEEN, {"c": self.name, "m": message_id})).first():
                    self.duplicates += 1
                    return
                # The handler's append is the transaction's first write; the inbox mark comes
                # after it (docs/adr/0002 explains why order of writes matters to the relay).
                await handler(session, delivery)
                await conn.execute(
                    _MARK,
                    {
                        "c": self.name,
                        "m": message_id,
                        "t": delivery.topic,
                        "p": delivery.partition,
                        "o": delivery.offset,
                    },
                )
        except IntegrityError as exc:
            if "inbox_pkey" in str(exc.orig):
                self.duplicates += 1  # a concurrent delivery of the same message won
                return
            raise
        self.processed += 1

    async def _dead_letter(
        self, record: ConsumerRecord, exc: BaseException, attempts: int, producer: AIOKafkaProducer
    ) -> None:
        reason = describe_error(exc)
        log.error(
            "consumer %s: dead-lettering %s[%d]@%d after %d attempt(s): %s",
            self.name,
            record.topic,
            record.partition,
            record.offset,
            attempts,
            reason,
        )
        headers = [
            *(record.headers or ()),
            (Header.DLQ_ERROR, reason.encode()),
            (Header.DLQ_CONSUMER, self.name.encode()),
            (Header.DLQ_ORIGIN, f"{record.topic}:{record.partition}:{record.offset}".encode()),
            (Header.DLQ_ATTEMPTS, str(attempts).encode()),
        ]
        await (
            await producer.send(self.dead_letter_topic, value=record.value, key=record.key, headers=headers)
        )
        self.dead_lettered += 1
