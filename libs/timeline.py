"""A case's timeline in one service: its events about one case key, as far as the caller may see.

The case key (the public envelope's `case_key`) is the one identifier every program shares: intake
mints it (its case id is the key), coordination, outreach and participation store it in the event
that opens their own case, community in the concern that raised it. The event store keeps each
row's case key in an indexed column, so which rows belong to a case is one lookup for every
service; whether the caller may
see them is the service's own authorisation, handed in as a `CaseRule` by a small module per
service, so the legal basis is decided where every other read of that case is decided.

Three outcomes, as for any read of a case:
- a legal basis (holder, consent, 支援会議, a break-glass grant): every event with its details,
  personal fields opened, and the read recorded (libs/access.py) before anything is returned;
- an auditor without one: the events as log metadata only (what `/audit/log` shows), no details;
- anyone else, or no record at all: 404 that says nothing about whether the case exists here.
"""

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from contracts.glossary import LegalBasis, Program, Role, label_ja
from libs import access
from libs.authz import Decision, enforce
from libs.directory import Directory
from libs.eventstore import EventStore, LogQuery, RecordedEvent, Session
from libs.http import Caller, CallerDep

# Streams that are not the case's own history: who read it (shown by `/audit/access`) and
# erasure follow-ups (keyed by the person's pseudonym).
NOT_TIMELINE = ("AccessLog", "Erasure")

# (session, caller, case key, directory, the business day): the service's read rule for the case.
CaseRule = Callable[[Session, Caller, uuid.UUID, Directory, date], Awaitable[Decision]]


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


async def _events(session: Session, case_key: uuid.UUID) -> list[RecordedEvent]:
    return [
        e for e in await session.log_all(LogQuery(case_key=case_key)) if e.stream_type not in NOT_TIMELINE
    ]


async def timeline(
    store: EventStore,
    directory: Directory,
    source: TimelineSource,
    caller: Caller,
    case_key: uuid.UUID,
    today: date,
) -> Timeline:
    """The service's events about `case_key` for `caller`, or 404 (see the module docstring)."""
    resource = f"case:{case_key}"
    async with store.reading() as session:
        decision = await source.may_see(session, caller, case_key, directory, today)
        auditing = not decision.allowed and caller.principal.has_any(Role.AUDITOR)
        rows = await _events(session, case_key) if decision.allowed or auditing else []
    if auditing:
        # The auditor already sees these rows in /audit/log; with no rows, 404 as for anyone.
        decision = Decision.allow(LegalBasis.HOLDER, "auditor: log metadata only") if rows else decision
        enforce(decision, caller.principal, "read_timeline_metadata", resource)
        return _shape(source, case_key, rows, basis=None, details={})
    enforce(decision, caller.principal, "read_timeline", resource)
    if not rows:  # a basis on a record with no history cannot happen; say nothing rather than guess
        enforce(Decision.deny("no events"), caller.principal, "read_timeline", resource)
    fields = sorted({key for row in rows for key in _sealed_keys(row.data)})
    await access.record(
        store, caller, resource, decision, [f"timeline.{f}" for f in fields], case_key=case_key
    )
    async with store.reading() as session:
        opened = {row.global_position: await session.open_fields(row.data) for row in rows}
    return _shape(source, case_key, rows, basis=decision.basis, details=opened)


def _shape(
    source: TimelineSource,
    case_key: uuid.UUID,
    rows: list[RecordedEvent],
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
                organisation=row.metadata.get("organisation"),
                details=details.get(row.global_position),
            )
            for row in rows
        ],
    )


def first_allowed(decisions: list[Decision]) -> Decision:
    """One decision over a service's several records of a case: the first that allows, else a refusal."""
    return next(
        (d for d in decisions if d.allowed), Decision.deny("no legal basis on any record of the case")
    )


def router(source: TimelineSource) -> APIRouter:
    """`GET /timeline/{case_key}` on a service, decided by `source.may_see`."""
    routes = APIRouter(tags=["timeline"])

    @routes.get(
        "/timeline/{case_key}",
        response_model=Timeline,
        summary="ケースの経過（この事業の記録。閲覧の根拠がある範囲のみ）",
    )
    async def get_timeline(case_key: uuid.UUID, caller: CallerDep, request: Request) -> Timeline:
        runtime = request.app.state.runtime
        return await timeline(
            runtime.store, runtime.directory, source, caller, case_key, runtime.clock.today()
        )

    return routes
