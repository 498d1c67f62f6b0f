"""Text fields typed by people: what we accept and what we refuse, the same everywhere.

Names and addresses arrive from many keyboards (full/half width, variation selectors);
we keep them as typed, NFC-normalised, and refuse only what cannot be meant: control
characters, lone surrogates, and text that is blank after trimming.
"""

import re
import unicodedata
from datetime import date
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


# --- search terms: how a name, a birth date or a phone number is matched -----------------------
# A blind index (libs/register.py) can only match whole terms, so a term is written in one form
# whatever keyboard typed it: NFKC (full/half width), katakana as hiragana, no spaces or dots.

_SEPARATORS = re.compile(r"[\s\u3000・･·.]+")
_NOT_DIGIT = re.compile(r"\D")
_DAY = re.compile(r"(\d{4})\D?(\d{1,2})\D?(\d{1,2})\D?")


def _folded(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in text)


def name_terms(*names: str | None) -> tuple[str, ...]:
    """The terms a person's names are found by: each whole name and each of its parts."""
    terms: list[str] = []
    for name in names:
        if not name:
            continue
        folded = _folded(name).strip()
        parts = [p for p in _SEPARATORS.split(folded) if p]
        terms += [f"n:{''.join(parts)}", *(f"n:{p}" for p in parts)]
    return tuple(dict.fromkeys(t for t in terms if t != "n:"))


def day_terms(day: date | None) -> tuple[str, ...]:
    return (f"d:{day:%Y%m%d}",) if day else ()


def phone_terms(phone: str | None) -> tuple[str, ...]:
    digits = _NOT_DIGIT.sub("", unicodedata.normalize("NFKC", phone or ""))
    return (f"p:{digits}",) if len(digits) >= 6 else ()


def query_terms(query: str) -> tuple[str, ...]:
    """What a worker typed in the search box, as the one term it may match: a birth date
    (1961-04-01, 19610401, 1961年4月1日), a phone number, or a name (kanji or kana)."""
    typed = unicodedata.normalize("NFKC", query).strip()
    if day := _DAY.fullmatch(typed):
        try:
            return day_terms(date(*(int(g) for g in day.groups())))
        except ValueError:
            return ()
    if re.fullmatch(r"[\d\s()+\-]{6,}", typed):
        return phone_terms(typed)
    return name_terms(typed)[:1]
