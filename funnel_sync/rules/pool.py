"""The public pool: owners adopted, released, transferred and claimed (SPEC §4). The recycling
of idle customers is rules/recycling.py, the claim checks rules/claims.py.

In the order they depend on each other: `owner_counts` from the PoolLog, `ownership` (every
change the team typed but the claims), recycling, then `claiming`: the cap and the daily limit
count the owners as they stand after today's releases, transfers and recycles, as a re-sync
the same day will."""

from __future__ import annotations

from collections import Counter

from funnel_sync.model import Customer
from funnel_sync.problems import Problem
from funnel_sync.rules.claims import refusal
from funnel_sync.rules.context import Context
from funnel_sync.rules.counts import OwnerCounts
from funnel_sync.rules.decisions import (
    Claim,
    Claims,
    Ownership,
    PoolEntry,
    StageDecisions,
)
from funnel_sync.schema import POOL
from funnel_sync.texts import say

NOTICE_DAYS = 7  # recycles, transfers and reverts are noted on the pool row for a week


def owner_counts(ctx: Context, stages: StageDecisions) -> OwnerCounts:
    """The customers each rep owns as the PoolLog says (won ones only if they count toward
    the cap), and the claims it holds for today."""
    won = frozenset() if ctx.cfg.pool.won_counts_toward_cap else stages.won_customers
    state = ctx.pool_state
    return OwnerCounts.from_log(state.owner, ctx.customers, won, state.claims, ctx.today)


def ownership(ctx: Context, counts: OwnerCounts) -> Ownership:
    """Compare each customer's typed owner with the owner the engine last confirmed."""
    owners: dict[str, str | None] = {}
    transferred: set[str] = set()
    released: set[str] = set()
    claims: list[Claim] = []
    writes: dict[int, str | None] = {}
    log: list[PoolEntry] = []
    problems: list[Problem] = []
    n: Counter[str] = Counter()
    revert = ctx.cfg.pool.enforce == "revert"
    for cid, c in ctx.customers.items():
        typed = c.owner
        known_before = cid in ctx.pool_state.owner
        known = ctx.pool_state.owner.get(cid)
        row = c.source.row
        if not known_before and typed is None:
            owners[cid] = None
            continue
        if not known_before and ctx.first_sync:  # adopted as found, never rejected
            log.append(PoolEntry(cid, "adopt", typed, say("log.reason.owner_first_sync"), None))
            owners[cid] = typed
            n["owners_adopted"] += 1
            continue
        if known_before and typed == known:
            owners[cid] = known
            problems.extend(_notices(ctx, c))
            continue
        if typed is None:  # released (cleared, or 释放 typed)
            log.append(PoolEntry(cid, "release", known, say("log.reason.released"), known))
            released.add(cid)
            owners[cid] = None
            counts.release(known)
            n["releases"] += 1
            continue
        if known:  # one rep to another
            if revert:
                writes[row] = known
                log.append(
                    PoolEntry(cid, "revert", known, say("log.reason.transfer_unconfirmed"), typed)
                )
                problems.append(
                    ctx.problem(POOL, row, "owner", "owner-reverted", old=known, attempted=typed)
                )
                owners[cid] = known
                n["reverts"] += 1
                continue
            log.append(
                PoolEntry(cid, "transfer", typed, say("log.reason.transfer_to_confirm"), known)
            )
            problems.append(
                ctx.problem(POOL, row, "owner", "transfer-flagged", old=known, new=typed)
            )
            transferred.add(cid)
            owners[cid] = typed
            counts.transfer(known, typed)
            n["transfers"] += 1
            continue
        # a claim: an unowned customer (or a new row) now carries a rep's name
        owners[cid] = None  # until the claim is judged
        claims.append(Claim(c, typed))
    return Ownership(
        owners, frozenset(transferred), frozenset(released), claims, writes, log, problems, n
    )


def _notices(ctx: Context, c: Customer) -> list[Problem]:
    """A transfer stays flagged, and a revert explained, for a week after the event: derived
    from the PoolLog, so a re-sync the same day writes the same 校验."""
    row, cid, found = c.source.row, c.customer_id, []
    transfer = ctx.pool_state.transfers.get(cid)
    if transfer and (ctx.today - transfer[0]).days <= NOTICE_DAYS:
        found.append(
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
        found.append(problem)
    return found


def claiming(ctx: Context, ownership: Ownership, counts: OwnerCounts) -> Claims:
    """The waiting claims in row order, each accepted unless a claim check refuses it. Run
    after recycling: `counts` then holds the owners as they stand after every other change."""
    accepted: dict[str, str] = {}
    writes: dict[int, str | None] = {}
    log: list[PoolEntry] = []
    problems: list[Problem] = []
    n: Counter[str] = Counter()
    revert = ctx.cfg.pool.enforce == "revert"
    for claim in ownership.claims:
        c, rep = claim
        cid, row = c.customer_id, c.source.row
        refused = refusal(ctx, claim, counts)
        if refused is None:
            log.append(PoolEntry(cid, "claim", rep, "", None))
            accepted[cid] = rep
            counts.claim(rep)
            n["claims"] += 1
            continue
        problems.append(refused)
        n["claims_rejected"] += 1
        if ctx.pool_state.last_rejected.get(cid) != rep:
            log.append(PoolEntry(cid, "claim-rejected", rep, refused.message, rep))
        if revert:
            writes[row] = None
            log.append(PoolEntry(cid, "revert", None, say("log.reason.claim_refused"), rep))
            problems.append(ctx.problem(POOL, row, "owner", "owner-cleared", attempted=rep))
            n["reverts"] += 1
    return Claims(accepted, writes, log, problems, n)
