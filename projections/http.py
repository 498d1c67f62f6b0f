"""The dashboard's HTTP API and its Japanese page.

Aggregates only, for the municipality's administrators and auditors (docs/security.md): every
other role gets 403, a request without a valid token 401. Small counts are suppressed before the
figures leave the service (projections/disclosure.py), in the JSON and on the page alike.
"""

from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import FileResponse, HTMLResponse
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.events import DISTRICT_PATTERN
from contracts.glossary import LegalBasis, Role, label_ja
from libs.authz import Decision, enforce
from libs.directory import Directory
from libs.domain import InvalidCommand
from libs.http import Caller
from projections import disclosure, kpi, page, presentation

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
    return date(page.fiscal_year_start(today).year - 1, 4, 1), today


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


def directory_labels(directory: Directory) -> dict[str, dict[str, str]]:
    """Names for the dimensions that are the municipality's own codes, not code lists."""
    return {
        "district": {d.code: d.name for d in directory.districts.values()},
        "school_district": dict(directory.school_districts),
        "organisation": {o.id: o.name for o in directory.organisations.values()},
    }


async def dashboard(
    engine: AsyncEngine, directory: Directory, start: date, end: date, district: str | None
) -> dict[str, Any]:
    """The dashboard document: every figure, its definition, rows with Japanese labels, suppressed."""
    if end < start:
        raise InvalidCommand("invalid_period", "期間の終わり（to）は始まり（from）以降の日付にしてください。")
    period = kpi.Period(start, end, district)
    async with engine.connect() as conn:
        raw = await kpi.compute(conn, period, directory)
    shown = disclosure.disclose(raw)
    names = directory_labels(directory)
    figures = {}
    for figure in kpi.FIGURES:
        rows = []
        for row in shown[figure.key]:
            labelled = dict(row)
            for dim, kind in figure.dimensions.items():
                label = _label(kind if kind is not None else names.get(dim), row.get(dim))
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
        "period": {
            "from": start.isoformat(),
            "to": end.isoformat(),
            "district": district,
            "district_label": page.district_name(directory, district),
        },
        "suppression": {
            "min": disclosure.MIN,
            "max": disclosure.MAX,
            "note": f"{disclosure.MIN}〜{disclosure.MAX}件の値は個人の特定を防ぐため非表示（null）です。",
        },
        "figures": figures,
    }


def render(document: dict[str, Any], directory: Directory, today: date) -> str:
    """The page for a dashboard document: each figure with its chart (projections.presentation)."""
    dimensions = {f.key: set(f.dimensions) for f in kpi.FIGURES}
    charts = {
        key: presentation.chart_for(key, figure["rows"], dimensions.get(key, set()))
        for key, figure in document["figures"].items()
    }
    return page.render(document, charts, dimensions, directory, today)


ASSET_FILES = {
    "dashboard.js": "text/javascript",
    "dashboard.css": "text/css",
    "vendor/chart.umd.min.js": "text/javascript",
}
"""Everything the page loads, all from this service (the CSP allows no other origin)."""


def routes(app: FastAPI) -> None:
    runtime = app.state.runtime
    engine: AsyncEngine = runtime.engine
    CallerDep = Annotated[Caller, Depends(app.state.caller)]
    From = Annotated[date | None, Query(alias="from", description="期間の始まり（既定: 前年度の4月1日）")]
    To = Annotated[date | None, Query(alias="to", description="期間の終わり（既定: 今日）")]
    District = Annotated[str | None, Query(pattern=DISTRICT_PATTERN, description="地区コード（省略: 全域）")]

    async def document(start: date | None, end: date | None, district: str | None) -> dict[str, Any]:
        default_start, default_end = default_period(date.today())
        return await dashboard(
            engine, runtime.directory, start or default_start, end or default_end, district or None
        )

    @app.get("/api/dashboard", tags=["dashboard"], summary="市全体の集計（1〜4件は非表示）")
    async def get_dashboard(
        caller: CallerDep, start: From = None, end: To = None, district: District = None
    ) -> dict[str, Any]:
        authorise(caller)
        return await document(start, end, district)

    @app.get("/", tags=["dashboard"], summary="ダッシュボード画面（日本語）", response_class=HTMLResponse)
    async def dashboard_page(
        request: Request, start: From = None, end: To = None, district: District = None
    ) -> HTMLResponse:
        # Without a token the page is a sign-in form that holds no figures; its script fetches this
        # same address with the token and shows the answer. With a token it is the dashboard.
        if "authorization" not in request.headers:
            return HTMLResponse(page.LOGIN_PAGE, headers=SECURITY_HEADERS)
        caller: Caller = app.state.caller.resolve(request)
        authorise(caller)
        shown = await document(start, end, district)
        return HTMLResponse(render(shown, runtime.directory, date.today()), headers=SECURITY_HEADERS)

    serve_assets(app, ASSET_FILES)


def serve_assets(app: FastAPI, files: dict[str, str]) -> None:
    """`/assets/<name>` for each file (name → media type), with the page's security headers."""
    for name, media in files.items():
        _serve(app, name, media)


def _serve(app: FastAPI, name: str, media: str) -> None:
    path = ASSETS / name

    @app.get(f"/assets/{name}", include_in_schema=False)
    async def serve() -> FileResponse:
        return FileResponse(path, media_type=media, headers=SECURITY_HEADERS)
