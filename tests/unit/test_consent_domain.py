"""Consent records: grant, narrow (never widen), withdraw; what a consent covers and when."""

import uuid
from datetime import date

import pytest

from contracts.glossary import ConsentPurpose, Program
from libs.domain import DomainError, InvalidCommand, NotFound
from services.intake.domain import consent

CONSENT_ID = uuid.uuid4()
GRANTED = consent.ConsentGranted(
    consent_id=CONSENT_ID,
    programs=[Program.COORDINATION, Program.PARTICIPATION],
    purpose=ConsentPurpose.SUPPORT_COORDINATION,
    granted_on=date(2026, 4, 1),
    expires_on=date(2027, 3, 31),
)
RECEIVED_ON = date(2026, 4, 1)


def given(*events) -> consent.Consents:
    return consent.CONSENTS.fold(events)


def test_a_consent_covers_its_programs_between_grant_and_expiry():
    state = given(GRANTED)
    assert state.covering(Program.COORDINATION, date(2026, 6, 1))
    assert not state.covering(Program.OUTREACH, date(2026, 6, 1))
    assert not state.covering(Program.COORDINATION, date(2026, 3, 31))
    assert not state.covering(Program.COORDINATION, date(2027, 4, 1))


def test_grant_needs_a_scope_a_future_expiry_and_a_received_case():
    assert consent.grant(given(), GRANTED, RECEIVED_ON) == [GRANTED]
    assert consent.grant(given(GRANTED), GRANTED, RECEIVED_ON) == []  # re-sent: nothing new
    with pytest.raises(InvalidCommand):
        consent.grant(given(), GRANTED.model_copy(update={"programs": []}), RECEIVED_ON)
    with pytest.raises(InvalidCommand):
        consent.grant(given(), GRANTED.model_copy(update={"expires_on": date(2026, 4, 1)}), RECEIVED_ON)
    with pytest.raises(DomainError):
        consent.grant(given(), GRANTED, date(2026, 5, 1))


def test_narrowing_only_narrows_and_withdrawal_ends_everything():
    narrowed = consent.ConsentNarrowed(
        consent_id=CONSENT_ID, programs=[Program.PARTICIPATION], narrowed_on=date(2026, 5, 1)
    )
    assert consent.narrow(given(GRANTED), narrowed) == [narrowed]
    state = given(GRANTED, narrowed)
    assert not state.covering(Program.COORDINATION, date(2026, 6, 1))
    widened = narrowed.model_copy(update={"programs": [Program.PARTICIPATION, Program.OUTREACH]})
    with pytest.raises(DomainError) as refused:
        consent.narrow(state, widened)
    assert refused.value.code == "consent_not_narrower"
    withdrawn = consent.ConsentWithdrawn(consent_id=CONSENT_ID, withdrawn_on=date(2026, 6, 1))
    state = given(GRANTED, narrowed, withdrawn)
    assert not state.covering(Program.PARTICIPATION, date(2026, 6, 2))
    assert state.get(CONSENT_ID).status == "withdrawn"
    with pytest.raises(DomainError):
        consent.withdraw(state, withdrawn)
    with pytest.raises(NotFound):
        consent.withdraw(given(), withdrawn)


def test_the_registers_expiry_is_the_latest_of_the_consents_not_withdrawn_whatever_their_scope():
    assert consent.CONSENTS.consent_expires_on is not None
    assert given().latest_expiry() is None
    renewed = consent.ConsentGranted(
        consent_id=uuid.uuid4(),
        programs=[Program.OUTREACH],
        purpose=ConsentPurpose.SUPPORT_COORDINATION,
        granted_on=date(2026, 5, 1),
        expires_on=date(2027, 9, 30),
    )
    assert given(GRANTED, renewed).latest_expiry() == date(2027, 9, 30)
    withdrawn = consent.ConsentWithdrawn(consent_id=renewed.consent_id, withdrawn_on=date(2026, 6, 1))
    assert consent.CONSENTS.consent_expires_on(given(GRANTED, renewed, withdrawn)) == date(2027, 3, 31)
    everything_withdrawn = consent.ConsentWithdrawn(consent_id=CONSENT_ID, withdrawn_on=date(2026, 6, 1))
    assert given(GRANTED, everything_withdrawn).latest_expiry() is None
