"""担当の引継ぎ: a case handed over to another organisation that runs the same program, or to a
named worker (担当者), as an event with its reason.

Staff rotate and areas are re-drawn; what a handover loses is the pain the municipalities name.
So a handover is recorded like any other change of the case: who had it, who has it now, why and
when. Every program's case uses the same command and event; each domain applies the event to its
own state (the holder and the 担当者), and the register shows the new holder and worker.
"""

from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field, model_validator
from pydantic_core import PydanticCustomError

from contracts.glossary import Program, Role
from libs.commands import Outcome
from libs.directory import Directory
from libs.domain import Command, DomainError, DomainEvent, InvalidCommand
from libs.eventstore import EventStore
from libs.fields import Happened, OrganisationCode
from libs.http import Caller, CallerDep, VersionDep, etag
from libs.text import Note, line

LABEL = "担当の引継ぎ"
"""How a handover reads in a case's timeline, in every program."""


class HandOver(Command):
    """A handover as the worker asks for it: to another organisation, to a named worker, or both."""

    to_organisation: OrganisationCode | None = Field(
        default=None, description="引継ぎ先の機関コード（同じ事業を実施する機関。担当者だけ替えるときは省略）"
    )
    to_worker: line(64) | None = Field(  # type: ignore[valid-type]
        default=None, description="新しい担当者の利用者ID（引継ぎ先の機関の職員）"
    )
    reason: Note = Field(description="引継ぎの理由（この事業所内のみで保持）")
    handed_over_on: Happened

    @model_validator(mode="after")
    def _someone(self) -> "HandOver":
        if self.to_organisation is None and self.to_worker is None:
            raise PydanticCustomError("nobody_named", "引継ぎ先の機関か担当者を指定してください。")
        return self


class HandOff(Command):
    """A handover with what the directory says about it, so the decision needs no lookup: the
    organisation handing over, whether the target runs this program, and whether the named
    worker belongs to the target with a role in it."""

    request: HandOver
    from_organisation: str
    target_runs_program: bool
    worker_belongs: bool


class CaseHandedOver(DomainEvent):
    """The case changed hands: a new holder, a new 担当者, or both."""

    personal_fields = ("reason",)

    from_organisation: str
    to_organisation: str
    from_worker: str | None
    to_worker: str | None
    reason: str | None  # None: erased
    handed_over_on: date


def handoff(
    request: HandOver, from_organisation: str, program: Program, role: Role, directory: Directory
) -> HandOff:
    """The command for a handover asked of `from_organisation`'s case, with the directory's facts:
    the target must run `program`, a named worker must be the target's, with `role`."""
    target = request.to_organisation or from_organisation
    user = directory.users.get(request.to_worker) if request.to_worker else None
    return HandOff(
        request=request,
        from_organisation=from_organisation,
        target_runs_program=program in directory.programs_of(target),
        worker_belongs=user is not None and user.organisation == target and role in user.roles,
    )


def hand_over(command: HandOff, worker: str | None, since: date) -> CaseHandedOver:
    """The handover a command asks for on a case held by `command.from_organisation`, whose 担当者
    is `worker` and whose last recorded day is `since` (a handover is not dated before it)."""
    request = command.request
    target = request.to_organisation or command.from_organisation
    if not command.target_runs_program:
        raise InvalidCommand(
            "target_not_running_program",
            "引継ぎ先の機関はこの事業を実施していません。実施機関を選んでください。",
        )
    if request.to_worker is not None and not command.worker_belongs:
        raise InvalidCommand(
            "worker_not_in_target", "新しい担当者は引継ぎ先の機関でこの事業を担当する職員ではありません。"
        )
    if target == command.from_organisation and request.to_worker in (None, worker):
        raise DomainError("nothing_to_hand_over", "引継ぎ先が現在の担当と同じです。")
    if request.handed_over_on < since:
        raise DomainError(
            "handover_before_last_record", "引継ぎ日がこのケースの最後の記録より前になっています。"
        )
    return CaseHandedOver(
        from_organisation=command.from_organisation,
        to_organisation=target,
        from_worker=worker,
        # A new organisation assigns its own 担当者 unless one is named.
        to_worker=request.to_worker,
        reason=request.reason,
        handed_over_on=request.handed_over_on,
    )


class HandoverView(BaseModel):
    """A handover as a case's page shows it (the reason only to those who may read the case)."""

    from_organisation: str
    to_organisation: str
    from_worker: str | None
    to_worker: str | None
    reason: str | None
    handed_over_on: date


def views(handovers: Sequence[CaseHandedOver]) -> list[HandoverView]:
    return [HandoverView(**h.model_dump()) for h in handovers]


class HandedOver(BaseModel):
    case_id: UUID
    version: int


Change = Callable[[EventStore, Caller, UUID, HandOff, int | None], Awaitable[Outcome[Any]]]


def router(program: Program, role: Role, change: Change) -> APIRouter:
    """`POST /cases/{case_id}/handover` on a program's service: the directory's facts added to the
    request, then decided like any change of the case by `change` (the holder only, else 404)."""
    routes = APIRouter(tags=["cases"])

    @routes.post(
        "/cases/{case_id}/handover",
        status_code=201,
        response_model=HandedOver,
        summary="ケースを引き継ぐ（同じ事業を実施する他の機関・担当者へ）",
    )
    async def hand_over_case(
        case_id: UUID,
        body: HandOver,
        request: Request,
        response: Response,
        expected_version: VersionDep,
        caller: CallerDep,
    ) -> HandedOver:
        runtime = request.app.state.runtime
        command = handoff(body, caller.principal.organisation, program, role, runtime.directory)
        outcome = await change(runtime.store, caller, case_id, command, expected_version)
        response.headers["ETag"] = etag(outcome.version)
        return HandedOver(case_id=case_id, version=outcome.version)

    return routes


def holder_after(original: str, handovers: Sequence[CaseHandedOver]) -> str:
    """Who holds a case now: the organisation of its last handover, else the one that opened it."""
    return handovers[-1].to_organisation if handovers else original


def worker_after(handovers: Sequence[CaseHandedOver]) -> str | None:
    """The 担当者 the last handover named (None before any, or when it named none)."""
    return handovers[-1].to_worker if handovers else None


def handed_to(handovers: Sequence[CaseHandedOver]) -> tuple[str | None] | None:
    """The register's `handed_to` for a case with these handovers (libs.domain.RegisterEntry)."""
    return (handovers[-1].to_worker,) if handovers else None
