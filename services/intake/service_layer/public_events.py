"""Private intake events → public contract events, decided inside the write transaction.

This is the privacy boundary: the person's name, address, phone, birth date, household
names and free-text notes (assessments, supports, agency referrals, closure notes) stop here.
Only coarse attributes and codes cross.
"""

from collections.abc import Sequence
from uuid import UUID

from contracts import events as public
from contracts.envelope import PublicEvent
from contracts.glossary import AgeBand, Relation
from libs.domain import DomainEvent
from services.intake.domain import consent, model
from services.intake.domain.model import age_on

__all__ = ["age_on", "consent_to_public", "to_public"]


def to_public(case: model.Case, event: DomainEvent, organisation: str) -> Sequence[PublicEvent]:
    assert case.case_id is not None and case.subject_ref is not None and case.district is not None
    case_key: UUID = case.case_id
    match event:
        case model.ConsultationReceived() | model.CaseOpenedFromConnection():
            assert case.channel is not None and case.received_on is not None
            return [
                public.CaseReceived(
                    case_key=case_key,
                    subject_ref=case.subject_ref,
                    channel=case.channel,
                    issue_tags=list(case.issue_tags),
                    age_band=_age_band(case),
                    # Details pending: the household is not known yet; the person is one.
                    household_size=1 + len(case.household or ()),
                    district=case.district,
                    received_on=case.received_on,
                )
            ]
        case model.ReferredToCoordination():
            return [
                public.ReferredToCoordination(
                    case_key=case_key,
                    referral_id=event.referral_id,
                    subject_ref=case.subject_ref,
                    members=[_concerned(case, ref) for ref in event.members or [case.subject_ref]],
                    referring_organisation=organisation,
                    issue_tags=list(case.issue_tags),
                    age_band=_age_band(case),
                    district=case.district,
                    urgency=event.urgency,
                    referred_on=event.referred_on,
                )
            ]
        case model.ReferredToOutreach():
            return [
                public.OutreachRequested(
                    case_key=case_key,
                    referral_id=event.referral_id,
                    subject_ref=event.subject_ref,
                    relation=_concerned(case, event.subject_ref).relation,
                    referring_organisation=organisation,
                    issue_tags=list(case.issue_tags),
                    age_band=event.age_band,
                    district=case.district,
                    urgency=event.urgency,
                    referred_on=event.referred_on,
                )
            ]
        case model.CaseClosed():
            return [
                public.CaseClosed(
                    case_key=case_key,
                    subject_ref=case.subject_ref,
                    reason=event.reason,
                    closed_on=event.closed_on,
                )
            ]
        case model.MemberErased():
            return [
                public.SubjectErased(
                    case_key=case_key, subject_ref=event.subject_ref, erased_on=event.erased_on
                )
            ]
        case model.PersonErased():
            return [
                public.SubjectErased(
                    case_key=case_key, subject_ref=case.subject_ref, erased_on=event.erased_on
                )
            ]
    return []


def _concerned(case: model.Case, subject_ref: str) -> public.MemberConcerned:
    """A member as a referral names them: pseudonym, relation and age band (the domain checked
    that each named member is known and has an age when it accepted the referral)."""
    if subject_ref == case.subject_ref:
        return public.MemberConcerned(
            subject_ref=subject_ref, relation=Relation.SELF, age_band=_age_band(case)
        )
    member = case.member(subject_ref)
    assert member is not None and member.identity is not None and case.received_on is not None
    return public.MemberConcerned(
        subject_ref=subject_ref, relation=member.relation, age_band=member.identity.band_on(case.received_on)
    )


def _age_band(case: model.Case) -> AgeBand:
    """Only computed when an event is first published, while the details (or the band another
    program published) still exist: the domain refuses new referrals once the person is erased."""
    band = case.age_band
    assert band is not None
    return band


def consent_to_public(
    consents: consent.Consents, event: DomainEvent, *, case_key: UUID, subject_ref: str
) -> Sequence[PublicEvent]:
    """Every consent change publishes the consent as it now stands."""
    match event:
        case consent.ConsentGranted():
            changed_on = event.granted_on
        case consent.ConsentNarrowed():
            changed_on = event.narrowed_on
        case consent.ConsentWithdrawn():
            changed_on = event.withdrawn_on
        case _:
            return []
    record = consents.get(event.consent_id)
    assert record is not None
    return [
        public.ConsentChanged(
            case_key=case_key,
            consent_id=record.consent_id,
            subject_ref=subject_ref,
            status=record.status,
            programs=[] if record.withdrawn_on else sorted(record.programs),
            purpose=record.purpose,
            expires_on=record.expires_on,
            changed_on=changed_on,
        )
    ]
