"""The projector over real Kafka and PostgreSQL: read models equal counts computed independently
from the same events; a restart never double counts; a rebuild reproduces the tables exactly."""

import os
import subprocess
import sys

from contracts.topics import INTAKE_EVENTS
from libs import db
from projections import kpi
from tests.builders import produce
from tests.conftest import ROOT
from tests.projections import scenario
from tests.projections.conftest import dump, publish, running, wait_caught_up


async def figures(settings, district: str) -> dict[str, list[dict]]:
    engine = db.create_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            return await kpi.compute(conn, kpi.Period(scenario.START, scenario.END, district))
    finally:
        await engine.dispose()


def check(found: dict[str, list[dict]], s: scenario.Scenario) -> None:
    want = scenario.expected(s)
    assert {(r["month"], r["channel"]): r["n"] for r in found["consultations_by_channel"]} == want[
        "by_channel"
    ]
    assert {(r["month"], r["issue_tag"]): r["n"] for r in found["consultations_by_issue"]} == want["by_issue"]
    assert {(r["tag_a"], r["tag_b"]): r["n"] for r in found["issue_pairs"]} == want["pairs"]
    assert {r["pattern"]: r["n"] for r in found["household_patterns"]} == want["patterns"]
    flow = {r["step"]: r["n"] for r in found["flow"]}
    assert {k: flow[k] for k in want["flow"]} == want["flow"]
    assert {(r["program"], r["organisation"]): r["n"] for r in found["open_cases"]} == {
        k: v for k, v in want["open"].items() if v
    }
    (days,) = found["days_to_plan"]
    assert (days["n"], days["median"], days["p90"]) == want["days_to_plan"]
    assert {(r["month"], r["meeting_type"]): r["n"] for r in found["plan_meetings"]} == want["plans"]
    assert {r["identified_by"]: r["n"] for r in found["outreach_found"]} == want["found"]
    assert {r["outcome"]: r["n"] for r in found["outreach_attempts"]} == want["attempts"]
    assert {r["connected_to"]: r["n"] for r in found["outreach_connected"]} == want["connected"]
    assert {r["menu_kind"]: r["n"] for r in found["placements_started"]} == want["placements"]
    assert {r["status"]: r["n"] for r in found["placement_followups"]} == want["followups"]
    assert {r["horizon"]: (r["eligible"], r["n"]) for r in found["placement_retention"]} == want["retention"]
    assert {r["school_district"]: r["n"] for r in found["places"]} == want["places"]
    (activities,) = found["activities"]
    assert {k: activities[k] for k in want["activities"]} == want["activities"]


async def test_read_models_equal_independent_counts_and_skip_what_they_cannot_read(infra, settings):
    s = scenario.build(cases=24, seed=1)
    poison = await produce(infra.kafka_admin, INTAKE_EVENTS, [(b"not json", [])])
    # The relay is at-least-once (ADR 0002): a redelivered event must count once.
    await publish(infra, [*s.envelopes, s.envelopes[0], s.envelopes[-1]])
    async with running(settings):
        await wait_caught_up(settings)
    check(await figures(settings, s.district), s)
    topic, partition, offset = poison[0].rsplit(":", 2)
    skipped = (await dump(settings.database_url))["skipped_messages"]
    assert (topic, partition, offset, "undecodable") in skipped


async def test_a_restart_resumes_without_double_counting(infra, settings):
    first = scenario.build(cases=12, seed=2)
    second = scenario.build(cases=9, seed=3, offset=40)
    await publish(infra, first.envelopes)
    async with running(settings):
        await wait_caught_up(settings)
    check(await figures(settings, first.district), first)

    # More events while the projector is down; the restarted one resumes from its checkpoints.
    await publish(infra, second.envelopes)
    async with running(settings):
        await wait_caught_up(settings)
    check(await figures(settings, first.district), first)
    check(await figures(settings, second.district), second)


def _cli(settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **settings.kafka.to_env(),
        "KASANE_PROJECTIONS_DATABASE_URL": settings.database_url,
    }
    return subprocess.run(
        [sys.executable, "-m", "projections", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


async def test_rebuild_replays_from_zero_into_exactly_the_same_tables(infra, settings):
    s = scenario.build(cases=15, seed=4)
    await publish(infra, s.envelopes)
    # The CLI rebuilds the default projection name; the test's database is its own, so use it.
    settings = type(settings)(settings.database_url, settings.kafka, settings.port, projection="dashboard")
    async with running(settings):
        await wait_caught_up(settings)
        refused = _cli(settings, "rebuild")
        assert refused.returncode == 2, refused.stderr
        assert "cannot rebuild" in refused.stderr
    before = await dump(settings.database_url)
    assert before["cases"], "the projection saw the scenario"

    rebuilt = _cli(settings, "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert await dump(settings.database_url) == before
    check(await figures(settings, s.district), s)
