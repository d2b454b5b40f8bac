"""Day counting: calendar days, China's working days with make-up days, holidays ahead."""

from __future__ import annotations

import dataclasses
import datetime as dt

from funnel_sync.config import Config, General
from funnel_sync.days import Days

WORKING = dataclasses.replace(Config(), general=General(count_days="working"))


def test_calendar_days() -> None:
    days = Days(Config(), dt.date(2026, 11, 30))
    assert days.between(dt.date(2026, 11, 1), dt.date(2026, 11, 30)) == 29
    assert days.between(dt.date(2026, 11, 30), dt.date(2026, 11, 1)) == -29
    assert days.add(dt.date(2026, 11, 30), 3) == dt.date(2026, 12, 3)


def test_working_days_skip_weekends_and_holidays_and_count_make_up_days() -> None:
    days = Days(WORKING, dt.date(2026, 2, 10))
    # Fri 13 Feb 2026 → Mon 16 Feb: Saturday 14 Feb is an official make-up working day;
    # Spring Festival holidays run 15–23 Feb.
    assert days.between(dt.date(2026, 2, 13), dt.date(2026, 2, 16)) == 1
    assert days.add(dt.date(2026, 2, 13), 1) == dt.date(2026, 2, 14)
    assert days.add(dt.date(2026, 2, 14), 1) == dt.date(2026, 2, 24)
    # an ordinary week: Mon → next Mon is 5 working days
    assert days.between(dt.date(2026, 3, 2), dt.date(2026, 3, 9)) == 5
    # far outside the precomputed window the slow path agrees
    assert days.between(dt.date(2015, 3, 2), dt.date(2015, 3, 9)) == 5


def test_working_days_added_are_the_days_walked_one_by_one() -> None:
    days = Days(WORKING, dt.date(2026, 11, 30))
    cal = days.calendar

    def walked(start: dt.date, n: int) -> dt.date:
        day, left = start, n
        while left > 0:
            day += dt.timedelta(days=1)
            left -= bool(cal.is_working_day(day))
        return day

    starts = [dt.date(2023, 1, 1) + dt.timedelta(days=k) for k in range(0, 6 * 365, 7)]
    starts += [dt.date(2026, 2, 13), dt.date(2026, 2, 14), dt.date(2028, 12, 20)]
    for start in starts:
        for n in (0, 1, 2, 5, 30, 90):
            assert days.add(start, n) == walked(start, n), (start, n)
            if n:
                assert days.between(start, days.add(start, n)) == n


def test_holidays_ahead_name_each_holiday_once() -> None:
    days = Days(Config(), dt.date(2026, 9, 28))
    assert days.holidays_within(7) == [(dt.date(2026, 10, 1), "国庆节")]
    english = Days(
        dataclasses.replace(Config(), general=General(language="en")), dt.date(2026, 9, 28)
    )
    assert english.holidays_within(7) == [(dt.date(2026, 10, 1), "National Day")]


def test_unknown_country_has_no_holidays() -> None:
    cfg = dataclasses.replace(Config(), general=General(country="XX"))
    assert Days(cfg, dt.date(2026, 9, 28)).holidays_within(30) == []
