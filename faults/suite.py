"""One fault-injection run: start the system, run the workload under the fault schedule, heal,
drain, rebuild the read models, gather the evidence and check it."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from contracts.kafka_access import CONSUMES, PROJECTIONS
from contracts.topics import COORDINATION_EVENTS, EVENT_TOPICS, INTAKE_EVENTS
from faults import checker, workload
from faults.cluster import SERVICES, Cluster
from faults.history import History, Outcome
from faults.nemesis import Nemesis, full_schedule, short_schedule
from faults.proxy import Proxy
from libs import db, kafka
from libs.inbox import InboxConsumer
from libs.outbox import OutboxRelay
from projections.projector import PROJECTION
from projections.runtime import Settings as ProjectionSettings
from projections.runtime import caught_up, end_offsets
from projections.runtime import rebuild as rebuild_projection

DRAIN_TIMEOUT = 240.0


@dataclass(frozen=True)
class Profile:
    name: str
    split: frozenset[str]
    schedule: str  # "short" or "full"
    gap: float  # seconds of undisturbed workload between faults
    tail: float  # seconds of workload after the last fault
    workload: workload.Settings
    consumers: dict[str, int]  # consumer processes of a split service, where more than one


SHORT = Profile(
    "short",
    split=frozenset({"intake", "coordination"}),
    schedule="short",
    gap=2.0,
    tail=8.0,
    workload=workload.Settings(duration=3600, concurrency=6, outreach_flows=1, community_flows=1),
    consumers={"coordination": 2},
)
FULL = Profile(
    "full",
    split=frozenset(s.name for s in SERVICES),
    schedule="full",
    gap=6.0,
    tail=10.0,
    workload=workload.Settings(duration=3600, concurrency=8, outreach_flows=2, community_flows=2),
    consumers={"coordination": 2, "intake": 2},
)


@dataclass
class Result:
    report: checker.Report
    cluster: Cluster
    history: History
    faults: list[str]
    timings: dict[str, float]
    poison: list[tuple[str, int, int]]


POISON = (
    b"\xff\xfe not even UTF-8",
    b'{"event_type": "CaseReceived"}',
    json.dumps(
        {
            "event_id": str(uuid.uuid4()),
            "event_type": "NoSuchEvent",
            "schema_version": 1,
            "case_key": str(uuid.uuid4()),
            "occurred_at": "2025-04-01T00:00:00Z",
            "recorded_at": "2025-04-01T00:00:00Z",
            "organisation": "city-soudan",
            "actor": "soudan-sato",
            "correlation_id": str(uuid.uuid4()),
            "payload": {},
        }
    ).encode(),
)


async def inject_poison(cluster: Cluster) -> list[tuple[str, int, int]]:
    """Bad messages on topics other services consume, each under a key no real case uses."""
    producer = kafka.producer(cluster.admin)
    await producer.start()
    placed = []
    try:
        for topic in (INTAKE_EVENTS, COORDINATION_EVENTS):
            for value in POISON:
                meta = await (await producer.send(topic, value=value, key=str(uuid.uuid4()).encode()))
                placed.append((topic, meta.partition, meta.offset))
    finally:
        await producer.stop()
    return placed


def consumer_groups() -> dict[str, tuple[str, ...]]:
    """Every service's consumer group (named after the service) and the topics it may read: fixed
    in advance, so a group that never committed is missing, not silently left out."""
    return {s.name: CONSUMES[s.name] for s in SERVICES if CONSUMES.get(s.name)}


async def unconsumed(cluster: Cluster) -> int:
    """Messages the service groups have not consumed yet, counted as the checker counts them."""
    groups = consumer_groups()
    committed = await checker.read_committed(cluster.admin, groups)
    ends = await checker.read_ends(cluster.admin, EVENT_TOPICS)
    return sum(missing for *_, missing in checker.backlog(groups, committed, ends))


async def relay_lag(cluster: Cluster) -> int:
    total = 0
    for service in SERVICES:
        engine = db.create_engine(cluster.database_urls[service.name], pool_size=1)
        try:
            total += await OutboxRelay(engine, cluster.admin, service.name).lag()
        finally:
            await engine.dispose()
    return total


async def projector_behind(cluster: Cluster) -> bool:
    engine = db.create_engine(cluster.database_urls["projections"], pool_size=1)
    try:
        return not await caught_up(engine, PROJECTION, await end_offsets(cluster.admin))
    finally:
        await engine.dispose()


async def drain(cluster: Cluster, timeout: float = DRAIN_TIMEOUT) -> str | None:
    """Poll until relays, consumers and the projector have nothing left, twice in a row (a
    consumer's reaction goes through its relay again). Returns what was left on a time-out."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while time.monotonic() < deadline:
        lag = await relay_lag(cluster)
        left = await unconsumed(cluster)
        behind = await projector_behind(cluster)
        quiet = quiet + 1 if lag == 0 and left == 0 and not behind else 0
        if quiet >= 2:
            return None
        await asyncio.sleep(0.5)  # poll interval: the workers drain on their own
    leftover = f"drain timed out: relay lag {lag}, unconsumed {left}, projector behind {behind}"
    print(f"  {leftover}")
    return leftover


async def rebuild(cluster: Cluster) -> None:
    """What `python -m projections rebuild` does, into a second database, with the live projector
    stopped (both would join one consumer group and split the partitions between them)."""
    await asyncio.to_thread(cluster.processes["projections"].stop)
    settings = ProjectionSettings(
        database_url=cluster.database_urls["projections_rebuild"],
        kafka=cluster.kafka.connection(PROJECTIONS),
        port=0,
    )
    await rebuild_projection(settings)


async def gather(cluster: Cluster, history: History, poison: list[tuple[str, int, int]]) -> checker.Evidence:
    return await checker.gather(
        history,
        cluster.database_urls,
        [s.name for s in SERVICES],
        cluster.admin,
        live_read_models=cluster.database_urls["projections"],
        rebuilt_read_models=cluster.database_urls["projections_rebuild"],
        poison=poison,
        max_attempts=InboxConsumer.__init__.__kwdefaults__["max_attempts"],
        consumer_groups=consumer_groups(),
    )


WARM_TIMEOUT = 120.0


async def warm(history: History) -> None:
    """Break nothing before the whole chain works: a case referred at intake was opened by
    coordination's consumer and assessed there (a slow start is not a fault under test)."""
    deadline = time.monotonic() + WARM_TIMEOUT
    while time.monotonic() < deadline:
        if any(op.command == "assess" and op.outcome is Outcome.OK for op in history):
            return
        await asyncio.sleep(0.5)  # poll interval: the workload makes progress on its own
    print(f"  the workload did not reach coordination within {WARM_TIMEOUT:.0f}s; faults start anyway")


async def run(profile: Profile, home: Path, keep: bool = False) -> Result:
    """The whole run; the cluster is stopped at the end unless `keep` (for planting anomalies)."""
    timings: dict[str, float] = {}
    began = time.monotonic()
    cluster = Cluster(home, split=profile.split, consumers_per_service=profile.consumers)
    proxy = Proxy(cluster.proxy_port, cluster.kafka.proxied_port or 0)
    try:
        print(f"▸ starting PostgreSQL, Kafka and the services under {home}", flush=True)
        await asyncio.to_thread(cluster.start_infrastructure)
        await proxy.start()
        await kafka.ensure_topics(cluster.admin)
        cluster.define_processes()
        cluster.start_all()
        await asyncio.to_thread(cluster.wait_healthy)
        timings["start"] = time.monotonic() - began

        history = History(home / "history.jsonl")
        nemesis = Nemesis(cluster, proxy)
        schedule = (full_schedule if profile.schedule == "full" else short_schedule)(nemesis)
        print(f"▸ workload with {len(schedule)} faults: " + "; ".join(f.name for f in schedule), flush=True)
        nemesis.began = time.monotonic()
        faults_done = asyncio.Event()
        settings = profile.workload

        async def faults() -> list[tuple[str, int, int]]:
            await warm(history)
            try:
                poison = await inject_poison(cluster)
                nemesis.note(f"injected {len(poison)} poison messages")
                await nemesis.run(schedule, profile.gap)
            finally:
                faults_done.set()
            return poison

        async def load() -> workload.Flows:
            work = workload.Workload(cluster.urls, cluster.issuer, history, settings)
            task = asyncio.create_task(work.run())
            await faults_done.wait()
            await asyncio.sleep(profile.tail)  # undisturbed operation after the last fault
            work.finish()
            return await task

        poison, flows = await asyncio.gather(faults(), load())
        timings["workload"] = time.monotonic() - nemesis.began
        await nemesis.heal()
        await asyncio.to_thread(cluster.wait_healthy)
        mark = time.monotonic()
        leftover = await drain(cluster)
        timings["drain"] = time.monotonic() - mark
        mark = time.monotonic()
        await rebuild(cluster)
        timings["rebuild"] = time.monotonic() - mark
        evidence = await gather(cluster, history, poison)
        evidence.harness_errors = [*nemesis.harness_errors, *([leftover] if leftover else [])]
        report = checker.check(evidence)
        report.info("processes that died on their own (restarted at heal)", len(nemesis.died_on_their_own))
        report.info("flows completed", flows.completed)
        report.info("flows given up (deadline or refusal)", flows.gave_up)
        report.info("broker connections through the proxy", proxy.connections)
        report.info("broker connections cut by the proxy", proxy.cut)
        timings["total"] = time.monotonic() - began
        return Result(report, cluster, history, nemesis.log, timings, poison)
    except BaseException:
        keep = False  # nobody gets a cluster to look at: stop it
        raise
    finally:
        await proxy.stop()
        if not keep:
            await asyncio.to_thread(cluster.stop)
