"""Intake's use cases: authorise, load, decide, append, fill the outbox — and record access.

Every handler takes the service's event store (or, for the inbox consumer, the session of the
message's transaction), so the same code runs on PostgreSQL and on the in-memory store of the
service tests. Whatever a handler creates (a case, a referral, a consent) gets its id here, in
the command, and the handler returns it: nothing reads the state back to find what was created.
"""

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial

from contracts import events as public
from contracts.glossary import Channel, LegalBasis, Program
from libs import access, breakglass, commands
from libs.authz import Decision, enforce
from libs.commands import Context, Loaded, Outcome
from libs.directory import Directory
from libs.domain import Command
from libs.eventstore import EventStore, Session
from libs.handover import HandOff
from libs.http import Caller
from libs.inbox import Delivery
from services.intake.domain import consent, model
from services.intake.service_layer import authorization
from services.intake.service_layer.public_events import consent_to_public, to_public

PERSONAL_FIELDS = [
    "consulter",
    "person",
    "household",
    "summary",
    "assessments.findings",
    "supports.note",
    "agency_referrals.reason",
    "closed.note",
    "handovers.reason",
]


def stream_id(case_id: uuid.UUID) -> str:
    return f"intake-case-{case_id}"


def consent_stream(case_id: uuid.UUID) -> str:
    return f"intake-consent-{case_id}"


def new_subject_ref() -> str:
    """A random pseudonym: unlinkable to the person without intake's own records."""
    return f"subj_{secrets.token_hex(16)}"


def _publish(organisation: str) -> commands.Publish[model.Case]:
    """The case's public events, naming `organisation` as the referring one."""
    return partial(to_public, organisation=organisation)


def _holder_only(caller: Caller, case_id: uuid.UUID, action: str) -> commands.Guard[model.Case]:
    """The holder's intake worker, or 404 revealing nothing."""
    return commands.Guard(
        partial(authorization.may_change, caller.principal), caller.principal, action, f"case:{case_id}"
    )


# --- receiving a consultation -----------------------------------------------------------------


@dataclass(frozen=True)
class Opened:
    """What receiving a consultation created: the case (its id is the case key) and its first version."""

    case_id: uuid.UUID
    version: int


async def receive_consultation(
    store: EventStore, caller: Caller, directory: Directory, request: model.ReceiveConsultation
) -> Opened:
    """Open a case for a consultation, under a new case key and a new pseudonym."""
    enforce(
        authorization.may_receive(caller.principal, directory),
        caller.principal,
        "receive",
        "cases",
        hide=False,
    )
    command = model.Receive(
        request=request,
        case_id=uuid.uuid4(),
        holder_organisation=caller.principal.organisation,
        subject_ref=new_subject_ref(),
        member_refs=[new_subject_ref() for _ in request.household],
    )
    outcome = await commands.run(
        store,
        model.INTAKE_CASE,
        stream_id(command.case_id),
        command,
        _publish(caller.context.organisation),
        caller.context,
        expected_version=0,
    )
    return Opened(command.case_id, outcome.version)


# --- changing a case: the holder's intake worker ----------------------------------------------

CaseChange = (
    model.Refer
    | model.ReferOutreach
    | model.RecordDetails
    | model.RecordAssessment
    | model.GiveSupport
    | model.PassToAgency
    | model.CloseCase
    | HandOff
)

# The action each change is logged as when refused or allowed (the names the logs always had).
ACTIONS: dict[type[Command], str] = {
    model.Refer: "refer",
    model.ReferOutreach: "refer_to_outreach",
    model.RecordDetails: "record_person",
    model.RecordAssessment: "assess",
    model.GiveSupport: "give_support",
    model.PassToAgency: "refer_to_agency",
    model.CloseCase: "close",
    HandOff: "hand_over",
}


async def change(
    store: EventStore,
    caller: Caller,
    case_id: uuid.UUID,
    command: CaseChange,
    expected_version: int | None,
) -> Outcome[model.Case]:
    """One command on the case, by the holder's intake worker (else 404 revealing nothing).

    `expected_version` (If-Match) pins the version the worker decided on; without it a conflict
    with the consumer (a meeting, a return) is decided again on the new state.
    """
    return await commands.run(
        store,
        model.INTAKE_CASE,
        stream_id(case_id),
        command,
        _publish(caller.context.organisation),
        caller.context,
        expected_version=expected_version,
        guard=_holder_only(caller, case_id, ACTIONS[type(command)]),
    )


@dataclass(frozen=True)
class Referred:
    """What a referral to coordination created: its id (coordination answers quoting it)."""

    referral_id: uuid.UUID
    version: int


async def refer_to_coordination(
    store: EventStore,
    caller: Caller,
    case_id: uuid.UUID,
    request: model.ReferToCoordination,
    expected_version: int | None,
) -> Referred:
    command = model.Refer(request=request, referral_id=uuid.uuid4())
    outcome = await change(store, caller, case_id, command, expected_version)
    return Referred(command.referral_id, outcome.version)


async def refer_to_outreach(
    store: EventStore,
    caller: Caller,
    case_id: uuid.UUID,
    request: model.ReferMemberToOutreach,
    expected_version: int | None,
) -> Referred:
    """A member to outreach, under a new referral id (outreach's case quotes it)."""
    command = model.ReferOutreach(request=request, referral_id=uuid.uuid4())
    outcome = await change(store, caller, case_id, command, expected_version)
    return Referred(command.referral_id, outcome.version)


async def record_person(
    store: EventStore,
    caller: Caller,
    case_id: uuid.UUID,
    request: model.RecordPerson,
    expected_version: int | None,
) -> Outcome[model.Case]:
    """The person's and household's details; each member not yet known gets a pseudonym of their own."""
    minted = [new_subject_ref() for m in request.household if m.subject_ref is None]
    return await change(
        store, caller, case_id, model.RecordDetails(request=request, member_refs=minted), expected_version
    )


@dataclass(frozen=True)
class PassedOn:
    """What a referral to an agency created: its id."""

    agency_referral_id: uuid.UUID
    version: int


async def refer_to_agency(
    store: EventStore,
    caller: Caller,
    case_id: uuid.UUID,
    request: model.ReferToAgency,
    expected_version: int | None,
) -> PassedOn:
    command = model.PassToAgency(request=request, agency_referral_id=uuid.uuid4())
    outcome = await change(store, caller, case_id, command, expected_version)
    return PassedOn(command.agency_referral_id, outcome.version)


# --- consent: its own stream, authorised and dated by the case ------------------------------

ConsentCommand = consent.Grant | consent.Narrow | consent.Withdraw


async def _on_consents(
    store: EventStore,
    caller: Caller,
    case_id: uuid.UUID,
    action: str,
    command_for: Callable[[model.Case], ConsentCommand],
) -> Outcome[consent.Consents]:
    """One consent command, by the holder's intake worker (else 404 revealing nothing).

    The case, read in the same transaction, authorises the command, names the person and may
    supply facts the command needs (`command_for`), so a consent is never decided on a case
    older than the one that allowed it.
    """

    async def body(session: Session) -> Outcome[consent.Consents]:
        case = (await session.load(model.INTAKE_CASE, stream_id(case_id))).state
        _holder_only(caller, case_id, action).check(case)
        assert case.subject_ref is not None
        return await commands.execute(
            session,
            consent.CONSENTS,
            consent_stream(case_id),
            command_for(case),
            partial(consent_to_public, case_key=case_id, subject_ref=case.subject_ref),
            caller.context,
            # The consent stream is named after the case; its state does not know the case key.
            case_key=case_id,
        )

    return await commands.transact(store, body)


@dataclass(frozen=True)
class Granted:
    """What recording a consent created: its id."""

    consent_id: uuid.UUID
    version: int


async def grant_consent(
    store: EventStore, caller: Caller, case_id: uuid.UUID, request: consent.GrantConsent
) -> Granted:
    """Record a consent under a new id; it may not predate the case, so the case's receipt day goes with it."""
    consent_id = uuid.uuid4()

    def grant(case: model.Case) -> consent.Grant:
        assert case.received_on is not None  # the holder check passed: the case exists
        return consent.Grant(request=request, consent_id=consent_id, received_on=case.received_on)

    outcome = await _on_consents(store, caller, case_id, "grant_consent", grant)
    return Granted(consent_id, outcome.version)


# The action a consent change is logged as (the names the logs always had).
CONSENT_ACTIONS: dict[type[Command], str] = {
    consent.Narrow: "narrow_consent",
    consent.Withdraw: "withdraw_consent",
}


async def change_consent(
    store: EventStore, caller: Caller, case_id: uuid.UUID, command: consent.Narrow | consent.Withdraw
) -> Outcome[consent.Consents]:
    """Narrow or withdraw a consent of the case (the consent named in the command)."""
    return await _on_consents(store, caller, case_id, CONSENT_ACTIONS[type(command)], lambda _: command)


async def read_consents(store: EventStore, caller: Caller, case_id: uuid.UUID) -> consent.Consents:
    """The consents of a case, for the holder's intake worker (they hold no personal details)."""
    async with store.reading() as session:
        _holder_only(caller, case_id, "read_consents").check(
            (await session.load(model.INTAKE_CASE, stream_id(case_id))).state
        )
        return (await session.load(consent.CONSENTS, consent_stream(case_id))).state


# --- reading a case -------------------------------------------------------------------------------


@dataclass
class _SeeDetails:
    """`may_see_details` as the access policy of a case read.

    It reads the case's consents in the read's own session (so the decision and what is shown
    are of one moment) and keeps them and its decision: the view shows both.
    """

    caller: Caller
    directory: Directory
    today: date
    case_id: uuid.UUID
    consents: consent.Consents = field(default_factory=consent.Consents)
    decision: Decision | None = None

    async def __call__(self, session: Session, case: model.Case) -> Decision:
        self.consents = (await session.load(consent.CONSENTS, consent_stream(self.case_id))).state
        emergency = await live_grant(session, self.caller, self.case_id)
        self.decision = authorization.may_see_details(
            self.caller.principal, case, self.consents, self.directory, self.today, emergency
        )
        return self.decision


async def live_grant(
    session: Session, caller: Caller, case_id: uuid.UUID
) -> breakglass.EmergencyAccessGranted | None:
    """The caller's break-glass grant on the case, if one is live now (intake's case id is its key)."""
    emergencies = (await session.load(breakglass.EMERGENCIES, breakglass.stream_id(case_id))).state
    return emergencies.live_grant(caller.principal.user, caller.principal.organisation, datetime.now(UTC))


@dataclass(frozen=True)
class CaseRead:
    """A case as read with a legal basis: its state and version, its consents, and the basis."""

    loaded: Loaded[model.Case]
    consents: consent.Consents
    basis: LegalBasis


async def read_case(
    store: EventStore, caller: Caller, directory: Directory, case_id: uuid.UUID, today: date
) -> CaseRead:
    """A case with the person's details, if the caller has a legal basis (judged on `today`, the
    business day); the read is recorded before anything is returned."""
    policy = _SeeDetails(caller, directory, today, case_id)
    loaded = await access.read(
        store,
        caller,
        model.INTAKE_CASE,
        stream_id(case_id),
        policy,
        resource=f"case:{case_id}",
        fields=PERSONAL_FIELDS,
    )
    assert policy.decision is not None and policy.decision.basis is not None  # access.read allowed it
    return CaseRead(loaded, policy.consents, policy.decision.basis)


# --- erasure: the municipality's decision -------------------------------------------------------


async def erase_person(
    store: EventStore, caller: Caller, case_id: uuid.UUID, request: model.ErasePerson
) -> Outcome[model.Case]:
    """Destroy the key of the person or of one household member (crypto-shredding) and record it;
    other services follow the public event."""
    enforce(
        authorization.may_erase(caller.principal), caller.principal, "erase", f"case:{case_id}", hide=False
    )
    command = model.Erase(request=request, requested_by=caller.principal.user)

    async def erase(session: Session) -> Outcome[model.Case]:
        outcome = await commands.execute(
            session,
            model.INTAKE_CASE,
            stream_id(case_id),
            command,
            _publish(caller.context.organisation),
            caller.context,
        )
        subject = request.member or outcome.state.subject_ref
        assert subject is not None
        await session.erase_subject(subject)
        return outcome

    # The consumer may append to the case at the same moment (a meeting, a return): re-decide
    # on a conflict, as commands.run does, rather than fail the administrator's request.
    return await commands.transact(store, erase)


# --- reactions to coordination's public events (run by the inbox consumer) -------------


async def _react(
    session: Session,
    delivery: Delivery,
    organisation: str,
    case_id: uuid.UUID,
    command: Command,
) -> None:
    """One decision on the intake case `case_id`, caused by another program's event."""
    await commands.execute(
        session,
        model.INTAKE_CASE,
        stream_id(case_id),
        command,
        _publish(organisation),
        Context.reacting_to(delivery.envelope, organisation, "intake.consumer"),
    )


async def on_referral_accepted(session: Session, delivery: Delivery, *, organisation: str) -> None:
    event = delivery.event
    assert isinstance(event, public.ReferralAccepted)
    accepted = model.ReferralAccepted(
        referral_id=event.referral_id,
        coordination_case_id=event.coordination_case_id,
        accepted_on=event.accepted_on,
    )
    await _react(session, delivery, organisation, event.case_key, model.AcceptReferral(accepted=accepted))


async def on_returned_to_origin(session: Session, delivery: Delivery, *, organisation: str) -> None:
    event = delivery.event
    assert isinstance(event, public.ReturnedToOrigin)
    returned = model.ReturnedToOrigin(
        referral_id=event.referral_id,
        reason=event.reason,
        returned_by=delivery.envelope.organisation,
        returned_on=event.returned_on,
    )
    await _react(session, delivery, organisation, event.case_key, model.TakeBack(returned=returned))


async def on_plan_agreed(session: Session, delivery: Delivery, *, organisation: str) -> None:
    """Remember the meeting's members: membership of a 支援会議 is a legal basis to see details."""
    event = delivery.event
    assert isinstance(event, public.PlanAgreed)
    meeting = model.SupportMeetingRecorded(
        coordination_case_id=event.coordination_case_id,
        plan_version=event.plan_version,
        meeting_type=event.meeting_type,
        members=event.meeting_members,
        held_on=event.agreed_on,
    )
    await _react(session, delivery, organisation, event.case_key, model.RecordMeeting(meeting=meeting))


async def on_support_concluded(session: Session, delivery: Delivery, *, organisation: str) -> None:
    """Keep coordination's evaluation with the referral: part of what comes back (つなぎもどし)."""
    event = delivery.event
    assert isinstance(event, public.SupportConcluded)
    concluded = model.CoordinationConcluded(
        coordination_case_id=event.coordination_case_id,
        outcome=event.outcome,
        goals_met=event.goals_met,
        goals_total=event.goals_total,
        concluded_on=event.concluded_on,
    )
    await _react(session, delivery, organisation, event.case_key, model.NoteConclusion(concluded=concluded))


# --- people passed on by other programs: outreach's つなぎ, a community place's 気づき -----


def holder_for(
    connected_to_organisation: str | None, district: str, directory: Directory, organisation: str
) -> str:
    """The organisation the person was connected to, if it runs intake; else the intake organisation
    that serves the person's district."""
    if connected_to_organisation and Program.INTAKE in directory.programs_of(connected_to_organisation):
        return connected_to_organisation
    return directory.serving(Program.INTAKE, district, organisation)


async def on_connected_to_support(
    session: Session, delivery: Delivery, *, organisation: str, directory: Directory
) -> None:
    """Outreach connected a person to intake: open their case (details pending) or link it."""
    event = delivery.event
    assert isinstance(event, public.ConnectedToSupport)
    if event.connected_to != "intake":
        return
    opened = model.CaseOpenedFromConnection(
        case_id=event.case_key,
        holder_organisation=holder_for(event.organisation, event.district, directory, organisation),
        subject_ref=event.subject_ref,
        channel=Channel.OUTREACH,
        issue_tags=sorted(set(event.issue_tags)),
        age_band=event.age_band,
        district=event.district,
        received_on=event.connected_on,
        source="outreach",
        source_ref=event.outreach_case_id,
        source_organisation=delivery.envelope.organisation,
    )
    await _react(session, delivery, organisation, opened.case_id, model.OpenFromConnection(opened=opened))


async def on_concern_raised(
    session: Session, delivery: Delivery, *, organisation: str, directory: Directory
) -> None:
    """A community place noticed someone in trouble and passed it to intake: open their case, held
    by the intake organisation that serves the district (a 地域包括支援センター of the area).

    The concern carries no pseudonym of the person (a place knows them by sight), so intake
    draws one, as for any new consultation (kept only if this delivery opens the case).
    """
    event = delivery.event
    assert isinstance(event, public.ConcernRaised)
    if event.raised_to != "intake":
        return
    opened = model.CaseOpenedFromConnection(
        case_id=event.case_key,
        holder_organisation=directory.serving(Program.INTAKE, event.district, organisation),
        subject_ref=new_subject_ref(),
        channel=Channel.COMMUNITY_PLACE,
        issue_tags=sorted(set(event.issue_tags)),
        age_band=event.age_band,
        district=event.district,
        received_on=event.raised_on,
        source="community",
        source_ref=event.concern_id,
        source_organisation=delivery.envelope.organisation,
        place_id=event.place_id,
    )
    await _react(session, delivery, organisation, opened.case_id, model.OpenFromConnection(opened=opened))
