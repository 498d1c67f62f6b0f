"""The demo town and the municipality's directory agree, so the dashboard's rates are the town's.

The town takes its districts from the directory (deploy/demo-municipality.json); `make run
--population N` gives every process a copy whose district populations add up to N. No
infrastructure: these run in a moment, beside the full `make run` check in test_make_run.py.
"""

from pathlib import Path

import pytest

from deploy.run import directory_for
from deploy.town import CITY, DISTRICTS, MENUS, SMALL_TOWN, plan
from libs.directory import DEFAULT_DIRECTORY, Directory


def test_the_town_lives_in_the_directorys_districts() -> None:
    directory = Directory.load(DEFAULT_DIRECTORY)
    town = plan(SMALL_TOWN)

    assert directory.population == SMALL_TOWN
    assert {d.code: d.name for d in directory.districts.values()} == DISTRICTS
    assert {c.district for c in town.consultations} == set(directory.districts)
    assert {o.district for o in town.outreach} <= set(directory.districts)
    assert {menu.district for menu in MENUS} <= set(directory.districts)
    school_districts = {(d.code, d.school_district) for d in directory.districts.values()}
    assert {(p.district, p.school_district) for p in town.places} <= school_districts


def test_the_plan_is_the_same_every_time() -> None:
    assert plan(SMALL_TOWN) == plan(SMALL_TOWN)


def test_the_directory_keeps_its_own_population(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KASANE_DIRECTORY", raising=False)

    assert directory_for(tmp_path, SMALL_TOWN) == DEFAULT_DIRECTORY.resolve()
    assert not (tmp_path / "directory.json").exists()


@pytest.mark.parametrize("population", [CITY, 1_000, 15_701])
def test_a_town_of_another_size_gets_a_scaled_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, population: int
) -> None:
    monkeypatch.delenv("KASANE_DIRECTORY", raising=False)
    original = Directory.load(DEFAULT_DIRECTORY)

    scaled = Directory.load(directory_for(tmp_path, population))

    assert scaled.population == population
    assert scaled.users == original.users and scaled.organisations == original.organisations
    for code, district in original.districts.items():
        share = district.population * population / original.population
        assert abs(scaled.districts[code].population - share) < 1, code
        assert scaled.districts[code].school_district == district.school_district
