"""The public pool: claims, releases, transfers and automatic recycling (SPEC §4)."""

from __future__ import annotations

import datetime as dt

from funnel_sync.logs import POOL_ACTIONS, label
from funnel_sync.model import Customer, Stage
from funnel_sync.plan import CellValue
from funnel_sync.rules import Context, Outcome, TodayItem, won_customers
from funnel_sync.rules.claims import Claim, refusal
from funnel_sync.rules.counts import OwnerCounts
from funnel_sync.schema import POOL

KEY = POOL.key
NOTICE_DAYS = 7  # recycles, transfers and reverts are noted on the pool row for a week


def ownership(ctx: Context, out: Outcome) -> None:
    """Compare each customer's typed owner with the owner the engine last confirmed."""
    out.won_customers = won_customers(ctx, out)
    won = frozenset() if ctx.cfg.pool.won_counts_toward_cap else out.won_customers
    counts = OwnerCounts.from_log(
        ctx.pool_state.owner, ctx.customers, won, ctx.pool_state.claims, ctx.today
    )
    # A customer that recycling returns to the pool today no longer counts toward its
    # owner's cap: else a claim refused now would be accepted by a re-sync the same day.
    for cid, c in ctx.customers.items():
        known = ctx.pool_state.owner.get(cid)
        if known and c.owner == known:
            idleness = _idleness(ctx, out, c, known)
            if idleness is not None and idleness[0] > idleness[1]:
                counts.recycle(known)
    claims: list[Customer] = []
    revert = ctx.cfg.pool.enforce == "revert"
    for cid, c in ctx.customers.items():
        typed = c.owner
        known_before = cid in ctx.pool_state.owner
        known = ctx.pool_state.owner.get(cid)
        row = c.source.row
        out.cells[(KEY, "claimed_on")][row] = c.claimed_on
        out.cells[(KEY, "released_on")][row] = c.released_on
        if not known_before and typed is None:
            out.owners[cid] = None
            continue
        if not known_before and ctx.first_sync:  # adopted as found, never rejected
            _log(ctx, out, c, "adopt", typed, ctx.text("首次同步: 按现状接管", "first sync"), "")
            out.owners[cid] = typed
            out.counts["owners_adopted"] += 1
            continue
        if known_before and typed == known:
            out.owners[cid] = known
            _notices(ctx, out, c)
            continue
        if typed is None:  # released (cleared, or 释放 typed)
            _log(ctx, out, c, "release", known, ctx.text("销售释放", "released by rep"), known)
            out.cells[(KEY, "released_on")][row] = ctx.today
            out.owners[cid] = None
            counts.release(known)
            out.counts["releases"] += 1
            continue
        if known:  # one rep to another
            if revert:
                out.owner_writes[row] = known
                _log(ctx, out, c, "revert", known, ctx.text("转移未经确认", "unconfirmed"), typed)
                out.problems.append(
                    ctx.problem(POOL, row, "owner", "owner-reverted", old=known, attempted=typed)
                )
                out.owners[cid] = known
                out.counts["reverts"] += 1
                continue
            _log(ctx, out, c, "transfer", typed, ctx.text("转移, 待经理确认", "to confirm"), known)
            out.problems.append(
                ctx.problem(POOL, row, "owner", "transfer-flagged", old=known, new=typed)
            )
            out.cells[(KEY, "claimed_on")][row] = ctx.today
            out.claimed[cid] = ctx.today
            out.owners[cid] = typed
            counts.transfer(known, typed)
            out.counts["transfers"] += 1
            continue
        claims.append(c)  # judged below, once every other change of owner is counted
    # Claims last, in row order: the cap and the daily limit count the owners as they stand
    # after today's releases, transfers and recycles, as a re-sync the same day will.
    for c in claims:
        typed, row = c.owner, c.source.row
        assert typed is not None
        # a claim: an unowned customer (or a new row) now carries a rep's name
        refused = refusal(ctx, Claim(c, typed), counts)
        if refused is None:
            _log(ctx, out, c, "claim", typed, "", "")
            out.cells[(KEY, "claimed_on")][row] = ctx.today
            out.claimed[c.customer_id] = ctx.today
            out.owners[c.customer_id] = typed
            counts.claim(typed)
            out.counts["claims"] += 1
            continue
        out.problems.append(refused)
        out.counts["claims_rejected"] += 1
        out.owners[c.customer_id] = None
        if ctx.pool_state.last_rejected.get(c.customer_id) != typed:
            _log(ctx, out, c, "claim-rejected", typed, refused.message, typed)
        if revert:
            out.owner_writes[row] = None
            _log(ctx, out, c, "revert", None, ctx.text("领取未通过", "claim refused"), typed)
            out.problems.append(ctx.problem(POOL, row, "owner", "owner-cleared", attempted=typed))
            out.counts["reverts"] += 1


def _notices(ctx: Context, out: Outcome, c: Customer) -> None:
    """A transfer stays flagged, and a revert explained, for a week after the event: derived
    from the PoolLog, so a re-sync the same day writes the same 校验."""
    row, cid = c.source.row, c.customer_id
    transfer = ctx.pool_state.transfers.get(cid)
    if transfer and (ctx.today - transfer[0]).days <= NOTICE_DAYS:
        out.problems.append(
            ctx.problem(POOL, row, "owner", "transfer-flagged", old=transfer[1], new=transfer[2])
        )
    reverted = ctx.pool_state.reverted.get(cid)
    if reverted and (ctx.today - reverted[0]).days <= NOTICE_DAYS:
        _, kept, attempted = reverted
        if kept:
            problem = ctx.problem(
                POOL, row, "owner", "owner-reverted", old=kept, attempted=attempted
            )
        else:
            problem = ctx.problem(POOL, row, "owner", "owner-cleared", attempted=attempted)
        out.problems.append(problem)


def recycling(ctx: Context, out: Outcome) -> None:
    """Customers whose owner logged no activity with them for too long return to the pool;
    the owner is warned `warn_before_recycle_days` ahead."""
    pool = ctx.cfg.pool
    out.won_customers = won_customers(ctx, out)
    for cid, c in ctx.customers.items():
        owner = out.owners.get(cid)
        if not owner:
            recycled = ctx.pool_state.recycled.get(cid)
            if recycled and (ctx.today - recycled[0]).days <= NOTICE_DAYS:
                out.reminders[(KEY, c.source.row)].append(_recycled_text(ctx, *recycled))
            continue
        idleness = _idleness(ctx, out, c, owner)
        if idleness is None:
            continue
        idle, limit, start, top = idleness
        row = c.source.row
        if idle > limit:
            out.owner_writes[row] = None
            reason = ctx.text(
                "{n} 天无跟进 (上限 {limit} 天)",
                "{n} days without activity (limit {limit})",
                n=idle,
                limit=limit,
            )
            _log(ctx, out, c, "recycle", owner, reason, owner)
            out.cells[(KEY, "released_on")][row] = ctx.today
            out.owners[cid] = None
            out.reminders[(KEY, row)].append(_recycled_text(ctx, ctx.today, owner, reason))
            out.counts["recycles"] += 1
        elif idle >= limit - pool.warn_before_recycle_days:
            left = limit - idle
            when = ctx.days.add(start, limit + 1)
            text = ctx.text(
                "{n} 天未跟进: {left} 天内不跟进, {d} 自动回收到资源库",
                "{n} days without activity: follow up within {left} days or it returns to the "
                "pool on {d}",
                n=idle,
                left=left,
                d=when.isoformat(),
            )
            out.reminders[(KEY, row)].append(text)
            out.today.append(TodayItem(owner, top, "recycle-warning", 0, c, None, text))
            out.counts["recycle_warnings"] += 1


def _idleness(
    ctx: Context, out: Outcome, c: Customer, owner: str
) -> tuple[int, int, dt.date, Stage | None] | None:
    """(days idle, the limit for its highest open class, idle since, that class) of an owned
    customer; None for one never recycled (locked, or with a won opportunity)."""
    cid = c.customer_id
    if c.locked or cid in out.won_customers:
        return None
    known = out.idleness.get(cid)
    if known is not None and known[0] == owner and cid not in out.claimed:
        return known[1:]
    stages = [
        out.confirmed[o.opportunity_id]
        for o in ctx.by_customer.get(cid, ())
        if o.opportunity_id in out.confirmed and out.confirmed[o.opportunity_id].is_open
    ]
    top = max(stages) if stages else None
    limit = ctx.cfg.pool.recycle_after_days[top.key if top is not None else "none"]
    start = _idle_since(ctx, out, c, owner)
    found = ctx.days.between(start, ctx.today), limit, start, top
    out.idleness[cid] = (owner, *found)
    return found


def _recycled_text(ctx: Context, day: dt.date, owner: str, reason: str) -> str:
    return ctx.text(
        "{d} 已自动回收 (原负责人 {o}, {r}): 可重新领取",
        "recycled on {d} (was {o}, {r}): free to claim",
        d=day.isoformat(),
        o=owner,
        r=reason,
    )


def _idle_since(ctx: Context, out: Outcome, c: Customer, owner: str) -> dt.date:
    """The later of the owner's last activity with the customer and the claim (or transfer)
    date; for an owner adopted on a first sync, the last activity alone, and only with no
    activity at all the adoption date (a grace period rather than an instant recycle)."""
    cid = c.customer_id
    touched = ctx.customer_touch.get((cid, owner))
    claimed = out.claimed.get(cid) or ctx.pool_state.claimed.get(cid)
    candidates = [d for d in (touched, claimed) if d is not None]
    if candidates:
        return max(candidates)
    return ctx.pool_state.adopted.get(cid, ctx.today)


def _log(
    ctx: Context,
    out: Outcome,
    c: Customer,
    action: str,
    rep: str | None,
    reason: str,
    old: CellValue,
) -> None:
    out.pool_log.append(
        [
            ctx.stamp(),
            c.customer_id,
            label(POOL_ACTIONS, action, ctx.lang),
            rep or "",
            reason,
            old or "",
        ]
    )
