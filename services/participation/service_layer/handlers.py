"""Participation's use cases: accept referrals, assess, keep the menu catalogue, place people,
follow up, support hosts.

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
"""

import uuid
from collections.abc import Sequence
from datetime import date
from functools import partial

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts import events as public
from contracts.glossary import (
    FollowUpStatus,
    HostConcern,
    IssueTag,
    MenuKind,
    MenuStatus,
    ParticipationNeed,
    PlacementOutcome,
)
from libs import access, clock, commands
from libs.authz import enforce
from libs.commands import Loaded, Outcome, no_public
from libs.directory import Directory
from libs.domain import DomainError, NotFound
from libs.eventstore import ConcurrencyError
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


async def on_referred(conn: AsyncConnection, delivery: Delivery, *, organisation: str) -> None:
    """参加支援への依頼を受ける: open (or find) the participation case of this referral."""
    referral = delivery.event
    assert isinstance(referral, public.ReferredToParticipation)
    case_id = model.case_id_for(referral.referral_id)
    opened = model.CaseOpened(
        participation_case_id=case_id,
        holder_organisation=organisation,
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
    ctx = commands.Context.reacting_to(delivery.envelope, organisation, "participation.consumer")
    await commands.execute(
        conn,
        model.PARTICIPATION_CASE,
        stream_id(case_id),
        partial(model.open_case, opened=opened),
        to_public,
        ctx,
    )


# --- cases --------------------------------------------------------------------------------


async def _load_case(engine: AsyncEngine, case_id: uuid.UUID) -> Loaded[model.Case]:
    async with engine.connect() as conn:
        return await commands.load(conn, model.PARTICIPATION_CASE, stream_id(case_id))


def _guard(caller: Caller, case_id: uuid.UUID, action: str) -> commands.Guard[model.Case]:
    """The holder's participation coordinator, or 404 revealing nothing."""
    return commands.Guard(
        partial(authorization.may_act, caller.principal), caller.principal, action, f"case:{case_id}"
    )


async def _authorised(
    engine: AsyncEngine, caller: Caller, case_id: uuid.UUID, action: str, expected_version: int | None
) -> Loaded[model.Case]:
    """The case as it is now, for the checks a placement makes before it writes the menu's
    stream; the case's own command is guarded again on the state it decides on."""
    loaded = await _load_case(engine, case_id)
    _guard(caller, case_id, action).check(loaded.state)
    if expected_version is not None and expected_version != loaded.version:
        raise ConcurrencyError(stream_id(case_id), expected_version)
    return loaded


async def read_case(engine: AsyncEngine, caller: Caller, case_id: uuid.UUID) -> Loaded[model.Case]:
    """A case with its assessments and placements, if the caller may see it; the read is recorded."""
    loaded = await _load_case(engine, case_id)
    decision = enforce(
        authorization.may_read(caller.principal, loaded.state),
        caller.principal,
        "read_details",
        f"case:{case_id}",
    )
    await access.record(engine, caller, f"case:{case_id}", decision, PERSONAL_FIELDS)
    return loaded


async def _on_case(
    engine: AsyncEngine,
    caller: Caller,
    case_id: uuid.UUID,
    action: str,
    decide: commands.Decide[model.Case],
    expected_version: int | None,
) -> Outcome[model.Case]:
    """One command on the case, by the holder's participation coordinator."""
    return await commands.run(
        engine,
        model.PARTICIPATION_CASE,
        stream_id(case_id),
        decide,
        to_public,
        caller.context,
        expected_version=expected_version,
        guard=_guard(caller, case_id, action),
    )


async def assess(
    engine: AsyncEngine,
    caller: Caller,
    case_id: uuid.UUID,
    *,
    needs: list[ParticipationNeed],
    wishes: str | None,
    findings: str | None,
    assessed_on: date,
    expected_version: int | None,
) -> Outcome[model.Case]:
    decide = partial(model.assess, needs=needs, wishes=wishes, findings=findings, assessed_on=assessed_on)
    return await _on_case(engine, caller, case_id, "assess", decide, expected_version)


async def start_placement(
    engine: AsyncEngine,
    caller: Caller,
    case_id: uuid.UUID,
    *,
    menu_id: uuid.UUID,
    arrangements: str | None,
    started_on: date,
    expected_version: int | None,
) -> tuple[uuid.UUID, Outcome[model.Case]]:
    """Match the person with a menu and start (see the module docstring for the two writes)."""
    loaded = await _authorised(engine, caller, case_id, "start_placement", expected_version)
    async with engine.connect() as conn:
        current = (await commands.load(conn, menu.MENU, menu_stream(menu_id))).state.current
    if current is None:
        raise NotFound("menu_not_found", "参加支援メニューが見つかりません。")
    facts = model.MenuFacts(menu_id, current.kind, current.host_organisation, current.district)
    placement_id = loaded.state.next_placement_id(menu_id)
    decide = partial(
        model.start_placement,
        placement_id=placement_id,
        menu=facts,
        arrangements=arrangements,
        started_on=started_on,
    )
    decide(loaded.state)  # the case's own refusals come before a seat is taken
    seat = partial(
        menu.take_seat, placement_id=placement_id, participation_case_id=case_id, taken_on=started_on
    )
    await commands.run(
        engine, menu.MENU, menu_stream(menu_id), seat, no_public, caller.context, attempts=SEAT_ATTEMPTS
    )
    try:
        outcome = await commands.run(
            engine,
            model.PARTICIPATION_CASE,
            stream_id(case_id),
            decide,
            to_public,
            caller.context,
            guard=_guard(caller, case_id, "start_placement"),
        )
    except DomainError:
        await _release_seat(engine, caller, menu_id, placement_id, started_on)
        raise
    return placement_id, outcome


async def _release_seat(
    engine: AsyncEngine, caller: Caller, menu_id: uuid.UUID, placement_id: uuid.UUID, released_on: date
) -> None:
    release = partial(menu.release_seat, placement_id=placement_id, released_on=released_on)
    await commands.run(
        engine, menu.MENU, menu_stream(menu_id), release, no_public, caller.context, attempts=SEAT_ATTEMPTS
    )


async def follow_up(
    engine: AsyncEngine,
    caller: Caller,
    case_id: uuid.UUID,
    placement_id: uuid.UUID,
    *,
    status: FollowUpStatus,
    note: str | None,
    followed_up_on: date,
    expected_version: int | None,
) -> Outcome[model.Case]:
    decide = partial(
        model.follow_up, placement_id=placement_id, status=status, note=note, followed_up_on=followed_up_on
    )
    return await _on_case(engine, caller, case_id, "follow_up", decide, expected_version)


async def end_placement(
    engine: AsyncEngine,
    caller: Caller,
    case_id: uuid.UUID,
    placement_id: uuid.UUID,
    *,
    outcome: PlacementOutcome,
    note: str | None,
    ended_on: date,
    expected_version: int | None,
) -> Outcome[model.Case]:
    """End on the case, then free the seat (see the module docstring)."""
    loaded = await _authorised(engine, caller, case_id, "end_placement", None)
    placement = loaded.state.placement(placement_id)
    decide = partial(
        model.end_placement, placement_id=placement_id, outcome=outcome, note=note, ended_on=ended_on
    )
    try:
        result = await commands.run(
            engine,
            model.PARTICIPATION_CASE,
            stream_id(case_id),
            decide,
            to_public,
            caller.context,
            expected_version=expected_version,
            guard=_guard(caller, case_id, "end_placement"),
        )
    except DomainError as refused:
        if refused.code == "placement_ended":
            ended = loaded.state.placement(placement_id).ended
            await _release_seat(
                engine, caller, placement.started.menu_id, placement_id, ended.ended_on if ended else ended_on
            )
        raise
    await _release_seat(engine, caller, placement.started.menu_id, placement_id, ended_on)
    return result


async def support_host(
    engine: AsyncEngine,
    caller: Caller,
    case_id: uuid.UUID,
    placement_id: uuid.UUID,
    *,
    concern: HostConcern,
    worry: str | None,
    response: str | None,
    supported_on: date,
    expected_version: int | None,
) -> Outcome[model.Case]:
    decide = partial(
        model.support_host,
        placement_id=placement_id,
        concern=concern,
        worry=worry,
        response=response,
        supported_on=supported_on,
    )
    return await _on_case(engine, caller, case_id, "support_host", decide, expected_version)


async def suggest_menus(
    engine: AsyncEngine, caller: Caller, case_id: uuid.UUID
) -> list[tuple[uuid.UUID, Loaded[menu.Menu]]]:
    """Active menus with a free seat whose kind answers one of the person's needs, the person's
    own district first. Only codes of the case are used, and only menus are returned."""
    loaded = await _authorised(engine, caller, case_id, "suggest_menus", None)
    case = loaded.state
    assert case.opened is not None
    kinds = {kind for need in case.needs for kind in model.KINDS_FOR_NEED.get(need, ())}
    found = [
        (menu_id, m)
        for menu_id, m in await _all_menus(engine)
        if m.state.current is not None
        and m.state.status is MenuStatus.ACTIVE
        and m.state.free_seats > 0
        and m.state.current.kind in kinds
    ]
    district = case.opened.district
    return sorted(found, key=lambda item: item[1].state.current.district != district)  # type: ignore[union-attr]


# --- menus ----------------------------------------------------------------------------------


async def publish_menu(
    engine: AsyncEngine,
    caller: Caller,
    directory: Directory,
    menu_id: uuid.UUID,
    *,
    title: str,
    description: str,
    kind: MenuKind,
    host_organisation: str,
    host_name: str,
    district: str,
    capacity: int,
    schedule: str,
    target_groups: Sequence[IssueTag],
) -> Outcome[menu.Menu]:
    enforce(
        authorization.may_publish_menu(caller.principal, directory),
        caller.principal,
        "publish_menu",
        "menus",
        hide=False,
    )
    published = menu.MenuPublished(
        menu_id=menu_id,
        managed_by=caller.principal.organisation,
        title=title,
        description=description,
        kind=kind,
        host_organisation=host_organisation,
        host_name=host_name,
        district=district,
        capacity=capacity,
        schedule=schedule,
        target_groups=sorted(set(target_groups)),
        published_on=clock.today(),
    )
    return await commands.run(
        engine,
        menu.MENU,
        menu_stream(menu_id),
        partial(menu.publish, published=published),
        menu_to_public,
        caller.context,
    )


async def revise_menu(
    engine: AsyncEngine,
    caller: Caller,
    menu_id: uuid.UUID,
    changes: dict[str, object],
    expected_version: int | None,
) -> Outcome[menu.Menu]:
    """Change a menu's details, capacity or status (capacity never below the people placed)."""
    loaded = await read_menu(engine, caller, menu_id)
    enforce(
        authorization.may_manage_menu(caller.principal, loaded.state),
        caller.principal,
        "revise_menu",
        f"menu:{menu_id}",
        hide=False,
    )
    if isinstance(changes.get("target_groups"), list):
        changes["target_groups"] = sorted(set(changes["target_groups"]))  # type: ignore[arg-type]
    revision = menu.MenuRevised(**changes, revised_on=clock.today())  # type: ignore[arg-type]
    return await commands.run(
        engine,
        menu.MENU,
        menu_stream(menu_id),
        partial(menu.revise, revision=revision),
        menu_to_public,
        caller.context,
        expected_version=expected_version,
        attempts=SEAT_ATTEMPTS,
    )


async def read_menu(engine: AsyncEngine, caller: Caller, menu_id: uuid.UUID) -> Loaded[menu.Menu]:
    enforce(
        authorization.may_read_menus(caller.principal), caller.principal, "read_menu", "menus", hide=False
    )
    async with engine.connect() as conn:
        loaded = await commands.load(conn, menu.MENU, menu_stream(menu_id))
    if loaded.state.current is None:
        raise NotFound("menu_not_found", "参加支援メニューが見つかりません。")
    return loaded


async def list_menus(
    engine: AsyncEngine,
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
        for menu_id, m in await _all_menus(engine)
        if m.state.current is not None
        and (kind is None or m.state.current.kind == kind)
        and (district is None or m.state.current.district == district)
        and (status is None or m.state.status == status)
    ]


_MENU_STREAMS = text(
    "SELECT stream_id FROM events WHERE stream_type = :t AND version = 1 ORDER BY global_position"
)


async def _all_menus(engine: AsyncEngine) -> list[tuple[uuid.UUID, Loaded[menu.Menu]]]:
    """Every menu, oldest first, folded from its stream. A catalogue is tens to hundreds of
    menus per municipality; a read model can replace this when one is needed."""
    async with engine.connect() as conn:
        streams = (await conn.execute(_MENU_STREAMS, {"t": menu.STREAM_TYPE})).scalars().all()
        return [
            (uuid.UUID(s.removeprefix(MENU_STREAM_PREFIX)), await commands.load(conn, menu.MENU, s))
            for s in streams
        ]
