"""A demo municipality, generated: households, their overlapping problems and a year of support.

Deterministic (one seed gives the same town every time) and pure apart from reading the demo
directory (deploy/demo-municipality.json) for its districts: `plan(population)` returns what
happens to whom and when in every program, and `deploy/demo.py` only drives the services' public
APIs with it, so the dashboard can be checked against counts taken from this plan alone.
Sizes: a small town (当別町, ~15,700 people) for `make run`, a city (苫小牧市, ~170,000) for
benchmarks (DOMAIN.md). The mix follows the national figures in DOMAIN.md (seed 003), treated as
illustrative: 38.7 % of households needing support have problems in several fields, the most
common pairs being 高齢×障害, 高齢×生活困窮 and 障害×生活困窮; among difficult consultations 8050,
hikikomori, double care and young carers dominate.

Everything is fictitious: the city is 架空市, surnames are words such as 見本 ("sample"), phone
numbers start with 000.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import chain

from contracts.glossary import Channel, IssueTag, MeetingType, relation_from_text
from libs.directory import DEFAULT_DIRECTORY, Directory

SMALL_TOWN = 15_700
CITY = 170_000
YEAR_START = date(2025, 4, 1)  # fiscal year 2025 (令和7年度), complete by today
YEAR_DAYS = 365
YEAR_END = YEAR_START + timedelta(days=YEAR_DAYS - 1)

# Yearly rates per 100,000 people (illustrative, anchored on DOMAIN.md where it gives one).
CONSULTATIONS_PER_100K = 1_800
MULTI_FIELD_SHARE = 0.387
REFERRED_SHARE_OF_MULTI_FIELD = 0.45
CONSENT_SHARE = 0.7
OUTREACH_CLIENTS_PER_100K = 60
PARTICIPATION_REFERRALS_PER_100K = 42.3
PEOPLE_PER_PLACE = 1_500
NEW_RESIDENT_LED_PER_100K = 16.7
CONCERNS_PER_100K = 20

DIRECTORY = Directory.load(DEFAULT_DIRECTORY)
"""The demo municipality: its districts are the town's (one source for codes, names, populations)."""
DISTRICTS = {d.code: d.name for d in DIRECTORY.districts.values()}
SURNAMES = [
    ("見本", "ミホン"),
    ("仮野", "カリノ"),
    ("例田", "レイダ"),
    ("架空", "カクウ"),
    ("試野", "タメシノ"),
]
GIVEN = [
    ("太郎", "タロウ"),
    ("花子", "ハナコ"),
    ("一郎", "イチロウ"),
    ("良子", "ヨシコ"),
    ("健太", "ケンタ"),
    ("美咲", "ミサキ"),
    ("次郎", "ジロウ"),
    ("和子", "カズコ"),
]


@dataclass(frozen=True)
class Situation:
    """A kind of household situation, with the issue tags it carries and who is consulted about."""

    key: str
    tags: tuple[IssueTag, ...]
    ages: tuple[int, int]
    household: tuple[tuple[str, tuple[int, int]], ...]
    summary: str
    weight: float


# Multi-field situations (38.7 % together), weighted after the difficult-consultation mix.
MULTI_FIELD = (
    Situation(
        "8050",
        (IssueTag.EIGHTY_FIFTY, IssueTag.HIKIKOMORI, IssueTag.ELDERLY_CARE),
        (48, 58),
        (("母", (78, 90)),),
        "親の介護認定の訪問で把握。本人は長くほぼ外出せず、親の年金で二人暮らし。",
        26.3,
    ),
    Situation(
        "hikikomori",
        (IssueTag.HIKIKOMORI, IssueTag.HEALTH, IssueTag.EMPLOYMENT),
        (20, 45),
        (("父", (50, 75)), ("母", (48, 72))),
        "数年来自室から出ない。家族が将来を心配して来所。",
        21.7,
    ),
    Situation(
        "double_care",
        (IssueTag.DOUBLE_CARE, IssueTag.CHILD_REARING, IssueTag.ELDERLY_CARE),
        (32, 45),
        (("長男", (1, 6)), ("義母", (75, 88))),
        "乳幼児の育児と義母の介護が重なり、心身の負担が大きい。",
        13.8,
    ),
    Situation(
        "young_carer",
        (IssueTag.YOUNG_CARER, IssueTag.DISABILITY, IssueTag.CHILD_REARING),
        (12, 17),
        (("母", (38, 50)),),
        "学校から。母の障害のため家事と見守りを担い、欠席が増えている。",
        11.2,
    ),
    Situation(
        "care_and_disability",
        (IssueTag.ELDERLY_CARE, IssueTag.DISABILITY),
        (70, 85),
        (("長男", (40, 55)),),
        "高齢の親と障害のある子の世帯。親の入院で子の生活が心配。",
        12.8,
    ),
    Situation(
        "poverty_and_care",
        (IssueTag.ELDERLY_CARE, IssueTag.POVERTY_DEBT, IssueTag.HOUSING),
        (66, 82),
        (),
        "年金のみで家賃の滞納が続く。介護が必要になりつつある。",
        10.2,
    ),
    Situation(
        "poverty_and_disability",
        (IssueTag.DISABILITY, IssueTag.POVERTY_DEBT, IssueTag.EMPLOYMENT),
        (30, 55),
        (),
        "障害のため離職し、借金の返済に困っている。",
        7.9,
    ),
)

# Single-field consultations, handled by intake alone.
SINGLE_FIELD = (
    Situation("care", (IssueTag.ELDERLY_CARE,), (70, 92), (), "介護保険の申請について相談。", 40),
    Situation("child", (IssueTag.CHILD_REARING,), (25, 42), (("長女", (0, 10)),), "子育ての悩み。", 20),
    Situation("debt", (IssueTag.POVERTY_DEBT,), (25, 70), (), "家計と借金の相談。", 20),
    Situation("health", (IssueTag.HEALTH,), (40, 80), (), "通院と服薬の不安。", 10),
    Situation("isolation", (IssueTag.ISOLATION,), (60, 90), (), "一人暮らしで話し相手がいない。", 10),
)
CHANNELS = (
    (Channel.COUNTER, 35),
    (Channel.PHONE, 25),
    (Channel.AGENCY, 15),
    (Channel.HOME_VISIT, 10),
    (Channel.SCHOOL, 5),
    (Channel.COMMUNITY_PLACE, 5),
    (Channel.OUTREACH, 5),
)


@dataclass
class Consultation:
    """One consultation at intake and what follows it within the year."""

    situation: str
    multi_field: bool
    received_on: date
    district: str
    channel: Channel
    person: dict[str, str]
    household: list[dict[str, object]]
    issue_tags: list[IssueTag]
    summary: str
    consulter: dict[str, str] = field(default_factory=lambda: {"kind": "self"})
    consent: bool = False
    referred_on: date | None = None
    plan_on: date | None = None
    """When the case is ready for its plan; the plan is agreed at that month's meeting (`agreed_on`)."""
    concluded_on: date | None = None
    participation: bool = False
    outreach: bool = False
    meeting: int | None = None
    """Index of the meeting in `Town.meetings` that agreed the plan."""
    agreed_on: date | None = None
    placement: Placement | None = None
    """Participation: the assessment and, if a menu had a free seat, the placement."""


@dataclass(frozen=True)
class Meeting:
    """A case meeting: one a month of each kind, agreeing the plans of that month's cases.

    A 重層的支援会議 discusses consented cases; the others go to a 支援会議 (法106条の6).
    """

    meeting_type: MeetingType
    held_on: date
    cases: tuple[int, ...]
    """Indexes into `Town.consultations`."""
    missing_resource: str | None
    """A local resource the meeting found missing (LocalResourceKind code), noted in the first case's district."""


@dataclass(frozen=True)
class Menu:
    """A participation menu and the organisation that hosts it."""

    title: str
    kind: str
    host: str
    host_name: str
    district: str
    capacity: int


MENUS = (
    Menu("あおぞら農園での農作業体験", "work_experience", "farm-aozora", "あおぞら農園", "minami-1", 3),
    Menu("商店街の店番体験", "work_experience", "shoten-kai", "中央商店街振興組合", "chuo-1", 2),
    Menu("まちかどカフェの居場所", "place_to_be", "cafe-machikado", "まちかどカフェ", "kita-2", 6),
    Menu("図書館の配架ボランティア", "volunteering", "city-library", "架空市立図書館", "chuo-2", 4),
)


@dataclass(frozen=True)
class Placement:
    """Participation for one referred person: assessed, then placed on `menu` if a seat was free."""

    assessed_on: date
    menu: int | None
    """Index into MENUS; None when every seat was taken."""
    started_on: date | None
    follow_ups: tuple[date, ...]
    ended_on: date | None = None
    """The placement's end (予定期間を終えて), when the person settled."""
    closed_on: date | None = None
    closure_reason: str | None = None
    """The case's closure (終結), a ParticipationClosureReason code."""


@dataclass(frozen=True)
class ContactAttempt:
    attempted_on: date
    method: str
    outcome: str


@dataclass(frozen=True)
class OutreachClient:
    """A person nobody referred: found by 民生委員 or neighbours, visited until they connect or not."""

    identified_by: str
    issue_tags: tuple[str, ...]
    age_band: str
    district: str
    found_on: date
    attempts: tuple[ContactAttempt, ...]
    connected_on: date | None
    """Connected to intake (city-soudan) on this day, or never."""


@dataclass(frozen=True)
class Activity:
    held_on: date
    attendance: dict[str, int]
    volunteers: int
    new_resident_led: bool
    integrated_scheme: str | None = None
    """Named only at a place run under several schemes; elsewhere the place's own applies."""


@dataclass(frozen=True)
class Concern:
    """Someone a place noticed and passed on, to intake or to outreach."""

    noticed_on: date
    raised_to: str
    issue_tags: tuple[str, ...] = ("isolation", "self_neglect")
    age_band: str = "75+"


@dataclass(frozen=True)
class Place:
    """A place to be (居場所) with a year of monthly activities."""

    kind: str
    name: str
    district: str
    school_district: str
    target_groups: tuple[str, ...]
    multi_generational: bool
    activities: tuple[Activity, ...]
    concern: Concern | None
    integrated_schemes: tuple[str, ...] = ()
    """包括化対象事業 (IntegratedScheme codes) the place runs under."""


PLACE_KINDS = (
    ("kodomo_shokudo", "こども食堂", ("children", "parents_with_children"), False),
    ("salon", "ふれあいサロン", ("older",), False),
    ("community_cafe", "まちかどカフェ", ("everyone",), True),
    ("kyosei_hub", "共生型拠点", ("everyone", "people_with_disabilities"), True),
)
PLACE_SCHEMES = {
    "kodomo_shokudo": ("mutual_aid",),
    "salon": ("care_prevention",),
    "community_cafe": ("living_support",),
    # 統合型: the day service's 介護予防 and the 地域活動支援センター share one place.
    "kyosei_hub": ("care_prevention", "activity_support_centre"),
}
"""The 包括化対象事業 each kind of demo place runs under (seed 002)."""


@dataclass
class Town:
    population: int
    seed: int
    consultations: list[Consultation] = field(default_factory=list)
    meetings: list[Meeting] = field(default_factory=list)
    outreach: list[OutreachClient] = field(default_factory=list)
    places: list[Place] = field(default_factory=list)
    platform_meetings: list[date] = field(default_factory=list)

    def per_100k(self, rate: float) -> int:
        return round(rate * self.population / 100_000)

    @property
    def last_day(self) -> date:
        """The latest date anything in the plan happens: the demo period is YEAR_START..last_day."""
        days = chain(
            *(
                (c.received_on, c.referred_on, c.agreed_on, c.concluded_on, *_placement_days(c.placement))
                for c in self.consultations
            ),
            *((o.found_on, o.connected_on, *(a.attempted_on for a in o.attempts)) for o in self.outreach),
            *((*(a.held_on for a in p.activities), p.concern and p.concern.noticed_on) for p in self.places),
            (m.held_on for m in self.meetings),
            self.platform_meetings,
        )
        return max(d for d in days if d is not None)


def _placement_days(placement: Placement | None) -> tuple[date | None, ...]:
    if placement is None:
        return ()
    return (
        placement.assessed_on,
        placement.started_on,
        *placement.follow_ups,
        placement.ended_on,
        placement.closed_on,
    )


def _day(rng: random.Random, after: date = YEAR_START, within: int = YEAR_DAYS) -> date:
    return min(after + timedelta(days=rng.randrange(max(within, 1))), YEAR_END)


def _birth_date(rng: random.Random, age: int, on: date) -> date:
    born = date(on.year - age, rng.randint(1, 12), rng.randint(1, 28))
    return born if born <= on.replace(year=born.year) else born.replace(year=born.year - 1)


def _person(rng: random.Random, age: int, on: date, district: str) -> dict[str, str]:
    surname, surname_kana = rng.choice(SURNAMES)
    given, given_kana = rng.choice(GIVEN)
    return {
        "name": f"{surname} {given}",
        "name_kana": f"{surname_kana} {given_kana}",
        "birth_date": _birth_date(rng, age, on).isoformat(),
        "address": f"架空市{DISTRICTS[district]}{rng.randint(1, 30)}-{rng.randint(1, 20)}",
        "phone": f"000-0000-{rng.randint(0, 9999):04d}",
    }


def _member(rng: random.Random, person: dict[str, str], relation: str, age: int) -> dict[str, object]:
    """A household member: the person's family name, a given name of their own, their age as told."""
    surname, surname_kana = person["name"].split()[0], person["name_kana"].split()[0]
    given, given_kana = rng.choice(GIVEN)
    return {
        "relation": relation_from_text(relation).value,
        "name": f"{surname} {given}",
        "name_kana": f"{surname_kana} {given_kana}",
        "age": age,
    }


# Who brings each situation to intake, as the seeds' case studies tell it.
CONSULTERS: dict[str, dict[str, str]] = {
    "8050": {"kind": "professional", "organisation": "kyotaku-minami"},  # the parent's care manager
    "hikikomori": {"kind": "family", "relation": "parent"},
    "young_carer": {"kind": "professional", "organisation": "shogakko-kita"},  # the teacher
    "care_and_disability": {"kind": "professional", "organisation": "byoin-chuo"},  # the hospital's MSW
    "poverty_and_care": {"kind": "minsei_iin"},
    "debt": {"kind": "professional", "organisation": "jiritsu-soudan"},
}


def _consulter(rng: random.Random, situation: str, channel: Channel) -> dict[str, str]:
    """Who consulted: the situation's usual 相談者, else the person themselves; now and then a
    neighbour, or someone who will not give a name."""
    if situation in CONSULTERS and channel is not Channel.COUNTER:
        consulter = dict(CONSULTERS[situation])
        if consulter["kind"] in ("professional", "minsei_iin"):
            surname, _ = rng.choice(SURNAMES)
            given, _ = rng.choice(GIVEN)
            consulter["name"] = f"{surname} {given}"
        return consulter
    draw = rng.random()
    if draw < 0.04:
        return {"kind": "anonymous"}
    if draw < 0.10:
        return {"kind": "neighbour"}
    return {"kind": "self"}


def _district(rng: random.Random) -> str:
    """A district, as likely as its share of the population."""
    districts = list(DIRECTORY.districts.values())
    return rng.choices([d.code for d in districts], [d.population for d in districts])[0]


def plan(population: int = SMALL_TOWN, seed: int = 2026) -> Town:
    """The town's year in every program: consultations and what follows them, the case meetings,
    participation placements, outreach to people nobody referred, and the community's places."""
    rng = random.Random(seed)
    town = Town(population, seed)
    weights_multi = [s.weight for s in MULTI_FIELD]
    weights_single = [s.weight for s in SINGLE_FIELD]
    channels, channel_weights = zip(*CHANNELS, strict=True)
    for _ in range(town.per_100k(CONSULTATIONS_PER_100K)):
        multi = rng.random() < MULTI_FIELD_SHARE
        situation = rng.choices(
            MULTI_FIELD if multi else SINGLE_FIELD, weights_multi if multi else weights_single
        )[0]
        received_on = _day(rng)
        district = _district(rng)
        # Names of the household and who consulted come from a generator of their own, so the
        # town's other draws (and the figures they make) stay as they were.
        extra = random.Random(f"{seed}:{len(town.consultations)}")
        channel = rng.choices(channels, channel_weights)[0]
        person = _person(rng, rng.randint(*situation.ages), received_on, district)
        consultation = Consultation(
            situation=situation.key,
            multi_field=multi,
            received_on=received_on,
            district=district,
            channel=channel,
            person=person,
            household=[
                _member(extra, person, relation, rng.randint(*ages)) for relation, ages in situation.household
            ],
            consulter=_consulter(extra, situation.key, channel),
            issue_tags=list(situation.tags),
            summary=situation.summary,
        )
        if multi and rng.random() < REFERRED_SHARE_OF_MULTI_FIELD:
            consultation.consent = rng.random() < CONSENT_SHARE
            consultation.referred_on = _day(rng, received_on, 14)
            # Days to the agreed plan: today's typical 12.3, the national target 5 (DOMAIN.md).
            if rng.random() < 0.85:
                consultation.plan_on = consultation.referred_on + timedelta(
                    days=max(2, round(rng.gauss(12.3, 4)))
                )
                consultation.participation = rng.random() < 0.2
                consultation.outreach = situation.key in {"8050", "hikikomori"} and rng.random() < 0.3
                if rng.random() < 0.5:
                    consultation.concluded_on = consultation.plan_on + timedelta(days=rng.randint(60, 200))
        town.consultations.append(consultation)
    _schedule_meetings(town, random.Random(seed + 3))
    _place(town)
    _reach_out(town, random.Random(seed + 1))
    _build_community(town, random.Random(seed + 2))
    return town


def _schedule_meetings(town: Town, rng: random.Random) -> None:
    """One meeting a month of each kind, held on the last day a case of that month is ready."""
    by_meeting: dict[tuple[str, MeetingType], list[int]] = {}
    for index, c in enumerate(town.consultations):
        if c.plan_on is None:
            continue
        kind = MeetingType.SUPPORT_PLAN_MEETING if c.consent else MeetingType.CONFIDENTIAL_SUPPORT_MEETING
        by_meeting.setdefault((c.plan_on.strftime("%Y-%m"), kind), []).append(index)
    for (_, kind), cases in sorted(by_meeting.items()):
        held_on = max(d for i in cases if (d := town.consultations[i].plan_on) is not None)
        missing = (
            rng.choice(["place_to_be", "work_experience_host", "transport"]) if rng.random() < 0.4 else None
        )
        for i in cases:
            town.consultations[i].meeting = len(town.meetings)
            town.consultations[i].agreed_on = held_on
        town.meetings.append(Meeting(kind, held_on, tuple(cases), missing))


def _place(town: Town) -> None:
    """Each person referred to participation is assessed a week after the plan and placed a week
    later on the first menu with a free seat; followed up after 30, 90 and 180 days (定着支援).
    Settled at the 180-day follow-up, the placement ends that day and the case closes (終結); a
    person no seat was found for is closed a month after the assessment, moved to other support.
    Seats freed by an end are not reused in the plan, so the services always have the seat the
    plan counts on."""
    seats = [menu.capacity for menu in MENUS]
    for c in town.consultations:
        if not c.participation or c.agreed_on is None:
            continue
        assessed_on = c.agreed_on + timedelta(days=7)
        menu = next((m for m, free in enumerate(seats) if free > 0), None)
        if menu is None:
            closed_on = assessed_on + timedelta(days=30)
            if closed_on > YEAR_END:
                c.placement = Placement(assessed_on, None, None, ())
            else:
                c.placement = Placement(assessed_on, None, None, (), None, closed_on, "other_support")
            continue
        seats[menu] -= 1
        started_on = assessed_on + timedelta(days=7)
        follow_ups = tuple(
            on for days in (30, 90, 180) if (on := started_on + timedelta(days=days)) <= YEAR_END
        )
        settled = follow_ups[-1] if len(follow_ups) == 3 else None
        c.placement = Placement(
            assessed_on, menu, started_on, follow_ups, settled, settled, "settled" if settled else None
        )


def _reach_out(town: Town, rng: random.Random) -> None:
    for _ in range(town.per_100k(OUTREACH_CLIENTS_PER_100K)):
        found_on = YEAR_START + timedelta(days=rng.randrange(200))
        identified_by = rng.choice(["minsei_iin", "neighbour", "relative", "related_agency"])
        issue_tags = rng.choice(
            [("hikikomori", "isolation"), ("self_neglect", "isolation"), ("8050", "hikikomori")]
        )
        age_band = rng.choice(["18-39", "40-64", "65-74", "75+"])
        district = _district(rng)
        day = found_on
        attempts = []
        for attempt in range(rng.randint(2, 8)):
            day += timedelta(days=rng.randint(5, 20))
            outcome = (
                "conversation"
                if attempt >= 2 and rng.random() < 0.4
                else rng.choice(["no_answer", "brief_contact"])
            )
            method = rng.choice(["home_visit", "letter", "phone"])
            attempts.append(ContactAttempt(day, method, outcome))
        reached = any(a.outcome != "no_answer" for a in attempts)
        connected_on = day + timedelta(days=7) if reached and rng.random() < 0.5 else None
        town.outreach.append(
            OutreachClient(
                identified_by, issue_tags, age_band, district, found_on, tuple(attempts), connected_on
            )
        )


def _build_community(town: Town, rng: random.Random) -> None:
    """Places to be in every district in turn, a year of their monthly activities, concerns a few
    of them pass on, and the quarterly multi-sector platform meeting."""
    districts = list(DIRECTORY.districts.values())
    places = max(4, town.population // PEOPLE_PER_PLACE)
    new_resident_led = max(1, town.per_100k(NEW_RESIDENT_LED_PER_100K))
    resident_led = set(rng.sample(range(places), min(places, new_resident_led)))
    concerns = town.per_100k(CONCERNS_PER_100K)
    for n in range(places):
        kind, label, targets, multi = PLACE_KINDS[n % len(PLACE_KINDS)]
        district = districts[n % len(districts)]
        activities = []
        for month in range(12):
            held_on = YEAR_START + timedelta(days=30 * month + rng.randint(0, 20))
            attendance = {
                "children": rng.randint(0, 15) if "children" in targets or multi else 0,
                "youth": rng.randint(0, 3),
                "working_age": rng.randint(1, 8),
                "older": rng.randint(2, 20) if "older" in targets or multi else rng.randint(0, 3),
            }
            volunteers = rng.randint(2, 6)
            schemes = PLACE_SCHEMES[kind]
            # A place run under several schemes names each activity's; they take turns month by month.
            scheme = schemes[month % len(schemes)] if len(schemes) > 1 else None
            activities.append(
                Activity(held_on, attendance, volunteers, month == 6 and n in resident_led, scheme)
            )
        concern = None
        if n < concerns:
            noticed_on = YEAR_START + timedelta(days=rng.randint(30, 300))
            concern = Concern(noticed_on, "intake" if n % 2 else "outreach")
        town.places.append(
            Place(
                kind,
                f"{label}{n + 1}号（架空市）",
                district.code,
                district.school_district,
                targets,
                multi,
                tuple(activities),
                concern,
                PLACE_SCHEMES[kind],
            )
        )
    town.platform_meetings = [YEAR_START + timedelta(days=90 * quarter + 20) for quarter in range(4)]
