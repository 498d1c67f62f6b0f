"""Participation's rules: a menu's capacity and seats, a case from assessment to the end of a
placement, and what stays private."""

import uuid
from datetime import date

import pytest
from pydantic import ValidationError

from contracts.glossary import (
    AgeBand,
    FollowUpStatus,
    HostConcern,
    IssueTag,
    MenuKind,
    MenuStatus,
    ParticipationClosureReason,
    ParticipationNeed,
    PlacementOutcome,
)
from libs.domain import DomainError, InvalidCommand, NotFound
from services.participation.domain import menu, model
from services.participation.service_layer.public_events import menu_to_public, to_public

MENU_ID = uuid.uuid4()
REFERRAL = uuid.uuid4()
CASE_ID = model.case_id_for(REFERRAL)


def published(capacity: int = 2) -> menu.MenuPublished:
    return menu.MenuPublished(
        menu_id=MENU_ID,
        managed_by="shakyo-sanka",
        title="あおぞら農園の農作業体験",
        description="野菜の収穫と袋詰め。少人数で静かな環境です。",
        kind=MenuKind.WORK_EXPERIENCE,
        host_organisation="farm-aozora",
        host_name="あおぞら農園",
        district="kita-2",
        capacity=capacity,
        schedule="毎週火・木 10時〜12時",
        target_groups=[IssueTag.HIKIKOMORI],
        published_on=date(2026, 4, 1),
    )


def a_menu(capacity: int = 2, *events) -> menu.Menu:
    return menu.MENU.fold([published(capacity), *events])


def seat(placement: uuid.UUID | None = None, case: uuid.UUID | None = None) -> menu.SeatTaken:
    return menu.SeatTaken(
        placement_id=placement or uuid.uuid4(),
        participation_case_id=case or uuid.uuid4(),
        taken_on=date(2026, 4, 5),
    )


def take(state: menu.Menu, placement: uuid.UUID | None = None, case: uuid.UUID | None = None):
    command = menu.TakeSeat(
        placement_id=placement or uuid.uuid4(),
        participation_case_id=case or uuid.uuid4(),
        taken_on=date(2026, 4, 5),
    )
    return menu.decide(command, state)


def revision(**changes) -> menu.Revise:
    return menu.Revise(request=menu.ReviseMenu(**changes), revised_on=date(2026, 5, 1))


def release(state: menu.Menu, placement: uuid.UUID, on: date):
    return menu.decide(menu.ReleaseSeat(placement_id=placement, released_on=on), state)


def publish(capacity: int = 2) -> menu.Publish:
    """The command that leads to `published(capacity)`."""
    event = published(capacity)
    return menu.Publish(
        request=menu.PublishMenu(**event.model_dump(include=set(menu.PublishMenu.model_fields))),
        menu_id=MENU_ID,
        managed_by=event.managed_by,
        published_on=event.published_on,
    )


# --- menus ------------------------------------------------------------------------------


def test_a_menu_takes_people_until_it_is_full_and_refuses_the_next_with_a_reason():
    state = a_menu(2)
    state = menu.MENU.fold(take(state), state)
    state = menu.MENU.fold(take(state), state)
    assert len(state.seats) == 2 and state.free_seats == 0
    with pytest.raises(DomainError) as refused:
        take(state)
    assert refused.value.code == "menu_full" and refused.value.status == 409
    assert "定員（2人）" in refused.value.message


def test_a_released_seat_can_be_taken_again_and_releasing_twice_changes_nothing():
    first = seat()
    state = a_menu(1, first)
    released = release(state, first.placement_id, date(2026, 6, 1))
    assert released == [menu.SeatReleased(placement_id=first.placement_id, released_on=date(2026, 6, 1))]
    state = menu.MENU.fold(released, state)
    assert release(state, first.placement_id, date(2026, 6, 2)) == []
    assert take(state)


def test_a_retried_placement_finds_its_seat_and_one_case_holds_one_seat_per_menu():
    held = seat()
    state = a_menu(3, held)
    assert take(state, held.placement_id, held.participation_case_id) == []
    with pytest.raises(DomainError) as twice:
        take(state, uuid.uuid4(), held.participation_case_id)
    assert twice.value.code == "already_placed"
    with pytest.raises(InvalidCommand):
        take(state, held.placement_id, uuid.uuid4())


def test_capacity_cannot_drop_below_the_people_placed_now():
    state = a_menu(3, seat(), seat())
    with pytest.raises(DomainError) as refused:
        menu.decide(revision(capacity=1), state)
    assert refused.value.code == "capacity_below_placements" and "2人" in refused.value.message
    assert menu.decide(revision(capacity=2), state)[0].capacity == 2


def test_a_closed_menu_keeps_its_placements_but_takes_no_one_new_until_reopened():
    state = a_menu(3, seat())
    closed = menu.decide(revision(status=MenuStatus.CLOSED), state)
    state = menu.MENU.fold(closed, state)
    assert state.status is MenuStatus.CLOSED and len(state.seats) == 1
    with pytest.raises(DomainError) as refused:
        take(state)
    assert refused.value.code == "menu_closed"
    state = menu.MENU.fold(menu.decide(revision(status=MenuStatus.ACTIVE), state), state)
    assert take(state)


def test_a_revision_records_only_what_changed():
    state = a_menu(2)
    assert menu.decide(revision(capacity=2, district="kita-2"), state) == []
    changed = menu.decide(revision(capacity=4, district="kita-2", title="新しい名前"), state)
    assert changed[0].capacity == 4 and changed[0].district is None and changed[0].title == "新しい名前"
    after = menu.MENU.fold(changed, state)
    assert after.current.title == "新しい名前" and after.current.district == "kita-2"


def test_target_groups_are_kept_once_each_in_order_whatever_order_they_were_given_in():
    groups = [IssueTag.ISOLATION, IssueTag.HIKIKOMORI, IssueTag.ISOLATION]
    request = publish().request.model_copy(update={"target_groups": groups})
    [event] = menu.decide(publish().model_copy(update={"request": request}), menu.Menu())
    assert event.target_groups == sorted(set(groups))
    [revised] = menu.decide(revision(target_groups=groups), a_menu(2))
    assert revised.target_groups == sorted(set(groups))
    # The same groups in another order are no change at all.
    assert menu.decide(revision(target_groups=[IssueTag.HIKIKOMORI] * 2), a_menu(2)) == []


def test_unknown_menus_are_not_found_and_a_menu_is_published_once():
    with pytest.raises(NotFound):
        take(menu.Menu())
    with pytest.raises(NotFound):
        menu.decide(revision(capacity=3), menu.Menu())
    assert menu.decide(publish(), menu.Menu()) == [published()]
    with pytest.raises(DomainError):
        menu.decide(publish(), a_menu())


def test_menus_publish_codes_and_numbers_only():
    state = a_menu(2)
    event = menu_to_public(state, published())
    assert [e.event_type for e in event] == ["MenuPublished"]
    text = event[0].model_dump_json()
    assert "あおぞら" not in text and "収穫" not in text and "火・木" not in text
    assert event[0].case_key == MENU_ID and event[0].capacity == 2
    changed = menu.decide(revision(capacity=5), state)
    updated = menu_to_public(menu.MENU.fold(changed, state), changed[0])
    assert updated[0].event_type == "MenuUpdated" and updated[0].capacity == 5


# --- cases ------------------------------------------------------------------------------


def opened() -> model.CaseOpened:
    return model.CaseOpened(
        participation_case_id=CASE_ID,
        holder_organisation="shakyo-sanka",
        case_key=uuid.uuid4(),
        referral_id=REFERRAL,
        coordination_case_id=uuid.uuid4(),
        referring_organisation="shakyo-tagikan",
        subject_ref=f"subj_{uuid.uuid4().hex}",
        needs=[ParticipationNeed.WORK_EXPERIENCE],
        issue_tags=[IssueTag.HIKIKOMORI],
        age_band=AgeBand.MIDDLE,
        district="kita-2",
        opened_on=date(2026, 4, 2),
    )


FACTS = model.MenuFacts(MENU_ID, MenuKind.WORK_EXPERIENCE, "farm-aozora", "kita-2")
WISHES = "人の少ない場所で、体を動かす作業がしたい"


def assess(case: model.Case, needs: list[ParticipationNeed], on: date, wishes: str | None = None):
    return model.decide(model.AssessNeeds(needs=needs, wishes=wishes, assessed_on=on), case)


def place(case: model.Case, placement_id: uuid.UUID, on: date, arrangements: str | None = None):
    request = model.StartPlacement(menu_id=MENU_ID, arrangements=arrangements, started_on=on)
    return model.decide(model.Place(request=request, placement_id=placement_id, menu=FACTS), case)


def follow_up(case: model.Case, placement_id: uuid.UUID, status: FollowUpStatus, on: date, note=None):
    request = model.RecordFollowUp(status=status, note=note, followed_up_on=on)
    return model.decide(model.FollowUp(request=request, placement_id=placement_id), case)


def end(case: model.Case, placement_id: uuid.UUID, outcome: PlacementOutcome, on: date, note=None):
    request = model.EndPlacement(outcome=outcome, note=note, ended_on=on)
    return model.decide(model.End(request=request, placement_id=placement_id), case)


def support(
    case: model.Case, placement_id: uuid.UUID, concern: HostConcern, on: date, worry=None, response=None
):
    request = model.SupportHost(concern=concern, worry=worry, response=response, supported_on=on)
    return model.decide(model.Support(request=request, placement_id=placement_id), case)


def assessed_case() -> model.Case:
    case = model.PARTICIPATION_CASE.fold([opened()])
    needs = [ParticipationNeed.WORK_EXPERIENCE, ParticipationNeed.SOCIAL_CONTACT]
    return model.PARTICIPATION_CASE.fold(assess(case, needs, date(2026, 4, 3), WISHES), case)


def placed_case() -> tuple[model.Case, uuid.UUID]:
    case = assessed_case()
    placement_id = case.next_placement_id(MENU_ID)
    started = place(case, placement_id, date(2026, 4, 7), arrangements="午前のみ")
    return model.PARTICIPATION_CASE.fold(started, case), placement_id


def test_one_case_per_referral_and_a_redelivered_referral_opens_nothing_new():
    assert model.case_id_for(REFERRAL) == CASE_ID != model.case_id_for(uuid.uuid4())
    event = opened()
    assert model.decide(model.OpenCase(opened=event), model.Case()) == [event]
    assert model.decide(model.OpenCase(opened=event), model.PARTICIPATION_CASE.fold([event])) == []


def test_a_command_the_case_does_not_know_is_a_programming_error():
    with pytest.raises(TypeError):
        model.decide(menu.ReleaseSeat(placement_id=uuid.uuid4(), released_on=date(2026, 4, 7)), model.Case())
    with pytest.raises(TypeError):
        menu.decide(model.OpenCase(opened=opened()), menu.Menu())


def test_the_case_stream_carries_its_case_key_and_its_person():
    event = opened()
    case = model.PARTICIPATION_CASE.fold([event])
    assert model.PARTICIPATION_CASE.case_key_of(case) == event.case_key
    assert model.PARTICIPATION_CASE.subject_of(case) == event.subject_ref
    assert model.PARTICIPATION_CASE.case_key_of(model.Case()) is None


def test_a_placement_needs_an_assessment_first():
    case = model.PARTICIPATION_CASE.fold([opened()])
    assert case.status is model.Status.OPEN
    with pytest.raises(DomainError) as refused:
        place(case, uuid.uuid4(), date(2026, 4, 7))
    assert refused.value.code == "not_assessed"


def test_assessments_need_needs_and_sensible_dates_and_supersede_each_other():
    case = model.PARTICIPATION_CASE.fold([opened()])
    with pytest.raises(ValidationError):
        model.AssessNeeds(needs=[], assessed_on=date(2026, 4, 3))
    # The decision refuses it too, whoever builds the command.
    with pytest.raises(InvalidCommand):
        model.decide(model.AssessNeeds.model_construct(needs=[], assessed_on=date(2026, 4, 3)), case)
    with pytest.raises(DomainError) as early:
        assess(case, [ParticipationNeed.LEARNING], date(2026, 4, 1))
    assert early.value.code == "assessment_before_opening"
    case = assessed_case()
    again = assess(case, [ParticipationNeed.PLACE_TO_BE], date(2026, 5, 1))
    assert again[0].assessment_version == 2
    assert model.PARTICIPATION_CASE.fold(again, case).needs == [ParticipationNeed.PLACE_TO_BE]
    with pytest.raises(NotFound):
        assess(model.Case(), [ParticipationNeed.LEARNING], date.today())


def test_place_follow_up_and_end_and_nothing_after_the_end():
    case, placement_id = placed_case()
    assert case.status is model.Status.PLACED
    followed = follow_up(
        case, placement_id, FollowUpStatus.SETTLED, date(2026, 5, 7), note="休まず通えている"
    )
    case = model.PARTICIPATION_CASE.fold(followed, case)
    ended = end(case, placement_id, PlacementOutcome.MOVED_TO_EMPLOYMENT, date(2026, 10, 7))
    case = model.PARTICIPATION_CASE.fold(ended, case)
    assert case.status is model.Status.ASSESSED and not case.placement(placement_id).active
    with pytest.raises(DomainError) as twice:
        end(case, placement_id, PlacementOutcome.TERM_COMPLETED, date(2026, 10, 8))
    assert twice.value.code == "placement_ended" and twice.value.status == 409
    with pytest.raises(DomainError) as late:
        follow_up(case, placement_id, FollowUpStatus.SETTLED, date(2026, 10, 9))
    assert late.value.code == "placement_ended"
    # The host may still be supported after the placement ended (a debrief).
    assert support(case, placement_id, HostConcern.HOST_WORKLOAD, date(2026, 10, 9))


def test_dates_before_the_start_and_unknown_placements_are_refused():
    case, placement_id = placed_case()
    for decide, code in (
        (
            lambda: follow_up(case, placement_id, FollowUpStatus.AT_RISK, date(2026, 4, 6)),
            "follow_up_before_start",
        ),
        (
            lambda: end(case, placement_id, PlacementOutcome.LOST_CONTACT, date(2026, 4, 6)),
            "end_before_start",
        ),
        (lambda: place(case, uuid.uuid4(), date(2026, 4, 8)), "already_placed"),
    ):
        with pytest.raises(DomainError) as refused:
            decide()
        assert refused.value.code == code
    with pytest.raises(NotFound):
        follow_up(case, uuid.uuid4(), FollowUpStatus.SETTLED, date(2026, 5, 1))


def test_placement_ids_are_derived_so_a_retry_is_recognised():
    case = assessed_case()
    placement_id = case.next_placement_id(MENU_ID)
    assert placement_id == case.next_placement_id(MENU_ID)
    placed, _ = placed_case()
    assert placed.placements[0].started.placement_id == placement_id
    assert place(placed, placement_id, date(2026, 4, 7)) == []
    assert placed.next_placement_id(MENU_ID) != placement_id


def test_wishes_notes_and_worries_stay_private_and_placements_publish_durations():
    case, placement_id = placed_case()
    supported = support(
        case,
        placement_id,
        HostConcern.COMMUNICATION_WITH_PERSON,
        date(2026, 4, 20),
        worry="指示が伝わりにくいと農園主が心配",
        response="作業手順を絵カードにした",
    )
    case = model.PARTICIPATION_CASE.fold(supported, case)
    ended = end(case, placement_id, PlacementOutcome.TERM_COMPLETED, date(2026, 10, 7), note="本人が満足")
    case = model.PARTICIPATION_CASE.fold(ended, case)
    published_events = [
        e
        for event in (case.assessments[0], case.placements[0].started, supported[0], ended[0])
        for e in to_public(case, event)
    ]
    assert [e.event_type for e in published_events] == [
        "ParticipationAssessed",
        "PlacementStarted",
        "HostSupported",
        "PlacementEnded",
    ]
    text = "".join(e.model_dump_json() for e in published_events)
    for secret in (WISHES, "午前のみ", "農園主", "絵カード", "本人が満足"):
        assert secret not in text
    assert published_events[-1].days_placed == 183  # still placed after 6 months


def test_suggestions_map_needs_to_menu_kinds():
    kinds = model.KINDS_FOR_NEED[ParticipationNeed.SOCIAL_CONTACT]
    assert MenuKind.SOCIAL_ACTIVITY in kinds and MenuKind.WORK_EXPERIENCE not in kinds
    assert set(model.KINDS_FOR_NEED) == set(ParticipationNeed)


def test_the_register_line_of_a_fresh_case_holds_codes_and_dates_only():
    assert model.register_entry(model.Case()) is None
    event = opened().model_copy(update={"issue_tags": [IssueTag.ISOLATION, IssueTag.HIKIKOMORI]})

    entry = model.register_entry(model.PARTICIPATION_CASE.fold([event]))

    assert entry is not None and model.PARTICIPATION_CASE.register is model.register_entry
    assert (entry.case_id, entry.case_key, entry.organisation) == (CASE_ID, event.case_key, "shakyo-sanka")
    assert (entry.status, entry.district, entry.subject_ref) == ("open", "kita-2", event.subject_ref)
    assert entry.issue_tags == ("hikikomori", "isolation")
    assert entry.opened_on == entry.last_activity_on == date(2026, 4, 2)
    assert entry.due_on is None and entry.search == ()  # nothing scheduled; no name, birth date or phone


def test_the_register_line_follows_the_latest_activity_on_the_case():
    case, placement_id = placed_case()
    entry = model.register_entry(case)
    assert entry is not None and (entry.status, entry.last_activity_on) == ("placed", date(2026, 4, 7))

    case = model.PARTICIPATION_CASE.fold(
        follow_up(case, placement_id, FollowUpStatus.SETTLED, date(2026, 5, 7)), case
    )
    assert model.register_entry(case).last_activity_on == date(2026, 5, 7)
    case = model.PARTICIPATION_CASE.fold(
        end(case, placement_id, PlacementOutcome.TERM_COMPLETED, date(2026, 10, 7)), case
    )
    # A debrief with the host after the placement ended is activity too.
    case = model.PARTICIPATION_CASE.fold(
        support(case, placement_id, HostConcern.HOST_WORKLOAD, date(2026, 10, 9)), case
    )
    entry = model.register_entry(case)
    assert (entry.status, entry.last_activity_on, entry.opened_on) == (
        "assessed",
        date(2026, 10, 9),
        date(2026, 4, 2),
    )


# --- closing a case (終結) -----------------------------------------------------------------


def close(case: model.Case, reason: ParticipationClosureReason, on: date, note: str | None = None):
    return model.decide(model.CloseCase(reason=reason, note=note, closed_on=on), case)


def ended_case() -> tuple[model.Case, uuid.UUID]:
    case, placement_id = placed_case()
    ended = end(case, placement_id, PlacementOutcome.TERM_COMPLETED, date(2026, 10, 7))
    return model.PARTICIPATION_CASE.fold(ended, case), placement_id


def test_a_case_closes_once_with_its_reason_and_its_note_stays_private():
    case, _ = ended_case()

    closed = close(case, ParticipationClosureReason.SETTLED, date(2026, 10, 7), note="自分で通えている")

    assert closed == [
        model.CaseClosed(
            reason=ParticipationClosureReason.SETTLED, note="自分で通えている", closed_on=date(2026, 10, 7)
        )
    ]
    assert model.CaseClosed.personal_fields == ("note",)
    case = model.PARTICIPATION_CASE.fold(closed, case)
    assert case.status is model.Status.CLOSED
    [sent] = to_public(case, closed[0])
    assert sent.event_type == "ParticipationClosed" and sent.topic == "kasane.participation.events.v1"
    assert sent.model_dump(mode="json") == {
        "case_key": str(case.opened.case_key),
        "participation_case_id": str(CASE_ID),
        "reason": "settled",
        "closed_on": "2026-10-07",
    }
    with pytest.raises(DomainError) as twice:
        close(case, ParticipationClosureReason.OTHER, date(2026, 10, 8))
    assert (twice.value.code, twice.value.status) == ("already_closed", 409)


def test_a_running_placement_refuses_the_closure_until_it_is_ended_with_its_outcome():
    case, placement_id = placed_case()
    with pytest.raises(DomainError) as running:
        close(case, ParticipationClosureReason.MOVED_AWAY, date(2026, 6, 1))
    assert running.value.code == "placements_running" and "1件" in running.value.message
    case = model.PARTICIPATION_CASE.fold(
        end(case, placement_id, PlacementOutcome.PERSON_WITHDREW, date(2026, 6, 1)), case
    )
    assert close(case, ParticipationClosureReason.MOVED_AWAY, date(2026, 6, 1))


def test_the_closure_is_the_last_record_and_settling_needs_a_placement():
    case = assessed_case()  # opened 4/2, assessed 4/3
    for on, code in (
        (date(2026, 4, 1), "closure_before_opening"),
        (date(2026, 4, 2), "closure_before_last_record"),
    ):
        with pytest.raises(DomainError) as refused:
            close(case, ParticipationClosureReason.PERSON_WISHED, on)
        assert refused.value.code == code
    assert "2026-04-03" in refused.value.message
    with pytest.raises(DomainError) as unsettled:
        close(case, ParticipationClosureReason.SETTLED, date(2026, 4, 3))
    assert unsettled.value.code == "settled_without_placement"
    assert close(case, ParticipationClosureReason.OTHER_SUPPORT, date(2026, 4, 3))
    with pytest.raises(NotFound):
        close(model.Case(), ParticipationClosureReason.OTHER, date(2026, 4, 3))


def test_nothing_is_added_to_a_closed_case():
    case, placement_id = ended_case()
    case = model.PARTICIPATION_CASE.fold(
        close(case, ParticipationClosureReason.SETTLED, date(2026, 10, 8)), case
    )
    later = date(2026, 11, 1)
    for decide, code in (
        (lambda: assess(case, [ParticipationNeed.LEARNING], later), "case_closed"),
        (lambda: place(case, case.next_placement_id(MENU_ID), later), "case_closed"),
        (lambda: support(case, placement_id, HostConcern.HOST_WORKLOAD, later), "case_closed"),
        # Its placements have all ended: the code on which a repeated end still frees a seat.
        (lambda: end(case, placement_id, PlacementOutcome.TERM_COMPLETED, later), "placement_ended"),
        (lambda: follow_up(case, placement_id, FollowUpStatus.SETTLED, later), "placement_ended"),
    ):
        with pytest.raises(DomainError) as refused:
            decide()
        assert (refused.value.code, refused.value.status) == (code, 409)
    with pytest.raises(DomainError) as closed:
        assess(case, [ParticipationNeed.LEARNING], later)
    assert "2026-10-08 に終結しています" in closed.value.message
    # A redelivered referral still changes nothing.
    assert model.decide(model.OpenCase(opened=case.opened), case) == []


def test_the_register_line_of_a_closed_case_is_closed_on_its_closing_day():
    case, _ = ended_case()
    case = model.PARTICIPATION_CASE.fold(
        close(case, ParticipationClosureReason.CONTACT_LOST, date(2026, 12, 1)), case
    )
    entry = model.register_entry(case)
    assert entry is not None and (entry.status, entry.last_activity_on) == ("closed", date(2026, 12, 1))
