"""A coordination case: opened from a referral, planned at a meeting, returned to its origin.

Pure: no I/O, no clock, no random ids.
"""

from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from uuid import UUID, uuid5

from pydantic import BaseModel, ConfigDict, Field

from contracts.glossary import AgeBand, IssueTag, MeetingType, ReturnReason, RoleResponsibility, Urgency
from libs.domain import Aggregate, DomainError, DomainEvent, NotFound
from libs.text import Note

STREAM_TYPE = "CoordinationCase"
CODE = r"^[a-z0-9][a-z0-9_.-]{1,63}$"
_CASE_NAMESPACE = UUID("6f1c3f1e-2b8e-4e55-9d7e-4b0c1a9e7c21")


def case_id_for(referral_id: UUID) -> UUID:
    """One coordination case per referral, whoever delivers it and however often."""
    return uuid5(_CASE_NAMESPACE, str(referral_id))


class Role(BaseModel):
    """An agency's part in the plan (役割分担)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    organisation: str = Field(pattern=CODE)
    responsibility: RoleResponsibility
    review_on: date
    note: Note | None = None


# --- private events -------------------------------------------------------------------


class CaseOpened(DomainEvent):
    coordination_case_id: UUID
    holder_organisation: str
    case_key: UUID
    referral_id: UUID
    referring_organisation: str
    subject_ref: str
    issue_tags: list[IssueTag]
    age_band: AgeBand
    district: str
    urgency: Urgency
    opened_on: date


class PlanAgreed(DomainEvent):
    personal_fields = ("goals", "roles")

    plan_version: int
    meeting_type: MeetingType
    members: list[str]
    goals: list[str] | None  # None: erased
    roles: list[Role] | None
    agreed_on: date


class ReturnedToOrigin(DomainEvent):
    personal_fields = ("note",)

    reason: ReturnReason
    note: str | None
    returned_on: date


# --- state ----------------------------------------------------------------------------


class Status(StrEnum):
    NEW = "new"
    OPEN = "open"
    PLAN_AGREED = "plan_agreed"
    RETURNED = "returned"


@dataclass(frozen=True)
class Case:
    status: Status = Status.NEW
    opened: CaseOpened | None = None
    plans: tuple[PlanAgreed, ...] = field(default_factory=tuple)
    returned: ReturnedToOrigin | None = None


def evolve(case: Case, event: DomainEvent) -> Case:
    match event:
        case CaseOpened():
            return replace(case, status=Status.OPEN, opened=event)
        case PlanAgreed():
            return replace(case, status=Status.PLAN_AGREED, plans=(*case.plans, event))
        case ReturnedToOrigin():
            return replace(case, status=Status.RETURNED, returned=event)
    raise TypeError(f"unknown event {type(event).__name__}")


COORDINATION_CASE = Aggregate[Case](
    stream_type=STREAM_TYPE,
    initial=Case,
    evolve=evolve,
    events=(CaseOpened, PlanAgreed, ReturnedToOrigin),
    subject_of=lambda case: case.opened.subject_ref if case.opened else None,
)


class PersonalDataErased(DomainEvent):
    """Intake erased the person; coordination destroyed its own key for them."""

    subject_ref: str
    erased_on: date


@dataclass(frozen=True)
class Erasure:
    erased: PersonalDataErased | None = None


ERASURE = Aggregate[Erasure](
    stream_type="CoordinationErasure",
    initial=Erasure,
    evolve=lambda _, event: Erasure(event),  # type: ignore[arg-type]
    events=(PersonalDataErased,),
)


def note_erasure(state: Erasure, erased: PersonalDataErased) -> list[DomainEvent]:
    return [] if state.erased else [erased]


# --- decisions --------------------------------------------------------------------------


def open_case(case: Case, opened: CaseOpened) -> list[DomainEvent]:
    """Accept a referral. A re-delivered referral finds the case open and changes nothing."""
    if case.status is not Status.NEW:
        return []
    return [opened]


def _require_active(case: Case) -> CaseOpened:
    if case.opened is None:
        raise NotFound("case_not_found", "ケースが見つかりません。")
    if case.status is Status.RETURNED:
        raise DomainError("case_returned", "このケースはすでにつなぎもどし済みです。")
    return case.opened


def agree_plan(
    case: Case,
    *,
    meeting_type: MeetingType,
    members: list[str],
    goals: list[str],
    roles: list[Role],
    agreed_on: date,
    consented: bool,
) -> list[DomainEvent]:
    """`consented`: an active consent covering coordination exists on `agreed_on` (see consent.py)."""
    opened = _require_active(case)
    if not members:
        raise DomainError("meeting_without_members", "会議の出席機関を1つ以上記録してください。")
    if not goals:
        raise DomainError("plan_without_goals", "支援プランには目標が1つ以上必要です。")
    if not roles:
        raise DomainError("plan_without_roles", "支援プランには役割分担が1つ以上必要です。")
    if meeting_type is MeetingType.SUPPORT_PLAN_MEETING and not consented:
        raise DomainError(
            "consent_required",
            "本人の同意がないケースは重層的支援会議で扱えません。同意を得るか、支援会議（社会福祉法第106条の6）で検討してください。",
        )
    if agreed_on < opened.opened_on:
        raise DomainError("plan_before_opening", "プラン決定日がケース開始日より前になっています。")
    if any(role.review_on < agreed_on for role in roles):
        raise DomainError("review_before_plan", "見直し予定日はプラン決定日以降にしてください。")
    return [
        PlanAgreed(
            plan_version=len(case.plans) + 1,
            meeting_type=meeting_type,
            members=sorted(set(members)),
            goals=goals,
            roles=roles,
            agreed_on=agreed_on,
        )
    ]


def return_to_origin(
    case: Case, *, reason: ReturnReason, note: str | None, returned_on: date
) -> list[DomainEvent]:
    opened = _require_active(case)
    if reason is ReturnReason.REFERRAL_DECLINED:
        raise DomainError("use_decline", "不受理は支援依頼の受付時に行います。")
    if reason is ReturnReason.SUPPORT_CONCLUDED and not case.plans:
        raise DomainError("no_plan", "支援プランのないケースは「支援終結」としてつなぎもどしできません。")
    if returned_on < opened.opened_on:
        raise DomainError("return_before_opening", "つなぎもどし日がケース開始日より前になっています。")
    return [ReturnedToOrigin(reason=reason, note=note, returned_on=returned_on)]
