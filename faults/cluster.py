"""The whole system as separate processes that a fault schedule can kill, pause and restart.

Unlike `make run` (deploy/run.py), every service runs as three kinds of process: its HTTP API
(`KASANE_WORKERS=none`), its outbox relay and its inbox consumer(s), so a fault can hit one
worker and leave the others running. Kafka clients of the services and the projector reach the
broker through the in-process TCP proxy (faults/proxy.py); admin tools connect directly.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx

from contracts.kafka_access import ADMIN, PROJECTIONS
from deploy.local.issuer import LocalIssuer
from deploy.local.kafka import LocalKafka, log_tail
from deploy.local.keys import kek_env
from deploy.local.ports import free_port
from deploy.local.postgres import LocalPostgres
from deploy.run import DATABASES, ROOT, SERVICES, _die_with_parent
from libs.kafka import KafkaConnection

HEALTH_TIMEOUT = 180.0
# Generous: a loaded 2-core machine starts a JVM slowly, and slowness is not what is tested here.
START_TIMEOUT = 300.0


@dataclass
class Process:
    """One child process of the system and how to start it again."""

    name: str
    command: list[str]
    env: dict[str, str]
    log_file: Path
    popen: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def start(self) -> None:
        with self.log_file.open("ab") as log:
            log.write(
                f"\n=== {datetime.now().isoformat(timespec='seconds')} start {self.name} ===\n".encode()
            )
            log.flush()
            self.popen = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # no orphans if the harness itself is killed
            )
        self.starts += 1

    def signal(self, sig: signal.Signals) -> None:
        if self.popen is not None and self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.popen.pid, sig)

    def kill(self) -> None:
        """SIGKILL (a paused process too) and reap it."""
        if self.popen is not None and self.popen.poll() is None:
            self.signal(signal.SIGKILL)
            self.popen.wait(10)

    def stop(self, timeout: float = 15) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass
class Cluster:
    """PostgreSQL, Kafka (behind the proxy), the services, and the projector.

    Services named in `split` run their API, relay and consumers as separate processes (so a fault
    can hit one of them); the others run everything in one process.
    """

    home: Path
    split: frozenset[str] = frozenset()
    consumers_per_service: dict[str, int] = field(default_factory=dict)
    processes: dict[str, Process] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    database_urls: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.home = self.home.resolve()
        self.logs = self.home / "logs"
        self.postgres = LocalPostgres(self.home / "postgres", port=free_port())
        self.proxy_port = free_port()
        self.kafka = LocalKafka(
            self.home / "kafka",
            port=free_port(),
            controller_port=free_port(),
            proxied_port=free_port(),
            proxy_port=self.proxy_port,
        )
        self.issuer = LocalIssuer(self.home / "issuer")
        self.projections_port = free_port()

    @property
    def admin(self) -> KafkaConnection:
        """The admin principal, connected straight to the broker (not through the proxy)."""
        return self.kafka.connection(ADMIN)

    def proxied(self, user: str) -> KafkaConnection:
        direct = self.kafka.connection(user)
        return KafkaConnection(
            f"127.0.0.1:{self.proxy_port}", direct.username, direct.password, direct.ca_file
        )

    def start_infrastructure(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        self.postgres.start(timeout=START_TIMEOUT)
        self.database_urls = {name: self.postgres.create_database(name) for name in DATABASES}
        self.database_urls["projections_rebuild"] = self.postgres.create_database("projections_rebuild")
        self.kafka.start(timeout=START_TIMEOUT)

    def define_processes(self) -> None:
        base = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "KASANE_AUTH_JWKS": str(self.issuer.jwks_file),
            "KASANE_AUTH_ISSUER": self.issuer.issuer,
        }
        for service in SERVICES:
            port = free_port()
            prefix = f"KASANE_{service.name.upper()}_"
            env = {
                **base,
                **self.proxied(service.name).to_env(),
                prefix + "DATABASE_URL": self.database_urls[service.name],
                prefix + "PORT": str(port),
                prefix + "ORGANISATION": service.demo_organisation,
                **kek_env(self.home, service.name),
            }
            self.urls[service.name] = f"http://127.0.0.1:{port}"
            module = [sys.executable, "-m", f"services.{service.name}"]
            if service.name not in self.split:  # one process with every worker, as `make run` has it
                self._add(f"{service.name}.api", [*module, "serve"], env)
                continue
            self._add(f"{service.name}.api", [*module, "serve"], {**env, "KASANE_WORKERS": "none"})
            self._add(f"{service.name}.relay", [*module, "relay"], env)
            for n in range(1, self.consumers_per_service.get(service.name, 1) + 1):
                self._add(f"{service.name}.consumer{n}", [*module, "consumer"], env)
        projections_env = {
            **base,
            **self.proxied(PROJECTIONS).to_env(),
            "KASANE_PROJECTIONS_DATABASE_URL": self.database_urls["projections"],
            "KASANE_PROJECTIONS_PORT": str(self.projections_port),
        }
        self._add("projections", [sys.executable, "-m", "projections"], projections_env)

    def _add(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.processes[name] = Process(name, command, env, self.logs / f"{name}.log")

    def of_service(self, service: str) -> list[Process]:
        return [p for name, p in self.processes.items() if name.split(".")[0] == service]

    def start_all(self) -> None:
        for process in self.processes.values():
            if not process.running:
                process.start()

    def wait_healthy(self, timeout: float = HEALTH_TIMEOUT) -> None:
        """Every API answers /health with 200 (its database and the broker are reachable)."""
        deadline = time.monotonic() + timeout
        pending = {**self.urls, "projections": f"http://127.0.0.1:{self.projections_port}"}
        last: dict[str, str] = {}
        with httpx.Client(timeout=3) as client:
            while pending:
                for name, url in list(pending.items()):
                    process = self.processes[name if name == "projections" else f"{name}.api"]
                    if not process.running:
                        raise RuntimeError(f"{process.name} exited:\n{log_tail(process.log_file)}")
                    try:
                        response = client.get(f"{url}/health")
                        last[name] = f"{response.status_code} {response.text[:200]}"
                        if response.status_code == 200:
                            del pending[name]
                    except httpx.HTTPError as exc:
                        last[name] = repr(exc)
                if pending and time.monotonic() > deadline:
                    raise RuntimeError(f"not healthy in {timeout:.0f}s: {last}")
                if pending:
                    time.sleep(0.3)  # poll interval: each round asks every service again

    def exited(self) -> list[str]:
        """Processes that died although no fault killed them (the schedule restarts its victims)."""
        return [p.name for p in self.processes.values() if p.popen is not None and p.popen.poll() is not None]

    def stop(self) -> None:
        for process in self.processes.values():
            process.signal(signal.SIGCONT)
            process.signal(signal.SIGTERM)
        for process in self.processes.values():
            process.stop()
        with contextlib.suppress(Exception):
            self.kafka.stop()
        with contextlib.suppress(Exception):
            self.postgres.stop()
