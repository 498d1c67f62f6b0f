"""A demo municipality, generated: households, their overlapping problems and a year of support.

Deterministic (one seed gives the same town every time) and pure (no I/O): `plan(population)`
returns what happens to whom and when; `deploy/demo.py` drives the services' public APIs with it.
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

from contracts.glossary import Channel, IssueTag

SMALL_TOWN = 15_700
CITY = 170_000
YEAR_START = date(2025, 4, 1)  # fiscal year 2025 (令和7年度), complete by today
YEAR_DAYS = 365

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
    consent: bool = False
    referred_on: date | None = None
    plan_on: date | None = None
    concluded_on: date | None = None
    participation: bool = False
    outreach: bool = False


@dataclass
class Town:
    population: int
    seed: int
    consultations: list[Consultation] = field(default_factory=list)
    places: list[dict[str, object]] = field(default_factory=list)
    outreach_clients: int = 0
    concerns: int = 0
    new_resident_led: int = 0

    def per_100k(self, rate: float) -> int:
        return round(rate * self.population / 100_000)


def _day(rng: random.Random, after: date = YEAR_START, within: int = YEAR_DAYS) -> date:
    last = YEAR_START + timedelta(days=YEAR_DAYS - 1)
    return min(after + timedelta(days=rng.randrange(max(within, 1))), last)


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


def plan(population: int = SMALL_TOWN, seed: int = 2026) -> Town:
    """The town's year: who consults, what is referred, planned, concluded, and the places."""
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
        district = rng.choice(sorted(DISTRICTS))
        consultation = Consultation(
            situation=situation.key,
            multi_field=multi,
            received_on=received_on,
            district=district,
            channel=rng.choices(channels, channel_weights)[0],
            person=_person(rng, rng.randint(*situation.ages), received_on, district),
            household=[{"relation": r, "age": rng.randint(*ages)} for r, ages in situation.household],
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
    town.outreach_clients = town.per_100k(OUTREACH_CLIENTS_PER_100K)
    town.concerns = town.per_100k(CONCERNS_PER_100K)
    town.new_resident_led = max(1, town.per_100k(NEW_RESIDENT_LED_PER_100K))
    return town
