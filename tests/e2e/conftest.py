"""The program services and the municipality's directory running as real processes on free ports,
over the session's infrastructure."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from contracts import programs
from contracts.programs import PROGRAMS
from deploy.local.issuer import LocalIssuer
from deploy.local.keys import kek_env
from deploy.local.ports import free_port
from tests.conftest import ROOT, Infra

# The organisations that run each service in the demo municipality (deploy/demo-municipality.json).
SERVICE_ORGANISATIONS = {p.name: p.demo_organisation for p in PROGRAMS}
# A program runs once its package is built.
SERVICES = tuple(s for s in SERVICE_ORGANISATIONS if (ROOT / "services" / s / "bootstrap.py").exists())


@dataclass(frozen=True)
class Running:
    """`urls`, `database_urls`, `organisations`: the programs' services; the directory apart
    (`directory_url`), since it has no cases; `logs`: every process's."""

    urls: dict[str, str]
    database_urls: dict[str, str]
    organisations: dict[str, str]
    logs: dict[str, Path]
    directory_url: str


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
def services(infra: Infra, infra_home: Path, issuer: LocalIssuer) -> Iterator[Running]:
    urls, dbs, orgs, processes = {}, {}, {}, []
    env = {
        **os.environ,
        "KASANE_AUTH_JWKS": str(issuer.jwks_file),
        "KASANE_AUTH_ISSUER": issuer.issuer,
    }
    organisations = {programs.DIRECTORY: programs.DIRECTORY_ORGANISATION, **SERVICE_ORGANISATIONS}
    started = (programs.DIRECTORY, *SERVICES)  # the directory first: the others follow it
    for name in started:
        port = free_port()
        dbs[name] = infra.postgres.create_database(f"e2e_{name}")
        orgs[name] = organisations[name]
        env |= {
            f"KASANE_{name.upper()}_DATABASE_URL": dbs[name],
            f"KASANE_{name.upper()}_PORT": str(port),
            f"KASANE_{name.upper()}_ORGANISATION": orgs[name],
            **kek_env(infra_home, name),
        }
        urls[name] = f"http://127.0.0.1:{port}"
    try:
        for name in started:
            log = infra_home / f"{name}.log"
            with log.open("wb") as out:
                # Each service logs in to Kafka as its own principal: the flow proves its ACLs suffice.
                own = {**env, **infra.kafka.connection(name).to_env()}
                process = subprocess.Popen(
                    [sys.executable, "-m", f"services.{name}"], cwd=ROOT, env=own, stdout=out, stderr=out
                )
            processes.append(process)
            _wait_healthy(urls[name], process, log)
        directory_url = urls.pop(programs.DIRECTORY)
        del dbs[programs.DIRECTORY], orgs[programs.DIRECTORY]
        logs = {name: infra_home / f"{name}.log" for name in started}
        yield Running(urls, dbs, orgs, logs, directory_url)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def projections(services, infra, infra_home, issuer) -> Iterator[str]:
    """The projection service as a process, told where the five services are (KASANE_<SERVICE>_URL)."""
    # Imported here: dashboard_process imports this module (`_wait_healthy`).
    from tests.projections.dashboard_process import serving

    with serving(infra, infra_home, issuer, upstreams=services.urls) as url:
        yield url
