"""Private intake events → public contract events, decided inside the write transaction.

This is the privacy boundary: the person's name, address, phone, birth date, household
names and free-text notes stop here. Only coarse attributes cross.
"""

from collections.abc import Sequence
from datetime import date
from uuid import UUID

from contracts import events as public
from contracts.envelope import PublicEvent
from contracts.glossary import AgeBand, age_band_for
from libs.domain import DomainEvent
from services.intake.domain import consent, model


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def to_public(case: model.Case, event: DomainEvent, organisation: str) -> Sequence[PublicEvent]:
    received = case.received
    assert received is not None
    case_key: UUID = received.case_id
    match event:
        case model.ConsultationReceived():
            assert received.person is not None and received.household is not None
            return [
                public.CaseReceived(
                    case_key=case_key,
                    subject_ref=received.subject_ref,
                    channel=received.channel,
                    issue_tags=received.issue_tags,
                    age_band=_age_band(received),
                    household_size=1 + len(received.household),
                    district=received.district,
                    received_on=received.received_on,
                )
            ]
        case model.ReferredToCoordination():
            return [
                public.ReferredToCoordination(
                    case_key=case_key,
                    referral_id=event.referral_id,
                    subject_ref=received.subject_ref,
                    referring_organisation=organisation,
                    issue_tags=received.issue_tags,
                    age_band=_age_band(received),
                    district=received.district,
                    urgency=event.urgency,
                    referred_on=event.referred_on,
                )
            ]
        case model.PersonErased():
            return [
                public.SubjectErased(
                    case_key=case_key, subject_ref=received.subject_ref, erased_on=event.erased_on
                )
            ]
    return []


def _age_band(received: model.ConsultationReceived) -> AgeBand:
    """Only computed when an event is first published, while the details still exist."""
    assert received.person is not None
    return age_band_for(age_on(received.person.birth_date, received.received_on))


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
