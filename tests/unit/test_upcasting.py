"""Upcasting public events: every v1 payload reads as exactly one v2, and the registry is checked."""

import uuid
from datetime import date

import pytest
from pydantic import ValidationError

from contracts import upcasting
from contracts.events import ContactAttempted, split_outcome
from contracts.glossary import ContactMethod, ContactOutcome, ContactReach, ContactResponse
from contracts.superseded import ContactAttemptedV1


def v1_payload(outcome: ContactOutcome) -> dict:
    return ContactAttemptedV1(
        case_key=uuid.uuid4(),
        outreach_case_id=uuid.uuid4(),
        attempt_number=2,
        method=ContactMethod.HOME_VISIT,
        outcome=outcome,
        attempted_on=date(2026, 5, 1),
    ).model_dump(mode="json")


@pytest.mark.parametrize("outcome", list(ContactOutcome))
def test_every_v1_outcome_reads_as_a_v2_that_still_says_the_same(outcome):
    payload = v1_payload(outcome)
    event = upcasting.read_event("ContactAttempted", 1, payload)
    assert isinstance(event, ContactAttempted)
    assert (event.reached, event.response) == split_outcome(outcome)
    assert event.outcome is outcome  # code written against v1 reads the same value
    kept = {k: v for k, v in payload.items() if k != "outcome"}
    assert {k: v for k, v in event.model_dump(mode="json").items() if k in kept} == kept


def test_the_current_version_passes_through_unchanged():
    event = ContactAttempted(
        case_key=uuid.uuid4(),
        outreach_case_id=uuid.uuid4(),
        attempt_number=1,
        method=ContactMethod.VIA_FAMILY,
        reached=ContactReach.FAMILY,
        response=ContactResponse.REFUSED,  # 家族が拒否: v1 had no code for it
        attempted_on=date(2026, 5, 1),
    )
    assert upcasting.read_event("ContactAttempted", 2, event.model_dump(mode="json")) == event
    assert event.outcome is ContactOutcome.FAMILY_ONLY


@pytest.mark.parametrize(
    ("reached", "response"),
    [(ContactReach.NOBODY, ContactResponse.REFUSED), (ContactReach.PERSON, None)],
)
def test_v2_refuses_a_response_that_does_not_fit_whom_it_reached(reached, response):
    with pytest.raises(ValidationError):
        ContactAttempted(
            case_key=uuid.uuid4(),
            outreach_case_id=uuid.uuid4(),
            attempt_number=1,
            method=ContactMethod.PHONE,
            reached=reached,
            response=response,
            attempted_on=date(2026, 5, 1),
        )


def test_a_malformed_v1_is_refused_as_v1():
    payload = v1_payload(ContactOutcome.REFUSED) | {"outcome": "shouted"}
    with pytest.raises(ValidationError) as caught:
        upcasting.read_event("ContactAttempted", 1, payload)
    assert caught.value.title == "ContactAttempted"
    assert [e["loc"] for e in caught.value.errors()] == [("outcome",)]


def test_a_v1_payload_claiming_to_be_v2_is_refused():
    with pytest.raises(ValidationError):
        upcasting.read_event("ContactAttempted", 2, v1_payload(ContactOutcome.CONVERSATION))


@pytest.mark.parametrize("version", [0, 3, 99])
def test_unknown_versions_are_refused(version):
    with pytest.raises(upcasting.UnsupportedVersion, match=f"unsupported schema version {version}"):
        upcasting.read_event("ContactAttempted", version, v1_payload(ContactOutcome.CONVERSATION))


def test_the_registry_is_sound():
    assert upcasting.check_chains() == []


def test_the_registry_check_finds_gaps_and_strays():
    steps = sorted(upcasting.UPCASTERS)
    assert "ContactAttempted: no upcaster from v1" in upcasting.check_chains(upcasters={})
    assert upcasting.check_chains(upcasters={}) == [f"{t}: no upcaster from v{v}" for t, v in steps]
    assert upcasting.check_chains(superseded={}) == [f"{t}: no frozen model of v{v}" for t, v in steps]
    strays = {**upcasting.UPCASTERS, ("CaseReceived", 1): dict, ("NoSuchEvent", 1): dict}
    assert upcasting.check_chains(upcasters=strays) == [
        "CaseReceived: v1 is not an older version of a current event",
        "NoSuchEvent: v1 is not an older version of a current event",
    ]
