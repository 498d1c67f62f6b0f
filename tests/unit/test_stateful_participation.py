"""Participation menus under any sequence of commands: never overbooked, one seat per person,
and the stored stream rebuilds the menu exactly."""

import uuid
from functools import partial

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, initialize, invariant, rule

from contracts.glossary import IssueTag, MenuKind, MenuStatus
from services.participation.domain import menu
from tests.stateful import FAST, START, AggregateMachine, days

CASES = [uuid.UUID(int=i) for i in range(1, 7)]  # few people, so "already placed" is hit


class MenuMachine(AggregateMachine):
    aggregate = menu.MENU
    placements = Bundle("placements")

    @initialize(capacity=st.integers(min_value=1, max_value=4))
    def publish(self, capacity):
        request = menu.PublishMenu(
            title="農園での就労体験",
            description="週2回、午前中の収穫作業",
            kind=MenuKind.WORK_EXPERIENCE,
            host_organisation="farm-minami",
            host_name="みなみ農園",
            district="minami-1",
            capacity=capacity,
            schedule="火・金 9:00-12:00",
            target_groups=[IssueTag.HIKIKOMORI],
        )
        publish = menu.Publish(
            request=request, menu_id=uuid.uuid4(), managed_by="sanka-center", published_on=START
        )
        [published] = self.run(partial(menu.decide, publish))
        assert published.menu_id == publish.menu_id and published.capacity == capacity
        assert self.run(partial(menu.decide, publish)) is None  # never twice

    @rule(target=placements, case=st.sampled_from(CASES), on=days)
    def take_seat(self, case, on):
        placement = uuid.uuid4()
        full = len(self.state.seats) >= self.state.current.capacity
        closed = self.state.status is MenuStatus.CLOSED
        command = menu.TakeSeat(placement_id=placement, participation_case_id=case, taken_on=on)
        events = self.run(partial(menu.decide, command))
        if full or closed:
            assert events is None
        return placement

    @rule(placement=placements, on=days)
    def retry_take_seat(self, placement, on):
        """A retried request for a seat already held gets it again and records nothing."""
        seat = self.state.seat(placement)
        if seat is not None:
            case = seat.participation_case_id
            command = menu.TakeSeat(placement_id=placement, participation_case_id=case, taken_on=on)
            assert self.run(partial(menu.decide, command)) == []

    @rule(placement=placements, on=days)
    def release_seat(self, placement, on):
        held = self.state.seat(placement) is not None
        events = self.run(partial(menu.decide, menu.ReleaseSeat(placement_id=placement, released_on=on)))
        assert len(events) == (1 if held else 0)
        assert self.state.seat(placement) is None

    @rule(capacity=st.integers(min_value=1, max_value=5), on=days)
    def change_capacity(self, capacity, on):
        seated = len(self.state.seats)
        revise = menu.Revise(request=menu.ReviseMenu(capacity=capacity), revised_on=on)
        events = self.run(partial(menu.decide, revise))
        assert (events is None) == (capacity < seated)

    @rule(status=st.sampled_from(list(MenuStatus)), on=days)
    def open_or_close(self, status, on):
        self.run(partial(menu.decide, menu.Revise(request=menu.ReviseMenu(status=status), revised_on=on)))
        assert self.state.status is status

    @invariant()
    def never_overbooked(self):
        if self.state.current is not None:
            assert len(self.state.seats) <= self.state.current.capacity

    @invariant()
    def one_seat_per_person_and_per_placement(self):
        seats = self.state.seats
        assert len({s.participation_case_id for s in seats}) == len(seats)
        assert len({s.placement_id for s in seats}) == len(seats)


TestMenu = MenuMachine.TestCase
TestMenu.settings = FAST
