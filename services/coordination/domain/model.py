"""A coordination case: from a referral through assessment, plan, meetings, monitoring and
conclusion, back to its origin (seed 002, pp.14-15, the five moments of つなぎもどし):

1. 支援依頼 — a referral opens the case (`CaseOpened`), or is declined with a reason.
2. 重層的支援会議での協議 — the coordinator drafts a plan (支援プラン（案）: goals, 本人・世帯の意向,
   支援期間, 緊急時の対応, roles proposed to agencies); each agency accepts or declines its role
   (the coordinator may record the answer for an agency that never logs in); a meeting
   (`meeting.py`) then agrees the draft as a plan version, with the roles that were accepted.
3. 紹介元へのつなぎもどし — the meeting decides the origin stays main support: returned.
4. プラン実行中の連携 — monitoring, referrals to outreach/participation, revisions (a new draft,
   answered and agreed again: the next plan version).
5. 終結後のつなぎもどし — concluded with an evaluation, then returned.

Pure: no I/O, no clock, no random ids. Identifiers, dates and facts from other records (the
meeting a plan was agreed at, whether the person consented) arrive in the commands, and one
`decide(command, case)` says what each leads to.
"""

from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from typing import Annotated
from uuid import UUID, uuid5

from pydantic import BaseModel, ConfigDict, Field

from contracts.events import SUBJECT_REF_PATTERN
from contracts.glossary import (
    AgeBand,
    ConclusionOutcome,
    IssueTag,
    MeetingType,
    ParticipationNeed,
    Program,
    Relation,
    ReturnReason,
    RoleDeclineReason,
    RoleResponsibility,
    Urgency,
)
from libs.domain import (
    Aggregate,
    Command,
    DomainError,
    DomainEvent,
    InvalidCommand,
    NotFound,
    RegisterEntry,
)
from libs.fields import Day, Happened, OrganisationCode, WholeNumber
from libs.handover import CaseHandedOver, HandOff, hand_over, handed_to, holder_after, worker_after
from libs.text import Note, line

STREAM_TYPE = "CoordinationCase"
CODE = r"^[a-z0-9][a-z0-9_.-]{1,63}$"
_CASE_NAMESPACE = UUID("6f1c3f1e-2b8e-4e55-9d7e-4b0c1a9e7c21")

SubjectRef = Annotated[str, Field(pattern=SUBJECT_REF_PATTERN)]


def case_id_for(referral_id: UUID) -> UUID:
    """One coordination case per referral, whoever delivers it and however often."""
    return uuid5(_CASE_NAMESPACE, str(referral_id))


class Role(BaseModel):
    """An agency's part in the plan (役割分担), for the household members it concerns."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    organisation: OrganisationCode
    responsibility: RoleResponsibility
    review_on: Day = Field(description="見直し予定日")
    note: Note | None = None
    members: list[SubjectRef] = Field(
        default_factory=list,
        max_length=20,
        description="この役割が支援する世帯員（仮名の参照）。空のときは世帯全体",
    )


class MemberAssessment(BaseModel):
    """The untangled problems of one household member (課題の解きほぐし). Personal data."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    relation: line(30) = Field(description="本人との続柄（本人の場合は「本人」）")  # type: ignore[valid-type]
    issue_tags: list[IssueTag] = Field(min_length=1, max_length=14)
    findings: Note = Field(description="見立て（この事業所内のみで保持）")


# --- private events -------------------------------------------------------------------


class Member(BaseModel):
    """A household member the referral named: pseudonym and coarse attributes, as intake published
    them (coordination never holds their identity; intake does)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject_ref: str
    relation: Relation
    age_band: AgeBand


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
    # The members the referral is for; empty in cases opened before referrals named them, which
    # were for `subject_ref` alone.
    members: list[Member] = Field(default_factory=list)

    def people(self) -> list[Member]:
        return self.members or [
            Member(subject_ref=self.subject_ref, relation=Relation.SELF, age_band=self.age_band)
        ]


class AssessmentRecorded(DomainEvent):
    """Coordination's assessment of the household, member by member (sealed)."""

    personal_fields = ("members",)

    assessed_on: date
    members: list[MemberAssessment] | None  # None: erased


class PlanDrafted(DomainEvent):
    """支援プラン（案）: the coordinator's draft of plan version `plan_version`, put to the agencies
    it proposes roles to before a meeting agrees it. A later draft of the same version (`draft`
    counts them) replaces it. `kept_answers[i]` is the role of the replaced draft whose answer
    role i keeps, because it is that role unchanged (None: role i waits for an answer), so an
    agency is asked again only when its role changed; in clear, so the count of roles survives
    erasure."""

    personal_fields = ("goals", "wishes", "emergency", "roles")

    plan_version: int
    draft: int
    goals: list[str] | None  # None: erased
    wishes: str | None  # 本人・世帯の意向
    period_from: date  # 支援期間
    period_to: date
    emergency: str | None  # 緊急時の対応 (None: none written, or erased)
    roles: list[Role] | None
    kept_answers: list[int | None]
    drafted_on: date


class PlanAgreed(DomainEvent):
    """A plan version agreed at a meeting: the draft `draft` with the roles its agencies accepted
    (`draft_roles[i]`: the draft's role that agreed role i was). Plans agreed before drafts
    existed have no draft, period, wishes or emergency plan; their roles were accepted afterwards."""

    personal_fields = ("goals", "roles", "wishes", "emergency")

    plan_version: int
    meeting_type: MeetingType
    members: list[str]
    goals: list[str] | None  # None: erased
    roles: list[Role] | None
    agreed_on: date
    meeting_id: UUID | None = None
    goal_count: int | None = None  # kept in clear so an evaluation survives erasure
    draft: int | None = None
    draft_roles: list[int] | None = None
    wishes: str | None = None
    period_from: date | None = None
    period_to: date | None = None
    emergency: str | None = None


class RoleAccepted(DomainEvent):
    """An agency accepted the role draft `draft` of plan version `plan_version` proposes to it
    (役割の受諾), recorded by whom: the agency itself or the coordinator on its word. Without a
    draft: an acceptance of a role of an agreed plan, as earlier releases recorded it."""

    plan_version: int
    role_index: int
    organisation: str
    accepted_on: date
    recorded_by_organisation: str
    draft: int | None = None


class RoleDeclined(DomainEvent):
    """An agency declined the role a draft proposes to it (役割の辞退), with the reason, recorded
    by the agency itself or by the coordinator on its word. A declined role is left out of the plan
    the meeting agrees."""

    personal_fields = ("note",)

    plan_version: int
    draft: int
    role_index: int
    organisation: str
    reason: RoleDeclineReason
    note: str | None
    declined_on: date
    recorded_by_organisation: str


class MonitoringRecorded(DomainEvent):
    """モニタリング: how the plan is going, and with whom information was exchanged."""

    personal_fields = ("note",)

    monitored_on: date
    plan_version: int
    note: str | None
    organisations: list[str]


class ReferredToOutreach(DomainEvent):
    personal_fields = ("reason",)

    referral_id: UUID
    member: str | None = None  # None: the person the case was referred for
    urgency: Urgency
    reason: str | None
    referred_on: date


class ReferredToParticipation(DomainEvent):
    personal_fields = ("reason",)

    referral_id: UUID
    member: str | None = None  # None: the person the case was referred for
    needs: list[ParticipationNeed]
    reason: str | None
    referred_on: date


class ConnectionNoted(DomainEvent):
    """Outreach connected the person to coordination on this case."""

    outreach_case_id: UUID
    organisation: str
    connected_on: date


class PartnerReported(DomainEvent):
    """Outreach or participation reported progress on a person coordination referred (報告).

    `report` names what happened (the partner's public event type), `detail` its code, if any.
    """

    program: Program
    report: str
    detail: str | None
    partner_case_id: UUID
    reported_on: date


class SupportConcluded(DomainEvent):
    """終結: coordination's part ends, with its evaluation."""

    personal_fields = ("evaluation",)

    outcome: ConclusionOutcome
    goals_met: int
    goals_total: int
    evaluation: str | None
    concluded_on: date
    meeting_id: UUID | None = None


class ReturnedToOrigin(DomainEvent):
    personal_fields = ("note",)

    reason: ReturnReason
    note: str | None
    returned_on: date
    meeting_id: UUID | None = None


# --- state ----------------------------------------------------------------------------


class Status(StrEnum):
    NEW = "new"
    OPEN = "open"
    PLAN_AGREED = "plan_agreed"
    CONCLUDED = "concluded"
    RETURNED = "returned"


AWAITING_ANSWERS = "awaiting_answers"
"""The register's status of a case whose draft has a role no agency has answered yet (first plan
or revision): what the coordinator must chase before the meeting can agree it."""

Answer = RoleAccepted | RoleDeclined


@dataclass(frozen=True)
class Draft:
    """The draft being answered: `answers[i]` is role i's answer, None while it has none."""

    drafted: PlanDrafted
    answers: tuple[Answer | None, ...]

    @property
    def unanswered(self) -> list[int]:
        return [i for i, answer in enumerate(self.answers) if answer is None]


@dataclass(frozen=True)
class Acceptance:
    """Role `role_index` of agreed plan `plan_version` was accepted: on `accepted_on`, recorded by
    `recorded_by_organisation` (while it was a draft, or after agreement in earlier releases)."""

    plan_version: int
    role_index: int
    organisation: str
    accepted_on: date
    recorded_by_organisation: str


@dataclass(frozen=True)
class Case:
    status: Status = Status.NEW
    opened: CaseOpened | None = None
    assessments: tuple[AssessmentRecorded, ...] = field(default_factory=tuple)
    draft: Draft | None = None
    plans: tuple[PlanAgreed, ...] = field(default_factory=tuple)
    acceptances: tuple[Acceptance, ...] = field(default_factory=tuple)
    monitoring: tuple[MonitoringRecorded, ...] = field(default_factory=tuple)
    outreach_referrals: tuple[ReferredToOutreach, ...] = field(default_factory=tuple)
    participation_referrals: tuple[ReferredToParticipation, ...] = field(default_factory=tuple)
    connections: tuple[ConnectionNoted, ...] = field(default_factory=tuple)
    partner_reports: tuple[PartnerReported, ...] = field(default_factory=tuple)
    concluded: SupportConcluded | None = None
    returned: ReturnedToOrigin | None = None
    handovers: tuple[CaseHandedOver, ...] = ()

    @property
    def holder(self) -> str | None:
        return holder_after(self.opened.holder_organisation, self.handovers) if self.opened else None

    @property
    def current_plan(self) -> PlanAgreed | None:
        return self.plans[-1] if self.plans else None

    @property
    def member_refs(self) -> tuple[str, ...]:
        """The household members this case knows, by pseudonym: whom a plan role may name."""
        return tuple(m.subject_ref for m in self.opened.people()) if self.opened else ()

    def member(self, subject_ref: str | None) -> Member | None:
        """A member by pseudonym; None (no pseudonym given) is the person the case was referred for."""
        if self.opened is None:
            return None
        people = self.opened.people()
        if subject_ref is None:
            return people[0]
        return next((m for m in people if m.subject_ref == subject_ref), None)

    def acceptance(self, plan_version: int, role_index: int) -> Acceptance | None:
        return next(
            (a for a in self.acceptances if (a.plan_version, a.role_index) == (plan_version, role_index)),
            None,
        )


def _drafted(case: Case, event: PlanDrafted) -> Case:
    """A new draft; roles it keeps unchanged from the draft it replaces keep their answers."""
    same_version = case.draft is not None and case.draft.drafted.plan_version == event.plan_version
    previous = case.draft.answers if case.draft is not None and same_version else ()
    answers = tuple(
        previous[kept] if kept is not None and 0 <= kept < len(previous) else None
        for kept in event.kept_answers
    )
    return replace(case, draft=Draft(event, answers))


def _answered(case: Case, event: Answer) -> Case:
    assert case.draft is not None, "an answer is decided on a draft"
    answers = list(case.draft.answers)
    answers[event.role_index] = event
    return replace(case, draft=Draft(case.draft.drafted, tuple(answers)))


def _agreed(case: Case, event: PlanAgreed) -> Case:
    """The agreed plan; its roles' acceptances are those its draft's roles were given."""
    accepted = []
    if case.draft is not None and event.draft_roles is not None:
        for index, role in enumerate(event.draft_roles):
            answer = case.draft.answers[role]
            assert isinstance(answer, RoleAccepted), "only accepted roles are agreed"
            accepted.append(
                Acceptance(
                    event.plan_version,
                    index,
                    answer.organisation,
                    answer.accepted_on,
                    answer.recorded_by_organisation,
                )
            )
    return replace(
        case,
        status=Status.PLAN_AGREED,
        draft=None,
        plans=(*case.plans, event),
        acceptances=(*case.acceptances, *accepted),
    )


def evolve(case: Case, event: DomainEvent) -> Case:
    match event:
        case CaseOpened():
            return replace(case, status=Status.OPEN, opened=event)
        case AssessmentRecorded():
            return replace(case, assessments=(*case.assessments, event))
        case PlanDrafted():
            return _drafted(case, event)
        case RoleAccepted() if event.draft is not None:
            return _answered(case, event)
        case RoleDeclined():
            return _answered(case, event)
        case PlanAgreed():
            return _agreed(case, event)
        case RoleAccepted():
            legacy = Acceptance(
                event.plan_version,
                event.role_index,
                event.organisation,
                event.accepted_on,
                event.recorded_by_organisation,
            )
            return replace(case, acceptances=(*case.acceptances, legacy))
        case MonitoringRecorded():
            return replace(case, monitoring=(*case.monitoring, event))
        case ReferredToOutreach():
            return replace(case, outreach_referrals=(*case.outreach_referrals, event))
        case ReferredToParticipation():
            return replace(case, participation_referrals=(*case.participation_referrals, event))
        case ConnectionNoted():
            return replace(case, connections=(*case.connections, event))
        case PartnerReported():
            return replace(case, partner_reports=(*case.partner_reports, event))
        case SupportConcluded():
            return replace(case, status=Status.CONCLUDED, concluded=event)
        case ReturnedToOrigin():
            return replace(case, status=Status.RETURNED, returned=event)
        case CaseHandedOver():
            return replace(case, handovers=(*case.handovers, event))
    raise TypeError(f"unknown event {type(event).__name__}")


def register_entry(case: Case) -> RegisterEntry | None:
    """The case's line in coordination's register: codes and dates only. The state holds no
    name, birth date or phone (intake does), so the line has nothing to search by."""
    opened = case.opened
    if opened is None:
        return None
    draft = case.draft
    # Next due: the earliest review (見直し予定日) of the current plan's roles, while it runs.
    plan = case.current_plan
    reviews = [r.review_on for r in plan.roles or ()] if plan and case.status is Status.PLAN_AGREED else []
    # While a draft waits for an agency's answer, that is what the case waits for; a plan that
    # runs meanwhile keeps its review date.
    active = case.status in (Status.OPEN, Status.PLAN_AGREED)
    waiting = active and draft is not None and bool(draft.unanswered)
    return RegisterEntry(
        case_id=opened.coordination_case_id,
        case_key=opened.case_key,
        organisation=holder_after(opened.holder_organisation, case.handovers),
        status=AWAITING_ANSWERS if waiting else case.status.value,
        district=opened.district,
        issue_tags=tuple(sorted(t.value for t in opened.issue_tags)),
        opened_on=opened.opened_on,
        last_activity_on=last_record_on(case),
        due_on=min(reviews, default=None),
        subject_ref=opened.subject_ref,
        handed_to=handed_to(case.handovers),
    )


def last_record_on(case: Case) -> date:
    """The day of the latest thing recorded on an opened case (its register line's last activity,
    before which a handover may not be dated)."""
    opened, draft = case.opened, case.draft
    assert opened is not None
    days = [
        opened.opened_on,
        *(a.assessed_on for a in case.assessments),
        *([draft.drafted.drafted_on] if draft else []),
        *(answered_on(a) for a in (draft.answers if draft else ()) if a is not None),
        *(p.agreed_on for p in case.plans),
        *(a.accepted_on for a in case.acceptances),
        *(m.monitored_on for m in case.monitoring),
        *(r.referred_on for r in case.outreach_referrals),
        *(r.referred_on for r in case.participation_referrals),
        *(c.connected_on for c in case.connections),
        *(r.reported_on for r in case.partner_reports),
        *([case.concluded.concluded_on] if case.concluded else []),
        *([case.returned.returned_on] if case.returned else []),
        *(h.handed_over_on for h in case.handovers),
    ]
    return max(days)


def answered_on(answer: Answer) -> date:
    """The day an agency answered (accepted or declined) a proposed role."""
    return answer.accepted_on if isinstance(answer, RoleAccepted) else answer.declined_on


# --- commands ---------------------------------------------------------------------------
# A coordinator's request is a command as it is (its fields are the request body's); where the
# server supplies values (a new id, the caller's organisation, the terms of a recorded meeting,
# whether the person consented) a command wraps the request with them. Another program's event
# arrives as the private event coordination records for it.


class OpenCase(Command):
    """Intake referred a person (支援依頼, its public ReferredToCoordination): the case it opens."""

    opened: CaseOpened


class DeclineReferral(Command):
    """Decline a referral (不受理): it goes back to its origin with the reason."""

    note: Note = Field(description="不受理の理由（この事業所内のみで保持。紹介元には理由コードが届きます）")
    declined_on: Happened


class RecordAssessment(Command):
    """課題の解きほぐし: the household's problems, member by member."""

    assessed_on: Happened
    members: list[MemberAssessment] = Field(min_length=1, max_length=20)


class DraftPlan(Command):
    """支援プラン（案）: the plan the coordinator puts to the agencies before a meeting agrees it.

    Another draft before the meeting replaces this one (roles left unchanged keep their
    answers); a draft after a plan was agreed is its revision (the next version).
    """

    goals: list[Note] = Field(min_length=1, max_length=50, description="支援目標")
    wishes: Note = Field(description="本人・世帯の意向（この事業所内のみで保持）")
    period_from: Day = Field(description="支援期間の開始日（予定日も可）")
    period_to: Day = Field(description="支援期間の終了日（予定）")
    emergency: Note | None = Field(
        default=None, description="緊急時の対応（連絡先・手順など。この事業所内のみで保持）"
    )
    roles: list[Role] = Field(
        min_length=1, max_length=50, description="提案する役割分担（各機関の受諾・辞退を経て会議で決定）"
    )
    drafted_on: Happened


class AgreePlan(Command):
    """A meeting agreed the current 支援プラン（案） as the case's next plan version (a second
    one is a revision), with the roles its agencies accepted; every role must have an answer.

    Name the meeting by its record (`meeting_id`): its type, attendees and date apply. Without
    a record, give the meeting's type, members and date here.
    """

    meeting_id: UUID | None = Field(default=None, description="会議の記録（POST /meetings）")
    meeting_type: MeetingType | None = None
    members: list[OrganisationCode] | None = Field(
        default=None,
        min_length=1,
        max_length=50,
        description="会議に出席した機関（支援会議では構成員のみが情報を見られます）",
    )
    agreed_on: Happened | None = None


class PlanAtMeeting(Command):
    """A plan with the meeting's terms as the service established them (from the meeting's record,
    or as the request gave them) and whether an active consent covering coordination exists on
    the day it was agreed (coordination's copy of intake's consents, see consent.py)."""

    request: AgreePlan
    meeting_type: MeetingType
    members: list[str]
    agreed_on: date
    consented: bool


class AcceptRole(Command):
    """An agency accepted the role the draft plan proposes to it (役割の受諾)."""

    accepted_on: Happened


class DeclineRole(Command):
    """An agency declined the role the draft plan proposes to it (役割の辞退), with the reason."""

    reason: RoleDeclineReason
    note: Note | None = Field(
        default=None, description="辞退の理由の補足（「その他」のときは必須。この事業所内のみで保持）"
    )
    declined_on: Happened


class RecordAcceptance(Command):
    """An acceptance of role `role_index` of the draft of plan version `plan_version`, recorded by
    the caller's organisation (the holder on the agency's word, or the agency itself)."""

    request: AcceptRole
    plan_version: int
    role_index: int
    recorded_by: str


class RecordDeclination(Command):
    """A refusal of role `role_index` of the draft of plan version `plan_version`, recorded by the
    caller's organisation (the holder on the agency's word, or the agency itself)."""

    request: DeclineRole
    plan_version: int
    role_index: int
    recorded_by: str


class RecordMonitoring(Command):
    """モニタリング: how the plan is going; with whom information was exchanged."""

    monitored_on: Happened
    note: Note = Field(description="モニタリングの記録（この事業所内のみで保持）")
    organisations: list[OrganisationCode] = Field(
        default_factory=list, max_length=50, description="情報共有した機関"
    )


class ReferToOutreach(Command):
    """A request to outreach (アウトリーチ等事業) to build contact with a person who does not come forward."""

    member: str | None = Field(
        default=None,
        pattern=SUBJECT_REF_PATTERN,
        description="依頼する世帯員の参照（省略時は支援依頼の本人）",
    )
    urgency: Urgency = Urgency.ROUTINE
    reason: Note = Field(description="依頼理由（この事業所内のみで保持）")
    referred_on: Happened


class SendToOutreach(Command):
    """A referral to outreach with the id the service minted for it: outreach answers quoting it."""

    request: ReferToOutreach
    referral_id: UUID


class ReferToParticipation(Command):
    """A request to participation support (参加支援事業) for a place, for one member of the household."""

    member: str | None = Field(
        default=None,
        pattern=SUBJECT_REF_PATTERN,
        description="依頼する世帯員の参照（省略時は支援依頼の本人）",
    )
    needs: list[ParticipationNeed] = Field(min_length=1, max_length=5)
    reason: Note = Field(description="依頼理由（この事業所内のみで保持）")
    referred_on: Happened


class SendToParticipation(Command):
    """A referral to participation with the id the service minted for it: participation answers quoting it."""

    request: ReferToParticipation
    referral_id: UUID


class ConcludeSupport(Command):
    """終結 with its evaluation (goals met out of the current plan's goals)."""

    outcome: ConclusionOutcome
    goals_met: WholeNumber = Field(ge=0, le=50)
    evaluation: Note = Field(description="評価（この事業所内のみで保持）")
    concluded_on: Happened
    meeting_id: UUID | None = Field(default=None, description="終結を協議した会議の記録")


class ReturnToOrigin(Command):
    """Return the case to the organisation that referred it (つなぎもどし)."""

    reason: ReturnReason
    note: Note | None = None
    returned_on: Happened
    meeting_id: UUID | None = Field(default=None, description="つなぎもどしを決めた会議の記録")


class NoteConnection(Command):
    """Outreach connected the person to coordination on this case (its public ConnectedToSupport)."""

    noted: ConnectionNoted


class NotePartnerReport(Command):
    """Outreach or participation reported progress on a person coordination referred to them."""

    reported: PartnerReported


# --- decisions --------------------------------------------------------------------------


def decide(command: Command, case: Case) -> list[DomainEvent]:
    """The events a command leads to on this case, or a DomainError saying why not."""
    match command:
        case OpenCase():
            return _open_case(case, command.opened)
        case DeclineReferral():
            return _decline(case, command)
        case RecordAssessment():
            return _assess(case, command)
        case DraftPlan():
            return _draft_plan(case, command)
        case RecordAcceptance():
            return _accept_role(case, command)
        case RecordDeclination():
            return _decline_role(case, command)
        case PlanAtMeeting():
            return _agree_plan(case, command)
        case RecordMonitoring():
            return _monitor(case, command)
        case SendToOutreach():
            return _refer_to_outreach(case, command)
        case SendToParticipation():
            return _refer_to_participation(case, command)
        case NoteConnection():
            return _note_connection(case, command.noted)
        case NotePartnerReport():
            return _note_partner_report(case, command.reported)
        case ConcludeSupport():
            return _conclude(case, command)
        case ReturnToOrigin():
            return _return_to_origin(case, command)
        case HandOff():
            _require_active(case)
            return [hand_over(command, worker_after(case.handovers), last_record_on(case))]
    raise TypeError(f"coordination cannot decide {type(command).__name__}")


COORDINATION_CASE = Aggregate[Case](
    stream_type=STREAM_TYPE,
    initial=Case,
    evolve=evolve,
    events=(
        CaseOpened,
        AssessmentRecorded,
        PlanDrafted,
        RoleAccepted,
        RoleDeclined,
        PlanAgreed,
        MonitoringRecorded,
        ReferredToOutreach,
        ReferredToParticipation,
        ConnectionNoted,
        PartnerReported,
        SupportConcluded,
        ReturnedToOrigin,
        CaseHandedOver,
    ),
    decide=decide,
    subject_of=lambda case: case.opened.subject_ref if case.opened else None,
    # The case key intake minted, kept on every event so the case's records are found by index.
    case_key_of=lambda case: case.opened.case_key if case.opened else None,
    register=register_entry,
)


def _open_case(case: Case, opened: CaseOpened) -> list[DomainEvent]:
    """Accept a referral. A re-delivered referral finds the case open and changes nothing."""
    if case.status is not Status.NEW:
        return []
    return [opened]


def _require_opened(case: Case) -> CaseOpened:
    if case.opened is None:
        raise NotFound("case_not_found", "ケースが見つかりません。")
    return case.opened


def _require_active(case: Case) -> CaseOpened:
    """A case coordination is still working on: not returned, not concluded."""
    opened = _require_opened(case)
    if case.status is Status.RETURNED:
        raise DomainError("case_returned", "このケースはすでにつなぎもどし済みです。")
    if case.status is Status.CONCLUDED:
        raise DomainError(
            "case_concluded", "このケースは終結しています。紹介元へのつなぎもどしのみ記録できます。"
        )
    return opened


def _not_before_opening(day: date, opened: CaseOpened, code: str, what: str) -> None:
    if day < opened.opened_on:
        raise DomainError(code, f"{what}がケース開始日より前になっています。")


def _require_plan(case: Case, what: str) -> PlanAgreed:
    plan = case.current_plan
    if plan is None:
        raise DomainError("no_plan", f"支援プランが決定されていないため、{what}を記録できません。")
    return plan


def _decline(case: Case, command: DeclineReferral) -> list[DomainEvent]:
    """不受理: send the referral back with a reason. Only before any plan exists."""
    opened = _require_active(case)
    if case.plans:
        raise DomainError(
            "plan_exists",
            "支援プランが決定済みのため不受理にできません。会議の決定によるつなぎもどしを記録してください。",
        )
    _not_before_opening(command.declined_on, opened, "decline_before_opening", "不受理の日")
    return [
        ReturnedToOrigin(
            reason=ReturnReason.REFERRAL_DECLINED, note=command.note, returned_on=command.declined_on
        )
    ]


def _assess(case: Case, command: RecordAssessment) -> list[DomainEvent]:
    """課題の解きほぐし: at least one member, each with at least one issue."""
    opened = _require_active(case)
    if not command.members:
        raise InvalidCommand(
            "assessment_without_members", "世帯員ごとのアセスメントを1人以上記録してください。"
        )
    _not_before_opening(command.assessed_on, opened, "assessment_before_opening", "アセスメント日")
    return [AssessmentRecorded(assessed_on=command.assessed_on, members=command.members)]


def _draft_plan(case: Case, command: DraftPlan) -> list[DomainEvent]:
    """支援プラン（案）: the next plan version as proposed; a new draft before agreement replaces
    the last one, and each of its roles that is unchanged keeps the answer it already had."""
    opened = _require_active(case)
    if not command.goals:
        raise InvalidCommand("plan_without_goals", "支援プランには目標が1つ以上必要です。")
    if not command.roles:
        raise InvalidCommand("plan_without_roles", "支援プランには役割分担が1つ以上必要です。")
    if command.period_to < command.period_from:
        raise InvalidCommand(
            "period_ends_before_start", "period_to（支援期間の終了日）が開始日より前になっています。"
        )
    known = set(case.member_refs)
    for index, role in enumerate(command.roles):
        if not set(role.members) <= known:
            raise InvalidCommand(
                "unknown_member",
                f"roles.{index}.members に、このケースの世帯員ではない参照があります。ケースの世帯員から選んでください。",
            )
    drafted_on = command.drafted_on
    _not_before_opening(drafted_on, opened, "draft_before_opening", "案の作成日")
    current = case.current_plan
    if current is not None and drafted_on < current.agreed_on:
        raise DomainError("draft_before_plan", "案の作成日が、現在のプランの決定日より前になっています。")
    previous = case.draft
    if previous is not None and drafted_on < previous.drafted.drafted_on:
        raise DomainError(
            "draft_before_draft", "案の作成日が、置き換える前の案の作成日より前になっています。"
        )
    if command.period_to < drafted_on:
        raise DomainError("period_before_draft", "支援期間の終了日が案の作成日より前になっています。")
    if any(role.review_on < drafted_on for role in command.roles):
        raise DomainError("review_before_draft", "見直し予定日は案の作成日以降にしてください。")
    roles = [r.model_copy(update={"members": sorted(set(r.members))}) for r in command.roles]
    plan_version = len(case.plans) + 1
    return [
        PlanDrafted(
            plan_version=plan_version,
            draft=previous.drafted.draft + 1 if previous is not None else 1,
            goals=command.goals,
            wishes=command.wishes,
            period_from=command.period_from,
            period_to=command.period_to,
            emergency=command.emergency,
            roles=roles,
            kept_answers=_kept_answers(previous, roles),
            drafted_on=drafted_on,
        )
    ]


def _kept_answers(previous: Draft | None, roles: list[Role]) -> list[int | None]:
    """For each new role, the answered role of the replaced draft it repeats unchanged, if any
    (each old role at most once, so two identical roles are not both answered by one answer)."""
    old = previous.drafted.roles if previous is not None else None
    if previous is None or old is None:
        return [None] * len(roles)
    used: set[int] = set()
    kept: list[int | None] = []
    for role in roles:
        match = next(
            (j for j, o in enumerate(old) if j not in used and o == role and previous.answers[j] is not None),
            None,
        )
        if match is not None:
            used.add(match)
        kept.append(match)
    return kept


def _role_to_answer(case: Case, plan_version: int, role_index: int, on: date) -> tuple[Draft, Role]:
    """The draft's role an agency answers: the current draft's, proposed before the answer."""
    _require_active(case)
    draft = case.draft
    if draft is None or draft.drafted.plan_version != plan_version:
        if any(p.plan_version == plan_version for p in case.plans):
            raise DomainError(
                "plan_already_agreed",
                f"支援プランの第{plan_version}版は決定済みです。役割の受諾・辞退は案の段階で記録します（見直す場合は新しい案を作成してください）。",
            )
        raise DomainError("plan_not_found", f"支援プランの第{plan_version}版の案はありません。")
    roles = draft.drafted.roles
    if roles is None:
        raise DomainError("person_erased", "本人の情報が消去済みのため、役割を確認できません。")
    if not 0 <= role_index < len(roles):
        raise DomainError("role_not_found", f"この案に{role_index}番の役割はありません。")
    if on < draft.drafted.drafted_on:
        raise DomainError("answer_before_draft", "回答日が案の作成日より前になっています。")
    return draft, roles[role_index]


def _accept_role(case: Case, command: RecordAcceptance) -> list[DomainEvent]:
    """An agency accepts its proposed role. An agency that declined may still accept before the
    meeting (the last answer counts); accepting twice is refused, so a repeat is noticed."""
    on = command.request.accepted_on
    draft, role = _role_to_answer(case, command.plan_version, command.role_index, on)
    if isinstance(draft.answers[command.role_index], RoleAccepted):
        raise DomainError("role_already_accepted", "この役割の受諾はすでに記録されています。")
    return [
        RoleAccepted(
            plan_version=command.plan_version,
            role_index=command.role_index,
            organisation=role.organisation,
            accepted_on=on,
            recorded_by_organisation=command.recorded_by,
            draft=draft.drafted.draft,
        )
    ]


def _decline_role(case: Case, command: RecordDeclination) -> list[DomainEvent]:
    """An agency declines its proposed role, with a reason code (and a note when the code is
    「その他」). It may change its mind before the meeting; declining twice is refused."""
    request = command.request
    if request.reason is RoleDeclineReason.OTHER and not request.note:
        raise InvalidCommand(
            "decline_note_required", "辞退の理由が「その他」のときは、note（理由の補足）を記入してください。"
        )
    draft, role = _role_to_answer(case, command.plan_version, command.role_index, request.declined_on)
    if isinstance(draft.answers[command.role_index], RoleDeclined):
        raise DomainError("role_already_declined", "この役割の辞退はすでに記録されています。")
    return [
        RoleDeclined(
            plan_version=command.plan_version,
            draft=draft.drafted.draft,
            role_index=command.role_index,
            organisation=role.organisation,
            reason=request.reason,
            note=request.note,
            declined_on=request.declined_on,
            recorded_by_organisation=command.recorded_by,
        )
    ]


def _agree_plan(case: Case, command: PlanAtMeeting) -> list[DomainEvent]:
    """A meeting agrees the current draft as the next plan version (a later one is a revision):
    once every proposed role has an answer, with the roles that were accepted.

    `command.consented`: an active consent covering coordination exists on the day it was agreed.
    Which kinds of meeting may agree a plan is the consent rule below alone: a 支援会議 still may.
    """
    opened = _require_active(case)
    agreed_on = command.agreed_on
    if not command.members:
        raise DomainError("meeting_without_members", "会議の出席機関を1つ以上記録してください。")
    if command.meeting_type is MeetingType.SUPPORT_PLAN_MEETING and not command.consented:
        raise DomainError(
            "consent_required",
            "本人の同意がないケースは重層的支援会議で扱えません。同意を得るか、支援会議（社会福祉法第106条の6）で検討してください。",
        )
    draft = case.draft
    if draft is None:
        raise DomainError(
            "no_draft",
            "決定する支援プラン（案）がありません。案を作成し、提案した役割ごとに各機関の受諾・辞退を記録してから、会議での決定を記録してください。",
        )
    drafted = draft.drafted
    if drafted.goals is None or drafted.roles is None:
        raise DomainError("person_erased", "本人の情報が消去済みのため、支援プランを決定できません。")
    if draft.unanswered:
        waiting = "、".join(f"{i}番（{drafted.roles[i].organisation}）" for i in draft.unanswered)
        raise DomainError(
            "roles_unanswered",
            f"受諾・辞退の回答がない役割があります: {waiting}。すべての役割の回答を記録してから決定してください。",
        )
    accepted = [i for i, answer in enumerate(draft.answers) if isinstance(answer, RoleAccepted)]
    if not accepted:
        raise DomainError(
            "no_accepted_role",
            "受諾された役割がありません。役割を見直した案を作成し、各機関の回答を記録してください。",
        )
    _not_before_opening(agreed_on, opened, "plan_before_opening", "プラン決定日")
    current = case.current_plan
    if current is not None and agreed_on < current.agreed_on:
        raise DomainError(
            "revision_before_plan", "見直し後のプランの決定日が、現在のプランの決定日より前です。"
        )
    if agreed_on < drafted.drafted_on:
        raise DomainError("plan_before_draft", "プラン決定日が案の作成日より前になっています。")
    if any(answer is not None and answered_on(answer) > agreed_on for answer in draft.answers):
        raise DomainError(
            "answer_after_plan",
            "会議の日より後の日付で回答された役割があります。回答は会議での決定までに記録してください。",
        )
    roles = [drafted.roles[i] for i in accepted]
    if any(role.review_on < agreed_on for role in roles):
        raise DomainError("review_before_plan", "見直し予定日はプラン決定日以降にしてください。")
    if drafted.period_to < agreed_on:
        raise DomainError(
            "period_before_plan", "支援期間の終了日がプラン決定日より前です。案を作り直してください。"
        )
    return [
        PlanAgreed(
            plan_version=drafted.plan_version,
            meeting_type=command.meeting_type,
            members=sorted(set(command.members)),
            goals=drafted.goals,
            roles=roles,
            agreed_on=agreed_on,
            meeting_id=command.request.meeting_id,
            goal_count=len(drafted.goals),
            draft=drafted.draft,
            draft_roles=accepted,
            wishes=drafted.wishes,
            period_from=drafted.period_from,
            period_to=drafted.period_to,
            emergency=drafted.emergency,
        )
    ]


def _monitor(case: Case, command: RecordMonitoring) -> list[DomainEvent]:
    """モニタリング of the current plan (moment 4: information keeps flowing with the origin)."""
    _require_active(case)
    plan = _require_plan(case, "モニタリング")
    if command.monitored_on < plan.agreed_on:
        raise DomainError("monitoring_before_plan", "モニタリング日がプラン決定日より前になっています。")
    return [
        MonitoringRecorded(
            monitored_on=command.monitored_on,
            plan_version=plan.plan_version,
            note=command.note,
            organisations=sorted(set(command.organisations)),
        )
    ]


def _require_member(case: Case, subject_ref: str | None) -> None:
    if case.member(subject_ref) is None:
        raise InvalidCommand("unknown_member", "指定された世帯員はこのケースの支援依頼に含まれていません。")


def _refer_to_outreach(case: Case, command: SendToOutreach) -> list[DomainEvent]:
    """Ask outreach to build contact with a person who does not come forward."""
    opened = _require_active(case)
    request = command.request
    _not_before_opening(request.referred_on, opened, "referral_before_opening", "依頼日")
    _require_member(case, request.member)
    return [
        ReferredToOutreach(
            referral_id=command.referral_id,
            member=request.member,
            urgency=request.urgency,
            reason=request.reason,
            referred_on=request.referred_on,
        )
    ]


def _refer_to_participation(case: Case, command: SendToParticipation) -> list[DomainEvent]:
    """Ask participation support for a place; it starts after coordination's assessment."""
    opened = _require_active(case)
    request = command.request
    if not request.needs:
        raise InvalidCommand("referral_without_needs", "参加支援のニーズを1つ以上選んでください。")
    if not case.assessments:
        raise DomainError(
            "assessment_required", "参加支援への依頼の前に、世帯のアセスメントを記録してください。"
        )
    _not_before_opening(request.referred_on, opened, "referral_before_opening", "依頼日")
    _require_member(case, request.member)
    return [
        ReferredToParticipation(
            referral_id=command.referral_id,
            member=request.member,
            needs=sorted(set(request.needs)),
            reason=request.reason,
            referred_on=request.referred_on,
        )
    ]


def _note_connection(case: Case, noted: ConnectionNoted) -> list[DomainEvent]:
    """Outreach connected the person here. Re-deliveries change nothing."""
    _require_opened(case)
    if any(c.outreach_case_id == noted.outreach_case_id for c in case.connections):
        return []
    return [noted]


def _note_partner_report(case: Case, reported: PartnerReported) -> list[DomainEvent]:
    """Keep what outreach and participation report back, even after the case has returned:
    it is the history of the person's support. Re-deliveries are dropped by the inbox."""
    _require_opened(case)
    return [reported]


def _conclude(case: Case, command: ConcludeSupport) -> list[DomainEvent]:
    """終結 with the evaluation of the current plan's goals. Once."""
    opened = _require_opened(case)
    if case.status is Status.CONCLUDED:
        raise DomainError("already_concluded", "このケースはすでに終結しています。")
    if case.status is Status.RETURNED:
        raise DomainError("case_returned", "このケースはすでにつなぎもどし済みです。")
    plan = _require_plan(case, "終結")
    goals_total = plan.goal_count if plan.goal_count is not None else len(plan.goals or ())
    if not 0 <= command.goals_met <= goals_total:
        raise InvalidCommand(
            "goals_met_out_of_range",
            f"達成した目標の数は0から{goals_total}（プランの目標数）の間で入力してください。",
        )
    if command.concluded_on < plan.agreed_on:
        raise DomainError("conclusion_before_plan", "終結日がプラン決定日より前になっています。")
    _not_before_opening(command.concluded_on, opened, "conclusion_before_opening", "終結日")
    return [
        SupportConcluded(
            outcome=command.outcome,
            goals_met=command.goals_met,
            goals_total=goals_total,
            evaluation=command.evaluation,
            concluded_on=command.concluded_on,
            meeting_id=command.meeting_id,
        )
    ]


def _return_to_origin(case: Case, command: ReturnToOrigin) -> list[DomainEvent]:
    """つなぎもどし: by a meeting's decision (moment 3) or after conclusion (moment 5)."""
    opened = _require_opened(case)
    reason, returned_on = command.reason, command.returned_on
    if case.status is Status.RETURNED:
        raise DomainError("case_returned", "このケースはすでにつなぎもどし済みです。")
    if reason is ReturnReason.REFERRAL_DECLINED:
        raise DomainError("use_decline", "不受理は「支援依頼を不受理にする」から記録してください。")
    if case.status is Status.CONCLUDED:
        if reason is not ReturnReason.SUPPORT_CONCLUDED:
            raise DomainError(
                "concluded_return_reason", "終結したケースは「支援終結によるつなぎもどし」で戻してください。"
            )
        assert case.concluded is not None
        if returned_on < case.concluded.concluded_on:
            raise DomainError("return_before_conclusion", "つなぎもどし日が終結日より前になっています。")
    if reason is ReturnReason.SUPPORT_CONCLUDED and not case.plans:
        raise DomainError("no_plan", "支援プランのないケースは「支援終結」としてつなぎもどしできません。")
    _not_before_opening(returned_on, opened, "return_before_opening", "つなぎもどし日")
    return [
        ReturnedToOrigin(
            reason=reason, note=command.note, returned_on=returned_on, meeting_id=command.meeting_id
        )
    ]
