"""Request fields that people type, parsed strictly: what a form sends is what it means.

Pydantic's lax mode, which FastAPI uses for request bodies, reads `0` as the date 1970-01-01,
`true` or `2.0` as the number 1 or 2, and `"yes"` as true. A schema fuzzer found those in our
APIs; a welfare record must not get a date nobody typed. These types accept only the JSON form
the OpenAPI document promises (a `YYYY-MM-DD` string, a JSON integer, a JSON boolean) and, from
Python code, the value itself. Refusals are 422s whose reason never repeats the input.
"""

import re
import typing
from collections.abc import Collection, Iterator
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field

from contracts.envelope import CODE_PATTERN
from contracts.events import DISTRICT_PATTERN

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _day(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value  # pydantic then checks it is a real day (no 2026-02-30)
    raise ValueError("日付は YYYY-MM-DD 形式の文字列で入力してください (a date must be a YYYY-MM-DD string)")


def _whole(value: Any) -> Any:
    if type(value) is int:  # not bool (a subclass of int), float or text
        return value
    raise ValueError("整数で入力してください (a whole number, not text, a decimal or true/false)")


def _flag(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    raise ValueError("true または false で入力してください (true or false, not a number or text)")


class _Marker:
    """Metadata naming what a field refers to, for the checks only the running service can make."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


HAPPENED = _Marker("happened")
DISTRICT = _Marker("district")
ORGANISATION = _Marker("organisation")

Day = Annotated[date, BeforeValidator(_day)]
"""A calendar day: `YYYY-MM-DD` only. For planned days (a review, an expiry)."""

Happened = Annotated[date, BeforeValidator(_day), HAPPENED]
"""The day something happened: `YYYY-MM-DD`, and not after the business day (checked by the write
path against the service's clock, libs.commands)."""

DistrictCode = Annotated[str, Field(pattern=DISTRICT_PATTERN), DISTRICT]
"""A district of the municipality: the code's form here, its existence in the directory checked
by the write path."""

OrganisationCode = Annotated[str, Field(pattern=CODE_PATTERN), ORGANISATION]
"""An organisation of the municipality (one running a program, or a 支援関係機関 that never signs
in): the code's form here, its existence in the directory checked by the write path."""

WholeNumber = Annotated[int, BeforeValidator(_whole)]
"""An integer typed as one; add bounds with `Field(ge=…, le=…)`."""

Flag = Annotated[bool, BeforeValidator(_flag)]
"""A yes/no answer: JSON true or false only."""


def marked(model: BaseModel, prefix: str = "") -> Iterator[tuple[str, _Marker, Any]]:
    """Every value of `model` (nested models and lists included) in a field marked HAPPENED or
    DISTRICT, with its dotted path. A wrapper's `request` is left out of the path: the person
    sent the request's fields."""
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if name == "request" and isinstance(value, BaseModel):
            yield from marked(value, prefix)
            continue
        where = f"{prefix}{name}"
        for marker in set(_markers(info.annotation, info.metadata)):
            for item in value if isinstance(value, list | tuple) else [value]:
                if item is not None and not isinstance(item, BaseModel):
                    yield where, marker, item
        if isinstance(value, BaseModel):
            yield from marked(value, f"{where}.")
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                if isinstance(item, BaseModel):
                    yield from marked(item, f"{where}.{index}.")


def _markers(annotation: Any, metadata: Collection[Any]) -> Iterator[_Marker]:
    yield from (m for m in metadata if isinstance(m, _Marker))
    for arg in typing.get_args(annotation):
        if typing.get_origin(arg) is Annotated:
            yield from (m for m in arg.__metadata__ if isinstance(m, _Marker))
        else:
            yield from _markers(arg, ())
