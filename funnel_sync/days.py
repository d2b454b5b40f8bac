"""Counting days (calendar or the country's working days) and the public holidays ahead."""

from __future__ import annotations

import bisect
import datetime as dt
import functools
from typing import Any

import holidays

from funnel_sync.config import Config

HOLIDAY_LANG = {"zh": "zh_CN", "en": "en_US"}


@functools.lru_cache(maxsize=16)
def _calendar(country: str, lang: str, years: tuple[int, ...]) -> Any:
    try:
        return holidays.country_holidays(country, years=years, language=HOLIDAY_LANG.get(lang))
    except NotImplementedError:  # unknown country code: no holidays rather than a crash
        return holidays.HolidayBase(years=years)


class Days:
    """Day arithmetic for one run: `count_days` calendar or working (with make-up workdays)."""

    def __init__(self, cfg: Config, today: dt.date) -> None:
        self.working = cfg.general.count_days == "working"
        self.country = cfg.general.country
        self.lang = cfg.lang
        self.today = today
        self._years = tuple(range(today.year - 3, today.year + 3))
        self._origin = dt.date(self._years[0], 1, 1)
        self._cumulative: list[int] | None = None

    def _working_before(self, day: dt.date) -> int | None:
        """Working days from the window's start up to (not including) `day`; a prefix sum, so
        counting is O(1) per call however far apart the dates are."""
        if self._cumulative is None:
            cal, total, cumulative = self.calendar, 0, [0]
            end = dt.date(self._years[-1], 12, 31)
            for offset in range((end - self._origin).days + 1):
                total += cal.is_working_day(self._origin + dt.timedelta(days=offset))
                cumulative.append(total)
            self._cumulative = cumulative
        offset = (day - self._origin).days
        return self._cumulative[offset] if 0 <= offset < len(self._cumulative) else None

    @property
    def calendar(self) -> Any:
        return _calendar(self.country, self.lang, self._years)

    def between(self, start: dt.date, end: dt.date) -> int:
        """Days from `start` to `end` (negative when end is earlier)."""
        if not self.working:
            return (end - start).days
        if end < start:
            return -self.between(end, start)
        # working days after `start` up to and including `end`
        lo, hi = (
            self._working_before(start + dt.timedelta(days=1)),
            self._working_before(end + dt.timedelta(days=1)),
        )
        if lo is not None and hi is not None:
            return hi - lo
        cal = self.calendar
        n, day = 0, start
        while day < end:
            day += dt.timedelta(days=1)
            if cal.is_working_day(day):
                n += 1
        return n

    def add(self, start: dt.date, days: int) -> dt.date:
        """The date `days` (calendar or working) days after `start`."""
        if not self.working:
            return start + dt.timedelta(days=days)
        if days <= 0:
            return start
        # the first day by which `days` working days have passed since `start`: a search in
        # the prefix sums (the cadence rule asks this of every open opportunity)
        before = self._working_before(start + dt.timedelta(days=1))
        if before is not None and self._cumulative is not None:
            k = bisect.bisect_left(self._cumulative, before + days)
            if k < len(self._cumulative):
                return self._origin + dt.timedelta(days=k - 1)
        cal, day, left = self.calendar, start, days
        while left > 0:
            day += dt.timedelta(days=1)
            if cal.is_working_day(day):
                left -= 1
        return day

    def holidays_within(self, days: int) -> list[tuple[dt.date, str]]:
        """Public holidays from today to `days` ahead (substituted days off left out)."""
        cal = self.calendar
        end = self.today + dt.timedelta(days=days)
        found: list[tuple[dt.date, str]] = []
        seen: set[str] = set()
        for day in sorted(d for d in cal if self.today <= d <= end):
            name = str(cal.get(day))
            lowered = name.lower()
            if any(w in lowered for w in ("substitut", "observed", "调休", "休息日", "补假")):
                continue
            if name not in seen:  # a greeting per holiday, on its first day
                seen.add(name)
                found.append((day, name))
        return found
