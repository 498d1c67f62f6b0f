"""The auditor's page over the five services: their logs, their hash chains, who saw whose details.

Every figure comes from the service that owns it, asked with the auditor's own token (so each
service decides, and records, as for any other request): `/audit/log` (metadata of the event log,
never payloads), `/audit/chain` (the hash chain recomputed now) and `/audit/access` (閲覧記録).
The projection service refuses non-auditors itself too, before asking anyone (403).
"""

import asyncio
import uuid
from datetime import date, datetime
from html import escape
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from contracts.envelope import CODE_PATTERN
from contracts.glossary import Program
from libs import audit
from libs.authz import enforce_auditor
from libs.domain import InvalidCommand
from libs.http import Caller
from projections import casework_page, upstream

LOCAL_TIME = ZoneInfo("Asia/Tokyo")
TITLE = "監査（イベントログ・改ざん検証・閲覧記録）"
# Chain verification reads a service's whole log: give it longer than an ordinary read.
CHAIN_TIMEOUT = 120.0


class Filters(BaseModel):
    case_key: uuid.UUID | None = None
    organisation: str | None = None
    actor: str | None = None
    start: date | None = None
    end: date | None = None
    limit: int = 100


class ServiceAudit(BaseModel):
    program: Program
    program_label: str
    log_state: str
    log_state_label: str
    more_log: bool
    chain_state: str
    chain: dict[str, Any] | None
    access_state: str
    access_state_label: str


class LogRow(BaseModel):
    program: Program
    program_label: str
    entry: dict[str, Any]


class AccessRow(BaseModel):
    program: Program
    program_label: str
    record: dict[str, Any]


class AuditView(BaseModel):
    filters: Filters
    services: list[ServiceAudit]
    log: list[LogRow]
    access: list[AccessRow]


def authorise(caller: Caller) -> None:
    enforce_auditor(caller.principal, "read_audit")


def _log_params(f: Filters) -> dict[str, str]:
    params = {"limit": str(f.limit)}
    for name, value in (
        ("case_key", f.case_key),
        ("organisation", f.organisation),
        ("actor", f.actor),
        ("from", f.start),
        ("to", f.end),
    ):
        if value is not None:
            params[name] = str(value)
    return params


def _in_filters(record: dict[str, Any], f: Filters) -> bool:
    """Access records are asked by case and user; organisation and period are applied here."""
    if f.organisation is not None and record.get("organisation") != f.organisation:
        return False
    day = datetime.fromisoformat(record["viewed_at"]).astimezone(LOCAL_TIME).date()
    return (f.start is None or day >= f.start) and (f.end is None or day <= f.end)


async def view(request: Request, f: Filters, *, verify: bool) -> AuditView:
    for day in (f.start, f.end):
        if day is not None and not audit.EARLIEST <= day <= audit.LATEST:
            raise InvalidCommand(
                "invalid_period",
                f"期間は {audit.EARLIEST} から {audit.LATEST} までの日付で指定してください。",
            )
    if f.start and f.end and f.end < f.start:
        raise InvalidCommand("invalid_period", "期間の終わり（to）は始まり（from）以降の日付にしてください。")
    access_params = {k: str(v) for k, v in (("case_id", f.case_key), ("user", f.actor)) if v is not None}
    logs, accesses, chains = await asyncio.gather(
        upstream.ask_all(request, "/audit/log", _log_params(f)),
        upstream.ask_all(request, "/audit/access", access_params),
        upstream.ask_all(request, "/audit/chain", timeout=CHAIN_TIMEOUT) if verify else _nothing(),
    )
    services, log, access = [], [], []
    for service in upstream.SERVICES:
        logged, accessed, chained = logs[service], accesses[service], chains.get(service)
        if logged.state == upstream.SHOWN:
            log += [
                LogRow(program=service, program_label=logged.program_label, entry=e)
                for e in logged.body["entries"]
            ]
        if accessed.state == upstream.SHOWN:
            access += [
                AccessRow(program=service, program_label=accessed.program_label, record=r)
                for r in accessed.body
                if _in_filters(r, f)
            ]
        chain_state = "not_run" if chained is None else chained.state
        services.append(
            ServiceAudit(
                program=service,
                program_label=logged.program_label,
                log_state=logged.state,
                log_state_label=logged.label,
                more_log=bool(logged.body and logged.body.get("next_after")),
                chain_state=chain_state,
                chain=chained.body if chained is not None and chained.state == upstream.SHOWN else None,
                access_state=accessed.state,
                access_state_label=accessed.label,
            )
        )
    log.sort(key=lambda row: row.entry["recorded_at"])
    access.sort(key=lambda row: row.record["viewed_at"])
    return AuditView(filters=f, services=services, log=log, access=access)


async def _nothing() -> dict[Program, upstream.Answer]:
    return {}


def _local(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(LOCAL_TIME).strftime("%Y-%m-%d %H:%M:%S")


def _chain_cell(s: ServiceAudit) -> str:
    if s.chain is None:
        label = (
            "未実行"
            if s.chain_state == "not_run"
            else upstream.STATUS_LABELS.get(s.chain_state, s.chain_state)
        )
        return f'<td class="unavailable">{escape(label)}</td><td></td>'
    c = s.chain
    if c["ok"]:
        return f'<td class="ok">正常（改ざんなし）</td><td>{c["events"]}件・{c["streams"]}ストリーム</td>'
    problems = "".join(f"<li>{escape(p)}</li>" for p in c["problems"])
    return (
        f'<td class="broken">改ざんの疑い（{c["problem_count"]}件）</td>'
        f"<td>{c['events']}件・{c['streams']}ストリーム。最初の異常: "
        f"<code>{escape(c['first_broken_stream'] or '')}</code><ul>{problems}</ul></td>"
    )


def render(v: AuditView) -> str:
    f = v.filters

    def field(label: str, name: str, value: object, kind: str = "text") -> str:
        shown = "" if value is None else str(value)
        return f'<label>{label} <input type="{kind}" name="{name}" value="{escape(shown)}"></label>'

    parts = [
        f"<h1>{TITLE}</h1>",
        '<form id="filters" class="filters" method="get" action="/audit">',
        field("ケース番号", "case_key", f.case_key),
        field("組織", "organisation", f.organisation),
        field("操作者", "actor", f.actor),
        field("開始", "from", f.start, "date"),
        field("終了", "to", f.end, "date"),
        "<button>絞り込む</button></form>",
        '<p class="note">イベントログは記録の種類・日時・組織・操作者のみで、内容（個人情報）は含みません。'
        "日付は日本時間です。</p>",
        "<h2>ハッシュチェーンの検証（事業ごと）</h2><table><thead><tr><th>事業</th><th>結果</th><th>検証した範囲</th>"
        "<th>ログの取得</th></tr></thead><tbody>",
    ]
    for s in v.services:
        more = "（続きあり: 条件を絞ってください）" if s.more_log else ""
        parts.append(
            f"<tr><td>{escape(s.program_label)}</td>{_chain_cell(s)}"
            f'<td class="{escape(s.log_state)}">{escape(s.log_state_label)}{more}</td></tr>'
        )
    parts.append("</tbody></table><h2>イベントログ</h2>")
    if v.log:
        parts.append(
            "<table><thead><tr><th>日時</th><th>事業</th><th>位置</th><th>記録の種類</th><th>イベント</th>"
            "<th>組織</th><th>操作者</th><th>ケース番号</th><th>相関ID</th></tr></thead><tbody>"
        )
        for row in v.log:
            e = row.entry
            parts.append(
                f"<tr><td>{escape(_local(e['recorded_at']))}</td><td>{escape(row.program_label)}</td>"
                f'<td class="num">{e["position"]}</td><td>{escape(e["stream_type"])}</td>'
                f"<td>{escape(e['event_type'])}</td><td>{escape(e['organisation'] or '—')}</td>"
                f"<td>{escape(e['actor'] or '—')}</td><td><code>{escape(e['case_key'] or '')}</code></td>"
                f"<td><code>{escape(e['correlation_id'] or '')}</code></td></tr>"
            )
        parts.append("</tbody></table>")
    else:
        parts.append("<p>該当する記録はありません。</p>")
    parts.append("<h2>個人情報の閲覧記録</h2>")
    if v.access:
        parts.append(
            "<table><thead><tr><th>日時</th><th>事業</th><th>閲覧者</th><th>組織</th><th>対象</th>"
            "<th>法的根拠</th><th>理由</th><th>要確認</th></tr></thead><tbody>"
        )
        for row in v.access:
            r = row.record
            parts.append(
                f"<tr><td>{escape(_local(r['viewed_at']))}</td><td>{escape(row.program_label)}</td>"
                f"<td>{escape(r['user'])}</td><td>{escape(r['organisation'])}</td>"
                f"<td><code>{escape(r['resource'])}</code></td><td>{escape(r['basis_label'])}</td>"
                f"<td>{escape(r['reason'] or '')}</td><td>{'はい' if r['review_required'] else ''}</td></tr>"
            )
        parts.append("</tbody></table>")
    else:
        parts.append("<p>該当する閲覧記録はありません。</p>")
    return "".join(parts)


def routes(app: FastAPI) -> None:
    CallerDep = Annotated[Caller, Depends(app.state.caller)]
    Code = Annotated[str | None, Query(pattern=CODE_PATTERN)]
    CaseKey = Annotated[uuid.UUID | None, Query(description="ケース番号（全事業共通）")]
    From = Annotated[date | None, Query(alias="from", description="期間の始まり（日本時間の日付）")]
    To = Annotated[date | None, Query(alias="to", description="期間の終わり（この日を含む）")]
    Limit = Annotated[int, Query(ge=1, le=500, description="事業ごとのログの件数")]

    @app.get(
        "/api/audit", response_model=AuditView, tags=["audit"], summary="監査: 全事業のログ・検証・閲覧記録"
    )
    async def get_audit(
        request: Request,
        caller: CallerDep,
        case_key: CaseKey = None,
        organisation: Code = None,
        actor: Code = None,
        start: From = None,
        end: To = None,
        limit: Limit = 100,
        verify: Annotated[bool, Query(description="ハッシュチェーンを検証する")] = True,
    ) -> AuditView:
        authorise(caller)
        f = Filters(
            case_key=case_key, organisation=organisation, actor=actor, start=start, end=end, limit=limit
        )
        return await view(request, f, verify=verify)

    @app.get("/audit", tags=["audit"], summary="監査画面（日本語）", response_class=HTMLResponse)
    async def page(
        request: Request,
        case_key: CaseKey = None,
        organisation: Code = None,
        actor: Code = None,
        start: From = None,
        end: To = None,
    ) -> HTMLResponse:
        if "authorization" not in request.headers:
            return casework_page.sign_in(TITLE, "監査担当の職員が使う画面です。")
        authorise(app.state.caller.resolve(request))
        f = Filters(case_key=case_key, organisation=organisation, actor=actor, start=start, end=end)
        return casework_page.respond(TITLE, render(await view(request, f, verify=True)))
