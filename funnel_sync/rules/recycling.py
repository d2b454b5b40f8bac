"""Automatic recycling (SPEC §4): a customer whose owner logged no activity with it for
`recycle_after_days` (by the highest open class of its opportunities) returns to the pool; the
owner is warned `warn_before_recycle_days` ahead. Locked customers and those with a won
opportunity are never recycled."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from funnel_sync.model import Customer
from funnel_sync.rules.context import Context
from funnel_sync.rules.counts import OwnerCounts
from funnel_sync.rules.decisions import (
    Idleness,
    Ownership,
    PoolDecisions,
    PoolEntry,
    Recycling,
    Reminders,
    StageDecisions,
    TodayItem,
)
from funnel_sync.rules.pool import NOTICE_DAYS
from funnel_sync.schema import POOL
from funnel_sync.texts import Said, say

KEY = POOL.key


def idleness(
    ctx: Context,
    stages: StageDecisions,
    c: Customer,
    owner: str,
    changed_on: dt.date | None = None,
) -> Idleness | None:
    """The countdown of a customer owned by `owner` (who became its owner on `changed_on`, if
    that was today); None for one never recycled (locked, or with a won opportunity)."""
    cid = c.customer_id
    if c.locked or cid in stages.won_customers:
        return None
    confirmed = stages.confirmed
    open_stages = [
        confirmed[o.opportunity_id]
        for o in ctx.by_customer.get(cid, ())
        if o.opportunity_id in confirmed and confirmed[o.opportunity_id].is_open
    ]
    top = max(open_stages) if open_stages else None
    limit = ctx.cfg.pool.recycle_after_days[top.key if top is not None else "none"]
    since = _idle_since(ctx, c, owner, changed_on)
    return Idleness(owner, ctx.days.between(since, ctx.today), limit, since, top)


def _idle_since(ctx: Context, c: Customer, owner: str, changed_on: dt.date | None) -> dt.date:
    """The later of the owner's last activity with the customer and the claim (or transfer)
    date; for an owner adopted on a first sync, the last activity alone, and only with no
    activity at all the adoption date (a grace period rather than an instant recycle)."""
    cid = c.customer_id
    touched = ctx.touches.by_customer_rep.get((cid, owner))
    claimed = changed_on or ctx.pool_state.claimed.get(cid)
    candidates = [d for d in (touched, claimed) if d is not None]
    if candidates:
        return max(candidates)
    return ctx.pool_state.adopted.get(cid, ctx.today)


def recycling(
    ctx: Context, stages: StageDecisions, ownership: Ownership, counts: OwnerCounts
) -> Recycling:
    """The owners as they stand after the changes the team typed: each customer idle past its
    limit goes back to the pool, and no longer counts toward its owner's cap."""
    returned: dict[str, Idleness] = {}
    kept: dict[str, Idleness] = {}
    writes: dict[int, str | None] = {}
    log: list[PoolEntry] = []
    for cid, c in ctx.customers.items():
        owner = ownership.owners.get(cid)
        if not owner:
            continue
        changed_on = ctx.today if cid in ownership.transferred else None
        idle = idleness(ctx, stages, c, owner, changed_on)
        if idle is None:
            continue
        if idle.days <= idle.limit:
            kept[cid] = idle
            continue
        returned[cid] = idle
        writes[c.source.row] = None
        log.append(PoolEntry(cid, "recycle", owner, _idle_reason(idle), owner))
        counts.recycle(owner)
    return Recycling(returned, kept, writes, log, Counter(recycles=len(returned)))


def _idle_reason(idle: Idleness) -> Said:
    return say("log.reason.idle", days=idle.days, limit=idle.limit)


def recycle_reminders(
    ctx: Context, stages: StageDecisions, pool: PoolDecisions, recycled: Recycling
) -> Reminders:
    """Once every owner is known: the owners warned ahead of a recycle, and each customer
    recycled within the week noted as free to claim (from the PoolLog, so a re-sync the same
    day writes the same 提醒)."""
    warn = ctx.cfg.pool.warn_before_recycle_days
    notes: dict[tuple[str, int], list[Said]] = {}
    today: list[TodayItem] = []
    for cid, c in ctx.customers.items():
        owner, row = pool.owners.get(cid), c.source.row
        if not owner:
            returned = recycled.returned.get(cid)
            if returned is not None:
                notes[(KEY, row)] = [_recycled(ctx.today, returned.owner, _idle_reason(returned))]
                continue
            before = ctx.pool_state.recycled.get(cid)
            if before and (ctx.today - before[0]).days <= NOTICE_DAYS:
                notes[(KEY, row)] = [_recycled(*before)]
            continue
        idle = recycled.idleness.get(cid)
        if idle is None:  # claimed today (or never recycled): counted from today
            idle = idleness(ctx, stages, c, owner, ctx.today if cid in pool.claimed else None)
        if idle is None or idle.days < idle.limit - warn:
            continue
        note = say(
            "reminder.recycle_warning",
            days=idle.days,
            left=idle.limit - idle.days,
            day=ctx.days.add(idle.since, idle.limit + 1),
        )
        notes[(KEY, row)] = [note]
        today.append(TodayItem(owner, idle.top, "recycle-warning", 0, c, None, note))
    return Reminders(notes, today, Counter(recycle_warnings=len(today)))


def _recycled(day: dt.date, owner: str, reason: Said | str) -> Said:
    return say("reminder.recycled", day=day, owner=owner, reason=reason)
