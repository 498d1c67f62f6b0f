"""The business day is the Tokyo day: between 00:00 and 09:00 JST the UTC date is yesterday's."""

from datetime import UTC, date, datetime
from uuid import UUID

import pytest

from contracts.glossary import ConsentPurpose, Program
from libs import clock
from services.intake.domain.consent import Consent

EXPIRES_31_MARCH = Consent(
    consent_id=UUID(int=1),
    programs=frozenset({Program.COORDINATION}),
    purpose=ConsentPurpose.SUPPORT_COORDINATION,
    granted_on=date(2026, 4, 1),
    expires_on=date(2027, 3, 31),
)


@pytest.mark.parametrize(
    ("at", "day", "covered"),
    [
        (datetime(2027, 3, 31, 15, 30, tzinfo=UTC), date(2027, 4, 1), False),  # 00:30 JST on 1 April
        (datetime(2027, 3, 30, 23, 59, tzinfo=UTC), date(2027, 3, 31), True),  # 08:59 JST on 31 March
        (datetime(2027, 3, 31, 14, 59, tzinfo=UTC), date(2027, 3, 31), True),  # 23:59 JST on 31 March
    ],
    ids=["00:30-jst-after-expiry", "08:59-jst-last-day", "23:59-jst-last-day"],
)
def test_consent_expiry_is_judged_on_the_tokyo_day(at: datetime, day: date, covered: bool) -> None:
    business = clock.BusinessClock(now=lambda: at)
    assert business.today() == day
    assert EXPIRES_31_MARCH.covers(Program.COORDINATION, business.today()) is covered


def test_a_fixed_business_day_wins(monkeypatch) -> None:
    at = datetime(2027, 3, 31, 15, 30, tzinfo=UTC)
    assert clock.BusinessClock(date(2031, 4, 1), now=lambda: at).today() == date(2031, 4, 1)
    monkeypatch.setenv(clock.BUSINESS_DAY_ENV, "2031-04-01")
    assert clock.BusinessClock.from_env().today() == date(2031, 4, 1)
    monkeypatch.delenv(clock.BUSINESS_DAY_ENV)
    assert clock.BusinessClock.from_env().fixed is None
