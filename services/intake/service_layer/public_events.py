"""Private intake events → public contract events, decided inside the write transaction.

This is the privacy boundary: the person's name, address, phone, birth date, household
names and free-text notes stop here. Only coarse attributes cross.
"""

from collections.abc import Sequence
from datetime import date
from uuid import UUID

from contracts import events as public
from contracts.envelope import PublicEvent
from contracts.glossary import age_band_for
from libs.domain import DomainEvent
from services.intake.domain import model


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def to_public(case: model.Case, event: DomainEvent, organisation: str) -> Sequence[PublicEvent]:
    received = case.received
    assert received is not None
    case_key: UUID = received.case_id
    age_band = age_band_for(age_on(received.person.birth_date, received.received_on))
    match event:
        case model.ConsultationReceived():
            return [
                public.CaseReceived(
                    case_key=case_key,
                    subject_ref=received.subject_ref,
                    channel=received.channel,
                    issue_tags=received.issue_tags,
                    age_band=age_band,
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
                    age_band=age_band,
                    district=received.district,
                    urgency=event.urgency,
                    consent_to_share=event.consent_to_share,
                    referred_on=event.referred_on,
                )
            ]
    return []
