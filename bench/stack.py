"""The system under test: PostgreSQL, Kafka, the five services and the dashboard, on free ports.

Reuses `make run`'s orchestrator (deploy/run.py), so the bench measures what a developer runs.
Everything lives under one home folder that is wiped first: the city loaded into it must be this
run's city, not a leftover of an earlier run with other code.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from contracts.kafka_access import ADMIN, PROJECTIONS
from deploy.run import DASHBOARD, HEALTH_TIMEOUT, STOP_TIMEOUT, Failure, Ports, Stack
from libs.kafka import KafkaConnection


class BenchStack:
    """`deploy.run.Stack` on free ports in a fresh home, with what the measurements need to reach."""

    def __init__(self, home: Path, population: int) -> None:
        self.home = home.resolve()
        # Wiped before the orchestrator exists: it creates the token issuer's keys in its home.
        shutil.rmtree(self.home / "run", ignore_errors=True)
        self.stack = Stack(self.home / "run", Ports.starting_at(0), population)

    def start(self, attempts: int = 2) -> None:
        """Start everything; on a busy machine Kafka can miss its start-up deadline, so try again."""
        for attempt in range(1, attempts + 1):
            try:
                self.stack.start()
                return
            except (Failure, TimeoutError, RuntimeError) as exc:
                self.stack.stop()
                if attempt == attempts:
                    raise
                print(f"▸ bench: start failed ({type(exc).__name__}); trying again", flush=True)

    def stop(self) -> list[str]:
        return self.stack.stop()

    # --- where things are -------------------------------------------------------------------

    def url(self, service: str) -> str:
        return self.stack.url(service)

    def database_url(self, name: str) -> str:
        """SQLAlchemy URL of a database on the bench's server, created if missing."""
        return self.stack.postgres.create_database(name)

    def dsn(self, name: str) -> str:
        """The same database as a plain libpq/asyncpg DSN."""
        return self.database_url(name).replace("postgresql+asyncpg://", "postgresql://")

    def kafka(self, principal: str = ADMIN) -> KafkaConnection:
        return self.stack.kafka.connection(principal)

    def pid(self, name: str) -> int:
        return self.stack.processes[name].pid

    def dashboard_env(self) -> dict[str, str]:
        """What `python -m projections rebuild` needs to rebuild the dashboard's own database."""
        return {
            **os.environ,
            **self.kafka(PROJECTIONS).to_env(),
            "KASANE_PROJECTIONS_DATABASE_URL": self.stack.database_urls[DASHBOARD],
            "KASANE_AUTH_JWKS": str(self.stack.issuer.jwks_file),
            "KASANE_AUTH_ISSUER": self.stack.issuer.issuer,
        }

    @contextlib.contextmanager
    def dashboard_stopped(self) -> Iterator[None]:
        """The dashboard process stopped for the block, then started again and healthy.

        A rebuild refuses to run beside a live projector of the same projection (they would share
        its consumer group and its tables); an operator stops the dashboard first, and so does this.
        """
        proc = self.stack.processes[DASHBOARD]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        try:
            yield
        finally:
            self.stack._spawn_dashboard()  # the orchestrator's own way to start it, same environment
            self.stack.wait_healthy(time.monotonic() + HEALTH_TIMEOUT)
