"""Write path: commands through HTTP into the event store and outbox, against raw INSERT+COMMIT.

The workload is what an intake worker does most: receive a consultation (a new case, a new
person's key, the first event and a public CaseReceived in the outbox), then record a simple
support on the same case with `If-Match` (a load, an optimistic-concurrency append, no public
event). Both count as commands. The baseline is the least a durable command can cost on the same
PostgreSQL: one single-row INSERT committed on its own, from asyncpg, with as many connections as
there are HTTP clients.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from deploy.demo import consultation_body, intake_worker
from deploy.local.issuer import LocalIssuer
from deploy.town import plan
from libs.directory import Directory


@dataclass
class Run:
    """One timed run: how many commands, how long, and each command's latency in seconds."""

    commands: int
    seconds: float
    latencies: list[float] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.commands / self.seconds if self.seconds else 0.0


class Workload:
    """Consultations of a generated town, each with the token of the worker who would take it."""

    def __init__(self, issuer: LocalIssuer, population: int = 15_700) -> None:
        directory = Directory.load()
        consultations = plan(population).consultations
        tokens = {
            user: issuer.token_for(user, directory) for user in {intake_worker(c) for c in consultations}
        }
        self._items = [
            (consultation_body(c), {"Authorization": f"Bearer {tokens[intake_worker(c)]}"})
            for c in consultations
        ]
        self._next = itertools.cycle(self._items)

    def next(self) -> tuple[dict[str, Any], dict[str, str]]:
        return next(self._next)


async def receive(client: httpx.AsyncClient, workload: Workload) -> tuple[str, float, float]:
    """POST /cases; returns the case id, when the request left and when the answer came."""
    body, headers = workload.next()
    sent = time.perf_counter()
    response = await client.post("/cases", json=body, headers=headers)
    done = time.perf_counter()
    if response.status_code != 201:
        raise RuntimeError(f"POST /cases: HTTP {response.status_code} {response.text[:300]}")
    return response.json()["case_id"], sent, done


async def _pair(client: httpx.AsyncClient, workload: Workload, latencies: list[float]) -> None:
    body, headers = workload.next()
    sent = time.perf_counter()
    created = await client.post("/cases", json=body, headers=headers)
    received = time.perf_counter()
    if created.status_code != 201:
        raise RuntimeError(f"POST /cases: HTTP {created.status_code} {created.text[:300]}")
    case_id = created.json()["case_id"]
    support = {"given_on": body["received_on"], "kind": "listening_advice", "note": "傾聴と助言を行った。"}
    followed = await client.post(
        f"/cases/{case_id}/supports",
        json=support,
        headers={**headers, "If-Match": created.headers["ETag"]},
    )
    done = time.perf_counter()
    if followed.status_code != 201:
        raise RuntimeError(f"POST /cases/…/supports: HTTP {followed.status_code} {followed.text[:300]}")
    latencies += [received - sent, done - received]


async def http_commands(
    base_url: str, workload: Workload, clients: int, pairs: int, budget: float = float("inf")
) -> Run:
    """`pairs` (receive, support) pairs from `clients` concurrent clients, each on its own connection;
    no new pair starts after `budget` seconds, so a slow machine still finishes in time."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:
        for _ in range(clients):  # open the connections before the clock starts
            await _pair(client, workload, [])
        latencies: list[float] = []
        remaining = iter(range(pairs))
        began = time.perf_counter()

        async def one_client() -> None:
            for _ in remaining:
                await _pair(client, workload, latencies)
                if time.perf_counter() - began > budget:
                    break

        await asyncio.gather(*(one_client() for _ in range(clients)))
        seconds = time.perf_counter() - began
    return Run(commands=len(latencies), seconds=seconds, latencies=latencies)


BASELINE_TABLE = "bench_baseline_commands"
_PAYLOAD = '{"event_type":"SupportGiven","kind":"listening_advice","given_on":"2025-05-01"}'


async def raw_inserts(dsn: str, connections: int, commands: int) -> Run:
    """Single-row INSERT, each in its own BEGIN/COMMIT, spread over `connections` asyncpg connections."""
    setup = await asyncpg.connect(dsn)
    try:
        await setup.execute(
            f"CREATE TABLE IF NOT EXISTS {BASELINE_TABLE} ("
            "id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, data jsonb NOT NULL)"
        )
    finally:
        await setup.close()
    pool = [await asyncpg.connect(dsn) for _ in range(connections)]
    try:
        insert = f"INSERT INTO {BASELINE_TABLE} (data) VALUES ($1::jsonb)"  # noqa: S608 (a constant)
        latencies: list[float] = []
        remaining = iter(range(commands))

        async def one(conn: asyncpg.Connection) -> None:
            for _ in remaining:
                sent = time.perf_counter()
                async with conn.transaction():
                    await conn.execute(insert, _PAYLOAD)
                latencies.append(time.perf_counter() - sent)

        began = time.perf_counter()
        await asyncio.gather(*(one(conn) for conn in pool))
        seconds = time.perf_counter() - began
    finally:
        await asyncio.gather(*(conn.close() for conn in pool))
    return Run(commands=commands, seconds=seconds, latencies=latencies)
