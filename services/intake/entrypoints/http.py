"""Intake's HTTP API (FastAPI): receive consultations, record consent, assess, support, refer
(to an agency or to coordination), see what came back, close.

Thin: each route hands its request (a domain command) to a handler and shapes the answer; the
bodies, headers and status codes are the API's contract (the e2e and fuzz suites check them).
"""

import uuid

from fastapi import APIRouter, Response

from contracts.glossary import Program, Role
from libs import handover
from libs.http import CallerDep, VersionDep, etag
from libs.runtime import RuntimeDep
from services.intake.domain import consent, model
from services.intake.entrypoints.schemas import (
    AgencyReferralCreated,
    CaseView,
    ConsentChanged,
    ConsentView,
    Created,
    ReferralCreated,
    case_view,
    consent_views,
)
from services.intake.service_layer import handlers

router = APIRouter()
router.include_router(handover.router(Program.INTAKE, Role.INTAKE_WORKER, handlers.change))


def _changed(response: Response, case_id: uuid.UUID, version: int) -> Created:
    """A change of the case: its new version, also as the ETag for the next If-Match."""
    response.headers["ETag"] = etag(version)
    return Created(case_id=case_id, version=version)


@router.post("/cases", status_code=201, response_model=Created, tags=["cases"], summary="相談を受け付ける")
async def receive(
    body: model.ReceiveConsultation, response: Response, caller: CallerDep, runtime: RuntimeDep
) -> Created:
    opened = await handlers.receive_consultation(runtime.store, caller, runtime.directory, body)
    response.headers["Location"] = f"/cases/{opened.case_id}"
    return _changed(response, opened.case_id, opened.version)


@router.get(
    "/cases/{case_id}",
    response_model=CaseView,
    tags=["cases"],
    summary="相談の記録を見る（閲覧は記録されます）",
)
async def read(case_id: uuid.UUID, response: Response, caller: CallerDep, runtime: RuntimeDep) -> CaseView:
    found = await handlers.read_case(runtime.store, caller, runtime.directory, case_id, runtime.clock.today())
    response.headers["ETag"] = etag(found.loaded.version)
    response.headers["Cache-Control"] = "no-store"
    return case_view(case_id, found.loaded.state, found.loaded.version, found.consents, found.basis)


@router.post(
    "/cases/{case_id}/referrals",
    status_code=201,
    response_model=ReferralCreated,
    tags=["cases"],
    summary="多機関協働事業へ支援依頼する",
)
async def refer(
    case_id: uuid.UUID,
    body: model.ReferToCoordination,
    response: Response,
    expected_version: VersionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> ReferralCreated:
    referred = await handlers.refer_to_coordination(runtime.store, caller, case_id, body, expected_version)
    response.headers["ETag"] = etag(referred.version)
    return ReferralCreated(case_id=case_id, referral_id=referred.referral_id, version=referred.version)


@router.put(
    "/cases/{case_id}/person",
    response_model=Created,
    tags=["cases"],
    summary="本人と世帯の情報を記録・訂正する（匿名の相談の特定、他事業からつながれたケースなど）",
)
async def record_person(
    case_id: uuid.UUID,
    body: model.RecordPerson,
    response: Response,
    expected_version: VersionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> Created:
    outcome = await handlers.record_person(runtime.store, caller, case_id, body, expected_version)
    return _changed(response, case_id, outcome.version)


@router.post(
    "/cases/{case_id}/outreach-referrals",
    status_code=201,
    response_model=ReferralCreated,
    tags=["cases"],
    summary="世帯員をアウトリーチ等事業へ依頼する",
)
async def refer_to_outreach(
    case_id: uuid.UUID,
    body: model.ReferMemberToOutreach,
    response: Response,
    expected_version: VersionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> ReferralCreated:
    referred = await handlers.refer_to_outreach(runtime.store, caller, case_id, body, expected_version)
    response.headers["ETag"] = etag(referred.version)
    return ReferralCreated(case_id=case_id, referral_id=referred.referral_id, version=referred.version)


@router.post(
    "/cases/{case_id}/assessments",
    status_code=201,
    response_model=Created,
    tags=["cases"],
    summary="アセスメントを記録する",
)
async def assess(
    case_id: uuid.UUID,
    body: model.RecordAssessment,
    response: Response,
    expected_version: VersionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> Created:
    outcome = await handlers.change(runtime.store, caller, case_id, body, expected_version)
    return _changed(response, case_id, outcome.version)


@router.post(
    "/cases/{case_id}/supports",
    status_code=201,
    response_model=Created,
    tags=["cases"],
    summary="簡易な支援を記録する",
)
async def support(
    case_id: uuid.UUID,
    body: model.GiveSupport,
    response: Response,
    expected_version: VersionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> Created:
    outcome = await handlers.change(runtime.store, caller, case_id, body, expected_version)
    return _changed(response, case_id, outcome.version)


@router.post(
    "/cases/{case_id}/agency-referrals",
    status_code=201,
    response_model=AgencyReferralCreated,
    tags=["cases"],
    summary="関係機関へつなぐ",
)
async def refer_to_agency(
    case_id: uuid.UUID,
    body: model.ReferToAgency,
    response: Response,
    expected_version: VersionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> AgencyReferralCreated:
    passed = await handlers.refer_to_agency(runtime.store, caller, case_id, body, expected_version)
    response.headers["ETag"] = etag(passed.version)
    return AgencyReferralCreated(
        case_id=case_id, agency_referral_id=passed.agency_referral_id, version=passed.version
    )


@router.post(
    "/cases/{case_id}/closure",
    status_code=201,
    response_model=Created,
    tags=["cases"],
    summary="相談を終結する",
)
async def close(
    case_id: uuid.UUID,
    body: model.CloseCase,
    response: Response,
    expected_version: VersionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> Created:
    outcome = await handlers.change(runtime.store, caller, case_id, body, expected_version)
    return _changed(response, case_id, outcome.version)


@router.get(
    "/cases/{case_id}/consents",
    response_model=list[ConsentView],
    tags=["consent"],
    summary="同意の記録を見る",
)
async def consents(case_id: uuid.UUID, caller: CallerDep, runtime: RuntimeDep) -> list[ConsentView]:
    return consent_views(await handlers.read_consents(runtime.store, caller, case_id))


@router.post(
    "/cases/{case_id}/consents",
    status_code=201,
    response_model=ConsentChanged,
    tags=["consent"],
    summary="同意を記録する",
)
async def grant(
    case_id: uuid.UUID, body: consent.GrantConsent, caller: CallerDep, runtime: RuntimeDep
) -> ConsentChanged:
    granted = await handlers.grant_consent(runtime.store, caller, case_id, body)
    return ConsentChanged(case_id=case_id, consent_id=granted.consent_id, status="active")


@router.post(
    "/cases/{case_id}/consents/{consent_id}/narrow",
    response_model=ConsentChanged,
    tags=["consent"],
    summary="同意の範囲を狭める",
)
async def narrow(
    case_id: uuid.UUID,
    consent_id: uuid.UUID,
    body: consent.NarrowConsent,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> ConsentChanged:
    command = consent.Narrow(request=body, consent_id=consent_id)
    await handlers.change_consent(runtime.store, caller, case_id, command)
    return ConsentChanged(case_id=case_id, consent_id=consent_id, status="active")


@router.post(
    "/cases/{case_id}/consents/{consent_id}/withdraw",
    response_model=ConsentChanged,
    tags=["consent"],
    summary="同意の撤回を記録する",
)
async def withdraw(
    case_id: uuid.UUID,
    consent_id: uuid.UUID,
    body: consent.WithdrawConsent,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> ConsentChanged:
    command = consent.Withdraw(request=body, consent_id=consent_id)
    await handlers.change_consent(runtime.store, caller, case_id, command)
    return ConsentChanged(case_id=case_id, consent_id=consent_id, status="withdrawn")


@router.post(
    "/cases/{case_id}/erasure",
    response_model=Created,
    tags=["privacy"],
    summary="本人の個人情報を消去する（市町村担当課のみ・取り消しできません）",
)
async def erase(
    case_id: uuid.UUID, body: model.ErasePerson, caller: CallerDep, runtime: RuntimeDep
) -> Created:
    outcome = await handlers.erase_person(runtime.store, caller, case_id, body)
    return Created(case_id=case_id, version=outcome.version)
