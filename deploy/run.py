"""`make run` (`python -m deploy.run`): the whole system on this machine, in the foreground.

Starts PostgreSQL and Kafka (deploy.local), one database per program and every topic, then each
service as a child process whose output goes to `<home>/logs/<service>.log`; loads the demo cases
once; prints where everything is; and on Ctrl-C or SIGTERM stops the services, Kafka and
PostgreSQL in that order and checks that no process is left behind.

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
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import IO

import httpx

from deploy import demo
from deploy.local.issuer import LocalIssuer
from deploy.local.kafka import LocalKafka, log_tail
from deploy.local.keys import kek_env
from deploy.local.ports import free_port
from deploy.local.postgres import LocalPostgres
from deploy.town import CITY
from libs.kafka import ensure_topics

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_HOME = ROOT / ".kasane" / "run"
# One database per program, so each service owns its tables from day one.
DATABASES = ("intake", "coordination", "outreach", "participation", "community", "projections")
HEALTH_TIMEOUT = 60.0
DEMO_TIMEOUT = 300.0
STOP_TIMEOUT = 15.0


@dataclass(frozen=True)
class Ports:
    """Where everything listens; the defaults are the fixed local addresses of `make run`."""

    postgres: int = 5432
    kafka: int = 9092
    controller: int = 9093
    intake: int = 8001
    coordination: int = 8002
    outreach: int = 8003
    participation: int = 8004
    community: int = 8005

    @classmethod
    def starting_at(cls, base: int) -> Ports:
        """Eight consecutive ports from `base`; `0` lets the OS pick eight free ones."""
        if base:
            return cls(*range(base, base + 8))
        chosen: list[int] = []
        while len(chosen) < 8:
            port = free_port()
            if port not in chosen:
                chosen.append(port)
        return cls(*chosen)


@dataclass(frozen=True)
class Service:
    name: str
    label: str
    organisation: str


PROGRAMS = (
    Service("intake", "相談受付 intake", "city-soudan"),
    Service("coordination", "多機関協働 coordination", "shakyo-tagikan"),
    Service("outreach", "アウトリーチ outreach", "npo-tsunagari"),
    Service("participation", "参加支援 participation", "shakyo-sanka"),
    Service("community", "地域づくり community", "shakyo-chiiki"),
)
# A program runs once its package is built (services/<name>/bootstrap.py).
SERVICES = tuple(s for s in PROGRAMS if (ROOT / "services" / s.name / "bootstrap.py").exists())


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
    """PostgreSQL, Kafka and the services of one home folder, started and stopped in order."""

    def __init__(self, home: Path, ports: Ports) -> None:
        self.home = home
        self.ports = ports
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
        return f"http://127.0.0.1:{getattr(self.ports, service)}"

    def log_file(self, service: str) -> Path:
        return self.logs / f"{service}.log"

    # --- start ------------------------------------------------------------------------------

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        self._take_lock()
        for service in SERVICES:  # before touching anything: another run may be serving these
            ensure_port_free(getattr(self.ports, service.name), service.name)
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
        step("サービスを起動 / starting services: " + ", ".join(s.name for s in SERVICES))
        for service in SERVICES:
            self._spawn(service)
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

    def _spawn(self, service: Service) -> None:
        port = getattr(self.ports, service.name)
        prefix = f"KASANE_{service.name.upper()}_"
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            # Each service logs in to Kafka as its own principal (contracts/kafka_access.py).
            **self.kafka.connection(service.name).to_env(),
            prefix + "DATABASE_URL": self.database_urls[service.name],
            prefix + "PORT": str(port),
            prefix + "ORGANISATION": service.organisation,
            "KASANE_AUTH_JWKS": str(self.issuer.jwks_file),
            "KASANE_AUTH_ISSUER": self.issuer.issuer,
            **kek_env(self.home, service.name),
        }
        with self.log_file(service.name).open("ab") as log:
            stamp = datetime.now().isoformat(timespec="seconds")
            log.write(f"\n=== {stamp} starting {service.name} on 127.0.0.1:{port} ===\n".encode())
            log.flush()
            self.processes[service.name] = subprocess.Popen(
                [sys.executable, "-m", f"services.{service.name}"],
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
        """Poll every service's /health until it answers 200 (database and broker reachable)."""
        pending = [service.name for service in SERVICES]
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

    # --- running ----------------------------------------------------------------------------

    def watch(self) -> None:
        """Stay in the foreground until a signal; fail if a service, Kafka or PostgreSQL stops."""
        next_infra_check = time.monotonic() + 5
        while True:
            for service in SERVICES:
                self.ensure_alive(service.name)
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


def banner(stack: Stack, loaded: dict[str, object] | None, elapsed: float) -> str:
    ports = stack.ports
    intake, coordination = stack.url("intake"), stack.url("coordination")
    rule = "─" * 72
    lines = [
        rule,
        f" Kasane ローカル環境 / local environment   （起動 {elapsed:.1f} 秒 / up in {elapsed:.1f} s）",
        rule,
        f"  相談受付 intake            {intake}",
        f"      API ドキュメント / docs  {intake}/docs   OpenAPI {intake}/openapi.json",
        f"  多機関協働 coordination    {coordination}",
        f"      API ドキュメント / docs  {coordination}/docs",
        *(f"  {s.label:<26} {stack.url(s.name)}/docs" for s in SERVICES[2:]),
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
        "  ログイン / sign in          トークン / token: python -m deploy.local.issuer token <利用者 / user>",
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
        help="start everything, load the demo, verify health, stop cleanly and exit (0 = all worked)",
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
        help="use PORT..PORT+7 for PostgreSQL, Kafka, Kafka's controller and the five services "
        "instead of 5432, 9092, 9093, 8001, 8002; 0 picks free ports",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ports = Ports() if args.base_port is None else Ports.starting_at(args.base_port)
    stack = Stack(args.home.resolve(), ports)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _raise_stop)
    began = time.monotonic()
    code = 0
    try:
        stack.start()
        loaded = None if args.no_demo else stack.load_demo(args.population)
        print(banner(stack, loaded, time.monotonic() - began), flush=True)
        if args.check:
            stack.wait_healthy(time.monotonic() + HEALTH_TIMEOUT)
            step("確認完了 / check passed: every service is healthy")
        else:
            stack.watch()
    except StopRequested as stop:
        print(f"\n{stop} を受信 / received {stop}", flush=True)
        code = 128 + stop.signum if args.check else 0
    except (Failure, demo.DemoError) as exc:
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
