"""Intake's HTTP API (FastAPI): receive consultations, record consent, refer, see what came back."""

import uuid
from datetime import date
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Response
from pydantic import BaseModel, ConfigDict, Field

from contracts.events import DISTRICT_PATTERN
from contracts.glossary import (
    Channel,
    ConsentPurpose,
    IssueTag,
    LegalBasis,
    MeetingType,
    Program,
    ReturnReason,
    Urgency,
    label_ja,
)
from libs.http import Caller, etag, if_match
from libs.runtime import Runtime
from libs.text import Note
from services.intake.domain import consent, model
from services.intake.service_layer import handlers


class ConsultationIn(BaseModel):
    """A consultation as the intake worker records it (相談受付)."""

    model_config = ConfigDict(extra="forbid")

    channel: Channel
    person: model.Person
    household: list[model.HouseholdMember] = Field(default_factory=list, max_length=19)
    issue_tags: list[IssueTag] = Field(min_length=1, max_length=14)
    district: str = Field(pattern=DISTRICT_PATTERN, description="地区コード（例: chuo-1）")
    summary: Note = Field(description="相談内容の要旨（この事業所内のみで保持）")
    received_on: date


class ReferralIn(BaseModel):
    """A referral to multi-agency coordination (支援依頼)."""

    model_config = ConfigDict(extra="forbid")

    urgency: Urgency = Urgency.ROUTINE
    reason: Note = Field(description="依頼理由（この事業所内のみで保持）")
    referred_on: date


class ConsentIn(BaseModel):
    """The person's consent to sharing their information (情報共有への同意)."""

    model_config = ConfigDict(extra="forbid")

    programs: list[Program] = Field(min_length=1, max_length=5, description="共有先の事業")
    purpose: ConsentPurpose
    granted_on: date
    expires_on: date


class NarrowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    programs: list[Program] = Field(min_length=1, max_length=5)
    narrowed_on: date


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    withdrawn_on: date


class ErasureIn(BaseModel):
    """Erase the person's details everywhere (本人の個人情報の消去): their key is destroyed."""

    model_config = ConfigDict(extra="forbid")

    erased_on: date


class ReferralView(BaseModel):
    referral_id: uuid.UUID
    urgency: Urgency
    referred_on: date
    coordination_case_id: uuid.UUID | None
    accepted_on: date | None
    returned_on: date | None
    return_reason: ReturnReason | None
    return_reason_label: str | None
    returned_by: str | None


class ConsentView(BaseModel):
    consent_id: uuid.UUID
    status: Literal["active", "withdrawn"]
    programs: list[Program]
    purpose: ConsentPurpose
    granted_on: date
    expires_on: date
    withdrawn_on: date | None


class MeetingView(BaseModel):
    meeting_type: MeetingType
    meeting_type_label: str
    members: list[str]
    held_on: date


class CaseView(BaseModel):
    case_id: uuid.UUID
    version: int
    status: model.Status
    holder_organisation: str
    access_basis: LegalBasis = Field(description="この閲覧の法的根拠（閲覧記録に残ります）")
    subject_ref: str
    channel: Channel
    person: model.Person | None = Field(description="消去済みの場合は null")
    household: list[model.HouseholdMember] | None
    issue_tags: list[IssueTag]
    district: str
    summary: str | None
    received_on: date
    erased_on: date | None
    referrals: list[ReferralView]
    consents: list[ConsentView]
    meetings: list[MeetingView]


class Created(BaseModel):
    case_id: uuid.UUID
    version: int


class ReferralCreated(BaseModel):
    case_id: uuid.UUID
    referral_id: uuid.UUID
    version: int


class ConsentChanged(BaseModel):
    case_id: uuid.UUID
    consent_id: uuid.UUID
    status: Literal["active", "withdrawn"]


def _consent_views(consents: consent.Consents) -> list[ConsentView]:
    return [
        ConsentView(
            consent_id=c.consent_id,
            status=c.status,
            programs=sorted(c.programs),
            purpose=c.purpose,
            granted_on=c.granted_on,
            expires_on=c.expires_on,
            withdrawn_on=c.withdrawn_on,
        )
        for c in consents.records
    ]


def _view(
    case_id: uuid.UUID, case: model.Case, version: int, consents: consent.Consents, basis: LegalBasis
) -> CaseView:
    received = case.received
    assert received is not None
    return CaseView(
        case_id=case_id,
        version=version,
        status=case.status,
        holder_organisation=received.holder_organisation,
        access_basis=basis,
        subject_ref=received.subject_ref,
        channel=received.channel,
        person=received.person,
        household=received.household,
        issue_tags=received.issue_tags,
        district=received.district,
        summary=received.summary,
        received_on=received.received_on,
        erased_on=case.erased_on,
        referrals=[
            ReferralView(
                **{k: getattr(r, k) for k in ReferralView.model_fields if hasattr(r, k)},
                return_reason_label=label_ja(r.return_reason) if r.return_reason else None,
            )
            for r in case.referrals
        ],
        consents=_consent_views(consents),
        meetings=[
            MeetingView(
                meeting_type=m.meeting_type,
                meeting_type_label=label_ja(m.meeting_type),
                members=m.members,
                held_on=m.held_on,
            )
            for m in case.meetings
        ],
    )


def routes(app: FastAPI) -> None:
    runtime: Runtime = app.state.runtime
    engine, directory = runtime.engine, runtime.directory
    CallerDep = Annotated[Caller, Depends(app.state.caller)]
    VersionDep = Annotated[int | None, Depends(if_match)]

    @app.post("/cases", status_code=201, response_model=Created, tags=["cases"], summary="相談を受け付ける")
    async def receive(body: ConsultationIn, response: Response, caller: CallerDep) -> Created:
        case_id = uuid.uuid4()
        outcome = await handlers.receive_consultation(
            engine, caller, directory, case_id=case_id, **dict(body)
        )
        runtime.relay.wake()
        response.headers["Location"] = f"/cases/{case_id}"
        response.headers["ETag"] = etag(outcome.version)
        return Created(case_id=case_id, version=outcome.version)

    @app.get(
        "/cases/{case_id}",
        response_model=CaseView,
        tags=["cases"],
        summary="相談の記録を見る（閲覧は記録されます）",
    )
    async def read(case_id: uuid.UUID, response: Response, caller: CallerDep) -> CaseView:
        loaded, consents, basis = await handlers.read_case(engine, caller, directory, case_id)
        response.headers["ETag"] = etag(loaded.version)
        response.headers["Cache-Control"] = "no-store"
        return _view(case_id, loaded.state, loaded.version, consents, basis)

    @app.post(
        "/cases/{case_id}/referrals",
        status_code=201,
        response_model=ReferralCreated,
        tags=["cases"],
        summary="多機関協働事業へ支援依頼する",
    )
    async def refer(
        case_id: uuid.UUID,
        body: ReferralIn,
        response: Response,
        expected_version: VersionDep,
        caller: CallerDep,
    ) -> ReferralCreated:
        outcome = await handlers.refer_to_coordination(
            engine, caller, case_id, expected_version=expected_version, **dict(body)
        )
        runtime.relay.wake()
        response.headers["ETag"] = etag(outcome.version)
        return ReferralCreated(
            case_id=case_id, referral_id=outcome.state.referrals[-1].referral_id, version=outcome.version
        )

    @app.get(
        "/cases/{case_id}/consents",
        response_model=list[ConsentView],
        tags=["consent"],
        summary="同意の記録を見る",
    )
    async def consents(case_id: uuid.UUID, caller: CallerDep) -> list[ConsentView]:
        return _consent_views(await handlers.read_consents(engine, caller, case_id))

    @app.post(
        "/cases/{case_id}/consents",
        status_code=201,
        response_model=ConsentChanged,
        tags=["consent"],
        summary="同意を記録する",
    )
    async def grant(case_id: uuid.UUID, body: ConsentIn, caller: CallerDep) -> ConsentChanged:
        consent_id, _ = await handlers.grant_consent(engine, caller, case_id, **dict(body))
        runtime.relay.wake()
        return ConsentChanged(case_id=case_id, consent_id=consent_id, status="active")

    @app.post(
        "/cases/{case_id}/consents/{consent_id}/narrow",
        response_model=ConsentChanged,
        tags=["consent"],
        summary="同意の範囲を狭める",
    )
    async def narrow(
        case_id: uuid.UUID, consent_id: uuid.UUID, body: NarrowIn, caller: CallerDep
    ) -> ConsentChanged:
        event = consent.ConsentNarrowed(
            consent_id=consent_id, programs=sorted(set(body.programs)), narrowed_on=body.narrowed_on
        )
        await handlers.change_consent(engine, caller, case_id, event, "narrow_consent")
        runtime.relay.wake()
        return ConsentChanged(case_id=case_id, consent_id=consent_id, status="active")

    @app.post(
        "/cases/{case_id}/consents/{consent_id}/withdraw",
        response_model=ConsentChanged,
        tags=["consent"],
        summary="同意の撤回を記録する",
    )
    async def withdraw(
        case_id: uuid.UUID, consent_id: uuid.UUID, body: WithdrawIn, caller: CallerDep
    ) -> ConsentChanged:
        event = consent.ConsentWithdrawn(consent_id=consent_id, withdrawn_on=body.withdrawn_on)
        await handlers.change_consent(engine, caller, case_id, event, "withdraw_consent")
        runtime.relay.wake()
        return ConsentChanged(case_id=case_id, consent_id=consent_id, status="withdrawn")

    @app.post(
        "/cases/{case_id}/erasure",
        response_model=Created,
        tags=["privacy"],
        summary="本人の個人情報を消去する（市町村担当課のみ・取り消しできません）",
    )
    async def erase(case_id: uuid.UUID, body: ErasureIn, caller: CallerDep) -> Created:
        outcome = await handlers.erase_person(engine, caller, case_id, body.erased_on)
        runtime.relay.wake()
        return Created(case_id=case_id, version=outcome.version)
