"""Load the generated demo municipality (deploy/town.py) through the services' public APIs.

Every record is made the way a worker would make it: over HTTP, with a demo user's token, so
the demo exercises authentication, authorisation, the outbox, Kafka and every consumer. The
town is deterministic; only the ids the services assign differ between runs.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx

from contracts.glossary import RoleResponsibility
from deploy.local.issuer import LocalIssuer
from deploy.town import PEOPLE_PER_PLACE, SMALL_TOWN, YEAR_START, Consultation, Town, plan
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
        self.tokens = {user: issuer.token_for(user, directory) for user in directory.users}
        self.clients = {name: httpx.AsyncClient(base_url=url, timeout=30) for name, url in urls.items()}
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


def intake_worker(consultation: Consultation) -> str:
    return INTAKE_BY_DISTRICT_PREFIX.get(consultation.district.split("-")[0], DEFAULT_INTAKE_WORKER)


async def _consult(
    api: Api, c: Consultation, loaded: Loaded, ids: dict[int, dict[str, str]], index: int
) -> None:
    worker = intake_worker(c)
    body = {
        "channel": c.channel.value,
        "person": c.person,
        "household": c.household,
        "issue_tags": [t.value for t in c.issue_tags],
        "district": c.district,
        "summary": c.summary,
        "received_on": c.received_on.isoformat(),
    }
    case_id = (await api.call("intake", worker, "POST", "/cases", 201, body))["case_id"]
    ids[index] = {"case_id": case_id, "worker": worker}
    if c.consent:
        consent = {
            "programs": ["intake", "coordination", "outreach", "participation"],
            "purpose": "support_coordination",
            "granted_on": c.received_on.isoformat(),
            "expires_on": (c.received_on + timedelta(days=730)).isoformat(),
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


async def _open_coordination_case(api: Api, ids: dict[str, str]) -> str:
    opened = await api.call("coordination", COORDINATOR, "GET", f"/referrals/{ids['referral_id']}", 200)
    ids["coordination_case_id"] = opened["coordination_case_id"]
    return opened["coordination_case_id"]


async def _meetings(
    api: Api, planned: list[tuple[Consultation, dict[str, str]]], rng: random.Random, loaded: Loaded
) -> None:
    """One meeting a month of each kind, discussing that month's cases; plans cite their meeting.

    A 重層的支援会議 discusses consented cases; the others go to a 支援会議 (法106条の6).
    """
    by_meeting: dict[tuple[str, str], list[tuple[Consultation, dict[str, str]]]] = {}
    for c, ids in planned:
        assert c.plan_on is not None
        kind = "support_plan_meeting" if c.consent else "confidential_support_meeting"
        by_meeting.setdefault((c.plan_on.strftime("%Y-%m"), kind), []).append((c, ids))
    for (_, kind), cases in sorted(by_meeting.items()):
        held_on = max(c.plan_on for c, _ in cases if c.plan_on)
        holders = sorted({api.directory.users[ids["worker"]].organisation for _, ids in cases})
        attendees = [
            {"organisation": "shakyo-tagikan", "role": "convener"},
            *({"organisation": h, "role": "referring_agency"} for h in holders),
            {"organisation": "kikan-soudan", "role": "support_agency"},
            {"organisation": "city-fukushi", "role": "municipality"},
        ]
        meeting = {
            "meeting_type": kind,
            "held_on": held_on.isoformat(),
            "attendees": attendees,
            "cases": [ids["coordination_case_id"] for _, ids in cases],
            "decisions": [
                {"coordination_case_id": ids["coordination_case_id"], "decision": "plan_agreed"}
                for _, ids in cases
            ],
            "missing_resources": (
                [
                    {
                        "resource_kind": rng.choice(["place_to_be", "work_experience_host", "transport"]),
                        "district": cases[0][0].district,
                    }
                ]
                if rng.random() < 0.4
                else []
            ),
        }
        created = await api.call("coordination", COORDINATOR, "POST", "/meetings", 201, meeting)
        loaded.count("meetings")
        for _, ids in cases:
            ids["meeting_id"] = created["meeting_id"]
            ids["meeting_on"] = held_on.isoformat()


async def _coordinate(api: Api, c: Consultation, ids: dict[str, str], loaded: Loaded) -> None:
    """Assessment, the plan agreed at its meeting, role acceptance, referrals, conclusion, return."""
    case = f"/cases/{ids['coordination_case_id']}"
    agreed_on = date.fromisoformat(ids["meeting_on"])
    assessment = {
        "assessed_on": (agreed_on - timedelta(days=1)).isoformat(),
        "members": [
            {
                "relation": "本人",
                "issue_tags": [t.value for t in c.issue_tags],
                "findings": "複数の課題が重なっている。",
            }
        ],
    }
    await api.call("coordination", COORDINATOR, "POST", f"{case}/assessments", 201, assessment)
    plan_body = {
        "meeting_id": ids["meeting_id"],
        "goals": ["生活の安定に向けて関係機関で役割を分担する", "本人と家族の負担を減らす"],
        "roles": _roles(api.directory.users[ids["worker"]].organisation, agreed_on + timedelta(days=90)),
    }
    await api.call("coordination", COORDINATOR, "POST", f"{case}/plans", 201, plan_body)
    loaded.count("planned")
    for index in (0, 1):
        acceptance = {"accepted_on": agreed_on.isoformat()}
        await api.call(
            "coordination", COORDINATOR, "POST", f"{case}/plans/1/roles/{index}/acceptance", 201, acceptance
        )
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


MENUS = (
    ("あおぞら農園での農作業体験", "work_experience", "farm-aozora", "あおぞら農園", "minami-1", 3),
    ("商店街の店番体験", "work_experience", "shoten-kai", "中央商店街振興組合", "chuo-1", 2),
    ("まちかどカフェの居場所", "place_to_be", "cafe-machikado", "まちかどカフェ", "kita-2", 6),
    ("図書館の配架ボランティア", "volunteering", "city-library", "架空市立図書館", "chuo-2", 4),
)


async def _participation(
    api: Api, referred: list[tuple[Consultation, dict[str, str]]], deadline: float, loaded: Loaded
) -> None:
    """Menus with hosts; each referred person assessed, placed and followed up (定着支援)."""
    if "participation" not in api.clients:
        return
    user = PARTICIPATION_COORDINATOR
    menus = []
    for title, kind, host, host_name, district, capacity in MENUS:
        body = {
            "title": title,
            "description": "受け入れ先と相談しながら、無理のない範囲で参加します。",
            "kind": kind,
            "host_organisation": host,
            "host_name": host_name,
            "district": district,
            "capacity": capacity,
            "schedule": "毎週火・木 10時〜12時",
        }
        menus.append((await api.call("participation", user, "POST", "/menus", 201, body))["menu_id"])
        loaded.count("menus")
    seats = {menu: capacity for menu, (*_, capacity) in zip(menus, MENUS, strict=True)}
    for _, ids in referred:
        referral_id = ids["participation_referral_id"]
        await api.eventually(
            lambda path=f"/referrals/{referral_id}": api.exists("participation", user, path),
            deadline,
            "participation to accept a referral",
        )
        case = (await api.call("participation", user, "GET", f"/referrals/{referral_id}", 200))[
            "participation_case_id"
        ]
        start = date.fromisoformat(ids["meeting_on"]) + timedelta(days=7)
        assessment = {
            "needs": ["work_experience"],
            "wishes": "人の少ない時間帯なら参加したい。",
            "assessed_on": start.isoformat(),
        }
        await api.call("participation", user, "POST", f"/cases/{case}/assessments", 201, assessment)
        menu = next((m for m, free in seats.items() if free > 0), None)
        if menu is None:
            continue
        seats[menu] -= 1
        placement = {"menu_id": menu, "started_on": (start + timedelta(days=7)).isoformat()}
        placed = await api.call("participation", user, "POST", f"/cases/{case}/placements", 201, placement)
        loaded.count("placements")
        for days in (30, 90, 180):
            on = start + timedelta(days=7 + days)
            if on > YEAR_START + timedelta(days=364):
                break
            follow_up = {"status": "settled", "followed_up_on": on.isoformat()}
            path = f"/cases/{case}/placements/{placed['placement_id']}/follow-ups"
            await api.call("participation", user, "POST", path, 201, follow_up)
            loaded.count("follow_ups")


async def _outreach(api: Api, town: Town, rng: random.Random, loaded: Loaded) -> None:
    """People nobody referred: found by 民生委員 and neighbours, visited until they connect or not."""
    if "outreach" not in api.clients:
        return
    for _ in range(town.outreach_clients):
        found_on = town_day(rng, 0, 200)
        body = {
            "identified_by": rng.choice(["minsei_iin", "neighbour", "relative", "related_agency"]),
            "issue_tags": rng.choice(
                [["hikikomori", "isolation"], ["self_neglect", "isolation"], ["8050", "hikikomori"]]
            ),
            "age_band": rng.choice(["18-39", "40-64", "65-74", "75+"]),
            "district": rng.choice(["chuo-1", "kita-2", "minami-1", "higashi-3"]),
            "note": "近所の方から、最近姿を見かけないと連絡があった。",
            "identified_on": found_on.isoformat(),
        }
        case = (await api.call("outreach", OUTREACH_WORKER, "POST", "/cases", 201, body))["outreach_case_id"]
        day = found_on
        reached = False
        for attempt in range(rng.randint(2, 8)):
            day += timedelta(days=rng.randint(5, 20))
            outcome = (
                "conversation"
                if attempt >= 2 and rng.random() < 0.4
                else rng.choice(["no_answer", "brief_contact"])
            )
            method = rng.choice(["home_visit", "letter", "phone"])
            attempt_body = {"method": method, "outcome": outcome, "attempted_on": day.isoformat()}
            await api.call(
                "outreach", OUTREACH_WORKER, "POST", f"/cases/{case}/contact-attempts", 201, attempt_body
            )
            loaded.count("contact_attempts")
            reached = reached or outcome != "no_answer"
        if reached and rng.random() < 0.5:
            day += timedelta(days=7)
            connection = {
                "connected_to": "intake",
                "organisation": "city-soudan",
                "connected_on": day.isoformat(),
            }
            await api.call("outreach", OUTREACH_WORKER, "POST", f"/cases/{case}/connection", 201, connection)
            loaded.count("connected")
        loaded.count("outreach_clients")


PLACE_KINDS = (
    ("kodomo_shokudo", "こども食堂", ["children", "parents_with_children"], False),
    ("salon", "ふれあいサロン", ["older"], False),
    ("community_cafe", "まちかどカフェ", ["everyone"], True),
    ("kyosei_hub", "共生型拠点", ["everyone", "people_with_disabilities"], True),
)


async def _community(api: Api, town: Town, rng: random.Random, loaded: Loaded) -> None:
    """Places to be, a year of their activities, platform meetings, and concerns passed on."""
    if "community" not in api.clients:
        return
    user = COMMUNITY_COORDINATOR
    districts = ["chuo-1", "chuo-2", "kita-1", "kita-2", "minami-1", "higashi-3", "nishi-2"]
    places = max(4, town.population // PEOPLE_PER_PLACE)
    resident_led = set(rng.sample(range(places), min(places, town.new_resident_led)))

    async def place_year(n: int) -> None:
        # One place's records are one stream: its activities go in one after another.
        kind, label, targets, multi = PLACE_KINDS[n % len(PLACE_KINDS)]
        district = districts[n % len(districts)]
        body = {
            "kind": kind,
            "name": f"{label}{n + 1}号（架空市）",
            "district": district,
            "school_district": f"{district.split('-')[0]}-es",
            "target_groups": targets,
            "multi_generational": multi,
            "schedule": [{"freq": "MONTHLY", "byday": ["2SA"], "opens_at": "10:00", "closes_at": "14:00"}],
            "opened_on": YEAR_START.isoformat(),
        }
        place = (await api.call("community", user, "POST", "/places", 201, body))["place_id"]
        loaded.count("places")
        for month in range(12):
            held_on = YEAR_START + timedelta(days=30 * month + rng.randint(0, 20))
            activity = {
                "held_on": held_on.isoformat(),
                "attendance": {
                    "children": rng.randint(0, 15) if "children" in targets or multi else 0,
                    "youth": rng.randint(0, 3),
                    "working_age": rng.randint(1, 8),
                    "older": rng.randint(2, 20) if "older" in targets or multi else rng.randint(0, 3),
                },
                "volunteer_count": rng.randint(2, 6),
                "new_resident_led": month == 6 and n in resident_led,
            }
            await api.call("community", user, "POST", f"/places/{place}/activities", 201, activity)
            loaded.count("activities")
        if n < town.concerns:
            noticed = YEAR_START + timedelta(days=rng.randint(30, 300))
            concern = {
                "issue_tags": ["isolation", "self_neglect"],
                "age_band": "75+",
                "description": "常連の方が最近来なくなり、服装の乱れも気になる。",
                "noticed_on": noticed.isoformat(),
            }
            created = await api.call("community", user, "POST", f"/places/{place}/concerns", 201, concern)
            raise_to = {"raised_to": "intake" if n % 2 else "outreach", "raised_on": noticed.isoformat()}
            await api.call(
                "community", user, "POST", f"/concerns/{created['concern_id']}/raise", 200, raise_to
            )
            loaded.count("concerns")

    await asyncio.gather(*(place_year(n) for n in range(places)))
    for quarter in range(4):
        meeting = {
            "held_on": (YEAR_START + timedelta(days=90 * quarter + 20)).isoformat(),
            "sectors": ["welfare", "education", "commerce"],
            "organisations": ["shakyo-chiiki", "city-fukushi", "kikan-soudan"],
            "themes": ["isolation_prevention", "place_making"],
        }
        await api.call("community", user, "POST", "/platform-meetings", 201, meeting)
        loaded.count("platform_meetings")


def town_day(rng: random.Random, start: int, span: int) -> date:
    return YEAR_START + timedelta(days=start + rng.randrange(span))


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
        planned = [(c, case) for c, case in referred if c.plan_on is not None]
        await _meetings(api, planned, random.Random(town.seed + 3), loaded)
        await asyncio.gather(*(_coordinate(api, c, case, loaded) for c, case in planned))
        to_participation = [(c, case) for c, case in planned if "participation_referral_id" in case]
        await _participation(api, to_participation, deadline, loaded)
        await _outreach(api, town, random.Random(town.seed + 1), loaded)
        await _community(api, town, random.Random(town.seed + 2), loaded)
    finally:
        await api.close()
    return loaded


def load(
    urls: dict[str, str], issuer: LocalIssuer, population: int = SMALL_TOWN, timeout: float = 300
) -> Loaded:
    """Synchronous entry for `deploy/run.py`."""
    return asyncio.run(load_town(urls, issuer, population, timeout))
