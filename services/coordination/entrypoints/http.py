"""Coordination's HTTP API: see a case, agree a plan at a meeting, return the case."""

import uuid
from datetime import date
from typing import Annotated

from fastapi import Depends, FastAPI, Response
from pydantic import BaseModel, ConfigDict, Field

from contracts.glossary import AgeBand, IssueTag, MeetingType, ReturnReason, Urgency, label_ja
from libs.http import Caller, etag, if_match
from libs.runtime import Runtime
from libs.text import Note
from services.coordination.domain import model
from services.coordination.service_layer import handlers


class PlanIn(BaseModel):
    """A support plan as agreed at a meeting (支援プラン)."""

    model_config = ConfigDict(extra="forbid")

    meeting_type: MeetingType
    members: list[Annotated[str, Field(pattern=model.CODE)]] = Field(
        min_length=1,
        max_length=50,
        description="会議に出席した機関（支援会議では構成員のみが情報を見られます）",
    )
    goals: list[Note] = Field(min_length=1, max_length=50, description="支援目標")
    roles: list[model.Role] = Field(min_length=1, max_length=50, description="役割分担")
    agreed_on: date


class ReturnIn(BaseModel):
    """Return the case to the organisation that referred it (つなぎもどし)."""

    model_config = ConfigDict(extra="forbid")

    reason: ReturnReason
    note: Note | None = None
    returned_on: date


class PlanView(BaseModel):
    plan_version: int
    meeting_type: MeetingType
    meeting_type_label: str
    members: list[str]
    goals: list[str] | None = Field(description="消去済みの場合は null")
    roles: list[model.Role] | None
    agreed_on: date


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
    plans: list[PlanView]
    returned_on: date | None
    return_reason: ReturnReason | None


class Changed(BaseModel):
    coordination_case_id: uuid.UUID
    version: int


def _view(case: model.Case, version: int) -> CaseView:
    opened = case.opened
    assert opened is not None
    return CaseView(
        **opened.model_dump(exclude={"coordination_case_id"}),
        coordination_case_id=opened.coordination_case_id,
        version=version,
        status=case.status,
        plans=[PlanView(**p.model_dump(), meeting_type_label=label_ja(p.meeting_type)) for p in case.plans],
        returned_on=case.returned.returned_on if case.returned else None,
        return_reason=case.returned.reason if case.returned else None,
    )


def routes(app: FastAPI) -> None:
    runtime: Runtime = app.state.runtime
    engine = runtime.engine
    CallerDep = Annotated[Caller, Depends(app.state.caller)]
    VersionDep = Annotated[int | None, Depends(if_match)]

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
        "/cases/{case_id}/plans",
        status_code=201,
        response_model=Changed,
        tags=["cases"],
        summary="会議で合意した支援プランを記録する",
    )
    async def agree_plan(
        case_id: uuid.UUID, body: PlanIn, response: Response, expected_version: VersionDep, caller: CallerDep
    ) -> Changed:
        outcome = await handlers.agree_plan(
            engine, caller, case_id, expected_version=expected_version, **dict(body)
        )
        runtime.relay.wake()
        response.headers["ETag"] = etag(outcome.version)
        return Changed(coordination_case_id=case_id, version=outcome.version)

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
        runtime.relay.wake()
        response.headers["ETag"] = etag(outcome.version)
        return Changed(coordination_case_id=case_id, version=outcome.version)
