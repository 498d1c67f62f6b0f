"""The dashboard as an administrator sees it: headless Chromium signs in, reads the figures of a
projected scenario, checks the charts are drawn and small counts show as ＊, filters by district
and period, and takes a screenshot. Chromium is Debian's (`.ci/run` installs it); playwright only
drives it, it never downloads a browser."""

import asyncio
import json
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from PIL import Image
from playwright.async_api import Page, async_playwright

from libs.directory import DEFAULT_DIRECTORY
from projections import kpi
from projections.page import fiscal_year_start
from tests.polling import eventually
from tests.projections import scenario
from tests.projections.conftest import publish
from tests.projections.dashboard_process import serving

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed (.ci/run installs it: apt-get install chromium)",
)

DISTRICT_NAME = "試験地区"
SCHOOL_DISTRICTS = {"sd-0": "第一試験小学校区", "sd-1": "第二試験小学校区"}
WHOLE = {"from": scenario.START.isoformat(), "to": scenario.END.isoformat()}


@pytest.fixture(scope="module")
def town() -> scenario.Scenario:
    return scenario.build(cases=60, seed=5)


@pytest.fixture(scope="module")
def dashboard(infra, infra_home, issuer, town, tmp_path_factory) -> Iterator[str]:
    """The service with the demo directory plus the scenario's district, so the district select
    offers it by its Japanese name."""
    directory = json.loads(DEFAULT_DIRECTORY.read_text(encoding="utf-8"))
    directory["school_districts"] += [{"code": c, "name": n} for c, n in SCHOOL_DISTRICTS.items()]
    directory["districts"].append(
        {"code": town.district, "name": DISTRICT_NAME, "population": 12000, "school_district": "sd-0"}
    )
    path = tmp_path_factory.mktemp("directory") / "directory.json"
    path.write_text(json.dumps(directory, ensure_ascii=False), encoding="utf-8")
    with serving(infra, infra_home, issuer, directory=path) as url:
        yield url


def shown(value: int) -> str:
    """A count as the page writes it: 1 to 4 suppressed."""
    return "＊" if 1 <= value <= 4 else f"{value:,}"


TABLE = """(id) => {
  const table = document.querySelector("#" + id + " table");
  const text = (cell) => cell.textContent.trim();
  return {
    head: [...table.querySelectorAll("thead th")].map(text),
    rows: [...table.querySelectorAll("tbody tr")].map((tr) => ({
      header: tr.querySelector("th[scope=row]") ? text(tr.querySelector("th[scope=row]")) : "",
      cells: [...tr.querySelectorAll("td")].map(text),
    })),
  };
}"""


async def table(page: Page, figure: str) -> dict[str, dict[str, str]]:
    """A figure's table as {row header: {column header: cell}}; a row without a header is ""."""
    found = await page.evaluate(TABLE, figure)
    head = found["head"]
    out = {}
    for row in found["rows"]:
        columns = head[1:] if row["header"] else head
        out[row["header"]] = dict(zip(columns, row["cells"], strict=True))
    return out


async def wait_for_page(page: Page, shows: str) -> None:
    """Until the page for the new filter is in place and its charts are drawn."""
    await page.wait_for_function(
        """(shows) => {
          const shown = document.getElementById("shown");
          return shown && shown.textContent.includes(shows) && document.body.dataset.charts === "drawn";
        }""",
        arg=shows,
    )


def japanese(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


async def test_the_dashboard_in_chromium(infra, dashboard, tokens, town, tmp_path):
    await publish(infra, town.envelopes)
    want = scenario.expected(town)
    received = want["flow"]["received"]
    headers = {"Authorization": f"Bearer {tokens['city-nakamura']}"}

    async def projected() -> bool:
        async with httpx.AsyncClient() as client:
            body = (
                await client.get(
                    f"{dashboard}/api/dashboard", params={**WHOLE, "district": town.district}, headers=headers
                )
            ).json()
        return {r["step"]: r["n"] for r in body["figures"]["flow"]["rows"]}["received"] == received

    await eventually(projected, 180, "the scenario projected")

    problems: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM)
        page = await browser.new_page(viewport={"width": 1280, "height": 900}, locale="ja-JP")
        # A deadline for each wait, not a speed requirement: the machine is shared and slow.
        page.set_default_timeout(120_000)
        page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: problems.append(f"failed: {r.url} {r.failure}"))
        page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))
        try:
            # Signing in: the form holds no figures; the token fetches the page.
            await page.goto(f"{dashboard}/?from={WHOLE['from']}&to={WHOLE['to']}")
            assert await page.locator("table").count() == 0
            await page.fill("input[name=token]", tokens["city-nakamura"])
            await page.click("#login button")
            await wait_for_page(page, "市全域")
            assert await page.get_attribute("html", "lang") == "ja"
            options = await page.locator("select[name=district] option").all_text_contents()
            assert {"市全域", "中央一丁目", DISTRICT_NAME} <= set(options)

            # The district filter: the scenario's district alone gives exactly its figures.
            await page.select_option("select[name=district]", label=DISTRICT_NAME)
            await page.click("button.apply")
            await wait_for_page(page, DISTRICT_NAME)

            flow = await table(page, "flow")
            assert flow["相談受付"]["件数"] == shown(received)
            assert flow["多機関協働での受理"]["件数"] == shown(want["flow"]["accepted"])
            patterns = await table(page, "household_patterns")
            assert patterns["ヤングケアラー"]["件数"] == shown(want["patterns"]["young_carer"])
            assert patterns["複数分野にまたがる課題（2分類以上）"]["件数"] == shown(
                want["patterns"]["multi_field"]
            )
            n, median, p90 = want["days_to_plan"]
            days = (await table(page, "days_to_plan"))[""]
            assert (days["件数"], days["中央値（日）"], days["90パーセンタイル（日）"]) == (
                shown(n),
                f"{median:,.1f}",
                f"{p90:,.1f}",
            )
            activities = (await table(page, "activities"))[""]
            assert activities["子ども"] == shown(want["activities"]["children"])
            assert activities["高齢者"] == shown(want["activities"]["older"])
            # One new resident-led activity: suppressed, shown as ＊ and never as 0.
            assert want["activities"]["new_resident_led"] == 1
            assert activities["住民主体の新たな活動"] == "＊"

            # Every figure of kpi.FIGURES is on the page with a chart (or a heat map / number).
            drawn = await page.evaluate(
                """() => [...document.querySelectorAll("section.figure")].map((s) => {
                  const canvas = s.querySelector("canvas");
                  let inked = 0;
                  if (canvas) {
                    const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
                    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) inked++;
                  }
                  return {
                    key: s.id,
                    canvas: Boolean(canvas),
                    chart: Boolean(canvas && Chart.getChart(canvas)),
                    inked,
                    other: Boolean(s.querySelector("table.heatmap, dl.stats, p.empty")),
                  };
                })"""
            )
            assert {d["key"] for d in drawn} == {f.key for f in kpi.FIGURES}
            for d in drawn:
                assert d["other"] or (d["chart"] and d["inked"] > 500), d

            # Suppressed in the chart as in the table: null (drawn as ＊), as many as the table's ＊.
            by_channel = await page.evaluate(
                """() => {
                  const canvas = document.querySelector("#consultations_by_channel canvas");
                  const data = Chart.getChart(canvas).data.datasets.flatMap((d) => d.data);
                  const stars = [...document.querySelectorAll("#consultations_by_channel td.suppressed")];
                  return {
                    nulls: data.filter((v) => v === null).length,
                    marked: Number(canvas.dataset.suppressed),
                    stars: stars.filter((td) => td.textContent === "＊").length,
                  };
                }"""
            )
            small = sum(1 for v in want["by_channel"].values() if 1 <= v <= 4)
            assert small > 0
            assert by_channel == {"nulls": small, "marked": small, "stars": small}

            shot = tmp_path / "dashboard.png"
            await page.screenshot(path=str(shot), full_page=True)
            chart_shot = tmp_path / "flow.png"
            await page.locator("#flow canvas").screenshot(path=str(chart_shot))

            # The national report of last 年度 for the district shown, saved as a file.
            year = fiscal_year_start(date.today()).year - 1
            await page.select_option("select[name=fiscal_year]", str(year))
            async with page.expect_download() as saving:
                await page.click("#report button[value=csv]")
            download = await saving.value
            assert download.suggested_filename == f"kasane-report-FY{year}-{town.district}.csv"
            report = await asyncio.to_thread(Path(await download.path()).read_text, encoding="utf-8-sig")
            assert f"{year}年度" in report and kpi.KPI_VERSION in report

            # The period filter: April 2025 only.
            april = [
                e for e in town.events() if type(e).__name__ == "CaseReceived" and e.received_on.month == 4
            ]
            await page.fill("input[name=from]", "2025-04-01")
            await page.fill("input[name=to]", "2025-04-30")
            await page.click("button.apply")
            await wait_for_page(page, japanese(date(2025, 4, 30)))
            assert (await table(page, "flow"))["相談受付"]["件数"] == shown(len(april))
            assert len(april) != received

            # A quick pick sets both dates and shows its period.
            pick = page.locator("button.pick", has_text="前年度")
            start, end = await pick.get_attribute("data-from"), await pick.get_attribute("data-to")
            await pick.click()
            await wait_for_page(page, japanese(date.fromisoformat(end)))
            assert japanese(date.fromisoformat(start)) in await page.locator("#shown").text_content()
            assert page.url.endswith(f"from={start}&to={end}&district={town.district}")
        finally:
            await browser.close()

    assert problems == []
    with Image.open(shot) as image:
        assert image.width >= 1200 and image.height >= 2000
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
        assert colours is not None and len(colours) > 100
    with Image.open(chart_shot) as image:
        extrema = image.convert("L").getextrema()
        assert extrema[1] - extrema[0] > 100, "the flow chart is blank"
