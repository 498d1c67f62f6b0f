"""Intake's responses: a case as a worker with a legal basis sees it, and what a write created.

Requests are the domain's commands themselves (services/intake/domain/model.py and consent.py).
"""

import uuid
from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from contracts.glossary import (
    AgeBand,
    Channel,
    ClosureReason,
    ConclusionOutcome,
    ConsentPurpose,
    ConsulterKind,
    IssueTag,
    LegalBasis,
    MeetingType,
    Program,
    Relation,
    ReturnReason,
    SimpleSupportKind,
    Urgency,
    label_ja,
)
from libs import handover
from services.intake.domain import consent, model


class ReferralView(BaseModel):
    referral_id: uuid.UUID
    urgency: Urgency
    referred_on: date
    members: list[str] = Field(description="支援の対象として依頼した人の参照（本人・世帯員）")
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


class MemberView(BaseModel):
    subject_ref: str | None = Field(description="世帯員の参照（以前の記録で参照のない世帯員は null）")
    relation: Relation
    relation_label: str
    identity: model.Identity | None = Field(description="消去済みの場合は null")
    age_band: AgeBand | None


class ConsulterView(BaseModel):
    kind: ConsulterKind
    kind_label: str
    relation: Relation | None
    organisation: str | None
    name: str | None
    contact: str | None


class OutreachReferralView(BaseModel):
    referral_id: uuid.UUID
    subject_ref: str
    age_band: AgeBand
    urgency: Urgency
    reason: str | None
    referred_on: date


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
    worker: str | None = Field(description="引継ぎで指名された担当者（引継ぎ前は null）")
    handovers: list[handover.HandoverView]
    access_basis: LegalBasis = Field(description="この閲覧の法的根拠（閲覧記録に残ります）")
    subject_ref: str
    channel: Channel
    consulter: ConsulterView | None = Field(description="相談者（記録以前の相談や消去済みの場合は null）")
    person: model.Person | None = Field(description="未把握（details_pending）または消去済みの場合は null")
    details_pending: bool = Field(description="他事業からつながれ、本人の情報をまだ記録していない")
    age_band: AgeBand | None
    household: list[MemberView] | None = Field(description="本人以外の世帯員")
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
    outreach_referrals: list[OutreachReferralView]
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


def consent_views(consents: consent.Consents) -> list[ConsentView]:
    """The case's consents as shown with it: the holder sees every record, withdrawn ones too."""
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


def _referral_view(r: model.Referral) -> ReferralView:
    return ReferralView(
        referral_id=r.referral_id,
        urgency=r.urgency,
        referred_on=r.referred_on,
        members=list(r.members),
        coordination_case_id=r.coordination_case_id,
        accepted_on=r.accepted_on,
        returned_on=r.returned_on,
        return_reason=r.return_reason,
        return_reason_label=label_ja(r.return_reason) if r.return_reason else None,
        returned_by=r.returned_by,
        outcome=r.outcome,
        outcome_label=label_ja(r.outcome) if r.outcome else None,
        goals_met=r.goals_met,
        goals_total=r.goals_total,
        concluded_on=r.concluded_on,
    )


def _member_view(member: model.Member, received_on: date) -> MemberView:
    return MemberView(
        subject_ref=member.subject_ref,
        relation=member.relation,
        relation_label=label_ja(member.relation),
        identity=member.identity,
        age_band=member.identity.band_on(received_on) if member.identity else None,
    )


def _consulter_view(consulter: model.Consulter) -> ConsulterView:
    return ConsulterView(**consulter.model_dump(), kind_label=label_ja(consulter.kind))


def case_view(
    case_id: uuid.UUID, case: model.Case, version: int, consents: consent.Consents, basis: LegalBasis
) -> CaseView:
    """A case as read on `basis` (shown, since the read is recorded under it), with its consents."""
    assert case.holder and case.subject_ref and case.channel and case.district and case.received_on
    return CaseView(
        case_id=case_id,
        version=version,
        status=case.status,
        holder_organisation=case.holder,
        worker=handover.worker_after(case.handovers),
        handovers=handover.views(case.handovers),
        access_basis=basis,
        subject_ref=case.subject_ref,
        channel=case.channel,
        consulter=_consulter_view(case.consulter) if case.consulter else None,
        person=case.person,
        details_pending=case.details_pending,
        age_band=case.age_band,
        household=[_member_view(m, case.received_on) for m in case.household]
        if case.household is not None
        else None,
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
        assessments=[
            AssessmentView(assessed_on=a.assessed_on, findings=a.findings, issue_tags=a.issue_tags)
            for a in case.assessments
        ],
        supports=[
            SupportView(given_on=s.given_on, kind=s.kind, kind_label=label_ja(s.kind), note=s.note)
            for s in case.supports
        ],
        agency_referrals=[
            AgencyReferralView(
                agency_referral_id=a.agency_referral_id,
                organisation=a.organisation,
                reason=a.reason,
                referred_on=a.referred_on,
            )
            for a in case.agency_referrals
        ],
        referrals=[_referral_view(r) for r in case.referrals],
        outreach_referrals=[
            OutreachReferralView(
                referral_id=r.referral_id,
                subject_ref=r.subject_ref,
                age_band=r.age_band,
                urgency=r.urgency,
                reason=r.reason,
                referred_on=r.referred_on,
            )
            for r in case.outreach_referrals
        ],
        consents=consent_views(consents),
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
