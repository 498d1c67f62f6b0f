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
    ReturnReason,
    Urgency,
    label_ja,
)
from services.coordination.domain import meeting, model


class RoleView(BaseModel):
    index: int
    organisation: str
    responsibility: str
    responsibility_label: str
    review_on: date
    note: str | None
    accepted_on: date | None


class PlanView(BaseModel):
    plan_version: int
    current: bool
    meeting_id: uuid.UUID | None
    meeting_type: MeetingType
    meeting_type_label: str
    members: list[str]
    goals: list[str] | None = Field(description="消去済みの場合は null")
    roles: list[RoleView] | None
    agreed_on: date


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


class CaseView(BaseModel):
    coordination_case_id: uuid.UUID
    version: int
    status: model.Status
    holder_organisation: str
    case_key: uuid.UUID
    referral_id: uuid.UUID
    referring_organisation: str
    subject_ref: str
    issue_tags: list[IssueTag]
    age_band: AgeBand
    district: str
    urgency: Urgency
    opened_on: date
    assessments: list[AssessmentView]
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
                    accepted_on=accepted.accepted_on if accepted else None,
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
        roles=roles,
        agreed_on=plan.agreed_on,
    )


def case_view(case: model.Case, version: int) -> CaseView:
    """The case as its reader sees it: personal fields as read (None where the person was erased)."""
    opened = case.opened
    assert opened is not None
    concluded, returned = case.concluded, case.returned
    return CaseView(
        **opened.model_dump(exclude={"coordination_case_id"}),
        coordination_case_id=opened.coordination_case_id,
        version=version,
        status=case.status,
        assessments=[AssessmentView(assessed_on=a.assessed_on, members=a.members) for a in case.assessments],
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
