"""Freshness: from a command's commit to the dashboard's read model showing it, under steady load.

Consultations are sent open-loop at a fixed rate (each at its scheduled time, whether or not the
previous ones answered), so a slow system cannot slow the load down and hide its own lag. A
command's commit time is taken as the moment its HTTP answer arrived (the commit happened just
before); the moment the dashboard shows it is when a poll of `read_models.cases`, every 10 ms,
first finds the case. The figure therefore includes up to one poll interval.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import asyncpg
import httpx

from bench.write_path import Workload, receive
from projections.schema import SCHEMA

POLL = 0.01


@dataclass
class Freshness:
    sent: int
    seconds: float
    lags: list[float] = field(default_factory=list)
    unseen: int = 0

    @property
    def achieved_rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


async def freshness_run(
    intake_url: str, projections_dsn: str, workload: Workload, rate: float, seconds: float, drain: float = 60
) -> Freshness:
    committed: dict[str, float] = {}
    seen: dict[str, float] = {}
    total = max(1, int(rate * seconds))
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    poller = await asyncpg.connect(projections_dsn)
    query = f"SELECT case_key::text FROM {SCHEMA}.cases WHERE case_key = ANY($1::uuid[])"  # noqa: S608
    stop = asyncio.Event()

    async def poll() -> None:
        while True:
            pending = [key for key in committed if key not in seen]
            if pending:
                found = await poller.fetch(query, pending)
                now = time.perf_counter()
                for row in found:
                    seen[row[0]] = now
            elif stop.is_set():
                return
            await asyncio.sleep(POLL)

    async with httpx.AsyncClient(base_url=intake_url, timeout=60, limits=limits) as client:

        async def send() -> None:
            case_id, _, done = await receive(client, workload)
            committed[case_id] = done

        polling = asyncio.create_task(poll())
        began = time.perf_counter()
        sends = []
        for i in range(total):
            delay = began + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sends.append(asyncio.create_task(send()))
        await asyncio.gather(*sends)
        elapsed = time.perf_counter() - began
        deadline = time.perf_counter() + drain
        while True:  # progress poll: the poller task records what appears
            if len(seen) >= len(committed) or time.perf_counter() > deadline:
                break
            await asyncio.sleep(0.1)
        stop.set()
        polling.cancel()
        await asyncio.gather(polling, return_exceptions=True)
    await poller.close()
    lags = [seen[key] - committed[key] for key in committed if key in seen]
    return Freshness(sent=total, seconds=elapsed, lags=lags, unseen=len(committed) - len(lags))
