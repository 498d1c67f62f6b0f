"""Request fields that people type, parsed strictly: what a form sends is what it means.

Pydantic's lax mode, which FastAPI uses for request bodies, reads `0` as the date 1970-01-01,
`true` or `2.0` as the number 1 or 2, and `"yes"` as true. A schema fuzzer found those in our
APIs; a welfare record must not get a date nobody typed. These types accept only the JSON form
the OpenAPI document promises (a `YYYY-MM-DD` string, a JSON integer, a JSON boolean) and, from
Python code, the value itself. Refusals are 422s whose reason never repeats the input.
"""

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator

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


Day = Annotated[date, BeforeValidator(_day)]
"""A calendar day: `YYYY-MM-DD` only."""

WholeNumber = Annotated[int, BeforeValidator(_whole)]
"""An integer typed as one; add bounds with `Field(ge=…, le=…)`."""

Flag = Annotated[bool, BeforeValidator(_flag)]
"""A yes/no answer: JSON true or false only."""
