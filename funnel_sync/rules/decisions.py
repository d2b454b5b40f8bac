"""What the rules decide, as typed immutable values: each rule family returns one, the plan lays
them out as cell writes and log rows, the summary counts them. Their texts are Said (a code of
funnel_sync.texts and its parameters), rendered by the plan."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from funnel_sync.model import Customer, Stage
from funnel_sync.problems import Problem
from funnel_sync.rules.cadence import FollowUp
from funnel_sync.texts import Said

#: Urgency within one class on the Today list, most urgent first.
URGENCY = ("overdue", "due", "important-day", "recycle-warning", "stalled", "upsell")


class TodayItem(NamedTuple):
    """One line of the Today list (a named tuple: a 100k sync makes 60k of them)."""

    rep: str
    stage: Stage | None
    urgency: str
    overdue_days: int
    customer: Customer | None
    opportunity_id: str | None
    reason: Said  # also a note of its row's 提醒 cell
    days_ahead: int = 0  # for an important day: the sooner, the higher

    def sort_key(self) -> tuple[int, int, int, int, str, str]:
        rank = (
            5 - int(self.stage)
            if self.stage is not None and self.stage.is_open
            else (4 if self.stage is Stage.WON else 5)
        )
        return (
            rank if self.stage is not None else 6,
            URGENCY.index(self.urgency),
            -self.overdue_days,
            self.days_ahead,
            self.customer.customer_id if self.customer else "",
            self.opportunity_id or "",
        )


class StageEntry(NamedTuple):
    """One StageLog row: a class adopted, a move accepted or a move rejected."""

    opportunity_id: str
    frm: Stage | None
    to: Stage
    result: str  # a logs.STAGE_RESULTS code
    reason: Said | str  # a rejection: the message of its problem
    owner: str


class PoolEntry(NamedTuple):
    """One PoolLog row: an owner adopted, a claim, a refusal, a release, a recycle..."""

    customer_id: str
    action: str  # a logs.POOL_ACTIONS code
    rep: str | None
    reason: Said | str  # a refused claim: the message of its problem; "" for none
    old: str | None  # the value the owner cell held or was typed with


@dataclass(frozen=True, slots=True)
class StageDecisions:
    """stage_moves: the class each opportunity counts at, and since when."""

    confirmed: Mapping[str, Stage]  # opportunity → class (absent: not in the funnel)
    entered: Mapping[str, dt.date]  # opportunity → the day it entered that class
    won_customers: frozenset[str]  # customers with an opportunity counted at 成交
    log: Sequence[StageEntry]
    counts: Mapping[str, int]


class Claim(NamedTuple):
    """A rep's name typed as owner of a customer the pool held: judged by rules/claims.py."""

    customer: Customer
    rep: str


@dataclass(frozen=True, slots=True)
class Ownership:
    """ownership: the changes of owner the team typed but the claims, which wait until the
    day's recycles are counted (adoptions, releases, transfers, reverts)."""

    owners: Mapping[str, str | None]  # customer → owner (a waiting claim: None)
    transferred: frozenset[str]  # customers moved to another rep today
    released: frozenset[str]  # customers released today
    claims: Sequence[Claim]  # in row order
    owner_writes: Mapping[int, str | None]  # pool row → owner written back (reverts)
    log: Sequence[PoolEntry]
    problems: Sequence[Problem]
    counts: Mapping[str, int]


class Idleness(NamedTuple):
    """The recycling countdown of an owned customer."""

    owner: str
    days: int  # without the owner's activity
    limit: int  # recycle_after_days of its highest open class
    since: dt.date
    top: Stage | None  # that class (None: no open opportunity)


@dataclass(frozen=True, slots=True)
class Recycling:
    """recycling: the owned customers idle past their limit go back to the pool."""

    returned: Mapping[str, Idleness]  # customer → its countdown, run out today
    idleness: Mapping[str, Idleness]  # the countdown of every other owned customer
    owner_writes: Mapping[int, str | None]  # pool row → owner cleared
    log: Sequence[PoolEntry]
    counts: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Claims:
    """claiming: each waiting claim accepted or refused by the claim checks."""

    accepted: Mapping[str, str]  # customer → rep
    owner_writes: Mapping[int, str | None]  # pool row → owner cleared (enforce = "revert")
    log: Sequence[PoolEntry]
    problems: Sequence[Problem]
    counts: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class PoolDecisions:
    """The pool after today's changes of owner: ownership, recycling and claims together."""

    owners: Mapping[str, str | None]  # customer → owner now
    claimed: frozenset[str]  # claimed or transferred today (领取日期)
    released: frozenset[str]  # released or recycled today (释放日期)
    owner_writes: Mapping[int, str | None]  # pool row → the owner the engine writes
    log: Sequence[PoolEntry]
    problems: Sequence[Problem]
    counts: Mapping[str, int]

    @classmethod
    def of(cls, ownership: Ownership, recycling: Recycling, claims: Claims) -> PoolDecisions:
        owners = dict(ownership.owners)
        owners.update(dict.fromkeys(recycling.returned))
        owners.update(claims.accepted)
        return cls(
            owners,
            ownership.transferred | claims.accepted.keys(),
            ownership.released | recycling.returned.keys(),
            {**ownership.owner_writes, **recycling.owner_writes, **claims.owner_writes},
            # the PoolLog's order: the changes typed, the claims, then the recycles
            (*ownership.log, *claims.log, *recycling.log),
            (*ownership.problems, *claims.problems),
            _sum(ownership.counts, recycling.counts, claims.counts),
        )


@dataclass(frozen=True, slots=True)
class Reminders:
    """The notes of the 提醒 cells and the items of the Today list."""

    notes: Mapping[tuple[str, int], Sequence[Said]]  # (sheet key, row) → the cell's notes
    today: Sequence[TodayItem]
    counts: Mapping[str, int]

    @classmethod
    def merge(cls, *parts: Reminders, team: Container[str]) -> Reminders:
        """One Reminders; a row's notes in the order of the parts, Today items only for the
        reps of the `team` (a name typed as owner that is no rep's has no list to go on)."""
        notes: dict[tuple[str, int], Sequence[Said]] = {}
        for part in parts:
            for key, more in part.notes.items():
                have = notes.get(key)
                notes[key] = more if have is None else [*have, *more]
        today = [item for part in parts for item in part.today if item.rep in team]
        return cls(notes, today, _sum(*(part.counts for part in parts)))


@dataclass(frozen=True, slots=True)
class Cadence:
    """contact_cadence: the follow-up of every opportunity at an open or won class."""

    follow_ups: Mapping[str, FollowUp]  # opportunity → its verdict (rules/cadence.py)
    reminders: Reminders


@dataclass(frozen=True, slots=True)
class Decisions:
    """Everything one sync decided (rules.decide): what the plan writes."""

    stages: StageDecisions
    pool: PoolDecisions
    follow_ups: Mapping[str, FollowUp]
    reminders: Reminders

    @property
    def problems(self) -> Sequence[Problem]:
        return self.pool.problems

    @property
    def counts(self) -> Counter[str]:
        return _sum(self.stages.counts, self.pool.counts, self.reminders.counts)


def _sum(*counts: Mapping[str, int]) -> Counter[str]:
    total: Counter[str] = Counter()
    for c in counts:
        total.update(c)
    return +total  # without the zeros
