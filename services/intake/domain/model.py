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

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from contracts.events import SUBJECT_REF_PATTERN
from contracts.glossary import (
    AgeBand,
    Channel,
    ClosureReason,
    ConclusionOutcome,
    ConsulterKind,
    IssueTag,
    MeetingType,
    Relation,
    ReturnReason,
    SimpleSupportKind,
    Urgency,
    age_band_for,
    relation_from_text,
)
from libs.domain import Aggregate, Command, DomainError, DomainEvent, InvalidCommand, RegisterEntry
from libs.fields import DistrictCode, Happened, OrganisationCode, WholeNumber
from libs.handover import CaseHandedOver, HandOff, hand_over, handed_to, worker_after
from libs.text import Line, Note, day_terms, line, name_terms, phone_terms

STREAM_TYPE = "IntakeCase"
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

ConnectionSource = Literal["outreach", "community"]


class Identity(BaseModel):
    """Who a person is, as far as the worker knows it (personal data: sealed, never leaves intake).

    A consultation may begin with very little (an anonymous call about "a man in his fifties next
    door"): only an age is needed — a birth date, an age in years as the worker was told it, or an
    estimated age band — because every program and figure counts people by age band. A later
    identification completes it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: line(100) | None = None  # type: ignore[valid-type]
    name_kana: line(100) | None = None  # type: ignore[valid-type]
    birth_date: Happened | None = None
    age: WholeNumber | None = Field(default=None, ge=0, le=130, description="生年月日が分からないときの年齢")
    age_band: AgeBand | None = Field(default=None, description="年齢も分からないときの年代（推定でよい）")
    address: Line | None = None
    phone: line(30) | None = None  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _age_known(self) -> "Identity":
        if self.birth_date is None and self.age is None and self.age_band is None:
            raise PydanticCustomError(
                "age_unknown", "生年月日・年齢・年代（推定でよい）のいずれかを入力してください。"
            )
        return self

    def band_on(self, day: date) -> AgeBand:
        """The age band on `day`: from the birth date when known, else the age or band recorded."""
        if self.birth_date is not None:
            return age_band_for(age_on(self.birth_date, day))
        if self.age is not None:
            return age_band_for(self.age)
        assert self.age_band is not None
        return self.age_band


Person = Identity
"""The person the case is about (本人)."""


class MemberDetails(Identity):
    """Another member of the household (世帯員) as the worker records them."""

    relation: Relation = Field(description="本人から見た続柄")
    subject_ref: str | None = Field(
        default=None,
        pattern=SUBJECT_REF_PATTERN,
        description="すでに記録した世帯員を訂正するとき、その人の参照（新しい世帯員は省略）",
    )

    @model_validator(mode="after")
    def _not_self(self) -> "MemberDetails":
        if self.relation is Relation.SELF:
            raise PydanticCustomError("member_is_self", "本人は世帯員ではなく本人欄に記入してください。")
        return self


class Member(BaseModel):
    """A household member as recorded: a person with a pseudonym of their own, under which their
    identity is sealed (so each member can be referred, and erased, as themselves).

    `subject_ref` is None only for members an older record listed without one: they cannot be
    referred on their own until the household is recorded again.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject_ref: str | None
    relation: Relation
    identity: Identity | None  # None: erased


class Consulter(BaseModel):
    """Who brought the consultation (相談者), apart from the person it is about: the care manager
    who calls about a father, the teacher about a pupil, a neighbour, or someone who will not say.
    Personal data (sealed with the case): never leaves intake."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ConsulterKind
    relation: Relation | None = Field(default=None, description="家族・親族の場合、本人から見た続柄")
    organisation: OrganisationCode | None = Field(
        default=None, description="関係機関の職員の場合、その機関のコード"
    )
    name: line(100) | None = None  # type: ignore[valid-type]
    contact: line(100) | None = Field(default=None, description="連絡先（電話番号など）")  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _consistent(self) -> "Consulter":
        if self.kind is ConsulterKind.ANONYMOUS and (self.name or self.contact):
            raise PydanticCustomError("anonymous_named", "匿名の相談者には氏名や連絡先を記録しません。")
        if self.kind is ConsulterKind.SELF and (self.name or self.relation or self.organisation):
            raise PydanticCustomError(
                "self_consulter_details", "本人からの相談では、相談者の氏名等は本人欄に記入してください。"
            )
        if self.relation is not None and self.kind is not ConsulterKind.FAMILY:
            raise PydanticCustomError("relation_not_family", "続柄は家族・親族の相談者にだけ記録します。")
        if self.organisation is not None and self.kind is not ConsulterKind.PROFESSIONAL:
            raise PydanticCustomError(
                "organisation_not_professional", "機関コードは関係機関の職員の相談者にだけ記録します。"
            )
        return self


SELF_CONSULTED = Consulter(kind=ConsulterKind.SELF)


def _legacy_household(household: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """Version 1 listed members as a free-text relation, an age and maybe a name, sealed with the
    person: read as members without a pseudonym of their own, their age as a band."""
    if household is None:
        return None
    return [
        {
            "subject_ref": None,
            "relation": relation_from_text(m["relation"]).value,
            "identity": {"name": m.get("name"), "age": m["age"]},
        }
        for m in household
    ]


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


# --- private events -------------------------------------------------------------------


def _received_v1_v2(data: dict[str, Any]) -> dict[str, Any]:
    """v1 knew no 相談者 (None: not recorded) and listed the household as free text."""
    return {
        **data,
        "consulter": None,
        "household": _legacy_household(data.get("household")),
    }


class ConsultationReceived(DomainEvent):
    schema_version = 2
    upcasters: ClassVar[dict[int, Upcaster]] = {1: _received_v1_v2}
    personal_fields = ("person", "consulter", "summary")
    people_fields = ("household",)

    case_id: UUID
    holder_organisation: str
    subject_ref: str
    channel: Channel
    consulter: Consulter | None = None  # None: erased, or recorded before 相談者 were
    person: Person | None  # None: erased
    household: list[Member] | None
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


def _details_v1_v2(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "household": _legacy_household(data.get("household"))}


class PersonDetailsRecorded(DomainEvent):
    """The person's details, recorded (or corrected) after the case was opened: an anonymous or
    partial consultation identified, or a case another program opened met in person."""

    schema_version = 2
    upcasters: ClassVar[dict[int, Upcaster]] = {1: _details_v1_v2}
    personal_fields = ("person", "summary")
    people_fields = ("household",)

    person: Person | None  # None: erased
    household: list[Member] | None
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
    # The members the referral is for (their pseudonyms); empty in referrals recorded before
    # members were named, which were for the person the case is about.
    members: list[str] = Field(default_factory=list)
    urgency: Urgency
    reason: str | None
    referred_on: date


class ReferredToOutreach(DomainEvent):
    """A member referred to outreach directly (the son no one had seen, found on a home visit
    about his father): outreach opens a case for that member, under their own pseudonym."""

    personal_fields = ("reason",)

    referral_id: UUID
    subject_ref: str
    age_band: AgeBand
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


class MemberErased(DomainEvent):
    """One household member's key was destroyed: their identity is gone from every copy of this log."""

    subject_ref: str
    erased_on: date
    requested_by: str


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
    members: tuple[str, ...] = ()
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
    consulter: Consulter | None = None
    person: Person | None = None
    household: tuple[Member, ...] | None = None
    summary: str | None = None
    details_pending: bool = False
    details_recorded_on: date | None = None  # the latest day the person's details were recorded
    connections: tuple[Connection, ...] = field(default_factory=tuple)
    assessments: tuple[AssessmentRecorded, ...] = field(default_factory=tuple)
    supports: tuple[SimpleSupportGiven, ...] = field(default_factory=tuple)
    agency_referrals: tuple[ReferredToAgency, ...] = field(default_factory=tuple)
    referrals: tuple[Referral, ...] = field(default_factory=tuple)
    outreach_referrals: tuple[ReferredToOutreach, ...] = field(default_factory=tuple)
    meetings: tuple[SupportMeetingRecorded, ...] = field(default_factory=tuple)
    closed: CaseClosed | None = None
    erased_on: date | None = None
    erased_members: tuple[str, ...] = ()
    handovers: tuple[CaseHandedOver, ...] = ()

    @property
    def age_band(self) -> AgeBand | None:
        """From the person's details when intake has them, else the band another program published."""
        if self.person is not None and self.received_on is not None:
            return self.person.band_on(self.received_on)
        return self.published_age_band

    def member(self, subject_ref: str) -> Member | None:
        """A household member by their pseudonym (not the person the case is about)."""
        return next((m for m in self.household or () if m.subject_ref == subject_ref), None)

    def people(self) -> tuple[str, ...]:
        """The pseudonyms support may name: the person, then each member who has one."""
        members = tuple(m.subject_ref for m in self.household or () if m.subject_ref is not None)
        return ((self.subject_ref,) if self.subject_ref else ()) + members

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
                consulter=event.consulter,
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
            members = tuple(event.members) or ((case.subject_ref,) if case.subject_ref else ())
            referral = Referral(event.referral_id, event.urgency, event.referred_on, members)
            return replace(case, status=Status.REFERRED, referrals=(*case.referrals, referral))
        case ReferredToOutreach():
            return replace(case, outreach_referrals=(*case.outreach_referrals, event))
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
        case CaseHandedOver():
            return replace(
                case,
                holder=event.to_organisation,
                handovers=(*case.handovers, event),
            )
        case PersonErased():
            return replace(case, erased_on=event.erased_on)
        case MemberErased():
            household = tuple(
                m.model_copy(update={"identity": None}) if m.subject_ref == event.subject_ref else m
                for m in case.household or ()
            )
            return replace(
                case, household=household, erased_members=(*case.erased_members, event.subject_ref)
            )
    raise TypeError(f"unknown event {type(event).__name__}")


# --- commands ---------------------------------------------------------------------------
# A worker's request is a command as it is (its fields are the request body's); where the server
# supplies values (a new id, the caller's organisation, a pseudonym) a command wraps the request
# with them. Another program's event arrives as the private event intake records for it.


class ReceiveConsultation(Command):
    """A consultation as the intake worker records it (相談受付)."""

    channel: Channel
    consulter: Consulter = Field(default=SELF_CONSULTED, description="相談者（省略時は本人）")
    person: Person = Field(description="本人（分かる範囲で。匿名の相談では年代だけでもよい）")
    household: list[MemberDetails] = Field(
        default_factory=list, max_length=19, description="本人以外の世帯員"
    )
    issue_tags: list[IssueTag] = Field(min_length=1, max_length=14)
    district: DistrictCode = Field(description="地区コード（例: chuo-1）")
    summary: Note = Field(description="相談内容の要旨（この事業所内のみで保持）")
    received_on: Happened


class Receive(Command):
    """A consultation with what the service mints for it: the case id (the case key every program
    shares), the holding organisation (the caller's), the person's pseudonym and one for each
    household member (in the order of the request's household)."""

    request: ReceiveConsultation
    case_id: UUID
    holder_organisation: str
    subject_ref: str
    member_refs: list[str] = Field(default_factory=list)


class RecordPerson(Command):
    """The person's details, recorded when a case opened by another program first meets them, when
    an anonymous or partial consultation is identified, or to correct them. Replaces the person
    and the household (a member left out has left it; a member named by `subject_ref` keeps their
    pseudonym); the summary only if given."""

    person: Person
    household: list[MemberDetails] = Field(
        default_factory=list, max_length=19, description="本人以外の世帯員"
    )
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

    organisation: OrganisationCode = Field(description="つなぎ先の機関コード")
    reason: Note = Field(description="つなぎの理由（この事業所内のみで保持）")
    referred_on: Happened


class PassToAgency(Command):
    """A referral to an agency with the id the service minted for it (returned to the worker)."""

    request: ReferToAgency
    agency_referral_id: UUID


class ReferToCoordination(Command):
    """A referral to multi-agency coordination (支援依頼), for the household members it names."""

    members: list[Annotated[str, Field(pattern=SUBJECT_REF_PATTERN)]] = Field(
        default_factory=list,
        max_length=20,
        description="支援の対象となる世帯員の参照（本人を含む。省略時は本人）",
    )
    urgency: Urgency = Urgency.ROUTINE
    reason: Note = Field(description="依頼理由（この事業所内のみで保持）")
    referred_on: Happened


class Refer(Command):
    """A referral to coordination with the id the service minted for it: coordination answers
    (acceptance, つなぎもどし) quoting it."""

    request: ReferToCoordination
    referral_id: UUID


class ReferMemberToOutreach(Command):
    """A referral of one member to outreach (アウトリーチ等事業への依頼): someone in the household
    who does not come forward themselves."""

    member: str = Field(pattern=SUBJECT_REF_PATTERN, description="依頼する世帯員の参照（本人も可）")
    urgency: Urgency = Urgency.ROUTINE
    reason: Note = Field(description="依頼理由（この事業所内のみで保持）")
    referred_on: Happened


class ReferOutreach(Command):
    """A referral to outreach with the id the service minted for it."""

    request: ReferMemberToOutreach
    referral_id: UUID


class RecordDetails(Command):
    """Recorded details with a new pseudonym for each member not yet known (request order)."""

    request: RecordPerson
    member_refs: list[str] = Field(default_factory=list)


class CloseCase(Command):
    """終結."""

    reason: ClosureReason
    note: Note | None = Field(default=None, description="終結時のメモ（この事業所内のみで保持）")
    closed_on: Happened


class ErasePerson(Command):
    """Erase a person's details everywhere (個人情報の消去): their key is destroyed. The person the
    case is about, or one household member (each member's details are sealed under their own key)."""

    member: str | None = Field(
        default=None, pattern=SUBJECT_REF_PATTERN, description="消去する世帯員の参照（省略時は本人）"
    )
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
        case RecordDetails():
            return _record_person(case, command)
        case RecordAssessment():
            return _assess(case, command)
        case GiveSupport():
            return _give_support(case, command)
        case PassToAgency():
            return _refer_to_agency(case, command)
        case Refer():
            return _refer(case, command)
        case ReferOutreach():
            return _refer_to_outreach(case, command)
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
        case HandOff():
            _require_workable(case)
            return [hand_over(command, worker_after(case.handovers), last_record_on(case))]
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
    _born_by(request.person, request.household, request.received_on)
    if any(m.subject_ref is not None for m in request.household):
        raise InvalidCommand("unknown_member", "新しい相談の世帯員には参照を指定できません。")
    return [
        ConsultationReceived(
            case_id=command.case_id,
            holder_organisation=command.holder_organisation,
            subject_ref=command.subject_ref,
            channel=request.channel,
            consulter=request.consulter,
            person=request.person,
            household=_members(request.household, iter(command.member_refs)),
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


def _born_by(person: Identity, household: list[MemberDetails], day: date) -> None:
    for who in (person, *household):
        if who.birth_date is not None and who.birth_date > day:
            raise InvalidCommand("birth_after_receipt", "生年月日が相談受付日より後になっています。")


def _members(details: list[MemberDetails], minted: Iterator[str]) -> list[Member]:
    """Members as recorded: a member named by pseudonym keeps it; each other one takes the next minted."""
    members = []
    for d in details:
        ref = d.subject_ref or next(minted, None)
        if ref is None:
            raise TypeError("a pseudonym must be minted for each new household member")
        identity = Identity.model_validate(d.model_dump(exclude={"relation", "subject_ref"}))
        members.append(Member(subject_ref=ref, relation=d.relation, identity=identity))
    return members


def _record_person(case: Case, command: RecordDetails) -> list[DomainEvent]:
    """Record the person's details once a worker knows them (or correct them)."""
    received_on = _require_case(case)
    if case.erased_on is not None:
        raise DomainError("person_erased", "本人の個人情報は消去済みのため、記録できません。")
    request = command.request
    _born_by(request.person, request.household, received_on)
    named = [m.subject_ref for m in request.household if m.subject_ref is not None]
    if any(case.member(ref) is None for ref in named) or len(set(named)) != len(named):
        raise InvalidCommand("unknown_member", "世帯員の参照が、このケースの世帯員と一致しません。")
    if any(ref in case.erased_members for ref in named):
        raise DomainError(
            "person_erased", "個人情報を消去した世帯員は記録できません。世帯員の一覧から外してください。"
        )
    _not_before_receipt(request.recorded_on, received_on, "details_before_receipt", "記録日")
    return [
        PersonDetailsRecorded(
            person=request.person,
            household=_members(request.household, iter(command.member_refs)),
            summary=request.summary,
            recorded_on=request.recorded_on,
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
    members = list(dict.fromkeys(request.members)) or [case.subject_ref]
    for ref in members:
        _require_person(case, ref)
    return [
        ReferredToCoordination(
            referral_id=command.referral_id,
            members=members,
            urgency=request.urgency,
            reason=request.reason,
            referred_on=request.referred_on,
        )
    ]


def _require_person(case: Case, subject_ref: str | None) -> AgeBand:
    """`subject_ref` is the person or a member of this case whose age is known; their band."""
    if subject_ref is not None and subject_ref == case.subject_ref:
        band = case.age_band
    else:
        member = case.member(subject_ref) if subject_ref else None
        if member is None:
            raise InvalidCommand("unknown_member", "指定された世帯員はこのケースに記録されていません。")
        if member.identity is None:
            raise DomainError("person_erased", "この世帯員の個人情報は消去済みのため、依頼できません。")
        assert case.received_on is not None
        band = member.identity.band_on(case.received_on)
    if band is None:
        raise DomainError(
            "details_pending", "本人の情報が未記録のため依頼できません。先に本人の情報を記録してください。"
        )
    return band


def _refer_to_outreach(case: Case, command: ReferOutreach) -> list[DomainEvent]:
    """One member to outreach; not twice for the same member while intake's case runs."""
    received_on = _require_workable(case)
    request = command.request
    band = _require_person(case, request.member)
    if any(r.subject_ref == request.member for r in case.outreach_referrals):
        raise DomainError("already_referred", "この世帯員はすでにアウトリーチ等事業へ依頼しています。")
    _not_before_receipt(request.referred_on, received_on, "referral_before_receipt", "依頼日")
    return [
        ReferredToOutreach(
            referral_id=command.referral_id,
            subject_ref=request.member,
            age_band=band,
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
    request = command.request
    if request.member is not None and request.member != case.subject_ref:
        member = case.member(request.member)
        if member is None:
            raise InvalidCommand("unknown_member", "指定された世帯員はこのケースに記録されていません。")
        if request.member in case.erased_members:
            return []
        return [
            MemberErased(
                subject_ref=request.member, erased_on=request.erased_on, requested_by=command.requested_by
            )
        ]
    if case.erased_on is not None:
        return []
    return [PersonErased(erased_on=request.erased_on, requested_by=command.requested_by)]


# --- the register ---------------------------------------------------------------------------


def register_entry(case: Case) -> RegisterEntry | None:
    """The case's line in intake's register (`GET /cases`); None until the case exists.

    Search terms: the person's name, kana, birth date and phone, and the household members'
    names, kept by the register only as blind tokens; none while the details are pending or once
    the person is erased. No due date: intake keeps no schedule (reviews are coordination's).
    """
    if case.status is Status.NEW or case.case_id is None or case.holder is None or case.received_on is None:
        return None
    person = case.person if case.erased_on is None else None
    search: tuple[str, ...] = ()
    if person is not None:
        people = (person, *(m.identity for m in case.household or () if m.identity is not None))
        search = tuple(
            dict.fromkeys(
                term
                for who in people
                for term in (
                    name_terms(who.name, who.name_kana) + day_terms(who.birth_date) + phone_terms(who.phone)
                )
            )
        )
    return RegisterEntry(
        case_id=case.case_id,
        case_key=case.case_id,
        organisation=case.holder,
        status=case.status.value,
        district=case.district,
        issue_tags=tuple(sorted(t.value for t in case.issue_tags)),
        opened_on=case.received_on,
        last_activity_on=last_record_on(case),
        subject_ref=case.subject_ref,
        search=search,
        handed_to=handed_to(case.handovers),
    )


def last_record_on(case: Case) -> date:
    """The day of the latest thing recorded on a received case (its register line's last activity,
    before which a handover may not be dated)."""
    assert case.received_on is not None
    days = [
        case.received_on,
        *([case.details_recorded_on] if case.details_recorded_on else []),
        *(c.connected_on for c in case.connections),
        *(a.assessed_on for a in case.assessments),
        *(s.given_on for s in case.supports),
        *(a.referred_on for a in case.agency_referrals),
        *(r.referred_on for r in case.outreach_referrals),
        *(
            day
            for r in case.referrals
            for day in (r.referred_on, r.accepted_on, r.returned_on, r.concluded_on)
            if day is not None
        ),
        *(m.held_on for m in case.meetings),
        *([case.closed.closed_on] if case.closed else []),
        *([case.erased_on] if case.erased_on else []),
        *(h.handed_over_on for h in case.handovers),
    ]
    return max(days)


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
        ReferredToOutreach,
        ReferralAccepted,
        ReturnedToOrigin,
        CoordinationConcluded,
        SupportMeetingRecorded,
        CaseClosed,
        PersonErased,
        MemberErased,
        CaseHandedOver,
    ),
    decide=decide,
    subject_of=lambda case: case.subject_ref,
    # The case id is the case key every program shares (intake mints it).
    case_key_of=lambda case: case.case_id,
    register=register_entry,
)
