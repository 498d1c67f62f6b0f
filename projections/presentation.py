"""How the dashboard page shows each figure: its chart, its group on the page, its columns' names.

The figures themselves (what is counted, versioned) live in projections/kpi.py; this module only
decides how they look, so a definition can change without touching the page and a new figure
appears on the page with a chart guessed from its rows (`chart_for`) until it gets a spec here.
"""

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

ChartKind = Literal["bar", "stacked", "hbar", "line", "matrix", "stat"]
"""bar: grouped bars; stacked: bars stacked by series; hbar: horizontal stacked bars (long labels);
line: a line per series (trends); matrix: a heat-map table of two dimensions; stat: big numbers."""


@dataclass(frozen=True)
class Reference:
    """A horizontal line drawn across a chart, such as a national target."""

    value: float
    label: str


@dataclass(frozen=True)
class Chart:
    """One figure's chart: categories from column `x` (or, without one, the value columns
    themselves), one dataset per value of `series` (or per value column)."""

    kind: ChartKind
    x: str | None = None
    series: str | None = None
    values: tuple[str, ...] = ("n",)
    unit: str = "件"
    references: tuple[Reference, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Group:
    """A heading of the page and the figures under it (figure keys, by prefix or exactly)."""

    title: str
    keys: tuple[str, ...] = field(default=())


TARGET_DAYS = Reference(5, "国の目標 5日")
TYPICAL_DAYS = Reference(12.3, "現状の目安 12.3日")
GENERATIONS = ("children", "youth", "working_age", "older")

CHARTS: dict[str, Chart] = {
    "consultations_by_channel": Chart("stacked", x="month", series="channel"),
    "consultations_by_issue": Chart("stacked", x="month", series="issue_tag"),
    "issue_pairs": Chart("matrix", x="tag_a", series="tag_b"),
    "household_patterns": Chart("hbar", x="pattern"),
    "flow": Chart("hbar", x="step"),
    "open_cases": Chart("hbar", x="organisation", series="program"),
    "days_to_plan": Chart("bar", values=("median", "p90"), unit="日", references=(TARGET_DAYS, TYPICAL_DAYS)),
    "days_to_plan_by_month": Chart(
        "line", x="month", values=("median", "p90"), unit="日", references=(TARGET_DAYS, TYPICAL_DAYS)
    ),
    "plan_meetings": Chart("stacked", x="month", series="meeting_type"),
    "missing_resources": Chart("hbar", x="resource_kind", values=("n", "meetings")),
    "outreach_found": Chart("bar", x="identified_by"),
    "outreach_attempts": Chart("bar", x="outcome"),
    "outreach_connected": Chart("hbar", x="connected_to"),
    "placements_started": Chart("bar", x="menu_kind"),
    "placement_followups": Chart("bar", x="status"),
    "placement_retention": Chart("bar", x="horizon", values=("eligible", "n")),
    "meetings_held": Chart("stacked", x="month", series="meeting_type", unit="回"),
    "resolution_and_return": Chart("bar", values=("resolution_rate", "return_rate"), unit="%"),
    "participation_rates": Chart(
        "bar", values=("accepted_per_100k", "placements_per_100k"), unit="件/10万人"
    ),
    "places": Chart("bar", x="school_district", unit="か所"),
    "places_by_district": Chart("bar", x="district", unit="か所"),
    "activities": Chart("bar", values=GENERATIONS, unit="人"),
    "platform_meetings": Chart("stat", unit="回"),
    "data_quality": Chart("stat", values=("applied", "skipped")),
}
"""Charts chosen per figure; a figure missing here gets `chart_for`'s guess."""

GROUPS: tuple[Group, ...] = (
    Group("相談の受付", ("consultations", "issue_", "household_")),
    Group(
        "事業間の流れと多機関協働",
        ("flow", "open_cases", "days_to_plan", "plan_", "meetings", "resolution", "return"),
    ),
    Group("アウトリーチ等を通じた継続的支援", ("outreach",)),
    Group("参加支援", ("placement", "participation")),
    Group("地域づくり", ("places", "activities", "platform", "community", "missing_resources")),
)
OTHER_GROUP = Group("その他の指標")
DATA_GROUP = Group("データの状態", ("data_quality",))


def group_of(key: str) -> Group:
    """The heading a figure is shown under: the first group naming a prefix of its key."""
    for group in (*GROUPS, DATA_GROUP):
        if any(key.startswith(prefix) for prefix in group.keys):
            return group
    return OTHER_GROUP


HIDDEN_COLUMNS = frozenset({"suppressed", "suppressed_fields"})


def value_columns(rows: list[dict[str, Any]], dimensions: set[str]) -> list[str]:
    """Columns holding numbers (or suppressed numbers) rather than codes or labels."""
    if not rows:
        return []
    return [
        c
        for c in rows[0]
        if c not in dimensions
        and c not in HIDDEN_COLUMNS
        and c != "month"
        and not c.endswith("_label")
        and all(
            r.get(c) is None or (isinstance(r[c], int | float) and not isinstance(r[c], bool)) for r in rows
        )
    ]


def chart_for(key: str, rows: list[dict[str, Any]], dimensions: set[str]) -> Chart:
    """The figure's chart: its spec here, else one guessed from its rows, so that every figure
    of kpi.FIGURES, also one added after this module, is drawn."""
    if key in CHARTS:
        return CHARTS[key]
    values = tuple(value_columns(rows, dimensions)) or ("n",)
    columns = set(rows[0]) if rows else set()
    dims = [d for d in dimensions if d in columns and d != "month"]
    if "month" in columns:
        return Chart(
            "line" if not dims else "stacked", x="month", series=dims[0] if dims else None, values=values
        )
    if dims:
        return Chart("bar", x=dims[0], series=dims[1] if len(dims) > 1 else None, values=values)
    if len(rows) == 1 and len(values) == 1:
        return Chart("stat", values=values)
    return Chart("bar", values=values)


COLUMN_LABELS = {
    "month": "月",
    "channel": "相談経路",
    "issue_tag": "課題分類",
    "tag_a": "課題A",
    "tag_b": "課題B",
    "pattern": "パターン",
    "step": "段階",
    "program": "事業",
    "organisation": "組織",
    "meeting_type": "会議の種類",
    "resource_kind": "不足する資源",
    "meetings": "会議数",
    "identified_by": "把握の経路",
    "outcome": "結果",
    "connected_to": "つなぎ先",
    "menu_kind": "メニュー種別",
    "status": "定着状況",
    "horizon": "期間",
    "eligible": "対象件数",
    "district": "地区",
    "school_district": "小学校区",
    "n": "件数",
    "median": "中央値（日）",
    "p90": "90パーセンタイル（日）",
    "children": "子ども",
    "youth": "若者",
    "working_age": "現役世代",
    "older": "高齢者",
    "volunteers": "ボランティア",
    "new_resident_led": "住民主体の新たな活動",
    "applied": "反映したイベント",
    "skipped": "読めなかったメッセージ",
    "population": "人口",
    "per_100k": "人口10万人あたり",
    "rate": "割合（%）",
    "concluded": "終結した件数",
    "resolved": "解決・改善",
    "ended": "多機関協働を終えた件数",
    "returned": "つなぎもどし",
    "resolution_rate": "解決率（%）",
    "return_rate": "つなぎもどし率（%）",
    "accepted": "受付件数",
    "placements": "参加開始件数",
    "year": "年度",
}
"""Japanese column headings; a column not named here shows its code."""


def column_label(column: str) -> str:
    if column in COLUMN_LABELS:
        return COLUMN_LABELS[column]
    for suffix, label in (("_per_100k", "（人口10万人あたり）"), ("_rate", "（割合）")):
        if column.endswith(suffix):
            return COLUMN_LABELS.get(column.removesuffix(suffix), column.removesuffix(suffix)) + label
    return column
