"""Strict request fields: what a person types is read as typed, never coerced (libs/fields.py)."""

import importlib
import pkgutil
import types
import typing
from datetime import date, datetime

import pytest
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

import services
from libs import fields

DAY, WHOLE, FLAG = TypeAdapter(fields.Day), TypeAdapter(fields.WholeNumber), TypeAdapter(fields.Flag)


@pytest.mark.parametrize(
    "value",
    [0, 1714521600, 20260401, "2026/04/01", "20260401", "2026-4-1", " 2026-04-01", True, 1.5, None, []],
)
def test_a_day_is_a_yyyy_mm_dd_string_only(value):
    with pytest.raises(ValidationError) as caught:
        DAY.validate_python(value)
    # The same reason whatever was sent: it never repeats the input.
    assert caught.value.errors()[0]["msg"] == (
        "Value error, 日付は YYYY-MM-DD 形式の文字列で入力してください (a date must be a YYYY-MM-DD string)"
    )


def test_a_day_reads_iso_strings_and_dates_and_refuses_impossible_days():
    assert DAY.validate_python("2026-04-01") == date(2026, 4, 1)
    assert DAY.validate_python(date(2026, 4, 1)) == date(2026, 4, 1)
    assert DAY.validate_json('"2026-04-01"') == date(2026, 4, 1)
    for impossible in ("2026-02-30", "2026-13-01"):
        with pytest.raises(ValidationError):
            DAY.validate_python(impossible)
    with pytest.raises(ValidationError):
        DAY.validate_python(datetime(2026, 4, 1, 9, 0))


@pytest.mark.parametrize("value", [True, False, 2.0, 2.5, "2", "", None])
def test_a_whole_number_is_a_json_integer_only(value):
    with pytest.raises(ValidationError) as caught:
        WHOLE.validate_python(value)
    assert caught.value.errors()[0]["msg"].startswith("Value error, 整数で入力してください")


def test_a_whole_number_keeps_its_bounds():
    bounded = TypeAdapter(typing.Annotated[fields.WholeNumber, Field(ge=0, le=10)])
    assert bounded.validate_python(3) == 3
    with pytest.raises(ValidationError):
        bounded.validate_python(11)


@pytest.mark.parametrize("value", [0, 1, "true", "yes", "on", None])
def test_a_flag_is_true_or_false_only(value):
    with pytest.raises(ValidationError):
        FLAG.validate_python(value)
    assert FLAG.validate_python(True) is True


_STRICT = {fields._day, fields._whole, fields._flag}


def _lax(annotation: object, metadata: list) -> list[str]:
    """Plain date/int/bool anywhere in an annotation, unless our validator guards it."""
    if any(getattr(m, "func", None) in _STRICT for m in metadata):
        return []
    if annotation in (date, int, bool, datetime, float):
        return [getattr(annotation, "__name__", str(annotation))]
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        inner, *meta = typing.get_args(annotation)
        return _lax(inner, meta)
    if origin in (typing.Union, types.UnionType, list, tuple, set, frozenset):
        return [found for arg in typing.get_args(annotation) for found in _lax(arg, [])]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [f"{annotation.__name__}.{x}" for x in _model_lax(annotation)]
    return []


def _model_lax(model: type[BaseModel]) -> list[str]:
    return [
        f"{name}: {found}"
        for name, info in model.model_fields.items()
        for found in _lax(info.annotation, info.metadata)
    ]


def _nested(model: type[BaseModel], found: dict[str, type[BaseModel]]) -> None:
    """`model` and every model its fields hold, however deep (lists, unions, optionals)."""
    key = f"{model.__module__}.{model.__qualname__}"
    if key in found:
        return
    found[key] = model
    stack = [info.annotation for info in model.model_fields.values()]
    while stack:
        annotation = stack.pop()
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            _nested(annotation, found)
        stack.extend(typing.get_args(annotation))


def _request_models() -> list[type[BaseModel]]:
    """Every model a person's request is parsed into: the bodies the services' routes take
    (their commands) and every model inside them."""
    found: dict[str, type[BaseModel]] = {}
    for service in pkgutil.iter_modules(services.__path__):
        package = f"services.{service.name}.entrypoints"
        try:
            entrypoints = importlib.import_module(package)
        except ModuleNotFoundError:
            continue
        for module in pkgutil.iter_modules(entrypoints.__path__):
            router = getattr(importlib.import_module(f"{package}.{module.name}"), "router", None)
            for route in getattr(router, "routes", ()):
                body = getattr(route, "body_field", None)
                if body is not None and issubclass(body.field_info.annotation, BaseModel):
                    _nested(body.field_info.annotation, found)
    return list(found.values())


def test_request_models_exist_to_check():
    assert len(_request_models()) > 30


def test_no_request_field_is_read_laxly():
    """Every date, integer and yes/no a person types goes through libs/fields.py."""
    lax = {m.__module__ + "." + m.__name__: _model_lax(m) for m in _request_models()}
    assert {k: v for k, v in lax.items() if v} == {}
