"""What only the running service can check about a command: days that happened, districts, organisations."""

from datetime import date

import pytest
from pydantic import BaseModel

from libs.commands import Context, check_facts
from libs.domain import Command, InvalidCommand
from libs.fields import Day, DistrictCode, Happened, OrganisationCode

TODAY = date(2026, 12, 3)
CTX = Context(
    organisation="org-a",
    actor="a-user",
    today=TODAY,
    districts=frozenset({"chuo-1"}),
    organisations=frozenset({"org-a", "byoin-chuo"}),
)


class Visit(BaseModel):
    visited_on: Happened


class Record(Command):
    happened_on: Happened
    review_on: Day
    district: DistrictCode | None = None
    visits: tuple[Visit, ...] = ()
    agency: OrganisationCode | None = None
    attendees: tuple[OrganisationCode, ...] = ()


class Wrapped(Command):
    request: Record
    minted_on: date  # not a person's input: not checked


def record(**changes: object) -> Record:
    values: dict[str, object] = {"happened_on": TODAY, "review_on": date(2027, 3, 1), "district": "chuo-1"}
    return Record.model_validate(values | changes)


def test_today_and_planned_days_ahead_pass() -> None:
    check_facts(record(), CTX)
    check_facts(record(agency="byoin-chuo", attendees=["org-a", "byoin-chuo"]), CTX)
    check_facts(Wrapped(request=record(), minted_on=date(2030, 1, 1)), CTX)


@pytest.mark.parametrize(
    ("command", "code", "field"),
    [
        (record(happened_on=date(2026, 12, 4)), "date_in_future", "happened_on"),
        (
            Wrapped(request=record(happened_on=date(2026, 12, 4)), minted_on=TODAY),
            "date_in_future",
            "happened_on",
        ),
        (
            record(visits=[{"visited_on": TODAY}, {"visited_on": date(2027, 1, 1)}]),
            "date_in_future",
            "visits.1.visited_on",
        ),
        (record(district="nowhere-99"), "unknown_district", "district"),
        (record(agency="byoin-chuuo"), "unknown_organisation", "agency"),
        (record(attendees=["org-a", "nowhere-org"]), "unknown_organisation", "attendees"),
    ],
    ids=[
        "tomorrow",
        "inside-a-wrapper",
        "in-a-list",
        "unknown-district",
        "typo-agency",
        "in-a-list-of-codes",
    ],
)
def test_a_fact_the_service_knows_to_be_wrong_is_a_422_naming_the_field(command, code, field) -> None:
    with pytest.raises(InvalidCommand) as refused:
        check_facts(command, CTX)
    assert refused.value.status == 422 and refused.value.code == code
    assert refused.value.message.startswith(f"{field} ")


def test_reactions_to_other_programs_are_not_rechecked() -> None:
    """A published event was checked by its program, on its day."""
    check_facts(record(happened_on=date(2027, 1, 1), district="nowhere-99"), Context("org-a", "consumer"))
