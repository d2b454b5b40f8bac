"""The sync's rules (SPEC §4): pure functions over the book, each returning typed decisions;
`decide` runs them in the order they depend on each other."""

from __future__ import annotations

from funnel_sync.rules.context import Context, build_context
from funnel_sync.rules.decisions import Decisions, PoolDecisions, Reminders, TodayItem
from funnel_sync.rules.pool import claiming, owner_counts, ownership
from funnel_sync.rules.recycling import recycle_reminders, recycling
from funnel_sync.rules.reminders import contact_cadence, important_days
from funnel_sync.rules.stages import stage_moves

__all__ = ["Context", "Decisions", "TodayItem", "build_context", "decide"]


def decide(ctx: Context) -> Decisions:
    """Every rule of one sync. What each needs is in its signature: the pool's counts start
    from the classes (won customers need not count toward the cap); the claims are judged once
    the releases, transfers and recycles are counted; the reminders need the final owners.
    Only the reps on the team get a Today list."""
    stages = stage_moves(ctx)
    counts = owner_counts(ctx, stages)
    owners = ownership(ctx, counts)
    recycled = recycling(ctx, stages, owners, counts)
    claims = claiming(ctx, owners, counts)
    pool = PoolDecisions.of(owners, recycled, claims)
    cadence = contact_cadence(ctx, stages)
    reminders = Reminders.merge(
        recycle_reminders(ctx, stages, pool, recycled),
        cadence.reminders,
        important_days(ctx, stages, pool),
        team=ctx.reps,
    )
    return Decisions(stages, pool, cadence.follow_ups, reminders)
