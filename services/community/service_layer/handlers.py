"""Community's use cases: authorise, load, decide, append, fill the outbox — and record access.

Places, concerns and platform meetings are separate streams: a concern is about a person and
is sealed under that person's key, while a place and a meeting are not about anyone.
"""

import secrets
import uuid
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts import events as public
from contracts.glossary import AgeBand, Generation, IssueTag, PlaceKind, PlatformTheme, Sector, TargetGroup
from libs import access, commands, erasure
from libs.authz import enforce
from libs.commands import Context, Loaded, Outcome, no_public
from libs.directory import Directory
from libs.domain import NotFound
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


def new_subject_ref() -> str:
    """A random pseudonym for the person a concern is about: meaningless outside community."""
    return f"subj_{secrets.token_hex(16)}"


def new_volunteer_ref() -> str:
    """A random pseudonym for a volunteer: lets a place count and retire registrations, names none."""
    return f"vol_{secrets.token_hex(16)}"


# --- places -----------------------------------------------------------------------------


async def register_place(
    engine: AsyncEngine,
    caller: Caller,
    directory: Directory,
    *,
    place_id: uuid.UUID,
    kind: PlaceKind,
    name: str,
    description: str | None,
    address: model.PlaceAddress | None,
    district: str,
    school_district: str,
    target_groups: list[TargetGroup],
    multi_generational: bool,
    schedule: list[model.Slot],
    opened_on: date,
) -> Outcome[model.Place]:
    enforce(
        authorization.may_register(caller.principal, directory),
        caller.principal,
        "register_place",
        "places",
        hide=False,
    )
    registered = model.PlaceRegistered(
        place_id=place_id,
        holder_organisation=caller.principal.organisation,
        kind=kind,
        name=name,
        description=description,
        address=address,
        district=district,
        school_district=school_district,
        target_groups=sorted(set(target_groups)),
        multi_generational=multi_generational,
        schedule=schedule,
        opened_on=opened_on,
    )
    return await commands.run(
        engine,
        model.PLACE,
        place_stream(place_id),
        partial(model.register, registered=registered),
        place_to_public,
        caller.context,
        expected_version=0,
    )


async def _load_place(conn: AsyncConnection, place_id: uuid.UUID) -> Loaded[model.Place]:
    return await commands.load(conn, model.PLACE, place_stream(place_id))


def _managing(caller: Caller, resource: str, action: str) -> commands.Guard[Any]:
    """The organisation that holds the place or concern, or 404 revealing nothing."""
    return commands.Guard(
        lambda state: authorization.may_manage(caller.principal, state.holder),
        caller.principal,
        action,
        resource,
    )


async def _change_place(
    engine: AsyncEngine,
    caller: Caller,
    place_id: uuid.UUID,
    action: str,
    decide: commands.Decide[model.Place],
    expected_version: int | None,
) -> Outcome[model.Place]:
    """One command on the place, by the organisation that holds it."""
    return await commands.run(
        engine,
        model.PLACE,
        place_stream(place_id),
        decide,
        place_to_public,
        caller.context,
        expected_version=expected_version,
        guard=_managing(caller, f"place:{place_id}", action),
    )


async def record_activity(
    engine: AsyncEngine,
    caller: Caller,
    place_id: uuid.UUID,
    *,
    held_on: date,
    attendance: model.Attendance,
    volunteer_count: int,
    new_resident_led: bool,
    expected_version: int | None,
) -> tuple[uuid.UUID, Outcome[model.Place]]:
    activity = model.ActivityRecorded(
        activity_id=uuid.uuid4(),
        held_on=held_on,
        attendance=attendance,
        volunteer_count=volunteer_count,
        new_resident_led=new_resident_led,
    )
    decide = partial(model.record_activity, activity=activity)
    outcome = await _change_place(engine, caller, place_id, "record_activity", decide, expected_version)
    return activity.activity_id, outcome


async def register_volunteer(
    engine: AsyncEngine,
    caller: Caller,
    place_id: uuid.UUID,
    *,
    generation: Generation,
    registered_on: date,
    expected_version: int | None,
) -> tuple[str, Outcome[model.Place]]:
    volunteer = model.VolunteerRegistered(
        volunteer_ref=new_volunteer_ref(), generation=generation, registered_on=registered_on
    )
    decide = partial(model.register_volunteer, volunteer=volunteer)
    outcome = await _change_place(engine, caller, place_id, "register_volunteer", decide, expected_version)
    return volunteer.volunteer_ref, outcome


async def volunteer_leaves(
    engine: AsyncEngine,
    caller: Caller,
    place_id: uuid.UUID,
    volunteer_ref: str,
    *,
    left_on: date,
    expected_version: int | None,
) -> Outcome[model.Place]:
    left = model.VolunteerLeft(volunteer_ref=volunteer_ref, left_on=left_on)
    decide = partial(model.volunteer_leaves, left=left)
    return await _change_place(engine, caller, place_id, "volunteer_leaves", decide, expected_version)


async def close_place(
    engine: AsyncEngine, caller: Caller, place_id: uuid.UUID, *, closed_on: date, expected_version: int | None
) -> Outcome[model.Place]:
    decide = partial(model.close, closed=model.PlaceClosed(closed_on=closed_on))
    return await _change_place(engine, caller, place_id, "close_place", decide, expected_version)


async def read_place(engine: AsyncEngine, caller: Caller, place_id: uuid.UUID) -> Loaded[model.Place]:
    """A place's directory entry and activity counts: public, so no access record."""
    enforce(
        authorization.may_read_directory(caller.principal),
        caller.principal,
        "read_place",
        "places",
        hide=False,
    )
    async with engine.connect() as conn:
        loaded = await _load_place(conn, place_id)
    if loaded.state.registered is None:
        raise NotFound("place_not_found", "居場所が見つかりません。")
    return loaded


async def _all_places(engine: AsyncEngine) -> list[Loaded[model.Place]]:
    """Every place, oldest first. Rebuilt from the streams: a municipality has hundreds, not millions."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT stream_id FROM events WHERE stream_type = :t AND version = 1 ORDER BY global_position"
            ),
            {"t": model.STREAM_TYPE},
        )
        return [await commands.load(conn, model.PLACE, stream_id) for stream_id in rows.scalars().all()]


async def list_places(engine: AsyncEngine, caller: Caller) -> list[Loaded[model.Place]]:
    enforce(
        authorization.may_read_directory(caller.principal),
        caller.principal,
        "list_places",
        "places",
        hide=False,
    )
    return await _all_places(engine)


async def _all_menus(engine: AsyncEngine) -> list[menu.MenuNoted]:
    """Participation's menus as community last heard of them, oldest first."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT stream_id FROM events WHERE stream_type = :t AND version = 1 ORDER BY global_position"
            ),
            {"t": menu.STREAM_TYPE},
        )
        found = [(await commands.load(conn, menu.MENU, s)).state.latest for s in rows.scalars().all()]
    return [m for m in found if m is not None]


async def export_hsds(engine: AsyncEngine, caller: Caller, directory: Directory) -> dict:
    enforce(
        authorization.may_export_directory(caller.principal),
        caller.principal,
        "export_hsds",
        "directory",
        hide=False,
    )
    places = [loaded.state for loaded in await _all_places(engine)]
    return hsds.page(places, directory, menus=await _all_menus(engine))


def menu_stream(menu_id: uuid.UUID) -> str:
    return f"community-menu-{menu_id}"


async def on_menu_changed(conn: AsyncConnection, delivery: Delivery, *, organisation: str) -> None:
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
        conn,
        menu.MENU,
        menu_stream(event.menu_id),
        partial(menu.note, noted=noted),
        no_public,
        Context.reacting_to(delivery.envelope, organisation, "community.consumer"),
    )


async def on_missing_resource(conn: AsyncConnection, delivery: Delivery, *, organisation: str) -> None:
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
        conn,
        gaps.GAP,
        f"community-gap-{event.meeting_id}-{event.resource_kind.value}-{event.district}",
        partial(gaps.note, noted=noted),
        no_public,
        Context.reacting_to(delivery.envelope, organisation, "community.consumer"),
    )


_GAPS = text("SELECT data FROM events WHERE stream_type = :t")


async def _resource_gaps(engine: AsyncEngine) -> dict[str, dict[str, int]]:
    """Gaps noted by case meetings: resource kind → district → how many meetings noted it."""
    async with engine.connect() as conn:
        rows = (await conn.execute(_GAPS, {"t": gaps.STREAM_TYPE})).scalars().all()
    counted: dict[str, dict[str, int]] = {}
    for row in rows:
        by_district = counted.setdefault(row["resource_kind"], {})
        by_district[row["district"]] = by_district.get(row["district"], 0) + 1
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


async def summary(engine: AsyncEngine, caller: Caller) -> Summary:
    enforce(
        authorization.may_read_directory(caller.principal), caller.principal, "summary", "places", hide=False
    )
    places = [loaded.state for loaded in await _all_places(engine)]
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
        resource_gaps=await _resource_gaps(engine),
    )


# --- concerns ---------------------------------------------------------------------------


async def note_concern(
    engine: AsyncEngine,
    caller: Caller,
    place_id: uuid.UUID,
    *,
    issue_tags: list[IssueTag],
    age_band: AgeBand,
    description: str,
    noticed_on: date,
) -> tuple[concern.ConcernNoted, Outcome[concern.Concern]]:
    """Record what was noticed at a place; the person gets a new pseudonym and a new case key.
    The place, read in the same transaction, authorises and dates it."""
    concern_id, case_key, subject_ref = uuid.uuid4(), uuid.uuid4(), new_subject_ref()

    async def note(conn: AsyncConnection) -> tuple[concern.ConcernNoted, Outcome[concern.Concern]]:
        place = (await _load_place(conn, place_id)).state
        _managing(caller, f"place:{place_id}", "note_concern").check(place)
        assert place.registered is not None
        noted = concern.ConcernNoted(
            concern_id=concern_id,
            case_key=case_key,
            subject_ref=subject_ref,
            place_id=place_id,
            holder_organisation=caller.principal.organisation,
            issue_tags=sorted(set(issue_tags)),
            age_band=age_band,
            district=place.registered.district,
            noticed_on=noticed_on,
            description=description,
        )
        outcome = await commands.execute(
            conn,
            concern.CONCERN,
            concern_stream(concern_id),
            partial(
                concern.note,
                noted=noted,
                place_opened_on=place.registered.opened_on,
                place_closed_on=place.closed_on,
            ),
            concern_to_public,
            caller.context,
            expected_version=0,
        )
        return noted, outcome

    return await commands.transact(engine, note, retry=False)


async def _managed_concern(
    engine: AsyncEngine, caller: Caller, concern_id: uuid.UUID, action: str
) -> Loaded[concern.Concern]:
    async with engine.connect() as conn:
        loaded = await commands.load(conn, concern.CONCERN, concern_stream(concern_id))
    _managing(caller, f"concern:{concern_id}", action).check(loaded.state)
    return loaded


async def raise_concern(
    engine: AsyncEngine,
    caller: Caller,
    concern_id: uuid.UUID,
    *,
    raised_to: concern.RaisedTo,
    raised_on: date,
    expected_version: int | None,
) -> Outcome[concern.Concern]:
    """Pass the concern to intake or outreach: publishes ConcernRaised under the concern's case key."""
    return await commands.run(
        engine,
        concern.CONCERN,
        concern_stream(concern_id),
        partial(
            concern.raise_concern, raised=concern.ConcernRaised(raised_to=raised_to, raised_on=raised_on)
        ),
        concern_to_public,
        caller.context,
        expected_version=expected_version,
        guard=_managing(caller, f"concern:{concern_id}", "raise_concern"),
    )


async def read_concern(engine: AsyncEngine, caller: Caller, concern_id: uuid.UUID) -> Loaded[concern.Concern]:
    """A concern with the description of the person; the read is recorded under the case key,
    which is the key every program and the auditor's `/audit/access?case_id=` use."""
    loaded = await _managed_concern(engine, caller, concern_id, "read_details")
    assert loaded.state.noted is not None
    decision = authorization.may_manage(caller.principal, loaded.state.holder)
    await access.record(
        engine, caller, f"case:{loaded.state.noted.case_key}", decision, CONCERN_PERSONAL_FIELDS
    )
    return loaded


async def concern_id_for_case(engine: AsyncEngine, case_key: uuid.UUID) -> uuid.UUID:
    """The concern that opened a case (its case key was minted by community), or a random id that
    finds nothing — so the caller gets the same 404 whether or not the case exists elsewhere."""
    async with engine.connect() as conn:
        found = await conn.execute(
            text(
                "SELECT data->>'concern_id' FROM events "
                "WHERE stream_type = :t AND event_type = 'ConcernNoted' AND data->>'case_key' = :k"
            ),
            {"t": concern.STREAM_TYPE, "k": str(case_key)},
        )
        value = found.scalar_one_or_none()
    return uuid.UUID(value) if value else uuid.uuid4()


_CONCERN_SUBJECT = text(
    "SELECT data->>'subject_ref' FROM events "
    "WHERE stream_type = :t AND event_type = 'ConcernNoted' AND data->>'case_key' = :k"
)


async def on_subject_erased(
    conn: AsyncConnection, delivery: Delivery, *, service: str, organisation: str
) -> None:
    """Intake erased a person: destroy community's key for them, under both names it may know.

    A concern carries no pseudonym to intake (a place knows the person by sight), so intake drew
    its own when the concern opened the case, and community's description stays sealed under the
    pseudonym community drew. The case key is the concern's: it finds that pseudonym, whose key
    is destroyed in the same transaction as the one intake names.
    """
    event = delivery.event
    assert isinstance(event, public.SubjectErased)
    found = await conn.execute(_CONCERN_SUBJECT, {"t": concern.STREAM_TYPE, "k": str(event.case_key)})
    own = found.scalar_one_or_none()
    await erasure.follow(conn, delivery, service=service, organisation=organisation)
    if own is not None and own != event.subject_ref:
        await commands.cipher().erase(conn, own)


# --- platform meetings ------------------------------------------------------------------


async def record_meeting(
    engine: AsyncEngine,
    caller: Caller,
    directory: Directory,
    *,
    meeting_id: uuid.UUID,
    held_on: date,
    district: str | None,
    sectors: list[Sector],
    organisations: list[str],
    themes: list[PlatformTheme],
    decisions: list[str],
    minutes: str | None,
) -> Outcome[platform.Meeting]:
    enforce(
        authorization.may_register(caller.principal, directory),
        caller.principal,
        "record_meeting",
        "platform-meetings",
        hide=False,
    )
    recorded = platform.PlatformMeetingRecorded(
        meeting_id=meeting_id,
        holder_organisation=caller.principal.organisation,
        held_on=held_on,
        district=district,
        sectors=sectors,
        organisations=organisations,
        themes=themes,
        decisions=decisions,
        minutes=minutes,
    )
    return await commands.run(
        engine,
        platform.MEETING,
        meeting_stream(meeting_id),
        partial(platform.record, recorded=recorded),
        meeting_to_public,
        caller.context,
        expected_version=0,
    )


async def read_meeting(
    engine: AsyncEngine, caller: Caller, meeting_id: uuid.UUID
) -> Loaded[platform.Meeting]:
    async with engine.connect() as conn:
        loaded = await commands.load(conn, platform.MEETING, meeting_stream(meeting_id))
    enforce(
        authorization.may_manage(caller.principal, loaded.state.holder),
        caller.principal,
        "read_meeting",
        f"meeting:{meeting_id}",
    )
    return loaded
