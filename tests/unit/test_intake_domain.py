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
    ConsulterKind,
    IssueTag,
    Program,
    Relation,
    ReturnReason,
    SimpleSupportKind,
    Urgency,
)
from libs.domain import Command, DomainError, DomainEvent, InvalidCommand, RegisterEntry
from services.intake.domain import consent, model
from services.intake.service_layer.public_events import age_on, to_public

CASE = uuid.uuid4()
FATHER = f"subj_{uuid.uuid4().hex}"
RECEIVE = model.Receive(
    request=model.ReceiveConsultation(
        channel=Channel.COUNTER,
        person=model.Person(name="架空　太郎", birth_date=date(1975, 4, 2), phone="090-0000-0000"),
        household=[model.MemberDetails(relation=Relation.PARENT, age=84)],
        issue_tags=[IssueTag.EIGHTY_FIFTY, IssueTag.EIGHTY_FIFTY],
        district="kita-2",
        summary="父の介護と本人の就労",
        received_on=date(2026, 4, 1),
    ),
    case_id=CASE,
    holder_organisation="houkatsu-chuo",
    subject_ref=f"subj_{uuid.uuid4().hex}",
    member_refs=[FATHER],
)
RECEIVED = model.ConsultationReceived(
    case_id=CASE,
    holder_organisation="houkatsu-chuo",
    subject_ref=RECEIVE.subject_ref,
    channel=Channel.COUNTER,
    consulter=model.SELF_CONSULTED,
    person=model.Person(name="架空　太郎", birth_date=date(1975, 4, 2), phone="090-0000-0000"),
    household=[model.Member(subject_ref=FATHER, relation=Relation.PARENT, identity=model.Identity(age=84))],
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
    members=[RECEIVE.subject_ref],
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
MOTHER = f"subj_{uuid.uuid4().hex}"
RECORD_PERSON = model.RecordDetails(
    request=model.RecordPerson(
        person=model.Person(name="架空　次郎", birth_date=date(1980, 1, 2)),
        household=[model.MemberDetails(relation=Relation.PARENT, age=78)],
        summary="アウトリーチから引き継ぎ",
        recorded_on=date(2026, 5, 12),
    ),
    member_refs=[MOTHER],
)
DETAILS = model.PersonDetailsRecorded(
    person=model.Person(name="架空　次郎", birth_date=date(1980, 1, 2)),
    household=[model.Member(subject_ref=MOTHER, relation=Relation.PARENT, identity=model.Identity(age=78))],
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
            model.RecordDetails(
                request=RECORD_PERSON.request.model_copy(
                    update={"person": model.Person(name="架空　次郎", birth_date=date(2027, 1, 1))}
                ),
                member_refs=[MOTHER],
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
    referral = REFERRAL.model_copy(
        update={"referred_on": date(2026, 5, 11), "members": [CONNECTED.subject_ref]}
    )
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
            "household": [
                model.Member(
                    subject_ref=FATHER,
                    relation=Relation.PARENT,
                    identity=model.Identity(age=84, name="架空 一郎"),
                )
            ],
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
            "d:19750402",
            "p:09000000000",
            "n:架空一郎",
            "n:一郎",
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


# --- the household and the 相談者 -----------------------------------------------------------

SON, DAUGHTER = (f"subj_{uuid.uuid4().hex}" for _ in range(2))
HOUSEHOLD_RECEIVE = model.Receive(
    request=model.ReceiveConsultation(
        channel=Channel.PHONE,
        consulter=model.Consulter(
            kind=ConsulterKind.PROFESSIONAL, organisation="kyotaku-minami", name="架空 ケア子"
        ),
        person=model.Person(name="架空　一郎", birth_date=date(1944, 2, 1)),
        household=[
            model.MemberDetails(relation=Relation.CHILD, name="架空　次郎", age=51),
            model.MemberDetails(relation=Relation.CHILD, age_band=AgeBand.YOUNG_ADULT),
        ],
        issue_tags=[IssueTag.EIGHTY_FIFTY, IssueTag.HIKIKOMORI],
        district="kita-2",
        summary="父の介護。同居の長男は外出しない",
        received_on=date(2026, 4, 1),
    ),
    case_id=CASE,
    holder_organisation="houkatsu-chuo",
    subject_ref=RECEIVE.subject_ref,
    member_refs=[SON, DAUGHTER],
)


def household_case(*more: DomainEvent) -> model.Case:
    return given(*decide(HOUSEHOLD_RECEIVE), *more)


def test_each_member_gets_a_pseudonym_of_their_own_and_the_consulter_is_kept_apart():
    case = household_case()
    assert case.people() == (RECEIVE.subject_ref, SON, DAUGHTER)
    assert [m.relation for m in case.household] == [Relation.CHILD, Relation.CHILD]
    assert case.member(SON).identity.band_on(date(2026, 4, 1)) is AgeBand.MIDDLE  # 51 years old
    assert case.consulter.kind is ConsulterKind.PROFESSIONAL and case.person.name == "架空　一郎"
    assert case.age_band is AgeBand.OLD_OLD  # the person's, not the consulter's
    [received] = to_public(case, decide(HOUSEHOLD_RECEIVE)[0], "houkatsu-chuo")
    assert received.household_size == 3 and "ケア子" not in received.model_dump_json()
    assert model.ConsultationReceived.people_fields == ("household",)  # each sealed under its own key
    with pytest.raises(InvalidCommand) as named:
        decide(
            asking(
                HOUSEHOLD_RECEIVE,
                household=[model.MemberDetails(relation=Relation.CHILD, age=5, subject_ref=SON)],
            )
        )
    assert named.value.code == "unknown_member"


def test_an_anonymous_consultation_needs_only_an_age_and_is_identified_later():
    anonymous = model.ReceiveConsultation(
        channel=Channel.PHONE,
        consulter=model.Consulter(kind=ConsulterKind.ANONYMOUS),
        person=model.Person(age_band=AgeBand.MIDDLE),
        issue_tags=[IssueTag.ISOLATION],
        district="kita-2",
        summary="隣の家の男性を最近見かけない",
        received_on=date(2026, 4, 1),
    )
    command = model.Receive(
        request=anonymous, case_id=CASE, holder_organisation="houkatsu-chuo", subject_ref=RECEIVE.subject_ref
    )
    case = given(*decide(command))
    assert case.age_band is AgeBand.MIDDLE and case.person.name is None
    assert model.register_entry(case).search == ()  # nothing to find an anonymous person by
    identified = model.RecordDetails(
        request=model.RecordPerson(
            person=model.Person(name="架空　三郎", birth_date=date(1970, 3, 3)), recorded_on=date(2026, 4, 8)
        )
    )
    case = given(*decide(command), *model.decide(identified, case))
    assert case.person.name == "架空　三郎" and "n:三郎" in model.register_entry(case).search


@pytest.mark.parametrize(
    "fields, code",
    [
        ({"kind": "anonymous", "name": "架空"}, "anonymous_named"),
        ({"kind": "self", "name": "架空"}, "self_consulter_details"),
        ({"kind": "neighbour", "relation": "child"}, "relation_not_family"),
        ({"kind": "family", "organisation": "kyotaku-minami"}, "organisation_not_professional"),
    ],
)
def test_a_consulter_is_recorded_only_as_what_they_are(fields, code):
    with pytest.raises(ValueError) as refused:
        model.Consulter.model_validate(fields)
    assert refused.value.errors()[0]["type"] == code


def test_a_person_needs_some_age_and_a_member_is_not_the_person():
    with pytest.raises(ValueError) as ageless:
        model.Person(name="架空　太郎")
    assert ageless.value.errors()[0]["type"] == "age_unknown"
    with pytest.raises(ValueError) as itself:
        model.MemberDetails(relation=Relation.SELF, age=40)
    assert itself.value.errors()[0]["type"] == "member_is_self"


def test_recording_the_household_again_keeps_named_members_and_mints_for_new_ones():
    newcomer = f"subj_{uuid.uuid4().hex}"
    again = model.RecordDetails(
        request=model.RecordPerson(
            person=HOUSEHOLD_RECEIVE.request.person,
            household=[
                model.MemberDetails(relation=Relation.CHILD, name="架空　次郎", age=51, subject_ref=SON),
                model.MemberDetails(relation=Relation.GRANDCHILD, age=8),
            ],
            recorded_on=date(2026, 4, 10),
        ),
        member_refs=[newcomer],
    )
    case = household_case(*model.decide(again, household_case()))
    assert case.people() == (RECEIVE.subject_ref, SON, newcomer)  # the daughter has left the household
    stranger = again.model_copy(
        update={
            "request": again.request.model_copy(
                update={
                    "household": [model.MemberDetails(relation=Relation.CHILD, age=51, subject_ref=newcomer)]
                }
            )
        }
    )
    with pytest.raises(InvalidCommand) as unknown:
        model.decide(stranger, household_case())
    assert unknown.value.code == "unknown_member"


def test_a_referral_names_the_members_it_is_for_and_publishes_them_pseudonymously():
    refer = asking(REFER, members=[RECEIVE.subject_ref, SON])
    [referred] = model.decide(refer, household_case())
    assert referred.members == [RECEIVE.subject_ref, SON]
    [published] = to_public(household_case(referred), referred, "houkatsu-chuo")
    assert published.schema_version == 2
    assert [(m.subject_ref, m.relation, m.age_band) for m in published.members] == [
        (RECEIVE.subject_ref, Relation.SELF, AgeBand.OLD_OLD),
        (SON, Relation.CHILD, AgeBand.MIDDLE),
    ]
    assert "次郎" not in published.model_dump_json()
    [alone] = model.decide(REFER, household_case())
    assert alone.members == [RECEIVE.subject_ref]  # no member named: the person
    with pytest.raises(InvalidCommand) as unknown:
        model.decide(asking(REFER, members=[f"subj_{uuid.uuid4().hex}"]), household_case())
    assert unknown.value.code == "unknown_member"


def test_intake_refers_the_hidden_son_to_outreach_as_himself_once():
    to_outreach = model.ReferOutreach(
        request=model.ReferMemberToOutreach(
            member=SON, reason="訪問時に長男の存在を把握", referred_on=date(2026, 4, 3)
        ),
        referral_id=uuid.uuid4(),
    )
    [referred] = model.decide(to_outreach, household_case())
    assert (referred.subject_ref, referred.age_band) == (SON, AgeBand.MIDDLE)
    [published] = to_public(household_case(referred), referred, "houkatsu-chuo")
    assert published.event_type == "OutreachRequested"
    assert (published.subject_ref, published.relation, published.age_band) == (
        SON,
        Relation.CHILD,
        AgeBand.MIDDLE,
    )
    assert published.case_key == CASE and "長男" not in published.model_dump_json()
    with pytest.raises(DomainError) as twice:
        model.decide(to_outreach, household_case(referred))
    assert twice.value.code == "already_referred"
    assert household_case(referred).status is model.Status.OPEN  # intake keeps the case


def test_one_member_is_erased_alone_and_can_be_referred_no_more():
    erase_son = model.Erase(
        request=model.ErasePerson(member=SON, erased_on=date(2026, 6, 1)), requested_by="city-admin"
    )
    [erased] = model.decide(erase_son, household_case())
    assert erased == model.MemberErased(
        subject_ref=SON, erased_on=date(2026, 6, 1), requested_by="city-admin"
    )
    case = household_case(erased)
    assert case.member(SON).identity is None and case.person is not None and case.erased_on is None
    assert model.decide(erase_son, case) == []
    [published] = to_public(case, erased, "houkatsu-chuo")
    assert (published.event_type, published.subject_ref) == ("SubjectErased", SON)
    assert "n:次郎" not in model.register_entry(case).search
    to_outreach = model.ReferOutreach(
        request=model.ReferMemberToOutreach(member=SON, reason="再依頼", referred_on=date(2026, 6, 2)),
        referral_id=uuid.uuid4(),
    )
    with pytest.raises(DomainError) as gone:
        model.decide(to_outreach, case)
    assert gone.value.code == "person_erased"


def test_a_version_1_consultation_reads_with_its_household_as_members_without_pseudonyms():
    stored = RECEIVED.model_dump(mode="json", exclude={"consulter"}) | {
        "person": {
            "name": "架空　太郎",
            "name_kana": None,
            "birth_date": "1975-04-02",
            "address": None,
            "phone": None,
        },
        "household": [
            {"relation": "長男", "age": 51, "name": "架空　次郎"},
            {"relation": "義母", "age": 80, "name": None},
        ],
    }
    event = model.INTAKE_CASE.decode("ConsultationReceived", stored, 1)
    assert event.consulter is None
    assert [(m.subject_ref, m.relation, m.identity.age) for m in event.household] == [
        (None, Relation.CHILD, 51),
        (None, Relation.OTHER_RELATIVE, 80),
    ]
    assert given(event).people() == (RECEIVED.subject_ref,)  # not referable until recorded again
    erased = model.INTAKE_CASE.decode("ConsultationReceived", stored | {"household": None, "person": None}, 1)
    assert erased.household is None and erased.person is None
