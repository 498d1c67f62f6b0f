"""Intake's HTTP API (FastAPI): receive consultations, refer them, see what came back."""

import uuid
from datetime import date
from typing import Annotated

from fastapi import Depends, FastAPI, Response
from pydantic import BaseModel, ConfigDict, Field

from contracts.events import DISTRICT_PATTERN
from contracts.glossary import Channel, IssueTag, ReturnReason, Urgency, label_ja
from libs.commands import Context
from libs.http import etag, if_match, request_context
from libs.runtime import Runtime
from libs.text import Note
from services.intake.domain import model
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
    consent_to_share: bool = Field(description="本人が多機関での情報共有に同意しているか")
    reason: Note = Field(description="依頼理由（この事業所内のみで保持）")
    referred_on: date


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


class CaseView(BaseModel):
    case_id: uuid.UUID
    version: int
    status: model.Status
    subject_ref: str
    channel: Channel
    person: model.Person
    household: list[model.HouseholdMember]
    issue_tags: list[IssueTag]
    district: str
    summary: str
    received_on: date
    referrals: list[ReferralView]


class Created(BaseModel):
    case_id: uuid.UUID
    version: int


class ReferralCreated(BaseModel):
    case_id: uuid.UUID
    referral_id: uuid.UUID
    version: int


def _view(case_id: uuid.UUID, case: model.Case, version: int) -> CaseView:
    received = case.received
    assert received is not None
    return CaseView(
        case_id=case_id,
        version=version,
        status=case.status,
        subject_ref=received.subject_ref,
        channel=received.channel,
        person=received.person,
        household=received.household,
        issue_tags=received.issue_tags,
        district=received.district,
        summary=received.summary,
        received_on=received.received_on,
        referrals=[
            ReferralView(
                **{k: getattr(r, k) for k in ReferralView.model_fields if hasattr(r, k)},
                return_reason_label=label_ja(r.return_reason) if r.return_reason else None,
            )
            for r in case.referrals
        ],
    )


def routes(app: FastAPI) -> None:
    runtime: Runtime = app.state.runtime
    engine = runtime.engine

    context = request_context(runtime.settings.organisation)

    @app.post("/cases", status_code=201, response_model=Created, tags=["cases"], summary="相談を受け付ける")
    async def receive(
        body: ConsultationIn, response: Response, ctx: Annotated[Context, Depends(context)]
    ) -> Created:
        case_id = uuid.uuid4()
        outcome = await handlers.receive_consultation(engine, ctx, case_id=case_id, **dict(body))
        runtime.relay.wake()
        response.headers["Location"] = f"/cases/{case_id}"
        response.headers["ETag"] = etag(outcome.version)
        return Created(case_id=case_id, version=outcome.version)

    @app.get("/cases/{case_id}", response_model=CaseView, tags=["cases"], summary="相談の記録を見る")
    async def read(case_id: uuid.UUID, response: Response) -> CaseView:
        loaded = await handlers.get_case(engine, case_id)
        response.headers["ETag"] = etag(loaded.version)
        return _view(case_id, loaded.state, loaded.version)

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
        expected_version: Annotated[int | None, Depends(if_match)],
        ctx: Annotated[Context, Depends(context)],
    ) -> ReferralCreated:
        await handlers.get_case(engine, case_id)  # 404 before any write for an unknown case
        outcome = await handlers.refer_to_coordination(
            engine, ctx, case_id, expected_version=expected_version, **dict(body)
        )
        runtime.relay.wake()
        response.headers["ETag"] = etag(outcome.version)
        return ReferralCreated(
            case_id=case_id, referral_id=outcome.state.referrals[-1].referral_id, version=outcome.version
        )
