"""A hypothesis state machine over one pure aggregate: commands in, events out, state folded.

Each rule runs a decision on the current state. Deciding must leave that state as it was, whether
the domain accepts or refuses (DomainError): the machine compares it with a deep copy taken before,
never with itself, so a decision that changes its input in place is caught where it happens.
Accepted events are stored as the event store would store them (JSON, then decoded by the
aggregate) and folded into the state the machine tracks. After every step the stored stream,
folded from nothing, must give exactly that state: what a service rebuilds after a restart is
what it had.
"""

import copy
import json
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any, ClassVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant

from libs.domain import Aggregate, DomainError, DomainEvent

START = date(2026, 4, 1)
days = st.integers(min_value=0, max_value=60).map(lambda n: START + timedelta(days=n))
"""Dates in a two-month window, so that ordering rules (before/after) are hit often."""

FAST = settings(
    max_examples=30,
    stateful_step_count=20,
    derandomize=True,  # the same runs every time: the suite stays deterministic
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


class AggregateMachine(RuleBasedStateMachine):
    aggregate: ClassVar[Aggregate[Any]]

    def __init__(self) -> None:
        super().__init__()
        self.stored: list[DomainEvent] = []
        self.state = self.aggregate.initial()
        self.refused = 0

    def run(self, decide: Callable[[Any], Sequence[DomainEvent]]) -> list[DomainEvent] | None:
        """Apply one command; None when the domain refused it (nothing recorded)."""
        before = copy.deepcopy(self.state)
        try:
            events = list(decide(self.state))
        except DomainError:
            self.refused += 1
            assert self.state == before, "a refused command changed the state it was decided on"
            return None
        assert self.state == before, "deciding changed the state it was decided on"
        for event in events:
            stored = self.aggregate.decode(event.event_type(), json.loads(event.model_dump_json()))
            assert stored == event, "an event must read back from the store as it was written"
            self.stored.append(stored)
        self.state = self.aggregate.fold(events, self.state)
        return events

    @invariant()
    def the_stream_rebuilds_the_state_exactly(self) -> None:
        assert self.aggregate.fold(self.stored) == self.state

    @property
    def version(self) -> int:
        """The stream version an append would expect: one per stored event, no gaps."""
        return len(self.stored)
