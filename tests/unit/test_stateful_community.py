"""A community place under any sequence of activities, volunteers and closing: nothing recorded
before opening or from the closing day on, no empty activity, each volunteer joins and leaves
once, and the stored stream rebuilds the place exactly.

Commands go through the aggregate's `decide`, as the service runs them. Attendance is built without
the request's validation (`model_construct`), so that the domain's own refusals are exercised."""

import uuid

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, initialize, invariant, rule

from contracts.glossary import Generation, PlaceKind, TargetGroup
from services.community.domain import model
from tests.stateful import FAST, START, AggregateMachine, days

OPENED = START.replace(day=10)
counts = st.integers(min_value=0, max_value=3)


class PlaceMachine(AggregateMachine):
    aggregate = model.PLACE
    activities = Bundle("activities")
    volunteers = Bundle("volunteers")

    @initialize()
    def register(self):
        register = model.Register(
            request=model.RegisterPlace(
                kind=PlaceKind.KODOMO_SHOKUDO,
                name="みなみ子ども食堂",
                description=None,
                address=None,
                district="minami-1",
                school_district="minami-es",
                target_groups=[TargetGroup.CHILDREN],
                multi_generational=True,
                schedule=[],
                opened_on=OPENED,
            ),
            place_id=uuid.uuid4(),
            holder_organisation="shakyo",
        )
        [registered] = self.run(lambda p: model.decide(register, p))
        assert isinstance(registered, model.PlaceRegistered) and registered.place_id == register.place_id
        assert self.run(lambda p: model.decide(register, p)) is None

    @rule(target=activities, on=days, c=counts, y=counts, w=counts, o=counts, helpers=counts)
    def record_activity(self, on, c, y, w, o, helpers):
        activity = model.AddActivity(
            request=model.RecordActivity(
                held_on=on,
                attendance=model.AttendanceCounts.model_construct(
                    children=c, youth=y, working_age=w, older=o
                ),
                volunteer_count=helpers,
                new_resident_led=False,
            ),
            activity_id=uuid.uuid4(),
        )
        self.run(lambda p: model.decide(activity, p))
        return activity

    @rule(activity=activities)
    def record_the_same_activity_again(self, activity):
        seen = any(a.activity_id == activity.activity_id for a in self.state.activities)
        events = self.run(lambda p: model.decide(activity, p))
        if seen:
            assert events is None

    @rule(target=volunteers, generation=st.sampled_from(list(Generation)), on=days)
    def register_volunteer(self, generation, on):
        ref = f"vol_{uuid.uuid4().hex}"
        join = model.AddVolunteer(
            request=model.RegisterVolunteer(generation=generation, registered_on=on), volunteer_ref=ref
        )
        self.run(lambda p: model.decide(join, p))
        return ref

    @rule(ref=volunteers, on=days)
    def volunteer_leaves(self, ref, on):
        leave = model.Leave(request=model.RecordLeaving(left_on=on), volunteer_ref=ref)
        self.run(lambda p: model.decide(leave, p))

    @rule(on=days)
    def close(self, on):
        self.run(lambda p: model.decide(model.ClosePlace(closed_on=on), p))

    @invariant()
    def activities_fall_within_the_open_period_and_count_someone(self):
        place = self.state
        ids = [a.activity_id for a in place.activities]
        assert len(ids) == len(set(ids))
        for a in place.activities:
            assert a.held_on >= OPENED
            assert place.closed_on is None or a.held_on < place.closed_on
            assert a.attendance.total > 0

    @invariant()
    def volunteers_join_within_the_open_period_and_leave_after_joining(self):
        place = self.state
        for v in place.volunteers.values():
            assert v.registered_on >= OPENED
            assert v.left_on is None or v.left_on >= v.registered_on
        assert place.closed_on is None or place.closed_on >= OPENED


TestPlace = PlaceMachine.TestCase
TestPlace.settings = FAST


def test_a_place_cannot_close_before_a_volunteer_it_already_has_joined():
    machine = PlaceMachine()
    machine.register()
    ref = f"vol_{uuid.uuid4().hex}"
    join = model.AddVolunteer(
        request=model.RegisterVolunteer(generation=Generation.OLDER, registered_on=OPENED.replace(day=20)),
        volunteer_ref=ref,
    )
    assert machine.run(lambda p: model.decide(join, p)) == [
        model.VolunteerRegistered(
            volunteer_ref=ref, generation=Generation.OLDER, registered_on=OPENED.replace(day=20)
        )
    ]
    close = model.ClosePlace(closed_on=OPENED.replace(day=15))
    assert machine.run(lambda p: model.decide(close, p)) is None
