"""The business day: every date judgement (consent validity, what is due) is made on it.

A municipality's day is the Japanese day: a consent that expires on 3月31日 still holds at
08:59 JST on that day, when the UTC date is already 3月31日 but was 3月30日 an hour earlier.
Judging on the UTC date would refuse or allow for nine hours a day against the record.

`KASANE_BUSINESS_DAY` (an ISO date) fixes the day for a whole process: the test suite starts
every service on one day, so a run that crosses midnight, or runs years after the tests were
written, judges exactly as on the day its dates were computed from. Never set it in production.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

BUSINESS_TZ = ZoneInfo("Asia/Tokyo")
BUSINESS_DAY_ENV = "KASANE_BUSINESS_DAY"


@dataclass(frozen=True)
class BusinessClock:
    """The clock a service judges dates by; each runtime owns one and hands it to what decides.

    `fixed`: the day every judgement is made on (tests, `KASANE_BUSINESS_DAY`); `now`: the
    moment the Tokyo date is taken from otherwise (a test passes 00:30 JST).
    """

    fixed: date | None = None
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    @classmethod
    def from_env(cls) -> "BusinessClock":
        fixed = os.environ.get(BUSINESS_DAY_ENV)
        return cls(date.fromisoformat(fixed) if fixed else None)

    def today(self) -> date:
        """The business day: the fixed day if any, else the Tokyo date of now."""
        if self.fixed is not None:
            return self.fixed
        return self.now().astimezone(BUSINESS_TZ).date()
