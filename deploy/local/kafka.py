"""A real single-node Kafka broker (KRaft, broker and controller in one JVM) run from Maven jars.

The broker is locked down as a production one would be (docs/security-kafka.md): clients and the
controller connection speak SASL over TLS only, every principal has a random password of this
installation, and the StandardAuthorizer denies whatever contracts/kafka_access.py does not grant.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import secrets
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

from aiokafka.errors import KafkaError

from contracts import kafka_access
from libs.kafka import SASL_MECHANISM, KafkaConnection, admin_client

KAFKA_DIR = Path(__file__).resolve().parents[2] / "deploy" / "kafka"
JARS_DIR = KAFKA_DIR / "target" / "dependency"
LOG4J_CONFIG = KAFKA_DIR / "log4j2.properties"
ACCESS_TOOL = KAFKA_DIR / "KasaneAccess.java"
ACCESS_CLASSES = KAFKA_DIR / "target" / "access"
# Kafka's minimum. Iterations slow down guessing weak passwords; ours are 144 random bits.
SCRAM_ITERATIONS = 4096
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"


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


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (passwords, private keys), replacing it atomically."""
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.replace(temporary, path)


def _jaas(module: str, **options: str) -> str:
    return f"{module} required " + " ".join(f'{key}="{value}"' for key, value in options.items()) + ";"


class LocalKafka:
    """Starts and stops one Kafka broker whose config, data, logs and pid file all live in `home`."""

    def __init__(
        self,
        home: Path,
        port: int = 9092,
        controller_port: int = 9093,
        *,
        proxied_port: int | None = None,
        proxy_port: int | None = None,
    ) -> None:
        """`proxied_port` and `proxy_port` (fault tests only, both or neither) add a second client
        listener on `proxied_port` that advertises `proxy_port`: clients that bootstrap through a
        TCP proxy on `proxy_port` are then told to keep using the proxy, so every byte between them
        and the broker passes through it, while `port` stays direct for admin tools."""
        if (proxied_port is None) != (proxy_port is None):
            raise ValueError("proxied_port and proxy_port go together")
        self.home = home.resolve()
        self.port = port
        self.controller_port = controller_port
        self.proxied_port = proxied_port
        self.proxy_port = proxy_port
        self.data_dir = self.home / "data"
        self.log_file = self.home / "logs" / "kafka.log"
        self.props_file = self.home / "server.properties"
        self.pid_file = self.home / "kafka.pid"
        self.credentials_file = self.home / "credentials.json"
        self.tls_dir = self.home / "tls"
        self.ca_file = self.tls_dir / "ca.pem"
        self.keystore_file = self.tls_dir / "broker.pem"
        self.access_log = self.home / "logs" / "access.log"
        self.access_applied = self.home / "access.applied"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        """The address clients connect to."""
        return f"127.0.0.1:{self.port}"

    def connection(self, user: str = kafka_access.ADMIN) -> KafkaConnection:
        """How `user` (a principal of contracts/kafka_access.py) reaches this broker."""
        return KafkaConnection(self.bootstrap_servers, user, self.credentials()[user], str(self.ca_file))

    def credentials(self) -> dict[str, str]:
        """Every principal's password; generated at the first start, kept in the broker's home."""
        try:
            credentials: dict[str, str] = json.loads(self.credentials_file.read_text())
        except FileNotFoundError:
            raise RuntimeError(f"{self.credentials_file} does not exist: start the broker once") from None
        return credentials

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
        """Download Kafka and its logging binding with Maven once; later runs reuse target/dependency.

        Also compiles the access tool whenever its source or the jars are newer than its class:
        running it from source would compile it on every broker start.
        """
        if not list(JARS_DIR.glob("kafka_2.13-*.jar")):
            mvn = ["mvn", "-q", "-B", "-f", str(KAFKA_DIR / "pom.xml")]
            subprocess.run([*mvn, "dependency:copy-dependencies", "-DincludeScope=runtime"], check=True)
        compiled = ACCESS_CLASSES / f"{ACCESS_TOOL.stem}.class"
        newest_input = max(ACCESS_TOOL.stat().st_mtime, JARS_DIR.stat().st_mtime)  # source or jars
        if not compiled.exists() or compiled.stat().st_mtime < newest_input:
            ACCESS_CLASSES.mkdir(parents=True, exist_ok=True)
            # Compiled aside and moved in: a test run and a `make run` may start brokers at once.
            with tempfile.TemporaryDirectory(dir=ACCESS_CLASSES.parent) as out:
                javac = ["javac", "-nowarn", "-d", out, "-cp", str(JARS_DIR / "*"), str(ACCESS_TOOL)]
                subprocess.run(javac, check=True)
                for built in Path(out).glob("*.class"):
                    os.replace(built, ACCESS_CLASSES / built.name)

    def start(self, timeout: float = 240) -> None:
        """Start a fresh broker process and return once every principal can use it.

        Whatever still runs from `home` (an earlier run that was not stopped) is stopped first, so
        calling `start()` twice is a restart. Passwords, TLS material and storage (with every SCRAM
        user) are made only on the very first start. When the users or ACLs of
        contracts/kafka_access.py differ from what this home last applied, a tool brings the broker
        in line while it boots; otherwise the broker already holds them in its metadata log.
        """
        self.stop()
        self.ensure_jars()
        (self.home / "logs").mkdir(parents=True, exist_ok=True)
        formatted = (self.data_dir / "meta.properties").exists()
        self._ensure_credentials(formatted)
        self._ensure_tls()
        write_private(self.props_file, self._properties())
        if not formatted:
            self._format()
        with self.log_file.open("ab") as log:
            self._proc = subprocess.Popen(
                self._java_command("-Xms256m", "-Xmx512m", "kafka.Kafka", str(self.props_file)),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.pid_file.write_text(f"{self._proc.pid}\n")
        spec = self._access_spec()
        fingerprint = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()
        applied = self.access_applied.read_text().strip() if self.access_applied.exists() else None
        access = None if applied == fingerprint else self._start_access_tool(spec)
        try:
            self._await_ready(access, time.monotonic() + timeout)
        except BaseException:
            if access is not None and access.poll() is None:
                access.kill()
                access.wait()
            self.kill()
            raise
        if access is not None:
            write_private(self.access_applied, fingerprint + "\n")

    def _await_ready(self, access: subprocess.Popen[bytes] | None, deadline: float) -> None:
        """Until the access tool is done (it got its answers from the broker), or without one,
        until the broker answers the admin; fail as soon as the broker or the tool fails."""
        assert self._proc is not None
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError(f"Kafka exited with {self._proc.returncode}:\n{log_tail(self.log_file)}")
            if access is None:
                if self._answers():
                    return
            elif (done := access.poll()) == 0:
                return
            elif done is not None:
                raise RuntimeError(f"setting up Kafka users and ACLs failed:\n{log_tail(self.access_log)}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"Kafka was not ready in time:\n{log_tail(self.log_file)}")
            if access is None:
                time.sleep(0.2)  # poll interval, not synchronisation: the loop waits for a real answer
            else:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    access.wait(timeout=0.2)  # returns the moment the tool is done

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

    def _ensure_credentials(self, formatted: bool) -> None:
        """A random password per principal, made once per installation and never committed.

        Principals added to contracts/kafka_access.py later get a password on the next start; the
        access tool then creates their SCRAM users.
        """
        existing = self.credentials() if self.credentials_file.exists() else {}
        if formatted and kafka_access.ADMIN not in existing:
            raise RuntimeError(
                f"{self.data_dir} holds a Kafka cluster but {self.credentials_file} with its passwords "
                f"is gone: nothing can log in to it. Delete {self.home} to start afresh."
            )
        wanted = {name: existing.get(name) or secrets.token_urlsafe(24) for name in kafka_access.principals()}
        if wanted != existing:
            write_private(self.credentials_file, json.dumps(wanted, indent=2) + "\n")

    def _ensure_tls(self) -> None:
        """A CA of this installation and a broker certificate for 127.0.0.1 signed by it.

        The CA's key exists only while it signs the broker's certificate: nothing else can ever
        be signed by it, so trusting `ca_file` means trusting exactly this broker.
        """
        if self.ca_file.exists() and self.keystore_file.exists():
            return
        self.tls_dir.mkdir(mode=0o700, exist_ok=True)
        new_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        ca_extensions = ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign"]
        broker_extensions = [
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "basicConstraints=critical,CA:FALSE",
            "keyUsage=critical,digitalSignature",
            "extendedKeyUsage=serverAuth",
        ]
        with tempfile.TemporaryDirectory(dir=self.tls_dir) as work:
            ca_key, ca_pem = f"{work}/ca.key", f"{work}/ca.pem"
            key, csr, cert, ext = (f"{work}/broker.{suffix}" for suffix in ("key", "csr", "crt", "ext"))
            Path(ext).write_text("".join(f"{line}\n" for line in broker_extensions))
            ca = ["-x509", *new_key, "-days", "3650", "-subj", "/CN=Kasane local Kafka CA"]
            ca += [arg for extension in ca_extensions for arg in ("-addext", extension)]
            _openssl("req", *ca, "-keyout", ca_key, "-out", ca_pem)
            _openssl("req", "-new", *new_key, "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", csr)
            sign = ["-CA", ca_pem, "-CAkey", ca_key, "-set_serial", f"0x{secrets.token_hex(16)}"]
            _openssl("x509", "-req", "-in", csr, *sign, "-days", "3650", "-extfile", ext, "-out", cert)
            write_private(self.keystore_file, Path(key).read_text() + Path(cert).read_text())
            os.replace(ca_pem, self.ca_file)

    def _format(self) -> None:
        """Format storage with every principal's SCRAM credential (KIP-900): the broker can log in
        to itself and the access tool as admin before any user could be made over the network, and
        the tool has no users left to make.

        Only salted passwords go on the command line, never the passwords themselves.
        """
        users: list[str] = []
        for name, password in self.credentials().items():
            salt = secrets.token_bytes(32)
            salted = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, SCRAM_ITERATIONS)
            encoded = {"salt": base64.b64encode(salt).decode(), "salted": base64.b64encode(salted).decode()}
            users += [
                "--add-scram",
                f"{SASL_MECHANISM}=[name={name},iterations={SCRAM_ITERATIONS},"
                f'salt="{encoded["salt"]}",saltedpassword="{encoded["salted"]}"]',
            ]
        self._java(
            "kafka.tools.StorageTool", "format", "-t", _cluster_id(), "-c", str(self.props_file), *users
        )
        self.access_applied.unlink(missing_ok=True)  # a new cluster has no ACLs yet

    def _access_spec(self) -> dict[str, object]:
        """What the broker must hold: every principal's SCRAM user and every grant as an ACL."""
        return {
            "users": self.credentials(),
            "acls": [
                {
                    "principal": f"User:{grant.principal}",
                    "resourceType": grant.resource,
                    "patternType": grant.pattern,
                    "name": grant.name,
                    "operation": grant.operation,
                }
                for grant in kafka_access.grants()
            ],
        }

    def _start_access_tool(self, spec: dict[str, object]) -> subprocess.Popen[bytes]:
        """Start deploy/kafka/KasaneAccess.java with `spec` and the admin's client settings on stdin.

        It runs beside the booting broker and connects once the broker listens, so its JVM start-up
        overlaps the broker's instead of adding to it.
        """
        client = {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": SASL_MECHANISM,
            "sasl.jaas.config": _jaas(
                "org.apache.kafka.common.security.scram.ScramLoginModule",
                username=kafka_access.ADMIN,
                password=self.credentials()[kafka_access.ADMIN],
            ),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(self.ca_file),
            # It starts before the broker listens: retry connecting every 200 ms at most, and do
            # not "re-bootstrap", which 4.1's admin client does in a tight loop meanwhile.
            "reconnect.backoff.max.ms": "200",
            "metadata.recovery.strategy": "none",
            "default.api.timeout.ms": "90000",
        }
        # A short-lived client: C1 only, one compiler thread, serial GC, so it leaves the CPU to the broker.
        quiet = ["-XX:TieredStopAtLevel=1", "-XX:CICompilerCount=1", "-XX:+UseSerialGC", "-Xmx128m"]
        classpath = f"{JARS_DIR / '*'}{os.pathsep}{ACCESS_CLASSES}"
        command = self._java_command(*quiet, ACCESS_TOOL.stem, classpath=classpath)
        with self.access_log.open("ab") as log:
            tool = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT)
        assert tool.stdin is not None
        tool.stdin.write(json.dumps({"client": client, **spec}).encode())
        tool.stdin.close()
        return tool

    def _properties(self) -> str:
        admin = self.credentials()[kafka_access.ADMIN]
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            # No PLAINTEXT listener at all: clients log in with SCRAM over TLS; the broker logs in
            # to its controller over TLS with PLAIN, checked against this file (SCRAM users live in
            # the metadata log the controller serves; SCRAM on the controller listener is
            # KAFKA-15513, and PLAIN there is the setup Kafka's maintainers suggest).
            "listeners": f"CLIENT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"CLIENT://127.0.0.1:{self.port}",
            "listener.security.protocol.map": "CLIENT:SASL_SSL,CONTROLLER:SASL_SSL",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "CLIENT",
            "listener.name.client.sasl.enabled.mechanisms": SASL_MECHANISM,
            "sasl.mechanism.inter.broker.protocol": SASL_MECHANISM,
            f"listener.name.client.{SASL_MECHANISM.lower()}.sasl.jaas.config": _jaas(
                "org.apache.kafka.common.security.scram.ScramLoginModule",
                username=kafka_access.ADMIN,
                password=admin,
            ),
            "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
            "sasl.mechanism.controller.protocol": "PLAIN",
            "listener.name.controller.plain.sasl.jaas.config": _jaas(
                "org.apache.kafka.common.security.plain.PlainLoginModule",
                username=kafka_access.ADMIN,
                password=admin,
                **{f"user_{kafka_access.ADMIN}": admin},
            ),
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(self.keystore_file),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(self.ca_file),
            "ssl.client.auth": "none",
            "authorizer.class.name": AUTHORIZER,
            "allow.everyone.if.no.acl.found": "false",
            "super.users": f"User:{kafka_access.ADMIN}",
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
        if self.proxied_port is not None:
            settings |= self._proxied_listener(settings, admin)
        return "".join(f"{key}={value}\n" for key, value in settings.items())

    def _proxied_listener(self, settings: dict[str, str], admin: str) -> dict[str, str]:
        """The PROXIED listener: like CLIENT (SASL_SSL, SCRAM), but advertising the proxy's port."""
        return {
            "listeners": f"{settings['listeners']},PROXIED://127.0.0.1:{self.proxied_port}",
            "advertised.listeners": (
                f"{settings['advertised.listeners']},PROXIED://127.0.0.1:{self.proxy_port}"
            ),
            "listener.security.protocol.map": f"{settings['listener.security.protocol.map']},PROXIED:SASL_SSL",
            "listener.name.proxied.sasl.enabled.mechanisms": SASL_MECHANISM,
            f"listener.name.proxied.{SASL_MECHANISM.lower()}.sasl.jaas.config": _jaas(
                "org.apache.kafka.common.security.scram.ScramLoginModule",
                username=kafka_access.ADMIN,
                password=admin,
            ),
        }

    def _java_command(self, *args: str, classpath: str = str(JARS_DIR / "*")) -> list[str]:
        return [
            "java",
            f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
            f"-Dkafka.logs.dir={self.home / 'logs'}",
            "-cp",
            classpath,
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
        """Whether the broker serves metadata listing itself to the admin, i.e. clients can use it."""
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
        admin = admin_client(self.connection(), request_timeout_ms=5000)
        try:
            await admin.start()
            cluster = await admin.describe_cluster()
        except KafkaError:
            return False
        finally:
            await admin.close()
        return any(broker["node_id"] == 1 for broker in cluster["brokers"])


def _openssl(*args: str) -> None:
    result = subprocess.run(["openssl", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed:\n{result.stderr}")


def _cluster_id() -> str:
    """A Kafka cluster id (what `StorageTool random-uuid` prints), without starting a JVM for it."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):  # Kafka never hands out ids a command line would misread
            return cluster_id
