"""Coordination's HTTP API: see a case, decline or work it (assessment, plan versions, role
acceptance, monitoring, referrals to outreach and participation), record meetings, conclude,
and return the case to its origin."""

import uuid
from datetime import date
from typing import Annotated

from fastapi import Depends, FastAPI, Path, Response
from pydantic import BaseModel, ConfigDict, Field

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
from libs.fields import Day, WholeNumber
from libs.http import Caller, etag, if_match
from libs.runtime import Runtime
from libs.text import Note
from services.coordination.domain import meeting, model
from services.coordination.service_layer import handlers

OrganisationCode = Annotated[str, Field(pattern=model.CODE)]


class PlanIn(BaseModel):
    """A support plan version as agreed at a meeting (支援プラン). A second one is a revision.

    Name the meeting by its record (`meeting_id`): its type, attendees and date apply. Without
    a record, give the meeting's type, members and date here.
    """

    model_config = ConfigDict(extra="forbid")

    meeting_id: uuid.UUID | None = Field(default=None, description="会議の記録（POST /meetings）")
    meeting_type: MeetingType | None = None
    members: list[OrganisationCode] | None = Field(
        default=None,
        min_length=1,
        max_length=50,
        description="会議に出席した機関（支援会議では構成員のみが情報を見られます）",
    )
    goals: list[Note] = Field(min_length=1, max_length=50, description="支援目標")
    roles: list[model.Role] = Field(min_length=1, max_length=50, description="役割分担")
    agreed_on: Day | None = None


class DeclineIn(BaseModel):
    """Decline a referral (不受理): it goes back to its origin with the reason."""

    model_config = ConfigDict(extra="forbid")

    note: Note = Field(description="不受理の理由（この事業所内のみで保持。紹介元には理由コードが届きます）")
    declined_on: Day


class AssessmentIn(BaseModel):
    """課題の解きほぐし: the household's problems, member by member."""

    model_config = ConfigDict(extra="forbid")

    assessed_on: Day
    members: list[model.MemberAssessment] = Field(min_length=1, max_length=20)


class AcceptanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accepted_on: Day


class MonitoringIn(BaseModel):
    """モニタリング: how the plan is going; with whom information was exchanged."""

    model_config = ConfigDict(extra="forbid")

    monitored_on: Day
    note: Note = Field(description="モニタリングの記録（この事業所内のみで保持）")
    organisations: list[OrganisationCode] = Field(
        default_factory=list, max_length=50, description="情報共有した機関"
    )


class OutreachReferralIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    urgency: Urgency = Urgency.ROUTINE
    reason: Note = Field(description="依頼理由（この事業所内のみで保持）")
    referred_on: Day


class ParticipationReferralIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    needs: list[ParticipationNeed] = Field(min_length=1, max_length=5)
    reason: Note = Field(description="依頼理由（この事業所内のみで保持）")
    referred_on: Day


class ConclusionIn(BaseModel):
    """終結 with its evaluation (goals met out of the current plan's goals)."""

    model_config = ConfigDict(extra="forbid")

    outcome: ConclusionOutcome
    goals_met: WholeNumber = Field(ge=0, le=50)
    evaluation: Note = Field(description="評価（この事業所内のみで保持）")
    concluded_on: Day
    meeting_id: uuid.UUID | None = Field(default=None, description="終結を協議した会議の記録")


class ReturnIn(BaseModel):
    """Return the case to the organisation that referred it (つなぎもどし)."""

    model_config = ConfigDict(extra="forbid")

    reason: ReturnReason
    note: Note | None = None
    returned_on: Day
    meeting_id: uuid.UUID | None = Field(default=None, description="つなぎもどしを決めた会議の記録")


class MeetingIn(BaseModel):
    """A case meeting (重層的支援会議・支援会議) as a record: codes only, no free text."""

    model_config = ConfigDict(extra="forbid")

    meeting_type: MeetingType
    held_on: Day
    attendees: list[meeting.Attendee] = Field(min_length=1, max_length=50)
    cases: list[uuid.UUID] = Field(default_factory=list, max_length=50, description="協議したケース")
    decisions: list[meeting.CaseDecision] = Field(default_factory=list, max_length=100)
    missing_resources: list[meeting.MissingResource] = Field(
        default_factory=list, max_length=50, description="不足している地域資源（地域づくり事業へ）"
    )


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


def _plan_view(case: model.Case, plan: model.PlanAgreed) -> PlanView:
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


def _view(case: model.Case, version: int) -> CaseView:
    opened = case.opened
    assert opened is not None
    concluded, returned = case.concluded, case.returned
    return CaseView(
        **opened.model_dump(exclude={"coordination_case_id"}),
        coordination_case_id=opened.coordination_case_id,
        version=version,
        status=case.status,
        assessments=[AssessmentView(assessed_on=a.assessed_on, members=a.members) for a in case.assessments],
        plans=[_plan_view(case, p) for p in case.plans],
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


def _meeting_view(meeting_id: uuid.UUID, state: meeting.Meeting) -> MeetingView:
    held = state.held
    assert held is not None
    return MeetingView(
        **held.model_dump(exclude={"meeting_id"}),
        meeting_id=meeting_id,
        meeting_type_label=label_ja(held.meeting_type),
    )


def routes(app: FastAPI) -> None:
    runtime: Runtime = app.state.runtime
    engine, directory = runtime.engine, runtime.directory
    CallerDep = Annotated[Caller, Depends(app.state.caller)]
    VersionDep = Annotated[int | None, Depends(if_match)]

    def changed(response: Response, case_id: uuid.UUID, version: int) -> Changed:
        response.headers["ETag"] = etag(version)
        return Changed(coordination_case_id=case_id, version=version)

    @app.get(
        "/cases/{case_id}",
        response_model=CaseView,
        tags=["cases"],
        summary="ケースを見る（閲覧は記録されます）",
    )
    async def read(case_id: uuid.UUID, response: Response, caller: CallerDep) -> CaseView:
        loaded = await handlers.read_case(engine, caller, case_id)
        response.headers["ETag"] = etag(loaded.version)
        response.headers["Cache-Control"] = "no-store"
        return _view(loaded.state, loaded.version)

    @app.get(
        "/referrals/{referral_id}",
        response_model=CaseView,
        tags=["cases"],
        summary="支援依頼からケースを見る",
    )
    async def read_by_referral(referral_id: uuid.UUID, response: Response, caller: CallerDep) -> CaseView:
        return await read(model.case_id_for(referral_id), response, caller)

    @app.post(
        "/cases/{case_id}/decline",
        status_code=201,
        response_model=Changed,
        tags=["cases"],
        summary="支援依頼を不受理にして紹介元へ戻す",
    )
    async def decline(
        case_id: uuid.UUID,
        body: DeclineIn,
        response: Response,
        expected_version: VersionDep,
        caller: CallerDep,
    ) -> Changed:
        outcome = await handlers.decline(
            engine, caller, case_id, expected_version=expected_version, **dict(body)
        )
        return changed(response, case_id, outcome.version)

    @app.post(
        "/cases/{case_id}/assessments",
        status_code=201,
        response_model=Changed,
        tags=["cases"],
        summary="世帯員ごとのアセスメント（課題の解きほぐし）を記録する",
    )
    async def assess(
        case_id: uuid.UUID,
        body: AssessmentIn,
        response: Response,
        expected_version: VersionDep,
        caller: CallerDep,
    ) -> Changed:
        outcome = await handlers.record_assessment(
            engine, caller, case_id, expected_version=expected_version, **dict(body)
        )
        return changed(response, case_id, outcome.version)

    @app.post(
        "/cases/{case_id}/plans",
        status_code=201,
        response_model=PlanChanged,
        tags=["plans"],
        summary="会議で合意した支援プランを記録する（2回目以降は見直し＝新しい版）",
    )
    async def agree_plan(
        case_id: uuid.UUID, body: PlanIn, response: Response, expected_version: VersionDep, caller: CallerDep
    ) -> PlanChanged:
        outcome = await handlers.agree_plan(
            engine, caller, case_id, expected_version=expected_version, **dict(body)
        )
        changed(response, case_id, outcome.version)
        return PlanChanged(
            coordination_case_id=case_id, version=outcome.version, plan_version=len(outcome.state.plans)
        )

    @app.post(
        "/cases/{case_id}/plans/{plan_version}/roles/{role_index}/acceptance",
        status_code=201,
        response_model=Changed,
        tags=["plans"],
        summary="役割の受諾を記録する（役割の番号は0から）",
    )
    async def accept_role(
        case_id: uuid.UUID,
        plan_version: Annotated[int, Path(ge=1, le=1000)],
        role_index: Annotated[int, Path(ge=0, le=1000)],
        body: AcceptanceIn,
        response: Response,
        caller: CallerDep,
    ) -> Changed:
        outcome = await handlers.accept_role(
            engine, caller, case_id, plan_version=plan_version, role_index=role_index, **dict(body)
        )
        return changed(response, case_id, outcome.version)

    @app.post(
        "/cases/{case_id}/monitoring",
        status_code=201,
        response_model=Changed,
        tags=["plans"],
        summary="モニタリングを記録する",
    )
    async def monitor(
        case_id: uuid.UUID,
        body: MonitoringIn,
        response: Response,
        expected_version: VersionDep,
        caller: CallerDep,
    ) -> Changed:
        outcome = await handlers.monitor(
            engine, caller, case_id, expected_version=expected_version, **dict(body)
        )
        return changed(response, case_id, outcome.version)

    @app.post(
        "/cases/{case_id}/referrals/outreach",
        status_code=201,
        response_model=ReferralCreated,
        tags=["referrals"],
        summary="アウトリーチ等事業へ依頼する",
    )
    async def refer_to_outreach(
        case_id: uuid.UUID,
        body: OutreachReferralIn,
        response: Response,
        expected_version: VersionDep,
        caller: CallerDep,
    ) -> ReferralCreated:
        outcome = await handlers.refer_to_outreach(
            engine, caller, case_id, expected_version=expected_version, **dict(body)
        )
        changed(response, case_id, outcome.version)
        return ReferralCreated(
            coordination_case_id=case_id,
            version=outcome.version,
            referral_id=outcome.state.outreach_referrals[-1].referral_id,
        )

    @app.post(
        "/cases/{case_id}/referrals/participation",
        status_code=201,
        response_model=ReferralCreated,
        tags=["referrals"],
        summary="参加支援事業へ依頼する",
    )
    async def refer_to_participation(
        case_id: uuid.UUID,
        body: ParticipationReferralIn,
        response: Response,
        expected_version: VersionDep,
        caller: CallerDep,
    ) -> ReferralCreated:
        outcome = await handlers.refer_to_participation(
            engine, caller, case_id, expected_version=expected_version, **dict(body)
        )
        changed(response, case_id, outcome.version)
        return ReferralCreated(
            coordination_case_id=case_id,
            version=outcome.version,
            referral_id=outcome.state.participation_referrals[-1].referral_id,
        )

    @app.post(
        "/cases/{case_id}/conclusion",
        status_code=201,
        response_model=Changed,
        tags=["cases"],
        summary="支援を終結し、評価を記録する",
    )
    async def conclude(
        case_id: uuid.UUID,
        body: ConclusionIn,
        response: Response,
        expected_version: VersionDep,
        caller: CallerDep,
    ) -> Changed:
        outcome = await handlers.conclude(
            engine, caller, case_id, expected_version=expected_version, **dict(body)
        )
        return changed(response, case_id, outcome.version)

    @app.post(
        "/cases/{case_id}/return",
        status_code=201,
        response_model=Changed,
        tags=["cases"],
        summary="つなぎもどしする",
    )
    async def return_case(
        case_id: uuid.UUID,
        body: ReturnIn,
        response: Response,
        expected_version: VersionDep,
        caller: CallerDep,
    ) -> Changed:
        outcome = await handlers.return_to_origin(
            engine, caller, case_id, expected_version=expected_version, **dict(body)
        )
        return changed(response, case_id, outcome.version)

    @app.post(
        "/meetings",
        status_code=201,
        response_model=MeetingCreated,
        tags=["meetings"],
        summary="会議（重層的支援会議・支援会議）を記録する",
    )
    async def hold_meeting(body: MeetingIn, response: Response, caller: CallerDep) -> MeetingCreated:
        meeting_id = uuid.uuid4()
        outcome = await handlers.hold_meeting(engine, caller, directory, meeting_id=meeting_id, **dict(body))
        response.headers["Location"] = f"/meetings/{meeting_id}"
        response.headers["ETag"] = etag(outcome.version)
        return MeetingCreated(meeting_id=meeting_id, version=outcome.version)

    @app.get(
        "/meetings/{meeting_id}",
        response_model=MeetingView,
        tags=["meetings"],
        summary="会議の記録を見る（主催機関と出席機関のみ）",
    )
    async def read_meeting(meeting_id: uuid.UUID, caller: CallerDep) -> MeetingView:
        loaded = await handlers.read_meeting(engine, caller, meeting_id)
        return _meeting_view(meeting_id, loaded.state)
