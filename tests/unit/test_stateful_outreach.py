"""An outreach case under any sequence of contact attempts, milestones, connections and
conclusions: attempts numbered without gaps, milestones once each and in order, no つなぎ before
the person was reached, nothing after the conclusion, and the stored stream rebuilds the case."""

import uuid

from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, rule

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
from services.outreach.domain import model
from tests.stateful import FAST, START, AggregateMachine, days


class OutreachCaseMachine(AggregateMachine):
    aggregate = model.OUTREACH_CASE
    concluded_before = False

    @initialize()
    def identify(self):
        command = model.Identify(
            request=model.IdentifyPotentialClient(
                identified_by=IdentifiedBy.MINSEI_IIN,
                issue_tags=[IssueTag.HIKIKOMORI],
                age_band=AgeBand.MIDDLE,
                district="kita-2",
                description="日中は雨戸が閉まったまま",
                identified_on=START,
            ),
            outreach_case_id=uuid.uuid4(),
            holder_organisation="npo-tsunagari",
            case_key=uuid.uuid4(),
            subject_ref=f"subj_{uuid.uuid4().hex}",
        )
        identified = model.PotentialClientIdentified(
            outreach_case_id=command.outreach_case_id,
            holder_organisation="npo-tsunagari",
            case_key=command.case_key,
            subject_ref=command.subject_ref,
            identified_by=IdentifiedBy.MINSEI_IIN,
            issue_tags=[IssueTag.HIKIKOMORI],
            age_band=AgeBand.MIDDLE,
            district="kita-2",
            description="日中は雨戸が閉まったまま",
            identified_on=START,
        )
        assert self.run(lambda c: model.decide(command, c)) == [identified]
        reopened = model.OpenFromMessage(identified=identified)
        assert self.run(lambda c: model.decide(reopened, c)) == []  # a re-delivery

    def _after_conclusion(self, events) -> None:
        if self.concluded_before:
            assert events is None, "nothing may be recorded on a concluded case"

    @rule(method=st.sampled_from(list(ContactMethod)), outcome=st.sampled_from(list(ContactOutcome)), on=days)
    def attempt(self, method, outcome, on):
        self.concluded_before = self.state.status is model.Status.CONCLUDED
        command = model.AttemptContact(method=method, outcome=outcome, note=None, attempted_on=on)
        events = self.run(lambda c: model.decide(command, c))
        self._after_conclusion(events)

    @rule(milestone=st.sampled_from(list(Milestone)), on=days)
    def milestone(self, milestone, on):
        self.concluded_before = self.state.status is model.Status.CONCLUDED
        command = model.ReachMilestone(milestone=milestone, note=None, reached_on=on)
        events = self.run(lambda c: model.decide(command, c))
        self._after_conclusion(events)

    @rule(to=st.sampled_from(list(ConnectionTarget)), runs=st.booleans(), on=days)
    def connect(self, to, runs, on):
        self.concluded_before = self.state.status is model.Status.CONCLUDED
        reached = self.state.reached(Milestone.FIRST_CONTACT) is not None
        command = model.Connect(
            request=model.ConnectToSupport(
                connected_to=to, organisation="city-soudan", note=None, connected_on=on
            ),
            runs_target_program=runs,
        )
        events = self.run(lambda c: model.decide(command, c))
        self._after_conclusion(events)
        if events:
            assert reached, "no つなぎ before the person was reached"

    @rule(reason=st.sampled_from(list(OutreachConclusionReason)), on=days)
    def conclude(self, reason, on):
        self.concluded_before = self.state.status is model.Status.CONCLUDED
        command = model.Conclude(reason=reason, note=None, concluded_on=on)
        events = self.run(lambda c: model.decide(command, c))
        self._after_conclusion(events)

    @invariant()
    def attempts_are_numbered_without_gaps(self):
        assert [a.attempt_number for a in self.state.attempts] == list(range(1, len(self.state.attempts) + 1))

    @invariant()
    def milestones_once_each_and_in_order(self):
        reached = [m.milestone for m in self.state.milestones]
        assert len(reached) == len(set(reached))
        for m in self.state.milestones:
            before = model.PREREQUISITE[m.milestone]
            if before is not None:
                earlier = self.state.reached(before)
                assert earlier is not None and earlier.reached_on <= m.reached_on
                assert reached.index(before) < reached.index(m.milestone)

    @invariant()
    def status_follows_the_record(self):
        s = self.state
        if s.conclusion is not None:
            assert s.status is model.Status.CONCLUDED
        elif s.connection is not None:
            assert s.status is model.Status.CONNECTED
        if s.conclusion and s.conclusion.reason is OutreachConclusionReason.CONNECTED:
            assert s.connection is not None


TestOutreachCase = OutreachCaseMachine.TestCase
TestOutreachCase.settings = FAST
