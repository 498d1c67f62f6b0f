"""Outreach's HTTP API: record a potential client, contact attempts, milestones, connection, conclusion."""

import uuid

from fastapi import APIRouter, Response

from contracts.glossary import Program, Role
from libs import handover
from libs.http import CallerDep, VersionDep, etag
from libs.runtime import RuntimeDep
from services.outreach.domain import model
from services.outreach.entrypoints.schemas import CaseView, Changed, Created, case_view
from services.outreach.service_layer import handlers

router = APIRouter(tags=["cases"])
router.include_router(handover.router(Program.OUTREACH, Role.OUTREACH_WORKER, handlers.change))


def _changed(response: Response, case_id: uuid.UUID, version: int) -> Changed:
    response.headers["ETag"] = etag(version)
    return Changed(outreach_case_id=case_id, version=version)


@router.post("/cases", status_code=201, response_model=Created, summary="潜在的な相談者を記録する")
async def identify(
    body: model.IdentifyPotentialClient, response: Response, caller: CallerDep, runtime: RuntimeDep
) -> Created:
    opened = await handlers.identify(runtime.store, caller, runtime.directory, body)
    response.headers["Location"] = f"/cases/{opened.outreach_case_id}"
    response.headers["ETag"] = etag(opened.version)
    return Created(outreach_case_id=opened.outreach_case_id, case_key=opened.case_key, version=opened.version)


@router.get("/cases/{case_id}", response_model=CaseView, summary="ケースを見る（閲覧は記録されます）")
async def read(case_id: uuid.UUID, response: Response, caller: CallerDep, runtime: RuntimeDep) -> CaseView:
    loaded = await handlers.read_case(runtime.store, caller, case_id)
    response.headers["ETag"] = etag(loaded.version)
    response.headers["Cache-Control"] = "no-store"
    return case_view(loaded.state, loaded.version)


@router.get(
    "/referrals/{referral_id}", response_model=CaseView, summary="多機関協働事業からの依頼でケースを見る"
)
async def read_by_referral(
    referral_id: uuid.UUID, response: Response, caller: CallerDep, runtime: RuntimeDep
) -> CaseView:
    return await read(model.case_id_for_referral(referral_id), response, caller, runtime)


@router.post(
    "/cases/{case_id}/contact-attempts",
    status_code=201,
    response_model=Changed,
    summary="働きかけ（訪問・手紙・電話など）を記録する",
)
async def attempt(
    case_id: uuid.UUID,
    body: model.AttemptContact,
    response: Response,
    expected_version: VersionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> Changed:
    outcome = await handlers.change(runtime.store, caller, case_id, body, expected_version)
    return _changed(response, case_id, outcome.version)


@router.post(
    "/cases/{case_id}/milestones",
    status_code=201,
    response_model=Changed,
    summary="関係づくりの節目を記録する",
)
async def milestone(
    case_id: uuid.UUID,
    body: model.ReachMilestone,
    response: Response,
    expected_version: VersionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> Changed:
    outcome = await handlers.change(runtime.store, caller, case_id, body, expected_version)
    return _changed(response, case_id, outcome.version)


@router.post(
    "/cases/{case_id}/connection",
    status_code=201,
    response_model=Changed,
    summary="支援機関へのつなぎを記録する",
)
async def connect(
    case_id: uuid.UUID,
    body: model.ConnectToSupport,
    response: Response,
    expected_version: VersionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> Changed:
    command = handlers.connection(runtime.directory, body)
    outcome = await handlers.change(runtime.store, caller, case_id, command, expected_version)
    return _changed(response, case_id, outcome.version)


@router.post("/cases/{case_id}/conclusion", status_code=201, response_model=Changed, summary="終結を記録する")
async def conclude(
    case_id: uuid.UUID,
    body: model.Conclude,
    response: Response,
    expected_version: VersionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> Changed:
    outcome = await handlers.change(runtime.store, caller, case_id, body, expected_version)
    return _changed(response, case_id, outcome.version)
