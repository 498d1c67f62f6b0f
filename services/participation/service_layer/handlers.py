"""Participation's use cases: accept referrals, assess, keep the menu catalogue, place people,
follow up, support hosts, close cases.

Every handler takes the service's event store (or, for the inbox consumer, the session of the
message's transaction), so the same code runs on PostgreSQL and on the in-memory store of the
service tests. Whatever a handler creates (a menu, a placement) gets its id here, in the command,
and the handler returns it: nothing reads the state back to find what was created.

A placement touches two aggregates: the menu (its seats, where capacity is decided) and the
person's case (where the placement and everything said about it is recorded). Each write is its
own transaction on one stream (ADR 0002), in the order that can never overbook:

- start: check the case's rules → hold a seat on the menu (optimistic concurrency on the menu
  stream arbitrates concurrent placements) → record the placement on the case. If the case
  refuses after all, the seat is released. If the process dies between the two writes, the seat
  stays held; the placement id is derived from the case, so repeating the request finds that
  seat and completes the placement.
- end: record the end on the case → release the seat. A repeated end (409) releases the seat
  again, which heals a failure between the two writes; releasing is idempotent.
- close: only once every placement has ended (the case refuses otherwise) → release each
  placement's seat once more, so that no seat left held by such a failure outlives the case.
"""

import uuid
from dataclasses import dataclass
from datetime import date
from functools import partial

from contracts import events as public
from contracts.glossary import MenuKind, MenuStatus, Program
from libs import access, commands
from libs.authz import enforce
from libs.commands import Context, Loaded, Outcome, no_public
from libs.directory import Directory
from libs.domain import Command, DomainError, NotFound
from libs.eventstore import ConcurrencyError, EventStore, Session
from libs.handover import HandOff
from libs.http import Caller
from libs.inbox import Delivery
from services.participation.domain import menu, model
from services.participation.service_layer import authorization
from services.participation.service_layer.public_events import menu_to_public, to_public

PERSONAL_FIELDS = [
    "assessments.wishes",
    "assessments.findings",
    "placements.arrangements",
    "placements.follow_ups.note",
    "placements.end_note",
    "placements.host_support.worry",
    "placements.host_support.response",
    "closure.note",
]
# Each conflict on a menu stream means another placement or change went through, so retries
# make progress; enough of them that a burst of placements ends in a seat or "full", not a 409
# "someone else changed it".
SEAT_ATTEMPTS = 50


def stream_id(participation_case_id: uuid.UUID) -> str:
    return f"participation-case-{participation_case_id}"


MENU_STREAM_PREFIX = "participation-menu-"


def menu_stream(menu_id: uuid.UUID) -> str:
    return f"{MENU_STREAM_PREFIX}{menu_id}"


# --- consumers ----------------------------------------------------------------------------


async def on_referred(
    session: Session, delivery: Delivery, *, organisation: str, directory: Directory
) -> None:
    """参加支援への依頼を受ける: open (or find) the participation case of this referral, held by the
    participation organisation that serves the person's district."""
    referral = delivery.event
    assert isinstance(referral, public.ReferredToParticipation)
    case_id = model.case_id_for(referral.referral_id)
    opened = model.CaseOpened(
        participation_case_id=case_id,
        holder_organisation=directory.serving(Program.PARTICIPATION, referral.district, organisation),
        case_key=referral.case_key,
        referral_id=referral.referral_id,
        coordination_case_id=referral.coordination_case_id,
        referring_organisation=delivery.envelope.organisation,
        subject_ref=referral.subject_ref,
        needs=referral.needs,
        issue_tags=referral.issue_tags,
        age_band=referral.age_band,
        district=referral.district,
        opened_on=referral.referred_on,
    )
    await commands.execute(
        session,
        model.PARTICIPATION_CASE,
        stream_id(case_id),
        model.OpenCase(opened=opened),
        to_public,
        Context.reacting_to(delivery.envelope, organisation, "participation.consumer"),
    )


# --- cases --------------------------------------------------------------------------------

CaseChange = (
    model.AssessNeeds | model.Place | model.FollowUp | model.End | model.Support | model.CloseCase | HandOff
)

# The action each change is logged as when refused or allowed (the names the logs always had).
ACTIONS: dict[type[Command], str] = {
    model.AssessNeeds: "assess",
    model.Place: "start_placement",
    model.FollowUp: "follow_up",
    model.End: "end_placement",
    model.Support: "support_host",
    model.CloseCase: "close",
    HandOff: "hand_over",
}


def _guard(caller: Caller, case_id: uuid.UUID, action: str) -> commands.Guard[model.Case]:
    """The holder's participation coordinator, or 404 revealing nothing."""
    return commands.Guard(
        partial(authorization.may_act, caller.principal), caller.principal, action, f"case:{case_id}"
    )


async def _authorised(
    store: EventStore, caller: Caller, case_id: uuid.UUID, action: str, expected_version: int | None
) -> Loaded[model.Case]:
    """The case as it is now, for the checks a placement makes before it writes the menu's
    stream; the case's own command is guarded again on the state it decides on."""
    async with store.reading() as session:
        loaded = await session.load(model.PARTICIPATION_CASE, stream_id(case_id))
    _guard(caller, case_id, action).check(loaded.state)
    if expected_version is not None and expected_version != loaded.version:
        raise ConcurrencyError(stream_id(case_id), expected_version)
    return loaded


async def read_case(store: EventStore, caller: Caller, case_id: uuid.UUID) -> Loaded[model.Case]:
    """A case with its assessments and placements, if the caller may see it; the read is recorded."""
    return await access.read(
        store,
        caller,
        model.PARTICIPATION_CASE,
        stream_id(case_id),
        lambda _, case: authorization.may_read(caller.principal, case),
        resource=f"case:{case_id}",
        fields=PERSONAL_FIELDS,
    )


async def change(
    store: EventStore,
    caller: Caller,
    case_id: uuid.UUID,
    command: CaseChange,
    expected_version: int | None,
) -> Outcome[model.Case]:
    """One command on the case, by the holder's participation coordinator (else 404 revealing
    nothing). `expected_version` (If-Match) pins the version the worker decided on."""
    return await commands.run(
        store,
        model.PARTICIPATION_CASE,
        stream_id(case_id),
        command,
        to_public,
        caller.context,
        expected_version=expected_version,
        guard=_guard(caller, case_id, ACTIONS[type(command)]),
    )


@dataclass(frozen=True)
class Placed:
    """What starting a placement created: the placement, and the case's new version."""

    placement_id: uuid.UUID
    version: int


async def start_placement(
    store: EventStore,
    caller: Caller,
    case_id: uuid.UUID,
    request: model.StartPlacement,
    expected_version: int | None,
) -> Placed:
    """Match the person with a menu and start (see the module docstring for the two writes)."""
    loaded = await _authorised(store, caller, case_id, ACTIONS[model.Place], expected_version)
    async with store.reading() as session:
        current = (await session.load(menu.MENU, menu_stream(request.menu_id))).state.current
    if current is None:
        raise NotFound("menu_not_found", "参加支援メニューが見つかりません。")
    command = model.Place(
        request=request,
        # Derived from the case, not random: a retry after a failure between the two writes
        # names the seat it already holds.
        placement_id=loaded.state.next_placement_id(request.menu_id),
        menu=model.MenuFacts(request.menu_id, current.kind, current.host_organisation, current.district),
    )
    model.decide(command, loaded.state)  # the case's own refusals come before a seat is taken
    seat = menu.TakeSeat(
        placement_id=command.placement_id, participation_case_id=case_id, taken_on=request.started_on
    )
    await commands.run(
        store,
        menu.MENU,
        menu_stream(request.menu_id),
        seat,
        no_public,
        caller.context,
        attempts=SEAT_ATTEMPTS,
    )
    try:
        outcome = await change(store, caller, case_id, command, None)
    except DomainError:
        await _release_seat(store, caller, request.menu_id, command.placement_id, request.started_on)
        raise
    return Placed(command.placement_id, outcome.version)


async def _release_seat(
    store: EventStore, caller: Caller, menu_id: uuid.UUID, placement_id: uuid.UUID, released_on: date
) -> None:
    await commands.run(
        store,
        menu.MENU,
        menu_stream(menu_id),
        menu.ReleaseSeat(placement_id=placement_id, released_on=released_on),
        no_public,
        caller.context,
        attempts=SEAT_ATTEMPTS,
    )


async def end_placement(
    store: EventStore,
    caller: Caller,
    case_id: uuid.UUID,
    command: model.End,
    expected_version: int | None,
) -> Outcome[model.Case]:
    """End on the case, then free the seat (see the module docstring)."""
    loaded = await _authorised(store, caller, case_id, ACTIONS[model.End], None)
    placement = loaded.state.placement(command.placement_id)
    menu_id, ended_on = placement.started.menu_id, command.request.ended_on
    try:
        result = await change(store, caller, case_id, command, expected_version)
    except DomainError as refused:
        if refused.code == "placement_ended":
            # Ended before: the seat may still be held if the process died between the writes.
            ended = placement.ended
            await _release_seat(
                store, caller, menu_id, command.placement_id, ended.ended_on if ended else ended_on
            )
        raise
    await _release_seat(store, caller, menu_id, command.placement_id, ended_on)
    return result


async def close_case(
    store: EventStore,
    caller: Caller,
    case_id: uuid.UUID,
    command: model.CloseCase,
    expected_version: int | None,
) -> Outcome[model.Case]:
    """終結 by the holder's participation coordinator (a placement still running refuses it: see
    `model._close`), then every placement's seat released once more (see the module docstring).
    The public ParticipationClosed reports back to coordination."""
    outcome = await change(store, caller, case_id, command, expected_version)
    for placement in outcome.state.placements:
        ended = placement.ended
        assert ended is not None  # the case refuses to close while a placement runs
        await _release_seat(
            store, caller, placement.started.menu_id, placement.started.placement_id, ended.ended_on
        )
    return outcome


async def suggest_menus(
    store: EventStore, caller: Caller, case_id: uuid.UUID
) -> list[tuple[uuid.UUID, Loaded[menu.Menu]]]:
    """Active menus with a free seat whose kind answers one of the person's needs, the person's
    own district first. Only codes of the case are used, and only menus are returned."""
    loaded = await _authorised(store, caller, case_id, "suggest_menus", None)
    case = loaded.state
    assert case.opened is not None
    kinds = {kind for need in case.needs for kind in model.KINDS_FOR_NEED.get(need, ())}
    found = [
        (menu_id, m)
        for menu_id, m in await _all_menus(store)
        if m.state.current is not None
        and m.state.status is MenuStatus.ACTIVE
        and m.state.free_seats > 0
        and m.state.current.kind in kinds
    ]
    district = case.opened.district
    return sorted(found, key=lambda item: item[1].state.current.district != district)  # type: ignore[union-attr]


# --- menus ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    """What publishing a menu created: the menu and its first version."""

    menu_id: uuid.UUID
    version: int


async def publish_menu(
    store: EventStore, caller: Caller, directory: Directory, request: menu.PublishMenu, today: date
) -> Published:
    """Add a menu to the catalogue under a new id, managed by the caller's organisation."""
    enforce(
        authorization.may_publish_menu(caller.principal, directory),
        caller.principal,
        "publish_menu",
        "menus",
        hide=False,
    )
    command = menu.Publish(
        request=request, menu_id=uuid.uuid4(), managed_by=caller.principal.organisation, published_on=today
    )
    outcome = await commands.run(
        store, menu.MENU, menu_stream(command.menu_id), command, menu_to_public, caller.context
    )
    return Published(command.menu_id, outcome.version)


async def revise_menu(
    store: EventStore,
    caller: Caller,
    menu_id: uuid.UUID,
    request: menu.ReviseMenu,
    expected_version: int | None,
    today: date,
) -> Outcome[menu.Menu]:
    """Change a menu's details, capacity or status (capacity never below the people placed).

    An unknown menu is 404 to any worker (the catalogue is no secret); a known one changed by
    anyone but its manager is 403, judged on the very state the revision is decided on.
    """
    await read_menu(store, caller, menu_id)
    return await commands.run(
        store,
        menu.MENU,
        menu_stream(menu_id),
        menu.Revise(request=request, revised_on=today),
        menu_to_public,
        caller.context,
        expected_version=expected_version,
        guard=commands.Guard(
            partial(authorization.may_manage_menu, caller.principal),
            caller.principal,
            "revise_menu",
            f"menu:{menu_id}",
            hide=False,
        ),
        attempts=SEAT_ATTEMPTS,
    )


async def read_menu(store: EventStore, caller: Caller, menu_id: uuid.UUID) -> Loaded[menu.Menu]:
    """One menu of the catalogue (places, not people: nothing to record)."""
    enforce(
        authorization.may_read_menus(caller.principal), caller.principal, "read_menu", "menus", hide=False
    )
    async with store.reading() as session:
        loaded = await session.load(menu.MENU, menu_stream(menu_id))
    if loaded.state.current is None:
        raise NotFound("menu_not_found", "参加支援メニューが見つかりません。")
    return loaded


async def list_menus(
    store: EventStore,
    caller: Caller,
    *,
    kind: MenuKind | None,
    district: str | None,
    status: MenuStatus | None,
) -> list[tuple[uuid.UUID, Loaded[menu.Menu]]]:
    enforce(
        authorization.may_read_menus(caller.principal), caller.principal, "list_menus", "menus", hide=False
    )
    return [
        (menu_id, m)
        for menu_id, m in await _all_menus(store)
        if m.state.current is not None
        and (kind is None or m.state.current.kind == kind)
        and (district is None or m.state.current.district == district)
        and (status is None or m.state.status == status)
    ]


async def _all_menus(store: EventStore) -> list[tuple[uuid.UUID, Loaded[menu.Menu]]]:
    """Every menu, oldest first, folded from its stream. A catalogue is tens to hundreds of
    menus per municipality; a read model can replace this when one is needed."""
    async with store.reading() as session:
        return [
            (uuid.UUID(s.removeprefix(MENU_STREAM_PREFIX)), await session.load(menu.MENU, s))
            for s in await session.stream_ids(stream_type=menu.STREAM_TYPE)
        ]
