"""Community's rules: places open and close, activities count generations, concerns pass on once,
platforms are multi-sector — and what crosses to Kafka carries no names or free text."""

import uuid
from datetime import date, time

import pytest

from contracts import events as public
from contracts.glossary import (
    AgeBand,
    Generation,
    IssueTag,
    MenuKind,
    MenuStatus,
    PlaceKind,
    PlatformTheme,
    Sector,
    TargetGroup,
)
from libs.directory import Directory
from libs.domain import DomainError, InvalidCommand, NotFound
from services.community.domain import concern, menu, model, platform
from services.community.service_layer import hsds
from services.community.service_layer.public_events import (
    concern_to_public,
    meeting_to_public,
    place_to_public,
)

PLACE_ID = uuid.uuid4()
OPENED = date(2026, 4, 1)
SATURDAY_LUNCH = model.Slot(freq="WEEKLY", byday=["SA"], opens_at=time(11), closes_at=time(14))


def registered(**overrides) -> model.PlaceRegistered:
    return model.PlaceRegistered(
        **{
            "place_id": PLACE_ID,
            "holder_organisation": "shakyo-chiiki",
            "kind": PlaceKind.KODOMO_SHOKUDO,
            "name": "みんなの食卓 ひがし",
            "description": "誰でも来られる子ども食堂です。",
            "address": model.PlaceAddress(
                postal_code="000-0001", prefecture="北海道", city="架空市", street="東町1-2-3 東町会館"
            ),
            "district": "higashi-1",
            "school_district": "higashi-es",
            "target_groups": [TargetGroup.EVERYONE],
            "multi_generational": True,
            "schedule": [SATURDAY_LUNCH],
            "opened_on": OPENED,
        }
        | overrides
    )


def activity(
    held_on: date = date(2026, 4, 11), new_resident_led: bool = False, **attendance: int
) -> model.ActivityRecorded:
    counts = {"children": 12, "youth": 2, "working_age": 5, "older": 8} | attendance
    return model.ActivityRecorded(
        activity_id=uuid.uuid4(),
        held_on=held_on,
        attendance=model.Attendance(**counts),
        volunteer_count=4,
        new_resident_led=new_resident_led,
    )


def open_place(*events: model.DomainEvent) -> model.Place:
    return model.PLACE.fold([registered(), *events])


def refused(call, code: str, kind: type[DomainError] = DomainError) -> DomainError:
    with pytest.raises(kind) as error:
        call()
    assert error.value.code == code
    assert error.value.message  # a Japanese sentence the worker can act on
    return error.value


# --- places -----------------------------------------------------------------------------


def test_a_place_is_registered_once_and_published_without_its_name_or_address():
    event = registered()
    assert model.register(model.Place(), event) == [event]
    refused(lambda: model.register(open_place(), event), "place_exists")

    [published] = place_to_public(open_place(), event)
    assert isinstance(published, public.PlaceRegistered)
    assert published.case_key == PLACE_ID and published.school_district == "higashi-es"
    assert published.multi_generational is True
    raw = published.model_dump_json()
    assert "みんなの食卓" not in raw and "東町" not in raw


def test_a_schedule_must_make_sense():
    late = model.Slot(freq="WEEKLY", byday=["SA"], opens_at=time(14), closes_at=time(11))
    refused(
        lambda: model.register(model.Place(), registered(schedule=[late])),
        "closes_before_opens",
        InvalidCommand,
    )
    ordinal = model.Slot(freq="WEEKLY", byday=["2SA"], opens_at=time(10), closes_at=time(12))
    refused(
        lambda: model.register(model.Place(), registered(schedule=[ordinal])),
        "ordinal_in_weekly",
        InvalidCommand,
    )
    garbled = model.Slot(freq="MONTHLY", byday=["Saturday"], opens_at=time(10), closes_at=time(12))
    refused(lambda: model.register(model.Place(), registered(schedule=[garbled])), "bad_day", InvalidCommand)
    monthly = model.Slot(freq="MONTHLY", byday=["2SA", "-1FR"], opens_at=time(10), closes_at=time(12))
    assert model.register(model.Place(), registered(schedule=[monthly]))


# --- activities -------------------------------------------------------------------------


def test_an_activity_counts_generations_and_is_published_as_counts():
    held = activity(new_resident_led=True)
    assert model.record_activity(open_place(), held) == [held]
    [published] = place_to_public(open_place(held), held)
    assert isinstance(published, public.ActivityHeld)
    assert published.attendance.children == 12 and published.attendance.older == 8
    assert published.district == "higashi-1" and published.kind == PlaceKind.KODOMO_SHOKUDO
    assert published.new_resident_led is True and published.volunteer_count == 4
    refused(lambda: model.record_activity(open_place(held), held), "activity_exists")


def test_an_activity_before_the_place_opened_or_after_it_closed_is_refused():
    refused(
        lambda: model.record_activity(open_place(), activity(date(2026, 3, 31))), "activity_before_opening"
    )
    closed = open_place(model.PlaceClosed(closed_on=date(2026, 6, 1)))
    refused(lambda: model.record_activity(closed, activity(date(2026, 6, 1))), "place_closed")
    assert model.record_activity(closed, activity(date(2026, 5, 30)))  # held before the closure: late entry


def test_attendance_is_never_negative_and_never_empty():
    refused(
        lambda: model.record_activity(open_place(), activity(children=-1)), "negative_count", InvalidCommand
    )
    empty = activity(children=0, youth=0, working_age=0, older=0)
    refused(lambda: model.record_activity(open_place(), empty), "no_attendance", InvalidCommand)


def test_an_unknown_place_has_no_activities():
    refused(lambda: model.record_activity(model.Place(), activity()), "place_not_found", NotFound)


# --- volunteers -------------------------------------------------------------------------


def test_volunteers_are_pseudonymous_and_leave_once():
    ref = f"vol_{uuid.uuid4().hex}"
    joined = model.VolunteerRegistered(volunteer_ref=ref, generation=Generation.OLDER, registered_on=OPENED)
    assert model.register_volunteer(open_place(), joined) == [joined]
    refused(lambda: model.register_volunteer(open_place(joined), joined), "volunteer_exists")
    not_a_ref = joined.model_copy(update={"volunteer_ref": "山田花子"})
    refused(lambda: model.register_volunteer(open_place(), not_a_ref), "bad_volunteer_ref", InvalidCommand)
    assert len(open_place(joined).active_volunteers) == 1
    assert place_to_public(open_place(joined), joined) == []  # counts travel with activities

    left = model.VolunteerLeft(volunteer_ref=ref, left_on=date(2026, 9, 30))
    assert model.volunteer_leaves(open_place(joined), left) == [left]
    assert open_place(joined, left).active_volunteers == []
    refused(lambda: model.volunteer_leaves(open_place(joined, left), left), "volunteer_already_left")
    early = left.model_copy(update={"left_on": date(2026, 3, 1)})
    refused(lambda: model.volunteer_leaves(open_place(joined), early), "left_before_registered")
    stranger = left.model_copy(update={"volunteer_ref": f"vol_{uuid.uuid4().hex}"})
    refused(lambda: model.volunteer_leaves(open_place(joined), stranger), "volunteer_not_found", NotFound)


# --- closing ----------------------------------------------------------------------------


def test_a_place_closes_once_and_not_before_what_happened_there():
    closed = model.PlaceClosed(closed_on=date(2026, 6, 1))
    assert model.close(open_place(), closed) == [closed]
    refused(lambda: model.close(open_place(closed), closed), "place_already_closed")
    refused(
        lambda: model.close(open_place(), model.PlaceClosed(closed_on=date(2026, 3, 1))),
        "close_before_opening",
    )
    refused(lambda: model.close(open_place(activity(date(2026, 6, 6))), closed), "activities_after_closing")
    [published] = place_to_public(open_place(closed), closed)
    assert isinstance(published, public.PlaceClosed) and published.closed_on == date(2026, 6, 1)


# --- concerns ---------------------------------------------------------------------------


def noted(**overrides) -> concern.ConcernNoted:
    return concern.ConcernNoted(
        **{
            "concern_id": uuid.uuid4(),
            "case_key": uuid.uuid4(),
            "subject_ref": f"subj_{uuid.uuid4().hex}",
            "place_id": PLACE_ID,
            "holder_organisation": "shakyo-chiiki",
            "issue_tags": [IssueTag.YOUNG_CARER],
            "age_band": AgeBand.CHILD,
            "district": "higashi-1",
            "noticed_on": date(2026, 5, 9),
            "description": "小学5年の男の子、祖母の介護で最近来られない日が続く。",
        }
        | overrides
    )


def note(state: concern.Concern, event: concern.ConcernNoted, closed_on: date | None = None) -> list:
    return concern.note(state, event, place_opened_on=OPENED, place_closed_on=closed_on)


def test_a_concern_is_noted_at_a_running_place():
    event = noted()
    assert note(concern.Concern(), event) == [event]
    refused(lambda: note(concern.CONCERN.fold([event]), event), "concern_exists")
    refused(lambda: note(concern.Concern(), noted(noticed_on=date(2026, 3, 1))), "concern_before_opening")
    refused(lambda: note(concern.Concern(), event, closed_on=date(2026, 5, 1)), "place_closed")
    assert concern_to_public(concern.CONCERN.fold([event]), event) == []  # noting is not passing on
    assert concern.CONCERN.subject_of(concern.CONCERN.fold([event])) == event.subject_ref
    assert concern.ConcernNoted.personal_fields == ("description",)


def test_a_concern_is_raised_once_and_crosses_without_the_description():
    event = noted()
    state = concern.CONCERN.fold([event])
    raised = concern.ConcernRaised(raised_to="intake", raised_on=date(2026, 5, 10))
    assert concern.raise_concern(state, raised) == [raised]
    after = concern.CONCERN.fold([raised], state)
    refused(lambda: concern.raise_concern(after, raised), "concern_already_raised")
    early = concern.ConcernRaised(raised_to="outreach", raised_on=date(2026, 5, 1))
    refused(lambda: concern.raise_concern(state, early), "raised_before_noticed")
    refused(lambda: concern.raise_concern(concern.Concern(), raised), "concern_not_found", NotFound)

    [published] = concern_to_public(after, raised)
    assert isinstance(published, public.ConcernRaised)
    assert published.case_key == event.case_key and published.concern_id == event.concern_id
    assert published.raised_to == "intake" and published.age_band == AgeBand.CHILD
    raw = published.model_dump_json()
    assert "介護" not in raw and event.subject_ref not in raw


# --- platform meetings ------------------------------------------------------------------


def meeting(**overrides) -> platform.PlatformMeetingRecorded:
    return platform.PlatformMeetingRecorded(
        **{
            "meeting_id": uuid.uuid4(),
            "holder_organisation": "shakyo-chiiki",
            "held_on": date(2026, 5, 20),
            "district": None,
            "sectors": [Sector.WELFARE, Sector.COMMERCE, Sector.WELFARE],
            "organisations": ["shoukoukai", "shakyo-chiiki", "shoukoukai"],
            "themes": [PlatformTheme.CHILDREN_AND_YOUTH],
            "decisions": ["夏休みに商店街で子どもの職業体験を開く"],
            "minutes": "商工会から空き店舗の活用案。",
        }
        | overrides
    )


def test_a_platform_meeting_needs_two_sectors_and_publishes_codes_and_counts_only():
    [recorded] = platform.record(platform.Meeting(), meeting())
    assert recorded.sectors == [Sector.COMMERCE, Sector.WELFARE]
    assert recorded.organisations == ["shakyo-chiiki", "shoukoukai"]
    refused(
        lambda: platform.record(platform.Meeting(), meeting(sectors=[Sector.WELFARE] * 2)),
        "single_sector",
        InvalidCommand,
    )
    refused(lambda: platform.record(platform.MEETING.fold([recorded]), recorded), "meeting_exists")

    [published] = meeting_to_public(platform.MEETING.fold([recorded]), recorded)
    assert isinstance(published, public.PlatformMeetingHeld)
    assert (published.sector_count, published.organisation_count) == (2, 2)
    assert "職業体験" not in published.model_dump_json()


# --- the HSDS directory -----------------------------------------------------------------


def test_a_place_exports_as_an_hsds_service_at_a_location_with_its_schedule():
    directory = Directory.load()
    page = hsds.page([open_place(), model.Place()], directory)
    assert page["total_items"] == 1 and page["contents"][0]["id"] == str(PLACE_ID)
    service = page["contents"][0]
    assert {"id", "name", "status", "organization_id", "description"} <= set(service)
    assert service["status"] == "active"
    assert service["organization"]["name"] == "架空市社会福祉協議会 地域づくり"
    assert service["organization_id"] == service["organization"]["id"]
    [schedule] = service["schedules"]
    assert schedule | {"id": None} == schedule | {
        "id": None,
        "freq": "WEEKLY",
        "byday": "SA",
        "opens_at": "11:00+09:00",
        "closes_at": "14:00+09:00",
        "interval": 1,
        "valid_from": "2026-04-01",
    }
    assert schedule["description"] == "毎週 土曜 11:00〜14:00"
    [at] = service["service_at_locations"]
    [address] = at["location"]["addresses"]
    assert at["location"]["location_type"] == "physical" and at["location_id"] == at["location"]["id"]
    assert address["country"] == "JP" and address["state_province"] == "北海道"
    assert service["x_kasane"]["school_district"] == "higashi-es"
    closed = hsds.page([open_place(model.PlaceClosed(closed_on=date(2027, 3, 31)))], directory)
    assert closed["contents"][0]["status"] == "inactive"
    assert closed["contents"][0]["schedules"][0]["valid_to"] == "2027-03-31"
    # ids are stable across exports (outside directories keep their links)
    assert hsds.page([open_place()], directory)["contents"] == page["contents"]


# --- participation's menus in the directory ---------------------------------------------


def menu_noted(**overrides) -> menu.MenuNoted:
    return menu.MenuNoted(
        **{
            "menu_id": uuid.uuid4(),
            "kind": MenuKind.WORK_EXPERIENCE,
            "host_organisation": "shakyo-sanka",
            "district": "kita-2",
            "capacity": 3,
            "target_groups": [],
            "status": MenuStatus.ACTIVE,
            "as_of": date(2026, 5, 1),
        }
        | overrides
    )


def test_community_keeps_the_newest_state_of_each_menu():
    published = menu_noted()
    assert menu.note(menu.Menu(), published) == [published]
    kept = menu.MENU.fold([published])
    assert menu.note(kept, published) == []  # re-delivered
    closed = published.model_copy(update={"status": MenuStatus.CLOSED, "as_of": date(2026, 6, 1)})
    assert menu.note(kept, closed) == [closed]
    assert menu.note(menu.MENU.fold([closed]), published) == []  # older than what we have


def test_menus_export_beside_places_as_services_in_a_district():
    noted = menu_noted(status=MenuStatus.CLOSED, target_groups=[IssueTag.HIKIKOMORI])
    page = hsds.page([open_place()], Directory.load(), menus=[noted])
    assert page["total_items"] == 2
    exported = page["contents"][1]
    assert exported["id"] == str(noted.menu_id) and exported["status"] == "inactive"
    assert exported["name"] == "就労体験（架空市社会福祉協議会 参加支援）"
    assert exported["service_areas"][0]["name"] == "kita-2"
    assert exported["eligibility_description"] == "ひきこもり"
    assert exported["x_kasane"]["source"] == "participation"
    assert page["contents"][0]["x_kasane"]["source"] == "community"
