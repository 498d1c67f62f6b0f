"""Community's use cases: authorise, load, decide, append, fill the outbox — and record access.

Places, concerns and platform meetings are separate streams: a concern is about a person and
is sealed under that person's key, while a place and a meeting are not about anyone (they carry
no case key). Every handler takes the service's event store (or, for the inbox consumer, the
session of the message's transaction), so the same code runs on PostgreSQL and on the in-memory
store of the service tests. Whatever a handler creates gets its id here, in the command, and the
handler returns it: nothing reads the state back to find what was created.
"""

import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from contracts import events as public
from contracts.glossary import Generation
from libs import access, commands, erasure
from libs.authz import Decision, enforce
from libs.commands import Context, Outcome, no_public
from libs.directory import Directory
from libs.domain import Command, NotFound
from libs.eventstore import EventStore, Loaded, LogQuery, Session
from libs.http import Caller
from libs.inbox import Delivery
from services.community.domain import concern, gaps, menu, model, platform
from services.community.service_layer import authorization, hsds
from services.community.service_layer.public_events import (
    concern_to_public,
    meeting_to_public,
    place_to_public,
)

CONCERN_PERSONAL_FIELDS = ["description"]


def place_stream(place_id: uuid.UUID) -> str:
    return f"community-place-{place_id}"


def concern_stream(concern_id: uuid.UUID) -> str:
    return f"community-concern-{concern_id}"


def meeting_stream(meeting_id: uuid.UUID) -> str:
    return f"community-meeting-{meeting_id}"


def menu_stream(menu_id: uuid.UUID) -> str:
    return f"community-menu-{menu_id}"


def gap_stream(noted: gaps.ResourceGapNoted) -> str:
    """One stream per (meeting, kind, district), so a re-delivered gap lands where it already is."""
    return f"community-gap-{noted.meeting_id}-{noted.resource_kind.value}-{noted.district}"


def new_subject_ref() -> str:
    """A random pseudonym for the person a concern is about: meaningless outside community."""
    return f"subj_{secrets.token_hex(16)}"


def new_volunteer_ref() -> str:
    """A random pseudonym for a volunteer: lets a place count and retire registrations, names none."""
    return f"vol_{secrets.token_hex(16)}"


def _managing(caller: Caller, resource: str, action: str) -> commands.Guard[Any]:
    """The organisation that holds the place or concern, or 404 revealing nothing."""
    return commands.Guard(
        lambda state: authorization.may_manage(caller.principal, state.holder),
        caller.principal,
        action,
        resource,
    )


# --- places -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Registered:
    """What registering a place created: its id and first version."""

    place_id: uuid.UUID
    version: int


async def register_place(
    store: EventStore, caller: Caller, directory: Directory, request: model.RegisterPlace
) -> Registered:
    """Register a place under a new id, held by the caller's organisation."""
    enforce(
        authorization.may_register(caller.principal, directory),
        caller.principal,
        "register_place",
        "places",
        hide=False,
    )
    command = model.Register(
        request=request, place_id=uuid.uuid4(), holder_organisation=caller.principal.organisation
    )
    outcome = await commands.run(
        store,
        model.PLACE,
        place_stream(command.place_id),
        command,
        place_to_public,
        caller.context,
        expected_version=0,
    )
    return Registered(command.place_id, outcome.version)


PlaceChange = model.AddActivity | model.AddVolunteer | model.Leave | model.ClosePlace

# The action each change of a place is logged as when refused or allowed (the names the logs had).
PLACE_ACTIONS: dict[type[Command], str] = {
    model.AddActivity: "record_activity",
    model.AddVolunteer: "register_volunteer",
    model.Leave: "volunteer_leaves",
    model.ClosePlace: "close_place",
}


async def change_place(
    store: EventStore,
    caller: Caller,
    place_id: uuid.UUID,
    command: PlaceChange,
    expected_version: int | None,
) -> Outcome[model.Place]:
    """One command on the place, by the community coordinators of the organisation that holds it
    (else 404 revealing nothing). `expected_version` (If-Match) pins the version decided on."""
    return await commands.run(
        store,
        model.PLACE,
        place_stream(place_id),
        command,
        place_to_public,
        caller.context,
        expected_version=expected_version,
        guard=_managing(caller, f"place:{place_id}", PLACE_ACTIONS[type(command)]),
    )


@dataclass(frozen=True)
class ActivityAdded:
    """What recording an activity created: its id, and the place's new version."""

    activity_id: uuid.UUID
    version: int


async def record_activity(
    store: EventStore,
    caller: Caller,
    place_id: uuid.UUID,
    request: model.RecordActivity,
    expected_version: int | None,
) -> ActivityAdded:
    command = model.AddActivity(request=request, activity_id=uuid.uuid4())
    outcome = await change_place(store, caller, place_id, command, expected_version)
    return ActivityAdded(command.activity_id, outcome.version)


@dataclass(frozen=True)
class VolunteerAdded:
    """What registering a volunteer created: their pseudonymous ref, and the place's new version."""

    volunteer_ref: str
    version: int


async def register_volunteer(
    store: EventStore,
    caller: Caller,
    place_id: uuid.UUID,
    request: model.RegisterVolunteer,
    expected_version: int | None,
) -> VolunteerAdded:
    command = model.AddVolunteer(request=request, volunteer_ref=new_volunteer_ref())
    outcome = await change_place(store, caller, place_id, command, expected_version)
    return VolunteerAdded(command.volunteer_ref, outcome.version)


async def read_place(store: EventStore, caller: Caller, place_id: uuid.UUID) -> Loaded[model.Place]:
    """A place's directory entry and activity counts: public, so no access record."""
    enforce(
        authorization.may_read_directory(caller.principal),
        caller.principal,
        "read_place",
        "places",
        hide=False,
    )
    async with store.reading() as session:
        loaded = await session.load(model.PLACE, place_stream(place_id))
    if loaded.state.registered is None:
        raise NotFound("place_not_found", "居場所が見つかりません。")
    return loaded


async def _all_places(session: Session) -> list[Loaded[model.Place]]:
    """Every place, oldest first. Rebuilt from the streams: a municipality has hundreds, not millions."""
    return [
        await session.load(model.PLACE, stream_id)
        for stream_id in await session.stream_ids(stream_type=model.STREAM_TYPE)
    ]


async def list_places(store: EventStore, caller: Caller) -> list[Loaded[model.Place]]:
    enforce(
        authorization.may_read_directory(caller.principal),
        caller.principal,
        "list_places",
        "places",
        hide=False,
    )
    async with store.reading() as session:
        return await _all_places(session)


async def _all_menus(session: Session) -> list[menu.MenuNoted]:
    """Participation's menus as community last heard of them, oldest first."""
    found = [
        (await session.load(menu.MENU, stream_id)).state.latest
        for stream_id in await session.stream_ids(stream_type=menu.STREAM_TYPE)
    ]
    return [m for m in found if m is not None]


async def export_hsds(store: EventStore, caller: Caller, directory: Directory) -> dict[str, Any]:
    enforce(
        authorization.may_export_directory(caller.principal),
        caller.principal,
        "export_hsds",
        "directory",
        hide=False,
    )
    async with store.reading() as session:
        places = [loaded.state for loaded in await _all_places(session)]
        menus = await _all_menus(session)
    return hsds.page(places, directory, menus=menus)


async def on_menu_changed(session: Session, delivery: Delivery, *, organisation: str) -> None:
    """Keep participation's menu (published or updated) for the resource directory."""
    event = delivery.event
    assert isinstance(event, public.MenuPublished | public.MenuUpdated)
    noted = menu.MenuNoted(
        menu_id=event.menu_id,
        kind=event.kind,
        host_organisation=event.host_organisation,
        district=event.district,
        capacity=event.capacity,
        target_groups=event.target_groups,
        status=event.status,
        as_of=event.published_on if isinstance(event, public.MenuPublished) else event.updated_on,
    )
    await commands.execute(
        session,
        menu.MENU,
        menu_stream(event.menu_id),
        menu.NoteMenu(noted=noted),
        no_public,
        Context.reacting_to(delivery.envelope, organisation, "community.consumer"),
    )


async def on_missing_resource(session: Session, delivery: Delivery, *, organisation: str) -> None:
    """A case meeting found a resource missing in a district: keep it as input to community building."""
    event = delivery.event
    assert isinstance(event, public.MissingResourceNoted)
    noted = gaps.ResourceGapNoted(
        meeting_id=event.meeting_id,
        resource_kind=event.resource_kind,
        district=event.district,
        noted_on=event.held_on,
    )
    await commands.execute(
        session,
        gaps.GAP,
        gap_stream(noted),
        gaps.NoteGap(noted=noted),
        no_public,
        Context.reacting_to(delivery.envelope, organisation, "community.consumer"),
    )


async def _resource_gaps(session: Session) -> dict[str, dict[str, int]]:
    """Gaps noted by case meetings: resource kind → district → how many meetings noted it."""
    counted: dict[str, dict[str, int]] = {}
    for row in await session.log_all(LogQuery(stream_type=gaps.STREAM_TYPE)):
        gap = gaps.GAP.decode(row.event_type, row.data, row.schema_version)
        assert isinstance(gap, gaps.ResourceGapNoted)
        by_district = counted.setdefault(gap.resource_kind.value, {})
        by_district[gap.district] = by_district.get(gap.district, 0) + 1
    return {kind: dict(sorted(d.items())) for kind, d in sorted(counted.items())}


@dataclass(frozen=True)
class Summary:
    """What the municipality reports on 地域づくり: places per area, attendance by generation."""

    places_open: int
    places_multi_generational: int
    places_by_school_district: dict[str, int]
    places_by_district: dict[str, int]
    activities: int
    new_resident_led_activities: int
    attendance_by_generation: dict[str, int]
    active_volunteers: int
    resource_gaps: dict[str, dict[str, int]]


async def summary(store: EventStore, caller: Caller) -> Summary:
    enforce(
        authorization.may_read_directory(caller.principal), caller.principal, "summary", "places", hide=False
    )
    async with store.reading() as session:
        places = [loaded.state for loaded in await _all_places(session)]
        resource_gaps = await _resource_gaps(session)
    open_places = [p for p in places if p.registered is not None and p.closed_on is None]
    by_school: dict[str, int] = {}
    by_district: dict[str, int] = {}
    for place in open_places:
        assert place.registered is not None
        by_school[place.registered.school_district] = by_school.get(place.registered.school_district, 0) + 1
        by_district[place.registered.district] = by_district.get(place.registered.district, 0) + 1
    attendance = dict.fromkeys([g.value for g in Generation], 0)
    activities = [a for p in places for a in p.activities]
    for activity in activities:
        for generation, count in activity.attendance.by_generation().items():
            attendance[generation.value] += count
    return Summary(
        places_open=len(open_places),
        places_multi_generational=sum(
            1 for p in open_places if p.registered is not None and p.registered.multi_generational
        ),
        places_by_school_district=dict(sorted(by_school.items())),
        places_by_district=dict(sorted(by_district.items())),
        activities=len(activities),
        new_resident_led_activities=sum(1 for a in activities if a.new_resident_led),
        attendance_by_generation=attendance,
        active_volunteers=sum(len(p.active_volunteers) for p in places),
        resource_gaps=resource_gaps,
    )


# --- concerns ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Noted:
    """What noting a concern created: the concern, the new case key it opened, its first version."""

    concern_id: uuid.UUID
    case_key: uuid.UUID
    version: int


async def note_concern(
    store: EventStore, caller: Caller, place_id: uuid.UUID, request: concern.NoteConcern
) -> Noted:
    """Record what was noticed at a place; the person gets a new pseudonym and a new case key.
    The place, read in the same transaction, authorises and dates it."""
    concern_id, case_key, subject_ref = uuid.uuid4(), uuid.uuid4(), new_subject_ref()

    async def note(session: Session) -> Outcome[concern.Concern]:
        place = (await session.load(model.PLACE, place_stream(place_id))).state
        _managing(caller, f"place:{place_id}", "note_concern").check(place)
        assert place.registered is not None  # the holder check passed: the place exists
        command = concern.NoteAtPlace(
            request=request,
            concern_id=concern_id,
            case_key=case_key,
            subject_ref=subject_ref,
            place_id=place_id,
            holder_organisation=caller.principal.organisation,
            district=place.registered.district,
            place_opened_on=place.registered.opened_on,
            place_closed_on=place.closed_on,
        )
        return await commands.execute(
            session,
            concern.CONCERN,
            concern_stream(concern_id),
            command,
            concern_to_public,
            caller.context,
            expected_version=0,
        )

    outcome = await commands.transact(store, note, retry=False)
    return Noted(concern_id, case_key, outcome.version)


# The action each change of a concern is logged as (the names the logs always had).
CONCERN_ACTIONS: dict[type[Command], str] = {concern.RaiseConcern: "raise_concern"}


async def change_concern(
    store: EventStore,
    caller: Caller,
    concern_id: uuid.UUID,
    command: concern.RaiseConcern,
    expected_version: int | None,
) -> Outcome[concern.Concern]:
    """One command on a concern, by the coordinators of the organisation that noted it (else 404).

    Raising publishes ConcernRaised under the concern's case key: intake or outreach opens its own
    record from it.
    """
    return await commands.run(
        store,
        concern.CONCERN,
        concern_stream(concern_id),
        command,
        concern_to_public,
        caller.context,
        expected_version=expected_version,
        guard=_managing(caller, f"concern:{concern_id}", CONCERN_ACTIONS[type(command)]),
    )


def _may_manage_concern(caller: Caller) -> access.Policy[concern.Concern]:
    return lambda _, state: authorization.may_manage(caller.principal, state.holder)


async def read_concern(store: EventStore, caller: Caller, concern_id: uuid.UUID) -> Loaded[concern.Concern]:
    """A concern with the description of the person; the read is recorded under the case key,
    which is the key every program and the auditor's `/audit/access?case_id=` use (a concern that
    does not exist is refused under its own name)."""
    return await access.read(
        store,
        caller,
        concern.CONCERN,
        concern_stream(concern_id),
        _may_manage_concern(caller),
        resource=lambda state: f"case:{state.noted.case_key}" if state.noted else f"concern:{concern_id}",
        fields=CONCERN_PERSONAL_FIELDS,
    )


async def read_concern_of_case(
    store: EventStore, caller: Caller, case_key: uuid.UUID
) -> Loaded[concern.Concern]:
    """The concern that opened a case (its case key was minted by community), found by the key's
    index. No such concern: the same 404 as a refusal, whether or not the case exists elsewhere."""
    async with store.reading() as session:
        found = await session.stream_ids(stream_type=concern.STREAM_TYPE, case_key=case_key)
    resource = f"case:{case_key}"
    if not found:
        enforce(Decision.deny("no concern opened this case"), caller.principal, "read_details", resource)
    return await access.read(
        store,
        caller,
        concern.CONCERN,
        found[0],
        _may_manage_concern(caller),
        resource=resource,
        fields=CONCERN_PERSONAL_FIELDS,
    )


async def on_subject_erased(session: Session, delivery: Delivery, *, service: str, organisation: str) -> None:
    """Intake erased a person: destroy community's key for them, under both names it may know.

    A concern carries no pseudonym to intake (a place knows the person by sight), so intake drew
    its own when the concern opened the case, and community's description stays sealed under the
    pseudonym community drew. The case key is the concern's: it finds that pseudonym, whose key
    is destroyed in the same transaction as the one intake names.
    """
    event = delivery.event
    assert isinstance(event, public.SubjectErased)
    own = [
        noted.subject_ref
        for stream_id in await session.stream_ids(stream_type=concern.STREAM_TYPE, case_key=event.case_key)
        if (noted := (await session.load(concern.CONCERN, stream_id)).state.noted) is not None
    ]
    await erasure.follow(session, delivery, service=service, organisation=organisation)
    for subject_ref in own:
        if subject_ref != event.subject_ref:
            await session.erase_subject(subject_ref)


# --- platform meetings ------------------------------------------------------------------


@dataclass(frozen=True)
class MeetingRecorded:
    """What recording a platform meeting created: its id and first version."""

    meeting_id: uuid.UUID
    version: int


async def record_meeting(
    store: EventStore, caller: Caller, directory: Directory, request: platform.RecordMeeting
) -> MeetingRecorded:
    enforce(
        authorization.may_register(caller.principal, directory),
        caller.principal,
        "record_meeting",
        "platform-meetings",
        hide=False,
    )
    command = platform.Record(
        request=request, meeting_id=uuid.uuid4(), holder_organisation=caller.principal.organisation
    )
    outcome = await commands.run(
        store,
        platform.MEETING,
        meeting_stream(command.meeting_id),
        command,
        meeting_to_public,
        caller.context,
        expected_version=0,
    )
    return MeetingRecorded(command.meeting_id, outcome.version)


async def read_meeting(store: EventStore, caller: Caller, meeting_id: uuid.UUID) -> Loaded[platform.Meeting]:
    """A meeting's decisions and minutes, for the coordinators of the organisation that recorded it.

    They are about the area's work, not about a person, so the read is not recorded."""
    async with store.reading() as session:
        loaded = await session.load(platform.MEETING, meeting_stream(meeting_id))
    enforce(
        authorization.may_manage(caller.principal, loaded.state.holder),
        caller.principal,
        "read_meeting",
        f"meeting:{meeting_id}",
    )
    return loaded
