"""Intake's consent records under any sequence of grants, narrowings and withdrawals: consent only
ever narrows, a withdrawal is final, nothing covers a day outside its term, and the stored
stream rebuilds the records exactly.

Commands go through the aggregate's `decide`, as the service runs them. They are built without
the request's validation (`model_construct`): an empty scope must be refused by the domain itself,
not only by the HTTP layer, since other code may build commands too."""

import uuid
from datetime import timedelta

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, invariant, rule

from contracts.glossary import ConsentPurpose, Program
from services.intake.domain import consent
from tests.stateful import FAST, START, AggregateMachine, days

programs = st.sets(st.sampled_from(list(Program)), max_size=5).map(sorted)


class ConsentMachine(AggregateMachine):
    aggregate = consent.CONSENTS
    consents = Bundle("consents")

    def __init__(self):
        super().__init__()
        self.withdrawn: set[uuid.UUID] = set()
        self.scopes: dict[uuid.UUID, frozenset[Program]] = {}

    @rule(target=consents, scope=programs, on=days, term=st.integers(min_value=-3, max_value=400))
    def grant(self, scope, on, term):
        grant = consent.Grant(
            request=consent.GrantConsent.model_construct(
                programs=scope,
                purpose=ConsentPurpose.SUPPORT_COORDINATION,
                granted_on=on,
                expires_on=on + timedelta(days=term),
            ),
            consent_id=uuid.uuid4(),
            received_on=START,
        )
        events = self.run(lambda c: consent.decide(grant, c))
        assert (events is None) == (not scope or term <= 0)
        if events:
            self.scopes[grant.consent_id] = frozenset(scope)
        return grant.consent_id

    @rule(consent_id=consents, scope=programs, on=days)
    def narrow(self, consent_id, scope, on):
        before = self.state.get(consent_id)
        narrow = consent.Narrow(
            request=consent.NarrowConsent.model_construct(programs=scope, narrowed_on=on),
            consent_id=consent_id,
        )
        events = self.run(lambda c: consent.decide(narrow, c))
        if events:
            assert before is not None and frozenset(scope) < before.programs
            self.scopes[consent_id] = frozenset(scope)

    @rule(consent_id=consents, on=days)
    def withdraw(self, consent_id, on):
        withdraw = consent.Withdraw(request=consent.WithdrawConsent(withdrawn_on=on), consent_id=consent_id)
        events = self.run(lambda c: consent.decide(withdraw, c))
        if events:
            assert consent_id not in self.withdrawn, "a withdrawal is final"
            self.withdrawn.add(consent_id)

    @invariant()
    def consent_only_narrows_and_withdrawal_is_final(self):
        for record in self.state.records:
            assert record.programs == self.scopes[record.consent_id]
            assert (record.withdrawn_on is not None) == (record.consent_id in self.withdrawn)
            assert record.programs, "an empty scope is a withdrawal, never a record"
            assert record.granted_on < record.expires_on

    @invariant()
    def nothing_covers_a_day_outside_its_term(self):
        for program in Program:
            for offset in (-1, 0, 30, 420):
                day = START + timedelta(days=offset)
                covering = self.state.covering(program, day)
                if covering is not None:
                    assert covering.withdrawn_on is None
                    assert covering.granted_on <= day <= covering.expires_on
                    assert program in covering.programs


TestConsent = ConsentMachine.TestCase
TestConsent.settings = FAST
