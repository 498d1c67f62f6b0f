"""A participation menu (参加支援メニュー): a place where people can take part, and its seats.

Menus are about places (a farm, a shop, a place to be), never about people, so nothing here is
sealed. The menu also holds its seats — which placements currently occupy it — because
capacity is a rule over all of them at once: the menu stream's optimistic concurrency is what
keeps concurrent placements from overbooking it (one stream per transaction, ADR 0002).
A seat names only the placement and the pseudonymous participation case.

Pure: no I/O, no clock, no random ids.
"""

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Annotated
from uuid import UUID

from pydantic import Field, model_validator

from contracts.glossary import IssueTag, MenuKind, MenuStatus
from libs.domain import Aggregate, Command, DomainError, DomainEvent, InvalidCommand, NotFound
from libs.fields import DistrictCode, OrganisationCode, WholeNumber
from libs.text import Note, line

STREAM_TYPE = "ParticipationMenu"
MAX_CAPACITY = 1000

Title = line(100)
HostDisplay = line(100)
Schedule = line(200)
Capacity = Annotated[WholeNumber, Field(ge=1, le=MAX_CAPACITY)]
HostCode = OrganisationCode


# --- private events -------------------------------------------------------------------


class MenuPublished(DomainEvent):
    """A menu developed with a host organisation was added to the catalogue (メニューの開拓)."""

    menu_id: UUID
    managed_by: str
    title: Title
    description: Note
    kind: MenuKind
    host_organisation: HostCode
    host_name: HostDisplay
    district: DistrictCode
    capacity: Capacity
    schedule: Schedule
    target_groups: list[IssueTag]
    published_on: date


class MenuRevised(DomainEvent):
    """Some details changed; a field left None kept its value."""

    title: Title | None = None
    description: Note | None = None
    kind: MenuKind | None = None
    host_organisation: HostCode | None = None
    host_name: HostDisplay | None = None
    district: DistrictCode | None = None
    capacity: Capacity | None = None
    schedule: Schedule | None = None
    target_groups: list[IssueTag] | None = None
    status: MenuStatus | None = None
    revised_on: date


class SeatTaken(DomainEvent):
    placement_id: UUID
    participation_case_id: UUID
    taken_on: date


class SeatReleased(DomainEvent):
    placement_id: UUID
    released_on: date


REVISABLE = (
    "title",
    "description",
    "kind",
    "host_organisation",
    "host_name",
    "district",
    "capacity",
    "schedule",
    "target_groups",
)


# --- state ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Seat:
    placement_id: UUID
    participation_case_id: UUID
    taken_on: date


@dataclass(frozen=True)
class Menu:
    published: MenuPublished | None = None
    current: MenuPublished | None = None  # the published details with every revision applied
    status: MenuStatus = MenuStatus.ACTIVE
    seats: tuple[Seat, ...] = field(default_factory=tuple)
    revised_on: date | None = None

    @property
    def free_seats(self) -> int:
        return max(self.current.capacity - len(self.seats), 0) if self.current else 0

    def seat(self, placement_id: UUID) -> Seat | None:
        return next((s for s in self.seats if s.placement_id == placement_id), None)


def evolve(menu: Menu, event: DomainEvent) -> Menu:
    match event:
        case MenuPublished():
            return replace(menu, published=event, current=event)
        case MenuRevised():
            assert menu.current is not None
            changes = {k: getattr(event, k) for k in REVISABLE if getattr(event, k) is not None}
            return replace(
                menu,
                current=menu.current.model_copy(update=changes),
                status=event.status or menu.status,
                revised_on=event.revised_on,
            )
        case SeatTaken():
            seat = Seat(event.placement_id, event.participation_case_id, event.taken_on)
            return replace(menu, seats=(*menu.seats, seat))
        case SeatReleased():
            return replace(menu, seats=tuple(s for s in menu.seats if s.placement_id != event.placement_id))
    raise TypeError(f"unknown event {type(event).__name__}")


# --- commands ----------------------------------------------------------------------------


class PublishMenu(Command):
    """A menu developed with a host organisation (参加支援メニュー). Describe the place and the
    activity, never a participant: menus are shown to every program's workers."""

    title: Title = Field(description="メニュー名（例: 〇〇農園での農作業体験）")
    description: Note = Field(description="活動内容")
    kind: MenuKind
    host_organisation: HostCode = Field(description="受け入れ先のコード（例: farm-aozora）")
    host_name: HostDisplay = Field(description="受け入れ先の表示名")
    district: DistrictCode = Field(description="地区コード（例: chuo-1）")
    capacity: Capacity = Field(description="同時に参加できる人数")
    schedule: Schedule = Field(description="日程（例: 毎週火・木 10時〜12時）")
    target_groups: list[IssueTag] = Field(
        default_factory=list, max_length=14, description="対象（空: 誰でも）"
    )


class Publish(Command):
    """A new menu with what the service supplies: its id, who manages it, and the day."""

    request: PublishMenu
    menu_id: UUID
    managed_by: str
    published_on: date


class ReviseMenu(Command):
    """Change some of a menu's details, its capacity, or close/reopen it (status)."""

    title: Title | None = None
    description: Note | None = None
    kind: MenuKind | None = None
    host_organisation: HostCode | None = None
    host_name: HostDisplay | None = None
    district: DistrictCode | None = None
    capacity: Capacity | None = None
    schedule: Schedule | None = None
    target_groups: list[IssueTag] | None = Field(default=None, max_length=14)
    status: MenuStatus | None = None

    @model_validator(mode="after")
    def _something(self) -> "ReviseMenu":
        if not self.model_dump(exclude_none=True):
            raise ValueError("変更する項目を1つ以上指定してください")
        return self


class Revise(Command):
    """A revision with the day it is made on."""

    request: ReviseMenu
    revised_on: date


class TakeSeat(Command):
    """Hold a seat for a placement (sent by participation's own placement, never by a person)."""

    placement_id: UUID
    participation_case_id: UUID
    taken_on: date


class ReleaseSeat(Command):
    """Free a placement's seat (its end, or a placement the case refused after all)."""

    placement_id: UUID
    released_on: date


# --- decisions --------------------------------------------------------------------------


def decide(command: Command, menu: Menu) -> list[DomainEvent]:
    """The events a command leads to on this menu, or a DomainError saying why not."""
    match command:
        case Publish():
            return _publish(menu, command)
        case Revise():
            return _revise(menu, command)
        case TakeSeat():
            return _take_seat(menu, command)
        case ReleaseSeat():
            # Releasing a seat that is not held changes nothing (idempotent).
            if menu.seat(command.placement_id) is None:
                return []
            return [SeatReleased(placement_id=command.placement_id, released_on=command.released_on)]
    raise TypeError(f"a participation menu cannot decide {type(command).__name__}")


def _publish(menu: Menu, command: Publish) -> list[DomainEvent]:
    if menu.published is not None:
        raise DomainError("menu_exists", "このメニューはすでに登録されています。")
    request = command.request
    return [
        MenuPublished(
            menu_id=command.menu_id,
            managed_by=command.managed_by,
            title=request.title,
            description=request.description,
            kind=request.kind,
            host_organisation=request.host_organisation,
            host_name=request.host_name,
            district=request.district,
            capacity=request.capacity,
            schedule=request.schedule,
            target_groups=sorted(set(request.target_groups)),
            published_on=command.published_on,
        )
    ]


def _require(menu: Menu) -> MenuPublished:
    if menu.current is None:
        raise NotFound("menu_not_found", "参加支援メニューが見つかりません。")
    return menu.current


def _revise(menu: Menu, command: Revise) -> list[DomainEvent]:
    """Change details, capacity or status. Capacity may not drop below the people placed now,
    or someone already taking part would be over it; close the menu to stop new placements."""
    current = _require(menu)
    asked = command.request.model_dump(include=set(REVISABLE), exclude_none=True)
    if "target_groups" in asked:
        asked["target_groups"] = sorted(set(asked["target_groups"]))
    changed = {k: v for k, v in asked.items() if v != getattr(current, k)}
    status = command.request.status
    status_changed = status is not None and status != menu.status
    if not changed and not status_changed:
        return []
    if "capacity" in changed and changed["capacity"] < len(menu.seats):
        raise DomainError(
            "capacity_below_placements",
            f"定員を現在の参加者数（{len(menu.seats)}人）より少なくはできません。"
            "先に参加を終了するか、メニューを終了（新規受け入れ停止）にしてください。",
        )
    return [MenuRevised(**changed, status=status if status_changed else None, revised_on=command.revised_on)]


def _take_seat(menu: Menu, command: TakeSeat) -> list[DomainEvent]:
    """Hold a seat for a placement. The same placement asking again (a retried request) gets the
    seat it already holds, so a placement interrupted between the two writes can be completed."""
    current = _require(menu)
    placement_id, case_id = command.placement_id, command.participation_case_id
    held = menu.seat(placement_id)
    if held is not None:
        if held.participation_case_id != case_id:
            raise InvalidCommand("placement_id_taken", "この参加の識別子は別のケースで使われています。")
        return []
    if any(s.participation_case_id == case_id for s in menu.seats):
        raise DomainError("already_placed", "この方はすでにこのメニューに参加しています。")
    if menu.status is MenuStatus.CLOSED:
        raise DomainError("menu_closed", "このメニューは終了しているため、新たに参加できません。")
    if len(menu.seats) >= current.capacity:
        raise DomainError(
            "menu_full",
            f"このメニューは定員（{current.capacity}人）に達しています。"
            "他のメニューを選ぶか、受け入れ先と定員の見直しを相談してください。",
        )
    return [SeatTaken(placement_id=placement_id, participation_case_id=case_id, taken_on=command.taken_on)]


MENU = Aggregate[Menu](
    stream_type=STREAM_TYPE,
    initial=Menu,
    evolve=evolve,
    events=(MenuPublished, MenuRevised, SeatTaken, SeatReleased),
    decide=decide,
)
