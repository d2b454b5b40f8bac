"""The sync's rules: small functions over the book that fill one Outcome (pure, no I/O)."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from funnel_sync.config import Config
from funnel_sync.days import Days
from funnel_sync.logs import PoolState, StageState
from funnel_sync.model import Customer, Opportunity, Rep, Stage
from funnel_sync.plan import CellValue
from funnel_sync.problems import Problem, column_letter, make
from funnel_sync.read import Book
from funnel_sync.rules.cadence import Touches
from funnel_sync.schema import OPPORTUNITIES, POOL, Sheet

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
    reason: str
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


@dataclass
class Outcome:
    """Everything one sync decided: engine cell values, log rows, problems, reminders."""

    # engine cells per (sheet key, field): row → value (a column at a time for the plan)
    cells: defaultdict[tuple[str, str], dict[int, CellValue]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    owner_writes: dict[int, CellValue] = field(default_factory=dict)  # pool row → owner cell
    stage_log: list[list[CellValue]] = field(default_factory=list)
    pool_log: list[list[CellValue]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    reminders: dict[tuple[str, int], list[str]] = field(default_factory=lambda: defaultdict(list))
    today: list[TodayItem] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    confirmed: dict[str, Stage] = field(default_factory=dict)  # opportunity → counted class
    entered: dict[str, dt.date] = field(default_factory=dict)  # opportunity → stage entry
    owners: dict[str, str | None] = field(default_factory=dict)  # customer → confirmed owner
    claimed: dict[str, dt.date] = field(default_factory=dict)  # claimed/transferred this sync
    # customer → (owner, days idle, limit, idle since, top class): worked out once, by the
    # ownership rule for owners unchanged today, and reused by recycling
    idleness: dict[str, tuple[str, int, int, dt.date, Stage | None]] = field(default_factory=dict)
    won_customers: frozenset[str] = frozenset()  # with an opportunity at 成交: the pool rules'


@dataclass
class Context:
    """The book and what every rule needs to look up, built once per sync."""

    book: Book
    cfg: Config
    today: dt.date
    now: dt.datetime
    days: Days
    pool_state: PoolState
    stage_state: StageState
    reps: dict[str, Rep] = field(default_factory=dict)
    first_sync: bool = False
    customers: dict[str, Customer] = field(default_factory=dict)
    opportunities: list[Opportunity] = field(default_factory=list)  # first row of each ID
    by_customer: dict[str, list[Opportunity]] = field(default_factory=dict)
    touches: Touches = field(default_factory=Touches)  # the last activity per key

    @property
    def customer_touch(self) -> dict[tuple[str, str], dt.date]:
        """(customer, rep) → the rep's last activity with the customer."""
        return self.touches.by_customer_rep

    @property
    def lang(self) -> str:
        return self.cfg.lang

    def problem(
        self, spec: Sheet, row: int, field_name: str | None, code: str, **params: Any
    ) -> Problem:
        layout = self.book.layouts.get(spec.key)
        sheet = layout.name if layout else self.cfg.sheet_title(spec)
        column = None
        if layout and field_name and field_name in layout.columns:
            column = column_letter(layout.columns[field_name])
        return make(
            code, lang=self.lang, sheet=sheet, row=row, column=column, field=field_name, **params
        )

    def text(self, zh: str, en: str, **params: object) -> str:
        return self.template(zh, en)(**params)

    def template(self, zh: str, en: str) -> Callable[..., str]:
        """The text in this run's language, to fill in many times (a rule's per-row note)."""
        return (zh if self.lang == "zh" else en).format

    def stamp(self) -> dt.datetime:
        return self.now


def build_context(
    book: Book, cfg: Config, today: dt.date, now: dt.datetime, pool: PoolState, stages: StageState
) -> Context:
    ctx = Context(book, cfg, today, now, Days(cfg, today), pool, stages)
    ctx.first_sync = not pool.seen and not stages.seen
    ctx.reps = {r.name: r for r in book.reps if r.name}
    for c in book.customers:
        ctx.customers.setdefault(c.customer_id, c)  # a duplicate ID: the first row counts
    seen: set[str] = set()
    for o in book.opportunities:
        if o.opportunity_id and o.opportunity_id not in seen:
            seen.add(o.opportunity_id)
            ctx.opportunities.append(o)
            if o.customer_id:
                ctx.by_customer.setdefault(o.customer_id, []).append(o)
    ctx.touches = Touches.of(book.activities, today)
    return ctx


def won_customers(ctx: Context, out: Outcome) -> frozenset[str]:
    """The customers with an opportunity counted at 成交 (stage_moves has run). The rules after
    it work it out on entry, once rather than per customer (40k at the benchmark's 100k)."""
    confirmed, won = out.confirmed.get, Stage.WON
    return frozenset(
        o.customer_id
        for o in ctx.opportunities
        if o.customer_id and confirmed(o.opportunity_id) is won
    )


Rule = Callable[[Context, Outcome], None]

POOL_SHEET: Sheet = POOL
OPPS_SHEET: Sheet = OPPORTUNITIES
