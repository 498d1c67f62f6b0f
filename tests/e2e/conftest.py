"""Intake and coordination running as real processes on free ports, over the session's infrastructure."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from deploy.local.ports import free_port
from tests.conftest import ROOT, Infra

SERVICES = ("intake", "coordination")


@dataclass(frozen=True)
class Running:
    urls: dict[str, str]
    database_urls: dict[str, str]
    organisations: dict[str, str]


def _wait_healthy(url: str, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not healthy after {timeout}s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def services(infra: Infra, infra_home: Path) -> Iterator[Running]:
    urls, dbs, orgs, processes = {}, {}, {}, []
    env = {**os.environ, "KASANE_KAFKA_BOOTSTRAP": infra.bootstrap}
    for name in SERVICES:
        port = free_port()
        dbs[name] = infra.postgres.create_database(f"e2e_{name}")
        orgs[name] = f"e2e-{name}"
        env |= {
            f"KASANE_{name.upper()}_DATABASE_URL": dbs[name],
            f"KASANE_{name.upper()}_PORT": str(port),
            f"KASANE_{name.upper()}_ORGANISATION": orgs[name],
        }
        urls[name] = f"http://127.0.0.1:{port}"
    try:
        for name in SERVICES:
            log = infra_home / f"{name}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [sys.executable, "-m", f"services.{name}"], cwd=ROOT, env=env, stdout=out, stderr=out
                )
            processes.append(process)
            _wait_healthy(urls[name], process, log)
        yield Running(urls, dbs, orgs)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
