"""The municipality's directory: who serves which district, and a file that names only what exists."""

import json
from pathlib import Path

import pytest

from contracts.glossary import Program
from libs.directory import DEFAULT_DIRECTORY, Directory, Organisation

DIRECTORY = Directory(
    municipality="架空市",
    organisations={
        o.id: o
        for o in (
            Organisation(
                "houkatsu-chuo", "中央", frozenset({Program.INTAKE}), frozenset({"chuo-1", "chuo-2"})
            ),
            Organisation("houkatsu-kita", "北", frozenset({Program.INTAKE}), frozenset({"kita-1"})),
            Organisation("city-soudan", "市", frozenset({Program.INTAKE})),
            Organisation("byoin-chuo", "病院", frozenset(), frozenset({"chuo-1"})),
        )
    },
    users={},
)


@pytest.mark.parametrize(
    "district, preferred, holder",
    [
        ("kita-1", "city-soudan", "houkatsu-kita"),  # the area's centre, not the service's own
        ("chuo-2", "city-soudan", "houkatsu-chuo"),
        ("minami-1", "city-soudan", "city-soudan"),  # no centre for the area: the city-wide one
        ("minami-1", "houkatsu-chuo", "city-soudan"),  # a centre of another area does not take it
        ("kita-1", "houkatsu-kita", "houkatsu-kita"),
    ],
)
def test_a_case_goes_to_the_organisation_serving_its_district(district, preferred, holder):
    assert DIRECTORY.serving(Program.INTAKE, district, preferred) == holder


def test_with_nobody_running_the_program_the_service_keeps_it():
    assert DIRECTORY.serving(Program.OUTREACH, "kita-1", "npo-tsunagari") == "npo-tsunagari"


def test_the_demo_directory_loads_and_an_area_outside_the_municipality_is_refused(tmp_path: Path):
    demo = Directory.load()
    assert demo.serving(Program.INTAKE, "kita-2", "city-soudan") == "houkatsu-kita"
    raw = json.loads(DEFAULT_DIRECTORY.read_text(encoding="utf-8"))
    raw["organisations"][0]["districts"] = ["nowhere-99"]
    broken = tmp_path / "directory.json"
    broken.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ValueError, match="nowhere-99"):
        Directory.load(broken)
