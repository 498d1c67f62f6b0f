"""担当の引継ぎ, decided the same way for every program's case."""

from datetime import date

import pytest

from contracts.glossary import Program, Role
from libs.directory import Directory, Organisation, User
from libs.domain import DomainError, InvalidCommand
from libs.handover import HandOver, hand_over, handoff, worker_after
from services.intake.domain import model
from tests.unit.test_intake_domain import RECEIVE, decide

DIRECTORY = Directory(
    municipality="架空市",
    organisations={
        o.id: o
        for o in (
            Organisation("houkatsu-chuo", "中央", frozenset({Program.INTAKE})),
            Organisation("houkatsu-kita", "北", frozenset({Program.INTAKE})),
            Organisation("shakyo-tagikan", "多機関", frozenset({Program.COORDINATION})),
        )
    },
    users={
        u.id: u
        for u in (
            User("chuo-ito", "houkatsu-chuo", frozenset({Role.INTAKE_WORKER}), "伊藤"),
            User("kita-takahashi", "houkatsu-kita", frozenset({Role.INTAKE_WORKER}), "高橋"),
            User("tagikan-tanaka", "shakyo-tagikan", frozenset({Role.COORDINATOR}), "田中"),
        )
    },
)


def ask(**fields: object) -> HandOver:
    return HandOver.model_validate({"reason": "担当地区の変更", "handed_over_on": date(2026, 5, 1)} | fields)


def decided(request: HandOver, worker: str | None = None, since: date = date(2026, 4, 1)):
    command = handoff(request, "houkatsu-chuo", Program.INTAKE, Role.INTAKE_WORKER, DIRECTORY)
    return hand_over(command, worker, since)


def test_a_case_goes_to_the_areas_centre_and_to_a_named_worker():
    moved = decided(ask(to_organisation="houkatsu-kita", to_worker="kita-takahashi"), worker="chuo-ito")
    assert (moved.from_organisation, moved.to_organisation) == ("houkatsu-chuo", "houkatsu-kita")
    assert (moved.from_worker, moved.to_worker) == ("chuo-ito", "kita-takahashi")
    within = decided(ask(to_worker="chuo-ito"))
    assert within.to_organisation == "houkatsu-chuo" and within.to_worker == "chuo-ito"
    unnamed = decided(ask(to_organisation="houkatsu-kita"), worker="chuo-ito")
    assert unnamed.to_worker is None  # the new centre names its own 担当者


@pytest.mark.parametrize(
    "request_fields, worker, error, code",
    [
        ({"to_organisation": "shakyo-tagikan"}, None, InvalidCommand, "target_not_running_program"),
        ({"to_worker": "kita-takahashi"}, None, InvalidCommand, "worker_not_in_target"),
        ({"to_worker": "tagikan-tanaka"}, None, InvalidCommand, "worker_not_in_target"),
        ({"to_worker": "nobody"}, None, InvalidCommand, "worker_not_in_target"),
        ({"to_worker": "chuo-ito"}, "chuo-ito", DomainError, "nothing_to_hand_over"),
        ({"to_organisation": "houkatsu-chuo"}, None, DomainError, "nothing_to_hand_over"),
    ],
)
def test_a_handover_that_makes_no_sense_is_refused(request_fields, worker, error, code):
    with pytest.raises(error) as refused:
        decided(ask(**request_fields), worker=worker)
    assert refused.value.code == code


def test_a_handover_names_someone_and_is_not_dated_before_the_case():
    with pytest.raises(ValueError) as nobody:
        ask()
    assert nobody.value.errors()[0]["type"] == "nobody_named"
    with pytest.raises(DomainError) as early:
        decided(ask(to_worker="chuo-ito"), since=date(2026, 5, 2))
    assert early.value.code == "handover_before_last_record"


def test_the_intake_case_changes_holder_and_its_line_names_the_new_worker():
    command = handoff(
        ask(to_organisation="houkatsu-kita", to_worker="kita-takahashi"),
        "houkatsu-chuo",
        Program.INTAKE,
        Role.INTAKE_WORKER,
        DIRECTORY,
    )
    received = decide(RECEIVE)
    [moved] = decide(command, *received)
    case = model.INTAKE_CASE.fold([*received, moved])
    assert (case.holder, worker_after(case.handovers)) == ("houkatsu-kita", "kita-takahashi")
    line = model.register_entry(case)
    assert (line.organisation, line.handed_to, line.last_activity_on) == (
        "houkatsu-kita",
        ("kita-takahashi",),
        date(2026, 5, 1),
    )
    assert model.register_entry(model.INTAKE_CASE.fold(received)).handed_to is None


def test_an_outreach_case_follows_its_handovers_for_who_may_act_and_its_line():
    from libs.auth import Principal
    from services.outreach.domain import model as outreach
    from services.outreach.service_layer.authorization import may_act
    from tests.unit.test_outreach_domain import IDENTIFIED

    directory = Directory(
        municipality="架空市",
        organisations={
            o.id: o
            for o in (
                Organisation("npo-tsunagari", "つながり", frozenset({Program.OUTREACH})),
                Organisation("npo-minami", "みなみ", frozenset({Program.OUTREACH})),
            )
        },
        users={},
    )
    command = handoff(
        ask(to_organisation="npo-minami", handed_over_on=IDENTIFIED.identified_on),
        "npo-tsunagari",
        Program.OUTREACH,
        Role.OUTREACH_WORKER,
        directory,
    )
    [moved] = outreach.decide(command, outreach.OUTREACH_CASE.fold([IDENTIFIED]))
    case = outreach.OUTREACH_CASE.fold([IDENTIFIED, moved])
    worker = frozenset({Role.OUTREACH_WORKER})
    assert case.holder == "npo-minami" and outreach.register_entry(case).handed_to == (None,)
    assert may_act(Principal("m", "npo-minami", worker), case).allowed
    assert not may_act(Principal("t", "npo-tsunagari", worker), case).allowed


@pytest.mark.parametrize("program", ["coordination", "participation"])
def test_coordination_and_participation_cases_move_to_the_new_holder(program):
    from libs.auth import Principal

    if program == "coordination":
        from services.coordination.domain import model as domain
        from services.coordination.service_layer.authorization import may_act
        from tests.unit.test_coordination_domain import opened

        aggregate, role, code, other = (
            domain.COORDINATION_CASE,
            Role.COORDINATOR,
            Program.COORDINATION,
            "tagikan-b",
        )
    else:
        from services.participation.domain import model as domain
        from services.participation.service_layer.authorization import may_act
        from tests.unit.test_participation_domain import opened

        aggregate, role, code = (
            domain.PARTICIPATION_CASE,
            Role.PARTICIPATION_COORDINATOR,
            Program.PARTICIPATION,
        )
        other = "sanka-b"
    first = opened()
    holder = first.holder_organisation
    directory = Directory(
        municipality="架空市",
        organisations={o: Organisation(o, o, frozenset({code})) for o in (holder, other)},
        users={"b-worker": User("b-worker", other, frozenset({role}), "B")},
    )
    request = ask(to_organisation=other, to_worker="b-worker", handed_over_on=first.opened_on)
    [moved] = aggregate.decide(handoff(request, holder, code, role, directory), aggregate.fold([first]))
    case = aggregate.fold([first, moved])
    line = domain.register_entry(case)
    assert (case.holder, line.organisation, line.handed_to) == (other, other, ("b-worker",))
    assert may_act(Principal("b-worker", other, frozenset({role})), case).allowed
    assert not may_act(Principal("a-worker", holder, frozenset({role})), case).allowed
