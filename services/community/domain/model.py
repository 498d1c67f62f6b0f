"""A community place (居場所) with its schedule, the activities held there and its volunteers.

Seed 002 (地域づくり事業): places where people of any generation or attribute meet — 子ども食堂,
サロン, コミュニティカフェ, 共生型拠点. A place's name, address and schedule are a public directory
entry, not personal data. Attendance is counted by generation, never by name; volunteers are
pseudonymous refs with a generation, because a volunteer's name would be personal data and the
program only needs to know how many there are.

Each place says under which 包括化対象事業 it runs (seed 002: 介護予防, 生活支援体制整備, 地域活動支援
センター, 地域子育て支援拠点, 共助の基盤づくり), and each activity under which it was held: the
community-building program takes these schemes' places in, and the municipality still accounts
for each scheme's places and activities. A place may combine several schemes (統合型拠点) or none
(a place the program itself started); an activity is counted under one scheme or none, not always
the place's own (a 介護予防 class in a 子育て支援拠点's free hours).

Pure: no I/O, no clock, no random ids. Identifiers and dates arrive in the commands: a request
body is a command when everything in it is typed by the worker (`ClosePlace`); when the service
adds what it mints (a place id, an activity id, a volunteer's pseudonym) the command wraps the
request with those values (`Register`, `AddActivity`, `AddVolunteer`), so `decide` depends on
nothing but the command and the state.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, time
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from contracts.events import DISTRICT_PATTERN
from contracts.glossary import Generation, IntegratedScheme, PlaceKind, TargetGroup, label_ja
from libs.domain import Aggregate, Command, DomainError, DomainEvent, InvalidCommand, NotFound
from libs.fields import Day, DistrictCode, Flag, Happened, WholeNumber
from libs.text import Note, line

STREAM_TYPE = "CommunityPlace"
VOLUNTEER_REF_PATTERN = r"^vol_[0-9a-f]{32}$"
# RFC 5545 BYDAY as HSDS uses it: a weekday, with an occurrence in the month when freq is MONTHLY.
BYDAY_PATTERN = r"^(-1|[1-5])?(MO|TU|WE|TH|FR|SA|SU)$"
_WALL_CLOCK = r"([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?"


def _wall_clock(value: object) -> object:
    """Only "HH:MM[:SS]": an offset ("10:00+09:00") made times incomparable (a 500 on closes_at <=
    opens_at), and a number of seconds is no time anyone typed."""
    if isinstance(value, time) or (isinstance(value, str) and re.fullmatch(_WALL_CLOCK, value)):
        return value
    raise ValueError("時刻は日本時間の HH:MM で指定してください（例: 10:00）")


# Local (Japan) wall-clock time. Documented as a pattern: JSON Schema's "time" format demands an
# offset, which pydantic's naive times never carry, so the published spec contradicted the answers.
WallClock = Annotated[
    time,
    BeforeValidator(_wall_clock),
    WithJsonSchema({"type": "string", "pattern": f"^{_WALL_CLOCK}$", "description": "日本時間 HH:MM"}),
]
_ORDINAL = re.compile(r"^(-1|[1-5])")

SchoolDistrict = Annotated[str, Field(pattern=DISTRICT_PATTERN)]
Count = Annotated[WholeNumber, Field(ge=0, le=10000)]


class Slot(BaseModel):
    """One recurring opening of a place (HSDS schedule: freq, byday, opens_at, closes_at)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    freq: Literal["WEEKLY", "MONTHLY"]
    byday: list[str] = Field(
        min_length=1,
        max_length=7,
        description="曜日（例: SA）。毎月の場合は第n曜日（例: 2SA、最終金曜は -1FR）",
    )
    opens_at: WallClock
    closes_at: WallClock
    description: line(200) | None = None  # type: ignore[valid-type]


class PlaceAddress(BaseModel):
    """Where a place is: public (a directory entry). A private home is not registered with its address."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    postal_code: str = Field(pattern=r"^\d{3}-?\d{4}$")
    prefecture: line(10)  # type: ignore[valid-type]
    city: line(50)  # type: ignore[valid-type]
    street: line(200)  # type: ignore[valid-type]


class Attendance(BaseModel):
    """Participants of one activity by generation: counts only."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    children: int = 0
    youth: int = 0
    working_age: int = 0
    older: int = 0

    @property
    def total(self) -> int:
        return self.children + self.youth + self.working_age + self.older

    def by_generation(self) -> dict[Generation, int]:
        return {
            Generation.CHILDREN: self.children,
            Generation.YOUTH: self.youth,
            Generation.WORKING_AGE: self.working_age,
            Generation.OLDER: self.older,
        }


# --- private events -------------------------------------------------------------------

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


def _place_v1_v2(data: dict[str, Any]) -> dict[str, Any]:
    """v1 places did not record their 包括化対象事業: None (not recorded), never a guess."""
    return {**data, "integrated_schemes": None}


def _activity_v1_v2(data: dict[str, Any]) -> dict[str, Any]:
    """v1 activities did not record their 包括化対象事業: None."""
    return {**data, "integrated_scheme": None}


class PlaceRegistered(DomainEvent):
    schema_version = 2
    upcasters: ClassVar[dict[int, Upcaster]] = {1: _place_v1_v2}

    place_id: UUID
    holder_organisation: str
    kind: PlaceKind
    name: str
    description: str | None
    address: PlaceAddress | None
    district: str
    school_district: str
    target_groups: list[TargetGroup]
    multi_generational: bool
    integrated_schemes: list[IntegratedScheme] | None  # []: none of them; None: not recorded (v1)
    schedule: list[Slot]
    opened_on: date


class ActivityRecorded(DomainEvent):
    schema_version = 2
    upcasters: ClassVar[dict[int, Upcaster]] = {1: _activity_v1_v2}

    activity_id: UUID
    held_on: date
    attendance: Attendance
    volunteer_count: int
    new_resident_led: bool
    integrated_scheme: IntegratedScheme | None  # None: none of them, or not recorded (v1)


class VolunteerRegistered(DomainEvent):
    volunteer_ref: str
    generation: Generation
    registered_on: date


class VolunteerLeft(DomainEvent):
    volunteer_ref: str
    left_on: date


class PlaceClosed(DomainEvent):
    closed_on: date


# --- state ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Volunteer:
    volunteer_ref: str
    generation: Generation
    registered_on: date
    left_on: date | None = None


@dataclass(frozen=True)
class Place:
    registered: PlaceRegistered | None = None
    activities: tuple[ActivityRecorded, ...] = field(default_factory=tuple)
    volunteers: dict[str, Volunteer] = field(default_factory=dict)
    closed_on: date | None = None

    @property
    def holder(self) -> str | None:
        return self.registered.holder_organisation if self.registered else None

    @property
    def active_volunteers(self) -> list[Volunteer]:
        return [v for v in self.volunteers.values() if v.left_on is None]


def evolve(place: Place, event: DomainEvent) -> Place:
    match event:
        case PlaceRegistered():
            return replace(place, registered=event)
        case ActivityRecorded():
            return replace(place, activities=(*place.activities, event))
        case VolunteerRegistered():
            volunteer = Volunteer(event.volunteer_ref, event.generation, event.registered_on)
            return replace(place, volunteers={**place.volunteers, event.volunteer_ref: volunteer})
        case VolunteerLeft():
            left = replace(place.volunteers[event.volunteer_ref], left_on=event.left_on)
            return replace(place, volunteers={**place.volunteers, event.volunteer_ref: left})
        case PlaceClosed():
            return replace(place, closed_on=event.closed_on)
    raise TypeError(f"unknown event {type(event).__name__}")


# --- commands ---------------------------------------------------------------------------


class RegisterPlace(Command):
    """A place to register (居場所の登録). Everything here is a public directory entry."""

    kind: PlaceKind
    name: line(100) = Field(description="居場所の名称（公開されます）")  # type: ignore[valid-type]
    description: Note | None = Field(
        default=None, description="居場所の紹介文（公開されます。個人の情報は書かないでください）"
    )
    address: PlaceAddress | None = Field(
        default=None, description="所在地（公開されます）。個人宅で開く場合は登録しないでください"
    )
    district: DistrictCode = Field(description="地区コード（例: chuo-1）")
    school_district: SchoolDistrict = Field(description="小学校区コード（例: chuo-es）")
    target_groups: list[TargetGroup] = Field(min_length=1, max_length=8)
    multi_generational: Flag = Field(description="世代を問わず交流できる場か（多世代型）")
    integrated_schemes: list[IntegratedScheme] = Field(
        default_factory=list,
        max_length=5,
        description="この居場所を運営している包括化対象事業（複数可。いずれでもなければ空）",
    )
    schedule: list[Slot] = Field(default_factory=list, max_length=14, description="開催日時")
    opened_on: Day


class Register(Command):
    """A place to register with what the service gives it: a new id and the holding organisation
    (the caller's)."""

    request: RegisterPlace
    place_id: UUID
    holder_organisation: str


# Participants of one activity by generation, as a worker types them (counts only). Request models
# below without a docstring had none before: a docstring would change the published schema.
class AttendanceCounts(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    children: Count = 0
    youth: Count = 0
    working_age: Count = 0
    older: Count = 0


class RecordActivity(Command):
    """An activity held (活動の記録): counts by generation, never names."""

    held_on: Happened
    attendance: AttendanceCounts
    volunteer_count: Count = 0
    new_resident_led: Flag = Field(default=False, description="住民主体で新たに始まった活動か")
    integrated_scheme: IntegratedScheme | None = Field(
        default=None,
        description="この活動を実施した包括化対象事業。省略すると、居場所が一つの事業だけで運営されていれば"
        "その事業（複数の事業で運営する居場所では省略できません）",
    )


class AddActivity(Command):
    """An activity to record under the id the service minted for it."""

    request: RecordActivity
    activity_id: UUID


class RegisterVolunteer(Command):
    """A volunteer registration: a generation only; the service gives a pseudonymous ref."""

    generation: Generation
    registered_on: Happened


class AddVolunteer(Command):
    """A volunteer registration with the pseudonymous ref the service drew for the volunteer."""

    request: RegisterVolunteer
    volunteer_ref: str


class RecordLeaving(Command):
    left_on: Happened


class Leave(Command):
    """A volunteer (named by their ref in the request's path) leaves the place."""

    request: RecordLeaving
    volunteer_ref: str


class ClosePlace(Command):
    closed_on: Day


def decide(command: Command, place: Place) -> list[DomainEvent]:
    """The events a command leads to on this place, or a DomainError saying why not."""
    match command:
        case Register():
            return _register(place, command)
        case AddActivity():
            return _record_activity(place, command)
        case AddVolunteer():
            return _register_volunteer(place, command)
        case Leave():
            return _volunteer_leaves(place, command)
        case ClosePlace():
            return _close(place, command)
    raise TypeError(f"a place cannot decide {type(command).__name__}")


PLACE = Aggregate[Place](
    stream_type=STREAM_TYPE,
    initial=Place,
    evolve=evolve,
    events=(PlaceRegistered, ActivityRecorded, VolunteerRegistered, VolunteerLeft, PlaceClosed),
    decide=decide,
)


# --- decisions --------------------------------------------------------------------------


def _check_schedule(schedule: list[Slot]) -> None:
    for slot in schedule:
        if slot.closes_at <= slot.opens_at:
            raise InvalidCommand("closes_before_opens", "終了時刻は開始時刻より後にしてください。")
        if len(set(slot.byday)) != len(slot.byday):
            raise InvalidCommand("duplicate_day", "同じ曜日が重複しています。")
        for day in slot.byday:
            if not re.match(BYDAY_PATTERN, day):
                raise InvalidCommand(
                    "bad_day", "曜日は MO〜SU（毎月の場合は 2SA のように第n曜日）で指定してください。"
                )
            if slot.freq == "WEEKLY" and _ORDINAL.match(day):
                raise InvalidCommand(
                    "ordinal_in_weekly", "第n曜日の指定（例: 2SA）は毎月（MONTHLY）の場合のみ使えます。"
                )


def _register(place: Place, command: Register) -> list[DomainEvent]:
    """Register a place. Its id is new, so an existing stream means the same request twice."""
    if place.registered is not None:
        raise DomainError("place_exists", "この居場所はすでに登録されています。")
    request = command.request
    if not request.target_groups:
        raise InvalidCommand("no_target_group", "対象者を1つ以上選んでください。")
    _check_schedule(request.schedule)
    return [
        PlaceRegistered(
            place_id=command.place_id,
            holder_organisation=command.holder_organisation,
            kind=request.kind,
            name=request.name,
            description=request.description,
            address=request.address,
            district=request.district,
            school_district=request.school_district,
            target_groups=sorted(set(request.target_groups)),
            multi_generational=request.multi_generational,
            integrated_schemes=sorted(set(request.integrated_schemes)),
            schedule=request.schedule,
            opened_on=request.opened_on,
        )
    ]


def _require_place(place: Place) -> PlaceRegistered:
    if place.registered is None:
        raise NotFound("place_not_found", "居場所が見つかりません。")
    return place.registered


def _require_open_on(place: Place, day: date, what: str) -> PlaceRegistered:
    registered = _require_place(place)
    if day < registered.opened_on:
        raise DomainError(f"{what}_before_opening", "日付が居場所の開設日より前になっています。")
    if place.closed_on is not None and day >= place.closed_on:
        raise DomainError(
            "place_closed", "この居場所は閉所しています。閉所日以降の活動やボランティアは記録できません。"
        )
    return registered


def _activity_scheme(registered: PlaceRegistered, named: IntegratedScheme | None) -> IntegratedScheme | None:
    """The 包括化対象事業 an activity counts under: the one named, which may be another scheme's than
    the place's (a room lent in its free hours); else the place's when it runs under exactly one.
    A place run under several cannot say which: the worker must (409 until they do), or the
    activity would be counted under a scheme nobody chose."""
    if named is not None:
        return named
    schemes = registered.integrated_schemes or []
    if len(schemes) > 1:
        labels = "、".join(label_ja(s) for s in schemes)
        raise DomainError(
            "integrated_scheme_required",
            f"この居場所は複数の包括化対象事業（{labels}）で運営されています。活動を実施した事業を選んでください。",
        )
    return schemes[0] if schemes else None


def _record_activity(place: Place, command: AddActivity) -> list[DomainEvent]:
    """An activity held at an open place, with attendance by generation (counts only)."""
    request = command.request
    registered = _require_open_on(place, request.held_on, "activity")
    attendance = Attendance(
        children=request.attendance.children,
        youth=request.attendance.youth,
        working_age=request.attendance.working_age,
        older=request.attendance.older,
    )
    # The request's types already refuse negative numbers; the domain refuses them for any caller.
    if any(n < 0 for n in attendance.by_generation().values()) or request.volunteer_count < 0:
        raise InvalidCommand("negative_count", "参加者数・ボランティア数に負の数は入力できません。")
    if attendance.total == 0:
        raise InvalidCommand(
            "no_attendance", "参加者数が0人の活動は記録できません（中止の場合は記録不要です）。"
        )
    if any(a.activity_id == command.activity_id for a in place.activities):
        raise DomainError("activity_exists", "この活動はすでに記録されています。")
    return [
        ActivityRecorded(
            activity_id=command.activity_id,
            held_on=request.held_on,
            attendance=attendance,
            volunteer_count=request.volunteer_count,
            new_resident_led=request.new_resident_led,
            integrated_scheme=_activity_scheme(registered, request.integrated_scheme),
        )
    ]


def _register_volunteer(place: Place, command: AddVolunteer) -> list[DomainEvent]:
    """A volunteer joins a place: a pseudonymous ref and a generation, never a name."""
    request = command.request
    _require_open_on(place, request.registered_on, "volunteer")
    if not re.match(VOLUNTEER_REF_PATTERN, command.volunteer_ref):
        raise InvalidCommand("bad_volunteer_ref", "ボランティアの識別子が不正です。")
    if command.volunteer_ref in place.volunteers:
        raise DomainError("volunteer_exists", "このボランティアはすでに登録されています。")
    return [
        VolunteerRegistered(
            volunteer_ref=command.volunteer_ref,
            generation=request.generation,
            registered_on=request.registered_on,
        )
    ]


def _volunteer_leaves(place: Place, command: Leave) -> list[DomainEvent]:
    _require_place(place)
    left_on = command.request.left_on
    volunteer = place.volunteers.get(command.volunteer_ref)
    if volunteer is None:
        raise NotFound("volunteer_not_found", "ボランティアの登録が見つかりません。")
    if volunteer.left_on is not None:
        raise DomainError("volunteer_already_left", "このボランティアはすでに活動を終了しています。")
    if left_on < volunteer.registered_on:
        raise DomainError("left_before_registered", "終了日が登録日より前になっています。")
    return [VolunteerLeft(volunteer_ref=command.volunteer_ref, left_on=left_on)]


def _close(place: Place, command: ClosePlace) -> list[DomainEvent]:
    """Close a place (閉所). Its directory entry stays, marked inactive; no new activity follows."""
    registered = _require_place(place)
    closed_on = command.closed_on
    if place.closed_on is not None:
        raise DomainError("place_already_closed", "この居場所はすでに閉所しています。")
    if closed_on < registered.opened_on:
        raise DomainError("close_before_opening", "閉所日が開設日より前になっています。")
    if any(a.held_on >= closed_on for a in place.activities):
        raise DomainError(
            "activities_after_closing", "閉所日以降に記録された活動があります。閉所日を確認してください。"
        )
    if any(v.registered_on >= closed_on for v in place.volunteers.values()):
        raise DomainError(
            "volunteers_after_closing",
            "閉所日以降に登録されたボランティアがいます。閉所日を確認してください。",
        )
    return [PlaceClosed(closed_on=closed_on)]
