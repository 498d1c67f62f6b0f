"""The checker on hand-made evidence: a clean history passes, and each kind of broken promise is
counted in its own row (no infrastructure needed, so these run in a moment)."""

import uuid
from types import SimpleNamespace

import pytest

from faults.checker import Evidence, KafkaMessage, Store, check
from faults.history import History, Op, Outcome

TOPIC = "kasane.intake.events.v1"


def event(stream: str, version: int, position: int, tx: str, correlation: str, causation: str | None = None):
    return SimpleNamespace(
        event_id=str(uuid.uuid4()),
        stream_id=stream,
        stream_type="IntakeCase",
        version=version,
        global_position=position,
        tx=tx,
        correlation=correlation,
        causation=causation,
    )


def outbox_row(message_id: str, key: str, tx: str, position: int):
    return SimpleNamespace(message_id=message_id, topic=TOPIC, key=key, tx=tx, position=position)


def message(message_id: str, key: str, offset: int, partition: int = 0) -> KafkaMessage:
    return KafkaMessage(TOPIC, partition, offset, key, message_id, {"message-id": message_id})


@pytest.fixture
def evidence() -> Evidence:
    """Two acknowledged commands on one case, both published in order, read models equal."""
    history = History()
    first = Op("intake", "receive_case", "/cases", outcome=Outcome.OK, status=201)
    second = Op("intake", "refer", "/cases/x/referrals", outcome=Outcome.OK, status=201)
    history.add(first)
    history.add(second)
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    store = Store(
        service="intake",
        events=[
            event("case-1", 1, 1, "100", str(first.op_id)),
            event("case-1", 2, 2, "101", str(second.op_id)),
        ],
        outbox=[outbox_row(a, "case-1", "100", 1), outbox_row(b, "case-1", "101", 2)],
        duplicate_ids=[],
        inversions=[],
        chain_problems=[],
    )
    rows = {"cases": {("case-1",)}}
    return Evidence(
        history=history,
        stores={"intake": store},
        published=[message(a, "case-1", 0), message(b, "case-1", 1)],
        dead_letters=[],
        live_read_models=rows,
        rebuilt_read_models={"cases": {("case-1",)}},
        poison=[],
        poison_consumers={},
        max_attempts=5,
        unconsumed=0,
    )


def test_a_clean_history_passes(evidence):
    report = check(evidence)
    assert report.ok, report.table()


def test_an_acknowledged_command_without_events_is_lost(evidence):
    evidence.stores["intake"].events.pop()
    assert check(evidence).get("acknowledged commands lost") == 1


def test_a_refused_command_with_events_is_reported(evidence):
    evidence.history.ops[1].outcome = Outcome.FAILED
    assert check(evidence).get("refused commands that took effect") == 1


def test_an_unknown_outcome_is_allowed_either_way(evidence):
    evidence.history.ops[1].outcome = Outcome.UNKNOWN
    report = check(evidence)
    assert report.ok
    assert report.get("operations (unknown) that took effect") == 1


def test_one_command_writing_its_stream_twice_is_a_duplicate(evidence):
    correlation = evidence.stores["intake"].events[1].correlation
    evidence.stores["intake"].events.append(event("case-1", 3, 3, "102", correlation))
    assert check(evidence).get("commands applied twice") == 1


def test_one_upstream_event_applied_in_two_transactions_is_a_duplicate_effect(evidence):
    upstream = str(uuid.uuid4())
    events = evidence.stores["intake"].events
    events += [event("case-2", 1, 3, "102", "c", upstream), event("case-3", 1, 4, "103", "c", upstream)]
    assert check(evidence).get("upstream events applied twice downstream") == 1


def test_an_unpublished_outbox_row_and_a_phantom_message_are_reported(evidence):
    evidence.stores["intake"].outbox.append(outbox_row(str(uuid.uuid4()), "case-1", "102", 3))
    evidence.published.append(message(str(uuid.uuid4()), "case-9", 2))
    report = check(evidence)
    assert report.get("outbox events never published") == 1
    assert report.get("published events in no outbox") == 1


def test_events_of_one_case_published_out_of_order_are_reported(evidence):
    first, second = evidence.published
    evidence.published[:] = [
        KafkaMessage(TOPIC, 0, 0, "case-1", second.message_id, second.headers),
        KafkaMessage(TOPIC, 0, 1, "case-1", first.message_id, first.headers),
    ]
    assert check(evidence).get("events out of order for one case") == 1


def test_a_resent_copy_is_not_disorder(evidence):
    # The relay crashed after sending and sent the batch again: copies, but first copies in order.
    evidence.published += [
        message(m.message_id or "", "case-1", m.offset + 2) for m in list(evidence.published)
    ]
    report = check(evidence)
    assert report.ok, report.table()
    assert report.get("re-sent copies on Kafka (at-least-once; consumers dedupe)") == 2


def test_read_models_that_differ_from_the_rebuild_are_reported(evidence):
    evidence.rebuilt_read_models["cases"].add(("case-2",))
    assert check(evidence).get("read model rows differing from a rebuild") == 1


def test_gaps_and_inversions_are_reported(evidence):
    store = evidence.stores["intake"]
    store.chain_problems.append("case-1 v3: version gap after v1")
    store.inversions.append(SimpleNamespace(stream_id="case-1", version=2))
    assert check(evidence).get("stream version gaps, inversions, broken chains") == 2


def test_a_poison_message_missing_from_the_dlq_is_reported(evidence):
    evidence.poison.append((TOPIC, 0, 7))
    evidence.poison_consumers[TOPIC] = ["coordination"]
    assert check(evidence).get("poison messages not dead-lettered (with reason, bounded attempts)") == 1
    evidence.dead_letters.append(
        KafkaMessage(
            TOPIC + ".dlq",
            0,
            0,
            None,
            None,
            {
                "dlq-origin": f"{TOPIC}:0:7",
                "dlq-consumer": "coordination",
                "dlq-error": "bad",
                "dlq-attempts": "1",
            },
        )
    )
    evidence.published.append(message("x", "k", 7))  # the poison itself is on the topic
    assert check(evidence).ok


def test_a_valid_event_in_a_dlq_is_a_missing_effect(evidence):
    evidence.dead_letters.append(
        KafkaMessage(
            TOPIC + ".dlq",
            0,
            0,
            "case-1",
            None,
            {"dlq-origin": f"{TOPIC}:0:1", "dlq-consumer": "coordination", "dlq-error": "DBAPIError: Error"},
        )
    )
    assert check(evidence).get("valid events dead-lettered (effect missing until replayed)") == 1
