"""Coordination's responses: a case as a reader with a legal basis sees it, a meeting record,
and what a write created or changed.

Requests are the domain's commands themselves (services/coordination/domain/model.py and meeting.py).
"""

import uuid
from datetime import date

from pydantic import BaseModel, Field

from contracts.glossary import (
    AgeBand,
    ConclusionOutcome,
    IssueTag,
    MeetingType,
    ParticipationNeed,
    Program,
    Relation,
    ReturnReason,
    RoleAnswer,
    RoleDeclineReason,
    Urgency,
    label_ja,
)
from libs import handover
from services.coordination.domain import meeting, model


class RoleView(BaseModel):
    index: int
    organisation: str
    responsibility: str
    responsibility_label: str
    review_on: date
    note: str | None
    members: list[str] = Field(description="この役割が支援する世帯員（仮名の参照）。空は世帯全体")
    accepted_on: date | None
    accepted_recorded_by: str | None = Field(
        description="受諾を記録した機関（本人の機関か、代わりに記録した多機関協働）"
    )


class PlanView(BaseModel):
    plan_version: int
    current: bool
    meeting_id: uuid.UUID | None
    meeting_type: MeetingType
    meeting_type_label: str
    members: list[str]
    goals: list[str] | None = Field(description="消去済みの場合は null")
    wishes: str | None = Field(
        description="本人・世帯の意向（案から。案のない以前のプランと消去済みは null）"
    )
    period_from: date | None = Field(description="支援期間の開始日")
    period_to: date | None = Field(description="支援期間の終了日")
    emergency: str | None = Field(description="緊急時の対応")
    draft: int | None = Field(description="決定した案の番号（案のない以前のプランは null）")
    roles: list[RoleView] | None
    agreed_on: date


class DraftRoleView(BaseModel):
    index: int
    organisation: str
    responsibility: str
    responsibility_label: str
    review_on: date
    note: str | None
    members: list[str]
    answer: RoleAnswer | None = Field(description="受諾・辞退（回答待ちは null）")
    answer_label: str | None
    answered_on: date | None
    recorded_by: str | None = Field(
        description="回答を記録した機関（その機関自身か、代わりに記録した多機関協働）"
    )
    decline_reason: RoleDeclineReason | None
    decline_reason_label: str | None
    decline_note: str | None


class DraftView(BaseModel):
    """The plan being drafted (支援プラン（案）): what the next meeting is to agree."""

    plan_version: int = Field(description="決定されるとこの版になる")
    draft: int = Field(description="案の番号（作り直すごとに増える）")
    drafted_on: date
    goals: list[str] | None = Field(description="消去済みの場合は null")
    wishes: str | None
    period_from: date
    period_to: date
    emergency: str | None
    roles: list[DraftRoleView] | None
    unanswered: list[int] = Field(description="回答待ちの役割の番号")


class AssessmentView(BaseModel):
    assessed_on: date
    members: list[model.MemberAssessment] | None


class MonitoringView(BaseModel):
    monitored_on: date
    plan_version: int
    note: str | None
    organisations: list[str]


class OutreachReferralView(BaseModel):
    referral_id: uuid.UUID
    urgency: Urgency
    reason: str | None
    referred_on: date


class ParticipationReferralView(BaseModel):
    referral_id: uuid.UUID
    needs: list[ParticipationNeed]
    reason: str | None
    referred_on: date


class ConclusionView(BaseModel):
    outcome: ConclusionOutcome
    outcome_label: str
    goals_met: int
    goals_total: int
    evaluation: str | None
    concluded_on: date


class PartnerReportView(BaseModel):
    program: Program
    program_label: str
    report: str = Field(description="報告の種類（例: PlacementStarted）")
    detail: str | None
    partner_case_id: uuid.UUID
    reported_on: date


class ConnectionView(BaseModel):
    outreach_case_id: uuid.UUID
    organisation: str
    connected_on: date


class MemberView(BaseModel):
    """A household member the referral named: pseudonym and coarse attributes (intake holds who)."""

    subject_ref: str
    relation: Relation
    relation_label: str
    age_band: AgeBand


class CaseView(BaseModel):
    coordination_case_id: uuid.UUID
    version: int
    status: model.Status
    holder_organisation: str
    handovers: list[handover.HandoverView]
    case_key: uuid.UUID
    referral_id: uuid.UUID
    referring_organisation: str
    subject_ref: str
    members: list[MemberView] = Field(description="支援依頼が対象とした世帯員（本人を含む）")
    issue_tags: list[IssueTag]
    age_band: AgeBand
    district: str
    urgency: Urgency
    opened_on: date
    assessments: list[AssessmentView]
    draft: DraftView | None = Field(description="会議での決定を待つ支援プラン（案）")
    plans: list[PlanView]
    monitoring: list[MonitoringView]
    outreach_referrals: list[OutreachReferralView]
    participation_referrals: list[ParticipationReferralView]
    connections: list[ConnectionView]
    partner_reports: list[PartnerReportView] = Field(description="アウトリーチ・参加支援からの報告")
    conclusion: ConclusionView | None
    returned_on: date | None
    return_reason: ReturnReason | None
    return_reason_label: str | None
    return_note: str | None


class Changed(BaseModel):
    coordination_case_id: uuid.UUID
    version: int


class PlanChanged(Changed):
    plan_version: int


class DraftChanged(PlanChanged):
    draft: int = Field(description="案の番号（この版の前の案を置き換えた回数 + 1）")


class ReferralCreated(Changed):
    referral_id: uuid.UUID


class MeetingCreated(BaseModel):
    meeting_id: uuid.UUID
    version: int


class MeetingView(BaseModel):
    meeting_id: uuid.UUID
    holder_organisation: str
    meeting_type: MeetingType
    meeting_type_label: str
    held_on: date
    attendees: list[meeting.Attendee]
    cases: list[uuid.UUID]
    decisions: list[meeting.CaseDecision]
    missing_resources: list[meeting.MissingResource]


def plan_view(case: model.Case, plan: model.PlanAgreed) -> PlanView:
    roles = None
    if plan.roles is not None:
        roles = []
        for index, role in enumerate(plan.roles):
            accepted = case.acceptance(plan.plan_version, index)
            roles.append(
                RoleView(
                    index=index,
                    organisation=role.organisation,
                    responsibility=role.responsibility,
                    responsibility_label=label_ja(role.responsibility),
                    review_on=role.review_on,
                    note=role.note,
                    members=role.members,
                    accepted_on=accepted.accepted_on if accepted else None,
                    accepted_recorded_by=accepted.recorded_by_organisation if accepted else None,
                )
            )
    return PlanView(
        plan_version=plan.plan_version,
        current=plan is case.current_plan,
        meeting_id=plan.meeting_id,
        meeting_type=plan.meeting_type,
        meeting_type_label=label_ja(plan.meeting_type),
        members=plan.members,
        goals=plan.goals,
        wishes=plan.wishes,
        period_from=plan.period_from,
        period_to=plan.period_to,
        emergency=plan.emergency,
        draft=plan.draft,
        roles=roles,
        agreed_on=plan.agreed_on,
    )


def _draft_role_view(index: int, role: model.Role, answer: model.Answer | None) -> DraftRoleView:
    declined = answer if isinstance(answer, model.RoleDeclined) else None
    kind = None if answer is None else RoleAnswer.DECLINED if declined else RoleAnswer.ACCEPTED
    return DraftRoleView(
        index=index,
        organisation=role.organisation,
        responsibility=role.responsibility,
        responsibility_label=label_ja(role.responsibility),
        review_on=role.review_on,
        note=role.note,
        members=role.members,
        answer=kind,
        answer_label=label_ja(kind) if kind else None,
        answered_on=model.answered_on(answer) if answer else None,
        recorded_by=answer.recorded_by_organisation if answer else None,
        decline_reason=declined.reason if declined else None,
        decline_reason_label=label_ja(declined.reason) if declined else None,
        decline_note=declined.note if declined else None,
    )


def draft_view(draft: model.Draft) -> DraftView:
    drafted = draft.drafted
    roles = (
        None
        if drafted.roles is None
        else [_draft_role_view(i, r, draft.answers[i]) for i, r in enumerate(drafted.roles)]
    )
    return DraftView(
        plan_version=drafted.plan_version,
        draft=drafted.draft,
        drafted_on=drafted.drafted_on,
        goals=drafted.goals,
        wishes=drafted.wishes,
        period_from=drafted.period_from,
        period_to=drafted.period_to,
        emergency=drafted.emergency,
        roles=roles,
        unanswered=draft.unanswered,
    )


def case_view(case: model.Case, version: int) -> CaseView:
    """The case as its reader sees it: personal fields as read (None where the person was erased)."""
    opened = case.opened
    assert opened is not None
    concluded, returned = case.concluded, case.returned
    return CaseView(
        **opened.model_dump(exclude={"coordination_case_id", "holder_organisation", "members"}),
        members=[MemberView(**m.model_dump(), relation_label=label_ja(m.relation)) for m in opened.people()],
        coordination_case_id=opened.coordination_case_id,
        holder_organisation=case.holder,
        handovers=handover.views(case.handovers),
        version=version,
        status=case.status,
        assessments=[AssessmentView(assessed_on=a.assessed_on, members=a.members) for a in case.assessments],
        draft=draft_view(case.draft) if case.draft else None,
        plans=[plan_view(case, p) for p in case.plans],
        monitoring=[MonitoringView(**m.model_dump()) for m in case.monitoring],
        outreach_referrals=[OutreachReferralView(**r.model_dump()) for r in case.outreach_referrals],
        participation_referrals=[
            ParticipationReferralView(**r.model_dump()) for r in case.participation_referrals
        ],
        connections=[ConnectionView(**c.model_dump()) for c in case.connections],
        partner_reports=[
            PartnerReportView(**r.model_dump(), program_label=label_ja(r.program))
            for r in case.partner_reports
        ],
        conclusion=ConclusionView(
            **concluded.model_dump(exclude={"meeting_id"}), outcome_label=label_ja(concluded.outcome)
        )
        if concluded
        else None,
        returned_on=returned.returned_on if returned else None,
        return_reason=returned.reason if returned else None,
        return_reason_label=label_ja(returned.reason) if returned else None,
        return_note=returned.note if returned else None,
    )


def meeting_view(meeting_id: uuid.UUID, state: meeting.Meeting) -> MeetingView:
    held = state.held
    assert held is not None
    return MeetingView(
        **held.model_dump(exclude={"meeting_id"}),
        meeting_id=meeting_id,
        meeting_type_label=label_ja(held.meeting_type),
    )
