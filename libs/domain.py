"""Building blocks for pure domain models: events, errors, and folding a stream into state.

Nothing here does I/O. A service's aggregate is a state class, an `evolve(state, event)`
function, typed commands and one `decide(command, state) -> list[DomainEvent]`.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar, Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict

S = TypeVar("S")


class DomainEvent(BaseModel):
    """A private event of one service; stored in its event store, never published as is."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    schema_version: ClassVar[int] = 1
    # How a stored older version is read as this one: `upcasters[v]` lifts the data of version v
    # to v + 1. Stored events never change, so a field added, renamed or reshaped in a new
    # version needs its step here, and every older version stays readable forever.
    upcasters: ClassVar[dict[int, Callable[[dict[str, Any]], dict[str, Any]]]] = {}

    @classmethod
    def upcast(cls, data: dict[str, Any], version: int) -> dict[str, Any]:
        """The stored data of `version` as this class's current version."""
        if version > cls.schema_version:
            raise RuntimeError(
                f"{cls.event_type()} v{version} was stored by newer code than this (v{cls.schema_version})"
            )
        for step in range(version, cls.schema_version):
            if step not in cls.upcasters:
                raise RuntimeError(f"{cls.event_type()}: no upcaster from v{step} to v{step + 1}")
            data = cls.upcasters[step](data)
        return data

    # Dotted paths of fields holding personal data: stored sealed under the person's key
    # (libs/crypto.py) and read back as None once that key is erased, so such fields are Optional.
    personal_fields: ClassVar[tuple[str, ...]] = ()
    # Lists whose items are people with a key of their own (a household's members): each item's
    # `identity` is sealed under the item's own `subject_ref`, not the stream's subject, so one
    # member's erasure leaves the others readable. Read back as None once that key is erased.
    people_fields: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def event_type(cls) -> str:
        return cls.__name__


class Command(BaseModel):
    """What someone asks of one aggregate, typed once: built from a request (its fields are the
    request body's) or from another program's event, and decided on by the aggregate's `decide`.

    Values the server supplies (a new id, the caller's organisation, a fact from the directory)
    are fields too, filled in by the service before it decides, so a decision depends on nothing
    but the command and the state.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")


class DomainError(Exception):
    """A command that makes no sense in the current state (HTTP 409).

    `message` is shown to the welfare worker, so it is written in Japanese and says what
    to do; `code` is stable for programs.
    """

    status = 409

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class InvalidCommand(DomainError):
    """A command whose content is wrong whatever the state (HTTP 422)."""

    status = 422


class NotFound(DomainError):
    """The thing asked for does not exist, or the caller may not know it exists (HTTP 404)."""

    status = 404


@dataclass(frozen=True)
class RegisterEntry:
    """One case's line in its service's register (libs/register.py), computed from its state.

    `search`: plaintext terms (libs.text.name_terms, day_terms, phone_terms) that the register
    keeps only as blind tokens; `subject_ref`: the person they belong to, whose erasure deletes
    them; `due_on`: the next thing due (a review, a follow-up), overdue once before today.
    `handed_to`: once the case was handed over (libs.handover), the 担当者 it was handed to, as a
    one-element tuple (its one element None when the new organisation has not named one yet);
    until then the register keeps the worker who opened the case.
    """

    case_id: UUID
    case_key: UUID | None
    organisation: str
    status: str
    district: str | None = None
    issue_tags: tuple[str, ...] = ()
    opened_on: date | None = None
    last_activity_on: date | None = None
    due_on: date | None = None
    subject_ref: str | None = None
    search: tuple[str, ...] = field(default=(), repr=False)
    handed_to: tuple[str | None] | None = None


@dataclass(frozen=True)
class Aggregate(Generic[S]):
    """How to rebuild one kind of stream: its private event types and its fold."""

    stream_type: str
    initial: Callable[[], S]
    evolve: Callable[[S, DomainEvent], S]
    events: tuple[type[DomainEvent], ...]
    # The events a command leads to, given the state it is decided on.
    decide: Callable[[Any, S], Sequence[DomainEvent]] = lambda command, _: _undecidable(command)
    # The person whose key seals this stream's personal fields (read from the state).
    subject_of: Callable[[S], str | None] = lambda _: None
    # The case the stream is about, stored with each event so records of a case are found by index.
    case_key_of: Callable[[S], UUID | None] = lambda _: None
    # The stream's line in the service's case register (None: not a case, or not yet one).
    register: Callable[[S], RegisterEntry | None] | None = None
    # For a consent stream: the latest expiry among its consents in force (None: none), shown on
    # every register line of the stream's case key (the consents expiring worklist reads it).
    consent_expires_on: Callable[[S], date | None] | None = None

    def event_class(self, event_type: str) -> type[DomainEvent]:
        for cls in self.events:
            if cls.event_type() == event_type:
                return cls
        raise KeyError(f"{self.stream_type} has no event type {event_type!r}")

    def fold(self, events: Iterable[DomainEvent], state: S | None = None) -> S:
        current = self.initial() if state is None else state
        for event in events:
            current = self.evolve(current, event)
        return current

    def decode(self, event_type: str, data: dict[str, Any], version: int | None = None) -> DomainEvent:
        """An event as stored (`version`: the schema version it was stored with; default current)."""
        cls = self.event_class(event_type)
        return cls.model_validate(data if version is None else cls.upcast(data, version))


def _undecidable(command: object) -> Sequence[DomainEvent]:
    raise TypeError(f"no decision for {type(command).__name__}")
