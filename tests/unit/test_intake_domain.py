"""Intake's rules, given events → when command → then events or a refusal. No I/O.

Every command goes through the aggregate's one `decide(command, state)`, as the service runs it.
"""

import uuid
from datetime import date

import pytest

from contracts.glossary import (
    AgeBand,
    Channel,
    ClosureReason,
    ConclusionOutcome,
    ConsentPurpose,
    IssueTag,
    Program,
    ReturnReason,
    SimpleSupportKind,
    Urgency,
)
from libs.domain import Command, DomainError, DomainEvent, InvalidCommand, RegisterEntry
from services.intake.domain import consent, model
from services.intake.service_layer.public_events import age_on, to_public

CASE = uuid.uuid4()
RECEIVE = model.Receive(
    request=model.ReceiveConsultation(
        channel=Channel.COUNTER,
        person=model.Person(name="架空　太郎", birth_date=date(1975, 4, 2), phone="090-0000-0000"),
        household=[model.HouseholdMember(relation="父", age=84)],
        issue_tags=[IssueTag.EIGHTY_FIFTY, IssueTag.EIGHTY_FIFTY],
        district="kita-2",
        summary="父の介護と本人の就労",
        received_on=date(2026, 4, 1),
    ),
    case_id=CASE,
    holder_organisation="houkatsu-chuo",
    subject_ref=f"subj_{uuid.uuid4().hex}",
)
RECEIVED = model.ConsultationReceived(
    case_id=CASE,
    holder_organisation="houkatsu-chuo",
    subject_ref=RECEIVE.subject_ref,
    channel=Channel.COUNTER,
    person=model.Person(name="架空　太郎", birth_date=date(1975, 4, 2), phone="090-0000-0000"),
    household=[model.HouseholdMember(relation="父", age=84)],
    issue_tags=[IssueTag.EIGHTY_FIFTY],
    district="kita-2",
    summary="父の介護と本人の就労",
    received_on=date(2026, 4, 1),
)
REFER = model.Refer(
    request=model.ReferToCoordination(
        urgency=Urgency.ROUTINE, reason="複合課題", referred_on=date(2026, 4, 2)
    ),
    referral_id=uuid.uuid4(),
)
REFERRAL = model.ReferredToCoordination(
    referral_id=REFER.referral_id,
    urgency=Urgency.ROUTINE,
    reason="複合課題",
    referred_on=date(2026, 4, 2),
)


def given(*events) -> model.Case:
    return model.INTAKE_CASE.fold(events)


def decide(command: Command, *events: DomainEvent) -> list[DomainEvent]:
    """`command` decided on the case the events make, as the service decides it."""
    return model.decide(command, given(*events))


def asking(command: Command, **changes: object) -> Command:
    """`command` with its worker's request changed (the values the server added kept).

    `model_copy` does not validate: the domain's own refusals are what these tests pin."""
    request = command.request  # type: ignore[attr-defined]
    return command.model_copy(update={"request": request.model_copy(update=changes)})


def test_a_consultation_opens_a_case():
    assert decide(RECEIVE) == [RECEIVED]  # the issue tags once each, in order
    assert given(RECEIVED).status is model.Status.OPEN


def test_a_case_cannot_be_received_twice():
    with pytest.raises(DomainError, match="すでに"):
        decide(RECEIVE, RECEIVED)


def test_birth_after_receipt_is_invalid():
    born_later = asking(
        RECEIVE, person=RECEIVE.request.person.model_copy(update={"birth_date": date(2027, 1, 1)})
    )
    with pytest.raises(InvalidCommand):
        decide(born_later)


def test_an_unknown_command_is_a_programming_error():
    with pytest.raises(TypeError):
        decide(
            consent.Withdraw(request=consent.WithdrawConsent(withdrawn_on=date(2026, 4, 2)), consent_id=CASE)
        )


def test_refer_then_not_again_until_returned():
    assert decide(REFER, RECEIVED) == [REFERRAL]
    with pytest.raises(DomainError) as refused:
        decide(REFER, RECEIVED, REFERRAL)
    assert refused.value.code == "already_referred"
    returned = model.ReturnedToOrigin(
        referral_id=REFERRAL.referral_id,
        reason=ReturnReason.MEETING_DECISION,
        returned_by="x-org",
        returned_on=date(2026, 5, 1),
    )
    again = REFER.model_copy(update={"referral_id": uuid.uuid4()})
    expected = REFERRAL.model_copy(update={"referral_id": again.referral_id})
    assert decide(again, RECEIVED, REFERRAL, returned) == [expected]


def test_refer_needs_a_case_and_a_sensible_date():
    with pytest.raises(DomainError):
        decide(REFER)
    with pytest.raises(DomainError) as early:
        decide(asking(REFER, referred_on=date(2026, 3, 31)), RECEIVED)
    assert early.value.code == "referral_before_receipt"


def test_acceptance_and_return_are_idempotent():
    accepted = model.ReferralAccepted(
        referral_id=REFERRAL.referral_id, coordination_case_id=uuid.uuid4(), accepted_on=date(2026, 4, 2)
    )
    assert decide(model.AcceptReferral(accepted=accepted), RECEIVED, REFERRAL) == [accepted]
    assert decide(model.AcceptReferral(accepted=accepted), RECEIVED, REFERRAL, accepted) == []
    returned = model.ReturnedToOrigin(
        referral_id=REFERRAL.referral_id,
        reason=ReturnReason.SUPPORT_CONCLUDED,
        returned_by="c",
        returned_on=date(2026, 6, 1),
    )
    case = given(RECEIVED, REFERRAL, accepted, returned)
    assert case.status is model.Status.RETURNED
    assert case.referrals[0].return_reason is ReturnReason.SUPPORT_CONCLUDED
    assert model.decide(model.TakeBack(returned=returned), case) == []


def test_events_about_unknown_referrals_are_refused():
    stranger = model.ReferralAccepted(
        referral_id=uuid.uuid4(), coordination_case_id=uuid.uuid4(), accepted_on=date(2026, 4, 2)
    )
    with pytest.raises(DomainError):
        decide(model.AcceptReferral(accepted=stranger), RECEIVED, REFERRAL)


def test_public_events_carry_no_personal_data():
    case = given(RECEIVED, REFERRAL)
    published = [*to_public(given(RECEIVED), RECEIVED, "org-a"), *to_public(case, REFERRAL, "org-a")]
    text = "".join(p.model_dump_json() for p in published)
    for secret in ("架空", "090-0000-0000", "1975", "父の介護", "複合課題"):
        assert secret not in text
    assert published[0].age_band == "40-64" and published[0].household_size == 2


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        (date(2000, 2, 29), date(2026, 2, 28), 25),
        (date(2000, 2, 29), date(2026, 3, 1), 26),
        (date(1950, 1, 1), date(2026, 1, 1), 76),
    ],
)
def test_age_on_a_day(born, on, age):
    assert age_on(born, on) == age


# --- assessment, simple support, referral to an agency, closure -------------------------

ASSESS = model.RecordAssessment(
    assessed_on=date(2026, 4, 3),
    findings="父の認知症が進み、本人は離職を考えている",
    issue_tags=[IssueTag.EMPLOYMENT, IssueTag.EIGHTY_FIFTY, IssueTag.ELDERLY_CARE, IssueTag.EMPLOYMENT],
)
ASSESSED = model.AssessmentRecorded(
    assessed_on=date(2026, 4, 3),
    findings="父の認知症が進み、本人は離職を考えている",
    issue_tags=[IssueTag.EIGHTY_FIFTY, IssueTag.ELDERLY_CARE, IssueTag.EMPLOYMENT],
)
SUPPORT = model.GiveSupport(
    given_on=date(2026, 4, 3), kind=SimpleSupportKind.INFORMATION_PROVIDED, note="介護休業制度を案内"
)
SUPPORTED = model.SimpleSupportGiven(
    given_on=date(2026, 4, 3), kind=SimpleSupportKind.INFORMATION_PROVIDED, note="介護休業制度を案内"
)
PASS_ON = model.PassToAgency(
    request=model.ReferToAgency(
        organisation="hellowork-kaku", reason="就労相談のため", referred_on=date(2026, 4, 4)
    ),
    agency_referral_id=uuid.uuid4(),
)
TO_AGENCY = model.ReferredToAgency(
    agency_referral_id=PASS_ON.agency_referral_id,
    organisation="hellowork-kaku",
    reason="就労相談のため",
    referred_on=date(2026, 4, 4),
)
CLOSE = model.CloseCase(
    reason=ClosureReason.CONNECTED_TO_AGENCY, note="ハローワークにつないだ", closed_on=date(2026, 5, 1)
)
CLOSED = model.CaseClosed(
    reason=ClosureReason.CONNECTED_TO_AGENCY, note="ハローワークにつないだ", closed_on=date(2026, 5, 1)
)
ACCEPTED = model.ReferralAccepted(
    referral_id=REFERRAL.referral_id, coordination_case_id=uuid.uuid4(), accepted_on=date(2026, 4, 2)
)


def returned(on: date = date(2026, 4, 20)) -> model.ReturnedToOrigin:
    return model.ReturnedToOrigin(
        referral_id=REFERRAL.referral_id,
        reason=ReturnReason.MEETING_DECISION,
        returned_by="c",
        returned_on=on,
    )


def test_an_assessment_refines_the_issue_tags():
    assert decide(ASSESS, RECEIVED) == [ASSESSED]  # the tags once each, in order
    case = given(RECEIVED, ASSESSED)
    assert case.issue_tags == (IssueTag.EIGHTY_FIFTY, IssueTag.ELDERLY_CARE, IssueTag.EMPLOYMENT)
    assert case.assessments[0].findings.startswith("父の")


def test_an_assessment_needs_issues_a_sensible_date_and_an_open_case():
    with pytest.raises(InvalidCommand) as empty:
        decide(ASSESS.model_copy(update={"issue_tags": []}), RECEIVED)
    assert empty.value.code == "assessment_without_issues"
    with pytest.raises(DomainError) as early:
        decide(ASSESS.model_copy(update={"assessed_on": date(2026, 3, 1)}), RECEIVED)
    assert early.value.code == "assessment_before_receipt"
    with pytest.raises(DomainError) as missing:
        decide(ASSESS)
    assert missing.value.code == "case_not_found"


def test_simple_support_and_agency_referrals_are_recorded():
    assert decide(SUPPORT, RECEIVED) == [SUPPORTED]
    assert decide(PASS_ON, RECEIVED) == [TO_AGENCY]
    case = given(RECEIVED, SUPPORTED, TO_AGENCY)
    assert case.supports == (SUPPORTED,) and case.agency_referrals == (TO_AGENCY,)
    with pytest.raises(DomainError) as early:
        decide(SUPPORT.model_copy(update={"given_on": date(2026, 3, 31)}), RECEIVED)
    assert early.value.code == "support_before_receipt"
    with pytest.raises(InvalidCommand) as itself:
        decide(asking(PASS_ON, organisation="houkatsu-chuo"), RECEIVED)
    assert itself.value.code == "agency_is_holder"


def test_a_case_closes_once():
    assert decide(CLOSE, RECEIVED, TO_AGENCY) == [CLOSED]
    closed = given(RECEIVED, TO_AGENCY, CLOSED)
    assert closed.status is model.Status.CLOSED
    with pytest.raises(DomainError) as twice:
        model.decide(CLOSE, closed)
    assert twice.value.code == "already_closed"


def test_a_case_does_not_close_while_coordination_holds_its_referral():
    for pending in (given(RECEIVED, REFERRAL), given(RECEIVED, REFERRAL, ACCEPTED)):
        with pytest.raises(DomainError) as refused:
            model.decide(CLOSE.model_copy(update={"reason": ClosureReason.RESOLVED}), pending)
        assert refused.value.code == "referral_pending"
        assert "つなぎもどし" in refused.value.message
    back = given(RECEIVED, REFERRAL, ACCEPTED, returned())
    resolve = CLOSE.model_copy(update={"reason": ClosureReason.RESOLVED})
    assert model.decide(resolve, back) == [CLOSED.model_copy(update={"reason": ClosureReason.RESOLVED})]


def test_closing_as_connected_needs_an_agency_referral_and_a_sensible_date():
    with pytest.raises(DomainError) as refused:
        decide(CLOSE, RECEIVED)
    assert refused.value.code == "no_agency_referral"
    with pytest.raises(DomainError) as early:
        decide(
            CLOSE.model_copy(update={"reason": ClosureReason.RESOLVED, "closed_on": date(2026, 3, 1)}),
            RECEIVED,
        )
    assert early.value.code == "closure_before_receipt"


def test_a_closed_case_takes_no_new_work():
    closed = given(RECEIVED, TO_AGENCY, CLOSED)
    for command in (ASSESS, SUPPORT, PASS_ON, asking(REFER, referred_on=date(2026, 5, 2))):
        with pytest.raises(DomainError) as refused:
            model.decide(command, closed)
        assert refused.value.code == "case_closed"


def test_nothing_new_is_written_about_an_erased_person():
    erased = given(RECEIVED, model.PersonErased(erased_on=date(2026, 6, 1), requested_by="admin"))
    for command in (ASSESS, REFER):
        with pytest.raises(DomainError) as refused:
            model.decide(command, erased)
        assert refused.value.code == "person_erased"


def test_coordinations_evaluation_is_kept_with_the_referral_once():
    concluded = model.CoordinationConcluded(
        coordination_case_id=ACCEPTED.coordination_case_id,
        outcome=ConclusionOutcome.IMPROVED,
        goals_met=1,
        goals_total=2,
        concluded_on=date(2026, 9, 1),
    )
    note = model.NoteConclusion(concluded=concluded)
    assert decide(note, RECEIVED, REFERRAL, ACCEPTED) == [concluded]
    case = given(RECEIVED, REFERRAL, ACCEPTED, concluded)
    assert case.referrals[0].outcome is ConclusionOutcome.IMPROVED and case.referrals[0].goals_total == 2
    assert model.decide(note, case) == []
    with pytest.raises(DomainError):
        decide(note, RECEIVED)


def test_closure_publishes_a_code_and_never_the_note():
    case = given(RECEIVED, TO_AGENCY, CLOSED)
    published = to_public(case, CLOSED, "houkatsu-chuo")
    assert [p.event_type for p in published] == ["CaseClosed"]
    assert published[0].reason == "connected_to_agency"
    assert "ハローワーク" not in published[0].model_dump_json()
    for private in (ASSESSED, SUPPORTED, TO_AGENCY):
        assert to_public(given(RECEIVED, private), private, "houkatsu-chuo") == []


# --- people passed on by outreach and community places: details pending ----------------

CONNECTED = model.CaseOpenedFromConnection(
    case_id=CASE,
    holder_organisation="city-soudan",
    subject_ref=f"subj_{uuid.uuid4().hex}",
    channel=Channel.OUTREACH,
    issue_tags=[IssueTag.HIKIKOMORI],
    age_band=AgeBand.MIDDLE,
    district="kita-2",
    received_on=date(2026, 5, 10),
    source="outreach",
    source_ref=uuid.uuid4(),
    source_organisation="npo-tsunagari",
)
RECORD_PERSON = model.RecordPerson(
    person=model.Person(name="架空　次郎", birth_date=date(1980, 1, 2)),
    household=[model.HouseholdMember(relation="母", age=78)],
    summary="アウトリーチから引き継ぎ",
    recorded_on=date(2026, 5, 12),
)
DETAILS = model.PersonDetailsRecorded(
    person=model.Person(name="架空　次郎", birth_date=date(1980, 1, 2)),
    household=[model.HouseholdMember(relation="母", age=78)],
    summary="アウトリーチから引き継ぎ",
    recorded_on=date(2026, 5, 12),
)


def test_a_connection_opens_a_case_with_details_pending():
    assert decide(model.OpenFromConnection(opened=CONNECTED)) == [CONNECTED]
    case = given(CONNECTED)
    assert case.status is model.Status.OPEN and case.details_pending and case.person is None
    assert case.age_band is AgeBand.MIDDLE
    assert [c.source for c in case.connections] == ["outreach"]


def test_a_connection_to_an_existing_case_is_linked_once():
    again = CONNECTED.model_copy(update={"source": "community", "source_ref": uuid.uuid4()})
    linked = decide(model.OpenFromConnection(opened=again), RECEIVED)
    assert [type(e) for e in linked] == [model.ConnectionRecorded]
    case = given(RECEIVED, *linked)
    assert case.holder == "houkatsu-chuo" and not case.details_pending  # the case itself is unchanged
    assert model.decide(model.OpenFromConnection(opened=again), case) == []  # re-delivered
    assert decide(model.OpenFromConnection(opened=CONNECTED), CONNECTED) == []


def test_the_persons_details_are_recorded_later():
    assert decide(RECORD_PERSON, CONNECTED) == [DETAILS]
    case = given(CONNECTED, DETAILS)
    assert not case.details_pending and case.person.name == "架空　次郎"
    assert case.age_band is AgeBand.MIDDLE  # now from the birth date
    corrected = DETAILS.model_copy(update={"summary": None})
    assert given(CONNECTED, DETAILS, corrected).summary == "アウトリーチから引き継ぎ"  # kept
    with pytest.raises(InvalidCommand) as born_later:
        decide(
            RECORD_PERSON.model_copy(
                update={"person": RECORD_PERSON.person.model_copy(update={"birth_date": date(2027, 1, 1)})}
            ),
            CONNECTED,
        )
    assert born_later.value.code == "birth_after_receipt"
    with pytest.raises(DomainError):
        decide(RECORD_PERSON)


def test_a_pending_case_is_published_with_the_band_the_other_program_gave():
    published = to_public(given(CONNECTED), CONNECTED, "city-soudan")
    assert [p.event_type for p in published] == ["CaseReceived"]
    assert published[0].age_band == "40-64" and published[0].channel == "outreach"
    assert published[0].household_size == 1
    assert to_public(given(CONNECTED, DETAILS), DETAILS, "city-soudan") == []
    referral = REFERRAL.model_copy(update={"referred_on": date(2026, 5, 11)})
    assert decide(asking(REFER, referred_on=date(2026, 5, 11)), CONNECTED) == [referral]
    sent = to_public(given(CONNECTED, referral), referral, "city-soudan")
    assert sent[0].age_band == "40-64"


# --- erasure and consent: the other commands -------------------------------------------------

ERASE = model.Erase(request=model.ErasePerson(erased_on=date(2026, 6, 1)), requested_by="city-admin")


def test_an_erasure_is_recorded_once_with_who_asked():
    erased = model.PersonErased(erased_on=date(2026, 6, 1), requested_by="city-admin")
    assert decide(ERASE, RECEIVED) == [erased]
    assert decide(ERASE, RECEIVED, erased) == []  # asked again: the key is already gone
    with pytest.raises(DomainError) as missing:
        decide(ERASE)
    assert missing.value.code == "case_not_found"


def test_a_consent_command_records_each_program_once_and_is_dated_by_the_case():
    grant = consent.Grant(
        request=consent.GrantConsent(
            programs=[Program.PARTICIPATION, Program.COORDINATION, Program.PARTICIPATION],
            purpose=ConsentPurpose.SUPPORT_COORDINATION,
            granted_on=date(2026, 4, 1),
            expires_on=date(2027, 3, 31),
        ),
        consent_id=uuid.uuid4(),
        received_on=date(2026, 4, 1),
    )
    [granted] = consent.decide(grant, consent.Consents())
    assert granted == consent.ConsentGranted(
        consent_id=grant.consent_id,
        programs=[Program.COORDINATION, Program.PARTICIPATION],
        purpose=ConsentPurpose.SUPPORT_COORDINATION,
        granted_on=date(2026, 4, 1),
        expires_on=date(2027, 3, 31),
    )
    with pytest.raises(DomainError) as early:
        consent.decide(grant.model_copy(update={"received_on": date(2026, 4, 2)}), consent.Consents())
    assert early.value.code == "consent_before_receipt"
    narrow = consent.Narrow(
        request=consent.NarrowConsent(programs=[Program.COORDINATION], narrowed_on=date(2026, 5, 1)),
        consent_id=grant.consent_id,
    )
    [narrowed] = consent.decide(narrow, consent.CONSENTS.fold([granted]))
    assert narrowed.programs == [Program.COORDINATION]
    with pytest.raises(TypeError):
        consent.decide(ERASE, consent.Consents())


# --- the register: a case's line, without personal data but for its blind search terms ------


def line(*events: DomainEvent) -> RegisterEntry:
    entry = model.register_entry(given(*events))
    assert entry is not None
    return entry


def test_no_register_entry_until_the_case_exists():
    assert model.register_entry(given()) is None
    assert model.INTAKE_CASE.register is model.register_entry


def test_a_fresh_case_in_the_register_is_found_by_name_kana_birth_date_and_phone():
    received = RECEIVED.model_copy(
        update={
            "person": RECEIVED.person.model_copy(update={"name_kana": "カクウ　タロウ"}),
            "household": [model.HouseholdMember(relation="父", age=84, name="架空 一郎")],
        }
    )
    assert line(received) == RegisterEntry(
        case_id=CASE,
        case_key=CASE,
        organisation="houkatsu-chuo",
        status="open",
        district="kita-2",
        issue_tags=("8050",),
        opened_on=date(2026, 4, 1),
        last_activity_on=date(2026, 4, 1),
        due_on=None,  # intake keeps no schedule
        subject_ref=RECEIVED.subject_ref,
        search=(
            "n:架空太郎",
            "n:架空",
            "n:太郎",
            "n:かくうたろう",
            "n:かくう",
            "n:たろう",
            "n:架空一郎",
            "n:一郎",
            "d:19750402",
            "p:09000000000",
        ),
    )


def test_later_activity_moves_the_line_and_its_status():
    worked = line(RECEIVED, ASSESSED, SUPPORTED, TO_AGENCY)
    assert worked.last_activity_on == date(2026, 4, 4) and worked.opened_on == date(2026, 4, 1)
    assert worked.issue_tags == ("8050", "elderly_care", "employment")  # as the assessment refined them
    closed = line(RECEIVED, ASSESSED, SUPPORTED, TO_AGENCY, CLOSED)
    assert (closed.status, closed.last_activity_on) == ("closed", date(2026, 5, 1))
    back = line(RECEIVED, REFERRAL, ACCEPTED, returned(date(2026, 4, 20)))
    assert (back.status, back.last_activity_on, back.due_on) == ("returned", date(2026, 4, 20), None)


def test_a_pending_case_is_searchable_once_its_details_are_recorded():
    pending = line(CONNECTED)
    assert (pending.organisation, pending.opened_on, pending.search) == ("city-soudan", date(2026, 5, 10), ())
    recorded = line(CONNECTED, DETAILS)
    assert recorded.last_activity_on == date(2026, 5, 12)
    assert recorded.search == ("n:架空次郎", "n:架空", "n:次郎", "d:19800102")


def test_an_erased_person_leaves_no_search_terms():
    erased = model.PersonErased(erased_on=date(2026, 6, 1), requested_by="city-admin")
    entry = line(RECEIVED, erased)  # as decided, the person still in the state it folded
    assert (entry.search, entry.last_activity_on) == ((), date(2026, 6, 1))
    shredded = RECEIVED.model_copy(update={"person": None, "household": None, "summary": None})
    assert line(shredded).search == ()  # as read back once the key is gone
