"""Load the generated demo municipality (deploy/town.py) through the services' public APIs.

Every record is made the way a worker would make it: over HTTP, with a demo user's token, so
the demo exercises authentication, authorisation, the outbox, Kafka and every consumer. What
happens and when is decided by the town's plan alone (nothing random here), so the dashboard
can be checked against it; only the ids the services assign differ between runs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx

from contracts.glossary import IssueTag, RoleDeclineReason, RoleResponsibility
from deploy.local.issuer import LocalIssuer, Tokens
from deploy.town import MENUS, SMALL_TOWN, YEAR_END, YEAR_START, Consultation, Place, Town, plan
from libs.clock import BusinessClock
from libs.directory import Directory

# Which intake organisation a district's residents go to (deploy/demo-municipality.json).
INTAKE_BY_DISTRICT_PREFIX = {"chuo": "chuo-suzuki", "kita": "kita-takahashi"}
DEFAULT_INTAKE_WORKER = "soudan-sato"
COORDINATOR = "tagikan-tanaka"
OUTREACH_WORKER = "tsunagari-ito"
PARTICIPATION_COORDINATOR = "sanka-watanabe"
COMMUNITY_COORDINATOR = "chiiki-yamamoto"
CONCURRENCY = 16


class DemoError(RuntimeError):
    """A demo step got an answer it did not expect; the message says which and what came back."""


@dataclass
class Loaded:
    """What the demo created, for the banner and for a second `make run` to recognise it."""

    cases: list[str] = field(default_factory=list)
    first_worker: str = DEFAULT_INTAKE_WORKER
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n


class Api:
    """The services' HTTP APIs, called as demo users with bounded concurrency."""

    def __init__(self, urls: dict[str, str], issuer: LocalIssuer) -> None:
        directory = Directory.load()
        self.directory = directory
        self.tokens = Tokens(issuer, directory)
        # A connection idle for 2 s is not reused: the services close theirs after 5 s (uvicorn's
        # keep-alive), and reusing one as it closes loses the request (httpx.ReadError).
        limits = httpx.Limits(keepalive_expiry=2.0)
        self.clients = {
            name: httpx.AsyncClient(base_url=url, timeout=30, limits=limits) for name, url in urls.items()
        }
        self.limit = asyncio.Semaphore(CONCURRENCY)

    async def close(self) -> None:
        await asyncio.gather(*(c.aclose() for c in self.clients.values()))

    async def call(
        self, service: str, user: str, method: str, path: str, expect: int | tuple[int, ...], body: Any = None
    ) -> dict[str, Any]:
        expected = (expect,) if isinstance(expect, int) else expect
        async with self.limit:
            response = await self.clients[service].request(
                method, path, json=body, headers={"Authorization": f"Bearer {self.tokens[user]}"}
            )
        if response.status_code not in expected:
            raise DemoError(f"{service} {method} {path}: HTTP {response.status_code} {response.text[:300]}")
        return response.json() if response.content else {}

    async def exists(self, service: str, user: str, path: str) -> bool:
        """Whether `path` answers 200 yet (what another service's consumer creates appears later)."""
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        async with self.limit:
            return (await self.clients[service].get(path, headers=headers)).status_code == 200

    async def eventually(self, probe: Callable[[], Awaitable[bool]], deadline: float, what: str) -> None:
        while not await probe():
            if time.monotonic() > deadline:
                raise DemoError(f"timed out waiting for {what}")
            await asyncio.sleep(0.2)  # poll interval: the services react through Kafka


def consultation_body(c: Consultation) -> dict[str, Any]:
    """`POST /cases` for one consultation of the town (the demo, the fault workload and the bench send it)."""
    return {
        "channel": c.channel.value,
        "consulter": c.consulter,
        "person": c.person,
        "household": c.household,
        "issue_tags": [t.value for t in c.issue_tags],
        "district": c.district,
        "summary": c.summary,
        "received_on": c.received_on.isoformat(),
    }


def consent_expiry(c: Consultation, index: int, today: date) -> date:
    """Most consents run two years; one in eight was given for a shorter term that ends within
    the next four weeks, so the workers' list of consents to renew has something in it on any day
    the demo is loaded."""
    if index % 8 == 0:
        return max(today, c.received_on) + timedelta(days=3 + index % 25)
    return c.received_on + timedelta(days=730)


def intake_worker(consultation: Consultation) -> str:
    return INTAKE_BY_DISTRICT_PREFIX.get(consultation.district.split("-")[0], DEFAULT_INTAKE_WORKER)


async def _consult(
    api: Api, c: Consultation, loaded: Loaded, ids: dict[int, dict[str, str]], index: int
) -> None:
    worker = intake_worker(c)
    body = consultation_body(c)
    case_id = (await api.call("intake", worker, "POST", "/cases", 201, body))["case_id"]
    ids[index] = {"case_id": case_id, "worker": worker}
    if c.consent:
        consent = {
            "programs": ["intake", "coordination", "outreach", "participation"],
            "purpose": "support_coordination",
            "granted_on": c.received_on.isoformat(),
            "expires_on": consent_expiry(c, index, BusinessClock.from_env().today()).isoformat(),
        }
        await api.call("intake", worker, "POST", f"/cases/{case_id}/consents", 201, consent)
    if c.referred_on is not None:
        referral = {
            "urgency": "routine",
            "reason": "複合的な課題のため多機関協働での対応を依頼",
            "referred_on": c.referred_on.isoformat(),
        }
        created = await api.call("intake", worker, "POST", f"/cases/{case_id}/referrals", 201, referral)
        ids[index]["referral_id"] = created["referral_id"]
        loaded.count("referred")
    loaded.count("consultations")


def _roles(holder: str, review_on: date) -> list[dict[str, Any]]:
    return [
        {
            "organisation": holder,
            "responsibility": RoleResponsibility.MAIN_CONTACT.value,
            "review_on": review_on.isoformat(),
        },
        {
            "organisation": "kikan-soudan",
            "responsibility": RoleResponsibility.WATCHING_OVER.value,
            "review_on": review_on.isoformat(),
        },
    ]


def _draft(c: Consultation, holder: str, drafted_on: date, review_on: date) -> dict[str, Any]:
    """The 支援プラン（案） put to the agencies: the intake organisation that referred the household
    (main contact), the 基幹相談支援センター (watching over) and, where work is part of the
    picture, Hello Work."""
    roles = _roles(holder, review_on)
    if IssueTag.EMPLOYMENT in c.issue_tags or IssueTag.HIKIKOMORI in c.issue_tags:
        roles.append(
            {
                "organisation": "hellowork-kaku",
                "responsibility": RoleResponsibility.EMPLOYMENT_SUPPORT.value,
                "review_on": review_on.isoformat(),
            }
        )
    return {
        "goals": ["生活の安定に向けて関係機関で役割を分担する", "本人と家族の負担を減らす"],
        "wishes": "本人は住み慣れた家で暮らし続けたい。家族は介護と家計の負担を減らしたい。",
        "period_from": drafted_on.isoformat(),
        "period_to": (drafted_on + timedelta(days=364)).isoformat(),
        "emergency": "体調の急変時は救急要請のうえ、主担当の機関と多機関協働の担当者へ連絡する。",
        "roles": roles,
        "drafted_on": drafted_on.isoformat(),
    }


async def _answer(
    api: Api, case: str, c: Consultation, ids: dict[str, str], draft: dict[str, Any], on: date, roles: range
) -> None:
    """Each proposed role in `roles` answered: the referring intake organisation's worker records
    its own acceptance (it uses the system); the other agencies answer through the coordinator.
    Hello Work is declined for one household in three (by the day it was received): the person
    does not want to talk about work yet."""
    for index in roles:
        organisation = draft["roles"][index]["organisation"]
        path = f"{case}/plans/1/roles/{index}"
        if index == 0:
            await api.call(
                "coordination",
                ids["worker"],
                "POST",
                f"{path}/acceptance",
                201,
                {"accepted_on": on.isoformat()},
            )
        elif organisation == "hellowork-kaku" and c.received_on.toordinal() % 3 == 0:
            refusal = {
                "reason": RoleDeclineReason.PERSON_DECLINED.value,
                "note": "本人がまだ就労の話を望んでいないため、時期を見て再度相談する。",
                "declined_on": on.isoformat(),
            }
            await api.call("coordination", COORDINATOR, "POST", f"{path}/decline", 201, refusal)
        else:
            await api.call(
                "coordination",
                COORDINATOR,
                "POST",
                f"{path}/acceptance",
                201,
                {"accepted_on": on.isoformat()},
            )


async def _draft_awaiting_answers(api: Api, c: Consultation, ids: dict[str, str], loaded: Loaded) -> None:
    """A referral whose plan is still being put together: drafted a week after it came, the
    referring organisation has accepted its role, the 基幹相談支援センター has not answered yet
    (coordination's 回答待ちの役割)."""
    assert c.referred_on is not None
    case = f"/cases/{ids['coordination_case_id']}"
    drafted_on = min(c.referred_on + timedelta(days=7), YEAR_END)
    holder = api.directory.users[ids["worker"]].organisation
    draft = _draft(c, holder, drafted_on, drafted_on + timedelta(days=90))
    await api.call("coordination", COORDINATOR, "POST", f"{case}/plans/drafts", 201, draft)
    await _answer(api, case, c, ids, draft, drafted_on, range(1))
    loaded.count("drafts_awaiting_answers")


async def _open_coordination_case(api: Api, ids: dict[str, str]) -> str:
    opened = await api.call("coordination", COORDINATOR, "GET", f"/referrals/{ids['referral_id']}", 200)
    ids["coordination_case_id"] = opened["coordination_case_id"]
    return opened["coordination_case_id"]


async def _meetings(api: Api, town: Town, ids: dict[int, dict[str, str]], loaded: Loaded) -> None:
    """The town's case meetings; the plans agreed there cite them."""
    for meeting in town.meetings:
        holders = sorted({api.directory.users[ids[i]["worker"]].organisation for i in meeting.cases})
        attendees = [
            {"organisation": "shakyo-tagikan", "role": "convener"},
            *({"organisation": h, "role": "referring_agency"} for h in holders),
            {"organisation": "kikan-soudan", "role": "support_agency"},
            {"organisation": "city-fukushi", "role": "municipality"},
        ]
        body = {
            "meeting_type": meeting.meeting_type.value,
            "held_on": meeting.held_on.isoformat(),
            "attendees": attendees,
            "cases": [ids[i]["coordination_case_id"] for i in meeting.cases],
            "decisions": [
                {"coordination_case_id": ids[i]["coordination_case_id"], "decision": "plan_agreed"}
                for i in meeting.cases
            ],
            "missing_resources": (
                [
                    {
                        "resource_kind": meeting.missing_resource,
                        "district": town.consultations[meeting.cases[0]].district,
                    }
                ]
                if meeting.missing_resource
                else []
            ),
        }
        created = await api.call("coordination", COORDINATOR, "POST", "/meetings", 201, body)
        loaded.count("meetings")
        for i in meeting.cases:
            ids[i]["meeting_id"] = created["meeting_id"]


async def _coordinate(api: Api, c: Consultation, ids: dict[str, str], loaded: Loaded) -> None:
    """Assessment, the plan drafted when the case is ready for it, each role answered, the draft
    agreed at its meeting; referrals, monitoring, conclusion, return."""
    case = f"/cases/{ids['coordination_case_id']}"
    assert c.agreed_on is not None and c.plan_on is not None
    agreed_on = c.agreed_on
    assessment = {
        "assessed_on": (c.plan_on - timedelta(days=1)).isoformat(),
        "members": [
            {
                "relation": "本人",
                "issue_tags": [t.value for t in c.issue_tags],
                "findings": "複数の課題が重なっている。",
            }
        ],
    }
    await api.call("coordination", COORDINATOR, "POST", f"{case}/assessments", 201, assessment)
    holder = api.directory.users[ids["worker"]].organisation
    draft = _draft(c, holder, c.plan_on, agreed_on + timedelta(days=90))
    await api.call("coordination", COORDINATOR, "POST", f"{case}/plans/drafts", 201, draft)
    answered_on = min(c.plan_on + timedelta(days=1), agreed_on)
    await _answer(api, case, c, ids, draft, answered_on, range(len(draft["roles"])))
    await api.call(
        "coordination", COORDINATOR, "POST", f"{case}/plans", 201, {"meeting_id": ids["meeting_id"]}
    )
    loaded.count("planned")
    if c.participation and "participation" in api.clients:
        body = {
            "needs": ["work_experience", "place_to_be"],
            "reason": "日中の活動の場が必要",
            "referred_on": agreed_on.isoformat(),
        }
        created = await api.call(
            "coordination", COORDINATOR, "POST", f"{case}/referrals/participation", 201, body
        )
        ids["participation_referral_id"] = created["referral_id"]
        loaded.count("referred_to_participation")
    if c.outreach and "outreach" in api.clients:
        body = {"reason": "本人と会えていないため継続的な訪問を依頼", "referred_on": agreed_on.isoformat()}
        await api.call("coordination", COORDINATOR, "POST", f"{case}/referrals/outreach", 201, body)
        loaded.count("referred_to_outreach")
    monitoring = {
        "monitored_on": (agreed_on + timedelta(days=30)).isoformat(),
        "note": "役割分担どおりに支援が進んでいる。",
    }
    await api.call("coordination", COORDINATOR, "POST", f"{case}/monitoring", 201, monitoring)
    if c.concluded_on is not None:
        conclusion = {
            "outcome": "improved",
            "goals_met": 1,
            "evaluation": "家族の負担が軽くなり、見守り体制ができた。",
            "concluded_on": c.concluded_on.isoformat(),
        }
        await api.call("coordination", COORDINATOR, "POST", f"{case}/conclusion", 201, conclusion)
        body = {
            "reason": "support_concluded",
            "note": "相談支援機関での見守りに移行",
            "returned_on": c.concluded_on.isoformat(),
        }
        await api.call("coordination", COORDINATOR, "POST", f"{case}/return", 201, body)
        loaded.count("concluded")


async def _participation(
    api: Api, referred: list[tuple[Consultation, dict[str, str]]], deadline: float, loaded: Loaded
) -> None:
    """Menus with hosts; each referred person assessed, placed and followed up (定着支援); the
    settled end their placement and, like those no seat was found for, see their case closed."""
    if "participation" not in api.clients:
        return
    user = PARTICIPATION_COORDINATOR
    menus = []
    for menu in MENUS:
        body = {
            "title": menu.title,
            "description": "受け入れ先と相談しながら、無理のない範囲で参加します。",
            "kind": menu.kind,
            "host_organisation": menu.host,
            "host_name": menu.host_name,
            "district": menu.district,
            "capacity": menu.capacity,
            "schedule": "毎週火・木 10時〜12時",
        }
        menus.append((await api.call("participation", user, "POST", "/menus", 201, body))["menu_id"])
        loaded.count("menus")
    for c, ids in referred:
        assert c.placement is not None
        referral_id = ids["participation_referral_id"]
        await api.eventually(
            lambda path=f"/referrals/{referral_id}": api.exists("participation", user, path),
            deadline,
            "participation to accept a referral",
        )
        case = (await api.call("participation", user, "GET", f"/referrals/{referral_id}", 200))[
            "participation_case_id"
        ]
        assessment = {
            "needs": ["work_experience"],
            "wishes": "人の少ない時間帯なら参加したい。",
            "assessed_on": c.placement.assessed_on.isoformat(),
        }
        await api.call("participation", user, "POST", f"/cases/{case}/assessments", 201, assessment)
        if c.placement.menu is None or c.placement.started_on is None:
            await _close_participation(api, user, case, c, loaded)
            continue
        placement = {"menu_id": menus[c.placement.menu], "started_on": c.placement.started_on.isoformat()}
        placed = await api.call("participation", user, "POST", f"/cases/{case}/placements", 201, placement)
        loaded.count("placements")
        for on in c.placement.follow_ups:
            follow_up = {"status": "settled", "followed_up_on": on.isoformat()}
            path = f"/cases/{case}/placements/{placed['placement_id']}/follow-ups"
            await api.call("participation", user, "POST", path, 201, follow_up)
            loaded.count("follow_ups")
        if c.placement.ended_on is not None:
            ended = {"outcome": "term_completed", "ended_on": c.placement.ended_on.isoformat()}
            path = f"/cases/{case}/placements/{placed['placement_id']}/end"
            await api.call("participation", user, "POST", path, 201, ended)
            loaded.count("placements_ended")
        await _close_participation(api, user, case, c, loaded)


async def _close_participation(api: Api, user: str, case: str, c: Consultation, loaded: Loaded) -> None:
    """終結, when the plan closes the case (coordination hears of it as a partner report)."""
    assert c.placement is not None
    if c.placement.closed_on is None:
        return
    closure = {
        "reason": c.placement.closure_reason,
        "note": "本人・受け入れ先と振り返りを行い、終結とした。",
        "closed_on": c.placement.closed_on.isoformat(),
    }
    await api.call("participation", user, "POST", f"/cases/{case}/closure", 201, closure)
    loaded.count("participation_closed")


async def _outreach(api: Api, town: Town, loaded: Loaded) -> None:
    """People nobody referred: found by 民生委員 and neighbours, visited until they connect or not."""
    if "outreach" not in api.clients:
        return
    for client in town.outreach:
        body = {
            "identified_by": client.identified_by,
            "issue_tags": list(client.issue_tags),
            "age_band": client.age_band,
            "district": client.district,
            "note": "近所の方から、最近姿を見かけないと連絡があった。",
            "identified_on": client.found_on.isoformat(),
        }
        case = (await api.call("outreach", OUTREACH_WORKER, "POST", "/cases", 201, body))["outreach_case_id"]
        for attempt in client.attempts:
            attempt_body = {
                "method": attempt.method,
                "outcome": attempt.outcome,
                "attempted_on": attempt.attempted_on.isoformat(),
            }
            await api.call(
                "outreach", OUTREACH_WORKER, "POST", f"/cases/{case}/contact-attempts", 201, attempt_body
            )
            loaded.count("contact_attempts")
        if client.connected_on is not None:
            connection = {
                "connected_to": "intake",
                "organisation": "city-soudan",
                "connected_on": client.connected_on.isoformat(),
            }
            await api.call("outreach", OUTREACH_WORKER, "POST", f"/cases/{case}/connection", 201, connection)
            loaded.count("connected")
        loaded.count("outreach_clients")


async def _community(api: Api, town: Town, loaded: Loaded) -> None:
    """Places to be, a year of their activities, platform meetings, and concerns passed on."""
    if "community" not in api.clients:
        return
    user = COMMUNITY_COORDINATOR
    place_ids: list[str] = []

    async def place_year(place: Place) -> None:
        # One place's records are one stream: its activities go in one after another.
        body = {
            "kind": place.kind,
            "name": place.name,
            "district": place.district,
            "school_district": place.school_district,
            "target_groups": list(place.target_groups),
            "multi_generational": place.multi_generational,
            "integrated_schemes": list(place.integrated_schemes),
            "schedule": [{"freq": "MONTHLY", "byday": ["2SA"], "opens_at": "10:00", "closes_at": "14:00"}],
            "opened_on": YEAR_START.isoformat(),
        }
        place_id = (await api.call("community", user, "POST", "/places", 201, body))["place_id"]
        place_ids.append(place_id)
        loaded.count("places")
        for held in place.activities:
            activity = {
                "held_on": held.held_on.isoformat(),
                "attendance": held.attendance,
                "volunteer_count": held.volunteers,
                "new_resident_led": held.new_resident_led,
            }
            if held.integrated_scheme is not None:
                activity["integrated_scheme"] = held.integrated_scheme
            await api.call("community", user, "POST", f"/places/{place_id}/activities", 201, activity)
            loaded.count("activities")
        if place.concern is not None:
            noticed = place.concern.noticed_on.isoformat()
            concern = {
                "issue_tags": list(place.concern.issue_tags),
                "age_band": place.concern.age_band,
                "description": "常連の方が最近来なくなり、服装の乱れも気になる。",
                "noticed_on": noticed,
            }
            created = await api.call("community", user, "POST", f"/places/{place_id}/concerns", 201, concern)
            raise_to = {"raised_to": place.concern.raised_to, "raised_on": noticed}
            await api.call(
                "community", user, "POST", f"/concerns/{created['concern_id']}/raise", 200, raise_to
            )
            loaded.count("concerns")
            loaded.count(f"concerns_to_{place.concern.raised_to}")

    await asyncio.gather(*(place_year(place) for place in town.places))
    # A concern noticed this week that the coordinator has yet to pass on (つなぎ前の気づき).
    recent = {
        "issue_tags": ["isolation"],
        "age_band": "75+",
        "description": "一人暮らしの常連の方が、このところ元気がない。",
        "noticed_on": (BusinessClock.from_env().today() - timedelta(days=5)).isoformat(),
    }
    await api.call("community", user, "POST", f"/places/{min(place_ids)}/concerns", 201, recent)
    for held_on in town.platform_meetings:
        meeting = {
            "held_on": held_on.isoformat(),
            "sectors": ["welfare", "education", "commerce"],
            "organisations": ["shakyo-chiiki", "city-fukushi", "kikan-soudan"],
            "themes": ["isolation_prevention", "place_making"],
        }
        await api.call("community", user, "POST", "/platform-meetings", 201, meeting)
        loaded.count("platform_meetings")


async def load_town(
    urls: dict[str, str], issuer: LocalIssuer, population: int = SMALL_TOWN, timeout: float = 300
) -> Loaded:
    """Create the town's year through the APIs of every running service."""
    town = plan(population)
    api = Api(urls, issuer)
    loaded = Loaded()
    deadline = time.monotonic() + timeout
    try:
        ids: dict[int, dict[str, str]] = {}
        await asyncio.gather(*(_consult(api, c, loaded, ids, i) for i, c in enumerate(town.consultations)))
        loaded.cases = [ids[i]["case_id"] for i in range(len(town.consultations))]
        loaded.first_worker = ids[0]["worker"]
        referred = [(c, ids[i]) for i, c in enumerate(town.consultations) if "referral_id" in ids[i]]

        async def all_opened() -> bool:
            for _, case in referred:
                if "opened" not in case:
                    if not await api.exists("coordination", COORDINATOR, f"/referrals/{case['referral_id']}"):
                        return False
                    case["opened"] = "yes"
            return True

        await api.eventually(all_opened, deadline, "coordination to open every referral")
        await asyncio.gather(*(_open_coordination_case(api, case) for _, case in referred))
        planned = [(c, case) for c, case in referred if c.agreed_on is not None]
        await _meetings(api, town, ids, loaded)
        await asyncio.gather(*(_coordinate(api, c, case, loaded) for c, case in planned))
        # Half the referrals not planned within the year (by the day they came) have a draft
        # waiting for an agency's answer; the others still wait for their draft.
        drafting = [
            (c, case)
            for c, case in referred
            if c.agreed_on is None and c.referred_on is not None and c.referred_on.toordinal() % 2 == 0
        ]
        await asyncio.gather(*(_draft_awaiting_answers(api, c, case, loaded) for c, case in drafting))
        to_participation = [(c, case) for c, case in planned if "participation_referral_id" in case]
        await _participation(api, to_participation, deadline, loaded)
        await _outreach(api, town, loaded)
        await _community(api, town, loaded)
    finally:
        await api.close()
    return loaded


def on_dashboard(counts: dict[str, int]) -> dict[str, int]:
    """What the dashboard must show once it has caught up with a demo that created `counts`,
    keyed like `dashboard_totals`: what the demo made plus the services' reactions to it (a
    referral is accepted; outreach opens a case for a referral or a concern; intake opens one for
    a person outreach connected or a place passed on)."""
    n = counts.get
    return {
        "flow.received": n("consultations", 0) + n("connected", 0) + n("concerns_to_intake", 0),
        "flow.referred": n("referred", 0),
        "flow.accepted": n("referred", 0),
        "flow.plan_agreed": n("planned", 0),
        "flow.referred_outreach": n("referred_to_outreach", 0),
        "flow.referred_participation": n("referred_to_participation", 0),
        "flow.participation_accepted": n("referred_to_participation", 0),
        "flow.concluded": n("concluded", 0),
        "flow.returned": n("concluded", 0),
        "outreach_found": n("outreach_clients", 0)
        + n("referred_to_outreach", 0)
        + n("concerns_to_outreach", 0),
        "outreach_attempts": n("contact_attempts", 0),
        "outreach_connected": n("connected", 0),
        "placements_started": n("placements", 0),
        "placement_followups": n("follow_ups", 0),
        "places": n("places", 0),
        "activities": n("activities", 0),
        "platform_meetings": n("platform_meetings", 0),
    }


def dashboard_totals(document: dict[str, Any]) -> dict[str, int | None]:
    """Totals of the dashboard document (`GET /api/dashboard`): each flow step, and every other
    figure's `n` summed over its rows; None where a count in it is hidden as small."""
    totals: dict[str, int | None] = {}
    for key, figure in document.get("figures", {}).items():
        rows = figure.get("rows", [])
        if key == "flow":
            totals |= {f"flow.{row['step']}": row.get("n") for row in rows}
        elif all("n" in row for row in rows):
            counts = [row["n"] for row in rows]
            totals[key] = None if None in counts else sum(counts)
    return totals


def load(
    urls: dict[str, str], issuer: LocalIssuer, population: int = SMALL_TOWN, timeout: float = 300
) -> Loaded:
    """Synchronous entry for `deploy/run.py`."""
    return asyncio.run(load_town(urls, issuer, population, timeout))
