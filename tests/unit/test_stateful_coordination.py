"""A coordination case under any sequence of drafts, answers to proposed roles, agreements,
monitoring, conclusion and つなぎもどし: plan versions consecutive and dated in order, a
重層的支援会議 only with consent, every agreed role accepted before its meeting and no declined
role agreed, one ending, and the stored stream rebuilds the case.

Commands go through the aggregate's `decide`, as the service runs them. Those with values a request
would refuse (no note, a negative goal count) are built without validation (`model_construct`):
the domain must hold its rules whoever builds the command."""

import uuid
from datetime import timedelta
from itertools import pairwise

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, rule

from contracts.glossary import (
    AgeBand,
    ConclusionOutcome,
    IssueTag,
    MeetingType,
    ReturnReason,
    RoleDeclineReason,
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
        self.answers_at_agreement: dict[int, tuple] = {}
        self.today = START

    def day(self, on, in_order: bool, later: int):
        """`on` as drawn, or (in order) a few days after the last day a plan step was taken in
        order: random days hit the ordering refusals, ordered ones get plans agreed."""
        if not in_order:
            return on
        self.today += timedelta(days=later)
        return self.today

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
        roles=st.integers(min_value=1, max_value=3),
        on=days,
        review_in=st.integers(min_value=-1, max_value=90),
        period=st.integers(min_value=-1, max_value=365),
        keep_first=st.booleans(),
        in_order=st.booleans(),
        later=st.integers(min_value=0, max_value=5),
    )
    def draft_plan(self, roles, on, review_in, period, keep_first, in_order, later):
        """A draft (or a redraft); `keep_first` repeats the last draft's first role unchanged."""
        on = self.day(on, in_order, later)
        plan_roles = [
            model.Role(
                organisation=ORGS[i % len(ORGS)],
                responsibility=RoleResponsibility.MAIN_CONTACT,
                review_on=on + timedelta(days=review_in),
            )
            for i in range(roles)
        ]
        last = self.state.draft.drafted.roles if self.state.draft else None
        if keep_first and last:
            plan_roles[0] = last[0]
        command = model.DraftPlan.model_construct(
            goals=["通院の再開", "家計の立て直し"],
            wishes="自宅で暮らし続けたい",
            period_from=on,
            period_to=on + timedelta(days=period),
            emergency=None,
            roles=plan_roles,
            drafted_on=on,
        )
        self.run(lambda c: model.decide(command, c))

    @rule(
        version=st.integers(min_value=1, max_value=4),
        index=st.integers(min_value=0, max_value=3),
        on=days,
        declined=st.integers(min_value=0, max_value=3).map(lambda n: n == 0),  # one answer in four
        in_order=st.booleans(),
        later=st.integers(min_value=0, max_value=5),
    )
    def answer_role(self, version, index, on, declined, in_order, later):
        """In order: an answer to a role of the current draft (any version and index otherwise)."""
        draft = self.state.draft
        if in_order and draft is not None and draft.answers:
            version, index = draft.drafted.plan_version, index % len(draft.answers)
        on = self.day(on, in_order, later)
        command: model.RecordAcceptance | model.RecordDeclination
        if declined:
            command = model.RecordDeclination(
                request=model.DeclineRole(reason=RoleDeclineReason.NO_CAPACITY, declined_on=on),
                plan_version=version,
                role_index=index,
                recorded_by="tajikan",
            )
        else:
            command = model.RecordAcceptance(
                request=model.AcceptRole(accepted_on=on),
                plan_version=version,
                role_index=index,
                recorded_by="tajikan",
            )
        self.run(lambda c: model.decide(command, c))

    @rule(
        meeting=st.sampled_from(list(MeetingType)),
        consented=st.booleans(),
        on=days,
        in_order=st.booleans(),
        later=st.integers(min_value=0, max_value=5),
    )
    def agree_plan(self, meeting, consented, on, in_order, later):
        draft = self.state.draft
        on = self.day(on, in_order, later)
        command = model.PlanAtMeeting(
            request=model.AgreePlan(),
            meeting_type=meeting,
            members=ORGS,
            agreed_on=on,
            consented=consented,
        )
        events = self.run(lambda c: model.decide(command, c))
        if events:
            [agreed] = events
            assert draft is not None and not draft.unanswered
            self.consented_plans[agreed.plan_version] = consented
            self.answers_at_agreement[agreed.plan_version] = draft.answers

    @rule(
        roles=st.integers(min_value=1, max_value=3),
        declined=st.sets(st.integers(min_value=0, max_value=2), max_size=2),
        meeting=st.sampled_from(list(MeetingType)),
        consented=st.booleans(),
        later=st.integers(min_value=0, max_value=5),
    )
    def plan_as_practised(self, roles, declined, meeting, consented, later):
        """The steps in their usual order: a draft, every role answered, the meeting that agrees it."""
        self.draft_plan(roles, START, 30, 180, keep_first=False, in_order=True, later=later)
        draft = self.state.draft
        if draft is None:
            return
        for index in range(len(draft.answers)):
            self.answer_role(draft.drafted.plan_version, index, START, index in declined, True, 0)
        self.agree_plan(meeting, consented, START, in_order=True, later=later)

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

    # Ending a case is tried a quarter as often as the other steps, so that runs get as far as
    # plans, answers and revisions before a return or a decline closes the case.
    @rule(reason=st.sampled_from(list(ReturnReason)), on=days, tried=st.integers(min_value=0, max_value=3))
    def return_to_origin(self, reason, on, tried):
        if tried:
            return
        command = model.ReturnToOrigin(reason=reason, returned_on=on)
        self.run(lambda c: model.decide(command, c))

    @rule(on=days, tried=st.integers(min_value=0, max_value=3))
    def decline(self, on, tried):
        if tried:
            return
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
    def every_agreed_role_was_accepted_before_its_meeting_and_no_declined_role_agreed(self):
        for plan in self.state.plans:
            answers = self.answers_at_agreement[plan.plan_version]
            accepted = [i for i, a in enumerate(answers) if isinstance(a, model.RoleAccepted)]
            assert plan.draft_roles == accepted and accepted, "the plan is its draft's accepted roles"
            assert plan.roles is not None and len(plan.roles) == len(accepted)
            for index in range(len(plan.roles)):
                acceptance = self.state.acceptance(plan.plan_version, index)
                assert acceptance is not None and acceptance.accepted_on <= plan.agreed_on
                assert plan.roles[index].review_on >= plan.agreed_on
        keys = [(a.plan_version, a.role_index) for a in self.state.acceptances]
        assert len(keys) == len(set(keys))

    @invariant()
    def a_draft_is_of_the_next_version_and_answered_only_after_it_was_drafted(self):
        """An answer kept from a replaced draft (its role unchanged) is as old as that draft."""
        draft = self.state.draft
        if draft is None:
            return
        drafted = draft.drafted
        assert drafted.plan_version == len(self.state.plans) + 1
        assert drafted.roles is not None and len(draft.answers) == len(drafted.roles)
        for index, answer in enumerate(draft.answers):
            if answer is None:
                continue
            assert answer.plan_version == drafted.plan_version and answer.draft is not None
            assert answer.draft <= drafted.draft
            if answer.draft == drafted.draft:
                assert answer.role_index == index and model.answered_on(answer) >= drafted.drafted_on

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
# Longer runs than the other machines: a plan takes three kinds of step (draft, answers, meeting)
# before anything depends on it, and a decline or return ends the case early.
TestCoordinationCase.settings = settings(FAST, stateful_step_count=40)
