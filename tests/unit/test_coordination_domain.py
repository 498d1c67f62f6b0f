"""Coordination's rules: consent and the two meetings, plan versions and revisions, role acceptance,
assessment, monitoring, referrals, decline, conclusion, return to origin, meeting records."""

import uuid
from datetime import date

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
    RoleResponsibility,
    Urgency,
)
from libs.domain import DomainError, InvalidCommand, NotFound
from services.coordination.domain import meeting, model
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


def plan(case: model.Case, meeting: MeetingType, consented: bool = True, **overrides):
    args = {
        "consented": consented,
        "members": ["shakyo-tagikan", "kikan-soudan"],
        "meeting_type": meeting,
        "goals": ["子の保育先を確保する"],
        "roles": [ROLE],
        "agreed_on": date(2026, 4, 10),
    } | overrides
    return model.agree_plan(case, **args)


def test_the_case_id_is_derived_from_the_referral():
    assert model.case_id_for(REFERRAL) == model.case_id_for(REFERRAL)
    assert model.case_id_for(REFERRAL) != model.case_id_for(uuid.uuid4())


def test_a_redelivered_referral_opens_nothing_new():
    event = opened()
    assert model.open_case(model.Case(), event) == [event]
    assert model.open_case(model.COORDINATION_CASE.fold([event]), event) == []


def test_a_support_plan_meeting_needs_consent_but_a_confidential_support_meeting_does_not():
    case = model.COORDINATION_CASE.fold([opened()])
    with pytest.raises(DomainError) as refused:
        plan(case, MeetingType.SUPPORT_PLAN_MEETING, consented=False)
    assert refused.value.code == "consent_required"
    assert plan(case, MeetingType.CONFIDENTIAL_SUPPORT_MEETING, consented=False)[0].plan_version == 1
    assert plan(case, MeetingType.SUPPORT_PLAN_MEETING, consented=True)


def test_a_meeting_needs_members_and_records_them_once():
    case = model.COORDINATION_CASE.fold([opened()])
    with pytest.raises(DomainError) as refused:
        plan(case, MeetingType.CONFIDENTIAL_SUPPORT_MEETING, members=[])
    assert refused.value.code == "meeting_without_members"
    agreed = plan(case, MeetingType.CONFIDENTIAL_SUPPORT_MEETING, members=["b-org", "a-org", "b-org"])
    assert agreed[0].members == ["a-org", "b-org"]


def test_plans_need_goals_roles_and_sensible_dates():
    case = model.COORDINATION_CASE.fold([opened()])
    for overrides, code in (
        ({"roles": []}, "plan_without_roles"),
        ({"goals": []}, "plan_without_goals"),
        ({"agreed_on": date(2026, 4, 1)}, "plan_before_opening"),
        ({"roles": [ROLE.model_copy(update={"review_on": date(2026, 4, 9)})]}, "review_before_plan"),
    ):
        with pytest.raises(DomainError) as refused:
            plan(case, MeetingType.SUPPORT_PLAN_MEETING, **overrides)
        assert refused.value.code == code


def test_plan_versions_count_up_and_a_returned_case_takes_no_more():
    case = model.COORDINATION_CASE.fold([opened()])
    first = plan(case, MeetingType.SUPPORT_PLAN_MEETING)
    case = model.COORDINATION_CASE.fold(first, case)
    second = plan(case, MeetingType.SUPPORT_PLAN_MEETING)
    assert second[0].plan_version == 2
    case = model.COORDINATION_CASE.fold(second, case)
    returned = model.return_to_origin(
        case, reason=ReturnReason.SUPPORT_CONCLUDED, note=None, returned_on=date(2026, 9, 1)
    )
    case = model.COORDINATION_CASE.fold(returned, case)
    with pytest.raises(DomainError):
        model.return_to_origin(
            case, reason=ReturnReason.SUPPORT_CONCLUDED, note=None, returned_on=date(2026, 9, 2)
        )
    with pytest.raises(DomainError):
        plan(case, MeetingType.SUPPORT_PLAN_MEETING)


def test_conclusion_needs_a_plan_and_unknown_cases_are_not_found():
    case = model.COORDINATION_CASE.fold([opened()])
    with pytest.raises(DomainError) as refused:
        model.return_to_origin(
            case, reason=ReturnReason.SUPPORT_CONCLUDED, note=None, returned_on=date(2026, 5, 1)
        )
    assert refused.value.code == "no_plan"
    assert model.return_to_origin(
        case, reason=ReturnReason.MEETING_DECISION, note=None, returned_on=date(2026, 5, 1)
    )
    with pytest.raises(NotFound):
        model.return_to_origin(
            model.Case(), reason=ReturnReason.MEETING_DECISION, note=None, returned_on=date(2026, 5, 1)
        )


def test_goals_and_role_notes_stay_private():
    case = model.COORDINATION_CASE.fold([opened()])
    agreed = plan(case, MeetingType.SUPPORT_PLAN_MEETING)
    published = to_public(model.COORDINATION_CASE.fold(agreed, case), agreed[0])
    text = published[0].model_dump_json()
    assert "保育" not in text and "週1回" not in text
    assert published[0].goal_count == 1 and published[0].roles[0].organisation == "kikan-soudan"


# --- the five moments (seed 002 pp.14-15): decline, assessment, roles, monitoring, referrals,
# --- revisions, conclusion and return -----------------------------------------------------

MEMBERS = [
    model.MemberAssessment(
        relation="本人", issue_tags=[IssueTag.DOUBLE_CARE], findings="育児と介護で休めない"
    ),
    model.MemberAssessment(relation="父", issue_tags=[IssueTag.ELDERLY_CARE], findings="要介護2"),
]
ASSESSED = model.AssessmentRecorded(assessed_on=date(2026, 4, 5), members=MEMBERS)


def fold(*events) -> model.Case:
    return model.COORDINATION_CASE.fold([opened(), *events])


def agreed(case: model.Case, **overrides) -> list:
    return plan(case, MeetingType.SUPPORT_PLAN_MEETING, **overrides)


def test_a_referral_is_declined_with_its_reason_only_while_no_plan_exists():
    case = fold()
    declined = model.decline(case, note="対象外のため", declined_on=date(2026, 4, 3))
    assert declined[0].reason is ReturnReason.REFERRAL_DECLINED
    published = to_public(model.COORDINATION_CASE.fold(declined, case), declined[0])
    assert published[0].reason == "referral_declined" and "対象外" not in published[0].model_dump_json()
    with pytest.raises(DomainError) as planned:
        model.decline(fold(*agreed(case)), note="x", declined_on=date(2026, 4, 12))
    assert planned.value.code == "plan_exists"
    with pytest.raises(DomainError) as again:
        model.decline(model.COORDINATION_CASE.fold(declined, case), note="x", declined_on=date(2026, 4, 4))
    assert again.value.code == "case_returned"
    with pytest.raises(DomainError) as early:
        model.decline(case, note="x", declined_on=date(2026, 4, 1))
    assert early.value.code == "decline_before_opening"


def test_declining_is_not_a_return_reason():
    with pytest.raises(DomainError) as refused:
        model.return_to_origin(
            fold(), reason=ReturnReason.REFERRAL_DECLINED, note=None, returned_on=date(2026, 4, 3)
        )
    assert refused.value.code == "use_decline"


def test_an_assessment_untangles_each_member():
    assert model.assess(fold(), ASSESSED) == [ASSESSED]
    with pytest.raises(InvalidCommand) as empty:
        model.assess(fold(), ASSESSED.model_copy(update={"members": []}))
    assert empty.value.code == "assessment_without_members"
    with pytest.raises(DomainError) as early:
        model.assess(fold(), ASSESSED.model_copy(update={"assessed_on": date(2026, 4, 1)}))
    assert early.value.code == "assessment_before_opening"


def test_each_agency_accepts_its_role_in_the_current_plan_once():
    case = fold(*agreed(fold()))
    accepted = model.accept_role(
        case, plan_version=1, role_index=0, accepted_on=date(2026, 4, 11), recorded_by="kikan-soudan"
    )
    assert accepted[0].organisation == "kikan-soudan"
    case = model.COORDINATION_CASE.fold(accepted, case)
    for kwargs, code in (
        ({"plan_version": 1, "role_index": 0}, "role_already_accepted"),
        ({"plan_version": 1, "role_index": 1}, "role_not_found"),
        ({"plan_version": 1, "role_index": -1}, "role_not_found"),
        ({"plan_version": 2, "role_index": 0}, "plan_not_found"),
    ):
        with pytest.raises(DomainError) as refused:
            model.accept_role(case, accepted_on=date(2026, 4, 11), recorded_by="x-org", **kwargs)
        assert refused.value.code == code
    with pytest.raises(DomainError) as early:
        model.accept_role(
            fold(*agreed(fold())), plan_version=1, role_index=0, accepted_on=date(2026, 4, 9), recorded_by="x"
        )
    assert early.value.code == "acceptance_before_plan"


def test_a_revision_is_a_new_version_and_the_old_roles_are_closed_to_acceptance():
    case = fold(*agreed(fold()))
    revised = agreed(
        case, agreed_on=date(2026, 5, 1), roles=[ROLE, ROLE.model_copy(update={"organisation": "x-org"})]
    )
    assert revised[0].plan_version == 2 and revised[0].goal_count == 1
    case = model.COORDINATION_CASE.fold(revised, case)
    with pytest.raises(DomainError) as superseded:
        model.accept_role(case, plan_version=1, role_index=0, accepted_on=date(2026, 5, 2), recorded_by="x")
    assert superseded.value.code == "plan_superseded"
    assert model.accept_role(
        case, plan_version=2, role_index=1, accepted_on=date(2026, 5, 2), recorded_by="x"
    )
    with pytest.raises(DomainError) as backdated:
        agreed(case, agreed_on=date(2026, 4, 20))
    assert backdated.value.code == "revision_before_plan"


def test_monitoring_follows_the_current_plan():
    with pytest.raises(DomainError) as no_plan:
        model.monitor(fold(), monitored_on=date(2026, 5, 1), note="様子", organisations=[])
    assert no_plan.value.code == "no_plan"
    case = fold(*agreed(fold()))
    entry = model.monitor(case, monitored_on=date(2026, 5, 1), note="通所開始", organisations=["b", "a", "b"])
    assert entry[0].plan_version == 1 and entry[0].organisations == ["a", "b"]
    with pytest.raises(DomainError) as early:
        model.monitor(case, monitored_on=date(2026, 4, 9), note="x", organisations=[])
    assert early.value.code == "monitoring_before_plan"


def test_participation_starts_after_the_assessment_outreach_any_time():
    outreach = model.ReferredToOutreach(
        referral_id=uuid.uuid4(),
        urgency=Urgency.URGENT,
        reason="本人と会えていない",
        referred_on=date(2026, 4, 4),
    )
    assert model.refer_to_outreach(fold(), outreach) == [outreach]
    participation = model.ReferredToParticipation(
        referral_id=uuid.uuid4(),
        needs=[ParticipationNeed.PLACE_TO_BE],
        reason="日中の居場所が必要",
        referred_on=date(2026, 4, 6),
    )
    with pytest.raises(DomainError) as refused:
        model.refer_to_participation(fold(), participation)
    assert refused.value.code == "assessment_required"
    case = fold(ASSESSED)
    assert model.refer_to_participation(case, participation) == [participation]
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
    return model.conclude(case, **args)


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
    outreach = model.ReferredToOutreach(
        referral_id=uuid.uuid4(), urgency=Urgency.ROUTINE, reason="x", referred_on=date(2026, 9, 2)
    )
    for command in (
        lambda: agreed(case, agreed_on=date(2026, 9, 2)),
        lambda: model.monitor(case, monitored_on=date(2026, 9, 2), note="x", organisations=[]),
        lambda: model.refer_to_outreach(case, outreach),
        lambda: model.accept_role(
            case, plan_version=1, role_index=0, accepted_on=date(2026, 9, 2), recorded_by="x"
        ),
        lambda: model.decline(case, note="x", declined_on=date(2026, 9, 2)),
    ):
        with pytest.raises(DomainError) as refused:
            command()
        assert refused.value.code == "case_concluded"
    with pytest.raises(DomainError) as wrong_reason:
        model.return_to_origin(
            case, reason=ReturnReason.MEETING_DECISION, note=None, returned_on=date(2026, 9, 2)
        )
    assert wrong_reason.value.code == "concluded_return_reason"
    with pytest.raises(DomainError) as early:
        model.return_to_origin(
            case, reason=ReturnReason.SUPPORT_CONCLUDED, note=None, returned_on=date(2026, 8, 1)
        )
    assert early.value.code == "return_before_conclusion"
    back = model.return_to_origin(
        case, reason=ReturnReason.SUPPORT_CONCLUDED, note=None, returned_on=date(2026, 9, 2)
    )
    case = model.COORDINATION_CASE.fold(back, case)
    assert case.status is model.Status.RETURNED
    with pytest.raises(DomainError) as referred:
        model.refer_to_outreach(case, outreach)
    assert referred.value.code == "case_returned"
    with pytest.raises(DomainError) as concluded_again:
        conclude(case)
    assert concluded_again.value.code == "case_returned"


def test_outreach_connections_are_noted_once():
    noted = model.ConnectionNoted(
        outreach_case_id=uuid.uuid4(), organisation="shakyo-tagikan", connected_on=date(2026, 5, 1)
    )
    assert model.note_connection(fold(), noted) == [noted]
    assert model.note_connection(fold(noted), noted) == []
    with pytest.raises(NotFound):
        model.note_connection(model.Case(), noted)


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


def test_a_meeting_is_recorded_and_publishes_only_its_missing_resources():
    event = held()
    assert meeting.hold(meeting.Meeting(), event, consented={CASE_A}) == [event]
    state = meeting.MEETING.fold([event])
    published = meeting_to_public(state, event)
    assert [(p.event_type, p.resource_kind, p.district, p.case_key) for p in published] == [
        ("MissingResourceNoted", "peer_group", "kita-2", event.meeting_id)
    ]
    assert state.organisations == ["city-fukushi", "houkatsu-chuo", "shakyo-tagikan"]
    with pytest.raises(DomainError) as twice:
        meeting.hold(state, event, consented={CASE_A})
    assert twice.value.code == "meeting_exists"


def test_a_support_plan_meeting_discusses_consented_cases_only():
    with pytest.raises(DomainError) as refused:
        meeting.hold(meeting.Meeting(), held(cases=[CASE_A, CASE_B]), consented={CASE_A})
    assert refused.value.code == "consent_required"
    confidential = held(meeting_type=MeetingType.CONFIDENTIAL_SUPPORT_MEETING, cases=[CASE_A, CASE_B])
    assert meeting.hold(meeting.Meeting(), confidential, consented=set())


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
            meeting.hold(meeting.Meeting(), held(**overrides), consented={CASE_A, CASE_B})
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
    assert model.note_partner_report(case, report) == [report]
    assert model.COORDINATION_CASE.fold([report], case).partner_reports == (report,)
    with pytest.raises(NotFound):
        model.note_partner_report(model.Case(), report)
