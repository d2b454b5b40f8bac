"""The ledger's domain as immutable values: stages, customers, opportunities, activities, reps.

Rows are NamedTuples (as beancount's entries): immutable, and cheap to build by the 100,000.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import NamedTuple


class Stage(enum.IntEnum):
    """An opportunity's class. The integer order is the funnel order, top to bottom."""

    LOST = 0
    D = 1
    C = 2
    B = 3
    A = 4
    WON = 5

    def __bool__(self) -> bool:
        # LOST is 0 for the funnel order, but a class is never "nothing": `if stage:` must not
        # mistake 丢单 for a blank cell.
        return True

    @property
    def code(self) -> str:
        """The code as the team writes it in the workbook."""
        return _STAGE_CODES[self]

    @property
    def key(self) -> str:
        """The ASCII key used in config.toml (`D`, `C`, `B`, `A`, `won`, `lost`)."""
        return _STAGE_KEYS[self]

    @classmethod
    def from_key(cls, key: str) -> Stage:
        for stage, k in _STAGE_KEYS.items():
            if k.lower() == key.lower():
                return stage
        raise KeyError(key)

    @property
    def is_open(self) -> bool:
        """Still in the funnel (D, C, B or A)."""
        return Stage.D <= self <= Stage.A


_STAGE_CODES = {
    Stage.LOST: "丢单",
    Stage.D: "D",
    Stage.C: "C",
    Stage.B: "B",
    Stage.A: "A",
    Stage.WON: "成交",
}
_STAGE_KEYS = {
    Stage.LOST: "lost",
    Stage.D: "D",
    Stage.C: "C",
    Stage.B: "B",
    Stage.A: "A",
    Stage.WON: "won",
}

#: The funnel's layers from the top, as reports draw them (pool reserve comes before D).
FUNNEL_STAGES: tuple[Stage, ...] = (Stage.D, Stage.C, Stage.B, Stage.A, Stage.WON)


class ActivityKind(enum.Enum):
    """What kind of touch an activity row records."""

    CALL = "电话"
    VISIT = "拜访"
    SMS = "短信"
    EMAIL = "邮件"
    PROFILE = "资料收集"
    PROSPECTING = "寻找商机"

    @property
    def english(self) -> str:
        return self.name.lower()


class Source(NamedTuple):
    """Where a parsed row lives in the workbook, numbered as Excel shows it."""

    sheet: str
    row: int


@dataclass(frozen=True, slots=True)
class MonthDay:
    """A recurring date without a year (a birthday typed as 3月5日)."""

    month: int
    day: int

    def next_on_or_after(self, today: dt.date) -> dt.date:
        """The next occurrence on or after `today` (29 Feb falls on 28 Feb in other years)."""
        for year in (today.year, today.year + 1):
            day = self.day
            if self.month == 2 and day == 29 and not _is_leap(year):
                day = 28
            candidate = dt.date(year, self.month, day)
            if candidate >= today:
                return candidate
        raise AssertionError("unreachable: a date recurs within a year")


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


class Customer(NamedTuple):
    source: Source
    customer_id: str
    name: str | None
    region: str | None
    owner: str | None
    industry: str | None = None
    contact: str | None = None
    phone: str | None = None
    contact_birthday: MonthDay | None = None
    anniversary: MonthDay | None = None
    lead_source: str | None = None
    locked: bool = False
    released: bool = False
    claimed_on: dt.date | None = None
    released_on: dt.date | None = None


class Evidence(NamedTuple):
    """The evidence columns of an opportunity (blank counts as no)."""

    influencer_contacted: bool = False
    need_confirmed: bool = False
    quoted: bool = False
    decision_process_known: bool = False
    budget_confirmed: bool = False
    contract_sent: bool = False
    signed: bool = False


class Opportunity(NamedTuple):
    source: Source
    opportunity_id: str
    customer_id: str | None
    owner: str | None
    stage: Stage | None
    amount: float | None = None
    expected_close: dt.date | None = None
    next_step: str | None = None
    planned_advance: dt.date | None = None
    evidence: Evidence = Evidence()
    lost_reason: str | None = None
    notes: str | None = None
    confirmed_stage: Stage | None = None
    stage_entered_on: dt.date | None = None


class Activity(NamedTuple):
    source: Source
    date: dt.date | None
    rep: str | None
    customer_id: str | None
    opportunity_id: str | None
    kind: ActivityKind | None
    hours: float | None = None
    notes: str | None = None


class Rep(NamedTuple):
    source: Source
    name: str
    email: str | None
    regions: frozenset[str]
    all_regions: bool
    start_date: dt.date | None
    annual_quota: float | None
    manager: bool
    training_end: dt.date | None = None

    def covers(self, region: str | None) -> bool:
        return self.all_regions or (region is not None and region in self.regions)
