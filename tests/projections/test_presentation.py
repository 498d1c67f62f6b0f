"""The page for any figure: a figure without a chart spec still gets one, suppressed cells read ＊
and never 0, and the page carries nothing inline that the CSP would block. No infrastructure."""

from datetime import date

from libs.directory import Directory
from projections import page, presentation
from projections.presentation import Chart


def test_a_figure_without_a_spec_gets_a_chart_guessed_from_its_rows():
    monthly = [{"month": "2025-04", "menu": "a", "n": 7, "suppressed": False}]
    assert presentation.chart_for("new_monthly", monthly, {"menu"}) == Chart(
        "stacked", x="month", series="menu"
    )
    trend = [{"month": "2025-04", "rate": 1.5, "suppressed": False}]
    assert presentation.chart_for("new_trend", trend, set()) == Chart("line", x="month", values=("rate",))
    assert presentation.chart_for("new_total", [{"n": 12, "suppressed": False}], set()) == Chart("stat")
    wide = [{"a": 1.0, "b_per_100k": None, "suppressed": True}]
    assert presentation.chart_for("new_wide", wide, set()) == Chart("bar", values=("a", "b_per_100k"))
    assert presentation.column_label("b_per_100k") == "b（人口10万人あたり）"


def document(figures: dict) -> dict:
    return {
        "kpi_version": "test",
        "period": {"from": "2025-04-01", "to": "2026-03-31", "district": None, "district_label": "市全域"},
        "suppression": {"min": 1, "max": 4, "note": "1〜4件は非表示"},
        "figures": {
            key: {"title": key, "definition": "定義", "about_people": True, "rows": rows}
            for key, rows in figures.items()
        },
    }


def render(figures: dict, dimensions: dict) -> str:
    charts = {k: presentation.chart_for(k, rows, dimensions[k]) for k, rows in figures.items()}
    return page.render(document(figures), charts, dimensions, Directory.load(), date(2026, 11, 22))


def test_suppressed_cells_read_as_suppressed_and_missing_ones_as_zero():
    rows = [
        {"month": "2025-04", "channel": "phone", "channel_label": "電話", "n": None, "suppressed": True},
        {"month": "2025-05", "channel": "counter", "channel_label": "窓口", "n": 6, "suppressed": False},
    ]
    html = render({"consultations_by_channel": rows}, {"consultations_by_channel": {"channel"}})
    table = html[html.index("<table>") : html.index("</table>")]
    # 2025-04: phone suppressed, counter not counted; 2025-05: phone not counted, counter 6.
    assert table.count(">＊</td>") == 1 and table.count('"num">0</td>') == 2 and '"num">6</td>' in table
    assert '<canvas id="chart-consultations_by_channel"' in html and "0件ではありません" in html


def test_the_issue_matrix_is_symmetric_and_every_figure_is_on_the_page():
    pairs = [
        {"tag_a": "8050", "tag_b": "hikikomori", "tag_a_label": "8050", "tag_b_label": "ひきこもり", "n": 9},
        {
            "tag_a": "abuse",
            "tag_b": "hikikomori",
            "tag_a_label": "虐待",
            "tag_b_label": "ひきこもり",
            "n": None,
        },
    ]
    new = [{"month": "2025-04", "rate": 2.5, "suppressed": False}]
    html = render(
        {"issue_pairs": pairs, "new_trend": new}, {"issue_pairs": {"tag_a", "tag_b"}, "new_trend": set()}
    )
    matrix = html[html.index('<table class="heatmap">') : html.index("</table>")]
    assert matrix.count(">9</td>") == 2 and matrix.count(">＊</td>") == 2 and matrix.count(">—</td>") == 3
    assert '<section class="figure" id="new_trend"' in html and "その他の指標" in html
    assert "<script>" not in html and ' style="' not in html and '<html lang="ja">' in html
