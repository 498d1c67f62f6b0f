"""The dashboard's figures (KPI): each one a query over the read models, with its definition.

Definitions are code, versioned by `KPI_VERSION`: a published figure must be reproducible from the
event log and the version that computed it. Every figure is filtered by a period (dates of the
event that the figure counts, both ends included) and optionally by district (the district the
case, place or menu was published with); cases without a CaseReceived have no district and appear
only without that filter.

How a definition changes (the national report quotes the version, so an old number stays explainable):
1. Change the query and its docstring (the docstring is the definition shown next to the figure).
2. Bump `KPI_VERSION` and add a `CHANGES` entry saying what changed and why.
3. If a read model table changes (projections/schema.py, projections/projector.py), stop the
   projector and run `python -m projections rebuild`: it drops the read models and replays every
   topic from offset 0, so the new definition covers the whole log, not only events from now on.
   The rebuild test (tests/projections/test_projector.py) compares every table in `TABLES`.

Rates per 100,000 people use the population of the municipality, or of the filtered district, from
the directory (libs/directory.py); they are rates over the chosen period, not annualised. Figures
return raw numbers; `projections.disclosure` suppresses small counts, and every rate, percentage or
statistic derived from a suppressed count (`Figure.derived`), before anything leaves the service.
"""

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.glossary import (
    Channel,
    ConclusionOutcome,
    ConnectionTarget,
    ContactOutcome,
    FollowUpStatus,
    IdentifiedBy,
    IssueTag,
    LocalResourceKind,
    MeetingType,
    MenuKind,
    Program,
)
from libs.directory import Directory
from projections.schema import SCHEMA

KPI_VERSION = "2026.2"
"""Version of the definitions below; returned with every figure and written into the report."""

CHANGES = {
    "2026.1": "最初の定義 / first definitions (issue #5).",
    "2026.2": "会議の開催回数、月別のプラン決定までの日数、解決率・つなぎもどし率、人口10万人あたりの率、"
    "3か月・6か月の定着率、地区別の居場所、高齢×障害など分野の組み合わせのパターンを追加; "
    "居場所の数は小学校区別のみ（地区別は別の指標）/ meetings held, monthly days to plan, resolution "
    "and return rates, rates per 100,000, retention rates, places per district, field-pair patterns. "
    "Read models added (conclusions, returns, plans_agreed.meeting_key): rebuild.",
}

S = SCHEMA

REACHED = (ContactOutcome.BRIEF_CONTACT.value, ContactOutcome.CONVERSATION.value)
"""Contact outcomes that reached the person themself (glossary: brief contact and conversation)."""

PATTERNS: dict[str, tuple[str, ...]] = {
    "elderly_disability": (IssueTag.ELDERLY_CARE.value, IssueTag.DISABILITY.value),
    "elderly_poverty": (IssueTag.ELDERLY_CARE.value, IssueTag.POVERTY_DEBT.value),
    "disability_poverty": (IssueTag.DISABILITY.value, IssueTag.POVERTY_DEBT.value),
    "8050": (IssueTag.EIGHTY_FIFTY.value,),
    "double_care": (IssueTag.DOUBLE_CARE.value,),
    "young_carer": (IssueTag.YOUNG_CARER.value,),
    "8050_hikikomori": (IssueTag.EIGHTY_FIFTY.value, IssueTag.HIKIKOMORI.value),
}
"""Named household patterns: a case shows one when it carries all of its issue tags."""

PATTERN_LABELS_JA = {
    "elderly_disability": "高齢 × 障害",
    "elderly_poverty": "高齢 × 生活困窮",
    "disability_poverty": "障害 × 生活困窮",
    "8050": "8050",
    "double_care": "ダブルケア",
    "young_carer": "ヤングケアラー",
    "8050_hikikomori": "8050 × ひきこもり",
    "multi_field": "複数分野にまたがる課題（2分類以上）",
}

STEPS: tuple[str, ...] = (
    "received",
    "referred",
    "accepted",
    "plan_agreed",
    "referred_outreach",
    "referred_participation",
    "participation_accepted",
    "concluded",
    "returned",
    "closed",
)
STEP_LABELS_JA = {
    "received": "相談受付",
    "referred": "多機関協働への支援依頼",
    "accepted": "多機関協働での受理",
    "plan_agreed": "支援プラン決定",
    "referred_outreach": "アウトリーチ等事業への依頼",
    "referred_participation": "参加支援事業への依頼",
    "participation_accepted": "参加支援での受付",
    "concluded": "多機関協働の終結",
    "returned": "つなぎもどし",
    "closed": "相談の終結",
}

RETENTION_DAYS = {"3m": 90, "6m": 182}
"""Still placed after 3 and 6 months = the placement lasted at least this many days."""

RESOLVED = (ConclusionOutcome.RESOLVED.value, ConclusionOutcome.IMPROVED.value)
"""Conclusion outcomes counted as resolved (解決・改善) by the resolution rate."""

PER = 100_000
"""Rates are per 100,000 people."""


@dataclass(frozen=True)
class Period:
    """Dates of the counted events, both ends included, an optional district code, and the
    population of the municipality or of that district (None: unknown, so no rates)."""

    start: date
    end: date
    district: str | None = None
    population: int | None = None

    def params(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "district": self.district}

    def where_district(self, column: str) -> str:
        return f" AND {column} = :district" if self.district is not None else ""


Row = dict[str, Any]
Query = Callable[[AsyncConnection, Period], Awaitable[list[Row]]]


def population(directory: Directory, district: str | None) -> int | None:
    """People living in the district, or in the whole municipality; None if the directory does not
    know the district (a rate over an unknown population would be invented)."""
    if district is None:
        return directory.population or None
    found = directory.districts.get(district)
    return found.population if found is not None else None


def per_100k(count: int | None, people: int | None) -> float | None:
    """`count` per 100,000 people, one decimal; None without a population."""
    if count is None or not people:
        return None
    return round(count * PER / people, 1)


def percent(part: int | None, whole: int | None) -> float | None:
    """`part` as a percentage of `whole`, one decimal; None when there is no whole."""
    if part is None or not whole:
        return None
    return round(100 * part / whole, 1)


@dataclass(frozen=True)
class Figure:
    """One figure: key, Japanese title, whether it counts people (then small counts are hidden),
    the code list of each dimension (for Japanese labels), and its query (docstring = definition)."""

    key: str
    title_ja: str
    about_people: bool
    dimensions: dict[str, type[StrEnum] | dict[str, str] | None]
    query: Query
    derived: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Values computed from counts of the same row (rate, percentage, median) → those counts: a
    derived value is hidden whenever one of its counts is, or it would give the count back."""
    parts: dict[str, str] = field(default_factory=dict)
    """A count → the count it is part of (resolved → concluded): the difference must not be small."""

    @property
    def definition(self) -> str:
        return " ".join((self.query.__doc__ or "").split())


_DISTRICT = re.compile(r"¤\{([^}]*)\}")


async def _rows(conn: AsyncConnection, sql: str, p: Period, **params: Any) -> list[Row]:
    """Run one figure's query: `§` is the read model schema, `¤{column}` the district filter on
    `column` (dropped without a district). Only code-given names are spliced; values are bound."""
    statement = _DISTRICT.sub(lambda m: p.where_district(m.group(1)), sql.replace("§", S))
    result = await conn.execute(text(statement), p.params() | params)
    return [dict(r._mapping) for r in result]


async def consultations_by_channel(conn: AsyncConnection, p: Period) -> list[Row]:
    """相談受付件数（月別・相談経路別）: 相談の受付（CaseReceived）の件数を、受付日（received_on）の月と相談経路ごとに数える。"""
    return await _rows(
        conn,
        "SELECT to_char(received_on, 'YYYY-MM') AS month, channel, count(*) AS n FROM §.cases "
        "WHERE received_on BETWEEN :start AND :end¤{district} GROUP BY 1, 2 ORDER BY 1, 2",
        p,
    )


async def consultations_by_issue(conn: AsyncConnection, p: Period) -> list[Row]:
    """相談受付件数（月別・課題分類別）: 相談の受付（CaseReceived）の件数を、受付日（received_on）の月と課題分類ごとに数える。
    1件の相談は持っている課題分類のそれぞれに1回ずつ数えるため、各行を足すと相談の件数より多くなることがある。"""
    return await _rows(
        conn,
        "SELECT to_char(received_on, 'YYYY-MM') AS month, tag AS issue_tag, count(*) AS n "
        "FROM §.cases, unnest(issue_tags) AS tag WHERE received_on BETWEEN :start AND :end¤{district} GROUP BY 1, 2 ORDER BY 1, 2",
        p,
    )


async def issue_pairs(conn: AsyncConnection, p: Period) -> list[Row]:
    """課題の組み合わせ: 期間中に受け付けた相談のうち、課題分類の組（tag_a < tag_b）の両方を持つものの件数。"""
    return await _rows(
        conn,
        "SELECT a AS tag_a, b AS tag_b, count(*) AS n FROM §.cases, unnest(issue_tags) AS a, unnest(issue_tags) AS b "
        "WHERE a < b AND received_on BETWEEN :start AND :end¤{district} GROUP BY 1, 2 ORDER BY 1, 2",
        p,
    )


async def household_patterns(conn: AsyncConnection, p: Period) -> list[Row]:
    """複合課題のパターン: 期間中に受け付けた相談のうち、名前のついたパターン（PATTERNS）の課題分類をすべて持つものの件数。
    あわせて `multi_field`: 期間中に受け付けた相談のうち、課題分類を2つ以上持つものの件数。"""
    rows: list[Row] = []
    for name, tags in PATTERNS.items():
        found = await _rows(
            conn,
            "SELECT count(*) AS n FROM §.cases WHERE issue_tags @> CAST(:tags AS text[]) "
            "AND received_on BETWEEN :start AND :end¤{district}",
            p,
            tags=list(tags),
        )
        rows.append({"pattern": name, "n": found[0]["n"]})
    found = await _rows(
        conn,
        "SELECT count(*) AS n FROM §.cases WHERE cardinality(issue_tags) >= 2 "
        "AND received_on BETWEEN :start AND :end¤{district}",
        p,
    )
    rows.append({"pattern": "multi_field", "n": found[0]["n"]})
    return rows


async def flow(conn: AsyncConnection, p: Period) -> list[Row]:
    """事業間の流れ: 各段階に（初めて）到達したケースのうち、その段階の日付が期間中のものの件数。
    受付 → 支援依頼 → 受理 → プラン決定 → 終結 → つなぎもどし、あわせてアウトリーチ等事業・参加支援事業への依頼。"""
    rows = await _rows(
        conn,
        "SELECT s.step, count(*) AS n FROM §.case_steps s LEFT JOIN §.cases c USING (case_key) "
        "WHERE s.on_date BETWEEN :start AND :end¤{c.district} GROUP BY 1",
        p,
    )
    found = {r["step"]: r["n"] for r in rows}
    return [{"step": step, "n": found.get(step, 0)} for step in STEPS]


async def open_cases(conn: AsyncConnection, p: Period) -> list[Row]:
    """組織別の継続中の件数: 各組織（開始のイベントの envelope.organisation）が期間末の時点で継続して持っていたケースの件数。
    期間末日以前に開始し、期間末日以前に終了していないもの。
    開始と終了のイベント: 包括的相談支援は CaseReceived／CaseClosed。
    多機関協働は ReferralAccepted／SupportConcluded または ReturnedToOrigin。
    アウトリーチは PotentialClientIdentified／OutreachConcluded。
    参加支援は ParticipationAccepted（公開された終了のイベントがまだないため、期間末までに受け付けたケースをすべて数える）。"""
    return await _rows(
        conn,
        "SELECT h.program, h.organisation, count(*) AS n FROM §.holdings h "
        "LEFT JOIN §.cases c ON c.case_key = h.case_key "
        "LEFT JOIN §.outreach_found o ON o.outreach_case_id = h.unit_id "
        "WHERE h.opened_on <= :end AND (h.closed_on IS NULL OR h.closed_on > :end) AND h.organisation IS NOT NULL¤{COALESCE(c.district, o.district)} GROUP BY 1, 2 ORDER BY 1, 2",
        p,
    )


_DAYS_TO_PLAN = (
    "SELECT pl.on_date AS agreed_on, pl.on_date - c.received_on AS d FROM §.case_steps pl "
    "JOIN §.cases c USING (case_key) WHERE pl.step = 'plan_agreed' AND pl.on_date BETWEEN :start AND :end "
    "AND pl.on_date >= c.received_on¤{c.district}"
)
"""Complex cases (referred to 多機関協働, the only program that agrees plans) with their days to plan."""


async def days_to_plan(conn: AsyncConnection, p: Period) -> list[Row]:
    """受付からプラン決定までの日数（複合的な課題のケース）: 最初のプラン（PlanAgreed。多機関協働に支援依頼されたケースについてのみ決定される）が期間中に決定されたケースについて、相談の受付日（CaseReceived の received_on）から最初のプランの決定日（PlanAgreed の agreed_on）までの日数。
    件数、中央値、90パーセンタイル（国の目標は5日、現状の典型は12.3日）。"""
    return await _rows(
        conn,
        "SELECT count(*) AS n, percentile_cont(0.5) WITHIN GROUP (ORDER BY d) AS median, "  # noqa: S608 (constant)
        f"percentile_cont(0.9) WITHIN GROUP (ORDER BY d) AS p90 FROM ({_DAYS_TO_PLAN}) AS days",
        p,
    )


async def days_to_plan_by_month(conn: AsyncConnection, p: Period) -> list[Row]:
    """受付からプラン決定までの日数の推移（月別）: 「受付からプラン決定までの日数」と同じ日数を、最初のプランの決定（PlanAgreed）の月ごとにまとめたもの。
    月ごとの件数、中央値、90パーセンタイル。"""
    return await _rows(
        conn,
        "SELECT to_char(agreed_on, 'YYYY-MM') AS month, count(*) AS n, "  # noqa: S608 (constant)
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY d) AS median, "
        f"percentile_cont(0.9) WITHIN GROUP (ORDER BY d) AS p90 FROM ({_DAYS_TO_PLAN}) AS days "
        "GROUP BY 1 ORDER BY 1",
        p,
    )


async def plan_meetings(conn: AsyncConnection, p: Period) -> list[Row]:
    """会議でのプラン決定件数（月別・会議の種類別）: プランの決定（PlanAgreed）の件数を、決定日（agreed_on）の月と会議の種類ごとに数える（プランの版はすべて数える）。
    会議そのものを示す公開イベントはないため、これは決定の件数であり、会議の回数ではない。"""
    return await _rows(
        conn,
        "SELECT to_char(pa.agreed_on, 'YYYY-MM') AS month, pa.meeting_type, count(*) AS n "
        "FROM §.plans_agreed pa LEFT JOIN §.cases c USING (case_key) WHERE pa.agreed_on BETWEEN :start AND :end¤{c.district} GROUP BY 1, 2 ORDER BY 1, 2",
        p,
    )


async def meetings_held(conn: AsyncConnection, p: Period) -> list[Row]:
    """会議の開催回数（月別・会議の種類別）: 期間中に1件以上のプランを決定した（PlanAgreed）会議の回数。
    公開イベントには会議のIDがないため、日付・会議の種類・構成組織の組み合わせが同じものを1回の会議とし、複数のプランを決定した会議も1回と数える。
    地区で絞り込んだ場合は、その地区のケースのプランを決定した会議の回数。"""
    return await _rows(
        conn,
        "SELECT to_char(pa.agreed_on, 'YYYY-MM') AS month, pa.meeting_type, count(DISTINCT pa.meeting_key) AS n "
        "FROM §.plans_agreed pa LEFT JOIN §.cases c USING (case_key) WHERE pa.agreed_on BETWEEN :start AND :end¤{c.district} GROUP BY 1, 2 ORDER BY 1, 2",
        p,
    )


async def resolution_and_return(conn: AsyncConnection, p: Period) -> list[Row]:
    """解決率とつなぎもどし率（ケース単位）: 終結（concluded）= 期間中に SupportConcluded があったケース。
    解決・改善（resolved）= そのうち解決または改善として終結したもの。
    解決率（resolution_rate）= 解決・改善 ÷ 終結（%）。
    終了（ended）= 多機関協働での支援が期間中に終わったケース（SupportConcluded または ReturnedToOrigin）。
    つなぎもどし（returned）= そのうち支援依頼元の組織に戻したケース（ReturnedToOrigin、理由は問わない）。
    つなぎもどし率（return_rate）= つなぎもどし ÷ 終了（%）。"""
    found = await _rows(
        conn,
        "SELECT count(DISTINCT x.case_key) AS concluded, "
        "count(DISTINCT x.case_key) FILTER (WHERE x.outcome = ANY(CAST(:resolved AS text[]))) AS resolved "
        "FROM §.conclusions x LEFT JOIN §.cases c USING (case_key) WHERE x.concluded_on BETWEEN :start AND :end¤{c.district}",
        p,
        resolved=list(RESOLVED),
    )
    ended = await _rows(
        conn,
        "SELECT count(DISTINCT e.case_key) AS ended, count(DISTINCT e.case_key) FILTER (WHERE e.returned) AS returned "
        "FROM (SELECT case_key, concluded_on AS on_date, false AS returned FROM §.conclusions "
        "UNION ALL SELECT case_key, returned_on, true FROM §.returns) AS e LEFT JOIN §.cases c USING (case_key) "
        "WHERE e.on_date BETWEEN :start AND :end¤{c.district}",
        p,
    )
    row = found[0] | ended[0]
    row["resolution_rate"] = percent(row["resolved"], row["concluded"])
    row["return_rate"] = percent(row["returned"], row["ended"])
    return [row]


async def missing_resources(conn: AsyncConnection, p: Period) -> list[Row]:
    """会議で把握された不足する地域資源: 会議で記録された不足する地域資源（MissingResourceNoted）の件数を、資源の種類ごとに数える（会議の開催日が期間中のもの）。"""
    return await _rows(
        conn,
        "SELECT resource_kind, count(*) AS n, count(DISTINCT meeting_id) AS meetings FROM §.missing_resources "
        "WHERE held_on BETWEEN :start AND :end¤{district} GROUP BY 1 ORDER BY 1",
        p,
    )


async def outreach_found(conn: AsyncConnection, p: Period) -> list[Row]:
    """アウトリーチ: 把握した人数（把握の経路別）: 支援が必要と思われる人の把握（PotentialClientIdentified）の件数を、把握の経路（identified_by）ごとに数える。"""
    return await _rows(
        conn,
        "SELECT identified_by, count(*) AS n FROM §.outreach_found WHERE identified_on BETWEEN :start AND :end¤{district} GROUP BY 1 ORDER BY 1",
        p,
    )


async def outreach_attempts(conn: AsyncConnection, p: Period) -> list[Row]:
    """アウトリーチ: 働きかけの回数（結果別）: 働きかけ（ContactAttempted）の回数を結果ごとに数える。
    地区はアウトリーチのケースの地区。"""
    return await _rows(
        conn,
        "SELECT a.outcome, count(*) AS n FROM §.contact_attempts a "
        "LEFT JOIN §.outreach_found o USING (outreach_case_id) WHERE a.attempted_on BETWEEN :start AND :end¤{o.district} GROUP BY 1 ORDER BY 1",
        p,
    )


async def outreach_connected(conn: AsyncConnection, p: Period) -> list[Row]:
    """アウトリーチ: つないだ人数（つなぎ先別）: 支援へのつなぎ（ConnectedToSupport）の件数を、つなぎ先（connected_to）ごとに数える。"""
    return await _rows(
        conn,
        "SELECT connected_to, count(*) AS n FROM §.outreach_connections WHERE connected_on BETWEEN :start AND :end¤{district} GROUP BY 1 ORDER BY 1",
        p,
    )


async def placements_started(conn: AsyncConnection, p: Period) -> list[Row]:
    """参加支援: 参加開始件数（メニュー種別）: 参加の開始（PlacementStarted）の件数をメニューの種類ごとに数える。
    地区はメニューの地区。"""
    return await _rows(
        conn,
        "SELECT menu_kind, count(*) AS n FROM §.placements WHERE started_on BETWEEN :start AND :end "
        "AND menu_kind IS NOT NULL¤{district} GROUP BY 1 ORDER BY 1",
        p,
    )


async def placement_followups(conn: AsyncConnection, p: Period) -> list[Row]:
    """参加支援: 定着支援の件数（定着状況別）: 定着支援（PlacementFollowedUp）の件数を定着状況ごとに数える。"""
    return await _rows(
        conn,
        "SELECT f.status, count(*) AS n FROM §.placement_followups f LEFT JOIN §.placements pl USING (placement_id) "
        "WHERE f.followed_up_on BETWEEN :start AND :end¤{pl.district} GROUP BY 1 ORDER BY 1",
        p,
    )


async def participation_rates(conn: AsyncConnection, p: Period) -> list[Row]:
    """参加支援: 人口10万人あたりの件数: 受付件数（accepted）= 期間中に参加支援で受け付けたケース（最初の ParticipationAccepted）。
    参加開始件数（placements）= 期間中の参加の開始（PlacementStarted、地区はメニューの地区）。
    それぞれ、自治体または絞り込んだ地区の人口10万人あたりの件数も示す（人口は自治体の名簿 libs/directory.py から。期間中の件数で、年率換算はしない）。"""
    accepted = await _rows(
        conn,
        "SELECT count(*) AS accepted FROM §.case_steps s LEFT JOIN §.cases c USING (case_key) "
        "WHERE s.step = 'participation_accepted' AND s.on_date BETWEEN :start AND :end¤{c.district}",
        p,
    )
    placements = await _rows(
        conn,
        "SELECT count(*) AS placements FROM §.placements WHERE started_on BETWEEN :start AND :end "
        "AND menu_kind IS NOT NULL¤{district}",
        p,
    )
    row = accepted[0] | placements[0] | {"population": p.population}
    row["accepted_per_100k"] = per_100k(row["accepted"], p.population)
    row["placements_per_100k"] = per_100k(row["placements"], p.population)
    return [row]


async def placement_retention(conn: AsyncConnection, p: Period) -> list[Row]:
    """参加支援: 3か月・6か月後の定着: 期間中、かつ期間末日のN日以上前に始まった参加（N = 90 または 182）のうち、N日以上続いたもの（終了していない、または開始からN日以上たって終了した）の件数。
    割合（rate）= その件数 ÷ それらの参加の件数（%）。"""
    rows: list[Row] = []
    for horizon, days in RETENTION_DAYS.items():
        found = await _rows(
            conn,
            "SELECT count(*) AS eligible, count(*) FILTER (WHERE ended_on IS NULL OR ended_on - started_on >= :days) AS n "
            "FROM §.placements WHERE started_on BETWEEN :start AND :cutoff AND menu_kind IS NOT NULL¤{district}",
            p,
            days=days,
            cutoff=p.end - timedelta(days=days),
        )
        rows.append({"horizon": horizon, **found[0], "rate": percent(found[0]["n"], found[0]["eligible"])})
    return rows


_OPEN_PLACES = "FROM §.places WHERE opened_on <= :end AND (closed_on IS NULL OR closed_on > :end)¤{district}"


async def places_by_school_district(conn: AsyncConnection, p: Period) -> list[Row]:
    """地域づくり: 居場所の数（小学校区別）: 期間末日以前に登録され（PlaceRegistered）、期間末日までに閉鎖（PlaceClosed）されていない居場所の数を、登録された小学校区ごとに数える。"""
    return await _rows(conn, f"SELECT school_district, count(*) AS n {_OPEN_PLACES} GROUP BY 1 ORDER BY 1", p)


async def places_by_district(conn: AsyncConnection, p: Period) -> list[Row]:
    """地域づくり: 居場所の数（地区別）: 「小学校区別」と同じ居場所を、登録された地区ごとに数える。"""
    return await _rows(conn, f"SELECT district, count(*) AS n {_OPEN_PLACES} GROUP BY 1 ORDER BY 1", p)


async def activities(conn: AsyncConnection, p: Period) -> list[Row]:
    """地域づくり: 活動の回数、世代別の参加者数（延べ）、ボランティア数（延べ）、住民主体の新たな活動の数: 期間中の活動の開催（ActivityHeld）。
    住民主体の新たな活動は活動のID（activity_id）ごとに1回だけ数え、自治体または絞り込んだ地区の人口10万人あたりの数も示す（期間中の件数、年率換算なし）。"""
    rows = await _rows(
        conn,
        "SELECT count(*) AS n, COALESCE(sum(children), 0) AS children, COALESCE(sum(youth), 0) AS youth, "
        "COALESCE(sum(working_age), 0) AS working_age, COALESCE(sum(older), 0) AS older, "
        "COALESCE(sum(volunteers), 0) AS volunteers, "
        "count(DISTINCT activity_id) FILTER (WHERE new_resident_led) AS new_resident_led "
        "FROM §.activities WHERE held_on BETWEEN :start AND :end¤{district}",
        p,
    )
    return [r | {"new_resident_led_per_100k": per_100k(r["new_resident_led"], p.population)} for r in rows]


async def platform_meetings(conn: AsyncConnection, p: Period) -> list[Row]:
    """地域づくり: 多分野のプラットフォームの開催回数: プラットフォームの開催（PlatformMeetingHeld）の回数（自治体全域の会議には地区がなく、地区で絞り込まないときだけ数える）。"""
    return await _rows(
        conn,
        "SELECT count(*) AS n FROM §.platform_meetings WHERE held_on BETWEEN :start AND :end¤{district}",
        p,
    )


async def data_quality(conn: AsyncConnection, p: Period) -> list[Row]:
    """データの状態: 集計に反映したイベントの数と、読めずに読み飛ばしたメッセージの数。
    ログ全体が対象（期間・地区では絞り込まない）。"""
    return await _rows(
        conn,
        "SELECT (SELECT count(*) FROM §.applied_events) AS applied, (SELECT count(*) FROM §.skipped_messages) AS skipped",
        p,
    )


STATISTICS = {"median": ("n",), "p90": ("n",)}
"""Median and 90th percentile of the `n` rows counted: hidden when `n` is."""

FIGURES: tuple[Figure, ...] = (
    Figure(
        "consultations_by_channel",
        "相談受付件数（月別・相談経路別）",
        True,
        {"channel": Channel},
        consultations_by_channel,
    ),
    Figure(
        "consultations_by_issue",
        "相談受付件数（月別・課題分類別）",
        True,
        {"issue_tag": IssueTag},
        consultations_by_issue,
    ),
    Figure(
        "issue_pairs", "課題の組み合わせ（件数）", True, {"tag_a": IssueTag, "tag_b": IssueTag}, issue_pairs
    ),
    Figure(
        "household_patterns", "複合課題のパターン", True, {"pattern": PATTERN_LABELS_JA}, household_patterns
    ),
    Figure("flow", "事業間の流れ（件数）", True, {"step": STEP_LABELS_JA}, flow),
    Figure(
        "open_cases",
        "組織別の継続中の件数（期間末時点）",
        True,
        {"program": Program, "organisation": None},
        open_cases,
    ),
    Figure(
        "days_to_plan",
        "受付からプラン決定までの日数（複合的な課題のケース）",
        True,
        {},
        days_to_plan,
        derived=STATISTICS,
    ),
    Figure(
        "days_to_plan_by_month",
        "受付からプラン決定までの日数の推移（月別）",
        True,
        {},
        days_to_plan_by_month,
        derived=STATISTICS,
    ),
    Figure(
        "meetings_held",
        "会議の開催回数（月別・重層的支援会議／支援会議）",
        False,
        {"meeting_type": MeetingType},
        meetings_held,
    ),
    Figure(
        "resolution_and_return",
        "解決率・つなぎもどし率",
        True,
        {},
        resolution_and_return,
        derived={"resolution_rate": ("resolved", "concluded"), "return_rate": ("returned", "ended")},
        parts={"resolved": "concluded", "returned": "ended"},
    ),
    Figure(
        "plan_meetings",
        "会議でのプラン決定件数（月別・会議の種類別）",
        True,
        {"meeting_type": MeetingType},
        plan_meetings,
    ),
    Figure(
        "missing_resources",
        "不足する地域資源（会議で把握）",
        False,
        {"resource_kind": LocalResourceKind},
        missing_resources,
    ),
    Figure(
        "outreach_found", "アウトリーチ: 把握した人数", True, {"identified_by": IdentifiedBy}, outreach_found
    ),
    Figure(
        "outreach_attempts",
        "アウトリーチ: 働きかけの回数",
        True,
        {"outcome": ContactOutcome},
        outreach_attempts,
    ),
    Figure(
        "outreach_connected",
        "アウトリーチ: つないだ人数",
        True,
        {"connected_to": ConnectionTarget},
        outreach_connected,
    ),
    Figure("placements_started", "参加支援: 参加開始件数", True, {"menu_kind": MenuKind}, placements_started),
    Figure(
        "participation_rates",
        "参加支援: 受付件数・参加開始件数（人口10万人あたり）",
        True,
        {},
        participation_rates,
        derived={"accepted_per_100k": ("accepted",), "placements_per_100k": ("placements",)},
    ),
    Figure(
        "placement_followups",
        "参加支援: 定着支援の件数",
        True,
        {"status": FollowUpStatus},
        placement_followups,
    ),
    Figure(
        "placement_retention",
        "参加支援: 3か月・6か月後も参加を続けている件数",
        True,
        {"horizon": {"3m": "3か月", "6m": "6か月"}},
        placement_retention,
        derived={"rate": ("n", "eligible")},
        parts={"n": "eligible"},
    ),
    Figure(
        "places",
        "地域づくり: 居場所の数（小学校区別）",
        False,
        {"school_district": None},
        places_by_school_district,
    ),
    Figure(
        "places_by_district",
        "地域づくり: 居場所の数（地区別）",
        False,
        {"district": None},
        places_by_district,
    ),
    Figure(
        "activities",
        "地域づくり: 活動と参加者（世代別・延べ）、住民主体の新たな活動（人口10万人あたり）",
        True,
        {},
        activities,
        derived={"new_resident_led_per_100k": ("new_resident_led",)},
    ),
    Figure("platform_meetings", "地域づくり: プラットフォームの開催回数", False, {}, platform_meetings),
    Figure(
        "data_quality", "データの状態（反映したイベント・読めなかったメッセージ）", False, {}, data_quality
    ),
)
"""Every figure of the dashboard, in the order the page shows them."""


FIGURE = {figure.key: figure for figure in FIGURES}


def with_population(period: Period, directory: Directory | None = None) -> Period:
    """The period with the population its rates divide by (the directory's, unless already given)."""
    if period.population is not None:
        return period
    return replace(period, population=population(directory or Directory.load(), period.district))


async def compute(
    conn: AsyncConnection, period: Period, directory: Directory | None = None
) -> dict[str, list[Row]]:
    """Every figure's raw rows for one period (one read transaction, so figures agree)."""
    period = with_population(period, directory)
    return {figure.key: await figure.query(conn, period) for figure in FIGURES}
