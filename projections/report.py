"""The national report export: one fiscal year's figures of the business, CSV or Excel.

A municipality that runs 重層的支援体制整備事業 reports its yearly figures per program to the
national government; the department copies them from here. So the export is one row per figure,
in the order of the five programs, each with its unit and its definition next to it, and the
version of the definitions that computed it (`kpi.KPI_VERSION`): a number sent last year stays
explainable after a definition changes.

Every value is a cell of a dashboard figure (`kpi.FIGURES`), taken after disclosure control, or a
yearly total of one (`Total`), which is suppressed like any count about people; nothing here
computes a figure of its own, so the report and the dashboard never disagree for the same year.
"""

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query
from fastapi.responses import Response
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.events import DISTRICT_PATTERN
from contracts.glossary import MeetingType, Program
from libs.directory import Directory
from libs.domain import InvalidCommand
from libs.http import ERROR_RESPONSES, Caller
from projections import disclosure, http, kpi

CONSULTATION = "包括的相談支援事業"
COORDINATION = "多機関協働事業"
OUTREACH = "アウトリーチ等を通じた継続的支援事業"
PARTICIPATION = "参加支援事業"
COMMUNITY = "地域づくり事業"

HIDDEN_NOTE = f"{disclosure.MIN}〜{disclosure.MAX}件の値、またはそこから計算できる値のため非表示"
EMPTY_NOTE = "該当なし、または算出できません（人口が不明など）"

COLUMNS = ("年度", "区分", "指標", "値", "単位", "定義", "備考", "指標定義の版")

MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class Cell:
    """One value of one row of a dashboard figure (the row whose dimensions equal `where`)."""

    figure: str
    column: str
    where: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Total:
    """The yearly total of a figure's counts over its rows (those whose dimension is in `where`)."""

    figure: str
    column: str = "n"
    where: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Line:
    """One row of the report: what the municipality reports, in its words, and where it comes from."""

    section: str
    name: str
    unit: str
    source: Cell | Total
    note: str
    """What this row counts beyond the source figure's definition (which is quoted after it)."""


LINES: tuple[Line, ...] = (
    Line(
        CONSULTATION,
        "相談受付件数",
        "件",
        Total("consultations_by_channel"),
        "年度中に受け付けた相談の件数（相談経路の合計）。",
    ),
    Line(
        CONSULTATION,
        "うち複数の分野にまたがる課題の件数",
        "件",
        Cell("household_patterns", "n", {"pattern": "multi_field"}),
        "課題分類が2つ以上の相談。",
    ),
    *(
        Line(CONSULTATION, f"うち{label}の件数", "件", Cell("household_patterns", "n", {"pattern": key}), "")
        for key, label in kpi.PATTERN_LABELS_JA.items()
        if key != "multi_field"
    ),
    Line(
        CONSULTATION,
        "多機関協働事業への支援依頼件数",
        "件",
        Cell("flow", "n", {"step": "referred"}),
        "年度中に初めて支援依頼したケース。",
    ),
    Line(
        CONSULTATION,
        "相談の終結件数",
        "件",
        Cell("flow", "n", {"step": "closed"}),
        "年度中に終結したケース。",
    ),
    Line(
        COORDINATION,
        "支援依頼の受理件数",
        "件",
        Cell("flow", "n", {"step": "accepted"}),
        "年度中に受理したケース。",
    ),
    Line(
        COORDINATION,
        "支援プランの作成件数",
        "件",
        Cell("flow", "n", {"step": "plan_agreed"}),
        "年度中に初めてプランが決定されたケース（見直しは含まない）。",
    ),
    Line(
        COORDINATION,
        "支援プランの決定件数（見直しを含む）",
        "件",
        Total("plan_meetings"),
        "会議で決定されたプランの版の数（月・会議の種類の合計）。",
    ),
    Line(
        COORDINATION,
        "受付から支援プラン決定までの日数（中央値）",
        "日",
        Cell("days_to_plan", "median"),
        "国の目標は5日。",
    ),
    Line(
        COORDINATION,
        "受付から支援プラン決定までの日数（90パーセンタイル）",
        "日",
        Cell("days_to_plan", "p90"),
        "",
    ),
    *(
        Line(
            COORDINATION,
            f"{label}の開催回数",
            "回",
            Total("meetings_held", where={"meeting_type": (meeting.value,)}),
            f"{label}として開かれ、プランを決定した会議の回数（月の合計）。",
        )
        for meeting, label in (
            (MeetingType.SUPPORT_PLAN_MEETING, "重層的支援会議"),
            (MeetingType.CONFIDENTIAL_SUPPORT_MEETING, "支援会議"),
        )
    ),
    Line(COORDINATION, "終結件数", "件", Cell("resolution_and_return", "concluded"), ""),
    Line(COORDINATION, "うち解決・改善の件数", "件", Cell("resolution_and_return", "resolved"), ""),
    Line(COORDINATION, "解決率", "%", Cell("resolution_and_return", "resolution_rate"), ""),
    Line(COORDINATION, "つなぎもどし件数", "件", Cell("resolution_and_return", "returned"), ""),
    Line(COORDINATION, "つなぎもどし率", "%", Cell("resolution_and_return", "return_rate"), ""),
    Line(
        COORDINATION,
        "年度末時点で継続中のケース",
        "件",
        Total("open_cases", where={"program": (Program.COORDINATION.value,)}),
        "多機関協働事業の全組織の合計。",
    ),
    Line(OUTREACH, "把握した人数", "人", Total("outreach_found"), "把握の経路の合計。"),
    Line(OUTREACH, "働きかけの回数", "回", Total("outreach_attempts"), "結果の合計。"),
    Line(
        OUTREACH,
        "うち本人と会えた回数",
        "回",
        Total("outreach_attempts", where={"outcome": kpi.REACHED}),
        "結果が短い接触または会話だった働きかけ。",
    ),
    Line(OUTREACH, "支援につないだ人数", "人", Total("outreach_connected"), "つなぎ先の合計。"),
    Line(PARTICIPATION, "参加支援の受付件数", "件", Cell("participation_rates", "accepted"), ""),
    Line(
        PARTICIPATION,
        "参加支援の受付件数（人口10万人あたり）",
        "件",
        Cell("participation_rates", "accepted_per_100k"),
        "",
    ),
    Line(PARTICIPATION, "参加開始件数", "件", Cell("participation_rates", "placements"), ""),
    Line(
        PARTICIPATION,
        "参加開始件数（人口10万人あたり）",
        "件",
        Cell("participation_rates", "placements_per_100k"),
        "",
    ),
    Line(PARTICIPATION, "定着支援の件数", "回", Total("placement_followups"), "定着状況の合計。"),
    *(
        line
        for horizon, label in (("3m", "3か月"), ("6m", "6か月"))
        for line in (
            Line(
                PARTICIPATION,
                f"{label}後も参加を続けている件数",
                "件",
                Cell("placement_retention", "n", {"horizon": horizon}),
                "",
            ),
            Line(
                PARTICIPATION,
                f"{label}後も参加を続けている割合",
                "%",
                Cell("placement_retention", "rate", {"horizon": horizon}),
                "",
            ),
        )
    ),
    Line(COMMUNITY, "居場所の数（年度末時点）", "か所", Total("places"), "小学校区の合計。"),
    Line(COMMUNITY, "活動の回数", "回", Cell("activities", "n"), ""),
    *(
        Line(COMMUNITY, f"参加者数（延べ・{label}）", "人", Cell("activities", generation), "")
        for generation, label in (
            ("children", "子ども"),
            ("youth", "若者"),
            ("working_age", "現役世代"),
            ("older", "高齢者"),
        )
    ),
    Line(COMMUNITY, "ボランティア数（延べ）", "人", Cell("activities", "volunteers"), ""),
    Line(COMMUNITY, "住民主体の新たな活動の数", "件", Cell("activities", "new_resident_led"), ""),
    Line(
        COMMUNITY,
        "住民主体の新たな活動の数（人口10万人あたり）",
        "件",
        Cell("activities", "new_resident_led_per_100k"),
        "",
    ),
    Line(COMMUNITY, "多分野のプラットフォームの開催回数", "回", Cell("platform_meetings", "n"), ""),
    Line(
        COMMUNITY, "会議で把握された不足する地域資源", "件", Total("missing_resources"), "資源の種類の合計。"
    ),
)
"""The report's rows, in the order of the five programs (社会福祉法第106条の4第2項)."""


@dataclass(frozen=True)
class ReportRow:
    line: Line
    value: int | float | None
    suppressed: bool

    def definition(self) -> str:
        figure = kpi.FIGURE[self.line.source.figure]
        quoted = f"「{figure.title_ja}」: {figure.definition}"
        return f"{self.line.note} {quoted}" if self.line.note else quoted

    def remark(self) -> str:
        if self.suppressed:
            return HIDDEN_NOTE
        return EMPTY_NOTE if self.value is None else ""


def fiscal_period(fiscal_year: int, district: str | None, directory: Directory) -> kpi.Period:
    """年度: 4月1日 to 3月31日 of the next calendar year."""
    period = kpi.Period(date(fiscal_year, 4, 1), date(fiscal_year + 1, 3, 31), district)
    return kpi.with_population(period, directory)


def _value(source: Cell | Total, raw: dict[str, list[kpi.Row]]) -> tuple[int | float | None, bool]:
    """The value of one line and whether it was suppressed."""
    figure = kpi.FIGURE[source.figure]
    if isinstance(source, Cell):
        for row in disclosure.disclose_figure(figure, raw[source.figure]):
            if all(row.get(k) == v for k, v in source.where.items()):
                return row.get(source.column), source.column in row.get("suppressed_fields", ())
        return 0, False  # no row: nothing happened (figures omit empty groups)
    total = sum(
        row[source.column]
        for row in raw[source.figure]
        if all(row.get(k) in allowed for k, allowed in source.where.items())
    )
    if figure.about_people and disclosure.small(total):
        return None, True
    return total, False


async def build(
    engine: AsyncEngine, fiscal_year: int, district: str | None, directory: Directory
) -> list[ReportRow]:
    """Every line of one fiscal year's report, suppressed as on the dashboard."""
    period = fiscal_period(fiscal_year, district, directory)
    async with engine.connect() as conn:
        raw = await kpi.compute(conn, period, directory)
    return [ReportRow(line, *_value(line.source, raw)) for line in LINES]


def _records(rows: Iterable[ReportRow], fiscal_year: int) -> Iterable[tuple[Any, ...]]:
    for row in rows:
        yield (
            f"{fiscal_year}年度",
            row.line.section,
            row.line.name,
            row.value,
            row.line.unit,
            row.definition(),
            row.remark(),
            kpi.KPI_VERSION,
        )


def to_csv(rows: list[ReportRow], fiscal_year: int) -> bytes:
    """UTF-8 with a byte order mark, so Excel on Japanese Windows opens it without mojibake."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(tuple("" if v is None else v for v in record) for record in _records(rows, fiscal_year))
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(rows: list[ReportRow], fiscal_year: int) -> bytes:
    """One sheet of the report, numbers as numbers; a second sheet lists the definitions' versions."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = f"{fiscal_year}年度"
    sheet.append(COLUMNS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for record in _records(rows, fiscal_year):
        sheet.append(record)
    for column, width in zip("ABCDEFGH", (10, 30, 44, 10, 6, 80, 30, 12), strict=True):
        sheet.column_dimensions[column].width = width
    for (cell,) in sheet.iter_rows(min_row=2, min_col=6, max_col=6):
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    history = book.create_sheet("指標定義の版")
    history.append(("版", "変更内容"))
    for version, change in kpi.CHANGES.items():
        history.append((version, change))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


_YEAR = re.compile(r"^[0-9]{4}$")
_DISTRICT = re.compile(DISTRICT_PATTERN)


def parse(fiscal_year: str | None, kind: str | None, district: str | None, today: date) -> tuple[int, str]:
    """The year and format asked for, or a 422 that says in Japanese what to send instead."""
    current = today.year if today.month >= 4 else today.year - 1
    if fiscal_year is None or not _YEAR.match(fiscal_year) or not 2000 <= int(fiscal_year) <= current:
        raise InvalidCommand(
            "invalid_fiscal_year",
            f"fiscal_year には年度を西暦4桁で指定してください（2000〜{current}。"
            "例: 2025 は2025年4月1日〜2026年3月31日）。",
        )
    if kind is None or kind not in MEDIA:
        raise InvalidCommand("invalid_format", "format には csv または xlsx を指定してください。")
    if district is not None and not _DISTRICT.match(district):
        raise InvalidCommand(
            "invalid_district",
            "district には地区コード（英小文字・数字・ハイフン、32文字まで）を指定してください。",
        )
    return int(fiscal_year), kind


def routes(app: FastAPI) -> None:
    engine: AsyncEngine = app.state.runtime.engine
    CallerDep = Annotated[Caller, Depends(app.state.caller)]

    @app.get(
        "/api/report",
        tags=["report"],
        summary="国への報告用の年度集計（CSV・Excel、1〜4件は非表示）",
        response_class=Response,
        responses={
            200: {
                "description": "年度の集計表（指標ごとに1行、定義つき）",
                "content": {media: {} for media in MEDIA.values()},
            },
            **{status: ERROR_RESPONSES[status] for status in (401, 403, 422)},
        },
    )
    async def get_report(
        caller: CallerDep,
        fiscal_year: Annotated[
            str | None, Query(description="年度（西暦4桁。2025 = 2025年4月〜2026年3月）")
        ] = None,
        kind: Annotated[str | None, Query(alias="format", description="csv または xlsx")] = None,
        district: Annotated[str | None, Query(description="地区コード（省略: 全域）")] = None,
    ) -> Response:
        http.authorise(caller)
        year, kind = parse(fiscal_year, kind, district, date.today())
        rows = await build(engine, year, district, app.state.runtime.directory)
        body = to_csv(rows, year) if kind == "csv" else to_xlsx(rows, year)
        suffix = f"-{district}" if district else ""
        return Response(
            body,
            media_type=MEDIA[kind],
            headers={
                "Content-Disposition": f'attachment; filename="kasane-report-FY{year}{suffix}.{kind}"',
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )
