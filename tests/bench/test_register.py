"""The register bench's city: as many lines as the town's rates give, drawn as the write path
writes them, and searchable the ways workers type (the speed itself is never asserted)."""

from collections import Counter
from datetime import date, timedelta

from bench import register
from bench.suite import merged
from deploy.town import CONSULTATIONS_PER_100K
from libs.directory import Directory
from libs.text import query_terms
from services.intake.entrypoints.register import OPEN
from services.intake.service_layer.handlers import stream_id

TODAY = date(2026, 12, 3)


def _city() -> register.City:
    return register.City(TODAY, Directory.load())


def test_ten_years_of_the_towns_consultations():
    assert register.lines_for(170_000) == 10 * round(CONSULTATIONS_PER_100K * 1.7) == 30_600
    assert register.lines_for(1_000_000) == 180_000


def test_the_same_seed_draws_the_same_city_and_a_larger_city_continues_it():
    first, second = _city(), _city()
    assert first.draw(50) == second.draw(50)
    assert first.draw(10) == second.draw(10) and first.drawn == 60


def test_lines_are_intake_cases_over_ten_years_mostly_closed():
    city = _city()
    lines = city.draw(5_000)
    directory = Directory.load()
    statuses = Counter(line.entry.status for line in lines)
    assert 0.02 < sum(statuses[s] for s in OPEN) / len(lines) < 0.15
    for line in lines:
        e = line.entry
        assert line.stream_id == stream_id(e.case_id) and e.case_key == e.case_id
        assert TODAY - timedelta(days=10 * 365) < e.opened_on <= TODAY
        assert e.opened_on <= e.last_activity_on <= TODAY
        assert e.district in directory.districts
        assert e.organisation in {u.organisation for u in directory.users.values()}
        assert any(t.startswith("n:") for t in e.search) and any(t.startswith("d:") for t in e.search)
    # Everyone of the measured organisation is kept to be searched for, and only they are.
    assert len(city.people) == sum(line.entry.organisation == city.organisation for line in lines)
    assert sum(line.worker == register.USER for line in lines) > 0


def test_surnames_are_as_common_as_in_a_real_city():
    city = _city()
    city.draw(20_000)
    counts = Counter(p.surname_kana for p in city.people).most_common()
    total = len(city.people)
    assert 0.008 < counts[0][1] / total < 0.03  # the commonest, as 佐藤 nationally (~1.5 %)
    assert len(counts) > 500


def test_every_typed_form_of_a_name_is_the_same_search_term():
    for kana in ("ハマサキ アキラ", "ガブ パピ", "キョウ ショウコ"):
        term = query_terms(kana)
        assert query_terms(register.hiragana(kana)) == term
        assert query_terms(register.half_width(kana)) == term
        assert register.half_width(kana) != kana


def _doc(stages: list[str], results: dict, date_: str) -> dict:
    return {
        "date": date_,
        "mode": "full",
        "population": 170_000,
        "runs": 3,
        "stages": stages,
        "seconds": 10.0,
        "machine": {"cores": 2, "cpu": "x", "commit": "abc", "load_average_at_end": [1.0]},
        "results": results,
        "rows": [],
        "errors": {},
    }


def test_a_run_of_one_stage_replaces_its_figures_and_keeps_the_others():
    figure = {"p50_ms": 1.0, "p99_ms": 2.0, "label": "q", "baseline": {"p50_ms": 0.5, "p99_ms": 1.0}}
    old_register = {"population": 170_000, "years": 10, "lines": 1, "queries": {"q": figure}}
    new_register = {**old_register, "lines": 2}
    relay = {"events": 5, "per_second": 10.0, "baseline_per_second": 20.0}
    previous = _doc(["relay", "register"], {"relay": relay, "register_170000": old_register}, "d1")
    relay_row = "relay outbox → Kafka: events/s (5 events; baseline: raw producer)"
    previous["rows"] = [{"measure": relay_row, "value": "as written then", "met": False}]
    current = _doc(["register"], {"register_170000": new_register}, "d2")

    doc = merged(previous, current)

    assert doc["results"] == {"relay": relay, "register_170000": new_register}
    assert doc["date"] == "d1" and doc["parts"][0]["date"] == "d2"
    assert [row["measure"].split(":")[0] for row in doc["rows"]] == [
        "relay outbox → Kafka",
        "register, 170,000 people, 10 years (2 lines)",
    ]
    assert doc["rows"][0]["value"] == "as written then"  # not recomputed from rounded figures
    assert merged(doc, current)["parts"] == doc["parts"]  # a second run replaces the first's note
