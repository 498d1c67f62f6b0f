"""An outreach case: a person who has not asked for help, found, approached and connected.

Outreach (アウトリーチ等を通じた継続的支援事業, 社会福祉法第106条の4第2項第4号) often starts before
any consultation, consent or intake case exists, so the case is pseudonymous until contact: who
noticed the person is a category, and anything a worker writes about them is sealed personal data.
It ends once the person is connected to an agency that can support them (seed 002, p.26).

Pure: no I/O, no clock, no random ids.
"""

from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from uuid import UUID, uuid5

from pydantic import Field

from contracts.glossary import (
    AgeBand,
    ConnectionTarget,
    ContactMethod,
    ContactOutcome,
    IdentifiedBy,
    IssueTag,
    Milestone,
    OutreachConclusionReason,
    Urgency,
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
from libs.fields import DistrictCode, Happened, OrganisationCode
from libs.handover import CaseHandedOver, HandOff, hand_over, handed_to, holder_after, worker_after
from libs.text import Note

STREAM_TYPE = "OutreachCase"
CODE = r"^[a-z0-9][a-z0-9_.-]{1,63}$"
_REFERRAL_NAMESPACE = UUID("0b6f3d52-8c1e-4f7a-9a42-5d2e7c9b1f03")
_CONCERN_NAMESPACE = UUID("a7d4c2e9-3b5f-4e81-8c6a-1f9e0d2b7a45")


def case_id_for_referral(referral_id: UUID) -> UUID:
    """One outreach case per referral (coordination's or intake's), however often it is delivered."""
    return uuid5(_REFERRAL_NAMESPACE, str(referral_id))


def case_id_for_concern(concern_id: UUID) -> UUID:
    """One potential client per community concern, however often it is delivered."""
    return uuid5(_CONCERN_NAMESPACE, str(concern_id))


# Outcomes in which the worker actually reached the person (not only their door or family).
REACHED_PERSON = frozenset({ContactOutcome.BRIEF_CONTACT, ContactOutcome.CONVERSATION})

# Which milestone must come before which: trust is built in this order (seed 002, p.26).
PREREQUISITE: dict[Milestone, Milestone | None] = {
    Milestone.FIRST_CONTACT: None,
    Milestone.FIRST_CONVERSATION: Milestone.FIRST_CONTACT,
    Milestone.FIRST_OUTING: Milestone.FIRST_CONVERSATION,
    Milestone.SUPPORT_ACCEPTED: Milestone.FIRST_CONVERSATION,
}


# --- private events -------------------------------------------------------------------


class PotentialClientIdentified(DomainEvent):
    """Someone noticed a person who may need help. `description` and `note` are about the person."""

    personal_fields = ("description", "note")

    outreach_case_id: UUID
    holder_organisation: str
    case_key: UUID
    subject_ref: str
    identified_by: IdentifiedBy
    referral_id: UUID | None = None
    coordination_case_id: UUID | None = None
    concern_id: UUID | None = None
    referring_organisation: str | None = None
    urgency: Urgency = Urgency.ROUTINE
    issue_tags: list[IssueTag]
    age_band: AgeBand
    district: str
    description: str | None = None  # None: not given, or erased
    note: str | None = None
    identified_on: date


class ContactAttempted(DomainEvent):
    personal_fields = ("note",)

    attempt_number: int
    method: ContactMethod
    outcome: ContactOutcome
    note: str | None = None
    attempted_on: date


class MilestoneReached(DomainEvent):
    personal_fields = ("note",)

    milestone: Milestone
    note: str | None = None
    reached_on: date


class ConnectedToSupport(DomainEvent):
    personal_fields = ("note",)

    connected_to: ConnectionTarget
    organisation: str
    note: str | None = None
    connected_on: date


class OutreachConcluded(DomainEvent):
    personal_fields = ("note",)

    reason: OutreachConclusionReason
    note: str | None = None
    concluded_on: date


# --- state ----------------------------------------------------------------------------


class Status(StrEnum):
    NEW = "new"
    IDENTIFIED = "identified"
    IN_CONTACT = "in_contact"
    CONNECTED = "connected"
    CONCLUDED = "concluded"


@dataclass(frozen=True)
class Case:
    status: Status = Status.NEW
    identified: PotentialClientIdentified | None = None
    attempts: tuple[ContactAttempted, ...] = field(default_factory=tuple)
    milestones: tuple[MilestoneReached, ...] = field(default_factory=tuple)
    connection: ConnectedToSupport | None = None
    conclusion: OutreachConcluded | None = None
    handovers: tuple[CaseHandedOver, ...] = ()

    @property
    def holder(self) -> str | None:
        return holder_after(self.identified.holder_organisation, self.handovers) if self.identified else None

    def reached(self, milestone: Milestone) -> MilestoneReached | None:
        return next((m for m in self.milestones if m.milestone is milestone), None)


def evolve(case: Case, event: DomainEvent) -> Case:
    match event:
        case PotentialClientIdentified():
            return replace(case, status=Status.IDENTIFIED, identified=event)
        case ContactAttempted():
            return replace(case, attempts=(*case.attempts, event))
        case MilestoneReached():
            status = Status.IN_CONTACT if case.status is Status.IDENTIFIED else case.status
            return replace(case, status=status, milestones=(*case.milestones, event))
        case ConnectedToSupport():
            return replace(case, status=Status.CONNECTED, connection=event)
        case OutreachConcluded():
            return replace(case, status=Status.CONCLUDED, conclusion=event)
        case CaseHandedOver():
            return replace(case, handovers=(*case.handovers, event))
    raise TypeError(f"unknown event {type(event).__name__}")


# --- commands ----------------------------------------------------------------------------


class IdentifyPotentialClient(Command):
    """A person someone noticed who has not asked for help (潜在的な相談者の把握)."""

    identified_by: IdentifiedBy = Field(description="把握の経路（氏名ではなく区分で記録します）")
    issue_tags: list[IssueTag] = Field(min_length=1, max_length=14)
    age_band: AgeBand = Field(description="年齢層（推定で可）")
    district: DistrictCode = Field(description="地区コード（例: chuo-1）")
    description: Note | None = Field(
        default=None, description="本人についての記述（個人情報: この事業所内のみで保持・暗号化）"
    )
    note: Note | None = Field(default=None, description="把握の経緯のメモ（この事業所内のみで保持・暗号化）")
    identified_on: Happened


class Identify(Command):
    """A worker's record of a potential client, with what the service mints for it."""

    request: IdentifyPotentialClient
    outreach_case_id: UUID
    holder_organisation: str
    case_key: UUID
    subject_ref: str


class OpenFromMessage(Command):
    """Another program passed the person on (a referral, a community concern)."""

    identified: PotentialClientIdentified


class AttemptContact(Command):
    """One attempt to reach the person (訪問・手紙・電話・家族を通じて)."""

    method: ContactMethod
    outcome: ContactOutcome
    note: Note | None = Field(default=None, description="様子のメモ（この事業所内のみで保持・暗号化）")
    attempted_on: Happened


class ReachMilestone(Command):
    """A step in the relationship with the person (関係づくりの節目)."""

    milestone: Milestone
    note: Note | None = None
    reached_on: Happened


class ConnectToSupport(Command):
    """The person was connected to intake, coordination or an agency (つなぎ)."""

    connected_to: ConnectionTarget
    organisation: OrganisationCode = Field(description="つなぎ先の機関コード（例: city-soudan）")
    note: Note | None = None
    connected_on: Happened


class Connect(Command):
    """A connection, with whether the directory says the target runs the program it names."""

    request: ConnectToSupport
    runs_target_program: bool


class Conclude(Command):
    """Outreach ends its involvement (終結)."""

    reason: OutreachConclusionReason
    note: Note | None = None
    concluded_on: Happened


# --- decisions --------------------------------------------------------------------------


def decide(command: Command, case: Case) -> list[DomainEvent]:
    """The events a command leads to on this case, or a DomainError saying why not."""
    match command:
        case Identify():
            return _identify(case, command)
        case OpenFromMessage():
            # A re-delivery finds the case open and changes nothing.
            return [command.identified] if case.status is Status.NEW else []
        case AttemptContact():
            return _attempt_contact(case, command)
        case ReachMilestone():
            _require_open(case, command.reached_on, "節目の日付")
            return [_milestone(case, command.milestone, command.reached_on, command.note)]
        case Connect():
            return _connect(case, command.request, command.runs_target_program)
        case Conclude():
            return _conclude(case, command)
        case HandOff():
            _require_open(case, command.request.handed_over_on, "引継ぎ日")
            return [hand_over(command, worker_after(case.handovers), last_record_on(case))]
    raise TypeError(f"outreach cannot decide {type(command).__name__}")


def _identify(case: Case, command: Identify) -> list[DomainEvent]:
    """A worker records a person someone noticed. The case id is new, so a second one is a conflict."""
    if case.status is not Status.NEW:
        raise DomainError("case_exists", "この対象者はすでに記録されています。")
    request = command.request
    if request.identified_by is IdentifiedBy.COORDINATION_REFERRAL:
        raise InvalidCommand(
            "referral_only",
            "「多機関協働事業からの依頼」は支援依頼の受信時にのみ記録されます。別の把握経路を選んでください。",
        )
    return [
        PotentialClientIdentified(
            outreach_case_id=command.outreach_case_id,
            holder_organisation=command.holder_organisation,
            case_key=command.case_key,
            subject_ref=command.subject_ref,
            identified_by=request.identified_by,
            issue_tags=sorted(set(request.issue_tags)),
            age_band=request.age_band,
            district=request.district,
            description=request.description,
            note=request.note,
            identified_on=request.identified_on,
        )
    ]


def _require_open(case: Case, on: date, what: str) -> PotentialClientIdentified:
    """The case exists, is not concluded, and `on` is not before the person was identified."""
    if case.identified is None:
        raise NotFound("case_not_found", "ケースが見つかりません。")
    if case.status is Status.CONCLUDED:
        raise DomainError("case_concluded", "このケースはすでに終結しています。記録を追加できません。")
    if on < case.identified.identified_on:
        raise DomainError(
            "before_identification",
            f"{what}が把握日（{case.identified.identified_on}）より前になっています。",
        )
    return case.identified


def _milestone(case: Case, milestone: Milestone, on: date, note: str | None) -> MilestoneReached:
    """Check the order of milestones and return the new one."""
    if case.reached(milestone) is not None:
        raise DomainError("milestone_already_reached", "この節目はすでに記録されています。")
    before = PREREQUISITE[milestone]
    if before is not None:
        earlier = case.reached(before)
        if earlier is None:
            raise DomainError(
                "milestone_out_of_order",
                "この節目の前に、先行する節目（例: 初回接触→初回会話）を記録してください。",
            )
        if on < earlier.reached_on:
            raise DomainError(
                "milestone_out_of_order", "節目の日付が、先行する節目の日付より前になっています。"
            )
    return MilestoneReached(milestone=milestone, note=note, reached_on=on)


def _attempt_contact(case: Case, command: AttemptContact) -> list[DomainEvent]:
    """Record one attempt; reaching the person for the first time is also a milestone.

    Attempts may continue after the person is connected (follow-up) until the case concludes.
    """
    method, outcome, attempted_on = command.method, command.outcome, command.attempted_on
    _require_open(case, attempted_on, "働きかけの日付")
    if method is ContactMethod.VIA_FAMILY and outcome in REACHED_PERSON:
        # Through the family the worker reaches the family; meeting the person is a visit.
        raise InvalidCommand(
            "via_family_reaches_family",
            "「家族を通じて」の結果は「家族とのみ接触」「拒否」「不在・応答なし」から選んでください。本人と会えた場合は方法を「訪問」などにしてください。",
        )
    attempted = ContactAttempted(
        attempt_number=len(case.attempts) + 1,
        method=method,
        outcome=outcome,
        note=command.note,
        attempted_on=attempted_on,
    )
    events: list[DomainEvent] = [attempted]
    state = evolve(case, attempted)
    derived = []
    if outcome in REACHED_PERSON:
        derived.append(Milestone.FIRST_CONTACT)
    if outcome is ContactOutcome.CONVERSATION:
        derived.append(Milestone.FIRST_CONVERSATION)
    for milestone in derived:
        before = PREREQUISITE[milestone]
        earlier = state.reached(before) if before else None
        # A back-dated attempt never reorders milestones already recorded; it just adds none.
        if state.reached(milestone) is None and (
            before is None or (earlier and earlier.reached_on <= attempted_on)
        ):
            reached = MilestoneReached(milestone=milestone, note=None, reached_on=attempted_on)
            events.append(reached)
            state = evolve(state, reached)
    return events


def _connect(case: Case, request: ConnectToSupport, runs_target_program: bool) -> list[DomainEvent]:
    """つなぎ: the person reached intake, coordination or an agency.

    `runs_target_program`: for intake and coordination, whether `organisation` runs that program
    in the municipality's directory (intake's consumer opens the case there).
    """
    connected_to, connected_on = request.connected_to, request.connected_on
    _require_open(case, connected_on, "つなぎの日付")
    if case.connection is not None:
        raise DomainError("already_connected", "この対象者はすでに支援機関につながっています。")
    if case.reached(Milestone.FIRST_CONTACT) is None:
        raise DomainError(
            "no_contact_yet",
            "本人との接触がまだ記録されていません。接触できてから、つなぎを記録してください。",
        )
    if connected_to in (ConnectionTarget.INTAKE, ConnectionTarget.COORDINATION) and not runs_target_program:
        raise InvalidCommand(
            "organisation_not_in_program",
            "つなぎ先の機関はその事業（包括的相談支援・多機関協働）を実施していません。",
        )
    return [
        ConnectedToSupport(
            connected_to=connected_to,
            organisation=request.organisation,
            note=request.note,
            connected_on=connected_on,
        )
    ]


def _conclude(case: Case, command: Conclude) -> list[DomainEvent]:
    reason, concluded_on = command.reason, command.concluded_on
    if case.status is Status.CONCLUDED:
        raise DomainError("already_concluded", "このケースはすでに終結しています。")
    _require_open(case, concluded_on, "終結日")
    if reason is OutreachConclusionReason.CONNECTED and case.connection is None:
        raise DomainError(
            "not_connected",
            "つなぎが記録されていません。先につなぎを記録するか、別の終結理由を選んでください。",
        )
    if case.connection is not None and concluded_on < case.connection.connected_on:
        raise DomainError("conclusion_before_connection", "終結日がつなぎの日付より前になっています。")
    return [OutreachConcluded(reason=reason, note=command.note, concluded_on=concluded_on)]


# --- the register ---------------------------------------------------------------------------


def register_entry(case: Case) -> RegisterEntry | None:
    """The case's line in outreach's register (None until identified).

    No search terms: outreach holds no name, birth date or phone, only a worker's description.
    No due date: outreach keeps no schedule of follow-ups.
    """
    identified = case.identified
    if identified is None:
        return None
    return RegisterEntry(
        case_id=identified.outreach_case_id,
        case_key=identified.case_key,
        organisation=holder_after(identified.holder_organisation, case.handovers),
        status=case.status.value,
        district=identified.district,
        issue_tags=tuple(sorted(t.value for t in identified.issue_tags)),
        opened_on=identified.identified_on,
        last_activity_on=last_record_on(case),
        subject_ref=identified.subject_ref,
        handed_to=handed_to(case.handovers),
    )


def last_record_on(case: Case) -> date:
    """The day of the latest thing recorded on an identified case (its register line's last activity)."""
    assert case.identified is not None
    return max(
        [
            case.identified.identified_on,
            *(a.attempted_on for a in case.attempts),
            *(m.reached_on for m in case.milestones),
            *([case.connection.connected_on] if case.connection else []),
            *([case.conclusion.concluded_on] if case.conclusion else []),
            *(h.handed_over_on for h in case.handovers),
        ]
    )


OUTREACH_CASE = Aggregate[Case](
    stream_type=STREAM_TYPE,
    initial=Case,
    evolve=evolve,
    events=(
        PotentialClientIdentified,
        ContactAttempted,
        MilestoneReached,
        ConnectedToSupport,
        OutreachConcluded,
        CaseHandedOver,
    ),
    decide=decide,
    subject_of=lambda case: case.identified.subject_ref if case.identified else None,
    case_key_of=lambda case: case.identified.case_key if case.identified else None,
    register=register_entry,
)
