"""Outreach's use cases: authorise, load, decide, append, fill the outbox — and record access.

Four ways a case opens: a worker records someone noticed (民生委員, neighbour, meeting, agency);
coordination refers a case (ReferredToOutreach); intake asks outreach to reach a household member
(OutreachRequested); a community place raises a concern addressed to outreach (ConcernRaised).
The last three arrive over Kafka and derive the case id from the message's
own id, so a re-delivery finds the case already open.
"""

import secrets
import uuid
from dataclasses import dataclass
from functools import partial

from contracts import events as public
from contracts.glossary import ConnectionTarget, IdentifiedBy, Program
from libs import access, commands
from libs.authz import enforce
from libs.commands import Context, Loaded, Outcome
from libs.directory import Directory
from libs.domain import Command
from libs.eventstore import EventStore, Session
from libs.handover import HandOff
from libs.http import Caller
from libs.inbox import Delivery
from services.outreach.domain import model
from services.outreach.service_layer import authorization
from services.outreach.service_layer.public_events import to_public

PERSONAL_FIELDS = [
    "description",
    "note",
    "attempts.note",
    "milestones.note",
    "connection.note",
    "conclusion.note",
]


def stream_id(outreach_case_id: uuid.UUID) -> str:
    return f"outreach-case-{outreach_case_id}"


def new_subject_ref() -> str:
    """A random pseudonym for a person outreach found itself: meaningless without outreach's records."""
    return f"subj_{secrets.token_hex(16)}"


# --- reactions to other programs' public events (run by the inbox consumer) -----------------


async def on_referred(
    session: Session, delivery: Delivery, *, organisation: str, directory: Directory
) -> None:
    """Coordination asked outreach to reach the person: open (or find) the case of this referral."""
    referral = delivery.event
    assert isinstance(referral, public.ReferredToOutreach)
    case_id = model.case_id_for_referral(referral.referral_id)
    identified = model.PotentialClientIdentified(
        outreach_case_id=case_id,
        holder_organisation=directory.serving(Program.OUTREACH, referral.district, organisation),
        case_key=referral.case_key,
        subject_ref=referral.subject_ref,
        identified_by=IdentifiedBy.COORDINATION_REFERRAL,
        referral_id=referral.referral_id,
        coordination_case_id=referral.coordination_case_id,
        referring_organisation=delivery.envelope.organisation,
        urgency=referral.urgency,
        issue_tags=referral.issue_tags,
        age_band=referral.age_band,
        district=referral.district,
        identified_on=referral.referred_on,
    )
    await _open_from_message(session, delivery, identified, organisation)


async def on_requested(
    session: Session, delivery: Delivery, *, organisation: str, directory: Directory
) -> None:
    """Intake asked outreach to reach one member of a household: open (or find) that member's case,
    under the member's own pseudonym, keyed by intake's case."""
    request = delivery.event
    assert isinstance(request, public.OutreachRequested)
    identified = model.PotentialClientIdentified(
        outreach_case_id=model.case_id_for_referral(request.referral_id),
        holder_organisation=directory.serving(Program.OUTREACH, request.district, organisation),
        case_key=request.case_key,
        subject_ref=request.subject_ref,
        identified_by=IdentifiedBy.INTAKE_REFERRAL,
        referral_id=request.referral_id,
        referring_organisation=request.referring_organisation,
        urgency=request.urgency,
        issue_tags=request.issue_tags,
        age_band=request.age_band,
        district=request.district,
        identified_on=request.referred_on,
    )
    await _open_from_message(session, delivery, identified, organisation)


async def on_concern_raised(
    session: Session, delivery: Delivery, *, organisation: str, directory: Directory
) -> None:
    """A community place passed a person on to outreach: a potential client, keyed by the concern."""
    concern = delivery.event
    assert isinstance(concern, public.ConcernRaised)
    if concern.raised_to != "outreach":
        return  # raised to intake: intake's business
    identified = model.PotentialClientIdentified(
        outreach_case_id=model.case_id_for_concern(concern.concern_id),
        holder_organisation=directory.serving(Program.OUTREACH, concern.district, organisation),
        case_key=concern.case_key,
        subject_ref=new_subject_ref(),  # kept only if this delivery opens the case
        identified_by=IdentifiedBy.COMMUNITY_PLACE,
        concern_id=concern.concern_id,
        referring_organisation=delivery.envelope.organisation,
        issue_tags=concern.issue_tags,
        age_band=concern.age_band,
        district=concern.district,
        identified_on=concern.raised_on,
    )
    await _open_from_message(session, delivery, identified, organisation)


async def _open_from_message(
    session: Session, delivery: Delivery, identified: model.PotentialClientIdentified, organisation: str
) -> None:
    await commands.execute(
        session,
        model.OUTREACH_CASE,
        stream_id(identified.outreach_case_id),
        model.OpenFromMessage(identified=identified),
        to_public,
        Context.reacting_to(delivery.envelope, organisation, "outreach.consumer"),
    )


# --- commands from workers ------------------------------------------------------------------


@dataclass(frozen=True)
class Opened:
    """What recording a potential client created: the case, its case key, its first version."""

    outreach_case_id: uuid.UUID
    case_key: uuid.UUID
    version: int


async def identify(
    store: EventStore, caller: Caller, directory: Directory, request: model.IdentifyPotentialClient
) -> Opened:
    """Record a person someone noticed, under a new case key and a new pseudonym."""
    enforce(
        authorization.may_identify(caller.principal, directory),
        caller.principal,
        "identify",
        "cases",
        hide=False,
    )
    command = model.Identify(
        request=request,
        outreach_case_id=uuid.uuid4(),
        holder_organisation=caller.principal.organisation,
        case_key=uuid.uuid4(),
        subject_ref=new_subject_ref(),
    )
    outcome = await commands.run(
        store,
        model.OUTREACH_CASE,
        stream_id(command.outreach_case_id),
        command,
        to_public,
        caller.context,
        expected_version=0,
    )
    return Opened(command.outreach_case_id, command.case_key, outcome.version)


def connection(directory: Directory, request: model.ConnectToSupport) -> model.Connect:
    """A connection with the directory's word on whether its target runs the program it names."""
    program = {ConnectionTarget.INTAKE: Program.INTAKE, ConnectionTarget.COORDINATION: Program.COORDINATION}
    runs = request.connected_to not in program or program[request.connected_to] in directory.programs_of(
        request.organisation
    )
    return model.Connect(request=request, runs_target_program=runs)


# The action each command is logged as when refused or allowed.
ACTIONS: dict[type[Command], str] = {
    model.AttemptContact: "attempt_contact",
    model.ReachMilestone: "reach_milestone",
    model.Connect: "connect",
    model.Conclude: "conclude",
    HandOff: "hand_over",
}


async def change(
    store: EventStore,
    caller: Caller,
    case_id: uuid.UUID,
    command: model.AttemptContact | model.ReachMilestone | model.Connect | model.Conclude | HandOff,
    expected_version: int | None,
) -> Outcome[model.Case]:
    """One command on the case, by whoever may act on it (else 404 revealing nothing)."""
    return await commands.run(
        store,
        model.OUTREACH_CASE,
        stream_id(case_id),
        command,
        to_public,
        caller.context,
        expected_version=expected_version,
        guard=commands.Guard(
            partial(authorization.may_act, caller.principal),
            caller.principal,
            ACTIONS[type(command)],
            f"case:{case_id}",
        ),
    )


async def read_case(store: EventStore, caller: Caller, case_id: uuid.UUID) -> Loaded[model.Case]:
    """A case with the worker's description and notes, if the caller may see them; the read is recorded."""
    return await access.read(
        store,
        caller,
        model.OUTREACH_CASE,
        stream_id(case_id),
        lambda _, case: authorization.may_read(caller.principal, case),
        resource=f"case:{case_id}",
        fields=PERSONAL_FIELDS,
    )
