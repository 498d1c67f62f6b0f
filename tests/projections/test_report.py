"""The national report export as a real process: CSV and Excel parsed back and compared with the
figures computed from the scenario's events, small counts and what derives from them hidden."""

import asyncio
import contextlib
import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
import openpyxl
import pytest

from contracts.glossary import MeetingType
from libs.directory import DEFAULT_DIRECTORY
from projections import kpi, report
from tests.polling import Timeout, eventually
from tests.projections import scenario
from tests.projections.conftest import publish
from tests.projections.dashboard_process import serving

YEAR = scenario.FISCAL_YEAR
YEAR_END = date(YEAR + 1, 3, 31)


@dataclass(frozen=True)
class Served:
    url: str
    scenario: scenario.Scenario


def directory_with(district: str, home: Path) -> Path:
    """The demo town's directory plus the scenario's district and its population."""
    raw = json.loads(DEFAULT_DIRECTORY.read_text(encoding="utf-8"))
    school = raw["school_districts"][0]["code"]
    raw["districts"].append(
        {"code": district, "name": "試験地区", "population": scenario.POPULATION, "school_district": school}
    )
    path = home / f"directory-{district}.json"
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def served(infra, infra_home, issuer, tokens) -> Iterator[Served]:
    s = scenario.build(cases=30, seed=11)
    with serving(infra, infra_home, issuer, directory_with(s.district, infra_home)) as url:
        asyncio.run(publish(infra, s.envelopes))
        served = Served(url, s)
        want = expected(s)

        async def applied() -> bool:
            response = await asyncio.to_thread(get, served, tokens)
            return {r["指標"]: r["値"] for r in parse_csv(response.content)} == want

        # Until the projector has applied the whole scenario; if it never matches, the tests'
        # own comparisons show the difference, which a timeout here would hide.
        with contextlib.suppress(Timeout):
            asyncio.run(eventually(applied, 120, "the report to show the whole scenario"))
        yield served


def parse_csv(body: bytes) -> list[dict[str, object]]:
    assert body.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM, for Excel"
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    for row in rows:
        row["値"] = number(row["値"])  # type: ignore[arg-type]
    return rows  # type: ignore[return-value]


def number(text: str) -> int | float | None:
    if text == "":
        return None
    return float(text) if "." in text else int(text)


def small(n: int) -> bool:
    return 1 <= n <= 4


def count(n: int) -> int | None:
    """A count about people as the report may show it."""
    return None if small(n) else n


def expected(s: scenario.Scenario) -> dict[str, object]:
    """The report's values for the scenario's district, from the events (scenario.expected), with
    the suppression rules applied here as the municipality states them."""
    want = scenario.expected(s, end=YEAR_END)
    patterns = want["patterns"]
    flow = want["flow"]
    n, median, p90 = want["days_to_plan"]
    meetings = {
        kind: sum(v for (_, k), v in want["meetings"].items() if k == kind.value) for kind in MeetingType
    }
    r = want["resolution"]
    resolved_shown = not small(r["resolved"]) and not small(r["concluded"] - r["resolved"])
    returned_shown = not small(r["returned"]) and not small(r["ended"] - r["returned"])
    p = want["participation"]
    reached = sum(v for k, v in want["attempts"].items() if k in kpi.REACHED)
    a = want["activities"]
    lines: dict[str, object] = {
        "相談受付件数": count(sum(want["by_channel"].values())),
        "うち複数の分野にまたがる課題の件数": count(patterns["multi_field"]),
        **{
            f"うち{kpi.PATTERN_LABELS_JA[k]}の件数": count(v)
            for k, v in patterns.items()
            if k != "multi_field"
        },
        "多機関協働事業への支援依頼件数": count(flow["referred"]),
        "相談の終結件数": count(flow["closed"]),
        "支援依頼の受理件数": count(flow["accepted"]),
        "支援プランの作成件数": count(flow["plan_agreed"]),
        "支援プランの決定件数（見直しを含む）": count(sum(want["plans"].values())),
        "受付から支援プラン決定までの日数（中央値）": round(median, 1) if n > 4 else None,
        "受付から支援プラン決定までの日数（90パーセンタイル）": round(p90, 1) if n > 4 else None,
        # Meetings identify nobody: shown whatever their number.
        "重層的支援会議の開催回数": meetings[MeetingType.SUPPORT_PLAN_MEETING],
        "支援会議の開催回数": meetings[MeetingType.CONFIDENTIAL_SUPPORT_MEETING],
        "終結件数": count(r["concluded"]),
        "うち解決・改善の件数": r["resolved"] if resolved_shown else None,
        "解決率": r["resolution_rate"] if resolved_shown and not small(r["concluded"]) else None,
        "つなぎもどし件数": r["returned"] if returned_shown else None,
        "つなぎもどし率": r["return_rate"] if returned_shown and not small(r["ended"]) else None,
        "年度末時点で継続中のケース": count(want["open"][("coordination", s.orgs["coordination"])]),
        "把握した人数": count(sum(want["found"].values())),
        "働きかけの回数": count(sum(want["attempts"].values())),
        "うち本人と会えた回数": count(reached),
        "支援につないだ人数": count(sum(want["connected"].values())),
        "参加支援の受付件数": count(p["accepted"]),
        "参加支援の受付件数（人口10万人あたり）": None if small(p["accepted"]) else p["accepted_per_100k"],
        "参加開始件数": count(p["placements"]),
        "参加開始件数（人口10万人あたり）": None if small(p["placements"]) else p["placements_per_100k"],
        "定着支援の件数": count(sum(want["followups"].values())),
        "居場所の数（年度末時点）": sum(want["places"].values()),
        "活動の回数": count(a["n"]),
        "参加者数（延べ・子ども）": count(a["children"]),
        "参加者数（延べ・若者）": count(a["youth"]),
        "参加者数（延べ・現役世代）": count(a["working_age"]),
        "参加者数（延べ・高齢者）": count(a["older"]),
        "ボランティア数（延べ）": count(a["volunteers"]),
        "住民主体の新たな活動の数": count(a["new_resident_led"]),
        "住民主体の新たな活動の数（人口10万人あたり）": None
        if small(a["new_resident_led"])
        else a["new_resident_led_per_100k"],
        "多分野のプラットフォームの開催回数": want["platform_meetings"],
        "会議で把握された不足する地域資源": sum(want["missing_resources"].values()),
    }
    for horizon, label in (("3m", "3か月"), ("6m", "6か月")):
        eligible, kept, rate = want["retention"][horizon]
        shown = not small(kept) and not small(eligible - kept)
        lines[f"{label}後も参加を続けている件数"] = kept if shown else None
        lines[f"{label}後も参加を続けている割合"] = rate if shown and not small(eligible) else None
    return lines


def get(served: Served, tokens, user: str = "city-nakamura", **params: object) -> httpx.Response:
    """The report of the scenario's district as CSV unless `params` say otherwise (None: left out)."""
    query = {"fiscal_year": YEAR, "format": "csv", "district": served.scenario.district} | params
    return httpx.get(
        f"{served.url}/api/report",
        params={k: v for k, v in query.items() if v is not None},
        headers={"Authorization": f"Bearer {tokens[user]}"},
        timeout=30,
    )


def test_csv_has_one_row_per_figure_with_unit_definition_and_version(served, tokens):
    response = get(served, tokens)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert f"FY{YEAR}" in response.headers["content-disposition"]
    rows = parse_csv(response.content)
    assert list(rows[0]) == list(report.COLUMNS)
    assert [r["指標"] for r in rows] == [line.name for line in report.LINES]
    sections = [r["区分"] for r in rows]
    assert sections[0] == "包括的相談支援事業" and sections[-1] == "地域づくり事業"
    assert {r["区分"] for r in rows} == {
        "包括的相談支援事業",
        "多機関協働事業",
        "アウトリーチ等を通じた継続的支援事業",
        "参加支援事業",
        "地域づくり事業",
    }
    for row, line in zip(rows, report.LINES, strict=True):
        assert row["年度"] == f"{YEAR}年度" and row["指標定義の版"] == kpi.KPI_VERSION
        assert row["単位"] == line.unit and kpi.FIGURE[line.source.figure].definition in str(row["定義"])
        if row["値"] is None:
            assert row["備考"], row
    assert_no_small_counts_about_people(rows)

    got = {r["指標"]: r["値"] for r in rows}
    want = expected(served.scenario)
    assert got == want
    # The scenario is big enough that most lines carry a number, and small enough that some are hidden.
    assert sum(v is not None for v in want.values()) > len(want) // 2
    hidden = [r for r in rows if r["備考"] == report.HIDDEN_NOTE]
    assert hidden, "some line of the scenario is suppressed"
    rates = {r["指標"]: r["値"] for r in rows if r["単位"] == "%" or "10万人" in str(r["指標"])}
    assert rates["参加開始件数（人口10万人あたり）"] == round(
        scenario.expected(served.scenario)["participation"]["placements"] * 100_000 / scenario.POPULATION, 1
    )


def assert_no_small_counts_about_people(rows: list[dict[str, object]]) -> None:
    for row, line in zip(rows, report.LINES, strict=True):
        if kpi.FIGURE[line.source.figure].about_people and isinstance(row["値"], int):
            assert not small(row["値"]), row


def test_xlsx_holds_the_same_rows_as_the_csv(served, tokens):
    response = get(served, tokens, format="xlsx")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == report.MEDIA["xlsx"]
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book[f"{YEAR}年度"]
    header, *records = list(sheet.iter_rows(values_only=True))
    assert header == report.COLUMNS
    from_csv = parse_csv(get(served, tokens).content)
    assert [
        {column: "" if value is None else value for column, value in zip(report.COLUMNS, record, strict=True)}
        for record in records
    ] == [{**row, "値": "" if row["値"] is None else row["値"]} for row in from_csv]
    # Numbers are numbers in Excel, not text.
    values = [record[3] for record in records if record[3] is not None]
    assert values and all(isinstance(v, int | float) for v in values)
    versions = list(book["指標定義の版"].iter_rows(values_only=True))
    assert (kpi.KPI_VERSION, kpi.CHANGES[kpi.KPI_VERSION]) in versions


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"fiscal_year": None}, "invalid_fiscal_year"),
        ({"fiscal_year": "２０２５"}, "invalid_fiscal_year"),
        ({"fiscal_year": "1999"}, "invalid_fiscal_year"),
        ({"fiscal_year": "2999"}, "invalid_fiscal_year"),
        ({"fiscal_year": "2025-04"}, "invalid_fiscal_year"),
        ({"format": "pdf"}, "invalid_format"),
        ({"format": None}, "invalid_format"),
        ({"district": "Chuo 1"}, "invalid_district"),
    ],
)
def test_bad_parameters_are_refused_with_a_japanese_reason(served, tokens, params, code):
    response = get(served, tokens, **params)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == code
    assert any("\u3040" <= ch <= "\u30ff" for ch in body["detail"]), "a Japanese reason"


@pytest.mark.parametrize(
    ("user", "status"),
    [("city-nakamura", 200), ("kansa-kobayashi", 200), ("soudan-sato", 403), ("tagikan-tanaka", 403)],
)
def test_only_administrators_and_auditors_export(served, tokens, user, status):
    assert get(served, tokens, user=user).status_code == status


def test_without_a_token_nothing_is_exported(served):
    response = httpx.get(
        f"{served.url}/api/report", params={"fiscal_year": YEAR, "format": "csv"}, timeout=30
    )
    assert response.status_code == 401


def test_the_whole_town_report_is_suppressed_too(served, tokens):
    response = get(served, tokens, district=None, format="xlsx")
    assert response.status_code == 200 and "FY2025.xlsx" in response.headers["content-disposition"]
    rows = parse_csv(get(served, tokens, district=None).content)
    assert [r["指標"] for r in rows] == [line.name for line in report.LINES]
    assert_no_small_counts_about_people(rows)
