"""A case's timeline in one service: its events about one case key, as far as the caller may see.

The case key (the public envelope's `case_key`) is the one identifier every program shares: intake
mints it (its case id is the key), coordination, outreach and participation store it in the event
that opens their own case, community in the concern that raised it. Which of a service's streams
belong to a case is therefore one rule for every service (`case_streams`); whether the caller may
see them is the service's own authorisation, handed in as a `CaseRule` by a small module per
service, so the legal basis is decided where every other read of that case is decided.

Three outcomes, as for any read of a case:
- a legal basis (holder, consent, 支援会議, declared emergency): every event with its details,
  personal fields opened, and the read recorded (libs/access.py) before anything is returned;
- an auditor without one: the events as log metadata only (what `/audit/log` shows), no details;
- anyone else, or no record at all: 404 that says nothing about whether the case exists here.
"""

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.glossary import LegalBasis, Program, Role, label_ja
from libs import access, commands
from libs.authz import Decision, enforce
from libs.directory import Directory
from libs.http import Caller

# Streams whose id names the case key (intake's case and consents, coordination's consent notes,
# access records kept under the key), streams any event of which names it in `case_key` (the
# opening event of another program's own case), and streams named after those (their access
# records). Parameter `:k` is the case key as text.
CASE_STREAMS = """
    WITH direct AS (
        SELECT DISTINCT stream_id FROM events
        WHERE strpos(stream_id, :k) > 0 OR data->>'case_key' = :k
    ),
    named AS (SELECT DISTINCT right(stream_id, 36) AS id FROM direct)
    SELECT stream_id FROM direct
    UNION
    SELECT DISTINCT stream_id FROM events WHERE right(stream_id, 36) IN (SELECT id FROM named)
"""

# Streams that are not the case's own history: who read it (shown by `/audit/access`) and
# erasure follow-ups (keyed by the person's pseudonym).
NOT_TIMELINE = ("AccessLog", "Erasure")

CaseRule = Callable[[AsyncConnection, Caller, uuid.UUID, Directory], Awaitable[Decision]]


@dataclass(frozen=True)
class TimelineSource:
    """What one service contributes: its program, labels of its event types, its own rule."""

    program: Program
    labels: Mapping[str, str]
    may_see: CaseRule


class TimelineEvent(BaseModel):
    position: int = Field(description="この事業のイベントログ上の位置")
    recorded_at: datetime
    program: Program
    program_label: str
    event_type: str
    event_label: str
    organisation: str | None = Field(description="記録した組織")
    details: dict[str, Any] | None = Field(
        description="記録の内容（個人情報を含む）。法的根拠がある場合のみ。監査担当には null"
    )


class Timeline(BaseModel):
    case_key: uuid.UUID
    program: Program
    program_label: str
    access_basis: LegalBasis | None = Field(description="閲覧の法的根拠。監査担当の記録一覧では null")
    access_basis_label: str
    details_shown: bool
    events: list[TimelineEvent]


def _sealed_keys(data: dict[str, Any]) -> set[str]:
    """Top-level fields of an event that hold a sealed (personal) value anywhere inside."""

    def sealed(value: Any) -> bool:
        if isinstance(value, dict):
            return "$sealed" in value or any(sealed(v) for v in value.values())
        if isinstance(value, list):
            return any(sealed(v) for v in value)
        return False

    return {key for key, value in data.items() if sealed(value)}


async def _events(conn: AsyncConnection, case_key: uuid.UUID) -> list[Any]:
    rows = await conn.execute(
        text(
            "SELECT global_position, recorded_at, stream_type, event_type, data, "  # noqa: S608
            "metadata->>'organisation' AS organisation FROM events "
            f"WHERE stream_id IN ({CASE_STREAMS}) AND stream_type <> ALL(:hidden) "
            "ORDER BY global_position"
        ),
        {"k": str(case_key), "hidden": list(NOT_TIMELINE)},
    )
    return list(rows)


async def timeline(
    engine: AsyncEngine, directory: Directory, source: TimelineSource, caller: Caller, case_key: uuid.UUID
) -> Timeline:
    """The service's events about `case_key` for `caller`, or 404 (see the module docstring)."""
    resource = f"case:{case_key}"
    async with engine.connect() as conn:
        decision = await source.may_see(conn, caller, case_key, directory)
        rows = await _events(conn, case_key) if decision.allowed else []
    if not decision.allowed and caller.principal.has_any(Role.AUDITOR):
        async with engine.connect() as conn:
            rows = await _events(conn, case_key)
        # The auditor already sees these rows in /audit/log; with no rows, 404 as for anyone.
        decision = Decision.allow(LegalBasis.HOLDER, "auditor: log metadata only") if rows else decision
        enforce(decision, caller.principal, "read_timeline_metadata", resource)
        return _shape(source, case_key, rows, basis=None, details={})
    enforce(decision, caller.principal, "read_timeline", resource)
    if not rows:  # a basis on a record with no history cannot happen; say nothing rather than guess
        enforce(Decision.deny("no events"), caller.principal, "read_timeline", resource)
    fields = sorted({key for row in rows for key in _sealed_keys(row.data)})
    await access.record(engine, caller, resource, decision, [f"timeline.{f}" for f in fields])
    async with engine.connect() as conn:
        opened = {
            row.global_position: await commands.cipher().open_fields(conn, row.data, erased=None)
            for row in rows
        }
    return _shape(source, case_key, rows, basis=decision.basis, details=opened)


def _shape(
    source: TimelineSource,
    case_key: uuid.UUID,
    rows: list[Any],
    *,
    basis: LegalBasis | None,
    details: dict[int, dict[str, Any]],
) -> Timeline:
    program_label = label_ja(source.program)
    return Timeline(
        case_key=case_key,
        program=source.program,
        program_label=program_label,
        access_basis=basis,
        access_basis_label=label_ja(basis) if basis else "監査（記録の一覧のみ）",
        details_shown=basis is not None,
        events=[
            TimelineEvent(
                position=row.global_position,
                recorded_at=row.recorded_at,
                program=source.program,
                program_label=program_label,
                event_type=row.event_type,
                event_label=source.labels.get(row.event_type, row.event_type),
                organisation=row.organisation,
                details=details.get(row.global_position),
            )
            for row in rows
        ],
    )


async def stream_ids(conn: AsyncConnection, stream_type: str, case_key: uuid.UUID) -> list[str]:
    """The streams of `stream_type` opened for `case_key` (another program's own case ids)."""
    rows = await conn.execute(
        text(
            "SELECT DISTINCT stream_id FROM events WHERE stream_type = :t AND data->>'case_key' = :k "
            "ORDER BY stream_id"
        ),
        {"t": stream_type, "k": str(case_key)},
    )
    return list(rows.scalars())


def first_allowed(decisions: list[Decision]) -> Decision:
    """One decision over a service's several records of a case: the first that allows, else a refusal."""
    return next(
        (d for d in decisions if d.allowed), Decision.deny("no legal basis on any record of the case")
    )


def routes(app: FastAPI, source: TimelineSource) -> None:
    """`GET /timeline/{case_key}` on a service, decided by `source.may_see`."""
    runtime = app.state.runtime
    CallerDep = Annotated[Caller, Depends(app.state.caller)]

    @app.get(
        "/timeline/{case_key}",
        response_model=Timeline,
        tags=["timeline"],
        summary="ケースの経過（この事業の記録。閲覧の根拠がある範囲のみ）",
    )
    async def get_timeline(case_key: uuid.UUID, caller: CallerDep) -> Timeline:
        return await timeline(runtime.engine, runtime.directory, source, caller, case_key)
