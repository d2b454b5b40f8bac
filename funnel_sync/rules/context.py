"""What every rule reads: the book, the settings, the day, the logs' state and the lookups built
once per sync. Read-only to the rules; what they decide they return."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from funnel_sync.config import Config
from funnel_sync.days import Days
from funnel_sync.logs import PoolState, StageState
from funnel_sync.model import Customer, Opportunity, Rep
from funnel_sync.problems import Problem, column_letter, make
from funnel_sync.read import Book
from funnel_sync.rules.cadence import Touches
from funnel_sync.schema import Sheet


@dataclass(frozen=True, slots=True)
class Context:
    """The book and what every rule needs to look up, built once per sync (build_context)."""

    book: Book
    cfg: Config
    today: dt.date
    now: dt.datetime  # the time the log rows carry
    days: Days
    pool_state: PoolState
    stage_state: StageState
    reps: dict[str, Rep] = field(default_factory=dict)
    first_sync: bool = False
    customers: dict[str, Customer] = field(default_factory=dict)  # first row of each ID
    opportunities: list[Opportunity] = field(default_factory=list)  # first row of each ID
    by_customer: dict[str, list[Opportunity]] = field(default_factory=dict)
    touches: Touches = field(default_factory=Touches)  # the last activity per key

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


def build_context(
    book: Book, cfg: Config, today: dt.date, now: dt.datetime, pool: PoolState, stages: StageState
) -> Context:
    customers: dict[str, Customer] = {}
    for c in book.customers:
        customers.setdefault(c.customer_id, c)  # a duplicate ID: the first row counts
    opportunities: list[Opportunity] = []
    by_customer: dict[str, list[Opportunity]] = {}
    seen: set[str] = set()
    for o in book.opportunities:
        if o.opportunity_id and o.opportunity_id not in seen:
            seen.add(o.opportunity_id)
            opportunities.append(o)
            if o.customer_id:
                by_customer.setdefault(o.customer_id, []).append(o)
    return Context(
        book,
        cfg,
        today,
        now,
        Days(cfg, today),
        pool,
        stages,
        reps={r.name: r for r in book.reps if r.name},
        first_sync=not pool.seen and not stages.seen,
        customers=customers,
        opportunities=opportunities,
        by_customer=by_customer,
        touches=Touches.of(book.activities, today),
    )
