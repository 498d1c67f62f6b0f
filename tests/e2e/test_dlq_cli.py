"""`python -m libs.dlq` against a running coordination service, in the service's own environment
(its database, its Kafka principal, its key): it lists what coordination parked, with the reason,
and a replay of a message no fix can make readable parks it again and says so."""

import os
import subprocess
import sys
import uuid

from contracts.topics import INTAKE_EVENTS, Header, dead_letters
from deploy.local.keys import kek_env
from tests.builders import case_received, collect, header, produce, wire
from tests.conftest import ROOT


def _run(args, env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "libs.dlq", "coordination", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


async def test_list_and_replay_from_the_command_line(services, infra, infra_home, issuer):
    envelope = case_received().model_copy(update={"event_type": "NoSuchEvent"})
    origin = (await produce(infra.kafka_admin, INTAKE_EVENTS, [wire(envelope)]))[0]
    await collect(
        infra.kafka_admin,
        dead_letters("coordination"),
        lambda r: header(r, Header.DLQ_ORIGIN) == origin and header(r, Header.DLQ_CONSUMER) == "coordination",
        lambda kept: len(kept) >= 1,
        timeout=120,
    )
    env = {
        **os.environ,
        "KASANE_AUTH_JWKS": str(issuer.jwks_file),
        "KASANE_AUTH_ISSUER": issuer.issuer,
        "KASANE_COORDINATION_DATABASE_URL": services.database_urls["coordination"],
        "KASANE_COORDINATION_ORGANISATION": services.organisations["coordination"],
        **kek_env(infra_home, "coordination"),
        **infra.kafka.connection("coordination").to_env(),
    }
    listed = _run(["list"], env)
    assert listed.returncode == 0, listed.stderr[-2000:]
    line = next(x for x in listed.stdout.splitlines() if x.startswith(str(envelope.event_id)))
    assert "unknown event type 'NoSuchEvent'" in line
    assert "\tparked\t" in line

    replayed = _run(
        ["replay", "--message-id", str(envelope.event_id), "--message-id", str(uuid.uuid4())], env
    )
    assert replayed.returncode == 1, replayed.stderr[-2000:]
    assert "parked again (still failing; see `list` for the reason): 1" in replayed.stdout
    assert "not found in the DLQ: 1" in replayed.stdout
