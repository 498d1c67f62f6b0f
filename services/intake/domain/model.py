"""The intake case: a consultation, its referral to coordination and its return.

Pure: no I/O, no clock, no random ids. Identifiers and dates arrive in the commands.
Personal details live only here (and, from the privacy issue on, encrypted per person).
"""

from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contracts.glossary import Channel, IssueTag, MeetingType, ReturnReason, Urgency
from libs.domain import Aggregate, DomainError, DomainEvent, InvalidCommand
from libs.text import Line, line

STREAM_TYPE = "IntakeCase"


class Person(BaseModel):
    """The person consulted about (本人). Personal data: never leaves this service."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: line(100)  # type: ignore[valid-type]
    name_kana: line(100) | None = None  # type: ignore[valid-type]
    birth_date: date
    address: Line | None = None
    phone: line(30) | None = None  # type: ignore[valid-type]


class HouseholdMember(BaseModel):
    """Another member of the household (世帯員) and how they relate to the person."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    relation: line(30) = Field(description="続柄（例: 母、長男）")  # type: ignore[valid-type]
    age: int = Field(ge=0, le=130)
    name: line(100) | None = None  # type: ignore[valid-type]


# --- private events -------------------------------------------------------------------


class ConsultationReceived(DomainEvent):
    personal_fields = ("person", "household", "summary")

    case_id: UUID
    holder_organisation: str
    subject_ref: str
    channel: Channel
    person: Person | None  # None: erased
    household: list[HouseholdMember] | None
    issue_tags: list[IssueTag]
    district: str
    summary: str | None
    received_on: date


class ReferredToCoordination(DomainEvent):
    personal_fields = ("reason",)

    referral_id: UUID
    urgency: Urgency
    reason: str | None
    referred_on: date


class ReferralAccepted(DomainEvent):
    referral_id: UUID
    coordination_case_id: UUID
    accepted_on: date


class ReturnedToOrigin(DomainEvent):
    referral_id: UUID
    reason: ReturnReason
    returned_by: str
    returned_on: date


class SupportMeetingRecorded(DomainEvent):
    """Coordination agreed a plan for this case at a meeting; its members are a legal basis."""

    coordination_case_id: UUID
    plan_version: int
    meeting_type: MeetingType
    members: list[str]
    held_on: date


class PersonErased(DomainEvent):
    """The person's key was destroyed: their details are gone from every copy of this log."""

    erased_on: date
    requested_by: str


# --- state ----------------------------------------------------------------------------


class Status(StrEnum):
    NEW = "new"
    OPEN = "open"
    REFERRED = "referred"
    IN_COORDINATION = "in_coordination"
    RETURNED = "returned"


@dataclass(frozen=True)
class Referral:
    referral_id: UUID
    urgency: Urgency
    referred_on: date
    coordination_case_id: UUID | None = None
    accepted_on: date | None = None
    returned_on: date | None = None
    return_reason: ReturnReason | None = None
    returned_by: str | None = None


@dataclass(frozen=True)
class Case:
    status: Status = Status.NEW
    received: ConsultationReceived | None = None
    referrals: tuple[Referral, ...] = field(default_factory=tuple)
    meetings: tuple[SupportMeetingRecorded, ...] = field(default_factory=tuple)
    erased_on: date | None = None

    @property
    def holder(self) -> str | None:
        return self.received.holder_organisation if self.received else None

    def confidential_meeting_of(self, organisation: str) -> SupportMeetingRecorded | None:
        """The 支援会議 (法106条の6) on this case that `organisation` sat in, if any."""
        return next(
            (
                m
                for m in self.meetings
                if m.meeting_type is MeetingType.CONFIDENTIAL_SUPPORT_MEETING and organisation in m.members
            ),
            None,
        )

    def referral(self, referral_id: UUID) -> Referral | None:
        return next((r for r in self.referrals if r.referral_id == referral_id), None)


def _update_referral(case: Case, referral_id: UUID, **changes: object) -> tuple[Referral, ...]:
    return tuple(replace(r, **changes) if r.referral_id == referral_id else r for r in case.referrals)


def evolve(case: Case, event: DomainEvent) -> Case:
    match event:
        case ConsultationReceived():
            return replace(case, status=Status.OPEN, received=event)
        case ReferredToCoordination():
            referral = Referral(event.referral_id, event.urgency, event.referred_on)
            return replace(case, status=Status.REFERRED, referrals=(*case.referrals, referral))
        case ReferralAccepted():
            referrals = _update_referral(
                case,
                event.referral_id,
                coordination_case_id=event.coordination_case_id,
                accepted_on=event.accepted_on,
            )
            return replace(case, status=Status.IN_COORDINATION, referrals=referrals)
        case ReturnedToOrigin():
            referrals = _update_referral(
                case,
                event.referral_id,
                returned_on=event.returned_on,
                return_reason=event.reason,
                returned_by=event.returned_by,
            )
            return replace(case, status=Status.RETURNED, referrals=referrals)
        case SupportMeetingRecorded():
            return replace(case, meetings=(*case.meetings, event))
        case PersonErased():
            return replace(case, erased_on=event.erased_on)
    raise TypeError(f"unknown event {type(event).__name__}")


INTAKE_CASE = Aggregate[Case](
    stream_type=STREAM_TYPE,
    initial=Case,
    evolve=evolve,
    events=(
        ConsultationReceived,
        ReferredToCoordination,
        ReferralAccepted,
        ReturnedToOrigin,
        SupportMeetingRecorded,
        PersonErased,
    ),
    subject_of=lambda case: case.received.subject_ref if case.received else None,
)


# --- decisions --------------------------------------------------------------------------


def receive(case: Case, event: ConsultationReceived) -> list[DomainEvent]:
    if case.status is not Status.NEW:
        raise DomainError("case_exists", "この相談はすでに受け付けられています。")
    if event.person is None or event.person.birth_date > event.received_on:
        raise InvalidCommand("birth_after_receipt", "生年月日が相談受付日より後になっています。")
    return [event]


def refer(case: Case, referral: ReferredToCoordination) -> list[DomainEvent]:
    if case.status is Status.NEW:
        raise DomainError("case_not_found", "相談が見つかりません。")
    if case.status in (Status.REFERRED, Status.IN_COORDINATION):
        raise DomainError(
            "already_referred",
            "この相談はすでに多機関協働事業へ支援依頼中です。つなぎもどしを受けてから再度依頼してください。",
        )
    assert case.received is not None
    if referral.referred_on < case.received.received_on:
        raise DomainError("referral_before_receipt", "支援依頼日が相談受付日より前になっています。")
    return [referral]


def accept(case: Case, accepted: ReferralAccepted) -> list[DomainEvent]:
    """Coordination took the referral. Re-deliveries change nothing."""
    referral = case.referral(accepted.referral_id)
    if referral is None:
        raise DomainError("unknown_referral", "この相談に該当する支援依頼がありません。")
    if referral.coordination_case_id is not None or referral.returned_on is not None:
        return []
    return [accepted]


def take_back(case: Case, returned: ReturnedToOrigin) -> list[DomainEvent]:
    """つなぎもどし: the case is intake's again. Re-deliveries change nothing."""
    referral = case.referral(returned.referral_id)
    if referral is None:
        raise DomainError("unknown_referral", "この相談に該当する支援依頼がありません。")
    if referral.returned_on is not None:
        return []
    return [returned]


def record_meeting(case: Case, meeting: SupportMeetingRecorded) -> list[DomainEvent]:
    """Remember who sat in a meeting on this case. Re-deliveries change nothing."""
    if case.status is Status.NEW:
        raise DomainError("case_not_found", "相談が見つかりません。")
    known = {(m.coordination_case_id, m.plan_version) for m in case.meetings}
    if (meeting.coordination_case_id, meeting.plan_version) in known:
        return []
    return [meeting]


def erase(case: Case, erased: PersonErased) -> list[DomainEvent]:
    """Record the erasure (the key itself is destroyed by the service layer in the same transaction)."""
    if case.status is Status.NEW:
        raise DomainError("case_not_found", "相談が見つかりません。")
    if case.erased_on is not None:
        return []
    return [erased]
