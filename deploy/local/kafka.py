"""A real single-node Kafka broker (KRaft, broker and controller in one JVM) run from Maven jars."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

KAFKA_DIR = Path(__file__).resolve().parents[2] / "deploy" / "kafka"
JARS_DIR = KAFKA_DIR / "target" / "dependency"
LOG4J_CONFIG = KAFKA_DIR / "log4j2.properties"


def process_running(pid: int, marker: str) -> bool:
    """Whether `pid` is alive (not a zombie) and its command line contains `marker`.

    The marker guards against a recycled pid: we never signal a process that is not ours.
    """
    ps = subprocess.run(["ps", "-ww", "-o", "stat=,args=", "-p", str(pid)], capture_output=True, text=True)
    line = ps.stdout.strip()
    return ps.returncode == 0 and not line.startswith("Z") and marker in line


def log_tail(path: Path, lines: int = 40) -> str:
    """The end of a log file, to put into exceptions so failures explain themselves."""
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class LocalKafka:
    """Starts and stops one Kafka broker whose config, data, logs and pid file all live in `home`."""

    def __init__(self, home: Path, port: int = 9092, controller_port: int = 9093) -> None:
        self.home = home.resolve()
        self.port = port
        self.controller_port = controller_port
        self.data_dir = self.home / "data"
        self.log_file = self.home / "logs" / "kafka.log"
        self.props_file = self.home / "server.properties"
        self.pid_file = self.home / "kafka.pid"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        """The address clients connect to."""
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The broker's pid if it is running (started by us or left over from an earlier run)."""
        if self._proc is not None:
            self._proc.poll()  # reap it if it died, so it does not linger as a zombie
        if not self.pid_file.exists():
            return None
        pid = int(self.pid_file.read_text().strip())
        return pid if process_running(pid, str(self.props_file)) else None

    def ensure_jars(self) -> None:
        """Download Kafka and its logging binding with Maven once; later runs reuse target/dependency."""
        if not list(JARS_DIR.glob("kafka_2.13-*.jar")):
            mvn = ["mvn", "-q", "-B", "-f", str(KAFKA_DIR / "pom.xml")]
            subprocess.run([*mvn, "dependency:copy-dependencies", "-DincludeScope=runtime"], check=True)

    def start(self, timeout: float = 90) -> None:
        """Start a fresh broker process and return once it answers metadata requests.

        Whatever still runs from `home` (an earlier run that was not stopped) is stopped first, so
        calling `start()` twice is a restart. Storage is formatted only on the very first start.
        """
        self.stop()
        self.ensure_jars()
        (self.home / "logs").mkdir(parents=True, exist_ok=True)
        self.props_file.write_text(self._properties())
        if not (self.data_dir / "meta.properties").exists():
            cluster_id = self._java("kafka.tools.StorageTool", "random-uuid").strip()
            self._java("kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(self.props_file))
        with self.log_file.open("ab") as log:
            self._proc = subprocess.Popen(
                self._java_command("-Xms256m", "-Xmx512m", "kafka.Kafka", str(self.props_file)),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.pid_file.write_text(f"{self._proc.pid}\n")
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self._proc.poll() is not None:
                raise RuntimeError(f"Kafka exited with {self._proc.returncode}:\n{log_tail(self.log_file)}")
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError(f"Kafka did not answer within {timeout}s:\n{log_tail(self.log_file)}")
            time.sleep(0.2)  # poll interval, not synchronisation: the loop waits for a real answer

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM (a clean shutdown flushes logs), then SIGKILL after `timeout`. Safe to call anytime."""
        pid = self.pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGCONT)  # a paused broker cannot handle SIGTERM
                os.killpg(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while self.pid is not None and time.monotonic() < deadline:
                time.sleep(0.1)
        self.kill()

    def kill(self) -> None:
        """SIGKILL the broker at once, as a crash would (for fault tests). Safe to call anytime."""
        pid = self.pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while self.pid is not None:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Kafka (pid {pid}) survived SIGKILL")
                time.sleep(0.05)
        self._proc = None
        self.pid_file.unlink(missing_ok=True)

    def pause(self) -> None:
        """Freeze the broker (SIGSTOP): connections stay open but nothing answers, like a hung host."""
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Undo `pause()`."""
        self._signal(signal.SIGCONT)

    def __enter__(self) -> LocalKafka:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _signal(self, sig: signal.Signals) -> None:
        pid = self.pid
        if pid is None:
            raise RuntimeError("Kafka is not running")
        os.killpg(pid, sig)

    def _properties(self) -> str:
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(self.data_dir),
            "num.partitions": "3",
            "auto.create.topics.enable": "false",
            "group.initial.rebalance.delay.ms": "0",
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            # After a crash (kill()) the controller refuses the restarted broker until the old session
            # expires; the default 9s would make every crash-recovery test wait that long.
            "broker.session.timeout.ms": "3000",
            "broker.heartbeat.interval.ms": "1000",
        }
        return "".join(f"{key}={value}\n" for key, value in settings.items())

    def _java_command(self, *args: str) -> list[str]:
        return [
            "java",
            f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
            f"-Dkafka.logs.dir={self.home / 'logs'}",
            "-cp",
            str(JARS_DIR / "*"),
            *args,
        ]

    def _java(self, *args: str) -> str:
        """Run a Kafka command-line tool to completion; its output also goes to the log."""
        result = subprocess.run(self._java_command(*args), capture_output=True, text=True)
        with self.log_file.open("a") as log:
            log.write(result.stdout + result.stderr)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} {args[1]} failed:\n{log_tail(self.log_file)}")
        return result.stdout

    def _answers(self) -> bool:
        """Whether the broker serves metadata listing itself, i.e. clients can really use it now."""
        with socket.socket() as sock:
            sock.settimeout(1)
            if sock.connect_ex(("127.0.0.1", self.port)) != 0:
                return False  # cheap check first; aiokafka logs errors for refused connections
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self._describe())
        with ThreadPoolExecutor(1) as pool:  # called from async code: use a loop in another thread
            return pool.submit(asyncio.run, self._describe()).result()

    async def _describe(self) -> bool:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers, request_timeout_ms=5000)
        try:
            await admin.start()
            cluster = await admin.describe_cluster()
        except KafkaError:
            return False
        finally:
            await admin.close()
        return any(broker["node_id"] == 1 for broker in cluster["brokers"])
