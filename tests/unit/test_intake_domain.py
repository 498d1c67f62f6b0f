"""Intake's rules, given events → when command → then events or a refusal. No I/O."""

import uuid
from datetime import date

import pytest

from contracts.glossary import Channel, IssueTag, ReturnReason, Urgency
from libs.domain import DomainError, InvalidCommand
from services.intake.domain import model
from services.intake.service_layer.public_events import age_on, to_public

CASE = uuid.uuid4()
RECEIVED = model.ConsultationReceived(
    case_id=CASE,
    holder_organisation="houkatsu-chuo",
    subject_ref=f"subj_{uuid.uuid4().hex}",
    channel=Channel.COUNTER,
    person=model.Person(name="架空　太郎", birth_date=date(1975, 4, 2), phone="090-0000-0000"),
    household=[model.HouseholdMember(relation="父", age=84)],
    issue_tags=[IssueTag.EIGHTY_FIFTY],
    district="kita-2",
    summary="父の介護と本人の就労",
    received_on=date(2026, 4, 1),
)
REFERRAL = model.ReferredToCoordination(
    referral_id=uuid.uuid4(),
    urgency=Urgency.ROUTINE,
    reason="複合課題",
    referred_on=date(2026, 4, 2),
)


def given(*events) -> model.Case:
    return model.INTAKE_CASE.fold(events)


def test_a_consultation_opens_a_case():
    assert model.receive(given(), RECEIVED) == [RECEIVED]
    assert given(RECEIVED).status is model.Status.OPEN


def test_a_case_cannot_be_received_twice():
    with pytest.raises(DomainError, match="すでに"):
        model.receive(given(RECEIVED), RECEIVED)


def test_birth_after_receipt_is_invalid():
    born_later = RECEIVED.model_copy(
        update={"person": RECEIVED.person.model_copy(update={"birth_date": date(2027, 1, 1)})}
    )
    with pytest.raises(InvalidCommand):
        model.receive(given(), born_later)


def test_refer_then_not_again_until_returned():
    assert model.refer(given(RECEIVED), REFERRAL) == [REFERRAL]
    with pytest.raises(DomainError) as refused:
        model.refer(given(RECEIVED, REFERRAL), REFERRAL)
    assert refused.value.code == "already_referred"
    returned = model.ReturnedToOrigin(
        referral_id=REFERRAL.referral_id,
        reason=ReturnReason.MEETING_DECISION,
        returned_by="x-org",
        returned_on=date(2026, 5, 1),
    )
    again = REFERRAL.model_copy(update={"referral_id": uuid.uuid4()})
    assert model.refer(given(RECEIVED, REFERRAL, returned), again) == [again]


def test_refer_needs_a_case_and_a_sensible_date():
    with pytest.raises(DomainError):
        model.refer(given(), REFERRAL)
    with pytest.raises(DomainError) as early:
        model.refer(given(RECEIVED), REFERRAL.model_copy(update={"referred_on": date(2026, 3, 31)}))
    assert early.value.code == "referral_before_receipt"


def test_acceptance_and_return_are_idempotent():
    accepted = model.ReferralAccepted(
        referral_id=REFERRAL.referral_id, coordination_case_id=uuid.uuid4(), accepted_on=date(2026, 4, 2)
    )
    assert model.accept(given(RECEIVED, REFERRAL), accepted) == [accepted]
    assert model.accept(given(RECEIVED, REFERRAL, accepted), accepted) == []
    returned = model.ReturnedToOrigin(
        referral_id=REFERRAL.referral_id,
        reason=ReturnReason.SUPPORT_CONCLUDED,
        returned_by="c",
        returned_on=date(2026, 6, 1),
    )
    case = given(RECEIVED, REFERRAL, accepted, returned)
    assert case.status is model.Status.RETURNED
    assert case.referrals[0].return_reason is ReturnReason.SUPPORT_CONCLUDED
    assert model.take_back(case, returned) == []


def test_events_about_unknown_referrals_are_refused():
    stranger = model.ReferralAccepted(
        referral_id=uuid.uuid4(), coordination_case_id=uuid.uuid4(), accepted_on=date(2026, 4, 2)
    )
    with pytest.raises(DomainError):
        model.accept(given(RECEIVED, REFERRAL), stranger)


def test_public_events_carry_no_personal_data():
    case = given(RECEIVED, REFERRAL)
    published = [*to_public(given(RECEIVED), RECEIVED, "org-a"), *to_public(case, REFERRAL, "org-a")]
    text = "".join(p.model_dump_json() for p in published)
    for secret in ("架空", "090-0000-0000", "1975", "父の介護", "複合課題"):
        assert secret not in text
    assert published[0].age_band == "40-64" and published[0].household_size == 2


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        (date(2000, 2, 29), date(2026, 2, 28), 25),
        (date(2000, 2, 29), date(2026, 3, 1), 26),
        (date(1950, 1, 1), date(2026, 1, 1), 76),
    ],
)
def test_age_on_a_day(born, on, age):
    assert age_on(born, on) == age
