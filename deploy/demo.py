"""Demo cases for `make run` (デモデータ): fictitious consultations taken through the whole flow.

Everything here is made up: the city is 架空市 ("fictitious city"), the family names are words
such as 見本 ("sample") and 仮野, phone numbers start with 000. The same seed always gives the
same people, households and dates, so screenshots and walkthroughs stay reproducible; only the
ids, which the services assign, differ between runs.

The flow is the one the services implement: consultations arrive at intake (相談受付), some are
referred to multi-agency coordination (支援依頼), coordination opens them from Kafka, plans are
agreed at a meeting (支援プラン), and some cases go back to intake (つなぎもどし).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx

from contracts.glossary import (
    Channel,
    IssueTag,
    MeetingType,
    ReturnReason,
    RoleResponsibility,
    Urgency,
)
from deploy.local.issuer import LocalIssuer
from libs.directory import Directory

SEED = 2026

# 架空市 (a fictitious city): district code → how the address reads.
DISTRICTS = {
    "chuo-1": "中央一丁目",
    "chuo-2": "中央二丁目",
    "kita-1": "北町一丁目",
    "kita-2": "北町二丁目",
    "minami-1": "南町一丁目",
    "higashi-3": "東町三丁目",
    "nishi-2": "西町二丁目",
}
SURNAMES = [
    ("見本", "ミホン"),
    ("仮野", "カリノ"),
    ("例田", "レイダ"),
    ("架空", "カクウ"),
    ("試野", "タメシノ"),
]
GIVEN_MALE = [
    ("太郎", "タロウ"),
    ("一郎", "イチロウ"),
    ("健太", "ケンタ"),
    ("次郎", "ジロウ"),
    ("翔", "ショウ"),
]
GIVEN_FEMALE = [
    ("花子", "ハナコ"),
    ("良子", "ヨシコ"),
    ("美咲", "ミサキ"),
    ("和子", "カズコ"),
    ("結衣", "ユイ"),
]


@dataclass(frozen=True)
class Member:
    relation: str
    ages: tuple[int, int]


@dataclass(frozen=True)
class Archetype:
    """One situation the multi-layered support business exists for, with how it is handled."""

    key: str
    issue_tags: list[IssueTag]
    channel: Channel
    ages: tuple[int, int]
    female: bool
    household: list[Member]
    summary: str
    referral_reason: str
    consent_to_share: bool
    urgency: Urgency
    goals: list[str]
    roles: list[tuple[str, RoleResponsibility]]


ARCHETYPES = [
    Archetype(
        key="8050",
        issue_tags=[IssueTag.EIGHTY_FIFTY, IssueTag.HIKIKOMORI, IssueTag.ELDERLY_CARE],
        channel=Channel.AGENCY,
        ages=(50, 56),
        female=False,
        household=[Member("母", (80, 88))],
        summary="母の要介護認定の訪問で地域包括支援センターが把握。本人は20年以上ほぼ外出せず、母の年金で二人暮らし。母の入院時の生活が心配との相談。",
        referral_reason="介護・ひきこもり・家計が重なり、単独の機関では支援方針を決められないため。",
        consent_to_share=True,
        urgency=Urgency.ROUTINE,
        goals=["母の介護サービスの利用を始める", "本人と月1回の面談を続け、関係をつくる"],
        roles=[
            ("houkatsu-chuo", RoleResponsibility.CARE_SERVICES),
            ("jiritsu-soudan", RoleResponsibility.FINANCIAL_SUPPORT),
            ("shakyo-tagikan", RoleResponsibility.MAIN_CONTACT),
        ],
    ),
    Archetype(
        key="double_care",
        issue_tags=[IssueTag.DOUBLE_CARE, IssueTag.CHILD_REARING, IssueTag.ELDERLY_CARE],
        channel=Channel.COUNTER,
        ages=(38, 46),
        female=True,
        household=[Member("父", (74, 82)), Member("長女", (2, 5)), Member("夫", (40, 48))],
        summary="認知症の父の介護と幼い子の育児が重なり、仕事を続けられるか不安との窓口相談。夫は単身赴任中。",
        referral_reason="介護と子育ての両方の調整が必要で、関係機関の役割分担を決めたいため。",
        consent_to_share=True,
        urgency=Urgency.ROUTINE,
        goals=["父のショートステイと子の一時預かりを組み合わせる"],
        roles=[
            ("houkatsu-chuo", RoleResponsibility.CARE_SERVICES),
            ("kodomo-katei", RoleResponsibility.CHILD_SERVICES),
        ],
    ),
    Archetype(
        key="young_carer",
        issue_tags=[IssueTag.YOUNG_CARER, IssueTag.CHILD_REARING, IssueTag.DISABILITY],
        channel=Channel.SCHOOL,
        ages=(13, 16),
        female=True,
        household=[Member("母", (38, 46)), Member("弟", (6, 9))],
        summary="遅刻と欠席が増えたと学校から連絡。精神疾患のある母に代わり、弟の世話と家事を担っている様子。",
        referral_reason="本人が中学生で、母の障害福祉と子どもの支援を一体で考える必要があるため。",
        consent_to_share=False,
        urgency=Urgency.URGENT,
        goals=["母の障害福祉サービスの利用を調整する", "本人が安心して登校できる時間を確保する"],
        roles=[
            ("kikan-soudan", RoleResponsibility.DISABILITY_SERVICES),
            ("kodomo-katei", RoleResponsibility.CHILD_SERVICES),
            ("shakyo-tagikan", RoleResponsibility.MAIN_CONTACT),
        ],
    ),
    Archetype(
        key="hikikomori",
        issue_tags=[IssueTag.HIKIKOMORI, IssueTag.ISOLATION, IssueTag.EMPLOYMENT],
        channel=Channel.PHONE,
        ages=(28, 38),
        female=False,
        household=[Member("父", (62, 70)), Member("母", (60, 68))],
        summary="退職後3年ほど自室で過ごしている息子について母から電話相談。本人は相談に消極的。",
        referral_reason="本人との接点づくりから始める必要があり、参加支援を含めて検討したいため。",
        consent_to_share=False,
        urgency=Urgency.ROUTINE,
        goals=["家族面談を続け、本人に会える機会をつくる"],
        roles=[
            ("jiritsu-soudan", RoleResponsibility.EMPLOYMENT_SUPPORT),
            ("shakyo-tagikan", RoleResponsibility.PARTICIPATION),
        ],
    ),
    Archetype(
        key="care_and_disability",
        issue_tags=[IssueTag.ELDERLY_CARE, IssueTag.DISABILITY],
        channel=Channel.AGENCY,
        ages=(76, 84),
        female=True,
        household=[Member("長男", (48, 56))],
        summary="知的障害のある長男と二人暮らし。本人の足腰が弱り、長男の通所の送り出しが難しくなってきた。",
        referral_reason="高齢と障害の両分野のサービス調整と、将来の住まいの検討が必要なため。",
        consent_to_share=True,
        urgency=Urgency.URGENT,
        goals=["本人の介護サービスと長男の障害福祉サービスを同時に見直す", "親亡き後の住まいを一緒に考える"],
        roles=[
            ("houkatsu-chuo", RoleResponsibility.CARE_SERVICES),
            ("kikan-soudan", RoleResponsibility.DISABILITY_SERVICES),
            ("shakyo-tagikan", RoleResponsibility.MAIN_CONTACT),
        ],
    ),
    Archetype(
        key="poverty",
        issue_tags=[IssueTag.POVERTY_DEBT, IssueTag.HOUSING, IssueTag.EMPLOYMENT],
        channel=Channel.COUNTER,
        ages=(45, 60),
        female=False,
        household=[],
        summary="失業後に家賃を3か月滞納し、退去を求められている。消費者金融からの借入もある。",
        referral_reason="住まいの確保と債務整理、就労支援を並行して進める必要があるため。",
        consent_to_share=True,
        urgency=Urgency.URGENT,
        goals=["住居確保給付金を申請する", "債務整理の相談につなぐ", "就労準備支援を始める"],
        roles=[
            ("jiritsu-soudan", RoleResponsibility.FINANCIAL_SUPPORT),
            ("jiritsu-soudan", RoleResponsibility.HOUSING_SUPPORT),
            ("shakyo-tagikan", RoleResponsibility.EMPLOYMENT_SUPPORT),
        ],
    ),
]

# Which archetypes' first case gets a plan, and which go back to intake (and why).
# Demo users (deploy/demo-municipality.json): consultations arrive at three intake organisations.
INTAKE_WORKERS = ("soudan-sato", "chuo-suzuki", "kita-takahashi")
WORKER_ORGANISATIONS = {
    "soudan-sato": "city-soudan",
    "chuo-suzuki": "houkatsu-chuo",
    "kita-takahashi": "houkatsu-kita",
}
COORDINATOR = "tagikan-tanaka"
COORDINATION_ORGANISATION = "shakyo-tagikan"
WITH_PLAN = {"8050", "young_carer", "care_and_disability", "poverty"}
RETURNED = {"poverty": ReturnReason.SUPPORT_CONCLUDED, "double_care": ReturnReason.MEETING_DECISION}


@dataclass
class DemoCase:
    """One consultation and the steps it goes through; payloads are exactly what the APIs take."""

    archetype: str
    worker: str
    consultation: dict[str, Any]
    consent: dict[str, Any] | None = None
    referral: dict[str, Any] | None = None
    plan: dict[str, Any] | None = None
    return_: dict[str, Any] | None = None
    # Filled in while loading:
    case_id: str | None = None
    referral_id: str | None = None
    coordination_case_id: str | None = None


def _birth_date(rng: random.Random, age: int, on: date) -> date:
    born = date(on.year - age, rng.randint(1, 12), rng.randint(1, 28))
    return born if born <= on.replace(year=born.year) else born.replace(year=born.year - 1)


def _consultation(rng: random.Random, kind: Archetype, received_on: date, district: str) -> dict[str, Any]:
    surname, surname_kana = rng.choice(SURNAMES)
    given, given_kana = rng.choice(GIVEN_FEMALE if kind.female else GIVEN_MALE)
    age = rng.randint(*kind.ages)
    address = f"架空市{DISTRICTS[district]}{rng.randint(1, 30)}-{rng.randint(1, 20)}"
    return {
        "channel": kind.channel.value,
        "person": {
            "name": f"{surname} {given}",
            "name_kana": f"{surname_kana} {given_kana}",
            "birth_date": _birth_date(rng, age, received_on).isoformat(),
            "address": address,
            "phone": f"000-0000-{rng.randint(0, 9999):04d}",
        },
        "household": [
            {"relation": member.relation, "age": rng.randint(*member.ages)} for member in kind.household
        ],
        "issue_tags": [tag.value for tag in kind.issue_tags],
        "district": district,
        "summary": kind.summary,
        "received_on": received_on.isoformat(),
    }


def cases(seed: int = SEED) -> list[DemoCase]:
    """Twelve consultations (two of each archetype); the first of each is referred, some planned, two returned."""
    rng = random.Random(seed)
    kinds = [kind for kind in ARCHETYPES for _ in range(2)]
    rng.shuffle(kinds)
    seen: set[str] = set()
    out: list[DemoCase] = []
    for index, kind in enumerate(kinds):
        received_on = date(2026, 4, 1) + timedelta(days=rng.randint(0, 45))
        worker = INTAKE_WORKERS[index % len(INTAKE_WORKERS)]
        case = DemoCase(
            kind.key, worker, _consultation(rng, kind, received_on, rng.choice(sorted(DISTRICTS)))
        )
        if kind.consent_to_share:
            case.consent = {
                "programs": ["intake", "coordination", "participation"],
                "purpose": "support_coordination",
                "granted_on": received_on.isoformat(),
                "expires_on": date(2027, 3, 31).isoformat(),
            }
        first = kind.key not in seen
        seen.add(kind.key)
        if first:
            referred_on = received_on + timedelta(days=rng.randint(2, 10))
            case.referral = {
                "urgency": kind.urgency.value,
                "reason": kind.referral_reason,
                "referred_on": referred_on.isoformat(),
            }
            agreed_on = referred_on + timedelta(days=rng.randint(7, 21))
            if kind.key in WITH_PLAN:
                meeting = (
                    MeetingType.SUPPORT_PLAN_MEETING
                    if kind.consent_to_share
                    else MeetingType.CONFIDENTIAL_SUPPORT_MEETING
                )
                members = {COORDINATION_ORGANISATION, WORKER_ORGANISATIONS[worker]}
                members |= {organisation for organisation, _ in kind.roles}
                case.plan = {
                    "meeting_type": meeting.value,
                    "members": sorted(members),
                    "goals": kind.goals,
                    "roles": [
                        {
                            "organisation": organisation,
                            "responsibility": responsibility.value,
                            "review_on": (agreed_on + timedelta(days=90)).isoformat(),
                        }
                        for organisation, responsibility in kind.roles
                    ],
                    "agreed_on": agreed_on.isoformat(),
                }
            if kind.key in RETURNED:
                reason = RETURNED[kind.key]
                returned_on = agreed_on + timedelta(days=rng.randint(30, 60) if case.plan else 0)
                note = (
                    "支援目標を達成し、相談支援機関での見守りに移行する。"
                    if reason is ReturnReason.SUPPORT_CONCLUDED
                    else "会議で、受付機関の継続支援と各サービスの利用で対応できると判断した。"
                )
                case.return_ = {"reason": reason.value, "note": note, "returned_on": returned_on.isoformat()}
        out.append(case)
    return out


class DemoError(RuntimeError):
    """A demo step got an answer it did not expect; the message says which and what came back."""


def _expect(response: httpx.Response, status: int, step: str) -> dict[str, Any]:
    if response.status_code != status:
        raise DemoError(f"{step}: HTTP {response.status_code} {response.text[:500]}")
    body: dict[str, Any] = response.json()
    return body


def _poll(probe: Callable[[], bool], deadline: float, what: str) -> None:
    """Wait until `probe()` holds; fail with `what` at `deadline` (monotonic)."""
    while not probe():
        if time.monotonic() > deadline:
            raise DemoError(f"timed out waiting for {what}")
        time.sleep(0.2)  # poll interval: the services work asynchronously through Kafka


def load(
    intake_url: str, coordination_url: str, issuer: LocalIssuer, timeout: float = 90.0
) -> list[DemoCase]:
    """Take every demo case through the APIs, as the demo users; return them with their ids filled in."""
    demo = cases()
    directory = Directory.load()
    tokens = {user: issuer.token_for(user, directory) for user in (*INTAKE_WORKERS, COORDINATOR)}

    def as_user(user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[user]}"}

    deadline = time.monotonic() + timeout
    with (
        httpx.Client(base_url=intake_url, timeout=10) as intake,
        httpx.Client(base_url=coordination_url, timeout=10, headers=as_user(COORDINATOR)) as coordination,
    ):
        for case in demo:
            created = _expect(
                intake.post("/cases", json=case.consultation, headers=as_user(case.worker)),
                201,
                "POST /cases",
            )
            case.case_id = created["case_id"]
            if case.consent is not None:
                path = f"/cases/{case.case_id}/consents"
                _expect(intake.post(path, json=case.consent, headers=as_user(case.worker)), 201, path)
        for case in demo:
            if case.referral is not None:
                path = f"/cases/{case.case_id}/referrals"
                response = intake.post(path, json=case.referral, headers=as_user(case.worker))
                case.referral_id = _expect(response, 201, path)["referral_id"]

        referred = [case for case in demo if case.referral_id is not None]

        def all_opened() -> bool:
            for case in referred:
                if case.coordination_case_id is None:
                    response = coordination.get(f"/referrals/{case.referral_id}")
                    if response.status_code != 200:
                        return False
                    case.coordination_case_id = response.json()["coordination_case_id"]
            return True

        _poll(all_opened, deadline, "coordination to open every referral")

        for case in referred:
            if case.plan is not None:
                path = f"/cases/{case.coordination_case_id}/plans"
                _expect(coordination.post(path, json=case.plan), 201, path)
            if case.return_ is not None:
                path = f"/cases/{case.coordination_case_id}/return"
                _expect(coordination.post(path, json=case.return_), 201, path)

        def intake_settled() -> bool:
            for case in referred:
                response = intake.get(f"/cases/{case.case_id}", headers=as_user(case.worker))
                if response.json().get("status") != (
                    "returned" if case.return_ is not None else "in_coordination"
                ):
                    return False
            return True

        _poll(intake_settled, deadline, "intake to see every acceptance and return")
    return demo
