"""A coordination case under any sequence of plans, acceptances, monitoring, conclusion and
つなぎもどし: plan versions consecutive and dated in order, a 重層的支援会議 only with consent, roles
accepted once each for the current plan, one ending, and the stored stream rebuilds the case.

Commands go through the aggregate's `decide`, as the service runs them. Those with values a request
would refuse (no note, a negative goal count) are built without validation (`model_construct`):
the domain must hold its rules whoever builds the command."""

import uuid
from datetime import timedelta
from itertools import pairwise

from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, rule

from contracts.glossary import (
    AgeBand,
    ConclusionOutcome,
    IssueTag,
    MeetingType,
    ReturnReason,
    RoleResponsibility,
    Urgency,
)
from services.coordination.domain import model
from tests.stateful import FAST, START, AggregateMachine, days

ORGS = ["kaigo-center", "city-soudan", "npo-tsunagari"]


class CoordinationCaseMachine(AggregateMachine):
    aggregate = model.COORDINATION_CASE

    def __init__(self):
        super().__init__()
        self.consented_plans: dict[int, bool] = {}

    @initialize()
    def open_case(self):
        referral = uuid.uuid4()
        opened = model.CaseOpened(
            coordination_case_id=model.case_id_for(referral),
            holder_organisation="tajikan",
            case_key=uuid.uuid4(),
            referral_id=referral,
            referring_organisation="city-soudan",
            subject_ref=f"subj_{uuid.uuid4().hex}",
            issue_tags=[IssueTag.EIGHTY_FIFTY],
            age_band=AgeBand.MIDDLE,
            district="chuo-1",
            urgency=Urgency.ROUTINE,
            opened_on=START,
        )
        command = model.OpenCase(opened=opened)
        assert self.run(lambda c: model.decide(command, c)) == [opened]
        assert self.run(lambda c: model.decide(command, c)) == []  # a re-delivered referral

    @rule(
        meeting=st.sampled_from(list(MeetingType)),
        consented=st.booleans(),
        roles=st.integers(min_value=1, max_value=3),
        on=days,
        review_in=st.integers(min_value=-2, max_value=90),
    )
    def agree_plan(self, meeting, consented, roles, on, review_in):
        plan_roles = [
            model.Role(
                organisation=ORGS[i % len(ORGS)],
                responsibility=RoleResponsibility.MAIN_CONTACT,
                review_on=on + timedelta(days=review_in),
            )
            for i in range(roles)
        ]
        command = model.PlanAtMeeting(
            request=model.AgreePlan(goals=["通院の再開", "家計の立て直し"], roles=plan_roles),
            meeting_type=meeting,
            members=ORGS,
            agreed_on=on,
            consented=consented,
        )
        events = self.run(lambda c: model.decide(command, c))
        if events:
            self.consented_plans[events[0].plan_version] = consented

    @rule(version=st.integers(min_value=1, max_value=4), index=st.integers(min_value=0, max_value=3), on=days)
    def accept_role(self, version, index, on):
        command = model.RecordAcceptance(
            request=model.AcceptRole(accepted_on=on),
            plan_version=version,
            role_index=index,
            recorded_by="tajikan",
        )
        self.run(lambda c: model.decide(command, c))

    @rule(on=days)
    def monitor(self, on):
        command = model.RecordMonitoring.model_construct(monitored_on=on, note=None, organisations=ORGS[:2])
        self.run(lambda c: model.decide(command, c))

    @rule(
        outcome=st.sampled_from(list(ConclusionOutcome)), met=st.integers(min_value=-1, max_value=3), on=days
    )
    def conclude(self, outcome, met, on):
        command = model.ConcludeSupport.model_construct(
            outcome=outcome, goals_met=met, evaluation=None, concluded_on=on, meeting_id=None
        )
        self.run(lambda c: model.decide(command, c))

    @rule(reason=st.sampled_from(list(ReturnReason)), on=days)
    def return_to_origin(self, reason, on):
        command = model.ReturnToOrigin(reason=reason, returned_on=on)
        self.run(lambda c: model.decide(command, c))

    @rule(on=days)
    def decline(self, on):
        command = model.DeclineReferral.model_construct(note=None, declined_on=on)
        self.run(lambda c: model.decide(command, c))

    @invariant()
    def plan_versions_are_consecutive_and_dated_in_order(self):
        plans = self.state.plans
        assert [p.plan_version for p in plans] == list(range(1, len(plans) + 1))
        assert all(a.agreed_on <= b.agreed_on for a, b in pairwise(plans))

    @invariant()
    def a_support_plan_meeting_needs_consent(self):
        for plan in self.state.plans:
            if plan.meeting_type is MeetingType.SUPPORT_PLAN_MEETING:
                assert self.consented_plans[plan.plan_version]

    @invariant()
    def roles_accepted_once_each_within_their_plan(self):
        keys = [(a.plan_version, a.role_index) for a in self.state.acceptances]
        assert len(keys) == len(set(keys))
        for a in self.state.acceptances:
            plan = self.state.plans[a.plan_version - 1]
            assert plan.roles is not None and 0 <= a.role_index < len(plan.roles)
            assert a.accepted_on >= plan.agreed_on

    @invariant()
    def one_ending(self):
        s = self.state
        if s.concluded is not None:
            assert 0 <= s.concluded.goals_met <= s.concluded.goals_total
            assert s.plans, "a conclusion evaluates a plan"
        if s.returned is not None:
            assert s.status is model.Status.RETURNED
        elif s.concluded is not None:
            assert s.status is model.Status.CONCLUDED


TestCoordinationCase = CoordinationCaseMachine.TestCase
TestCoordinationCase.settings = FAST
