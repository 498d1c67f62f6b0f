"""Coordination's HTTP API: see a case, decline or work it (assessment; a plan drafted, each
proposed role accepted or declined, the draft agreed at a meeting as a plan version; monitoring,
referrals to outreach and participation), record meetings, conclude, and return the case to its
origin.

Thin: each route hands its request (a domain command) to a handler and shapes the answer; the
bodies, headers and status codes are the API's contract (the e2e and fuzz suites check them).
"""

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Response

from contracts.glossary import Program, Role
from libs import handover
from libs.http import CallerDep, VersionDep, etag
from libs.runtime import RuntimeDep
from services.coordination.domain import meeting, model
from services.coordination.entrypoints.schemas import (
    CaseView,
    Changed,
    DraftChanged,
    MeetingCreated,
    MeetingView,
    PlanChanged,
    ReferralCreated,
    case_view,
    meeting_view,
)
from services.coordination.service_layer import handlers

router = APIRouter()
router.include_router(handover.router(Program.COORDINATION, Role.COORDINATOR, handlers.change))


def _changed(response: Response, case_id: uuid.UUID, version: int) -> Changed:
    """A change of the case: its new version, also as the ETag for the next If-Match."""
    response.headers["ETag"] = etag(version)
    return Changed(coordination_case_id=case_id, version=version)


@router.get(
    "/cases/{case_id}",
    response_model=CaseView,
    tags=["cases"],
    summary="ケースを見る（閲覧は記録されます）",
)
async def read(case_id: uuid.UUID, response: Response, caller: CallerDep, runtime: RuntimeDep) -> CaseView:
    loaded = await handlers.read_case(runtime.store, caller, case_id, runtime.clock.today())
    response.headers["ETag"] = etag(loaded.version)
    response.headers["Cache-Control"] = "no-store"
    return case_view(loaded.state, loaded.version)


@router.get(
    "/referrals/{referral_id}",
    response_model=CaseView,
    tags=["cases"],
    summary="支援依頼からケースを見る",
)
async def read_by_referral(
    referral_id: uuid.UUID, response: Response, caller: CallerDep, runtime: RuntimeDep
) -> CaseView:
    return await read(model.case_id_for(referral_id), response, caller, runtime)


@router.post(
    "/cases/{case_id}/decline",
    status_code=201,
    response_model=Changed,
    tags=["cases"],
    summary="支援依頼を不受理にして紹介元へ戻す",
)
async def decline(
    case_id: uuid.UUID,
    body: model.DeclineReferral,
    response: Response,
    expected_version: VersionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> Changed:
    outcome = await handlers.change(runtime.store, caller, case_id, body, expected_version)
    return _changed(response, case_id, outcome.version)


@router.post(
    "/cases/{case_id}/assessments",
    status_code=201,
    response_model=Changed,
    tags=["cases"],
    summary="世帯員ごとのアセスメント（課題の解きほぐし）を記録する",
)
async def assess(
    case_id: uuid.UUID,
    body: model.RecordAssessment,
    response: Response,
    expected_version: VersionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> Changed:
    outcome = await handlers.change(runtime.store, caller, case_id, body, expected_version)
    return _changed(response, case_id, outcome.version)


@router.post(
    "/cases/{case_id}/plans/drafts",
    status_code=201,
    response_model=DraftChanged,
    tags=["plans"],
    summary="支援プラン（案）を作成する（会議での決定前に作り直すと、その案に置き換わります）",
)
async def draft_plan(
    case_id: uuid.UUID,
    body: model.DraftPlan,
    response: Response,
    expected_version: VersionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> DraftChanged:
    drafted = await handlers.draft_plan(runtime.store, caller, case_id, body, expected_version)
    response.headers["ETag"] = etag(drafted.version)
    return DraftChanged(
        coordination_case_id=case_id,
        version=drafted.version,
        plan_version=drafted.plan_version,
        draft=drafted.draft,
    )


PlanVersion = Annotated[int, Path(ge=1, le=1000, description="案の版（決定されるとこの版のプランになる）")]
RoleIndex = Annotated[int, Path(ge=0, le=1000, description="案の役割の番号（0から）")]


@router.post(
    "/cases/{case_id}/plans/{plan_version}/roles/{role_index}/acceptance",
    status_code=201,
    response_model=Changed,
    tags=["plans"],
    summary="案で提案した役割の受諾を記録する（機関に代わって記録することもできます）",
)
async def accept_role(
    case_id: uuid.UUID,
    plan_version: PlanVersion,
    role_index: RoleIndex,
    body: model.AcceptRole,
    response: Response,
    expected_version: VersionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> Changed:
    outcome = await handlers.answer_role(
        runtime.store, caller, case_id, plan_version, role_index, body, expected_version
    )
    return _changed(response, case_id, outcome.version)


@router.post(
    "/cases/{case_id}/plans/{plan_version}/roles/{role_index}/decline",
    status_code=201,
    response_model=Changed,
    tags=["plans"],
    summary="案で提案した役割の辞退を理由とともに記録する（機関に代わって記録することもできます）",
)
async def decline_role(
    case_id: uuid.UUID,
    plan_version: PlanVersion,
    role_index: RoleIndex,
    body: model.DeclineRole,
    response: Response,
    expected_version: VersionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> Changed:
    outcome = await handlers.answer_role(
        runtime.store, caller, case_id, plan_version, role_index, body, expected_version
    )
    return _changed(response, case_id, outcome.version)


@router.post(
    "/cases/{case_id}/plans",
    status_code=201,
    response_model=PlanChanged,
    tags=["plans"],
    summary="支援プラン（案）を会議で決定したことを記録する（すべての役割の回答が必要。2回目以降は見直し＝新しい版）",
)
async def agree_plan(
    case_id: uuid.UUID,
    body: model.AgreePlan,
    response: Response,
    expected_version: VersionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> PlanChanged:
    planned = await handlers.agree_plan(runtime.store, caller, case_id, body, expected_version)
    response.headers["ETag"] = etag(planned.version)
    return PlanChanged(
        coordination_case_id=case_id, version=planned.version, plan_version=planned.plan_version
    )


@router.post(
    "/cases/{case_id}/monitoring",
    status_code=201,
    response_model=Changed,
    tags=["plans"],
    summary="モニタリングを記録する",
)
async def monitor(
    case_id: uuid.UUID,
    body: model.RecordMonitoring,
    response: Response,
    expected_version: VersionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> Changed:
    outcome = await handlers.change(runtime.store, caller, case_id, body, expected_version)
    return _changed(response, case_id, outcome.version)


@router.post(
    "/cases/{case_id}/referrals/outreach",
    status_code=201,
    response_model=ReferralCreated,
    tags=["referrals"],
    summary="アウトリーチ等事業へ依頼する",
)
async def refer_to_outreach(
    case_id: uuid.UUID,
    body: model.ReferToOutreach,
    response: Response,
    expected_version: VersionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> ReferralCreated:
    referred = await handlers.refer_to_outreach(runtime.store, caller, case_id, body, expected_version)
    response.headers["ETag"] = etag(referred.version)
    return ReferralCreated(
        coordination_case_id=case_id, version=referred.version, referral_id=referred.referral_id
    )


@router.post(
    "/cases/{case_id}/referrals/participation",
    status_code=201,
    response_model=ReferralCreated,
    tags=["referrals"],
    summary="参加支援事業へ依頼する",
)
async def refer_to_participation(
    case_id: uuid.UUID,
    body: model.ReferToParticipation,
    response: Response,
    expected_version: VersionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> ReferralCreated:
    referred = await handlers.refer_to_participation(runtime.store, caller, case_id, body, expected_version)
    response.headers["ETag"] = etag(referred.version)
    return ReferralCreated(
        coordination_case_id=case_id, version=referred.version, referral_id=referred.referral_id
    )


@router.post(
    "/cases/{case_id}/conclusion",
    status_code=201,
    response_model=Changed,
    tags=["cases"],
    summary="支援を終結し、評価を記録する",
)
async def conclude(
    case_id: uuid.UUID,
    body: model.ConcludeSupport,
    response: Response,
    expected_version: VersionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> Changed:
    outcome = await handlers.change(runtime.store, caller, case_id, body, expected_version)
    return _changed(response, case_id, outcome.version)


@router.post(
    "/cases/{case_id}/return",
    status_code=201,
    response_model=Changed,
    tags=["cases"],
    summary="つなぎもどしする",
)
async def return_case(
    case_id: uuid.UUID,
    body: model.ReturnToOrigin,
    response: Response,
    expected_version: VersionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> Changed:
    outcome = await handlers.change(runtime.store, caller, case_id, body, expected_version)
    return _changed(response, case_id, outcome.version)


@router.post(
    "/meetings",
    status_code=201,
    response_model=MeetingCreated,
    tags=["meetings"],
    summary="会議（重層的支援会議・支援会議）を記録する",
)
async def hold_meeting(
    body: meeting.HoldMeeting, response: Response, caller: CallerDep, runtime: RuntimeDep
) -> MeetingCreated:
    held = await handlers.hold_meeting(runtime.store, caller, runtime.directory, body)
    response.headers["Location"] = f"/meetings/{held.meeting_id}"
    response.headers["ETag"] = etag(held.version)
    return MeetingCreated(meeting_id=held.meeting_id, version=held.version)


@router.get(
    "/meetings/{meeting_id}",
    response_model=MeetingView,
    tags=["meetings"],
    summary="会議の記録を見る（主催機関と出席機関のみ）",
)
async def read_meeting(meeting_id: uuid.UUID, caller: CallerDep, runtime: RuntimeDep) -> MeetingView:
    loaded = await handlers.read_meeting(runtime.store, caller, meeting_id)
    return meeting_view(meeting_id, loaded.state)
