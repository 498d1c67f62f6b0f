"""The intake case: a consultation, what intake did with it, its referral to coordination and
its return, and its closure.

A case begins in one of two ways: a worker receives a consultation (the person's details are
known from the start), or another program passes a person on — outreach connected them, or a
community place raised a concern — and intake opens the case with the person's details
*pending* until a worker meets them and records the details (`PersonDetailsRecorded`).

Pure: no I/O, no clock, no random ids. Identifiers and dates arrive in the commands, and one
`decide(command, case)` says what each leads to.
Personal details live only here, sealed per person by the write path.
"""

from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contracts.envelope import CODE_PATTERN
from contracts.glossary import (
    AgeBand,
    Channel,
    ClosureReason,
    ConclusionOutcome,
    IssueTag,
    MeetingType,
    ReturnReason,
    SimpleSupportKind,
    Urgency,
    age_band_for,
)
from libs.domain import Aggregate, Command, DomainError, DomainEvent, InvalidCommand, RegisterEntry
from libs.fields import DistrictCode, Happened, WholeNumber
from libs.text import Line, Note, day_terms, line, name_terms, phone_terms

STREAM_TYPE = "IntakeCase"

ConnectionSource = Literal["outreach", "community"]


class Person(BaseModel):
    """The person consulted about (本人). Personal data: never leaves this service."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: line(100)  # type: ignore[valid-type]
    name_kana: line(100) | None = None  # type: ignore[valid-type]
    birth_date: Happened
    address: Line | None = None
    phone: line(30) | None = None  # type: ignore[valid-type]


class HouseholdMember(BaseModel):
    """Another member of the household (世帯員) and how they relate to the person."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    relation: line(30) = Field(description="続柄（例: 母、長男）")  # type: ignore[valid-type]
    age: WholeNumber = Field(ge=0, le=130)
    name: line(100) | None = None  # type: ignore[valid-type]


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


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


class CaseOpenedFromConnection(DomainEvent):
    """Another program passed a person on; intake opened a case whose person details are pending.

    Holds no personal data: only what the public event carried (pseudonym, coarse attributes)
    and where it came from. The age band is the one the other program published, because
    intake has no birth date to derive it from yet.
    """

    case_id: UUID
    holder_organisation: str
    subject_ref: str
    channel: Channel
    issue_tags: list[IssueTag]
    age_band: AgeBand
    district: str
    received_on: date
    source: ConnectionSource
    source_ref: UUID = Field(description="outreach_case_id or concern_id")
    source_organisation: str
    place_id: UUID | None = None


class ConnectionRecorded(DomainEvent):
    """Another program connected the person again to a case intake already has."""

    source: ConnectionSource
    source_ref: UUID
    source_organisation: str
    issue_tags: list[IssueTag]
    connected_on: date


class PersonDetailsRecorded(DomainEvent):
    """The person's details, recorded (or corrected) after the case was opened."""

    personal_fields = ("person", "household", "summary")

    person: Person | None  # None: erased
    household: list[HouseholdMember] | None
    summary: str | None  # None in the command: the earlier summary stays
    recorded_on: date


class AssessmentRecorded(DomainEvent):
    """アセスメント: what the worker found, and the issue tags as now understood."""

    personal_fields = ("findings",)

    assessed_on: date
    findings: str | None  # None: erased
    issue_tags: list[IssueTag]


class SimpleSupportGiven(DomainEvent):
    """簡易な支援: something intake did itself (information, help with an application…)."""

    personal_fields = ("note",)

    given_on: date
    kind: SimpleSupportKind
    note: str | None


class ReferredToAgency(DomainEvent):
    """関係機関へのつなぎ: passed to an existing agency outside the business (no public event)."""

    personal_fields = ("reason",)

    agency_referral_id: UUID
    organisation: str
    reason: str | None
    referred_on: date


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


class CoordinationConcluded(DomainEvent):
    """Coordination's evaluation at its conclusion (終結時の評価), as it published it."""

    coordination_case_id: UUID
    outcome: ConclusionOutcome
    goals_met: int
    goals_total: int
    concluded_on: date


class SupportMeetingRecorded(DomainEvent):
    """Coordination agreed a plan for this case at a meeting; its members are a legal basis."""

    coordination_case_id: UUID
    plan_version: int
    meeting_type: MeetingType
    members: list[str]
    held_on: date


class CaseClosed(DomainEvent):
    """終結: intake's involvement ends, for a reason given as a code."""

    personal_fields = ("note",)

    reason: ClosureReason
    note: str | None
    closed_on: date


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
    CLOSED = "closed"


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
    outcome: ConclusionOutcome | None = None
    goals_met: int | None = None
    goals_total: int | None = None
    concluded_on: date | None = None

    @property
    def pending(self) -> bool:
        return self.returned_on is None


@dataclass(frozen=True)
class Connection:
    source: ConnectionSource
    source_ref: UUID
    source_organisation: str
    connected_on: date


@dataclass(frozen=True)
class Case:
    status: Status = Status.NEW
    case_id: UUID | None = None
    holder: str | None = None
    subject_ref: str | None = None
    channel: Channel | None = None
    issue_tags: tuple[IssueTag, ...] = ()
    district: str | None = None
    received_on: date | None = None
    published_age_band: AgeBand | None = None
    person: Person | None = None
    household: tuple[HouseholdMember, ...] | None = None
    summary: str | None = None
    details_pending: bool = False
    details_recorded_on: date | None = None  # the latest day the person's details were recorded
    connections: tuple[Connection, ...] = field(default_factory=tuple)
    assessments: tuple[AssessmentRecorded, ...] = field(default_factory=tuple)
    supports: tuple[SimpleSupportGiven, ...] = field(default_factory=tuple)
    agency_referrals: tuple[ReferredToAgency, ...] = field(default_factory=tuple)
    referrals: tuple[Referral, ...] = field(default_factory=tuple)
    meetings: tuple[SupportMeetingRecorded, ...] = field(default_factory=tuple)
    closed: CaseClosed | None = None
    erased_on: date | None = None

    @property
    def age_band(self) -> AgeBand | None:
        """From the birth date when intake knows it, else the band another program published."""
        if self.person is not None and self.received_on is not None:
            return age_band_for(age_on(self.person.birth_date, self.received_on))
        return self.published_age_band

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

    def pending_referral(self) -> Referral | None:
        return next((r for r in self.referrals if r.pending), None)


def _update_referral(case: Case, referral_id: UUID, **changes: object) -> tuple[Referral, ...]:
    return tuple(replace(r, **changes) if r.referral_id == referral_id else r for r in case.referrals)


def _active_status(case: Case, status: Status) -> Status:
    """A closed case stays closed whatever other programs report afterwards."""
    return Status.CLOSED if case.status is Status.CLOSED else status


def evolve(case: Case, event: DomainEvent) -> Case:
    match event:
        case ConsultationReceived():
            return replace(
                case,
                status=Status.OPEN,
                case_id=event.case_id,
                holder=event.holder_organisation,
                subject_ref=event.subject_ref,
                channel=event.channel,
                issue_tags=tuple(event.issue_tags),
                district=event.district,
                received_on=event.received_on,
                person=event.person,
                household=tuple(event.household) if event.household is not None else None,
                summary=event.summary,
            )
        case CaseOpenedFromConnection():
            connection = Connection(
                event.source, event.source_ref, event.source_organisation, event.received_on
            )
            return replace(
                case,
                status=Status.OPEN,
                case_id=event.case_id,
                holder=event.holder_organisation,
                subject_ref=event.subject_ref,
                channel=event.channel,
                issue_tags=tuple(event.issue_tags),
                district=event.district,
                received_on=event.received_on,
                published_age_band=event.age_band,
                details_pending=True,
                connections=(connection,),
            )
        case ConnectionRecorded():
            connection = Connection(
                event.source, event.source_ref, event.source_organisation, event.connected_on
            )
            return replace(case, connections=(*case.connections, connection))
        case PersonDetailsRecorded():
            return replace(
                case,
                person=event.person,
                household=tuple(event.household) if event.household is not None else None,
                summary=event.summary if event.summary is not None else case.summary,
                details_pending=False,
                details_recorded_on=max(event.recorded_on, case.details_recorded_on or event.recorded_on),
            )
        case AssessmentRecorded():
            return replace(case, assessments=(*case.assessments, event), issue_tags=tuple(event.issue_tags))
        case SimpleSupportGiven():
            return replace(case, supports=(*case.supports, event))
        case ReferredToAgency():
            return replace(case, agency_referrals=(*case.agency_referrals, event))
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
            return replace(case, status=_active_status(case, Status.RETURNED), referrals=referrals)
        case CoordinationConcluded():
            referrals = tuple(
                replace(
                    r,
                    outcome=event.outcome,
                    goals_met=event.goals_met,
                    goals_total=event.goals_total,
                    concluded_on=event.concluded_on,
                )
                if r.coordination_case_id == event.coordination_case_id
                else r
                for r in case.referrals
            )
            return replace(case, referrals=referrals)
        case SupportMeetingRecorded():
            return replace(case, meetings=(*case.meetings, event))
        case CaseClosed():
            return replace(case, status=Status.CLOSED, closed=event)
        case PersonErased():
            return replace(case, erased_on=event.erased_on)
    raise TypeError(f"unknown event {type(event).__name__}")


# --- commands ---------------------------------------------------------------------------
# A worker's request is a command as it is (its fields are the request body's); where the server
# supplies values (a new id, the caller's organisation, a pseudonym) a command wraps the request
# with them. Another program's event arrives as the private event intake records for it.


class ReceiveConsultation(Command):
    """A consultation as the intake worker records it (相談受付)."""

    channel: Channel
    person: Person
    household: list[HouseholdMember] = Field(default_factory=list, max_length=19)
    issue_tags: list[IssueTag] = Field(min_length=1, max_length=14)
    district: DistrictCode = Field(description="地区コード（例: chuo-1）")
    summary: Note = Field(description="相談内容の要旨（この事業所内のみで保持）")
    received_on: Happened


class Receive(Command):
    """A consultation with what the service mints for it: the case id (the case key every program
    shares), the holding organisation (the caller's) and the person's pseudonym."""

    request: ReceiveConsultation
    case_id: UUID
    holder_organisation: str
    subject_ref: str


class RecordPerson(Command):
    """The person's details, recorded when a case opened by another program first meets them
    (or corrected later). Replaces the person and household; the summary only if given."""

    person: Person
    household: list[HouseholdMember] = Field(default_factory=list, max_length=19)
    summary: Note | None = Field(default=None, description="相談内容の要旨（省略時は従前のまま）")
    recorded_on: Happened


class RecordAssessment(Command):
    """アセスメント: the worker's findings (private) and the issue tags as now understood."""

    assessed_on: Happened
    findings: Note = Field(description="アセスメントの内容（この事業所内のみで保持）")
    issue_tags: list[IssueTag] = Field(min_length=1, max_length=14, description="見直し後の課題分類")


class GiveSupport(Command):
    """簡易な支援: what intake did itself."""

    given_on: Happened
    kind: SimpleSupportKind
    note: Note | None = Field(default=None, description="支援の記録（この事業所内のみで保持）")


class ReferToAgency(Command):
    """関係機関へのつなぎ: to an existing agency outside the five programs."""

    organisation: str = Field(pattern=CODE_PATTERN, description="つなぎ先の機関コード")
    reason: Note = Field(description="つなぎの理由（この事業所内のみで保持）")
    referred_on: Happened


class PassToAgency(Command):
    """A referral to an agency with the id the service minted for it (returned to the worker)."""

    request: ReferToAgency
    agency_referral_id: UUID


class ReferToCoordination(Command):
    """A referral to multi-agency coordination (支援依頼)."""

    urgency: Urgency = Urgency.ROUTINE
    reason: Note = Field(description="依頼理由（この事業所内のみで保持）")
    referred_on: Happened


class Refer(Command):
    """A referral to coordination with the id the service minted for it: coordination answers
    (acceptance, つなぎもどし) quoting it."""

    request: ReferToCoordination
    referral_id: UUID


class CloseCase(Command):
    """終結."""

    reason: ClosureReason
    note: Note | None = Field(default=None, description="終結時のメモ（この事業所内のみで保持）")
    closed_on: Happened


class ErasePerson(Command):
    """Erase the person's details everywhere (本人の個人情報の消去): their key is destroyed."""

    erased_on: Happened


class Erase(Command):
    """An erasure with who asked for it (the municipal administrator calling)."""

    request: ErasePerson
    requested_by: str


class OpenFromConnection(Command):
    """Another program passed the person on (outreach's つなぎ, a community place's 気づき)."""

    opened: CaseOpenedFromConnection


class AcceptReferral(Command):
    """Coordination accepted a referral (its public ReferralAccepted)."""

    accepted: ReferralAccepted


class TakeBack(Command):
    """Coordination returned the case (つなぎもどし, its public ReturnedToOrigin)."""

    returned: ReturnedToOrigin


class NoteConclusion(Command):
    """Coordination concluded its support (its public SupportConcluded)."""

    concluded: CoordinationConcluded


class RecordMeeting(Command):
    """Coordination agreed a plan at a meeting on this case (its public PlanAgreed)."""

    meeting: SupportMeetingRecorded


# --- decisions --------------------------------------------------------------------------


def decide(command: Command, case: Case) -> list[DomainEvent]:
    """The events a command leads to on this case, or a DomainError saying why not."""
    match command:
        case Receive():
            return _receive(case, command)
        case OpenFromConnection():
            return _open_from_connection(case, command.opened)
        case RecordPerson():
            return _record_person(case, command)
        case RecordAssessment():
            return _assess(case, command)
        case GiveSupport():
            return _give_support(case, command)
        case PassToAgency():
            return _refer_to_agency(case, command)
        case Refer():
            return _refer(case, command)
        case CloseCase():
            return _close(case, command)
        case AcceptReferral():
            return _accept(case, command.accepted)
        case TakeBack():
            return _take_back(case, command.returned)
        case NoteConclusion():
            return _note_conclusion(case, command.concluded)
        case RecordMeeting():
            return _record_meeting(case, command.meeting)
        case Erase():
            return _erase(case, command)
    raise TypeError(f"intake cannot decide {type(command).__name__}")


def _require_case(case: Case) -> date:
    """The case exists; returns its receipt date (every later date is checked against it)."""
    if case.status is Status.NEW or case.received_on is None:
        raise DomainError("case_not_found", "相談が見つかりません。")
    return case.received_on


def _require_workable(case: Case) -> date:
    """A case a worker may still add to: exists, not closed, person not erased.

    After erasure nothing new about the person may be written: it would be sealed under a
    fresh key and bring back what the municipality decided to erase.
    """
    received_on = _require_case(case)
    if case.erased_on is not None:
        raise DomainError("person_erased", "本人の個人情報は消去済みのため、記録を追加できません。")
    if case.status is Status.CLOSED:
        raise DomainError("case_closed", "この相談は終結しています。新たな相談として受け付けてください。")
    return received_on


def _not_before_receipt(day: date, received_on: date, code: str, what: str) -> None:
    if day < received_on:
        raise DomainError(code, f"{what}が相談受付日より前になっています。")


def _receive(case: Case, command: Receive) -> list[DomainEvent]:
    if case.status is not Status.NEW:
        raise DomainError("case_exists", "この相談はすでに受け付けられています。")
    request = command.request
    if request.person.birth_date > request.received_on:
        raise InvalidCommand("birth_after_receipt", "生年月日が相談受付日より後になっています。")
    return [
        ConsultationReceived(
            case_id=command.case_id,
            holder_organisation=command.holder_organisation,
            subject_ref=command.subject_ref,
            channel=request.channel,
            person=request.person,
            household=request.household,
            issue_tags=sorted(set(request.issue_tags)),
            district=request.district,
            summary=request.summary,
            received_on=request.received_on,
        )
    ]


def _open_from_connection(case: Case, opened: CaseOpenedFromConnection) -> list[DomainEvent]:
    """Another program passed the person on under this case key.

    No case yet: open one with details pending. A case already there: record the connection
    on it (once per source reference, so a re-delivered event adds nothing).
    """
    if case.status is Status.NEW:
        return [opened]
    if any(c.source_ref == opened.source_ref for c in case.connections):
        return []
    return [
        ConnectionRecorded(
            source=opened.source,
            source_ref=opened.source_ref,
            source_organisation=opened.source_organisation,
            issue_tags=opened.issue_tags,
            connected_on=opened.received_on,
        )
    ]


def _record_person(case: Case, command: RecordPerson) -> list[DomainEvent]:
    """Record the person's details once a worker knows them (or correct them)."""
    received_on = _require_case(case)
    if case.erased_on is not None:
        raise DomainError("person_erased", "本人の個人情報は消去済みのため、記録できません。")
    if command.person.birth_date > received_on:
        raise InvalidCommand("birth_after_receipt", "生年月日が相談受付日より後になっています。")
    _not_before_receipt(command.recorded_on, received_on, "details_before_receipt", "記録日")
    return [
        PersonDetailsRecorded(
            person=command.person,
            household=command.household,
            summary=command.summary,
            recorded_on=command.recorded_on,
        )
    ]


def _assess(case: Case, command: RecordAssessment) -> list[DomainEvent]:
    received_on = _require_workable(case)
    if not command.issue_tags:
        raise InvalidCommand("assessment_without_issues", "課題分類を1つ以上選んでください。")
    _not_before_receipt(command.assessed_on, received_on, "assessment_before_receipt", "アセスメント日")
    return [
        AssessmentRecorded(
            assessed_on=command.assessed_on,
            findings=command.findings,
            issue_tags=sorted(set(command.issue_tags)),
        )
    ]


def _give_support(case: Case, command: GiveSupport) -> list[DomainEvent]:
    received_on = _require_workable(case)
    _not_before_receipt(command.given_on, received_on, "support_before_receipt", "支援日")
    return [SimpleSupportGiven(given_on=command.given_on, kind=command.kind, note=command.note)]


def _refer_to_agency(case: Case, command: PassToAgency) -> list[DomainEvent]:
    received_on = _require_workable(case)
    request = command.request
    if request.organisation == case.holder:
        raise InvalidCommand(
            "agency_is_holder", "自機関へのつなぎは記録できません。つなぎ先の機関を選んでください。"
        )
    _not_before_receipt(request.referred_on, received_on, "agency_referral_before_receipt", "つなぎ日")
    return [
        ReferredToAgency(
            agency_referral_id=command.agency_referral_id,
            organisation=request.organisation,
            reason=request.reason,
            referred_on=request.referred_on,
        )
    ]


def _refer(case: Case, command: Refer) -> list[DomainEvent]:
    received_on = _require_workable(case)
    if case.pending_referral() is not None:
        raise DomainError(
            "already_referred",
            "この相談はすでに多機関協働事業へ支援依頼中です。つなぎもどしを受けてから再度依頼してください。",
        )
    request = command.request
    _not_before_receipt(request.referred_on, received_on, "referral_before_receipt", "支援依頼日")
    return [
        ReferredToCoordination(
            referral_id=command.referral_id,
            urgency=request.urgency,
            reason=request.reason,
            referred_on=request.referred_on,
        )
    ]


def _close(case: Case, command: CloseCase) -> list[DomainEvent]:
    """終結. Not twice, and not while coordination still holds a referral of the case."""
    received_on = _require_case(case)
    if case.status is Status.CLOSED:
        raise DomainError("already_closed", "この相談はすでに終結しています。")
    if case.pending_referral() is not None:
        raise DomainError(
            "referral_pending",
            "多機関協働事業への支援依頼が継続中のため終結できません。つなぎもどしを受けてから終結してください。",
        )
    if command.reason is ClosureReason.CONNECTED_TO_AGENCY and not case.agency_referrals:
        raise DomainError(
            "no_agency_referral", "関係機関へのつなぎが記録されていません。先につなぎ先を記録してください。"
        )
    if case.erased_on is not None and command.note is not None:
        raise DomainError("person_erased", "本人の個人情報は消去済みのため、終結のメモは記録できません。")
    _not_before_receipt(command.closed_on, received_on, "closure_before_receipt", "終結日")
    return [CaseClosed(reason=command.reason, note=command.note, closed_on=command.closed_on)]


def _accept(case: Case, accepted: ReferralAccepted) -> list[DomainEvent]:
    """Coordination took the referral. Re-deliveries change nothing."""
    referral = case.referral(accepted.referral_id)
    if referral is None:
        raise DomainError("unknown_referral", "この相談に該当する支援依頼がありません。")
    if referral.coordination_case_id is not None or referral.returned_on is not None:
        return []
    return [accepted]


def _take_back(case: Case, returned: ReturnedToOrigin) -> list[DomainEvent]:
    """つなぎもどし: the case is intake's again. Re-deliveries change nothing."""
    referral = case.referral(returned.referral_id)
    if referral is None:
        raise DomainError("unknown_referral", "この相談に該当する支援依頼がありません。")
    if referral.returned_on is not None:
        return []
    return [returned]


def _note_conclusion(case: Case, concluded: CoordinationConcluded) -> list[DomainEvent]:
    """Coordination concluded its part: keep its evaluation with the referral. Idempotent."""
    referral = next(
        (r for r in case.referrals if r.coordination_case_id == concluded.coordination_case_id), None
    )
    if referral is None:
        raise DomainError("unknown_referral", "この相談に該当する支援依頼がありません。")
    if referral.concluded_on is not None:
        return []
    return [concluded]


def _record_meeting(case: Case, meeting: SupportMeetingRecorded) -> list[DomainEvent]:
    """Remember who sat in a meeting on this case. Re-deliveries change nothing."""
    if case.status is Status.NEW:
        raise DomainError("case_not_found", "相談が見つかりません。")
    known = {(m.coordination_case_id, m.plan_version) for m in case.meetings}
    if (meeting.coordination_case_id, meeting.plan_version) in known:
        return []
    return [meeting]


def _erase(case: Case, command: Erase) -> list[DomainEvent]:
    """Record the erasure (the key itself is destroyed by the service layer in the same transaction)."""
    if case.status is Status.NEW:
        raise DomainError("case_not_found", "相談が見つかりません。")
    if case.erased_on is not None:
        return []
    return [PersonErased(erased_on=command.request.erased_on, requested_by=command.requested_by)]


# --- the register ---------------------------------------------------------------------------


def register_entry(case: Case) -> RegisterEntry | None:
    """The case's line in intake's register (`GET /cases`); None until the case exists.

    Search terms: the person's name, kana, birth date and phone, and the household members'
    names, kept by the register only as blind tokens; none while the details are pending or once
    the person is erased. No due date: intake keeps no schedule (reviews are coordination's).
    """
    if case.status is Status.NEW or case.case_id is None or case.holder is None or case.received_on is None:
        return None
    days = [
        case.received_on,
        *([case.details_recorded_on] if case.details_recorded_on else []),
        *(c.connected_on for c in case.connections),
        *(a.assessed_on for a in case.assessments),
        *(s.given_on for s in case.supports),
        *(a.referred_on for a in case.agency_referrals),
        *(
            day
            for r in case.referrals
            for day in (r.referred_on, r.accepted_on, r.returned_on, r.concluded_on)
            if day is not None
        ),
        *(m.held_on for m in case.meetings),
        *([case.closed.closed_on] if case.closed else []),
        *([case.erased_on] if case.erased_on else []),
    ]
    person = case.person if case.erased_on is None else None
    search: tuple[str, ...] = ()
    if person is not None:
        members = (m.name for m in case.household or ())
        search = (
            name_terms(person.name, person.name_kana, *members)
            + day_terms(person.birth_date)
            + phone_terms(person.phone)
        )
    return RegisterEntry(
        case_id=case.case_id,
        case_key=case.case_id,
        organisation=case.holder,
        status=case.status.value,
        district=case.district,
        issue_tags=tuple(sorted(t.value for t in case.issue_tags)),
        opened_on=case.received_on,
        last_activity_on=max(days),
        subject_ref=case.subject_ref,
        search=search,
    )


INTAKE_CASE = Aggregate[Case](
    stream_type=STREAM_TYPE,
    initial=Case,
    evolve=evolve,
    events=(
        ConsultationReceived,
        CaseOpenedFromConnection,
        ConnectionRecorded,
        PersonDetailsRecorded,
        AssessmentRecorded,
        SimpleSupportGiven,
        ReferredToAgency,
        ReferredToCoordination,
        ReferralAccepted,
        ReturnedToOrigin,
        CoordinationConcluded,
        SupportMeetingRecorded,
        CaseClosed,
        PersonErased,
    ),
    decide=decide,
    subject_of=lambda case: case.subject_ref,
    # The case id is the case key every program shares (intake mints it).
    case_key_of=lambda case: case.case_id,
    register=register_entry,
)
