"""Break-glass decided on plain data: refused attempts are events, a grant opens one user's access
to one case for its hours and no longer, reasons must say something, reviews name a real grant."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from contracts.glossary import EmergencyReason, ReviewFinding
from libs import breakglass
from libs.breakglass import EMERGENCIES, Grant, RequestEmergencyAccess, Review
from libs.domain import DomainError, InvalidCommand, NotFound

NOW = datetime(2026, 12, 3, 22, 40, tzinfo=UTC)
CASE = uuid.uuid4()
REQUEST = RequestEmergencyAccess(
    reason_code=EmergencyReason.LIFE_OR_BODY,
    reason="警察から本人の安否確認の照会があり、保有機関に連絡がつかない。",
)


def grant(state=None, *, user="kita-takahashi", eligible=True, now=NOW, request=REQUEST, hours=24):
    command = Grant(
        request=request,
        grant_id=uuid.uuid4(),
        case_key=CASE,
        subject_ref="subj_" + "0" * 32,
        user=user,
        organisation="houkatsu-kita",
        eligible=eligible,
        why_not=None if eligible else "organisation runs no program and holds no duty",
        now=now,
        hours=hours,
    )
    state = state or EMERGENCIES.initial()
    return EMERGENCIES.fold(EMERGENCIES.decide(command, state), state), command


def test_a_grant_opens_that_user_for_its_hours_only():
    state, command = grant()
    live = state.live_grant("kita-takahashi", "houkatsu-kita", NOW + timedelta(hours=23, minutes=59))
    assert live is not None and live.grant_id == command.grant_id
    assert state.live_grant("kita-takahashi", "houkatsu-kita", NOW + timedelta(hours=24)) is None
    assert state.live_grant("kita-takahashi", "houkatsu-kita", NOW - timedelta(seconds=1)) is None
    assert state.live_grant("soudan-sato", "houkatsu-kita", NOW) is None
    assert state.live_grant("kita-takahashi", "city-soudan", NOW) is None


def test_an_ineligible_attempt_is_recorded_not_granted():
    state, _ = grant(eligible=False)
    assert state.grants == () and len(state.refused) == 1
    assert state.refused[0].why == "organisation runs no program and holds no duty"
    assert state.live_grant("kita-takahashi", "houkatsu-kita", NOW) is None


def test_a_reason_says_something_and_a_live_grant_is_not_doubled():
    with pytest.raises(InvalidCommand) as short:
        grant(request=REQUEST.model_copy(update={"reason": "　安否確認　　　　　　　　　　　　　"}))
    assert short.value.code == "reason_too_short"
    state, _ = grant()
    with pytest.raises(DomainError) as twice:
        grant(state, now=NOW + timedelta(hours=1))
    assert twice.value.code == "already_granted"
    renewed, _ = grant(state, now=NOW + timedelta(hours=25))  # a new request after expiry: a new grant
    assert len(renewed.grants) == 2


def test_the_hours_come_from_the_configuration_within_bounds(monkeypatch):
    monkeypatch.setenv("KASANE_EMERGENCY_ACCESS_HOURS", "8")
    assert breakglass.hours() == 8
    monkeypatch.setenv("KASANE_EMERGENCY_ACCESS_HOURS", "1000")
    assert breakglass.hours() == 72
    monkeypatch.delenv("KASANE_EMERGENCY_ACCESS_HOURS")
    assert breakglass.hours() == 24


def test_a_review_names_a_grant_of_the_case():
    state, command = grant()
    review = Review(
        grant_id=command.grant_id,
        finding=ReviewFinding.JUSTIFIED,
        by_user="chuo-suzuki",
        by_organisation="houkatsu-chuo",
        now=NOW + timedelta(hours=2),
    )
    reviewed = EMERGENCIES.fold(EMERGENCIES.decide(review, state), state)
    assert reviewed.grants[0].reviews[0].finding is ReviewFinding.JUSTIFIED
    with pytest.raises(NotFound):
        EMERGENCIES.decide(review.model_copy(update={"grant_id": uuid.uuid4()}), state)
