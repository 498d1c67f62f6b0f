"""A case across programs: every service's events about one case key, merged in time order.

Each of the five services answers `GET /timeline/{case_key}` from its own log under its own
authorisation, asked with the caller's own token (projections/upstream.py); this module only
merges what came back and says, per program, what the caller got: the events with their details,
the events as log metadata (auditors), or "見られません（法的根拠なし）". A service answers 404 both
when it has no record and when the caller has no basis, so the page cannot tell the two apart
either, on purpose.
"""

import json
import uuid
from datetime import datetime
from html import escape
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from contracts.glossary import Program
from libs.http import Caller
from projections import casework_page, upstream

LOCAL_TIME = ZoneInfo("Asia/Tokyo")
TITLE = "ケースの経過（事業横断）"


class ProgramState(BaseModel):
    program: Program
    program_label: str
    state: str
    state_label: str
    access_basis_label: str | None


class MergedEvent(BaseModel):
    recorded_at: datetime
    program: Program
    program_label: str
    event_type: str
    event_label: str
    organisation: str | None
    details: dict[str, Any] | None


class CaseTimeline(BaseModel):
    case_key: uuid.UUID
    programs: list[ProgramState]
    events: list[MergedEvent]


async def merged(request: Request, case_key: uuid.UUID) -> CaseTimeline:
    """Ask every service as the caller and merge what each let them see, oldest first."""
    answers = await upstream.ask_all(request, f"/timeline/{case_key}")
    programs, events = [], []
    for service, answer in answers.items():
        state, basis = answer.state, None
        if answer.state == upstream.SHOWN:
            body = answer.body
            basis = body.get("access_basis_label")
            state = upstream.SHOWN if body.get("details_shown") else upstream.METADATA
            events += [MergedEvent.model_validate(e) for e in body.get("events", [])]
        programs.append(
            ProgramState(
                program=service,
                program_label=answer.program_label,
                state=state,
                state_label=upstream.STATUS_LABELS[state],
                access_basis_label=basis,
            )
        )
    order = {s: i for i, s in enumerate(upstream.SERVICES)}
    events.sort(key=lambda e: (e.recorded_at, order[e.program]))
    return CaseTimeline(case_key=case_key, programs=programs, events=events)


def _local(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TIME).strftime("%Y-%m-%d %H:%M:%S")


def _value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _details(details: dict[str, Any] | None) -> str:
    if details is None:
        return '<span class="note">（内容は表示しません）</span>'
    items = "".join(
        f"<dt>{escape(key)}</dt><dd>{escape(_value(value))}</dd>"
        for key, value in details.items()
        if value is not None
    )
    return f'<dl class="details">{items}</dl>'


def render(document: CaseTimeline) -> str:
    parts = [
        f"<h1>{TITLE}</h1>",
        f"<p>ケース番号: <code>{escape(str(document.case_key))}</code></p>",
        "<h2>事業ごとの閲覧状況</h2><table><thead><tr><th>事業</th><th>状況</th><th>閲覧の根拠</th>"
        "</tr></thead><tbody>",
    ]
    for p in document.programs:
        parts.append(
            f'<tr><td>{escape(p.program_label)}</td><td class="{escape(p.state)}">{escape(p.state_label)}</td>'
            f"<td>{escape(p.access_basis_label or '—')}</td></tr>"
        )
    parts.append(
        "</tbody></table>"
        '<p class="note">記録がない事業も「見られません」と表示します（記録の有無を明かさないため）。'
        "個人情報の閲覧は各事業の閲覧記録に残ります。</p>"
        "<h2>経過（記録された順）</h2>"
    )
    if not document.events:
        parts.append("<p>表示できる記録はありません。</p>")
        return "".join(parts)
    parts.append(
        "<table><thead><tr><th>日時</th><th>事業</th><th>出来事</th><th>記録した組織</th><th>内容</th>"
        "</tr></thead><tbody>"
    )
    for e in document.events:
        parts.append(
            f"<tr><td>{escape(_local(e.recorded_at))}</td><td>{escape(e.program_label)}</td>"
            f"<td>{escape(e.event_label)}</td><td>{escape(e.organisation or '—')}</td>"
            f"<td>{_details(e.details)}</td></tr>"
        )
    parts.append("</tbody></table>")
    return "".join(parts)


def routes(app: FastAPI) -> None:
    CallerDep = Annotated[Caller, Depends(app.state.caller)]

    @app.get(
        "/api/timeline/{case_key}",
        response_model=CaseTimeline,
        tags=["timeline"],
        summary="ケースの経過（全事業。各事業が閲覧を認めた範囲のみ）",
    )
    async def get_timeline(case_key: uuid.UUID, request: Request, _: CallerDep) -> CaseTimeline:
        return await merged(request, case_key)

    @app.get(
        "/timeline/{case_key}",
        tags=["timeline"],
        summary="ケースの経過画面（日本語）",
        response_class=HTMLResponse,
    )
    async def page(case_key: uuid.UUID, request: Request) -> HTMLResponse:
        if "authorization" not in request.headers:
            return casework_page.sign_in(TITLE, "このケースについて閲覧の根拠がある事業の記録を表示します。")
        app.state.caller.resolve(request)  # 401 for a token that is not valid here, before asking anyone
        return casework_page.respond(TITLE, render(await merged(request, case_key)))
