"""The whole bench: start the stack, load the town, measure each figure and its baseline, stop.

Order matters: the projector, rebuild and relay figures read the city's year exactly as the demo
made it, so they run before the write-path and freshness runs add their own consultations; the
register figures fill intake's register with ten years of lines before those runs too, so that its
open cases and worklists are the ten years', not thousands of the bench's own new consultations
(the write path then runs on a service holding ten years of a large city's register).
`python -m bench --only register` runs some stages alone (the town is loaded only if one needs it).
Every figure is the median of `runs` runs, and each Kasane run alternates with its baseline's
run, so both see the same machine load.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx

from bench import freshness, profiling, projection, register, relay, report, write_path
from bench.stack import BenchStack
from bench.stats import median, percentile, ratio, rounded
from contracts.kafka_access import PROJECTIONS, SERVICES, events_topic
from contracts.topics import PARTITIONS
from deploy import demo
from deploy.local.keys import kek_env
from deploy.run import DASHBOARD
from deploy.run import SERVICES as RUNNING
from deploy.town import CITY
from libs import db
from libs.clock import BusinessClock
from libs.crypto import PersonalDataCipher
from libs.directory import Directory
from projections.projector import PROJECTION
from projections.runtime import caught_up, end_offsets

log = logging.getLogger(__name__)
T = TypeVar("T")

WRITE_TARGET = 2_000.0
WRITE_P99_TARGET_MS = 50.0
RELAY_TARGET_RATIO = 0.5
PROJECTOR_TARGET = 20_000.0
FRESHNESS_RATE = 500.0
FRESHNESS_P99_TARGET_S = 1.0
REBUILD_TARGET_S = 60.0
REGISTER_P99_TARGET_MS = 50.0
LOAD_TIMEOUT = 3600.0

STAGES = ("projector", "rebuild", "relay", "register", "write_path", "freshness", "peer")
"""Every measurement, in the order it runs."""
NEEDS_TOWN = frozenset({"projector", "rebuild", "relay", "write_path", "freshness"})
"""Stages measured on (or after) the city's year loaded through the APIs."""
NEEDS_SETTLED = frozenset({"projector", "rebuild", "relay"})


@dataclass(frozen=True)
class Plan:
    """How much work each measurement does; `quick` is for the test suite and a first look."""

    mode: str
    population: int
    runs: int
    pairs_1: int
    pairs_16: int
    freshness_seconds: float
    freshness_rate: float
    peer_pairs: int
    budget: float
    """Seconds after which a write-path or peer run starts no more work (a slow machine's cap)."""
    register_populations: tuple[int, ...]
    """Cities whose ten years fill intake's register, smallest first (each adds to the last)."""
    register_requests: int
    """Requests per register query and run, each way (HTTP and its SQL baseline)."""

    @classmethod
    def full(cls) -> Plan:
        return cls("full", CITY, 3, 250, 1_000, 12.0, FRESHNESS_RATE, 1_000, 20.0, (CITY, 1_000_000), 100)

    @classmethod
    def quick(cls) -> Plan:
        return cls("quick", 2_000, 1, 20, 60, 3.0, 50.0, 50, 5.0, (2_000, 10_000), 10)


def _ms(seconds: float) -> float:
    return seconds * 1000


def _latency(latencies: list[float]) -> dict[str, float]:
    return {"p50_ms": _ms(percentile(latencies, 0.50)), "p99_ms": _ms(percentile(latencies, 0.99))}


def _latencies(runs: list[list[float]]) -> dict[str, Any]:
    """Median over runs of each run's p50 and p99, as for the write path."""
    return {
        "p50_ms": median([_latency(r)["p50_ms"] for r in runs]),
        "p99_ms": median([_latency(r)["p99_ms"] for r in runs]),
        "runs": [{"requests": len(r), **_latency(r)} for r in runs],
    }


def _write_summary(runs: list[write_path.Run]) -> dict[str, Any]:
    return {
        "per_second": median([r.per_second for r in runs]),
        "p50_ms": median([_latency(r.latencies)["p50_ms"] for r in runs]),
        "p99_ms": median([_latency(r.latencies)["p99_ms"] for r in runs]),
        "runs": [
            {"commands": r.commands, "seconds": round(r.seconds, 3), **_latency(r.latencies)} for r in runs
        ],
    }


class Suite:
    def __init__(self, plan: Plan, home: Path, profile: bool, only: frozenset[str] | None = None) -> None:
        self.plan = plan
        self.home = home
        self.profile = profile
        self.stages = [s for s in STAGES if only is None or s in only]
        self.stack = BenchStack(home, plan.population)
        self.results: dict[str, Any] = {}
        self.errors: dict[str, str] = {}

    # --- running ------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        began = time.monotonic()
        try:
            self.stack.start()
            if NEEDS_TOWN.intersection(self.stages):
                self._load_town()
            asyncio.run(self._measure())
        finally:
            problems = self.stack.stop()
            if problems:
                self.errors["stop"] = "; ".join(problems)
        return self._document(time.monotonic() - began)

    def _load_town(self) -> None:
        print(f"▸ bench: loading the town ({self.plan.population:,} people) through the APIs", flush=True)
        loading = time.monotonic()
        urls = {s.name: self.stack.url(s.name) for s in RUNNING}
        # The demo's own deadline is sized for `make run`'s small town; the city on a busy
        # machine needs longer, and a bench is allowed to be slow where `make run` is not.
        loaded = demo.load(urls, self.stack.stack.issuer, self.plan.population, timeout=LOAD_TIMEOUT)
        self.results["load"] = {"seconds": round(time.monotonic() - loading, 1), "counts": loaded.counts}

    async def _stage(self, name: str, measure: Callable[[], Awaitable[T]]) -> T | None:
        """Run one measurement; a failure is recorded and the others still run."""
        print(f"▸ bench: {name}", flush=True)
        try:
            return await measure()
        except Exception as exc:
            log.exception("bench stage %s failed", name)
            self.errors[name] = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"
            return None

    async def _measure(self) -> None:
        if NEEDS_SETTLED.intersection(self.stages):
            await self._stage("settle", self._settle)
        for name in self.stages:
            await self._stage(name, getattr(self, f"_{name}"))

    async def _settle(self) -> None:
        """Until every outbox row of the city is on Kafka and the live dashboard has applied it."""
        deadline = time.monotonic() + 600
        names = [s.name for s in RUNNING]
        while True:
            ends = await end_offsets(self.stack.kafka(PROJECTIONS))
            published = {}
            for tp, end in ends.items():
                published[tp.topic] = published.get(tp.topic, 0) + end
            behind = []
            for name in names:
                conn = await asyncpg.connect(self.stack.dsn(name))
                try:
                    rows = await conn.fetchval("SELECT count(*) FROM outbox")
                finally:
                    await conn.close()
                if published.get(events_topic(name), 0) < rows:
                    behind.append(name)
            if not behind:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"outbox not relayed within 600s: {behind}")
            await asyncio.sleep(0.5)  # progress poll: relays run in the services
        engine = db.create_engine(self.stack.stack.database_urls["projections"])
        try:
            while not await caught_up(engine, PROJECTION, ends):
                if time.monotonic() > deadline:
                    raise TimeoutError("the live dashboard did not catch up within 600s")
                await asyncio.sleep(0.5)
        finally:
            await engine.dispose()
        self.results["city_events"] = sum(ends.values())

    async def _alternate(
        self, kasane: Callable[[int], Awaitable[T]], baseline: Callable[[int], Awaitable[T]]
    ) -> tuple[list[T], list[T]]:
        ours, theirs = [], []
        for n in range(self.plan.runs):
            ours.append(await kasane(n))
            theirs.append(await baseline(n))
        return ours, theirs

    async def _projector(self) -> None:
        connection = self.stack.kafka(PROJECTIONS)

        async def ours(n: int) -> tuple[int, float]:
            url = self.stack.database_url(f"bench_projector_{n}")
            with self._profiled("projector", n):
                return await projection.projector_run(url, connection)

        async def raw(_: int) -> tuple[int, float]:
            return await projection.raw_consumer_run(connection)

        mine, base = await self._alternate(ours, raw)
        events = mine[0][0]
        self.results["projector"] = {
            "events": events,
            "per_second": median([e / s for e, s in mine]),
            "baseline_per_second": median([e / s for e, s in base]),
            "runs_seconds": [round(s, 3) for _, s in mine],
            "baseline_runs_seconds": [round(s, 3) for _, s in base],
        }

    async def _rebuild(self) -> None:
        env = self.stack.dashboard_env()
        with self.stack.dashboard_stopped():
            seconds = [await asyncio.to_thread(projection.rebuild_run, env) for _ in range(self.plan.runs)]
        self.results["rebuild"] = {
            "events": self.results.get("city_events"),
            "seconds": median(seconds),
            "runs_seconds": [round(s, 3) for s in seconds],
        }

    async def _relay(self) -> None:
        admin = self.stack.kafka()
        await relay.ensure_topic(admin)
        rows = await relay.city_outbox([self.stack.dsn(name) for name in SERVICES if name in self._running()])
        url = self.stack.database_url("bench_relay")
        engine = db.create_engine(url)
        await db.install(engine, db.SERVICE_SCHEMA)
        await engine.dispose()

        async def ours(n: int) -> float:
            with self._profiled("relay", n):
                return await relay.relay_run(url, admin, rows)

        async def raw(_: int) -> float:
            return await relay.raw_run(admin, rows)

        mine, base = await self._alternate(ours, raw)
        self.results["relay"] = {
            "events": len(rows),
            "per_second": median([len(rows) / s for s in mine]),
            "baseline_per_second": median([len(rows) / s for s in base]),
            "runs_seconds": [round(s, 3) for s in mine],
            "baseline_runs_seconds": [round(s, 3) for s in base],
        }

    async def _register(self) -> None:
        """Ten years of each city in intake's register; each query over HTTP beside its SQL."""
        directory = Directory.load()
        token = self.stack.stack.issuer.token_for(register.USER, directory)
        headers = {"Authorization": f"Bearer {token}"}
        cipher = PersonalDataCipher.from_env("KASANE_INTAKE", kek_env(self.stack.stack.home, "intake"))
        city = register.City(BusinessClock.from_env().today(), directory)
        for population in self.plan.register_populations:
            print(f"▸ bench: register: ten years of {population:,} people", flush=True)
            filled = await register.fill(
                self.stack.stack.database_urls["intake"], cipher, city, register.lines_for(population)
            )
            conn = await asyncpg.connect(self.stack.dsn("intake"))
            try:
                async with httpx.AsyncClient(base_url=self.stack.url("intake"), timeout=60) as client:
                    queries = await register.queries(client, headers, conn, city, cipher, city.today)
                    for query in queries:
                        await register.check_same_pages(client, headers, conn, query)
                    measured = {
                        query.name: await self._register_query(client, headers, conn, query, population)
                        for query in queries
                    }
                    requests = self.plan.register_requests
                    floor = [
                        await register.floor_run(client, headers, requests) for _ in range(self.plan.runs)
                    ]
                held = await conn.fetchval(
                    "SELECT count(*) FROM case_register WHERE organisation = $1", city.organisation
                )
            finally:
                await conn.close()
            self.results[f"register_{population}"] = {
                "population": population,
                "years": register.YEARS,
                "lines": filled.lines,
                "filled": filled.added,
                "tokens_filled": filled.tokens,
                "fill_seconds": filled.seconds,
                "fill_lines_per_second": filled.added / filled.seconds if filled.seconds else None,
                "vacuum_seconds": filled.vacuum_seconds,
                "organisation": city.organisation,
                "organisation_lines": held,
                "requests_per_run": self.plan.register_requests,
                "http_floor": _latencies(floor),
                "queries": measured,
            }

    async def _register_query(
        self,
        client: httpx.AsyncClient,
        headers: dict[str, str],
        conn: asyncpg.Connection,
        query: register.Query,
        population: int,
    ) -> dict[str, Any]:
        requests = self.plan.register_requests

        async def ours(n: int) -> list[float]:
            with self._profiled(
                f"intake-register-{population}-{query.name}", n, pid=self.stack.pid("intake")
            ):
                return await register.http_run(client, headers, query, requests)

        async def raw(_: int) -> list[float]:
            return await register.sql_run(conn, query, requests)

        mine, base = await self._alternate(ours, raw)
        return {
            "label": query.label,
            "variants": len(query.variants),
            **_latencies(mine),
            "baseline": _latencies(base),
            "explain": await register.explain(conn, query),
        }

    async def _write_path(self) -> None:
        workload = write_path.Workload(self.stack.stack.issuer)
        intake = self.stack.url("intake")
        dsn = self.stack.dsn("intake")
        for clients, pairs in ((1, self.plan.pairs_1), (16, self.plan.pairs_16)):

            async def ours(n: int, clients: int = clients, pairs: int = pairs) -> write_path.Run:
                with self._profiled(f"intake-{clients}", n, pid=self.stack.pid("intake")):
                    return await write_path.http_commands(intake, workload, clients, pairs, self.plan.budget)

            async def raw(_: int, clients: int = clients, pairs: int = pairs) -> write_path.Run:
                return await write_path.raw_inserts(dsn, clients, 2 * pairs)

            mine, base = await self._alternate(ours, raw)
            self.results[f"write_{clients}"] = {
                "clients": clients,
                **_write_summary(mine),
                "baseline": _write_summary(base),
            }

    async def _freshness(self) -> None:
        measured = self.results.get("write_16", {}).get("per_second") or self.plan.freshness_rate
        rate = max(1, min(self.plan.freshness_rate, round(0.8 * measured)))
        workload = write_path.Workload(self.stack.stack.issuer)
        dsn = self.stack.dsn("projections")
        runs = []
        for n in range(self.plan.runs):
            with self._profiled("projections-live", n, pid=self.stack.pid(DASHBOARD)):
                runs.append(
                    await freshness.freshness_run(
                        self.stack.url("intake"), dsn, workload, rate, self.plan.freshness_seconds
                    )
                )
        self.results["freshness"] = {
            "target_rate": self.plan.freshness_rate,
            "rate": rate,
            "achieved_rate": median([r.achieved_rate for r in runs]),
            "p50_s": median([percentile(r.lags, 0.5) for r in runs]),
            "p99_s": median([percentile(r.lags, 0.99) for r in runs]),
            "unseen": sum(r.unseen for r in runs),
            "runs": [
                {
                    "sent": r.sent,
                    "seconds": round(r.seconds, 3),
                    "p50_s": percentile(r.lags, 0.5),
                    "p99_s": percentile(r.lags, 0.99),
                    "unseen": r.unseen,
                }
                for r in runs
            ],
        }

    async def _peer(self) -> None:
        try:
            from bench import peer  # the `bench` extra: `make bench` installs it, `make test` does not
        except ImportError as exc:
            self.results["peer_skipped"] = f"{exc.name} is not installed (make bench installs it)"
            return
        port = self.stack.stack.postgres.port
        self.stack.database_url("bench_peer")
        for clients in (1, 16):
            runs = [
                await asyncio.to_thread(
                    peer.peer_run,
                    "127.0.0.1",
                    port,
                    "bench_peer",
                    clients,
                    self.plan.peer_pairs,
                    self.plan.budget,
                )
                for _ in range(self.plan.runs)
            ]
            self.results[f"peer_{clients}"] = {"clients": clients, **_write_summary(runs)}

    def _running(self) -> set[str]:
        return {s.name for s in RUNNING}

    def _profiled(self, what: str, n: int, pid: int | None = None) -> Any:
        """A py-spy profile of `pid` (this process by default) for the first run, when asked for."""
        if not self.profile or n:
            return contextlib.nullcontext()
        return profiling.sampled(pid or os.getpid(), self.home / "profiles" / f"{what}.txt")

    # --- the document ---------------------------------------------------------------------------

    def _document(self, seconds: float) -> dict[str, Any]:
        r = self.results
        rows = _rows(r)
        return {
            "date": report.now(),
            "mode": self.plan.mode,
            "population": self.plan.population,
            "runs": self.plan.runs,
            "partitions": PARTITIONS,
            "stages": self.stages,
            "seconds": round(seconds, 1),
            "machine": report.machine(),
            "results": _rounded(r),
            "rows": rows,
            "errors": self.errors,
        }


def merged(previous: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """A run of some stages (`--only`) over an earlier document: its figures replace that run's
    figures of the same stages, the others stay, and the table says which run each comes from."""
    stages = set(current["stages"])
    results = {k: v for k, v in previous["results"].items() if _stage_of(k) not in stages}
    results |= current["results"]
    part = {k: current[k] for k in ("stages", "date", "runs", "seconds", "machine")}
    # The earlier run's rows as it wrote them (its unrounded figures are gone from the JSON).
    written = {row["measure"]: row for row in previous["rows"]}
    fresh = {row["measure"] for row in _rows(current["results"])}
    return {
        **previous,
        "results": results,
        "rows": [
            row if row["measure"] in fresh else written.get(row["measure"], row) for row in _rows(results)
        ],
        "errors": {k: v for k, v in previous["errors"].items() if k not in stages} | current["errors"],
        "parts": [p for p in previous.get("parts", []) if not set(p["stages"]) <= stages] + [part],
    }


def _stage_of(key: str) -> str:
    """The stage that measured a figure of the results (`write_16` → write_path)."""
    for prefix, stage in (("write_", "write_path"), ("peer_", "peer"), ("register_", "register")):
        if key.startswith(prefix):
            return stage
    return key


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return rounded(value)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _rows(r: dict[str, Any]) -> list[dict[str, Any]]:
    """The table: each figure with its baseline, ratio, target and whether the target was met."""
    f = report.fmt
    rows: list[dict[str, Any]] = []
    for clients in (1, 16):
        w = r.get(f"write_{clients}")
        if not w:
            continue
        b = w["baseline"]
        target = f"≥ {WRITE_TARGET:,.0f}/s" if clients == 16 else None
        rows.append(
            {
                "measure": f"write path, {clients} client{'s' if clients > 1 else ''}: commands/s "
                "(baseline: asyncpg INSERT+COMMIT)",
                "value": f(w["per_second"]),
                "baseline": f(b["per_second"]),
                "ratio": rounded(ratio(w["per_second"], b["per_second"])),
                "target": target,
                "met": w["per_second"] >= WRITE_TARGET if clients == 16 else None,
            }
        )
        rows.append(
            {
                "measure": f"write path, {clients} client{'s' if clients > 1 else ''}: p50 / p99 ms",
                "value": f"{f(w['p50_ms'])} / {f(w['p99_ms'])}",
                "baseline": f"{f(b['p50_ms'])} / {f(b['p99_ms'])}",
                "ratio": rounded(ratio(w["p99_ms"], b["p99_ms"])),
                "target": f"p99 ≤ {WRITE_P99_TARGET_MS:.0f} ms" if clients == 16 else None,
                "met": w["p99_ms"] <= WRITE_P99_TARGET_MS if clients == 16 else None,
            }
        )
    if relay_ := r.get("relay"):
        share = ratio(relay_["per_second"], relay_["baseline_per_second"])
        rows.append(
            {
                "measure": f"relay outbox → Kafka: events/s ({relay_['events']:,} events; baseline: raw producer)",
                "value": f(relay_["per_second"]),
                "baseline": f(relay_["baseline_per_second"]),
                "ratio": rounded(share),
                "target": f"≥ {RELAY_TARGET_RATIO:.0%} of raw",
                "met": share is not None and share >= RELAY_TARGET_RATIO,
            }
        )
    if p := r.get("projector"):
        rows.append(
            {
                "measure": f"projector Kafka → read models: events/s ({p['events']:,} events; baseline: raw consumer)",
                "value": f(p["per_second"]),
                "baseline": f(p["baseline_per_second"]),
                "ratio": rounded(ratio(p["per_second"], p["baseline_per_second"])),
                "target": f"≥ {PROJECTOR_TARGET:,.0f}/s",
                "met": p["per_second"] >= PROJECTOR_TARGET,
            }
        )
    if fr := r.get("freshness"):
        rows.append(
            {
                "measure": f"freshness commit → dashboard: p50 / p99 s at {fr['rate']:,.0f} commands/s "
                f"(achieved {fr['achieved_rate']:,.0f}/s)",
                "value": f"{f(fr['p50_s'])} / {f(fr['p99_s'])}",
                "baseline": None,
                "ratio": None,
                "target": f"p99 ≤ {FRESHNESS_P99_TARGET_S:.0f} s at {FRESHNESS_RATE:,.0f}/s",
                "met": fr["p99_s"] <= FRESHNESS_P99_TARGET_S and fr["achieved_rate"] >= 0.95 * FRESHNESS_RATE,
            }
        )
    if rb := r.get("rebuild"):
        rows.append(
            {
                "measure": f"rebuild every read model from offset 0: seconds ({rb['events'] or 0:,} events)",
                "value": f(rb["seconds"], " s"),
                "baseline": None,
                "ratio": None,
                "target": f"≤ {REBUILD_TARGET_S:.0f} s",
                "met": rb["seconds"] <= REBUILD_TARGET_S,
            }
        )
    for clients in (1, 16):
        pr, w = r.get(f"peer_{clients}"), r.get(f"write_{clients}")
        if not pr:
            continue
        rows.append(
            {
                "measure": f"peer: eventsourcing library, {clients} client{'s' if clients > 1 else ''}: "
                "single-event saves/s (ratio: Kasane ÷ peer)",
                "value": f(pr["per_second"]),
                "baseline": f(w["per_second"]) + " (Kasane)" if w else None,
                "ratio": rounded(ratio(w["per_second"], pr["per_second"])) if w else None,
                "target": None,
                "met": None,
            }
        )
    for key in sorted((k for k in r if k.startswith("register_")), key=lambda k: r[k]["population"]):
        reg = r[key]
        for q in reg["queries"].values():
            b = q["baseline"]
            rows.append(
                {
                    "measure": f"register, {reg['population']:,} people, {reg['years']} years "
                    f"({reg['lines']:,} lines): {q['label']}, p50 / p99 ms (baseline: the same page by SQL)",
                    "value": f"{f(q['p50_ms'])} / {f(q['p99_ms'])}",
                    "baseline": f"{f(b['p50_ms'])} / {f(b['p99_ms'])}",
                    "ratio": rounded(ratio(q["p99_ms"], b["p99_ms"])),
                    "target": f"p99 ≤ {REGISTER_P99_TARGET_MS:.0f} ms",
                    "met": q["p99_ms"] <= REGISTER_P99_TARGET_MS,
                }
            )
    return rows
