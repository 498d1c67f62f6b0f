"""A coordination case: from a referral through assessment, plan, meetings, monitoring and
conclusion, back to its origin (seed 002, pp.14-15, the five moments of つなぎもどし):

1. 支援依頼 — a referral opens the case (`CaseOpened`), or is declined with a reason.
2. 重層的支援会議での協議 — meetings (`meeting.py`) discuss the case; a plan version is agreed.
3. 紹介元へのつなぎもどし — the meeting decides the origin stays main support: returned.
4. プラン実行中の連携 — roles accepted, monitoring, referrals to outreach/participation,
   revisions (a new plan version).
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

from contracts.glossary import (
    AgeBand,
    ConclusionOutcome,
    IssueTag,
    MeetingType,
    ParticipationNeed,
    Program,
    ReturnReason,
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
from libs.fields import Day, Happened, WholeNumber
from libs.text import Note, line

STREAM_TYPE = "CoordinationCase"
CODE = r"^[a-z0-9][a-z0-9_.-]{1,63}$"
_CASE_NAMESPACE = UUID("6f1c3f1e-2b8e-4e55-9d7e-4b0c1a9e7c21")

OrganisationCode = Annotated[str, Field(pattern=CODE)]


def case_id_for(referral_id: UUID) -> UUID:
    """One coordination case per referral, whoever delivers it and however often."""
    return uuid5(_CASE_NAMESPACE, str(referral_id))


class Role(BaseModel):
    """An agency's part in the plan (役割分担)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    organisation: str = Field(pattern=CODE)
    responsibility: RoleResponsibility
    review_on: Day
    note: Note | None = None


class MemberAssessment(BaseModel):
    """The untangled problems of one household member (課題の解きほぐし). Personal data."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    relation: line(30) = Field(description="本人との続柄（本人の場合は「本人」）")  # type: ignore[valid-type]
    issue_tags: list[IssueTag] = Field(min_length=1, max_length=14)
    findings: Note = Field(description="見立て（この事業所内のみで保持）")


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


class AssessmentRecorded(DomainEvent):
    """Coordination's assessment of the household, member by member (sealed)."""

    personal_fields = ("members",)

    assessed_on: date
    members: list[MemberAssessment] | None  # None: erased


class PlanAgreed(DomainEvent):
    personal_fields = ("goals", "roles")

    plan_version: int
    meeting_type: MeetingType
    members: list[str]
    goals: list[str] | None  # None: erased
    roles: list[Role] | None
    agreed_on: date
    meeting_id: UUID | None = None
    goal_count: int | None = None  # kept in clear so an evaluation survives erasure


class RoleAccepted(DomainEvent):
    """An agency accepted its role in a plan version (役割の受諾), recorded by whom."""

    plan_version: int
    role_index: int
    organisation: str
    accepted_on: date
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
    urgency: Urgency
    reason: str | None
    referred_on: date


class ReferredToParticipation(DomainEvent):
    personal_fields = ("reason",)

    referral_id: UUID
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


@dataclass(frozen=True)
class Case:
    status: Status = Status.NEW
    opened: CaseOpened | None = None
    assessments: tuple[AssessmentRecorded, ...] = field(default_factory=tuple)
    plans: tuple[PlanAgreed, ...] = field(default_factory=tuple)
    acceptances: tuple[RoleAccepted, ...] = field(default_factory=tuple)
    monitoring: tuple[MonitoringRecorded, ...] = field(default_factory=tuple)
    outreach_referrals: tuple[ReferredToOutreach, ...] = field(default_factory=tuple)
    participation_referrals: tuple[ReferredToParticipation, ...] = field(default_factory=tuple)
    connections: tuple[ConnectionNoted, ...] = field(default_factory=tuple)
    partner_reports: tuple[PartnerReported, ...] = field(default_factory=tuple)
    concluded: SupportConcluded | None = None
    returned: ReturnedToOrigin | None = None

    @property
    def current_plan(self) -> PlanAgreed | None:
        return self.plans[-1] if self.plans else None

    def acceptance(self, plan_version: int, role_index: int) -> RoleAccepted | None:
        return next(
            (a for a in self.acceptances if (a.plan_version, a.role_index) == (plan_version, role_index)),
            None,
        )


def evolve(case: Case, event: DomainEvent) -> Case:
    match event:
        case CaseOpened():
            return replace(case, status=Status.OPEN, opened=event)
        case AssessmentRecorded():
            return replace(case, assessments=(*case.assessments, event))
        case PlanAgreed():
            return replace(case, status=Status.PLAN_AGREED, plans=(*case.plans, event))
        case RoleAccepted():
            return replace(case, acceptances=(*case.acceptances, event))
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
    raise TypeError(f"unknown event {type(event).__name__}")


def register_entry(case: Case) -> RegisterEntry | None:
    """The case's line in coordination's register: codes and dates only. The state holds no
    name, birth date or phone (intake does), so the line has nothing to search by."""
    opened = case.opened
    if opened is None:
        return None
    days = [
        opened.opened_on,
        *(a.assessed_on for a in case.assessments),
        *(p.agreed_on for p in case.plans),
        *(a.accepted_on for a in case.acceptances),
        *(m.monitored_on for m in case.monitoring),
        *(r.referred_on for r in case.outreach_referrals),
        *(r.referred_on for r in case.participation_referrals),
        *(c.connected_on for c in case.connections),
        *(r.reported_on for r in case.partner_reports),
        *([case.concluded.concluded_on] if case.concluded else []),
        *([case.returned.returned_on] if case.returned else []),
    ]
    # Next due: the earliest review (見直し予定日) of the current plan's roles, while it runs.
    plan = case.current_plan
    reviews = [r.review_on for r in plan.roles or ()] if plan and case.status is Status.PLAN_AGREED else []
    return RegisterEntry(
        case_id=opened.coordination_case_id,
        case_key=opened.case_key,
        organisation=opened.holder_organisation,
        status=case.status.value,
        district=opened.district,
        issue_tags=tuple(sorted(t.value for t in opened.issue_tags)),
        opened_on=opened.opened_on,
        last_activity_on=max(days),
        due_on=min(reviews, default=None),
        subject_ref=opened.subject_ref,
    )


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


class AgreePlan(Command):
    """A support plan version as agreed at a meeting (支援プラン). A second one is a revision.

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
    goals: list[Note] = Field(min_length=1, max_length=50, description="支援目標")
    roles: list[Role] = Field(min_length=1, max_length=50, description="役割分担")
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
    """An agency accepted its role in the plan (役割の受諾)."""

    accepted_on: Happened


class RecordAcceptance(Command):
    """An acceptance of role `role_index` of plan version `plan_version`, recorded by the caller's
    organisation (the holder on the agency's word, or the agency itself)."""

    request: AcceptRole
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

    urgency: Urgency = Urgency.ROUTINE
    reason: Note = Field(description="依頼理由（この事業所内のみで保持）")
    referred_on: Happened


class SendToOutreach(Command):
    """A referral to outreach with the id the service minted for it: outreach answers quoting it."""

    request: ReferToOutreach
    referral_id: UUID


class ReferToParticipation(Command):
    """A request to participation support (参加支援事業) for a place."""

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
        case PlanAtMeeting():
            return _agree_plan(case, command)
        case RecordAcceptance():
            return _accept_role(case, command)
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
    raise TypeError(f"coordination cannot decide {type(command).__name__}")


COORDINATION_CASE = Aggregate[Case](
    stream_type=STREAM_TYPE,
    initial=Case,
    evolve=evolve,
    events=(
        CaseOpened,
        AssessmentRecorded,
        PlanAgreed,
        RoleAccepted,
        MonitoringRecorded,
        ReferredToOutreach,
        ReferredToParticipation,
        ConnectionNoted,
        PartnerReported,
        SupportConcluded,
        ReturnedToOrigin,
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


def _agree_plan(case: Case, command: PlanAtMeeting) -> list[DomainEvent]:
    """A plan version agreed at a meeting; a later one is a revision (the next version).

    `command.consented`: an active consent covering coordination exists on the day it was agreed.
    """
    opened = _require_active(case)
    request, agreed_on = command.request, command.agreed_on
    if not command.members:
        raise DomainError("meeting_without_members", "会議の出席機関を1つ以上記録してください。")
    if not request.goals:
        raise DomainError("plan_without_goals", "支援プランには目標が1つ以上必要です。")
    if not request.roles:
        raise DomainError("plan_without_roles", "支援プランには役割分担が1つ以上必要です。")
    if command.meeting_type is MeetingType.SUPPORT_PLAN_MEETING and not command.consented:
        raise DomainError(
            "consent_required",
            "本人の同意がないケースは重層的支援会議で扱えません。同意を得るか、支援会議（社会福祉法第106条の6）で検討してください。",
        )
    _not_before_opening(agreed_on, opened, "plan_before_opening", "プラン決定日")
    current = case.current_plan
    if current is not None and agreed_on < current.agreed_on:
        raise DomainError(
            "revision_before_plan", "見直し後のプランの決定日が、現在のプランの決定日より前です。"
        )
    if any(role.review_on < agreed_on for role in request.roles):
        raise DomainError("review_before_plan", "見直し予定日はプラン決定日以降にしてください。")
    return [
        PlanAgreed(
            plan_version=len(case.plans) + 1,
            meeting_type=command.meeting_type,
            members=sorted(set(command.members)),
            goals=request.goals,
            roles=request.roles,
            agreed_on=agreed_on,
            meeting_id=request.meeting_id,
            goal_count=len(request.goals),
        )
    ]


def _accept_role(case: Case, command: RecordAcceptance) -> list[DomainEvent]:
    """An agency accepted its part in the current plan version."""
    _require_active(case)
    plan_version, role_index = command.plan_version, command.role_index
    accepted_on = command.request.accepted_on
    plan = next((p for p in case.plans if p.plan_version == plan_version), None)
    if plan is None:
        raise DomainError("plan_not_found", f"支援プランの第{plan_version}版はありません。")
    if plan is not case.current_plan:
        raise DomainError(
            "plan_superseded",
            "この版のプランは見直し済みです。最新の版の役割について受諾を記録してください。",
        )
    if plan.roles is None:
        raise DomainError("person_erased", "本人の情報が消去済みのため、役割を確認できません。")
    if not 0 <= role_index < len(plan.roles):
        raise DomainError("role_not_found", f"このプランに{role_index}番の役割はありません。")
    if case.acceptance(plan_version, role_index) is not None:
        raise DomainError("role_already_accepted", "この役割の受諾はすでに記録されています。")
    if accepted_on < plan.agreed_on:
        raise DomainError("acceptance_before_plan", "受諾日がプラン決定日より前になっています。")
    return [
        RoleAccepted(
            plan_version=plan_version,
            role_index=role_index,
            organisation=plan.roles[role_index].organisation,
            accepted_on=accepted_on,
            recorded_by_organisation=command.recorded_by,
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


def _refer_to_outreach(case: Case, command: SendToOutreach) -> list[DomainEvent]:
    """Ask outreach to build contact with a person who does not come forward."""
    opened = _require_active(case)
    request = command.request
    _not_before_opening(request.referred_on, opened, "referral_before_opening", "依頼日")
    return [
        ReferredToOutreach(
            referral_id=command.referral_id,
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
    return [
        ReferredToParticipation(
            referral_id=command.referral_id,
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
