"""The gate itself, on synthetic before/after pairs: every kind of breaking change is caught,
every compatible one passes. Pairs are made from pydantic models, as the real schemas are."""

from datetime import date
from enum import StrEnum
from typing import Literal
from uuid import UUID

import pytest
from pydantic import BaseModel, ConfigDict, Field, create_model

from contracts.compatibility import incompatibilities
from contracts.events import EVENT_TYPES


class Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Event")


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


class Fewer(StrEnum):
    RED = "red"


class More(StrEnum):
    RED = "red"
    BLUE = "blue"
    GREEN = "green"


class Inner(Closed):
    count: int = Field(ge=0, le=10)


class InnerTight(Closed):
    count: int = Field(ge=1, le=10)


class Before(Closed):
    ref: str = Field(pattern=r"^subj_[0-9a-f]{32}$")
    colour: Colour
    size: int = Field(ge=1, le=20)
    tags: list[Colour] = Field(min_length=1, max_length=14)
    on: date
    note: Inner
    optional: UUID | None = None


def schema(**changes) -> dict:
    """Before's schema with fields replaced (value = (type, default)) or removed (value None)."""
    fields = {
        name: (info.annotation, info)
        for name, info in Before.model_fields.items()
        if changes.get(name, ...) is not None
    }
    fields.update({k: v for k, v in changes.items() if v is not None})
    return create_model("Event", __base__=Closed, **fields).model_json_schema()


BEFORE = Before.model_json_schema()

BREAKING = {
    "field removed": dict(size=None),
    "field renamed": dict(size=None, household_size=(int, Field(ge=1, le=20))),
    "type changed": dict(size=(str, Field(pattern=r"^[0-9]+$"))),
    "new required field": dict(extra=(int, ...)),
    "optional field made required": dict(optional=(UUID, ...)),
    "enum narrowed": dict(colour=(Fewer, ...)),
    "enum narrowed inside a list": dict(tags=(list[Fewer], Field(min_length=1, max_length=14))),
    "pattern tightened": dict(ref=(str, Field(pattern=r"^subj_[0-9a-f]{40}$"))),
    "pattern added": dict(on=(str, Field(pattern=r"^2026"))),
    "format added": dict(ref=(date, ...)),
    "minimum raised": dict(size=(int, Field(ge=2, le=20))),
    "maximum lowered": dict(size=(int, Field(ge=1, le=10))),
    "list made shorter": dict(tags=(list[Colour], Field(min_length=1, max_length=5))),
    "list made non-optional-empty": dict(tags=(list[Colour], Field(min_length=2, max_length=14))),
    "nested bound tightened": dict(note=(InnerTight, ...)),
    "null no longer allowed": dict(optional=(UUID, Field(default=UUID(int=0)))),
    "free value made a literal": dict(size=(Literal[1, 2], ...)),
}

COMPATIBLE = {
    "unchanged": {},
    "optional field added": dict(extra=(int | None, None)),
    "field with default added": dict(extra=(int, 0)),
    "enum widened": dict(colour=(More, ...)),
    "bound loosened": dict(size=(int, Field(ge=0, le=100))),
    "list made longer": dict(tags=(list[Colour], Field(min_length=0, max_length=20))),
    "required field given a default": dict(size=(int, Field(default=1, ge=1, le=20))),
    "pattern dropped": dict(ref=(str, ...)),
    "integer widened to number": dict(size=(float, Field(ge=1, le=20))),
    "description changed": dict(size=(int, Field(ge=1, le=20, description="世帯人数"))),
}


@pytest.mark.parametrize("change", sorted(BREAKING))
def test_the_gate_catches_a_breaking_change(change):
    problems = incompatibilities(BEFORE, schema(**BREAKING[change]), "Event")
    assert problems, f"{change} was not caught"


@pytest.mark.parametrize("change", sorted(COMPATIBLE))
def test_the_gate_lets_a_compatible_change_pass(change):
    assert incompatibilities(BEFORE, schema(**COMPATIBLE[change]), "Event") == []


def test_the_reason_names_the_field_and_the_change():
    assert incompatibilities(BEFORE, schema(size=None), "Event") == ["Event.size: removed or renamed"]
    assert incompatibilities(BEFORE, schema(colour=(Fewer, ...)), "Event") == [
        "Event.colour: values removed: blue"
    ]
    assert incompatibilities(BEFORE, schema(extra=(int, ...)), "Event") == [
        "Event.extra: new required field without a default"
    ]


def test_opening_a_closed_object_is_compatible_and_closing_an_open_one_is_not():
    open_schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    closed_schema = {**open_schema, "additionalProperties": False}
    assert incompatibilities(closed_schema, open_schema) == []
    assert incompatibilities(open_schema, closed_schema) == [
        "schema: additional properties no longer allowed"
    ]


@pytest.mark.parametrize("event", sorted(EVENT_TYPES))
def test_every_real_schema_is_compatible_with_itself(event):
    current = EVENT_TYPES[event].model_json_schema()
    assert incompatibilities(current, current, event) == []


def test_contact_attempted_v2_could_not_have_replaced_v1_in_place():
    """Why v2 is a new version: as an in-place change of v1 the gate refuses it."""
    from contracts.superseded import ContactAttemptedV1

    problems = incompatibilities(
        ContactAttemptedV1.model_json_schema(), EVENT_TYPES["ContactAttempted"].model_json_schema()
    )
    assert "ContactAttempted.outcome: removed or renamed" in problems
    assert "ContactAttempted.reached: new required field without a default" in problems
