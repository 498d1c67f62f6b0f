"""The auditor's view of a service's own log: what happened, by whom, and is the log intact.

`GET /audit/log` lists the event log as metadata only — position, time, stream, version, event
type, organisation, actor, correlation and the case key — never payloads: a payload may hold
personal data (sealed or not), and an auditor's question "who did what, when, on which case" is
answered without it. `GET /audit/chain` recomputes the hash chain (`Session.verify_chain`)
so that an edited, removed or reordered row shows up. Both are for auditors only (403 otherwise:
a function, not an object). Mounted on every service by libs.runtime.create_app.
"""

import uuid
from datetime import date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from contracts.envelope import CODE_PATTERN
from libs.authz import enforce_auditor
from libs.domain import InvalidCommand
from libs.eventstore import EventStore, LogQuery
from libs.http import CallerDep, StoreDep

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
    store: EventStore,
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
    query = LogQuery(
        after=after,
        limit=limit + 1,
        case_key=case_key,
        organisation=organisation,
        actor=actor,
        start=_day_start(start) if start is not None else None,
        end=_day_start(end + timedelta(days=1)) if end is not None else None,
    )
    async with store.reading() as session:
        rows = await session.log(query)
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
                organisation=r.metadata.get("organisation"),
                actor=r.metadata.get("actor"),
                correlation_id=r.metadata.get("correlation_id"),
                causation_id=r.metadata.get("causation_id"),
                case_key=r.case_key,
            )
            for r in rows
        ],
        next_after=rows[-1].global_position if more else None,
    )


async def chain(store: EventStore) -> ChainResult:
    """Recompute every stream's hash chain now."""
    async with store.reading() as session:
        report = await session.verify_chain()
    first = report.problems[0].split(" ", 1)[0] if report.problems else None
    return ChainResult(
        ok=report.ok,
        streams=report.streams,
        events=report.events,
        problem_count=len(report.problems),
        problems=report.problems[:MAX_PROBLEMS],
        first_broken_stream=first,
    )


# `GET /audit/log` and `GET /audit/chain` on every service, for auditors only.
router = APIRouter(tags=["audit"])
Code = Annotated[str | None, Query(pattern=CODE_PATTERN)]


@router.get(
    "/audit/log",
    response_model=LogPage,
    summary="イベントログの一覧（内容は含まない。監査担当のみ）",
)
async def audit_log(
    caller: CallerDep,
    store: StoreDep,
    case_key: Annotated[uuid.UUID | None, Query(description="ケース番号（全事業共通）")] = None,
    organisation: Code = None,
    actor: Code = None,
    start: Annotated[date | None, Query(alias="from", description="期間の始まり（日本時間の日付）")] = None,
    end: Annotated[date | None, Query(alias="to", description="期間の終わり（この日を含む）")] = None,
    after: Annotated[int, Query(ge=0, le=MAX_POSITION, description="この位置より後から")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> LogPage:
    enforce_auditor(caller.principal, "read_audit_log")
    return await log_page(
        store,
        case_key=case_key,
        organisation=organisation,
        actor=actor,
        start=start,
        end=end,
        after=after,
        limit=limit,
    )


@router.get(
    "/audit/chain",
    response_model=ChainResult,
    summary="ハッシュチェーンの検証（監査担当のみ）",
)
async def audit_chain(caller: CallerDep, store: StoreDep) -> ChainResult:
    enforce_auditor(caller.principal, "verify_chain")
    return await chain(store)
