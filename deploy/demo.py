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
from deploy.town import SMALL_TOWN, YEAR_START, Consultation, Town, plan
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

    async def eventually(self, probe: Callable[[], Awaitable[bool]], deadline: float, what: str) -> None:
        while not await probe():
            if time.monotonic() > deadline:
                raise DemoError(f"timed out waiting for {what}")
            await asyncio.sleep(0.2)  # poll interval: the services react through Kafka


def intake_worker(consultation: Consultation) -> str:
    return INTAKE_BY_DISTRICT_PREFIX.get(consultation.district.split("-")[0], DEFAULT_INTAKE_WORKER)


def _organisation(user: str) -> str:
    return Directory.load().users[user].organisation


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


def _plan_body(c: Consultation, holder: str) -> dict[str, Any]:
    review_on = (c.plan_on + timedelta(days=90)).isoformat() if c.plan_on else None
    roles = [
        {
            "organisation": holder,
            "responsibility": RoleResponsibility.MAIN_CONTACT.value,
            "review_on": review_on,
        },
        {
            "organisation": "kikan-soudan",
            "responsibility": RoleResponsibility.WATCHING_OVER.value,
            "review_on": review_on,
        },
    ]
    return {
        "meeting_type": "support_plan_meeting" if c.consent else "confidential_support_meeting",
        "members": sorted({"shakyo-tagikan", holder, "kikan-soudan"}),
        "goals": ["生活の安定に向けて関係機関で役割を分担する", "本人と家族の負担を減らす"],
        "roles": roles,
        "agreed_on": c.plan_on.isoformat() if c.plan_on else None,
    }


async def _coordinate(api: Api, c: Consultation, ids: dict[str, str], loaded: Loaded) -> None:
    opened = await api.call("coordination", COORDINATOR, "GET", f"/referrals/{ids['referral_id']}", 200)
    case = f"/cases/{opened['coordination_case_id']}"
    if c.plan_on is None:
        return
    await api.call(
        "coordination", COORDINATOR, "POST", f"{case}/plans", 201, _plan_body(c, _organisation(ids["worker"]))
    )
    loaded.count("planned")
    if c.concluded_on is not None:
        body = {
            "reason": "support_concluded",
            "note": "目標を達成し見守りに移行",
            "returned_on": c.concluded_on.isoformat(),
        }
        await api.call("coordination", COORDINATOR, "POST", f"{case}/return", 201, body)
        loaded.count("returned")


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
                    client = api.clients["coordination"]
                    headers = {"Authorization": f"Bearer {api.tokens[COORDINATOR]}"}
                    if (
                        await client.get(f"/referrals/{case['referral_id']}", headers=headers)
                    ).status_code != 200:
                        return False
                    case["opened"] = "yes"
            return True

        await api.eventually(all_opened, deadline, "coordination to open every referral")
        await asyncio.gather(*(_coordinate(api, c, case, loaded) for c, case in referred))
        await _outreach(api, town, random.Random(town.seed + 1), loaded)
    finally:
        await api.close()
    return loaded


def load(
    urls: dict[str, str], issuer: LocalIssuer, population: int = SMALL_TOWN, timeout: float = 300
) -> Loaded:
    """Synchronous entry for `deploy/run.py`."""
    return asyncio.run(load_town(urls, issuer, population, timeout))
