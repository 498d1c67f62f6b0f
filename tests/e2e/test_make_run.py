"""`make run` end to end: `python -m deploy.run` starts PostgreSQL, Kafka, the services and the
dashboard, loads the demo town through the real APIs and Kafka, prints the dashboard's address,
and stops on SIGTERM (Ctrl-C) without leaving a process behind.

While it runs, the dashboard's figures (`GET /api/dashboard` as the municipality's administrator,
over the whole demo period) must equal the counts taken here from the town's own plan
(`deploy.town.plan`), not from the read models: small counts (1 to 4) are hidden on the dashboard,
so where the plan has one the figure must show it hidden. It uses free ports and its own home
folder, so a developer's `make run` is never touched.
"""

import asyncio
import contextlib
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from deploy.local import LocalKafka, LocalPostgres
from deploy.local.issuer import LocalIssuer
from deploy.town import MENUS, SMALL_TOWN, YEAR_START, Town, plan
from libs.directory import Directory
from tests.polling import Timeout, eventually

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 480
CATCH_UP_TIMEOUT = 60
HIDDEN = range(1, 5)
"""Counts the dashboard hides (projections/disclosure.py): no person may be recognised."""

Key = tuple[str, ...]

DIMENSIONS: dict[str, tuple[str, ...]] = {
    "consultations_by_channel": ("month", "channel"),
    "consultations_by_issue": ("month", "issue_tag"),
    "issue_pairs": ("tag_a", "tag_b"),
    "flow": ("step",),
    "plan_meetings": ("month", "meeting_type"),
    "meetings_held": ("month", "meeting_type"),
    "missing_resources": ("resource_kind",),
    "outreach_found": ("identified_by",),
    "outreach_attempts": ("outcome",),
    "outreach_connected": ("connected_to",),
    "placements_started": ("menu_kind",),
    "placement_followups": ("status",),
    "places": ("school_district",),
    "places_by_district": ("district",),
}
"""Figures with a count `n` per row, and the columns that name the row."""

SINGLE_ROW: dict[str, tuple[str, ...]] = {
    "activities": (
        "n",
        "children",
        "youth",
        "working_age",
        "older",
        "volunteers",
        "new_resident_led",
        "new_resident_led_per_100k",
    ),
    "platform_meetings": ("n",),
    "participation_rates": (
        "accepted",
        "placements",
        "population",
        "accepted_per_100k",
        "placements_per_100k",
    ),
    "days_to_plan": ("n", "median", "p90"),
    "resolution_and_return": ("concluded", "returned"),
}
"""Figures of one row, and the values compared."""

DERIVED_FROM = {
    "median": "n",
    "p90": "n",
    "accepted_per_100k": "accepted",
    "placements_per_100k": "placements",
    "new_resident_led_per_100k": "new_resident_led",
}
"""Values computed from a count, and hidden with it (projections/disclosure.py)."""


def live_processes_with(marker: str) -> list[str]:
    """Processes (zombies aside) whose command line, or environment where readable, contains `marker`."""
    ps = subprocess.run(["ps", "-axww", "-o", "pid=,stat=,args="], capture_output=True, text=True, check=True)
    found = []
    for line in ps.stdout.splitlines():
        pid, stat, *args = line.split(maxsplit=2)
        if stat.startswith("Z") or int(pid) == os.getpid():
            continue
        environ = Path(f"/proc/{pid}/environ")
        try:
            in_environ = marker.encode() in environ.read_bytes()
        except OSError:  # no /proc (macOS), or the process is gone
            in_environ = False
        if in_environ or marker in " ".join(args):
            found.append(line.strip())
    return found


def month(day: Any) -> str:
    return day.strftime("%Y-%m")


def per_100k(count: int, population: int) -> float:
    return round(count * 100_000 / population, 1)


def percentile_cont(values: list[int], fraction: float) -> float:
    """PostgreSQL's percentile_cont: linear interpolation between the two nearest ranks."""
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def expected_from_plan(town: Town) -> tuple[dict[str, Counter[Key]], dict[str, dict[str, float]]]:
    """Every checked figure, counted from the town's plan: what the demo does and how the services
    react to it (a referral accepted; outreach opens a case for a referral or a concern passed to
    it; intake opens one for a person outreach connected or a concern passed to it)."""
    rows: dict[str, Counter[Key]] = {figure: Counter() for figure in DIMENSIONS}
    received = [(c.received_on, c.channel.value, [t.value for t in c.issue_tags]) for c in town.consultations]
    received += [(o.connected_on, "outreach", list(o.issue_tags)) for o in town.outreach if o.connected_on]
    concerns = [p.concern for p in town.places if p.concern is not None]
    received += [
        (x.noticed_on, "community_place", list(x.issue_tags)) for x in concerns if x.raised_to == "intake"
    ]
    for on, channel, tags in received:
        rows["consultations_by_channel"][(month(on), channel)] += 1
        for tag in set(tags):
            rows["consultations_by_issue"][(month(on), tag)] += 1
        rows["issue_pairs"].update((a, b) for a in set(tags) for b in set(tags) if a < b)

    referred = [c for c in town.consultations if c.referred_on is not None]
    agreed = [c for c in referred if c.agreed_on is not None]
    to_participation = [c for c in agreed if c.participation]
    concluded = [c for c in agreed if c.concluded_on is not None]
    flow = rows["flow"]
    flow[("received",)] = len(received)
    flow[("referred",)] = flow[("accepted",)] = len(referred)
    flow[("plan_agreed",)] = len(agreed)
    flow[("referred_outreach",)] = sum(c.outreach for c in agreed)
    flow[("referred_participation",)] = flow[("participation_accepted",)] = len(to_participation)
    flow[("concluded",)] = flow[("returned",)] = len(concluded)
    for c in agreed:
        assert c.meeting is not None
        rows["plan_meetings"][(month(c.agreed_on), town.meetings[c.meeting].meeting_type.value)] += 1
    for meeting in town.meetings:
        rows["meetings_held"][(month(meeting.held_on), meeting.meeting_type.value)] += 1
        if meeting.missing_resource is not None:
            rows["missing_resources"][(meeting.missing_resource,)] += 1

    for client in town.outreach:
        rows["outreach_found"][(client.identified_by,)] += 1
        rows["outreach_attempts"].update((a.outcome,) for a in client.attempts)
        if client.connected_on is not None:
            rows["outreach_connected"][("intake",)] += 1
    rows["outreach_found"][("coordination_referral",)] += sum(c.outreach for c in agreed)
    rows["outreach_found"][("community_place",)] += sum(x.raised_to == "outreach" for x in concerns)

    placements = [c.placement for c in to_participation if c.placement and c.placement.menu is not None]
    for placement in placements:
        assert placement.menu is not None
        rows["placements_started"][(MENUS[placement.menu].kind,)] += 1
        rows["placement_followups"][("settled",)] += len(placement.follow_ups)

    for place in town.places:
        rows["places"][(place.school_district,)] += 1
        rows["places_by_district"][(place.district,)] += 1
    activities = [a for place in town.places for a in place.activities]
    days = [(c.agreed_on - c.received_on).days for c in agreed if c.agreed_on is not None]
    new_resident_led = sum(a.new_resident_led for a in activities)
    single = {
        "activities": {
            "n": len(activities),
            **{
                g: sum(a.attendance[g] for a in activities)
                for g in ("children", "youth", "working_age", "older")
            },
            "volunteers": sum(a.volunteers for a in activities),
            "new_resident_led": new_resident_led,
            "new_resident_led_per_100k": per_100k(new_resident_led, town.population),
        },
        "platform_meetings": {"n": len(town.platform_meetings)},
        # Rates per 100,000 divide by the directory's population, which must be the town's.
        "participation_rates": {
            "accepted": len(to_participation),
            "placements": len(placements),
            "population": town.population,
            "accepted_per_100k": per_100k(len(to_participation), town.population),
            "placements_per_100k": per_100k(len(placements), town.population),
        },
        "resolution_and_return": {"concluded": len(concluded), "returned": len(concluded)},
        "days_to_plan": {
            "n": len(days),
            "median": round(statistics.median(days), 1),
            "p90": round(percentile_cont(days, 0.9), 1),
        },
    }
    return rows, single


def as_shown(value: float, about_people: bool) -> float | None:
    """How the dashboard shows a count: hidden (None) when it is small and about people."""
    return None if about_people and value in HIDDEN else value


def differences(document: dict[str, Any], town: Town) -> dict[str, Any]:
    """Every figure whose rows differ from the plan's counts: {figure: {row: (shown, expected)}}."""
    rows, single = expected_from_plan(town)
    figures = document["figures"]
    found: dict[str, Any] = {}
    for key in [*DIMENSIONS, *SINGLE_ROW]:
        if key not in figures:
            found[key] = "missing from /api/dashboard"
    for key, dimensions in DIMENSIONS.items():
        if key not in figures:
            continue
        about_people = figures[key]["about_people"]
        shown = {tuple(r[d] for d in dimensions): r["n"] for r in figures[key]["rows"] if r["n"] != 0}
        wanted = {row: as_shown(n, about_people) for row, n in rows[key].items() if n != 0}
        diff = {row: (shown.get(row), wanted.get(row)) for row in shown.keys() | wanted.keys()}
        diff = {row: pair for row, pair in diff.items() if pair[0] != pair[1]}
        if diff:
            found[key] = diff
    for key, values in SINGLE_ROW.items():
        if key not in figures:
            continue
        (row,) = figures[key]["rows"]
        about_people = figures[key]["about_people"]
        wanted = {v: as_shown(single[key][v], about_people) for v in values}
        for v, count in DERIVED_FROM.items():
            if v in wanted:  # a rate, median or percentile: shown as is, or hidden with its count
                hidden = as_shown(single[key][count], about_people) is None
                wanted[v] = None if hidden else single[key][v]
        diff = {v: (row.get(v), wanted[v]) for v in values if row.get(v) != wanted[v]}
        if diff:
            found[key] = diff
    return found


async def fetch_until_equal(url: str, token: str, town: Town) -> dict[str, Any]:
    """The dashboard's differences from the plan, polled until none are left or the time is up.

    `make run` printed its banner once the dashboard's totals matched the demo; services may still
    be reacting to the last events (a connection, a concern), so the rows settle a moment later.
    """
    params = {"from": YEAR_START.isoformat(), "to": town.last_day.isoformat()}
    headers = {"Authorization": f"Bearer {token}"}
    last: dict[str, Any] | None = None
    async with httpx.AsyncClient(timeout=30) as client:

        async def settled() -> bool:
            nonlocal last
            response = await client.get(f"{url}api/dashboard", params=params, headers=headers)
            # Anything but 200 fails at once: only "figures still differ" may wait for the deadline.
            assert response.status_code == 200, response.text
            last = differences(response.json(), town)
            return not last

        with contextlib.suppress(Timeout):  # on time-out, `last` says what differs
            await eventually(settled, CATCH_UP_TIMEOUT, "the dashboard to equal the plan")
    assert last is not None, "the dashboard was never compared"
    return last


async def banner_of(process: subprocess.Popen[bytes], log: Path) -> str:
    """The run's output once it printed its banner; fails at once if the run exited instead."""

    async def printed() -> str | None:
        text = await asyncio.to_thread(log.read_text, errors="replace")
        assert process.poll() is None, f"deploy.run exited with {process.returncode}:\n{text}"
        return text if "Ctrl-C to stop" in text else None

    return await eventually(printed, STARTUP_TIMEOUT, "the make run banner")


async def empty_worklists(banner: str, issuer: LocalIssuer) -> list[str]:
    """The demo users of organisations running a program whose worklists hold nothing at all: a
    worker signing in to the demo should find real items to work on."""
    directory = Directory.load()
    empty = []
    async with httpx.AsyncClient(timeout=30) as http:
        for user in directory.users.values():
            for program in directory.programs_of(user.organisation):
                url = re.search(rf"{program.value}\s+(http://127\.0\.0\.1:\d+)", banner)
                assert url is not None, (program, banner)
                headers = {"Authorization": f"Bearer {issuer.token_for(user.id)}"}
                lists = (await http.get(f"{url.group(1)}/worklists", headers=headers)).json()
                if not sum(w["count"] for w in lists):
                    empty.append(f"{user.id} ({program.value})")
    return empty


def test_make_run_serves_the_demo_on_the_dashboard_and_stops_cleanly(tmp_path: Path) -> None:
    home = ROOT / ".kasane" / f"check-{os.getpid()}"
    shutil.rmtree(home, ignore_errors=True)
    # Every process of the run inherits this variable: the services, the broker, the postmaster.
    marker = f"check-{uuid.uuid4().hex}"
    env = {**os.environ, "KASANE_RUN_CHECK_MARKER": marker}
    env.pop("KASANE_DIRECTORY", None)
    command = [sys.executable, "-m", "deploy.run", "--home", str(home), "--base-port", "0"]
    log = tmp_path / "make-run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        output = asyncio.run(banner_of(process, log))
        # The dashboard comes first, with how to sign in as the municipality's administrator.
        first = re.search(r"ダッシュボード / dashboard\s+(http://127\.0\.0\.1:\d+/)", output)
        assert first is not None, output
        assert output.index("ダッシュボード / dashboard") < output.index("相談受付 intake"), output
        assert 'token_for("city-nakamura")' in output or "token city-nakamura" in output, output
        assert re.search(r"consultations \d{3}", output), output
        for every_program in ("planned", "concluded", "placements", "contact_attempts", "activities"):
            assert re.search(rf"{every_program} \d+", output), (every_program, output)
        assert (home / "demo-loaded").exists()

        town = plan(SMALL_TOWN)
        issuer = LocalIssuer(home / "issuer")
        token = issuer.token_for("city-nakamura")
        assert asyncio.run(fetch_until_equal(first.group(1), token, town)) == {}
        assert asyncio.run(empty_worklists(output, issuer)) == []

        process.send_signal(signal.SIGTERM)  # what Ctrl-C does
        assert process.wait(timeout=120) == 0, log.read_text()
        output = log.read_text()
        assert "stopped; no processes left" in output, output
        assert live_processes_with(marker) == []
        assert live_processes_with(str(home)) == []
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        # Only does something if the run died before stopping them; safe to call regardless.
        LocalKafka(home / "kafka").stop()
        LocalPostgres(home / "postgres").stop()
        if os.environ.get("KASANE_KEEP_TEST_DATA") != "1":
            shutil.rmtree(home, ignore_errors=True)
