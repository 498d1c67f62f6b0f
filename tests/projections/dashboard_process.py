"""The projections service as a real process (projector and dashboard), for the HTTP and browser tests."""

import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

from contracts.kafka_access import PROJECTIONS
from deploy.local.ports import free_port
from tests.conftest import ROOT
from tests.e2e.conftest import _wait_healthy


@contextlib.contextmanager
def serving(
    infra, home: Path, issuer, directory: Path | None = None, upstreams: dict[str, str] | None = None
) -> Iterator[str]:
    """The service on a free port with a database of its own; `directory` replaces the demo town's;
    `upstreams`: the program services' addresses, by name (for timelines and audit)."""
    port = free_port()
    database = infra.postgres.create_database(f"proj_{uuid.uuid4().hex[:8]}")
    env = {
        **os.environ,
        **infra.kafka.connection(PROJECTIONS).to_env(),
        "KASANE_PROJECTIONS_DATABASE_URL": database,
        "KASANE_PROJECTIONS_PORT": str(port),
        "KASANE_AUTH_JWKS": str(issuer.jwks_file),
        "KASANE_AUTH_ISSUER": issuer.issuer,
        **{f"KASANE_{name.upper()}_URL": url for name, url in (upstreams or {}).items()},
    }
    if directory is not None:
        env["KASANE_DIRECTORY"] = str(directory)
    log = home / f"projections-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "projections"], cwd=ROOT, env=env, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, log, timeout=180)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
