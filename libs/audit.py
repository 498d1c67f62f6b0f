"""The auditor's view of a service's own log: what happened, by whom, and is the log intact.

`GET /audit/log` lists the event log as metadata only — position, time, stream, version, event
type, organisation, actor, correlation and the case key — never payloads: a payload may hold
personal data (sealed or not), and an auditor's question "who did what, when, on which case" is
answered without it. `GET /audit/chain` recomputes the hash chain (libs/eventstore.verify_chain)
so that an edited, removed or reordered row shows up. Both are for auditors only (403 otherwise:
a function, not an object). Mounted on every service by libs.runtime.create_app.
"""

import uuid
from datetime import date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, FastAPI, Query
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.envelope import CODE_PATTERN
from libs import eventstore
from libs.authz import enforce_auditor
from libs.domain import InvalidCommand
from libs.http import Caller
from libs.timeline import CASE_STREAMS

# Periods are days as the municipality's staff mean them: Japan time.
LOCAL_TIME = ZoneInfo("Asia/Tokyo")
MAX_PAGE = 500
MAX_PROBLEMS = 50
MAX_POSITION = 2**62
EARLIEST, LATEST = date(2000, 1, 1), date(2199, 12, 31)


class LogEntry(BaseModel):
    position: int
    recorded_at: datetime
    stream_type: str
    stream_id: str = Field(description="ストリームの識別子（ケース番号などの符号のみ）")
    version: int
    event_type: str
    organisation: str | None
    actor: str | None
    correlation_id: str | None
    causation_id: str | None
    case_key: uuid.UUID | None = Field(description="ケースを開いたイベントなど、ケース番号を持つ記録のみ")


class LogPage(BaseModel):
    entries: list[LogEntry]
    next_after: int | None = Field(description="続きがある場合、次のページの after に渡す値")


class ChainResult(BaseModel):
    ok: bool
    streams: int
    events: int
    problem_count: int
    problems: list[str] = Field(description=f"最初の{MAX_PROBLEMS}件（ストリーム・版数・位置のみ）")
    first_broken_stream: str | None


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), LOCAL_TIME)


async def log_page(
    engine: AsyncEngine,
    *,
    case_key: uuid.UUID | None,
    organisation: str | None,
    actor: str | None,
    start: date | None,
    end: date | None,
    after: int,
    limit: int,
) -> LogPage:
    """One page of the log in global order, filtered; metadata only."""
    for day in (start, end):
        if day is not None and not EARLIEST <= day <= LATEST:
            raise InvalidCommand(
                "invalid_period", f"期間は {EARLIEST} から {LATEST} までの日付で指定してください。"
            )
    if start and end and end < start:
        raise InvalidCommand("invalid_period", "期間の終わり（to）は始まり（from）以降の日付にしてください。")
    where = ["global_position > :after"]
    params: dict[str, object] = {"after": after, "limit": limit + 1}
    if case_key is not None:
        where.append(f"stream_id IN ({CASE_STREAMS})")
        params["k"] = str(case_key)
    if organisation is not None:
        where.append("metadata->>'organisation' = :org")
        params["org"] = organisation
    if actor is not None:
        where.append("metadata->>'actor' = :actor")
        params["actor"] = actor
    if start is not None:
        where.append("recorded_at >= :start")
        params["start"] = _day_start(start)
    if end is not None:
        where.append("recorded_at < :end")
        params["end"] = _day_start(end + timedelta(days=1))
    query = (
        "SELECT global_position, recorded_at, stream_type, stream_id, version, event_type, "  # noqa: S608
        "metadata->>'organisation' AS organisation, metadata->>'actor' AS actor, "
        "metadata->>'correlation_id' AS correlation_id, metadata->>'causation_id' AS causation_id, "
        "CASE WHEN data->>'case_key' ~ '^[0-9a-f-]{36}$' THEN data->>'case_key' END AS case_key "
        f"FROM events WHERE {' AND '.join(where)} ORDER BY global_position LIMIT :limit"
    )
    async with engine.connect() as conn:
        rows = list(await conn.execute(text(query), params))
    more = len(rows) > limit
    rows = rows[:limit]
    return LogPage(
        entries=[
            LogEntry(
                position=r.global_position,
                recorded_at=r.recorded_at,
                stream_type=r.stream_type,
                stream_id=r.stream_id,
                version=r.version,
                event_type=r.event_type,
                organisation=r.organisation,
                actor=r.actor,
                correlation_id=r.correlation_id,
                causation_id=r.causation_id,
                case_key=r.case_key,
            )
            for r in rows
        ],
        next_after=rows[-1].global_position if more else None,
    )


async def chain(engine: AsyncEngine) -> ChainResult:
    """Recompute every stream's hash chain now."""
    async with engine.connect() as conn:
        report = await eventstore.verify_chain(conn)
    first = report.problems[0].split(" ", 1)[0] if report.problems else None
    return ChainResult(
        ok=report.ok,
        streams=report.streams,
        events=report.events,
        problem_count=len(report.problems),
        problems=report.problems[:MAX_PROBLEMS],
        first_broken_stream=first,
    )


def routes(app: FastAPI) -> None:
    """`GET /audit/log` and `GET /audit/chain` on every service, for auditors only."""
    engine: AsyncEngine = app.state.runtime.engine
    CallerDep = Annotated[Caller, Depends(app.state.caller)]
    Code = Annotated[str | None, Query(pattern=CODE_PATTERN)]

    @app.get(
        "/audit/log",
        response_model=LogPage,
        tags=["audit"],
        summary="イベントログの一覧（内容は含まない。監査担当のみ）",
    )
    async def audit_log(
        caller: CallerDep,
        case_key: Annotated[uuid.UUID | None, Query(description="ケース番号（全事業共通）")] = None,
        organisation: Code = None,
        actor: Code = None,
        start: Annotated[
            date | None, Query(alias="from", description="期間の始まり（日本時間の日付）")
        ] = None,
        end: Annotated[date | None, Query(alias="to", description="期間の終わり（この日を含む）")] = None,
        after: Annotated[int, Query(ge=0, le=MAX_POSITION, description="この位置より後から")] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    ) -> LogPage:
        enforce_auditor(caller.principal, "read_audit_log")
        return await log_page(
            engine,
            case_key=case_key,
            organisation=organisation,
            actor=actor,
            start=start,
            end=end,
            after=after,
            limit=limit,
        )

    @app.get(
        "/audit/chain",
        response_model=ChainResult,
        tags=["audit"],
        summary="ハッシュチェーンの検証（監査担当のみ）",
    )
    async def audit_chain(caller: CallerDep) -> ChainResult:
        enforce_auditor(caller.principal, "verify_chain")
        return await chain(engine)
