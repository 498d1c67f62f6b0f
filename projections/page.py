"""The dashboard as a Japanese HTML page: filters, and for every figure a chart with its table.

The server writes the whole page, tables included, so every number is text a screen reader (or a
test) can read; assets/dashboard.js then draws the charts from the same rows, embedded as JSON.
The Content-Security-Policy allows only the service's own scripts and styles, so nothing here
carries inline script or `style` attributes: colours come from classes in dashboard.css.
"""

import json
from collections.abc import Iterable
from datetime import date, timedelta
from html import escape
from typing import Any

from libs.directory import Directory
from projections.presentation import (
    GROUPS,
    HIDDEN_COLUMNS,
    Chart,
    Group,
    column_label,
    group_of,
    value_columns,
)

TITLE = "重層的支援体制整備事業 ダッシュボード"
SUPPRESSED = "＊"
HEAT_LEVELS = 5


def fiscal_year_start(day: date) -> date:
    """年度 starts on 1 April."""
    return date(day.year if day.month >= 4 else day.year - 1, 4, 1)


def quick_periods(today: date) -> list[tuple[str, date, date]]:
    """The periods an administrator picks most: this 年度 so far, the last whole 年度, the last 12 months."""
    this_year = fiscal_year_start(today)
    last_year = date(this_year.year - 1, 4, 1)
    return [
        ("今年度", this_year, today),
        ("前年度", last_year, this_year - timedelta(days=1)),
        ("直近12か月", date(today.year - 1, today.month, 1) + timedelta(days=today.day), today),
    ]


def japanese_date(iso: str) -> str:
    day = date.fromisoformat(iso)
    return f"{day.year}年{day.month}月{day.day}日"


def district_name(directory: Directory, code: str | None) -> str:
    if code is None:
        return "市全域"
    district = directory.districts.get(code)
    return district.name if district else code


def _cell(value: object) -> str:
    if value is None:
        return f'<td class="num suppressed" title="1〜4件のため非表示">{SUPPRESSED}</td>'
    if isinstance(value, bool):
        return f"<td>{'はい' if value else 'いいえ'}</td>"
    if isinstance(value, float):
        return f'<td class="num">{value:,.1f}</td>'
    if isinstance(value, int):
        return f'<td class="num">{value:,}</td>'
    return f"<td>{escape(str(value))}</td>"


def _label(row: dict[str, Any], column: str) -> str:
    value = row.get(f"{column}_label", row.get(column))
    return "" if value is None else str(value)


def _ordered(values: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Distinct (code, label) pairs in first-seen order."""
    return list(dict.fromkeys(values))


def _flat_table(title: str, rows: list[dict[str, Any]], dimensions: set[str]) -> str:
    values = value_columns(rows, dimensions)
    dims = [c for c in rows[0] if c not in values and c not in HIDDEN_COLUMNS and not c.endswith("_label")]
    head = "".join(f'<th scope="col">{escape(column_label(c))}</th>' for c in dims + values)
    body = []
    for row in rows:
        cells = "".join(f'<th scope="row">{escape(_label(row, c))}</th>' for c in dims[:1])
        cells += "".join(f"<td>{escape(_label(row, c))}</td>" for c in dims[1:])
        cells += "".join(_cell(row.get(c)) for c in values)
        body.append(f"<tr>{cells}</tr>")
    return (
        f"<table><caption>{escape(title)}（表）</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _pivot_table(title: str, rows: list[dict[str, Any]], chart: Chart) -> str:
    """x down, series across: the same layout as the stacked chart above it. A combination with
    no row is a true zero (nothing counted); a suppressed one shows ＊."""
    assert chart.x and chart.series
    value = chart.values[0]
    xs = _ordered((str(r[chart.x]), _label(r, chart.x)) for r in rows)
    series = _ordered((str(r[chart.series]), _label(r, chart.series)) for r in rows)
    cells = {(str(r[chart.x]), str(r[chart.series])): r.get(value) for r in rows}
    head = f'<th scope="col">{escape(column_label(chart.x))}</th>' + "".join(
        f'<th scope="col">{escape(label)}</th>' for _, label in series
    )
    body = []
    for code, label in xs:
        line = f'<th scope="row">{escape(label)}</th>'
        line += "".join(_cell(cells.get((code, s), 0)) for s, _ in series)
        body.append(f"<tr>{line}</tr>")
    return (
        f"<table><caption>{escape(title)}（表、{escape(column_label(value))}）</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _heat(value: object, top: int) -> str:
    if value is None:
        return "suppressed"
    if not isinstance(value, int | float) or value <= 0 or top <= 0:
        return "heat-0"
    return f"heat-{max(1, round(HEAT_LEVELS * value / top))}"


def _matrix(title: str, rows: list[dict[str, Any]], chart: Chart) -> str:
    """Both dimensions share one code list (issue tags), so the matrix is symmetric: each pair is
    written in both of its cells, the diagonal stays empty."""
    assert chart.x and chart.series
    value = chart.values[0]
    tags = sorted(
        _ordered(
            [(str(r[chart.x]), _label(r, chart.x)) for r in rows]
            + [(str(r[chart.series]), _label(r, chart.series)) for r in rows]
        )
    )
    cells: dict[tuple[str, str], Any] = {}
    for r in rows:
        a, b = str(r[chart.x]), str(r[chart.series])
        cells[a, b] = cells[b, a] = r.get(value)
    top = max((v for v in cells.values() if isinstance(v, int | float)), default=0)
    head = '<th scope="col">課題</th>' + "".join(f'<th scope="col">{escape(label)}</th>' for _, label in tags)
    body = []
    for a, label in tags:
        line = f'<th scope="row">{escape(label)}</th>'
        for b, _ in tags:
            if a == b:
                line += '<td class="diagonal">—</td>'
                continue
            found = cells.get((a, b), 0)
            text = SUPPRESSED if found is None else f"{found:,}"
            line += f'<td class="num {_heat(found, top)}">{text}</td>'
        body.append(f"<tr>{line}</tr>")
    return (
        f'<div class="matrix"><table class="heatmap"><caption>{escape(title)}（ヒートマップ、件数。'
        f"色が濃いほど多い）</caption><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def _stat(rows: list[dict[str, Any]], chart: Chart) -> str:
    row = rows[0] if rows else {}
    items = []
    for column in chart.values:
        value = row.get(column)
        shown = SUPPRESSED if value is None else f"{value:,}"
        items.append(
            f'<div class="stat"><dt>{escape(column_label(column))}</dt>'
            f'<dd><span class="value">{shown}</span> {escape(chart.unit)}</dd></div>'
        )
    return f'<dl class="stats">{"".join(items)}</dl>'


def figure_section(key: str, figure: dict[str, Any], chart: Chart, dimensions: set[str]) -> str:
    rows: list[dict[str, Any]] = figure["rows"]
    title = figure["title"]
    parts = [
        f'<section class="figure" id="{escape(key)}" aria-labelledby="h-{escape(key)}">',
        f'<h3 id="h-{escape(key)}">{escape(title)}</h3>',
        f'<p class="definition">{escape(figure["definition"])}</p>',
    ]
    if not rows:
        parts.append('<p class="empty">該当なし</p></section>')
        return "".join(parts)
    if chart.kind == "matrix":
        parts.append(_matrix(title, rows, chart))
    elif chart.kind == "stat":
        parts.append(_stat(rows, chart))
    else:
        parts.append(
            f'<div class="chart"><canvas id="chart-{escape(key)}" data-figure="{escape(key)}" role="img" '
            f'aria-label="{escape(title)}のグラフ。数値は下の表のとおりです。"></canvas></div>'
        )
    if any(r.get("suppressed") for r in rows):
        parts.append(f'<p class="note">{SUPPRESSED}: 1〜4件のため非表示（0件ではありません）。</p>')
    # The heat map and the numbers are text already; every drawn chart gets a table.
    if chart.kind not in ("matrix", "stat"):
        if chart.x and chart.series and chart.kind in ("stacked", "hbar", "line") and len(chart.values) == 1:
            parts.append(_pivot_table(title, rows, chart))
        else:
            parts.append(_flat_table(title, rows, dimensions))
    parts.append("</section>")
    return "".join(parts)


def _filters(document: dict[str, Any], directory: Directory, today: date) -> str:
    period = document["period"]
    current = period["district"]
    options = ['<option value="">市全域</option>']
    choices = [(d.code, d.name) for d in sorted(directory.districts.values(), key=lambda d: d.code)]
    if current and current not in directory.districts:
        choices.append((current, current))
    for code, name in choices:
        selected = " selected" if code == current else ""
        options.append(f'<option value="{escape(code)}"{selected}>{escape(name)}</option>')
    picks = "".join(
        f'<button type="button" class="pick" data-from="{start.isoformat()}" data-to="{end.isoformat()}">'
        f"{escape(label)}</button>"
        for label, start, end in quick_periods(today)
    )
    return (
        '<form method="get" action="/" id="filters" aria-label="表示する期間と地区">'
        "<fieldset><legend>期間</legend>"
        f'<label>開始日 <input type="date" name="from" value="{escape(period["from"])}" required></label> '
        f'<label>終了日 <input type="date" name="to" value="{escape(period["to"])}" required></label> '
        f'<span class="picks" role="group" aria-label="よく使う期間">{picks}</span></fieldset>'
        f'<fieldset><legend>地区</legend><label>地区 <select name="district">{"".join(options)}</select></label>'
        "</fieldset>"
        '<button type="submit" class="apply">表示</button></form>'
    )


def _export(document: dict[str, Any], today: date) -> str:
    """The national report (projections/report.py) for a whole 年度, of the district shown."""
    current = fiscal_year_start(today).year
    years = "".join(
        f'<option value="{year}"{" selected" if year == current - 1 else ""}>{year}年度</option>'
        for year in range(current, current - 5, -1)
    )
    district = document["period"]["district"]
    hidden = f'<input type="hidden" name="district" value="{escape(district)}">' if district else ""
    return (
        '<section class="group export" aria-labelledby="h-export"><h2 id="h-export">国への報告（年度集計の書き出し）</h2>'
        '<div class="figure"><form id="report" method="get" action="/api/report">'
        f'<label>年度 <select name="fiscal_year">{years}</select></label> {hidden}'
        '<button type="submit" name="format" value="csv">CSV で保存</button> '
        '<button type="submit" name="format" value="xlsx">Excel で保存</button></form>'
        '<p class="note">指標ごとに1行、定義と指標定義の版つき。1〜4件は非表示。'
        f"地区は上の絞り込みと同じ（{escape(document['period']['district_label'])}）です。</p></div></section>"
    )


def render(
    document: dict[str, Any],
    charts: dict[str, Chart],
    dimensions: dict[str, set[str]],
    directory: Directory,
    today: date,
) -> str:
    """The whole page; `charts` and `dimensions` per figure key, from projections.presentation."""
    period = document["period"]
    place = district_name(directory, period["district"])
    parts = [
        '<!doctype html><html lang="ja"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{TITLE}</title>",
        '<link rel="stylesheet" href="/assets/dashboard.css"></head><body>',
        f'<header><h1>{TITLE}</h1><p class="municipality">{escape(directory.municipality)}</p></header>',
        '<main id="dashboard">',
        _filters(document, directory, today),
        f'<p class="shown" id="shown">表示中: {japanese_date(period["from"])}〜{japanese_date(period["to"])}'
        f"　地区: {escape(place)}　指標定義の版: {escape(document['kpi_version'])}</p>",
        f'<p class="note">{escape(document["suppression"]["note"])} 表とグラフでは「{SUPPRESSED}」と表示します。</p>',
        '<p id="status" role="status"></p>',
    ]
    grouped: dict[Group, list[str]] = {group: [] for group in GROUPS}
    for key in document["figures"]:
        grouped.setdefault(group_of(key), []).append(key)
    for n, (group, keys) in enumerate((g, k) for g, k in grouped.items() if k):
        parts.append(
            f'<section class="group" aria-labelledby="g-{n}"><h2 id="g-{n}">{escape(group.title)}</h2>'
        )
        parts += [figure_section(k, document["figures"][k], charts[k], dimensions[k]) for k in keys]
        parts.append("</section>")
    data = {
        key: {
            "title": figure["title"],
            "rows": figure["rows"],
            "chart": charts[key].to_json(),
            "labels": {c: column_label(c) for c in charts[key].values},
        }
        for key, figure in document["figures"].items()
    }
    # JSON in a data block is never executed (CSP allows no inline script); "<" is escaped so the
    # text cannot close the element.
    payload = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")
    parts += [
        _export(document, today),
        "</main>",
        f'<script type="application/json" id="dashboard-data">{payload}</script>',
        '<script src="/assets/vendor/chart.umd.min.js"></script>',
        '<script src="/assets/dashboard.js"></script></body></html>',
    ]
    return "".join(parts)


LOGIN_PAGE = (
    '<!doctype html><html lang="ja"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    f"<title>{TITLE}</title>"
    '<link rel="stylesheet" href="/assets/dashboard.css"></head><body>'
    f"<header><h1>{TITLE}</h1></header><main>"
    "<p>閲覧できるのは市町村担当課と監査担当の職員です。アクセストークンを入力してください。</p>"
    '<form id="login"><label>トークン <input type="password" name="token" autocomplete="off" required></label> '
    "<button>表示</button></form>"
    '<p class="note">ローカル環境: <code>python -m deploy.local.issuer token city-nakamura</code></p>'
    '<p id="status" role="status"></p></main>'
    '<script src="/assets/vendor/chart.umd.min.js"></script>'
    '<script src="/assets/dashboard.js"></script></body></html>'
)
"""Without a token: a sign-in form, no figures. dashboard.js fetches the page with the token."""
