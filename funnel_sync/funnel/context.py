"""The report's context: the period it covers and the shape of its figures (the funnel's
layers, the trend's weeks, the length of its lists)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from funnel_sync.model import Stage

#: The funnel's layers from the top: the pool reserve, then the classes.
LAYER_KEYS = ("pool", "D", "C", "B", "A", "won")
OPEN_STAGES = (Stage.D, Stage.C, Stage.B, Stage.A)
FLOW_STAGES = (Stage.D, Stage.C, Stage.B, Stage.A, Stage.WON)
TREND_WEEKS = 8
LIST_LIMIT = 100  # items per list and scope; the totals are always given


@dataclass(frozen=True)
class Period:
    """The 7 days ending on the report date and their ISO week label (of the middle day)."""

    start: dt.date
    end: dt.date
    year: int
    week: int

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @classmethod
    def ending(cls, day: dt.date) -> Period:
        iso = (day - dt.timedelta(days=3)).isocalendar()
        return cls(day - dt.timedelta(days=6), day, iso.year, iso.week)

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "label": self.label,
            "year": self.year,
            "week": self.week,
        }
