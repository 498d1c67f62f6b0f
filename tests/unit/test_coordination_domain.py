"""Coordination's rules: consent and the two meetings, plan versions, return to origin."""

import uuid
from datetime import date

import pytest

from contracts.glossary import AgeBand, IssueTag, MeetingType, ReturnReason, RoleResponsibility, Urgency
from libs.domain import DomainError, NotFound
from services.coordination.domain import model
from services.coordination.service_layer.public_events import to_public

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
