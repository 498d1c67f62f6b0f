"""Text fields typed by people: what we accept and what we refuse, the same everywhere.

Names and addresses arrive from many keyboards (full/half width, variation selectors);
we keep them as typed, NFC-normalised, and refuse only what cannot be meant: control
characters, lone surrogates, and text that is blank after trimming.
"""

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, Field

_ALLOWED_IN_NOTES = {"\n", "\t"}


def _clean(value: str, allowed: set[str]) -> str:
    value = unicodedata.normalize("NFC", value).strip()
    for ch in value:
        category = unicodedata.category(ch)
        if (category == "Cc" and ch not in allowed) or category == "Cs":
            raise ValueError("制御文字や不正な文字は使用できません")
    if not value:
        raise ValueError("空白だけの値は入力できません")
    return value


def _line(value: str) -> str:
    return _clean(value, set())


def _note(value: str) -> str:
    return _clean(value, _ALLOWED_IN_NOTES)


def line(max_length: int) -> type[str]:
    """One line of at most `max_length` characters: a name, an address, a phone number."""
    return Annotated[str, Field(min_length=1, max_length=max_length), AfterValidator(_line)]  # type: ignore[return-value]


Line = line(300)

Note = Annotated[str, Field(min_length=1, max_length=4000), AfterValidator(_note)]
"""Free text written by a worker; may span lines."""
