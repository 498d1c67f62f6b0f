"""Community's rules: places open and close, activities count generations, concerns pass on once,
platforms are multi-sector — and what crosses to Kafka carries no names or free text."""

import uuid
from datetime import date, time

import pytest

from contracts import events as public
from contracts.glossary import (
    AgeBand,
    Generation,
    IntegratedScheme,
    IssueTag,
    LocalResourceKind,
    MenuKind,
    MenuStatus,
    PlaceKind,
    PlatformTheme,
    Sector,
    TargetGroup,
)
from libs.directory import Directory
from libs.domain import DomainError, InvalidCommand, NotFound, RegisterEntry
from services.community.domain import concern, gaps, menu, model, platform
from services.community.service_layer import hsds
from services.community.service_layer.public_events import (
    concern_to_public,
    meeting_to_public,
    place_to_public,
)

PLACE_ID = uuid.uuid4()
OPENED = date(2026, 4, 1)
SATURDAY_LUNCH = model.Slot(freq="WEEKLY", byday=["SA"], opens_at=time(11), closes_at=time(14))


def register(**overrides) -> model.Register:
    """The registration command as the service builds it: the request plus the minted id and holder."""
    request = model.RegisterPlace(
        **{
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
    return model.Register(request=request, place_id=PLACE_ID, holder_organisation="shakyo-chiiki")


def registered(**overrides) -> model.PlaceRegistered:
    [event] = model.decide(register(**overrides), model.Place())
    assert isinstance(event, model.PlaceRegistered)
    return event


def activity(
    held_on: date = date(2026, 4, 11), new_resident_led: bool = False, **attendance: int
) -> model.AddActivity:
    """An activity command. Counts are built without the request's validation (`model_construct`):
    a negative count must be refused by the domain itself, whoever builds the command."""
    counts = {"children": 12, "youth": 2, "working_age": 5, "older": 8} | attendance
    return model.AddActivity(
        request=model.RecordActivity(
            held_on=held_on,
            attendance=model.AttendanceCounts.model_construct(**counts),
            volunteer_count=4,
            new_resident_led=new_resident_led,
        ),
        activity_id=uuid.uuid4(),
    )


def held(command: model.AddActivity, place: model.Place | None = None) -> model.ActivityRecorded:
    """The event an accepted activity command records."""
    [event] = model.decide(command, open_place() if place is None else place)
    assert isinstance(event, model.ActivityRecorded)
    return event


def open_place(*events: model.DomainEvent) -> model.Place:
    return model.PLACE.fold([registered(), *events])


def refused(call, code: str, kind: type[DomainError] = DomainError) -> DomainError:
    with pytest.raises(kind) as error:
        call()
    assert error.value.code == code
    assert error.value.message  # a Japanese sentence the worker can act on
    return error.value


def test_an_unknown_command_is_a_type_error():
    with pytest.raises(TypeError):
        model.decide(concern.RaiseConcern(raised_to="intake", raised_on=OPENED), model.Place())
    with pytest.raises(TypeError):
        concern.decide(model.ClosePlace(closed_on=OPENED), concern.Concern())
    with pytest.raises(TypeError):
        platform.decide(model.ClosePlace(closed_on=OPENED), platform.Meeting())


# --- places -----------------------------------------------------------------------------


def test_a_place_is_registered_once_and_published_without_its_name_or_address():
    command = register(target_groups=[TargetGroup.EVERYONE, TargetGroup.CHILDREN, TargetGroup.EVERYONE])
    [event] = model.PLACE.decide(command, model.Place())
    assert isinstance(event, model.PlaceRegistered)
    assert event.place_id == PLACE_ID and event.holder_organisation == "shakyo-chiiki"
    assert event.name == "みんなの食卓 ひがし" and event.opened_on == OPENED
    assert event.target_groups == sorted({TargetGroup.EVERYONE, TargetGroup.CHILDREN})
    refused(lambda: model.decide(register(), open_place()), "place_exists")

    [published] = place_to_public(open_place(), registered())
    assert isinstance(published, public.PlaceRegistered)
    assert published.case_key == PLACE_ID and published.school_district == "higashi-es"
    assert published.multi_generational is True
    raw = published.model_dump_json()
    assert "みんなの食卓" not in raw and "東町" not in raw


def test_a_schedule_must_make_sense():
    late = model.Slot(freq="WEEKLY", byday=["SA"], opens_at=time(14), closes_at=time(11))
    refused(
        lambda: model.decide(register(schedule=[late]), model.Place()),
        "closes_before_opens",
        InvalidCommand,
    )
    ordinal = model.Slot(freq="WEEKLY", byday=["2SA"], opens_at=time(10), closes_at=time(12))
    refused(
        lambda: model.decide(register(schedule=[ordinal]), model.Place()),
        "ordinal_in_weekly",
        InvalidCommand,
    )
    garbled = model.Slot(freq="MONTHLY", byday=["Saturday"], opens_at=time(10), closes_at=time(12))
    refused(lambda: model.decide(register(schedule=[garbled]), model.Place()), "bad_day", InvalidCommand)
    monthly = model.Slot(freq="MONTHLY", byday=["2SA", "-1FR"], opens_at=time(10), closes_at=time(12))
    assert model.decide(register(schedule=[monthly]), model.Place())


# --- activities -------------------------------------------------------------------------


def test_an_activity_counts_generations_and_is_published_as_counts():
    command = activity(new_resident_led=True)
    event = held(command)
    assert event.activity_id == command.activity_id and event.attendance.total == 27
    [published] = place_to_public(open_place(event), event)
    assert isinstance(published, public.ActivityHeld)
    assert published.attendance.children == 12 and published.attendance.older == 8
    assert published.district == "higashi-1" and published.kind == PlaceKind.KODOMO_SHOKUDO
    assert published.new_resident_led is True and published.volunteer_count == 4
    refused(lambda: model.decide(command, open_place(event)), "activity_exists")


def test_an_activity_before_the_place_opened_or_after_it_closed_is_refused():
    refused(lambda: model.decide(activity(date(2026, 3, 31)), open_place()), "activity_before_opening")
    closed = open_place(model.PlaceClosed(closed_on=date(2026, 6, 1)))
    refused(lambda: model.decide(activity(date(2026, 6, 1)), closed), "place_closed")
    assert model.decide(activity(date(2026, 5, 30)), closed)  # held before the closure: late entry


def test_attendance_is_never_negative_and_never_empty():
    refused(lambda: model.decide(activity(children=-1), open_place()), "negative_count", InvalidCommand)
    empty = activity(children=0, youth=0, working_age=0, older=0)
    refused(lambda: model.decide(empty, open_place()), "no_attendance", InvalidCommand)


def test_an_unknown_place_has_no_activities():
    refused(lambda: model.decide(activity(), model.Place()), "place_not_found", NotFound)


# --- volunteers -------------------------------------------------------------------------


def test_volunteers_are_pseudonymous_and_leave_once():
    ref = f"vol_{uuid.uuid4().hex}"
    join = model.AddVolunteer(
        request=model.RegisterVolunteer(generation=Generation.OLDER, registered_on=OPENED), volunteer_ref=ref
    )
    [joined] = model.decide(join, open_place())
    assert joined == model.VolunteerRegistered(
        volunteer_ref=ref, generation=Generation.OLDER, registered_on=OPENED
    )
    refused(lambda: model.decide(join, open_place(joined)), "volunteer_exists")
    not_a_ref = join.model_copy(update={"volunteer_ref": "山田花子"})
    refused(lambda: model.decide(not_a_ref, open_place()), "bad_volunteer_ref", InvalidCommand)
    assert len(open_place(joined).active_volunteers) == 1
    assert place_to_public(open_place(joined), joined) == []  # counts travel with activities

    leave = model.Leave(request=model.RecordLeaving(left_on=date(2026, 9, 30)), volunteer_ref=ref)
    [left] = model.decide(leave, open_place(joined))
    assert left == model.VolunteerLeft(volunteer_ref=ref, left_on=date(2026, 9, 30))
    assert open_place(joined, left).active_volunteers == []
    refused(lambda: model.decide(leave, open_place(joined, left)), "volunteer_already_left")
    early = leave.model_copy(update={"request": model.RecordLeaving(left_on=date(2026, 3, 1))})
    refused(lambda: model.decide(early, open_place(joined)), "left_before_registered")
    stranger = leave.model_copy(update={"volunteer_ref": f"vol_{uuid.uuid4().hex}"})
    refused(lambda: model.decide(stranger, open_place(joined)), "volunteer_not_found", NotFound)


# --- closing ----------------------------------------------------------------------------


def test_a_place_closes_once_and_not_before_what_happened_there():
    close = model.ClosePlace(closed_on=date(2026, 6, 1))
    [closed] = model.decide(close, open_place())
    assert closed == model.PlaceClosed(closed_on=date(2026, 6, 1))
    refused(lambda: model.decide(close, open_place(closed)), "place_already_closed")
    refused(
        lambda: model.decide(model.ClosePlace(closed_on=date(2026, 3, 1)), open_place()),
        "close_before_opening",
    )
    refused(
        lambda: model.decide(close, open_place(held(activity(date(2026, 6, 6))))), "activities_after_closing"
    )
    [published] = place_to_public(open_place(closed), closed)
    assert isinstance(published, public.PlaceClosed) and published.closed_on == date(2026, 6, 1)


# --- concerns ---------------------------------------------------------------------------


def note_at_place(closed_on: date | None = None, **overrides) -> concern.NoteAtPlace:
    """The noting command as the service builds it: the worker's request plus the minted ids and
    the facts of the place read in the same transaction."""
    request = concern.NoteConcern(
        **{
            "issue_tags": [IssueTag.YOUNG_CARER],
            "age_band": AgeBand.CHILD,
            "description": "小学5年の男の子、祖母の介護で最近来られない日が続く。",
            "noticed_on": date(2026, 5, 9),
        }
        | overrides
    )
    return concern.NoteAtPlace(
        request=request,
        concern_id=uuid.uuid4(),
        case_key=uuid.uuid4(),
        subject_ref=f"subj_{uuid.uuid4().hex}",
        place_id=PLACE_ID,
        holder_organisation="shakyo-chiiki",
        district="higashi-1",
        place_opened_on=OPENED,
        place_closed_on=closed_on,
    )


def test_a_concern_is_noted_at_a_running_place():
    command = note_at_place()
    [event] = concern.decide(command, concern.Concern())
    assert isinstance(event, concern.ConcernNoted)
    assert (event.concern_id, event.case_key, event.subject_ref) == (
        command.concern_id,
        command.case_key,
        command.subject_ref,
    )
    assert event.district == "higashi-1" and event.description == command.request.description
    refused(lambda: concern.decide(command, concern.CONCERN.fold([event])), "concern_exists")
    refused(
        lambda: concern.decide(note_at_place(noticed_on=date(2026, 3, 1)), concern.Concern()),
        "concern_before_opening",
    )
    refused(
        lambda: concern.decide(note_at_place(closed_on=date(2026, 5, 1)), concern.Concern()), "place_closed"
    )
    assert concern_to_public(concern.CONCERN.fold([event]), event) == []  # noting is not passing on
    assert concern.CONCERN.subject_of(concern.CONCERN.fold([event])) == event.subject_ref
    assert concern.CONCERN.case_key_of(concern.CONCERN.fold([event])) == event.case_key
    assert concern.ConcernNoted.personal_fields == ("description",)


def test_a_concern_is_raised_once_and_crosses_without_the_description():
    [event] = concern.decide(note_at_place(), concern.Concern())
    assert isinstance(event, concern.ConcernNoted)
    state = concern.CONCERN.fold([event])
    command = concern.RaiseConcern(raised_to="intake", raised_on=date(2026, 5, 10))
    [raised] = concern.CONCERN.decide(command, state)
    assert raised == concern.ConcernRaised(raised_to="intake", raised_on=date(2026, 5, 10))
    after = concern.CONCERN.fold([raised], state)
    refused(lambda: concern.decide(command, after), "concern_already_raised")
    early = concern.RaiseConcern(raised_to="outreach", raised_on=date(2026, 5, 1))
    refused(lambda: concern.decide(early, state), "raised_before_noticed")
    refused(lambda: concern.decide(command, concern.Concern()), "concern_not_found", NotFound)

    [published] = concern_to_public(after, raised)
    assert isinstance(published, public.ConcernRaised)
    assert published.case_key == event.case_key and published.concern_id == event.concern_id
    assert published.raised_to == "intake" and published.age_band == AgeBand.CHILD
    raw = published.model_dump_json()
    assert "介護" not in raw and event.subject_ref not in raw


def test_a_concerns_register_line_is_its_place_and_dates_without_personal_data():
    assert concern.register_entry(concern.Concern()) is None  # no concern yet, no line
    command = note_at_place(issue_tags=[IssueTag.YOUNG_CARER, IssueTag.ISOLATION])
    [noted] = concern.decide(command, concern.Concern())
    state = concern.CONCERN.fold([noted])

    assert concern.CONCERN.register is concern.register_entry
    assert concern.register_entry(state) == RegisterEntry(
        case_id=command.concern_id,
        case_key=command.case_key,
        organisation="shakyo-chiiki",
        status="noted",
        district="higashi-1",
        issue_tags=("isolation", "young_carer"),
        opened_on=date(2026, 5, 9),
        last_activity_on=date(2026, 5, 9),
        due_on=None,  # nothing falls due on a concern
        subject_ref=command.subject_ref,
        search=(),  # a free-text description only: no name, birth date or phone to find it by
    )

    raised = concern.ConcernRaised(raised_to="outreach", raised_on=date(2026, 5, 20))
    later = concern.register_entry(concern.CONCERN.fold([raised], state))
    assert later is not None and (later.status, later.last_activity_on) == ("raised", date(2026, 5, 20))
    assert later.opened_on == date(2026, 5, 9)


# --- platform meetings ------------------------------------------------------------------


def meeting(**overrides) -> platform.Record:
    request = platform.RecordMeeting(
        **{
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
    return platform.Record(request=request, meeting_id=uuid.uuid4(), holder_organisation="shakyo-chiiki")


def test_a_platform_meeting_needs_two_sectors_and_publishes_codes_and_counts_only():
    command = meeting()
    [recorded] = platform.MEETING.decide(command, platform.Meeting())
    assert isinstance(recorded, platform.PlatformMeetingRecorded)
    assert recorded.meeting_id == command.meeting_id and recorded.holder_organisation == "shakyo-chiiki"
    assert recorded.sectors == [Sector.COMMERCE, Sector.WELFARE]
    assert recorded.organisations == ["shakyo-chiiki", "shoukoukai"]
    refused(
        lambda: platform.decide(meeting(sectors=[Sector.WELFARE] * 2), platform.Meeting()),
        "single_sector",
        InvalidCommand,
    )
    refused(lambda: platform.decide(command, platform.MEETING.fold([recorded])), "meeting_exists")

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
    assert menu.decide(menu.NoteMenu(noted=published), menu.Menu()) == [published]
    kept = menu.MENU.fold([published])
    assert menu.MENU.decide(menu.NoteMenu(noted=published), kept) == []  # re-delivered
    closed = published.model_copy(update={"status": MenuStatus.CLOSED, "as_of": date(2026, 6, 1)})
    assert menu.decide(menu.NoteMenu(noted=closed), kept) == [closed]
    older = menu.NoteMenu(noted=published)
    assert menu.decide(older, menu.MENU.fold([closed])) == []  # older than what we have
    with pytest.raises(TypeError):
        menu.decide(gaps.NoteGap(noted=gap_noted()), kept)


def gap_noted() -> gaps.ResourceGapNoted:
    return gaps.ResourceGapNoted(
        meeting_id=uuid.uuid4(),
        resource_kind=LocalResourceKind.PLACE_TO_BE,
        district="kita-2",
        noted_on=date(2026, 5, 1),
    )


def test_a_resource_gap_is_kept_once():
    noted = gap_noted()
    assert gaps.decide(gaps.NoteGap(noted=noted), gaps.Gap()) == [noted]
    assert gaps.GAP.decide(gaps.NoteGap(noted=noted), gaps.GAP.fold([noted])) == []  # re-delivered


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


# --- 包括化対象事業 ------------------------------------------------------------------------


def activity_under(scheme: IntegratedScheme | None) -> model.AddActivity:
    command = activity()
    return command.model_copy(
        update={"request": command.request.model_copy(update={"integrated_scheme": scheme})}
    )


def test_a_place_carries_its_schemes_once_each_and_publishes_them():
    schemes = [IntegratedScheme.MUTUAL_AID, IntegratedScheme.CHILDCARE_HUB, IntegratedScheme.MUTUAL_AID]
    event = registered(integrated_schemes=schemes)
    assert event.integrated_schemes == [IntegratedScheme.CHILDCARE_HUB, IntegratedScheme.MUTUAL_AID]
    [published] = place_to_public(model.PLACE.fold([event]), event)
    assert isinstance(published, public.PlaceRegistered) and published.schema_version == 2
    assert published.integrated_schemes == ["childcare_hub", "mutual_aid"]
    # None of them (a place the program started itself) is said, not left unknown.
    [none] = place_to_public(open_place(), registered())
    assert none.integrated_schemes == []


def test_an_activity_counts_under_the_scheme_named_else_the_places_only_one():
    one = model.PLACE.fold([registered(integrated_schemes=[IntegratedScheme.CARE_PREVENTION])])
    assert held(activity_under(None), one).integrated_scheme is IntegratedScheme.CARE_PREVENTION
    # A place may lend its room to another scheme's activity.
    lent = held(activity_under(IntegratedScheme.ACTIVITY_SUPPORT_CENTRE), one)
    assert lent.integrated_scheme is IntegratedScheme.ACTIVITY_SUPPORT_CENTRE
    [published] = place_to_public(model.PLACE.fold([lent], one), lent)
    assert (
        isinstance(published, public.ActivityHeld)
        and published.integrated_scheme == "activity_support_centre"
    )
    assert held(activity_under(None)).integrated_scheme is None  # a place under none of them


def test_a_place_under_several_schemes_must_be_told_which_one_an_activity_was_held_under():
    several = model.PLACE.fold(
        [registered(integrated_schemes=[IntegratedScheme.CARE_PREVENTION, IntegratedScheme.CHILDCARE_HUB])]
    )
    error = refused(lambda: model.decide(activity_under(None), several), "integrated_scheme_required")
    assert error.status == 409 and "地域子育て支援拠点事業" in error.message
    chosen = held(activity_under(IntegratedScheme.CHILDCARE_HUB), several)
    assert chosen.integrated_scheme is IntegratedScheme.CHILDCARE_HUB


def test_places_and_activities_stored_before_the_schemes_read_as_not_recorded():
    stored = registered().model_dump(mode="json", exclude={"integrated_schemes"})
    assert model.PlaceRegistered.upcast(stored, 1)["integrated_schemes"] is None
    place = model.PLACE.fold([model.PlaceRegistered.model_validate(model.PlaceRegistered.upcast(stored, 1))])
    assert place.registered.integrated_schemes is None
    # Nothing to default an activity to: it stays unknown, not guessed.
    old = held(activity_under(None), place)
    assert old.integrated_scheme is None
    stored_activity = old.model_dump(mode="json", exclude={"integrated_scheme"})
    assert model.ActivityRecorded.upcast(stored_activity, 1)["integrated_scheme"] is None
    assert model.PlaceRegistered.schema_version == model.ActivityRecorded.schema_version == 2
