"""Peer: the same write workload through the `eventsourcing` library with PostgreSQL persistence.

A consultation aggregate is created with one event and saved, then given a support (a second
event) and saved again: two single-event saves per case, like the two commands per case of the
write path. The library is synchronous, so concurrent clients are threads with a connection pool
as large as their number. It runs in its own database of the same server, with the library's
defaults otherwise (its table lock keeps insert order equal to commit order).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from bench.write_path import Run


class Consultation(Aggregate):
    @event("Received")
    def __init__(self, district: str, issue_tags: list[str], received_on: str) -> None:
        self.district = district
        self.issue_tags = issue_tags
        self.received_on = received_on
        self.supports: list[str] = []

    @event("SupportGiven")
    def give_support(self, kind: str, given_on: str) -> None:
        self.supports.append(kind)


class Intake(Application[Any]):
    """The library's application object, holding the recorder and its connection pool."""


def application(host: str, port: int, database: str, clients: int) -> Intake:
    return Intake(
        env={
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_HOST": host,
            "POSTGRES_PORT": str(port),
            "POSTGRES_USER": "postgres",
            "POSTGRES_PASSWORD": "",
            "POSTGRES_DBNAME": database,
            "POSTGRES_POOL_SIZE": str(max(5, clients)),
            "POSTGRES_MAX_OVERFLOW": "0",
        }
    )


def peer_run(
    host: str, port: int, database: str, clients: int, pairs: int, budget: float = float("inf")
) -> Run:
    """`pairs` cases, two single-event saves each, from `clients` threads; none starts after `budget` s."""
    app = application(host, port, database, clients)
    latencies: list[float] = []
    lock = threading.Lock()
    counter = iter(range(pairs))

    def one_client() -> None:
        mine: list[float] = []
        while True:
            with lock:
                if next(counter, None) is None or time.perf_counter() - began > budget:
                    break
            sent = time.perf_counter()
            case = Consultation("chuo-1", ["8050", "hikikomori"], "2025-05-01")
            app.save(case)
            saved = time.perf_counter()
            case.give_support("listening_advice", "2025-05-01")
            app.save(case)
            mine += [saved - sent, time.perf_counter() - saved]
        with lock:
            latencies.extend(mine)

    began = time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=clients) as pool:
            for future in [pool.submit(one_client) for _ in range(clients)]:
                future.result()
        seconds = time.perf_counter() - began
    finally:
        app.close()
    return Run(commands=len(latencies), seconds=seconds, latencies=latencies)
