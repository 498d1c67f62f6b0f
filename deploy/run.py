"""`make run` (`python -m deploy.run`): the whole system on this machine, in the foreground.

Starts PostgreSQL and Kafka (deploy.local), one database per program and every topic, then each
service and the projection service (the city dashboard) as child processes whose output goes to
`<home>/logs/<name>.log`; loads the demo cases once; waits until the dashboard shows them; prints
where everything is, the dashboard first; and on Ctrl-C or SIGTERM stops the processes, Kafka and
PostgreSQL in that order and checks that no process is left behind.

The municipality's directory (districts and their populations, organisations, users) is given to
every process by `KASANE_DIRECTORY`; when `--population` differs from the directory's own, a copy
with the district populations scaled to it is written under the home, so rates per 100,000 match
the generated town.

`--check` does all of that and then stops at once, exiting 0 only if everything worked: a smoke
test for CI and for the test suite. `--home` and `--base-port` let such a check run beside a
developer's `make run` without touching its files or ports.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import fcntl
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import IO, Any

import httpx

from contracts import programs
from contracts.kafka_access import PROJECTIONS
from deploy import demo
from deploy.local.issuer import DEFAULT_HOME as DEFAULT_ISSUER_HOME
from deploy.local.issuer import LocalIssuer
from deploy.local.kafka import LocalKafka, log_tail
from deploy.local.keys import kek_env
from deploy.local.ports import free_port
from deploy.local.postgres import LocalPostgres
from deploy.town import CITY, YEAR_START, plan
from libs import db
from libs.directory import DEFAULT_DIRECTORY, Directory
from libs.kafka import ensure_topics
from projections.projector import PROJECTION
from projections.runtime import caught_up, end_offsets

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_HOME = ROOT / ".kasane" / "run"
# One database per program, so each service owns its tables from day one.
DATABASES = (*programs.NAMES, programs.DIRECTORY, programs.PROJECTIONS)
HEALTH_TIMEOUT = 60.0
DEMO_TIMEOUT = 300.0
DASHBOARD_TIMEOUT = 180.0
STOP_TIMEOUT = 15.0
ADMINISTRATOR = "city-nakamura"
"""The demo municipality's administrator: the user who signs in to the dashboard."""


@dataclass(frozen=True)
class Ports:
    """Where everything listens; the defaults are the fixed local addresses of `make run`."""

    postgres: int = 5432
    kafka: int = 9092
    controller: int = 9093
    projections: int = programs.PROJECTIONS_PORT
    services: dict[str, int] = field(
        default_factory=lambda: {
            **{p.name: p.port for p in programs.PROGRAMS},
            programs.DIRECTORY: programs.DIRECTORY_PORT,
        }
    )

    def of(self, name: str) -> int:
        """The port of a service (the programs', the directory's) or of the dashboard (`projections`)."""
        return self.projections if name == DASHBOARD else self.services[name]

    @classmethod
    def starting_at(cls, base: int) -> Ports:
        """Consecutive ports from `base` (PostgreSQL, Kafka, its controller, the dashboard, the
        programs, then the directory); `0` lets the OS pick free ones."""
        count = 5 + len(programs.PROGRAMS)
        chosen: list[int] = list(range(base, base + count)) if base else []
        while len(chosen) < count:
            port = free_port()
            if port not in chosen:
                chosen.append(port)
        postgres, kafka, controller, projections, *services = chosen
        names = (*programs.NAMES, programs.DIRECTORY)
        return cls(postgres, kafka, controller, projections, dict(zip(names, services, strict=True)))


# A program runs once its package is built (services/<name>/bootstrap.py).
SERVICES = tuple(p for p in programs.PROGRAMS if (ROOT / "services" / p.name / "bootstrap.py").exists())
DASHBOARD = "projections"
"""The projection service: the city dashboard, read models of every program's public events."""


class Failure(Exception):
    """Something did not start or stopped unexpectedly; the message says what and shows the log."""


class StopRequested(Exception):
    """SIGINT (Ctrl-C) or SIGTERM arrived."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    raise StopRequested(signum)


_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM if this orchestrator dies, even by SIGKILL (Linux)."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def step(message: str) -> None:
    print(f"▸ {message}", flush=True)


def shown(path: Path) -> str:
    """A path as the developer would type it: relative to the repository when inside it."""
    with contextlib.suppress(ValueError):
        return str(path.relative_to(ROOT))
    return str(path)


def port_holder(port: int) -> str | None:
    """`pid N (command)` of whoever listens on `port`, where the OS lets us see it."""
    pid: str | None = None
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        ss = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True, timeout=5)
        found = re.search(r"pid=(\d+)", ss.stdout)
        pid = found.group(1) if found else None
    if pid is None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            lsof = subprocess.run(
                ["lsof", "-nP", f"-iTCP:{port}", "-sTCP:LISTEN", "-t"],
                capture_output=True,
                text=True,
                timeout=5,
            )
            pid = next(iter(lsof.stdout.split()), None)
    if pid is None:
        return None
    ps = subprocess.run(["ps", "-ww", "-o", "args=", "-p", pid], capture_output=True, text=True)
    command = ps.stdout.strip()
    return f"pid {pid} ({command})" if command else f"pid {pid}"


def ensure_port_free(port: int, what: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Servers set SO_REUSEADDR too, so connections in TIME_WAIT from a previous run do not count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            return
        except OSError:
            pass
    holder = port_holder(port)
    by = f" by {holder}" if holder else ""
    kill = f" (kill {holder.split()[1]})" if holder else ""
    raise Failure(
        f"ポート {port}（{what}）は使用中です。\n"
        f"Port {port} ({what}) is already in use{by}.\n"
        f"Is `make run` already running, in another terminal or left over from an earlier run? "
        f"Stop it{kill} and try again, or use other ports: python -m deploy.run --base-port 18000"
    )


def directory_for(home: Path, population: int) -> Path:
    """The directory file for a town of `population` people: the configured one when its districts
    add up to that, else a copy under `home` with every district's population scaled to it (largest
    remainders, so the districts add up exactly and rates per 100,000 are those of the town)."""
    source = Path(os.environ.get("KASANE_DIRECTORY", DEFAULT_DIRECTORY)).resolve()
    directory = Directory.load(source)
    if not directory.districts or directory.population == population:
        return source
    raw = json.loads(source.read_text(encoding="utf-8"))
    total = directory.population
    scaled = [divmod(int(d["population"]) * population, total) for d in raw["districts"]]
    short = population - sum(whole for whole, _ in scaled)
    rounded_up = sorted(range(len(scaled)), key=lambda i: scaled[i][1], reverse=True)[:short]
    for i, district in enumerate(raw["districts"]):
        district["population"] = scaled[i][0] + (1 if i in rounded_up else 0)
    target = home / "directory.json"
    target.write_text(json.dumps(raw, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return target


def running_processes(markers: list[str]) -> list[str]:
    """`pid command` of every process whose command line contains one of `markers`."""
    ps = subprocess.run(["ps", "-axww", "-o", "pid=,args="], capture_output=True, text=True, check=True)
    own = os.getpid()
    found = []
    for line in ps.stdout.splitlines():
        pid, _, args = line.strip().partition(" ")
        if int(pid) != own and any(marker in args for marker in markers):
            found.append(line.strip())
    return found


class Stack:
    """PostgreSQL, Kafka, the services and the dashboard of one home folder, started and stopped in order."""

    def __init__(self, home: Path, ports: Ports, population: int = demo.SMALL_TOWN) -> None:
        self.home = home
        self.ports = ports
        self.population = population
        self.logs = home / "logs"
        self.postgres = LocalPostgres(home / "postgres", port=ports.postgres)
        self.kafka = LocalKafka(home / "kafka", port=ports.kafka, controller_port=ports.controller)
        self.issuer = LocalIssuer(home / "issuer")
        self.database_urls: dict[str, str] = {}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._lock: IO[str] | None = None
        self.started = False  # whether anything was (re)started, i.e. there is something to stop

    @property
    def owns_home(self) -> bool:
        """Whether this process holds the home's lock (only then may it stop what runs there)."""
        return self._lock is not None

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports.of(service)}"

    def log_file(self, service: str) -> Path:
        return self.logs / f"{service}.log"

    @property
    def dashboard_url(self) -> str:
        return f"{self.url(DASHBOARD)}/"

    # --- start ------------------------------------------------------------------------------

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        self._take_lock()
        for name in (
            programs.DIRECTORY,
            *(s.name for s in SERVICES),
            DASHBOARD,
        ):  # another run may serve these
            ensure_port_free(self.ports.of(name), name)
        # Whatever an earlier, unclean run left in this home goes first; then the ports must be free.
        self.kafka.stop()
        self.postgres.stop()
        ensure_port_free(self.ports.postgres, "PostgreSQL")
        ensure_port_free(self.ports.kafka, "Kafka")
        ensure_port_free(self.ports.controller, "Kafka controller")

        step(f"PostgreSQL を起動 / starting PostgreSQL on 127.0.0.1:{self.ports.postgres}")
        self.started = True
        self.postgres.start()
        self.database_urls = {name: self.postgres.create_database(name) for name in DATABASES}
        step(f"Kafka を起動 / starting Kafka on {self.kafka.bootstrap_servers}")
        self.kafka.start()
        asyncio.run(ensure_topics(self.kafka.connection()))
        # This process (the demo's tokens) and every child read the same directory.
        os.environ["KASANE_DIRECTORY"] = str(directory_for(self.home, self.population))
        step(
            "サービスを起動 / starting services: "
            + ", ".join((programs.DIRECTORY, *(s.name for s in SERVICES), DASHBOARD))
        )
        self._spawn_service(programs.DIRECTORY, programs.DIRECTORY_ORGANISATION)
        for service in SERVICES:
            self._spawn_service(service.name, service.demo_organisation)
        self._spawn_dashboard()
        self.wait_healthy(time.monotonic() + HEALTH_TIMEOUT)

    def _take_lock(self) -> None:
        """One orchestrator per home: a second `make run` must not restart the first one's broker."""
        lock = (self.home / "run.lock").open("a+")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            owner = lock.read().strip() or "?"
            lock.close()
            raise Failure(
                f"{shown(self.home)} は別の deploy.run（pid {owner}）が使用中です。\n"
                f"Another deploy.run (pid {owner}) is using {shown(self.home)}: stop it first (Ctrl-C there)."
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"{os.getpid()}\n")
        lock.flush()
        self._lock = lock

    def _spawn_service(self, name: str, organisation: str) -> None:
        """A program's service, or the municipality's directory (which the others follow)."""
        prefix = f"KASANE_{name.upper()}_"
        env = {
            # Each service logs in to Kafka as its own principal (contracts/kafka_access.py).
            **self.kafka.connection(name).to_env(),
            prefix + "DATABASE_URL": self.database_urls[name],
            prefix + "PORT": str(self.ports.of(name)),
            prefix + "ORGANISATION": organisation,
            **kek_env(self.home, name),
        }
        self._spawn(name, f"services.{name}", env)

    def _spawn_dashboard(self) -> None:
        """The projection service: reads every topic as the `projections` principal (read-only), has
        its own database, and finds the services (for case timelines and audit) by their addresses."""
        env = {
            **self.kafka.connection(PROJECTIONS).to_env(),
            "KASANE_PROJECTIONS_DATABASE_URL": self.database_urls[DASHBOARD],
            "KASANE_PROJECTIONS_PORT": str(self.ports.projections),
            **{f"KASANE_{s.name.upper()}_URL": self.url(s.name) for s in SERVICES},
        }
        self._spawn(DASHBOARD, "projections", env)

    def _spawn(self, name: str, module: str, own_env: dict[str, str]) -> None:
        port = self.ports.of(name)
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "KASANE_AUTH_JWKS": str(self.issuer.jwks_file),
            "KASANE_AUTH_ISSUER": self.issuer.issuer,
            **own_env,
        }
        with self.log_file(name).open("ab") as log:
            stamp = datetime.now().isoformat(timespec="seconds")
            log.write(f"\n=== {stamp} starting {name} on 127.0.0.1:{port} ===\n".encode())
            log.flush()
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", module],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Own session: Ctrl-C in the terminal reaches only us, and we stop things in order.
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )

    def ensure_alive(self, service: str) -> None:
        proc = self.processes[service]
        if proc.poll() is not None:
            code = proc.returncode
            how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exited with code {code}"
            raise Failure(
                f"{service} が終了しました（{how}）。\n"
                f"{service} {how}; the end of {shown(self.log_file(service))}:\n"
                f"{log_tail(self.log_file(service))}"
            )

    def wait_healthy(self, deadline: float) -> None:
        """Poll every process's /health until it answers 200 (database and broker reachable)."""
        pending = list(self.processes)
        last: dict[str, str] = {}
        with httpx.Client(timeout=2) as client:
            while pending:
                for name in list(pending):
                    self.ensure_alive(name)
                    try:
                        response = client.get(f"{self.url(name)}/health")
                        last[name] = f"HTTP {response.status_code} {response.text}"
                        if response.status_code == 200:
                            pending.remove(name)
                    except httpx.HTTPError as exc:
                        last[name] = f"{type(exc).__name__}: {exc}"
                if not pending:
                    return
                if time.monotonic() > deadline:
                    name = pending[0]
                    raise Failure(
                        f"{name} が {HEALTH_TIMEOUT:.0f} 秒以内に応答しません。\n"
                        f"{name} was not healthy within {HEALTH_TIMEOUT:.0f}s (last: {last.get(name)}); "
                        f"the end of {shown(self.log_file(name))}:\n{log_tail(self.log_file(name))}"
                    )
                time.sleep(0.2)  # poll interval, not synchronisation: the loop waits for a real answer

    # --- demo -------------------------------------------------------------------------------

    def load_demo(self, population: int) -> dict[str, object]:
        """Load the demo cases unless this home already has them (a second `make run`)."""
        marker = self.home / "demo-loaded"
        with contextlib.suppress(OSError, ValueError, KeyError, IndexError, httpx.HTTPError):
            loaded: dict[str, object] = json.loads(marker.read_text())
            if loaded.get("population", population) != population:
                raise Failure(
                    f"{shown(self.home)} には人口 {loaded['population']:,} のデモが読み込み済みです。\n"
                    f"{shown(self.home)} holds the demo for a population of {loaded['population']:,}, "
                    f"not {population:,}: run with --population {loaded['population']}, or another --home, "
                    "or `make clean` first"
                )
            first, worker = loaded["cases"][0], loaded["first_worker"]  # type: ignore[index]
            token = self.issuer.token_for(str(worker))
            headers = {"Authorization": f"Bearer {token}"}
            if (
                httpx.get(f"{self.url('intake')}/cases/{first}", headers=headers, timeout=5).status_code
                == 200
            ):
                step("デモデータは読み込み済み / demo cases already loaded")
                return loaded
        step("デモデータを読み込み / loading demo cases")
        urls = {service.name: self.url(service.name) for service in SERVICES}
        town = demo.load(urls, self.issuer, population, timeout=DEMO_TIMEOUT)
        loaded = {
            "cases": town.cases,
            "first_worker": town.first_worker,
            "counts": town.counts,
            "population": population,
        }
        marker.write_text(json.dumps(loaded, indent=2) + "\n")
        return loaded

    def wait_dashboard(self, loaded: dict[str, Any], deadline: float) -> dict[str, int | None]:
        """Poll the dashboard as the administrator until its figures show what the demo loaded and
        the projector has read every topic to its end; return the totals it shows.

        Services publish through their outboxes and react to each other through Kafka, so the demo
        being loaded does not yet mean the dashboard shows it. Totals hidden as small counts (None)
        cannot be compared; the checkpoints reaching the ends of the topics cover them.
        """
        expected = demo.on_dashboard(loaded["counts"])
        period = {"from": YEAR_START.isoformat(), "to": plan(int(loaded["population"])).last_day.isoformat()}
        headers = {"Authorization": f"Bearer {self.issuer.token_for(ADMINISTRATOR)}"}
        last = "no answer yet"
        with httpx.Client(timeout=10) as client:
            while True:
                self.ensure_alive(DASHBOARD)
                try:
                    response = client.get(
                        f"{self.url(DASHBOARD)}/api/dashboard", params=period, headers=headers
                    )
                    if response.status_code != 200:
                        last = f"HTTP {response.status_code} {response.text[:300]}"
                    else:
                        totals = demo.dashboard_totals(response.json())
                        behind = {
                            key: f"{totals.get(key)} of {want}"
                            for key, want in expected.items()
                            # Hidden (None) cannot be compared; a figure the page dropped is not waited for.
                            if totals.get(key) is not None and totals[key] != want
                        }
                        if "flow.received" not in totals:
                            behind["flow.received"] = "no such figure"
                        last = f"not yet shown: {behind}" if behind else "projector behind the topics' ends"
                        if not behind and asyncio.run(self._projector_caught_up()):
                            return totals
                except httpx.HTTPError as exc:
                    last = f"{type(exc).__name__}: {exc}"
                if time.monotonic() > deadline:
                    raise Failure(
                        f"ダッシュボードが {DASHBOARD_TIMEOUT:.0f} 秒以内にデモを反映しません。\n"
                        f"The dashboard did not show the demo within {DASHBOARD_TIMEOUT:.0f}s ({last}); "
                        f"the end of {shown(self.log_file(DASHBOARD))}:\n{log_tail(self.log_file(DASHBOARD))}"
                    )
                time.sleep(0.5)  # poll interval: the projector catches up through Kafka

    async def _projector_caught_up(self) -> bool:
        engine = db.create_engine(self.database_urls[DASHBOARD])
        try:
            ends = await end_offsets(self.kafka.connection(PROJECTIONS))
            return await caught_up(engine, PROJECTION, ends)
        finally:
            await engine.dispose()

    # --- running ----------------------------------------------------------------------------

    def watch(self) -> None:
        """Stay in the foreground until a signal; fail if a service, Kafka or PostgreSQL stops."""
        next_infra_check = time.monotonic() + 5
        while True:
            for name in self.processes:
                self.ensure_alive(name)
            if time.monotonic() >= next_infra_check:
                if self.kafka.pid is None:
                    raise Failure(f"Kafka stopped unexpectedly:\n{log_tail(self.kafka.log_file)}")
                if self.postgres.pid is None:
                    raise Failure(f"PostgreSQL stopped unexpectedly:\n{log_tail(self.postgres.log_file)}")
                next_infra_check = time.monotonic() + 5
            time.sleep(0.5)

    # --- stop -------------------------------------------------------------------------------

    def stop(self) -> list[str]:
        """Services (SIGTERM, then SIGKILL), then Kafka, then PostgreSQL; return what went wrong."""
        if self._lock is None:
            return []
        problems: list[str] = []
        for proc in self.processes.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for name, proc in self.processes.items():
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                problems.append(f"{name} did not stop within {STOP_TIMEOUT:.0f}s of SIGTERM; killed")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for what, stop in (("Kafka", self.kafka.stop), ("PostgreSQL", self.postgres.stop)):
            try:
                stop()
            except Exception as exc:
                problems.append(f"stopping {what} failed: {exc}")
        self._lock.close()
        self._lock = None
        return problems

    def leftovers(self) -> list[str]:
        """Processes of this home still running: the broker, the postmaster, the services."""
        left = running_processes([str(self.kafka.props_file), str(self.postgres.data_dir)])
        for name, proc in self.processes.items():
            if proc.poll() is None:
                left.append(f"{proc.pid} {name}")
        return left


def token_command(stack: Stack, user: str) -> str:
    """The command that prints a bearer token of `user`, signed by this run's local issuer."""
    python = shown(Path(sys.executable))
    if stack.issuer.home.resolve() == DEFAULT_ISSUER_HOME.resolve():
        return f"{python} -m deploy.local.issuer token {user}"
    return (
        f"{python} -c 'from pathlib import Path; from deploy.local.issuer import LocalIssuer; "
        f'print(LocalIssuer(Path("{stack.issuer.home}")).token_for("{user}"))\''
    )


def banner(
    stack: Stack, loaded: dict[str, object] | None, shows: dict[str, int | None] | None, elapsed: float
) -> str:
    ports = stack.ports
    intake, coordination = stack.url("intake"), stack.url("coordination")
    rule = "─" * 72
    lines = [
        rule,
        f" Kasane ローカル環境 / local environment   （起動 {elapsed:.1f} 秒 / up in {elapsed:.1f} s）",
        rule,
        f"  ダッシュボード / dashboard  {stack.dashboard_url}",
        "      ログイン / sign in      このコマンドが出すトークンを貼り付け / paste the token this prints:",
        f"        {token_command(stack, ADMINISTRATOR)}",
    ]
    if shows:
        figures = {
            "flow.received": "相談 consultations",
            "flow.plan_agreed": "プラン plans",
            "activities": "活動 activities",
        }
        shown_figures = ", ".join(
            f"{label} {shows[key]}" for key, label in figures.items() if shows.get(key) is not None
        )
        lines.append(f"      反映済み / showing      {shown_figures}")
    lines += [
        rule,
        f"  相談受付 intake            {intake}",
        f"      API ドキュメント / docs  {intake}/docs   OpenAPI {intake}/openapi.json",
        f"  多機関協働 coordination    {coordination}",
        f"      API ドキュメント / docs  {coordination}/docs",
        *(f"  {f'{s.label} {s.name}':<26} {stack.url(s.name)}/docs" for s in SERVICES[2:]),
        f"  {f'{programs.DIRECTORY_LABEL} {programs.DIRECTORY}':<26} {stack.url(programs.DIRECTORY)}/docs"
        f"  (市町村担当課 / administrator: {ADMINISTRATOR})",
        f"  Kafka                      127.0.0.1:{ports.kafka}  (SASL_SSL, SCRAM-SHA-512; passwords "
        f"{shown(stack.kafka.credentials_file)}, CA {shown(stack.kafka.ca_file)})",
        f"  PostgreSQL                 127.0.0.1:{ports.postgres}  (user postgres; "
        f"databases {', '.join(DATABASES)})",
        f"  ログ / logs                {shown(stack.logs)}/  (Kafka: {shown(stack.kafka.log_file)}, "
        f"PostgreSQL: {shown(stack.postgres.log_file)})",
    ]
    if loaded is not None:
        cases: list[str] = loaded.get("cases", [])  # type: ignore[assignment]
        counts = ", ".join(f"{key} {value}" for key, value in loaded.get("counts", {}).items())  # type: ignore[union-attr]
        population = loaded.get("population", demo.SMALL_TOWN)
        lines.append(f"  デモ / demo                架空市（人口 {population:,}）の1年: {counts}")
        if cases:
            lines.append(f"      例 / e.g.              {intake}/cases/{cases[0]}")
    lines += [
        f"  ログイン / sign in          {token_command(stack, '<利用者 / user>')}",
        "      利用者 / users          soudan-sato, chuo-suzuki, tagikan-tanaka, kansa-kobayashi, …"
        " (deploy/demo-municipality.json)",
        rule,
        " Ctrl-C で停止 / Ctrl-C to stop",
        rule,
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.run",
        description="Run PostgreSQL, Kafka and the Kasane services locally, with demo cases.",
    )
    parser.add_argument("--no-demo", action="store_true", help="do not load the demo cases")
    parser.add_argument(
        "--population",
        type=int,
        default=demo.SMALL_TOWN,
        help=f"size of the generated demo municipality (default {demo.SMALL_TOWN:,}; a city is {CITY:,})",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="start everything, load the demo, wait for the dashboard to show it, verify health, "
        "stop cleanly and exit (0 = all worked)",
    )
    parser.add_argument(
        "--home",
        type=Path,
        default=DEFAULT_HOME,
        help=f"folder for data, logs and pid files (default: {shown(DEFAULT_HOME)})",
    )
    parser.add_argument(
        "--base-port",
        type=int,
        metavar="PORT",
        help="use PORT..PORT+8 for PostgreSQL, Kafka, Kafka's controller, the five services and the "
        "dashboard instead of 5432, 9092, 9093, 8001-8005 and 8000; 0 picks free ports",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ports = Ports() if args.base_port is None else Ports.starting_at(args.base_port)
    stack = Stack(args.home.resolve(), ports, args.population)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _raise_stop)
    began = time.monotonic()
    code = 0
    try:
        stack.start()
        loaded = None if args.no_demo else stack.load_demo(args.population)
        shows = None
        if loaded is not None:
            step("ダッシュボードへの反映を待機 / waiting for the dashboard to show the demo")
            shows = stack.wait_dashboard(loaded, time.monotonic() + DASHBOARD_TIMEOUT)
        print(banner(stack, loaded, shows, time.monotonic() - began), flush=True)
        if args.check:
            stack.wait_healthy(time.monotonic() + HEALTH_TIMEOUT)
            step("確認完了 / check passed: every service and the dashboard are healthy")
        else:
            stack.watch()
    except StopRequested as stop:
        print(f"\n{stop} を受信 / received {stop}", flush=True)
        code = 128 + stop.signum if args.check else 0
    except (Failure, demo.DemoError, TimeoutError) as exc:  # TimeoutError: Kafka or PostgreSQL not up
        print(f"\nエラー / error: {exc}", file=sys.stderr, flush=True)
        code = 1
    except Exception:
        traceback.print_exc()
        code = 1
    finally:
        # Shutting down must finish: further Ctrl-Cs would only leave processes behind.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
    if not stack.owns_home:
        return code  # another run owns this home: nothing here is ours to stop
    if stack.started:
        step("停止中 / stopping services, Kafka, PostgreSQL")
    problems = stack.stop()
    left = stack.leftovers()
    for problem in problems:
        print(f"警告 / warning: {problem}", file=sys.stderr)
    if left:
        print("残っているプロセス / processes left running:\n  " + "\n  ".join(left), file=sys.stderr)
        return code or 1
    if stack.started:
        step("停止しました / stopped; no processes left")
    return code


if __name__ == "__main__":
    sys.exit(main())
