"""Coordination's rules: consent and the two meetings, plan versions and revisions, role acceptance,
assessment, monitoring, referrals, decline, conclusion, return to origin, meeting records.

Every command goes through its aggregate's one `decide(command, state)`, as the service runs it.
Commands whose request a test breaks on purpose (an empty list, a missing note) are built without
the request's validation (`model_construct`): the domain must refuse them itself, since other code
than the HTTP layer may build commands too.
"""

import uuid
from datetime import date, timedelta

import pytest

from contracts.glossary import (
    AgeBand,
    AttendeeRole,
    ConclusionOutcome,
    IssueTag,
    LocalResourceKind,
    MeetingDecision,
    MeetingType,
    ParticipationNeed,
    ReturnReason,
    RoleDeclineReason,
    RoleResponsibility,
    Urgency,
)
from libs.domain import DomainError, DomainEvent, InvalidCommand, NotFound
from services.coordination.domain import consent, meeting, model
from services.coordination.service_layer.public_events import meeting_to_public, to_public

REFERRAL = uuid.uuid4()


def opened() -> model.CaseOpened:
    return model.CaseOpened(
        coordination_case_id=model.case_id_for(REFERRAL),
        holder_organisation="shakyo-tagikan",
        case_key=uuid.uuid4(),
        referral_id=REFERRAL,
        referring_organisation="houkatsu-chuo",
        subject_ref=f"subj_{uuid.uuid4().hex}",
        issue_tags=[IssueTag.DOUBLE_CARE],
        age_band=AgeBand.YOUNG_ADULT,
        district="chuo-1",
        urgency=Urgency.ROUTINE,
        opened_on=date(2026, 4, 2),
    )


ROLE = model.Role(
    organisation="kikan-soudan",
    responsibility=RoleResponsibility.MAIN_CONTACT,
    review_on=date(2026, 7, 1),
    note="週1回訪問",
)


WISHES = "本人は自宅で母と暮らし続けたい"
EMERGENCY = "夜間は基幹相談支援センターの当番へ連絡する"


def draft(case: model.Case, **overrides) -> list[DomainEvent]:
    """The coordinator's 支援プラン（案）, built without the request's validation (so the domain's own
    refusals are what is tested)."""
    asked = {
        "goals": ["子の保育先を確保する"],
        "wishes": WISHES,
        "period_from": date(2026, 4, 10),
        "period_to": date(2027, 3, 31),
        "emergency": EMERGENCY,
        "roles": [ROLE],
        "drafted_on": date(2026, 4, 6),
    } | overrides
    return model.decide(model.DraftPlan.model_construct(**asked), case)


def answer(
    case: model.Case,
    role_index: int,
    on: date = date(2026, 4, 8),
    *,
    reason: RoleDeclineReason | None = None,
    note: str | None = None,
    plan_version: int = 1,
    recorded_by: str = "shakyo-tagikan",
) -> list[DomainEvent]:
    """An agency's answer to role `role_index` of the draft: accepted, or declined for `reason`."""
    if reason is None:
        return model.decide(
            model.RecordAcceptance(
                request=model.AcceptRole(accepted_on=on),
                plan_version=plan_version,
                role_index=role_index,
                recorded_by=recorded_by,
            ),
            case,
        )
    return model.decide(
        model.RecordDeclination(
            request=model.DeclineRole.model_construct(reason=reason, note=note, declined_on=on),
            plan_version=plan_version,
            role_index=role_index,
            recorded_by=recorded_by,
        ),
        case,
    )


def agree(case: model.Case, meeting: MeetingType, consented: bool = True, **terms) -> list[DomainEvent]:
    """The current draft agreed at a meeting of type `meeting`, with the meeting's terms (members,
    type, date) as the service established them."""
    command = model.PlanAtMeeting(
        request=model.AgreePlan(),
        consented=consented,
        **{
            "members": ["shakyo-tagikan", "kikan-soudan"],
            "meeting_type": meeting,
            "agreed_on": date(2026, 4, 10),
        }
        | terms,
    )
    return model.decide(command, case)


def plan(case: model.Case, meeting: MeetingType, consented: bool = True, **overrides) -> list[DomainEvent]:
    """A plan as practised: drafted, every role accepted, agreed at a meeting of type `meeting`.
    Overrides name the draft's fields or the meeting's terms; the agreement is the last event."""
    terms = {k: overrides.pop(k) for k in ("members", "agreed_on") if k in overrides}
    drafted_on = terms.get("agreed_on", date(2026, 4, 10)) - timedelta(days=4)
    events = draft(case, **{"drafted_on": drafted_on} | overrides)
    case = model.COORDINATION_CASE.fold(events, case)
    assert case.draft is not None
    for index in range(len(case.draft.answers)):
        drafted = case.draft.drafted
        accepted = answer(case, index, drafted.drafted_on, plan_version=drafted.plan_version)
        case = model.COORDINATION_CASE.fold(accepted, case)
        events += accepted
    return events + agree(case, meeting, consented, **terms)


def back(case: model.Case, reason: ReturnReason, on: date) -> list[DomainEvent]:
    """つなぎもどし with `reason` on `on`, no note."""
    return model.decide(model.ReturnToOrigin(reason=reason, returned_on=on), case)


def test_the_case_id_is_derived_from_the_referral():
    assert model.case_id_for(REFERRAL) == model.case_id_for(REFERRAL)
    assert model.case_id_for(REFERRAL) != model.case_id_for(uuid.uuid4())


def test_a_redelivered_referral_opens_nothing_new():
    event = opened()
    assert model.decide(model.OpenCase(opened=event), model.Case()) == [event]
    assert model.decide(model.OpenCase(opened=event), model.COORDINATION_CASE.fold([event])) == []


def test_an_unknown_command_is_a_programming_error():
    noted = consent.ConsentNoted(
        consent_id=uuid.uuid4(),
        status="active",
        programs=["coordination"],
        expires_on=date(2027, 3, 31),
        changed_on=date(2026, 4, 1),
    )
    with pytest.raises(TypeError):
        model.decide(consent.NoteConsent(noted=noted), model.COORDINATION_CASE.fold([opened()]))
    with pytest.raises(TypeError):
        meeting.decide(model.OpenCase(opened=opened()), meeting.Meeting())
    with pytest.raises(TypeError):
        consent.decide(model.OpenCase(opened=opened()), consent.ConsentState())
    assert consent.decide(consent.NoteConsent(noted=noted), consent.ConsentState()) == [noted]


def test_a_support_plan_meeting_needs_consent_but_a_confidential_support_meeting_does_not():
    case = model.COORDINATION_CASE.fold([opened()])
    with pytest.raises(DomainError) as refused:
        plan(case, MeetingType.SUPPORT_PLAN_MEETING, consented=False)
    assert refused.value.code == "consent_required"
    # Which meetings may agree a plan is only the consent rule today: a 支援会議 still may.
    assert plan(case, MeetingType.CONFIDENTIAL_SUPPORT_MEETING, consented=False)[-1].plan_version == 1
    assert plan(case, MeetingType.SUPPORT_PLAN_MEETING, consented=True)


def test_a_meeting_needs_members_and_records_them_once():
    case = model.COORDINATION_CASE.fold([opened()])
    with pytest.raises(DomainError) as refused:
        plan(case, MeetingType.CONFIDENTIAL_SUPPORT_MEETING, members=[])
    assert refused.value.code == "meeting_without_members"
    agreed = plan(case, MeetingType.CONFIDENTIAL_SUPPORT_MEETING, members=["b-org", "a-org", "b-org"])
    assert agreed[-1].members == ["a-org", "b-org"]


def test_a_draft_needs_goals_roles_and_sensible_dates():
    case = model.COORDINATION_CASE.fold([opened()])
    for overrides, code in (
        ({"roles": []}, "plan_without_roles"),
        ({"goals": []}, "plan_without_goals"),
        ({"period_to": date(2026, 4, 9)}, "period_ends_before_start"),
        ({"drafted_on": date(2026, 4, 1)}, "draft_before_opening"),
        ({"roles": [ROLE.model_copy(update={"review_on": date(2026, 4, 5)})]}, "review_before_draft"),
        ({"period_from": date(2026, 4, 1), "period_to": date(2026, 4, 5)}, "period_before_draft"),
    ):
        with pytest.raises(DomainError) as refused:
            draft(case, **overrides)
        assert refused.value.code == code, overrides
    # Planned days may lie ahead: the period and the reviews are plans, not things that happened.
    [drafted] = draft(case, period_from=date(2030, 1, 1), period_to=date(2031, 1, 1))
    assert (drafted.plan_version, drafted.draft, drafted.kept_answers) == (1, 1, [None])
    assert (drafted.wishes, drafted.emergency) == (WISHES, EMERGENCY)


def test_a_role_names_only_household_members_the_case_knows():
    event = opened()
    case = model.COORDINATION_CASE.fold([event])
    assert case.member_refs == (event.subject_ref,)
    stranger = f"subj_{uuid.uuid4().hex}"
    household = ROLE.model_copy(update={"members": []})
    for_person = ROLE.model_copy(update={"members": [event.subject_ref, event.subject_ref]})
    with pytest.raises(InvalidCommand) as refused:
        draft(case, roles=[for_person, ROLE.model_copy(update={"members": [stranger]})])
    assert refused.value.code == "unknown_member" and "roles.1.members" in refused.value.message
    [drafted] = draft(case, roles=[household, for_person])
    assert [r.members for r in drafted.roles] == [[], [event.subject_ref]]  # each member once


def test_each_proposed_role_is_accepted_or_declined_and_the_answer_says_who_recorded_it():
    other = ROLE.model_copy(update={"organisation": "houkatsu-chuo"})
    case = fold(*draft(fold(), roles=[ROLE, other]))
    accepted = answer(case, 0, recorded_by="kikan-soudan")  # the agency itself
    assert [(a.organisation, a.recorded_by_organisation, a.draft) for a in accepted] == [
        ("kikan-soudan", "kikan-soudan", 1)
    ]
    case = model.COORDINATION_CASE.fold(accepted, case)
    for index, kwargs, code in (
        (0, {}, "role_already_accepted"),
        (2, {}, "role_not_found"),
        (-1, {}, "role_not_found"),
        (0, {"plan_version": 2}, "plan_not_found"),
        (1, {"on": date(2026, 4, 5)}, "answer_before_draft"),
    ):
        with pytest.raises(DomainError) as refused:
            answer(case, index, **kwargs)
        assert refused.value.code == code, (index, kwargs)
    with pytest.raises(InvalidCommand) as unexplained:
        answer(case, 1, reason=RoleDeclineReason.OTHER)
    assert unexplained.value.code == "decline_note_required"
    declined = answer(case, 1, reason=RoleDeclineReason.NO_CAPACITY, note="今月は受け入れ枠がない")
    assert [(d.organisation, d.reason, d.note, d.recorded_by_organisation) for d in declined] == [
        ("houkatsu-chuo", RoleDeclineReason.NO_CAPACITY, "今月は受け入れ枠がない", "shakyo-tagikan")
    ]
    case = model.COORDINATION_CASE.fold(declined, case)
    assert case.draft is not None and case.draft.unanswered == []
    with pytest.raises(DomainError) as twice:
        answer(case, 1, reason=RoleDeclineReason.NO_CAPACITY)
    assert twice.value.code == "role_already_declined"
    # An agency may change its mind before the meeting: the last answer counts.
    case = model.COORDINATION_CASE.fold(answer(case, 1, date(2026, 4, 9)), case)
    assert isinstance(case.draft.answers[1], model.RoleAccepted)


def test_a_redraft_replaces_the_draft_and_asks_again_only_about_changed_roles():
    other = ROLE.model_copy(update={"organisation": "houkatsu-chuo"})
    case = fold(*draft(fold(), roles=[ROLE, other]))
    case = model.COORDINATION_CASE.fold(answer(case, 0), case)
    case = model.COORDINATION_CASE.fold(answer(case, 1, reason=RoleDeclineReason.OUTSIDE_REMIT), case)

    replacement = ROLE.model_copy(update={"organisation": "shakyo-sanka"})
    redraft = draft(case, roles=[replacement, ROLE, ROLE], drafted_on=date(2026, 4, 9))

    assert [(d.plan_version, d.draft, d.kept_answers) for d in redraft] == [(1, 2, [None, 0, None])]
    case = model.COORDINATION_CASE.fold(redraft, case)
    assert case.draft is not None and case.draft.unanswered == [0, 2]
    assert isinstance(case.draft.answers[1], model.RoleAccepted)
    with pytest.raises(DomainError) as backdated:
        draft(case, drafted_on=date(2026, 4, 8))
    assert backdated.value.code == "draft_before_draft"


def test_a_meeting_agrees_a_draft_whose_roles_all_have_an_answer_with_the_accepted_ones():
    with pytest.raises(DomainError) as nothing:
        agree(fold(), MeetingType.SUPPORT_PLAN_MEETING)
    assert nothing.value.code == "no_draft"
    other = ROLE.model_copy(update={"organisation": "houkatsu-chuo", "review_on": date(2026, 6, 1)})
    case = fold(*draft(fold(), roles=[other, ROLE]))
    case = model.COORDINATION_CASE.fold(answer(case, 1), case)
    with pytest.raises(DomainError) as waiting:
        agree(case, MeetingType.SUPPORT_PLAN_MEETING)
    assert waiting.value.code == "roles_unanswered" and "0番（houkatsu-chuo）" in waiting.value.message
    declined = answer(case, 0, reason=RoleDeclineReason.OTHER_AGENCY_SUITED, recorded_by="houkatsu-chuo")
    case = model.COORDINATION_CASE.fold(declined, case)
    for terms, code in (
        ({"agreed_on": date(2026, 4, 1)}, "plan_before_opening"),
        ({"agreed_on": date(2026, 4, 5)}, "plan_before_draft"),
        ({"agreed_on": date(2026, 4, 7)}, "answer_after_plan"),
        ({"agreed_on": date(2026, 7, 2)}, "review_before_plan"),
    ):
        with pytest.raises(DomainError) as refused:
            agree(case, MeetingType.SUPPORT_PLAN_MEETING, **terms)
        assert refused.value.code == code, terms

    [agreed] = agree(case, MeetingType.SUPPORT_PLAN_MEETING)

    assert (agreed.plan_version, agreed.draft, agreed.draft_roles, agreed.roles) == (1, 1, [1], [ROLE])
    assert (agreed.wishes, agreed.emergency, agreed.goal_count) == (WISHES, EMERGENCY, 1)
    assert (agreed.period_from, agreed.period_to) == (date(2026, 4, 10), date(2027, 3, 31))
    case = model.COORDINATION_CASE.fold([agreed], case)
    assert case.draft is None and case.status is model.Status.PLAN_AGREED
    acceptance = case.acceptance(1, 0)  # the agreed plan's role 0 was the draft's role 1
    assert acceptance is not None and (acceptance.organisation, acceptance.accepted_on) == (
        "kikan-soudan",
        date(2026, 4, 8),
    )
    with pytest.raises(DomainError) as agreed_already:
        answer(case, 0)
    assert agreed_already.value.code == "plan_already_agreed"


def test_a_draft_whose_roles_were_all_declined_cannot_be_agreed():
    case = fold(*draft(fold()))
    case = model.COORDINATION_CASE.fold(answer(case, 0, reason=RoleDeclineReason.PERSON_DECLINED), case)
    with pytest.raises(DomainError) as refused:
        agree(case, MeetingType.SUPPORT_PLAN_MEETING)
    assert refused.value.code == "no_accepted_role"
    short = fold(*draft(fold(), period_from=date(2026, 4, 6), period_to=date(2026, 4, 9)))
    short = model.COORDINATION_CASE.fold(answer(short, 0), short)
    with pytest.raises(DomainError) as ended:
        agree(short, MeetingType.SUPPORT_PLAN_MEETING)
    assert ended.value.code == "period_before_plan"


def test_plan_versions_count_up_and_a_returned_case_takes_no_more():
    case = model.COORDINATION_CASE.fold([opened()])
    first = plan(case, MeetingType.SUPPORT_PLAN_MEETING)
    case = model.COORDINATION_CASE.fold(first, case)
    with pytest.raises(DomainError) as early:
        draft(case, drafted_on=date(2026, 4, 9))
    assert early.value.code == "draft_before_plan"
    second = plan(
        case, MeetingType.SUPPORT_PLAN_MEETING, drafted_on=date(2026, 5, 1), agreed_on=date(2026, 5, 8)
    )
    assert second[0].plan_version == 2 and second[-1].plan_version == 2
    case = model.COORDINATION_CASE.fold(second, case)
    returned = back(case, ReturnReason.SUPPORT_CONCLUDED, date(2026, 9, 1))
    case = model.COORDINATION_CASE.fold(returned, case)
    with pytest.raises(DomainError):
        back(case, ReturnReason.SUPPORT_CONCLUDED, date(2026, 9, 2))
    for command in (
        lambda: draft(case, drafted_on=date(2026, 9, 2)),
        lambda: agree(case, MeetingType.SUPPORT_PLAN_MEETING),
    ):
        with pytest.raises(DomainError) as refused:
            command()
        assert refused.value.code == "case_returned"


def test_acceptances_recorded_after_agreement_by_earlier_releases_still_count():
    legacy = model.PlanAgreed(
        plan_version=1,
        meeting_type=MeetingType.SUPPORT_PLAN_MEETING,
        members=["shakyo-tagikan"],
        goals=["子の保育先を確保する"],
        roles=[ROLE],
        agreed_on=date(2026, 4, 10),
        goal_count=1,
    )
    accepted = model.RoleAccepted(
        plan_version=1,
        role_index=0,
        organisation="kikan-soudan",
        accepted_on=date(2026, 4, 11),
        recorded_by_organisation="shakyo-tagikan",
    )
    case = fold(legacy, accepted)
    assert case.acceptance(1, 0) == model.Acceptance(
        1, 0, "kikan-soudan", date(2026, 4, 11), "shakyo-tagikan"
    )
    assert case.draft is None and model.register_entry(case).last_activity_on == date(2026, 4, 11)


def test_conclusion_needs_a_plan_and_unknown_cases_are_not_found():
    case = model.COORDINATION_CASE.fold([opened()])
    with pytest.raises(DomainError) as refused:
        back(case, ReturnReason.SUPPORT_CONCLUDED, date(2026, 5, 1))
    assert refused.value.code == "no_plan"
    assert back(case, ReturnReason.MEETING_DECISION, date(2026, 5, 1))
    with pytest.raises(NotFound):
        back(model.Case(), ReturnReason.MEETING_DECISION, date(2026, 5, 1))


def test_goals_wishes_and_notes_stay_private_and_roles_name_their_members_by_pseudonym():
    event = opened()
    case = model.COORDINATION_CASE.fold([event])
    role = ROLE.model_copy(update={"members": [event.subject_ref]})
    events = plan(case, MeetingType.SUPPORT_PLAN_MEETING, roles=[role])
    case = model.COORDINATION_CASE.fold(events[:-1], case)
    assert all(to_public(model.COORDINATION_CASE.fold([e], case), e) == [] for e in events[:-1])
    published = to_public(model.COORDINATION_CASE.fold(events[-1:], case), events[-1])
    text = published[0].model_dump_json()
    assert "保育" not in text and "週1回" not in text and WISHES not in text and EMERGENCY not in text
    assert published[0].goal_count == 1 and published[0].roles[0].organisation == "kikan-soudan"
    assert published[0].roles[0].members == [event.subject_ref]


# --- the five moments (seed 002 pp.14-15): decline, assessment, roles, monitoring, referrals,
# --- revisions, conclusion and return -----------------------------------------------------

MEMBERS = [
    model.MemberAssessment(
        relation="本人", issue_tags=[IssueTag.DOUBLE_CARE], findings="育児と介護で休めない"
    ),
    model.MemberAssessment(relation="父", issue_tags=[IssueTag.ELDERLY_CARE], findings="要介護2"),
]
ASSESS = model.RecordAssessment(assessed_on=date(2026, 4, 5), members=MEMBERS)
ASSESSED = model.AssessmentRecorded(assessed_on=date(2026, 4, 5), members=MEMBERS)


def fold(*events) -> model.Case:
    return model.COORDINATION_CASE.fold([opened(), *events])


def agreed(case: model.Case, **overrides) -> list:
    return plan(case, MeetingType.SUPPORT_PLAN_MEETING, **overrides)


def decline(case: model.Case, on: date, note: str = "x") -> list[DomainEvent]:
    return model.decide(model.DeclineReferral(note=note, declined_on=on), case)


def accept(case: model.Case, on: date, recorded_by: str = "x", *, plan_version: int, role_index: int) -> list:
    return answer(case, role_index, on, plan_version=plan_version, recorded_by=recorded_by)


def monitor(case: model.Case, on: date, note: str = "x", organisations: tuple[str, ...] = ()) -> list:
    command = model.RecordMonitoring(monitored_on=on, note=note, organisations=list(organisations))
    return model.decide(command, case)


def test_a_referral_is_declined_with_its_reason_only_while_no_plan_exists():
    case = fold()
    declined = decline(case, date(2026, 4, 3), note="対象外のため")
    assert declined[0].reason is ReturnReason.REFERRAL_DECLINED
    published = to_public(model.COORDINATION_CASE.fold(declined, case), declined[0])
    assert published[0].reason == "referral_declined" and "対象外" not in published[0].model_dump_json()
    with pytest.raises(DomainError) as planned:
        decline(fold(*agreed(case)), date(2026, 4, 12))
    assert planned.value.code == "plan_exists"
    with pytest.raises(DomainError) as again:
        decline(model.COORDINATION_CASE.fold(declined, case), date(2026, 4, 4))
    assert again.value.code == "case_returned"
    with pytest.raises(DomainError) as early:
        decline(case, date(2026, 4, 1))
    assert early.value.code == "decline_before_opening"


def test_declining_is_not_a_return_reason():
    with pytest.raises(DomainError) as refused:
        back(fold(), ReturnReason.REFERRAL_DECLINED, date(2026, 4, 3))
    assert refused.value.code == "use_decline"


def test_an_assessment_untangles_each_member():
    assert model.decide(ASSESS, fold()) == [ASSESSED]
    with pytest.raises(InvalidCommand) as empty:
        model.decide(model.RecordAssessment.model_construct(assessed_on=date(2026, 4, 5), members=[]), fold())
    assert empty.value.code == "assessment_without_members"
    with pytest.raises(DomainError) as early:
        model.decide(ASSESS.model_copy(update={"assessed_on": date(2026, 4, 1)}), fold())
    assert early.value.code == "assessment_before_opening"


def test_a_revision_is_a_new_version_drafted_answered_and_agreed_again():
    case = fold(*agreed(fold()))
    revision = [ROLE, ROLE.model_copy(update={"organisation": "x-org"})]
    drafted = draft(case, roles=revision, drafted_on=date(2026, 4, 20))
    assert [(d.plan_version, d.draft, d.kept_answers) for d in drafted] == [(2, 1, [None, None])]
    case = model.COORDINATION_CASE.fold(drafted, case)
    with pytest.raises(DomainError) as superseded:
        accept(case, date(2026, 4, 21), plan_version=1, role_index=0)
    assert superseded.value.code == "plan_already_agreed"
    for index in (0, 1):
        case = model.COORDINATION_CASE.fold(
            accept(case, date(2026, 4, 21), plan_version=2, role_index=index), case
        )
    with pytest.raises(DomainError) as backdated:
        agree(case, MeetingType.SUPPORT_PLAN_MEETING, agreed_on=date(2026, 4, 9))
    assert backdated.value.code == "revision_before_plan"
    [revised] = agree(case, MeetingType.SUPPORT_PLAN_MEETING, agreed_on=date(2026, 5, 1))
    assert (revised.plan_version, revised.goal_count, len(revised.roles)) == (2, 1, 2)


def test_monitoring_follows_the_current_plan():
    with pytest.raises(DomainError) as no_plan:
        monitor(fold(), date(2026, 5, 1), note="様子")
    assert no_plan.value.code == "no_plan"
    case = fold(*agreed(fold()))
    entry = monitor(case, date(2026, 5, 1), note="通所開始", organisations=("b-org", "a-org", "b-org"))
    assert entry[0].plan_version == 1 and entry[0].organisations == ["a-org", "b-org"]
    with pytest.raises(DomainError) as early:
        monitor(case, date(2026, 4, 9))
    assert early.value.code == "monitoring_before_plan"


def test_participation_starts_after_the_assessment_outreach_any_time():
    to_outreach = model.SendToOutreach(
        request=model.ReferToOutreach(
            urgency=Urgency.URGENT, reason="本人と会えていない", referred_on=date(2026, 4, 4)
        ),
        referral_id=uuid.uuid4(),
    )
    outreach = model.ReferredToOutreach(
        referral_id=to_outreach.referral_id,
        urgency=Urgency.URGENT,
        reason="本人と会えていない",
        referred_on=date(2026, 4, 4),
    )
    assert model.decide(to_outreach, fold()) == [outreach]
    to_participation = model.SendToParticipation(
        request=model.ReferToParticipation(
            needs=[ParticipationNeed.PLACE_TO_BE, ParticipationNeed.PLACE_TO_BE],
            reason="日中の居場所が必要",
            referred_on=date(2026, 4, 6),
        ),
        referral_id=uuid.uuid4(),
    )
    participation = model.ReferredToParticipation(
        referral_id=to_participation.referral_id,
        needs=[ParticipationNeed.PLACE_TO_BE],
        reason="日中の居場所が必要",
        referred_on=date(2026, 4, 6),
    )
    with pytest.raises(DomainError) as refused:
        model.decide(to_participation, fold())
    assert refused.value.code == "assessment_required"
    case = fold(ASSESSED)
    assert model.decide(to_participation, case) == [participation]  # each need once
    without_needs = to_participation.model_copy(
        update={"request": to_participation.request.model_copy(update={"needs": []})}
    )
    with pytest.raises(InvalidCommand) as empty:
        model.decide(without_needs, case)
    assert empty.value.code == "referral_without_needs"
    published = to_public(model.COORDINATION_CASE.fold([participation], case), participation)[0]
    assert published.event_type == "ReferredToParticipation" and published.needs == ["place_to_be"]
    assert set(published.issue_tags) == {"double_care", "elderly_care"}  # widened by the assessment
    assert "居場所が必要" not in published.model_dump_json()
    sent = to_public(model.COORDINATION_CASE.fold([outreach], fold()), outreach)[0]
    assert sent.event_type == "ReferredToOutreach" and "会えていない" not in sent.model_dump_json()


def conclude(case: model.Case, **overrides) -> list:
    args = {
        "outcome": ConclusionOutcome.IMPROVED,
        "goals_met": 1,
        "evaluation": "保育先が決まった",
        "concluded_on": date(2026, 9, 1),
    } | overrides
    return model.decide(model.ConcludeSupport(**args), case)


def test_conclusion_evaluates_the_plans_goals_once():
    with pytest.raises(DomainError) as no_plan:
        conclude(fold())
    assert no_plan.value.code == "no_plan"
    case = fold(*agreed(fold()))
    with pytest.raises(InvalidCommand) as too_many:
        conclude(case, goals_met=2)
    assert too_many.value.code == "goals_met_out_of_range"
    concluded = conclude(case)
    assert (concluded[0].goals_met, concluded[0].goals_total) == (1, 1)
    case = model.COORDINATION_CASE.fold(concluded, case)
    assert case.status is model.Status.CONCLUDED
    published = to_public(case, concluded[0])[0]
    assert published.event_type == "SupportConcluded" and "保育先" not in published.model_dump_json()
    with pytest.raises(DomainError) as twice:
        conclude(case)
    assert twice.value.code == "already_concluded"


def test_a_concluded_case_takes_no_more_work_but_can_go_back_to_its_origin():
    case = fold(ASSESSED, *agreed(fold()))
    case = model.COORDINATION_CASE.fold(conclude(case), case)
    outreach = model.SendToOutreach(
        request=model.ReferToOutreach(reason="x", referred_on=date(2026, 9, 2)), referral_id=uuid.uuid4()
    )
    for command in (
        lambda: agreed(case, agreed_on=date(2026, 9, 2)),
        lambda: monitor(case, date(2026, 9, 2)),
        lambda: model.decide(outreach, case),
        lambda: accept(case, date(2026, 9, 2), plan_version=1, role_index=0),
        lambda: draft(case, drafted_on=date(2026, 9, 2)),
        lambda: decline(case, date(2026, 9, 2)),
    ):
        with pytest.raises(DomainError) as refused:
            command()
        assert refused.value.code == "case_concluded"
    with pytest.raises(DomainError) as wrong_reason:
        back(case, ReturnReason.MEETING_DECISION, date(2026, 9, 2))
    assert wrong_reason.value.code == "concluded_return_reason"
    with pytest.raises(DomainError) as early:
        back(case, ReturnReason.SUPPORT_CONCLUDED, date(2026, 8, 1))
    assert early.value.code == "return_before_conclusion"
    returned = back(case, ReturnReason.SUPPORT_CONCLUDED, date(2026, 9, 2))
    case = model.COORDINATION_CASE.fold(returned, case)
    assert case.status is model.Status.RETURNED
    with pytest.raises(DomainError) as referred:
        model.decide(outreach, case)
    assert referred.value.code == "case_returned"
    with pytest.raises(DomainError) as concluded_again:
        conclude(case)
    assert concluded_again.value.code == "case_returned"


def test_outreach_connections_are_noted_once():
    noted = model.ConnectionNoted(
        outreach_case_id=uuid.uuid4(), organisation="shakyo-tagikan", connected_on=date(2026, 5, 1)
    )
    command = model.NoteConnection(noted=noted)
    assert model.decide(command, fold()) == [noted]
    assert model.decide(command, fold(noted)) == []
    with pytest.raises(NotFound):
        model.decide(command, model.Case())


# --- meetings as records -----------------------------------------------------------------

CASE_A, CASE_B = uuid.uuid4(), uuid.uuid4()


def held(**overrides) -> meeting.MeetingHeld:
    return meeting.MeetingHeld(
        **{
            "meeting_id": uuid.uuid4(),
            "holder_organisation": "shakyo-tagikan",
            "meeting_type": MeetingType.SUPPORT_PLAN_MEETING,
            "held_on": date(2026, 4, 10),
            "attendees": [
                meeting.Attendee(organisation="shakyo-tagikan", role=AttendeeRole.CONVENER),
                meeting.Attendee(organisation="houkatsu-chuo", role=AttendeeRole.REFERRING_AGENCY),
                meeting.Attendee(organisation="city-fukushi", role=AttendeeRole.MUNICIPALITY),
            ],
            "cases": [CASE_A],
            "decisions": [
                meeting.CaseDecision(coordination_case_id=CASE_A, decision=MeetingDecision.PLAN_AGREED)
            ],
            "missing_resources": [
                meeting.MissingResource(resource_kind=LocalResourceKind.PEER_GROUP, district="kita-2")
            ],
        }
        | overrides
    )


def recording(event: meeting.MeetingHeld, consented: set[uuid.UUID]) -> meeting.RecordMeeting:
    """The command a coordinator's request for `event` becomes, `consented` as the service found it.

    The request is built without its validation, so the domain's own refusals are what is tested."""
    return meeting.RecordMeeting(
        request=meeting.HoldMeeting.model_construct(
            meeting_type=event.meeting_type,
            held_on=event.held_on,
            attendees=event.attendees,
            cases=event.cases,
            decisions=event.decisions,
            missing_resources=event.missing_resources,
        ),
        meeting_id=event.meeting_id,
        holder_organisation=event.holder_organisation,
        consented=frozenset(consented),
    )


def test_a_meeting_is_recorded_and_publishes_only_its_missing_resources():
    event = held()
    assert meeting.decide(recording(event, {CASE_A}), meeting.Meeting()) == [event]
    state = meeting.MEETING.fold([event])
    published = meeting_to_public(state, event)
    assert [(p.event_type, p.resource_kind, p.district, p.case_key) for p in published] == [
        ("MissingResourceNoted", "peer_group", "kita-2", event.meeting_id)
    ]
    assert state.organisations == ["city-fukushi", "houkatsu-chuo", "shakyo-tagikan"]
    with pytest.raises(DomainError) as twice:
        meeting.decide(recording(event, {CASE_A}), state)
    assert twice.value.code == "meeting_exists"


def test_a_support_plan_meeting_discusses_consented_cases_only():
    with pytest.raises(DomainError) as refused:
        meeting.decide(recording(held(cases=[CASE_A, CASE_B]), {CASE_A}), meeting.Meeting())
    assert refused.value.code == "consent_required"
    confidential = held(meeting_type=MeetingType.CONFIDENTIAL_SUPPORT_MEETING, cases=[CASE_A, CASE_B])
    assert meeting.decide(recording(confidential, set()), meeting.Meeting())


def test_a_meeting_record_must_make_sense():
    tagikan = meeting.Attendee(organisation="shakyo-tagikan", role=AttendeeRole.CONVENER)
    for overrides, code in (
        ({"attendees": []}, "meeting_without_members"),
        ({"attendees": [tagikan, tagikan]}, "duplicate_attendee"),
        (
            {"attendees": [meeting.Attendee(organisation="x-org", role=AttendeeRole.ADVISER)]},
            "convener_absent",
        ),
        ({"cases": [CASE_A, CASE_A]}, "duplicate_case"),
        ({"cases": [], "decisions": [], "missing_resources": []}, "meeting_without_agenda"),
        (
            {
                "decisions": [
                    meeting.CaseDecision(
                        coordination_case_id=CASE_B, decision=MeetingDecision.CONCLUDE_SUPPORT
                    )
                ]
            },
            "decision_for_undiscussed_case",
        ),
    ):
        with pytest.raises(DomainError) as refused:
            meeting.decide(recording(held(**overrides), {CASE_A, CASE_B}), meeting.Meeting())
        assert refused.value.code == code, overrides


def test_a_plan_cites_a_meeting_that_discussed_its_case():
    event = held()
    state = meeting.MEETING.fold([event])
    assert meeting.terms_for(state, CASE_A) is event
    with pytest.raises(DomainError) as refused:
        meeting.terms_for(state, CASE_B)
    assert refused.value.code == "case_not_discussed"
    with pytest.raises(NotFound):
        meeting.terms_for(meeting.Meeting(), CASE_A)


def test_partner_reports_are_kept_on_an_opened_case_even_after_it_returned():
    case = model.COORDINATION_CASE.fold([opened()])
    report = model.PartnerReported(
        program="participation",
        report="PlacementStarted",
        detail="place_to_be",
        partner_case_id=uuid.uuid4(),
        reported_on=date(2026, 5, 1),
    )
    assert model.decide(model.NotePartnerReport(reported=report), case) == [report]
    assert model.COORDINATION_CASE.fold([report], case).partner_reports == (report,)
    with pytest.raises(NotFound):
        model.decide(model.NotePartnerReport(reported=report), model.Case())


def test_the_register_line_of_a_fresh_case_holds_codes_and_dates_only():
    assert model.register_entry(model.Case()) is None
    event = opened().model_copy(update={"issue_tags": [IssueTag.ISOLATION, IssueTag.DOUBLE_CARE]})

    entry = model.register_entry(model.COORDINATION_CASE.fold([event]))

    assert entry is not None
    assert (entry.case_id, entry.case_key, entry.organisation) == (
        event.coordination_case_id,
        event.case_key,
        "shakyo-tagikan",
    )
    assert (entry.status, entry.district, entry.subject_ref) == ("open", "chuo-1", event.subject_ref)
    assert entry.issue_tags == tuple(sorted([IssueTag.ISOLATION.value, IssueTag.DOUBLE_CARE.value]))
    assert entry.opened_on == entry.last_activity_on == date(2026, 4, 2)
    assert entry.due_on is None and entry.search == ()  # no plan yet; no name, birth date or phone here


def test_the_register_line_follows_the_latest_activity_on_the_case():
    case = fold(*agreed(fold()))
    case = model.COORDINATION_CASE.fold(monitor(case, date(2026, 5, 1)), case)
    entry = model.register_entry(case)
    assert entry is not None and (entry.status, entry.last_activity_on) == ("plan_agreed", date(2026, 5, 1))

    report = model.PartnerReported(
        program="participation",
        report="PlacementStarted",
        detail="place_to_be",
        partner_case_id=uuid.uuid4(),
        reported_on=date(2026, 5, 20),
    )
    case = model.COORDINATION_CASE.fold([report], case)
    entry = model.register_entry(case)
    assert entry is not None and entry.last_activity_on == date(2026, 5, 20)
    assert entry.opened_on == date(2026, 4, 2)


def test_the_register_line_is_due_at_the_current_plans_earliest_review_while_it_runs():
    early = ROLE.model_copy(update={"organisation": "houkatsu-chuo", "review_on": date(2026, 6, 1)})
    case = fold(*agreed(fold(), roles=[ROLE, early]))
    assert model.register_entry(case).due_on == date(2026, 6, 1)

    later = ROLE.model_copy(update={"review_on": date(2026, 10, 1)})
    case = model.COORDINATION_CASE.fold(agreed(case, roles=[later], agreed_on=date(2026, 6, 5)), case)
    assert model.register_entry(case).due_on == date(2026, 10, 1)  # a revision sets the next review

    case = model.COORDINATION_CASE.fold(conclude(case), case)
    entry = model.register_entry(case)
    assert entry.status == "concluded" and entry.due_on is None  # nothing due on a concluded case
    assert entry.last_activity_on == date(2026, 9, 1)


def test_the_register_line_waits_for_answers_while_a_draft_has_an_unanswered_role():
    other = ROLE.model_copy(update={"organisation": "houkatsu-chuo"})
    case = fold(*draft(fold(), roles=[ROLE, other]))
    entry = model.register_entry(case)
    assert (entry.status, entry.last_activity_on, entry.due_on) == (
        "awaiting_answers",
        date(2026, 4, 6),
        None,
    )
    case = model.COORDINATION_CASE.fold(answer(case, 0, date(2026, 4, 7)), case)
    assert model.register_entry(case).status == "awaiting_answers"
    case = model.COORDINATION_CASE.fold(
        answer(case, 1, date(2026, 4, 8), reason=RoleDeclineReason.NO_CAPACITY), case
    )
    entry = model.register_entry(case)
    assert (entry.status, entry.last_activity_on) == ("open", date(2026, 4, 8))  # ready for its meeting

    case = model.COORDINATION_CASE.fold(agree(case, MeetingType.SUPPORT_PLAN_MEETING), case)
    case = model.COORDINATION_CASE.fold(draft(case, drafted_on=date(2026, 5, 1)), case)  # a revision
    entry = model.register_entry(case)
    assert (entry.status, entry.due_on) == ("awaiting_answers", date(2026, 7, 1))  # the plan runs on


def test_the_registers_consent_expiry_is_the_latest_active_consent_that_covers_coordination():
    def noted(expires_on: date, *programs: str, status: str = "active") -> consent.ConsentNoted:
        return consent.ConsentNoted(
            consent_id=uuid.uuid4(),
            status=status,
            programs=list(programs),
            expires_on=expires_on,
            changed_on=date(2026, 4, 1),
        )

    kept = noted(date(2026, 7, 1), "coordination", "outreach")
    state = consent.CONSENT_STATE.fold(
        [
            kept,
            noted(date(2027, 3, 31), "outreach"),  # not coordination's to hold the case under
            noted(date(2027, 6, 30), status="withdrawn"),
        ]
    )
    assert consent.CONSENT_STATE.consent_expires_on is not None
    assert consent.CONSENT_STATE.consent_expires_on(state) == date(2026, 7, 1)
    withdrawn = kept.model_copy(update={"status": "withdrawn", "programs": []})
    assert consent.CONSENT_STATE.fold([kept, withdrawn]).latest_expiry() is None
