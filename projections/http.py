"""The dashboard's HTTP API and its Japanese page.

Aggregates only, for the municipality's administrators and auditors (docs/security.md): every
other role gets 403, a request without a valid token 401. Small counts are suppressed before the
figures leave the service (projections/disclosure.py), in the JSON and on the page alike.
"""

from datetime import date
from html import escape
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import FileResponse, HTMLResponse
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.events import DISTRICT_PATTERN
from contracts.glossary import LegalBasis, Role, label_ja
from libs.authz import Decision, enforce
from libs.domain import InvalidCommand
from libs.http import Caller
from projections import disclosure, kpi

READERS = (Role.MUNICIPAL_ADMINISTRATOR, Role.AUDITOR)
ASSETS = Path(__file__).parent / "assets"
SECURITY_HEADERS = {
    # The page runs only its own script; nothing is framed or sniffed.
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def default_period(today: date) -> tuple[date, date]:
    """From the start of the previous fiscal year (4月1日) to today: a finished 年度 and the current one."""
    fiscal_start = today.year if today.month >= 4 else today.year - 1
    return date(fiscal_start - 1, 4, 1), today


def authorise(caller: Caller) -> None:
    """Aggregates are for the municipality's administrators and auditors; other roles are refused."""
    allowed = caller.principal.has_any(*READERS)
    decision = (
        Decision.allow(LegalBasis.HOLDER, "aggregate reader")
        if allowed
        else Decision.deny("not an administrator or auditor")
    )
    enforce(decision, caller.principal, "read_dashboard", "dashboard", hide=False)


def _label(kind: Any, code: object) -> str | None:
    if kind is None or code is None:
        return None
    if isinstance(kind, dict):
        return kind.get(str(code))
    try:
        return label_ja(kind(code))
    except ValueError:
        return str(code)


async def dashboard(engine: AsyncEngine, start: date, end: date, district: str | None) -> dict[str, Any]:
    """The dashboard document: every figure, its definition, rows with Japanese labels, suppressed."""
    if end < start:
        raise InvalidCommand("invalid_period", "期間の終わり（to）は始まり（from）以降の日付にしてください。")
    period = kpi.Period(start, end, district)
    async with engine.connect() as conn:
        raw = await kpi.compute(conn, period)
    shown = disclosure.disclose(raw)
    figures = {}
    for figure in kpi.FIGURES:
        rows = []
        for row in shown[figure.key]:
            labelled = dict(row)
            for dim, kind in figure.dimensions.items():
                label = _label(kind, row.get(dim))
                if label is not None:
                    labelled[f"{dim}_label"] = label
            rows.append(labelled)
        figures[figure.key] = {
            "title": figure.title_ja,
            "definition": figure.definition,
            "about_people": figure.about_people,
            "rows": rows,
        }
    return {
        "kpi_version": kpi.KPI_VERSION,
        "period": {"from": start.isoformat(), "to": end.isoformat(), "district": district},
        "suppression": {
            "min": disclosure.MIN,
            "max": disclosure.MAX,
            "note": f"{disclosure.MIN}〜{disclosure.MAX}件の値は個人の特定を防ぐため非表示（null）です。",
        },
        "figures": figures,
    }


def _cell(value: object) -> str:
    if value is None:
        return '<td class="hidden">＊</td>'
    if isinstance(value, bool):
        return f"<td>{'はい' if value else 'いいえ'}</td>"
    return f'<td class="num">{escape(str(value))}</td>'


def render(document: dict[str, Any]) -> str:
    """The dashboard as a Japanese HTML page: one table per figure (charts come later)."""
    period = document["period"]
    parts = [
        '<!doctype html><html lang="ja"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>重層的支援体制整備事業 ダッシュボード</title>",
        '<link rel="stylesheet" href="/assets/dashboard.css"></head><body>',
        "<h1>重層的支援体制整備事業 ダッシュボード</h1>",
        f"<p>期間: {escape(period['from'])} 〜 {escape(period['to'])}"
        f"　地区: {escape(period['district'] or '全域')}"
        f"　指標定義の版: {escape(document['kpi_version'])}</p>",
        f'<p class="note">{escape(document["suppression"]["note"])} 表では「＊」と表示します。</p>',
        '<form method="get" action="/" id="period"><label>開始 <input type="date" name="from" '
        f'value="{escape(period["from"])}"></label> <label>終了 <input type="date" name="to" '
        f'value="{escape(period["to"])}"></label> <label>地区コード <input name="district" '
        f'value="{escape(period["district"] or "")}"></label> <button>表示</button></form>',
    ]
    for key, figure in document["figures"].items():
        rows: list[dict[str, Any]] = figure["rows"]
        parts.append(f'<section id="{escape(key)}"><h2>{escape(figure["title"])}</h2>')
        parts.append(f'<p class="definition">{escape(figure["definition"])}</p>')
        if not rows:
            parts.append("<p>該当なし</p></section>")
            continue
        columns = [
            c for c in rows[0] if c not in ("suppressed", "suppressed_fields") and not c.endswith("_label")
        ]
        parts.append("<table><thead><tr>")
        parts += [f"<th>{escape(COLUMN_LABELS.get(c, c))}</th>" for c in columns]
        parts.append("</tr></thead><tbody>")
        for row in rows:
            parts.append("<tr>")
            for column in columns:
                label = row.get(f"{column}_label")
                parts.append(f"<td>{escape(label)}</td>" if label is not None else _cell(row.get(column)))
            parts.append("</tr>")
        parts.append("</tbody></table></section>")
    parts.append('<script src="/assets/dashboard.js"></script></body></html>')
    return "".join(parts)


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
}

LOGIN_PAGE = (
    '<!doctype html><html lang="ja"><head><meta charset="utf-8">'
    "<title>重層的支援体制整備事業 ダッシュボード</title>"
    '<link rel="stylesheet" href="/assets/dashboard.css"></head><body>'
    "<h1>重層的支援体制整備事業 ダッシュボード</h1>"
    "<p>閲覧できるのは市町村担当課と監査担当の職員です。アクセストークンを入力してください。</p>"
    '<form id="login"><label>トークン <input type="password" name="token" autocomplete="off" required></label> '
    "<button>表示</button></form>"
    '<p class="note">ローカル環境: <code>python -m deploy.local.issuer token city-nakamura</code></p>'
    '<script src="/assets/dashboard.js"></script></body></html>'
)


def routes(app: FastAPI) -> None:
    engine: AsyncEngine = app.state.runtime.engine
    CallerDep = Annotated[Caller, Depends(app.state.caller)]
    From = Annotated[date | None, Query(alias="from", description="期間の始まり（既定: 前年度の4月1日）")]
    To = Annotated[date | None, Query(alias="to", description="期間の終わり（既定: 今日）")]
    District = Annotated[str | None, Query(pattern=DISTRICT_PATTERN, description="地区コード（省略: 全域）")]

    @app.get("/api/dashboard", tags=["dashboard"], summary="市全体の集計（1〜4件は非表示）")
    async def get_dashboard(
        caller: CallerDep, start: From = None, end: To = None, district: District = None
    ) -> dict[str, Any]:
        authorise(caller)
        default_start, default_end = default_period(date.today())
        return await dashboard(engine, start or default_start, end or default_end, district)

    @app.get("/", tags=["dashboard"], summary="ダッシュボード画面（日本語）", response_class=HTMLResponse)
    async def page(
        request: Request, start: From = None, end: To = None, district: District = None
    ) -> HTMLResponse:
        # Without a token the page is a sign-in form that holds no figures; its script fetches this
        # same address with the token and shows the answer. With a token it is the dashboard.
        if "authorization" not in request.headers:
            return HTMLResponse(LOGIN_PAGE, headers=SECURITY_HEADERS)
        caller: Caller = app.state.caller(request)
        authorise(caller)
        default_start, default_end = default_period(date.today())
        document = await dashboard(engine, start or default_start, end or default_end, district)
        return HTMLResponse(render(document), headers=SECURITY_HEADERS)

    for name, media in (("dashboard.js", "text/javascript"), ("dashboard.css", "text/css")):
        _serve(app, name, media)


def _serve(app: FastAPI, name: str, media: str) -> None:
    path = ASSETS / name

    @app.get(f"/assets/{name}", include_in_schema=False)
    async def serve() -> FileResponse:
        return FileResponse(path, media_type=media, headers=SECURITY_HEADERS)
