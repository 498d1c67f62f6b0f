"""The checker: the history against every event store, every Kafka topic and the read models.

Every must-be-0 row is a promise Kasane makes (docs/faults.md); the other rows say how hard the
run was (unknown outcomes, re-sent messages) and are allowed any value. The checker only reads;
it runs after the system drained, so anything still missing then is missing for good.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiokafka import TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.topics import EVENT_TOPICS, PARTITIONS, Header, dead_letters
from faults.history import History, Outcome
from libs import db, kafka
from libs.eventstore import PostgresSession
from libs.kafka import KafkaConnection
from projections.schema import SCHEMA, TABLES

ACCESS_LOG = "AccessLog"  # reads are recorded as events of their own; they are not command effects


@dataclass
class Row:
    name: str
    count: int
    must_be_zero: bool
    examples: list[str] = field(default_factory=list)

    def add(self, example: str, count: int = 1) -> None:
        self.count += count
        if len(self.examples) < 5:
            self.examples.append(example)


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)

    def row(self, name: str, *, must_be_zero: bool = True) -> Row:
        found = Row(name, 0, must_be_zero)
        self.rows.append(found)
        return found

    def info(self, name: str, count: int) -> None:
        self.rows.append(Row(name, count, must_be_zero=False))

    @property
    def violations(self) -> list[Row]:
        return [r for r in self.rows if r.must_be_zero and r.count]

    @property
    def ok(self) -> bool:
        return not self.violations

    def get(self, name: str) -> int:
        return next(r.count for r in self.rows if r.name == name)

    def table(self) -> str:
        width = max(len(r.name) for r in self.rows)
        lines = [f"{'check':<{width}}  {'count':>7}  must be 0", "-" * (width + 22)]
        for r in self.rows:
            mark = ("FAIL" if r.count else "ok") if r.must_be_zero else "-"
            lines.append(f"{r.name:<{width}}  {r.count:>7}  {mark}")
            lines += [f"    e.g. {e}" for e in r.examples]
        lines.append("-" * (width + 22))
        lines.append("RESULT: " + ("PASS" if self.ok else f"FAIL ({len(self.violations)} rows not 0)"))
        return "\n".join(lines)


@dataclass(frozen=True)
class KafkaMessage:
    topic: str
    partition: int
    offset: int
    key: str | None
    message_id: str | None
    headers: dict[str, str]


async def read_topics(connection: KafkaConnection, topics: Iterable[str]) -> list[KafkaMessage]:
    """Every message of `topics` from offset 0 to the end as it is now (no consumer group)."""
    consumer = kafka.consumer(connection, None, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in range(PARTITIONS)]
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.seek_to_beginning(*partitions)
        pending = {tp for tp, end in ends.items() if end > 0}
        found: list[KafkaMessage] = []
        while pending:
            batches = await consumer.getmany(*pending, timeout_ms=1000)
            for records in batches.values():
                for r in records:
                    headers = {k: v.decode(errors="replace") for k, v in (r.headers or ())}
                    key = r.key.decode(errors="replace") if r.key is not None else None
                    found.append(
                        KafkaMessage(
                            r.topic, r.partition, r.offset, key, headers.get(Header.MESSAGE_ID), headers
                        )
                    )
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
        return found
    finally:
        await consumer.stop()


_EVENTS = text(
    "SELECT event_id::text AS event_id, stream_id, stream_type, version, global_position, "
    "transaction_id::text AS tx, metadata->>'correlation_id' AS correlation, "
    "metadata->>'causation_id' AS causation FROM events ORDER BY global_position"
)
_OUTBOX = text(
    "SELECT message_id::text AS message_id, topic, key, transaction_id::text AS tx, position "
    "FROM outbox ORDER BY transaction_id, position"
)
# Event ids are unique by constraint, so a copy of an event shows as the same content under a new
# id: one stream, one type, the same data, caused by the same command (correlation) or the same
# upstream message (causation). A command that decided again stores new timestamps and ids in its
# data, so only verbatim copies match; those in a second transaction are "applied twice" as well.
_REPEATED = text(
    "SELECT stream_id, event_type, array_agg(version ORDER BY version) AS versions FROM events "
    "WHERE stream_type <> :access_log "
    "GROUP BY stream_id, event_type, schema_version, data, metadata->>'correlation_id', "
    "metadata->>'causation_id' HAVING count(*) > 1"
)
_INVERSIONS = text(
    "SELECT stream_id, version FROM ("
    " SELECT stream_id, version, lag(global_position) OVER w AS prev_position, global_position"
    " FROM events WINDOW w AS (PARTITION BY stream_id ORDER BY version)) s "
    "WHERE prev_position > global_position"
)


@dataclass
class Store:
    """What one service's database holds, as far as the checks need it."""

    service: str
    events: list[Any]
    outbox: list[Any]
    repeated: list[Any]
    inversions: list[Any]
    chain_problems: list[str]


async def read_store(service: str, url: str) -> Store:
    engine = db.create_engine(url, pool_size=2)
    try:
        async with engine.connect() as conn:
            events = (await conn.execute(_EVENTS)).all()
            outbox = (await conn.execute(_OUTBOX)).all()
            repeated = (await conn.execute(_REPEATED, {"access_log": ACCESS_LOG})).all()
            inversions = (await conn.execute(_INVERSIONS)).all()
            chain = await PostgresSession(conn, None).verify_chain()
        return Store(service, events, outbox, repeated, inversions, chain.problems)
    finally:
        await engine.dispose()


async def dump_read_models(url: str) -> dict[str, set[tuple[str, ...]]]:
    engine: AsyncEngine = db.create_engine(url, pool_size=2)
    try:
        async with engine.connect() as conn:
            return {
                table: {
                    tuple(map(str, row))
                    for row in await conn.execute(text(f"SELECT * FROM {SCHEMA}.{table}"))  # noqa: S608
                }
                for table in TABLES
            }
    finally:
        await engine.dispose()


Offsets = dict[tuple[str, int], int]
"""An offset per (topic, partition)."""


async def read_ends(connection: KafkaConnection, topics: Iterable[str]) -> Offsets:
    """The end offset of every partition of `topics` now."""
    consumer = kafka.consumer(connection, None, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in range(PARTITIONS)]
        return {(tp.topic, tp.partition): end for tp, end in (await consumer.end_offsets(partitions)).items()}
    finally:
        await consumer.stop()


async def read_committed(connection: KafkaConnection, groups: Iterable[str]) -> dict[str, Offsets]:
    """Each consumer group's committed offsets; a group that never committed maps to {}."""
    admin = kafka.admin_client(connection)
    await admin.start()
    try:
        found: dict[str, Offsets] = {}
        for group in groups:
            offsets = await admin.list_consumer_group_offsets(group)
            found[group] = {(tp.topic, tp.partition): m.offset for tp, m in offsets.items() if m.offset >= 0}
        return found
    finally:
        await admin.close()


def readers(groups: Mapping[str, Iterable[str]], committed: Mapping[str, Offsets]) -> dict[str, set[str]]:
    """The topics each group is held to: those it committed on, or, for a group that committed
    nothing at all, every topic it is declared to consume. A group's Kafka grant may name more
    topics than its inbox subscribes to, so a group that did commit is judged on what it reads;
    one that never committed has proved nothing and is held to all of them."""
    held: dict[str, set[str]] = {}
    for group, declared in groups.items():
        done = committed.get(group, {})
        held[group] = {topic for topic, _ in done} if done else set(declared)
    return held


def backlog(
    groups: Mapping[str, Iterable[str]], committed: Mapping[str, Offsets], ends: Offsets
) -> list[tuple[str, str, int, int]]:
    """(group, topic, partition, messages behind) for every partition a group has not read to its
    end; a partition without a committed offset counts from 0."""
    behind = []
    for group, topics in readers(groups, committed).items():
        done = committed.get(group, {})
        for topic in sorted(topics):
            for partition in range(PARTITIONS):
                missing = ends.get((topic, partition), 0) - done.get((topic, partition), 0)
                if missing > 0:
                    behind.append((group, topic, partition, missing))
    return behind


@dataclass
class Evidence:
    """Everything gathered after the drain; `check` is a pure function of it (and testable)."""

    history: History
    stores: dict[str, Store]
    published: list[KafkaMessage]
    dead_letters: list[KafkaMessage]
    live_read_models: dict[str, set[tuple[str, ...]]]
    rebuilt_read_models: dict[str, set[tuple[str, ...]]]
    poison: list[tuple[str, int, int]]  # (topic, partition, offset) of each injected bad message
    max_attempts: int
    consumer_groups: dict[str, tuple[str, ...]]  # group → the topics it is declared to consume
    committed: dict[str, Offsets]  # group → its committed offsets ({} if it never committed)
    ends: Offsets  # end offsets of the event topics when the evidence was gathered
    harness_errors: list[str] = field(default_factory=list)  # faults not injected or not healed


async def gather(
    history: History,
    database_urls: dict[str, str],
    services: Iterable[str],
    admin: KafkaConnection,
    live_read_models: str,
    rebuilt_read_models: str,
    poison: list[tuple[str, int, int]],
    max_attempts: int,
    consumer_groups: dict[str, tuple[str, ...]],
    topics: Iterable[str] = EVENT_TOPICS,
) -> Evidence:
    topics = tuple(topics)
    stores = {s: await read_store(s, database_urls[s]) for s in services}
    # Offsets before the topics: a message published in between is then "not consumed", never hidden.
    committed = await read_committed(admin, consumer_groups)
    ends = await read_ends(admin, topics)
    parked = [dead_letters(group) for group in consumer_groups]
    messages = await read_topics(admin, [*topics, *parked])  # one client, one pass
    published = [m for m in messages if m.topic in topics]
    dead = [m for m in messages if m.topic not in topics]
    return Evidence(
        history=history,
        stores=stores,
        published=published,
        dead_letters=dead,
        live_read_models=await dump_read_models(live_read_models),
        rebuilt_read_models=await dump_read_models(rebuilt_read_models),
        poison=poison,
        max_attempts=max_attempts,
        consumer_groups=consumer_groups,
        committed=committed,
        ends=ends,
    )


def check(e: Evidence) -> Report:
    report = Report()
    _commands(e, report)
    _stores(e, report)
    _kafka(e, report)
    _read_models(e, report)
    _poison(e, report)
    harness = report.row("faults the harness could not inject or heal")
    for error in e.harness_errors:
        harness.add(error)
    return report


def _commands(e: Evidence, report: Report) -> None:
    # A command may write two streams in two transactions on purpose (participation takes a seat
    # on the menu, then places the person); one stream written twice by one command is a repeat.
    by_correlation: dict[tuple[str, str], set[str]] = defaultdict(set)
    per_stream: dict[tuple[str, str], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for service, store in e.stores.items():
        for ev in store.events:
            if ev.stream_type != ACCESS_LOG and ev.causation is None and ev.correlation:
                by_correlation[(service, ev.correlation)].add(ev.tx)
                per_stream[(service, ev.correlation)][ev.stream_id].add(ev.tx)
    lost = report.row("acknowledged commands lost")
    refused = report.row("refused commands that took effect")
    twice = report.row("commands applied twice")
    unknown_done = unknown_not = 0
    for op in e.history:
        txs = by_correlation.get((op.service, str(op.op_id)), set())
        if op.outcome is Outcome.OK and not txs:
            lost.add(f"{op.service} {op.command} {op.op_id} → {op.created}")
        if op.outcome is Outcome.FAILED and txs:
            refused.add(f"{op.service} {op.command} {op.op_id} HTTP {op.status}")
        for stream, stream_txs in per_stream.get((op.service, str(op.op_id)), {}).items():
            if len(stream_txs) > 1:
                twice.add(f"{op.service} {op.command} {op.op_id}: {stream} in {len(stream_txs)} transactions")
        if op.outcome is Outcome.UNKNOWN:
            if txs:
                unknown_done += 1
            else:
                unknown_not += 1
    ops = e.history.ops
    report.info("operations (ok)", sum(1 for op in ops if op.outcome is Outcome.OK))
    report.info("operations (failed: 4xx or refused)", sum(1 for op in ops if op.outcome is Outcome.FAILED))
    report.info("operations (unknown) that took effect", unknown_done)
    report.info("operations (unknown) without effect", unknown_not)


def _stores(e: Evidence, report: Report) -> None:
    repeated = report.row("the same event stored twice under two event ids")
    downstream = report.row("upstream events applied twice downstream")
    gaps = report.row("stream version gaps, inversions, broken chains")
    for service, store in e.stores.items():
        for copy in store.repeated:
            versions = ", ".join(f"v{v}" for v in copy.versions)
            repeated.add(f"{service} {copy.stream_id} {copy.event_type} stored as {versions}")
        reactions: dict[str, set[str]] = defaultdict(set)
        for ev in store.events:
            if ev.causation and ev.stream_type != ACCESS_LOG:
                reactions[ev.causation].add(ev.tx)
        for causation, txs in reactions.items():
            if len(txs) > 1:
                downstream.add(f"{service}: upstream {causation} in {len(txs)} transactions")
        for problem in store.chain_problems:
            gaps.add(f"{service} {problem}")
        for inversion in store.inversions:
            gaps.add(f"{service} {inversion.stream_id} v{inversion.version} stored before its predecessor")
    report.info("events in the stores", sum(len(s.events) for s in e.stores.values()))


def _kafka(e: Evidence, report: Report) -> None:
    on_kafka: dict[tuple[str, str], list[KafkaMessage]] = defaultdict(list)
    for m in e.published:
        if m.message_id:
            on_kafka[(m.topic, m.message_id)].append(m)
    poison = {(t, p, o) for t, p, o in e.poison}
    unpublished = report.row("outbox events never published")
    phantom = report.row("published events in no outbox")
    disorder = report.row("events out of order for one case")
    in_outbox: set[tuple[str, str]] = set()
    for service, store in e.stores.items():
        per_key: dict[tuple[str, str], list[str]] = defaultdict(list)
        for row in store.outbox:
            in_outbox.add((row.topic, row.message_id))
            if (row.topic, row.message_id) not in on_kafka:
                unpublished.add(f"{service} {row.topic} {row.message_id}")
            per_key[(row.topic, row.key)].append(row.message_id)
        for (topic, key), stored_order in per_key.items():
            first_seen: dict[str, tuple[int, int]] = {}
            partitions: set[int] = set()
            for message_id in stored_order:
                copies = on_kafka.get((topic, message_id), [])
                partitions.update(m.partition for m in copies)
                if copies:
                    first = min(copies, key=lambda m: m.offset)
                    first_seen[message_id] = (first.partition, first.offset)
            published_order = sorted(first_seen, key=lambda m: first_seen[m])
            expected = [m for m in stored_order if m in first_seen]
            if len(partitions) > 1:
                disorder.add(f"{topic} key {key}: on partitions {sorted(partitions)}")
            elif published_order != expected:
                disorder.add(f"{topic} key {key}: {len(expected)} events, published in another order")
    for m in e.published:
        if (m.topic, m.partition, m.offset) in poison:
            continue
        if m.message_id is None or (m.topic, m.message_id) not in in_outbox:
            phantom.add(f"{m.topic}[{m.partition}]@{m.offset} {m.message_id}")
    copies = sum(len(v) - 1 for v in on_kafka.values())
    report.info("messages on Kafka", len(e.published))
    report.info("re-sent copies on Kafka (at-least-once; consumers dedupe)", copies)
    unconsumed = report.row("messages not consumed after the drain")
    for group, topic, partition, missing in backlog(e.consumer_groups, e.committed, e.ends):
        never = " (the group never committed)" if not e.committed.get(group) else ""
        unconsumed.add(f"{group}: {topic}[{partition}] {missing} behind{never}", missing)


def _read_models(e: Evidence, report: Report) -> None:
    differ = report.row("read model rows differing from a rebuild")
    for table in TABLES:
        live, rebuilt = e.live_read_models.get(table, set()), e.rebuilt_read_models.get(table, set())
        for row in sorted(live - rebuilt)[:3]:
            differ.examples.append(f"{table} only live: {row}")
        for row in sorted(rebuilt - live)[:3]:
            differ.examples.append(f"{table} only rebuilt: {row}")
        differ.count += len(live ^ rebuilt)
    differ.examples = differ.examples[:5]
    report.info("read model rows", sum(len(rows) for rows in e.live_read_models.values()))


def _poison(e: Evidence, report: Report) -> None:
    parked = report.row("poison messages not dead-lettered (with reason, bounded attempts)")
    by_origin: dict[tuple[str, str], KafkaMessage] = {}
    for m in e.dead_letters:
        origin, consumer = m.headers.get(Header.DLQ_ORIGIN), m.headers.get(Header.DLQ_CONSUMER)
        if origin and consumer:
            by_origin[(origin, consumer)] = m
    held = readers(e.consumer_groups, e.committed)
    for topic, partition, offset in e.poison:
        for consumer in sorted(g for g, topics in held.items() if topic in topics):
            found = by_origin.get((f"{topic}:{partition}:{offset}", consumer))
            attempts = int(found.headers.get(Header.DLQ_ATTEMPTS, "0")) if found else 0
            if (
                found is None
                or not found.headers.get(Header.DLQ_ERROR)
                or not 1 <= attempts <= e.max_attempts
            ):
                parked.add(f"{consumer}: {topic}[{partition}]@{offset}")
    # A valid event in a DLQ is a downstream effect that did not happen (until someone replays it):
    # the DLQ is for messages that can never be processed, not for a database that restarts.
    valid = report.row("valid events dead-lettered (effect missing until replayed)")
    poison = {f"{t}:{p}:{o}" for t, p, o in e.poison}
    for m in e.dead_letters:
        origin = m.headers.get(Header.DLQ_ORIGIN, "?")
        if origin not in poison:
            consumer, error = m.headers.get(Header.DLQ_CONSUMER), m.headers.get(Header.DLQ_ERROR)
            attempts = m.headers.get(Header.DLQ_ATTEMPTS)
            valid.add(f"{consumer}: {origin} after {attempts} attempts: {error}")
    report.info("poison messages injected", len(e.poison))
    report.info("messages in dead-letter topics", len(e.dead_letters))
