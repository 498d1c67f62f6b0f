"""The dead-letter tool: list what a service's inbox parked, and replay it once the fix is deployed.

    python -m libs.dlq <service> list
    python -m libs.dlq <service> replay --message-id <id> [--message-id <id> …]
    python -m libs.dlq <service> replay --all

It runs with the service's own settings and Kafka principal (the same environment as
`python -m services.<service>`). Replay does not publish the message again on its source topic:
that topic belongs to another program, which the broker rightly forbids us to write, and every
other consumer would see it again. Instead the parked bytes go straight through the service's
own inbox (`InboxConsumer.process`), exactly as if they had just arrived: decoded with today's
contracts and upcasters, deduplicated by message id in the same transaction as the effect, and
parked again with the new reason if they still fail. Replaying twice therefore has one effect.

Only what truly arrived is replayed. Each service parks in a topic of its own that no other
principal may write, and before replaying a message the tool checks its provenance against the
ACL table: it must have been parked by this service, come from a topic this service consumes,
and be, byte for byte, the record at its origin (topic, partition, offset), which only that
topic's owner could have written. A message that fails any of these is refused, with the reason,
and not replayed.
"""

import argparse
import asyncio
import importlib
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.kafka_access import CONSUMES, SERVICES
from contracts.topics import Header
from libs import kafka
from libs.inbox import InboxConsumer
from libs.kafka import KafkaConnection

_DLQ_HEADERS = frozenset({Header.DLQ_ERROR, Header.DLQ_CONSUMER, Header.DLQ_ORIGIN, Header.DLQ_ATTEMPTS})


@dataclass(frozen=True)
class Parked:
    """One message in a DLQ, as the inbox left it: original bytes and headers plus why."""

    record: ConsumerRecord

    def header(self, name: str) -> str | None:
        return next((v.decode(errors="replace") for k, v in self.record.headers or () if k == name), None)

    @property
    def message_id(self) -> str | None:
        return self.header(Header.MESSAGE_ID)

    @property
    def consumer(self) -> str | None:
        return self.header(Header.DLQ_CONSUMER)

    @property
    def reason(self) -> str:
        return self.header(Header.DLQ_ERROR) or "?"

    @property
    def origin(self) -> tuple[str, int, int]:
        """Source topic, partition and offset (the DLQ's own name and place if the header is gone)."""
        raw = self.header(Header.DLQ_ORIGIN)
        if raw and raw.count(":") >= 2:
            topic, partition, offset = raw.rsplit(":", 2)
            if partition.isdigit() and offset.isdigit():
                return topic, int(partition), int(offset)
        return "?", -1, -1

    def as_delivered(self) -> ConsumerRecord:
        """The record as it first arrived on its source topic, without the DLQ's headers."""
        topic, partition, offset = self.origin
        return ConsumerRecord(
            topic=topic,
            partition=partition,
            offset=offset,
            timestamp=self.record.timestamp,
            timestamp_type=self.record.timestamp_type,
            key=self.record.key,
            value=self.record.value,
            checksum=None,
            serialized_key_size=self.record.serialized_key_size,
            serialized_value_size=self.record.serialized_value_size,
            headers=tuple((k, v) for k, v in self.record.headers or () if k not in _DLQ_HEADERS),
        )


async def read_parked(
    connection: KafkaConnection, consumer: InboxConsumer, timeout: float = 60.0
) -> list[Parked]:
    """Every message `consumer` parked in its dead-letter topic, oldest first, read to the current
    end without a consumer group (nothing is committed; listing changes nothing)."""
    reader = kafka.consumer(connection, None, consumer.dead_letter_topic)
    found: list[Parked] = []
    await reader.start()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not reader.assignment():
            await reader.getmany(timeout_ms=200)
            if loop.time() > deadline:
                raise TimeoutError("no partitions of the dead-letter topics were assigned")
        ends = await reader.end_offsets(list(reader.assignment()))
        # Whatever the assignment wait fetched is read again from the start.
        await reader.seek_to_beginning(*ends)
        while not await _at_end(reader, ends):
            if loop.time() > deadline:
                raise TimeoutError("dead-letter topics not read to their end in time")
            for records in (await reader.getmany(timeout_ms=500)).values():
                found += [Parked(r) for r in records if Parked(r).consumer == consumer.name]
    finally:
        await reader.stop()
    return sorted(
        found, key=lambda p: (p.record.timestamp, p.record.topic, p.record.partition, p.record.offset)
    )


async def _at_end(reader: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    positions = [await reader.position(tp) for tp in ends]
    return all(pos >= end for pos, end in zip(positions, ends.values(), strict=True))


@dataclass(frozen=True)
class Entry:
    """One parked message for the listing: the latest time it was parked, and how often."""

    parked: Parked
    times_parked: int
    processed: bool


async def summarise(engine: AsyncEngine | None, consumer_name: str, parked: Sequence[Parked]) -> list[Entry]:
    """One entry per message (a message parked, replayed and parked again is one), with whether
    the inbox has processed it since."""
    latest: dict[str, Parked] = {}
    counts: dict[str, int] = {}
    for p in parked:
        key = p.message_id or "{}:{}:{}".format(*p.origin)
        latest[key] = p
        counts[key] = counts.get(key, 0) + 1
    done: set[str] = set()
    ids = [p.message_id for p in latest.values() if p.message_id]
    if engine is not None and ids:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT message_id::text FROM inbox WHERE consumer = :c AND message_id::text = ANY(:ids)"
                ),
                {"c": consumer_name, "ids": ids},
            )
            done = {r[0] for r in rows}
    return [Entry(p, counts[k], p.message_id in done) for k, p in latest.items()]


@dataclass
class ReplayReport:
    """What replaying did, per message id (or source position when a message has no id)."""

    processed: list[str] = field(default_factory=list)
    already_processed: list[str] = field(default_factory=list)
    parked_again: list[str] = field(default_factory=list)
    not_handled: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    """`<id>: <why>` for each message whose provenance did not hold: not replayed."""


def claimed_provenance(consumer_name: str, granted: Iterable[str], parked: Parked) -> str | None:
    """Why `parked`'s headers rule out a replay by `consumer_name`, or None: it must name this
    consumer, and its origin must be one of the topics the consumer is `granted`."""
    if parked.consumer != consumer_name:
        return f"parked by {parked.consumer or 'nobody'}, not by {consumer_name}"
    if parked.origin[0] not in granted:
        return f"origin {parked.origin[0]} is not a topic {consumer_name} consumes"
    return None


async def differs_from_origin(reader: AIOKafkaConsumer, parked: Parked) -> str | None:
    """Why `parked` is not the record at its origin (same key and bytes), or None when it is.
    `reader`: a started consumer without a group, which this assigns to the origin's partition."""
    topic, partition, offset = parked.origin
    try:
        tp = TopicPartition(topic, partition)
        reader.assign([tp])
        reader.seek(tp, offset)
        async with asyncio.timeout(30):
            records = (await reader.getmany(tp, timeout_ms=10_000, max_records=1)).get(tp, [])
    except (TimeoutError, ValueError, KafkaError) as exc:
        return f"origin {topic}:{partition}:{offset} could not be read ({type(exc).__name__})"
    original = next((r for r in records if r.offset == offset), None)
    if original is None:
        return f"no record at its origin {topic}:{partition}:{offset}"
    if (original.key, original.value) != (parked.record.key, parked.record.value):
        return f"differs from the record at its origin {topic}:{partition}:{offset}"
    return None


async def replay(
    consumer: InboxConsumer,
    connection: KafkaConnection,
    message_ids: Sequence[str] | None = None,
    *,
    granted: Iterable[str] | None = None,
) -> ReplayReport:
    """Run the parked messages of `consumer` (those with `message_ids`, or all when None) through
    its inbox once more, each only if its provenance holds. `connection` is the service's own: it
    reads the DLQ and the origins and parks again. `granted`: the topics the consumer may read, by
    default its grants in the ACL table (contracts/kafka_access.py)."""
    allowed = frozenset(CONSUMES[consumer.name] if granted is None else granted)
    entries = await summarise(None, consumer.name, await read_parked(connection, consumer))
    report = ReplayReport()
    by_id = {e.parked.message_id: e for e in entries if e.parked.message_id}
    if message_ids is None:
        chosen = entries
    else:
        chosen = [by_id[m] for m in message_ids if m in by_id]
        report.not_found = [m for m in message_ids if m not in by_id]
    producer = kafka.producer(connection)
    origins: AIOKafkaConsumer | None = None  # one reader of the origins, started when first needed
    await producer.start()
    try:
        for entry in chosen:
            label = entry.parked.message_id or "{}:{}:{}".format(*entry.parked.origin)
            why = claimed_provenance(consumer.name, allowed, entry.parked)
            if why is None:
                if origins is None:
                    origins = kafka.consumer(connection, None)
                    await origins.start()
                why = await differs_from_origin(origins, entry.parked)
            if why is not None:
                report.refused.append(f"{label}: {why}")
                continue
            before = (consumer.processed, consumer.duplicates, consumer.dead_lettered)
            await consumer.process(entry.parked.as_delivered(), producer)
            after = (consumer.processed, consumer.duplicates, consumer.dead_lettered)
            if after[0] > before[0]:
                report.processed.append(label)
            elif after[1] > before[1]:
                report.already_processed.append(label)
            elif after[2] > before[2]:
                report.parked_again.append(label)
            else:
                report.not_handled.append(label)
    finally:
        if origins is not None:
            await origins.stop()
        await producer.stop()
    return report


def _print_entries(entries: Sequence[Entry]) -> None:
    if not entries:
        print("退避されたメッセージはありません (no parked messages)")
        return
    print("message-id\tevent-type\tversion\torigin\tattempts\ttimes-parked\tstate\treason")
    for e in entries:
        p = e.parked
        state = "processed" if e.processed else "parked"
        print(
            f"{p.message_id or '-'}\t{p.header(Header.EVENT_TYPE) or '-'}\t{p.header(Header.SCHEMA_VERSION) or '-'}\t"
            "{}:{}:{}\t".format(*p.origin)
            + f"{p.header(Header.DLQ_ATTEMPTS) or '-'}\t{e.times_parked}\t{state}\t{p.reason}"
        )


def _print_report(report: ReplayReport) -> None:
    for title, ids in (
        ("processed", report.processed),
        ("already processed (no second effect)", report.already_processed),
        ("parked again (still failing; see `list` for the reason)", report.parked_again),
        ("not handled by this service", report.not_handled),
        ("not found in the DLQ", report.not_found),
        ("refused: provenance does not hold (not replayed)", report.refused),
    ):
        print(f"{title}: {len(ids)}")
        for message_id in ids:
            print(f"  {message_id}")


async def _main(service: str, command: str, message_ids: Sequence[str] | None) -> int:
    bootstrap = importlib.import_module(f"services.{service}.bootstrap")
    settings = bootstrap.settings()
    runtime, _ = bootstrap.build(settings)
    consumer = runtime.consumer
    try:
        if command == "list":
            parked = await read_parked(settings.kafka, consumer)
            _print_entries(await summarise(runtime.engine, consumer.name, parked))
            return 0
        report = await replay(consumer, settings.kafka, message_ids)
        _print_report(report)
        return 1 if report.parked_again or report.not_found or report.refused else 0
    finally:
        await runtime.engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m libs.dlq",
        description="DLQ に退避されたメッセージの一覧と再処理 (list and replay parked messages)",
    )
    parser.add_argument("service", choices=SERVICES)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="退避されたメッセージと理由 (parked messages and why)")
    again = sub.add_parser(
        "replay", help="修正のデプロイ後に再処理 (process again after the fix is deployed)"
    )
    which = again.add_mutually_exclusive_group(required=True)
    which.add_argument("--message-id", action="append", dest="message_ids", metavar="ID")
    which.add_argument("--all", action="store_true")
    args = parser.parse_args(argv)
    ids = None if args.command == "list" or args.all else args.message_ids
    return asyncio.run(_main(args.service, args.command, ids))


if __name__ == "__main__":
    sys.exit(main())
