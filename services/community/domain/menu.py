"""Participation's menus, as community keeps them for the resource directory.

Participation support publishes its menus (MenuPublished, MenuUpdated) with coded fields only;
community keeps the latest state of each so that the HSDS export lists menus beside places —
one directory of local resources, as seed 002 asks (places are what participation matches
people to, and menus are resources the area has). Titles and descriptions stay with
participation; the export names a menu by its kind and host.

Pure: no I/O, no clock, no random ids.
"""

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from contracts.glossary import IssueTag, MenuKind, MenuStatus
from libs.domain import Aggregate, Command, DomainEvent

STREAM_TYPE = "CommunityMenuCopy"


class MenuNoted(DomainEvent):
    """A menu as participation last published it."""

    menu_id: UUID
    kind: MenuKind
    host_organisation: str
    district: str
    capacity: int
    target_groups: list[IssueTag]
    status: MenuStatus
    as_of: date


@dataclass(frozen=True)
class Menu:
    latest: MenuNoted | None = None


def evolve(_: Menu, event: DomainEvent) -> Menu:
    if isinstance(event, MenuNoted):
        return Menu(event)
    raise TypeError(f"unknown event {type(event).__name__}")


class NoteMenu(Command):
    """Participation published or updated a menu (its MenuPublished / MenuUpdated)."""

    noted: MenuNoted


def decide(command: Command, menu: Menu) -> list[DomainEvent]:
    match command:
        case NoteMenu():
            return _note(menu, command.noted)
    raise TypeError(f"a menu copy cannot decide {type(command).__name__}")


MENU = Aggregate[Menu](
    stream_type=STREAM_TYPE, initial=Menu, evolve=evolve, events=(MenuNoted,), decide=decide
)


def _note(menu: Menu, noted: MenuNoted) -> list[DomainEvent]:
    """Keep the newest state; a re-delivered or older change adds nothing."""
    if menu.latest is not None and (menu.latest == noted or noted.as_of < menu.latest.as_of):
        return []
    return [noted]
