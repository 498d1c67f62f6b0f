"""Outreach's HTTP API: record a potential client, contact attempts, milestones, connection, conclusion."""

import uuid
from datetime import date
from typing import Annotated

from fastapi import Depends, FastAPI, Response
from pydantic import BaseModel, ConfigDict, Field

from contracts.events import DISTRICT_PATTERN
from contracts.glossary import (
    AgeBand,
    ConnectionTarget,
    ContactMethod,
    ContactOutcome,
    IdentifiedBy,
    IssueTag,
    Milestone,
    OutreachConclusionReason,
    Urgency,
    label_ja,
)
from libs.fields import Day
from libs.http import Caller, etag, if_match
from libs.runtime import Runtime
from libs.text import Note
from services.outreach.domain import model
from services.outreach.service_layer import handlers


class PotentialClientIn(BaseModel):
    """A person someone noticed who has not asked for help (潜在的な相談者の把握)."""

    model_config = ConfigDict(extra="forbid")

    identified_by: IdentifiedBy = Field(description="把握の経路（氏名ではなく区分で記録します）")
    issue_tags: list[IssueTag] = Field(min_length=1, max_length=14)
    age_band: AgeBand = Field(description="年齢層（推定で可）")
    district: str = Field(pattern=DISTRICT_PATTERN, description="地区コード（例: chuo-1）")
    description: Note | None = Field(
        default=None, description="本人についての記述（個人情報: この事業所内のみで保持・暗号化）"
    )
    note: Note | None = Field(default=None, description="把握の経緯のメモ（この事業所内のみで保持・暗号化）")
    identified_on: Day


class ContactAttemptIn(BaseModel):
    """One attempt to reach the person (訪問・手紙・電話・家族を通じて)."""

    model_config = ConfigDict(extra="forbid")

    method: ContactMethod
    outcome: ContactOutcome
    note: Note | None = Field(default=None, description="様子のメモ（この事業所内のみで保持・暗号化）")
    attempted_on: Day


class MilestoneIn(BaseModel):
    """A step in the relationship with the person (関係づくりの節目)."""

    model_config = ConfigDict(extra="forbid")

    milestone: Milestone
    note: Note | None = None
    reached_on: Day


class ConnectionIn(BaseModel):
    """The person was connected to intake, coordination or an agency (つなぎ)."""

    model_config = ConfigDict(extra="forbid")

    connected_to: ConnectionTarget
    organisation: str = Field(pattern=model.CODE, description="つなぎ先の機関コード（例: city-soudan）")
    note: Note | None = None
    connected_on: Day


class ConclusionIn(BaseModel):
    """Outreach ends its involvement (終結)."""

    model_config = ConfigDict(extra="forbid")

    reason: OutreachConclusionReason
    note: Note | None = None
    concluded_on: Day


class AttemptView(BaseModel):
    attempt_number: int
    method: ContactMethod
    method_label: str
    outcome: ContactOutcome
    outcome_label: str
    note: str | None = Field(description="消去済みの場合は null")
    attempted_on: date


class MilestoneView(BaseModel):
    milestone: Milestone
    milestone_label: str
    note: str | None
    reached_on: date


class CaseView(BaseModel):
    outreach_case_id: uuid.UUID
    version: int
    status: model.Status
    holder_organisation: str
    case_key: uuid.UUID
    subject_ref: str
    identified_by: IdentifiedBy
    identified_by_label: str
    referral_id: uuid.UUID | None
    coordination_case_id: uuid.UUID | None
    concern_id: uuid.UUID | None
    referring_organisation: str | None
    urgency: Urgency
    issue_tags: list[IssueTag]
    age_band: AgeBand
    district: str
    description: str | None = Field(description="本人についての記述（未記入・消去済みの場合は null）")
    note: str | None
    identified_on: date
    attempts: list[AttemptView]
    milestones: list[MilestoneView]
    connected_to: ConnectionTarget | None
    connected_organisation: str | None
    connected_on: date | None
    conclusion_reason: OutreachConclusionReason | None
    conclusion_reason_label: str | None
    concluded_on: date | None


class Created(BaseModel):
    outreach_case_id: uuid.UUID
    case_key: uuid.UUID
    version: int


class Changed(BaseModel):
    outreach_case_id: uuid.UUID
    version: int


def _view(case: model.Case, version: int) -> CaseView:
    found = case.identified
    assert found is not None
    connection, conclusion = case.connection, case.conclusion
    return CaseView(
        **found.model_dump(exclude={"outreach_case_id"}),
        outreach_case_id=found.outreach_case_id,
        version=version,
        status=case.status,
        identified_by_label=label_ja(found.identified_by),
        attempts=[
            AttemptView(**a.model_dump(), method_label=label_ja(a.method), outcome_label=label_ja(a.outcome))
            for a in case.attempts
        ],
        milestones=[
            MilestoneView(**m.model_dump(), milestone_label=label_ja(m.milestone)) for m in case.milestones
        ],
        connected_to=connection.connected_to if connection else None,
        connected_organisation=connection.organisation if connection else None,
        connected_on=connection.connected_on if connection else None,
        conclusion_reason=conclusion.reason if conclusion else None,
        conclusion_reason_label=label_ja(conclusion.reason) if conclusion else None,
        concluded_on=conclusion.concluded_on if conclusion else None,
    )


def routes(app: FastAPI) -> None:
    runtime: Runtime = app.state.runtime
    engine, directory = runtime.engine, runtime.directory
    CallerDep = Annotated[Caller, Depends(app.state.caller)]
    VersionDep = Annotated[int | None, Depends(if_match)]

    def changed(response: Response, case_id: uuid.UUID, version: int) -> Changed:
        response.headers["ETag"] = etag(version)
        return Changed(outreach_case_id=case_id, version=version)

    @app.post(
        "/cases", status_code=201, response_model=Created, tags=["cases"], summary="潜在的な相談者を記録する"
    )
    async def identify(body: PotentialClientIn, response: Response, caller: CallerDep) -> Created:
        case_id = uuid.uuid4()
        outcome = await handlers.identify(engine, caller, directory, outreach_case_id=case_id, **dict(body))
        assert outcome.state.identified is not None
        response.headers["Location"] = f"/cases/{case_id}"
        response.headers["ETag"] = etag(outcome.version)
        return Created(
            outreach_case_id=case_id, case_key=outcome.state.identified.case_key, version=outcome.version
        )

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
        summary="多機関協働事業からの依頼でケースを見る",
    )
    async def read_by_referral(referral_id: uuid.UUID, response: Response, caller: CallerDep) -> CaseView:
        return await read(model.case_id_for_referral(referral_id), response, caller)

    @app.post(
        "/cases/{case_id}/contact-attempts",
        status_code=201,
        response_model=Changed,
        tags=["cases"],
        summary="働きかけ（訪問・手紙・電話など）を記録する",
    )
    async def attempt(
        case_id: uuid.UUID,
        body: ContactAttemptIn,
        response: Response,
        expected_version: VersionDep,
        caller: CallerDep,
    ) -> Changed:
        outcome = await handlers.attempt_contact(
            engine, caller, case_id, expected_version=expected_version, **dict(body)
        )
        return changed(response, case_id, outcome.version)

    @app.post(
        "/cases/{case_id}/milestones",
        status_code=201,
        response_model=Changed,
        tags=["cases"],
        summary="関係づくりの節目を記録する",
    )
    async def milestone(
        case_id: uuid.UUID,
        body: MilestoneIn,
        response: Response,
        expected_version: VersionDep,
        caller: CallerDep,
    ) -> Changed:
        outcome = await handlers.reach_milestone(
            engine, caller, case_id, expected_version=expected_version, **dict(body)
        )
        return changed(response, case_id, outcome.version)

    @app.post(
        "/cases/{case_id}/connection",
        status_code=201,
        response_model=Changed,
        tags=["cases"],
        summary="支援機関へのつなぎを記録する",
    )
    async def connect(
        case_id: uuid.UUID,
        body: ConnectionIn,
        response: Response,
        expected_version: VersionDep,
        caller: CallerDep,
    ) -> Changed:
        outcome = await handlers.connect(
            engine, caller, directory, case_id, expected_version=expected_version, **dict(body)
        )
        return changed(response, case_id, outcome.version)

    @app.post(
        "/cases/{case_id}/conclusion",
        status_code=201,
        response_model=Changed,
        tags=["cases"],
        summary="終結を記録する",
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
