"""The business day: every date judgement (consent validity, what is due) is made on it.

A municipality's day is the Japanese day: a consent that expires on 3月31日 still holds at
08:59 JST on that day, when the UTC date is already 3月31日 but was 3月30日 an hour earlier.
Judging on the UTC date would refuse or allow for nine hours a day against the record.

`KASANE_BUSINESS_DAY` (an ISO date) fixes the day for a whole process: the test suite starts
every service on one day, so a run that crosses midnight, or runs years after the tests were
written, judges exactly as on the day its dates were computed from. Never set it in production.
"""

import os
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

BUSINESS_TZ = ZoneInfo("Asia/Tokyo")
BUSINESS_DAY_ENV = "KASANE_BUSINESS_DAY"


def today(at: datetime | None = None) -> date:
    """The business day at `at` (default: now): the fixed day if the process was given one, else
    the Tokyo date of that moment."""
    fixed = os.environ.get(BUSINESS_DAY_ENV)
    if fixed:
        return date.fromisoformat(fixed)
    return (at or datetime.now(UTC)).astimezone(BUSINESS_TZ).date()
