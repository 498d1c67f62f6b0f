"""Coordination's use cases: open from a referral (or decline it), assess, draft a plan and record
each agency's answer to its proposed role, agree it at a meeting (and revise it the same way),
record meetings and monitoring, refer to outreach and participation, conclude, return.

Every handler takes the service's event store (or, for the inbox consumer, the session of the
message's transaction), so the same code runs on PostgreSQL and on the in-memory store of the
service tests. Whatever a handler creates (a referral, a meeting) gets its id here, in the command,
and the handler returns it: nothing reads the state back to find what was created.
"""

import uuid
from dataclasses import dataclass
from datetime import date
from functools import partial

from contracts import events as public
from contracts.envelope import PublicEvent
from contracts.glossary import Program
from libs import access, commands
from libs.authz import Decision, enforce
from libs.commands import Context, Loaded, Outcome, no_public
from libs.directory import Directory
from libs.domain import Command, InvalidCommand, NotFound
from libs.eventstore import EventStore, Session
from libs.handover import HandOff
from libs.http import Caller
from libs.inbox import Delivery
from services.coordination.domain import consent, meeting, model
from services.coordination.service_layer import authorization
from services.coordination.service_layer.public_events import meeting_to_public, to_public

PERSONAL_FIELDS = [
    "assessments.members",
    "draft.goals",
    "draft.wishes",
    "draft.emergency",
    "draft.roles.note",
    "draft.answers.note",
    "plans.goals",
    "plans.wishes",
    "plans.emergency",
    "plans.roles.note",
    "monitoring.note",
    "outreach_referrals.reason",
    "participation_referrals.reason",
    "concluded.evaluation",
    "returned.note",
]


def stream_id(coordination_case_id: uuid.UUID) -> str:
    return f"coordination-case-{coordination_case_id}"


def consent_stream(case_key: uuid.UUID) -> str:
    return f"coordination-consent-{case_key}"


def meeting_stream(meeting_id: uuid.UUID) -> str:
    return f"coordination-meeting-{meeting_id}"


def _holder_only(caller: Caller, case_id: uuid.UUID, action: str) -> commands.Guard[model.Case]:
    """The holder's coordinator, or 404 revealing nothing."""
    return commands.Guard(
        partial(authorization.may_act, caller.principal), caller.principal, action, f"case:{case_id}"
    )


async def _consents(session: Session, case: model.Case) -> consent.ConsentState:
    """What coordination knows of the person's consent, kept under the case key (none: no case)."""
    if case.opened is None:
        return consent.ConsentState()
    return (await session.load(consent.CONSENT_STATE, consent_stream(case.opened.case_key))).state


# --- reactions to other programs' public events (run by the inbox consumer) -----------------


async def _react(
    session: Session, delivery: Delivery, organisation: str, stream: str, command: Command
) -> None:
    """One decision on the coordination case `stream`, caused by another program's event."""
    await commands.execute(
        session,
        model.COORDINATION_CASE,
        stream,
        command,
        to_public,
        Context.reacting_to(delivery.envelope, organisation, "coordination.consumer"),
    )


async def on_referred(
    session: Session, delivery: Delivery, *, organisation: str, directory: Directory
) -> None:
    """支援依頼を受ける: open (or find) the coordination case of this referral, held by the
    coordination organisation that serves the household's district."""
    referral = delivery.event
    assert isinstance(referral, public.ReferredToCoordination)
    case_id = model.case_id_for(referral.referral_id)
    opened = model.CaseOpened(
        coordination_case_id=case_id,
        holder_organisation=directory.serving(Program.COORDINATION, referral.district, organisation),
        case_key=referral.case_key,
        referral_id=referral.referral_id,
        referring_organisation=referral.referring_organisation,
        subject_ref=referral.subject_ref,
        issue_tags=referral.issue_tags,
        age_band=referral.age_band,
        district=referral.district,
        urgency=referral.urgency,
        opened_on=referral.referred_on,
        members=[model.Member(**m.model_dump()) for m in referral.members],
    )
    await _react(session, delivery, organisation, stream_id(case_id), model.OpenCase(opened=opened))


async def on_consent_changed(session: Session, delivery: Delivery, *, organisation: str) -> None:
    """Keep the person's consent as intake last published it."""
    event = delivery.event
    assert isinstance(event, public.ConsentChanged)
    noted = consent.ConsentNoted(
        consent_id=event.consent_id,
        status=event.status,
        programs=event.programs,
        expires_on=event.expires_on,
        changed_on=event.changed_on,
    )
    await commands.execute(
        session,
        consent.CONSENT_STATE,
        consent_stream(event.case_key),
        consent.NoteConsent(noted=noted),
        no_public,
        Context.reacting_to(delivery.envelope, organisation, "coordination.consumer"),
        # The stream is named after the case key; its state does not know the key.
        case_key=event.case_key,
    )


async def _latest_case(session: Session, case_key: uuid.UUID) -> str | None:
    """The stream of the latest coordination case opened for `case_key`, if any.

    A key referred twice has two cases; the latest is the one a partner's news can matter to.
    """
    streams = await session.stream_ids(stream_type=model.STREAM_TYPE, case_key=case_key)
    return streams[-1] if streams else None


async def on_connected_to_support(session: Session, delivery: Delivery, *, organisation: str) -> None:
    """Outreach connected a person to coordination: note it on the case of that case key.

    Coordination cases open only from intake's referrals, so a key with no case here is
    nothing coordination can act on yet: ignored (outreach's own record keeps the connection).
    """
    event = delivery.event
    assert isinstance(event, public.ConnectedToSupport)
    if event.connected_to != "coordination":
        return
    stream = await _latest_case(session, event.case_key)
    if stream is None:
        return
    noted = model.ConnectionNoted(
        outreach_case_id=event.outreach_case_id,
        organisation=event.organisation,
        connected_on=event.connected_on,
    )
    await _react(session, delivery, organisation, stream, model.NoteConnection(noted=noted))


def _partner_report(event: PublicEvent) -> tuple[Program, str | None, uuid.UUID, date]:
    """What a partner's public event tells coordination: program, detail code, partner case, date."""
    match event:
        case public.ParticipationAccepted():
            return Program.PARTICIPATION, None, event.participation_case_id, event.accepted_on
        case public.PlacementStarted():
            return Program.PARTICIPATION, event.menu_kind.value, event.participation_case_id, event.started_on
        case public.PlacementEnded():
            return Program.PARTICIPATION, event.outcome.value, event.participation_case_id, event.ended_on
        case public.ParticipationClosed():
            return Program.PARTICIPATION, event.reason.value, event.participation_case_id, event.closed_on
        case public.OutreachConcluded():
            return Program.OUTREACH, event.reason.value, event.outreach_case_id, event.concluded_on
        case public.ConnectedToSupport():
            return Program.OUTREACH, event.connected_to.value, event.outreach_case_id, event.connected_on
    raise TypeError(f"not a partner report: {event.event_type}")


async def on_partner_report(session: Session, delivery: Delivery, *, organisation: str) -> None:
    """Outreach and participation report back (seed 002): note it on the case that referred them.

    Keys with no coordination case are people the partner found or took on itself: nothing to
    note here (the partner's own record and the projections keep them).
    """
    event = delivery.event
    if isinstance(event, public.ConnectedToSupport) and event.connected_to == "coordination":
        await on_connected_to_support(session, delivery, organisation=organisation)
        return
    stream = await _latest_case(session, event.case_key)
    if stream is None:
        return
    program, detail, partner_case, on = _partner_report(event)
    reported = model.PartnerReported(
        program=program, report=event.event_type, detail=detail, partner_case_id=partner_case, reported_on=on
    )
    await _react(session, delivery, organisation, stream, model.NotePartnerReport(reported=reported))


# --- changing a case: the holder's coordinator ----------------------------------------------

CaseChange = (
    model.DeclineReferral
    | model.RecordAssessment
    | model.DraftPlan
    | model.AgreePlan
    | model.RecordMonitoring
    | model.SendToOutreach
    | model.SendToParticipation
    | model.ConcludeSupport
    | model.ReturnToOrigin
    | HandOff
)

# The action each change is logged as when refused or allowed (the names the logs always had).
ACTIONS: dict[type[Command], str] = {
    model.DeclineReferral: "decline",
    model.RecordAssessment: "assess",
    model.DraftPlan: "draft_plan",
    model.AgreePlan: "agree_plan",
    model.RecordMonitoring: "monitor",
    model.SendToOutreach: "refer_to_outreach",
    model.SendToParticipation: "refer_to_participation",
    model.ConcludeSupport: "conclude",
    model.ReturnToOrigin: "return",
    HandOff: "hand_over",
}


async def change(
    store: EventStore,
    caller: Caller,
    case_id: uuid.UUID,
    command: CaseChange,
    expected_version: int | None,
) -> Outcome[model.Case]:
    """One command on the case, by the holder's coordinator (else 404 revealing nothing).

    The caller is judged on the case as loaded, before anything else is read, so a refused caller
    learns nothing about the meetings it names either. What the decision rests on beyond the case
    (the meeting a plan, conclusion or return cites; the person's consent) is read in the same
    transaction, so it is never older than the case it is decided with. `expected_version`
    (If-Match) pins the version the coordinator decided on; without it a conflict with the
    consumer (a partner's report) is decided again on the new state.
    """

    async def body(session: Session) -> Outcome[model.Case]:
        loaded = await session.load(model.COORDINATION_CASE, stream_id(case_id))
        _holder_only(caller, case_id, ACTIONS[type(command)]).check(loaded.state)
        return await commands.execute(
            session,
            model.COORDINATION_CASE,
            stream_id(case_id),
            await _as_decided(session, caller, case_id, loaded.state, command),
            to_public,
            caller.context,
            expected_version=expected_version,
            loaded=loaded,
        )

    return await commands.transact(store, body, retry=expected_version is None)


async def _as_decided(
    session: Session, caller: Caller, case_id: uuid.UUID, case: model.Case, command: CaseChange
) -> Command:
    """The command the domain decides: a plan completed with its meeting's terms and the consent,
    a cited meeting checked to be the caller's and about this case."""
    match command:
        case model.AgreePlan():
            return await _plan_at_meeting(session, caller, case_id, case, command)
        case model.ConcludeSupport() | model.ReturnToOrigin() if command.meeting_id is not None:
            await _meeting_of(session, caller, command.meeting_id, case_id)
    return command


async def _meeting_of(
    session: Session, caller: Caller, meeting_id: uuid.UUID, case_id: uuid.UUID
) -> meeting.MeetingHeld:
    """The meeting a case decision cites: held by the caller's organisation and about this case."""
    state = (await session.load(meeting.MEETING, meeting_stream(meeting_id))).state
    if state.held is None or state.held.holder_organisation != caller.principal.organisation:
        raise NotFound("meeting_not_found", "会議の記録が見つかりません。")
    return meeting.terms_for(state, case_id)


async def _plan_at_meeting(
    session: Session, caller: Caller, case_id: uuid.UUID, case: model.Case, request: model.AgreePlan
) -> model.PlanAtMeeting:
    """A plan with its meeting's terms: from the meeting's record (what the request gives must
    match it) or as the request describes the meeting; and the consent on the day it was agreed."""
    kind, attending, on = request.meeting_type, request.members, request.agreed_on
    if request.meeting_id is not None:
        held = await _meeting_of(session, caller, request.meeting_id, case_id)
        attended = sorted({a.organisation for a in held.attendees})
        if (
            (kind is not None and kind is not held.meeting_type)
            or (attending is not None and sorted(set(attending)) != attended)
            or (on is not None and on != held.held_on)
        ):
            raise InvalidCommand(
                "plan_meeting_mismatch",
                "会議の種類・出席機関・日付は会議の記録と一致させるか、省略してください。",
            )
        kind, attending, on = held.meeting_type, attended, held.held_on
    if kind is None or attending is None or on is None:
        raise InvalidCommand(
            "plan_without_meeting",
            "会議の記録（meeting_id）か、会議の種類・出席機関・決定日を指定してください。",
        )
    consents = await _consents(session, case)
    return model.PlanAtMeeting(
        request=request,
        meeting_type=kind,
        members=attending,
        agreed_on=on,
        consented=consents.covers(Program.COORDINATION, on),
    )


@dataclass(frozen=True)
class Drafted:
    """What drafting a plan created: the plan version it is a draft of, its draft number (a
    redraft replaces the draft before it) and the case's version."""

    plan_version: int
    draft: int
    version: int


async def draft_plan(
    store: EventStore,
    caller: Caller,
    case_id: uuid.UUID,
    request: model.DraftPlan,
    expected_version: int | None,
) -> Drafted:
    """支援プラン（案）, put to the agencies whose roles it proposes."""
    outcome = await change(store, caller, case_id, request, expected_version)
    [drafted] = outcome.events
    assert isinstance(drafted, model.PlanDrafted)
    return Drafted(drafted.plan_version, drafted.draft, outcome.version)


@dataclass(frozen=True)
class Planned:
    """What agreeing a plan created: its plan version (the case's next one) and the case's version."""

    plan_version: int
    version: int


async def agree_plan(
    store: EventStore,
    caller: Caller,
    case_id: uuid.UUID,
    request: model.AgreePlan,
    expected_version: int | None,
) -> Planned:
    """The current draft agreed at a meeting: named by its record (`meeting_id`), or described inline."""
    outcome = await change(store, caller, case_id, request, expected_version)
    [agreed] = outcome.events
    assert isinstance(agreed, model.PlanAgreed)
    return Planned(agreed.plan_version, outcome.version)


@dataclass(frozen=True)
class Referred:
    """What a referral to outreach or participation created: its id (the partner answers quoting it)."""

    referral_id: uuid.UUID
    version: int


async def refer_to_outreach(
    store: EventStore,
    caller: Caller,
    case_id: uuid.UUID,
    request: model.ReferToOutreach,
    expected_version: int | None,
) -> Referred:
    command = model.SendToOutreach(request=request, referral_id=uuid.uuid4())
    outcome = await change(store, caller, case_id, command, expected_version)
    return Referred(command.referral_id, outcome.version)


async def refer_to_participation(
    store: EventStore,
    caller: Caller,
    case_id: uuid.UUID,
    request: model.ReferToParticipation,
    expected_version: int | None,
) -> Referred:
    command = model.SendToParticipation(request=request, referral_id=uuid.uuid4())
    outcome = await change(store, caller, case_id, command, expected_version)
    return Referred(command.referral_id, outcome.version)


# --- an answer to a proposed role: the holder's coordinator or the agency named in the role ----


async def answer_role(
    store: EventStore,
    caller: Caller,
    case_id: uuid.UUID,
    plan_version: int,
    role_index: int,
    request: model.AcceptRole | model.DeclineRole,
    expected_version: int | None,
) -> Outcome[model.Case]:
    """Record an agency's acceptance or refusal of the role the draft proposes to it: by the
    holder's coordinator (for an agency that does not use the system) or by the agency itself.
    The event names the organisation that recorded it."""
    command: model.RecordAcceptance | model.RecordDeclination
    if isinstance(request, model.AcceptRole):
        command = model.RecordAcceptance(
            request=request,
            plan_version=plan_version,
            role_index=role_index,
            recorded_by=caller.principal.organisation,
        )
    else:
        command = model.RecordDeclination(
            request=request,
            plan_version=plan_version,
            role_index=role_index,
            recorded_by=caller.principal.organisation,
        )

    def may_answer(case: model.Case) -> Decision:
        draft = case.draft
        roles = draft.drafted.roles if draft and draft.drafted.plan_version == plan_version else None
        role = roles[role_index] if roles and 0 <= role_index < len(roles) else None
        return authorization.may_answer_role(caller.principal, case, role)

    action = "accept_role" if isinstance(request, model.AcceptRole) else "decline_role"
    return await commands.run(
        store,
        model.COORDINATION_CASE,
        stream_id(case_id),
        command,
        to_public,
        caller.context,
        expected_version=expected_version,
        guard=commands.Guard(may_answer, caller.principal, action, f"case:{case_id}"),
    )


# --- meetings -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Held:
    """What recording a meeting created: the meeting's id and its record's version."""

    meeting_id: uuid.UUID
    version: int


async def hold_meeting(
    store: EventStore, caller: Caller, directory: Directory, request: meeting.HoldMeeting
) -> Held:
    """Record a meeting under a new id. Every case it discussed must be the caller's organisation's
    (404 otherwise, revealing nothing); a 重層的支援会議 needs each person's consent on the day."""
    enforce(
        authorization.may_hold_meeting(caller.principal, directory),
        caller.principal,
        "hold_meeting",
        "meetings",
        hide=False,
    )
    meeting_id = uuid.uuid4()

    async def hold(session: Session) -> Outcome[meeting.Meeting]:
        consented: set[uuid.UUID] = set()
        for case_id in request.cases:
            case = (await session.load(model.COORDINATION_CASE, stream_id(case_id))).state
            _holder_only(caller, case_id, "discuss_at_meeting").check(case)
            if (await _consents(session, case)).covers(Program.COORDINATION, request.held_on):
                consented.add(case_id)
        command = meeting.RecordMeeting(
            request=request,
            meeting_id=meeting_id,
            holder_organisation=caller.principal.organisation,
            consented=frozenset(consented),
        )
        return await commands.execute(
            session,
            meeting.MEETING,
            meeting_stream(meeting_id),
            command,
            meeting_to_public,
            caller.context,
            expected_version=0,
        )

    outcome = await commands.transact(store, hold, retry=False)
    return Held(meeting_id, outcome.version)


async def read_meeting(store: EventStore, caller: Caller, meeting_id: uuid.UUID) -> Loaded[meeting.Meeting]:
    """A meeting record (codes only), to those who held or attended it; the read is recorded."""
    return await access.read(
        store,
        caller,
        meeting.MEETING,
        meeting_stream(meeting_id),
        lambda _, state: authorization.may_read_meeting(caller.principal, state),
        resource=f"meeting:{meeting_id}",
        fields=["attendees", "cases", "decisions"],
        action="read_meeting",
    )


# --- reading a case -------------------------------------------------------------------------------


async def read_case(store: EventStore, caller: Caller, case_id: uuid.UUID, today: date) -> Loaded[model.Case]:
    """A case with its plans, if the caller has a legal basis (judged on `today`, the business day);
    the read is recorded, under the case key, before anything is returned."""

    async def may_read(session: Session, case: model.Case) -> Decision:
        # The consents are read in the read's own session: the decision and what is shown are of one moment.
        return authorization.may_read(caller.principal, case, await _consents(session, case), today)

    return await access.read(
        store,
        caller,
        model.COORDINATION_CASE,
        stream_id(case_id),
        may_read,
        resource=f"case:{case_id}",
        fields=PERSONAL_FIELDS,
    )
