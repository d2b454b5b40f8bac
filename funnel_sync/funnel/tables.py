"""The aggregates of the snapshot per scope column: one pass of group-bys (or numpy counts)
over the rows measures.py selected gives every scope value's counts, sums and lists at once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np
import pandas as pd

from funnel_sync.funnel.context import (
    OPEN_STAGES,
    Figure,
    ImportantDay,
    Listing,
    Overdue,
    PoolEvent,
    RejectedMove,
    Stalled,
    field_names,
)
from funnel_sync.funnel.measures import Measures
from funnel_sync.funnel.plain import _column, _grouped, _int

F = TypeVar("F", bound=Figure)


def _counts(df: pd.DataFrame, key: str, by: str | None = None) -> dict[Any, int]:
    """`df.groupby([key, by]).size()` (or by `key` alone) as a dict of its non-zero counts,
    counted with numpy: `key` is a categorical scope column, `by` a column of integers."""
    column = df[key]
    if not isinstance(column.dtype, pd.CategoricalDtype) or (
        by is not None and df[by].dtype.kind not in "iu"
    ):
        keys = key if by is None else [key, by]
        return _grouped(df.groupby(keys, observed=True).size())
    codes = column.cat.codes.to_numpy().astype(np.intp)
    names = column.cat.categories.tolist()
    if by is None:
        counts = np.bincount(codes[codes >= 0], minlength=len(names))
        return {names[c]: n for c, n in enumerate(counts.tolist()) if n}
    values = df[by].to_numpy()[codes >= 0]
    codes = codes[codes >= 0]
    if not len(codes):
        return {}
    low = int(values.min())
    span = int(values.max()) - low + 1
    counts = np.bincount(codes * span + (values - low), minlength=len(names) * span)
    found = np.flatnonzero(counts).tolist()
    return {(names[i // span], low + i % span): int(counts[i]) for i in found}


@dataclass(frozen=True)
class Lists(Generic[F]):
    """A list for every scope value: its total and its first items."""

    totals: dict[Any, int]
    items: dict[Any, list[F]]

    def listing(self, k: Any) -> Listing[F]:
        return Listing(self.totals.get(k, 0), tuple(self.items.get(k, ())))


def _lists(df: pd.DataFrame, key: str, item: type[F], limit: int) -> Lists[F]:
    """Per scope value: the total and the first `limit` rows as `item`s, the columns of df
    named as its fields (df already sorted)."""
    totals = _counts(df, key)
    head = df.groupby(key, observed=True, sort=False).head(limit)
    items: dict[Any, list[F]] = defaultdict(list)
    columns = [_column(head[name]) for name in field_names(item)]
    for k, *values in zip(head[key].tolist(), *columns, strict=True):
        items[k].append(item(*values))
    return Lists(totals, items)


@dataclass
class Tables:
    """Aggregates keyed by (scope value, …) for one scope column."""

    counts: dict[Any, Any]
    amounts: dict[Any, Any]
    weighted: dict[Any, Any]
    flow: dict[Any, Any]
    flow_prev: dict[Any, Any]
    rates: dict[Any, Any]
    moves: dict[Any, Any]
    days_now: dict[Any, Any]
    days_done: dict[Any, Any]
    done_n: dict[Any, Any]
    stalled_n: dict[Any, Any]
    plans: dict[Any, Any]
    late: dict[Any, Any]
    work: dict[Any, Any]
    won_ytd: dict[Any, Any]
    won_qtd: dict[Any, Any]
    won_avg: dict[Any, Any]
    won_n: dict[Any, Any]
    trend: dict[Any, Any]
    rejected_n: dict[Any, int]
    pool_n: dict[Any, Any]
    stalled: Lists[Stalled]
    overdue: Lists[Overdue]
    rejected: Lists[RejectedMove]
    pool: Lists[PoolEvent]
    days: Lists[ImportantDay]


def tables(m: Measures, key: str) -> Tables:
    """The aggregates of every scope value of the scope column `key` (team, region, rep)."""
    lim = m.limit
    g = m.live.groupby([key, "cls"], observed=True)
    trend_won = m.trend_rows["won"]
    trend = {
        "new": _counts(m.trend_rows["new"], key, "w"),
        "advanced": _counts(m.trend_rows["advanced"], key, "w"),
        "won": _counts(trend_won, key, "w"),
        "won_amount": _grouped(trend_won.groupby([key, "w"], observed=True)["amount"].sum()),
        "lost": _counts(m.trend_rows["lost"], key, "w"),
    }
    late = m.late
    late_days = late.groupby([key, "cls"], observed=True)["days_late"].mean()
    wk_acts = m.wk_acts.groupby([key, "kind"], observed=True)
    return Tables(
        counts=_counts(m.live, key, "cls"),
        amounts=_grouped(g["amount"].sum()),
        weighted=_grouped(g["weighted"].sum()),
        flow=_flow(m.week_flow, key),
        flow_prev=_flow(m.prev_flow, key),
        rates={
            "advanced": _counts(m.trailing_advanced, key, "frm"),
            "lost": _counts(m.trailing_lost, key, "frm"),
        },
        moves=_counts(m.trailing_moves, key),
        days_now=_grouped(m.opened.groupby([key, "cls"], observed=True)["age"].mean()),
        days_done=_grouped(m.stays.groupby([key, "to"], observed=True)["days"].mean()),
        done_n=_counts(m.stays, key, "to"),
        stalled_n=_counts(m.stalled, key, "cls"),
        plans={what: _counts(rows, key, "cls") for what, rows in m.plan_rows.items()},
        late=_grouped(late_days),
        work={
            "count": _grouped(wk_acts.size()),
            "hours": _grouped(wk_acts["hours"].sum()),
        },
        won_ytd=_grouped(m.won_year.groupby(key, observed=True)["amount"].sum()),
        won_qtd=_grouped(m.won_quarter.groupby(key, observed=True)["amount"].sum()),
        won_avg=_grouped(m.won.groupby(key, observed=True)["amount"].mean()),
        won_n=_counts(m.won, key),
        trend=trend,
        rejected_n=_counts(m.rejected, key),
        pool_n=_counts(m.pool_week, key, "action"),
        stalled=_lists(m.stalled, key, Stalled, lim),
        overdue=_lists(m.overdue, key, Overdue, lim),
        rejected=_lists(m.rejected, key, RejectedMove, lim),
        pool=_lists(m.pool_items, key, PoolEvent, lim),
        days=_important_days(m, key),
    )


def _flow(rows: Mapping[str, pd.DataFrame], key: str) -> dict[Any, Any]:
    return {
        "entered": _counts(rows["entered"], key, "to"),
        "advanced": _counts(rows["advanced"], key, "frm"),
        "fell_back": _counts(rows["fell_back"], key, "frm"),
        "lost": _counts(rows["lost"], key, "frm"),
    }


def _important_days(m: Measures, key: str) -> Lists[ImportantDay]:
    """Birthdays and company anniversaries of won customers in the 7 days after the date."""
    cols = list(dict.fromkeys([key, "customer_id", "rep"]))
    won = m.won[cols].drop_duplicates([key, "customer_id"])
    # inner merges keep the left rows' order: naming the events first changes nothing
    ev = m.named_events.merge(won, on="customer_id")
    ev = ev.sort_values(["date", "customer_id"], kind="stable")
    return _lists(ev, key, ImportantDay, m.limit)


def _rates(tb: Tables, k: Any) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for s in OPEN_STAGES:
        adv = _int(tb.rates["advanced"].get((k, int(s)), 0))
        lost = _int(tb.rates["lost"].get((k, int(s)), 0))
        out[s.key] = adv / (adv + lost) if adv + lost else None
    return out
