"""The fault schedule: what breaks, when, for how long, and how it is healed.

Each fault is a coroutine that breaks one thing, holds the fault, and heals it again, so the
schedule is a plain list run in order while the workload keeps going. Blocking steps (a broker or
PostgreSQL restart) run in a thread: the workload and the proxy share this event loop.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from faults.cluster import Cluster
from faults.proxy import Proxy

log = logging.getLogger(__name__)

# aiokafka's session timeout is 10 s (libs/kafka.py): a pause longer than that makes the group
# coordinator give the paused member's partitions to another member.
REBALANCE_PAUSE = 14.0
# A 2-core machine shared with other work can take minutes to start a JVM; a slow start is not a
# fault of the system under test.
START_TIMEOUT = 300.0


@dataclass
class Fault:
    name: str
    run: Callable[[], Awaitable[None]]


@dataclass
class Nemesis:
    cluster: Cluster
    proxy: Proxy
    log: list[str] = field(default_factory=list)
    began: float = field(default_factory=time.monotonic)
    died_on_their_own: list[str] = field(default_factory=list)
    harness_errors: list[str] = field(default_factory=list)

    def note(self, what: str) -> None:
        line = f"{time.monotonic() - self.began:6.1f}s  {what}"
        self.log.append(line)
        print(f"  nemesis {line}", flush=True)

    # --- processes ---------------------------------------------------------------------------

    def kill(self, *names: str, hold: float = 2.0) -> Fault:
        async def run() -> None:
            for name in names:
                self.cluster.processes[name].kill()
            self.note(f"kill -9 {', '.join(names)}")
            await asyncio.sleep(hold)  # the fault lasts this long
            for name in names:
                self.cluster.processes[name].start()
            self.note(f"restarted {', '.join(names)}")

        return Fault(f"kill -9 {', '.join(names)}", run)

    def kill_service(self, service: str, hold: float = 3.0) -> Fault:
        names = [p.name for p in self.cluster.of_service(service)]
        fault = self.kill(*names, hold=hold)
        fault.name = f"kill -9 service {service}"
        return fault

    def pause(self, name: str, seconds: float = REBALANCE_PAUSE) -> Fault:
        async def run() -> None:
            process = self.cluster.processes[name]
            process.signal(signal.SIGSTOP)
            self.note(f"SIGSTOP {name} for {seconds:.0f}s (group rebalances)")
            await asyncio.sleep(seconds)  # the fault lasts this long
            process.signal(signal.SIGCONT)
            self.note(f"SIGCONT {name}")

        return Fault(f"SIGSTOP/SIGCONT {name}", run)

    # --- infrastructure ----------------------------------------------------------------------

    def broker_restart(self, *, crash: bool, hold: float = 3.0) -> Fault:
        async def run() -> None:
            kafka = self.cluster.kafka
            await asyncio.to_thread(kafka.kill if crash else kafka.stop)
            self.note("Kafka " + ("kill -9" if crash else "stopped (SIGTERM)"))
            await asyncio.sleep(hold)  # the fault lasts this long
            await asyncio.to_thread(kafka.start, START_TIMEOUT)
            self.note("Kafka started")

        return Fault("Kafka " + ("kill -9 and start" if crash else "stop and start"), run)

    def postgres_restart(self, hold: float = 2.0) -> Fault:
        async def run() -> None:
            postgres = self.cluster.postgres
            await asyncio.to_thread(postgres.kill)
            self.note("PostgreSQL immediate shutdown (crash, no checkpoint)")
            await asyncio.sleep(hold)  # the fault lasts this long
            await asyncio.to_thread(postgres.start, START_TIMEOUT)
            self.note("PostgreSQL started (crash recovery)")

        return Fault("PostgreSQL crash and restart", run)

    # --- network (proxy) ----------------------------------------------------------------------

    def delay(self, seconds: float, hold: float) -> Fault:
        async def run() -> None:
            self.proxy.delay = seconds
            self.note(f"proxy delays broker traffic by {seconds}s per chunk")
            await asyncio.sleep(hold)  # the fault lasts this long
            self.proxy.delay = 0.0
            self.note("proxy delay off")

        return Fault(f"broker traffic delayed {seconds}s", run)

    def cut(self, times: int, refuse: float = 2.0) -> Fault:
        async def run() -> None:
            for _ in range(times):
                self.proxy.refusing = True
                cut = self.proxy.drop_all()
                self.note(f"proxy reset {cut} connections, refusing new ones for {refuse:.0f}s")
                await asyncio.sleep(refuse)  # the fault lasts this long
                self.proxy.refusing = False
                await asyncio.sleep(refuse)  # let clients reconnect before the next cut

        return Fault(f"broker connections cut ×{times}", run)

    # --- composing ---------------------------------------------------------------------------

    def together(self, *faults: Fault, gap: float) -> Fault:
        """The first fault held while the others run one after another (a paused consumer while
        other processes are killed): overlapping faults, in less time."""
        first, rest = faults[0], faults[1:]

        async def others() -> None:
            for fault in rest:
                await asyncio.sleep(gap)  # the workload runs undisturbed between faults
                await fault.run()

        async def run() -> None:
            await asyncio.gather(first.run(), others())

        return Fault(" + ".join(f.name for f in faults), run)

    # --- running -----------------------------------------------------------------------------

    async def run(self, schedule: list[Fault], gap: float) -> None:
        for fault in schedule:
            await asyncio.sleep(gap)  # the workload runs undisturbed between faults
            try:
                await fault.run()
            except Exception as exc:  # the harness failed to heal; `heal()` tries again at the end
                self.note(f"{fault.name}: the nemesis could not finish it: {type(exc).__name__}: {exc}")
                self.harness_errors.append(f"{fault.name}: {type(exc).__name__}")

    async def heal(self) -> None:
        """Undo whatever may still be broken: network, infrastructure, paused or dead processes."""
        self.proxy.delay, self.proxy.refusing = 0.0, False
        if self.cluster.postgres.pid is None:
            await asyncio.to_thread(self.cluster.postgres.start, START_TIMEOUT)
        if self.cluster.kafka.pid is None:
            await asyncio.to_thread(self.cluster.kafka.start, START_TIMEOUT)
        died = self.cluster.exited()
        for process in self.cluster.processes.values():
            process.signal(signal.SIGCONT)
        for name in died:
            self.cluster.processes[name].start()
        self.note("healed" + (f"; restarted processes that had died on their own: {died}" if died else ""))
        self.died_on_their_own = died


def short_schedule(n: Nemesis) -> list[Fault]:
    """The subset for `make test`: every kind of process fault, no infrastructure restarts. The
    whole intake service dies while a coordination consumer is paused (overlapping faults)."""
    return [
        n.kill("intake.relay"),
        n.kill("coordination.consumer1"),
        n.together(n.pause("coordination.consumer2"), n.kill_service("intake"), gap=3.0),
    ]


def full_schedule(n: Nemesis) -> list[Fault]:
    """Everything, one after another, for `make faults`."""
    return [
        n.kill("intake.relay"),
        n.kill("coordination.consumer1"),
        n.kill_service("participation"),
        n.pause("coordination.consumer2"),
        n.broker_restart(crash=False),
        n.postgres_restart(),
        n.delay(1.0, hold=10.0),
        n.cut(3),
        n.broker_restart(crash=True),
        n.kill("projections"),
        n.kill("coordination.relay", "intake.consumer1", "community.relay"),
        n.kill_service("outreach"),
    ]
