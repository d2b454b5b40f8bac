"""The claim checks: a list of small functions, each a refusal (a Problem) or nothing (SPEC §4).

A claim is a rep's name typed as the owner of a customer the pool holds. The checks run in list
order and the first refusal wins, so a later check may leave to an earlier one what it covers
(over_cap need not ask whether the rep exists). Adding a pool rule is adding a function here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from funnel_sync.problems import Problem
from funnel_sync.rules.context import Context
from funnel_sync.rules.counts import OwnerCounts
from funnel_sync.rules.decisions import Claim
from funnel_sync.schema import POOL, REPS

ClaimCheck = Callable[[Context, Claim, OwnerCounts], "Problem | None"]


def _refuse(ctx: Context, claim: Claim, code: str, **params: object) -> Problem:
    return ctx.problem(POOL, claim.customer.source.row, "owner", code, **params)


def unknown_rep(ctx: Context, claim: Claim, counts: OwnerCounts) -> Problem | None:
    if claim.rep in ctx.reps:
        return None
    reps = ctx.cfg.sheet_title(REPS)
    return _refuse(ctx, claim, "claim-unknown-rep", value=claim.rep, reps=reps)


def no_region(ctx: Context, claim: Claim, counts: OwnerCounts) -> Problem | None:
    if claim.customer.region:
        return None
    return _refuse(ctx, claim, "claim-no-region", header=ctx.cfg.header(POOL, "region"))


def outside_region(ctx: Context, claim: Claim, counts: OwnerCounts) -> Problem | None:
    rep, region = ctx.reps.get(claim.rep), claim.customer.region
    if rep is None or rep.covers(region):
        return None
    regions = "、".join(sorted(rep.regions)) or "-"
    return _refuse(
        ctx, claim, "claim-outside-region", rep=claim.rep, regions=regions, region=region
    )


def over_cap(ctx: Context, claim: Claim, counts: OwnerCounts) -> Problem | None:
    owned, cap = counts.owned(claim.rep), ctx.cfg.pool.max_owned_per_rep
    if owned < cap:
        return None
    return _refuse(ctx, claim, "claim-over-cap", rep=claim.rep, owned=owned, cap=cap)


def over_daily_limit(ctx: Context, claim: Claim, counts: OwnerCounts) -> Problem | None:
    claimed, limit = counts.claimed_today(claim.rep), ctx.cfg.pool.max_claims_per_day
    if claimed < limit:
        return None
    return _refuse(
        ctx, claim, "claim-over-daily-limit", rep=claim.rep, claimed=claimed, limit=limit
    )


def cooldown(ctx: Context, claim: Claim, counts: OwnerCounts) -> Problem | None:
    """Not again within `reclaim_cooldown_days` of releasing or losing (recycled) it."""
    released = ctx.pool_state.released.get((claim.customer.customer_id, claim.rep))
    if released is None:
        return None
    until = released + dt.timedelta(days=ctx.cfg.pool.reclaim_cooldown_days)
    if ctx.today >= until:
        return None
    return _refuse(
        ctx,
        claim,
        "claim-cooldown",
        rep=claim.rep,
        released=released.isoformat(),
        until=until.isoformat(),
    )


#: In order: the first refusal is the one reported (and logged).
CLAIM_CHECKS: list[ClaimCheck] = [
    unknown_rep,
    no_region,
    outside_region,
    over_cap,
    over_daily_limit,
    cooldown,
]


def refusal(ctx: Context, claim: Claim, counts: OwnerCounts) -> Problem | None:
    """The first check that refuses the claim, or None: the claim is accepted."""
    for check in CLAIM_CHECKS:
        problem = check(ctx, claim, counts)
        if problem is not None:
            return problem
    return None
