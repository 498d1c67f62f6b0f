"""The workload: the demo municipality's operations, driven concurrently over every public API.

Each case goes through its flow one command at a time (a worker does not plan a case before it
is opened), many cases at once. Every command is an `Op` in the history with its own
X-Correlation-ID, so the checker can find exactly the events it caused, in its own service and,
through causation, downstream. A command that fails or whose outcome is unknown is retried as a
new operation, as a worker would press the button again; a flow gives up only at the deadline.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx

from contracts.glossary import RoleResponsibility
from deploy.demo import (
    COMMUNITY_COORDINATOR,
    COORDINATOR,
    OUTREACH_WORKER,
    PARTICIPATION_COORDINATOR,
    consultation_body,
    intake_worker,
)
from deploy.local.issuer import LocalIssuer, Tokens
from deploy.town import CITY, Consultation, plan
from faults.history import History, Op, Outcome
from libs.directory import Directory

REQUEST_TIMEOUT = 10.0
RETRY_PAUSE = 0.5
# The demo's menus and kinds of place (deploy/town.py), as few as the flows need.
MENUS = (
    ("あおぞら農園での農作業体験", "work_experience", "farm-aozora", "あおぞら農園", "minami-1"),
    ("まちかどカフェの居場所", "place_to_be", "cafe-machikado", "まちかどカフェ", "kita-2"),
)
PLACE_KINDS = (
    ("kodomo_shokudo", "こども食堂", ["children", "parents_with_children"], False),
    ("salon", "ふれあいサロン", ["older"], False),
    ("community_cafe", "まちかどカフェ", ["everyone"], True),
)


class GaveUp(Exception):
    """The flow's deadline passed (or the domain refused a step): this case stops here."""


@dataclass
class Settings:
    """How much work: `cases` intake flows at most `concurrency` at a time, plus outreach and
    community flows, all until `duration` seconds have passed."""

    duration: float
    concurrency: int = 6
    outreach_flows: int = 2
    community_flows: int = 2
    seed: int = 2026


class Client:
    """Calls the APIs as demo users and records every command in the history."""

    def __init__(self, urls: dict[str, str], issuer: LocalIssuer, history: History) -> None:
        directory = Directory.load()
        self.directory = directory
        self.tokens = Tokens(issuer, directory)
        self.clients = {
            name: httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT) for name, url in urls.items()
        }
        self.history = history

    async def close(self) -> None:
        await asyncio.gather(*(c.aclose() for c in self.clients.values()))

    async def command(
        self, service: str, user: str, path: str, body: Any, command: str, affects: str | None = None
    ) -> tuple[Op, dict[str, Any]]:
        """POST once; classify what the client can know about the outcome."""
        op = Op(service=service, command=command, path=path, affects=affects, start=time.monotonic())
        headers = {"Authorization": f"Bearer {self.tokens[user]}", "X-Correlation-ID": str(op.op_id)}
        answer: dict[str, Any] = {}
        try:
            response = await self.clients[service].post(path, json=body, headers=headers)
            op.status = response.status_code
            if response.is_success:
                op.outcome = Outcome.OK
                answer = response.json() if response.content else {}
                op.created = {k: str(v) for k, v in answer.items() if k.endswith("_id")}
            elif response.status_code < 500:
                op.outcome = Outcome.FAILED
                op.error = response.text[:200]
            else:
                op.outcome = Outcome.UNKNOWN
                op.error = response.text[:200]
        except httpx.ConnectError as exc:  # nothing was sent: a definite failure
            op.outcome, op.error = Outcome.FAILED, f"{type(exc).__name__}"
        except httpx.HTTPError as exc:  # sent, no answer: it may have happened
            op.outcome, op.error = Outcome.UNKNOWN, f"{type(exc).__name__}"
        op.end = time.monotonic()
        self.history.add(op)
        return op, answer

    async def get(self, service: str, user: str, path: str) -> dict[str, Any] | None:
        """A read (not part of the history): the JSON on 200, else None."""
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        try:
            response = await self.clients[service].get(path, headers=headers)
        except httpx.HTTPError:
            return None
        return response.json() if response.status_code == 200 else None


class Flows:
    """The operations of the demo municipality (deploy/demo.py), one case at a time."""

    def __init__(self, client: Client, deadline: float, rng: random.Random) -> None:
        self.client = client
        self.deadline = deadline
        self.rng = rng
        self.menus: list[str] = []
        self.completed = 0
        self.gave_up = 0

    async def step(
        self,
        service: str,
        user: str,
        path: str,
        body: Any,
        command: str,
        affects: str | None = None,
        done: str | None = None,
    ) -> dict[str, Any]:
        """One command, retried as new operations until acknowledged; a 4xx other than a refused
        connection or a conflict means the domain said no, and the flow stops. `done`: the code of
        the conflict a retry meets when an earlier attempt, whose answer was lost, took effect (a
        role already accepted, a draft already agreed): the step is done, with no answer."""
        while time.monotonic() < self.deadline:
            op, answer = await self.client.command(service, user, path, body, command, affects)
            if op.outcome is Outcome.OK:
                return answer
            if done is not None and op.status == 409 and done in (op.error or ""):
                return {}
            if op.outcome is Outcome.FAILED and op.status is not None and op.status not in (404, 409, 503):
                raise GaveUp(f"{service} {command}: HTTP {op.status} {op.error}")
            await asyncio.sleep(RETRY_PAUSE)  # back off while the fault lasts
        raise GaveUp(f"{service} {command}: deadline")

    async def wait_for(self, service: str, user: str, path: str) -> dict[str, Any]:
        """What another service's consumer creates appears later: poll until it does."""
        while time.monotonic() < self.deadline:
            found = await self.client.get(service, user, path)
            if found is not None:
                return found
            await asyncio.sleep(0.3)  # poll interval: the effect travels through Kafka
        raise GaveUp(f"waiting for {service} {path}")

    async def menus_of_participation(self) -> None:
        for title, kind, host, host_name, district in MENUS:
            body = {
                "title": title,
                "description": "受け入れ先と相談しながら、無理のない範囲で参加します。",
                "kind": kind,
                "host_organisation": host,
                "host_name": host_name,
                "district": district,
                "capacity": 500,
                "schedule": "毎週火・木 10時〜12時",
            }
            answer = await self.step(
                "participation", PARTICIPATION_COORDINATOR, "/menus", body, "register_menu"
            )
            self.menus.append(answer["menu_id"])

    async def case(self, index: int, c: Consultation) -> None:
        """Intake → coordination → (participation, outreach) → conclusion and return to intake."""
        worker = intake_worker(c)
        body = consultation_body(c)
        case_id = (await self.step("intake", worker, "/cases", body, "receive_case"))["case_id"]
        received = c.received_on
        consent = index % 4 != 3
        if consent:
            consent_body = {
                "programs": ["intake", "coordination", "outreach", "participation"],
                "purpose": "support_coordination",
                "granted_on": received.isoformat(),
                "expires_on": (received + timedelta(days=730)).isoformat(),
            }
            await self.step(
                "intake", worker, f"/cases/{case_id}/consents", consent_body, "grant_consent", case_id
            )
        referral = {
            "urgency": "routine",
            "reason": "複合的な課題のため多機関協働での対応を依頼",
            "referred_on": (received + timedelta(days=2)).isoformat(),
        }
        path = f"/cases/{case_id}/referrals"
        referral_id = (await self.step("intake", worker, path, referral, "refer", case_id))["referral_id"]
        opened = await self.wait_for("coordination", COORDINATOR, f"/referrals/{referral_id}")
        await self.coordinate(
            index, c, worker, opened["coordination_case_id"], consent, received + timedelta(days=20)
        )
        self.completed += 1

    async def coordinate(
        self, index: int, c: Consultation, worker: str, ccid: str, consent: bool, agreed: date
    ) -> None:
        case = f"/cases/{ccid}"
        assessment = {
            "assessed_on": (agreed - timedelta(days=1)).isoformat(),
            "members": [
                {
                    "relation": "本人",
                    "issue_tags": [t.value for t in c.issue_tags],
                    "findings": "複数の課題が重なっている。",
                }
            ],
        }
        await self.step("coordination", COORDINATOR, f"{case}/assessments", assessment, "assess", ccid)
        holder = self.client.directory.users[worker].organisation
        meeting = {
            "meeting_type": "support_plan_meeting" if consent else "confidential_support_meeting",
            "held_on": agreed.isoformat(),
            "attendees": [
                {"organisation": "shakyo-tagikan", "role": "convener"},
                {"organisation": holder, "role": "referring_agency"},
                {"organisation": "kikan-soudan", "role": "support_agency"},
                {"organisation": "city-fukushi", "role": "municipality"},
            ],
            "cases": [ccid],
            "decisions": [{"coordination_case_id": ccid, "decision": "plan_agreed"}],
            "missing_resources": (
                [{"resource_kind": "place_to_be", "district": c.district}] if index % 5 == 0 else []
            ),
        }
        meeting_id = (
            await self.step("coordination", COORDINATOR, "/meetings", meeting, "hold_meeting", ccid)
        )["meeting_id"]
        review_on = (agreed + timedelta(days=90)).isoformat()
        drafted_on = (agreed - timedelta(days=1)).isoformat()
        draft = {
            "goals": ["生活の安定に向けて関係機関で役割を分担する"],
            "wishes": "本人は住み慣れた家で暮らし続けたい。",
            "period_from": drafted_on,
            "period_to": (agreed + timedelta(days=364)).isoformat(),
            "roles": [
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
            ],
            "drafted_on": drafted_on,
        }
        # A retried draft is a redraft of the same roles: it keeps their answers, nothing is lost.
        await self.step("coordination", COORDINATOR, f"{case}/plans/drafts", draft, "draft_plan", ccid)
        for role in (0, 1):
            path = f"{case}/plans/1/roles/{role}/acceptance"
            accepted = {"accepted_on": drafted_on}
            await self.step(
                "coordination", COORDINATOR, path, accepted, "accept_role", ccid, done="role_already_accepted"
            )
        agreement = {"meeting_id": meeting_id}
        await self.step(
            "coordination", COORDINATOR, f"{case}/plans", agreement, "agree_plan", ccid, done="no_draft"
        )
        if consent and index % 2 == 0 and self.menus:
            body = {
                "needs": ["work_experience"],
                "reason": "日中の活動の場が必要",
                "referred_on": agreed.isoformat(),
            }
            path = f"{case}/referrals/participation"
            referral_id = (
                await self.step("coordination", COORDINATOR, path, body, "refer_participation", ccid)
            )["referral_id"]
            await self.participate(index, referral_id, agreed + timedelta(days=7))
        if consent and index % 3 == 0:
            body = {"reason": "本人と会えていないため継続的な訪問を依頼", "referred_on": agreed.isoformat()}
            await self.step(
                "coordination", COORDINATOR, f"{case}/referrals/outreach", body, "refer_outreach", ccid
            )
        monitoring = {
            "monitored_on": (agreed + timedelta(days=30)).isoformat(),
            "note": "役割分担どおりに支援が進んでいる。",
        }
        await self.step("coordination", COORDINATOR, f"{case}/monitoring", monitoring, "monitor", ccid)
        if index % 2 == 1:
            concluded = (agreed + timedelta(days=60)).isoformat()
            conclusion = {
                "outcome": "improved",
                "goals_met": 1,
                "evaluation": "家族の負担が軽くなり、見守り体制ができた。",
                "concluded_on": concluded,
            }
            await self.step("coordination", COORDINATOR, f"{case}/conclusion", conclusion, "conclude", ccid)
            back = {
                "reason": "support_concluded",
                "note": "相談支援機関での見守りに移行",
                "returned_on": concluded,
            }
            await self.step("coordination", COORDINATOR, f"{case}/return", back, "return_to_origin", ccid)

    async def participate(self, index: int, referral_id: str, start: date) -> None:
        user = PARTICIPATION_COORDINATOR
        accepted = await self.wait_for("participation", user, f"/referrals/{referral_id}")
        case = f"/cases/{accepted['participation_case_id']}"
        assessment = {
            "needs": ["work_experience"],
            "wishes": "人の少ない時間帯なら参加したい。",
            "assessed_on": start.isoformat(),
        }
        await self.step(
            "participation", user, f"{case}/assessments", assessment, "assess_participation", case
        )
        placement = {
            "menu_id": self.menus[index % len(self.menus)],
            "started_on": (start + timedelta(days=7)).isoformat(),
        }
        placed = await self.step("participation", user, f"{case}/placements", placement, "place", case)
        follow_up = {"status": "settled", "followed_up_on": (start + timedelta(days=37)).isoformat()}
        path = f"{case}/placements/{placed['placement_id']}/follow-ups"
        await self.step("participation", user, path, follow_up, "follow_up", case)

    async def outreach(self, n: int) -> None:
        """Someone nobody referred: found, visited until reached, connected to intake."""
        found_on = date(2025, 5, 1) + timedelta(days=n % 150)
        body = {
            "identified_by": self.rng.choice(["minsei_iin", "neighbour", "relative", "related_agency"]),
            "issue_tags": ["hikikomori", "isolation"],
            "age_band": self.rng.choice(["18-39", "40-64", "65-74", "75+"]),
            "district": self.rng.choice(["chuo-1", "kita-2", "minami-1", "higashi-3"]),
            "note": "近所の方から、最近姿を見かけないと連絡があった。",
            "identified_on": found_on.isoformat(),
        }
        case = (await self.step("outreach", OUTREACH_WORKER, "/cases", body, "identify"))["outreach_case_id"]
        day = found_on
        for outcome in ("no_answer", "brief_contact", "conversation"):
            day += timedelta(days=10)
            attempt = {"method": "home_visit", "outcome": outcome, "attempted_on": day.isoformat()}
            path = f"/cases/{case}/contact-attempts"
            await self.step("outreach", OUTREACH_WORKER, path, attempt, "attempt_contact", case)
        connection = {
            "connected_to": "intake",
            "organisation": "city-soudan",
            "connected_on": (day + timedelta(days=7)).isoformat(),
        }
        await self.step("outreach", OUTREACH_WORKER, f"/cases/{case}/connection", connection, "connect", case)
        self.completed += 1

    async def community(self, n: int) -> None:
        """A place to be, a few months of activities, and a concern passed on."""
        kind, label, targets, multi = PLACE_KINDS[n % len(PLACE_KINDS)]
        district = ["chuo-1", "kita-2", "minami-1", "higashi-3"][n % 4]
        body = {
            "kind": kind,
            "name": f"{label}{n + 1}号（架空市）",
            "district": district,
            "school_district": f"{district.split('-')[0]}-es",
            "target_groups": targets,
            "multi_generational": multi,
            "schedule": [{"freq": "MONTHLY", "byday": ["2SA"], "opens_at": "10:00", "closes_at": "14:00"}],
            "opened_on": "2025-04-01",
        }
        user = COMMUNITY_COORDINATOR
        place = (await self.step("community", user, "/places", body, "register_place"))["place_id"]
        for month in range(3):
            activity = {
                "held_on": (date(2025, 4, 12) + timedelta(days=30 * month)).isoformat(),
                "attendance": {"children": 3, "youth": 1, "working_age": 2, "older": 5},
                "volunteer_count": 3,
                "new_resident_led": False,
            }
            await self.step(
                "community", user, f"/places/{place}/activities", activity, "hold_activity", place
            )
        concern = {
            "issue_tags": ["isolation", "self_neglect"],
            "age_band": "75+",
            "description": "常連の方が最近来なくなり、服装の乱れも気になる。",
            "noticed_on": "2025-07-01",
        }
        created = await self.step(
            "community", user, f"/places/{place}/concerns", concern, "note_concern", place
        )
        raise_to = {"raised_to": "intake" if n % 2 else "outreach", "raised_on": "2025-07-02"}
        path = f"/concerns/{created['concern_id']}/raise"
        await self.step("community", user, path, raise_to, "raise_concern", created["concern_id"])
        self.completed += 1


class Workload:
    """The flows of `settings`, started together; `finish()` makes every flow stop at its next step."""

    def __init__(
        self, urls: dict[str, str], issuer: LocalIssuer, history: History, settings: Settings
    ) -> None:
        self.client = Client(urls, issuer, history)
        self.settings = settings
        self.flows = Flows(self.client, time.monotonic() + settings.duration, random.Random(settings.seed))
        self.consultations = plan(CITY, seed=settings.seed).consultations
        self._counter = itertools.count()

    def finish(self) -> None:
        self.flows.deadline = time.monotonic()

    async def _repeat(self, make: Callable[[int], Awaitable[None]]) -> None:
        while time.monotonic() < self.flows.deadline:
            try:
                await make(next(self._counter))
            except (GaveUp, KeyError, ValueError):  # deadline, refusal, or an answer without its id
                self.flows.gave_up += 1

    def _case(self, index: int) -> Awaitable[None]:
        return self.flows.case(index, self.consultations[index % len(self.consultations)])

    async def run(self) -> Flows:
        flows, settings = self.flows, self.settings
        try:
            try:
                await flows.menus_of_participation()
            except GaveUp:
                flows.gave_up += 1
            await asyncio.gather(
                *(self._repeat(self._case) for _ in range(settings.concurrency)),
                *(self._repeat(flows.outreach) for _ in range(settings.outreach_flows)),
                *(self._repeat(flows.community) for _ in range(settings.community_flows)),
            )
        finally:
            await self.client.close()
        return flows
