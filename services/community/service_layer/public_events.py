"""Private community events → public contract events (the privacy boundary).

Place names, addresses, descriptions, meeting minutes and decisions are free text: they stay
here (the directory API serves the public ones). A concern's description of the person never
leaves; only its issue tags, age band, district and the place it came from do. Volunteers are
not published one by one: activities carry how many helped.
"""

from collections.abc import Sequence

from contracts import events as public
from contracts.envelope import PublicEvent
from libs.domain import DomainEvent
from services.community.domain import concern, model, platform


def place_to_public(place: model.Place, event: DomainEvent) -> Sequence[PublicEvent]:
    """Place events are keyed by the place id: places are not cases."""
    registered = place.registered
    assert registered is not None
    key = registered.place_id
    match event:
        case model.PlaceRegistered():
            return [
                public.PlaceRegistered(
                    case_key=key,
                    place_id=key,
                    kind=registered.kind,
                    district=registered.district,
                    school_district=registered.school_district,
                    target_groups=sorted(set(registered.target_groups)),
                    multi_generational=registered.multi_generational,
                    integrated_schemes=registered.integrated_schemes,
                    opened_on=registered.opened_on,
                )
            ]
        case model.ActivityRecorded():
            return [
                public.ActivityHeld(
                    case_key=key,
                    place_id=key,
                    activity_id=event.activity_id,
                    kind=registered.kind,
                    district=registered.district,
                    school_district=registered.school_district,
                    held_on=event.held_on,
                    attendance=public.Attendance(**event.attendance.model_dump()),
                    volunteer_count=event.volunteer_count,
                    new_resident_led=event.new_resident_led,
                    integrated_scheme=event.integrated_scheme,
                )
            ]
        case model.PlaceClosed():
            return [public.PlaceClosed(case_key=key, place_id=key, closed_on=event.closed_on)]
    return []


def concern_to_public(state: concern.Concern, event: DomainEvent) -> Sequence[PublicEvent]:
    """Only raising a concern crosses; noting it is community's own business."""
    noted = state.noted
    if noted is None or not isinstance(event, concern.ConcernRaised):
        return []
    return [
        public.ConcernRaised(
            case_key=noted.case_key,
            concern_id=noted.concern_id,
            place_id=noted.place_id,
            raised_to=event.raised_to,
            issue_tags=noted.issue_tags,
            age_band=noted.age_band,
            district=noted.district,
            raised_on=event.raised_on,
        )
    ]


def meeting_to_public(_: platform.Meeting, event: DomainEvent) -> Sequence[PublicEvent]:
    """Meetings are keyed by the meeting id; counts and codes only."""
    if not isinstance(event, platform.PlatformMeetingRecorded):
        return []
    return [
        public.PlatformMeetingHeld(
            case_key=event.meeting_id,
            meeting_id=event.meeting_id,
            held_on=event.held_on,
            district=event.district,
            sectors=event.sectors,
            sector_count=len(event.sectors),
            organisation_count=len(event.organisations),
            themes=event.themes,
        )
    ]
