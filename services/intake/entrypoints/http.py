"""Intake's HTTP API (FastAPI): receive consultations, record consent, assess, support, refer
(to an agency or to coordination), see what came back, close."""

import uuid
from datetime import date
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Response
from pydantic import BaseModel, ConfigDict, Field

from contracts.envelope import CODE_PATTERN
from contracts.events import DISTRICT_PATTERN
from contracts.glossary import (
    AgeBand,
    Channel,
    ClosureReason,
    ConclusionOutcome,
    ConsentPurpose,
    IssueTag,
    LegalBasis,
    MeetingType,
    Program,
    ReturnReason,
    SimpleSupportKind,
    Urgency,
    label_ja,
)
from libs.fields import Day
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
    received_on: Day


class ReferralIn(BaseModel):
    """A referral to multi-agency coordination (支援依頼)."""

    model_config = ConfigDict(extra="forbid")

    urgency: Urgency = Urgency.ROUTINE
    reason: Note = Field(description="依頼理由（この事業所内のみで保持）")
    referred_on: Day


class ConsentIn(BaseModel):
    """The person's consent to sharing their information (情報共有への同意)."""

    model_config = ConfigDict(extra="forbid")

    programs: list[Program] = Field(min_length=1, max_length=5, description="共有先の事業")
    purpose: ConsentPurpose
    granted_on: Day
    expires_on: Day


class NarrowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    programs: list[Program] = Field(min_length=1, max_length=5)
    narrowed_on: Day


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    withdrawn_on: Day


class PersonIn(BaseModel):
    """The person's details, recorded when a case opened by another program first meets them
    (or corrected later). Replaces the person and household; the summary only if given."""

    model_config = ConfigDict(extra="forbid")

    person: model.Person
    household: list[model.HouseholdMember] = Field(default_factory=list, max_length=19)
    summary: Note | None = Field(default=None, description="相談内容の要旨（省略時は従前のまま）")
    recorded_on: Day


class AssessmentIn(BaseModel):
    """アセスメント: the worker's findings (private) and the issue tags as now understood."""

    model_config = ConfigDict(extra="forbid")

    assessed_on: Day
    findings: Note = Field(description="アセスメントの内容（この事業所内のみで保持）")
    issue_tags: list[IssueTag] = Field(min_length=1, max_length=14, description="見直し後の課題分類")


class SupportIn(BaseModel):
    """簡易な支援: what intake did itself."""

    model_config = ConfigDict(extra="forbid")

    given_on: Day
    kind: SimpleSupportKind
    note: Note | None = Field(default=None, description="支援の記録（この事業所内のみで保持）")


class AgencyReferralIn(BaseModel):
    """関係機関へのつなぎ: to an existing agency outside the five programs."""

    model_config = ConfigDict(extra="forbid")

    organisation: str = Field(pattern=CODE_PATTERN, description="つなぎ先の機関コード")
    reason: Note = Field(description="つなぎの理由（この事業所内のみで保持）")
    referred_on: Day


class ClosureIn(BaseModel):
    """終結."""

    model_config = ConfigDict(extra="forbid")

    reason: ClosureReason
    note: Note | None = Field(default=None, description="終結時のメモ（この事業所内のみで保持）")
    closed_on: Day


class ErasureIn(BaseModel):
    """Erase the person's details everywhere (本人の個人情報の消去): their key is destroyed."""

    model_config = ConfigDict(extra="forbid")

    erased_on: Day


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
    outcome: ConclusionOutcome | None = Field(description="多機関協働事業の終結時の評価")
    outcome_label: str | None
    goals_met: int | None
    goals_total: int | None
    concluded_on: date | None


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


class ConnectionView(BaseModel):
    source: str
    source_ref: uuid.UUID
    source_organisation: str
    connected_on: date


class AssessmentView(BaseModel):
    assessed_on: date
    findings: str | None
    issue_tags: list[IssueTag]


class SupportView(BaseModel):
    given_on: date
    kind: SimpleSupportKind
    kind_label: str
    note: str | None


class AgencyReferralView(BaseModel):
    agency_referral_id: uuid.UUID
    organisation: str
    reason: str | None
    referred_on: date


class ClosureView(BaseModel):
    reason: ClosureReason
    reason_label: str
    note: str | None
    closed_on: date


class CaseView(BaseModel):
    case_id: uuid.UUID
    version: int
    status: model.Status
    holder_organisation: str
    access_basis: LegalBasis = Field(description="この閲覧の法的根拠（閲覧記録に残ります）")
    subject_ref: str
    channel: Channel
    person: model.Person | None = Field(description="未把握（details_pending）または消去済みの場合は null")
    details_pending: bool = Field(description="他事業からつながれ、本人の情報をまだ記録していない")
    age_band: AgeBand | None
    household: list[model.HouseholdMember] | None
    issue_tags: list[IssueTag]
    district: str
    summary: str | None
    received_on: date
    erased_on: date | None
    connections: list[ConnectionView]
    assessments: list[AssessmentView]
    supports: list[SupportView]
    agency_referrals: list[AgencyReferralView]
    referrals: list[ReferralView]
    consents: list[ConsentView]
    meetings: list[MeetingView]
    closure: ClosureView | None


class Created(BaseModel):
    case_id: uuid.UUID
    version: int


class ReferralCreated(BaseModel):
    case_id: uuid.UUID
    referral_id: uuid.UUID
    version: int


class AgencyReferralCreated(BaseModel):
    case_id: uuid.UUID
    agency_referral_id: uuid.UUID
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
    assert case.holder and case.subject_ref and case.channel and case.district and case.received_on
    return CaseView(
        case_id=case_id,
        version=version,
        status=case.status,
        holder_organisation=case.holder,
        access_basis=basis,
        subject_ref=case.subject_ref,
        channel=case.channel,
        person=case.person,
        details_pending=case.details_pending,
        age_band=case.age_band,
        household=list(case.household) if case.household is not None else None,
        issue_tags=list(case.issue_tags),
        district=case.district,
        summary=case.summary,
        received_on=case.received_on,
        erased_on=case.erased_on,
        connections=[
            ConnectionView(
                source=c.source,
                source_ref=c.source_ref,
                source_organisation=c.source_organisation,
                connected_on=c.connected_on,
            )
            for c in case.connections
        ],
        assessments=[AssessmentView(**a.model_dump()) for a in case.assessments],
        supports=[SupportView(**s.model_dump(), kind_label=label_ja(s.kind)) for s in case.supports],
        agency_referrals=[AgencyReferralView(**a.model_dump()) for a in case.agency_referrals],
        referrals=[
            ReferralView(
                **{k: getattr(r, k) for k in ReferralView.model_fields if hasattr(r, k)},
                return_reason_label=label_ja(r.return_reason) if r.return_reason else None,
                outcome_label=label_ja(r.outcome) if r.outcome else None,
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
        closure=ClosureView(
            reason=case.closed.reason,
            reason_label=label_ja(case.closed.reason),
            note=case.closed.note,
            closed_on=case.closed.closed_on,
        )
        if case.closed
        else None,
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
        response.headers["ETag"] = etag(outcome.version)
        return ReferralCreated(
            case_id=case_id, referral_id=outcome.state.referrals[-1].referral_id, version=outcome.version
        )

    @app.put(
        "/cases/{case_id}/person",
        response_model=Created,
        tags=["cases"],
        summary="本人の情報を記録・訂正する（他事業からつながれたケースなど）",
    )
    async def record_person(
        case_id: uuid.UUID,
        body: PersonIn,
        response: Response,
        expected_version: VersionDep,
        caller: CallerDep,
    ) -> Created:
        outcome = await handlers.record_person(
            engine, caller, case_id, expected_version=expected_version, **dict(body)
        )
        response.headers["ETag"] = etag(outcome.version)
        return Created(case_id=case_id, version=outcome.version)

    @app.post(
        "/cases/{case_id}/assessments",
        status_code=201,
        response_model=Created,
        tags=["cases"],
        summary="アセスメントを記録する",
    )
    async def assess(
        case_id: uuid.UUID,
        body: AssessmentIn,
        response: Response,
        expected_version: VersionDep,
        caller: CallerDep,
    ) -> Created:
        outcome = await handlers.record_assessment(
            engine, caller, case_id, expected_version=expected_version, **dict(body)
        )
        response.headers["ETag"] = etag(outcome.version)
        return Created(case_id=case_id, version=outcome.version)

    @app.post(
        "/cases/{case_id}/supports",
        status_code=201,
        response_model=Created,
        tags=["cases"],
        summary="簡易な支援を記録する",
    )
    async def support(
        case_id: uuid.UUID,
        body: SupportIn,
        response: Response,
        expected_version: VersionDep,
        caller: CallerDep,
    ) -> Created:
        outcome = await handlers.give_support(
            engine, caller, case_id, expected_version=expected_version, **dict(body)
        )
        response.headers["ETag"] = etag(outcome.version)
        return Created(case_id=case_id, version=outcome.version)

    @app.post(
        "/cases/{case_id}/agency-referrals",
        status_code=201,
        response_model=AgencyReferralCreated,
        tags=["cases"],
        summary="関係機関へつなぐ",
    )
    async def refer_to_agency(
        case_id: uuid.UUID,
        body: AgencyReferralIn,
        response: Response,
        expected_version: VersionDep,
        caller: CallerDep,
    ) -> AgencyReferralCreated:
        outcome = await handlers.refer_to_agency(
            engine, caller, case_id, expected_version=expected_version, **dict(body)
        )
        response.headers["ETag"] = etag(outcome.version)
        return AgencyReferralCreated(
            case_id=case_id,
            agency_referral_id=outcome.state.agency_referrals[-1].agency_referral_id,
            version=outcome.version,
        )

    @app.post(
        "/cases/{case_id}/closure",
        status_code=201,
        response_model=Created,
        tags=["cases"],
        summary="相談を終結する",
    )
    async def close(
        case_id: uuid.UUID,
        body: ClosureIn,
        response: Response,
        expected_version: VersionDep,
        caller: CallerDep,
    ) -> Created:
        outcome = await handlers.close_case(
            engine, caller, case_id, expected_version=expected_version, **dict(body)
        )
        response.headers["ETag"] = etag(outcome.version)
        return Created(case_id=case_id, version=outcome.version)

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
        return ConsentChanged(case_id=case_id, consent_id=consent_id, status="withdrawn")

    @app.post(
        "/cases/{case_id}/erasure",
        response_model=Created,
        tags=["privacy"],
        summary="本人の個人情報を消去する（市町村担当課のみ・取り消しできません）",
    )
    async def erase(case_id: uuid.UUID, body: ErasureIn, caller: CallerDep) -> Created:
        outcome = await handlers.erase_person(engine, caller, case_id, body.erased_on)
        return Created(case_id=case_id, version=outcome.version)
