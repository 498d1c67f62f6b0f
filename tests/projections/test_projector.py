"""The projector over real Kafka and PostgreSQL: read models equal counts computed independently
from the same events; a restart never double counts; a rebuild reproduces the tables exactly."""

import os
import subprocess
import sys

from aiokafka import TopicPartition
from sqlalchemy import text

from contracts import events as ev
from contracts.topics import INTAKE_EVENTS
from libs import db
from libs.inbox import PermanentError, decode
from projections import disclosure, kpi, projector
from projections.runtime import end_offsets
from projections.schema import TABLES
from tests import crashing
from tests.builders import produce
from tests.conftest import ROOT
from tests.projections import scenario
from tests.projections.conftest import dump, publish, running, wait_caught_up


async def figures(settings, district: str) -> dict[str, list[dict]]:
    engine = db.create_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            period = kpi.Period(scenario.START, scenario.END, district, scenario.POPULATION)
            return await kpi.compute(conn, period)
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
    assert {r["month"]: (r["n"], r["median"], r["p90"]) for r in found["days_to_plan_by_month"]} == want[
        "days_by_month"
    ]
    assert {(r["month"], r["meeting_type"]): r["n"] for r in found["plan_meetings"]} == want["plans"]
    assert {(r["month"], r["meeting_type"]): r["n"] for r in found["meetings_held"]} == want["meetings"]
    (resolution,) = found["resolution_and_return"]
    assert resolution == want["resolution"]
    assert {r["identified_by"]: r["n"] for r in found["outreach_found"]} == want["found"]
    assert {r["outcome"]: r["n"] for r in found["outreach_attempts"]} == want["attempts"]
    assert {r["connected_to"]: r["n"] for r in found["outreach_connected"]} == want["connected"]
    assert {r["menu_kind"]: r["n"] for r in found["placements_started"]} == want["placements"]
    assert {r["status"]: r["n"] for r in found["placement_followups"]} == want["followups"]
    (participation,) = found["participation_rates"]
    assert participation == {**want["participation"], "population": scenario.POPULATION}
    assert {r["horizon"]: (r["eligible"], r["n"], r["rate"]) for r in found["placement_retention"]} == want[
        "retention"
    ]
    assert {r["school_district"]: r["n"] for r in found["places"]} == want["places"]
    assert {r["district"]: r["n"] for r in found["places_by_district"]} == want["places_by_district"]
    assert found["platform_meetings"] == [{"n": want["platform_meetings"]}]
    assert {r["resource_kind"]: r["n"] for r in found["missing_resources"]} == want["missing_resources"]
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
    want = scenario.expected(s)
    assert sum(want["meetings"].values()) < sum(want["plans"].values()), "some meetings agreed several plans"
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
    # Every read model table takes part in the comparison: a table added without events that fill
    # it here would pass the equality check while proving nothing.
    assert [t for t in TABLES if not before[t] and t != "skipped_messages"] == [], (
        "tables the scenario leaves empty"
    )

    rebuilt = _cli(settings, "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert await dump(settings.database_url) == before
    check(await figures(settings, s.district), s)


def shown(key: str, row: dict) -> dict:
    return disclosure.suppress_row(row, kpi.FIGURE[key])


def test_a_rate_per_100k_is_hidden_with_its_count():
    row = {
        "accepted": 3,
        "placements": 7,
        "population": 2_500,
        "accepted_per_100k": 120.0,
        "placements_per_100k": 280.0,
    }
    out = shown("participation_rates", row)
    # 120.0 × 2,500 / 100,000 would give the 3 back.
    assert out["accepted"] is None and out["accepted_per_100k"] is None
    assert out["placements"] == 7 and out["placements_per_100k"] == 280.0
    assert out["suppressed_fields"] == ["accepted", "accepted_per_100k"]
    (activity,) = [
        shown("activities", r)
        for r in [
            {
                "n": 9,
                "children": 0,
                "youth": 12,
                "working_age": 6,
                "older": 40,
                "volunteers": 10,
                "new_resident_led": 2,
                "new_resident_led_per_100k": 80.0,
            }
        ]
    ]
    assert activity["new_resident_led"] is None and activity["new_resident_led_per_100k"] is None
    assert activity["children"] == 0 and activity["older"] == 40


def test_a_percentage_is_hidden_with_its_part_or_whole_or_when_their_difference_is_small():
    out = shown(
        "resolution_and_return",
        {
            "concluded": 10,
            "resolved": 8,
            "resolution_rate": 80.0,
            "ended": 12,
            "returned": 12,
            "return_rate": 100.0,
        },
    )
    # 10 concluded, 80% resolved: 2 not resolved would be readable from either number.
    assert (out["concluded"], out["resolved"], out["resolution_rate"]) == (10, None, None)
    assert (out["ended"], out["returned"], out["return_rate"]) == (12, 12, 100.0)
    out = shown(
        "resolution_and_return",
        {
            "concluded": 3,
            "resolved": 0,
            "resolution_rate": 0.0,
            "ended": 9,
            "returned": 4,
            "return_rate": 44.4,
        },
    )
    # None of 3 resolved says something about each of the 3: hidden although it is 0.
    assert (out["concluded"], out["resolved"], out["resolution_rate"]) == (None, None, None)
    assert out["returned"] is None and out["return_rate"] is None and out["ended"] == 9
    out = shown("placement_retention", {"horizon": "3m", "eligible": 7, "n": 5, "rate": 71.4})
    assert (out["eligible"], out["n"], out["rate"], out["horizon"]) == (7, None, None, "3m")


def test_statistics_of_few_cases_are_hidden():
    assert shown("days_to_plan", {"n": 4, "median": 6.0, "p90": 11.2}) | {"suppressed_fields": None} == {
        "n": None,
        "median": None,
        "p90": None,
        "suppressed": True,
        "suppressed_fields": None,
    }
    month = shown("days_to_plan_by_month", {"month": "2025-06", "n": 5, "median": 6.25, "p90": 11.26})
    assert month == {"month": "2025-06", "n": 5, "median": 6.2, "p90": 11.3, "suppressed": False}


def test_every_derived_value_names_counts_of_its_own_figure():
    """A derived value whose sources are misspelt would never be hidden."""
    for figure in kpi.FIGURES:
        for key, sources in figure.derived.items():
            assert key not in sources and sources, figure.key
        if figure.derived or figure.parts:
            assert figure.about_people, figure.key


async def test_a_projector_killed_right_after_its_commit_resumes_without_double_counting(
    infra, settings, tmp_path
):
    s = scenario.build(cases=12, seed=5)
    await publish(infra, s.envelopes)
    env = {
        crashing.DATABASE_URL: settings.database_url,
        crashing.NAME: settings.projection,
        **settings.kafka.to_env(),
    }
    # Dies as soon as its first batch (read model rows + checkpoint) committed. It commits no Kafka
    # offsets: its position is the checkpoint, so there is no later step the kill could skip.
    dying = crashing.worker("projector", env, tmp_path / "projector.log", crash_at=1)
    try:
        await dying.killed_at_crash_point()
    finally:
        dying.kill()
    ends = await end_offsets(settings.kafka)
    stored = await _checkpoints(settings)
    # What the database holds is exactly what the events below its checkpoints make, no more, no less.
    below = await _applicable(infra, stored)
    assert await _projected(settings) == below, "after the kill, read model and checkpoints disagree"
    assert sum(stored.values()) > 0, "the kill must land after a batch committed"
    assert any(stored.get(tp, 0) < end for tp, end in ends.items()), "the kill must land part-way"

    async with running(settings):
        await wait_caught_up(settings)
    check(await figures(settings, s.district), s)
    assert await _projected(settings) == await _applicable(infra, ends)


async def _checkpoints(settings) -> dict[TopicPartition, int]:
    engine = db.create_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT topic, partition, next_offset FROM projection_checkpoint WHERE projection = :p"),
                {"p": settings.projection},
            )
            return {TopicPartition(r.topic, r.partition): r.next_offset for r in rows}
    finally:
        await engine.dispose()


async def _applicable(infra, upto: dict[TopicPartition, int]) -> tuple[set[str], set[str]]:
    """Counted independently of the projector, from the log below `upto`: the ids of the events the
    dashboard uses, and the case keys of the consultations received."""
    records = await crashing.read_between(infra.kafka_admin, {}, upto)
    events, cases = set(), set()
    for record in records:
        try:
            delivery = decode(record)
        except PermanentError:
            continue
        if type(delivery.event) in projector.APPLY:
            events.add(str(delivery.envelope.event_id))
        if isinstance(delivery.event, ev.CaseReceived):
            cases.add(str(delivery.event.case_key))
    return events, cases


async def _projected(settings) -> tuple[set[str], set[str]]:
    """The same two sets as the projection's tables hold them."""
    tables = await dump(settings.database_url)
    return {r[0] for r in tables["applied_events"]}, {r[0] for r in tables["cases"]}


class _OneWriteThenFailure:
    """Stands in for the batch's writes: lets one write reach the database, then fails."""

    def __init__(self, writes) -> None:
        self.writes = writes
        self.written = False

    async def execute(self, statement, parameters=None):
        if self.written:
            raise RuntimeError("the projector failed halfway through an event")
        self.written = True
        await self.writes.execute(statement, parameters)
        await self.writes.flush()  # really sent, not only queued


async def test_a_batch_that_fails_halfway_leaves_nothing_behind(infra, settings, monkeypatch):
    s = scenario.build(cases=9, seed=6)
    await publish(infra, s.envelopes)
    real = projector.APPLY[ev.CaseReceived]
    failed: list[str] = []

    async def halfway_once(writes, envelope, event):
        if failed or event.district != s.district:
            return await real(writes, envelope, event)
        failed.append(str(envelope.event_id))  # one of this scenario's cases, the first time only
        await real(_OneWriteThenFailure(writes), envelope, event)

    monkeypatch.setitem(projector.APPLY, ev.CaseReceived, halfway_once)
    async with running(settings):
        await wait_caught_up(settings)
    assert failed, "no event failed halfway: the test proved nothing"
    # The failed batch was rolled back whole and applied again: the figures are exactly the scenario's.
    check(await figures(settings, s.district), s)
