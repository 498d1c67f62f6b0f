"""The 包括化対象事業 on community's public events (PlaceRegistered and ActivityHeld v2) and
participation's closure (ParticipationClosed v1): what old messages read as, and what the new
ones may and may not carry."""

import uuid
from datetime import date

import pytest
from pydantic import ValidationError

from contracts import upcasting
from contracts.events import EVENT_TYPES, ActivityHeld, ParticipationClosed, PlaceRegistered
from contracts.glossary import IntegratedScheme, ParticipationClosureReason, PlaceKind, TargetGroup
from contracts.superseded import SUPERSEDED, ActivityHeldV1, PlaceRegisteredV1

PLACE, ACTIVITY = uuid.uuid4(), uuid.uuid4()


def place_v1() -> dict:
    return PlaceRegisteredV1(
        case_key=PLACE,
        place_id=PLACE,
        kind=PlaceKind.CHILDCARE_HUB,
        district="higashi-1",
        school_district="higashi-es",
        target_groups=[TargetGroup.PARENTS_WITH_CHILDREN],
        multi_generational=False,
        opened_on=date(2025, 4, 1),
    ).model_dump(mode="json")


def activity_v1() -> dict:
    return ActivityHeldV1(
        case_key=PLACE,
        place_id=PLACE,
        activity_id=ACTIVITY,
        kind=PlaceKind.CHILDCARE_HUB,
        district="higashi-1",
        school_district="higashi-es",
        held_on=date(2025, 5, 10),
        attendance={"children": 9, "youth": 4, "working_age": 2, "older": 1},
        volunteer_count=2,
        new_resident_led=False,
    ).model_dump(mode="json")


def test_a_v1_place_and_activity_read_as_v2_with_their_scheme_not_recorded():
    """Not even a 地域子育て支援拠点 is assumed to run under 地域子育て支援拠点事業: v1 did not say."""
    place = upcasting.read_event("PlaceRegistered", 1, place_v1())
    activity = upcasting.read_event("ActivityHeld", 1, activity_v1())

    assert isinstance(place, PlaceRegistered) and place.integrated_schemes is None
    assert isinstance(activity, ActivityHeld) and activity.integrated_scheme is None
    assert place.model_dump(mode="json", exclude={"integrated_schemes"}) == place_v1()
    assert activity.model_dump(mode="json", exclude={"integrated_scheme"}) == activity_v1()


def test_v2_says_none_apart_from_not_recorded_and_requires_the_producer_to_say_which():
    payload = place_v1() | {"integrated_schemes": []}
    assert upcasting.read_event("PlaceRegistered", 2, payload).integrated_schemes == []
    both = payload | {"integrated_schemes": ["care_prevention", "mutual_aid"]}
    assert upcasting.read_event("PlaceRegistered", 2, both).integrated_schemes == [
        IntegratedScheme.CARE_PREVENTION,
        IntegratedScheme.MUTUAL_AID,
    ]
    with pytest.raises(ValidationError):  # a v1 payload claiming to be v2: the field is missing
        upcasting.read_event("PlaceRegistered", 2, place_v1())
    with pytest.raises(ValidationError):
        upcasting.read_event("ActivityHeld", 2, activity_v1() | {"integrated_scheme": "karaoke"})
    assert {("PlaceRegistered", 1), ("ActivityHeld", 1)} <= set(SUPERSEDED)


def test_a_participation_closure_carries_ids_a_reason_code_and_a_day_only():
    closed = ParticipationClosed(
        case_key=uuid.uuid4(),
        participation_case_id=uuid.uuid4(),
        reason=ParticipationClosureReason.DECEASED,
        closed_on=date(2026, 7, 1),
    )
    assert EVENT_TYPES["ParticipationClosed"] is ParticipationClosed and closed.schema_version == 1
    assert closed.topic == "kasane.participation.events.v1"
    assert set(ParticipationClosed.model_fields) == {
        "case_key",
        "participation_case_id",
        "reason",
        "closed_on",
    }
    with pytest.raises(ValidationError):
        ParticipationClosed.model_validate(closed.model_dump() | {"note": "自宅で亡くなられた"})
    with pytest.raises(ValidationError):
        ParticipationClosed.model_validate(closed.model_dump() | {"reason": "本人の希望"})
