"""The pool rules called directly on literal rows: ownership (adopt, release, transfer, revert),
the claim checks in their order, and the one OwnerCounts every change of owner updates."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from helpers import book_of, context_of, rendered, settings

from funnel_sync.config import Config
from funnel_sync.problems import Problem
from funnel_sync.rules import Context
from funnel_sync.rules import claims as claim_checks
from funnel_sync.rules.counts import OwnerCounts
from funnel_sync.rules.decisions import Claim, Claims, Ownership, Recycling
from funnel_sync.rules.pool import claiming, owner_counts, ownership
from funnel_sync.rules.recycling import recycling
from funnel_sync.rules.stages import stage_moves

EARLIER = dt.datetime(2026, 11, 2)  # the sync that confirmed the owners below
TODAY = dt.date(2026, 11, 30)
POOL = (
    {"customer_id": "KH001", "name": "甲公司", "region": "华东", "owner": "张三"},
    {"customer_id": "KH002", "name": "乙公司", "region": "华南", "owner": "李四"},
    {"customer_id": "KH003", "name": "丙公司", "region": "华东"},
    {"customer_id": "KH004", "name": "丁公司", "region": "华南"},
)
LOG = [
    (EARLIER, "KH001", "接管", "张三", "", ""),
    (EARLIER, "KH002", "接管", "李四", "", ""),
]


def _typed(**owners: str | None) -> list[dict[str, Any]]:
    """POOL with these owners typed (by customer ID)."""
    return [{**row, "owner": owners.get(row["customer_id"], row.get("owner"))} for row in POOL]


def _pool(
    owners: dict[str, str | None] | None = None,
    *,
    cfg: Config | None = None,
    log: list[tuple[Any, ...]] | None = None,
    activities: tuple[dict[str, Any], ...] = (),
) -> tuple[Context, Ownership, Recycling, Claims]:
    book = book_of(pool=_typed(**(owners or {})), activities=activities)
    ctx = context_of(book, cfg=cfg, pool_log=LOG if log is None else log, today=TODAY)
    stages = stage_moves(ctx)
    counts = owner_counts(ctx, stages)
    changes = ownership(ctx, counts)
    recycled = recycling(ctx, stages, changes, counts)
    return ctx, changes, recycled, claiming(ctx, changes, counts)


def _codes(problems: Any) -> list[tuple[int | None, str | None, str]]:
    return [(p.row, p.column, p.code) for p in problems]


def test_a_first_sync_adopts_the_owners_as_found() -> None:
    _, changes, _, claims = _pool(log=[])
    assert changes.owners == {"KH001": "张三", "KH002": "李四", "KH003": None, "KH004": None}
    assert [(e.customer_id, e.action, e.rep) for e in changes.log] == [
        ("KH001", "adopt", "张三"),
        ("KH002", "adopt", "李四"),
    ]
    assert (dict(changes.counts), claims.log) == ({"owners_adopted": 2}, [])


def test_a_release_a_transfer_and_a_claim() -> None:
    _, changes, _, claims = _pool({"KH001": None, "KH002": "王经理", "KH003": "张三"})
    assert [(e.customer_id, e.action, e.rep, e.old) for e in changes.log] == [
        ("KH001", "release", "张三", "张三"),
        ("KH002", "transfer", "王经理", "李四"),
    ]
    assert (changes.released, changes.transferred) == ({"KH001"}, {"KH002"})
    assert _codes(changes.problems) == [(3, "J", "transfer-flagged")]
    assert [(c.customer.customer_id, c.rep) for c in changes.claims] == [("KH003", "张三")]
    assert (claims.accepted, claims.problems) == ({"KH003": "张三"}, [])
    assert dict(changes.counts) == {"releases": 1, "transfers": 1}


def test_under_revert_a_transfer_is_undone_and_a_refused_claim_cleared() -> None:
    cfg = settings(pool={"enforce": "revert"})
    _, changes, _, claims = _pool({"KH002": "王经理", "KH004": "张三"}, cfg=cfg)
    assert (changes.owners["KH002"], changes.owner_writes) == ("李四", {3: "李四"})
    assert _codes(changes.problems) == [(3, "J", "owner-reverted")]
    assert claims.owner_writes == {5: None}
    assert _codes(claims.problems) == [(5, "J", "claim-outside-region"), (5, "J", "owner-cleared")]
    assert [e.action for e in claims.log] == ["claim-rejected", "revert"]


# (owners typed, settings, extra PoolLog rows, the refusal's code and message)
REFUSALS = [
    pytest.param({"KH003": "赵六"}, {}, [], "claim-unknown-rep", "「赵六」不在", id="unknown-rep"),
    pytest.param(
        {"KH004": "张三"},
        {},
        [],
        "claim-outside-region",
        "张三 负责区域 华东, 不能领取 华南 的客户",
        id="outside-region",
    ),
    pytest.param(
        {"KH003": "张三"},
        {"max_owned_per_rep": 1},
        [],
        "claim-over-cap",
        "张三 已拥有 1 个客户, 达到上限 1",
        id="over-cap",
    ),
    pytest.param(
        {"KH003": "张三"},
        {"max_claims_per_day": 1},
        [(dt.datetime(2026, 11, 30, 8), "KH009", "领取", "张三", "", "")],
        "claim-over-daily-limit",
        "张三 今天已领取 1 个客户, 每日上限 1",
        id="over-daily-limit",
    ),
    pytest.param(
        {"KH003": "张三"},
        {},
        [(dt.datetime(2026, 11, 27), "KH003", "释放", "张三", "", "张三")],
        "claim-cooldown",
        "张三 于 2026-11-27 释放了该客户, 2026-12-04 前不能再领取",
        id="cooldown",
    ),
    # the first refusal wins: an unknown name is not also outside the region
    pytest.param({"KH004": "赵六"}, {}, [], "claim-unknown-rep", "赵六", id="first-wins"),
    pytest.param(
        {"KH004": "张三"},
        {"max_owned_per_rep": 1},
        [],
        "claim-outside-region",
        "华南",
        id="region-before-cap",
    ),
]


@pytest.mark.parametrize(("owners", "pool", "log", "code", "says"), REFUSALS)
def test_each_claim_check_refuses_with_its_message(
    owners: dict[str, str], pool: dict[str, Any], log: list[Any], code: str, says: str
) -> None:
    _, _, _, claims = _pool(owners, cfg=settings(pool=pool), log=[*LOG, *log])
    assert [p.code for p in claims.problems] == [code]
    assert says in claims.problems[0].message
    assert [(e.action, e.reason) for e in claims.log] == [
        ("claim-rejected", claims.problems[0].message)
    ]
    assert (claims.accepted, dict(claims.counts)) == ({}, {"claims_rejected": 1})


def test_a_customer_without_a_region_cannot_be_claimed() -> None:
    book = book_of(pool=[{"customer_id": "KH009", "name": "无区域", "owner": "张三"}])
    ctx = context_of(book, pool_log=LOG, today=TODAY)
    claim = Claim(ctx.customers["KH009"], "张三")
    refused = claim_checks.refusal(ctx, claim, owner_counts(ctx, stage_moves(ctx)))
    assert refused is not None and (refused.code, refused.column) == ("claim-no-region", "J")


def test_the_cap_counts_the_owners_after_todays_release() -> None:
    cfg = settings(pool={"max_owned_per_rep": 1})
    _, _, _, claims = _pool({"KH001": None, "KH003": "张三"}, cfg=cfg)
    assert claims.accepted == {"KH003": "张三"}


def test_the_cap_counts_the_owners_after_todays_recycles() -> None:
    """张三's KH001 has seen no activity since its claim 40 days ago: it goes back to the
    pool today, and so no longer counts toward his cap of 1 when he claims KH003."""
    cfg = settings(pool={"max_owned_per_rep": 1})
    claimed = [LOG[1], (dt.datetime(2026, 10, 21), "KH001", "领取", "张三", "", "")]
    _, _, recycled, claims = _pool({"KH003": "张三"}, cfg=cfg, log=claimed)
    assert list(recycled.returned) == ["KH001"]
    assert claims.accepted == {"KH003": "张三"}


def test_a_reverted_transfer_recycled_the_same_day_no_longer_counts_either() -> None:
    """Under revert, KH001 typed over to 王经理 stays 张三's, and then goes back to the pool
    for 40 idle days: the cap counts it out before 张三's claim, as a re-sync would."""
    cfg = settings(pool={"max_owned_per_rep": 1, "enforce": "revert"})
    claimed = [LOG[1], (dt.datetime(2026, 10, 21), "KH001", "领取", "张三", "", "")]
    _, changes, recycled, claims = _pool({"KH001": "王经理", "KH003": "张三"}, cfg=cfg, log=claimed)
    assert (changes.owners["KH001"], list(recycled.returned)) == ("张三", ["KH001"])
    assert claims.accepted == {"KH003": "张三"}


def test_claims_accepted_today_count_toward_the_daily_limit() -> None:
    cfg = settings(pool={"max_claims_per_day": 1})
    rows = [*_typed(KH003="张三"), {"customer_id": "KH005", "region": "华东", "owner": "张三"}]
    ctx = context_of(book_of(pool=rows), cfg=cfg, pool_log=LOG, today=TODAY)
    counts = owner_counts(ctx, stage_moves(ctx))
    claims = claiming(ctx, ownership(ctx, counts), counts)
    assert claims.accepted == {"KH003": "张三"}
    assert _codes(claims.problems) == [(6, "J", "claim-over-daily-limit")]


def test_a_pool_rule_is_a_function_added_to_the_list(monkeypatch: pytest.MonkeyPatch) -> None:
    """Adding a claim check is adding a function to CLAIM_CHECKS; the list keeps its order."""
    assert [f.__name__ for f in claim_checks.CLAIM_CHECKS] == [
        "unknown_rep",
        "no_region",
        "outside_region",
        "over_cap",
        "over_daily_limit",
        "cooldown",
    ]

    def no_managers(ctx: Context, claim: Claim, counts: OwnerCounts) -> Problem | None:
        if ctx.reps[claim.rep].manager:
            return ctx.problem(claim_checks.POOL, claim.customer.source.row, "owner", "rep-unknown")
        return None

    checks = [*claim_checks.CLAIM_CHECKS, no_managers]
    monkeypatch.setattr(claim_checks, "CLAIM_CHECKS", checks)
    _, _, _, claims = _pool({"KH003": "王经理", "KH004": "李四"})
    assert (claims.accepted, [p.code for p in claims.problems]) == (
        {"KH004": "李四"},
        ["rep-unknown"],
    )


def test_owner_counts_start_from_the_log_and_follow_every_change() -> None:
    counts = OwnerCounts.from_log(
        {"KH001": "张三", "KH002": "张三", "KH003": "李四", "KH009": "张三", "KH004": None},
        customers={"KH001", "KH002", "KH003", "KH004"},  # KH009 is no longer on the sheet
        not_counted={"KH002"},  # won, and won customers do not count toward the cap
        claims_logged={("张三", TODAY): 2, ("张三", TODAY - dt.timedelta(days=1)): 5},
        today=TODAY,
    )
    assert (counts.owned("张三"), counts.owned("李四"), counts.claimed_today("张三")) == (1, 1, 2)
    counts.claim("张三")
    counts.transfer("李四", "张三")
    counts.recycle("张三")
    counts.release(None)  # a customer nobody owned
    assert (counts.owned("张三"), counts.owned("李四"), counts.claimed_today("张三")) == (2, 0, 3)


def test_the_log_reasons_render_in_either_language() -> None:
    _, changes, _, _ = _pool({"KH001": None, "KH002": "王经理"})
    assert [(rendered(e.reason), rendered(e.reason, "en")) for e in changes.log] == [
        ("销售释放", "released by rep"),
        ("转移, 待经理确认", "to confirm"),
    ]
