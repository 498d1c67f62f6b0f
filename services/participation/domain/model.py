"""A participation case (参加支援): opened from coordination's referral, assessed, placed in
menus, followed up (定着支援), with the host organisation supported along the way, and closed
(終結) with a reason once participation support's part ends.

The person's wishes, the assessment's findings, arrangements, follow-up notes and the host's
worries are free text about a person: they are personal fields, sealed under the person's key.
Needs, statuses, outcomes and concerns are codes from the glossary.

Pure: no I/O, no clock, no random ids.
"""

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid5

from pydantic import Field

from contracts.glossary import (
    AgeBand,
    FollowUpStatus,
    HostConcern,
    IssueTag,
    MenuKind,
    ParticipationClosureReason,
    ParticipationNeed,
    PlacementOutcome,
)
from libs.domain import (
    Aggregate,
    Command,
    DomainError,
    DomainEvent,
    InvalidCommand,
    NotFound,
    RegisterEntry,
)
from libs.fields import Happened
from libs.handover import CaseHandedOver, HandOff, hand_over, handed_to, holder_after, worker_after
from libs.text import Note

STREAM_TYPE = "ParticipationCase"
_CASE_NAMESPACE = UUID("0d8f4f53-7b0a-4a0e-9a55-52a4b8c3e6a1")
_PLACEMENT_NAMESPACE = UUID("a3e9c1d2-5f4b-4c8e-8e1d-6b7a9f0c2d34")

# Which menu kinds can answer which need: used to suggest menus, never to refuse a placement
# (the coordinator and the person decide; a suggestion is only a shortlist).
KINDS_FOR_NEED: dict[ParticipationNeed, tuple[MenuKind, ...]] = {
    ParticipationNeed.WORK_EXPERIENCE: (MenuKind.WORK_EXPERIENCE,),
    ParticipationNeed.PLACE_TO_BE: (MenuKind.PLACE_TO_BE,),
    ParticipationNeed.VOLUNTEERING: (MenuKind.VOLUNTEERING,),
    ParticipationNeed.LEARNING: (MenuKind.LEARNING,),
    ParticipationNeed.SOCIAL_CONTACT: (MenuKind.SOCIAL_ACTIVITY, MenuKind.PLACE_TO_BE, MenuKind.VOLUNTEERING),
}


def case_id_for(referral_id: UUID) -> UUID:
    """One participation case per referral, however often the referral is delivered."""
    return uuid5(_CASE_NAMESPACE, str(referral_id))


@dataclass(frozen=True)
class MenuFacts:
    """What a placement records about its menu when it starts (codes only)."""

    menu_id: UUID
    kind: MenuKind
    host_organisation: str
    district: str


# --- private events -------------------------------------------------------------------


class CaseOpened(DomainEvent):
    participation_case_id: UUID
    holder_organisation: str
    case_key: UUID
    referral_id: UUID
    coordination_case_id: UUID
    referring_organisation: str
    subject_ref: str
    needs: list[ParticipationNeed]
    issue_tags: list[IssueTag]
    age_band: AgeBand
    district: str
    opened_on: date


class NeedsAssessed(DomainEvent):
    """The person's needs (codes) and, in their words, what they wish for (本人の希望)."""

    personal_fields = ("wishes", "findings")

    assessment_version: int
    needs: list[ParticipationNeed]
    wishes: str | None  # None: not recorded, or erased
    findings: str | None
    assessed_on: date


class PlacementStarted(DomainEvent):
    personal_fields = ("arrangements",)

    placement_id: UUID
    menu_id: UUID
    menu_kind: MenuKind
    host_organisation: str
    menu_district: str
    arrangements: str | None  # 配慮事項 agreed with the host
    started_on: date


class PlacementFollowedUp(DomainEvent):
    personal_fields = ("note",)

    placement_id: UUID
    status: FollowUpStatus
    note: str | None
    followed_up_on: date


class PlacementEnded(DomainEvent):
    personal_fields = ("note",)

    placement_id: UUID
    outcome: PlacementOutcome
    note: str | None
    ended_on: date


class HostSupported(DomainEvent):
    """The host's worry and what was done about it (受け入れ先の支援); both usually speak of the person."""

    personal_fields = ("worry", "response")

    placement_id: UUID
    concern: HostConcern
    worry: str | None
    response: str | None
    supported_on: date


class CaseClosed(DomainEvent):
    """終結: participation support's part ends, for a reason given as a code; the worker's note
    usually speaks of the person."""

    personal_fields = ("note",)

    reason: ParticipationClosureReason
    note: str | None
    closed_on: date


# --- state ----------------------------------------------------------------------------


class Status(StrEnum):
    NEW = "new"
    OPEN = "open"  # accepted, not yet assessed
    ASSESSED = "assessed"
    PLACED = "placed"  # at least one placement running
    CLOSED = "closed"  # 終結: nothing more is recorded


@dataclass(frozen=True)
class Placement:
    started: PlacementStarted
    follow_ups: tuple[PlacementFollowedUp, ...] = field(default_factory=tuple)
    host_support: tuple[HostSupported, ...] = field(default_factory=tuple)
    ended: PlacementEnded | None = None

    @property
    def active(self) -> bool:
        return self.ended is None


@dataclass(frozen=True)
class Case:
    opened: CaseOpened | None = None
    assessments: tuple[NeedsAssessed, ...] = field(default_factory=tuple)
    placements: tuple[Placement, ...] = field(default_factory=tuple)
    closed: CaseClosed | None = None
    handovers: tuple[CaseHandedOver, ...] = ()

    @property
    def holder(self) -> str | None:
        return holder_after(self.opened.holder_organisation, self.handovers) if self.opened else None

    @property
    def status(self) -> Status:
        if self.opened is None:
            return Status.NEW
        if self.closed is not None:
            return Status.CLOSED
        if any(p.active for p in self.placements):
            return Status.PLACED
        return Status.ASSESSED if self.assessments else Status.OPEN

    @property
    def needs(self) -> list[ParticipationNeed]:
        """The latest assessed needs, else those coordination referred with."""
        if self.assessments:
            return self.assessments[-1].needs
        return self.opened.needs if self.opened else []

    def placement(self, placement_id: UUID) -> Placement:
        found = next((p for p in self.placements if p.started.placement_id == placement_id), None)
        if found is None:
            raise NotFound("placement_not_found", "この参加の記録が見つかりません。")
        return found

    def next_placement_id(self, menu_id: UUID) -> UUID:
        """Derived, not random: a placement retried after a failure between its two writes (the
        menu's seat, then this case) finds the seat it already holds instead of a second one."""
        assert self.opened is not None
        n = sum(1 for p in self.placements if p.started.menu_id == menu_id)
        return uuid5(_PLACEMENT_NAMESPACE, f"{self.opened.participation_case_id}/{menu_id}/{n}")


def _with_placement(case: Case, placement_id: UUID, change: Callable[[Placement], dict[str, Any]]) -> Case:
    return replace(
        case,
        placements=tuple(
            replace(p, **change(p)) if p.started.placement_id == placement_id else p for p in case.placements
        ),
    )


def evolve(case: Case, event: DomainEvent) -> Case:
    match event:
        case CaseOpened():
            return replace(case, opened=event)
        case NeedsAssessed():
            return replace(case, assessments=(*case.assessments, event))
        case PlacementStarted():
            return replace(case, placements=(*case.placements, Placement(event)))
        case PlacementFollowedUp():
            return _with_placement(case, event.placement_id, lambda p: {"follow_ups": (*p.follow_ups, event)})
        case PlacementEnded():
            return _with_placement(case, event.placement_id, lambda _: {"ended": event})
        case HostSupported():
            return _with_placement(
                case, event.placement_id, lambda p: {"host_support": (*p.host_support, event)}
            )
        case CaseClosed():
            return replace(case, closed=event)
        case CaseHandedOver():
            return replace(case, handovers=(*case.handovers, event))
    raise TypeError(f"unknown event {type(event).__name__}")


def register_entry(case: Case) -> RegisterEntry | None:
    """The case's line in participation's register: codes and dates only. The state holds no
    name, birth date or phone (intake does), so the line has nothing to search by; and no date
    is scheduled here (follow-ups are recorded as they happen), so nothing is due."""
    opened = case.opened
    if opened is None:
        return None
    return RegisterEntry(
        case_id=opened.participation_case_id,
        case_key=opened.case_key,
        organisation=holder_after(opened.holder_organisation, case.handovers),
        status=case.status.value,
        district=opened.district,
        issue_tags=tuple(sorted(t.value for t in opened.issue_tags)),
        opened_on=opened.opened_on,
        last_activity_on=last_record_on(case),
        subject_ref=opened.subject_ref,
        handed_to=handed_to(case.handovers),
    )


def last_record_on(case: Case) -> date:
    """The day of the latest thing recorded on an opened case (its register line's last activity)."""
    assert case.opened is not None
    return max(
        [
            case.opened.opened_on,
            *(a.assessed_on for a in case.assessments),
            *(p.started.started_on for p in case.placements),
            *(f.followed_up_on for p in case.placements for f in p.follow_ups),
            *(s.supported_on for p in case.placements for s in p.host_support),
            *(p.ended.ended_on for p in case.placements if p.ended),
            *((case.closed.closed_on,) if case.closed else ()),
            *(h.handed_over_on for h in case.handovers),
        ]
    )


# --- commands ----------------------------------------------------------------------------


class OpenCase(Command):
    """Coordination referred the person (ReferredToParticipation): the case as the referral opens it."""

    opened: CaseOpened


class AssessNeeds(Command):
    """The person's needs (codes) and wishes in their own words (アセスメント)."""

    needs: list[ParticipationNeed] = Field(min_length=1, max_length=5)
    wishes: Note | None = Field(default=None, description="本人の希望（この事業所内のみで保持）")
    findings: Note | None = Field(default=None, description="アセスメントの所見（この事業所内のみで保持）")
    assessed_on: Happened


class StartPlacement(Command):
    """Match the person with a menu and start (マッチング・参加開始)."""

    menu_id: UUID
    arrangements: Note | None = Field(default=None, description="受け入れ先と合意した配慮事項")
    started_on: Happened


class Place(Command):
    """A placement as the service prepares it: its id (derived from the case, so that a retry finds
    the seat it already holds) and the menu's coded facts as they are when it starts."""

    request: StartPlacement
    placement_id: UUID
    menu: MenuFacts


class RecordFollowUp(Command):
    """A follow-up after placement (定着支援)."""

    status: FollowUpStatus
    note: Note | None = None
    followed_up_on: Happened


class FollowUp(Command):
    """A follow-up of one placement of the case (the placement named by the request's path)."""

    request: RecordFollowUp
    placement_id: UUID


class EndPlacement(Command):
    outcome: PlacementOutcome
    note: Note | None = None
    ended_on: Happened


class End(Command):
    """The end of one placement of the case."""

    request: EndPlacement
    placement_id: UUID


class SupportHost(Command):
    """The host's worry and what was done about it (受け入れ先の支援)."""

    concern: HostConcern
    worry: Note | None = Field(default=None, description="受け入れ先の悩み・困りごと")
    response: Note | None = Field(default=None, description="行った支援")
    supported_on: Happened


class Support(Command):
    """Support given to the host of one placement of the case."""

    request: SupportHost
    placement_id: UUID


class CloseCase(Command):
    """終結: participation support's part ends (the reason is published to coordination)."""

    reason: ParticipationClosureReason
    note: Note | None = Field(default=None, description="終結時のメモ（この事業所内のみで保持）")
    closed_on: Happened


# --- decisions --------------------------------------------------------------------------


def decide(command: Command, case: Case) -> list[DomainEvent]:
    """The events a command leads to on this case, or a DomainError saying why not."""
    match command:
        case OpenCase():
            # A re-delivered referral finds the case open and changes nothing.
            return [command.opened] if case.opened is None else []
        case AssessNeeds():
            return _assess(case, command)
        case Place():
            return _start_placement(case, command)
        case FollowUp():
            return _follow_up(case, command)
        case End():
            return _end_placement(case, command)
        case Support():
            return _support_host(case, command)
        case CloseCase():
            return _close(case, command)
        case HandOff():
            _require_active(case)
            return [hand_over(command, worker_after(case.handovers), last_record_on(case))]
    raise TypeError(f"participation cannot decide {type(command).__name__}")


def _require_opened(case: Case) -> CaseOpened:
    if case.opened is None:
        raise NotFound("case_not_found", "ケースが見つかりません。")
    return case.opened


def _require_active(case: Case) -> CaseOpened:
    """An opened case not yet closed: after 終結 nothing more is recorded on it."""
    opened = _require_opened(case)
    if case.closed is not None:
        raise DomainError(
            "case_closed",
            f"このケースは {case.closed.closed_on.isoformat()} に終結しています。終結後は記録を追加できません。",
        )
    return opened


def _assess(case: Case, command: AssessNeeds) -> list[DomainEvent]:
    """Record what the person needs and wishes; a later assessment supersedes the earlier one."""
    opened = _require_active(case)
    if not command.needs:
        raise InvalidCommand("assessment_without_needs", "ニーズを1つ以上選んでください。")
    if command.assessed_on < opened.opened_on:
        raise DomainError("assessment_before_opening", "アセスメント日がケース開始日より前になっています。")
    return [
        NeedsAssessed(
            assessment_version=len(case.assessments) + 1,
            needs=sorted(set(command.needs)),
            wishes=command.wishes,
            findings=command.findings,
            assessed_on=command.assessed_on,
        )
    ]


def _start_placement(case: Case, command: Place) -> list[DomainEvent]:
    """Place the person in a menu. The seat is held on the menu first (capacity lives there);
    a retried placement that is already recorded changes nothing."""
    opened = _require_active(case)
    request, menu, placement_id = command.request, command.menu, command.placement_id
    if any(p.started.placement_id == placement_id for p in case.placements):
        return []
    if not case.assessments:
        raise DomainError("not_assessed", "参加の前に本人のニーズと希望のアセスメントを記録してください。")
    if any(p.active and p.started.menu_id == menu.menu_id for p in case.placements):
        raise DomainError("already_placed", "この方はすでにこのメニューに参加しています。")
    if request.started_on < opened.opened_on:
        raise DomainError("placement_before_opening", "参加開始日がケース開始日より前になっています。")
    return [
        PlacementStarted(
            placement_id=placement_id,
            menu_id=menu.menu_id,
            menu_kind=menu.kind,
            host_organisation=menu.host_organisation,
            menu_district=menu.district,
            arrangements=request.arrangements,
            started_on=request.started_on,
        )
    ]


def _running(case: Case, placement_id: UUID) -> Placement:
    """A placement still running. Every placement of a closed case has ended, so a closed case
    answers "placement_ended" here: the code on which a repeated end still frees a held seat."""
    _require_opened(case)
    placement = case.placement(placement_id)
    if placement.ended is not None:
        raise DomainError(
            "placement_ended", f"この参加は {placement.ended.ended_on.isoformat()} に終了しています。"
        )
    _require_active(case)
    return placement


def _follow_up(case: Case, command: FollowUp) -> list[DomainEvent]:
    """定着支援: how the placement is going. Only a running placement is followed up."""
    request = command.request
    placement = _running(case, command.placement_id)
    if request.followed_up_on < placement.started.started_on:
        raise DomainError("follow_up_before_start", "フォローアップ日が参加開始日より前になっています。")
    return [
        PlacementFollowedUp(
            placement_id=command.placement_id,
            status=request.status,
            note=request.note,
            followed_up_on=request.followed_up_on,
        )
    ]


def _end_placement(case: Case, command: End) -> list[DomainEvent]:
    request = command.request
    placement = _running(case, command.placement_id)
    if request.ended_on < placement.started.started_on:
        raise DomainError("end_before_start", "終了日が参加開始日より前になっています。")
    return [
        PlacementEnded(
            placement_id=command.placement_id,
            outcome=request.outcome,
            note=request.note,
            ended_on=request.ended_on,
        )
    ]


def _support_host(case: Case, command: Support) -> list[DomainEvent]:
    """Record the host's worry and what was done. Hosts are supported after a placement ends
    too (a debrief), so an ended placement is accepted here."""
    request = command.request
    _require_active(case)
    placement = case.placement(command.placement_id)
    if request.supported_on < placement.started.started_on:
        raise DomainError("support_before_start", "受け入れ先支援の日付が参加開始日より前になっています。")
    return [
        HostSupported(
            placement_id=command.placement_id,
            concern=request.concern,
            worry=request.worry,
            response=request.response,
            supported_on=request.supported_on,
        )
    ]


def _close(case: Case, command: CloseCase) -> list[DomainEvent]:
    """終結, once. A placement still running refuses it rather than being ended with it: each
    placement's end has its own outcome (一般就労へ移行, 他の活動へ移行, 本人の希望で中止 …) that the
    national figures count, and frees the menu's seat for the next person, and the closure's
    reason (転居, 死亡, 連絡が取れない) does not say which outcome it was. A worker ends each
    placement with its outcome (one request each), then closes; the 409 says so.

    The closure is the last record: not before the case opened, nor before anything already
    recorded on it. "Settled in the activity" needs a placement to have settled in."""
    opened = _require_opened(case)
    if case.closed is not None:
        raise DomainError("already_closed", "このケースはすでに終結しています。")
    running = [p for p in case.placements if p.active]
    if running:
        raise DomainError(
            "placements_running",
            f"参加中のメニューがあります（{len(running)}件）。終結の前に、それぞれの参加を終了理由とともに"
            "終了してください。",
        )
    if command.closed_on < opened.opened_on:
        raise DomainError("closure_before_opening", "終結日がケース開始日より前になっています。")
    last = last_record_on(case)
    if command.closed_on < last:
        raise DomainError(
            "closure_before_last_record",
            f"終結日がこのケースの最後の記録（{last.isoformat()}）より前になっています。",
        )
    if command.reason is ParticipationClosureReason.SETTLED and not case.placements:
        raise DomainError(
            "settled_without_placement",
            "参加の記録がないため、終結理由に「活動に定着し支援を終了」は選べません。",
        )
    return [CaseClosed(reason=command.reason, note=command.note, closed_on=command.closed_on)]


PARTICIPATION_CASE = Aggregate[Case](
    stream_type=STREAM_TYPE,
    initial=Case,
    evolve=evolve,
    events=(
        CaseOpened,
        NeedsAssessed,
        PlacementStarted,
        PlacementFollowedUp,
        PlacementEnded,
        HostSupported,
        CaseClosed,
        CaseHandedOver,
    ),
    decide=decide,
    subject_of=lambda case: case.opened.subject_ref if case.opened else None,
    case_key_of=lambda case: case.opened.case_key if case.opened else None,
    register=register_entry,
)
