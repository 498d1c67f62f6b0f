"""Outreach's rules, given events → when command → then events or a refusal. No I/O."""

import uuid
from datetime import date

import pytest

from contracts.glossary import (
    AgeBand,
    ConnectionTarget,
    ContactMethod,
    ContactOutcome,
    IdentifiedBy,
    IssueTag,
    Milestone,
    OutreachConclusionReason,
)
from libs.domain import DomainError, InvalidCommand, NotFound, RegisterEntry
from services.outreach.domain import model
from services.outreach.service_layer.public_events import to_public

CASE = uuid.uuid4()
DESCRIPTION = "50代男性、母と二人暮らし。日中は雨戸が閉まったまま。"
REQUEST = model.IdentifyPotentialClient(
    identified_by=IdentifiedBy.MINSEI_IIN,
    issue_tags=[IssueTag.HIKIKOMORI, IssueTag.EIGHTY_FIFTY],
    age_band=AgeBand.MIDDLE,
    district="kita-2",
    description=DESCRIPTION,
    note="民生委員の山田さんから電話",
    identified_on=date(2026, 4, 1),
)
IDENTIFY = model.Identify(
    request=REQUEST,
    outreach_case_id=CASE,
    holder_organisation="npo-tsunagari",
    case_key=uuid.uuid4(),
    subject_ref=f"subj_{uuid.uuid4().hex}",
)
IDENTIFIED = model.PotentialClientIdentified(
    outreach_case_id=CASE,
    holder_organisation="npo-tsunagari",
    case_key=IDENTIFY.case_key,
    subject_ref=IDENTIFY.subject_ref,
    identified_by=IdentifiedBy.MINSEI_IIN,
    issue_tags=[IssueTag.EIGHTY_FIFTY, IssueTag.HIKIKOMORI],  # as recorded: sorted, once each
    age_band=AgeBand.MIDDLE,
    district="kita-2",
    description=DESCRIPTION,
    note="民生委員の山田さんから電話",
    identified_on=date(2026, 4, 1),
)


def given(*events) -> model.Case:
    return model.OUTREACH_CASE.fold(events)


def attempt(case: model.Case, outcome: ContactOutcome, on: date = date(2026, 4, 5), **kw):
    args = {"method": ContactMethod.HOME_VISIT, "outcome": outcome, "note": None, "attempted_on": on} | kw
    return model.decide(model.AttemptContact(**args), case)


def reach(case: model.Case, milestone: Milestone, on: date, note: str | None = None):
    return model.decide(model.ReachMilestone(milestone=milestone, note=note, reached_on=on), case)


def connect(case: model.Case, on: date = date(2026, 5, 1), runs_target_program: bool = True, **kw):
    args = {
        "connected_to": ConnectionTarget.INTAKE,
        "organisation": "city-soudan",
        "note": None,
        "connected_on": on,
    } | kw
    command = model.Connect(request=model.ConnectToSupport(**args), runs_target_program=runs_target_program)
    return model.decide(command, case)


def conclude(case: model.Case, reason=OutreachConclusionReason.CONNECTED, on: date = date(2026, 5, 10)):
    return model.decide(model.Conclude(reason=reason, note=None, concluded_on=on), case)


def in_conversation() -> model.Case:
    case = given(IDENTIFIED)
    return model.OUTREACH_CASE.fold(attempt(case, ContactOutcome.CONVERSATION), case)


def test_a_noticed_person_opens_a_case_once():
    assert model.decide(IDENTIFY, given()) == [IDENTIFIED]
    assert model.OUTREACH_CASE.decide(IDENTIFY, given()) == [IDENTIFIED]
    assert given(IDENTIFIED).status is model.Status.IDENTIFIED
    with pytest.raises(DomainError) as refused:
        model.decide(IDENTIFY, given(IDENTIFIED))
    assert refused.value.code == "case_exists"


def test_the_referral_category_is_only_for_referrals():
    claimed = REQUEST.model_copy(update={"identified_by": IdentifiedBy.COORDINATION_REFERRAL})
    with pytest.raises(InvalidCommand) as refused:
        model.decide(IDENTIFY.model_copy(update={"request": claimed}), given())
    assert refused.value.code == "referral_only"


def test_case_ids_are_derived_from_the_referral_or_concern_and_redeliveries_change_nothing():
    referral, concern = uuid.uuid4(), uuid.uuid4()
    assert model.case_id_for_referral(referral) == model.case_id_for_referral(referral)
    assert model.case_id_for_referral(referral) != model.case_id_for_concern(referral)
    assert model.case_id_for_concern(concern) != model.case_id_for_concern(uuid.uuid4())
    opened = model.OpenFromMessage(identified=IDENTIFIED)
    assert model.decide(opened, given()) == [IDENTIFIED]
    assert model.decide(opened, given(IDENTIFIED)) == []


def test_attempts_are_numbered_and_unanswered_ones_reach_no_milestone():
    case = given(IDENTIFIED)
    first = attempt(case, ContactOutcome.NO_ANSWER, method=ContactMethod.LETTER)
    assert [type(e) for e in first] == [model.ContactAttempted]
    case = model.OUTREACH_CASE.fold(first, case)
    second = attempt(case, ContactOutcome.FAMILY_ONLY, method=ContactMethod.VIA_FAMILY)
    assert second[0].attempt_number == 2
    assert model.OUTREACH_CASE.fold(second, case).status is model.Status.IDENTIFIED


def test_reaching_the_person_marks_first_contact_and_a_conversation_first_conversation_once():
    case = given(IDENTIFIED)
    brief = attempt(case, ContactOutcome.BRIEF_CONTACT)
    assert [getattr(e, "milestone", None) for e in brief] == [None, Milestone.FIRST_CONTACT]
    case = model.OUTREACH_CASE.fold(brief, case)
    assert case.status is model.Status.IN_CONTACT
    talk = attempt(case, ContactOutcome.CONVERSATION, on=date(2026, 4, 9))
    assert [getattr(e, "milestone", None) for e in talk] == [None, Milestone.FIRST_CONVERSATION]
    case = model.OUTREACH_CASE.fold(talk, case)
    assert len(attempt(case, ContactOutcome.CONVERSATION, on=date(2026, 4, 12))) == 1


def test_via_family_reaches_the_family_not_the_person():
    with pytest.raises(InvalidCommand) as refused:
        attempt(given(IDENTIFIED), ContactOutcome.CONVERSATION, method=ContactMethod.VIA_FAMILY)
    assert refused.value.code == "via_family_reaches_family"


def test_nothing_is_dated_before_the_person_was_identified():
    case = given(IDENTIFIED)
    early = date(2026, 3, 31)
    for refused_call in (
        lambda: attempt(case, ContactOutcome.NO_ANSWER, on=early),
        lambda: reach(case, Milestone.FIRST_CONTACT, early),
        lambda: connect(in_conversation(), on=early),
        lambda: conclude(case, OutreachConclusionReason.UNREACHABLE, on=early),
    ):
        with pytest.raises(DomainError) as refused:
            refused_call()
        assert refused.value.code == "before_identification"


def test_milestones_come_in_order_and_once():
    case = given(IDENTIFIED)
    with pytest.raises(DomainError) as refused:
        reach(case, Milestone.FIRST_OUTING, date(2026, 4, 5))
    assert refused.value.code == "milestone_out_of_order"
    case = in_conversation()
    with pytest.raises(DomainError) as twice:
        reach(case, Milestone.FIRST_CONTACT, date(2026, 4, 6))
    assert twice.value.code == "milestone_already_reached"
    with pytest.raises(DomainError) as before:
        reach(case, Milestone.FIRST_OUTING, date(2026, 4, 4))
    assert before.value.code == "milestone_out_of_order"
    outing = reach(case, Milestone.FIRST_OUTING, date(2026, 4, 20), note="図書館へ")
    assert outing[0].milestone is Milestone.FIRST_OUTING


def test_connecting_needs_contact_a_real_program_and_happens_once():
    with pytest.raises(DomainError) as refused:
        connect(given(IDENTIFIED))
    assert refused.value.code == "no_contact_yet"
    case = in_conversation()
    with pytest.raises(InvalidCommand) as wrong:
        connect(case, runs_target_program=False)
    assert wrong.value.code == "organisation_not_in_program"
    assert connect(
        case, connected_to=ConnectionTarget.AGENCY, organisation="hoken-center", runs_target_program=False
    )
    case = model.OUTREACH_CASE.fold(connect(case), case)
    assert case.status is model.Status.CONNECTED
    with pytest.raises(DomainError) as again:
        connect(case, on=date(2026, 5, 2))
    assert again.value.code == "already_connected"


def test_conclusion_once_and_nothing_after_it():
    with pytest.raises(DomainError) as refused:
        conclude(given(IDENTIFIED))
    assert refused.value.code == "not_connected"
    case = model.OUTREACH_CASE.fold(connect(in_conversation()), in_conversation())
    with pytest.raises(DomainError) as early:
        conclude(case, on=date(2026, 4, 30))
    assert early.value.code == "conclusion_before_connection"
    case = model.OUTREACH_CASE.fold(conclude(case), case)
    assert case.status is model.Status.CONCLUDED
    with pytest.raises(DomainError) as twice:
        conclude(case, on=date(2026, 5, 11))
    assert twice.value.code == "already_concluded"
    with pytest.raises(DomainError) as after:
        attempt(case, ContactOutcome.CONVERSATION, on=date(2026, 5, 12))
    assert after.value.code == "case_concluded"


def test_an_unreachable_person_can_be_concluded_without_connection():
    concluded = conclude(given(IDENTIFIED), OutreachConclusionReason.UNREACHABLE, on=date(2026, 9, 1))
    assert concluded[0].reason is OutreachConclusionReason.UNREACHABLE


def test_unknown_cases_are_not_found():
    with pytest.raises(NotFound):
        attempt(given(), ContactOutcome.NO_ANSWER)


def test_descriptions_and_notes_stay_private_and_the_case_key_follows_every_event():
    case = in_conversation()
    connected = connect(case, note="本人の希望で同行")
    case = model.OUTREACH_CASE.fold(connected, case)
    published = [
        *to_public(case, IDENTIFIED),
        *to_public(case, case.attempts[0]),
        *to_public(case, case.milestones[0]),
        *to_public(case, connected[0]),
    ]
    text = "".join(p.model_dump_json() for p in published)
    for secret in (DESCRIPTION, "山田", "同行"):
        assert secret not in text
    assert {p.case_key for p in published} == {IDENTIFIED.case_key}
    assert [p.event_type for p in published] == [
        "PotentialClientIdentified",
        "ContactAttempted",
        "RelationshipMilestoneReached",
        "ConnectedToSupport",
    ]
    assert published[-1].subject_ref == IDENTIFIED.subject_ref and published[-1].organisation == "city-soudan"


def line(case: model.Case) -> RegisterEntry:
    entry = model.register_entry(case)
    assert entry is not None
    return entry


def test_no_register_entry_until_the_person_is_identified():
    assert model.register_entry(given()) is None
    assert model.OUTREACH_CASE.register is model.register_entry


def test_a_fresh_case_in_the_register_carries_no_personal_data():
    entry = line(given(IDENTIFIED))
    assert entry == RegisterEntry(
        case_id=CASE,
        case_key=IDENTIFIED.case_key,
        organisation="npo-tsunagari",
        status="identified",
        district="kita-2",
        issue_tags=("8050", "hikikomori"),
        opened_on=date(2026, 4, 1),
        last_activity_on=date(2026, 4, 1),
        due_on=None,  # outreach keeps no schedule
        subject_ref=IDENTIFIED.subject_ref,
    )
    assert entry.search == ()  # a description is not a name: nothing to search by


def test_later_activity_moves_the_register_line_and_a_back_dated_record_does_not():
    case = in_conversation()
    entry = line(case)
    assert (entry.status, entry.opened_on, entry.last_activity_on) == (
        "in_contact",
        date(2026, 4, 1),
        date(2026, 4, 5),
    )
    case = model.OUTREACH_CASE.fold(attempt(case, ContactOutcome.NO_ANSWER, on=date(2026, 4, 3)), case)
    assert line(case).last_activity_on == date(2026, 4, 5)
    case = model.OUTREACH_CASE.fold(connect(case, on=date(2026, 5, 1)), case)
    assert (line(case).status, line(case).last_activity_on) == ("connected", date(2026, 5, 1))
    case = model.OUTREACH_CASE.fold(conclude(case, on=date(2026, 5, 10)), case)
    entry = line(case)
    assert (entry.status, entry.last_activity_on, entry.due_on) == ("concluded", date(2026, 5, 10), None)
